// joules split ARCH.yaml --board PROFILE --uplink-mbps B --radio-mw P [--bytes-per-value 4|2|1]
// [--server-ms-per-gmac S] [--json] [--svg FILE]: where to cut a network between the device and
// a server (energy/split.hpp): device energy, bytes sent, radio energy and their sum per split.

#include <cstdio>
#include <string>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/command.hpp"
#include "cli/format.hpp"
#include "energy/board_profile.hpp"
#include "energy/estimator.hpp"
#include "energy/split.hpp"
#include "space/analysis.hpp"
#include "onnx/onnx_model.hpp"
#include "space/architecture_yaml.hpp"
#include "util/atomic_file.hpp"
#include "util/input_error.hpp"
#include "util/svg_plot.hpp"

namespace joules::cli {
namespace {

struct SplitOptions {
  std::string path;
  std::string board;
  SplitLink link;
  double server_ms_per_gmac = 0;
  CLI::Option* server = nullptr;
  bool json = false;
  std::string svg_path;
};

std::string svg(const SplitPlan& plan, const std::string& title) {
  PlotSeries device{.label = "device", .marker = Marker::square, .line = true};
  PlotSeries radio{.label = "radio", .marker = Marker::cross, .line = true};
  PlotSeries total{.label = "total", .marker = Marker::circle, .line = true};
  for (const SplitRow& r : plan.splits) {
    for (PlotSeries* s : {&device, &radio, &total}) s->x.push_back(static_cast<double>(r.after_layer));
    device.y.push_back(r.device_energy_mj);
    radio.y.push_back(r.radio_energy_mj);
    total.y.push_back(r.total_energy_mj);
  }
  PlotSeries best{.label = fmt::format("best: after layer {}", plan.best),
                  .x = {static_cast<double>(plan.best)},
                  .y = {plan.splits[plan.best].total_energy_mj},
                  .color = "#d62728",
                  .size_px = 7,
                  .hollow = true};
  return svg_plot({.title = title, .x_label = "split after layer k (0: send the input)", .y_label = "energy per inference (mJ)"},
                  {device, radio, total, best});
}

int run_split(SplitOptions& options) {
  if (options.server->count() > 0) options.link.server_ms_per_gmac = options.server_ms_per_gmac;
  try {
    validate(options.link);
  } catch (const SpecError& e) {
    throw InputError("command line", 0, flag_of(e.key()), e.message());
  }
  const BoardProfile profile = load_board_profile(board_profile_path(options.board));
  const Architecture arch = load_architecture_file(options.path);
  const NetworkAnalysis net = analyze(arch);
  const EnergyEstimator estimator(profile);
  const SplitPlan plan = plan_splits(net, estimator.estimate(arch, net), options.link);
  const std::string notice = provenance_notice(profile);

  if (!options.svg_path.empty()) {
    write_file_atomic(options.svg_path,
                      svg(plan, fmt::format("{} on {}: {} Mbps, {} mW", arch.name.empty() ? options.path : arch.name,
                                            profile.board, options.link.uplink_mbps, options.link.radio_mw)));
  }
  if (options.json) {
    if (!notice.empty()) fmt::print(stderr, "notice: {}\n", notice);
    nlohmann::json rows = nlohmann::json::array();
    for (const SplitRow& r : plan.splits) {
      rows.push_back({{"after_layer", r.after_layer},
                      {"device_energy_mj", r.device_energy_mj},
                      {"bytes", r.bytes},
                      {"radio_energy_mj", r.radio_energy_mj},
                      {"total_energy_mj", r.total_energy_mj},
                      {"latency_ms", r.latency_ms ? nlohmann::json(*r.latency_ms) : nlohmann::json()}});
    }
    fmt::print("{}\n", dump_json({{"splits", rows}, {"best", plan.best}}));
    return 0;
  }
  if (!notice.empty()) fmt::print("NOTICE: {}\n", notice);
  fmt::print("board {}: link {} Mbps at {} mW, {} bytes per value{}\n", profile.board, options.link.uplink_mbps,
             options.link.radio_mw, options.link.bytes_per_value,
             options.link.server_ms_per_gmac ? fmt::format(", server {} ms per GMAC", *options.link.server_ms_per_gmac)
                                             : std::string(", server time not counted"));
  fmt::print("{:>5}  {:<28}  {:>10}  {:>12}  {:>10}  {:>10}  {:>10}\n", "after", "layer", "device mJ", "bytes",
             "radio mJ", "total mJ", "latency ms");
  for (const SplitRow& r : plan.splits) {
    const std::string layer = r.after_layer == 0 ? "(send the input)" : describe(arch.layers[r.after_layer - 1]);
    fmt::print("{:>5}  {:<28}  {:>10.4g}  {:>12}  {:>10.4g}  {:>10.4g}  {:>10}{}\n", r.after_layer, layer,
               r.device_energy_mj, thousands(r.bytes), r.radio_energy_mj, r.total_energy_mj,
               r.latency_ms ? fmt::format("{:.4g}", *r.latency_ms) : "-", r.after_layer == plan.best ? "  <- best" : "");
  }
  fmt::print("best: split after layer {} of {} ({}), {:.4g} mJ per inference\n", plan.best, arch.layers.size(),
             plan.best == 0 ? "offload everything" : plan.best == arch.layers.size() ? "all on the device" : "split",
             plan.splits[plan.best].total_energy_mj);
  if (!options.svg_path.empty()) fmt::print("plot written to {}\n", options.svg_path);
  return 0;
}

}  // namespace

Runner add_split_command(CLI::App& app) {
  auto options = std::make_shared<SplitOptions>();
  CLI::App* cmd = app.add_subcommand("split", "Price every split point of a network between the device and a server");
  cmd->add_option("ARCH.yaml", options->path, "Architecture file (YAML or .onnx)")->required();
  cmd->add_option("--board", options->board, "Board profile: a name (profiles/NAME.yaml) or a profile file")->required();
  cmd->add_option("--uplink-mbps", options->link.uplink_mbps, "Uplink bandwidth, megabits per second (> 0)")->required();
  cmd->add_option("--radio-mw", options->link.radio_mw, "Radio power while sending, milliwatts (>= 0)")->required();
  cmd->add_option("--bytes-per-value", options->link.bytes_per_value, "Bytes per activation value: 4, 2 or 1 (4)");
  options->server = cmd->add_option("--server-ms-per-gmac", options->server_ms_per_gmac,
                                    "Server time per 1e9 MACs, ms, added to the latency (not counted when absent)");
  cmd->add_flag("--json", options->json, "Print JSON instead of a table");
  cmd->add_option("--svg", options->svg_path, "Also plot the energies per split point into this SVG file");
  return [options] { return run_split(*options); };
}

}  // namespace joules::cli
