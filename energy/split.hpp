#pragma once
// Split computing (DESIGN.md, `joules split`): a network cut after layer k runs layers 1..k on
// the device and sends layer k's activation over a radio link to a server, which runs the
// rest. For every k the device's energy (the estimator's per-layer energies, plus the
// per-inference overhead once any layer runs), the radio's energy to send the activation, and
// the end-to-end latency. k = 0 sends the input; k = L runs everything on the device and sends
// nothing (the result is used on the device; the server's reply is not modelled at any k).
// No torch. Plain values; plan_splits() is a pure function.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "energy/estimator.hpp"
#include "space/analysis.hpp"
#include "space/architecture.hpp"

namespace joules {

/// The radio link and the server.
struct SplitLink {
  double uplink_mbps = 0;       // megabits (1e6 bits) per second, > 0
  double radio_mw = 0;          // the radio's power while sending, milliwatts, >= 0
  std::int64_t bytes_per_value = 4;  // activation encoding: 4 (float32), 2 (half), 1 (int8)
  /// Server compute time per 1e9 MACs, ms; absent: the server's time is not counted (0).
  std::optional<double> server_ms_per_gmac;

  bool operator==(const SplitLink&) const = default;
};

/// Throws SpecError (key "uplink_mbps", "radio_mw", "bytes_per_value", "server_ms_per_gmac")
/// for a non-positive or non-finite bandwidth, a negative or non-finite power or server time,
/// a value size other than 1, 2 or 4.
void validate(const SplitLink& link);

/// One split point.
struct SplitRow {
  std::size_t after_layer = 0;   // k: layers 1..k on the device
  double device_energy_mj = 0;   // layers 1..k (+ overhead when k > 0)
  std::int64_t bytes = 0;        // layer k's output (the input for k = 0; 0 for k = L)
  double radio_energy_mj = 0;    // bytes * 8 / (uplink_mbps * 1e6) s * radio_mw
  double total_energy_mj = 0;    // device + radio
  /// Device latency of layers 1..k (+ overhead when k > 0) + transfer time + server time of
  /// layers k+1..L; absent when the profile has no latency model.
  std::optional<double> latency_ms;

  bool operator==(const SplitRow&) const = default;
};

struct SplitPlan {
  std::vector<SplitRow> splits;  // k = 0..L
  std::size_t best = 0;          // the k with the least total energy (the smallest k on ties)

  bool operator==(const SplitPlan&) const = default;
};

/// Seconds to send `bytes` over the link: bytes * 8 / (uplink_mbps * 1e6).
double transfer_seconds(std::int64_t bytes, const SplitLink& link);

/// The splits of `arch` from its analysis and its estimate on a board. Throws SpecError
/// (validate) for a bad link, std::invalid_argument when `estimate` has not one layer per
/// layer of `analysis`.
SplitPlan plan_splits(const NetworkAnalysis& analysis, const NetworkEstimate& estimate, const SplitLink& link);

/// The best split's total energy (mJ): the `split_energy` objective.
double best_split_energy_mj(const Architecture& arch, const EnergyEstimator& estimator, const SplitLink& link);

}  // namespace joules
