// Step-aware pruning's choices: the candidate counts on a board's steps, which layers can be
// pruned, the greedy's result against uniform pruning, and the surgery on plain weights
// (filters, batch norm, the next conv's input channels, the first fc's flattened columns).

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <numeric>

#include "energy/prune_plan.hpp"
#include "space/architecture_yaml.hpp"
#include "util/input_error.hpp"

namespace joules {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// Conv on stairs of 16 filters (0.01 mJ per padded MAC plus a launch), fc linear.
BoardProfile stairs_profile(std::int64_t granularity = 16) {
  BoardProfile p;
  p.board = "stairs";
  p.energy.target = "energy_mj";
  p.energy.overhead = 1;
  LayerModel conv{.family = ModelFamily::stairs, .granularity = granularity};
  conv.coefficients[static_cast<std::size_t>(Term::mac)] = 1e-6;
  conv.coefficients[static_cast<std::size_t>(Term::layer)] = 0.1;
  LayerModel fc{.family = ModelFamily::linear};
  fc.coefficients[static_cast<std::size_t>(Term::mac)] = 1e-6;
  p.energy.layers[static_cast<std::size_t>(LayerKind::conv)] = conv;
  p.energy.layers[static_cast<std::size_t>(LayerKind::fc)] = fc;
  return p;
}

Architecture three_convs() {
  return parse_architecture(
      "input: [1, 16, 16]\n"
      "layers:\n"
      "  - conv: {filters: 40, kernel: 3, padding: 1}\n"
      "  - pool: {op: max, kernel: 2}\n"
      "  - conv: {filters: 24, kernel: 3, padding: 1, batch_norm: true}\n"
      "  - conv: {filters: 48, kernel: 3, padding: 1}\n"
      "  - fc: {units: 10}\n",
      "three.yaml");
}

// Norms: filter f of layer i has norm f + 1 (so the lowest indices go first).
std::vector<std::vector<double>> ramp_norms(const Architecture& arch) {
  std::vector<std::vector<double>> norms(arch.layers.size());
  for (std::size_t i = 0; i < arch.layers.size(); ++i) {
    if (const auto* c = std::get_if<ConvLayer>(&arch.layers[i])) {
      norms[i].resize(static_cast<std::size_t>(c->filters));
      std::iota(norms[i].begin(), norms[i].end(), 1.0);
    }
  }
  return norms;
}

TEST(PrunePlanTest, CandidateCountsAreTheStepsAndTheFirstStepsInside) {
  EXPECT_THAT(step_counts(48, 16), ElementsAre(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 32));
  EXPECT_THAT(step_counts(5, 1), ElementsAre(1, 2, 3, 4));  // linear: every count is a step
  EXPECT_THAT(step_counts(3, 64), ElementsAre(1, 2));        // inside the first step
  EXPECT_EQ(removed_within_step(48, 20, 16), 12);  // 20 still runs as 32: 12 filters bought nothing
  EXPECT_EQ(removed_within_step(48, 32, 16), 0);
  EXPECT_EQ(removed_within_step(40, 33, 16), 7);   // the step top (48) is above the original 40
}

TEST(PrunePlanTest, PrunesConvsThatFeedAConvOrTheFirstFcOnly) {
  EXPECT_THAT(prunable_layers(three_convs()), ElementsAre(0, 2, 3));
  const Architecture head = parse_architecture(
      "input: [3, 8, 8]\n"
      "layers:\n"
      "  - conv: {filters: 8, kernel: 3}\n"
      "  - conv: {filters: 8, kernel: 3, groups: 8}\n"   // depthwise: follows its input
      "  - conv: {filters: 8, kernel: 1, groups: 2}\n"   // grouped: its input cannot be cut
      "  - conv: {filters: 10, kernel: 1}\n"              // the output
      "  - pool: {global: true}\n",
      "head.yaml");
  EXPECT_THAT(prunable_layers(head), ElementsAre());
  const Architecture dws = parse_architecture(
      "input: [3, 8, 8]\n"
      "layers:\n"
      "  - conv: {filters: 8, kernel: 3}\n"
      "  - conv: {filters: 8, kernel: 3, groups: 8}\n"
      "  - conv: {filters: 12, kernel: 1}\n"
      "  - fc: {units: 10}\n",
      "dws.yaml");
  EXPECT_THAT(prunable_layers(dws), ElementsAre(0, 2));
  const Architecture thinner = with_filter_counts(dws, {5, 0, 0, 0});
  EXPECT_EQ(std::get<ConvLayer>(thinner.layers[1]).groups, 5);  // the depthwise conv follows
  EXPECT_EQ(std::get<ConvLayer>(thinner.layers[1]).filters, 5);
}

TEST(PrunePlanTest, StepAwareCountsLieOnStepsAndMeetTheTarget) {
  const Architecture arch = three_convs();
  const EnergyEstimator estimator(stairs_profile());
  const double before = estimator.estimate(arch).energy_mj;
  const double target = 0.7 * before;
  const PrunePlan plan = plan_step_aware(arch, ramp_norms(arch), estimator, target);
  EXPECT_LE(plan.energy_mj, target);
  EXPECT_NEAR(plan.energy_mj, estimator.estimate(with_filter_counts(arch, plan.filters)).energy_mj, 1e-12);
  for (std::size_t i : {0u, 2u, 3u}) {
    const std::int64_t f = plan.filters[i];
    EXPECT_TRUE(f == std::get<ConvLayer>(arch.layers[i]).filters || f % 16 == 0 || f < 16) << "layer " << i << ": " << f;
    EXPECT_EQ(plan.kept[i].size(), static_cast<std::size_t>(f));
    // The kept filters are the highest norms: with the ramp, the last ones.
    if (!plan.kept[i].empty()) {
      EXPECT_EQ(plan.kept[i].back(), std::get<ConvLayer>(arch.layers[i]).filters - 1);
    }
  }
  EXPECT_EQ(removed_within_step(40, plan.filters[0], 16) + removed_within_step(48, plan.filters[3], 16), 0);
}

TEST(PrunePlanTest, StepAwareAtUniformsEnergyBuysEveryStepItCuts) {
  const Architecture arch = three_convs();
  const EnergyEstimator estimator(stairs_profile());
  int cut_on_a_step = 0;  // layers pruned to a boundary at or above 16
  for (double keep : {0.9, 0.75, 0.5}) {
    const PrunePlan uniform = plan_uniform(arch, ramp_norms(arch), estimator, keep);
    EXPECT_EQ(uniform.filters[0], std::llround(40 * keep));
    EXPECT_EQ(uniform.filters[3], std::llround(48 * keep));
    const PrunePlan aware = plan_step_aware(arch, ramp_norms(arch), estimator, uniform.energy_mj);
    EXPECT_LE(aware.energy_mj, uniform.energy_mj) << keep;
    // Above the first step every filter step-aware pruning removes lowers a step.
    for (std::size_t i : {0u, 2u, 3u}) {
      const std::int64_t before = std::get<ConvLayer>(arch.layers[i]).filters;
      if (aware.filters[i] >= 16) {
        EXPECT_EQ(removed_within_step(before, aware.filters[i], 16), 0);
        if (aware.filters[i] < before) ++cut_on_a_step;
      }
    }
  }
  EXPECT_GT(cut_on_a_step, 0);
  // Uniform at keep 0.75 leaves 30 and 36 filters: 2 + 12 of the removed filters bought no step.
  const PrunePlan u = plan_uniform(arch, ramp_norms(arch), estimator, 0.75);
  EXPECT_EQ(removed_within_step(40, u.filters[0], 16), 2);
  EXPECT_EQ(removed_within_step(48, u.filters[3], 16), 12);
  const std::vector<double> saved = within_step_savings_mj(arch, estimator, u);
  EXPECT_GT(saved[3], 0);  // the next layers' work still shrinks
  EXPECT_DOUBLE_EQ(saved[1], 0);
}

TEST(PrunePlanTest, UniformToAnEnergyKeepsTheLargestFractionThatFits) {
  const Architecture arch = three_convs();
  const EnergyEstimator estimator(stairs_profile());
  const double target = 0.8 * estimator.estimate(arch).energy_mj;
  const PrunePlan p = plan_uniform_to_energy(arch, ramp_norms(arch), estimator, target);
  EXPECT_LE(p.energy_mj, target);
  EXPECT_LT(p.filters[0], 40);
}

TEST(PrunePlanTest, RefusesATargetAboveTheNetworkOrBelowItsSmallest) {
  const Architecture arch = three_convs();
  const EnergyEstimator estimator(stairs_profile());
  const double before = estimator.estimate(arch).energy_mj;
  try {
    plan_step_aware(arch, ramp_norms(arch), estimator, before * 1.5);
    FAIL() << "accepted a target above the network";
  } catch (const SpecError& e) {
    EXPECT_EQ(e.key(), "energy_mj");
    EXPECT_THAT(e.message(), HasSubstr("is not below the network's estimated"));
  }
  try {
    plan_step_aware(arch, ramp_norms(arch), estimator, 0.01);
    FAIL() << "accepted an unreachable target";
  } catch (const SpecError& e) {
    EXPECT_THAT(e.message(), HasSubstr("fewest filters"));
  }
  EXPECT_THROW(plan_uniform(arch, ramp_norms(arch), estimator, 1.5), SpecError);
}

TEST(PrunePlanTest, SurgeryCutsFiltersBatchNormAndTheInputsDownstream) {
  // conv 3 filters (1x1 on 1 channel), conv 2 filters (1x1, batch norm) on 3 channels, fc on 2 x 2x2.
  const Architecture arch = parse_architecture(
      "input: [1, 2, 2]\n"
      "layers:\n"
      "  - conv: {filters: 3, kernel: 1}\n"
      "  - conv: {filters: 2, kernel: 1, batch_norm: true}\n"
      "  - fc: {units: 2}\n",
      "tiny.yaml");
  NetworkWeights w;
  w.layers.resize(3);
  w.layers[0].weight = {1, -5, 3};
  w.layers[0].bias = {10, 20, 30};
  w.layers[1].weight = {1, 2, 3, 4, 5, 6};  // [2 filters, 3 inputs]
  w.layers[1].bias = {7, 8};
  w.layers[1].bn_weight = {0.5, 0.25};
  w.layers[1].bn_bias = {1, 2};
  w.layers[1].bn_mean = {3, 4};
  w.layers[1].bn_var = {5, 6};
  // fc [2 units, 2 channels x 4 positions]: column c*4 + p.
  w.layers[2].weight = {0, 1, 2, 3, 4, 5, 6, 7, 10, 11, 12, 13, 14, 15, 16, 17};
  w.layers[2].bias = {1, 2};
  w.normalization = {{0.5}, {0.25}};

  const auto norms = filter_l1_norms(arch, w);
  EXPECT_THAT(norms[0], ElementsAre(1, 5, 3));
  EXPECT_THAT(norms[1], ElementsAre(6, 15));
  PrunePlan plan{.filters = {2, 1, 0}, .kept = {{1, 2}, {1}, {}}};
  const NetworkWeights cut = prune_weights(arch, w, plan);
  EXPECT_THAT(cut.layers[0].weight, ElementsAre(-5, 3));
  EXPECT_THAT(cut.layers[0].bias, ElementsAre(20, 30));
  EXPECT_THAT(cut.layers[1].weight, ElementsAre(5, 6));  // filter 1, inputs 1 and 2
  EXPECT_THAT(cut.layers[1].bias, ElementsAre(8));
  EXPECT_THAT(cut.layers[1].bn_weight, ElementsAre(0.25));
  EXPECT_THAT(cut.layers[1].bn_mean, ElementsAre(4));
  EXPECT_THAT(cut.layers[1].bn_var, ElementsAre(6));
  EXPECT_THAT(cut.layers[2].weight, ElementsAre(4, 5, 6, 7, 14, 15, 16, 17));  // channel 1's 4 positions per unit
  EXPECT_THAT(cut.layers[2].bias, ElementsAre(1, 2));
  EXPECT_EQ(cut.normalization, w.normalization);
  const Architecture pruned = with_filter_counts(arch, plan.filters);
  EXPECT_EQ(std::get<ConvLayer>(pruned.layers[0]).filters, 2);
  EXPECT_EQ(filter_l1_norms(pruned, cut)[1].size(), 1u);  // the cut weights fit the pruned network

  w.layers[0].weight.pop_back();
  EXPECT_THROW(filter_l1_norms(arch, w), std::invalid_argument);
}

}  // namespace
}  // namespace joules
