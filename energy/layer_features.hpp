#pragma once
// What the energy models see of a layer: its kind, the work it does (MACs), the memory it
// moves (activations in and out, weights) and the sizes that describe where a model was
// fitted (for out-of-range warnings). Computed once per layer from space/'s analysis.

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "space/analysis.hpp"
#include "space/layer.hpp"
#include "util/enum_names.hpp"

namespace joules {

/// The layer kinds that get a model of their own.
enum class LayerKind { conv, depthwise, fc, pool };
inline constexpr std::size_t kLayerKindCount = 4;
inline constexpr std::array<LayerKind, kLayerKindCount> kLayerKinds{
    LayerKind::conv, LayerKind::depthwise, LayerKind::fc, LayerKind::pool};

/// "conv", "depthwise", "fc", "pool": the keys of board profiles and measurement CSVs.
inline constexpr EnumNames<LayerKind, kLayerKindCount> kLayerKindNames{{{LayerKind::conv, "conv"},
                                                                        {LayerKind::depthwise, "depthwise"},
                                                                        {LayerKind::fc, "fc"},
                                                                        {LayerKind::pool, "pool"}}};
std::string_view to_string(LayerKind kind);
std::optional<LayerKind> parse_layer_kind(std::string_view text);

/// How a GPU library computes a convolution, which sets its cost per MAC: 1x1 kernels are a
/// plain matrix product, 3x3 kernels with stride 1 take the Winograd path (fewer real
/// multiplications per MAC), every other kernel an implicit matrix product.
enum class KernelClass { k1x1, k3x3s1, kxk };

/// The sizes a board profile records the fitted range of, per layer kind.
enum class RangeKey { macs, in_channels, filters, kernel, stride, input_size, in_features, units };
inline constexpr std::size_t kRangeKeyCount = 8;

/// "macs", "in_channels", "filters", "kernel", "stride", "input_size", "in_features", "units".
std::string_view to_string(RangeKey key);
std::optional<RangeKey> parse_range_key(std::string_view text);

/// The range keys recorded for a kind (e.g. fc: macs, in_features, units).
std::span<const RangeKey> range_keys(LayerKind kind);

struct LayerFeatures {
  LayerKind kind = LayerKind::conv;
  KernelClass kernel_class = KernelClass::kxk;
  /// conv, depthwise, fc: MACs as space/ counts them; pool: window operations (output
  /// elements x window area), the work a pool does although it has no MACs.
  double macs = 0;
  /// The count that the stairs model pads to the scheduling granularity: filters (conv,
  /// depthwise), units (fc), channels (pool).
  double width = 1;
  double input_elements = 0;   // c * h * w of the input
  double output_elements = 0;  // c * h * w of the output
  double weights = 0;          // weights without biases (0 for pool)
  std::int64_t in_channels = 0;
  std::int64_t kernel = 1;      // largest side of the window (global pool: of the input)
  std::int64_t stride = 1;      // largest stride
  std::int64_t input_size = 1;  // largest side of the input map
  /// The same layer at stride 1 (same kernel, padding and input), which a strided layer never
  /// costs more than (it could be computed densely and subsampled): its MACs, output elements
  /// and kernel class. Equal to the layer's own at stride 1 and for fc layers.
  double dense_macs = 0;
  double dense_output_elements = 0;
  KernelClass dense_kernel_class = KernelClass::kxk;

  /// The value of a range key for this layer.
  double range_value(RangeKey key) const;
};

/// The kind of a layer (a conv with groups == in_channels > 1 is depthwise).
LayerKind layer_kind(const Layer& layer, const LayerAnalysis& analysis);

/// Features of a layer whose shapes `analysis` holds (from analyze()).
LayerFeatures layer_features(const Layer& layer, const LayerAnalysis& analysis);

/// The kind whose model prices a layer when a profile has no model of its own kind: pool ->
/// depthwise (the closest kind: a memory-bound per-channel sliding window, which also has
/// weights and multiplications, so it errs high rather than at zero), depthwise -> conv,
/// fc -> conv (a 1x1 conv on a 1x1 map); none for conv.
std::optional<LayerKind> fallback_kind(LayerKind kind);

/// `features` seen as a layer of kind `as` (fallback_kind): a pool gains one weight per window
/// element and channel, an fc becomes a 1x1 conv.
LayerFeatures features_as(const LayerFeatures& features, LayerKind as);

}  // namespace joules
