#include "energy/layer_features.hpp"

#include <algorithm>
#include <variant>

namespace joules {
namespace {

constexpr std::array<std::string_view, kRangeKeyCount> kRangeNames{
    "macs", "in_channels", "filters", "kernel", "stride", "input_size", "in_features", "units"};

constexpr std::array kConvRanges{RangeKey::macs,   RangeKey::in_channels, RangeKey::filters,
                                 RangeKey::kernel, RangeKey::stride,      RangeKey::input_size};
constexpr std::array kDepthwiseRanges{RangeKey::macs, RangeKey::filters, RangeKey::kernel,
                                      RangeKey::stride, RangeKey::input_size};
constexpr std::array kFcRanges{RangeKey::macs, RangeKey::in_features, RangeKey::units};
constexpr std::array kPoolRanges{RangeKey::in_channels, RangeKey::kernel, RangeKey::stride,
                                 RangeKey::input_size};

double elements(const Shape& s) {
  return static_cast<double>(s.channels) * static_cast<double>(s.height) * static_cast<double>(s.width);
}

KernelClass kernel_class(Size2 kernel, Size2 stride) {
  if (kernel.h == 1 && kernel.w == 1) return KernelClass::k1x1;
  if (kernel.h == 3 && kernel.w == 3 && stride.h == 1 && stride.w == 1) return KernelClass::k3x3s1;
  return KernelClass::kxk;
}

// Output map of a window at stride 1 over the layer's input.
Shape dense_output(const LayerAnalysis& analysis, Size2 kernel, Size2 padding) {
  return Shape{analysis.output.channels, analysis.input.height + 2 * padding.h - kernel.h + 1,
               analysis.input.width + 2 * padding.w - kernel.w + 1};
}

}  // namespace

std::string_view to_string(LayerKind kind) { return name_of(kLayerKindNames, kind); }

std::optional<LayerKind> parse_layer_kind(std::string_view text) { return value_of(kLayerKindNames, text); }

std::string_view to_string(RangeKey key) { return kRangeNames[static_cast<std::size_t>(key)]; }

std::optional<RangeKey> parse_range_key(std::string_view text) {
  for (std::size_t i = 0; i < kRangeKeyCount; ++i) {
    if (kRangeNames[i] == text) return static_cast<RangeKey>(i);
  }
  return std::nullopt;
}

std::span<const RangeKey> range_keys(LayerKind kind) {
  switch (kind) {
    case LayerKind::conv: return kConvRanges;
    case LayerKind::depthwise: return kDepthwiseRanges;
    case LayerKind::fc: return kFcRanges;
    case LayerKind::pool: return kPoolRanges;
  }
  return {};
}

double LayerFeatures::range_value(RangeKey key) const {
  switch (key) {
    case RangeKey::macs: return macs;
    case RangeKey::in_channels: return static_cast<double>(in_channels);
    case RangeKey::filters: return width;
    case RangeKey::kernel: return static_cast<double>(kernel);
    case RangeKey::stride: return static_cast<double>(stride);
    case RangeKey::input_size: return static_cast<double>(input_size);
    case RangeKey::in_features: return input_elements;
    case RangeKey::units: return width;
  }
  return 0;
}

LayerKind layer_kind(const Layer& layer, const LayerAnalysis& analysis) {
  if (const auto* conv = std::get_if<ConvLayer>(&layer)) {
    return is_depthwise(*conv, analysis.input.channels) ? LayerKind::depthwise : LayerKind::conv;
  }
  return std::holds_alternative<PoolLayer>(layer) ? LayerKind::pool : LayerKind::fc;
}

LayerFeatures layer_features(const Layer& layer, const LayerAnalysis& analysis) {
  LayerFeatures f;
  f.kind = layer_kind(layer, analysis);
  f.input_elements = elements(analysis.input);
  f.output_elements = elements(analysis.output);
  f.in_channels = analysis.input.channels;
  f.input_size = std::max(analysis.input.height, analysis.input.width);
  if (const auto* conv = std::get_if<ConvLayer>(&layer)) {
    f.kernel_class = kernel_class(conv->kernel, conv->stride);
    f.macs = static_cast<double>(analysis.macs);
    f.width = static_cast<double>(conv->filters);
    f.weights = static_cast<double>(conv->filters) *
                static_cast<double>(analysis.input.channels / conv->groups) *
                static_cast<double>(conv->kernel.h) * static_cast<double>(conv->kernel.w);
    f.kernel = std::max(conv->kernel.h, conv->kernel.w);
    f.stride = std::max(conv->stride.h, conv->stride.w);
    const Shape dense = dense_output(analysis, conv->kernel, conv->padding);
    f.dense_output_elements = static_cast<double>(conv->filters) * static_cast<double>(dense.height) *
                              static_cast<double>(dense.width);
    f.dense_macs = f.dense_output_elements * f.weights / static_cast<double>(conv->filters);
    f.dense_kernel_class = kernel_class(conv->kernel, Size2{1, 1});
  } else if (const auto* pool = std::get_if<PoolLayer>(&layer)) {
    const Size2 window = pool->global ? Size2{analysis.input.height, analysis.input.width} : pool->kernel;
    const Size2 stride = pool->global ? window : pool->stride;
    f.kernel_class = kernel_class(window, stride);
    f.macs = f.output_elements * static_cast<double>(window.h) * static_cast<double>(window.w);
    f.width = static_cast<double>(analysis.input.channels);
    f.kernel = std::max(window.h, window.w);
    f.stride = std::max(stride.h, stride.w);
    if (pool->global) {
      f.dense_output_elements = f.output_elements;
      f.dense_macs = f.macs;
      f.dense_kernel_class = f.kernel_class;
    } else {
      const Shape dense = dense_output(analysis, pool->kernel, pool->padding);
      f.dense_output_elements = static_cast<double>(analysis.input.channels) * static_cast<double>(dense.height) *
                                static_cast<double>(dense.width);
      f.dense_macs = f.dense_output_elements * static_cast<double>(window.h) * static_cast<double>(window.w);
      f.dense_kernel_class = kernel_class(window, Size2{1, 1});
    }
  } else {
    const auto& fc = std::get<FcLayer>(layer);
    f.kernel_class = KernelClass::k1x1;
    f.macs = static_cast<double>(analysis.macs);
    f.width = static_cast<double>(fc.units);
    f.weights = f.macs;
    f.in_channels = static_cast<std::int64_t>(f.input_elements);
    f.input_size = 1;
    f.dense_macs = f.macs;
    f.dense_output_elements = f.output_elements;
    f.dense_kernel_class = f.kernel_class;
  }
  return f;
}

std::optional<LayerKind> fallback_kind(LayerKind kind) {
  switch (kind) {
    case LayerKind::pool: return LayerKind::depthwise;
    case LayerKind::depthwise:
    case LayerKind::fc: return LayerKind::conv;
    case LayerKind::conv: return std::nullopt;
  }
  return std::nullopt;
}

LayerFeatures features_as(const LayerFeatures& features, LayerKind as) {
  LayerFeatures out = features;
  out.kind = as;
  if (features.kind == LayerKind::pool) {
    out.weights = features.width * static_cast<double>(features.kernel) * static_cast<double>(features.kernel);
  }
  return out;
}

}  // namespace joules
