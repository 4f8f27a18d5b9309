// joules fit (--layers CSV | --networks CSV) --provenance FILE.yaml --out profiles/BOARD.yaml:
// fits a board profile from measurements (energy/fit.hpp does the work) and writes it, with an
// optional Markdown report and SVG plots of the out-of-fold predictions.

#include <algorithm>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "cli/command.hpp"
#include "cli/format.hpp"
#include "energy/fit.hpp"
#include "energy/fit_report.hpp"
#include "util/atomic_file.hpp"
#include "util/input_error.hpp"

namespace joules::cli {
namespace {

struct FitCommandOptions {
  std::string layers;
  std::string networks;
  std::string prior;     // transfer fit from this profile (--networks only)
  std::string validate;  // also score the fitted profile on these networks
  std::vector<std::string> scales;  // transfer: candidate scale sets
  std::string provenance;
  std::string out;
  std::string board;           // overrides the provenance file's board name
  std::string target;          // energy column
  std::string latency;         // latency column (networks)
  std::string groups = "group";
  std::string families = "family";
  std::vector<std::string> models;
  std::vector<std::int64_t> granularities;
  std::int64_t folds = 10;
  std::uint64_t seed = 1;
  double coverage = 0.9;
  bool calibrate_extrapolation = false;
  std::string report;
  std::string plot;
  std::string latency_plot;
  std::string sweep_plot;
  std::string sweep_latency_plot;
  bool json = false;  // one summary object on stdout instead of the lines below
};

// The data file as seen from the profile's folder, so that a profile beside its measurements
// names them by a relative path.
std::string relative_to_profile(const std::string& data, const std::string& profile) {
  namespace fs = std::filesystem;
  const fs::path from = fs::absolute(fs::path(profile)).lexically_normal().parent_path();
  const fs::path to = fs::absolute(fs::path(data)).lexically_normal();
  const fs::path rel = to.lexically_relative(from);
  return rel.empty() ? to.string() : rel.string();
}

int run_fit(const FitCommandOptions& o) {
  if (o.layers.empty() == o.networks.empty()) {
    throw InputError("", 0, "--layers/--networks", "give exactly one of --layers CSV and --networks CSV");
  }
  BoardIdentity identity = load_board_identity(o.provenance);
  if (!o.board.empty()) identity.board = board_name(o.board);

  FitOptions options;
  if (!o.models.empty()) {
    options.families.clear();
    for (const std::string& m : o.models) {
      if (m == "auto") {
        options.families.assign(kModelFamilies.begin(), kModelFamilies.end());
        break;
      }
      const auto family = parse_model_family(m);
      if (!family) throw InputError("", 0, "--model", fmt::format("expected auto, linear, stairs or traffic, got '{}'", m));
      options.families.push_back(*family);
    }
  }
  if (!o.granularities.empty()) options.granularities = o.granularities;
  options.folds = o.folds;
  options.seed = o.seed;
  options.band_coverage = o.coverage;
  options.calibrate_extrapolation = o.calibrate_extrapolation;
  for (const std::string& set : o.scales) {
    if (set == "auto") {
      options.transfer_scales.clear();
      break;
    }
    if (std::find(kTransferScaleSets.begin(), kTransferScaleSets.end(), set) == kTransferScaleSets.end()) {
      throw InputError("", 0, "--scales", fmt::format("expected auto, {}, got '{}'", fmt::join(kTransferScaleSets, ", "), set));
    }
    options.transfer_scales.push_back(set);
  }
  if (!o.scales.empty() && o.prior.empty()) throw InputError("", 0, "--scales", "scale sets are for transfer fits (--prior)");

  if (!o.prior.empty() && o.networks.empty()) {
    throw InputError("", 0, "--prior", "a transfer fit needs whole-network measurements (--networks)");
  }
  if (!o.prior.empty() && !o.models.empty()) {
    throw InputError("", 0, "--model", "a transfer fit keeps the prior's families: leave out --model (or --prior)");
  }
  if (o.layers.empty() && !(o.sweep_plot.empty() && o.sweep_latency_plot.empty())) {
    throw InputError("", 0, o.sweep_plot.empty() ? "--sweep-latency-plot" : "--sweep-plot",
                     "sweep plots need per-layer measurements (--layers)");
  }
  BoardFit fit;
  LayerMeasurementSet layer_data;
  std::size_t network_rows = 0;
  if (!o.layers.empty()) {
    if (!o.target.empty()) options.layer_energy_column = o.target;
    layer_data = read_layer_measurements(o.layers, o.latency.empty() ? "latency_ms" : o.latency);
    fit = fit_layer_measurements(layer_data, identity, options);
    fit.profile.fit->data = relative_to_profile(o.layers, o.out);
  } else {
    NetworkColumns columns;
    if (!o.target.empty()) columns.energy = o.target;
    if (!o.latency.empty()) {
      columns.latency = o.latency;
      columns.latency_required = true;
    }
    columns.group = o.groups;
    columns.family = o.families;
    const NetworkMeasurementSet network_data = read_network_measurements(o.networks, columns);
    network_rows = network_data.rows.size();
    if (o.prior.empty()) {
      fit = fit_network_measurements(network_data, identity, options);
    } else {
      const std::string prior_path = board_profile_path(o.prior);
      const BoardProfile prior = load_board_profile(prior_path);
      if (const std::string notice = provenance_notice(prior); !notice.empty()) {
        fmt::print(stderr, "notice: prior {}: {}\n", prior.board, notice);
      }
      fit = fit_network_transfer(network_data, prior, identity, options);
      fit.profile.fit->prior = fmt::format("{} ({}, FNV-1a {})", prior.board, prior_path,
                                           fnv1a64_hex(read_input_file(prior_path)));
    }
    fit.profile.fit->data = relative_to_profile(o.networks, o.out);
  }
  std::optional<NetworkValidation> validation;
  if (!o.validate.empty()) {
    NetworkColumns columns;
    if (!o.target.empty()) columns.energy = o.target;
    if (!o.latency.empty()) columns.latency = o.latency;
    columns.group = o.groups;
    columns.family = o.families;
    validation = validate_on_networks(fit.profile, read_network_measurements(o.validate, columns), o.coverage);
  }

  // Checked before anything is written.
  if (!o.latency_plot.empty() && fit.latency.empty()) {
    throw InputError("", 0, "--latency-plot", "the data has no latency to plot");
  }
  if (!o.sweep_latency_plot.empty() && !fit.profile.latency) {
    throw InputError("", 0, "--sweep-latency-plot", "the data has no latency to plot");
  }
  // Said at fit time too: a profile that is not measured, or whose energy is an estimate.
  if (const std::string notice = provenance_notice(fit.profile); !notice.empty()) {
    fmt::print(stderr, "notice: {}\n", notice);
  }
  write_file_atomic(o.out, to_yaml(fit.profile));
  if (!o.report.empty()) write_file_atomic(o.report, fit_report_markdown(fit));
  if (!o.plot.empty()) write_file_atomic(o.plot, fit_plot_svg(fit, Quantity::energy));
  if (!o.latency_plot.empty()) write_file_atomic(o.latency_plot, fit_plot_svg(fit, Quantity::latency));
  if (!o.sweep_plot.empty()) write_file_atomic(o.sweep_plot, fit_sweep_svg(fit, layer_data, Quantity::energy));
  if (!o.sweep_latency_plot.empty()) {
    write_file_atomic(o.sweep_latency_plot, fit_sweep_svg(fit, layer_data, Quantity::latency));
  }

  // The chosen model of each fit, as lines or as the JSON summary's "fits".
  nlohmann::json fits = nlohmann::json::array();
  std::string lines;
  const auto summarise = [&](const QuantityModels& q, Quantity quantity) {
    for (const FitSummary& s : q.fits) {
      std::string kinds;
      nlohmann::json kind_names = nlohmann::json::array();
      for (LayerKind k : s.kinds) {
        kinds += (kinds.empty() ? "" : ",") + std::string(to_string(k));
        kind_names.push_back(to_string(k));
      }
      for (const CandidateResult& c : s.candidates) {
        if (!c.chosen) continue;
        lines += fmt::format(
            "{} {}: {}{} (granularity {}), cross-validated MAPE {:.2f}%, R^2 {:.4f}, {:.1f}% within +-10%, {} points\n",
            to_string(quantity), kinds, c.scales.empty() ? "" : fmt::format("scales {} over prior ", c.scales),
            to_string(c.family), c.granularity, s.quality.mape_pct, s.quality.r2,
            s.quality.within_10_pct, s.quality.points);
        fits.push_back({{"quantity", to_string(quantity)},
                        {"kinds", kind_names},
                        {"family", to_string(c.family)},
                        {"granularity", c.granularity},
                        {"scales", c.scales.empty() ? nlohmann::json() : nlohmann::json(c.scales)},
                        {"mape_pct", s.quality.mape_pct},
                        {"r2", s.quality.r2},
                        {"within_10_pct", s.quality.within_10_pct},
                        {"points", s.quality.points}});
      }
    }
  };
  summarise(fit.profile.energy, Quantity::energy);
  if (fit.profile.latency) summarise(*fit.profile.latency, Quantity::latency);
  nlohmann::json validation_json;
  if (validation) {
    const auto quality_json = [](const Quality& q) {
      return nlohmann::json{{"points", q.points}, {"mape_pct", q.mape_pct}, {"r2", q.r2},
                            {"within_10_pct", q.within_10_pct}, {"band", {q.band_low, q.band_high}}};
    };
    validation_json = {{"data", o.validate}, {"energy", quality_json(validation->energy)}};
    lines += fmt::format("validation on {}: energy MAPE {:.2f}%, {:.1f}% within +-10%, {} networks\n", o.validate,
                         validation->energy.mape_pct, validation->energy.within_10_pct, validation->energy.points);
    if (validation->latency) {
      validation_json["latency"] = quality_json(*validation->latency);
      lines += fmt::format("validation on {}: latency MAPE {:.2f}%, {} networks\n", o.validate,
                           validation->latency->mape_pct, validation->latency->points);
    }
  }
  if (o.json) {
    nlohmann::json written = nlohmann::json::array({o.out});
    for (const std::string* extra : {&o.report, &o.plot, &o.latency_plot, &o.sweep_plot, &o.sweep_latency_plot}) {
      if (!extra->empty()) written.push_back(*extra);
    }
    fmt::print("{}\n", dump_json({{"profile", o.out},
                                  {"board", fit.profile.board},
                                  {"provenance", to_string(fit.profile.provenance.kind)},
                                  {"data", o.layers.empty() ? o.networks : o.layers},
                                  {"rows", o.layers.empty() ? network_rows : layer_data.rows.size()},
                                  {"written", written},
                                  {"fits", fits},
                                  {"prior", o.prior.empty() ? nlohmann::json() : nlohmann::json(o.prior)},
                                  {"validation", validation_json}}));
    return 0;
  }
  fmt::print("{}wrote {}\n", lines, o.out);
  return 0;
}

}  // namespace

Runner add_fit_command(CLI::App& app) {
  auto o = std::make_shared<FitCommandOptions>();
  CLI::App* cmd = app.add_subcommand("fit", "Fit a board profile from per-layer or per-network measurements");
  cmd->add_option("--layers", o->layers, "Per-layer measurements CSV (as joules profile writes)");
  cmd->add_option("--networks", o->networks, "Per-network measurements CSV (a row per network and its architecture file)");
  cmd->add_option("--prior", o->prior,
                  "Transfer fit (--networks): keep this profile's models and fit a few scale factors (NAME or PROFILE.yaml)");
  cmd->add_option("--scales", o->scales,
                  fmt::format("Transfer fits: candidate scale sets, auto (default: all, chosen by cross-validation), "
                              "{}; repeatable", fmt::join(kTransferScaleSets, ", ")));
  cmd->add_option("--validate", o->validate,
                  "Also score the fitted profile on these measured networks (a per-network CSV not used in the fit)");
  cmd->add_option("--provenance", o->provenance, "YAML with board and provenance (see docs/formats/board-profile.md)")->required();
  cmd->add_option("--out", o->out, "Board profile to write (profiles/BOARD.yaml)")->required();
  cmd->add_option("--board", o->board, "Board name, or a profile path profiles/NAME.yaml (default: the provenance file's)");
  cmd->add_flag("--json", o->json, "Print one JSON summary object (files written, fit quality) on stdout");
  cmd->add_option("--target", o->target, "Energy column to fit (default energy_mj)");
  cmd->add_option("--latency", o->latency, "Latency column (default latency_ms when present; per-layer data: e.g. thread_cpu_ms)");
  cmd->add_option("--groups", o->groups, "Column of cross-validation groups (default group)");
  cmd->add_option("--families", o->families, "Column of families for leave-one-family-out (default family)");
  cmd->add_option("--model", o->models, "Candidate families: auto (default), linear, stairs, traffic; repeatable");
  cmd->add_option("--granularity", o->granularities, "Candidate stairs granularities (default 1 8 16 32 64 128)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--folds", o->folds, "k of the grouped k-fold cross-validation (default 10)")->check(CLI::Range(2, 1000));
  cmd->add_option("--seed", o->seed, "Seed of the fold assignment (default 1)");
  cmd->add_option("--coverage", o->coverage, "Coverage of the uncertainty band (default 0.9)")->check(CLI::Range(0.01, 0.99));
  cmd->add_flag("--calibrate-extrapolation", o->calibrate_extrapolation,
                "Calibrate how the band widens outside the data (two more fits; recorded in the profile)");
  cmd->add_option("--report", o->report, "Also write a Markdown report of the fit");
  cmd->add_option("--plot", o->plot, "Also write an SVG of out-of-fold predicted vs measured energy");
  cmd->add_option("--latency-plot", o->latency_plot, "Also write an SVG of out-of-fold predicted vs measured latency");
  cmd->add_option("--sweep-plot", o->sweep_plot,
                  "Also write an SVG of measured and fitted energy against the filter count (--layers data)");
  cmd->add_option("--sweep-latency-plot", o->sweep_latency_plot,
                  "Also write an SVG of measured and fitted latency against the filter count (--layers data)");
  return [o] { return run_fit(*o); };
}

}  // namespace joules::cli
