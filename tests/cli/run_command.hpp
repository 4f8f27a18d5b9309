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

/// Runs the joules binary built alongside the tests.
inline CommandResult run_joules(const std::vector<std::string>& args) {
  return run_command(JOULES_BINARY, args);
}

}  // namespace joules::testing
