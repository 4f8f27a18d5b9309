#include "search/hypervolume.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <numbers>
#include <set>
#include <stdexcept>

#include "search/test_problems.hpp"
#include "util/random.hpp"

namespace joules {
namespace {

using ::testing::HasSubstr;
using ::testing::ThrowsMessage;

// Cuts the reference box into the grid of every coordinate that occurs and adds up the cells
// whose lower corner some point weakly dominates: exact, and obviously so, but O(n^(m+1)).
double brute_force_hypervolume(const ObjectiveMatrix& points, const std::vector<double>& reference) {
  const std::size_t m = reference.size();
  std::vector<std::vector<double>> grid(m);
  for (std::size_t k = 0; k < m; ++k) {
    std::set<double> cuts{reference[k]};
    for (const auto& p : points) {
      if (p[k] < reference[k]) cuts.insert(p[k]);
    }
    grid[k].assign(cuts.begin(), cuts.end());
  }
  double volume = 0.0;
  std::vector<std::size_t> cell(m, 0);
  std::function<void(std::size_t)> visit = [&](std::size_t k) {
    if (k == m) {
      const bool covered = std::any_of(points.begin(), points.end(), [&](const auto& p) {
        for (std::size_t d = 0; d < m; ++d) {
          if (p[d] > grid[d][cell[d]]) return false;
        }
        return true;
      });
      if (!covered) return;
      double size = 1.0;
      for (std::size_t d = 0; d < m; ++d) size *= grid[d][cell[d] + 1] - grid[d][cell[d]];
      volume += size;
      return;
    }
    for (cell[k] = 0; cell[k] + 1 < grid[k].size(); ++cell[k]) visit(k + 1);
  };
  visit(0);
  return volume;
}

class HypervolumeTest : public ::testing::Test {
 protected:
  ObjectiveMatrix random_points(std::size_t n, std::size_t m, bool integer) {
    ObjectiveMatrix points(n, std::vector<double>(m));
    for (auto& p : points) {
      for (auto& v : p) v = integer ? static_cast<double>(rng.index(8)) : rng.uniform() * 8.0;
    }
    return points;
  }

  Rng rng{31337};
};

TEST_F(HypervolumeTest, HandCheckedTwoObjectiveStaircase) {
  // Slabs 3 x 1 + 2 x 1 + 1 x 1.
  EXPECT_DOUBLE_EQ(hypervolume({{1, 3}, {2, 2}, {3, 1}}, {4, 4}), 6.0);
  // A dominated point, a repeat, and points on or past the reference add nothing.
  EXPECT_DOUBLE_EQ(hypervolume({{1, 3}, {2, 2}, {3, 1}, {3, 3}, {2, 2}, {4, 0}, {0, 5}}, {4, 4}), 6.0);
  EXPECT_DOUBLE_EQ(hypervolume({}, {4, 4}), 0.0);
  EXPECT_DOUBLE_EQ(hypervolume({{-1, -1}}, {1, 2}), 6.0);
}

TEST_F(HypervolumeTest, HandCheckedThreeObjectiveBoxes) {
  EXPECT_DOUBLE_EQ(hypervolume({{1, 1, 1}}, {2, 3, 4}), 6.0);
  // Boxes of 4 and 2 sharing [1, 2]^3.
  EXPECT_DOUBLE_EQ(hypervolume({{0, 0, 1}, {1, 1, 0}}, {2, 2, 2}), 5.0);
  // Three boxes of 2 whose pairwise and triple intersections are the unit cube [1, 2]^3.
  EXPECT_DOUBLE_EQ(hypervolume({{0, 1, 1}, {1, 0, 1}, {1, 1, 0}}, {2, 2, 2}), 3.0 * 2 - 3 * 1 + 1);
  EXPECT_DOUBLE_EQ(hypervolume({{1, 1, 1}, {1, 1, 1}, {1.5, 1.5, 1.5}, {0, 0, 4}}, {2, 3, 4}), 6.0);
}

TEST_F(HypervolumeTest, MatchesBruteForceOnRandomSets) {
  for (int trial = 0; trial < 300; ++trial) {
    const std::size_t m = 2 + trial % 2;
    const ObjectiveMatrix points = random_points(1 + rng.index(m == 2 ? 60 : 25), m, /*integer=*/trial % 3 == 0);
    const std::vector<double> reference(m, 7.0);  // some points lie past it
    const double expected = brute_force_hypervolume(points, reference);
    ASSERT_NEAR(hypervolume(points, reference), expected, 1e-9 * std::max(1.0, expected)) << "trial " << trial;
  }
}

TEST_F(HypervolumeTest, DoesNotDependOnPointOrder) {
  ObjectiveMatrix points = random_points(50, 3, /*integer=*/false);
  const double volume = hypervolume(points, {8, 8, 8});
  std::reverse(points.begin(), points.end());
  EXPECT_NEAR(hypervolume(points, {8, 8, 8}), volume, 1e-9 * volume);
}

TEST_F(HypervolumeTest, DenseKnownFrontsApproachTheirAnalyticVolumes) {
  // ZDT1 and ZDT2: the reference box minus the area under f2 = 1 - sqrt(f1) or 1 - f1^2.
  const double zdt1 = hypervolume(Zdt(1).true_front(20001), {1.1, 1.1});
  EXPECT_LT(zdt1, 1.21 - 1.0 / 3);
  EXPECT_NEAR(zdt1, 1.21 - 1.0 / 3, 1e-4);
  const double zdt2 = hypervolume(Zdt(2).true_front(20001), {1.1, 1.1});
  EXPECT_NEAR(zdt2, 1.21 - 2.0 / 3, 1e-4);
  // DTLZ2: the reference cube minus the eighth of the unit ball.
  const double dtlz2 = hypervolume(Dtlz2().true_front(200), {1.1, 1.1, 1.1});
  EXPECT_LT(dtlz2, 1.331 - std::numbers::pi / 6);
  EXPECT_NEAR(dtlz2, 1.331 - std::numbers::pi / 6, 0.01);
}

TEST_F(HypervolumeTest, RejectsWhatItCannotMeasure) {
  EXPECT_THAT([] { hypervolume({{1, 2, 3, 4}}, {5, 5, 5, 5}); },
              ThrowsMessage<std::invalid_argument>(HasSubstr("the reference point has 4 objectives; exact "
                                                             "hypervolume needs 2 or 3")));
  EXPECT_THAT([] { hypervolume({{1, 2}, {1, 2, 3}}, {5, 5}); },
              ThrowsMessage<std::invalid_argument>(HasSubstr("point 1 has 3 objectives, the reference point 2")));
  EXPECT_THAT([] { hypervolume({{1, std::numeric_limits<double>::infinity()}}, {5, 5}); },
              ThrowsMessage<std::invalid_argument>(HasSubstr("point 0 objective 1 is inf")));
  EXPECT_THAT([] { hypervolume({{1, 1}}, {5, std::nan("")}); },
              ThrowsMessage<std::invalid_argument>(HasSubstr("reference coordinate 1 is nan")));
}

}  // namespace
}  // namespace joules
