#pragma once
// SGD with momentum and Adam, with PyTorch's update rules, over every parameter of a model
// at once: the parameters and their gradients are moved into two contiguous buffers, so that
// zeroing the gradients and each update are a handful of vectorised operations however many
// tensors the model has, and no step allocates.

#include <cstdint>
#include <vector>

#include <torch/torch.h>

#include "train/trainer.hpp"

namespace joules {

/// Not thread-safe; one per training.
class FlatOptimizer {
 public:
  /// Moves `parameters` (leaves that require grad) into one buffer; afterwards each
  /// parameter is a view of it and its .grad() a view of a gradient buffer that backward()
  /// accumulates into. Reads optimizer, momentum, adam_*, weight_decay from `options`.
  FlatOptimizer(const std::vector<torch::Tensor>& parameters, const TrainOptions& options);

  /// Sets every gradient to zero (before backward()).
  void zero_grad();
  /// One update with this learning rate.
  void step(double learning_rate);
  /// False when a weight is NaN or infinite.
  bool weights_finite() const;
  /// The weights, the moment buffers and the step count, for a training state (CPU copies).
  std::vector<torch::Tensor> state() const;
  /// Restores state() of an optimizer over the same parameters and options. Throws
  /// std::runtime_error when the sizes do not match.
  void restore(const std::vector<torch::Tensor>& state);

 private:
  TrainOptions options_;
  torch::Tensor weights_;
  torch::Tensor grads_;
  torch::Tensor momentum_;  // SGD momentum buffer, Adam first moment
  torch::Tensor second_;    // Adam second moment
  torch::Tensor scratch_;   // Adam denominator
  std::int64_t steps_ = 0;
};

}  // namespace joules
