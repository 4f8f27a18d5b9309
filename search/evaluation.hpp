#pragma once
// What evaluating one candidate decision yields: its objective values (all minimised) and its
// constraint violation. The optimizer never evaluates; problems (or the NAS driver) do.

#include <vector>

namespace joules {

/// Objectives are minimised. `violation` is the total constraint violation: 0 for a feasible
/// candidate, > 0 for an infeasible one (larger is worse). A candidate whose evaluation failed
/// is told as infeasible with a violation of the driver's choosing.
struct Evaluation {
  std::vector<double> objectives;
  double violation = 0.0;

  bool feasible() const { return violation == 0.0; }
  bool operator==(const Evaluation&) const = default;
};

}  // namespace joules
