#pragma once
// 2-D max and average pooling for float CPU tensors, forward and backward, with PyTorch's
// results (floor mode; max: the first maximum of a window wins and NaN propagates; average:
// padding counts as zeros) at a fraction of the cost of LibTorch 1.13's NCHW kernels, which
// took a quarter of a LeNet-5 training step (bench/train_throughput). Other tensors go to
// at::max_pool2d and at::avg_pool2d.

#include <torch/torch.h>

#include "space/layer.hpp"

namespace joules {

/// Max pooling of x [N, C, H, W]; padding at most half the kernel (as space/ validates).
/// Differentiable; runs on the calling thread's intra-op threads.
torch::Tensor max_pool2d(const torch::Tensor& x, Size2 kernel, Size2 stride, Size2 padding);

/// Average pooling of x [N, C, H, W], padding included in the average (PyTorch's default);
/// padding at most half the kernel. Differentiable; runs on the calling thread's intra-op
/// threads.
torch::Tensor avg_pool2d(const torch::Tensor& x, Size2 kernel, Size2 stride, Size2 padding);

}  // namespace joules
