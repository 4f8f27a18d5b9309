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

/// A command started in the background, its output going to a file; for tests that
/// interrupt or kill it.
class BackgroundCommand {
 public:
  BackgroundCommand(const std::string& program, const std::vector<std::string>& args, const std::string& log_path);
  ~BackgroundCommand();  // kills the command if it still runs
  BackgroundCommand(const BackgroundCommand&) = delete;
  BackgroundCommand& operator=(const BackgroundCommand&) = delete;

  void signal(int signal_number) const;
  /// Waits for the command to end; its exit status (128 + signal when killed).
  int wait();

 private:
  int pid_ = -1;
  bool done_ = false;
};

/// Runs the joules binary built alongside the tests.
inline CommandResult run_joules(const std::vector<std::string>& args) {
  return run_command(JOULES_BINARY, args);
}

}  // namespace joules::testing
