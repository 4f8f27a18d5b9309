#include "energy/profiling/rapl.hpp"

#include <algorithm>
#include <cerrno>
#include <map>
#include <system_error>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace joules::profiling {
namespace fs = std::filesystem;

namespace {

// "intel-rapl:0:1" -> "intel-rapl:0"; "intel-rapl:0" -> "".
std::string parent_zone(const std::string& id) {
  const auto first = id.find(':');
  const auto last = id.rfind(':');
  return first == last ? std::string() : id.substr(0, last);
}

}  // namespace

std::unique_ptr<RaplSensor> RaplSensor::open(const fs::path& sysfs_root) {
  std::unique_ptr<RaplSensor> sensor(new RaplSensor());
  const fs::path powercap = sysfs_root / "sys/class/powercap";
  sensor->directory_ = powercap.string();
  std::vector<std::string> ids;
  std::error_code ec;
  for (fs::directory_iterator it(powercap, ec); !ec && it != fs::directory_iterator(); it.increment(ec)) {
    const std::string id = it->path().filename().string();
    // intel-rapl is the control type itself; intel-rapl-mmio:N repeats the package zone through
    // MMIO on some laptops and would count it twice.
    if (id.starts_with("intel-rapl:")) ids.push_back(id);
  }
  if (ids.empty()) throw SensorUnavailable(fmt::format("no RAPL zones (intel-rapl:*) under {}", powercap.string()));
  std::sort(ids.begin(), ids.end());

  std::map<std::string, std::string> zone_names;  // id -> rail name
  std::vector<std::string> permission_denied;
  for (const std::string& id : ids) {
    const fs::path dir = powercap / id;
    std::string error;
    const auto zone_name = read_text_file(dir / "name", &error);
    if (!zone_name) {
      sensor->warnings_.push_back("skipped zone: " + error);
      continue;
    }
    const std::string parent = parent_zone(id);
    std::string name = *zone_name;
    if (!parent.empty()) {
      const auto p = zone_names.find(parent);
      name = (p != zone_names.end() ? p->second : parent) + "/" + name;
    }
    if (std::any_of(sensor->rails_.begin(), sensor->rails_.end(), [&](const RailInfo& r) { return r.name == name; })) {
      name += "@" + id;
    }
    zone_names[id] = name;

    Zone zone;
    zone.energy = SysfsFile(dir / "energy_uj");
    NumberRead first = zone.energy.read_number();
    if (!first.value) {
      if (first.error_number == EACCES || first.error_number == EPERM) {
        permission_denied.push_back((dir / "energy_uj").string());
      }
      sensor->warnings_.push_back(fmt::format("skipped {}: {}", name, first.error));
      continue;
    }
    zone.first_uj = zone.last_uj = *first.value;
    if (auto range = read_text_file(dir / "max_energy_range_uj")) {
      if (auto value = parse_sysfs_integer(*range); value && *value > 0) zone.max_range_uj = *value;
    }
    if (zone.max_range_uj == 0) {
      sensor->warnings_.push_back(fmt::format("{}: max_energy_range_uj unreadable: a wrap-around of its counter "
                                              "will be reported as a read error",
                                              name));
    }
    sensor->rails_.push_back(RailInfo{name, /*has_power=*/false, /*has_energy=*/true, /*constant=*/false, dir.string()});
    sensor->zones_.push_back(std::move(zone));
  }

  if (sensor->rails_.empty()) {
    if (!permission_denied.empty()) {
      throw SensorUnavailable(fmt::format(
          "permission denied reading {}: since Linux 5.10 (CVE-2020-8694) RAPL energy counters are readable by "
          "root only; run joules as root, or grant read access until the next boot with "
          "`sudo chmod o+r {}/intel-rapl:*/energy_uj`",
          fmt::join(permission_denied, ", "), powercap.string()));
    }
    throw SensorUnavailable(fmt::format("no readable RAPL zone under {}: {}", powercap.string(),
                                        fmt::join(sensor->warnings_, "; ")));
  }

  const auto top_level = [&](const RailInfo& rail) { return rail.name.find('/') == std::string::npos; };
  for (const auto& rail : sensor->rails_) {
    if (top_level(rail) && rail.name == "psys") sensor->total_ = {"psys"};
  }
  if (sensor->total_.empty()) {
    for (const auto& rail : sensor->rails_) {
      if (top_level(rail) && rail.name.starts_with("package")) sensor->total_.push_back(rail.name);
    }
  }
  if (sensor->total_.empty()) {
    for (const auto& rail : sensor->rails_) {
      if (top_level(rail)) sensor->total_.push_back(rail.name);
    }
  }
  return sensor;
}

std::string RaplSensor::description() const {
  return fmt::format("RAPL powercap energy counters at {}", directory_);
}

RailReading RaplSensor::read(std::size_t index) {
  Zone& zone = zones_.at(index);
  RailReading reading;
  NumberRead raw = zone.energy.read_number();
  if (!raw.value) {
    reading.error = std::move(raw.error);
    return reading;
  }
  // A counter outside its range is a fault of the reading; taken as a wrap it would add energy.
  if (*raw.value < 0 || (zone.max_range_uj > 0 && *raw.value > zone.max_range_uj)) {
    reading.error = fmt::format("{}: fault: energy counter {} uJ is outside [0, {}] (max_energy_range_uj)",
                                zone.energy.path().string(), *raw.value, zone.max_range_uj);
    return reading;
  }
  if (*raw.value < zone.last_uj) {
    if (zone.max_range_uj == 0) {
      reading.error = fmt::format("{}: counter went back from {} to {} uJ and max_energy_range_uj is unknown",
                                  zone.energy.path().string(), zone.last_uj, *raw.value);
      return reading;
    }
    zone.wrapped_uj += zone.max_range_uj;
  }
  zone.last_uj = *raw.value;
  reading.energy_mj = static_cast<double>(zone.last_uj + zone.wrapped_uj - zone.first_uj) / 1000.0;
  return reading;
}

}  // namespace joules::profiling
