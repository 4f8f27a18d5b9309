#include <algorithm>
#include <cmath>
#include <filesystem>
#include <numeric>
#include <optional>

#include <fmt/format.h>

#include "train/data.hpp"
#include "train/data_tensors.hpp"
#include "train/image_files.hpp"
#include "train/image_folder.hpp"
#include "util/input_error.hpp"
#include "util/random.hpp"
#include "util/yaml_reader.hpp"

namespace joules {
namespace {

namespace fs = std::filesystem;

// The first of `names` that exists in `dir`.
std::string find_file(const std::string& dir, std::initializer_list<const char*> names) {
  for (const char* name : names) {
    const fs::path path = fs::path(dir) / name;
    if (fs::exists(path)) return path.string();
  }
  throw SpecError("path", fmt::format("{} has no {} (nor its other spellings)", dir, *names.begin()));
}

struct Files {
  LabelledImages train;
  LabelledImages test;
};

Files read_idx_dataset(const std::string& dir) {
  Files f;
  f.train = read_idx_images(find_file(dir, {"train-images-idx3-ubyte.gz", "train-images-idx3-ubyte",
                                            "train-images.idx3-ubyte.gz", "train-images.idx3-ubyte"}),
                            find_file(dir, {"train-labels-idx1-ubyte.gz", "train-labels-idx1-ubyte",
                                            "train-labels.idx1-ubyte.gz", "train-labels.idx1-ubyte"}));
  f.test = read_idx_images(find_file(dir, {"t10k-images-idx3-ubyte.gz", "t10k-images-idx3-ubyte",
                                           "t10k-images.idx3-ubyte.gz", "t10k-images.idx3-ubyte"}),
                           find_file(dir, {"t10k-labels-idx1-ubyte.gz", "t10k-labels-idx1-ubyte",
                                           "t10k-labels.idx1-ubyte.gz", "t10k-labels.idx1-ubyte"}));
  return f;
}

Files read_cifar10_dataset(std::string dir) {
  if (fs::is_directory(fs::path(dir) / "cifar-10-batches-bin"))
    dir = (fs::path(dir) / "cifar-10-batches-bin").string();
  std::vector<std::string> batches;
  for (int i = 1; fs::exists(fs::path(dir) / fmt::format("data_batch_{}.bin", i)); ++i) {
    batches.push_back((fs::path(dir) / fmt::format("data_batch_{}.bin", i)).string());
  }
  if (batches.empty()) throw SpecError("path", dir + " has no data_batch_1.bin (CIFAR-10 binary version)");
  Files f;
  f.train = read_cifar10(batches);
  f.test = read_cifar10({find_file(dir, {"test_batch.bin"})});
  return f;
}

// Moves the bytes into a tensor without copying them.
torch::Tensor pixels_tensor(LabelledImages& set) {
  auto* owner = new std::vector<std::uint8_t>(std::move(set.pixels));
  return torch::from_blob(
      owner->data(), {set.count, set.shape.channels, set.shape.height, set.shape.width},
      [owner](void*) { delete owner; }, torch::kUInt8);
}

torch::Tensor labels_tensor(const LabelledImages& set) {
  auto out = torch::empty({set.count}, torch::kInt64);
  std::copy(set.labels.begin(), set.labels.end(), out.data_ptr<std::int64_t>());
  return out;
}

}  // namespace

Data::Data(std::unique_ptr<const Tensors> tensors) : tensors_(std::move(tensors)) {}
Data::~Data() = default;

const DataOptions& Data::options() const { return tensors_->options; }
Shape Data::input() const { return tensors_->input; }
std::int64_t Data::classes() const { return tensors_->classes; }
std::int64_t Data::train_size() const { return static_cast<std::int64_t>(tensors_->train_order.size()); }
std::int64_t Data::validation_size() const { return tensors_->validation_index.size(0); }
std::int64_t Data::test_size() const { return tensors_->test_images.size(0); }
double Data::channel_mean(std::int64_t channel) const { return tensors_->mean.at(channel); }
double Data::channel_std(std::int64_t channel) const { return tensors_->std.at(channel); }
const std::vector<std::string>& Data::class_names() const { return tensors_->class_names; }
std::int64_t Data::skipped_images() const { return tensors_->skipped_images; }

namespace {

// Splits the rows [0, pool) of t.images (seeded; the head of the permutation becomes the
// validation split unless `validation_rows` are given) and computes the training split's
// per-channel statistics.
std::shared_ptr<const Data> split_and_normalise(std::unique_ptr<Data::Tensors> t, std::int64_t pool,
                                                std::optional<std::vector<std::int64_t>> validation_rows) {
  const DataOptions& options = t->options;
  const std::int64_t held_out = validation_rows ? 0 : options.validation_size;
  // At least one validation sample: a search ranks candidates by it.
  if (!validation_rows && (options.validation_size < 1 || options.validation_size >= pool)) {
    throw SpecError("validation_size",
                    fmt::format("must be in [1, {}] to leave a training sample (the training set has {} "
                                "samples), got {}",
                                pool - 1, pool, options.validation_size));
  }
  // Seeded split: a permutation of the training file; its head is the validation split.
  std::vector<std::int64_t> order(static_cast<std::size_t>(pool));
  std::iota(order.begin(), order.end(), 0);
  Rng rng(options.split_seed);
  for (std::size_t i = order.size() - 1; i > 0; --i) std::swap(order[i], order[rng.index(i + 1)]);
  std::vector<std::int64_t> validation =
      validation_rows ? *validation_rows : std::vector<std::int64_t>(order.begin(), order.begin() + held_out);
  std::sort(validation.begin(), validation.end());
  t->train_order.assign(order.begin() + held_out, order.end());
  t->validation_index = torch::tensor(validation, torch::kInt64);
  if (validation.empty()) t->validation_index = torch::empty({0}, torch::kInt64);

  // Per-channel statistics of the training split only.
  const Shape s = t->input;
  const std::int64_t plane = s.height * s.width;
  const std::uint8_t* pixels = t->images.data_ptr<std::uint8_t>();
  t->mean.assign(s.channels, 0.0);
  t->std.assign(s.channels, 0.0);
  for (std::int64_t c = 0; c < s.channels; ++c) {
    std::uint64_t sum = 0;
    std::uint64_t sum_sq = 0;
    for (std::int64_t row : t->train_order) {
      const std::uint8_t* p = pixels + (row * s.channels + c) * plane;
      for (std::int64_t i = 0; i < plane; ++i) {
        sum += p[i];
        sum_sq += std::uint64_t{p[i]} * p[i];
      }
    }
    const double count = static_cast<double>(plane) * static_cast<double>(t->train_order.size());
    t->mean[c] = static_cast<double>(sum) / count;
    const double variance = static_cast<double>(sum_sq) / count - t->mean[c] * t->mean[c];
    t->std[c] = variance > 1e-12 ? std::sqrt(variance) : 1.0;  // constant images: shift only
  }
  t->scale = torch::empty({1, s.channels, 1, 1});
  t->shift = torch::empty({1, s.channels, 1, 1});
  for (std::int64_t c = 0; c < s.channels; ++c) {
    t->scale[0][c] = 1.0 / t->std[c];
    t->shift[0][c] = -t->mean[c] / t->std[c];
  }
  return std::make_shared<const Data>(std::move(t));
}

std::string join(const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& name : names) out += (out.empty() ? "" : ", ") + name;
  return out;
}

std::shared_ptr<const Data> load_image_folder_data(const DataOptions& options, const Shape& input) {
  const ImageFolder folder = load_image_folder(options, input);
  if (!options.class_names.empty() && options.class_names != folder.class_names) {
    throw InputError((fs::path(options.path) / "train").string(), 0, "",
                     fmt::format("holds the classes [{}] but data.class_names lists [{}]",
                                 join(folder.class_names), join(options.class_names)));
  }
  auto t = std::make_unique<Data::Tensors>();
  t->options = options;
  t->input = folder.input;
  t->classes = static_cast<std::int64_t>(folder.class_names.size());
  t->class_names = folder.class_names;
  t->skipped_images = folder.skipped;
  // Views into the folder's buffer (the cache file's bytes), which they keep alive.
  const auto keep = [buffer = folder.buffer](void*) {};
  const Shape s = folder.input;
  const std::int64_t image_bytes = s.channels * s.height * s.width;
  const std::int64_t file_rows = folder.train_count + folder.val_count;
  auto* labels = const_cast<std::int64_t*>(folder.labels);
  auto* pixels = const_cast<std::uint8_t*>(folder.pixels);
  t->images = torch::from_blob(pixels, {file_rows, s.channels, s.height, s.width}, keep, torch::kUInt8);
  t->labels = torch::from_blob(labels, {file_rows}, keep, torch::kInt64);
  t->test_images = torch::from_blob(pixels + file_rows * image_bytes,
                                    {folder.test_count, s.channels, s.height, s.width}, keep, torch::kUInt8);
  t->test_labels = torch::from_blob(labels + file_rows, {folder.test_count}, keep, torch::kInt64);
  t->test_index = torch::arange(folder.test_count, torch::kInt64);
  std::optional<std::vector<std::int64_t>> validation;
  if (folder.has_val) {
    validation.emplace(static_cast<std::size_t>(folder.val_count));
    std::iota(validation->begin(), validation->end(), folder.train_count);
  }
  return split_and_normalise(std::move(t), folder.train_count, std::move(validation));
}

}  // namespace

std::shared_ptr<const Data> load_data(const DataOptions& options) {
  if (options.kind == DatasetKind::image_folder) {
    throw std::invalid_argument(
        "load_data: an image folder is decoded to the network's input shape; pass it");
  }
  return load_data(options, Shape{});
}

std::shared_ptr<const Data> load_data(const DataOptions& options, const Shape& image_input) {
  const std::string& dir = options.path;
  if (!fs::is_directory(dir)) {
    throw SpecError("path", dir == kFashionMnistPath
                                ? "no such directory: " + dir +
                                      " (install Debian's dataset-fashion-mnist package or set data.path)"
                                : "no such directory: " + dir);
  }
  if (options.kind == DatasetKind::image_folder) return load_image_folder_data(options, image_input);
  Files files = options.kind == DatasetKind::cifar10 ? read_cifar10_dataset(dir) : read_idx_dataset(dir);
  if (files.test.shape != files.train.shape) {
    throw InputError(
        dir, 0, "",
        fmt::format("test images are {}x{}x{} but training images are {}x{}x{}", files.test.shape.channels,
                    files.test.shape.height, files.test.shape.width, files.train.shape.channels,
                    files.train.shape.height, files.train.shape.width));
  }
  auto t = std::make_unique<Data::Tensors>();
  t->options = options;
  t->input = files.train.shape;
  const auto max_label = [](const LabelledImages& s) {
    return *std::max_element(s.labels.begin(), s.labels.end());
  };
  t->classes = std::max(max_label(files.train), max_label(files.test)) + 1;
  t->labels = labels_tensor(files.train);
  t->test_labels = labels_tensor(files.test);
  const std::int64_t n = files.train.count;
  t->images = pixels_tensor(files.train);
  t->test_images = pixels_tensor(files.test);
  t->test_index = torch::arange(files.test.count, torch::kInt64);
  return split_and_normalise(std::move(t), n, std::nullopt);
}

void gather_images(const Data::Tensors& data, const torch::Tensor& images, const torch::Tensor& index,
                   torch::Tensor& out) {
  const std::int64_t n = index.size(0);
  const Shape s = data.input;
  if (!out.defined() || out.size(0) != n) out = torch::empty({n, s.channels, s.height, s.width});
  out.copy_(images.index_select(0, index));
  if (s.channels == 1) {
    out.mul_(1.0 / data.std[0]).add_(-data.mean[0] / data.std[0]);
  } else {
    out.mul_(data.scale).add_(data.shift);
  }
}

std::shared_ptr<const Data> load_data(const DataOptions& options, const Shape& image_input,
                                      const yaml::Value& node) {
  try {
    return load_data(options, image_input);
  } catch (const SpecError& e) {
    node.fail_at(e);
  }
}

}  // namespace joules
