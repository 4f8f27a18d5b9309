#include "search/test_problems.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <numeric>
#include <stdexcept>

#include "search/nsga2.hpp"

namespace joules {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::ThrowsMessage;

static_assert(MultiObjectiveProblem<Zdt>);
static_assert(MultiObjectiveProblem<Dtlz2>);
static_assert(MultiObjectiveProblem<Constr>);
static_assert(!MultiObjectiveProblem<RealVariation>);

double norm(const std::vector<double>& f) { return std::sqrt(std::inner_product(f.begin(), f.end(), f.begin(), 0.0)); }

TEST(TestProblemsTest, ZdtObjectivesAtHandCheckedPoints) {
  std::vector<double> x(30, 0.0);
  x[0] = 0.25;  // g = 1: on the front
  EXPECT_THAT(Zdt(1).evaluate(x).objectives, ElementsAre(0.25, 0.5));
  EXPECT_THAT(Zdt(2).evaluate(x).objectives, ElementsAre(0.25, 0.9375));
  const auto zdt3 = Zdt(3).evaluate(x).objectives;  // sin(2.5 pi) = 1
  EXPECT_DOUBLE_EQ(zdt3[1], 1.0 - 0.5 - 0.25);
  std::fill(x.begin() + 1, x.end(), 1.0);  // g = 10
  EXPECT_DOUBLE_EQ(Zdt(1).evaluate(x).objectives[1], 10.0 * (1.0 - std::sqrt(0.025)));
  EXPECT_TRUE(Zdt(1).evaluate(x).feasible());
}

TEST(TestProblemsTest, ZdtThreeFrontHasFiveDisconnectedPieces) {
  const ObjectiveMatrix front = Zdt(3).true_front(10001);
  int gaps = 0;
  for (std::size_t i = 1; i < front.size(); ++i) gaps += front[i][0] - front[i - 1][0] > 0.01;
  EXPECT_EQ(gaps, 4);
  EXPECT_EQ(front.front()[0], 0.0);
  EXPECT_LT(front.back()[1], -0.7);
}

TEST(TestProblemsTest, Dtlz2FrontIsTheUnitSphere) {
  const Dtlz2 problem;
  EXPECT_EQ(problem.variable_count(), 12u);
  const ObjectiveMatrix front = problem.true_front(11);
  EXPECT_EQ(front.size(), 121u);
  for (const auto& f : front) EXPECT_NEAR(norm(f), 1.0, 1e-12);
  Rng rng(5);
  for (int i = 0; i < 100; ++i) {
    const auto x = problem.sample(rng);
    double g = 0.0;
    for (std::size_t k = 2; k < x.size(); ++k) g += (x[k] - 0.5) * (x[k] - 0.5);
    EXPECT_NEAR(norm(problem.evaluate(x).objectives), 1.0 + g, 1e-12);
  }
}

TEST(TestProblemsTest, ConstrViolationIsTheSumOfDeficits) {
  const Constr problem;
  EXPECT_TRUE(problem.evaluate({0.8, 0.0}).feasible());
  EXPECT_THAT(problem.evaluate({0.5, 0.5}).objectives, ElementsAre(0.5, 3.0));
  EXPECT_DOUBLE_EQ(problem.evaluate({0.5, 0.5}).violation, 6.0 - 5.0);   // x2 + 9 x1 >= 6
  EXPECT_NEAR(problem.evaluate({0.1, 5.0}).violation, 0.1 + 5.1, 1e-12);  // both deficits
  for (const auto& f : problem.true_front(50)) {
    const double x1 = f[0];
    const double x2 = f[1] * x1 - 1.0;
    EXPECT_NEAR(problem.evaluate({x1, x2}).violation, 0.0, 1e-12);
  }
}

TEST(TestProblemsTest, RejectsUnknownVariantsAndSizes) {
  EXPECT_THAT([] { Zdt(4); }, ThrowsMessage<std::invalid_argument>(HasSubstr("ZDT problem 4: expected 1, 2 or 3")));
  EXPECT_THAT([] { Zdt(1, 1); }, ThrowsMessage<std::invalid_argument>(HasSubstr("ZDT1: 1 variables; expected at least 2")));
  EXPECT_THAT([] { Dtlz2(3, 2); },
              ThrowsMessage<std::invalid_argument>(HasSubstr("DTLZ2: 2 variables for 3 objectives")));
  EXPECT_THAT([] { Zdt(1).evaluate({0.5}); },
              ThrowsMessage<std::invalid_argument>(HasSubstr("decision has 1 variables; the problem has 30")));
}

}  // namespace
}  // namespace joules
