#pragma once
// Ctrl-C and SIGTERM for long commands: while a guard lives, the first SIGINT or SIGTERM sets a
// flag that the command polls to stop at a clean point (and then exits 130); a second one ends
// the process at once.

#include <atomic>

namespace joules::cli {

/// Installs the handler; restores the previous one when destroyed. One guard at a time.
class InterruptGuard {
 public:
  InterruptGuard();
  ~InterruptGuard();
  InterruptGuard(const InterruptGuard&) = delete;
  InterruptGuard& operator=(const InterruptGuard&) = delete;

  /// Set by the first SIGINT or SIGTERM since the guard was made.
  const std::atomic<bool>& flag() const;
  bool interrupted() const { return flag().load(); }

 private:
  void (*previous_int_)(int) = nullptr;
  void (*previous_term_)(int) = nullptr;
};

}  // namespace joules::cli
