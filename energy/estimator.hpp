#pragma once
// Energy (and latency) per inference of an architecture on a board, from its profile.
//
// Thread safety: an EnergyEstimator is immutable after construction; estimate() is const,
// touches no shared mutable state and may be called from any number of threads at once.

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "energy/board_profile.hpp"
#include "space/analysis.hpp"
#include "space/architecture.hpp"

namespace joules {

struct LayerEstimate {
  LayerKind kind = LayerKind::conv;        // the layer's own kind
  LayerKind priced_as = LayerKind::conv;   // the model that priced it (differs on fallback)
  double energy_mj = 0;
  double energy_low_mj = 0;   // uncertainty band (see Quality::band_low)
  double energy_high_mj = 0;
  std::optional<double> latency_ms;  // when the profile models latency
};

/// Something a user should know about an estimate: a layer outside the range of the data its
/// model was fitted on, or a layer whose kind has no model and was priced by another.
struct EstimateWarning {
  enum class Type { out_of_range, fallback };
  Type type = Type::out_of_range;
  std::size_t layer = 0;
  LayerKind kind = LayerKind::conv;
  RangeKey key = RangeKey::macs;  // out_of_range: the size, its value and the fitted range
  double value = 0;
  Range range;
  LayerKind priced_as = LayerKind::conv;  // fallback: the model used instead

  bool operator==(const EstimateWarning&) const = default;
};

/// One line, e.g. "layer 3 (conv): stride 2 is outside the fitted range [1, 1]".
std::string describe(const EstimateWarning& warning);

/// How far outside its range an out_of_range warning's value is, as a factor >= 1 (value /
/// upper end above the range, lower end / value below it; 1 for a fallback).
double extrapolation_factor(const EstimateWarning& warning);

struct NetworkEstimate {
  double energy_mj = 0;  // per inference at batch 1: the layers' sum plus the overhead
  double energy_low_mj = 0;
  double energy_high_mj = 0;
  double overhead_mj = 0;
  std::optional<double> latency_ms;
  std::optional<double> latency_low_ms;
  std::optional<double> latency_high_ms;
  std::vector<LayerEstimate> layers;
  std::vector<EstimateWarning> warnings;

  /// True when a layer lies outside the profile's data (any warning): the estimate is then an
  /// extrapolation of the fitted models.
  bool extrapolated() const { return !warnings.empty(); }
};

class EnergyEstimator {
 public:
  /// Throws std::invalid_argument when the profile has no conv energy model (every fallback
  /// ends there); load_board_profile() already rejects such files.
  explicit EnergyEstimator(BoardProfile profile);

  /// Estimates a network. Throws SpecError for an impossible architecture (as analyze()).
  NetworkEstimate estimate(const Architecture& arch) const;
  /// Same, reusing an analysis of `arch` the caller already has.
  NetworkEstimate estimate(const Architecture& arch, const NetworkAnalysis& analysis) const;

  const BoardProfile& profile() const { return profile_; }

 private:
  struct Priced {
    const LayerModel* energy = nullptr;
    const LayerModel* latency = nullptr;
    LayerKind as = LayerKind::conv;
    double energy_low = 1, energy_high = 1, latency_low = 1, latency_high = 1;
  };

  BoardProfile profile_;
  std::array<Priced, kLayerKindCount> priced_{};  // per layer kind, fallbacks resolved
  double overhead_low_ = 1, overhead_high_ = 1, latency_overhead_low_ = 1, latency_overhead_high_ = 1;
  double growth_ = 0;  // band growth per decade outside the ranges (ExtrapolationBand)
};

}  // namespace joules
