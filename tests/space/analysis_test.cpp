// Shapes, MACs and parameters of well-known networks, checked against counts computed
// independently with PyTorch (parameters()) and forward hooks (MACs) for the same layers.

#include "space/analysis.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "space/architecture_yaml.hpp"
#include "util/input_error.hpp"

namespace joules {
namespace {

using ::testing::HasSubstr;

Architecture shipped(const std::string& name) {
  return load_architecture(std::string(JOULES_SOURCE_DIR) + "/configs/architectures/" + name + ".yaml");
}

struct Known {
  const char* name;
  std::int64_t macs;
  std::int64_t params;
  Shape output;
  friend void PrintTo(const Known& k, std::ostream* os) { *os << k.name; }
};

class AnalysisTest : public ::testing::TestWithParam<Known> {};

TEST_P(AnalysisTest, MatchesIndependentCounts) {
  const Known& k = GetParam();
  const NetworkAnalysis net = analyze(shipped(k.name));
  EXPECT_EQ(net.macs, k.macs);
  EXPECT_EQ(net.params, k.params);
  EXPECT_EQ(net.output, k.output);
}

INSTANTIATE_TEST_SUITE_P(ShippedArchitectures, AnalysisTest,
                         ::testing::Values(Known{"lenet5", 416520, 61706, {10, 1, 1}},
                                           Known{"alexnet", 714188480, 61100840, {1000, 1, 1}},
                                           Known{"vgg16", 15470264320, 138357544, {1000, 1, 1}},
                                           Known{"mobilenet-v1", 568740352, 4231976, {1000, 1, 1}},
                                           Known{"dws-small", 1226624, 13898, {10, 1, 1}}),
                         [](const auto& p) {
                           std::string n = p.param.name;
                           for (char& c : n) c = std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
                           return n;
                         });

TEST(AnalysisTest, LenetPerLayerShapesAndCosts) {
  const NetworkAnalysis net = analyze(shipped("lenet5"));
  ASSERT_EQ(net.layers.size(), 7u);
  EXPECT_EQ(net.layers[0].output, (Shape{6, 28, 28}));
  EXPECT_EQ(net.layers[0].macs, 28 * 28 * 6 * 25);
  EXPECT_EQ(net.layers[0].params, 6 * 25 + 6);
  EXPECT_EQ(net.layers[1].output, (Shape{6, 14, 14}));
  EXPECT_EQ(net.layers[1].macs, 0);
  EXPECT_EQ(net.layers[2].output, (Shape{16, 10, 10}));
  EXPECT_EQ(net.layers[3].output, (Shape{16, 5, 5}));
  // The first fc sees the flattened 16x5x5 map.
  EXPECT_EQ(net.layers[4].input, (Shape{16, 5, 5}));
  EXPECT_EQ(net.layers[4].macs, 400 * 120);
  EXPECT_EQ(net.layers[4].params, 400 * 120 + 120);
}

TEST(AnalysisTest, NonSquareKernelsStridesAndPadding) {
  Architecture a{.input = {3, 32, 20},
                 .layers = {ConvLayer{.filters = 8, .kernel = {3, 5}, .stride = {2, 1}, .padding = {1, 2}}}};
  const NetworkAnalysis net = analyze(a);
  EXPECT_EQ(net.output, (Shape{8, 16, 20}));
  EXPECT_EQ(net.macs, 16 * 20 * 8 * 3 * 3 * 5);
}

TEST(AnalysisTest, DepthwiseGroupsDivideTheInputChannels) {
  const ConvLayer dw{.filters = 32, .kernel = {3, 3}, .padding = {1, 1}, .groups = 32};
  const NetworkAnalysis net = analyze(Architecture{.input = {32, 10, 10}, .layers = {dw}});
  EXPECT_EQ(net.macs, 10 * 10 * 32 * 1 * 9);
  EXPECT_EQ(net.params, 32 * 9 + 32);
  EXPECT_TRUE(is_depthwise(dw, 32));
  EXPECT_FALSE(is_depthwise(ConvLayer{.filters = 8, .kernel = {3, 3}}, 32));
}

TEST(AnalysisTest, GlobalPoolingAndAverageWithPadding) {
  Architecture a{.input = {4, 7, 9},
                 .layers = {PoolLayer{.op = PoolOp::avg, .kernel = {3, 3}, .stride = {2, 2}, .padding = {1, 1}},
                            PoolLayer{.global = true}, FcLayer{.units = 2}}};
  const NetworkAnalysis net = analyze(a);
  EXPECT_EQ(net.layers[0].output, (Shape{4, 4, 5}));
  EXPECT_EQ(net.layers[1].output, (Shape{4, 1, 1}));
  EXPECT_EQ(net.params, 4 * 2 + 2);
}

SpecError analysis_error(const Architecture& a) {
  try {
    analyze(a);
  } catch (const SpecError& e) {
    return e;
  }
  ADD_FAILURE() << "expected analyze() to reject the architecture";
  return SpecError("", "");
}

TEST(AnalysisTest, RejectsImpossibleNetworksNamingTheKey) {
  const Shape in{3, 8, 8};
  auto conv = [](std::int64_t filters, std::int64_t k) { return ConvLayer{.filters = filters, .kernel = {k, k}}; };

  SpecError e = analysis_error(Architecture{.input = in});
  EXPECT_EQ(e.key(), "layers");
  EXPECT_THAT(e.message(), HasSubstr("at least one layer"));

  e = analysis_error(Architecture{.input = in, .layers = {conv(4, 9)}});
  EXPECT_EQ(e.key(), "layers[0].conv.kernel");
  EXPECT_THAT(e.message(), HasSubstr("larger than the padded input 8x8"));

  ConvLayer grouped = conv(4, 3);
  grouped.groups = 2;
  e = analysis_error(Architecture{.input = in, .layers = {grouped}});
  EXPECT_EQ(e.key(), "layers[0].conv.groups");
  EXPECT_THAT(e.message(), HasSubstr("does not divide the 3 input channels"));

  e = analysis_error(Architecture{.input = in, .layers = {FcLayer{.units = 4}, conv(4, 3)}});
  EXPECT_EQ(e.key(), "layers[1].conv");
  EXPECT_THAT(e.message(), HasSubstr("after an fc layer"));

  e = analysis_error(Architecture{.input = in, .layers = {conv(0, 3)}});
  EXPECT_EQ(e.key(), "layers[0].conv.filters");

  e = analysis_error(Architecture{.input = {0, 8, 8}, .layers = {conv(1, 1)}});
  EXPECT_EQ(e.key(), "input");

  PoolLayer pool{.kernel = {2, 2}, .stride = {2, 2}, .padding = {2, 2}};
  e = analysis_error(Architecture{.input = in, .layers = {pool}});
  EXPECT_EQ(e.key(), "layers[0].pool.padding");
}

TEST(AnalysisTest, AbsurdSizesAreErrorsNotOverflows) {
  // Each number is allowed on its own; their product is not.
  Architecture a{.input = {2000000000, 2000000000, 2000000000}, .layers = {FcLayer{.units = 10}}};
  const SpecError e = analysis_error(a);
  EXPECT_THAT(e.message(), HasSubstr("overflow"));

  Architecture b{.input = {3, 100000, 100000},
                 .layers = {ConvLayer{.filters = 2000000000, .kernel = {3, 3}}}};
  EXPECT_THAT(analysis_error(b).message(), HasSubstr("overflow"));

  Architecture c{.input = {3, 8, 8}, .layers = {FcLayer{.units = kMaxDimension + 1}}};
  EXPECT_THAT(analysis_error(c).message(), HasSubstr("absurdly large"));
}

}  // namespace
}  // namespace joules
