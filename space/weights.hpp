#pragma once
// A network's trained values as plain float arrays: what moves between train/ (LibTorch) and
// onnx/ (protobuf) without either depending on the other. Layouts are PyTorch's.

#include <vector>

namespace joules {

/// The values of one layer; empty vectors for what the layer does not have (a pool has none).
struct LayerWeights {
  std::vector<float> weight;  // conv: [filters, in_channels / groups, k_h, k_w]; fc: [units, inputs]
  std::vector<float> bias;    // [filters] or [units]; empty without bias
  // Batch norm of a conv (inference: y = (x - mean) / sqrt(var + 1e-5) * bn_weight + bn_bias).
  std::vector<float> bn_weight, bn_bias, bn_mean, bn_var;

  bool operator==(const LayerWeights&) const = default;
};

/// The input normalisation the network was trained with: per channel, for pixel values in
/// [0, 1], the network sees (x - mean) / std. Empty when unknown.
struct Normalization {
  std::vector<double> mean;
  std::vector<double> std;

  bool operator==(const Normalization&) const = default;
};

/// Batch-norm epsilon of every joules network (PyTorch's BatchNorm2d default).
inline constexpr double kBatchNormEpsilon = 1e-5;

/// One LayerWeights per layer of the architecture, in order, and the input normalisation.
struct NetworkWeights {
  std::vector<LayerWeights> layers;
  Normalization normalization;

  bool operator==(const NetworkWeights&) const = default;
};

}  // namespace joules
