#include "energy/profiling/tensorrt.hpp"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <thread>

#include <fmt/format.h>

#include "energy/profiling/command_measurement.hpp"
#include "energy/profiling/nvml.hpp"
#include "onnx/onnx_model.hpp"
#include "util/random.hpp"

namespace joules::profiling {
namespace {

namespace fs = std::filesystem;

bool is_executable_file(const fs::path& p) {
  std::error_code ec;
  return fs::is_regular_file(p, ec) && ::access(p.c_str(), X_OK) == 0;
}

std::optional<fs::path> in_path(const std::string& name) {
  const char* path = std::getenv("PATH");
  if (!path) return std::nullopt;
  std::stringstream dirs(path);
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    const fs::path candidate = fs::path(dir.empty() ? "." : dir) / name;
    if (is_executable_file(candidate)) return candidate;
  }
  return std::nullopt;
}

std::string read_text(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Random weights of the layer's sizes: a layer's cost does not depend on its values.
NetworkWeights random_layer_weights(const Architecture& arch, std::uint64_t seed) {
  Rng rng(seed);
  const auto values = [&rng](std::size_t n, double lo, double hi) {
    std::vector<float> v(n);
    for (float& x : v) x = static_cast<float>(lo + (hi - lo) * rng.uniform());
    return v;
  };
  NetworkWeights w;
  const Shape in = arch.input;
  LayerWeights l;
  if (const auto* conv = std::get_if<ConvLayer>(&arch.layers[0])) {
    const auto f = static_cast<std::size_t>(conv->filters);
    l.weight = values(f * static_cast<std::size_t>(in.channels / conv->groups * conv->kernel.h * conv->kernel.w), -0.5, 0.5);
    if (conv->bias) l.bias = values(f, -0.5, 0.5);
    if (conv->batch_norm) {
      l.bn_weight = values(f, 0.5, 1.5);
      l.bn_bias = values(f, -0.5, 0.5);
      l.bn_mean = values(f, -0.5, 0.5);
      l.bn_var = values(f, 0.5, 2.0);
    }
  } else if (const auto* fc = std::get_if<FcLayer>(&arch.layers[0])) {
    const auto inputs = static_cast<std::size_t>(in.channels * in.height * in.width);
    l.weight = values(static_cast<std::size_t>(fc->units) * inputs, -0.3, 0.3);
    if (fc->bias) l.bias = values(static_cast<std::size_t>(fc->units), -0.3, 0.3);
  }
  w.layers.push_back(std::move(l));
  w.normalization.mean.assign(static_cast<std::size_t>(in.channels), 0.0);
  w.normalization.std.assign(static_cast<std::size_t>(in.channels), 1.0);
  return w;
}

struct Run {
  double seconds = 0;
  double energy_mj = 0;
  double mean_power_mw = 0;
  std::optional<double> idle_power_mw;
  std::size_t read_errors = 0;
  bool stale = false;
};

class TensorRtMeasurer {
 public:
  TensorRtMeasurer(TensorRtOptions options, TensorRtCounts* counts) : o_(std::move(options)), counts_(counts) {
    validate(o_.protocol);
  }

  PointMeasurement operator()(const GridPoint& point, PowerSensor& sensor, Sampler& sampler) {
    fs::create_directories(o_.engine_dir);
    const std::string stem = point_file_stem(point);
    const fs::path plan = o_.engine_dir / (stem + (o_.fp16 ? ".fp16.plan" : ".plan"));
    if (fs::exists(plan)) {
      if (counts_) ++counts_->engines_reused;
    } else {
      build(point, sensor, stem, plan);
      if (counts_) ++counts_->engines_built;
    }
    const fs::path log = o_.engine_dir / (stem + ".run.log");
    const double target_s = window_target_s(o_.protocol, sensor.update_interval());
    const bool idle = measures_idle_power(sensor, sampler);
    const double idle_s = idle ? (o_.protocol.idle_s > 0 ? o_.protocol.idle_s : target_s) : 0.0;

    // The baseline: one iteration, after the idle window.
    const Run base = run(sensor, plan, log, 1, idle_s);
    PointMeasurement m;
    m.estimate = sensor.is_estimate();
    m.idle_power_mw = base.idle_power_mw;
    m.read_errors = base.read_errors;
    // The probes (which also warm the GPU up): more iterations until they take at least half
    // a window longer than the baseline, so that the start-up's jitter does not
    // swamp the estimate of one inference's time.
    constexpr std::int64_t kMaxIterations = 1000000000;
    const std::int64_t probe_n = std::max<std::int64_t>(10, o_.protocol.warmup_inferences + 1);
    std::int64_t probe = probe_n;
    double per_s = 0;
    for (;;) {
      const Run p = run(sensor, plan, log, probe, 0.0);
      m.read_errors += p.read_errors;
      const double dt = p.seconds - base.seconds;
      if (dt >= target_s / 2 || probe >= kMaxIterations) {
        per_s = std::max(dt, 1e-9) / static_cast<double>(probe - 1);
        break;
      }
      const double grow = dt > 0 ? std::min(16.0, std::ceil(target_s / dt)) : 16.0;
      probe = std::min<std::int64_t>(kMaxIterations, static_cast<std::int64_t>(static_cast<double>(probe) * grow));
    }
    const double wanted = std::ceil(target_s / per_s) + 1;
    const std::int64_t n = std::clamp<std::int64_t>(static_cast<std::int64_t>(std::min(wanted, 1e9)), probe_n, kMaxIterations);

    m.warmup_latency_ms = per_s * 1e3;
    m.thread_cpu_ms = std::nan("");  // the layers ran in trtexec's process
    std::vector<double> latency, energy, power, window;
    for (int r = 0; r < o_.protocol.repeats; ++r) {
      // Each window has a baseline of its own, run right before it: the windows stay
      // independent (one slow start-up is one outlier, not a bias of the whole point).
      // A window no longer than its baseline (a start-up delayed by other processes) is run
      // again, up to kAttempts times in all.
      constexpr int kAttempts = 3;
      Run b, w;
      double dt = 0;
      for (int attempt = 0; attempt < kAttempts && !(dt > 0); ++attempt) {
        b = r == 0 && attempt == 0 ? base : run(sensor, plan, log, 1, 0.0);
        if (r > 0 || attempt > 0) m.read_errors += b.read_errors;
        w = run(sensor, plan, log, n, 0.0);
        dt = w.seconds - b.seconds;
      }
      const double extra = static_cast<double>(n - 1);
      if (!(dt > 0)) {
        throw std::runtime_error(fmt::format(
            "{}: {} iterations took no longer ({:.4g} s) than 1 ({:.4g} s), {} times: the run's overhead varies more than the "
            "inferences cost; raise --min-window-s",
            plan.string(), n, w.seconds, b.seconds, kAttempts));
      }
      latency.push_back(dt / extra * 1e3);
      energy.push_back((w.energy_mj - b.energy_mj) / extra);
      power.push_back(w.mean_power_mw);
      window.push_back(dt);
      m.read_errors += w.read_errors;
      m.stale = m.stale || w.stale;
      WindowResult wr;
      wr.inferences = n - 1;
      wr.workload_s = dt;
      wr.latency_ms = latency.back();
      wr.energy_mj = energy.back();
      wr.mean_power_mw = w.mean_power_mw;
      if (m.idle_power_mw) wr.dynamic_energy_mj = energy.back() - *m.idle_power_mw * latency.back() * 1e-3;
      m.windows.push_back(wr);
      if (o_.protocol.cooldown_s > 0) std::this_thread::sleep_for(std::chrono::duration<double>(o_.protocol.cooldown_s));
    }
    const std::vector<bool> rejected = rejected_windows(latency, energy, o_.protocol);
    std::vector<double> kept_latency, kept_energy, kept_dynamic;
    double power_sum = 0, window_sum = 0;
    for (std::size_t i = 0; i < latency.size(); ++i) {
      m.windows[i].rejected = rejected[i];
      if (rejected[i]) {
        ++m.windows_rejected;
        continue;
      }
      kept_latency.push_back(latency[i]);
      kept_energy.push_back(energy[i]);
      if (m.windows[i].dynamic_energy_mj) kept_dynamic.push_back(*m.windows[i].dynamic_energy_mj);
      power_sum += power[i];
      window_sum += window[i];
    }
    const auto mean = [](const std::vector<double>& v) {
      double s = 0;
      for (double x : v) s += x;
      return s / static_cast<double>(v.size());
    };
    const auto stddev = [&mean](const std::vector<double>& v) {
      if (v.size() < 2) return 0.0;
      const double mu = mean(v);
      double s = 0;
      for (double x : v) s += (x - mu) * (x - mu);
      return std::sqrt(s / static_cast<double>(v.size() - 1));
    };
    m.windows_kept = static_cast<int>(kept_latency.size());
    m.latency_ms = mean(kept_latency);
    m.latency_ms_std = stddev(kept_latency);
    m.energy_mj = mean(kept_energy);
    m.energy_mj_std = stddev(kept_energy);
    if (!kept_dynamic.empty()) {
      m.dynamic_energy_mj = mean(kept_dynamic);
      m.dynamic_energy_mj_std = stddev(kept_dynamic);
    }
    m.mean_power_mw = power_sum / m.windows_kept;
    m.window_s = window_sum / m.windows_kept;
    m.inferences = static_cast<double>(n - 1);
    (void)sampler;  // measure_command samples with a sampler of its own (the same options)
    return m;
  }

 private:
  void build(const GridPoint& point, PowerSensor& sensor, const std::string& stem, const fs::path& plan) {
    const fs::path onnx = o_.engine_dir / (stem + ".onnx");
    if (!fs::exists(onnx)) {
      const Architecture arch = single_layer_architecture(point);
      write_onnx(onnx.string(), arch, random_layer_weights(arch, o_.seed));
    }
    fs::path partial = plan;
    partial += ".partial";
    const fs::path log = o_.engine_dir / (stem + ".build.log");
    std::vector<std::string> command{o_.trtexec.string(), "--onnx=" + onnx.string(), "--saveEngine=" + partial.string()};
    if (o_.fp16) command.push_back("--fp16");
    CommandMeasurementOptions c{.command = command, .idle_s = 0.0, .sampler = o_.sampler};
    c.output_file = log.string();
    const CommandMeasurement r = measure_command(sensor, c);
    if (r.exit_status != 0 || !fs::exists(partial)) {
      throw std::runtime_error(fmt::format("trtexec could not build {} (exit status {}{}): see {}", plan.string(),
                                           r.exit_status, r.exit_status == 0 ? ", no engine written" : "", log.string()));
    }
    fs::rename(partial, plan);
  }

  Run run(PowerSensor& sensor, const fs::path& plan, const fs::path& log, std::int64_t iterations, double idle_s) {
    const auto warmup_ms = static_cast<std::int64_t>(std::llround(o_.protocol.warmup_s * 1000));
    CommandMeasurementOptions c{.command = {o_.trtexec.string(), "--loadEngine=" + plan.string(),
                                            fmt::format("--iterations={}", iterations), fmt::format("--warmUp={}", warmup_ms),
                                            "--duration=0", "--noDataTransfers"},
                                .idle_s = idle_s,
                                .sampler = o_.sampler};
    c.output_file = log.string();
    const CommandMeasurement r = measure_command(sensor, c);
    if (r.exit_status != 0) {
      throw std::runtime_error(fmt::format("trtexec failed running {} (exit status {}): see {}", plan.string(),
                                           r.exit_status, log.string()));
    }
    Run out{.seconds = r.duration_s, .energy_mj = r.total.energy_mj, .mean_power_mw = r.total.mean_power_mw};
    if (r.idle) out.idle_power_mw = r.idle->mean_power_mw;
    out.read_errors = r.run.read_errors + (r.idle ? r.idle->read_errors : 0);
    out.stale = r.run.stale;
    return out;
  }

  TensorRtOptions o_;
  TensorRtCounts* counts_;
};

}  // namespace

std::optional<fs::path> find_trtexec(const std::string& flag) {
  if (!flag.empty()) {
    if (flag.find('/') != std::string::npos) {
      if (is_executable_file(flag)) return fs::path(flag);
      return std::nullopt;
    }
    return in_path(flag);
  }
  if (auto p = in_path("trtexec")) return p;
  if (is_executable_file("/usr/src/tensorrt/bin/trtexec")) return fs::path("/usr/src/tensorrt/bin/trtexec");
  return std::nullopt;
}

std::string trtexec_version(PowerSensor& sensor, const fs::path& trtexec, const fs::path& log) {
  CommandMeasurementOptions c{.command = {trtexec.string(), "--help"}, .idle_s = 0.0};
  c.sampler.rate_hz = 100;  // nothing is measured here
  c.output_file = log.string();
  const CommandMeasurement r = measure_command(sensor, c);
  const std::string text = read_text(log);
  static const std::regex banner(R"(\[TensorRT (v[0-9][0-9.]*)\])");
  std::smatch match;
  if (!std::regex_search(text, match, banner)) {
    throw std::runtime_error(fmt::format("{} --help (exit status {}) printed no '[TensorRT vNNNN]' banner: see {}",
                                         trtexec.string(), r.exit_status, log.string()));
  }
  return match[1].str();
}

std::string tensorrt_device_description(bool fp16) {
  std::string gpu = "the GPU trtexec uses, name unknown (NVML not available)";
  try {
    const auto nvml = NvmlSensor::open();
    if (!nvml->rails().empty()) gpu = nvml->rails().front().location;
  } catch (const SensorUnavailable&) {
    // No name then; say so.
  }
  return fmt::format("cuda: {}; TensorRT {} engines", gpu, fp16 ? "FP16" : "FP32");
}

Architecture single_layer_architecture(const GridPoint& point) {
  Architecture arch;
  arch.input = point.input;
  arch.layers = {point.layer};
  return arch;
}

std::string point_file_stem(const GridPoint& point) {
  return "layer-" + canonical_hash_hex(single_layer_architecture(point));
}

PointMeasurer tensorrt_measurer(const TensorRtOptions& options, TensorRtCounts* counts) {
  auto measurer = std::make_shared<TensorRtMeasurer>(options, counts);
  return [measurer](const GridPoint& point, PowerSensor& sensor, Sampler& sampler) {
    return (*measurer)(point, sensor, sampler);
  };
}

}  // namespace joules::profiling
