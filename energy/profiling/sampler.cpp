#include "energy/profiling/sampler.hpp"

#include <cmath>
#include <stdexcept>

#include <fmt/format.h>

namespace joules::profiling {

// Integration state of one rail. Times are seconds since origin_.
struct Sampler::RailState {
  std::size_t index = 0;  // into sensor.rails()
  std::string name;
  bool counter = false;   // integrate energy-counter differences instead of power
  bool constant = false;  // never stale (the timer estimate)
  std::optional<RailCalibration> calibration;

  std::size_t good = 0;
  std::size_t errors = 0;
  std::string first_error;
  double first_t = 0.0, last_t = 0.0;
  double first_power_mw = 0.0, last_power_mw = 0.0;  // calibrated (power rails)
  double last_energy_mj = 0.0;                       // raw counter (counter rails)
  double energy_mj = 0.0;                            // from first_t to last_t, calibrated
  double last_value = 0.0;                           // raw, for staleness
  double unchanged_since = 0.0;
  double longest_unchanged_s = 0.0;

  double gain() const { return calibration ? calibration->gain : 1.0; }
  double offset_mw() const { return calibration ? calibration->offset_mw : 0.0; }

  void reset() {
    good = errors = 0;
    first_error.clear();
    energy_mj = longest_unchanged_s = 0.0;
  }

  void add(double t, RailReading&& reading) {
    if (!reading.ok()) {
      if (errors++ == 0) first_error = std::move(reading.error);
      return;
    }
    const std::optional<double>& raw = counter ? reading.energy_mj : reading.power_mw;
    if (!raw) {
      if (errors++ == 0) first_error = fmt::format("rail {}: the sensor returned no {}", name, counter ? "energy" : "power");
      return;
    }
    // A negative or absurd power is a sensor fault, not energy: counted as a failed read.
    if (!counter) {
      if (std::string fault = reading_fault(reading); !fault.empty()) {
        if (errors++ == 0) first_error = fmt::format("rail {}: {}", name, fault);
        return;
      }
    }
    const double value = *raw;
    if (good == 0) {
      first_t = t;
      unchanged_since = t;
      if (!counter) first_power_mw = calibration ? calibration->apply(value) : value;
    } else {
      const double dt = t - last_t;
      if (counter) {
        energy_mj += gain() * (value - last_energy_mj) + offset_mw() * dt;
      } else {
        const double power = calibration ? calibration->apply(value) : value;
        energy_mj += 0.5 * (last_power_mw + power) * dt;  // mW x s = mJ
      }
      if (value == last_value) {
        longest_unchanged_s = std::max(longest_unchanged_s, t - unchanged_since);
      } else {
        unchanged_since = t;
      }
    }
    if (counter) {
      last_energy_mj = value;
    } else {
      last_power_mw = calibration ? calibration->apply(value) : value;
    }
    last_value = value;
    last_t = t;
    ++good;
  }
};

Sampler::Sampler(PowerSensor& sensor, SamplerOptions options) : sensor_(sensor), options_(std::move(options)) {
  if (!(options_.rate_hz > 0.0 && options_.rate_hz <= 100000.0)) {
    throw std::invalid_argument(fmt::format("sampler rate_hz must be in (0, 100000], got {}", options_.rate_hz));
  }
  if (options_.stale_after_intervals < 2) {
    throw std::invalid_argument(
        fmt::format("sampler stale_after_intervals must be at least 2, got {}", options_.stale_after_intervals));
  }
  const auto requested = std::chrono::nanoseconds(static_cast<std::int64_t>(std::llround(1e9 / options_.rate_hz)));
  interval_ = std::max(requested, std::chrono::duration_cast<std::chrono::nanoseconds>(sensor_.update_interval()));
  interval_ = std::max(interval_, std::chrono::nanoseconds(1));

  std::vector<std::string> names = options_.rails.empty() ? sensor_.total_rails() : options_.rails;
  for (const auto& calibration : options_.calibrations) sensor_.rail_index(calibration.rail);  // throws if unknown
  for (const auto& name : names) {
    RailState state;
    state.index = sensor_.rail_index(name);
    for (const auto& other : states_) {
      if (other.index == state.index) throw std::invalid_argument(fmt::format("rail {} chosen twice", name));
    }
    const RailInfo& info = sensor_.rails()[state.index];
    state.name = info.name;
    state.counter = info.has_energy;
    state.constant = info.constant;
    for (const auto& calibration : options_.calibrations) {
      if (calibration.rail == info.name) state.calibration = calibration;
    }
    states_.push_back(std::move(state));
  }
  if (states_.empty()) throw std::invalid_argument(fmt::format("{} sensor: no rail to sample", to_string(sensor_.kind())));
}

Sampler::~Sampler() {
  if (running()) {
    {
      std::lock_guard lock(mutex_);
      stop_requested_ = true;
    }
    wake_.notify_all();
    thread_.join();
  }
}

std::vector<std::string> Sampler::rail_names() const {
  std::vector<std::string> names;
  for (const auto& state : states_) names.push_back(state.name);
  return names;
}

void Sampler::take_sample() {
  using std::chrono::duration;
  const auto before = std::chrono::steady_clock::now();
  // The rails are read one after the other; all get the time of the middle of the batch.
  std::vector<RailReading>& readings = readings_;
  readings.clear();
  for (const auto& state : states_) readings.push_back(sensor_.read(state.index));
  const auto after = std::chrono::steady_clock::now();
  const double t = duration<double>(before - origin_).count() + 0.5 * duration<double>(after - before).count();
  for (std::size_t i = 0; i < states_.size(); ++i) states_[i].add(t, std::move(readings[i]));
  if (samples_ == 0) first_t_s_ = t;
  last_t_s_ = t;
  ++samples_;
}

void Sampler::start() {
  if (running()) throw std::logic_error("Sampler::start: already running; call stop() first");
  for (auto& state : states_) state.reset();
  samples_ = 0;
  missed_ticks_ = 0;
  stop_requested_ = false;
  origin_ = std::chrono::steady_clock::now();
  take_sample();
  thread_ = std::thread([this] { run(); });
}

void Sampler::run() {
  auto next = origin_ + interval_;
  std::unique_lock lock(mutex_);
  while (!wake_.wait_until(lock, next, [this] { return stop_requested_; })) {
    lock.unlock();
    take_sample();
    lock.lock();
    next += interval_;
    const auto now = std::chrono::steady_clock::now();
    if (next <= now) {  // fell behind (a preempted thread): skip the instants already past
      const auto behind = (now - next) / interval_ + 1;
      missed_ticks_ += static_cast<std::size_t>(behind);
      next += behind * interval_;
    }
  }
}

WindowMeasurement Sampler::stop() {
  if (!running()) throw std::logic_error("Sampler::stop: not running; call start() first");
  {
    std::lock_guard lock(mutex_);
    stop_requested_ = true;
  }
  wake_.notify_all();
  thread_.join();
  take_sample();

  WindowMeasurement m;
  m.kind = sensor_.kind();
  m.estimate = sensor_.is_estimate();
  m.rails_label = join_rails(rail_names());
  m.window_s = last_t_s_ - first_t_s_;
  m.samples = samples_;
  m.missed_ticks = missed_ticks_;
  m.interval_s = std::chrono::duration<double>(interval_).count();
  const double stale_after_s = options_.stale_after_intervals * m.interval_s;
  for (auto& state : states_) {
    if (state.good == 0) {
      throw SensorError(fmt::format("rail {}: no successful read in a {:.3f} s window ({} read errors; first: {})",
                                    state.name, m.window_s, state.errors, state.first_error));
    }
    RailWindow rail;
    rail.name = state.name;
    rail.samples = state.good;
    rail.read_errors = state.errors;
    rail.first_error = state.first_error;
    rail.calibration = state.calibration;
    // Failed reads at the ends of the window: hold the nearest good value (power rails) or the
    // rail's mean power (counter rails) out to the window's edges.
    double energy = state.energy_mj;
    const double covered_s = state.last_t - state.first_t;
    const double head_s = state.first_t - first_t_s_, tail_s = last_t_s_ - state.last_t;
    if (state.counter) {
      const double mean_mw = covered_s > 0 ? energy / covered_s : 0.0;
      energy += mean_mw * (head_s + tail_s);
    } else {
      energy += state.first_power_mw * head_s + state.last_power_mw * tail_s;
    }
    rail.energy_mj = energy;
    rail.mean_power_mw = m.window_s > 0 ? energy / m.window_s : (state.counter ? 0.0 : state.last_power_mw);
    rail.longest_unchanged_s = std::max(state.longest_unchanged_s, state.last_t - state.unchanged_since);
    rail.stale = !state.constant && state.good > 1 && rail.longest_unchanged_s >= stale_after_s;
    m.energy_mj += rail.energy_mj;
    m.read_errors += rail.read_errors;
    m.stale = m.stale || rail.stale;
    m.rails.push_back(std::move(rail));
  }
  m.mean_power_mw = 0.0;
  for (const auto& rail : m.rails) m.mean_power_mw += rail.mean_power_mw;
  return m;
}

std::ostream& operator<<(std::ostream& out, const WindowMeasurement& m) {
  out << fmt::format("{}{} [{}]: {:.3f} mJ over {:.6f} s, mean {:.1f} mW, {} samples every {:.6f} s, {} read errors",
                     m.estimate ? "ESTIMATE " : "", to_string(m.kind), m.rails_label, m.energy_mj, m.window_s,
                     m.mean_power_mw, m.samples, m.interval_s, m.read_errors);
  if (m.stale) out << ", STALE";
  return out;
}

WindowMeasurement measure(Sampler& sampler, const std::function<void()>& workload) {
  sampler.start();
  try {
    workload();
  } catch (...) {
    try {
      sampler.stop();
    } catch (const SensorError&) {
      // The workload's own error is the one to report.
    }
    throw;
  }
  return sampler.stop();
}

WindowMeasurement measure_idle(Sampler& sampler, std::chrono::duration<double> duration) {
  return measure(sampler, [duration] { std::this_thread::sleep_for(duration); });
}

}  // namespace joules::profiling
