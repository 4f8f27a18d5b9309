#pragma once
// Image folders (PyTorch's ImageFolder layout): DIR/train/CLASS/*.{png,jpg,jpeg}, optional
// DIR/val/ and DIR/test/, decoded in parallel to one input shape and cached as bytes so that
// every later load (every candidate, rank and run) reads one file instead. Torch-free.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "space/architecture.hpp"
#include "train/data.hpp"

namespace joules {

/// The decoded images of a folder: labels and pixels of train, val and test, in that order,
/// each contiguous, inside one buffer that the cache file holds byte for byte.
struct ImageFolder {
  std::shared_ptr<const std::string> buffer;  // owns what labels and pixels point into
  Shape input;
  std::vector<std::string> class_names;  // sorted; label i is class_names[i]
  std::int64_t train_count = 0;
  std::int64_t val_count = 0;   // 0 without val/
  std::int64_t test_count = 0;  // 0 without test/
  bool has_val = false;
  bool has_test = false;
  std::int64_t skipped = 0;              // bad images left out (data.skip_bad_images)
  const std::int64_t* labels = nullptr;  // train_count + val_count + test_count
  const std::uint8_t* pixels = nullptr;  // the same count of [C, H, W] images
  std::string cache_path;                // the cache file read or written; empty when none could be written
  bool from_cache = false;
};

/// Loads `options.path` as an image folder decoded to `input` (1 or 3 channels), from the
/// cache when its file list, sizes, mtimes and resize settings are unchanged; otherwise
/// decodes every image (TBB, with a progress line on stderr) and writes the cache atomically.
/// Throws InputError naming the folder or file: no train/ folder, a file that is not a class
/// folder or not an image (by its extension), an empty class folder, val/ or test/ classes
/// that train/ lacks, a corrupt image (unless options.skip_bad_images), a data set larger
/// than the memory available (saying its size), an input of other than 1 or 3 channels.
ImageFolder load_image_folder(const DataOptions& options, const Shape& input);

/// The default cache directories in the order tried: DIR/.joules-cache, then
/// $XDG_CACHE_HOME/joules or ~/.cache/joules.
std::vector<std::string> default_image_cache_dirs(const std::string& data_dir);

}  // namespace joules
