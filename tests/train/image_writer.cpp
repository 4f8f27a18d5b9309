#include "tests/train/image_writer.hpp"

#include <stdexcept>

#include <png.h>
#include <turbojpeg.h>

namespace joules::testing {

TestImage flat_image(int width, int height, int channels, std::uint8_t value) {
  TestImage image{width, height, channels, {}};
  image.pixels.resize(static_cast<std::size_t>(width) * height * channels);
  for (std::size_t i = 0; i < image.pixels.size(); ++i) {
    image.pixels[i] = static_cast<std::uint8_t>(value + 40 * static_cast<int>(i % channels));
  }
  return image;
}

std::string png_bytes(const TestImage& image) {
  png_image png{};
  png.version = PNG_IMAGE_VERSION;
  png.width = image.width;
  png.height = image.height;
  png.format = image.channels == 1 ? PNG_FORMAT_GRAY : PNG_FORMAT_RGB;
  png_alloc_size_t size = 0;
  if (!png_image_write_to_memory(&png, nullptr, &size, 0, image.pixels.data(), 0, nullptr)) {
    throw std::runtime_error(png.message);
  }
  std::string out(size, '\0');
  if (!png_image_write_to_memory(&png, out.data(), &size, 0, image.pixels.data(), 0, nullptr)) {
    throw std::runtime_error(png.message);
  }
  out.resize(size);
  return out;
}

std::string jpeg_bytes(const TestImage& image) {
  tjhandle handle = tjInitCompress();
  unsigned char* buffer = nullptr;
  unsigned long size = 0;
  const int rc = tjCompress2(handle, image.pixels.data(), image.width, 0, image.height,
                             image.channels == 1 ? TJPF_GRAY : TJPF_RGB, &buffer, &size,
                             image.channels == 1 ? TJSAMP_GRAY : TJSAMP_444, /*quality=*/100, 0);
  std::string out = rc == 0 ? std::string(reinterpret_cast<char*>(buffer), size) : std::string();
  tjFree(buffer);
  tjDestroy(handle);
  if (rc != 0) throw std::runtime_error("tjCompress2 failed");
  return out;
}

}  // namespace joules::testing
