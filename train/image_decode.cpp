#include "train/image_decode.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>

#include <fmt/format.h>
#include <png.h>
#include <turbojpeg.h>

namespace joules {
namespace {

bool starts_with(std::string_view bytes, std::string_view signature) {
  return bytes.size() >= signature.size() && bytes.substr(0, signature.size()) == signature;
}

DecodedImage decode_png(std::string_view bytes, std::int64_t channels) {
  png_image image{};
  image.version = PNG_IMAGE_VERSION;
  if (!png_image_begin_read_from_memory(&image, bytes.data(), bytes.size())) {
    throw ImageDecodeError(fmt::format("corrupt PNG: {}", image.message));
  }
  // The simplified API frees its state on every error; this frees it on the other exits.
  const std::unique_ptr<png_image, void (*)(png_image*)> guard(&image, png_image_free);
  image.format = channels == 1 ? PNG_FORMAT_GRAY : PNG_FORMAT_RGB;
  DecodedImage out{.width = image.width, .height = image.height, .channels = channels, .pixels = {}};
  out.pixels.resize(PNG_IMAGE_SIZE(image));
  // Transparent pixels are composited on black (background = nullptr).
  if (!png_image_finish_read(&image, /*background=*/nullptr, out.pixels.data(), /*row_stride=*/0,
                             /*colormap=*/nullptr)) {
    throw ImageDecodeError(fmt::format("corrupt PNG: {}", image.message));
  }
  return out;
}

// One TurboJPEG decompressor per thread: creating one costs more than decoding a small image.
// After a failed decode it is made afresh: a handle left mid-decode fails the next image.
struct JpegHandle {
  tjhandle handle = tjInitDecompress();
  ~JpegHandle() {
    if (handle != nullptr) tjDestroy(handle);
  }
  [[noreturn]] void fail() {
    std::string message = fmt::format("corrupt JPEG: {}", tjGetErrorStr2(handle));
    tjDestroy(handle);
    handle = tjInitDecompress();
    throw ImageDecodeError(std::move(message));
  }
};

DecodedImage decode_jpeg(std::string_view bytes, std::int64_t channels) {
  thread_local JpegHandle jpeg;
  if (jpeg.handle == nullptr) throw ImageDecodeError("cannot start the JPEG decoder");
  const auto* data = reinterpret_cast<const unsigned char*>(bytes.data());
  const auto size = static_cast<unsigned long>(bytes.size());
  int width = 0;
  int height = 0;
  int subsampling = 0;
  int colorspace = 0;
  if (tjDecompressHeader3(jpeg.handle, data, size, &width, &height, &subsampling, &colorspace) != 0)
    jpeg.fail();
  DecodedImage out{.width = width, .height = height, .channels = channels, .pixels = {}};
  out.pixels.resize(static_cast<std::size_t>(width) * height * channels);
  // Warnings (a truncated file, corrupt data) count as errors: the pixels would be partly made up.
  if (tjDecompress2(jpeg.handle, data, size, out.pixels.data(), width, /*pitch=*/0, height,
                    channels == 1 ? TJPF_GRAY : TJPF_RGB, /*flags=*/0) != 0) {
    jpeg.fail();
  }
  return out;
}

// The source pixels and weights that make one output pixel along one axis.
struct Taps {
  std::vector<std::int64_t> first;  // per output pixel: its first source pixel
  std::vector<std::int64_t> count;  // and how many
  std::vector<float> weights;       // count[i] weights per output pixel, from offset[i]
  std::vector<std::size_t> offset;
};

// Triangle (bilinear) filter over the source span [start, start + span) mapped onto `out`
// pixels, widened by the scale when shrinking so that every source pixel contributes
// (antialiasing, as PIL's and torchvision's antialiased bilinear resize).
Taps taps(std::int64_t in, double start, double span, std::int64_t out) {
  Taps t;
  const double scale = span / static_cast<double>(out);
  const double support = std::max(scale, 1.0);
  for (std::int64_t i = 0; i < out; ++i) {
    const double center = start + (static_cast<double>(i) + 0.5) * scale;
    const auto lo = std::max<std::int64_t>(0, static_cast<std::int64_t>(std::floor(center - support)));
    const auto hi = std::min<std::int64_t>(in, static_cast<std::int64_t>(std::ceil(center + support)));
    t.first.push_back(lo);
    t.offset.push_back(t.weights.size());
    double sum = 0.0;
    std::vector<double> w;
    for (std::int64_t j = lo; j < hi; ++j) {
      const double x = std::abs((static_cast<double>(j) + 0.5 - center) / support);
      w.push_back(std::max(0.0, 1.0 - x));
      sum += w.back();
    }
    if (sum <= 0.0) {  // cannot happen for spans inside the image; keep the nearest pixel
      w.assign(1, 1.0);
      t.first.back() = std::clamp<std::int64_t>(static_cast<std::int64_t>(center), 0, in - 1);
      sum = 1.0;
    }
    t.count.push_back(static_cast<std::int64_t>(w.size()));
    for (double v : w) t.weights.push_back(static_cast<float>(v / sum));
  }
  return t;
}

}  // namespace

std::string_view to_string(ImageResize resize) { return name_of(kImageResizeNames, resize); }

DecodedImage decode_image(std::string_view bytes, std::int64_t channels) {
  if (channels != 1 && channels != 3) {
    throw std::invalid_argument(fmt::format("images decode to 1 or 3 channels, not {}", channels));
  }
  if (starts_with(bytes, "\x89PNG\r\n\x1a\n")) return decode_png(bytes, channels);
  if (starts_with(bytes, "\xff\xd8\xff")) return decode_jpeg(bytes, channels);
  throw ImageDecodeError(bytes.empty() ? "empty file, not an image"
                                       : "not a PNG or JPEG file (its first bytes are neither signature)");
}

void resize_image(const DecodedImage& image, const Shape& out_shape, ImageResize resize, std::uint8_t* out) {
  if (image.channels != out_shape.channels) {
    throw std::invalid_argument(fmt::format("resize_image: the image has {} channels, the output {}",
                                            image.channels, out_shape.channels));
  }
  const std::int64_t c_count = image.channels;
  const std::int64_t w = image.width;
  const std::int64_t h = image.height;
  const std::int64_t out_w = out_shape.width;
  const std::int64_t out_h = out_shape.height;
  const std::uint8_t* in = image.pixels.data();
  if (w == out_w && h == out_h) {  // the common case of a ready-made data set: no resampling
    for (std::int64_t c = 0; c < c_count; ++c)
      for (std::int64_t i = 0; i < h * w; ++i) out[c * h * w + i] = in[i * c_count + c];
    return;
  }
  // The source region that maps onto the output: the whole image, or for shorter-side the
  // centred box of the output's aspect ratio.
  double x0 = 0.0;
  double y0 = 0.0;
  double span_w = static_cast<double>(w);
  double span_h = static_cast<double>(h);
  if (resize == ImageResize::shorter_side) {
    const double s = std::max(static_cast<double>(out_w) / static_cast<double>(w),
                              static_cast<double>(out_h) / static_cast<double>(h));
    span_w = static_cast<double>(out_w) / s;
    span_h = static_cast<double>(out_h) / s;
    x0 = (static_cast<double>(w) - span_w) / 2.0;
    y0 = (static_cast<double>(h) - span_h) / 2.0;
  }
  const Taps tx = taps(w, x0, span_w, out_w);
  const Taps ty = taps(h, y0, span_h, out_h);
  // Horizontal pass into floats (all source rows, interleaved), then vertical into bytes.
  std::vector<float> rows(static_cast<std::size_t>(h * out_w * c_count));
  for (std::int64_t y = 0; y < h; ++y) {
    const std::uint8_t* src = in + y * w * c_count;
    float* dst = rows.data() + y * out_w * c_count;
    for (std::int64_t x = 0; x < out_w; ++x) {
      const float* wt = tx.weights.data() + tx.offset[x];
      for (std::int64_t c = 0; c < c_count; ++c) {
        float sum = 0.0f;
        for (std::int64_t k = 0; k < tx.count[x]; ++k) sum += wt[k] * src[(tx.first[x] + k) * c_count + c];
        dst[x * c_count + c] = sum;
      }
    }
  }
  for (std::int64_t y = 0; y < out_h; ++y) {
    const float* wt = ty.weights.data() + ty.offset[y];
    for (std::int64_t x = 0; x < out_w; ++x) {
      for (std::int64_t c = 0; c < c_count; ++c) {
        float sum = 0.0f;
        for (std::int64_t k = 0; k < ty.count[y]; ++k)
          sum += wt[k] * rows[((ty.first[y] + k) * out_w + x) * c_count + c];
        out[(c * out_h + y) * out_w + x] = static_cast<std::uint8_t>(std::clamp(std::lround(sum), 0L, 255L));
      }
    }
  }
}

}  // namespace joules
