#include "train/image_files.hpp"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>

#include <fmt/format.h>
#include <zlib.h>

#include "util/input_error.hpp"

namespace joules {
namespace {

[[noreturn]] void fail(const std::string& path, const std::string& message) {
  throw InputError(path, /*line=*/0, /*key=*/"", message);
}

// A gzipped or raw file read through zlib, which passes raw files through unchanged.
class GzFile {
 public:
  explicit GzFile(const std::string& path) : path_(path) {
    file_ = gzopen(path.c_str(), "rb");
    if (file_ == nullptr) fail(path, fmt::format("cannot open: {}", std::strerror(errno)));
    gzbuffer(file_, 1 << 17);
  }
  ~GzFile() { gzclose(file_); }
  GzFile(const GzFile&) = delete;
  GzFile& operator=(const GzFile&) = delete;

  // Reads up to `size` bytes; returns how many were read (fewer only at the end of the file).
  std::size_t read(std::uint8_t* out, std::size_t size) {
    std::size_t done = 0;
    while (done < size) {
      const auto chunk = static_cast<unsigned>(std::min<std::size_t>(size - done, 1U << 30));
      const int n = gzread(file_, out + done, chunk);
      if (n < 0) {
        int code = 0;
        const char* message = gzerror(file_, &code);
        fail(path_, fmt::format("cannot read: {}", code == Z_ERRNO ? std::strerror(errno) : message));
      }
      if (n == 0) break;
      done += static_cast<std::size_t>(n);
    }
    return done;
  }

 private:
  std::string path_;
  gzFile file_ = nullptr;
};

std::string shape_text(const std::vector<std::int64_t>& dims) {
  std::string text;
  for (std::size_t i = 0; i < dims.size(); ++i) text += (i ? " x " : "") + std::to_string(dims[i]);
  return text;
}

}  // namespace

IdxArray read_idx(const std::string& path) {
  if (std::filesystem::is_directory(path)) fail(path, "is a directory, expected an IDX file");
  GzFile file(path);
  std::uint8_t magic[4] = {};
  if (file.read(magic, 4) != 4) fail(path, "truncated: no IDX header (4 bytes)");
  if (magic[0] != 0 || magic[1] != 0) {
    fail(path, fmt::format("not an IDX file: the header starts with {:02x} {:02x}, expected 00 00", magic[0],
                           magic[1]));
  }
  if (magic[2] != 0x08) {
    fail(path,
         fmt::format("IDX element type 0x{:02x} is not supported (only 0x08, unsigned bytes)", magic[2]));
  }
  const int ndims = magic[3];
  if (ndims < 1 || ndims > 4)
    fail(path, fmt::format("IDX arrays of {} dimensions are not supported (1 to 4)", ndims));

  IdxArray array;
  std::int64_t elements = 1;
  for (int d = 0; d < ndims; ++d) {
    std::uint8_t b[4] = {};
    if (file.read(b, 4) != 4) fail(path, "truncated: the IDX header ends before its dimensions");
    const std::int64_t size = (std::int64_t{b[0]} << 24) | (b[1] << 16) | (b[2] << 8) | b[3];
    array.dims.push_back(size);
    if (size > 0 && elements > (std::int64_t{1} << 40) / size) {
      fail(path, fmt::format("IDX dimensions {} are absurdly large", shape_text(array.dims)));
    }
    elements *= size;
  }
  array.data.resize(static_cast<std::size_t>(elements));
  const std::size_t got = file.read(array.data.data(), array.data.size());
  if (got != array.data.size()) {
    fail(path, fmt::format("truncated: a {} array needs {} bytes of data, the file has {}",
                           shape_text(array.dims), elements, got));
  }
  std::uint8_t extra = 0;
  if (file.read(&extra, 1) != 0) {
    fail(path, fmt::format("is longer than its header says: a {} array needs {} bytes of data",
                           shape_text(array.dims), elements));
  }
  return array;
}

LabelledImages read_idx_images(const std::string& images_path, const std::string& labels_path) {
  IdxArray images = read_idx(images_path);
  IdxArray labels = read_idx(labels_path);
  const auto& d = images.dims;
  if (d.size() != 3 && d.size() != 4) {
    fail(images_path, fmt::format("expected images [count, height, width] or [count, channels, "
                                  "height, width], got a {} array",
                                  shape_text(d)));
  }
  if (labels.dims.size() != 1) {
    fail(labels_path, fmt::format("expected labels [count], got a {} array", shape_text(labels.dims)));
  }
  LabelledImages out;
  out.count = d[0];
  out.shape = d.size() == 3 ? Shape{1, d[1], d[2]} : Shape{d[1], d[2], d[3]};
  if (out.count == 0) fail(images_path, "holds no images");
  if (out.shape.channels == 0 || out.shape.height == 0 || out.shape.width == 0) {
    fail(images_path, fmt::format("images of size {} are empty", shape_text(d)));
  }
  if (labels.dims[0] != out.count) {
    fail(labels_path,
         fmt::format("has {} labels but {} has {} images", labels.dims[0], images_path, out.count));
  }
  out.pixels = std::move(images.data);
  out.labels = std::move(labels.data);
  return out;
}

LabelledImages read_cifar10(const std::vector<std::string>& paths) {
  constexpr std::int64_t kPixels = 3 * 32 * 32;
  constexpr std::int64_t kRecord = 1 + kPixels;
  LabelledImages out;
  out.shape = Shape{3, 32, 32};
  std::vector<std::int64_t> records;
  for (const std::string& path : paths) {
    std::error_code error;
    const auto size = std::filesystem::file_size(path, error);
    if (error) fail(path, fmt::format("cannot read: {}", error.message()));
    if (size == 0 || size % kRecord != 0) {
      fail(path,
           fmt::format("is {} bytes, not a whole number of CIFAR-10 records ({} bytes each)", size, kRecord));
    }
    records.push_back(static_cast<std::int64_t>(size) / kRecord);
    out.count += records.back();
  }
  out.pixels.resize(static_cast<std::size_t>(out.count * kPixels));
  out.labels.resize(static_cast<std::size_t>(out.count));
  std::int64_t at = 0;
  std::vector<char> record(kRecord);
  for (std::size_t f = 0; f < paths.size(); ++f) {
    std::ifstream in(paths[f], std::ios::binary);
    if (!in) fail(paths[f], fmt::format("cannot open: {}", std::strerror(errno)));
    for (std::int64_t r = 0; r < records[f]; ++r, ++at) {
      if (!in.read(record.data(), kRecord)) fail(paths[f], "cannot read: the file changed while it was read");
      out.labels[at] = static_cast<std::uint8_t>(record[0]);
      std::memcpy(out.pixels.data() + at * kPixels, record.data() + 1, kPixels);
    }
  }
  return out;
}

}  // namespace joules
