#include "tests/train/dataset_files.hpp"

#include <filesystem>
#include <fstream>
#include <stdexcept>

#include <zlib.h>

#include "util/random.hpp"

namespace joules::testing {

std::string idx_bytes(const std::vector<std::int64_t>& dims, const std::vector<std::uint8_t>& data) {
  std::string out{'\0', '\0', '\x08', static_cast<char>(dims.size())};
  for (std::int64_t d : dims) {
    for (int shift : {24, 16, 8, 0}) out += static_cast<char>((d >> shift) & 0xff);
  }
  out.append(data.begin(), data.end());
  return out;
}

void write_file(const std::string& path, const std::string& bytes) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  if (path.ends_with(".gz")) {
    gzFile file = gzopen(path.c_str(), "wb");
    if (file == nullptr ||
        gzwrite(file, bytes.data(), static_cast<unsigned>(bytes.size())) != static_cast<int>(bytes.size())) {
      throw std::runtime_error("cannot write " + path);
    }
    gzclose(file);
    return;
  }
  std::ofstream(path, std::ios::binary) << bytes;
}

Synthetic synthetic_images(std::int64_t count, std::int64_t classes, std::int64_t channels,
                           std::int64_t height, std::int64_t width, std::uint64_t seed) {
  Synthetic s{count, channels, height, width, {}, {}};
  Rng rng(seed);
  s.pixels.resize(static_cast<std::size_t>(count * channels * height * width));
  s.labels.resize(static_cast<std::size_t>(count));
  std::size_t at = 0;
  for (std::int64_t i = 0; i < count; ++i) {
    const auto label = static_cast<std::int64_t>(rng.index(static_cast<std::size_t>(classes)));
    s.labels[i] = static_cast<std::uint8_t>(label);
    for (std::int64_t c = 0; c < channels; ++c) {
      for (std::int64_t y = 0; y < height; ++y) {
        for (std::int64_t x = 0; x < width; ++x) {
          const bool bright = x * classes / width == label;
          s.pixels[at++] = static_cast<std::uint8_t>((bright ? 170 : 20) + rng.index(60));
        }
      }
    }
  }
  return s;
}

void write_idx_dataset(const std::string& dir, std::int64_t train_count, std::int64_t test_count,
                       std::int64_t classes, bool gzipped, std::int64_t height, std::int64_t width) {
  const std::string gz = gzipped ? ".gz" : "";
  const Synthetic train = synthetic_images(train_count, classes, 1, height, width, /*seed=*/1);
  const Synthetic test = synthetic_images(test_count, classes, 1, height, width, /*seed=*/2);
  write_file(dir + "/train-images-idx3-ubyte" + gz, idx_bytes({train_count, height, width}, train.pixels));
  write_file(dir + "/train-labels-idx1-ubyte" + gz, idx_bytes({train_count}, train.labels));
  write_file(dir + "/t10k-images-idx3-ubyte" + gz, idx_bytes({test_count, height, width}, test.pixels));
  write_file(dir + "/t10k-labels-idx1-ubyte" + gz, idx_bytes({test_count}, test.labels));
}

std::string cifar10_bytes(const Synthetic& set) {
  const std::size_t pixels = static_cast<std::size_t>(set.channels * set.height * set.width);
  std::string out;
  for (std::int64_t i = 0; i < set.count; ++i) {
    out += static_cast<char>(set.labels[i]);
    out.append(reinterpret_cast<const char*>(set.pixels.data()) + i * pixels, pixels);
  }
  return out;
}

std::shared_ptr<const Data> load_synthetic_idx(const std::string& dir, std::int64_t train_count,
                                               std::int64_t test_count, std::int64_t classes, bool gzipped,
                                               std::int64_t validation_size) {
  write_idx_dataset(dir, train_count, test_count, classes, gzipped);
  DataOptions o;
  o.kind = DatasetKind::mnist_idx;
  o.path = dir;
  o.validation_size = validation_size;
  return load_data(o);
}

}  // namespace joules::testing
