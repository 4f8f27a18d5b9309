#include "cli/interrupt.hpp"

#include <csignal>

namespace {

std::atomic<bool> interrupt_flag{false};
static_assert(std::atomic<bool>::is_always_lock_free, "set from a signal handler");

// The default action comes back after the first SIGINT, so that a second one stops at once.
extern "C" void joules_cli_on_sigint(int) {
  interrupt_flag.store(true);
  std::signal(SIGINT, SIG_DFL);
}

}  // namespace

namespace joules::cli {

InterruptGuard::InterruptGuard() {
  interrupt_flag.store(false);
  previous_ = std::signal(SIGINT, joules_cli_on_sigint);
}

InterruptGuard::~InterruptGuard() { std::signal(SIGINT, previous_ == SIG_ERR ? SIG_DFL : previous_); }

const std::atomic<bool>& InterruptGuard::flag() const { return interrupt_flag; }

}  // namespace joules::cli
