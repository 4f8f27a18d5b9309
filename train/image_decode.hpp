#pragma once
// Decoding PNG and JPEG files (libpng's simplified API, libjpeg-turbo's TurboJPEG API) and
// resizing them to a network's input: bilinear, antialiased when shrinking. Torch-free.

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "space/architecture.hpp"
#include "util/enum_names.hpp"

namespace joules {

/// How an image of another shape is fitted to the input's height and width.
enum class ImageResize {
  stretch,       // both sides scaled to the input's (the aspect ratio may change)
  shorter_side,  // scaled (aspect kept) until it covers the input, then centre-cropped
};

/// "stretch" or "shorter-side", as in YAML.
inline constexpr EnumNames<ImageResize, 2> kImageResizeNames{
    {{ImageResize::stretch, "stretch"}, {ImageResize::shorter_side, "shorter-side"}}};

std::string_view to_string(ImageResize resize);

/// A decoded image: interleaved rows (height x width x channels), channels 1 (grey) or 3 (RGB).
struct DecodedImage {
  std::int64_t width = 0;
  std::int64_t height = 0;
  std::int64_t channels = 0;
  std::vector<std::uint8_t> pixels;
};

/// What is wrong with an image file's bytes (not a PNG or JPEG, corrupt, truncated, ...).
class ImageDecodeError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Decodes PNG or JPEG bytes (told apart by their signature, not the file name) to `channels`
/// (1: grey, 3: RGB; colour images are converted to grey and grey ones replicated; alpha is
/// dropped). Thread-safe. Throws ImageDecodeError saying what is wrong, std::invalid_argument
/// for channels other than 1 or 3.
DecodedImage decode_image(std::string_view bytes, std::int64_t channels);

/// Resizes `image` to `out_shape` (whose channels must be the image's) and writes it planar
/// ([channels, height, width] bytes) to `out`. An image of the input's size is copied exactly.
/// Thread-safe.
void resize_image(const DecodedImage& image, const Shape& out_shape, ImageResize resize, std::uint8_t* out);

}  // namespace joules
