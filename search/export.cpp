#include "search/export.hpp"

#include <stdlib.h>

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "energy/board_profile.hpp"
#include "search/nas_search.hpp"
#include "search/pareto.hpp"
#include "search/run_directory.hpp"
#include "space/architecture_yaml.hpp"
#include "util/atomic_file.hpp"
#include "util/csv.hpp"
#include "util/svg_plot.hpp"

namespace joules {
namespace {

namespace fs = std::filesystem;

std::string optional_number(const std::optional<double>& v) { return v ? csv_number(*v) : ""; }

std::string front_csv(const std::vector<ExportedMember>& front) {
  std::string out =
      "id,hash,generation,accuracy,test_accuracy,energy_mj,energy_low_mj,energy_high_mj,extrapolated,latency_ms,macs,"
      "params,train_seconds,architecture,weights\n";
  for (const ExportedMember& m : front) {
    const EvaluationRecord& r = m.record;
    out += fmt::format("{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}\n", r.id, r.hash, r.generation,
                       optional_number(r.accuracy), optional_number(m.test_accuracy), csv_number(r.energy_mj),
                       csv_number(r.energy_low_mj), csv_number(r.energy_high_mj), r.extrapolated ? "true" : "false",
                       optional_number(r.latency_ms), r.macs, r.params, csv_number(r.train_seconds),
                       csv_field(fmt::format("{}.yaml", r.id)), m.has_weights ? fmt::format("{}.pt", r.id) : "");
  }
  return out;
}

std::string front_svg(const std::vector<EvaluationRecord>& all, const std::vector<ExportedMember>& front,
                      const SearchConfig& config, const BoardProfile& profile) {
  PlotSeries evaluated{.label = "evaluated", .color = "#9a9a9a", .opacity = 0.75, .size_px = 2.6};
  PlotSeries infeasible{.label = "over budget (not trained)", .color = "#d62728", .marker = Marker::cross,
                        .size_px = 3.5};
  PlotSeries members{.label = "Pareto front", .color = "#1f77b4", .marker = Marker::circle, .line = true,
                     .size_px = 4};
  PlotSeries inside{.color = "#1f77b4", .marker = Marker::circle, .size_px = 4};
  double lowest_accuracy = 100;
  double min_energy = INFINITY;
  double max_energy = 0;
  for (const EvaluationRecord& r : all) {
    min_energy = std::min(min_energy, r.energy_mj);
    max_energy = std::max(max_energy, r.energy_mj);
    if (r.status != EvaluationStatus::ok) continue;
    evaluated.x.push_back(r.energy_mj);
    evaluated.y.push_back(100 * *r.accuracy);
    lowest_accuracy = std::min(lowest_accuracy, 100 * *r.accuracy);
  }
  // Infeasible candidates have no accuracy: they are marked along the bottom of the plot.
  for (const EvaluationRecord& r : all) {
    if (r.status != EvaluationStatus::infeasible) continue;
    infeasible.x.push_back(r.energy_mj);
    infeasible.y.push_back(lowest_accuracy - 2);
  }
  // Front members with their bands; those priced outside the profile's data are hollow.
  PlotSeries extrapolated = members;
  extrapolated.label = "Pareto front, extrapolated (outside the profile's data)";
  extrapolated.line = false;
  extrapolated.hollow = true;
  members.label = "Pareto front";
  for (const ExportedMember& m : front) {
    members.x.push_back(m.record.energy_mj);
    members.y.push_back(100 * *m.record.accuracy);
    PlotSeries& points = m.record.extrapolated ? extrapolated : inside;
    points.x.push_back(m.record.energy_mj);
    points.y.push_back(100 * *m.record.accuracy);
    points.x_low.push_back(m.record.energy_low_mj);
    points.x_high.push_back(m.record.energy_high_mj);
  }
  members.marker = Marker::none;
  std::string title = fmt::format("{}: accuracy and energy on {}", config.name, profile.board);
  if (!is_measured(profile)) title += fmt::format(" ({} profile)", to_string(profile.provenance.kind));
  std::vector<PlotSeries> series{evaluated};
  if (!infeasible.x.empty()) series.push_back(infeasible);
  series.push_back(members);
  if (!inside.x.empty()) series.push_back(inside);
  if (!extrapolated.x.empty()) series.push_back(extrapolated);
  return svg_plot({.title = title,
                   .x_label = fmt::format("estimated energy per inference on {} (mJ)", profile.board),
                   .y_label = "validation accuracy (%)",
                   .log_x = min_energy > 0 && max_energy / min_energy > 20},
                  series);
}

}  // namespace

std::vector<EvaluationRecord> pareto_members(const std::vector<EvaluationRecord>& evaluations,
                                             const std::vector<Objective>& objectives) {
  std::vector<EvaluationRecord> trained;
  for (const EvaluationRecord& r : evaluations) {
    if (r.status == EvaluationStatus::ok && r.accuracy) trained.push_back(r);
  }
  ObjectiveMatrix points;
  for (const EvaluationRecord& r : trained) points.push_back(minimised_objectives(r, objectives));
  std::vector<EvaluationRecord> front;
  for (std::size_t i : pareto_front(points)) front.push_back(trained[i]);
  std::sort(front.begin(), front.end(), [](const auto& a, const auto& b) {
    return a.energy_mj != b.energy_mj ? a.energy_mj < b.energy_mj : a.id < b.id;
  });
  return front;
}

std::vector<std::string> coverage_summary(const std::vector<EvaluationRecord>& all,
                                          const std::vector<EvaluationRecord>& front, const BoardProfile& profile,
                                          const std::string& config_path) {
  std::size_t candidates = 0;
  std::vector<std::string> keys;
  double worst = 1;
  for (const EvaluationRecord& r : all) {
    if (!r.extrapolated) continue;
    ++candidates;
    worst = std::max(worst, r.extrapolation_factor);
    for (const std::string& k : r.extrapolated_keys) {
      if (std::find(keys.begin(), keys.end(), k) == keys.end()) keys.push_back(k);
    }
  }
  if (candidates == 0) return {};
  const auto members = std::count_if(front.begin(), front.end(), [](const auto& r) { return r.extrapolated; });
  std::string along;
  for (const std::string& k : keys) along += (along.empty() ? "" : ", ") + k;
  std::vector<std::string> lines;
  lines.push_back(fmt::format("extrapolated: {} of {} candidates and {} of {} front members have layers outside the "
                              "data behind the {} profile (along {}; at worst {:.3g}x outside a fitted range)",
                              candidates, all.size(), members, front.size(), profile.board, along, worst));
  lines.push_back(fmt::format("  their energies extrapolate the fitted models; the data: {}",
                              profile.provenance.source.empty() ? "(no source recorded)" : profile.provenance.source));
  lines.push_back(fmt::format("  for a profile that covers this space: joules profile --grid-from {} on the board, "
                              "then joules fit",
                              config_path));
  return lines;
}

ExportResult export_front(const ExportRequest& request) {
  const std::vector<EvaluationRecord> all = read_evaluations(request.run_dir);
  const SearchConfig config = load_search_config((request.run_dir / "config.yaml").string());
  const BoardProfile profile = load_board_profile(config.board);
  if (request.retrain_epochs > 0 && !request.retrain) {
    throw std::invalid_argument("export_front: retraining asked without a retrainer");
  }

  ExportResult result;
  result.evaluations = all.size();
  result.dir = request.to_dir.empty() ? request.run_dir / "pareto" : request.to_dir;
  const fs::path parent = fs::absolute(result.dir).parent_path();
  fs::create_directories(parent);
  std::string tmp_template = (parent / ".pareto-tmp-XXXXXX").string();
  if (!::mkdtemp(tmp_template.data())) throw std::runtime_error("cannot create a directory in " + parent.string());
  const fs::path tmp = tmp_template;

  try {
    for (EvaluationRecord& r : pareto_members(all, config.search.objectives)) {
      ExportedMember m{.record = r};
      const fs::path weights = tmp / fmt::format("{}.pt", r.id);
      if (request.retrain_epochs > 0) {
        if (request.on_note) request.on_note(fmt::format("retraining {} for {} epochs", r.id, request.retrain_epochs));
        TrainOptions options = config.training;
        options.epochs = request.retrain_epochs;
        options.steps = 0;
        options.train_samples = 0;
        options.time_budget_s = 0;
        options.evaluate_test = true;
        options.seed = candidate_seed(config.training.seed, r.hash);
        options.save_path = weights.string();
        const TrainResult trained = request.retrain(r.arch, options);
        m.test_accuracy = trained.test_accuracy;
        m.has_weights = fs::exists(weights);
        if (request.on_note && trained.status != TrainStatus::ok) {
          request.on_note(fmt::format("retraining {} ended {}: {}", r.id, to_string(trained.status), trained.reason));
        }
      } else if (!r.weights.empty() && fs::exists(request.run_dir / r.weights)) {
        fs::copy_file(request.run_dir / r.weights, weights);
        m.has_weights = true;
      }
      std::string yaml = fmt::format("# candidate {} of search {}: validation accuracy {:.4f}, {:.4g} mJ per inference on {}\n",
                                     r.id, config.name, *r.accuracy, r.energy_mj, profile.board);
      write_file_atomic(tmp / fmt::format("{}.yaml", r.id), yaml + to_yaml(r.arch));
      result.front.push_back(std::move(m));
    }
    write_file_atomic(tmp / "front.svg", front_svg(all, result.front, config, profile));
    if (config.search.extrapolation != Extrapolation::allow) {
      std::vector<EvaluationRecord> members;
      for (const ExportedMember& m : result.front) members.push_back(m.record);
      result.coverage = coverage_summary(all, members, profile, (request.run_dir / "config.yaml").string());
    }
    write_file_atomic(tmp / "front.csv", front_csv(result.front));

    // Swap the complete export in place of the old one.
    if (fs::exists(result.dir)) {
      const fs::path old = parent / (".pareto-old-" + tmp.filename().string().substr(12));
      fs::rename(result.dir, old);
      fs::rename(tmp, result.dir);
      fs::remove_all(old);
    } else {
      fs::rename(tmp, result.dir);
    }
  } catch (...) {
    std::error_code ignored;
    fs::remove_all(tmp, ignored);
    throw;
  }
  return result;
}

}  // namespace joules
