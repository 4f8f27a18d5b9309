#pragma once
// 2-D max pooling for float CPU tensors, forward and backward, with PyTorch's results (floor
// mode, the first maximum of a window wins, NaN propagates) at a fraction of the cost of
// LibTorch 1.13's max_pool2d_with_indices on NCHW tensors, which dominated small networks'
// training steps (bench/train_throughput). Other tensors go to at::max_pool2d.

#include <torch/torch.h>

#include "space/layer.hpp"

namespace joules {

/// Max pooling of x [N, C, H, W]; padding at most half the kernel (as space/ validates).
/// Differentiable; runs on the calling thread's intra-op threads.
torch::Tensor max_pool2d(const torch::Tensor& x, Size2 kernel, Size2 stride, Size2 padding);

}  // namespace joules
