#pragma once
// Small datasets written by the tests in the real file formats (IDX, gzipped or raw, and
// CIFAR-10 binary), so that readers and training run on files of known content.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "train/data.hpp"

namespace joules::testing {

/// The bytes of an IDX file of unsigned bytes with these dimensions.
std::string idx_bytes(const std::vector<std::int64_t>& dims, const std::vector<std::uint8_t>& data);

/// Writes `bytes` to `path`, gzipped when `path` ends with ".gz".
void write_file(const std::string& path, const std::string& bytes);

/// A learnable image set: class c has bright columns in the c-th vertical band of the image,
/// the rest is dark, with seeded noise.
struct Synthetic {
  std::int64_t count = 0;
  std::int64_t channels = 1;
  std::int64_t height = 8;
  std::int64_t width = 8;
  std::vector<std::uint8_t> pixels;  // [count, channels, height, width]
  std::vector<std::uint8_t> labels;
};
Synthetic synthetic_images(std::int64_t count, std::int64_t classes, std::int64_t channels,
                           std::int64_t height, std::int64_t width, std::uint64_t seed);

/// Writes the four IDX files of a synthetic dataset (train and t10k) into `dir`, gzipped or
/// raw, grey images 8x8 by default.
void write_idx_dataset(const std::string& dir, std::int64_t train_count, std::int64_t test_count,
                       std::int64_t classes, bool gzipped, std::int64_t height = 8, std::int64_t width = 8);

/// Writes a synthetic IDX dataset of 8x8 grey images into `dir` (as write_idx_dataset) and
/// loads it as kind mnist-idx with `validation_size` samples held out.
std::shared_ptr<const Data> load_synthetic_idx(const std::string& dir, std::int64_t train_count,
                                               std::int64_t test_count, std::int64_t classes, bool gzipped,
                                               std::int64_t validation_size);

/// CIFAR-10 records (label byte + 3x32x32 pixels) of a synthetic set.
std::string cifar10_bytes(const Synthetic& set);

}  // namespace joules::testing
