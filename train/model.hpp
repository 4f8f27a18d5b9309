#pragma once
// The model builder: an Architecture as a LibTorch module, layer for layer, with PyTorch's
// semantics (DESIGN.md): conv (groups, batch norm, bias, activation), max/avg/global pooling
// (floor mode), fc (dropout on its input while training, implicit flatten before the first).
// Its parameters() are the architecture's parameter count as space/analysis.hpp computes it.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <ATen/core/Generator.h>
#include <torch/torch.h>

#include "space/architecture.hpp"
#include "space/weights.hpp"

namespace joules {

/// One layer of a Network: its module and forward pass.
class NetworkLayerImpl : public torch::nn::Module {
 public:
  virtual torch::Tensor forward(torch::Tensor x) = 0;
};

/// conv -> batch norm (optional) -> activation. Parameters: weight, bias (when the layer has
/// one), bn.weight, bn.bias (with batch norm; running statistics as buffers).
class ConvBlockImpl : public NetworkLayerImpl {
 public:
  ConvBlockImpl(const ConvLayer& spec, std::int64_t in_channels, at::Generator generator,
                torch::Device device);
  torch::Tensor forward(torch::Tensor x) override;

 private:
  ConvLayer spec_;
  torch::Tensor weight_;
  torch::Tensor bias_;
  // Batch norm as nn.BatchNorm2d (eps 1e-5, momentum 0.1, same names), held here so that it
  // can also live on the meta device.
  std::shared_ptr<torch::nn::Module> bn_;
  torch::Tensor bn_weight_, bn_bias_, running_mean_, running_var_, batches_tracked_;
};

/// Max, average or global pooling. No parameters.
class PoolBlockImpl : public NetworkLayerImpl {
 public:
  explicit PoolBlockImpl(const PoolLayer& spec);
  torch::Tensor forward(torch::Tensor x) override;

 private:
  PoolLayer spec_;
};

/// Dropout on the input (training only) -> fully connected -> activation. The input is
/// flattened; the output is [batch, units, 1, 1]. Parameters: weight [units, inputs], bias.
class FcBlockImpl : public NetworkLayerImpl {
 public:
  FcBlockImpl(const FcLayer& spec, std::int64_t in_features, at::Generator generator, torch::Device device);
  torch::Tensor forward(torch::Tensor x) override;

 private:
  FcLayer spec_;
  torch::Tensor weight_;
  torch::Tensor bias_;
  at::Generator generator_;  // dropout masks
};

/// An Architecture as a module: forward() maps float [batch, C, H, W] to [batch, outputs]
/// (the last layer's output flattened). Parameter names: "layers.I.weight", "layers.I.bias",
/// "layers.I.bn.weight", ... with I the layer's index in the architecture.
/// Not thread-safe (one training per instance).
class NetworkImpl : public torch::nn::Module {
 public:
  /// Builds `arch` with PyTorch's default initialisation (uniform +-1/sqrt(fan_in) for
  /// weights and biases, batch norm 1 and 0), drawn from a generator seeded with `seed`;
  /// the same generator then draws dropout masks. On the meta device nothing is allocated
  /// or initialised (for counting). Throws SpecError for an invalid architecture.
  explicit NetworkImpl(const Architecture& arch, std::uint64_t seed = 0, torch::Device device = torch::kCPU);

  torch::Tensor forward(torch::Tensor x);

  const Architecture& architecture() const { return arch_; }
  /// Number of trainable values (what PyTorch's sum(p.numel() for p in parameters()) says).
  std::int64_t parameter_count() const;

  /// Draws the dropout masks (its state is part of a training state).
  at::Generator& generator() { return generator_; }

 private:
  Architecture arch_;
  at::Generator generator_;
  torch::nn::ModuleList layers_;
  std::vector<std::shared_ptr<NetworkLayerImpl>> blocks_;
};

TORCH_MODULE(Network);

/// Writes parameters and buffers as a pickled {name: tensor} dict (Python: torch.load(path)),
/// atomically, with the input normalisation (when given) as float64 tensors
/// "normalization.mean" and "normalization.std" [C] (pixel values in [0, 1]), so that the file
/// says what its network expects. Throws std::runtime_error naming the path on I/O failure.
void save_weights(const Network& network, const std::string& path, const Normalization& normalization = {});

/// The normalisation saved with the weights in `path`; empty when the file has none.
/// Throws std::runtime_error naming the path when it is not a weights file.
Normalization load_normalization(const std::string& path);

/// The network's parameters and batch-norm statistics as plain arrays (on the CPU).
NetworkWeights network_weights(const Network& network);

/// Copies plain weights (network_weights()' layout) into `network`'s parameters and batch-norm
/// statistics. Throws std::invalid_argument naming the layer when a size does not match.
void set_network_weights(Network& network, const NetworkWeights& weights);

/// Reads weights written by save_weights() into `network`. Throws std::runtime_error naming
/// the path when the file cannot be read or does not match the network's names and shapes.
void load_weights(Network& network, const std::string& path);

}  // namespace joules
