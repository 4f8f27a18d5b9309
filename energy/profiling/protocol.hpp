#pragma once
// The measurement protocol of one layer configuration (docs/profiling.md):
//   1. warm up: run the workload for warmup_s (at least warmup_inferences), which also
//      estimates the time of one inference;
//   2. measure the idle power right before, over one window's length (skipped for sensors
//      whose rails are constant by design: the timer estimate has no idle power to subtract);
//   3. `repeats` windows, each running inferences until it is at least
//      max(min_window_s, window_update_intervals x the sensor's update interval) long, with
//      cooldown_s of rest after each;
//   4. reject windows whose latency or energy per inference is an outlier among the repeats
//      (modified z-score), and report the mean and spread of the others: latency, dynamic
//      energy (the window's energy above idle power, per inference) and energy (dynamic + idle
//      power x latency) per inference.
// Torch-free: the workload is a function that runs N inferences and returns when they are
// done (on a GPU: after synchronising), so that the protocol can be tested without torch.

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "energy/profiling/power_sensor.hpp"
#include "energy/profiling/sampler.hpp"

namespace joules::profiling {

/// Runs `inferences` inferences of one layer and returns once they have completed.
using Workload = std::function<void(std::int64_t inferences)>;

struct ProtocolOptions {
  /// Warm-up before a point's windows, in seconds, and at least this many inferences: the first
  /// inferences allocate memory and choose kernels (oneDNN primitives, cuDNN algorithms), and
  /// clocks take tens of milliseconds to ramp up under load.
  double warmup_s = 0.1;
  std::int64_t warmup_inferences = 3;
  /// A window lasts at least max(min_window_s, window_update_intervals x the sensor's update
  /// interval). 0.2 s holds 200 samples at the sampler's default 1 kHz; 50 update intervals
  /// keep the error of the window's first and last sensor updates near 2% (INA3221 averaging,
  /// NVML's 20 ms refresh: 1 s windows).
  double min_window_s = 0.2;
  int window_update_intervals = 50;
  /// Windows per point: 5 allow rejecting up to 2 outliers and still report a spread.
  int repeats = 5;
  /// Rest after each window, so that one window's heat and the sampler's wake-ups do not spill
  /// into the next and the idle measurement of the next point starts from rest.
  double cooldown_s = 0.1;
  /// Length of the idle window before a point's windows; 0: as long as one window (equal noise).
  double idle_s = 0.0;
  /// A window is rejected when the modified z-score 0.6745 |x - median| / MAD of its latency or
  /// of its energy exceeds this (Iglewicz and Hoaglin's 3.5) and it is also more than
  /// outlier_min_deviation (a fraction) away from the median: windows of a steady layer can
  /// agree to 0.1%, and one 0.5% off is then "unusual" but not disturbed (a preempted window
  /// is off by tens of percent). With fewer than 3 windows none is rejected, and never more
  /// than (n - 1) / 2 of n.
  double outlier_z = 3.5;
  double outlier_min_deviation = 0.02;

  bool operator==(const ProtocolOptions&) const = default;
};

/// Throws std::invalid_argument naming the option and the value for a negative or non-finite
/// time, a min_window_s of 0, fewer than 1 repeat or warm-up inference, a
/// window_update_intervals below 1, an outlier_z not above 0 or a negative
/// outlier_min_deviation. Option names are as in the
/// struct ("min_window_s").
void validate(const ProtocolOptions& options);

/// How long a window must be, in seconds: max(min_window_s, window_update_intervals x
/// update_interval).
double window_target_s(const ProtocolOptions& options, std::chrono::microseconds update_interval);

/// One window.
struct WindowResult {
  std::int64_t inferences = 0;
  double workload_s = 0.0;     // from the first inference's start to the last one's end
  double latency_ms = 0.0;     // workload_s / inferences
  /// CPU time of the calling thread per inference: equal to latency_ms for a single-threaded
  /// CPU layer that ran undisturbed, less when the thread was preempted (a shared machine) or
  /// waited (for a GPU, for other intra-op threads).
  double thread_cpu_ms = 0.0;
  /// Per inference: dynamic_energy_mj + idle power x latency; without an idle measurement,
  /// the window's mean power x latency.
  double energy_mj = 0.0;
  /// Per inference: (the window's energy - idle power x the window's length) / inferences.
  std::optional<double> dynamic_energy_mj;
  double mean_power_mw = 0.0;
  WindowMeasurement window;    // what the sampler saw
  bool rejected = false;       // an outlier among the point's windows

  bool operator==(const WindowResult&) const = default;
};

/// One layer configuration, measured.
struct PointMeasurement {
  double latency_ms = 0.0;      // mean over the kept windows
  double latency_ms_std = 0.0;  // sample standard deviation over them (0 with one window)
  double thread_cpu_ms = 0.0;   // mean over the kept windows (see WindowResult)
  double energy_mj = 0.0;
  double energy_mj_std = 0.0;
  std::optional<double> dynamic_energy_mj;  // absent without an idle measurement
  std::optional<double> dynamic_energy_mj_std;
  std::optional<double> idle_power_mw;      // absent when skipped (constant rails)
  double mean_power_mw = 0.0;   // over the kept windows
  double window_s = 0.0;        // mean length of the kept windows
  double inferences = 0.0;      // mean inferences per kept window
  int windows_kept = 0;
  int windows_rejected = 0;
  std::size_t read_errors = 0;  // over the idle and all windows
  bool stale = false;           // some window saw a stale rail
  bool estimate = false;        // the sensor's figures are estimates (timer estimate)
  double warmup_latency_ms = 0.0;
  std::vector<WindowResult> windows;

  bool operator==(const PointMeasurement&) const = default;
};

/// Measures one layer configuration with `sampler` (which samples `sensor`), following the
/// protocol above. Throws what the workload throws, and SensorError from the sampler.
PointMeasurement measure_point(PowerSensor& sensor, Sampler& sampler, const Workload& workload,
                               const ProtocolOptions& options);

/// False when every rail `sampler` measures is constant by design (the timer estimate): there
/// is no idle power to measure, and no dynamic energy.
bool measures_idle_power(const PowerSensor& sensor, const Sampler& sampler);

/// How unusual each of `values` is: the modified z-score 0.6745 |x - median| / MAD (when the
/// MAD is 0, the mean absolute deviation scaled by 1.2533 stands in for it: Iglewicz and
/// Hoaglin), or 0 for a value within min_deviation x |median| of the median. All 0 with fewer
/// than 3 values or when every value is the median.
std::vector<double> outlier_scores(std::span<const double> values, double min_deviation = 0.0);

/// The windows the protocol rejects: those whose latency or energy score (outlier_scores) is
/// above options.outlier_z, the most unusual first, at most (n - 1) / 2 of them so that the
/// majority always stays.
std::vector<bool> rejected_windows(std::span<const double> latency_ms, std::span<const double> energy_mj,
                                   const ProtocolOptions& options);

}  // namespace joules::profiling
