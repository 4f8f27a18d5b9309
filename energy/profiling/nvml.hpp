#pragma once
// NVIDIA GPUs through NVML, loaded with dlopen at run time: joules has no link-time dependency
// on the driver and runs where there is none. Each GPU is one rail ("gpu0", "gpu1", ...): its
// total-energy counter (mJ, Volta and newer) when the GPU supports it, otherwise its power
// (mW), polled.

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "energy/profiling/power_sensor.hpp"

namespace joules::profiling {

/// Where NVML comes from and how often it refreshes.
struct NvmlOptions {
  /// The library to dlopen; empty: $JOULES_NVML_LIBRARY when set, else "libnvidia-ml.so.1"
  /// (the name the NVIDIA driver installs).
  std::string library;
  /// Polling faster than the driver refreshes its power reading only repeats it; 20 ms is a
  /// conservative bound for recent GPUs (older ones average over longer).
  std::chrono::microseconds update_interval{20000};
};

/// The library NvmlSensor::open would load with these options.
std::string nvml_library_name(const NvmlOptions& options);

/// GPUs seen through NVML. Thread safety: as PowerSensor.
class NvmlSensor final : public PowerSensor {
 public:
  /// Loads NVML and lists the GPUs. Throws SensorUnavailable with a clear reason when the
  /// library is absent (no NVIDIA driver), nvmlInit fails, or no GPU can report power.
  static std::unique_ptr<NvmlSensor> open(const NvmlOptions& options = {});
  ~NvmlSensor() override;

  SensorKind kind() const override { return SensorKind::nvml; }
  std::string description() const override;
  const std::vector<RailInfo>& rails() const override { return rails_; }
  /// Every GPU.
  std::vector<std::string> total_rails() const override;
  std::chrono::microseconds update_interval() const override { return update_interval_; }
  /// energy_mj since open() for counter GPUs, power_mw for the others.
  RailReading read(std::size_t index) override;
  /// Also power_mw for counter GPUs.
  RailReading read_detailed(std::size_t index) override;

  const std::vector<std::string>& warnings() const override { return warnings_; }

 private:
  struct Library;
  struct Gpu;
  NvmlSensor();

  std::unique_ptr<Library> library_;
  std::vector<Gpu> gpus_;
  std::vector<RailInfo> rails_;
  std::vector<std::string> warnings_;
  std::string library_name_;
  std::chrono::microseconds update_interval_{0};
};

}  // namespace joules::profiling
