#pragma once
// Fake sysfs trees of Jetson boards and RAPL, laid out as the kernel drivers lay them out (see
// docs/power-sensors.md for the sources), for tests to point sensors and `joules sensors`
// at. Values are written in place (pwrite at offset 0, as a sysfs attribute changes), so a
// reader never sees a missing file or a half-written number.

#include <fcntl.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace joules::testing {

/// One INA3221 channel: its label and what it reads.
struct FakeRail {
  std::string label;
  long voltage_mv = 5000;
  long current_ma = 1000;
  long power_mw() const { return voltage_mv * current_ma / 1000; }
};

inline void write_text(const std::filesystem::path& file, const std::string& text) {
  std::filesystem::create_directories(file.parent_path());
  std::ofstream(file, std::ios::binary) << text;
}

/// Replaces a file's content in place, the way a sysfs attribute changes under a reader.
inline void overwrite(const std::filesystem::path& file, const std::string& text) {
  const int fd = ::open(file.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) throw std::runtime_error("cannot open " + file.string());
  const bool ok = ::pwrite(fd, text.data(), text.size(), 0) == static_cast<ssize_t>(text.size()) &&
                  ::ftruncate(fd, static_cast<off_t>(text.size())) == 0;
  ::close(fd);
  if (!ok) throw std::runtime_error("cannot write " + file.string());
}

inline std::filesystem::path i2c_driver(const std::filesystem::path& root, const std::string& driver) {
  const auto dir = root / "sys/bus/i2c/drivers" / driver;
  // What a driver directory holds besides its devices.
  write_text(dir / "bind", "");
  write_text(dir / "unbind", "");
  write_text(dir / "uevent", "");
  std::filesystem::create_directories(dir / "module");
  return dir;
}

/// An L4T `ina3221x` chip: drivers/ina3221x/<device>/<iio>/ with rail_name_N, in_powerN_input
/// (mW), in_voltageN_input (mV), in_currentN_input (mA). Returns the iio directory.
inline std::filesystem::path write_l4t_chip(const std::filesystem::path& root, const std::string& device,
                                            const std::string& iio, const std::vector<FakeRail>& rails) {
  const auto dev = i2c_driver(root, "ina3221x") / device;
  write_text(dev / "name", "ina3221x\n");
  const auto dir = dev / iio;
  write_text(dir / "name", "ina3221x\n");
  write_text(dir / "uevent", "");
  for (std::size_t n = 0; n < rails.size(); ++n) {
    const auto& r = rails[n];
    const auto i = std::to_string(n);
    write_text(dir / ("rail_name_" + i), r.label + "\n");
    write_text(dir / ("in_power" + i + "_input"), std::to_string(r.power_mw()) + "\n");
    write_text(dir / ("in_voltage" + i + "_input"), std::to_string(r.voltage_mv) + "\n");
    write_text(dir / ("in_current" + i + "_input"), std::to_string(r.current_ma) + "\n");
    write_text(dir / ("crit_current_limit_" + i), "32760 ma\n");
    write_text(dir / ("warn_current_limit_" + i), "32760 ma\n");
  }
  return dir;
}

/// A mainline hwmon `ina3221` chip: drivers/ina3221/<device>/hwmon/<hwmon>/ with inN_label,
/// inN_input (mV), currN_input (mA) for N = 1..3, plus the shunt voltages in4-in6, their sum
/// in7 and curr4, which are not rails. Returns the hwmon directory.
inline std::filesystem::path write_hwmon_chip(const std::filesystem::path& root, const std::string& device,
                                              const std::string& hwmon, const std::vector<FakeRail>& rails,
                                              int update_interval_ms = -1) {
  const auto dev = i2c_driver(root, "ina3221") / device;
  write_text(dev / "name", "ina3221\n");
  const auto dir = dev / "hwmon" / hwmon;
  write_text(dir / "name", "ina3221\n");
  write_text(dir / "samples", "512\n");
  if (update_interval_ms >= 0) write_text(dir / "update_interval", std::to_string(update_interval_ms) + "\n");
  long current_sum = 0;
  for (std::size_t k = 0; k < rails.size(); ++k) {
    const auto& r = rails[k];
    const auto n = std::to_string(k + 1);
    write_text(dir / ("in" + n + "_label"), r.label + "\n");
    write_text(dir / ("in" + n + "_enable"), "1\n");
    write_text(dir / ("in" + n + "_input"), std::to_string(r.voltage_mv) + "\n");
    write_text(dir / ("curr" + n + "_input"), std::to_string(r.current_ma) + "\n");
    write_text(dir / ("curr" + n + "_max"), "7784\n");
    write_text(dir / ("curr" + n + "_crit"), "7784\n");
    write_text(dir / ("shunt" + n + "_resistor"), "5000\n");
    write_text(dir / ("in" + std::to_string(k + 4) + "_input"), std::to_string(r.current_ma * 5) + "\n");
    current_sum += r.current_ma;
  }
  write_text(dir / "in7_label", "sum of shunt voltages\n");
  write_text(dir / "in7_input", std::to_string(current_sum * 5) + "\n");
  write_text(dir / "curr4_input", std::to_string(current_sum) + "\n");
  return dir;
}

/// The device tree's model string, NUL-terminated as the kernel exposes it.
inline void write_model(const std::filesystem::path& root, const std::string& model,
                        const std::string& where = "proc/device-tree/model") {
  write_text(root / where, model + std::string(1, '\0'));
}

// Boards, with the rail labels and chip addresses of their sensors.

inline void write_tx2_l4t(const std::filesystem::path& root) {
  write_model(root, "quill");
  write_l4t_chip(root, "0-0040", "iio_device", {{"VDD_SYS_GPU", 19000, 100}, {"VDD_SYS_SOC", 19000, 200}, {"VDD_4V0_WIFI", 19000, 10}});
  write_l4t_chip(root, "0-0041", "iio_device", {{"VDD_IN", 19000, 300}, {"VDD_SYS_CPU", 19000, 50}, {"VDD_SYS_DDR", 4800, 150}});
  write_l4t_chip(root, "0-0042", "iio_device", {{"VDD_MUX", 19000, 200}, {"VDD_5V0_IO_SYS", 5000, 400}, {"VDD_3V3_SYS", 3300, 300}});
}

inline void write_nano_l4t(const std::filesystem::path& root) {
  write_model(root, "NVIDIA Jetson Nano Developer Kit");
  write_l4t_chip(root, "6-0040", "iio:device0", {{"POM_5V_IN", 5000, 600}, {"POM_5V_GPU", 5000, 100}, {"POM_5V_CPU", 5000, 200}});
}

inline void write_agx_xavier_l4t(const std::filesystem::path& root) {
  write_model(root, "Jetson-AGX");
  write_l4t_chip(root, "1-0040", "iio:device0", {{"GPU", 19000, 50}, {"CPU", 19000, 60}, {"SOC", 19000, 70}});
  write_l4t_chip(root, "1-0041", "iio:device1", {{"CV", 19000, 10}, {"VDDRQ", 19000, 20}, {"SYS5V", 5000, 300}});
}

inline void write_xavier_nx_l4t(const std::filesystem::path& root) {
  write_model(root, "NVIDIA Jetson Xavier NX Developer Kit");
  write_l4t_chip(root, "7-0040", "iio:device0", {{"VDD_IN", 5000, 900}, {"VDD_CPU_GPU_CV", 5000, 300}, {"VDD_SOC", 5000, 250}});
}

inline void write_agx_orin_hwmon(const std::filesystem::path& root, bool with_model = true) {
  if (with_model) write_model(root, "NVIDIA Jetson AGX Orin Developer Kit", "sys/firmware/devicetree/base/model");
  write_hwmon_chip(root, "1-0040", "hwmon3", {{"VDD_GPU_SOC", 4984, 644}, {"VDD_CPU_CV", 4984, 160}, {"VIN_SYS_5V0", 4976, 480}});
  write_hwmon_chip(root, "1-0041", "hwmon4", {{"NC", 0, 0}, {"VDDQ_VDD2_1V8AO", 4992, 104}, {"NC", 0, 0}});
}

inline void write_orin_nx_hwmon(const std::filesystem::path& root) {
  write_model(root, "NVIDIA Jetson Orin NX Engineering Reference Developer Kit");
  write_hwmon_chip(root, "1-0040", "hwmon1", {{"VDD_IN", 5008, 1304}, {"VDD_CPU_GPU_CV", 5008, 304}, {"VDD_SOC", 5008, 488}});
}

/// A RAPL zone /sys/class/powercap/<id>/ with name, energy_uj and max_energy_range_uj.
inline std::filesystem::path write_rapl_zone(const std::filesystem::path& root, const std::string& id,
                                             const std::string& name, long long energy_uj,
                                             long long max_energy_range_uj = 262143328850LL) {
  const auto dir = root / "sys/class/powercap" / id;
  write_text(dir / "name", name + "\n");
  write_text(dir / "energy_uj", std::to_string(energy_uj) + "\n");
  write_text(dir / "max_energy_range_uj", std::to_string(max_energy_range_uj) + "\n");
  write_text(dir / "enabled", "1\n");
  return dir;
}

}  // namespace joules::testing
