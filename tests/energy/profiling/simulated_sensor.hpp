#pragma once
// Test-only: a simulated device and its power sensor, so that the measurement protocol and the
// profiling runner can be checked against energies known exactly. The sensor has one
// energy-counter rail whose counter is idle_power_mw x the time since it was made plus the
// energy that workloads charged to it; workloads "run" a layer by charging its model energy per
// inference (times a noise factor) and sleeping its model latency. The protocol sees it through
// the ordinary PowerSensor interface.

#include <chrono>
#include <cmath>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "energy/profiling/power_sensor.hpp"
#include "energy/profiling/protocol.hpp"
#include "util/random.hpp"

namespace joules::testing {

class SimulatedSensor final : public profiling::PowerSensor {
 public:
  SimulatedSensor(double idle_power_mw, std::chrono::microseconds update_interval)
      : idle_power_mw_(idle_power_mw),
        update_interval_(update_interval),
        origin_(std::chrono::steady_clock::now()),
        owner_(std::this_thread::get_id()) {
    rails_.push_back(profiling::RailInfo{.name = "sim", .has_power = false, .has_energy = true, .location = "test"});
  }

  // An energy-counter source like RAPL (the kind is only a label here).
  profiling::SensorKind kind() const override { return profiling::SensorKind::rapl; }
  std::string description() const override { return "simulated device (test)"; }
  const std::vector<profiling::RailInfo>& rails() const override { return rails_; }
  std::vector<std::string> total_rails() const override { return {"sim"}; }
  std::chrono::microseconds update_interval() const override { return update_interval_; }

  profiling::RailReading read(std::size_t) override {
    std::lock_guard lock(mutex_);
    if (std::this_thread::get_id() == owner_) ++owner_reads_;
    const double t = std::chrono::duration<double>(std::chrono::steady_clock::now() - origin_).count();
    profiling::RailReading r;
    r.energy_mj = idle_power_mw_ * t + charged_mj_;
    return r;
  }

  /// Reads from the thread that made the sensor: a Sampler reads there only in start() and
  /// stop(), so during the k-th window of a measure_point (the idle window is the first) this is
  /// 2k - 1.
  int owner_reads() {
    std::lock_guard lock(mutex_);
    return owner_reads_;
  }

  /// Adds energy drawn by the simulated device (thread-safe: the sampler reads meanwhile).
  void charge(double energy_mj) {
    std::lock_guard lock(mutex_);
    charged_mj_ += energy_mj;
  }

 private:
  double idle_power_mw_;
  std::chrono::microseconds update_interval_;
  std::chrono::steady_clock::time_point origin_;
  std::vector<profiling::RailInfo> rails_;
  std::thread::id owner_;
  std::mutex mutex_;
  double charged_mj_ = 0.0;  // guarded by mutex_
  int owner_reads_ = 0;      // guarded by mutex_
};

/// A workload on the simulated device: each call of n inferences charges n x energy_mj x
/// (1 + noise), the noise uniform with standard deviation `noise` (seeded), then sleeps n x
/// latency_s x slowdown() (a disturbed window: see SimulatedSensor::owner_reads).
inline profiling::Workload simulated_workload(SimulatedSensor& sensor, double energy_mj, double latency_s,
                                              double noise, std::uint64_t seed,
                                              std::function<double()> slowdown = {}) {
  auto rng = std::make_shared<Rng>(seed);
  return [&sensor, energy_mj, latency_s, noise, rng, slowdown](std::int64_t n) {
    const double factor = 1.0 + noise * std::sqrt(3.0) * (2.0 * rng->uniform() - 1.0);
    sensor.charge(static_cast<double>(n) * energy_mj * factor);
    const double sleep_s = static_cast<double>(n) * latency_s * (slowdown ? slowdown() : 1.0);
    std::this_thread::sleep_for(std::chrono::duration<double>(sleep_s));
  };
}

}  // namespace joules::testing
