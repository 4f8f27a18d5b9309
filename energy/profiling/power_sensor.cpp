#include "energy/profiling/power_sensor.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace joules::profiling {

std::string_view to_string(SensorKind kind) {
  switch (kind) {
    case SensorKind::jetson_ina3221: return "jetson-ina3221";
    case SensorKind::nvml: return "nvml";
    case SensorKind::rapl: return "rapl";
    case SensorKind::timer_estimate: return "timer-estimate";
  }
  return "unknown";
}

std::ostream& operator<<(std::ostream& out, SensorKind kind) { return out << to_string(kind); }

std::string join_rails(const std::vector<std::string>& names) {
  return fmt::format("{}", fmt::join(names, "+"));
}

std::string reading_fault(const RailReading& reading) {
  const auto check = [](const std::optional<double>& value, double max, const char* what, const char* unit) {
    if (!value || (*value >= 0 && *value <= max)) return std::string();  // NaN fails both
    return fmt::format("fault: {} {} {} is outside [0, {}] {}", what, *value, unit, max, unit);
  };
  for (std::string fault : {check(reading.power_mw, kMaxPlausiblePowerMw, "power", "mW"),
                            check(reading.voltage_mv, kMaxPlausibleVoltageMv, "voltage", "mV"),
                            check(reading.current_ma, kMaxPlausibleCurrentMa, "current", "mA")}) {
    if (!fault.empty()) return fault;
  }
  return "";
}

std::size_t PowerSensor::rail_index(std::string_view name) const {
  const auto& all = rails();
  std::vector<std::string> names;
  for (std::size_t i = 0; i < all.size(); ++i) {
    if (all[i].name == name) return i;
    names.push_back(all[i].name);
  }
  throw std::invalid_argument(fmt::format("{} sensor has no rail '{}' (rails: {})", to_string(kind()),
                                          name, names.empty() ? "none" : fmt::format("{}", fmt::join(names, ", "))));
}

const std::vector<std::string>& PowerSensor::warnings() const {
  static const std::vector<std::string> none;
  return none;
}

std::string PowerSensor::total_rail_label() const { return join_rails(total_rails()); }

}  // namespace joules::profiling
