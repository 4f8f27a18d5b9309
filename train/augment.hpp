#pragma once
// Augmentation of training batches (random crop with padding, horizontal flip), for the
// trainer (LibTorch).

#include <cstdint>

#include <torch/torch.h>

#include "train/data_tensors.hpp"
#include "train/trainer.hpp"

namespace joules {

/// Augments the normalised batch `x` ([n, C, H, W] float, rows `rows` of the training file)
/// in place. Each sample's crop offset and flip come from its own engine seeded by `seed`, its
/// row and `epoch`, so a sample is changed the same way in every run with the same seed,
/// whatever batch it falls in, and differently in each epoch. Padding is black (pixel 0).
void augment_batch(torch::Tensor& x, const torch::Tensor& rows, std::int64_t epoch, std::uint64_t seed,
                   const AugmentOptions& options, const Data::Tensors& data);

}  // namespace joules
