#pragma once
// SIGINT/SIGTERM for long commands: the first signal raises a stop flag that the library
// polls (the command then stops cleanly and exits 130); a second one exits at once.

#include <atomic>

namespace joules::cli {

/// Installs the handlers (once per process) and returns the flag they raise. A signal handler
/// can only reach global state, hence the one global of joules.
const std::atomic<bool>& install_interrupt_handler();

}  // namespace joules::cli
