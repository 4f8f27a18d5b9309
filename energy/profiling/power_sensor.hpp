#pragma once
// The one interface behind every power source joules can measure with: Jetson INA3221 rails,
// NVML, RAPL powercap and the timer estimate. A sensor is a set of named rails; each read of a
// rail gives its instantaneous power, or a cumulative energy counter, or both.
//
// Units: power in mW, voltage in mV, current in mA, energy in mJ, intervals in microseconds.

#include <chrono>
#include <cstddef>
#include <optional>
#include <ostream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace joules::profiling {

/// The kinds of source, spelled as in `joules sensors --json` (DESIGN.md).
enum class SensorKind { jetson_ina3221, nvml, rapl, timer_estimate };

/// "jetson-ina3221", "nvml", "rapl", "timer-estimate".
std::string_view to_string(SensorKind kind);
std::ostream& operator<<(std::ostream& out, SensorKind kind);

/// What a rail can report.
struct RailInfo {
  std::string name;             // unique within its sensor: "VDD_IN", "package-0", "gpu0"
  bool has_power = true;        // reads give power_mw
  bool has_energy = false;      // reads give a cumulative energy_mj counter
  bool constant = false;        // the value never changes by design (the timer estimate)
  std::string location;         // where it is read from (a sysfs directory, a GPU's name)

  friend bool operator==(const RailInfo&, const RailInfo&) = default;
};

/// One read of one rail. A failed read has `error` set and no values.
struct RailReading {
  std::optional<double> power_mw;
  std::optional<double> voltage_mv;
  std::optional<double> current_ma;
  /// Cumulative energy since the sensor was opened, monotonic: wrap-around of the hardware
  /// counter is already undone by the sensor.
  std::optional<double> energy_mj;
  std::string error;  // empty on success; otherwise names the file or call and the reason

  bool ok() const { return error.empty(); }
};

/// Bounds of a plausible reading: 0 to 10 kW, 0 to 1 kV, 0 to 10 kA. Outside them a reading is
/// a sensor fault (a driver's error code read as a value, a counter gone wrong), not a
/// measurement.
inline constexpr double kMaxPlausiblePowerMw = 1e7;
inline constexpr double kMaxPlausibleVoltageMv = 1e6;
inline constexpr double kMaxPlausibleCurrentMa = 1e7;

/// Why `reading` cannot be a measurement ("fault: power -5 mW is outside [0, 1e+07] mW"), or
/// empty when every value it holds is plausible.
std::string reading_fault(const RailReading& reading);

/// A source that cannot be used here (no such hardware, no driver, no permission).
/// what() says why and, where there is one, what the user can do about it.
class SensorUnavailable : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// A measurement that failed while running (a rail gave no reading in a whole window).
class SensorError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// A power source. Thread safety: one instance is used by one thread at a time (the sampler
/// hands it to its thread while running); different instances are independent.
class PowerSensor {
 public:
  virtual ~PowerSensor() = default;

  virtual SensorKind kind() const = 0;
  /// One line: the board or device and where it is read, e.g.
  /// "NVIDIA Jetson AGX Orin: INA3221 (mainline hwmon) at /sys/bus/i2c/drivers/ina3221/1-0040/...".
  virtual std::string description() const = 0;
  /// Every rail, in a stable order.
  virtual const std::vector<RailInfo>& rails() const = 0;
  /// The rails whose sum is the board's (or device's) total power, by default.
  virtual std::vector<std::string> total_rails() const = 0;
  /// How often the hardware refreshes its values; reading faster only repeats them. Zero when
  /// unknown.
  virtual std::chrono::microseconds update_interval() const = 0;
  /// True for the timer estimate: its numbers are configured, not measured.
  virtual bool is_estimate() const { return false; }
  /// Reads rail `index` (into rails()). Never throws for a failed read: the reading carries the
  /// error instead, so that a sampler can count it and go on.
  virtual RailReading read(std::size_t index) = 0;
  /// Like read(), plus whatever else the source can tell that read() skips to stay fast
  /// (voltage and current of L4T rails, power of energy-counter rails). For one-off displays.
  virtual RailReading read_detailed(std::size_t index) { return read(index); }

  /// Things found but not used (unreadable channels, disabled zones), one line each.
  virtual const std::vector<std::string>& warnings() const;

  /// Index of the rail called `name`; throws std::invalid_argument listing the rails there are.
  std::size_t rail_index(std::string_view name) const;
  /// "VDD_GPU_SOC+VDD_CPU_CV+VIN_SYS_5V0": the total_rails() joined.
  std::string total_rail_label() const;
};

/// Joins rail names with '+'.
std::string join_rails(const std::vector<std::string>& names);

}  // namespace joules::profiling
