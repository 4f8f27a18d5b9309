// Non-negative least squares: exact on consistent systems, non-negative always, and indifferent
// to columns whose units differ by many orders of magnitude.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <array>

#include "energy/nnls.hpp"
#include "util/random.hpp"

namespace joules {
namespace {

TEST(NnlsTest, RecoversAnExactNonNegativeSolution) {
  Rng rng(7);
  NormalEquations eq(3);
  for (int i = 0; i < 50; ++i) {
    const std::array<double, 3> a{rng.uniform() * 1e9, rng.uniform() * 1e3, 1.0};  // MACs, elements, layer
    eq.add_row(a, 4e-8 * a[0] + 2e-6 * a[1] + 0.3);
  }
  const std::vector<double> x = solve_nonnegative(eq);
  EXPECT_NEAR(x[0], 4e-8, 4e-8 * 1e-8);
  EXPECT_NEAR(x[1], 2e-6, 2e-6 * 1e-6);
  EXPECT_NEAR(x[2], 0.3, 0.3 * 1e-6);
}

TEST(NnlsTest, ClampsACoefficientThatWouldBeNegative) {
  // y = 2 a - b: the unconstrained fit needs a negative coefficient for b; the constrained one
  // sets it to zero and refits a alone.
  NormalEquations eq(2);
  for (int i = 1; i <= 20; ++i) {
    const double a = i;
    const double b = (i % 3) + 1.0;
    eq.add_row(std::array{a, b}, 2 * a - b);
  }
  const std::vector<double> x = solve_nonnegative(eq);
  EXPECT_EQ(x[1], 0.0);
  EXPECT_GT(x[0], 0.0);
  // The best slope through the origin: sum(a y) / sum(a a).
  EXPECT_NEAR(x[0], eq.rhs(0) / eq.gram(0, 0), 1e-12);
}

TEST(NnlsTest, ColumnsWithoutDataAndUnusedColumnsGetZero) {
  NormalEquations eq(3);
  for (int i = 1; i <= 5; ++i) eq.add_row(std::array{double(i), 0.0, double(i * i)}, 3.0 * i + 0.5 * i * i);
  std::vector<double> x = solve_nonnegative(eq);
  EXPECT_NEAR(x[0], 3.0, 1e-9);
  EXPECT_EQ(x[1], 0.0);
  EXPECT_NEAR(x[2], 0.5, 1e-9);
  x = solve_nonnegative(eq, {true, true, false});
  EXPECT_EQ(x[2], 0.0);
  EXPECT_GT(x[0], 3.0);  // column 0 absorbs what column 2 no longer explains
}

TEST(NnlsTest, WeightsAndSubtractionGiveTheFitOfTheRemainingRows) {
  NormalEquations all(2), outlier(2);
  for (int i = 1; i <= 10; ++i) all.add_row(std::array{double(i), 1.0}, 2.0 * i + 1);
  outlier.add_row(std::array{5.0, 1.0}, 100.0, 3.0);
  all.add(outlier);
  all.subtract(outlier);
  const std::vector<double> x = solve_nonnegative(all);
  EXPECT_NEAR(x[0], 2.0, 1e-9);
  EXPECT_NEAR(x[1], 1.0, 1e-9);
}

}  // namespace
}  // namespace joules
