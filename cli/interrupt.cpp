#include "cli/interrupt.hpp"

#include <csignal>

namespace {

std::atomic<bool> interrupt_flag{false};
static_assert(std::atomic<bool>::is_always_lock_free, "set from a signal handler");

// SIGTERM (what schedulers and `kill` send) means the same as Ctrl-C. The default actions come
// back after the first signal, so that a second one stops at once.
extern "C" void joules_cli_on_interrupt(int) {
  interrupt_flag.store(true);
  std::signal(SIGINT, SIG_DFL);
  std::signal(SIGTERM, SIG_DFL);
}

}  // namespace

namespace joules::cli {

InterruptGuard::InterruptGuard() {
  interrupt_flag.store(false);
  previous_int_ = std::signal(SIGINT, joules_cli_on_interrupt);
  previous_term_ = std::signal(SIGTERM, joules_cli_on_interrupt);
}

InterruptGuard::~InterruptGuard() {
  std::signal(SIGINT, previous_int_ == SIG_ERR ? SIG_DFL : previous_int_);
  std::signal(SIGTERM, previous_term_ == SIG_ERR ? SIG_DFL : previous_term_);
}

const std::atomic<bool>& InterruptGuard::flag() const { return interrupt_flag; }

}  // namespace joules::cli
