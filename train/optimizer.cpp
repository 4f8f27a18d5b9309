#include "train/optimizer.hpp"

#include <cmath>
#include <stdexcept>

#include <fmt/format.h>

namespace joules {

FlatOptimizer::FlatOptimizer(const std::vector<torch::Tensor>& parameters, const TrainOptions& options)
    : options_(options) {
  std::int64_t total = 0;
  for (const auto& p : parameters) total += p.numel();
  // The buffers live where the parameters do (CPU or GPU).
  const auto on = torch::TensorOptions().device(parameters.empty() ? torch::kCPU : parameters.front().device());
  weights_ = torch::empty({total}, on);
  grads_ = torch::zeros({total}, on);
  momentum_ = torch::zeros({total}, on);
  if (options.optimizer == OptimizerKind::adam) {
    second_ = torch::zeros({total}, on);
    scratch_ = torch::empty({total}, on);
  }
  torch::NoGradGuard no_grad;
  std::int64_t offset = 0;
  for (auto p : parameters) {
    const std::int64_t n = p.numel();
    torch::Tensor weights = weights_.narrow(0, offset, n).view(p.sizes());
    weights.copy_(p);
    p.set_data(weights);
    p.mutable_grad() = grads_.narrow(0, offset, n).view(p.sizes());
    offset += n;
  }
}

void FlatOptimizer::zero_grad() { grads_.zero_(); }

void FlatOptimizer::step(double learning_rate) {
  torch::NoGradGuard no_grad;
  ++steps_;
  const double decay = options_.weight_decay;
  if (decay != 0.0) grads_.add_(weights_, decay);
  if (options_.optimizer == OptimizerKind::sgd) {
    // PyTorch: buf = grad at the first step, then buf = momentum * buf + grad; the buffer
    // starts at zero, which gives the same first step.
    if (options_.momentum != 0.0) {
      momentum_.mul_(options_.momentum).add_(grads_);
      weights_.add_(momentum_, -learning_rate);
    } else {
      weights_.add_(grads_, -learning_rate);
    }
    return;
  }
  const double beta1 = options_.adam_beta1;
  const double beta2 = options_.adam_beta2;
  const double correction1 = 1.0 - std::pow(beta1, static_cast<double>(steps_));
  const double correction2 = 1.0 - std::pow(beta2, static_cast<double>(steps_));
  momentum_.mul_(beta1).add_(grads_, 1.0 - beta1);
  second_.mul_(beta2).addcmul_(grads_, grads_, 1.0 - beta2);
  at::sqrt_out(scratch_, second_);
  scratch_.div_(std::sqrt(correction2)).add_(options_.adam_epsilon);
  weights_.addcdiv_(momentum_, scratch_, -learning_rate / correction1);
}

bool FlatOptimizer::weights_finite() const {
  torch::NoGradGuard no_grad;
  return torch::isfinite(weights_).all().item<bool>();
}

std::vector<torch::Tensor> FlatOptimizer::state() const {
  torch::NoGradGuard no_grad;
  const torch::Tensor none = torch::empty({0});
  return {weights_.cpu().clone(), momentum_.cpu().clone(), second_.defined() ? second_.cpu().clone() : none,
          torch::tensor({steps_}, torch::kInt64)};
}

void FlatOptimizer::restore(const std::vector<torch::Tensor>& state) {
  const std::int64_t second = second_.defined() ? weights_.numel() : 0;
  if (state.size() != 4 || state[0].numel() != weights_.numel() || state[1].numel() != weights_.numel() ||
      state[2].numel() != second || state[3].numel() != 1) {
    throw std::runtime_error(fmt::format("the optimizer state does not fit: {} parameters{}", weights_.numel(),
                                         second > 0 ? " (Adam)" : ""));
  }
  torch::NoGradGuard no_grad;
  weights_.copy_(state[0]);
  momentum_.copy_(state[1]);
  if (second_.defined()) second_.copy_(state[2]);
  steps_ = state[3].item<std::int64_t>();
}

}  // namespace joules
