#include "search/pareto.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

#include "util/random.hpp"

namespace joules {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr double kInf = std::numeric_limits<double>::infinity();

class ParetoTest : public ::testing::Test {
 protected:
  // Points with small integer coordinates (many ties and repeats) and, when `constrained`,
  // violations that are 0 for about half the points.
  void random_set(std::size_t n, std::size_t m, bool constrained) {
    objectives.assign(n, std::vector<double>(m));
    violations.assign(constrained ? n : 0, 0.0);
    for (auto& row : objectives) {
      for (auto& v : row) v = static_cast<double>(rng.index(6));
    }
    for (auto& v : violations) v = rng.chance(0.5) ? 0.0 : static_cast<double>(rng.index(4)) + 0.5;
  }

  Rng rng{20240501};
  ObjectiveMatrix objectives;
  std::vector<double> violations;
};

// Peels off, again and again, the points no remaining point constraint-dominates.
std::vector<std::size_t> brute_force_ranks(const ObjectiveMatrix& f, const std::vector<double>& v) {
  const auto viol = [&](std::size_t i) { return v.empty() ? 0.0 : v[i]; };
  std::vector<std::size_t> rank(f.size(), SIZE_MAX);
  std::size_t assigned = 0;
  for (std::size_t r = 0; assigned < f.size(); ++r) {
    std::vector<std::size_t> front;
    for (std::size_t i = 0; i < f.size(); ++i) {
      if (rank[i] != SIZE_MAX) continue;
      bool dominated = false;
      for (std::size_t j = 0; j < f.size() && !dominated; ++j) {
        dominated = rank[j] == SIZE_MAX && constrained_dominates(f[j], viol(j), f[i], viol(i));
      }
      if (!dominated) front.push_back(i);
    }
    for (const std::size_t i : front) rank[i] = r;
    assigned += front.size();
  }
  return rank;
}

TEST_F(ParetoTest, DominanceNeedsNoWorseEverywhereAndBetterSomewhere) {
  EXPECT_TRUE(dominates({1, 2}, {1, 3}));
  EXPECT_TRUE(dominates({0, 0, 0}, {1, 1, 1}));
  EXPECT_FALSE(dominates({1, 2}, {1, 2}));
  EXPECT_FALSE(dominates({1, 3}, {2, 2}));
  EXPECT_FALSE(dominates({2, 2}, {1, 3}));
}

TEST_F(ParetoTest, ConstraintDominationPrefersFeasibleThenLowerViolation) {
  EXPECT_TRUE(constrained_dominates({9, 9}, 0.0, {0, 0}, 0.1));   // feasible beats infeasible
  EXPECT_FALSE(constrained_dominates({0, 0}, 0.1, {9, 9}, 0.0));
  EXPECT_TRUE(constrained_dominates({9, 9}, 0.2, {0, 0}, 0.3));   // lower violation wins
  EXPECT_FALSE(constrained_dominates({0, 0}, 0.3, {9, 9}, 0.2));
  EXPECT_FALSE(constrained_dominates({0, 0}, 0.3, {9, 9}, 0.3));  // equal violations: neither
  EXPECT_TRUE(constrained_dominates({1, 1}, 0.0, {1, 2}, 0.0));   // both feasible: Pareto
  EXPECT_FALSE(constrained_dominates({1, 3}, 0.0, {2, 2}, 0.0));
}

TEST_F(ParetoTest, SortsAHandCheckedSetIntoFronts) {
  const ObjectiveMatrix f{{1, 5}, {2, 2}, {5, 1}, {3, 3}, {4, 4}, {2, 2}, {0, 0}};
  const std::vector<double> v{0, 0, 0, 0, 0, 0, 1.5};
  const NonDominatedFronts sorted = non_dominated_sort(f, v);
  ASSERT_EQ(sorted.fronts.size(), 4u);
  EXPECT_THAT(sorted.fronts[0], ElementsAre(0, 1, 2, 5));  // repeated points share a front
  EXPECT_THAT(sorted.fronts[1], ElementsAre(3));
  EXPECT_THAT(sorted.fronts[2], ElementsAre(4));
  EXPECT_THAT(sorted.fronts[3], ElementsAre(6));  // dominates all, but infeasible
  EXPECT_THAT(sorted.rank, ElementsAre(0, 0, 0, 1, 2, 0, 3));
}

TEST_F(ParetoTest, SortingMatchesBruteForceOnRandomSets) {
  for (int trial = 0; trial < 200; ++trial) {
    const bool constrained = trial % 2 == 1;
    random_set(1 + rng.index(40), 2 + rng.index(3), constrained);
    const NonDominatedFronts sorted = non_dominated_sort(objectives, violations);
    ASSERT_EQ(sorted.rank, brute_force_ranks(objectives, violations)) << "trial " << trial;
    std::size_t total = 0;
    for (std::size_t r = 0; r < sorted.fronts.size(); ++r) {
      ASSERT_TRUE(std::is_sorted(sorted.fronts[r].begin(), sorted.fronts[r].end()));
      for (const std::size_t i : sorted.fronts[r]) ASSERT_EQ(sorted.rank[i], r);
      total += sorted.fronts[r].size();
    }
    ASSERT_EQ(total, objectives.size());
  }
}

TEST_F(ParetoTest, CrowdingDistanceOfAHandCheckedFront) {
  const ObjectiveMatrix f{{0, 4}, {1, 2}, {2, 1}, {4, 0}};
  // (1, 2): neighbours 0 and 2 along f1 (range 4), 4 and 1 along f2 (range 4).
  EXPECT_THAT(crowding_distance(f, {0, 1, 2, 3}), ElementsAre(kInf, 2.0 / 4 + 3.0 / 4, 3.0 / 4 + 2.0 / 4, kInf));
  EXPECT_THAT(crowding_distance(f, {1, 2}), ElementsAre(kInf, kInf));
  EXPECT_THAT(crowding_distance(f, {2}), ElementsAre(kInf));
  EXPECT_TRUE(crowding_distance(f, {}).empty());
}

TEST_F(ParetoTest, AnObjectiveWithoutRangeAddsNoCrowding) {
  const ObjectiveMatrix f{{0, 7}, {1, 7}, {3, 7}, {4, 7}};
  const std::vector<double> d = crowding_distance(f, {0, 1, 2, 3});
  EXPECT_EQ(d[0], kInf);
  EXPECT_DOUBLE_EQ(d[1], 3.0 / 4);
  EXPECT_DOUBLE_EQ(d[2], 3.0 / 4);
  EXPECT_EQ(d[3], kInf);
}

TEST_F(ParetoTest, CrowdingMatchesBruteForceOnRandomFronts) {
  for (int trial = 0; trial < 100; ++trial) {
    const std::size_t n = 3 + rng.index(30);
    const std::size_t m = 2 + rng.index(2);
    ObjectiveMatrix f(n + 5, std::vector<double>(m));
    for (auto& row : f) {
      for (auto& v : row) v = rng.uniform();  // continuous: no ties, so neighbours are unique
    }
    std::vector<std::size_t> front;
    for (std::size_t i = 0; i < n; ++i) front.push_back(rng.index(f.size()));
    std::sort(front.begin(), front.end());
    front.erase(std::unique(front.begin(), front.end()), front.end());
    if (front.size() < 3) continue;
    const std::vector<double> d = crowding_distance(f, front);
    for (std::size_t p = 0; p < front.size(); ++p) {
      double expected = 0.0;
      for (std::size_t k = 0; k < m; ++k) {
        double lo = kInf, hi = kInf, min = kInf, max = -kInf;  // lo/hi: distance to the neighbours
        const double x = f[front[p]][k];
        for (const std::size_t j : front) {
          const double y = f[j][k];
          min = std::min(min, y);
          max = std::max(max, y);
          if (y < x) lo = std::min(lo, x - y);
          if (y > x) hi = std::min(hi, y - x);
        }
        expected += (lo + hi) / (max - min);
      }
      ASSERT_DOUBLE_EQ(d[p], expected) << "trial " << trial << " point " << p;
    }
  }
}

TEST_F(ParetoTest, FrontKeepsFeasibleNonDominatedPointsAndRepeats) {
  const ObjectiveMatrix f{{1, 5}, {2, 2}, {2, 2}, {3, 3}, {0, 0}, {5, 1}};
  EXPECT_THAT(pareto_front(f), ElementsAre(4));
  EXPECT_THAT(pareto_front(f, {0, 0, 0, 0, 2, 0}), ElementsAre(0, 1, 2, 5));
  EXPECT_TRUE(pareto_front(f, {1, 1, 1, 1, 1, 1}).empty());
  EXPECT_TRUE(pareto_front({}).empty());
}

TEST_F(ParetoTest, FrontMatchesRankZeroAmongFeasiblePoints) {
  for (int trial = 0; trial < 100; ++trial) {
    random_set(1 + rng.index(40), 2 + rng.index(2), /*constrained=*/true);
    ObjectiveMatrix feasible;
    std::vector<std::size_t> index;
    for (std::size_t i = 0; i < objectives.size(); ++i) {
      if (violations[i] == 0.0) {
        feasible.push_back(objectives[i]);
        index.push_back(i);
      }
    }
    std::vector<std::size_t> expected;
    if (!feasible.empty()) {
      const NonDominatedFronts sorted = non_dominated_sort(feasible);
      for (const std::size_t i : sorted.fronts[0]) expected.push_back(index[i]);
    }
    ASSERT_EQ(pareto_front(objectives, violations), expected) << "trial " << trial;
  }
}

TEST_F(ParetoTest, RejectsInconsistentInput) {
  EXPECT_THAT([] { non_dominated_sort({{1, 2}, {1, 2, 3}}); },
              ::testing::ThrowsMessage<std::invalid_argument>(HasSubstr("point 1 has 3 objectives, point 0 has 2")));
  EXPECT_THAT([] { non_dominated_sort({{1, 2}, {std::nan(""), 1}}); },
              ::testing::ThrowsMessage<std::invalid_argument>(HasSubstr("point 1: objective 0 is NaN")));
  EXPECT_THAT([] { non_dominated_sort({{1, 2}, {2, 1}}, {0.0}); },
              ::testing::ThrowsMessage<std::invalid_argument>(HasSubstr("1 violations given for 2 points")));
  EXPECT_THAT([] { pareto_front({{1, 2}, {2, 1}}, {0.0, -1.0}); },
              ::testing::ThrowsMessage<std::invalid_argument>(HasSubstr("point 1: violation -1 is not a number >= 0")));
}

}  // namespace
}  // namespace joules
