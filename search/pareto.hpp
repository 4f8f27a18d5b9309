#pragma once
// Pareto dominance for minimisation with Deb's constraint domination, fast non-dominated
// sorting, crowding distance and Pareto-front extraction. Objective vectors are the rows of a
// matrix (std::vector<std::vector<double>>); every row of one call has the same length.
//
// Deb's rule (Deb, Pratap, Agarwal, Meyarivan 2002, section IV): a feasible point (violation 0)
// beats an infeasible one; of two infeasible points the one with the lower violation wins; of two
// feasible points Pareto dominance decides. All functions are pure and thread-safe.

#include <cstddef>
#include <vector>

namespace joules {

using ObjectiveMatrix = std::vector<std::vector<double>>;

/// True when `a` is no worse than `b` in every objective and better in at least one.
/// Requires a.size() == b.size().
bool dominates(const std::vector<double>& a, const std::vector<double>& b);

/// Deb's constraint domination of (a, violation_a) over (b, violation_b); violations >= 0.
bool constrained_dominates(const std::vector<double>& a, double violation_a, const std::vector<double>& b,
                           double violation_b);

/// The points split into fronts: front 0 is dominated by no point, front k only by points of
/// fronts < k. Indices within a front ascend.
struct NonDominatedFronts {
  std::vector<std::vector<std::size_t>> fronts;
  std::vector<std::size_t> rank;  // rank[i]: the front of point i
};

/// Fast non-dominated sorting (Deb et al. 2002), O(objectives * n^2), under constraint domination
/// when `violations` is given (one per point; empty: all feasible). Throws std::invalid_argument
/// for rows of different lengths, NaN objectives, or violations of the wrong count, negative or NaN.
NonDominatedFronts non_dominated_sort(const ObjectiveMatrix& objectives, const std::vector<double>& violations = {});

/// Crowding distance of each point of `front` (indices into `objectives`), aligned with `front`:
/// the sum over objectives of the gap between a point's two neighbours along that objective,
/// divided by the front's range in it. The extreme points of each objective get +infinity (so do
/// both points of a front of one or two); an objective whose range is 0 adds nothing. Ties are
/// ordered by index, so the result is deterministic.
std::vector<double> crowding_distance(const ObjectiveMatrix& objectives, const std::vector<std::size_t>& front);

/// Indices (ascending) of the feasible points that no other feasible point dominates; equal
/// points are all kept. `violations` empty: all feasible. Empty when no point is feasible.
/// O(n log n) for two objectives, O(objectives * n^2) otherwise. Throws as non_dominated_sort().
std::vector<std::size_t> pareto_front(const ObjectiveMatrix& objectives, const std::vector<double>& violations = {});

}  // namespace joules
