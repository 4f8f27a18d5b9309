#pragma once
// Variation operators for box-bounded real decision vectors: simulated binary crossover (SBX,
// Deb and Agrawal 1995) and polynomial mutation (Deb and Goyal 1996), in the bounded forms of
// Deb's NSGA-II reference code, which pagmo2's nsga2 also uses.

#include <optional>
#include <utility>
#include <vector>

#include "util/random.hpp"

namespace joules {

/// Per-variable box: lower[i] <= x[i] <= upper[i].
struct RealBounds {
  std::vector<double> lower;
  std::vector<double> upper;
  bool operator==(const RealBounds&) const = default;
};

/// Defaults are pagmo2's nsga2 defaults, except the mutation probability (pagmo2: 0.01), which
/// defaults to the customary 1 / number of variables.
struct RealVariationOptions {
  double crossover_probability = 0.95;        // a pair is recombined with this probability, else copied
  double crossover_distribution_index = 10.0;  // eta_c: larger keeps children closer to their parents
  std::optional<double> mutation_probability;  // per variable; default 1 / number of variables
  double mutation_distribution_index = 50.0;   // eta_m: larger makes smaller steps
  bool operator==(const RealVariationOptions&) const = default;
};

/// Immutable after construction; const methods are safe from several threads (each with its
/// own Rng).
class RealVariation {
 public:
  /// Throws std::invalid_argument naming the value for bounds of different or zero length, a
  /// non-finite bound or lower > upper, a probability outside [0, 1], or a distribution index
  /// that is negative or not finite.
  RealVariation(RealBounds bounds, RealVariationOptions options = {});

  const RealBounds& bounds() const { return bounds_; }
  std::size_t size() const { return bounds_.lower.size(); }
  /// Per-variable mutation probability in use (the option, or 1 / size()).
  double mutation_probability() const { return mutation_probability_; }

  /// Uniform in the box.
  std::vector<double> sample(Rng& rng) const;
  /// SBX: with probability crossover_probability, each variable (with probability 1/2, where the
  /// parents differ) is replaced by a pair spread around the parents, clipped to the box.
  /// Throws std::invalid_argument for a parent of another length than the bounds.
  std::pair<std::vector<double>, std::vector<double>> crossover(const std::vector<double>& a,
                                                                const std::vector<double>& b, Rng& rng) const;
  /// Polynomial mutation of each variable with probability mutation_probability(); stays in the
  /// box. Throws std::invalid_argument for a vector of another length than the bounds.
  std::vector<double> mutate(std::vector<double> x, Rng& rng) const;

 private:
  void check_length(const std::vector<double>& x, const char* what) const;

  RealBounds bounds_;
  RealVariationOptions options_;
  double mutation_probability_;
};

}  // namespace joules
