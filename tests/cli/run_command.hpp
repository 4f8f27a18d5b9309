#pragma once
// Runs the joules executable as a user would, capturing its output and exit status.

#include <string>
#include <vector>

namespace joules::testing {

struct CommandResult {
  int exit_code = -1;  // 128 + signal number when killed by a signal
  std::string out;
  std::string err;
};

/// Runs `program` with `args`, waiting for it to finish.
CommandResult run_command(const std::string& program, const std::vector<std::string>& args);

/// Starts `program` with `args` in the background, its stdout and stderr going to the files
/// given; returns its process id.
int start_command(const std::string& program, const std::vector<std::string>& args, const std::string& out_file,
                  const std::string& err_file);

/// Waits for a process started by start_command; returns its exit status (128 + the signal's
/// number when killed by a signal).
int wait_command(int pid);

/// Runs the joules binary built alongside the tests.
inline CommandResult run_joules(const std::vector<std::string>& args) {
  return run_command(JOULES_BINARY, args);
}

}  // namespace joules::testing
