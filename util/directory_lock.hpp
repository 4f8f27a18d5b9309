#pragma once
// One lock per directory that joules writes (a search run, a profiling run, an export): an
// exclusive flock on DIR/.lock, released when its holder ends however it ends (kill -9
// included), so a lock is never stale. The holder writes its pid and command into the file so
// that a second process can say who holds it.

#include <filesystem>
#include <optional>
#include <string>

namespace joules {

/// Holds the lock on one directory for its lifetime. Movable, not copyable.
class DirectoryLock {
 public:
  /// Locks `dir` (which must exist) for `holder` (what the holder does: "joules search").
  /// Throws std::runtime_error naming the directory and the process holding it when it is
  /// held, or when the lock file cannot be created.
  static DirectoryLock acquire(const std::filesystem::path& dir, const std::string& holder);
  /// Same, but std::nullopt when another process holds it; `held_by` then says which.
  static std::optional<DirectoryLock> try_acquire(const std::filesystem::path& dir, const std::string& holder,
                                                  std::string* held_by = nullptr);

  /// Locks the file `path` itself (created when missing), without writing into it; used for
  /// marker files whose lock says "in use". Empty optional when held elsewhere.
  static std::optional<DirectoryLock> try_lock_file(const std::filesystem::path& path);

  DirectoryLock(DirectoryLock&& other) noexcept;
  DirectoryLock& operator=(DirectoryLock&& other) noexcept;
  DirectoryLock(const DirectoryLock&) = delete;
  DirectoryLock& operator=(const DirectoryLock&) = delete;
  ~DirectoryLock();

 private:
  explicit DirectoryLock(int fd) : fd_(fd) {}
  int fd_ = -1;
};

}  // namespace joules
