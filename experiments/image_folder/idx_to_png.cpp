// Converts Fashion-MNIST's IDX files into an image folder of PNGs (train/ and test/, one
// folder per class), to measure `joules train --dataset image-folder` against the IDX data.
//   g++ -O2 -std=c++20 idx_to_png.cpp -lpng -lz -o /tmp/idx_to_png
//   /tmp/idx_to_png /usr/share/datasets/fashion-mnist /tmp/fmnist-png

#include <png.h>
#include <zlib.h>

#include <cstdio>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

const char* kClasses[10] = {"0-tshirt", "1-trouser", "2-pullover", "3-dress", "4-coat",
                            "5-sandal", "6-shirt",   "7-sneaker",  "8-bag",   "9-boot"};

std::vector<unsigned char> read_gz(const std::string& path) {
  gzFile f = gzopen(path.c_str(), "rb");
  if (f == nullptr) throw std::runtime_error("cannot open " + path);
  std::vector<unsigned char> out;
  unsigned char buffer[1 << 16];
  for (int n; (n = gzread(f, buffer, sizeof buffer)) > 0;) out.insert(out.end(), buffer, buffer + n);
  gzclose(f);
  return out;
}

void convert(const std::string& images_path, const std::string& labels_path, const std::filesystem::path& out) {
  const auto images = read_gz(images_path);
  const auto labels = read_gz(labels_path);
  const std::size_t count = labels.size() - 8;
  for (const char* c : kClasses) std::filesystem::create_directories(out / c);
  for (std::size_t i = 0; i < count; ++i) {
    png_image png{};
    png.version = PNG_IMAGE_VERSION;
    png.width = 28;
    png.height = 28;
    png.format = PNG_FORMAT_GRAY;
    const std::string path = (out / kClasses[labels[8 + i]] / (std::to_string(i) + ".png")).string();
    if (!png_image_write_to_file(&png, path.c_str(), 0, images.data() + 16 + i * 784, 0, nullptr)) {
      throw std::runtime_error(path + ": " + png.message);
    }
  }
  std::printf("%zu images into %s\n", count, out.c_str());
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: idx_to_png FASHION_MNIST_DIR OUT_DIR\n");
    return 2;
  }
  const std::string in = argv[1];
  const std::filesystem::path out = argv[2];
  convert(in + "/train-images-idx3-ubyte.gz", in + "/train-labels-idx1-ubyte.gz", out / "train");
  convert(in + "/t10k-images-idx3-ubyte.gz", in + "/t10k-labels-idx1-ubyte.gz", out / "test");
  return 0;
}
