#include "energy/profiling/discovery.hpp"

#include <algorithm>
#include <thread>

#include "energy/profiling/jetson_ina3221.hpp"
#include "energy/profiling/rapl.hpp"

namespace joules::profiling {

std::optional<SensorKind> parse_sensor_kind(std::string_view text) {
  for (SensorKind kind : {SensorKind::jetson_ina3221, SensorKind::nvml, SensorKind::rapl, SensorKind::timer_estimate}) {
    if (text == to_string(kind)) return kind;
  }
  return std::nullopt;
}

std::unique_ptr<PowerSensor> open_sensor(SensorKind kind, const DiscoveryOptions& options) {
  switch (kind) {
    case SensorKind::jetson_ina3221: return JetsonIna3221Sensor::open(options.sysfs_root);
    case SensorKind::nvml: return NvmlSensor::open(options.nvml);
    case SensorKind::rapl: return RaplSensor::open(options.sysfs_root);
    case SensorKind::timer_estimate: return std::make_unique<TimerEstimateSensor>(options.timer_estimate);
  }
  throw SensorUnavailable("unknown sensor kind");
}

DiscoveredSensors discover_sensors(const DiscoveryOptions& options) {
  DiscoveredSensors found;
  for (SensorKind kind : {SensorKind::jetson_ina3221, SensorKind::nvml, SensorKind::rapl, SensorKind::timer_estimate}) {
    try {
      found.sensors.push_back(open_sensor(kind, options));
    } catch (const SensorUnavailable& e) {
      found.unavailable.push_back({kind, e.what()});
    }
  }
  return found;
}

SensorSnapshot take_snapshot(PowerSensor& sensor, std::chrono::milliseconds counter_window) {
  SensorSnapshot snapshot;
  const auto& rails = sensor.rails();
  std::vector<std::chrono::steady_clock::time_point> first_time(rails.size());
  bool any_counter = false;
  for (std::size_t i = 0; i < rails.size(); ++i) {
    first_time[i] = std::chrono::steady_clock::now();
    snapshot.rails.push_back({rails[i].name, sensor.read_detailed(i)});
    const RailReading& r = snapshot.rails.back().reading;
    any_counter = any_counter || (r.ok() && !r.power_mw && r.energy_mj);
  }
  if (any_counter) {
    std::this_thread::sleep_for(counter_window);
    for (std::size_t i = 0; i < rails.size(); ++i) {
      RailReading& first = snapshot.rails[i].reading;
      if (!first.ok() || first.power_mw || !first.energy_mj) continue;
      const auto now = std::chrono::steady_clock::now();
      RailReading second = sensor.read_detailed(i);
      if (!second.ok() || !second.energy_mj) {
        first = std::move(second);
        continue;
      }
      const double seconds = std::chrono::duration<double>(now - first_time[i]).count();
      second.power_mw = (*second.energy_mj - *first.energy_mj) / seconds;  // mJ / s = mW
      first = std::move(second);
    }
  }
  for (RailSnapshot& rail : snapshot.rails) rail.fault = reading_fault(rail.reading);
  snapshot.total_rails = sensor.total_rails();
  double total = 0.0;
  bool complete = true;
  std::size_t summed = 0;
  for (const auto& name : snapshot.total_rails) {
    const auto it = std::find_if(snapshot.rails.begin(), snapshot.rails.end(),
                                 [&](const RailSnapshot& r) { return r.name == name; });
    if (it == snapshot.rails.end() || !it->reading.power_mw) {
      complete = false;
      continue;
    }
    if (!it->fault.empty()) {
      snapshot.faulted_total_rails.push_back(name);
      continue;
    }
    total += *it->reading.power_mw;
    ++summed;
  }
  if (complete && summed > 0) snapshot.total_power_mw = total;
  return snapshot;
}

}  // namespace joules::profiling
