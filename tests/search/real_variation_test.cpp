#include "search/real_variation.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <stdexcept>

namespace joules {
namespace {

using ::testing::HasSubstr;
using ::testing::ThrowsMessage;

class RealVariationTest : public ::testing::Test {
 protected:
  static RealBounds box(std::size_t n) { return {std::vector<double>(n, -1.0), std::vector<double>(n, 2.0)}; }

  static void expect_inside(const std::vector<double>& x, const RealBounds& b) {
    for (std::size_t i = 0; i < x.size(); ++i) {
      ASSERT_GE(x[i], b.lower[i]);
      ASSERT_LE(x[i], b.upper[i]);
    }
  }

  // Mean distance of children from their nearest parent, per variable that changed.
  static double mean_spread(const RealVariation& variation, Rng& rng) {
    const std::vector<double> a(10, 0.2), b(10, 0.8);
    double total = 0.0;
    int changed = 0;
    for (int trial = 0; trial < 2000; ++trial) {
      const auto [c, d] = variation.crossover(a, b, rng);
      for (std::size_t i = 0; i < c.size(); ++i) {
        if (c[i] == a[i] && d[i] == b[i]) continue;
        total += std::min(std::abs(c[i] - a[i]), std::abs(c[i] - b[i]));
        ++changed;
      }
    }
    return total / changed;
  }

  Rng rng{4242};
};

TEST_F(RealVariationTest, SamplesAndChildrenStayInTheBoxAndRepeatForASeed) {
  const RealVariation variation(box(8), {.mutation_probability = 1.0});
  Rng again(4242);
  for (int trial = 0; trial < 1000; ++trial) {
    const auto a = variation.sample(rng);
    const auto b = variation.sample(rng);
    ASSERT_EQ(a, variation.sample(again));
    ASSERT_EQ(b, variation.sample(again));
    expect_inside(a, variation.bounds());
    const auto children = variation.crossover(a, b, rng);
    ASSERT_EQ(children, variation.crossover(a, b, again));
    expect_inside(children.first, variation.bounds());
    expect_inside(children.second, variation.bounds());
    const auto mutant = variation.mutate(children.first, rng);
    ASSERT_EQ(mutant, variation.mutate(children.first, again));
    expect_inside(mutant, variation.bounds());
  }
}

TEST_F(RealVariationTest, ValuesOnTheBoundsMutateInward) {
  const RealVariation variation(box(4), {.mutation_probability = 1.0});
  for (int trial = 0; trial < 500; ++trial) {
    const auto low = variation.mutate(variation.bounds().lower, rng);
    const auto high = variation.mutate(variation.bounds().upper, rng);
    expect_inside(low, variation.bounds());
    expect_inside(high, variation.bounds());
  }
}

TEST_F(RealVariationTest, WithoutCrossoverProbabilityChildrenCopyTheirParents) {
  const RealVariation variation(box(5), {.crossover_probability = 0.0});
  const std::vector<double> a{0, 0, 0, 0, 0}, b{1, 1, 1, 1, 1};
  for (int trial = 0; trial < 100; ++trial) {
    const auto [c, d] = variation.crossover(a, b, rng);
    EXPECT_EQ(c, a);
    EXPECT_EQ(d, b);
  }
}

TEST_F(RealVariationTest, LargerDistributionIndexKeepsChildrenCloserToParents) {
  const double wide = mean_spread(RealVariation(box(10), {.crossover_distribution_index = 2.0}), rng);
  const double narrow = mean_spread(RealVariation(box(10), {.crossover_distribution_index = 50.0}), rng);
  EXPECT_LT(narrow, wide / 2);
}

TEST_F(RealVariationTest, MutatesOneVariableOnAverageByDefault) {
  const RealVariation variation(box(30));
  EXPECT_DOUBLE_EQ(variation.mutation_probability(), 1.0 / 30);
  const std::vector<double> x(30, 0.5);
  int changed = 0;
  const int trials = 4000;
  for (int trial = 0; trial < trials; ++trial) {
    const auto y = variation.mutate(x, rng);
    for (std::size_t i = 0; i < x.size(); ++i) changed += y[i] != x[i];
  }
  // Binomial(120000, 1/30): mean 4000, standard deviation about 62.
  EXPECT_NEAR(changed, trials, 300);
}

TEST_F(RealVariationTest, RejectsInvalidSettingsNamingTheValue) {
  EXPECT_THAT([] { RealVariation(box(2), {.crossover_probability = 1.5}); },
              ThrowsMessage<std::invalid_argument>(HasSubstr("crossover_probability is 1.5; expected a value in [0, 1]")));
  EXPECT_THAT([] { RealVariation(box(2), {.mutation_probability = -0.1}); },
              ThrowsMessage<std::invalid_argument>(HasSubstr("mutation_probability is -0.1")));
  EXPECT_THAT([] { RealVariation(box(2), {.mutation_distribution_index = -3}); },
              ThrowsMessage<std::invalid_argument>(HasSubstr("mutation_distribution_index is -3; expected a finite value >= 0")));
  EXPECT_THAT([] { RealVariation({{0, 2}, {1, 1}}); },
              ThrowsMessage<std::invalid_argument>(HasSubstr("bounds of variable 1: [2, 1]")));
  EXPECT_THAT([] { RealVariation({{0, 0}, {1}}); },
              ThrowsMessage<std::invalid_argument>(HasSubstr("2 lower bounds but 1 upper bounds")));
  EXPECT_THAT([] { RealVariation(RealBounds{}); }, ThrowsMessage<std::invalid_argument>(HasSubstr("no variables")));
  const RealVariation variation(box(3));
  EXPECT_THAT([&] { variation.crossover({0, 0, 0}, {0, 0}, rng); },
              ThrowsMessage<std::invalid_argument>(HasSubstr("parent b has 2 variables; the bounds have 3")));
  EXPECT_THAT([&] { variation.mutate({0}, rng); },
              ThrowsMessage<std::invalid_argument>(HasSubstr("has 1 variables; the bounds have 3")));
}

}  // namespace
}  // namespace joules
