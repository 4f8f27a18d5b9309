// Network estimates: the sum of per-layer models plus the overhead, the uncertainty band,
// latency, fallbacks for kinds without a model, out-of-range warnings, and concurrent use.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <thread>

#include "energy/estimator.hpp"
#include "space/architecture_yaml.hpp"
#include "util/input_error.hpp"
#include "tests/energy/sample_profile.hpp"

namespace joules {
namespace {

using ::testing::HasSubstr;
using testing::sample_profile;

Architecture small_net() {
  return parse_architecture(
      "input: [3, 32, 32]\n"
      "layers:\n"
      "  - conv: {filters: 40, kernel: 3, padding: 1}\n"
      "  - pool: {op: max, kernel: 2}\n"
      "  - conv: {filters: 64, kernel: 3, stride: 2, padding: 1}\n"
      "  - fc: {units: 10}\n",
      "small.yaml");
}

TEST(EstimatorTest, SumsLayersAndTheOverhead) {
  const BoardProfile profile = sample_profile();
  const EnergyEstimator estimator(profile);
  const Architecture arch = small_net();
  const NetworkAnalysis net = analyze(arch);
  const NetworkEstimate e = estimator.estimate(arch);
  ASSERT_EQ(e.layers.size(), 4u);

  // conv 0: stairs, 40 filters run as 64.
  const double conv0 = 5e-8 * static_cast<double>(net.layers[0].macs) * 64 / 40 + 0.125;
  EXPECT_NEAR(e.layers[0].energy_mj, conv0, conv0 * 1e-12);
  const double fc = 2e-7 * static_cast<double>(net.layers[3].macs) + 0.0625;
  EXPECT_NEAR(e.layers[3].energy_mj, fc, fc * 1e-12);
  double sum = 1.5;
  for (const LayerEstimate& l : e.layers) sum += l.energy_mj;
  EXPECT_NEAR(e.energy_mj, sum, sum * 1e-12);
  EXPECT_EQ(e.overhead_mj, 1.5);
  // The band scales every part by the cross-validated ratios.
  EXPECT_NEAR(e.energy_low_mj, 0.9 * e.energy_mj, 1e-9);
  EXPECT_NEAR(e.energy_high_mj, 1.2 * e.energy_mj, 1e-9);
}

TEST(EstimatorTest, PricesAPoolAsADepthwiseConvOrElseAConvAndSaysSo) {
  const EnergyEstimator estimator(sample_profile());
  const NetworkEstimate e = estimator.estimate(small_net());
  EXPECT_EQ(e.layers[1].kind, LayerKind::pool);
  EXPECT_EQ(e.layers[1].priced_as, LayerKind::conv);  // no depthwise model either
  EXPECT_GT(e.layers[1].energy_mj, 0.125);             // never free
  ASSERT_FALSE(e.warnings.empty());
  EXPECT_EQ(describe(e.warnings[0]), "layer 1 (pool): the profile has no pool model; priced as a conv layer with the same window and stride");

  BoardProfile with_depthwise = sample_profile();
  LayerModel dw{.family = ModelFamily::linear};
  dw.coefficients[static_cast<std::size_t>(Term::mac)] = 4e-7;
  with_depthwise.energy.layers[static_cast<std::size_t>(LayerKind::depthwise)] = dw;
  const NetworkEstimate d = EnergyEstimator(with_depthwise).estimate(small_net());
  EXPECT_EQ(d.layers[1].priced_as, LayerKind::depthwise);
  EXPECT_DOUBLE_EQ(d.layers[1].energy_mj, 4e-7 * 40 * 16 * 16 * 4);  // window operations
}

TEST(EstimatorTest, WarnsAboutLayersOutsideTheFittedRange) {
  const NetworkEstimate e = EnergyEstimator(sample_profile()).estimate(small_net());
  std::vector<std::string> lines;
  for (const EstimateWarning& w : e.warnings) lines.push_back(describe(w));
  EXPECT_THAT(lines, ::testing::Contains("layer 2 (conv): stride 2 is outside the fitted range [1, 1]"));
  for (const std::string& l : lines) EXPECT_THAT(l, ::testing::Not(HasSubstr("layer 0 ")));  // within range
  EXPECT_THAT(lines, ::testing::Not(::testing::Contains(HasSubstr("layer 3 (fc): units"))));  // 10 units: inside
}

TEST(EstimatorTest, EstimatesLatencyWhenTheProfileModelsIt) {
  const NetworkEstimate e = EnergyEstimator(sample_profile()).estimate(small_net());
  ASSERT_TRUE(e.latency_ms.has_value());
  const NetworkAnalysis net = analyze(small_net());
  // Only conv has a latency model: the others fall back to it.
  double expected = 0.25;
  for (std::size_t i = 0; i < net.layers.size(); ++i) expected += *e.layers[i].latency_ms;
  EXPECT_NEAR(*e.latency_ms, expected, 1e-12);
  EXPECT_NEAR(*e.layers[0].latency_ms, 1e-8 * static_cast<double>(net.layers[0].macs), 1e-15);

  BoardProfile no_latency = sample_profile();
  no_latency.latency.reset();
  const NetworkEstimate n = EnergyEstimator(no_latency).estimate(small_net());
  EXPECT_FALSE(n.latency_ms.has_value());
  EXPECT_FALSE(n.layers[0].latency_ms.has_value());
}

TEST(EstimatorTest, GivesTheSameAnswerFromManyThreadsAtOnce) {
  const EnergyEstimator estimator(sample_profile());
  const Architecture arch = small_net();
  const double expected = estimator.estimate(arch).energy_mj;
  std::vector<std::thread> threads;
  std::vector<int> mismatches(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 2000; ++i) mismatches[t] += estimator.estimate(arch).energy_mj != expected;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(mismatches, std::vector<int>(4, 0));
}

TEST(EstimatorTest, RejectsAProfileWithoutAConvModel) {
  BoardProfile p = sample_profile();
  p.energy.layers[static_cast<std::size_t>(LayerKind::conv)].reset();
  EXPECT_THAT([&] { EnergyEstimator{p}; },
              ::testing::ThrowsMessage<std::invalid_argument>(
                  ::testing::HasSubstr("board profile " + p.board + " has no conv energy model")));
}

TEST(EstimatorTest, RejectsAnImpossibleArchitecture) {
  const EnergyEstimator estimator(sample_profile());
  Architecture arch = small_net();
  std::get<ConvLayer>(arch.layers[0]).kernel = Size2::square(99);
  EXPECT_THAT([&] { estimator.estimate(arch); },
              ::testing::ThrowsMessage<SpecError>(::testing::HasSubstr("kernel 99x99 is larger than the padded input")));
}

}  // namespace
}  // namespace joules
