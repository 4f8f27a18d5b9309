#include "energy/estimator.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

#include <fmt/format.h>

namespace joules {
namespace {

// The band of the fit that covers `kind` (network-level fits cover every kind).
const Quality* quality_for(const QuantityModels& q, LayerKind kind) {
  for (const FitSummary& s : q.fits) {
    if (std::find(s.kinds.begin(), s.kinds.end(), kind) != s.kinds.end()) return &s.quality;
  }
  return nullptr;
}

// The kind whose model prices `kind`, following the fallbacks; nullopt when none has one.
std::optional<LayerKind> resolve(const QuantityModels& q, LayerKind kind) {
  std::optional<LayerKind> k = kind;
  while (k && !q.model(*k)) k = fallback_kind(*k);
  return k;
}

std::string format_value(double v) {
  return v >= 1e6 ? fmt::format("{:.3g}", v) : fmt::format("{}", v);
}

}  // namespace

std::string describe(const EstimateWarning& w) {
  if (w.type == EstimateWarning::Type::fallback) {
    return fmt::format("layer {} ({}): the profile has no {} model; priced as a {} layer{}", w.layer,
                       to_string(w.kind), to_string(w.kind), to_string(w.priced_as),
                       w.kind == LayerKind::pool ? " with the same window and stride" : "");
  }
  return fmt::format("layer {} ({}): {} {} is outside the fitted range [{}, {}]", w.layer, to_string(w.kind),
                     to_string(w.key), format_value(w.value), format_value(w.range.lo), format_value(w.range.hi));
}

double extrapolation_factor(const EstimateWarning& w) {
  if (w.type != EstimateWarning::Type::out_of_range) return 1;
  if (w.value > w.range.hi) return w.range.hi > 0 ? w.value / w.range.hi : std::numeric_limits<double>::infinity();
  if (w.value < w.range.lo) return w.value > 0 ? w.range.lo / w.value : std::numeric_limits<double>::infinity();
  return 1;
}

EnergyEstimator::EnergyEstimator(BoardProfile profile) : profile_(std::move(profile)) {
  if (!profile_.energy.model(LayerKind::conv)) {
    throw std::invalid_argument(fmt::format("board profile {} has no conv energy model", profile_.board));
  }
  for (LayerKind kind : kLayerKinds) {
    Priced& p = priced_[static_cast<std::size_t>(kind)];
    p.as = *resolve(profile_.energy, kind);
    p.energy = &*profile_.energy.model(p.as);
    if (const Quality* q = quality_for(profile_.energy, p.as)) {
      p.energy_low = q->band_low;
      p.energy_high = q->band_high;
    }
    if (profile_.latency) {
      if (const auto as = resolve(*profile_.latency, p.as)) {
        p.latency = &*profile_.latency->model(*as);
        if (const Quality* q = quality_for(*profile_.latency, *as)) {
          p.latency_low = q->band_low;
          p.latency_high = q->band_high;
        }
      }
    }
  }
  if (profile_.extrapolation) growth_ = profile_.extrapolation->growth_per_decade;
  if (!profile_.energy.fits.empty()) {
    overhead_low_ = profile_.energy.fits.front().quality.band_low;
    overhead_high_ = profile_.energy.fits.front().quality.band_high;
  }
  if (profile_.latency && !profile_.latency->fits.empty()) {
    latency_overhead_low_ = profile_.latency->fits.front().quality.band_low;
    latency_overhead_high_ = profile_.latency->fits.front().quality.band_high;
  }
}

NetworkEstimate EnergyEstimator::estimate(const Architecture& arch) const {
  return estimate(arch, analyze(arch));
}

NetworkEstimate EnergyEstimator::estimate(const Architecture& arch, const NetworkAnalysis& analysis) const {
  NetworkEstimate out;
  out.overhead_mj = profile_.energy.overhead;
  out.energy_mj = out.overhead_mj;
  out.energy_low_mj = out.overhead_mj * overhead_low_;
  out.energy_high_mj = out.overhead_mj * overhead_high_;
  bool latency = profile_.latency.has_value();
  double latency_ms = latency ? profile_.latency->overhead : 0.0;
  double latency_low = latency_ms * latency_overhead_low_;
  double latency_high = latency_ms * latency_overhead_high_;
  out.layers.reserve(arch.layers.size());

  for (std::size_t i = 0; i < arch.layers.size(); ++i) {
    const LayerFeatures f = layer_features(arch.layers[i], analysis.layers[i]);
    const Priced& p = priced_[static_cast<std::size_t>(f.kind)];
    const LayerFeatures as = p.as == f.kind ? f : features_as(f, p.as);
    const std::size_t first_warning = out.warnings.size();
    if (p.as != f.kind) {
      out.warnings.push_back(EstimateWarning{.type = EstimateWarning::Type::fallback, .layer = i, .kind = f.kind,
                                             .priced_as = p.as});
    } else {
      const KindRanges& ranges = profile_.range(f.kind);
      for (RangeKey key : range_keys(f.kind)) {
        const auto& r = ranges[static_cast<std::size_t>(key)];
        const double v = f.range_value(key);
        if (r && !r->contains(v)) {
          out.warnings.push_back(EstimateWarning{.type = EstimateWarning::Type::out_of_range, .layer = i,
                                                 .kind = f.kind, .key = key, .value = v, .range = *r});
        }
      }
    }
    // Outside the data the band widens with the decades outside (profile's calibration).
    double decades = 0;
    for (std::size_t w = first_warning; w < out.warnings.size(); ++w) {
      decades = std::max(decades, std::log10(std::min(extrapolation_factor(out.warnings[w]), 1e12)));
    }
    const double widen = 1 + growth_ * decades;

    LayerEstimate e{.kind = f.kind, .priced_as = p.as};
    e.energy_mj = p.energy->evaluate(as);
    e.energy_low_mj = e.energy_mj * p.energy_low / widen;
    e.energy_high_mj = e.energy_mj * p.energy_high * widen;
    out.energy_mj += e.energy_mj;
    out.energy_low_mj += e.energy_low_mj;
    out.energy_high_mj += e.energy_high_mj;
    if (latency && p.latency) {
      e.latency_ms = p.latency->evaluate(as);
      latency_ms += *e.latency_ms;
      latency_low += *e.latency_ms * p.latency_low / widen;
      latency_high += *e.latency_ms * p.latency_high * widen;
    } else {
      latency = false;
    }
    out.layers.push_back(e);
  }
  if (latency) {
    out.latency_ms = latency_ms;
    out.latency_low_ms = latency_low;
    out.latency_high_ms = latency_high;
  } else {
    for (LayerEstimate& e : out.layers) e.latency_ms.reset();
  }
  return out;
}

}  // namespace joules
