#pragma once
// Linux RAPL through the powercap interface: /sys/class/powercap/intel-rapl:N[:M]/ with `name`
// ("package-0", "core", "uncore", "dram", "psys"), `energy_uj` (a counter in microjoules that
// wraps to 0 past `max_energy_range_uj`). Intel and, since Linux 5.8, AMD processors use it.
// Since Linux 5.10 (CVE-2020-8694, "Platypus") energy_uj is readable by root only.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "energy/profiling/power_sensor.hpp"
#include "energy/profiling/sysfs_file.hpp"

namespace joules::profiling {

/// RAPL zones as energy-counter rails, named by zone ("package-0", "package-0/dram").
/// Thread safety: as PowerSensor.
class RaplSensor final : public PowerSensor {
 public:
  /// Finds the zones under `sysfs_root`/sys/class/powercap. Zones whose counter cannot be read
  /// are left out with a warning; throws SensorUnavailable when none is left, explaining
  /// permission errors and how to grant access.
  static std::unique_ptr<RaplSensor> open(const std::filesystem::path& sysfs_root);

  SensorKind kind() const override { return SensorKind::rapl; }
  std::string description() const override;
  const std::vector<RailInfo>& rails() const override { return rails_; }
  /// psys (the whole platform) when there is one, else the package zones.
  std::vector<std::string> total_rails() const override { return total_; }
  /// RAPL counters are refreshed about every millisecond (Intel SDM, "RAPL Interfaces").
  std::chrono::microseconds update_interval() const override { return std::chrono::microseconds(1000); }
  /// energy_mj since open(), with wrap-around undone (the counter must be read at least once per
  /// wrap period, minutes at the highest power).
  RailReading read(std::size_t index) override;

  const std::vector<std::string>& warnings() const override { return warnings_; }

 private:
  struct Zone {
    SysfsFile energy;
    std::int64_t max_range_uj = 0;  // 0: unknown
    std::int64_t first_uj = 0;
    std::int64_t last_uj = 0;
    std::int64_t wrapped_uj = 0;  // added for each wrap seen
  };
  RaplSensor() = default;

  std::vector<RailInfo> rails_;
  std::vector<Zone> zones_;
  std::vector<std::string> total_;
  std::vector<std::string> warnings_;
  std::string directory_;
};

}  // namespace joules::profiling
