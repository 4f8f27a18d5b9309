#pragma once
// PNG and JPEG files written by the tests (libpng, TurboJPEG), so that image folders of known
// pixels can be decoded, resized and cached.

#include <cstdint>
#include <string>
#include <vector>

namespace joules::testing {

/// An image to write: interleaved rows (height x width x channels), channels 1 or 3.
struct TestImage {
  int width = 0;
  int height = 0;
  int channels = 1;
  std::vector<std::uint8_t> pixels;
};

/// An image whose every pixel is `value` (each channel `value + channel * 40`).
TestImage flat_image(int width, int height, int channels, std::uint8_t value);

/// The bytes of a PNG (lossless) or a JPEG (quality 100, no chroma subsampling) of `image`.
std::string png_bytes(const TestImage& image);
std::string jpeg_bytes(const TestImage& image);

}  // namespace joules::testing
