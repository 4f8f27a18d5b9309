// RAPL powercap zones on fake sysfs trees: naming, the total, wrap-around of the counter and the
// permission error most users meet first.

#include "energy/profiling/rapl.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sys/stat.h>

#include <thread>

#include "tests/energy/profiling/fake_sysfs.hpp"
#include "tests/energy/profiling/unprivileged.hpp"
#include "tests/support/temp_dir.hpp"

namespace joules::profiling {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(RaplTest, ZonesAreRailsNamedAfterTheirPackage) {
  testing::TempDir root;
  testing::write_text(root.path() / "sys/class/powercap/intel-rapl/enabled", "1\n");  // the control type
  testing::write_rapl_zone(root.path(), "intel-rapl:0", "package-0", 1000);
  testing::write_rapl_zone(root.path(), "intel-rapl:0:0", "core", 500);
  testing::write_rapl_zone(root.path(), "intel-rapl:0:1", "dram", 200);
  testing::write_rapl_zone(root.path(), "intel-rapl:1", "package-1", 3000);
  testing::write_rapl_zone(root.path(), "intel-rapl-mmio:0", "package-0", 1000);  // the same package again
  auto sensor = RaplSensor::open(root.path());
  std::vector<std::string> names;
  for (const auto& rail : sensor->rails()) names.push_back(rail.name);
  EXPECT_THAT(names, ElementsAre("package-0", "package-0/core", "package-0/dram", "package-1"));
  EXPECT_THAT(sensor->total_rails(), ElementsAre("package-0", "package-1"));
  EXPECT_TRUE(sensor->rails()[0].has_energy);
  EXPECT_FALSE(sensor->rails()[0].has_power);
  EXPECT_EQ(sensor->read(0).energy_mj, 0.0);
}

TEST(RaplTest, PsysIsTheTotalWhenThereIsOne) {
  testing::TempDir root;
  testing::write_rapl_zone(root.path(), "intel-rapl:0", "package-0", 1000);
  testing::write_rapl_zone(root.path(), "intel-rapl:1", "psys", 1000);
  auto sensor = RaplSensor::open(root.path());
  EXPECT_THAT(sensor->total_rails(), ElementsAre("psys"));
}

TEST(RaplTest, CounterWrapAroundIsUndone) {
  testing::TempDir root;
  const long long range = 1000000;  // uJ
  const auto zone = testing::write_rapl_zone(root.path(), "intel-rapl:0", "package-0", range - 3000, range);
  auto sensor = RaplSensor::open(root.path());
  testing::overwrite(zone / "energy_uj", std::to_string(range - 1000) + "\n");
  EXPECT_DOUBLE_EQ(*sensor->read(0).energy_mj, 2.0);  // 2000 uJ
  testing::overwrite(zone / "energy_uj", "4000\n");     // wrapped: 1000 uJ to the top, then 4000
  EXPECT_DOUBLE_EQ(*sensor->read(0).energy_mj, 7.0);
  testing::overwrite(zone / "energy_uj", "10000\n");
  EXPECT_DOUBLE_EQ(*sensor->read(0).energy_mj, 13.0);
}

// A counter outside [0, max_energy_range_uj] is a fault, not a wrap that would add energy.
TEST(RaplTest, ACounterOutsideItsRangeIsAFault) {
  testing::TempDir root;
  const auto zone = testing::write_rapl_zone(root.path(), "intel-rapl:0", "package-0", 5000, 1000000);
  auto sensor = RaplSensor::open(root.path());
  testing::overwrite(zone / "energy_uj", "-20\n");
  EXPECT_EQ(sensor->read(0).error,
            (zone / "energy_uj").string() + ": fault: energy counter -20 uJ is outside [0, 1000000] (max_energy_range_uj)");
  testing::overwrite(zone / "energy_uj", "9223372036854775807\n");
  EXPECT_THAT(sensor->read(0).error, HasSubstr("fault: energy counter 9223372036854775807 uJ"));
  testing::overwrite(zone / "energy_uj", "6000\n");
  EXPECT_DOUBLE_EQ(*sensor->read(0).energy_mj, 1.0) << "the faults added nothing";
}

TEST(RaplTest, WrapWithoutAKnownRangeIsAReadError) {
  testing::TempDir root;
  const auto zone = testing::write_rapl_zone(root.path(), "intel-rapl:0", "package-0", 5000);
  std::filesystem::remove(zone / "max_energy_range_uj");
  auto sensor = RaplSensor::open(root.path());
  ASSERT_EQ(sensor->warnings().size(), 1u);
  EXPECT_THAT(sensor->warnings()[0], HasSubstr("max_energy_range_uj unreadable"));
  testing::overwrite(zone / "energy_uj", "100\n");
  EXPECT_THAT(sensor->read(0).error, HasSubstr("counter went back from 5000 to 100 uJ"));
}

TEST(RaplTest, NoZonesMeansUnavailable) {
  testing::TempDir root;
  try {
    RaplSensor::open(root.path());
    FAIL() << "expected SensorUnavailable";
  } catch (const SensorUnavailable& e) {
    EXPECT_THAT(e.what(), HasSubstr("no RAPL zones (intel-rapl:*) under " + (root.path() / "sys/class/powercap").string()));
  }
}

TEST(RaplTest, UnreadableCounterLeavesTheZoneOut) {
  testing::TempDir root;
  testing::write_rapl_zone(root.path(), "intel-rapl:0", "package-0", 1000);
  const auto bad = testing::write_rapl_zone(root.path(), "intel-rapl:1", "package-1", 1000);
  testing::overwrite(bad / "energy_uj", "garbage\n");
  auto sensor = RaplSensor::open(root.path());
  ASSERT_EQ(sensor->rails().size(), 1u);
  EXPECT_THAT(sensor->warnings(), ElementsAre(HasSubstr("skipped package-1: ")));
  EXPECT_THAT(sensor->warnings()[0], HasSubstr("not a number: 'garbage'"));
}

TEST(RaplTest, PermissionDeniedExplainsWhyAndHowToGrantAccess) {
  testing::TempDir root;
  const auto zone = testing::write_rapl_zone(root.path(), "intel-rapl:0", "package-0", 1000);
  ASSERT_EQ(::chmod((zone / "energy_uj").c_str(), 0400), 0);  // the mode Linux >= 5.10 gives it
  const testing::UnprivilegedResult result = testing::run_unprivileged([&] {
    RaplSensor::open(root.path());
    return std::string("opened");
  });
  if (!result.ran) GTEST_SKIP() << result.output;
  EXPECT_THAT(result.output, HasSubstr("exception: permission denied reading " + (zone / "energy_uj").string()));
  EXPECT_THAT(result.output, HasSubstr("CVE-2020-8694"));
  EXPECT_THAT(result.output, HasSubstr("run joules as root"));
  EXPECT_THAT(result.output, HasSubstr("chmod o+r"));
}

TEST(RaplTest, CountsThisMachinesEnergy_Hardware) {
  std::unique_ptr<RaplSensor> sensor;
  try {
    sensor = RaplSensor::open("/");
  } catch (const SensorUnavailable& e) {
    GTEST_SKIP() << "no readable RAPL here: " << e.what();
  }
  const RailReading first = sensor->read(0);
  ASSERT_TRUE(first.ok()) << first.error;
  // A running processor spends energy: the counter moves within a few of its 1 ms updates.
  double energy = *first.energy_mj;
  for (int i = 0; i < 200 && energy == *first.energy_mj; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    energy = sensor->read(0).energy_mj.value_or(energy);
  }
  EXPECT_GT(energy, *first.energy_mj);
}

}  // namespace
}  // namespace joules::profiling
