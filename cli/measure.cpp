// joules measure [--sensor auto|jetson|nvml|rapl|timer] [--rate-hz R] [--idle-s S]
// [--inferences N] [--json] [--compare ARCH --board PROFILE] -- COMMAND ARGS...: runs any command
// (trtexec --loadEngine=net.plan --iterations=2000, a script) while sampling the power source,
// after S seconds of idle power, and prints per rail and in total the mean power, energy,
// dynamic energy (idle subtracted), duration, and per inference with N. The command's exit
// status is joules' own; Ctrl-C stops both (exit 130). energy/profiling/command_measurement.hpp
// does the work.

#include <cmath>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/command.hpp"
#include "cli/format.hpp"
#include "cli/interrupt.hpp"
#include "energy/board_profile.hpp"
#include "energy/estimator.hpp"
#include "energy/profiling/command_measurement.hpp"
#include "energy/profiling/discovery.hpp"
#include "space/analysis.hpp"
#include "onnx/onnx_model.hpp"
#include "space/architecture_yaml.hpp"
#include "util/input_error.hpp"

namespace joules::cli {
namespace {

using profiling::PowerSensor;
using profiling::SensorKind;

struct MeasureOptions {
  std::string sensor = "auto";
  double rate_hz = 1000;
  double idle_s = 2;
  std::optional<std::int64_t> inferences;
  std::vector<std::string> rails;
  std::string sysfs_root = "/";
  double estimate_power_mw = profiling::TimerEstimateOptions{}.power_mw;
  std::string compare;
  std::string board;
  bool json = false;
  std::vector<std::string> command;
};

// The sensor asked for; auto: a Jetson's rails, then NVML, then RAPL, else the timer estimate.
std::unique_ptr<PowerSensor> open_measure_sensor(const MeasureOptions& o) {
  profiling::DiscoveryOptions discovery;
  discovery.sysfs_root = o.sysfs_root;
  discovery.timer_estimate.power_mw = o.estimate_power_mw;
  if (o.sensor != "auto") {
    const std::string name = o.sensor == "jetson" ? "jetson-ina3221" : o.sensor == "timer" ? "timer-estimate" : o.sensor;
    const auto kind = profiling::parse_sensor_kind(name);
    if (!kind) {
      throw InputError("", 0, "--sensor", fmt::format("expected auto, jetson, nvml, rapl or timer, got '{}'", o.sensor));
    }
    try {
      return profiling::open_sensor(*kind, discovery);
    } catch (const profiling::SensorUnavailable& e) {
      throw std::runtime_error(fmt::format("--sensor {}: not available: {}", o.sensor, e.what()));
    }
  }
  std::string reasons;
  for (SensorKind kind : {SensorKind::jetson_ina3221, SensorKind::nvml, SensorKind::rapl}) {
    try {
      return profiling::open_sensor(kind, discovery);
    } catch (const profiling::SensorUnavailable& e) {
      reasons += fmt::format("; {}: {}", to_string(kind), e.what());
    }
  }
  fmt::print(stderr, "notice: --sensor auto: no power sensor here, using the timer estimate{}\n", reasons);
  return profiling::open_sensor(SensorKind::timer_estimate, discovery);
}

nlohmann::json rail_json(const profiling::CommandRail& r) {
  nlohmann::json j = {{"name", r.name},
                      {"mean_power_mw", r.mean_power_mw},
                      {"energy_mj", r.energy_mj},
                      {"idle_power_mw", r.idle_power_mw},
                      {"dynamic_energy_mj", r.dynamic_energy_mj}};
  if (r.energy_per_inference_mj) {
    j["energy_per_inference_mj"] = *r.energy_per_inference_mj;
    j["dynamic_energy_per_inference_mj"] = *r.dynamic_energy_per_inference_mj;
  }
  return j;
}

std::string number(double v) { return fmt::format("{:.4g}", v); }

int run_measure(const MeasureOptions& o) {
  std::error_code ec;
  if (!std::filesystem::is_directory(o.sysfs_root, ec)) {
    throw InputError("", 0, "--sysfs-root", fmt::format("{}: no such directory", o.sysfs_root));
  }
  if (o.command.empty()) throw InputError("", 0, "COMMAND", "give the command to measure after --");
  if (o.compare.empty() != o.board.empty()) {
    throw InputError("", 0, o.compare.empty() ? "--compare" : "--board", "--compare ARCH and --board PROFILE go together");
  }
  if (!o.compare.empty() && !o.inferences) {
    throw InputError("", 0, "--inferences", "--compare needs the command's inference count to compare per inference");
  }
  // The estimate is made before anything runs, so that a bad file costs no measurement.
  std::optional<BoardProfile> profile;
  std::optional<NetworkEstimate> estimate;
  if (!o.compare.empty()) {
    profile = load_board_profile(board_profile_path(o.board));
    const Architecture arch = load_architecture_file(o.compare);
    estimate = EnergyEstimator(*profile).estimate(arch, analyze(arch));
  }
  std::unique_ptr<PowerSensor> sensor = open_measure_sensor(o);

  InterruptGuard interrupt;
  profiling::CommandMeasurementOptions options{.command = o.command, .idle_s = o.idle_s, .inferences = o.inferences};
  options.sampler.rate_hz = o.rate_hz;
  options.sampler.rails = o.rails;
  options.interrupted = [&] { return interrupt.interrupted(); };
  profiling::CommandMeasurement m;
  try {
    m = profiling::measure_command(*sensor, options);
  } catch (const profiling::CommandNotStarted& e) {
    throw InputError("", 0, "COMMAND", e.what());
  } catch (const std::invalid_argument& e) {
    throw InputError("", 0, "", e.what());
  }
  const bool estimated = sensor->is_estimate();
  const bool started = m.duration_s > 0;

  // What the profile's energy is: with idle power (energy_mj) or without (dynamic_energy_mj).
  std::optional<double> measured_per_inference;
  bool dynamic = false;
  if (estimate && started) {
    dynamic = profile->energy.target.find("dynamic") != std::string::npos;
    measured_per_inference = dynamic ? *m.total.dynamic_energy_per_inference_mj : *m.total.energy_per_inference_mj;
  }
  const int status = m.interrupted ? 130 : m.exit_status;

  if (o.json) {
    nlohmann::json rails = nlohmann::json::array();
    for (const auto& r : m.rails) rails.push_back(rail_json(r));
    nlohmann::json out = {{"command", o.command},
                          {"sensor", std::string(to_string(sensor->kind()))},
                          {"estimate", estimated},
                          {"rate_hz", m.run.interval_s > 0 ? 1 / m.run.interval_s : 0.0},
                          {"samples", m.run.samples},
                          {"idle_s", m.idle ? m.idle->window_s : 0.0},
                          {"duration_s", m.duration_s},
                          {"exit_status", m.exit_status},
                          {"interrupted", m.interrupted},
                          {"inferences", o.inferences ? nlohmann::json(*o.inferences) : nlohmann::json()},
                          {"rails", rails},
                          {"total", rail_json(m.total)}};
    if (measured_per_inference) {
      out["compare"] = {{"arch", o.compare},
                        {"board", profile->board},
                        {"quantity", dynamic ? "dynamic_energy_per_inference_mj" : "energy_per_inference_mj"},
                        {"estimate_mj", estimate->energy_mj},
                        {"band_mj", {estimate->energy_low_mj, estimate->energy_high_mj}},
                        {"measured_mj", *measured_per_inference},
                        {"error_pct", 100 * (estimate->energy_mj / *measured_per_inference - 1)},
                        {"inside_band", *measured_per_inference >= estimate->energy_low_mj &&
                                            *measured_per_inference <= estimate->energy_high_mj}};
    }
    fmt::print("{}\n", dump_json(out));
    return status;
  }

  if (estimated) fmt::print("NOTICE: timer estimate: the energies below are time x {} mW, not measurements\n", o.estimate_power_mw);
  if (!started) {
    fmt::print("interrupted during the idle window: the command was not run\n");
    return status;
  }
  fmt::print("{}: {} samples at {} Hz over {} s{}; exit status {}{}\n", to_string(sensor->kind()), m.run.samples,
             number(m.run.interval_s > 0 ? 1 / m.run.interval_s : 0), number(m.duration_s),
             m.idle ? fmt::format(", idle measured for {} s before", number(m.idle->window_s)) : "", m.exit_status,
             m.interrupted ? " (interrupted)" : "");
  Column power{.header = "mean mW"}, idle{.header = "idle mW"}, energy{.header = "energy mJ"},
      dyn{.header = "dynamic mJ"}, per{.header = "mJ/inference"}, dyn_per{.header = "dynamic mJ/inference"};
  std::vector<std::string> names;
  const auto add = [&](const profiling::CommandRail& r, const std::string& label) {
    names.push_back(label);
    power.cells.push_back(number(r.mean_power_mw));
    idle.cells.push_back(number(r.idle_power_mw));
    energy.cells.push_back(number(r.energy_mj));
    dyn.cells.push_back(number(r.dynamic_energy_mj));
    if (r.energy_per_inference_mj) {
      per.cells.push_back(number(*r.energy_per_inference_mj));
      dyn_per.cells.push_back(number(*r.dynamic_energy_per_inference_mj));
    }
  };
  // One rail is its own total: a single row.
  if (m.rails.size() > 1) {
    for (const auto& r : m.rails) add(r, printable(r.name));
  }
  add(m.total, "total " + printable(m.total.name));
  std::size_t width = 4;
  for (const std::string& n : names) width = std::max(width, n.size());
  std::vector<const Column*> columns{&power, &idle, &energy, &dyn};
  if (o.inferences) {
    columns.push_back(&per);
    columns.push_back(&dyn_per);
  }
  std::string header = fmt::format("  {:<{}}", "rail", width);
  for (const Column* c : columns) header += fmt::format("  {:>{}}", c->header, std::max<std::size_t>(10, c->header.size()));
  fmt::print("{}\n", header);
  for (std::size_t i = 0; i < names.size(); ++i) {
    std::string line = fmt::format("  {:<{}}", names[i], width);
    for (const Column* c : columns) line += fmt::format("  {:>{}}", c->cells[i], std::max<std::size_t>(10, c->header.size()));
    fmt::print("{}\n", line);
  }
  if (measured_per_inference) {
    fmt::print("estimate of {} on {} ({}): {} mJ per inference, band [{}, {}]; measured {} mJ ({}): error {:+.1f}%{}\n",
               o.compare, profile->board, to_string(profile->provenance.kind), number(estimate->energy_mj),
               number(estimate->energy_low_mj), number(estimate->energy_high_mj), number(*measured_per_inference),
               dynamic ? "dynamic" : "idle included", 100 * (estimate->energy_mj / *measured_per_inference - 1),
               *measured_per_inference >= estimate->energy_low_mj && *measured_per_inference <= estimate->energy_high_mj
                   ? ", inside the band" : ", OUTSIDE the band");
    if (const std::string notice = provenance_notice(*profile); !notice.empty()) fmt::print("NOTICE: {}\n", notice);
  }
  if (m.interrupted) fmt::print("interrupted: the command was stopped with SIGINT\n");
  return status;
}

}  // namespace

Runner add_measure_command(CLI::App& app) {
  auto o = std::make_shared<MeasureOptions>();
  CLI::App* cmd = app.add_subcommand("measure", "Measure the energy of any command (e.g. trtexec) while it runs");
  cmd->add_option("--sensor", o->sensor, "auto (default), jetson, nvml, rapl or timer (an estimate)");
  cmd->add_option("--rate-hz", o->rate_hz, "Sampling rate (default 1000; never faster than the sensor refreshes)")
      ->check(CLI::Range(0.001, 100000.0));
  cmd->add_option("--idle-s", o->idle_s, "Seconds of idle power measured before the command (default 2; 0: none)")
      ->check(CLI::Range(0.0, 3600.0));
  cmd->add_option("--inferences", o->inferences, "The command's inference count: adds per-inference figures")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--rails", o->rails, "Rails to measure (default: the sensor's board total); repeatable");
  cmd->add_option("--sysfs-root", o->sysfs_root, "Read every sysfs path under this directory (default /)");
  cmd->add_option("--estimate-power-mw", o->estimate_power_mw, "Power the timer estimate assumes (default 10000)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--compare", o->compare, "Architecture (YAML or ONNX) the command runs: adds its estimate and the error");
  cmd->add_option("--board", o->board, "Board profile (NAME or PROFILE.yaml) for --compare");
  cmd->add_flag("--json", o->json, "Print one JSON object on stdout");
  cmd->add_option("COMMAND", o->command, "The command and its arguments, after --")->required();
  return [o] { return run_measure(*o); };
}

}  // namespace joules::cli
