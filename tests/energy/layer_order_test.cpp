// Physically ordered per-layer estimates on every shipped profile (issue 13, item 3): over
// 10,000 random layers of every kind, a layer never costs more at stride 2 than at stride 1,
// never less when its filters, kernel or input grow, and never less than a small positive
// floor when it does any work. Layers are priced as joules estimate prices them: single-layer
// networks through the estimator, minus the profile's per-inference overhead.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include <fmt/format.h>

#include "energy/estimator.hpp"
#include "energy/fit.hpp"
#include "space/analysis.hpp"
#include "util/random.hpp"

namespace joules {
namespace {

constexpr int kLayers = 10000;

class LayerOrderTest : public ::testing::TestWithParam<std::string> {
 protected:
  LayerOrderTest()
      : estimator_(load_board_profile(std::string(JOULES_SOURCE_DIR) + "/profiles/" + GetParam() + ".yaml")) {}

  // Energy of one layer on an input, as the estimate's per-layer figure.
  double cost(const Shape& input, const Layer& layer) const {
    return estimator_.estimate(Architecture{.input = input, .layers = {layer}}).layers.front().energy_mj;
  }

  EnergyEstimator estimator_;
  Rng rng_{20261201};
};

std::int64_t pick(Rng& rng, std::int64_t lo, std::int64_t hi) {
  return lo + static_cast<std::int64_t>(rng.index(static_cast<std::size_t>(hi - lo + 1)));
}

// A random square conv ("same" padding, as the search spaces use) that fits its input.
struct ConvCase {
  Shape input;
  ConvLayer conv;
  bool depthwise = false;
};

ConvCase random_conv(Rng& rng, bool depthwise) {
  ConvCase c;
  const std::int64_t channels = pick(rng, 1, 512);
  const std::int64_t size = pick(rng, 1, 128);
  const std::int64_t kernel = pick(rng, 1, 7);
  c.input = Shape{depthwise ? std::max<std::int64_t>(channels, 2) : channels, size, size};
  c.conv.kernel = Size2::square(kernel);
  c.conv.padding = Size2::square(kernel / 2);
  c.conv.filters = depthwise ? c.input.channels : pick(rng, 1, 1024);
  c.conv.groups = depthwise ? c.input.channels : 1;
  c.conv.stride = Size2::square(pick(rng, 1, 2));
  c.depthwise = depthwise;
  return c;
}

std::string what(const Shape& in, const Layer& layer) {
  return fmt::format("{} on {}x{}x{}", describe(layer), in.channels, in.height, in.width);
}

TEST_P(LayerOrderTest, ConvAndDepthwiseLayersAreOrderedInStrideFiltersKernelAndInput) {
  int failures = 0;
  for (int i = 0; i < kLayers && failures < 5; ++i) {
    const ConvCase c = random_conv(rng_, /*depthwise=*/i % 2 == 1);
    const double base = cost(c.input, c.conv);
    const auto expect = [&](bool ok, const std::string& why) {
      if (!ok) {
        ++failures;
        ADD_FAILURE() << GetParam() << ": " << why << ": " << what(c.input, c.conv);
      }
    };
    expect(base >= kLayerFloor, fmt::format("costs {} mJ, below the floor {}", base, kLayerFloor));

    ConvLayer dense = c.conv;
    dense.stride = Size2::square(1);
    ConvLayer strided = c.conv;
    strided.stride = Size2::square(2);
    if (c.input.height + 2 * c.conv.padding.h >= c.conv.kernel.h) {
      expect(cost(c.input, strided) <= cost(c.input, dense) * (1 + 1e-12), "stride 2 costs more than stride 1");
    }
    if (!c.depthwise) {
      ConvLayer wider = c.conv;
      wider.filters += pick(rng_, 1, 64);
      expect(cost(c.input, wider) >= base * (1 - 1e-12), "more filters cost less");
    } else {
      // A depthwise conv's filters are its channels: grow both.
      const std::int64_t more = c.input.channels + pick(rng_, 1, 64);
      ConvLayer wider = c.conv;
      wider.filters = wider.groups = more;
      expect(cost(Shape{more, c.input.height, c.input.width}, wider) >= base * (1 - 1e-12),
             "more channels cost less");
    }
    ConvLayer bigger = c.conv;
    // Two more keep the output map ("same" padding keeps it for kernels of one parity).
    bigger.kernel = Size2::square(c.conv.kernel.h + 2);
    bigger.padding = Size2::square(bigger.kernel.h / 2);
    expect(cost(c.input, bigger) >= base * (1 - 1e-12), "a larger kernel costs less");
    const Shape larger{c.input.channels, c.input.height + pick(rng_, 1, 32), c.input.width};
    const Shape larger_sq{larger.channels, larger.height, larger.height};
    expect(cost(larger_sq, c.conv) >= base * (1 - 1e-12), "a larger input costs less");
  }
}

TEST_P(LayerOrderTest, FcAndPoolLayersAreOrderedAndAboveTheFloor) {
  int failures = 0;
  for (int i = 0; i < kLayers && failures < 5; ++i) {
    const auto expect = [&](bool ok, const std::string& why, const Shape& in, const Layer& l) {
      if (!ok) {
        ++failures;
        ADD_FAILURE() << GetParam() << ": " << why << ": " << what(in, l);
      }
    };
    const Shape fc_in{pick(rng_, 1, 20000), 1, 1};
    const FcLayer fc{.units = pick(rng_, 1, 2048)};
    const double fc_cost = cost(fc_in, fc);
    expect(fc_cost >= kLayerFloor, "below the floor", fc_in, fc);
    FcLayer wider = fc;
    wider.units += pick(rng_, 1, 256);
    expect(cost(fc_in, wider) >= fc_cost * (1 - 1e-12), "more units cost less", fc_in, fc);
    const Shape fc_more{fc_in.channels + pick(rng_, 1, 4096), 1, 1};
    expect(cost(fc_more, fc) >= fc_cost * (1 - 1e-12), "more inputs cost less", fc_in, fc);

    const std::int64_t k = pick(rng_, 2, 3);
    const Shape pool_in{pick(rng_, 1, 512), pick(rng_, k, 112), 0};
    const Shape in{pool_in.channels, pool_in.height, pool_in.height};
    PoolLayer pool{.op = i % 2 ? PoolOp::max : PoolOp::avg, .kernel = Size2::square(k), .stride = Size2::square(1)};
    const double dense = cost(in, pool);
    expect(dense >= kLayerFloor, "below the floor", in, pool);
    PoolLayer strided = pool;
    strided.stride = Size2::square(2);
    expect(cost(in, strided) <= dense * (1 + 1e-12), "stride 2 costs more than stride 1", in, pool);
    const Shape wider_in{in.channels + pick(rng_, 1, 64), in.height, in.width};
    expect(cost(wider_in, pool) >= dense * (1 - 1e-12), "more channels cost less", in, pool);
    const PoolLayer global{.op = PoolOp::avg, .global = true};
    const Shape bigger_in{in.channels, in.height + pick(rng_, 1, 16), 0};
    expect(cost(Shape{in.channels, bigger_in.height, bigger_in.height}, global) >= cost(in, global) * (1 - 1e-12),
           "a global pool of a larger map costs less", in, global);
  }
}

INSTANTIATE_TEST_SUITE_P(ShippedProfiles, LayerOrderTest, ::testing::Values("jetson-nano", "jetson-tx2"));

}  // namespace
}  // namespace joules
