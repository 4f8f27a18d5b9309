#pragma once
// Standard multi-objective test problems with known Pareto fronts, on box-bounded real
// decision vectors: ZDT1, ZDT2, ZDT3 (Zitzler, Deb, Thiele 2000), DTLZ2 (Deb, Thiele, Laumanns,
// Zitzler 2002) and Deb's constrained CONSTR (Deb 2001; Deb et al. 2002). They model the
// problem concept of search/nsga2.hpp, with evaluate() so that Nsga2::evolve() can run them.
// All are immutable after construction and safe to use from several threads.

#include <cstddef>
#include <utility>
#include <vector>

#include "search/evaluation.hpp"
#include "search/pareto.hpp"
#include "search/real_variation.hpp"
#include "util/random.hpp"

namespace joules {

/// What every real-valued test problem shares: its box and the SBX / polynomial-mutation
/// operators on it.
class RealProblem {
 public:
  using Decision = std::vector<double>;

  explicit RealProblem(RealVariation variation) : variation_(std::move(variation)) {}

  const RealVariation& variation() const { return variation_; }
  std::size_t variable_count() const { return variation_.size(); }

  Decision sample(Rng& rng) const { return variation_.sample(rng); }
  std::pair<Decision, Decision> crossover(const Decision& a, const Decision& b, Rng& rng) const {
    return variation_.crossover(a, b, rng);
  }
  Decision mutate(const Decision& x, Rng& rng) const { return variation_.mutate(x, rng); }

 protected:
  /// Throws std::invalid_argument when x has another length than the box.
  void check_decision(const Decision& x) const;

 private:
  RealVariation variation_;
};

/// ZDT1 (convex front f2 = 1 - sqrt(f1)), ZDT2 (concave, f2 = 1 - f1^2) or ZDT3 (five
/// disconnected pieces of f2 = 1 - sqrt(f1) - f1 sin(10 pi f1)); variables in [0, 1], two
/// objectives, f1 in [0, 1] on the front.
class Zdt : public RealProblem {
 public:
  /// Throws std::invalid_argument for an id other than 1, 2, 3 or fewer than 2 variables.
  explicit Zdt(int id, std::size_t variables = 30, RealVariationOptions variation = {});

  int id() const { return id_; }
  std::size_t objective_count() const { return 2; }
  Evaluation evaluate(const Decision& x) const;
  /// The Pareto-optimal points among `samples` evenly spaced values of f1 in [0, 1].
  ObjectiveMatrix true_front(std::size_t samples) const;

 private:
  int id_;
};

/// DTLZ2: the front is the part of the unit sphere in the positive orthant; variables in
/// [0, 1]; variables = objectives - 1 + k (k = 10 is customary: 12 variables for 3 objectives).
class Dtlz2 : public RealProblem {
 public:
  /// Throws std::invalid_argument for fewer than 2 objectives or variables < objectives.
  explicit Dtlz2(std::size_t objectives = 3, std::size_t variables = 12, RealVariationOptions variation = {});

  std::size_t objective_count() const { return objectives_; }
  Evaluation evaluate(const Decision& x) const;
  /// Points of the front on a grid of `per_angle` angles per spherical coordinate
  /// (per_angle^(objectives - 1) points).
  ObjectiveMatrix true_front(std::size_t per_angle) const;

 private:
  std::size_t objectives_;
};

/// CONSTR: minimise f1 = x1 and f2 = (1 + x2) / x1 subject to x2 + 9 x1 >= 6 and
/// 9 x1 - x2 >= 1, with x1 in [0.1, 1], x2 in [0, 5]. The constraints cut off the left part of
/// the unconstrained front (x2 = 0, f2 = 1 / f1); the constrained front is x2 = 6 - 9 x1 for x1 in
/// [7/18, 2/3] and x2 = 0 for x1 in [2/3, 1]. The violation is the sum of the constraints' deficits.
class Constr : public RealProblem {
 public:
  explicit Constr(RealVariationOptions variation = {});

  std::size_t objective_count() const { return 2; }
  Evaluation evaluate(const Decision& x) const;
  /// `samples` points of the constrained front, x1 evenly spaced in [7/18, 1].
  ObjectiveMatrix true_front(std::size_t samples) const;
};

}  // namespace joules
