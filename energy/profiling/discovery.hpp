#pragma once
// Finding the power sources of this machine, and reading them once for a display.

#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "energy/profiling/nvml.hpp"
#include "energy/profiling/power_sensor.hpp"
#include "energy/profiling/timer_estimate.hpp"

namespace joules::profiling {

struct DiscoveryOptions {
  /// Every sysfs path (INA3221, RAPL, the device tree's model) is read under this root.
  std::filesystem::path sysfs_root = "/";
  NvmlOptions nvml;
  TimerEstimateOptions timer_estimate;
};

/// A kind of source that is not usable here, and why.
struct UnavailableSource {
  SensorKind kind = SensorKind::timer_estimate;
  std::string reason;

  friend bool operator==(const UnavailableSource&, const UnavailableSource&) = default;
};

struct DiscoveredSensors {
  /// In the order jetson-ina3221, nvml, rapl, timer-estimate (always there, always last).
  std::vector<std::unique_ptr<PowerSensor>> sensors;
  std::vector<UnavailableSource> unavailable;
};

/// Tries every kind of source. Never throws for a missing source: it lands in `unavailable`.
DiscoveredSensors discover_sensors(const DiscoveryOptions& options);

/// Opens one kind of source. Throws SensorUnavailable saying why it cannot be used.
std::unique_ptr<PowerSensor> open_sensor(SensorKind kind, const DiscoveryOptions& options);

/// "jetson-ina3221" -> SensorKind::jetson_ina3221; std::nullopt for anything else.
std::optional<SensorKind> parse_sensor_kind(std::string_view text);

/// A rail read once, for display.
struct RailSnapshot {
  std::string name;
  RailReading reading;  // power_mw derived from two counter reads for energy-counter rails
  std::string fault;    // reading_fault(reading): set for a negative or absurd reading
};

struct SensorSnapshot {
  std::vector<RailSnapshot> rails;
  std::vector<std::string> total_rails;
  /// The sum of the total rails but the faulted ones; std::nullopt when one of them could
  /// not be read (or all are faulted).
  std::optional<double> total_power_mw;
  /// Total rails left out of total_power_mw because their reading is a fault.
  std::vector<std::string> faulted_total_rails;
};

/// Reads every rail once (read_detailed). Rails that give only an energy counter are read twice,
/// `counter_window` apart, and their power is the difference over the time between the reads.
SensorSnapshot take_snapshot(PowerSensor& sensor,
                             std::chrono::milliseconds counter_window = std::chrono::milliseconds(100));

}  // namespace joules::profiling
