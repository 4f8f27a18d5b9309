#include "util/directory_lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <utility>

#include <fmt/format.h>

namespace joules {
namespace {

int open_lock_file(const std::filesystem::path& path) {
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) throw std::runtime_error(fmt::format("cannot create {}: {}", path.string(), std::strerror(errno)));
  return fd;
}

std::string read_holder(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line.empty() ? "another joules process" : line;
}

}  // namespace

std::optional<DirectoryLock> DirectoryLock::try_lock_file(const std::filesystem::path& path) {
  const int fd = open_lock_file(path);
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    ::close(fd);
    return std::nullopt;
  }
  return DirectoryLock(fd);
}

std::optional<DirectoryLock> DirectoryLock::try_acquire(const std::filesystem::path& dir, const std::string& holder,
                                                        std::string* held_by) {
  const std::filesystem::path path = dir / ".lock";
  std::optional<DirectoryLock> lock = try_lock_file(path);
  if (!lock) {
    if (held_by) *held_by = read_holder(path);
    return std::nullopt;
  }
  // Who holds it, for the message of the next one that tries; the lock itself is the flock.
  const std::string text = fmt::format("pid {} ({})\n", ::getpid(), holder);
  if (::ftruncate(lock->fd_, 0) != 0 || ::pwrite(lock->fd_, text.data(), text.size(), 0) < 0) {
    // Only the message is lost; the lock holds.
  }
  return lock;
}

DirectoryLock DirectoryLock::acquire(const std::filesystem::path& dir, const std::string& holder) {
  std::string held_by;
  std::optional<DirectoryLock> lock = try_acquire(dir, holder, &held_by);
  if (!lock) {
    throw std::runtime_error(
        fmt::format("{} is in use by {}; wait for it to end or use another directory", dir.string(), held_by));
  }
  return std::move(*lock);
}

DirectoryLock::DirectoryLock(DirectoryLock&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}

DirectoryLock& DirectoryLock::operator=(DirectoryLock&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(other.fd_, -1);
  }
  return *this;
}

DirectoryLock::~DirectoryLock() {
  if (fd_ >= 0) ::close(fd_);
}

}  // namespace joules
