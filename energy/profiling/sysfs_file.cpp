#include "energy/profiling/sysfs_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <utility>

#include <fmt/format.h>

namespace joules::profiling {
namespace {

std::string quoted_excerpt(std::string_view text) {
  std::string out;
  for (char c : text.substr(0, 32)) {
    if (c == '\n') break;
    out.push_back(static_cast<unsigned char>(c) < 0x20 ? '?' : c);
  }
  return out;
}

// Opens `path` for reading without ever blocking: O_NONBLOCK so that opening a FIFO does not
// wait for a writer, and anything but a regular file (sysfs attributes are regular files) is
// refused, since reading a FIFO or a device can block forever. Returns the fd, or -1 with
// `error` and `error_number` set.
int open_regular(const std::filesystem::path& path, std::string& error, int& error_number) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  if (fd < 0) {
    error_number = errno;
    error = open_error_message(path, error_number);
    return -1;
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    const char* what = S_ISFIFO(st.st_mode)  ? "a FIFO"
                       : S_ISCHR(st.st_mode) ? "a character device"
                       : S_ISBLK(st.st_mode) ? "a block device"
                       : S_ISSOCK(st.st_mode) ? "a socket"
                                              : "not a regular file";
    ::close(fd);
    error_number = EINVAL;
    error = fmt::format("refusing {}: it is {}, not a sysfs attribute file (reading it could block)",
                        path.string(), what);
    return -1;
  }
  return fd;
}

}  // namespace

std::optional<std::int64_t> parse_sysfs_integer(std::string_view text) {
  std::size_t begin = 0;
  while (begin < text.size() && (text[begin] == ' ' || text[begin] == '\t')) ++begin;
  std::size_t end = begin;
  if (end < text.size() && (text[end] == '-' || text[end] == '+')) ++end;
  while (end < text.size() && text[end] >= '0' && text[end] <= '9') ++end;
  if (end == begin) return std::nullopt;
  // Whatever follows the number must be a separator: "32760 ma" is fine, "12abc" is not.
  if (end < text.size() && text[end] != '\n' && text[end] != ' ' && text[end] != '\t' && text[end] != '\0') {
    return std::nullopt;
  }
  std::string_view digits = text.substr(begin, end - begin);
  if (!digits.empty() && digits.front() == '+') digits.remove_prefix(1);
  std::int64_t value = 0;
  const auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (ec != std::errc() || ptr != digits.data() + digits.size()) return std::nullopt;
  return value;
}

std::string open_error_message(const std::filesystem::path& path, int error_number) {
  std::string message = fmt::format("cannot open {}: {}", path.string(), std::strerror(error_number));
  if (error_number == EACCES || error_number == EPERM) {
    message += " (joules needs read access to it: run as root or grant read permission)";
  }
  return message;
}

SysfsFile::SysfsFile(std::filesystem::path path) : path_(std::move(path)) {}

SysfsFile::~SysfsFile() {
  if (fd_ >= 0) ::close(fd_);
}

SysfsFile::SysfsFile(SysfsFile&& other) noexcept
    : path_(std::move(other.path_)), fd_(std::exchange(other.fd_, -1)) {}

SysfsFile& SysfsFile::operator=(SysfsFile&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    path_ = std::move(other.path_);
    fd_ = std::exchange(other.fd_, -1);
  }
  return *this;
}

NumberRead SysfsFile::read_number() {
  if (fd_ < 0) {
    std::string error;
    int error_number = 0;
    fd_ = open_regular(path_, error, error_number);
    if (fd_ < 0) return {std::nullopt, std::move(error), error_number};
  }
  char buffer[64];
  const ssize_t n = ::pread(fd_, buffer, sizeof buffer - 1, 0);
  if (n < 0) {
    const int error_number = errno;
    return {std::nullopt, fmt::format("cannot read {}: {}", path_.string(), std::strerror(error_number)), error_number};
  }
  const std::string_view text(buffer, static_cast<std::size_t>(n));
  if (text.empty()) return {std::nullopt, fmt::format("{}: empty file, expected a number", path_.string())};
  if (auto value = parse_sysfs_integer(text)) return {value, {}};
  return {std::nullopt, fmt::format("{}: not a number: '{}'", path_.string(), quoted_excerpt(text))};
}

std::optional<std::string> read_text_file(const std::filesystem::path& path, std::string* error) {
  std::string why;
  int error_number = 0;
  const int fd = open_regular(path, why, error_number);
  if (fd < 0) {
    if (error) *error = std::move(why);
    return std::nullopt;
  }
  std::string text;
  char buffer[4096];
  while (text.size() < kMaxTextFileBytes) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0) {
      if (error) *error = fmt::format("cannot read {}: {}", path.string(), std::strerror(errno));
      ::close(fd);
      return std::nullopt;
    }
    if (n == 0) break;
    text.append(buffer, static_cast<std::size_t>(n));
  }
  ::close(fd);
  const auto is_space = [](char c) { return c == ' ' || c == '\n' || c == '\t' || c == '\r' || c == '\0'; };
  while (!text.empty() && is_space(text.back())) text.pop_back();
  std::size_t begin = 0;
  while (begin < text.size() && is_space(text[begin])) ++begin;
  return text.substr(begin);
}

}  // namespace joules::profiling
