#include "cli/search_output.hpp"

#include <cstdio>

#include <fmt/format.h>

#include "cli/format.hpp"
#include "util/status_line.hpp"

namespace joules::cli {

void print_search_header(const SearchConfig& config, const BoardProfile& profile, const Data& data,
                         const RunDirectory& run, bool resumed) {
  const SearchOptions& s = config.search;
  fmt::print("joules search: {}{}\n", config.name, resumed ? " (resumed)" : "");
  fmt::print("  board   {} ({})\n", profile.board, config.board);
  if (!is_measured(profile)) fmt::print("          note: {}\n", provenance_notice(profile));
  fmt::print("  space   {}x{}x{} -> {} classes, {}-{} conv blocks, {}-{} hidden fc layers\n", config.space.input.channels,
             config.space.input.height, config.space.input.width, config.space.classes, config.space.conv_blocks.min,
             config.space.conv_blocks.max, config.space.fc_layers.min, config.space.fc_layers.max);
  fmt::print("  data    {}: {} training / {} validation samples ({} per candidate)\n", to_string(data.options().kind),
             data.train_size(), data.validation_size(),
             config.training.train_samples > 0 ? config.training.train_samples : data.train_size());
  std::string objectives;
  for (Objective o : s.objectives) objectives += (objectives.empty() ? "" : ", ") + std::string(to_string(o));
  fmt::print("  search  {} over {}: {} candidates x {} generations, {} jobs x {} threads, seed {}\n",
             to_string(s.algorithm), objectives, s.population, s.generations + 1, s.jobs, config.training.threads,
             config.seed);
  fmt::print("  run     {}\n", run.path().string());
  if (resumed) fmt::print("          {} evaluations already logged\n", run.previous_evaluations().size());
  if (run.repaired_bytes() > 0) {
    fmt::print("          repaired the log's torn last line ({} bytes cut off)\n", run.repaired_bytes());
  }
  std::fflush(stdout);
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
  fmt::print("  {:>5}  {:>9}{}  {:>12}{}  {:>10}  {:>12}\n", "id", "val acc", tested ? "   test acc" : "", "energy (mJ)",
             latency ? "  latency (ms)" : "", "params", "MACs");
  for (const ExportedMember& m : exported.front) {
    const EvaluationRecord& r = m.record;
    std::string test;
    if (tested) test = m.test_accuracy ? fmt::format("  {:>8.2f}%", 100 * *m.test_accuracy) : fmt::format("  {:>9}", "-");
    std::string lat;
    if (latency) lat = r.latency_ms ? fmt::format("  {:>12.3f}", *r.latency_ms) : fmt::format("  {:>12}", "-");
    fmt::print("  {:>5}  {:>8.2f}%{}  {:>12.4f}{}  {:>10}  {:>12}\n", r.id, 100 * r.accuracy.value_or(0), test, r.energy_mj,
               lat, thousands(r.params), thousands(r.macs));
  }
  fmt::print("exported to {}: front.csv, front.svg, and ID.yaml + ID.pt per member\n", exported.dir.string());
  if (!is_measured(profile)) fmt::print("note: {}\n", provenance_notice(profile));
  for (const std::string& line : exported.coverage) fmt::print("{}\n", line);
}

}  // namespace joules::cli
