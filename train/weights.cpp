#include "train/weights.hpp"

#include <fstream>
#include <iterator>
#include <stdexcept>

#include <fmt/format.h>

#include "train/model.hpp"

namespace joules {
namespace {

std::vector<float> values(const torch::Tensor& t) {
  if (!t.defined()) return {};
  const torch::Tensor c = t.detach().to(torch::kCPU, torch::kFloat).contiguous();
  const float* p = c.data_ptr<float>();
  return {p, p + c.numel()};
}

}  // namespace

NetworkWeights network_weights(const Network& network) {
  NetworkWeights out;
  const auto named = network->named_parameters(/*recurse=*/true);
  const auto buffers = network->named_buffers(/*recurse=*/true);
  const auto find = [&](const std::string& name) -> torch::Tensor {
    if (const torch::Tensor* t = named.find(name)) return *t;
    if (const torch::Tensor* t = buffers.find(name)) return *t;
    return {};
  };
  for (std::size_t i = 0; i < network->architecture().layers.size(); ++i) {
    const std::string p = fmt::format("layers.{}.", i);
    LayerWeights w;
    w.weight = values(find(p + "weight"));
    w.bias = values(find(p + "bias"));
    w.bn_weight = values(find(p + "bn.weight"));
    w.bn_bias = values(find(p + "bn.bias"));
    w.bn_mean = values(find(p + "bn.running_mean"));
    w.bn_var = values(find(p + "bn.running_var"));
    out.layers.push_back(std::move(w));
  }
  return out;
}

void set_network_weights(Network& network, const NetworkWeights& weights) {
  const std::size_t layers = network->architecture().layers.size();
  if (weights.layers.size() != layers) {
    throw std::invalid_argument(fmt::format("the weights have {} layers, the network {}", weights.layers.size(), layers));
  }
  auto named = network->named_parameters(/*recurse=*/true);
  auto buffers = network->named_buffers(/*recurse=*/true);
  torch::NoGradGuard no_grad;
  const auto copy = [&](const std::string& name, const std::vector<float>& values, std::size_t layer) {
    torch::Tensor* target = named.find(name);
    if (target == nullptr) target = buffers.find(name);
    if (target == nullptr) {
      if (values.empty()) return;
      throw std::invalid_argument(fmt::format("layer {}: the network has no {}", layer + 1, name));
    }
    if (static_cast<std::int64_t>(values.size()) != target->numel()) {
      throw std::invalid_argument(fmt::format("layer {}: {} has {} values, the network expects {}", layer + 1, name,
                                              values.size(), target->numel()));
    }
    target->copy_(torch::from_blob(const_cast<float*>(values.data()), target->sizes(), torch::kFloat));
  };
  for (std::size_t i = 0; i < layers; ++i) {
    const std::string p = fmt::format("layers.{}.", i);
    const LayerWeights& w = weights.layers[i];
    copy(p + "weight", w.weight, i);
    copy(p + "bias", w.bias, i);
    copy(p + "bn.weight", w.bn_weight, i);
    copy(p + "bn.bias", w.bn_bias, i);
    copy(p + "bn.running_mean", w.bn_mean, i);
    copy(p + "bn.running_var", w.bn_var, i);
  }
}

NetworkWeights read_weights_file(const Architecture& arch, const std::string& path) {
  Network network(arch, /*seed=*/0);
  load_weights(network, path);
  NetworkWeights out = network_weights(network);
  out.normalization = load_normalization(path);
  return out;
}

NetworkWeights initial_weights(const Architecture& arch, std::uint64_t seed) {
  return network_weights(Network(arch, seed));
}

}  // namespace joules
