#include "cli/search_output.hpp"

#include <algorithm>
#include <cstdio>

#include <fmt/format.h>

#include "cli/format.hpp"
#include "util/status_line.hpp"

namespace joules::cli {

void print_search_header(const SearchConfig& config, const BoardProfile& profile, const Data& data,
                         const RunDirectory& run, bool resumed, std::FILE* out) {
  const SearchOptions& s = config.search;
  fmt::print(out, "joules search: {}{}\n", config.name, resumed ? " (resumed)" : "");
  fmt::print(out, "  board   {} ({})\n", profile.board, config.board);
  if (!is_measured(profile)) fmt::print(out, "          note: {}\n", provenance_notice(profile));
  fmt::print(out, "  space   {}x{}x{} -> {} classes, {}-{} conv blocks, {}-{} hidden fc layers\n", config.space.input.channels,
             config.space.input.height, config.space.input.width, config.space.classes, config.space.conv_blocks.min,
             config.space.conv_blocks.max, config.space.fc_layers.min, config.space.fc_layers.max);
  fmt::print(out, "  data    {}: {} training / {} validation samples ({} per candidate)\n", to_string(data.options().kind),
             data.train_size(), data.validation_size(),
             config.training.train_samples > 0 ? config.training.train_samples : data.train_size());
  std::string objectives;
  for (Objective o : s.objectives) objectives += (objectives.empty() ? "" : ", ") + std::string(to_string(o));
  if (s.algorithm == Algorithm::exhaustive) {
    const std::size_t members = SearchSpace(config.space).enumerate(kExhaustiveLimit).value().size();
    fmt::print(out, "  search  exhaustive over {}: every one of the space's {} members, {} per batch, {} jobs x {} threads\n",
               objectives, members, s.population, s.jobs, config.training.threads);
  } else {
    fmt::print(out, "  search  {} over {}: {} candidates x {} generations, {} jobs x {} threads, seed {}\n",
               to_string(s.algorithm), objectives, s.population, s.generations + 1, s.jobs, config.training.threads,
               config.seed);
  }
  fmt::print(out, "  run     {}\n", run.path().string());
  if (resumed) fmt::print(out, "          {} evaluations already logged\n", run.previous_evaluations().size());
  if (run.repaired_bytes() > 0) {
    fmt::print(out, "          repaired the log's torn last line ({} bytes cut off)\n", run.repaired_bytes());
  }
  std::fflush(out);
}

std::string describe_progress(const SearchProgress& p) {
  std::string out = fmt::format("gen {}/{} | {} evaluated, {} training", p.generation, p.generations, p.evaluated,
                                p.running);
  if (p.best_accuracy) out += fmt::format(" | best {:.1f}% | front {}", 100 * *p.best_accuracy, p.front_size);
  out += fmt::format(" | {} elapsed", format_duration(p.elapsed_s));
  if (p.eta_s) out += fmt::format(", ETA {}", format_duration(*p.eta_s));
  return out;
}

void print_export_summary(const ExportResult& exported, const BoardProfile& profile) {
  const bool tested = std::any_of(exported.front.begin(), exported.front.end(),
                                  [](const ExportedMember& m) { return m.test_accuracy.has_value(); });
  const bool latency = std::any_of(exported.front.begin(), exported.front.end(),
                                   [](const ExportedMember& m) { return m.record.latency_ms.has_value(); });
  fmt::print("Pareto front: {} of {} evaluations, energy on {}\n", exported.front.size(), exported.evaluations,
             profile.board);
  if (!exported.front.empty()) {
    fmt::print("  {:>5}  {:>9}{}  {:>12}{}  {:>10}  {:>12}\n", "id", "val acc", tested ? "   test acc" : "",
               "energy (mJ)", latency ? "  latency (ms)" : "", "params", "MACs");
  }
  for (const ExportedMember& m : exported.front) {
    const EvaluationRecord& r = m.record;
    std::string test;
    if (tested) test = m.test_accuracy ? fmt::format("  {:>8.2f}%", 100 * *m.test_accuracy) : fmt::format("  {:>9}", "-");
    std::string lat;
    if (latency) lat = r.latency_ms ? fmt::format("  {:>12.3f}", *r.latency_ms) : fmt::format("  {:>12}", "-");
    fmt::print("  {:>5}  {:>8.2f}%{}  {:>12.4f}{}  {:>10}  {:>12}\n", r.id, 100 * r.accuracy.value_or(0), test, r.energy_mj,
               lat, thousands(r.params), thousands(r.macs));
  }
  const auto with_weights = static_cast<std::size_t>(std::count_if(
      exported.front.begin(), exported.front.end(), [](const ExportedMember& m) { return m.has_weights; }));
  if (exported.front.empty()) {
    const EvaluationCounts& c = exported.counts;
    fmt::print("the front is empty: no candidate was trained successfully ({} evaluations: {} ok, {} failed, {} "
               "infeasible){}\n",
               c.total(), c.ok, c.failed, c.infeasible,
               c.total() == 0 ? "; the search logged nothing yet" : "; the log says why for each");
    fmt::print("exported to {}: front.csv (no members) and front.svg\n", exported.dir.string());
  } else if (with_weights == exported.front.size()) {
    fmt::print("exported to {}: front.csv, front.svg, and ID.yaml + ID.pt per member\n", exported.dir.string());
  } else {
    fmt::print("exported to {}: front.csv, front.svg, ID.yaml per member and ID.pt for {} of {} (see the warnings)\n",
               exported.dir.string(), with_weights, exported.front.size());
  }

  if (!is_measured(profile)) fmt::print("note: {}\n", provenance_notice(profile));
  for (const std::string& line : exported.coverage) fmt::print("{}\n", line);
}

void print_export_warnings(const ExportResult& exported) {
  for (const ExportedMember& m : exported.front) {
    if (m.has_weights) continue;
    fmt::print(stderr, "warning: candidate {}: exported without weights (no {}.pt): {}\n", m.record.id, m.record.id,
               m.missing_weights);
  }
  if (exported.stale_removed > 0) {
    fmt::print(stderr, "notice: removed {} unfinished export(s) left beside {} by a killed export\n",
               exported.stale_removed, exported.dir.string());
  }
}

nlohmann::json summary_json(const std::filesystem::path& run_dir, const ExportResult* exported,
                            const EvaluationCounts& counts, bool interrupted) {
  nlohmann::json front = nlohmann::json::array();
  nlohmann::json export_json = nullptr;
  if (exported) {
    for (const ExportedMember& m : exported->front) {
      const EvaluationRecord& r = m.record;
      nlohmann::json member = {{"id", r.id},
                               {"accuracy", r.accuracy ? nlohmann::json(*r.accuracy) : nlohmann::json()},
                               {"energy_mj", r.energy_mj},
                               {"params", r.params},
                               {"macs", r.macs},
                               {"weights", m.has_weights}};
      if (m.test_accuracy) member["test_accuracy"] = *m.test_accuracy;
      if (r.latency_ms) member["latency_ms"] = *r.latency_ms;
      front.push_back(std::move(member));
    }
    export_json = {{"dir", exported->dir.string()}, {"files", exported->files}};
  }
  return {{"run", run_dir.string()},
          {"interrupted", interrupted},
          {"evaluations",
           {{"total", counts.total()}, {"ok", counts.ok}, {"failed", counts.failed}, {"infeasible", counts.infeasible}}},
          {"front", front},
          {"export", export_json}};
}

}  // namespace joules::cli
