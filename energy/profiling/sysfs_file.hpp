#pragma once
// Reading numbers from sysfs attributes at kilohertz rates. The file stays open and each read
// is one pread() at offset 0, which makes the kernel produce the attribute's value afresh (the
// same as reopening it, at a third of the system calls). Failures are returned, not thrown, so
// that a sampler can count them and go on.

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace joules::profiling {

/// A number read from a file, or why there is none.
struct NumberRead {
  std::optional<std::int64_t> value;
  std::string error;  // "cannot open PATH: Permission denied", "PATH: not a number: 'abc'"
  int error_number = 0;  // errno of a failed open or read; 0 otherwise
};

/// One attribute file, opened lazily and kept open; a read takes at most 63 bytes. A FIFO,
/// device or socket in its place is refused (read error) rather than read, so that a read never
/// blocks. Not thread-safe; movable, not copyable.
class SysfsFile {
 public:
  SysfsFile() = default;
  explicit SysfsFile(std::filesystem::path path);
  ~SysfsFile();
  SysfsFile(SysfsFile&& other) noexcept;
  SysfsFile& operator=(SysfsFile&& other) noexcept;
  SysfsFile(const SysfsFile&) = delete;
  SysfsFile& operator=(const SysfsFile&) = delete;

  const std::filesystem::path& path() const { return path_; }

  /// Reads the file's first token as a decimal integer (what sysfs attributes hold; a unit
  /// suffix after a space, as some L4T attributes have, is ignored). A file that could not be
  /// opened is retried on every call, so a permission fixed later takes effect.
  NumberRead read_number();

 private:
  std::filesystem::path path_;
  int fd_ = -1;
};

/// Most bytes read_text_file() reads of a file (sysfs attributes hold at most a page).
inline constexpr std::size_t kMaxTextFileBytes = 1 << 16;

/// The content of a small text file (its first kMaxTextFileBytes) with surrounding whitespace
/// and NULs trimmed (device-tree strings end with a NUL); std::nullopt when it cannot be read.
/// `error`, when given, receives the reason. Like SysfsFile, it opens without blocking and
/// refuses anything but a regular file (a FIFO or a device could block a read forever).
std::optional<std::string> read_text_file(const std::filesystem::path& path, std::string* error = nullptr);

/// "cannot open PATH: REASON" with a hint for permission errors.
std::string open_error_message(const std::filesystem::path& path, int error_number);

/// Parses a sysfs number ("12345\n", "-7", "32760 ma"). std::nullopt when not a number.
std::optional<std::int64_t> parse_sysfs_integer(std::string_view text);

}  // namespace joules::profiling
