#include "train/model.hpp"

#include <cmath>
#include <fstream>
#include <iterator>
#include <stdexcept>

#include <ATen/CPUGeneratorImpl.h>
#include <fmt/format.h>

#include "space/analysis.hpp"
#include "train/pooling.hpp"
#include "util/atomic_file.hpp"

namespace joules {
namespace {

torch::Tensor activate(torch::Tensor x, Activation activation) {
  switch (activation) {
    case Activation::none:
      return x;
    // In place: every tensor it follows (conv, batch norm, fc output) is not needed by its
    // own backward, and relu's backward needs only its result. Saves a buffer per layer.
    case Activation::relu:
      return x.relu_();
    case Activation::relu6:
      return at::hardtanh(x, 0.0, 6.0);
    case Activation::leaky_relu:
      return at::leaky_relu(x, 0.01);
    case Activation::sigmoid:
      return x.sigmoid();
    case Activation::tanh:
      return x.tanh();
    case Activation::gelu:
      return at::gelu(x);
    case Activation::silu:
      return at::silu(x);
    case Activation::hardswish:
      return at::hardswish(x);
  }
  return x;
}

// PyTorch's default for Conv2d and Linear (kaiming_uniform_ with a = sqrt(5), and the bias
// rule): weights and biases uniform in +-1/sqrt(fan_in).
void init_uniform(torch::Tensor& t, std::int64_t fan_in, at::Generator& generator) {
  if (t.is_meta()) return;
  const double bound = 1.0 / std::sqrt(static_cast<double>(fan_in));
  torch::NoGradGuard no_grad;
  t.uniform_(-bound, bound, generator);
}

torch::Tensor new_parameter(std::vector<std::int64_t> sizes, torch::Device device) {
  return torch::empty(sizes, torch::TensorOptions().device(device));
}

}  // namespace

// --- ConvBlock ------------------------------------------------------------------------------

ConvBlockImpl::ConvBlockImpl(const ConvLayer& spec, std::int64_t in_channels, at::Generator generator,
                             torch::Device device)
    : spec_(spec) {
  const std::int64_t fan_in = in_channels / spec.groups * spec.kernel.h * spec.kernel.w;
  weight_ = register_parameter(
      "weight",
      new_parameter({spec.filters, in_channels / spec.groups, spec.kernel.h, spec.kernel.w}, device));
  init_uniform(weight_, fan_in, generator);
  if (spec.bias) {
    bias_ = register_parameter("bias", new_parameter({spec.filters}, device));
    init_uniform(bias_, fan_in, generator);
  }
  if (spec.batch_norm) {
    const auto on = torch::TensorOptions().device(device);
    bn_ = register_module("bn", std::make_shared<torch::nn::Module>());
    bn_weight_ = bn_->register_parameter("weight", torch::ones({spec.filters}, on));
    bn_bias_ = bn_->register_parameter("bias", torch::zeros({spec.filters}, on));
    running_mean_ = bn_->register_buffer("running_mean", torch::zeros({spec.filters}, on));
    running_var_ = bn_->register_buffer("running_var", torch::ones({spec.filters}, on));
    batches_tracked_ = bn_->register_buffer("num_batches_tracked", torch::zeros({}, on.dtype(torch::kLong)));
  }
}

torch::Tensor ConvBlockImpl::forward(torch::Tensor x) {
  x = at::conv2d(x, weight_, bias_, {spec_.stride.h, spec_.stride.w}, {spec_.padding.h, spec_.padding.w},
                 /*dilation=*/{1, 1}, spec_.groups);
  if (spec_.batch_norm) {
    if (is_training()) {
      torch::NoGradGuard no_grad;
      batches_tracked_.add_(1);
    }
    x = at::batch_norm(x, bn_weight_, bn_bias_, running_mean_, running_var_, is_training(), /*momentum=*/0.1,
                       /*eps=*/1e-5, /*cudnn_enabled=*/true);
  }
  return activate(x, spec_.activation);
}

// --- PoolBlock ------------------------------------------------------------------------------

PoolBlockImpl::PoolBlockImpl(const PoolLayer& spec) : spec_(spec) {}

torch::Tensor PoolBlockImpl::forward(torch::Tensor x) {
  if (spec_.global) {
    if (spec_.op == PoolOp::avg) return x.mean({2, 3}, /*keepdim=*/true);
    return std::get<0>(at::adaptive_max_pool2d(x, {1, 1}));
  }
  if (spec_.op == PoolOp::max) return max_pool2d(x, spec_.kernel, spec_.stride, spec_.padding);
  return avg_pool2d(x, spec_.kernel, spec_.stride, spec_.padding);
}

// --- FcBlock --------------------------------------------------------------------------------

FcBlockImpl::FcBlockImpl(const FcLayer& spec, std::int64_t in_features, at::Generator generator,
                         torch::Device device)
    : spec_(spec), generator_(generator) {
  weight_ = register_parameter("weight", new_parameter({spec.units, in_features}, device));
  init_uniform(weight_, in_features, generator);
  if (spec.bias) {
    bias_ = register_parameter("bias", new_parameter({spec.units}, device));
    init_uniform(bias_, in_features, generator);
  }
}

torch::Tensor FcBlockImpl::forward(torch::Tensor x) {
  const std::int64_t batch = x.size(0);
  x = x.reshape({batch, -1, 1, 1});  // the implicit flatten; a view of a contiguous map
  if (is_training() && spec_.dropout > 0.0) {
    const double keep = 1.0 - spec_.dropout;
    torch::Tensor mask = torch::empty_like(x);
    if (x.is_cpu()) {
      mask.bernoulli_(keep, generator_);
    } else {
      mask.bernoulli_(keep);  // the seeded generator is a CPU one
    }
    x = x * mask.div_(keep);
  }
  torch::Tensor y;
  if (x.is_cpu() && batch >= 16) {
    // Debian's LibTorch sends linear layers to reference BLAS; as a 1x1 convolution the same
    // product runs in oneDNN's kernels, several times faster (bench/train_throughput). Below
    // 16 samples LibTorch would not pick oneDNN for it anyway.
    y = at::conv2d(x, weight_.view({spec_.units, -1, 1, 1}), bias_);
  } else {
    y = at::linear(x.view({batch, -1}), weight_, bias_).view({batch, spec_.units, 1, 1});
  }
  return activate(y, spec_.activation);
}

// --- Network --------------------------------------------------------------------------------

NetworkImpl::NetworkImpl(const Architecture& arch, std::uint64_t seed, torch::Device device)
    : arch_(arch), generator_(at::make_generator<at::CPUGeneratorImpl>(seed)) {
  const NetworkAnalysis net = analyze(arch);  // throws SpecError for an invalid network
  layers_ = register_module("layers", torch::nn::ModuleList());
  for (std::size_t i = 0; i < arch.layers.size(); ++i) {
    const Shape in = net.layers[i].input;
    std::shared_ptr<NetworkLayerImpl> block;
    if (const auto* conv = std::get_if<ConvLayer>(&arch.layers[i])) {
      block = std::make_shared<ConvBlockImpl>(*conv, in.channels, generator_, device);
    } else if (const auto* pool = std::get_if<PoolLayer>(&arch.layers[i])) {
      block = std::make_shared<PoolBlockImpl>(*pool);
    } else {
      block = std::make_shared<FcBlockImpl>(std::get<FcLayer>(arch.layers[i]),
                                            in.channels * in.height * in.width, generator_, device);
    }
    layers_->push_back(block);
    blocks_.push_back(std::move(block));
  }
}

torch::Tensor NetworkImpl::forward(torch::Tensor x) {
  for (const auto& block : blocks_) x = block->forward(x);
  return x.reshape({x.size(0), -1});
}

std::int64_t NetworkImpl::parameter_count() const {
  std::int64_t count = 0;
  for (const auto& p : parameters()) count += p.numel();
  return count;
}

// --- Weights files --------------------------------------------------------------------------

void save_weights(const Network& network, const std::string& path, const Normalization& normalization) {
  c10::Dict<std::string, at::Tensor> dict;
  // Clones: a parameter may be a view of a larger buffer, which pickling would write whole.
  // On the CPU, so that the file loads anywhere.
  const auto cpu_copy = [](const torch::Tensor& t) { return t.detach().to(torch::kCPU).clone(); };
  for (const auto& item : network->named_parameters()) dict.insert(item.key(), cpu_copy(item.value()));
  for (const auto& item : network->named_buffers()) dict.insert(item.key(), cpu_copy(item.value()));
  if (!normalization.mean.empty()) {
    dict.insert("normalization.mean", torch::tensor(normalization.mean, torch::kDouble));
    dict.insert("normalization.std", torch::tensor(normalization.std, torch::kDouble));
  }
  const std::vector<char> bytes = torch::pickle_save(dict);
  write_file_atomic(path, std::string_view(bytes.data(), bytes.size()));
}

namespace {

c10::Dict<c10::IValue, c10::IValue> read_weights_dict(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(fmt::format("{}: cannot open weights file", path));
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  c10::IValue value;
  try {
    value = torch::pickle_load(bytes);
  } catch (const c10::Error& e) {
    throw std::runtime_error(fmt::format("{}: not a weights file: {}", path, e.what_without_backtrace()));
  }
  if (!value.isGenericDict()) throw std::runtime_error(fmt::format("{}: not a weights file (no dict)", path));
  return value.toGenericDict();
}

}  // namespace

Normalization load_normalization(const std::string& path) {
  const c10::Dict<c10::IValue, c10::IValue> dict = read_weights_dict(path);
  const auto values = [&](const char* name) -> std::vector<double> {
    const auto it = dict.find(c10::IValue(std::string(name)));
    if (it == dict.end() || !it->value().isTensor()) return {};
    const at::Tensor t = it->value().toTensor().to(torch::kDouble).contiguous();
    return {t.data_ptr<double>(), t.data_ptr<double>() + t.numel()};
  };
  Normalization n{values("normalization.mean"), values("normalization.std")};
  if (n.mean.size() != n.std.size()) {
    throw std::runtime_error(fmt::format("{}: normalization.mean and normalization.std differ in size", path));
  }
  return n;
}

void load_weights(Network& network, const std::string& path) {
  const c10::Dict<c10::IValue, c10::IValue> dict = read_weights_dict(path);
  torch::NoGradGuard no_grad;
  auto copy_into = [&](const std::string& name, torch::Tensor& target) {
    const auto it = dict.find(c10::IValue(name));
    if (it == dict.end()) throw std::runtime_error(fmt::format("{}: has no {}", path, name));
    const at::Tensor source = it->value().toTensor();
    if (source.sizes() != target.sizes()) {
      throw std::runtime_error(fmt::format("{}: {} has shape {}, the network expects {}", path, name,
                                           fmt::join(source.sizes(), "x"), fmt::join(target.sizes(), "x")));
    }
    target.copy_(source);
  };
  for (auto& item : network->named_parameters()) copy_into(item.key(), item.value());
  for (auto& item : network->named_buffers()) copy_into(item.key(), item.value());
}

}  // namespace joules
