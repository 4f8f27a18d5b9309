#pragma once
// Ctrl-C for long commands: while a guard lives, the first SIGINT sets a flag that the command
// polls to stop at a clean point (and then exits 130); a second SIGINT ends the process at once.

#include <atomic>

namespace joules::cli {

/// Installs the handler; restores the previous one when destroyed. One guard at a time.
class InterruptGuard {
 public:
  InterruptGuard();
  ~InterruptGuard();
  InterruptGuard(const InterruptGuard&) = delete;
  InterruptGuard& operator=(const InterruptGuard&) = delete;

  /// Set by the first SIGINT since the guard was made.
  const std::atomic<bool>& flag() const;
  bool interrupted() const { return flag().load(); }

 private:
  void (*previous_)(int) = nullptr;
};

}  // namespace joules::cli
