#include "energy/profiling/command_measurement.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <stdexcept>
#include <thread>

#include <fmt/format.h>

namespace joules::profiling {
namespace {

using Clock = std::chrono::steady_clock;
constexpr auto kPoll = std::chrono::milliseconds(2);

bool asked_to_stop(const CommandMeasurementOptions& o) { return o.interrupted && o.interrupted(); }

int exit_status_of(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 1;
}

// Starts the command in its own process group; throws CommandNotStarted when exec fails.
pid_t start_command(const std::vector<std::string>& command, const std::string& output_file) {
  int output_fd = -1;
  if (!output_file.empty()) {
    output_fd = ::open(output_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (output_fd < 0) throw std::runtime_error(fmt::format("{}: {}", output_file, std::strerror(errno)));
  }
  std::vector<char*> argv;
  for (const std::string& a : command) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) {
    if (output_fd >= 0) ::close(output_fd);
    throw std::runtime_error(fmt::format("pipe: {}", std::strerror(errno)));
  }
  const pid_t pid = ::fork();
  if (pid < 0) {
    if (output_fd >= 0) ::close(output_fd);
    ::close(pipe_fds[0]);
    ::close(pipe_fds[1]);
    throw std::runtime_error(fmt::format("fork: {}", std::strerror(errno)));
  }
  if (pid == 0) {
    // The child: only async-signal-safe calls until exec.
    ::setpgid(0, 0);
    ::signal(SIGINT, SIG_DFL);
    ::signal(SIGTERM, SIG_DFL);
    if (output_fd >= 0) {
      ::dup2(output_fd, STDOUT_FILENO);  // dup2's copies do not inherit O_CLOEXEC
      ::dup2(output_fd, STDERR_FILENO);
    }
    ::execvp(argv[0], argv.data());
    const int e = errno;
    [[maybe_unused]] const ssize_t n = ::write(pipe_fds[1], &e, sizeof e);
    ::_exit(127);
  }
  ::setpgid(pid, pid);  // also here, so that no signal can come before the child's own call
  if (output_fd >= 0) ::close(output_fd);
  ::close(pipe_fds[1]);
  int e = 0;
  ssize_t n;
  do {
    n = ::read(pipe_fds[0], &e, sizeof e);
  } while (n < 0 && errno == EINTR);
  ::close(pipe_fds[0]);
  if (n == static_cast<ssize_t>(sizeof e)) {
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    throw CommandNotStarted(fmt::format("cannot run '{}': {}", command.front(), std::strerror(e)));
  }
  return pid;
}

// Waits for the command, forwarding an interruption as SIGINT (then SIGKILL).
int wait_for(pid_t pid, const CommandMeasurementOptions& o, bool& interrupted) {
  std::optional<Clock::time_point> signalled;
  for (;;) {
    int status = 0;
    const pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) return exit_status_of(status);
    if (r < 0 && errno != EINTR) throw std::runtime_error(fmt::format("waitpid: {}", std::strerror(errno)));
    if (!signalled && asked_to_stop(o)) {
      interrupted = true;
      ::kill(-pid, SIGINT);
      signalled = Clock::now();
    } else if (signalled && Clock::now() - *signalled > o.kill_after) {
      ::kill(-pid, SIGKILL);
      signalled = Clock::now() + std::chrono::hours(1);  // once
    }
    std::this_thread::sleep_for(kPoll);
  }
}

CommandRail rail_of(const std::string& name, double energy_mj, double mean_mw, double idle_mw, double duration_s,
                    const std::optional<std::int64_t>& inferences) {
  CommandRail r{.name = name, .mean_power_mw = mean_mw, .energy_mj = energy_mj, .idle_power_mw = idle_mw};
  r.dynamic_energy_mj = energy_mj - idle_mw * duration_s;  // mW x s = mJ
  // Equal idle and busy power (the timer estimate) leave rounding noise, not energy.
  if (std::abs(r.dynamic_energy_mj) <= 1e-9 * std::abs(energy_mj)) r.dynamic_energy_mj = 0;
  if (inferences) {
    r.energy_per_inference_mj = energy_mj / static_cast<double>(*inferences);
    r.dynamic_energy_per_inference_mj = r.dynamic_energy_mj / static_cast<double>(*inferences);
  }
  return r;
}

}  // namespace

CommandMeasurement measure_command(PowerSensor& sensor, const CommandMeasurementOptions& options) {
  if (options.command.empty()) throw std::invalid_argument("no command to measure");
  if (!(std::isfinite(options.idle_s) && options.idle_s >= 0)) {
    throw std::invalid_argument(fmt::format("idle time must be a finite number of seconds >= 0, got {}", options.idle_s));
  }
  if (options.inferences && *options.inferences < 1) {
    throw std::invalid_argument(fmt::format("inferences must be >= 1, got {}", *options.inferences));
  }
  Sampler sampler(sensor, options.sampler);
  CommandMeasurement out{.command = options.command};

  if (options.idle_s > 0) {
    const auto end = Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(options.idle_s));
    sampler.start();
    while (Clock::now() < end && !asked_to_stop(options)) std::this_thread::sleep_for(kPoll);
    out.idle = sampler.stop();
    if (asked_to_stop(options)) {
      out.interrupted = true;
      out.exit_status = 130;
      return out;
    }
  }

  sampler.start();
  pid_t pid = 0;
  try {
    pid = start_command(options.command, options.output_file);
  } catch (...) {
    sampler.stop();
    throw;
  }
  try {
    out.exit_status = wait_for(pid, options, out.interrupted);
  } catch (...) {
    sampler.stop();
    throw;
  }
  out.run = sampler.stop();
  out.duration_s = out.run.window_s;

  for (const RailWindow& w : out.run.rails) {
    double idle_mw = 0;
    if (out.idle) {
      for (const RailWindow& i : out.idle->rails) {
        if (i.name == w.name) idle_mw = i.mean_power_mw;
      }
    }
    out.rails.push_back(rail_of(w.name, w.energy_mj, w.mean_power_mw, idle_mw, out.duration_s, options.inferences));
  }
  out.total = rail_of(out.run.rails_label, out.run.energy_mj, out.run.mean_power_mw,
                      out.idle ? out.idle->mean_power_mw : 0.0, out.duration_s, options.inferences);
  return out;
}

}  // namespace joules::profiling
