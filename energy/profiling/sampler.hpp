#pragma once
// Measuring the energy of a window of time: a background thread samples the chosen rails of a
// PowerSensor at a set rate, with steady-clock timestamps, and integrates power over time with
// the trapezoidal rule (energy-counter rails: counter differences). The window is exactly the
// span from the sample start() takes to the one stop() takes, both in the calling thread, so a
// workload run between the two calls lies inside it.
//
//     Sampler sampler(sensor, {.rate_hz = 1000});
//     WindowMeasurement idle = measure_idle(sampler, std::chrono::seconds(2));
//     sampler.start();
//     run_workload();
//     WindowMeasurement busy = sampler.stop();   // busy.energy_mj, busy.mean_power_mw, ...

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <mutex>
#include <optional>
#include <ostream>
#include <string>
#include <thread>
#include <vector>

#include "energy/profiling/calibration.hpp"
#include "energy/profiling/power_sensor.hpp"

namespace joules::profiling {

struct SamplerOptions {
  /// Samples per second asked for, in (0, 100000]. The sampler never samples faster than the
  /// sensor refreshes (PowerSensor::update_interval), which would only repeat its values.
  double rate_hz = 1000.0;
  /// Rails to measure, by name; empty: the sensor's total rails (the board's total power).
  std::vector<std::string> rails;
  /// A rail whose value stays the same for this many sampling intervals is reported stale (a
  /// hung driver, a file that no longer changes). At least 2.
  int stale_after_intervals = 200;
  /// Calibrations by rail name; rails without one are used as read. A calibration of a rail
  /// the sensor does not have is an error.
  std::vector<RailCalibration> calibrations;
};

/// One rail over a window.
struct RailWindow {
  std::string name;
  double energy_mj = 0.0;
  double mean_power_mw = 0.0;
  std::size_t samples = 0;      // successful reads
  std::size_t read_errors = 0;  // failed reads
  std::string first_error;      // the first failure's message, "" if none
  double longest_unchanged_s = 0.0;  // longest time the value did not change
  bool stale = false;
  std::optional<RailCalibration> calibration;  // applied to this rail

  friend bool operator==(const RailWindow&, const RailWindow&) = default;
};

/// The result of one window: its energy over the chosen rails, and how far to trust it.
struct WindowMeasurement {
  SensorKind kind = SensorKind::timer_estimate;
  bool estimate = false;        // from the timer estimate: not a measurement
  std::string rails_label;      // the rails summed, "VDD_IN" or "GPU+CPU+SOC+CV+VDDRQ+SYS5V"
  double window_s = 0.0;        // from the start sample to the stop sample
  double energy_mj = 0.0;       // sum over the rails
  double mean_power_mw = 0.0;   // energy_mj / window_s
  std::size_t samples = 0;      // sampling instants, the start and stop samples included
  std::size_t read_errors = 0;  // over all rails
  std::size_t missed_ticks = 0; // sampling instants skipped because the thread fell behind
  double interval_s = 0.0;      // the sampling interval used
  bool stale = false;           // some rail was stale
  std::vector<RailWindow> rails;

  friend bool operator==(const WindowMeasurement&, const WindowMeasurement&) = default;
};

std::ostream& operator<<(std::ostream& out, const WindowMeasurement& m);

/// Samples a sensor in a background thread between start() and stop(). Thread safety: the
/// Sampler is driven from one thread; while running, its thread is the only user of the
/// sensor, which must outlive the Sampler and not be read by anyone else meanwhile.
class Sampler {
 public:
  /// Throws std::invalid_argument naming the value for a rate outside (0, 100000] Hz, a
  /// stale_after_intervals below 2, an unknown rail (listing the rails there are) or a
  /// calibration of an unknown rail.
  Sampler(PowerSensor& sensor, SamplerOptions options = {});
  ~Sampler();
  Sampler(const Sampler&) = delete;
  Sampler& operator=(const Sampler&) = delete;

  /// Takes the first sample and starts the thread. Throws std::logic_error when running.
  void start();
  /// Stops the thread, takes the last sample and integrates the window. Throws
  /// std::logic_error when not running, SensorError when a rail had no successful read in the
  /// whole window (naming the rail and its first error).
  WindowMeasurement stop();
  bool running() const { return thread_.joinable(); }

  /// The sampling interval: max(1 / rate_hz, the sensor's update interval).
  std::chrono::nanoseconds interval() const { return interval_; }
  /// Names of the rails measured.
  std::vector<std::string> rail_names() const;

 private:
  struct RailState;
  void take_sample();
  void run();

  PowerSensor& sensor_;
  SamplerOptions options_;
  std::chrono::nanoseconds interval_{0};
  std::vector<RailState> states_;
  std::vector<RailReading> readings_;  // of one sample; reused to avoid allocating
  std::chrono::steady_clock::time_point origin_;
  double first_t_s_ = 0.0;
  double last_t_s_ = 0.0;
  std::size_t samples_ = 0;
  std::size_t missed_ticks_ = 0;

  std::thread thread_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stop_requested_ = false;  // guarded by mutex_
};

/// Runs `workload` inside one window.
WindowMeasurement measure(Sampler& sampler, const std::function<void()>& workload);

/// A window of `duration` with nothing run by the caller: the board's idle power, to take
/// before a workload's window.
WindowMeasurement measure_idle(Sampler& sampler, std::chrono::duration<double> duration);

}  // namespace joules::profiling
