#pragma once
// Non-negative least squares on the normal equations (Lawson-Hanson active set). The energy
// fits have many rows (networks, layers) and few columns (model terms), so they accumulate
// A'A and A'b once (and per cross-validation fold) and solve small p x p systems.

#include <cstddef>
#include <span>
#include <vector>

namespace joules {

/// The normal equations of a least-squares problem with `columns` unknowns.
class NormalEquations {
 public:
  explicit NormalEquations(std::size_t columns);

  std::size_t columns() const { return columns_; }
  /// Adds the row `a` (size columns()) with target `b` and weight `weight` (the squared
  /// residual of the row is multiplied by it).
  void add_row(std::span<const double> a, double b, double weight = 1.0);
  void add(const NormalEquations& other);
  void subtract(const NormalEquations& other);

  double gram(std::size_t i, std::size_t j) const { return gram_[i * columns_ + j]; }
  double rhs(std::size_t i) const { return rhs_[i]; }

 private:
  std::size_t columns_;
  std::vector<double> gram_;  // A'WA, row-major
  std::vector<double> rhs_;   // A'Wb
};

/// The x >= 0 that minimises the weighted squared residual. Columns with no data (zero
/// diagonal) get 0. Columns are rescaled internally, so their units may differ by many orders
/// of magnitude. Assumes no two columns are proportional (callers drop such columns first).
std::vector<double> solve_nonnegative(const NormalEquations& equations);

/// Solves the x >= 0 problem restricted to `use` (others fixed at 0).
std::vector<double> solve_nonnegative(const NormalEquations& equations, const std::vector<bool>& use);

}  // namespace joules
