#pragma once
// search.prescreen: NSGA-II breeds several children per training slot and a model of accuracy
// picks which to train. Energy, latency, MACs and parameters of a child are known before any
// training (the board's profile prices them), so only accuracy is predicted: a Gaussian process
// on the architecture's features, fitted to every candidate trained in earlier generations.
// Each pick maximises the hypervolume the chosen children would add to the front evaluated so
// far, with accuracy taken optimistically (mean + kappa x sd: an unexplored architecture gets
// the benefit of its doubt) and believed once picked, so the next pick goes elsewhere.

#include <cstddef>
#include <vector>

#include "search/pareto.hpp"

namespace joules {

struct GpPrediction {
  double mean = 0.0;
  double sd = 0.0;  // of the mean (observation noise left out)
};

/// Gaussian-process regression with a squared-exponential kernel on standardised features
/// (constant columns drop out) and a standardised target. The length scale and the noise come
/// from the largest marginal likelihood over a fixed grid, so a fit is deterministic.
class GaussianProcess {
 public:
  /// Throws std::invalid_argument for no rows, rows of different lengths, a target of another
  /// length, or a non-finite value.
  static GaussianProcess fit(const ObjectiveMatrix& x, const std::vector<double>& y);

  /// Throws std::invalid_argument for a row of another length than the fit's.
  GpPrediction predict(const std::vector<double>& x) const;

  double length_scale() const { return length_scale_; }
  double noise() const { return noise_; }  // variance, as a share of the target's

 private:
  std::vector<double> standardised(const std::vector<double>& x) const;

  std::vector<double> mean_, scale_;  // per feature; scale 0: a constant column
  double y_mean_ = 0.0, y_scale_ = 1.0;
  double length_scale_ = 1.0, noise_ = 0.01;
  ObjectiveMatrix rows_;       // standardised training features
  std::vector<double> alpha_;  // K^-1 y
  ObjectiveMatrix chol_;       // lower Cholesky factor of K (row-major, lower triangle)
};

/// The `n` candidates to evaluate (indices, in pick order) out of `candidates` (minimised
/// objective vectors, the predicted ones optimistic), given the objective vectors evaluated so
/// far. 2 or 3 objectives: each pick adds the most hypervolume to the evaluated front and the
/// picks before it (reference: 1.1 x the range past the worst value of each objective); a
/// candidate that adds none ranks by how far it is from being non-dominated (the additive
/// epsilon, in units of each objective's range), then by index. More objectives: by that
/// margin only. Infeasible candidates (feasible[i] false) come last, in index order.
/// Throws std::invalid_argument for rows of different lengths or feasible of another length.
std::vector<std::size_t> prescreen(const ObjectiveMatrix& evaluated, const ObjectiveMatrix& candidates,
                                   const std::vector<bool>& feasible, std::size_t n);

}  // namespace joules
