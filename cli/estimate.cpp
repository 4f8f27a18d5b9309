// joules estimate ARCH.yaml --board NAME|PROFILE.yaml [--json]: energy (and latency) per inference of
// an architecture on a board, per layer, with the profile's uncertainty band and warnings.

#include <cstdio>
#include <string>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/command.hpp"
#include "cli/format.hpp"
#include "energy/board_profile.hpp"
#include "energy/estimator.hpp"
#include "space/analysis.hpp"
#include "onnx/onnx_model.hpp"
#include "space/architecture_yaml.hpp"

namespace joules::cli {
namespace {

struct EstimateOptions {
  std::string path;
  std::string board;
  bool json = false;
};

std::string mj(double v) { return fmt::format("{:.4g}", v); }

int run_estimate(const EstimateOptions& options) {
  const BoardProfile profile = load_board_profile(board_profile_path(options.board));
  const Architecture arch = load_architecture_file(options.path);  // YAML or .onnx
  const NetworkAnalysis net = analyze(arch);
  const EnergyEstimator estimator(profile);
  const NetworkEstimate e = estimator.estimate(arch, net);
  const std::string notice = provenance_notice(profile);

  if (options.json) {
    if (!notice.empty()) fmt::print(stderr, "notice: {}\n", notice);
    nlohmann::json out = architecture_json(arch, net);
    out["board"] = profile.board;
    out["provenance"] = to_string(profile.provenance.kind);
    out["energy_mj"] = e.energy_mj;
    out["energy_band_mj"] = {e.energy_low_mj, e.energy_high_mj};
    out["overhead_mj"] = e.overhead_mj;
    if (e.latency_ms) {
      out["latency_ms"] = *e.latency_ms;
      out["latency_band_ms"] = {*e.latency_low_ms, *e.latency_high_ms};
    }
    for (std::size_t i = 0; i < e.layers.size(); ++i) {
      nlohmann::json& l = out["layers"][i];
      l["energy_mj"] = e.layers[i].energy_mj;
      l["energy_band_mj"] = {e.layers[i].energy_low_mj, e.layers[i].energy_high_mj};
      l["priced_as"] = to_string(e.layers[i].priced_as);
      if (e.layers[i].latency_ms) l["latency_ms"] = *e.layers[i].latency_ms;
    }
    nlohmann::json warnings = nlohmann::json::array();
    for (const EstimateWarning& w : e.warnings) warnings.push_back(describe(w));
    out["warnings"] = warnings;
    fmt::print("{}\n", dump_json(out));
    for (const EstimateWarning& w : e.warnings) fmt::print(stderr, "warning: {}\n", describe(w));
    return 0;
  }

  if (!notice.empty()) fmt::print("NOTICE: {}\n", notice);
  fmt::print("board {} ({}): {} per inference, batch 1\n", profile.board, to_string(profile.provenance.kind),
             profile.energy.target);
  Column energy{.header = "energy mJ", .total = mj(e.energy_mj)};
  Column latency{.header = "latency ms", .total = e.latency_ms ? mj(*e.latency_ms) : ""};
  Column model{.header = "model"};
  for (const LayerEstimate& l : e.layers) {
    energy.cells.push_back(mj(l.energy_mj));
    if (l.latency_ms) latency.cells.push_back(mj(*l.latency_ms));
    model.cells.push_back(l.priced_as == l.kind ? std::string(to_string(l.kind))
                                                 : fmt::format("{} (as {})", to_string(l.kind), to_string(l.priced_as)));
  }
  std::vector<Column> columns{energy};
  if (e.latency_ms) columns.push_back(latency);
  columns.push_back(model);
  fmt::print("{}", architecture_table(arch, net, columns));
  if (profile.energy.fits.empty()) {
    fmt::print("energy {} mJ per inference (the profile has no cross-validated band), including {} mJ overhead\n",
               mj(e.energy_mj), mj(e.overhead_mj));
  } else {
    fmt::print("energy {} mJ per inference ({:.0f}% band {} .. {} mJ), including {} mJ overhead per inference\n",
               mj(e.energy_mj), 100 * profile.energy.fits.front().quality.band_coverage, mj(e.energy_low_mj),
               mj(e.energy_high_mj), mj(e.overhead_mj));
  }
  if (e.latency_ms) {
    fmt::print("latency {} ms per inference (band {} .. {} ms)\n", mj(*e.latency_ms), mj(*e.latency_low_ms),
               mj(*e.latency_high_ms));
  }
  for (const EstimateWarning& w : e.warnings) fmt::print("warning: {}\n", describe(w));
  return 0;
}

}  // namespace

Runner add_estimate_command(CLI::App& app) {
  auto options = std::make_shared<EstimateOptions>();
  CLI::App* cmd = app.add_subcommand("estimate", "Estimate an architecture's energy per inference on a board");
  cmd->add_option("ARCH.yaml", options->path, "Architecture file (YAML or .onnx)")->required();
  cmd->add_option("--board", options->board, "Board profile: a name (profiles/NAME.yaml) or a profile file")->required();
  cmd->add_flag("--json", options->json, "Print JSON instead of a table");
  return [options] { return run_estimate(*options); };
}

}  // namespace joules::cli
