#pragma once
// The tensors behind a Data (LibTorch), for train/'s own code: the trainer and evaluation.

#include <cstdint>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "train/data.hpp"

namespace joules {

struct Data::Tensors {
  DataOptions options;
  Shape input;
  std::int64_t classes = 0;
  std::vector<std::string> class_names;  // image folders; empty otherwise
  std::int64_t skipped_images = 0;
  // Pixels stay bytes (a quarter of the memory of floats) and are normalised per batch,
  // which costs about as much as gathering a float batch.
  torch::Tensor images;                   // uint8 [N, C, H, W]: the training file (training + validation)
  torch::Tensor labels;                   // int64 [N]
  torch::Tensor test_images;              // uint8 [T, C, H, W]
  torch::Tensor test_labels;              // int64 [T]
  std::vector<std::int64_t> train_order;  // rows of the training split, in the split's order
  torch::Tensor validation_index;         // int64 rows of the validation split, ascending
  torch::Tensor test_index;               // int64 0 .. T-1
  std::vector<double> mean;               // per channel, pixel units, over the training split
  std::vector<double> std;
  torch::Tensor scale;  // float [1, C, 1, 1]: normalised = pixel * scale + shift
  torch::Tensor shift;
};

/// Rows `index` (int64) of `images` (uint8), normalised, into `out` as float [n, C, H, W].
/// `out` is reused when it already has the right size. Thread-safe for distinct `out`.
void gather_images(const Data::Tensors& data, const torch::Tensor& images, const torch::Tensor& index,
                   torch::Tensor& out);

}  // namespace joules
