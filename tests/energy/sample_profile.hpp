#pragma once
// A small, hand-made board profile for the profile and estimator tests: every section filled.

#include "energy/board_profile.hpp"

namespace joules::testing {

inline BoardProfile sample_profile(ProvenanceKind kind = ProvenanceKind::third_party) {
  BoardProfile p;
  p.board = "test-board";
  p.provenance = Provenance{.kind = kind, .sensor = "INA3221 \"GPU\" rail", .rails = {"VDD_GPU", "VDD IN"},
                            .device = "Jetson: 5W mode", .software = "L4T 32.7.1", .date = "2024-06-11",
                            .source = "a test", .notes = "line one\nline two"};
  p.fit = FitInfo{.input = "networks", .data = "data/networks.csv", .rows = 12, .data_fnv1a64 = "00ff00ff00ff00ff",
                  .folds = 5, .seed = 3, .tool = "joules 0.1.0"};
  LayerModel conv{.family = ModelFamily::stairs, .granularity = 32};
  conv.coefficients[static_cast<std::size_t>(Term::mac)] = 5e-8;
  conv.coefficients[static_cast<std::size_t>(Term::layer)] = 0.125;
  LayerModel fc{.family = ModelFamily::linear};
  fc.coefficients[static_cast<std::size_t>(Term::mac)] = 2e-7;
  fc.coefficients[static_cast<std::size_t>(Term::layer)] = 0.0625;
  const Quality q{.points = 12, .mape_pct = 4.5, .rmspe_pct = 6.25, .r2 = 0.975, .within_10_pct = 91.5,
                  .band_low = 0.9, .band_high = 1.2, .band_coverage = 0.9};
  p.energy.target = "gpu_energy_mj";
  p.energy.overhead = 1.5;
  p.energy.layers[static_cast<std::size_t>(LayerKind::conv)] = conv;
  p.energy.layers[static_cast<std::size_t>(LayerKind::fc)] = fc;
  p.energy.fits.push_back(FitSummary{
      .kinds = {LayerKind::conv, LayerKind::fc},
      .quality = q,
      .candidates = {CandidateResult{.family = ModelFamily::linear, .granularity = 1, .cv = q, .lofo_mape_pct = 7.5},
                     CandidateResult{.family = ModelFamily::stairs, .granularity = 32, .cv = q, .chosen = true}},
      .per_family = {GroupResult{.name = "plain", .quality = q}},
      .leave_one_family_out = {GroupResult{.name = "plain", .quality = q, .predictable = false}},
      .notes = {"fc mj_per_layer: indistinguishable from overhead_mj"}});
  QuantityModels latency{.target = "latency_ms", .overhead = 0.25};
  LayerModel conv_ms{.family = ModelFamily::linear};
  conv_ms.coefficients[static_cast<std::size_t>(Term::mac)] = 1e-8;
  latency.layers[static_cast<std::size_t>(LayerKind::conv)] = conv_ms;
  latency.fits.push_back(FitSummary{.kinds = {LayerKind::conv, LayerKind::fc}, .quality = q});
  p.latency = latency;
  auto& ranges = p.ranges[static_cast<std::size_t>(LayerKind::conv)];
  ranges[static_cast<std::size_t>(RangeKey::kernel)] = Range{1, 7};
  ranges[static_cast<std::size_t>(RangeKey::stride)] = Range{1, 1};
  ranges[static_cast<std::size_t>(RangeKey::macs)] = Range{1e5, 3.5e9};
  p.ranges[static_cast<std::size_t>(LayerKind::fc)][static_cast<std::size_t>(RangeKey::units)] = Range{10, 10};
  return p;
}

}  // namespace joules::testing
