#pragma once
// Readers for labelled image files: IDX (MNIST, Fashion-MNIST; gzipped or raw) and the
// CIFAR-10 binary format. They return bytes in memory, ready to become a tensor without a
// copy. Torch-free.

#include <cstdint>
#include <string>
#include <vector>

#include "space/architecture.hpp"

namespace joules {

/// An IDX array of unsigned bytes: its dimensions and its elements in row-major order.
struct IdxArray {
  std::vector<std::int64_t> dims;
  std::vector<std::uint8_t> data;
};

/// Images with one label each; pixels are row-major [count, channels, height, width].
struct LabelledImages {
  Shape shape;  // of one image
  std::int64_t count = 0;
  std::vector<std::uint8_t> pixels;
  std::vector<std::uint8_t> labels;
};

/// Reads an IDX file of unsigned bytes (type 0x08), gzipped or raw (zlib tells them apart).
/// Throws InputError naming the file when it cannot be read, has another element type or
/// an impossible header, is truncated or has bytes after the data.
IdxArray read_idx(const std::string& path);

/// Reads an IDX image file ([count, height, width] or [count, channels, height, width]) and
/// its IDX label file ([count]). Throws InputError naming the file for a wrong shape or
/// counts that differ.
LabelledImages read_idx_images(const std::string& images_path, const std::string& labels_path);

/// Reads CIFAR-10 binary batch files (records of 1 label byte and 3x32x32 pixel bytes,
/// channel planes red, green, blue) and concatenates them in order. Throws InputError naming
/// the file when it cannot be read or its size is not a whole number of records.
LabelledImages read_cifar10(const std::vector<std::string>& paths);

}  // namespace joules
