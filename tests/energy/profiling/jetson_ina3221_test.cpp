// Jetson INA3221 rails on fake sysfs trees of both driver layouts: discovery by label, board
// totals per module, units, and the errors a user meets (missing files, bad content, EACCES).

#include "energy/profiling/jetson_ina3221.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sys/stat.h>

#include <filesystem>

#include "energy/profiling/discovery.hpp"
#include "tests/energy/profiling/fake_sysfs.hpp"
#include "tests/energy/profiling/unprivileged.hpp"
#include "tests/support/temp_dir.hpp"

namespace joules::profiling {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::FakeRail;

std::vector<std::string> names(const PowerSensor& sensor) {
  std::vector<std::string> out;
  for (const auto& rail : sensor.rails()) out.push_back(rail.name);
  return out;
}

double power_of(PowerSensor& sensor, const std::string& rail) {
  const RailReading r = sensor.read(sensor.rail_index(rail));
  EXPECT_TRUE(r.ok()) << r.error;
  return r.power_mw.value_or(-1);
}

TEST(JetsonIna3221Test, FindsL4tRailsOnEveryChipOfATx2) {
  testing::TempDir root;
  testing::write_tx2_l4t(root.path());
  auto sensor = JetsonIna3221Sensor::open(root.path());
  EXPECT_THAT(names(*sensor), ElementsAre("VDD_SYS_GPU", "VDD_SYS_SOC", "VDD_4V0_WIFI", "VDD_IN", "VDD_SYS_CPU",
                                          "VDD_SYS_DDR", "VDD_MUX", "VDD_5V0_IO_SYS", "VDD_3V3_SYS"));
  EXPECT_EQ(sensor->board().module, "Jetson TX2");
  EXPECT_THAT(sensor->total_rails(), ElementsAre("VDD_IN", "VDD_MUX"));
  EXPECT_EQ(power_of(*sensor, "VDD_IN"), 19000 * 300 / 1000);
  EXPECT_THAT(sensor->description(), HasSubstr("L4T ina3221x"));
  EXPECT_THAT(sensor->description(), HasSubstr("0-0041/iio_device"));
}

TEST(JetsonIna3221Test, L4tReadsPowerAndDetailedReadsAddVoltageAndCurrent) {
  testing::TempDir root;
  testing::write_nano_l4t(root.path());
  auto sensor = JetsonIna3221Sensor::open(root.path());
  const auto index = sensor->rail_index("POM_5V_GPU");
  const RailReading fast = sensor->read(index);
  EXPECT_EQ(fast.power_mw, 500.0);
  EXPECT_FALSE(fast.voltage_mv);
  const RailReading detailed = sensor->read_detailed(index);
  EXPECT_EQ(detailed.power_mw, 500.0);
  EXPECT_EQ(detailed.voltage_mv, 5000.0);
  EXPECT_EQ(detailed.current_ma, 100.0);
}

TEST(JetsonIna3221Test, HwmonPowerIsVoltageTimesCurrentAndSkipsNcAndNonRails) {
  testing::TempDir root;
  testing::write_agx_orin_hwmon(root.path());
  auto sensor = JetsonIna3221Sensor::open(root.path());
  // No "NC" channels, no in4-in7 ("sum of shunt voltages") or curr4.
  EXPECT_THAT(names(*sensor), ElementsAre("VDD_GPU_SOC", "VDD_CPU_CV", "VIN_SYS_5V0", "VDDQ_VDD2_1V8AO"));
  const RailReading r = sensor->read(sensor->rail_index("VDD_GPU_SOC"));
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r.voltage_mv, 4984.0);
  EXPECT_EQ(r.current_ma, 644.0);
  EXPECT_DOUBLE_EQ(*r.power_mw, 4984.0 * 644.0 / 1000.0);
  EXPECT_THAT(sensor->description(), HasSubstr("mainline hwmon"));
}

TEST(JetsonIna3221Test, AgxOrinTotalLeavesOutTheRailFedByVinSys5v0) {
  testing::TempDir root;
  testing::write_agx_orin_hwmon(root.path());
  auto sensor = JetsonIna3221Sensor::open(root.path());
  EXPECT_EQ(sensor->board().module, "Jetson AGX Orin");
  EXPECT_EQ(sensor->model(), "NVIDIA Jetson AGX Orin Developer Kit");
  EXPECT_EQ(sensor->total_rail_label(), "VDD_GPU_SOC+VDD_CPU_CV+VIN_SYS_5V0");
  const SensorSnapshot snapshot = take_snapshot(*sensor);
  ASSERT_TRUE(snapshot.total_power_mw);
  EXPECT_DOUBLE_EQ(*snapshot.total_power_mw, (4984.0 * 644 + 4984.0 * 160 + 4976.0 * 480) / 1000.0);
}

TEST(JetsonIna3221Test, AgxOrinIsRecognisedByItsRailsWithoutADeviceTree) {
  testing::TempDir root;
  testing::write_agx_orin_hwmon(root.path(), /*with_model=*/false);
  auto sensor = JetsonIna3221Sensor::open(root.path());
  EXPECT_EQ(sensor->model(), "");
  EXPECT_EQ(sensor->board().module, "Jetson AGX Orin");
  EXPECT_EQ(sensor->total_rail_label(), "VDD_GPU_SOC+VDD_CPU_CV+VIN_SYS_5V0");
}

TEST(JetsonIna3221Test, AgxXavierTotalIsTheSumOfItsSixRails) {
  testing::TempDir root;
  testing::write_agx_xavier_l4t(root.path());
  auto sensor = JetsonIna3221Sensor::open(root.path());
  EXPECT_EQ(sensor->board().module, "Jetson AGX Xavier");
  EXPECT_EQ(sensor->total_rail_label(), "GPU+CPU+SOC+CV+VDDRQ+SYS5V");
  const SensorSnapshot snapshot = take_snapshot(*sensor);
  ASSERT_TRUE(snapshot.total_power_mw);
  EXPECT_DOUBLE_EQ(*snapshot.total_power_mw, 19.0 * (50 + 60 + 70 + 10 + 20) + 5.0 * 300);
}

TEST(JetsonIna3221Test, ModuleInputRailIsTheTotalOnNanoXavierNxAndOrinNx) {
  {
    testing::TempDir root;
    testing::write_nano_l4t(root.path());
    auto sensor = JetsonIna3221Sensor::open(root.path());
    EXPECT_EQ(sensor->board().module, "Jetson Nano");
    EXPECT_THAT(sensor->total_rails(), ElementsAre("POM_5V_IN"));
  }
  {
    testing::TempDir root;
    testing::write_xavier_nx_l4t(root.path());
    auto sensor = JetsonIna3221Sensor::open(root.path());
    EXPECT_EQ(sensor->board().module, "Jetson Xavier NX");
    EXPECT_THAT(sensor->total_rails(), ElementsAre("VDD_IN"));
  }
  {
    testing::TempDir root;
    testing::write_orin_nx_hwmon(root.path());
    auto sensor = JetsonIna3221Sensor::open(root.path());
    EXPECT_EQ(sensor->board().module, "Jetson Orin NX");
    EXPECT_THAT(sensor->total_rails(), ElementsAre("VDD_IN"));
  }
}

TEST(JetsonIna3221Test, BoardTotalRulesPerModule) {
  const std::vector<std::string> nx_rails = {"VDD_IN", "VDD_CPU_GPU_CV", "VDD_SOC"};
  EXPECT_EQ(jetson_board_total("NVIDIA Jetson Orin Nano Developer Kit", nx_rails).module, "Jetson Orin Nano");
  EXPECT_EQ(jetson_board_total("NVIDIA Jetson TX2 NX Developer Kit", {"VDD_IN", "VDD_CPU_GPU", "VDD_SOC"}).module,
            "Jetson TX2 NX");
  // Without a model string the Xavier NX / Orin NX / Orin Nano rails cannot tell the module
  // apart, but they agree on the total.
  const JetsonBoardTotal unnamed = jetson_board_total("", nx_rails);
  EXPECT_THAT(unnamed.module, HasSubstr("Orin NX"));
  EXPECT_THAT(unnamed.rails, ElementsAre("VDD_IN"));
  // TX1: module input plus the carrier board's input, in parallel, when the carrier's monitor is there.
  EXPECT_THAT(jetson_board_total("jetson_tx1", {"VDD_IN", "VDD_GPU", "VDD_CPU", "VDD_MUX"}).rails,
              ElementsAre("VDD_IN", "VDD_MUX"));
  EXPECT_THAT(jetson_board_total("jetson_tx1", {"VDD_IN", "VDD_GPU", "VDD_CPU"}).rails, ElementsAre("VDD_IN"));
  // A model whose rails are not all there: the rails decide.
  EXPECT_THAT(jetson_board_total("NVIDIA Jetson AGX Orin Developer Kit", {"VDD_IN", "VDD_SOC"}).rails,
              ElementsAre("VDD_IN"));
  // Nothing known: the sum of everything, said so.
  const JetsonBoardTotal unknown = jetson_board_total("", {"RAIL_A", "RAIL_B"});
  EXPECT_THAT(unknown.rails, ElementsAre("RAIL_A", "RAIL_B"));
  EXPECT_THAT(unknown.rule, HasSubstr("sum of all rails"));
}

TEST(JetsonIna3221Test, RailsAreFoundOnAnyBusAddressAndHwmonNumber) {
  testing::TempDir root;
  testing::write_hwmon_chip(root.path(), "2-0043", "hwmon11", {{"VDD_IN", 5000, 1000}});
  testing::write_l4t_chip(root.path(), "8-0042", "iio:device5", {{"VDD_MUX", 5000, 200}});
  auto sensor = JetsonIna3221Sensor::open(root.path());
  EXPECT_THAT(names(*sensor), ElementsAre("VDD_IN", "VDD_MUX"));  // in order of bus and address
  EXPECT_THAT(sensor->description(), HasSubstr("L4T ina3221x and mainline hwmon ina3221"));
}

TEST(JetsonIna3221Test, ChipsAreAlsoFoundAmongI2cDevicesByName) {
  testing::TempDir root;
  // Only /sys/bus/i2c/devices, as in a tree copied without the driver links.
  const auto dir = root.path() / "sys/bus/i2c/devices/1-0040";
  testing::write_text(dir / "name", "ina3221\n");
  testing::write_text(dir / "hwmon/hwmon2/in1_label", "VDD_IN\n");
  testing::write_text(dir / "hwmon/hwmon2/in1_input", "5000\n");
  testing::write_text(dir / "hwmon/hwmon2/curr1_input", "1200\n");
  testing::write_text(root.path() / "sys/bus/i2c/devices/1-0050/name", "at24\n");  // an EEPROM
  auto sensor = JetsonIna3221Sensor::open(root.path());
  EXPECT_THAT(names(*sensor), ElementsAre("VDD_IN"));
  EXPECT_EQ(power_of(*sensor, "VDD_IN"), 6000.0);
}

TEST(JetsonIna3221Test, AChipLinkedFromDriverAndDevicesIsReadOnce) {
  testing::TempDir root;
  testing::write_orin_nx_hwmon(root.path());
  std::filesystem::create_directories(root.path() / "sys/bus/i2c/devices");
  std::filesystem::create_directory_symlink(root.path() / "sys/bus/i2c/drivers/ina3221/1-0040",
                                            root.path() / "sys/bus/i2c/devices/1-0040");
  auto sensor = JetsonIna3221Sensor::open(root.path());
  EXPECT_THAT(names(*sensor), ElementsAre("VDD_IN", "VDD_CPU_GPU_CV", "VDD_SOC"));
}

TEST(JetsonIna3221Test, ALinkToTheSameIioDirectoryIsReadOnce) {
  testing::TempDir root;
  const auto dir = testing::write_l4t_chip(root.path(), "1-0040", "iio:device0", {{"VDD_IN", 5000, 1000}});
  std::filesystem::create_directory_symlink(dir, dir.parent_path() / "iio_device");
  auto sensor = JetsonIna3221Sensor::open(root.path());
  EXPECT_THAT(names(*sensor), ElementsAre("VDD_IN"));
}

TEST(JetsonIna3221Test, HwmonUpdateIntervalIsTheSensorsInterval) {
  testing::TempDir root;
  testing::write_hwmon_chip(root.path(), "1-0040", "hwmon1", {{"VDD_IN", 5000, 1000}}, /*update_interval_ms=*/7);
  auto sensor = JetsonIna3221Sensor::open(root.path());
  EXPECT_EQ(sensor->update_interval(), std::chrono::milliseconds(7));
}

TEST(JetsonIna3221Test, DisabledHwmonChannelIsSkippedWithAWarning) {
  testing::TempDir root;
  const auto dir = testing::write_hwmon_chip(root.path(), "1-0040", "hwmon1", {{"VDD_IN", 5000, 1000}, {"VDD_SOC", 5000, 100}});
  testing::overwrite(dir / "in2_enable", "0\n");
  auto sensor = JetsonIna3221Sensor::open(root.path());
  EXPECT_THAT(names(*sensor), ElementsAre("VDD_IN"));
  ASSERT_EQ(sensor->warnings().size(), 1u);
  EXPECT_THAT(sensor->warnings()[0], HasSubstr("VDD_SOC"));
  EXPECT_THAT(sensor->warnings()[0], HasSubstr("disabled"));
}

TEST(JetsonIna3221Test, NoRailsMeansUnavailableSayingWhereItLooked) {
  testing::TempDir root;
  try {
    JetsonIna3221Sensor::open(root.path());
    FAIL() << "expected SensorUnavailable";
  } catch (const SensorUnavailable& e) {
    EXPECT_THAT(e.what(), HasSubstr("no INA3221 rails under " + (root.path() / "sys/bus/i2c").string()));
  }
}

TEST(JetsonIna3221Test, MissingValueFileIsAReadErrorNamingThePath) {
  testing::TempDir root;
  const auto dir = testing::write_l4t_chip(root.path(), "1-0040", "iio:device0", {{"VDD_IN", 5000, 1000}, {"VDD_GPU", 5000, 100}});
  std::filesystem::remove(dir / "in_power1_input");
  auto sensor = JetsonIna3221Sensor::open(root.path());
  const RailReading r = sensor->read(sensor->rail_index("VDD_GPU"));
  EXPECT_FALSE(r.ok());
  EXPECT_FALSE(r.power_mw);
  EXPECT_THAT(r.error, HasSubstr((dir / "in_power1_input").string()));
  EXPECT_THAT(r.error, HasSubstr("No such file or directory"));
  // The other rail is unaffected.
  EXPECT_EQ(power_of(*sensor, "VDD_IN"), 5000.0);
}

TEST(JetsonIna3221Test, NonNumericContentIsAReadError) {
  testing::TempDir root;
  const auto dir = testing::write_hwmon_chip(root.path(), "1-0040", "hwmon1", {{"VDD_IN", 5000, 1000}});
  testing::overwrite(dir / "curr1_input", "n/a\n");
  auto sensor = JetsonIna3221Sensor::open(root.path());
  RailReading r = sensor->read(0);
  EXPECT_THAT(r.error, HasSubstr("curr1_input: not a number: 'n/a'"));
  testing::overwrite(dir / "curr1_input", "");
  r = sensor->read(0);
  EXPECT_THAT(r.error, HasSubstr("curr1_input: empty file"));
  testing::overwrite(dir / "curr1_input", "12abc\n");
  r = sensor->read(0);
  EXPECT_THAT(r.error, HasSubstr("not a number: '12abc'"));
  // Back to a number: the same open file reads it.
  testing::overwrite(dir / "curr1_input", "2000\n");
  r = sensor->read(0);
  EXPECT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r.power_mw, 10000.0);
}

TEST(JetsonIna3221Test, PermissionDeniedIsAReadErrorThatSaysWhatToDo) {
  testing::TempDir root;
  const auto dir = testing::write_hwmon_chip(root.path(), "1-0040", "hwmon1", {{"VDD_IN", 5000, 1000}});
  ASSERT_EQ(::chmod((dir / "in1_input").c_str(), 0400), 0);  // root-only, as a locked-down board might have it
  const testing::UnprivilegedResult result = testing::run_unprivileged([&] {
    auto sensor = JetsonIna3221Sensor::open(root.path());
    return sensor->read(0).error;
  });
  if (!result.ran) GTEST_SKIP() << result.output;
  EXPECT_THAT(result.output, HasSubstr("cannot open " + (dir / "in1_input").string() + ": Permission denied"));
  EXPECT_THAT(result.output, HasSubstr("run as root or grant read permission"));
}

TEST(JetsonIna3221Test, UnreadableLabelSkipsTheChannelWithAWarning) {
  testing::TempDir root;
  const auto dir = testing::write_l4t_chip(root.path(), "1-0040", "iio:device0", {{"VDD_IN", 5000, 1000}, {"VDD_GPU", 5000, 100}});
  ASSERT_EQ(::chmod((dir / "rail_name_1").c_str(), 0400), 0);
  const testing::UnprivilegedResult result = testing::run_unprivileged([&] {
    auto sensor = JetsonIna3221Sensor::open(root.path());
    std::string out = std::to_string(sensor->rails().size()) + "|";
    for (const auto& w : sensor->warnings()) out += w;
    return out;
  });
  if (!result.ran) GTEST_SKIP() << result.output;
  EXPECT_THAT(result.output, HasSubstr("1|skipped channel: cannot open " + (dir / "rail_name_1").string()));
}

TEST(JetsonIna3221Test, ReadsThisBoardsRails_Hardware) {
  std::unique_ptr<JetsonIna3221Sensor> sensor;
  try {
    sensor = JetsonIna3221Sensor::open("/");
  } catch (const SensorUnavailable& e) {
    GTEST_SKIP() << "not a Jetson: " << e.what();
  }
  const SensorSnapshot snapshot = take_snapshot(*sensor);
  ASSERT_TRUE(snapshot.total_power_mw) << sensor->description();
  EXPECT_GT(*snapshot.total_power_mw, 0.0);  // a running board draws power
}

}  // namespace
}  // namespace joules::profiling
