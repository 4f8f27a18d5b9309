#include "energy/profiling/timer_estimate.hpp"

#include <cmath>
#include <stdexcept>

#include <fmt/format.h>

namespace joules::profiling {

TimerEstimateSensor::TimerEstimateSensor(TimerEstimateOptions options) : options_(options) {
  if (!std::isfinite(options_.power_mw) || options_.power_mw <= 0.0) {
    throw std::invalid_argument(
        fmt::format("timer estimate power_mw must be a positive number of milliwatts, got {}", options_.power_mw));
  }
  rails_.push_back(RailInfo{"estimate", /*has_power=*/true, /*has_energy=*/false, /*constant=*/true,
                            fmt::format("configured {} mW", options_.power_mw)});
}

std::string TimerEstimateSensor::description() const {
  return fmt::format("ESTIMATE, not a measurement: elapsed time x {} mW (configured power)", options_.power_mw);
}

RailReading TimerEstimateSensor::read(std::size_t index) {
  if (index != 0) throw std::out_of_range(fmt::format("timer estimate has one rail, asked for rail {}", index));
  RailReading reading;
  reading.power_mw = options_.power_mw;
  return reading;
}

}  // namespace joules::profiling
