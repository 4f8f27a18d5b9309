#include "energy/profiling/protocol.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <thread>

#include <time.h>

#include <fmt/format.h>

#include "util/median.hpp"

namespace joules::profiling {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

double thread_cpu_s() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
}

struct Spread {
  double mean = 0.0;
  double std = 0.0;
};

Spread spread(const std::vector<double>& v) {
  Spread s;
  if (v.empty()) return s;
  for (double x : v) s.mean += x;
  s.mean /= static_cast<double>(v.size());
  if (v.size() > 1) {
    double ss = 0.0;
    for (double x : v) ss += (x - s.mean) * (x - s.mean);
    s.std = std::sqrt(ss / static_cast<double>(v.size() - 1));
  }
  return s;
}

// Runs inferences until at least `target_s` have passed, in rounds sized from the running
// estimate of one inference's time, so that a GPU workload synchronises once per round rather
// than once per inference. Returns the inferences run and the time they took.
std::pair<std::int64_t, double> run_for(const Workload& workload, double target_s, double estimate_s) {
  const auto start = Clock::now();
  std::int64_t done = 0;
  double elapsed = 0.0;
  while (true) {
    const double remaining = target_s - elapsed;
    const auto n = static_cast<std::int64_t>(std::max(1.0, std::ceil(remaining / std::max(estimate_s, 1e-9))));
    workload(n);
    done += n;
    elapsed = seconds_since(start);
    if (elapsed >= target_s) break;
    estimate_s = elapsed / static_cast<double>(done);
  }
  return {done, elapsed};
}

void sleep_s(double seconds) {
  if (seconds > 0) std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
}

}  // namespace

void validate(const ProtocolOptions& o) {
  const auto time = [](const char* name, double value, bool zero_ok) {
    if (!std::isfinite(value) || value < 0 || (!zero_ok && value == 0)) {
      throw std::invalid_argument(
          fmt::format("{} must be a {} number of seconds, got {}", name, zero_ok ? "non-negative" : "positive", value));
    }
  };
  time("warmup_s", o.warmup_s, true);
  time("min_window_s", o.min_window_s, false);
  time("cooldown_s", o.cooldown_s, true);
  time("idle_s", o.idle_s, true);
  if (o.warmup_inferences < 1) {
    throw std::invalid_argument(fmt::format("warmup_inferences must be at least 1, got {}", o.warmup_inferences));
  }
  if (o.window_update_intervals < 1) {
    throw std::invalid_argument(
        fmt::format("window_update_intervals must be at least 1, got {}", o.window_update_intervals));
  }
  if (o.repeats < 1) throw std::invalid_argument(fmt::format("repeats must be at least 1, got {}", o.repeats));
  if (!(o.outlier_z > 0) || !std::isfinite(o.outlier_z)) {
    throw std::invalid_argument(fmt::format("outlier_z must be a positive number, got {}", o.outlier_z));
  }
  if (!(o.outlier_min_deviation >= 0) || !std::isfinite(o.outlier_min_deviation)) {
    throw std::invalid_argument(
        fmt::format("outlier_min_deviation must be a non-negative fraction, got {}", o.outlier_min_deviation));
  }
}

bool measures_idle_power(const PowerSensor& sensor, const Sampler& sampler) {
  for (const std::string& name : sampler.rail_names()) {
    if (!sensor.rails()[sensor.rail_index(name)].constant) return true;
  }
  return false;
}

double window_target_s(const ProtocolOptions& options, std::chrono::microseconds update_interval) {
  return std::max(options.min_window_s,
                  options.window_update_intervals * std::chrono::duration<double>(update_interval).count());
}

std::vector<double> outlier_scores(std::span<const double> values, double min_deviation) {
  std::vector<double> scores(values.size(), 0.0);
  if (values.size() < 3) return scores;
  const double m = median(std::vector<double>(values.begin(), values.end()));
  std::vector<double> deviations;
  for (double x : values) deviations.push_back(std::abs(x - m));
  double scale = median(deviations) / 0.6745;  // the MAD as a standard deviation
  if (scale == 0) {
    double mean_ad = 0;
    for (double d : deviations) mean_ad += d;
    scale = 1.2533 * mean_ad / static_cast<double>(deviations.size());
  }
  if (scale == 0) return scores;
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (deviations[i] > min_deviation * std::abs(m)) scores[i] = deviations[i] / scale;
  }
  return scores;
}

std::vector<bool> rejected_windows(std::span<const double> latency_ms, std::span<const double> energy_mj,
                                   const ProtocolOptions& options) {
  if (latency_ms.size() != energy_mj.size()) {
    throw std::invalid_argument(fmt::format("rejected_windows: {} latencies but {} energies", latency_ms.size(),
                                            energy_mj.size()));
  }
  const std::vector<double> a = outlier_scores(latency_ms, options.outlier_min_deviation);
  const std::vector<double> b = outlier_scores(energy_mj, options.outlier_min_deviation);
  std::vector<std::pair<double, std::size_t>> flagged;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const double score = std::max(a[i], b[i]);
    if (score > options.outlier_z) flagged.emplace_back(score, i);
  }
  std::sort(flagged.begin(), flagged.end(), [](const auto& x, const auto& y) { return x.first > y.first; });
  std::vector<bool> rejected(a.size(), false);
  const std::size_t limit = a.empty() ? 0 : (a.size() - 1) / 2;
  for (std::size_t k = 0; k < flagged.size() && k < limit; ++k) rejected[flagged[k].second] = true;
  return rejected;
}

PointMeasurement measure_point(PowerSensor& sensor, Sampler& sampler, const Workload& workload,
                               const ProtocolOptions& options) {
  validate(options);
  PointMeasurement point;
  point.estimate = sensor.is_estimate();
  const double target_s = window_target_s(options, sensor.update_interval());

  // 1. Warm-up. What runs after the first warmup_inferences estimates one inference's time
  //    (the first ones are slow); without that, the first ones do.
  const auto warm_start = Clock::now();
  std::int64_t warm = 0;
  workload(options.warmup_inferences);
  warm += options.warmup_inferences;
  double estimate_s = seconds_since(warm_start) / static_cast<double>(warm);
  if (seconds_since(warm_start) < options.warmup_s) {
    const auto [n, s] = run_for(workload, options.warmup_s - seconds_since(warm_start), estimate_s);
    estimate_s = s / static_cast<double>(n);
  }
  point.warmup_latency_ms = estimate_s * 1e3;

  // 2. Idle power right before the windows.
  std::optional<double> idle_mw;
  if (measures_idle_power(sensor, sampler)) {
    const WindowMeasurement idle = measure_idle(sampler, std::chrono::duration<double>(options.idle_s > 0 ? options.idle_s : target_s));
    idle_mw = idle.mean_power_mw;
    point.read_errors += idle.read_errors;
    point.stale = point.stale || idle.stale;
  }
  point.idle_power_mw = idle_mw;

  // 3. The windows.
  for (int r = 0; r < options.repeats; ++r) {
    WindowResult w;
    sampler.start();
    const double cpu_start = thread_cpu_s();
    try {
      std::tie(w.inferences, w.workload_s) = run_for(workload, target_s, estimate_s);
    } catch (...) {
      try {
        sampler.stop();
      } catch (const SensorError&) {
        // The workload's error is the one to report.
      }
      throw;
    }
    const double cpu_s = thread_cpu_s() - cpu_start;
    w.window = sampler.stop();
    const auto n = static_cast<double>(w.inferences);
    w.latency_ms = w.workload_s / n * 1e3;
    w.thread_cpu_ms = cpu_s / n * 1e3;
    w.mean_power_mw = w.window.mean_power_mw;
    // The sampler's window is a little longer than the inferences (its first and last samples,
    // starting and joining its thread: up to a millisecond on a busy machine), so the energy
    // above idle is the window's, and the idle share is the idle power over the inferences'
    // own time. Without an idle measurement, the mean power over the inferences' time.
    if (idle_mw) {
      w.dynamic_energy_mj = (w.window.energy_mj - *idle_mw * w.window.window_s) / n;
      w.energy_mj = *w.dynamic_energy_mj + *idle_mw * w.workload_s / n;
    } else {
      w.energy_mj = w.window.mean_power_mw * w.workload_s / n;
    }
    estimate_s = w.workload_s / n;
    point.read_errors += w.window.read_errors;
    point.stale = point.stale || w.window.stale;
    point.windows.push_back(std::move(w));
    sleep_s(options.cooldown_s);
  }

  // 4. Outliers, then the figures of the windows kept.
  std::vector<double> latency, energy;
  for (const WindowResult& w : point.windows) {
    latency.push_back(w.latency_ms);
    energy.push_back(w.energy_mj);
  }
  const std::vector<bool> rejected = rejected_windows(latency, energy, options);
  std::vector<double> kept_latency, kept_energy, kept_dynamic, kept_power, kept_window, kept_n, kept_cpu;
  for (std::size_t i = 0; i < point.windows.size(); ++i) {
    WindowResult& w = point.windows[i];
    w.rejected = rejected[i];
    if (w.rejected) {
      ++point.windows_rejected;
      continue;
    }
    ++point.windows_kept;
    kept_latency.push_back(w.latency_ms);
    kept_energy.push_back(w.energy_mj);
    if (w.dynamic_energy_mj) kept_dynamic.push_back(*w.dynamic_energy_mj);
    kept_power.push_back(w.mean_power_mw);
    kept_window.push_back(w.window.window_s);
    kept_n.push_back(static_cast<double>(w.inferences));
    kept_cpu.push_back(w.thread_cpu_ms);
  }
  const Spread l = spread(kept_latency), e = spread(kept_energy);
  point.latency_ms = l.mean;
  point.latency_ms_std = l.std;
  point.energy_mj = e.mean;
  point.energy_mj_std = e.std;
  if (idle_mw) {
    const Spread d = spread(kept_dynamic);
    point.dynamic_energy_mj = d.mean;
    point.dynamic_energy_mj_std = d.std;
  }
  point.mean_power_mw = spread(kept_power).mean;
  point.window_s = spread(kept_window).mean;
  point.inferences = spread(kept_n).mean;
  point.thread_cpu_ms = spread(kept_cpu).mean;
  return point;
}

}  // namespace joules::profiling
