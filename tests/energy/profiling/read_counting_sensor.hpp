#pragma once
// Test-only: a PowerSensor that forwards to another and counts its reads, so that a test can
// wait until the sampler's thread has read the sensor N more times (a change made before the
// wait is then seen by at least N - 1 samples) instead of sleeping and hoping the thread ran.
// An optional hook runs after every read, in the reading thread.

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "energy/profiling/power_sensor.hpp"

namespace joules::testing {

class ReadCountingSensor final : public profiling::PowerSensor {
 public:
  explicit ReadCountingSensor(profiling::PowerSensor& inner, std::function<void()> after_read = {})
      : inner_(inner), after_read_(std::move(after_read)) {}

  profiling::SensorKind kind() const override { return inner_.kind(); }
  std::string description() const override { return inner_.description(); }
  const std::vector<profiling::RailInfo>& rails() const override { return inner_.rails(); }
  std::vector<std::string> total_rails() const override { return inner_.total_rails(); }
  std::chrono::microseconds update_interval() const override { return inner_.update_interval(); }
  bool is_estimate() const override { return inner_.is_estimate(); }
  const std::vector<std::string>& warnings() const override { return inner_.warnings(); }

  profiling::RailReading read(std::size_t index) override {
    profiling::RailReading r = inner_.read(index);
    if (after_read_) after_read_();
    {
      std::lock_guard lock(mutex_);
      ++reads_;
    }
    read_done_.notify_all();
    return r;
  }

  /// Blocks until the sensor has been read `more` more times than when called. Waits at most
  /// a minute: only a hung sampler takes that long, and the test then fails rather than hangs.
  void wait_for_reads(std::size_t more) {
    std::unique_lock lock(mutex_);
    const std::size_t target = reads_ + more;
    const bool done = read_done_.wait_for(lock, std::chrono::minutes(1), [&] { return reads_ >= target; });
    ASSERT_TRUE(done) << "the sampler read the sensor " << reads_ << " times, waited for " << target;
  }

 private:
  profiling::PowerSensor& inner_;
  std::function<void()> after_read_;
  std::mutex mutex_;
  std::condition_variable read_done_;
  std::size_t reads_ = 0;  // guarded by mutex_
};

}  // namespace joules::testing
