// Layer features and model families: kinds, kernel classes, the stairs padding, and a model's
// value as the sum of its terms.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "energy/layer_features.hpp"
#include "energy/model_family.hpp"

namespace joules {
namespace {

LayerFeatures features_of(const Shape& input, const Layer& layer) {
  const Architecture arch{.input = input, .layers = {layer}};
  return layer_features(layer, analyze(arch).layers.front());
}

TEST(LayerFeaturesTest, DescribesAConvLayer) {
  const LayerFeatures f = features_of(Shape{16, 32, 32}, ConvLayer{.filters = 24, .kernel = Size2::square(3),
                                                                    .padding = Size2::square(1)});
  EXPECT_EQ(f.kind, LayerKind::conv);
  EXPECT_EQ(f.kernel_class, KernelClass::k3x3s1);
  EXPECT_DOUBLE_EQ(f.macs, 32.0 * 32 * 24 * 16 * 9);
  EXPECT_DOUBLE_EQ(f.width, 24);
  EXPECT_DOUBLE_EQ(f.input_elements, 16.0 * 32 * 32);
  EXPECT_DOUBLE_EQ(f.output_elements, 24.0 * 32 * 32);
  EXPECT_DOUBLE_EQ(f.weights, 24.0 * 16 * 9);
  EXPECT_EQ(f.range_value(RangeKey::in_channels), 16);
  EXPECT_EQ(f.range_value(RangeKey::input_size), 32);
}

TEST(LayerFeaturesTest, ClassifiesKernelsAndKinds) {
  const Shape in{8, 20, 20};
  EXPECT_EQ(features_of(in, ConvLayer{.filters = 8, .kernel = Size2::square(1)}).kernel_class, KernelClass::k1x1);
  // Winograd needs stride 1: a strided 3x3 takes the generic path.
  EXPECT_EQ(features_of(in, ConvLayer{.filters = 8, .kernel = Size2::square(3), .stride = Size2::square(2)}).kernel_class,
            KernelClass::kxk);
  EXPECT_EQ(features_of(in, ConvLayer{.filters = 8, .kernel = {3, 5}}).kernel_class, KernelClass::kxk);
  EXPECT_EQ(features_of(in, ConvLayer{.filters = 8, .kernel = Size2::square(3), .groups = 8}).kind, LayerKind::depthwise);
  EXPECT_EQ(features_of(in, ConvLayer{.filters = 8, .kernel = Size2::square(3), .groups = 2}).kind, LayerKind::conv);
  EXPECT_EQ(features_of(in, FcLayer{.units = 10}).kind, LayerKind::fc);
}

TEST(LayerFeaturesTest, APoolCountsItsWindowOperations) {
  const LayerFeatures f = features_of(Shape{4, 8, 8}, PoolLayer{.kernel = Size2::square(2), .stride = Size2::square(2)});
  EXPECT_EQ(f.kind, LayerKind::pool);
  EXPECT_DOUBLE_EQ(f.macs, 4.0 * 4 * 4 * 4);  // output elements x window
  EXPECT_DOUBLE_EQ(f.weights, 0);
  const LayerFeatures global = features_of(Shape{4, 8, 8}, PoolLayer{.op = PoolOp::avg, .global = true});
  EXPECT_DOUBLE_EQ(global.macs, 4.0 * 8 * 8);
  EXPECT_EQ(global.kernel, 8);
  // Priced as a depthwise conv, it gains one weight per window element and channel.
  EXPECT_DOUBLE_EQ(features_as(f, LayerKind::depthwise).weights, 4.0 * 2 * 2);
  EXPECT_EQ(fallback_kind(LayerKind::pool), LayerKind::depthwise);
  EXPECT_EQ(fallback_kind(LayerKind::fc), LayerKind::conv);
  EXPECT_FALSE(fallback_kind(LayerKind::conv).has_value());
}

TEST(ModelFamilyTest, StairsPadTheFiltersToTheGranularity) {
  const LayerFeatures f = features_of(Shape{3, 10, 10}, ConvLayer{.filters = 40, .kernel = Size2::square(1)});
  EXPECT_DOUBLE_EQ(term_value(Term::mac, f, 1), f.macs);
  EXPECT_DOUBLE_EQ(term_value(Term::mac, f, 32), f.macs * 64 / 40);   // 40 filters run as 64
  EXPECT_DOUBLE_EQ(term_value(Term::mac, f, 8), f.macs);               // 40 is a multiple of 8
  EXPECT_DOUBLE_EQ(term_value(Term::mac_1x1, f, 32), f.macs * 64 / 40);
  EXPECT_DOUBLE_EQ(term_value(Term::mac_kxk, f, 32), 0);  // another class
}

TEST(ModelFamilyTest, AModelIsTheSumOfItsTerms) {
  const LayerFeatures f = features_of(Shape{16, 12, 12}, ConvLayer{.filters = 20, .kernel = Size2::square(5),
                                                                   .padding = Size2::square(2)});
  LayerModel m{.family = ModelFamily::traffic, .granularity = 16};
  double expected = 0;
  double value = 1e-8;
  for (Term t : family_terms(ModelFamily::traffic, LayerKind::conv)) {
    m.coefficients[static_cast<std::size_t>(t)] = value;
    expected += value * term_value(t, f, 16);
    value *= 3;
  }
  EXPECT_NEAR(m.evaluate(f), expected, expected * 1e-12);
}

TEST(ModelFamilyTest, NamesRoundTrip) {
  for (ModelFamily f : kModelFamilies) EXPECT_EQ(parse_model_family(to_string(f)), f);
  EXPECT_FALSE(parse_model_family("quadratic").has_value());
  EXPECT_EQ(coefficient_key(Quantity::energy, Term::mac_3x3s1), "mj_per_mac_3x3s1");
  EXPECT_EQ(coefficient_key(Quantity::latency, Term::input), "ms_per_input_element");
  EXPECT_EQ(parse_coefficient_key(Quantity::latency, "ms_per_layer"), Term::layer);
  EXPECT_FALSE(parse_coefficient_key(Quantity::energy, "ms_per_layer").has_value());
  for (LayerKind k : kLayerKinds) EXPECT_EQ(parse_layer_kind(to_string(k)), k);
}

}  // namespace
}  // namespace joules
