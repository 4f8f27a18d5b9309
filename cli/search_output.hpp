#pragma once
// What `joules search` and `joules export` print.

#include <cstdio>
#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

#include "energy/board_profile.hpp"
#include "search/config.hpp"
#include "search/export.hpp"
#include "search/nas_search.hpp"
#include "search/run_directory.hpp"
#include "train/data.hpp"

namespace joules::cli {

/// The run's setup, to `out` (stdout; stderr under --json, whose stdout is one JSON object).
void print_search_header(const SearchConfig& config, const BoardProfile& profile, const Data& data,
                         const RunDirectory& run, bool resumed, std::FILE* out);

/// "gen 2/4 | 31 evaluated, 2 training | best 88.4% | front 5 | 3:05 elapsed, ETA 4:10"
std::string describe_progress(const SearchProgress& progress);

/// The front as a table on stdout, and what was written where.
void print_export_summary(const ExportResult& exported, const BoardProfile& profile);

/// On stderr: a warning per member exported without weights, and the leftovers cleaned up.
void print_export_warnings(const ExportResult& exported);

/// The summary object of `search --json` and `export --json`: {"run", "interrupted",
/// "evaluations": {"total", "ok", "failed", "infeasible"}, "front": [{"id", "accuracy",
/// "test_accuracy", "energy_mj", "latency_ms", "params", "macs", "weights"}], "export": {"dir",
/// "files"} or null}. `exported` null: no export was made (interrupted before it).
nlohmann::json summary_json(const std::filesystem::path& run_dir, const ExportResult* exported,
                            const EvaluationCounts& counts, bool interrupted);

}  // namespace joules::cli
