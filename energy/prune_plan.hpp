#pragma once
// Structured filter pruning that knows the board's steps (`joules prune`): which filters of
// each conv layer to remove, and how many, from the L1 norm of each filter (the standard
// criterion) and the board's energy model; and the surgery on plain weights that removes them
// with the matching input channels downstream (depthwise convs and pools pass the channels
// on; the next conv's input channels; the first fc's input columns, channel by channel x the
// spatial positions of the flattened map). No torch: the weights are space/weights.hpp's
// plain arrays; train/ fine-tunes the result.
//
// Step-aware counts. A conv's energy rises in steps of g filters (the conv model's
// granularity; 1 for the linear family, whose every count is a step): below a multiple of g
// the layer's MAC term does not fall. So the candidate counts of a layer of F filters are the
// multiples of g below F and, inside the first step (where no boundary lies lower), every
// count from 1 to g - 1. A greedy takes, move after move, the layer and candidate count with
// the most estimated network energy saved per unit of criterion lost; once that best move would
// reach the target, the move that reaches it losing the least criterion ends the search. A layer of n filters keeping the share s
// of its L1 mass loses n x (1/s - 1): for small cuts the removed norms over the layer's mean
// norm (so layers of any scale compare), growing like 1/s as the layer nears empty (no
// bottleneck of a few filters bought for energy).

#include <cstddef>
#include <cstdint>
#include <vector>

#include "energy/estimator.hpp"
#include "space/architecture.hpp"
#include "space/weights.hpp"

namespace joules {

/// The conv layers whose filters can be removed: groups 1, and a later conv (groups 1), or
/// the first fc consumes their channels through pools and depthwise convs only (so neither
/// the network's output nor a grouped conv's input).
std::vector<std::size_t> prunable_layers(const Architecture& arch);

/// Per layer, the L1 norm of each filter (conv weight rows); empty for other layers. Throws
/// std::invalid_argument when `weights` does not have `arch`'s layers and sizes.
std::vector<std::vector<double>> filter_l1_norms(const Architecture& arch, const NetworkWeights& weights);

/// `arch` with new filter counts: `filters[i]` for conv layer i (0: unchanged); depthwise
/// convs downstream follow their input (groups and filters). Throws std::invalid_argument for
/// a count below 1 or above the layer's.
Architecture with_filter_counts(const Architecture& arch, const std::vector<std::int64_t>& filters);

/// The counts a layer of `filters` filters may be pruned to on steps of `granularity`:
/// the multiples of it below `filters` and every count below it, ascending.
std::vector<std::int64_t> step_counts(std::int64_t filters, std::int64_t granularity);

/// The conv energy model's granularity (1 for the linear family).
std::int64_t conv_granularity(const EnergyEstimator& estimator);

/// A choice of filters: per layer the new count (conv layers; 0 for others) and the kept
/// filters' indices (ascending; the highest L1 norms) for every prunable layer.
struct PrunePlan {
  std::vector<std::int64_t> filters;
  std::vector<std::vector<std::int64_t>> kept;
  double energy_mj = 0;        // estimated, of the pruned network
  double criterion_lost = 0;   // per pruned layer n x (1 / kept share of its L1 mass - 1), summed

  bool operator==(const PrunePlan&) const = default;
};

/// Step-aware pruning to at most `target_energy_mj`. Throws SpecError("energy_mj") for a
/// target above the network's estimated energy or below what the smallest step-aware network
/// costs.
PrunePlan plan_step_aware(const Architecture& arch, const std::vector<std::vector<double>>& norms,
                          const EnergyEstimator& estimator, double target_energy_mj);

/// Uniform pruning: every prunable layer keeps max(1, round(keep x filters)) filters, the
/// steps ignored. Throws SpecError("keep") for a fraction outside (0, 1].
PrunePlan plan_uniform(const Architecture& arch, const std::vector<std::vector<double>>& norms,
                       const EnergyEstimator& estimator, double keep);

/// Uniform pruning with the largest fraction kept (in steps of 0.001) whose energy is at most
/// `target_energy_mj`. Throws SpecError("energy_mj") as plan_step_aware.
PrunePlan plan_uniform_to_energy(const Architecture& arch, const std::vector<std::vector<double>>& norms,
                                 const EnergyEstimator& estimator, double target_energy_mj);

/// The filters of a layer pruned from `before` to `after` that lowered no step of the layer's
/// MAC term: min(before, g x ceil(after / g)) - after.
std::int64_t removed_within_step(std::int64_t before, std::int64_t after, std::int64_t granularity);

/// Per layer, the estimated network energy (mJ) that the filters removed within a step
/// (removed_within_step) saved: the plan's energy with that layer raised back to its step's
/// top, less the plan's. What remains once the step is not lowered: the linear terms of the
/// layer and the work of the layers downstream. 0 for layers without such filters.
std::vector<double> within_step_savings_mj(const Architecture& arch, const EnergyEstimator& estimator,
                                           const PrunePlan& plan);

/// `weights` with the plan's filters removed and the matching input channels downstream; fits
/// with_filter_counts(arch, plan.filters). The normalisation is kept. Throws
/// std::invalid_argument when the weights or the plan do not fit `arch`.
NetworkWeights prune_weights(const Architecture& arch, const NetworkWeights& weights, const PrunePlan& plan);

}  // namespace joules
