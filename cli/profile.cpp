// joules profile --board NAME --grid GRID.yaml [--sensor auto|jetson|nvml|rapl|timer] [--out DIR]
// [--device cpu|cuda] [--runtime libtorch|tensorrt [--trtexec PATH] [--fp16]] ...: measures every layer configuration of a profiling grid on this machine
// (energy/profiling/profile_run.hpp does the work) into DIR/measurements.csv, resumably, for
// `joules fit` to turn into profiles/NAME.yaml. Ctrl-C stops after the current point (exit 130).

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string_view>

#include <unistd.h>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "cli/command.hpp"
#include "cli/format.hpp"
#include "cli/interrupt.hpp"
#include "energy/profiling/calibration.hpp"
#include "energy/profiling/discovery.hpp"
#include "energy/profiling/layer_workload.hpp"
#include "energy/profiling/profile_run.hpp"
#include "energy/profiling/tensorrt.hpp"
#include "search/config.hpp"
#include "train/threads.hpp"
#include "util/atomic_file.hpp"
#include "util/input_error.hpp"
#include "util/status_line.hpp"

namespace joules::cli {
namespace {

using profiling::PowerSensor;
using profiling::SensorKind;

struct ProfileCommandOptions {
  std::string board;
  std::string grid;
  std::string grid_from;        // a search config: profile the layers of its space instead
  std::size_t grid_points = 0;  // --points with --grid-from (0: every configuration)
  std::string sensor = "auto";
  std::string out;
  std::string device = "auto";
  int threads = 1;
  std::vector<std::string> rails;
  double rate_hz = profiling::SamplerOptions{}.rate_hz;
  std::string calibration;
  double estimate_power_mw = profiling::TimerEstimateOptions{}.power_mw;
  std::string sysfs_root = "/";
  std::int64_t seed = -1;  // -1: the grid's
  std::uint64_t layer_seed = 0;
  profiling::ProtocolOptions protocol;
  bool json = false;  // one summary object on stdout instead of the lines below
  std::string runtime = "libtorch";  // or tensorrt: trtexec runs an engine per point
  std::string trtexec;               // empty: trtexec in PATH, then /usr/src/tensorrt/bin/trtexec
  bool fp16 = false;
};

// Opens the sensor asked for; `auto` takes the first usable of the sources that see the
// device's power: a Jetson's board rails, then NVML for a GPU or RAPL for the CPU, and
// otherwise the timer estimate (with a notice saying why).
std::unique_ptr<PowerSensor> open_profile_sensor(const ProfileCommandOptions& o, ComputeDevice device) {
  profiling::DiscoveryOptions discovery;
  discovery.sysfs_root = o.sysfs_root;
  discovery.timer_estimate.power_mw = o.estimate_power_mw;
  if (o.sensor != "auto") {
    const std::string name = o.sensor == "jetson" ? "jetson-ina3221" : o.sensor == "timer" ? "timer-estimate" : o.sensor;
    const auto kind = profiling::parse_sensor_kind(name);
    if (!kind) {
      throw InputError("command line", 0, "--sensor",
                       fmt::format("expected auto, jetson, nvml, rapl or timer, got '{}'", o.sensor));
    }
    try {
      return profiling::open_sensor(*kind, discovery);
    } catch (const profiling::SensorUnavailable& e) {
      throw std::runtime_error(fmt::format("--sensor {}: not available: {}", o.sensor, e.what()));
    }
  }
  const SensorKind order_cpu[] = {SensorKind::jetson_ina3221, SensorKind::rapl};
  const SensorKind order_gpu[] = {SensorKind::jetson_ina3221, SensorKind::nvml};
  std::string reasons;
  for (SensorKind kind : device == ComputeDevice::cpu ? std::span<const SensorKind>(order_cpu)
                                                     : std::span<const SensorKind>(order_gpu)) {
    try {
      return profiling::open_sensor(kind, discovery);
    } catch (const profiling::SensorUnavailable& e) {
      reasons += fmt::format("; {}: {}", to_string(kind), e.what());
    }
  }
  fmt::print(stderr, "notice: --sensor auto: no power sensor for the {} here, using the timer estimate{}\n",
             to_string(device), reasons);
  return profiling::open_sensor(SensorKind::timer_estimate, discovery);
}

std::string describe_point(const profiling::GridPoint& p) {
  return fmt::format("{} on {}x{}x{}", describe(p.layer), p.input.channels, p.input.height, p.input.width);
}

// --grid-from: the layers the config's search space can produce, trimmed to --points.
profiling::ProfileGrid grid_from_config(const ProfileCommandOptions& o) {
  const SearchConfig config = load_search_config(o.grid_from);
  const std::uint64_t seed = o.seed >= 0 ? static_cast<std::uint64_t>(o.seed) : 1;
  try {
    return profiling::grid_from_space(config.space, {.points = o.grid_points, .seed = seed, .file = o.grid_from});
  } catch (const std::invalid_argument& e) {
    throw InputError("command line", 0, "--points", e.what());
  }
}

int run_profile_command(const ProfileCommandOptions& o) {
  // Everything is read and checked before anything is written.
  const bool tensorrt = o.runtime == "tensorrt";
  if (!tensorrt && o.runtime != "libtorch") {
    throw InputError("command line", 0, "--runtime", fmt::format("expected libtorch or tensorrt, got '{}'", o.runtime));
  }
  if (!tensorrt && o.fp16) throw InputError("command line", 0, "--fp16", "only with --runtime tensorrt");
  if (!tensorrt && !o.trtexec.empty()) throw InputError("command line", 0, "--trtexec", "only with --runtime tensorrt");
  std::filesystem::path trtexec;
  if (tensorrt) {
    const auto found = profiling::find_trtexec(o.trtexec);
    if (!found) {
      throw InputError("command line", 0, "--trtexec",
                       o.trtexec.empty() ? "no trtexec in PATH nor /usr/src/tensorrt/bin/trtexec: give its path"
                                         : fmt::format("'{}' is not an executable file (nor one in PATH)", o.trtexec));
    }
    trtexec = *found;
  }
  // auto: the GPU when LibTorch sees one (the setting of the paper's boards), else the CPU;
  // TensorRT engines run on the GPU.
  const auto device = o.device == "auto" ? (tensorrt || profiling::cuda_available() ? ComputeDevice::cuda : ComputeDevice::cpu)
                                         : parse_compute_device(o.device);
  if (!device) {
    throw InputError("command line", 0, "--device", fmt::format("expected auto, cpu or cuda, got '{}'", o.device));
  }
  if (tensorrt && *device != ComputeDevice::cuda) {
    throw InputError("command line", 0, "--device", "TensorRT engines run on the GPU: give auto or cuda");
  }
  if (!tensorrt && *device == ComputeDevice::cuda && !profiling::cuda_available()) {
    throw InputError("command line", 0, "--device",
                     "cuda: CUDA is not available (this LibTorch was built without CUDA, or it sees no GPU)");
  }
  std::error_code ec;
  if (!std::filesystem::is_directory(o.sysfs_root, ec)) {
    throw InputError("command line", 0, "--sysfs-root", fmt::format("{}: no such directory", o.sysfs_root));
  }
  try {
    profiling::validate(o.protocol);
  } catch (const std::invalid_argument& e) {
    const std::string message = e.what();
    std::string flag = "--" + message.substr(0, message.find(' '));
    for (char& c : flag) c = c == '_' ? '-' : c;
    throw InputError("command line", 0, flag, message);
  }
  if (o.grid.empty() == o.grid_from.empty()) {
    throw InputError("command line", 0, "--grid", "give one of --grid GRID.yaml or --grid-from CONFIG.yaml");
  }
  const profiling::ProfileGrid grid = o.grid_from.empty() ? profiling::load_profile_grid(o.grid) : grid_from_config(o);

  profiling::ProfileRunOptions run;
  run.board = o.board;
  run.out_dir = o.out.empty() ? std::filesystem::path("runs") / ("profile-" + o.board) : std::filesystem::path(o.out);
  run.seed = o.seed >= 0 ? static_cast<std::uint64_t>(o.seed) : grid.seed;
  run.protocol = o.protocol;
  run.sampler.rate_hz = o.rate_hz;
  run.sampler.rails = o.rails;
  if (!o.calibration.empty()) run.sampler.calibrations = profiling::load_calibration_file(o.calibration);
  run.threads = o.threads;
  run.software = fmt::format("{}, joules 0.1.0", profiling::torch_version());
  run.runtime = o.runtime;
  run.runtime_version = profiling::torch_version().substr(std::string_view("LibTorch ").size());
  run.source = o.grid_from.empty()
                   ? fmt::format("joules profile --grid {} ({} points)", o.grid, grid.points.size())
                   : fmt::format("joules profile --grid-from {} --points {} --seed {} ({} points)", o.grid_from,
                                 o.grid_points, grid.seed, grid.points.size());

  std::unique_ptr<PowerSensor> sensor = open_profile_sensor(o, *device);
  for (const std::string& rail : o.rails) {
    try {
      sensor->rail_index(rail);
    } catch (const std::invalid_argument& e) {
      throw InputError("command line", 0, "--rails", e.what());
    }
  }
  for (const auto& c : run.sampler.calibrations) {
    try {
      sensor->rail_index(c.rail);
    } catch (const std::invalid_argument& e) {
      throw InputError(o.calibration, 0, "rail", e.what());
    }
  }
  profiling::TensorRtCounts engines;
  profiling::PointMeasurer measure;
  if (tensorrt) {
    // The version, from trtexec's banner; its log goes to a temporary file, as nothing is written yet.
    const std::filesystem::path log = std::filesystem::temp_directory_path() /
                                      fmt::format("joules-trtexec-help-{}.log", static_cast<long>(::getpid()));
    try {
      run.runtime_version = profiling::trtexec_version(*sensor, trtexec, log);
    } catch (const std::exception& e) {
      std::filesystem::remove(log, ec);
      throw std::runtime_error(fmt::format("--trtexec {}: {}", trtexec.string(), e.what()));
    }
    std::filesystem::remove(log, ec);
    run.software = fmt::format("TensorRT {} ({}), joules 0.1.0", run.runtime_version, trtexec.string());
    run.device = profiling::tensorrt_device_description(o.fp16);
    measure = profiling::tensorrt_measurer({.trtexec = trtexec,
                                            .engine_dir = run.out_dir / "engines",
                                            .fp16 = o.fp16,
                                            .seed = o.layer_seed,
                                            .protocol = run.protocol,
                                            .sampler = run.sampler},
                                           &engines);
  } else {
    run.device = profiling::compute_device_description(*device);
  }

  // The layers run on this thread with this many intra-op threads (train/threads.hpp).
  IntraOpThreads threads(o.threads);
  const profiling::LayerWorkloadOptions workload_options{.device = *device, .seed = o.layer_seed};
  const auto make_workload = [&](const profiling::GridPoint& p) {
    return profiling::make_layer_workload(p.input, p.layer, workload_options);
  };

  StatusLine status(stderr, 10.0);
  // Ctrl-C stops after the current point; a second one at once (the CSV stays valid: a torn
  // last line is dropped by the next run).
  InterruptGuard interrupt;
  profiling::ProfileRunHooks hooks;
  hooks.stop = &interrupt.flag();
  hooks.on_start = [&](const profiling::ProfileRunResult& plan) {
    // The grid --grid-from made, as a file a user can read, edit and run with --grid.
    if (!o.grid_from.empty()) write_file_atomic(run.out_dir / "grid.yaml", profiling::to_yaml(grid));
    if (plan.torn_bytes_dropped > 0) {
      fmt::print(stderr, "notice: {}: dropped a torn last line ({} bytes, from a run that was killed); its point will be "
                 "measured again\n", plan.csv.string(), plan.torn_bytes_dropped);
    }
    if (plan.upgraded_rows > 0) {
      fmt::print(stderr, "notice: {}: written by an earlier joules without the runtime columns; its {} rows now say "
                 "runtime libtorch (version unknown)\n", plan.csv.string(), plan.upgraded_rows);
    }
    if (sensor->is_estimate()) {
      fmt::print(stderr,
                 "notice: energy will be an ESTIMATE (measured time x {} mW, the timer estimate), not a measurement; "
                 "latency is measured\n",
                 o.estimate_power_mw);
    }
    fmt::print(stderr, "{}: {} of {} points to measure into {}\n", o.board,
               plan.grid_points - plan.already_measured, plan.grid_points, plan.csv.string());
  };
  const auto started = std::chrono::steady_clock::now();
  hooks.on_point = [&](const profiling::PointProgress& p) {
    const profiling::PointMeasurement& m = *p.measurement;
    const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    const double left = elapsed / static_cast<double>(p.done) * static_cast<double>(p.to_do - p.done);
    std::string text = fmt::format("[{}/{}] {}: {:.4g} ms +- {:.2g}, {:.4g} mJ{}{}  (left ~{})", p.done, p.to_do,
                                   describe_point(*p.point), m.latency_ms, m.latency_ms_std, m.energy_mj,
                                   m.estimate ? " (ESTIMATE)" : "",
                                   m.windows_rejected ? fmt::format(", {} window(s) rejected", m.windows_rejected) : "",
                                   format_duration(left));
    if (m.stale) status.print(fmt::format("warning: {}: a rail did not change for a long time (stale sensor?)", describe_point(*p.point)));
    status.update(text, p.done == p.to_do);
  };

  profiling::ProfileRunResult result;
  try {
    result = tensorrt ? profiling::run_profile(grid, *sensor, measure, run, hooks)
                      : profiling::run_profile(grid, *sensor, make_workload, run, hooks);
  } catch (const std::invalid_argument& e) {
    throw InputError("command line", 0, "", e.what());
  }
  status.finish();

  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  if (o.json) {
    const std::size_t left = result.grid_points - result.already_measured - result.measured;
    fmt::print("{}\n", dump_json({{"board", o.board},
                                  {"csv", result.csv.string()},
                                  {"provenance", result.provenance.string()},
                                  {"grid_points", result.grid_points},
                                  {"measured", result.measured},
                                  {"already_measured", result.already_measured},
                                  {"left", left},
                                  {"seconds", seconds},
                                  {"estimate", sensor->is_estimate()},
                                  {"runtime", run.runtime},
                                  {"runtime_version", run.runtime_version},
                                  {"engines_built", engines.engines_built},
                                  {"engines_reused", engines.engines_reused},
                                  {"interrupted", interrupt.interrupted()}}));
    return interrupt.interrupted() ? 130 : 0;
  }
  fmt::print("{}: measured {} point{} in {} ({} of {} were already there) into {}{}\n", o.board, result.measured,
             result.measured == 1 ? "" : "s", format_duration(seconds), result.already_measured, result.grid_points,
             result.csv.string(), sensor->is_estimate() ? " (energy: ESTIMATE)" : "");
  if (tensorrt) {
    fmt::print("engines in {}: {} built, {} reused\n", (run.out_dir / "engines").string(), engines.engines_built,
               engines.engines_reused);
  }
  if (interrupt.interrupted()) {
    const std::size_t left = result.grid_points - result.already_measured - result.measured;
    fmt::print("interrupted: {} point{} left; run the same command again to measure them\n", left, left == 1 ? "" : "s");
    return 130;
  }
  fmt::print("next: joules fit --layers {} --provenance {} --out profiles/{}.yaml\n", result.csv.string(),
             result.provenance.string(), o.board);
  return 0;
}

}  // namespace

Runner add_profile_command(CLI::App& app) {
  auto o = std::make_shared<ProfileCommandOptions>();
  CLI::App* cmd = app.add_subcommand("profile", "Measure the layers of a profiling grid on this machine (resumable)");
  cmd->add_option("--board", o->board, "Board name, or the profile's path profiles/NAME.yaml (the profile will be NAME)")
      ->required();
  cmd->add_option("--grid", o->grid, "Profiling grid YAML (configs/profiling/)");
  cmd->add_option("--grid-from", o->grid_from,
                  "Search config: measure the layers its search space can produce (writes DIR/grid.yaml)");
  cmd->add_option("--points", o->grid_points, "With --grid-from: keep this many points (default: all)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--sensor", o->sensor, "auto (default), jetson, nvml, rapl or timer (an estimate)");
  cmd->add_option("--out", o->out, "Run directory (default runs/profile-NAME); a rerun resumes it");
  cmd->add_option("--device", o->device, "auto (default: cuda when available, else cpu), cpu or cuda");
  cmd->add_option("--threads", o->threads, "LibTorch intra-op threads (default 1)")->check(CLI::Range(1, 1024));
  cmd->add_option("--rails", o->rails, "Rails to measure (default: the sensor's board total); repeatable");
  cmd->add_option("--rate-hz", o->rate_hz, "Sampling rate (default 1000)")->check(CLI::Range(0.001, 100000.0));
  cmd->add_option("--calibration", o->calibration, "Per-rail calibration CSV (rail,internal_mw,external_mw)");
  cmd->add_option("--estimate-power-mw", o->estimate_power_mw, "Power the timer estimate assumes (default 10000)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--sysfs-root", o->sysfs_root, "Read every sysfs path under this directory (default /)");
  cmd->add_option("--seed", o->seed, "Seed of the measuring order (default: the grid's seed)")->check(CLI::NonNegativeNumber);
  cmd->add_option("--layer-seed", o->layer_seed, "Seed of the layers' weights and inputs (default 0)");
  cmd->add_option("--warmup-s", o->protocol.warmup_s, "Warm-up per point, seconds (default 0.1)");
  cmd->add_option("--warmup-inferences", o->protocol.warmup_inferences, "At least this many warm-up inferences (default 3)");
  cmd->add_option("--min-window-s", o->protocol.min_window_s, "Shortest measurement window, seconds (default 0.2)");
  cmd->add_option("--window-update-intervals", o->protocol.window_update_intervals,
                  "A window spans at least this many sensor update intervals (default 50)");
  cmd->add_option("--repeats", o->protocol.repeats, "Windows per point (default 5)");
  cmd->add_option("--cooldown-s", o->protocol.cooldown_s, "Rest after each window, seconds (default 0.1)");
  cmd->add_option("--idle-s", o->protocol.idle_s, "Idle measurement before each point, seconds (default: one window)");
  cmd->add_option("--outlier-z", o->protocol.outlier_z, "Reject windows beyond this modified z-score (default 3.5)");
  cmd->add_option("--outlier-min-deviation", o->protocol.outlier_min_deviation,
                  "... and this far from the median, as a fraction (default 0.02)");
  cmd->add_option("--runtime", o->runtime,
                  "libtorch (default: LibTorch eager layers) or tensorrt (an engine per point, run by trtexec)");
  cmd->add_option("--trtexec", o->trtexec,
                  "With --runtime tensorrt: trtexec to run (default: trtexec in PATH, then /usr/src/tensorrt/bin/trtexec)");
  cmd->add_flag("--fp16", o->fp16, "With --runtime tensorrt: build FP16 engines (trtexec --fp16)");
  cmd->add_flag("--json", o->json, "Print one JSON summary object (what was measured, where) on stdout");
  return [o] {
    o->board = board_name(o->board);
    return run_profile_command(*o);
  };
}

}  // namespace joules::cli
