#pragma once
// Shape inference and the cost of a network: MACs and parameters per layer, with DESIGN.md's
// conventions. This is also the one place that decides whether an architecture is valid.

#include <cstdint>
#include <vector>

#include "space/architecture.hpp"

namespace joules {

/// Largest size accepted for any single dimension, channel, unit or kernel count.
inline constexpr std::int64_t kMaxDimension = 2147483647;  // 2^31 - 1

struct LayerAnalysis {
  Shape input;   // for an fc layer after a feature map: that map, before the implicit flatten
  Shape output;  // an fc layer outputs [units, 1, 1]
  /// conv: out_h * out_w * out_c * (in_c / groups) * k_h * k_w; fc: in * out; pool: 0.
  std::int64_t macs = 0;
  /// Weights + biases (+ 2 per channel with batch norm), as PyTorch's parameters() counts.
  std::int64_t params = 0;
};

struct NetworkAnalysis {
  std::vector<LayerAnalysis> layers;
  Shape output;
  std::int64_t macs = 0;
  std::int64_t params = 0;
};

/// Infers every layer's shapes and costs.
/// Throws SpecError (key like "layers[2].conv.kernel") for an impossible network: no layers,
/// non-positive or absurd sizes, kernels larger than their padded input, groups that do not
/// divide the channels, conv or pool after fc, counts that overflow 64-bit integers.
NetworkAnalysis analyze(const Architecture& arch);

/// True when `conv` is depthwise for `in_channels` inputs (groups == in_channels > 1).
bool is_depthwise(const ConvLayer& conv, std::int64_t in_channels);

}  // namespace joules
