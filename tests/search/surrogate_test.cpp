#include "search/surrogate.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <set>
#include <stdexcept>

#include "util/random.hpp"

namespace joules {
namespace {

// A smooth function of two features, sampled on a grid.
double truth(double a, double b) { return 0.6 + 0.2 * std::sin(a) + 0.1 * b * b; }

TEST(GaussianProcessTest, PredictsASmoothFunctionBetweenItsSamplesAndKnowsWhereItIsUnsure) {
  ObjectiveMatrix x;
  std::vector<double> y;
  for (int i = 0; i <= 10; ++i) {
    for (int j = 0; j <= 4; ++j) {
      const double a = 0.3 * i, b = 0.25 * j;
      x.push_back({a, b, 7.0});  // a constant column drops out
      y.push_back(truth(a, b));
    }
  }
  const GaussianProcess gp = GaussianProcess::fit(x, y);
  // Between the grid points: within 1% of the function's range (0.3).
  for (const auto& [a, b] : {std::pair{0.45, 0.375}, std::pair{1.65, 0.125}, std::pair{2.85, 0.875}}) {
    const GpPrediction p = gp.predict({a, b, 7.0});
    EXPECT_NEAR(p.mean, truth(a, b), 0.003) << a << ", " << b;
  }
  // Far from every sample: less sure than near one.
  EXPECT_GT(gp.predict({9.0, 3.0, 7.0}).sd, 10.0 * gp.predict({1.5, 0.5, 7.0}).sd);
  EXPECT_THROW(gp.predict({1.0, 2.0}), std::invalid_argument);
}

TEST(GaussianProcessTest, NoisyTargetsAreSmoothedNotInterpolated) {
  Rng rng(4);
  ObjectiveMatrix x;
  std::vector<double> y;
  for (int i = 0; i < 60; ++i) {
    const double a = 0.05 * i;
    x.push_back({a});
    y.push_back(a + 0.2 * (rng.uniform() - 0.5));  // noise sd about 0.06
  }
  const GaussianProcess gp = GaussianProcess::fit(x, y);
  EXPECT_GE(gp.noise(), 0.01);
  double error = 0.0;
  for (int i = 0; i < 60; ++i) error += std::abs(gp.predict({0.05 * i + 0.025}).mean - (0.05 * i + 0.025));
  EXPECT_LT(error / 60.0, 0.03);  // the noise alone averages 0.05
}

TEST(GaussianProcessTest, RefusesBadRows) {
  EXPECT_THROW(GaussianProcess::fit({}, {}), std::invalid_argument);
  EXPECT_THROW(GaussianProcess::fit({{1.0}, {2.0, 3.0}}, {1.0, 2.0}), std::invalid_argument);
  EXPECT_THROW(GaussianProcess::fit({{1.0}, {2.0}}, {1.0}), std::invalid_argument);
  EXPECT_THROW(GaussianProcess::fit({{1.0}, {NAN}}, {1.0, 2.0}), std::invalid_argument);
  // One row, or equal targets: a fit that predicts the mean.
  EXPECT_NEAR(GaussianProcess::fit({{1.0}}, {0.5}).predict({3.0}).mean, 0.5, 1e-9);
  EXPECT_NEAR(GaussianProcess::fit({{1.0}, {2.0}}, {0.5, 0.5}).predict({1.5}).mean, 0.5, 1e-9);
}

TEST(PrescreenTest, PicksWhatAddsMostToTheFrontThenSpreads) {
  // Evaluated front: (1, 9), (5, 5), (9, 1). Candidates: a dominated one, two in the gap
  // between (1, 9) and (5, 5) close to each other, one in the other gap, an infeasible one that
  // would dominate everything.
  const ObjectiveMatrix evaluated{{1, 9}, {5, 5}, {9, 1}, {6, 6}};
  const ObjectiveMatrix candidates{{6, 7}, {2.5, 6.5}, {2.6, 6.4}, {6.5, 2.5}, {0, 0}};
  const std::vector<bool> feasible{true, true, true, true, false};
  // The first pick adds the most area; the second goes to the other gap (its near twin adds
  // less once the first is believed); then the twin; then the dominated one; the infeasible last.
  const std::vector<std::size_t> picks = prescreen(evaluated, candidates, feasible, 5);
  ASSERT_EQ(picks.size(), 5u);
  EXPECT_TRUE(picks[0] == 1 || picks[0] == 2 || picks[0] == 3);
  EXPECT_EQ(std::set<std::size_t>(picks.begin(), picks.begin() + 2).count(3), 1u);
  EXPECT_EQ(picks[3], 0u);
  EXPECT_EQ(picks[4], 4u);
  EXPECT_EQ(prescreen(evaluated, candidates, feasible, 2).size(), 2u);
  EXPECT_EQ(prescreen(evaluated, candidates, feasible, 9).size(), 5u);
}

TEST(PrescreenTest, DominatedCandidatesRankByHowFarBehindTheyAre) {
  const ObjectiveMatrix evaluated{{1, 1}};
  const ObjectiveMatrix candidates{{3, 3}, {1.5, 2}, {2, 1.2}};
  const std::vector<std::size_t> picks = prescreen(evaluated, candidates, {true, true, true}, 3);
  EXPECT_EQ(picks, (std::vector<std::size_t>{2, 1, 0}));
  // Four objectives: the margin alone. Nothing evaluated yet: by the volume each adds.
  EXPECT_EQ(prescreen({{1, 1, 1, 1}}, {{2, 2, 2, 2}, {0, 2, 2, 2}}, {true, true}, 1), (std::vector<std::size_t>{1}));
  EXPECT_EQ(prescreen({}, {{2, 2}, {1, 1}}, {true, true}, 2), (std::vector<std::size_t>{1, 0}));
  EXPECT_THROW(prescreen({{1, 1}}, {{1, 1, 1}}, {true}, 1), std::invalid_argument);
  EXPECT_THROW(prescreen({}, {{1, 1}}, {}, 1), std::invalid_argument);
}

}  // namespace
}  // namespace joules
