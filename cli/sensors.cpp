// joules sensors [--sysfs-root DIR] [--json] [--estimate-power-mw P]: the power sources found on
// this machine, each rail read once, and the board total. Sources that are not usable are listed
// with the reason; the timer estimate is always there and always says it is an estimate.

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/command.hpp"
#include "cli/format.hpp"
#include "energy/profiling/discovery.hpp"
#include "energy/profiling/jetson_ina3221.hpp"
#include "util/input_error.hpp"

namespace joules::cli {
namespace {

using profiling::PowerSensor;
using profiling::SensorKind;
using profiling::SensorSnapshot;

struct SensorsOptions {
  std::string sysfs_root = "/";
  bool json = false;
  double estimate_power_mw = profiling::TimerEstimateOptions{}.power_mw;
};

nlohmann::json number_or_null(const std::optional<double>& value) {
  return value ? nlohmann::json(*value) : nlohmann::json(nullptr);
}

nlohmann::json source_json(PowerSensor& sensor, const SensorSnapshot& snapshot) {
  nlohmann::json rails = nlohmann::json::array();
  for (const auto& rail : snapshot.rails) {
    nlohmann::json r = {{"name", rail.name},
                        {"power_mw", number_or_null(rail.reading.power_mw)},
                        {"voltage_mv", number_or_null(rail.reading.voltage_mv)},
                        {"current_ma", number_or_null(rail.reading.current_ma)}};
    if (!rail.reading.ok()) r["error"] = rail.reading.error;
    if (!rail.fault.empty()) r["fault"] = rail.fault;
    rails.push_back(std::move(r));
  }
  nlohmann::json source = {{"kind", std::string(to_string(sensor.kind()))},
                           {"estimate", sensor.is_estimate()},
                           {"description", sensor.description()},
                           {"rails", std::move(rails)},
                           {"total_rail", profiling::join_rails(snapshot.total_rails)},
                           {"total_power_mw", number_or_null(snapshot.total_power_mw)},
                           {"total_excludes", snapshot.faulted_total_rails},
                           {"update_interval_us", sensor.update_interval().count()},
                           {"warnings", sensor.warnings()}};
  if (const auto* jetson = dynamic_cast<const profiling::JetsonIna3221Sensor*>(&sensor)) {
    source["module"] = jetson->board().module;
    source["model"] = jetson->model();
    source["total_rule"] = jetson->board().rule;
  }
  return source;
}

std::string power_text(const std::optional<double>& mw) { return mw ? fmt::format("{:.1f}", *mw) : "-"; }

// Names, descriptions and errors come from files of the machine: printed escaped, so that a
// label holding a terminal escape sequence shows as text.
std::string source_table(PowerSensor& sensor, const SensorSnapshot& snapshot) {
  std::string out = fmt::format("{}: {}\n", to_string(sensor.kind()), printable(sensor.description()));
  std::vector<std::string> names;
  std::size_t width = 4;
  for (const auto& rail : snapshot.rails) {
    names.push_back(printable(rail.name));
    width = std::max(width, names.back().size());
  }
  out += fmt::format("  {:<{}}  {:>10}  {:>10}  {:>10}\n", "rail", width, "power_mW", "voltage_mV", "current_mA");
  for (std::size_t i = 0; i < snapshot.rails.size(); ++i) {
    const auto& rail = snapshot.rails[i];
    if (!rail.reading.ok()) {
      out += fmt::format("  {:<{}}  error: {}\n", names[i], width, printable(rail.reading.error));
      continue;
    }
    out += fmt::format("  {:<{}}  {:>10}  {:>10}  {:>10}{}\n", names[i], width, power_text(rail.reading.power_mw),
                       power_text(rail.reading.voltage_mv), power_text(rail.reading.current_ma),
                       rail.fault.empty() ? "" : "  " + rail.fault);
  }
  std::string excluded;
  if (!snapshot.faulted_total_rails.empty()) {
    excluded = fmt::format("  (excluding faulted {})", printable(profiling::join_rails(snapshot.faulted_total_rails)));
  }
  out += fmt::format("  total {}: {} mW{}{}\n", printable(profiling::join_rails(snapshot.total_rails)),
                     snapshot.total_power_mw ? fmt::format("{:.1f}", *snapshot.total_power_mw) : "unknown (a rail failed)",
                     excluded, sensor.is_estimate() ? "  (ESTIMATE, not measured)" : "");
  if (const auto* jetson = dynamic_cast<const profiling::JetsonIna3221Sensor*>(&sensor)) {
    out += fmt::format("  board total rule: {}\n", printable(jetson->board().rule));
  }
  for (const auto& warning : sensor.warnings()) out += fmt::format("  warning: {}\n", printable(warning));
  return out;
}

int run_sensors(const SensorsOptions& options) {
  std::error_code ec;
  if (!std::filesystem::is_directory(options.sysfs_root, ec)) {
    throw InputError("", 0, "--sysfs-root", fmt::format("{}: no such directory", options.sysfs_root));
  }
  if (!(options.estimate_power_mw > 0)) {
    throw InputError("", 0, "--estimate-power-mw", fmt::format("must be a positive number of mW, got {}", options.estimate_power_mw));
  }
  profiling::DiscoveryOptions discovery;
  discovery.sysfs_root = options.sysfs_root;
  discovery.timer_estimate.power_mw = options.estimate_power_mw;
  profiling::DiscoveredSensors found = profiling::discover_sensors(discovery);

  std::vector<SensorSnapshot> snapshots;
  for (auto& sensor : found.sensors) snapshots.push_back(profiling::take_snapshot(*sensor));

  if (options.json) {
    nlohmann::json sources = nlohmann::json::array();
    for (std::size_t i = 0; i < found.sensors.size(); ++i) sources.push_back(source_json(*found.sensors[i], snapshots[i]));
    nlohmann::json unavailable = nlohmann::json::array();
    for (const auto& u : found.unavailable) {
      unavailable.push_back({{"kind", std::string(to_string(u.kind))}, {"reason", u.reason}});
    }
    fmt::print("{}\n", dump_json({{"sources", std::move(sources)}, {"unavailable", std::move(unavailable)}}));
    return 0;
  }

  // Every kind in order, found or not.
  std::size_t measured = 0;
  for (SensorKind kind : {SensorKind::jetson_ina3221, SensorKind::nvml, SensorKind::rapl, SensorKind::timer_estimate}) {
    for (std::size_t i = 0; i < found.sensors.size(); ++i) {
      if (found.sensors[i]->kind() != kind) continue;
      fmt::print("{}", source_table(*found.sensors[i], snapshots[i]));
      if (!found.sensors[i]->is_estimate()) ++measured;
    }
    for (const auto& u : found.unavailable) {
      if (u.kind == kind) fmt::print("{}: not available: {}\n", to_string(kind), printable(u.reason));
    }
  }
  if (measured == 0) {
    fmt::print("\nNo power sensor found under {}: only the timer estimate is available, and its numbers are "
               "estimates (time x {} mW), not measurements.\n",
               options.sysfs_root, options.estimate_power_mw);
  }
  return 0;
}

}  // namespace

Runner add_sensors_command(CLI::App& app) {
  auto options = std::make_shared<SensorsOptions>();
  CLI::App* cmd = app.add_subcommand("sensors", "List the power sensors found here and read each rail once");
  cmd->add_option("--sysfs-root", options->sysfs_root, "Read every sysfs path under this directory (default /)");
  cmd->add_flag("--json", options->json, "Print JSON instead of a table");
  cmd->add_option("--estimate-power-mw", options->estimate_power_mw,
                  "Power the timer estimate assumes, in mW (default 10000)");
  return [options] { return run_sensors(*options); };
}

}  // namespace joules::cli
