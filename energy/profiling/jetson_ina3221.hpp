#pragma once
// The INA3221 power monitors of NVIDIA Jetson boards, on both kernel driver layouts:
//
//  - L4T `ina3221x` (JetPack 4 and older): /sys/bus/i2c/drivers/ina3221x/<bus>-<addr>/
//    iio:deviceN/ (or iio_device/) with rail_name_N, in_powerN_input (mW), in_voltageN_input
//    (mV), in_currentN_input (mA), channels N = 0..2;
//  - mainline hwmon `ina3221` (JetPack 5 and newer): /sys/bus/i2c/drivers/ina3221/<bus>-<addr>/
//    hwmon/hwmonN/ with inN_label, inN_input (bus voltage, mV), currN_input (mA), channels
//    N = 1..3; power = mV * mA / 1000. Labels "NC" are unconnected channels; in4-in7 are shunt
//    voltages and curr4 a sum, not rails.
//
// Rails are found by label on whatever bus, address and hwmon number they have. The board total
// depends on the module (see jetson_board_total); the module is read from the device tree's
// model string (/proc/device-tree/model or /sys/firmware/devicetree/base/model) and, where that
// is absent or unknown, recognised from the rail labels.

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "energy/profiling/power_sensor.hpp"

namespace joules::profiling {

/// Which rails add up to a Jetson board's total input power.
struct JetsonBoardTotal {
  std::string module;              // "Jetson AGX Orin", or "unknown Jetson module"
  std::vector<std::string> rails;  // summed for the total
  std::string rule;                // why these rails, one line for the user
};

/// The board-total rule. `model` is the device tree's model string ("" if unknown); `rails`
/// the labels found. By module: TX1/TX2 VDD_IN (+ VDD_MUX, the carrier board's input, measured
/// in parallel, when present); Nano POM_5V_IN; Xavier NX, TX2 NX, Orin NX, Orin Nano VDD_IN;
/// AGX Xavier GPU+CPU+SOC+CV+VDDRQ+SYS5V; AGX Orin VDD_GPU_SOC+VDD_CPU_CV+VIN_SYS_5V0 (not
/// VDDQ_VDD2_1V8AO, which VIN_SYS_5V0 feeds). Unknown boards: VDD_IN or POM_5V_IN when present,
/// else the sum of all rails (said so in `rule`).
JetsonBoardTotal jetson_board_total(std::string_view model, const std::vector<std::string>& rails);

/// Jetson INA3221 rails read from sysfs. Thread safety: as PowerSensor.
class JetsonIna3221Sensor final : public PowerSensor {
 public:
  enum class Layout { l4t_iio, hwmon };

  /// Finds every INA3221 rail under `sysfs_root` ("/" on a real board). Throws
  /// SensorUnavailable saying where it looked when there is none.
  static std::unique_ptr<JetsonIna3221Sensor> open(const std::filesystem::path& sysfs_root);

  ~JetsonIna3221Sensor() override;

  SensorKind kind() const override { return SensorKind::jetson_ina3221; }
  std::string description() const override;
  const std::vector<RailInfo>& rails() const override { return rails_; }
  std::vector<std::string> total_rails() const override { return board_.rails; }
  std::chrono::microseconds update_interval() const override { return update_interval_; }
  /// L4T rails read in_powerN_input only; hwmon rails read voltage and current (and give all
  /// three).
  RailReading read(std::size_t index) override;
  /// Also voltage and current on L4T rails (two more files).
  RailReading read_detailed(std::size_t index) override;

  const JetsonBoardTotal& board() const { return board_; }
  /// The device tree's model string, "" when there is none under the root.
  const std::string& model() const { return model_; }
  /// Channels found but not used (unreadable labels, disabled channels), one line each.
  const std::vector<std::string>& warnings() const override { return warnings_; }

 private:
  struct Channel;
  JetsonIna3221Sensor() = default;

  std::vector<RailInfo> rails_;
  std::vector<Channel> channels_;
  std::vector<std::string> warnings_;
  std::vector<std::string> directories_;
  JetsonBoardTotal board_;
  std::string model_;
  std::chrono::microseconds update_interval_{0};
};

}  // namespace joules::profiling
