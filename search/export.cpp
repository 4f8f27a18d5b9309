#include "search/export.hpp"

#include <stdlib.h>

#include <algorithm>
#include <chrono>
#include <cmath>

#include <fmt/format.h>

#include "energy/board_profile.hpp"
#include "energy/estimator.hpp"
#include "onnx/onnx_model.hpp"
#include "search/nas_search.hpp"
#include "search/pareto.hpp"
#include "search/run_directory.hpp"
#include "space/analysis.hpp"
#include "space/architecture_yaml.hpp"
#include "train/weights.hpp"
#include "util/atomic_file.hpp"
#include "util/csv.hpp"
#include "util/directory_lock.hpp"
#include "util/input_error.hpp"
#include "util/svg_plot.hpp"

namespace joules {
namespace {

namespace fs = std::filesystem;

// A killed export leaves .pareto-tmp-* (being written) or .pareto-old-* (being swapped out)
// beside its target. Only those holding the marker are joules' own, and only those whose
// marker no live export holds locked are stale; a marker younger than a few seconds may be
// one that its export has created and not yet locked.
std::size_t remove_stale_exports(const fs::path& parent) {
  std::size_t removed = 0;
  std::error_code ec;
  for (const fs::directory_entry& entry : fs::directory_iterator(parent, ec)) {
    const std::string name = entry.path().filename().string();
    if (!name.starts_with(".pareto-tmp-") && !name.starts_with(".pareto-old-")) continue;
    if (!entry.is_directory(ec) || entry.is_symlink(ec)) continue;
    const fs::path marker = entry.path() / kExportMarker;
    if (!fs::is_regular_file(marker, ec)) continue;
    const auto age = fs::file_time_type::clock::now() - fs::last_write_time(marker, ec);
    if (ec || age < std::chrono::seconds(10)) continue;
    if (std::optional<DirectoryLock> lock = DirectoryLock::try_lock_file(marker)) {
      fs::remove_all(entry.path(), ec);
      if (!ec) ++removed;
    }
  }
  return removed;
}

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

// ID.onnx beside ID.pt (DESIGN.md's ONNX contract), for TensorRT and other runtimes. Weights
// saved by a joules without normalisation statistics give no ONNX file (it could not take raw
// pixels), with a note.
void write_member_onnx(const fs::path& dir, const ExportedMember& m, const BoardProfile& profile,
                       const SearchConfig& config, const ExportRequest& request) {
  const EvaluationRecord& r = m.record;
  const NetworkWeights weights = read_weights_file(r.arch, (dir / fmt::format("{}.pt", r.id)).string());
  if (weights.normalization.mean.empty()) {
    if (request.on_note) request.on_note(fmt::format("{}.pt has no normalisation statistics: no {}.onnx", r.id, r.id));
    return;
  }
  const NetworkEstimate estimate = EnergyEstimator(profile).estimate(r.arch, analyze(r.arch));
  const OnnxMetadata metadata{.board = profile.board,
                              .energy_mj = r.energy_mj,
                              .energy_band_mj = std::array<double, 2>{estimate.energy_low_mj, estimate.energy_high_mj},
                              .validation_accuracy = r.accuracy,
                              .test_accuracy = m.test_accuracy,
                              .class_names = config.data.class_names};  // an image folder's; else 0..K-1
  write_onnx((dir / fmt::format("{}.onnx", r.id)).string(), r.arch, weights, metadata);
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

EvaluationCounts count_evaluations(const std::vector<EvaluationRecord>& evaluations) {
  EvaluationCounts counts;
  for (const EvaluationRecord& r : evaluations) {
    switch (r.status) {
      case EvaluationStatus::ok: ++counts.ok; break;
      case EvaluationStatus::failed: ++counts.failed; break;
      case EvaluationStatus::infeasible: ++counts.infeasible; break;
    }
  }
  return counts;
}

void check_export_target(const fs::path& target, const fs::path& run_dir, const std::string& key) {
  std::error_code ec;
  const fs::file_status status = fs::symlink_status(target, ec);
  if (!fs::exists(status)) return;
  const auto refuse = [&](const std::string& why) {
    throw InputError(target.string(), 0, key, why + ": an export replaces its target directory whole");
  };
  if (!fs::is_directory(status)) refuse("is not a directory (a file or a link), so it is not an export of joules");
  const fs::path dir = fs::weakly_canonical(fs::absolute(target));
  const fs::path run = fs::weakly_canonical(fs::absolute(run_dir));
  const fs::path run_inside = run.lexically_relative(dir);
  if (run_inside == "." || (!run_inside.empty() && *run_inside.begin() != "..")) {
    refuse(fmt::format("is the run directory {} or holds it", run.string()));
  }
  if (fs::exists(target / kExportMarker) || fs::is_empty(target)) return;
  // Exports made before the marker existed: only the run's own pareto/ with its front.csv.
  if (dir == run / "pareto" && fs::exists(target / "front.csv")) return;
  refuse(fmt::format("is not an export of joules (no {} inside) and not empty", kExportMarker));
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
  std::optional<SearchConfig> own_config;
  if (!request.config) own_config = load_search_config((request.run_dir / "config.yaml").string());
  const SearchConfig& config = request.config ? *request.config : *own_config;
  std::optional<BoardProfile> own_profile;
  if (!request.profile) own_profile = load_board_profile(config.board);
  const BoardProfile& profile = request.profile ? *request.profile : *own_profile;
  if (request.retrain_epochs > 0 && !request.retrain) {
    throw std::invalid_argument("export_front: retraining asked without a retrainer");
  }
  const auto stopping = [&] { return request.stop && request.stop->load(); };

  ExportResult result;
  result.evaluations = all.size();
  result.counts = count_evaluations(all);
  result.dir = request.to_dir.empty() ? request.run_dir / "pareto" : request.to_dir;
  check_export_target(result.dir, request.run_dir, request.to_dir.empty() ? "pareto" : "--to");
  const fs::path parent = fs::absolute(result.dir).parent_path();
  fs::create_directories(parent);
  result.stale_removed = remove_stale_exports(parent);
  std::string tmp_template = (parent / ".pareto-tmp-XXXXXX").string();
  if (!::mkdtemp(tmp_template.data())) throw std::runtime_error("cannot create a directory in " + parent.string());
  const fs::path tmp = tmp_template;

  try {
    // Says "joules made this directory" (see check_export_target); locked while this export
    // writes, so that another export never takes it for stale.
    write_file_atomic(tmp / kExportMarker,
                      fmt::format("joules export of {}\n", fs::weakly_canonical(fs::absolute(request.run_dir)).string()));
    const std::optional<DirectoryLock> in_progress = DirectoryLock::try_lock_file(tmp / kExportMarker);
    for (EvaluationRecord& r : pareto_members(all, config.search.objectives)) {
      if (stopping()) break;
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
        if (stopping()) break;
        m.test_accuracy = trained.test_accuracy;
        m.has_weights = fs::exists(weights);
        if (!m.has_weights) m.missing_weights = fmt::format("retraining ended {}: {}", to_string(trained.status), trained.reason);
        if (request.on_note && trained.status != TrainStatus::ok) {
          request.on_note(fmt::format("retraining {} ended {}: {}", r.id, to_string(trained.status), trained.reason));
        }
      } else if (r.weights.empty()) {
        m.missing_weights = "the log names no weights file";
      } else if (!fs::is_regular_file(request.run_dir / r.weights)) {
        m.missing_weights = fmt::format("{} is missing from the run", r.weights);
      } else {
        fs::copy_file(request.run_dir / r.weights, weights);
        m.has_weights = true;
      }
      if (m.has_weights) write_member_onnx(tmp, m, profile, config, request);
      std::string yaml = fmt::format("# candidate {} of search {}: validation accuracy {:.4f}, {:.4g} mJ per inference on {}\n",
                                     r.id, config.name, *r.accuracy, r.energy_mj, profile.board);
      write_file_atomic(tmp / fmt::format("{}.yaml", r.id), yaml + to_yaml(r.arch));
      result.files.push_back(fmt::format("{}.yaml", r.id));
      if (m.has_weights) result.files.push_back(fmt::format("{}.pt", r.id));
      result.front.push_back(std::move(m));
    }
    if (stopping()) {
      fs::remove_all(tmp);
      result.interrupted = true;
      result.front.clear();
      result.files.clear();
      return result;
    }
    write_file_atomic(tmp / "front.svg", front_svg(all, result.front, config, profile));
    if (config.search.extrapolation != Extrapolation::allow) {
      std::vector<EvaluationRecord> members;
      for (const ExportedMember& m : result.front) members.push_back(m.record);
      result.coverage = coverage_summary(all, members, profile, (request.run_dir / "config.yaml").string());
    }
    write_file_atomic(tmp / "front.csv", front_csv(result.front));
    const std::vector<std::string> plots{"front.csv", "front.svg"};
    result.files.insert(result.files.begin(), plots.begin(), plots.end());

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
