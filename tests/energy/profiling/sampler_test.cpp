// The sampler on fake sysfs trees: energy over a window, a writer thread changing values while
// it samples, read errors, stale sensors, the sensor's update interval, calibration, counters
// with a wrap-around.

#include "energy/profiling/sampler.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <thread>

#include "energy/profiling/jetson_ina3221.hpp"
#include "energy/profiling/rapl.hpp"
#include "energy/profiling/timer_estimate.hpp"
#include "tests/energy/profiling/fake_sysfs.hpp"
#include "tests/energy/profiling/read_counting_sensor.hpp"
#include "tests/support/temp_dir.hpp"

namespace joules::profiling {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

void sleep_ms(int ms) { std::this_thread::sleep_for(milliseconds(ms)); }

TEST(SamplerTest, ConstantPowerGivesPowerTimesWindow) {
  testing::TempDir root;
  testing::write_agx_orin_hwmon(root.path());
  auto sensor = JetsonIna3221Sensor::open(root.path());
  Sampler sampler(*sensor, {.rate_hz = 1000});
  EXPECT_THAT(sampler.rail_names(), ElementsAre("VDD_GPU_SOC", "VDD_CPU_CV", "VIN_SYS_5V0"));
  const auto before = Clock::now();
  sampler.start();
  sleep_ms(100);
  const WindowMeasurement m = sampler.stop();
  const double outer_s = std::chrono::duration<double>(Clock::now() - before).count();
  const double total_mw = (4984.0 * 644 + 4984.0 * 160 + 4976.0 * 480) / 1000.0;
  EXPECT_EQ(m.kind, SensorKind::jetson_ina3221);
  EXPECT_FALSE(m.estimate);
  EXPECT_EQ(m.rails_label, "VDD_GPU_SOC+VDD_CPU_CV+VIN_SYS_5V0");
  EXPECT_GE(m.window_s, 0.1);
  EXPECT_LE(m.window_s, outer_s);
  EXPECT_NEAR(m.mean_power_mw, total_mw, 1e-6);
  EXPECT_NEAR(m.energy_mj, total_mw * m.window_s, 1e-6);
  EXPECT_EQ(m.read_errors, 0u);
  EXPECT_FALSE(m.stale);
  EXPECT_DOUBLE_EQ(m.interval_s, 0.001);
  // About one sample per millisecond; a busy machine may skip some instants, never add any.
  EXPECT_LE(m.samples, static_cast<std::size_t>(m.window_s / m.interval_s) + 2);
  EXPECT_GE(m.samples + m.missed_ticks, static_cast<std::size_t>(m.window_s / m.interval_s) - 1);
  ASSERT_EQ(m.rails.size(), 3u);
  EXPECT_NEAR(m.rails[2].mean_power_mw, 4976.0 * 480 / 1000, 1e-6);
}

TEST(SamplerTest, ChosenRailsOnlyAndUnknownRailsListTheChoices) {
  testing::TempDir root;
  testing::write_xavier_nx_l4t(root.path());
  auto sensor = JetsonIna3221Sensor::open(root.path());
  Sampler gpu_only(*sensor, {.rate_hz = 1000, .rails = {"VDD_CPU_GPU_CV"}});
  const WindowMeasurement m = measure_idle(gpu_only, milliseconds(20));
  EXPECT_EQ(m.rails_label, "VDD_CPU_GPU_CV");
  EXPECT_NEAR(m.mean_power_mw, 1500.0, 1e-9);
  try {
    Sampler wrong(*sensor, {.rails = {"VDD_GPU"}});
    FAIL() << "expected invalid_argument";
  } catch (const std::invalid_argument& e) {
    EXPECT_THAT(e.what(), HasSubstr("no rail 'VDD_GPU' (rails: VDD_IN, VDD_CPU_GPU_CV, VDD_SOC)"));
  }
}

TEST(SamplerTest, WriterChangingPowerMidWindowIsIntegrated) {
  testing::TempDir root;
  const auto dir = testing::write_l4t_chip(root.path(), "1-0040", "iio:device0", {{"VDD_IN", 5000, 200}});
  const auto file = dir / "in_power0_input";
  testing::overwrite(file, "1000\n");
  auto jetson = JetsonIna3221Sensor::open(root.path());
  testing::ReadCountingSensor sensor(*jetson);
  Sampler sampler(sensor, {.rate_hz = 1000});
  // Both levels are sampled several times however loaded the machine (reads are waited for,
  // not slept for): the window's power lies strictly between them.
  sampler.start();
  sensor.wait_for_reads(10);
  testing::overwrite(file, "3000\n");
  sensor.wait_for_reads(10);
  const WindowMeasurement m = sampler.stop();
  EXPECT_GT(m.mean_power_mw, 1000.0);
  EXPECT_LT(m.mean_power_mw, 3000.0);
  EXPECT_NEAR(m.energy_mj, m.mean_power_mw * m.window_s, 1e-9);
  EXPECT_EQ(m.read_errors, 0u);
  // Once the step is over, a window is at the new level exactly.
  EXPECT_NEAR(measure_idle(sampler, milliseconds(5)).mean_power_mw, 3000.0, 1e-9);
}

TEST(SamplerTest, WriterRampingValuesWhileSamplingNeverTearsAReading) {
  testing::TempDir root;
  const auto dir = testing::write_hwmon_chip(root.path(), "1-0040", "hwmon1", {{"VDD_IN", 5000, 100}});
  auto sensor = JetsonIna3221Sensor::open(root.path());
  auto hwmon = JetsonIna3221Sensor::open(root.path());
  testing::ReadCountingSensor counted(*hwmon);
  // Staleness is not what this test is about: a writer starved by a loaded machine is not an
  // error here.
  Sampler sampler(counted, {.rate_hz = 1000, .stale_after_intervals = 1000000});
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    for (int current = 100; !stop; current = current >= 9000 ? 100 : current + 7) {
      testing::overwrite(dir / "curr1_input", std::to_string(current) + "\n");
    }
  });
  sampler.start();
  counted.wait_for_reads(150);  // 150 reads while the writer rewrites the file
  const WindowMeasurement m = sampler.stop();
  stop = true;
  writer.join();
  EXPECT_EQ(m.read_errors, 0u) << m.rails[0].first_error;
  EXPECT_GE(m.samples, 150u);
  EXPECT_GE(m.mean_power_mw, 5000.0 * 100 / 1000);
  EXPECT_LE(m.mean_power_mw, 5000.0 * 9000 / 1000);
}

TEST(SamplerTest, ReadErrorsAreCountedAndTheGapIsBridged) {
  testing::TempDir root;
  const auto dir = testing::write_l4t_chip(root.path(), "1-0040", "iio:device0", {{"VDD_IN", 5000, 400}});
  const auto file = dir / "in_power0_input";
  auto jetson = JetsonIna3221Sensor::open(root.path());
  testing::ReadCountingSensor sensor(*jetson);
  Sampler sampler(sensor, {.rate_hz = 1000});
  // Reads waited for: one in flight may see the old content, the next ones see the new.
  sampler.start();
  sensor.wait_for_reads(3);
  testing::overwrite(file, "oops\n");
  sensor.wait_for_reads(3);
  testing::overwrite(file, "2000\n");
  sensor.wait_for_reads(3);
  const WindowMeasurement m = sampler.stop();
  EXPECT_GT(m.read_errors, 0u);
  EXPECT_EQ(m.read_errors, m.rails[0].read_errors);
  EXPECT_EQ(m.rails[0].samples + m.rails[0].read_errors, m.samples);
  EXPECT_THAT(m.rails[0].first_error, HasSubstr("in_power0_input: not a number: 'oops'"));
  // Whatever the failed reads hid, power stayed at 2000 mW: so does the bridged energy.
  EXPECT_NEAR(m.mean_power_mw, 2000.0, 1e-6);
}

TEST(SamplerTest, ARailThatNeverReadsFailsTheWindowNamingIt) {
  testing::TempDir root;
  const auto dir = testing::write_l4t_chip(root.path(), "1-0040", "iio:device0", {{"VDD_IN", 5000, 400}});
  std::filesystem::remove(dir / "in_power0_input");
  auto jetson = JetsonIna3221Sensor::open(root.path());
  testing::ReadCountingSensor sensor(*jetson);
  Sampler sampler(sensor, {.rate_hz = 1000});
  sampler.start();
  sensor.wait_for_reads(3);  // reads by the sampler's thread too, all failing
  try {
    sampler.stop();
    FAIL() << "expected SensorError";
  } catch (const SensorError& e) {
    EXPECT_THAT(e.what(), HasSubstr("rail VDD_IN: no successful read in a"));
    EXPECT_THAT(e.what(), HasSubstr("in_power0_input: No such file or directory"));
  }
  EXPECT_FALSE(sampler.running());
}

// A negative or absurd power is a fault, never integrated into energy.
TEST(SamplerTest, AnAbsurdPowerIsAFaultNotEnergy) {
  testing::TempDir root;
  const auto dir = testing::write_l4t_chip(root.path(), "1-0040", "iio:device0", {{"VDD_IN", 5000, 400}});
  testing::overwrite(dir / "in_power0_input", "-5\n");
  auto sensor = JetsonIna3221Sensor::open(root.path());
  Sampler sampler(*sensor, {.rate_hz = 1000});
  sampler.start();
  sleep_ms(10);
  try {
    sampler.stop();
    FAIL() << "expected SensorError";
  } catch (const SensorError& e) {
    EXPECT_THAT(e.what(), HasSubstr("rail VDD_IN: no successful read in a"));
    EXPECT_THAT(e.what(), HasSubstr("first: rail VDD_IN: fault: power -5 mW is outside [0, 10000000] mW"));
  }
}

TEST(SamplerTest, AValueThatStopsChangingIsStale) {
  testing::TempDir root;
  testing::write_l4t_chip(root.path(), "1-0040", "iio:device0", {{"VDD_IN", 5000, 400}});
  auto sensor = JetsonIna3221Sensor::open(root.path());
  Sampler sampler(*sensor, {.rate_hz = 200, .stale_after_intervals = 10});  // 50 ms
  const WindowMeasurement m = measure_idle(sampler, milliseconds(120));
  EXPECT_TRUE(m.stale);
  EXPECT_TRUE(m.rails[0].stale);
  EXPECT_GE(m.rails[0].longest_unchanged_s, 0.1);
}

TEST(SamplerTest, AChangingValueIsNotStale) {
  testing::TempDir root;
  const auto dir = testing::write_l4t_chip(root.path(), "1-0040", "iio:device0", {{"VDD_IN", 5000, 400}});
  auto jetson = JetsonIna3221Sensor::open(root.path());
  // The value changes after every read (in the sampler's thread): no writer thread to starve.
  int i = 0;
  testing::ReadCountingSensor sensor(*jetson, [&] {
    testing::overwrite(dir / "in_power0_input", std::to_string(1000 + ++i % 50) + "\n");
  });
  Sampler sampler(sensor, {.rate_hz = 200, .stale_after_intervals = 40});  // 200 ms
  const WindowMeasurement m = measure_idle(sampler, milliseconds(300));
  EXPECT_FALSE(m.stale) << "longest unchanged " << m.rails[0].longest_unchanged_s << " s";
}

TEST(SamplerTest, NeverSamplesFasterThanTheSensorUpdates) {
  testing::TempDir root;
  testing::write_hwmon_chip(root.path(), "1-0040", "hwmon1", {{"VDD_IN", 5000, 1000}}, /*update_interval_ms=*/5);
  auto sensor = JetsonIna3221Sensor::open(root.path());
  Sampler sampler(*sensor, {.rate_hz = 1000});
  EXPECT_EQ(sampler.interval(), milliseconds(5));
  const WindowMeasurement m = measure_idle(sampler, milliseconds(100));
  EXPECT_DOUBLE_EQ(m.interval_s, 0.005);
  EXPECT_LE(m.samples, static_cast<std::size_t>(m.window_s / 0.005) + 2);
}

TEST(SamplerTest, CalibrationIsAppliedToEverySampleAndRecorded) {
  testing::TempDir root;
  testing::write_l4t_chip(root.path(), "1-0040", "iio:device0", {{"VDD_IN", 5000, 400}, {"VDD_GPU", 5000, 100}});
  auto sensor = JetsonIna3221Sensor::open(root.path());
  const std::vector<CalibrationPoint> points = {{1000, 1600}, {2000, 3100}, {4000, 6100}};
  const RailCalibration calibration = fit_calibration("VDD_IN", points);  // 1.5 x + 100
  Sampler sampler(*sensor, {.rate_hz = 1000, .rails = {"VDD_IN", "VDD_GPU"}, .calibrations = {calibration}});
  const WindowMeasurement m = measure_idle(sampler, milliseconds(50));
  ASSERT_EQ(m.rails.size(), 2u);
  EXPECT_NEAR(m.rails[0].mean_power_mw, 1.5 * 2000 + 100, 1e-6);
  EXPECT_EQ(m.rails[0].calibration, calibration);
  EXPECT_NEAR(m.rails[1].mean_power_mw, 500.0, 1e-6);
  EXPECT_FALSE(m.rails[1].calibration);
  try {
    Sampler wrong(*sensor, {.calibrations = {fit_calibration("VDD_SYS_GPU", points)}});
    FAIL() << "expected invalid_argument";
  } catch (const std::invalid_argument& e) {
    EXPECT_THAT(e.what(), HasSubstr("no rail 'VDD_SYS_GPU'"));
  }
}

TEST(SamplerTest, RaplCounterWindowSpansAWrapExactly) {
  testing::TempDir root;
  const long long range = 10000000;  // uJ
  const auto zone = testing::write_rapl_zone(root.path(), "intel-rapl:0", "package-0", range - 250000, range);
  auto rapl = RaplSensor::open(root.path());
  testing::ReadCountingSensor sensor(*rapl);
  Sampler sampler(sensor, {.rate_hz = 1000});
  sampler.start();
  sensor.wait_for_reads(3);
  testing::overwrite(zone / "energy_uj", "150000\n");  // 250 mJ to the top, wrap, 150 mJ more
  sensor.wait_for_reads(3);
  const WindowMeasurement m = sampler.stop();
  EXPECT_EQ(m.kind, SensorKind::rapl);
  EXPECT_DOUBLE_EQ(m.energy_mj, 400.0);
  EXPECT_EQ(m.read_errors, 0u);
}

TEST(SamplerTest, TimerEstimateIsLabelledAndNeverStale) {
  TimerEstimateSensor sensor({.power_mw = 7000});
  Sampler sampler(sensor, {.rate_hz = 1000, .stale_after_intervals = 2});
  const WindowMeasurement m = measure_idle(sampler, milliseconds(30));
  EXPECT_TRUE(m.estimate);
  EXPECT_EQ(m.kind, SensorKind::timer_estimate);
  EXPECT_FALSE(m.stale);
  EXPECT_NEAR(m.energy_mj, 7000.0 * m.window_s, 1e-9);
  std::ostringstream text;
  text << m;
  EXPECT_THAT(text.str(), HasSubstr("ESTIMATE timer-estimate [estimate]"));
}

TEST(SamplerTest, StartStopMisuseAndBadOptionsAreErrors) {
  TimerEstimateSensor sensor;
  Sampler sampler(sensor);
  EXPECT_THAT([&] { sampler.stop(); }, ::testing::ThrowsMessage<std::logic_error>(HasSubstr("not running")));
  sampler.start();
  try {
    sampler.start();
    FAIL() << "expected logic_error";
  } catch (const std::logic_error& e) {
    EXPECT_THAT(e.what(), HasSubstr("already running"));
  }
  sampler.stop();
  try {
    Sampler bad(sensor, {.rate_hz = 0});
    FAIL() << "expected invalid_argument";
  } catch (const std::invalid_argument& e) {
    EXPECT_THAT(e.what(), HasSubstr("rate_hz must be in (0, 100000], got 0"));
  }
  try {
    Sampler bad(sensor, {.stale_after_intervals = 1});
    FAIL() << "expected invalid_argument";
  } catch (const std::invalid_argument& e) {
    EXPECT_THAT(e.what(), HasSubstr("stale_after_intervals must be at least 2, got 1"));
  }
}

TEST(SamplerTest, MeasureStopsTheSamplerWhenTheWorkloadThrows) {
  TimerEstimateSensor sensor;
  Sampler sampler(sensor);
  EXPECT_THAT([&] { measure(sampler, [] { throw std::runtime_error("workload failed"); }); },
              ::testing::ThrowsMessage<std::runtime_error>(HasSubstr("workload failed")));
  EXPECT_FALSE(sampler.running());
  // And it can measure again.
  const WindowMeasurement m = measure(sampler, [] { sleep_ms(5); });
  EXPECT_GE(m.window_s, 0.005);
}

}  // namespace
}  // namespace joules::profiling
