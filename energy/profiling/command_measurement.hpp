#pragma once
// Measuring any command (`joules measure -- trtexec --loadEngine=net.plan ...`): the chosen
// rails are sampled in a background thread while the command runs, after a window of idle
// power, and each rail's energy is reported whole and with the idle power subtracted (dynamic),
// over the run and per inference when the command's inference count is known.
//
// The command runs in its own process group (so that a terminal's Ctrl-C reaches joules
// alone, which forwards it): when `interrupted` turns true, SIGINT goes to the command's group,
// and SIGKILL if it has not ended kill_after later.

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "energy/profiling/sampler.hpp"

namespace joules::profiling {

struct CommandMeasurementOptions {
  std::vector<std::string> command;  // argv; command[0] is looked up in PATH
  double idle_s = 2.0;               // idle window before the command; 0: none
  std::optional<std::int64_t> inferences;  // the command's inference count, for per-inference figures
  SamplerOptions sampler;
  /// Polled while idle and while the command runs (every few ms); true stops both.
  std::function<bool()> interrupted;
  std::chrono::milliseconds kill_after{5000};
  /// When set, the command's stdout and stderr go to this file (created or truncated) instead
  /// of joules' own: `joules profile --runtime tensorrt` keeps trtexec's log per point.
  std::string output_file;
};

/// One rail (or the total) over the command's run.
struct CommandRail {
  std::string name;
  double mean_power_mw = 0;
  double energy_mj = 0;
  double idle_power_mw = 0;      // 0 without an idle window
  double dynamic_energy_mj = 0;  // energy_mj - idle_power_mw x duration
  std::optional<double> energy_per_inference_mj;
  std::optional<double> dynamic_energy_per_inference_mj;
};

struct CommandMeasurement {
  std::vector<std::string> command;
  std::optional<WindowMeasurement> idle;
  WindowMeasurement run;
  std::vector<CommandRail> rails;
  CommandRail total;  // name: the rails joined with '+'
  double duration_s = 0;
  /// The command's exit status; 128 + the signal's number when a signal ended it.
  int exit_status = 0;
  bool interrupted = false;  // `interrupted` turned true before the command ended
};

/// Runs the command under the sampler. Throws std::invalid_argument for an empty command, a
/// negative or non-finite idle_s or an inference count below 1 (and as Sampler's constructor),
/// CommandNotStarted when the command cannot be executed, SensorError as Sampler::stop().
CommandMeasurement measure_command(PowerSensor& sensor, const CommandMeasurementOptions& options);

/// The command could not be executed (not found, not executable): what() names it and why.
class CommandNotStarted : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace joules::profiling
