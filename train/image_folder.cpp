#include "train/image_folder.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>

#include <fmt/format.h>
#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>
#include <iterator>

#include "train/image_decode.hpp"
#include "util/atomic_file.hpp"
#include "util/input_error.hpp"
#include "util/status_line.hpp"

namespace joules {
namespace {

namespace fs = std::filesystem;

constexpr char kMagic[8] = {'J', 'O', 'U', 'L', 'E', 'S', 'I', '1'};
constexpr const char* kSplits[3] = {"train", "val", "test"};

struct Entry {
  std::string path;
  std::int64_t label = 0;
};

struct Scan {
  std::vector<std::string> class_names;
  bool present[3] = {false, false, false};
  std::vector<Entry> files[3];
  std::string key_text;  // file list, sizes and mtimes: what the cache is valid for
};

bool is_image_name(const fs::path& path) {
  std::string ext = path.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
  return ext == ".png" || ext == ".jpg" || ext == ".jpeg";
}

bool hidden(const fs::path& path) { return path.filename().string().starts_with('.'); }

std::vector<fs::path> sorted_entries(const fs::path& dir) {
  std::vector<fs::path> out;
  for (const fs::directory_entry& e : fs::directory_iterator(dir)) {
    if (!hidden(e.path())) out.push_back(e.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

// Lists one split's class folders and images (recursively inside a class folder, as
// torchvision does), and appends their sizes and mtimes to the cache key.
void scan_split(const fs::path& dir, int split, Scan& scan) {
  std::map<std::string, std::int64_t> label_of;
  for (std::size_t i = 0; i < scan.class_names.size(); ++i)
    label_of[scan.class_names[i]] = static_cast<std::int64_t>(i);
  const std::vector<fs::path> classes = sorted_entries(dir);
  for (const fs::path& class_dir : classes) {
    if (!fs::is_directory(class_dir)) {
      throw InputError(class_dir.string(), 0, "",
                       fmt::format("is not a class folder (images go in {}/CLASS/)", kSplits[split]));
    }
  }
  if (split == 0) {
    if (classes.empty())
      throw InputError(dir.string(), 0, "", "has no class folders (train/CLASS/*.png|jpg)");
    for (const fs::path& class_dir : classes) {
      label_of[class_dir.filename().string()] = static_cast<std::int64_t>(scan.class_names.size());
      scan.class_names.push_back(class_dir.filename().string());
    }
  }
  for (const fs::path& class_dir : classes) {
    const std::string name = class_dir.filename().string();
    const auto label = label_of.find(name);
    if (label == label_of.end()) {
      throw InputError(
          class_dir.string(), 0, "",
          fmt::format("class folder {} is not among train/'s {} classes", name, scan.class_names.size()));
    }
    std::vector<std::string> images;
    for (auto it = fs::recursive_directory_iterator(class_dir); it != fs::recursive_directory_iterator();
         ++it) {
      if (hidden(it->path())) {
        if (it->is_directory()) it.disable_recursion_pending();
        continue;
      }
      if (it->is_directory()) continue;
      if (!is_image_name(it->path())) {
        throw InputError(it->path().string(), 0, "", "is not an image (expected .png, .jpg or .jpeg)");
      }
      images.push_back(it->path().string());
    }
    if (images.empty())
      throw InputError(class_dir.string(), 0, "", "is an empty class folder (no .png, .jpg or .jpeg)");
    std::sort(images.begin(), images.end());
    for (std::string& path : images) scan.files[split].push_back(Entry{std::move(path), label->second});
  }
}

// Appends every file's size and mtime to the cache key; the stats run in parallel, as they are
// most of the time of a load from the cache.
void add_file_stats(Scan& scan) {
  std::vector<const Entry*> entries;
  for (const auto& files : scan.files)
    for (const Entry& e : files) entries.push_back(&e);
  std::vector<struct stat> stats(entries.size());
  std::vector<char> failed(entries.size(), 0);
  tbb::parallel_for(tbb::blocked_range<std::size_t>(0, entries.size(), 256), [&](const auto& range) {
    for (std::size_t i = range.begin(); i != range.end(); ++i)
      failed[i] = ::stat(entries[i]->path.c_str(), &stats[i]) != 0;
  });
  for (std::size_t i = 0; i < entries.size(); ++i) {
    if (failed[i]) throw InputError(entries[i]->path, 0, "", "cannot read file");
    fmt::format_to(std::back_inserter(scan.key_text), "{}\t{}\t{}.{}\n", entries[i]->path, stats[i].st_size,
                   stats[i].st_mtim.tv_sec, stats[i].st_mtim.tv_nsec);
  }
}

Scan scan_folder(const fs::path& dir) {
  Scan scan;
  if (!fs::is_directory(dir / "train")) {
    throw InputError(
        dir.string(), 0, "",
        "has no train/ folder (an image folder holds train/CLASS/*.png|jpg, optional val/ and test/)");
  }
  for (int split = 0; split < 3; ++split) {
    if (!fs::is_directory(dir / kSplits[split])) continue;
    scan.present[split] = true;
    scan_split(dir / kSplits[split], split, scan);
    scan.key_text += fmt::format("{}: {} files\n", kSplits[split], scan.files[split].size());
  }
  add_file_stats(scan);
  return scan;
}

std::string gib(double bytes) { return fmt::format("{:.2f} GiB", bytes / (1024.0 * 1024.0 * 1024.0)); }

// MemAvailable from /proc/meminfo in bytes; 0 when unknown.
double available_memory_bytes() {
  std::ifstream meminfo("/proc/meminfo");
  std::string key;
  double kib = 0;
  std::string unit;
  while (meminfo >> key >> kib >> unit) {
    if (key == "MemAvailable:") return kib * 1024.0;
  }
  return 0;
}

// The cache file's layout: a header, the class names, then every label, then every pixel.
struct Header {
  char magic[8];
  std::uint64_t key;
  std::int64_t channels, height, width;
  std::int64_t counts[3];
  std::int64_t present[3];
  std::int64_t skipped;
  std::int64_t classes;
  std::int64_t names_bytes;  // class names, each as an 8-byte length and its bytes, padded to 8
};

std::size_t pad8(std::size_t n) { return (n + 7) / 8 * 8; }

std::string encode_names(const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& name : names) {
    const std::int64_t size = static_cast<std::int64_t>(name.size());
    out.append(reinterpret_cast<const char*>(&size), sizeof size);
    out += name;
  }
  out.resize(pad8(out.size()), '\0');
  return out;
}

// A buffer laid out as above, with labels and pixels to fill in.
struct Layout {
  std::string buffer;
  std::size_t labels_offset = 0;
  std::size_t pixels_offset = 0;
};

Layout make_layout(std::uint64_t key, const Shape& s, const std::int64_t counts[3], const bool present[3],
                   std::int64_t skipped, const std::vector<std::string>& names) {
  Header h{};
  std::memcpy(h.magic, kMagic, sizeof kMagic);
  h.key = key;
  h.channels = s.channels;
  h.height = s.height;
  h.width = s.width;
  for (int i = 0; i < 3; ++i) {
    h.counts[i] = counts[i];
    h.present[i] = present[i] ? 1 : 0;
  }
  h.skipped = skipped;
  h.classes = static_cast<std::int64_t>(names.size());
  const std::string name_bytes = encode_names(names);
  h.names_bytes = static_cast<std::int64_t>(name_bytes.size());
  const auto total = static_cast<std::size_t>(counts[0] + counts[1] + counts[2]);
  Layout l;
  l.labels_offset = sizeof h + name_bytes.size();
  l.pixels_offset = l.labels_offset + total * sizeof(std::int64_t);
  l.buffer.resize(l.pixels_offset + total * static_cast<std::size_t>(s.channels * s.height * s.width));
  std::memcpy(l.buffer.data(), &h, sizeof h);
  std::memcpy(l.buffer.data() + sizeof h, name_bytes.data(), name_bytes.size());
  return l;
}

ImageFolder view(std::shared_ptr<const std::string> buffer) {
  Header h{};
  std::memcpy(&h, buffer->data(), sizeof h);
  ImageFolder f;
  f.input = Shape{h.channels, h.height, h.width};
  f.train_count = h.counts[0];
  f.val_count = h.counts[1];
  f.test_count = h.counts[2];
  f.has_val = h.present[1] != 0;
  f.has_test = h.present[2] != 0;
  f.skipped = h.skipped;
  const char* p = buffer->data() + sizeof h;
  const char* names_end = p + h.names_bytes;
  for (std::int64_t i = 0; i < h.classes; ++i) {
    std::int64_t size = 0;
    std::memcpy(&size, p, sizeof size);
    p += sizeof size;
    f.class_names.emplace_back(p, static_cast<std::size_t>(size));
    p += size;
  }
  f.labels = reinterpret_cast<const std::int64_t*>(names_end);
  f.pixels = reinterpret_cast<const std::uint8_t*>(names_end) +
             (f.train_count + f.val_count + f.test_count) * static_cast<std::int64_t>(sizeof(std::int64_t));
  f.buffer = std::move(buffer);
  return f;
}

// The cache file's bytes when it exists, is whole and was made for `key` and `input`.
std::shared_ptr<const std::string> read_cache(const fs::path& path, std::uint64_t key, const Shape& input) {
  std::error_code ec;
  const std::size_t size = fs::file_size(path, ec);
  if (ec || size < sizeof(Header)) return nullptr;
  std::ifstream in(path, std::ios::binary);
  auto buffer = std::make_shared<std::string>(size, '\0');
  if (!in.read(buffer->data(), static_cast<std::streamsize>(size))) return nullptr;
  Header h{};
  std::memcpy(&h, buffer->data(), sizeof h);
  if (std::memcmp(h.magic, kMagic, sizeof kMagic) != 0 || h.key != key || h.channels != input.channels ||
      h.height != input.height || h.width != input.width) {
    return nullptr;
  }
  const auto total = static_cast<std::size_t>(h.counts[0] + h.counts[1] + h.counts[2]);
  const auto image_bytes = static_cast<std::size_t>(h.channels * h.height * h.width);
  if (size !=
      sizeof h + static_cast<std::size_t>(h.names_bytes) + total * (sizeof(std::int64_t) + image_bytes)) {
    return nullptr;  // truncated or foreign
  }
  return buffer;
}

std::string hex(std::uint64_t v) { return fmt::format("{:016x}", v); }

std::string home_cache_dir() {
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg != nullptr && *xdg != '\0') {
    return (fs::path(xdg) / "joules").string();
  }
  if (const char* home = std::getenv("HOME"); home != nullptr && *home != '\0') {
    return (fs::path(home) / ".cache" / "joules").string();
  }
  return {};
}

}  // namespace

std::vector<std::string> default_image_cache_dirs(const std::string& data_dir) {
  std::vector<std::string> dirs{(fs::path(data_dir) / ".joules-cache").string()};
  if (std::string home = home_cache_dir(); !home.empty()) dirs.push_back(std::move(home));
  return dirs;
}

ImageFolder load_image_folder(const DataOptions& options, const Shape& input) {
  if (input.channels != 1 && input.channels != 3) {
    throw InputError(
        options.path, 0, "",
        fmt::format("image folders decode to 1 (grey) or 3 (RGB) channels; the network's input asks "
                    "for {}",
                    input.channels));
  }
  if (input.height < 1 || input.width < 1) {
    throw InputError(
        options.path, 0, "",
        fmt::format("images need an input height and width >= 1, got {}x{}", input.height, input.width));
  }
  const auto start = std::chrono::steady_clock::now();
  const auto elapsed_s = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  };
  const fs::path dir = fs::absolute(options.path).lexically_normal();
  if (!fs::is_directory(dir)) throw InputError(options.path, 0, "", "no such directory");
  const Scan scan = scan_folder(dir);

  const std::int64_t counts[3] = {static_cast<std::int64_t>(scan.files[0].size()),
                                  static_cast<std::int64_t>(scan.files[1].size()),
                                  static_cast<std::int64_t>(scan.files[2].size())};
  const std::int64_t total = counts[0] + counts[1] + counts[2];
  const std::int64_t image_bytes = input.channels * input.height * input.width;
  const double bytes = static_cast<double>(total) * (static_cast<double>(image_bytes) + 8.0);
  if (const double available = available_memory_bytes(); available > 0 && bytes > 0.9 * available) {
    throw InputError(
        options.path, 0, "",
        fmt::format("{} images decoded to {}x{}x{} take {}, more than the {} of memory available "
                    "(use a smaller input or fewer images)",
                    total, input.channels, input.height, input.width, gib(bytes), gib(available)));
  }

  // The cache file is named for the folder and the decoding settings; it holds the key of the
  // file list it was made from, so a changed folder overwrites it rather than adding another.
  const std::string settings = fmt::format("{}x{}x{} resize={} skip_bad={}", input.channels, input.height,
                                           input.width, to_string(options.resize), options.skip_bad_images);
  const std::uint64_t key = std::hash<std::string_view>{}(settings + "\n" + scan.key_text);
  const std::string file_name =
      fmt::format("image-folder-{}.bin", hex(std::hash<std::string>{}(dir.string() + "\n" + settings)));
  const std::vector<std::string> cache_dirs = options.cache_dir.empty()
                                                  ? default_image_cache_dirs(dir.string())
                                                  : std::vector<std::string>{options.cache_dir};

  for (const std::string& cache_dir : cache_dirs) {
    const fs::path path = fs::path(cache_dir) / file_name;
    if (auto buffer = read_cache(path, key, input)) {
      ImageFolder f = view(std::move(buffer));
      f.cache_path = path.string();
      f.from_cache = true;
      fmt::print(stderr, "{}: {} images from the cache {} in {:.1f} s\n", options.path,
                 f.train_count + f.val_count + f.test_count, f.cache_path, elapsed_s());
      return f;
    }
  }

  // Decode every image into its place in the buffer, in parallel.
  Layout layout = make_layout(key, input, counts, scan.present, 0, scan.class_names);
  std::vector<const Entry*> entries;
  for (const auto& files : scan.files)
    for (const Entry& e : files) entries.push_back(&e);
  std::vector<std::string> errors(entries.size());
  std::vector<std::exception_ptr> failures(entries.size());
  std::atomic<std::int64_t> done{0};
  std::mutex status_mutex;
  StatusLine status(stderr, /*interval_s=*/5.0);
  auto* labels = reinterpret_cast<std::int64_t*>(layout.buffer.data() + layout.labels_offset);
  auto* pixels = reinterpret_cast<std::uint8_t*>(layout.buffer.data() + layout.pixels_offset);
  tbb::parallel_for(tbb::blocked_range<std::size_t>(0, entries.size(), 16), [&](const auto& range) {
    for (std::size_t i = range.begin(); i != range.end(); ++i) {
      labels[i] = entries[i]->label;
      try {
        const DecodedImage image = decode_image(read_input_file(entries[i]->path), input.channels);
        resize_image(image, input, options.resize, pixels + i * static_cast<std::size_t>(image_bytes));
      } catch (const ImageDecodeError& e) {
        errors[i] = e.what();
      } catch (const InputError& e) {
        errors[i] = e.message();
      } catch (...) {
        failures[i] = std::current_exception();
      }
      const std::int64_t n = ++done;
      if (n % 512 == 0 && status_mutex.try_lock()) {
        status.update(fmt::format("decoding images: {}/{}  {:.1f} s", n, total, elapsed_s()));
        status_mutex.unlock();
      }
    }
  });
  for (const std::exception_ptr& failure : failures)
    if (failure) std::rethrow_exception(failure);

  std::int64_t skipped = 0;
  std::size_t first_bad = entries.size();
  for (std::size_t i = 0; i < entries.size(); ++i) {
    if (errors[i].empty()) continue;
    if (!options.skip_bad_images) {
      status.finish();
      throw InputError(entries[i]->path, 0, "", errors[i] + " (data.skip_bad_images: true skips such files)");
    }
    if (first_bad == entries.size()) first_bad = i;
    ++skipped;
  }
  if (skipped > 0) {
    // Copy the good images into a buffer without the bad ones' slots.
    std::int64_t kept[3] = {0, 0, 0};
    for (std::size_t i = 0, offset = 0; i < 3; offset += static_cast<std::size_t>(counts[i]), ++i) {
      for (std::size_t j = offset; j < offset + static_cast<std::size_t>(counts[i]); ++j)
        kept[i] += errors[j].empty();
    }
    if (kept[0] == 0)
      throw InputError(options.path, 0, "", "every training image is bad (none could be decoded)");
    Layout compact = make_layout(key, input, kept, scan.present, skipped, scan.class_names);
    auto* out_labels = reinterpret_cast<std::int64_t*>(compact.buffer.data() + compact.labels_offset);
    auto* out_pixels = reinterpret_cast<std::uint8_t*>(compact.buffer.data() + compact.pixels_offset);
    std::size_t k = 0;
    for (std::size_t i = 0; i < entries.size(); ++i) {
      if (!errors[i].empty()) continue;
      out_labels[k] = labels[i];
      std::memcpy(out_pixels + k * image_bytes, pixels + i * image_bytes,
                  static_cast<std::size_t>(image_bytes));
      ++k;
    }
    layout = std::move(compact);
    status.print(fmt::format("warning: skipped {} bad image{} (the first: {}: {})", skipped,
                             skipped == 1 ? "" : "s", entries[first_bad]->path, errors[first_bad]));
  }

  auto buffer = std::make_shared<const std::string>(std::move(layout.buffer));
  ImageFolder f = view(buffer);
  // The cache is an optimisation: when no directory takes it, the run goes on without one.
  for (const std::string& cache_dir : cache_dirs) {
    try {
      fs::create_directories(cache_dir);
      const fs::path path = fs::path(cache_dir) / file_name;
      write_file_atomic(path, *buffer);
      f.cache_path = path.string();
      break;
    } catch (const std::exception&) {
      continue;
    }
  }
  status.update(
      fmt::format(
          "decoded {} images of {} in {:.1f} s{}", total - skipped, options.path, elapsed_s(),
          f.cache_path.empty() ? " (no cache: no writable cache directory)" : "; cached in " + f.cache_path),
      /*force=*/true);
  status.finish();
  return f;
}

}  // namespace joules
