// Split computing: every split point of networks small enough to price by hand, the best
// split against all-local and all-offload, and the link's validation.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <random>

#include "energy/split.hpp"
#include "space/architecture_yaml.hpp"
#include "util/input_error.hpp"

namespace joules {
namespace {

using ::testing::HasSubstr;

LayerModel linear(Quantity, double per_mac) {
  LayerModel m{.family = ModelFamily::linear};
  m.coefficients[static_cast<std::size_t>(Term::mac)] = per_mac;
  return m;
}

// 0.01 mJ and 0.001 ms per MAC for conv and fc; 0.5 mJ and 2 ms per inference.
BoardProfile hand_profile(bool with_latency) {
  BoardProfile p;
  p.board = "hand";
  p.energy.target = "energy_mj";
  p.energy.overhead = 0.5;
  p.energy.layers[static_cast<std::size_t>(LayerKind::conv)] = linear(Quantity::energy, 0.01);
  p.energy.layers[static_cast<std::size_t>(LayerKind::fc)] = linear(Quantity::energy, 0.01);
  if (with_latency) {
    QuantityModels latency{.target = "latency_ms", .overhead = 2};
    latency.layers[static_cast<std::size_t>(LayerKind::conv)] = linear(Quantity::latency, 0.001);
    latency.layers[static_cast<std::size_t>(LayerKind::fc)] = linear(Quantity::latency, 0.001);
    p.latency = latency;
  }
  return p;
}

// 64 input values; the conv outputs 16 values from 64 MACs; the fc 10 values from 160 MACs.
Architecture hand_net() {
  return parse_architecture(
      "input: [1, 8, 8]\n"
      "layers:\n"
      "  - conv: {filters: 1, kernel: 2, stride: 2}\n"
      "  - fc: {units: 10}\n",
      "hand.yaml");
}

SplitPlan plan_for(const Architecture& arch, const BoardProfile& profile, const SplitLink& link) {
  const NetworkAnalysis net = analyze(arch);
  return plan_splits(net, EnergyEstimator(profile).estimate(arch, net), link);
}

TEST(SplitTest, PricesEverySplitOfAHandNetwork) {
  // 1 Mbps at 1000 mW: 1 byte = 8 us = 8e-3 mJ.
  const SplitPlan plan = plan_for(hand_net(), hand_profile(false), {.uplink_mbps = 1, .radio_mw = 1000});
  ASSERT_EQ(plan.splits.size(), 3u);
  const SplitRow& offload = plan.splits[0];
  EXPECT_EQ(offload.after_layer, 0u);
  EXPECT_DOUBLE_EQ(offload.device_energy_mj, 0);  // no overhead when nothing runs on the device
  EXPECT_EQ(offload.bytes, 64 * 4);
  EXPECT_NEAR(offload.radio_energy_mj, 2.048, 1e-12);
  const SplitRow& middle = plan.splits[1];
  EXPECT_NEAR(middle.device_energy_mj, 0.5 + 0.64, 1e-12);
  EXPECT_EQ(middle.bytes, 16 * 4);
  EXPECT_NEAR(middle.radio_energy_mj, 0.512, 1e-12);
  EXPECT_NEAR(middle.total_energy_mj, 1.652, 1e-12);
  const SplitRow& local = plan.splits[2];
  EXPECT_NEAR(local.device_energy_mj, 0.5 + 0.64 + 1.6, 1e-12);
  EXPECT_EQ(local.bytes, 0);  // everything on the device: nothing is sent
  EXPECT_DOUBLE_EQ(local.radio_energy_mj, 0);
  EXPECT_EQ(plan.best, 1u);
  EXPECT_FALSE(middle.latency_ms.has_value());  // the profile has no latency model
}

TEST(SplitTest, BestMovesWithTheLink) {
  // A fast cheap radio: offload everything. An expensive one: keep everything local.
  EXPECT_EQ(plan_for(hand_net(), hand_profile(false), {.uplink_mbps = 100, .radio_mw = 100}).best, 0u);
  EXPECT_EQ(plan_for(hand_net(), hand_profile(false), {.uplink_mbps = 0.1, .radio_mw = 2000}).best, 2u);
  // Half-size values halve the bytes and the radio energy.
  const SplitPlan half = plan_for(hand_net(), hand_profile(false), {.uplink_mbps = 1, .radio_mw = 1000, .bytes_per_value = 2});
  EXPECT_EQ(half.splits[1].bytes, 32);
  EXPECT_NEAR(half.splits[1].radio_energy_mj, 0.256, 1e-12);
}

TEST(SplitTest, LatencyAddsDeviceTransferAndServerTime) {
  const SplitPlan plan = plan_for(hand_net(), hand_profile(true),
                                  {.uplink_mbps = 1, .radio_mw = 1000, .server_ms_per_gmac = 1e6});
  ASSERT_TRUE(plan.splits[1].latency_ms.has_value());
  // device 2 ms overhead + 0.064 ms; 64 bytes at 1 Mbps = 0.512 ms; the fc's 160 MACs on the
  // server at 1e-3 ms each = 0.16 ms.
  EXPECT_NEAR(*plan.splits[1].latency_ms, 2 + 0.064 + 0.512 + 0.16, 1e-12);
  EXPECT_NEAR(*plan.splits[0].latency_ms, 2.048 + 0.224, 1e-12);  // send 256 bytes, server runs 224 MACs
  EXPECT_NEAR(*plan.splits[2].latency_ms, 2 + 0.224, 1e-12);      // all local, nothing sent
  // Without a server time the server is free.
  const SplitPlan free_server = plan_for(hand_net(), hand_profile(true), {.uplink_mbps = 1, .radio_mw = 1000});
  EXPECT_NEAR(*free_server.splits[1].latency_ms, 2 + 0.064 + 0.512, 1e-12);
}

TEST(SplitTest, BestNeverCostsMoreThanAllLocalOrAllOffload) {
  const char* nets[] = {"lenet5.yaml", "alexnet.yaml", "dws-small.yaml", "mobilenet-v1.yaml"};
  const BoardProfile profile = load_board_profile(std::string(JOULES_SOURCE_DIR) + "/profiles/jetson-nano.yaml");
  const EnergyEstimator estimator(profile);
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> log_mbps(-1, 3), log_mw(1, 4);
  for (const char* name : nets) {
    const Architecture arch = load_architecture(std::string(JOULES_SOURCE_DIR) + "/configs/architectures/" + name);
    const NetworkAnalysis net = analyze(arch);
    const NetworkEstimate e = estimator.estimate(arch, net);
    for (int trial = 0; trial < 50; ++trial) {
      const SplitLink link{.uplink_mbps = std::pow(10.0, log_mbps(rng)), .radio_mw = std::pow(10.0, log_mw(rng)),
                           .bytes_per_value = std::array<std::int64_t, 3>{1, 2, 4}[trial % 3]};
      const SplitPlan plan = plan_splits(net, e, link);
      const double best = plan.splits[plan.best].total_energy_mj;
      EXPECT_LE(best, plan.splits.front().total_energy_mj) << name;
      EXPECT_LE(best, plan.splits.back().total_energy_mj) << name;
      for (const SplitRow& r : plan.splits) {
        EXPECT_LE(best, r.total_energy_mj);
        EXPECT_NEAR(r.total_energy_mj, r.device_energy_mj + r.radio_energy_mj, 1e-9 * r.total_energy_mj);
      }
      // All local is the network's whole estimate, overhead included.
      EXPECT_NEAR(plan.splits.back().device_energy_mj, e.energy_mj, 1e-9 * e.energy_mj) << name;
      EXPECT_DOUBLE_EQ(best_split_energy_mj(arch, estimator, link), best);
    }
  }
}

TEST(SplitTest, RefusesABadLinkNamingTheValue) {
  const auto message = [](const SplitLink& link) {
    try {
      validate(link);
    } catch (const SpecError& e) {
      return e.key() + ": " + e.message();
    }
    return std::string("accepted");
  };
  EXPECT_THAT(message({.uplink_mbps = -1, .radio_mw = 10}), HasSubstr("uplink_mbps: -1 is not a bandwidth"));
  EXPECT_THAT(message({.uplink_mbps = 0, .radio_mw = 10}), HasSubstr("uplink_mbps: 0"));
  EXPECT_THAT(message({.uplink_mbps = 1, .radio_mw = -5}), HasSubstr("radio_mw: -5"));
  EXPECT_THAT(message({.uplink_mbps = 1, .radio_mw = 5, .bytes_per_value = 3}), HasSubstr("bytes_per_value: 3"));
  EXPECT_THAT(message({.uplink_mbps = 1, .radio_mw = 5, .server_ms_per_gmac = -1}), HasSubstr("server_ms_per_gmac"));
  EXPECT_EQ(message({.uplink_mbps = 1, .radio_mw = 0}), "accepted");
}

}  // namespace
}  // namespace joules
