#pragma once
// Training data: a labelled image set loaded once into memory, split into training and
// validation parts, and shared read-only by every training that runs in the process.
// Torch-free on purpose: search/ and cli/ include it without paying LibTorch's compile cost.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "space/architecture.hpp"
#include "train/image_decode.hpp"
#include "util/enum_names.hpp"

namespace joules {

namespace yaml {
class Value;
}

/// Where Debian's dataset-fashion-mnist package puts its files.
inline constexpr const char* kFashionMnistPath = "/usr/share/datasets/fashion-mnist";

enum class DatasetKind {
  fashion_mnist,  // IDX files, default path /usr/share/datasets/fashion-mnist (Debian's package)
  mnist_idx,      // any MNIST-format IDX files: a directory with the four standard file names
  cifar10,        // CIFAR-10 binary version: data_batch_1..5.bin and test_batch.bin
  image_folder,   // DIR/train/CLASS/*.{png,jpg,jpeg}, optional val/ and test/ (train/image_folder.hpp)
};

/// "fashion-mnist", "mnist-idx", "cifar10" or "image-folder": the name used in YAML and on the command line.
inline constexpr EnumNames<DatasetKind, 4> kDatasetKindNames{{{DatasetKind::fashion_mnist, "fashion-mnist"},
                                                              {DatasetKind::mnist_idx, "mnist-idx"},
                                                              {DatasetKind::cifar10, "cifar10"},
                                                              {DatasetKind::image_folder, "image-folder"}}};
std::string_view to_string(DatasetKind kind);

/// Where the data comes from and how the training set is split.
struct DataOptions {
  DatasetKind kind = DatasetKind::fashion_mnist;
  /// A directory holding the dataset's files. IDX: train-images-idx3-ubyte,
  /// train-labels-idx1-ubyte, t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte, each gzipped
  /// (".gz") or raw (also the "train-images.idx3-ubyte" spelling). CIFAR-10:
  /// data_batch_N.bin (N = 1, 2, ...) and test_batch.bin, in the directory or in its
  /// cifar-10-batches-bin/ subdirectory. The default is Debian's dataset-fashion-mnist.
  std::string path = kFashionMnistPath;
  /// Samples of the training set held out for validation (search-time accuracy); the test
  /// set is kept for final evaluation only. At least 1, and must leave at least one training
  /// sample.
  std::int64_t validation_size = 5000;
  /// Seeds the permutation that picks the validation samples and orders the training samples
  /// (TrainOptions::train_samples takes a prefix of that order).
  std::uint64_t split_seed = 0;
  /// image-folder only (the other kinds reject these keys). How images of another size are
  /// fitted to the input: stretch, or shorter-side (scaled, aspect kept, centre-cropped).
  ImageResize resize = ImageResize::stretch;
  /// Where the decoded images are cached; empty: DIR/.joules-cache, or $XDG_CACHE_HOME/joules
  /// (~/.cache/joules) when that is not writable.
  std::string cache_dir;
  /// Skip (and count) images that cannot be decoded instead of failing.
  bool skip_bad_images = false;
  /// The folder's class names in label order. Empty: whatever train/ holds; otherwise train/
  /// must hold exactly these (the resolved config of a search records them).
  std::vector<std::string> class_names;

  bool operator==(const DataOptions&) const = default;
};

/// Reads the `data:` section of a config. Keys: kind, path, validation_size, split_seed, and for
/// image-folder resize, cache_dir, skip_bad_images, class_names; kinds other than
/// fashion-mnist need a path. Throws InputError naming the file, line and
/// key.
DataOptions parse_data_options(const yaml::Value& node);

/// Writes options as YAML that parse_data_options() reads back to the same options.
std::string to_yaml(const DataOptions& options);

/// A dataset in memory: images as bytes (normalised per batch with the training split's
/// per-channel mean and standard deviation), labels, the validation split and the test set.
/// Immutable after load_data(); every member is safe to call from several threads at once,
/// and trainings running concurrently share one instance.
class Data {
 public:
  struct Tensors;  // the tensors themselves, defined in train/data_tensors.hpp (LibTorch)

  explicit Data(std::unique_ptr<const Tensors> tensors);
  ~Data();
  Data(const Data&) = delete;
  Data& operator=(const Data&) = delete;

  const DataOptions& options() const;
  /// Shape of one sample, e.g. 1x28x28 for Fashion-MNIST.
  Shape input() const;
  /// Number of classes (labels are 0 .. classes() - 1).
  std::int64_t classes() const;
  /// The classes' names in label order (image folders: the class folders); empty when the
  /// data has none (IDX, CIFAR-10).
  const std::vector<std::string>& class_names() const;
  /// Images of an image folder left out as bad (DataOptions::skip_bad_images).
  std::int64_t skipped_images() const;
  /// Samples in the training split (training file minus validation), the validation split
  /// and the test set.
  std::int64_t train_size() const;
  std::int64_t validation_size() const;
  std::int64_t test_size() const;
  /// Per-channel statistics of the training split, in pixel units (0..255).
  double channel_mean(std::int64_t channel) const;
  double channel_std(std::int64_t channel) const;

  const Tensors& tensors() const { return *tensors_; }

 private:
  std::unique_ptr<const Tensors> tensors_;
};

/// Loads a dataset into memory (decompressing gzipped files, decoding an image folder to
/// `image_input`, through its cache) and splits it. An image folder's val/, when present, is
/// the validation split (validation_size is then not used). `image_input` is the network's
/// input shape; the fixed formats ignore it. Throws SpecError("path", ...) for a missing
/// directory or dataset file in it, InputError naming the file for malformed, truncated or inconsistent contents (image folders:
/// see load_image_folder()), SpecError("validation_size", ...) unless the split holds
/// between 1 and all but one sample.
std::shared_ptr<const Data> load_data(const DataOptions& options, const Shape& image_input);
/// The same for the fixed formats (IDX, CIFAR-10), whose files give the shape; throws
/// std::invalid_argument for an image folder.
std::shared_ptr<const Data> load_data(const DataOptions& options);

/// load_data() for options read from `node`, a config's `data:` section: SpecErrors come out
/// as InputError "CONFIG:LINE: data.KEY: ..." at the key's line in that file.
std::shared_ptr<const Data> load_data(const DataOptions& options, const Shape& image_input,
                                      const yaml::Value& node);

}  // namespace joules
