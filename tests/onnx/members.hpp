#pragma once
// Networks for the ONNX tests: seeded members of the Fashion-MNIST search space with every
// option on (batch norm, separable convs, max/avg/global pooling), each layer's activation
// redrawn from all of joules's, and plain random weights for them.

#include <string>
#include <vector>

#include "space/analysis.hpp"
#include "space/architecture_yaml.hpp"
#include "space/search_space.hpp"
#include "space/weights.hpp"
#include "util/random.hpp"

namespace joules::testing {

inline SearchSpaceOptions every_option_space() {
  SearchSpaceOptions o;
  o.filters = {4, 8, 12};
  o.kernels = {1, 3, 5};
  o.strides = {1, 2};
  o.separable = {false, true};
  o.batch_norm = {false, true};
  o.pool = {BlockPool::none, BlockPool::max, BlockPool::avg};
  o.fc_layers = {0, 2};
  o.fc_units = {16, 32};
  o.fc_dropout = 0.25;
  o.global_pool = {false, true};
  return o;
}

/// `count` seeded members; activations of every layer but the classifier drawn from all.
inline std::vector<Architecture> varied_members(int count, std::uint64_t seed) {
  const SearchSpace space(every_option_space());
  Rng rng(seed);
  std::vector<Architecture> out;
  for (int i = 0; i < count; ++i) {
    Architecture arch = space.sample_architecture(rng);
    for (std::size_t l = 0; l + 1 < arch.layers.size(); ++l) {
      const Activation a = kActivations[rng.index(kActivations.size())];
      if (auto* conv = std::get_if<ConvLayer>(&arch.layers[l])) conv->activation = a;
      if (auto* fc = std::get_if<FcLayer>(&arch.layers[l])) fc->activation = a;
      // Global max pooling too, which the space does not offer.
      if (auto* pool = std::get_if<PoolLayer>(&arch.layers[l]); pool && pool->global && rng.chance(0.5)) {
        pool->op = PoolOp::max;
      }
    }
    arch.name = "member" + std::to_string(i);
    out.push_back(arch);
  }
  return out;
}

/// Random weights of the right sizes (batch norm statistics included), and a normalisation;
/// with `constant`, every value is the middle of its range (fast for VGG-16's 138M).
inline NetworkWeights random_weights(const Architecture& arch, std::uint64_t seed, bool constant = false) {
  const NetworkAnalysis net = analyze(arch);
  Rng rng(seed);
  const auto uniform_values = [constant](std::size_t n, Rng& r, double lo, double hi) {
    std::vector<float> v(n, static_cast<float>((lo + hi) / 2));
    if (!constant) {
      for (float& x : v) x = static_cast<float>(lo + (hi - lo) * r.uniform());
    }
    return v;
  };
  NetworkWeights w;
  for (std::size_t i = 0; i < arch.layers.size(); ++i) {
    LayerWeights l;
    const Shape in = net.layers[i].input;
    if (const auto* conv = std::get_if<ConvLayer>(&arch.layers[i])) {
      const auto f = static_cast<std::size_t>(conv->filters);
      l.weight = uniform_values(f * in.channels / conv->groups * conv->kernel.h * conv->kernel.w, rng, -0.5, 0.5);
      if (conv->bias) l.bias = uniform_values(f, rng, -0.5, 0.5);
      if (conv->batch_norm) {
        l.bn_weight = uniform_values(f, rng, 0.5, 1.5);
        l.bn_bias = uniform_values(f, rng, -0.5, 0.5);
        l.bn_mean = uniform_values(f, rng, -0.5, 0.5);
        l.bn_var = uniform_values(f, rng, 0.5, 2.0);
      }
    } else if (const auto* fc = std::get_if<FcLayer>(&arch.layers[i])) {
      const auto inputs = static_cast<std::size_t>(in.channels * in.height * in.width);
      l.weight = uniform_values(fc->units * inputs, rng, -0.3, 0.3);
      if (fc->bias) l.bias = uniform_values(fc->units, rng, -0.3, 0.3);
    }
    w.layers.push_back(std::move(l));
  }
  for (std::int64_t c = 0; c < arch.input.channels; ++c) {
    w.normalization.mean.push_back(0.2 + 0.1 * rng.uniform());
    w.normalization.std.push_back(0.2 + 0.2 * rng.uniform());
  }
  return w;
}

/// `arch` as its ONNX file holds it, the inference network: batch norm folded into the conv,
/// which then has a bias, and no dropout.
inline Architecture folded(Architecture arch) {
  for (Layer& layer : arch.layers) {
    if (auto* fc = std::get_if<FcLayer>(&layer)) fc->dropout = 0.0;
    if (auto* conv = std::get_if<ConvLayer>(&layer); conv && conv->batch_norm) {
      conv->batch_norm = false;
      conv->bias = true;
    }
  }
  return arch;
}

}  // namespace joules::testing
