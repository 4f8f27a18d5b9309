#pragma once
// For machines with no power sensor: energy = measured time x a configured power. The numbers it
// gives are estimates, not measurements, and say so everywhere they appear.

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "energy/profiling/power_sensor.hpp"

namespace joules::profiling {

struct TimerEstimateOptions {
  /// The power assumed while anything runs. 10 W is the budget of the 10 W nvpmodel modes of
  /// Jetson Nano (MAXN), TX2 NX and Xavier NX: a middle-of-the-range edge board. Set it to
  /// the board's rated power for anything better than a rough guess.
  double power_mw = 10000.0;
};

/// One constant rail, "estimate". Thread safety: as PowerSensor (it holds no mutable state).
class TimerEstimateSensor final : public PowerSensor {
 public:
  /// Throws std::invalid_argument naming the value unless power_mw is a finite positive number.
  explicit TimerEstimateSensor(TimerEstimateOptions options = {});

  SensorKind kind() const override { return SensorKind::timer_estimate; }
  std::string description() const override;
  const std::vector<RailInfo>& rails() const override { return rails_; }
  std::vector<std::string> total_rails() const override { return {"estimate"}; }
  std::chrono::microseconds update_interval() const override { return std::chrono::microseconds(0); }
  bool is_estimate() const override { return true; }
  RailReading read(std::size_t index) override;

  double power_mw() const { return options_.power_mw; }

 private:
  TimerEstimateOptions options_;
  std::vector<RailInfo> rails_;
};

}  // namespace joules::profiling
