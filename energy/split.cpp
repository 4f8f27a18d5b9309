#include "energy/split.hpp"

#include <cmath>
#include <stdexcept>

#include <fmt/format.h>

#include "util/input_error.hpp"

namespace joules {
namespace {

std::int64_t elements(const Shape& s) { return s.channels * s.height * s.width; }

}  // namespace

void validate(const SplitLink& link) {
  if (!std::isfinite(link.uplink_mbps) || link.uplink_mbps <= 0) {
    throw SpecError("uplink_mbps", fmt::format("{} is not a bandwidth: expected a number of Mbps > 0", link.uplink_mbps));
  }
  if (!std::isfinite(link.radio_mw) || link.radio_mw < 0) {
    throw SpecError("radio_mw", fmt::format("{} is not a power: expected a number of mW >= 0", link.radio_mw));
  }
  if (link.bytes_per_value != 1 && link.bytes_per_value != 2 && link.bytes_per_value != 4) {
    throw SpecError("bytes_per_value", fmt::format("{}: expected 4 (float32), 2 (half) or 1 (int8)", link.bytes_per_value));
  }
  if (link.server_ms_per_gmac && (!std::isfinite(*link.server_ms_per_gmac) || *link.server_ms_per_gmac < 0)) {
    throw SpecError("server_ms_per_gmac",
                    fmt::format("{}: expected a time in ms per 1e9 MACs >= 0", *link.server_ms_per_gmac));
  }
}

double transfer_seconds(std::int64_t bytes, const SplitLink& link) {
  return static_cast<double>(bytes) * 8.0 / (link.uplink_mbps * 1e6);
}

SplitPlan plan_splits(const NetworkAnalysis& analysis, const NetworkEstimate& estimate, const SplitLink& link) {
  validate(link);
  const std::size_t n = analysis.layers.size();
  if (estimate.layers.size() != n) {
    throw std::invalid_argument(
        fmt::format("plan_splits: the estimate has {} layers, the analysis {}", estimate.layers.size(), n));
  }
  const bool timed = estimate.latency_ms.has_value();
  const double server_ms_per_mac = link.server_ms_per_gmac.value_or(0.0) / 1e9;
  // The latency overhead is what the estimate's total holds beyond its layers.
  double latency_overhead_ms = 0;
  if (timed) {
    latency_overhead_ms = *estimate.latency_ms;
    for (const LayerEstimate& l : estimate.layers) latency_overhead_ms -= l.latency_ms.value_or(0.0);
  }

  SplitPlan plan;
  double device_mj = 0, device_ms = 0;
  std::int64_t remaining_macs = analysis.macs;
  for (std::size_t k = 0; k <= n; ++k) {
    if (k > 0) {
      device_mj += estimate.layers[k - 1].energy_mj;
      device_ms += estimate.layers[k - 1].latency_ms.value_or(0.0);
      remaining_macs -= analysis.layers[k - 1].macs;
    }
    SplitRow row;
    row.after_layer = k;
    row.device_energy_mj = k > 0 ? device_mj + estimate.overhead_mj : 0.0;
    const std::int64_t values = k == 0 ? elements(analysis.layers.empty() ? Shape{} : analysis.layers[0].input)
                                       : (k == n ? 0 : elements(analysis.layers[k - 1].output));
    row.bytes = values * link.bytes_per_value;
    const double send_s = transfer_seconds(row.bytes, link);
    row.radio_energy_mj = send_s * link.radio_mw;  // mW x s = mJ
    row.total_energy_mj = row.device_energy_mj + row.radio_energy_mj;
    if (timed) {
      row.latency_ms = (k > 0 ? device_ms + latency_overhead_ms : 0.0) + 1000.0 * send_s +
                       static_cast<double>(remaining_macs) * server_ms_per_mac;
    }
    if (!plan.splits.empty() && row.total_energy_mj < plan.splits[plan.best].total_energy_mj) plan.best = k;
    plan.splits.push_back(row);
  }
  return plan;
}

double best_split_energy_mj(const Architecture& arch, const EnergyEstimator& estimator, const SplitLink& link) {
  const NetworkAnalysis analysis = analyze(arch);
  const SplitPlan plan = plan_splits(analysis, estimator.estimate(arch, analysis), link);
  return plan.splits[plan.best].total_energy_mj;
}

}  // namespace joules
