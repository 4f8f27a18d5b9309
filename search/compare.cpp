#include "search/compare.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "search/export.hpp"
#include "search/hypervolume.hpp"
#include "search/run_directory.hpp"
#include "util/svg_plot.hpp"

namespace joules {

Comparison compare_runs(const std::vector<std::filesystem::path>& run_dirs, std::optional<double> reference_energy_mj) {
  Comparison comparison;
  std::vector<std::vector<EvaluationRecord>> logs;
  double highest = 0;
  for (const auto& dir : run_dirs) {
    logs.push_back(read_evaluations(dir));
    for (const EvaluationRecord& r : logs.back()) {
      if (r.status == EvaluationStatus::ok) highest = std::max(highest, r.energy_mj);
    }
  }
  comparison.reference_energy_mj = reference_energy_mj.value_or(highest);
  for (std::size_t i = 0; i < run_dirs.size(); ++i) {
    RunComparison run;
    run.dir = run_dirs[i];
    run.label = std::filesystem::absolute(run_dirs[i]).lexically_normal().filename().string();
    if (run.label.empty()) run.label = std::filesystem::absolute(run_dirs[i]).parent_path().filename().string();
    run.evaluations = logs[i].size();
    run.trained = static_cast<std::size_t>(std::count_if(logs[i].begin(), logs[i].end(), [](const auto& r) {
      return r.status == EvaluationStatus::ok;
    }));
    run.front = pareto_members(logs[i], {Objective::accuracy, Objective::energy});
    ObjectiveMatrix points;
    for (const EvaluationRecord& r : run.front) points.push_back({1.0 - *r.accuracy, r.energy_mj});
    run.hypervolume = points.empty() ? 0.0 : hypervolume(points, {1.0, comparison.reference_energy_mj});
    comparison.runs.push_back(std::move(run));
  }
  return comparison;
}

std::string comparison_svg(const Comparison& comparison, const std::string& title) {
  std::vector<PlotSeries> series;
  for (const RunComparison& run : comparison.runs) {
    PlotSeries s{.label = fmt::format("{} (HV {:.4g})", run.label, run.hypervolume), .line = true, .size_px = 3.5};
    for (const EvaluationRecord& r : run.front) {
      s.x.push_back(r.energy_mj);
      s.y.push_back(100 * *r.accuracy);
    }
    series.push_back(std::move(s));
  }
  return svg_plot({.title = title,
                   .x_label = "estimated energy per inference (mJ)",
                   .y_label = "validation accuracy (%)"},
                  series);
}

}  // namespace joules
