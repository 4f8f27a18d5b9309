// The NVML sensor against a fake libnvidia-ml built by the tests: dlopen, energy counter versus
// power polling, init failures, and the message when there is no driver at all.

#include "energy/profiling/nvml.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <dlfcn.h>
#include <stdlib.h>

#include "energy/profiling/discovery.hpp"
#include "energy/profiling/sampler.hpp"
#include "tests/energy/profiling/read_counting_sensor.hpp"

namespace joules::profiling {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// The fake library, loaded a second time by the test to steer it: dlopen of the same path
// returns the same handle, hence the same state the sensor sees.
class NvmlTest : public ::testing::Test {
 protected:
  void SetUp() override {
    handle_ = dlopen(FAKE_NVML_LIBRARY, RTLD_NOW | RTLD_LOCAL);
    ASSERT_NE(handle_, nullptr) << dlerror();
    configure_ = reinterpret_cast<void (*)(int, unsigned, unsigned, int)>(dlsym(handle_, "fake_nvml_configure"));
    set_energy_ = reinterpret_cast<void (*)(unsigned, unsigned long long)>(dlsym(handle_, "fake_nvml_set_energy_mj"));
    ASSERT_NE(configure_, nullptr);
    ASSERT_NE(set_energy_, nullptr);
    configure_(/*init_rc=*/0, /*count=*/1, /*power=*/42000, /*supports_energy=*/1);
    set_energy_(0, 1000000);
    set_energy_(1, 2000000);
  }
  void TearDown() override {
    if (handle_) dlclose(handle_);
  }
  static NvmlOptions fake() { return NvmlOptions{FAKE_NVML_LIBRARY}; }

  void* handle_ = nullptr;
  void (*configure_)(int, unsigned, unsigned, int) = nullptr;
  void (*set_energy_)(unsigned, unsigned long long) = nullptr;
};

TEST_F(NvmlTest, AbsentDriverSaysSo) {
  try {
    NvmlSensor::open(NvmlOptions{"libnvidia-ml-absent-for-this-test.so.1"});
    FAIL() << "expected SensorUnavailable";
  } catch (const SensorUnavailable& e) {
    EXPECT_THAT(e.what(), HasSubstr("cannot load NVML (libnvidia-ml-absent-for-this-test.so.1)"));
    EXPECT_THAT(e.what(), HasSubstr("comes with the NVIDIA driver, which is not installed here"));
  }
}

TEST_F(NvmlTest, LibraryComesFromTheOptionThenTheEnvironmentThenTheDriversName) {
  ::unsetenv("JOULES_NVML_LIBRARY");
  EXPECT_EQ(nvml_library_name({}), "libnvidia-ml.so.1");
  ::setenv("JOULES_NVML_LIBRARY", "/opt/nvml/libnvidia-ml.so.1", 1);
  EXPECT_EQ(nvml_library_name({}), "/opt/nvml/libnvidia-ml.so.1");
  EXPECT_EQ(nvml_library_name(NvmlOptions{"/x/lib.so"}), "/x/lib.so");
  ::unsetenv("JOULES_NVML_LIBRARY");
}

TEST_F(NvmlTest, EnergyCounterGpusReportMillijoulesSinceOpen) {
  configure_(0, 2, 42000, 1);
  auto sensor = NvmlSensor::open(fake());
  ASSERT_EQ(sensor->rails().size(), 2u);
  EXPECT_EQ(sensor->rails()[0].name, "gpu0");
  EXPECT_TRUE(sensor->rails()[0].has_energy);
  EXPECT_FALSE(sensor->rails()[0].has_power);
  EXPECT_THAT(sensor->rails()[1].location, HasSubstr("Fake GPU 1, total-energy counter"));
  EXPECT_THAT(sensor->total_rails(), ElementsAre("gpu0", "gpu1"));
  EXPECT_EQ(sensor->read(0).energy_mj, 0.0);
  set_energy_(0, 1000000 + 2500);
  EXPECT_EQ(sensor->read(0).energy_mj, 2500.0);
  const RailReading detailed = sensor->read_detailed(1);
  EXPECT_EQ(detailed.energy_mj, 0.0);
  EXPECT_EQ(detailed.power_mw, 42001.0);
}

TEST_F(NvmlTest, GpusWithoutAnEnergyCounterArePolledForPower) {
  configure_(0, 1, 35000, /*supports_energy=*/0);
  auto sensor = NvmlSensor::open(fake());
  ASSERT_EQ(sensor->rails().size(), 1u);
  EXPECT_TRUE(sensor->rails()[0].has_power);
  EXPECT_FALSE(sensor->rails()[0].has_energy);
  EXPECT_THAT(sensor->rails()[0].location, HasSubstr("power polling"));
  const RailReading r = sensor->read(0);
  EXPECT_EQ(r.power_mw, 35000.0);
  EXPECT_FALSE(r.energy_mj);
}

TEST_F(NvmlTest, InitFailureNamesNvmlsError) {
  configure_(/*init_rc=*/9, 1, 42000, 1);
  try {
    NvmlSensor::open(fake());
    FAIL() << "expected SensorUnavailable";
  } catch (const SensorUnavailable& e) {
    EXPECT_THAT(e.what(), HasSubstr("nvmlInit_v2 failed: Driver Not Loaded (NVML error 9)"));
  }
}

TEST_F(NvmlTest, NoGpuIsUnavailable) {
  configure_(0, 0, 42000, 1);
  try {
    NvmlSensor::open(fake());
    FAIL() << "expected SensorUnavailable";
  } catch (const SensorUnavailable& e) {
    EXPECT_THAT(e.what(), HasSubstr("NVML reports no GPU"));
  }
}

TEST_F(NvmlTest, SamplerIntegratesTheEnergyCounter) {
  configure_(0, 1, 42000, 1);
  auto nvml = NvmlSensor::open(fake());
  testing::ReadCountingSensor sensor(*nvml);
  Sampler sampler(sensor, {.rate_hz = 500});
  sampler.start();
  sensor.wait_for_reads(3);
  set_energy_(0, 1000000 + 777);  // the driver's counter moves by 777 mJ inside the window
  sensor.wait_for_reads(3);
  const WindowMeasurement m = sampler.stop();
  EXPECT_EQ(m.kind, SensorKind::nvml);
  EXPECT_DOUBLE_EQ(m.energy_mj, 777.0);
  EXPECT_EQ(m.read_errors, 0u);
}

TEST_F(NvmlTest, SamplesARealGpu_Hardware) {
  std::unique_ptr<NvmlSensor> sensor;
  try {
    sensor = NvmlSensor::open(NvmlOptions{"libnvidia-ml.so.1"});
  } catch (const SensorUnavailable& e) {
    GTEST_SKIP() << "no NVIDIA GPU here: " << e.what();
  }
  const RailReading r = sensor->read_detailed(0);
  ASSERT_TRUE(r.ok()) << r.error;
  ASSERT_TRUE(r.power_mw);
  EXPECT_GT(*r.power_mw, 0.0);  // a powered GPU draws something, even idle
  Sampler sampler(*sensor, {.rate_hz = 100, .rails = {"gpu0"}});
  const WindowMeasurement m = measure_idle(sampler, std::chrono::milliseconds(500));
  EXPECT_EQ(m.read_errors, 0u) << m.rails[0].first_error;
  EXPECT_GT(m.energy_mj, 0.0);
}

}  // namespace
}  // namespace joules::profiling
