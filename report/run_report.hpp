#pragma once
// The report of a search run (`joules report RUN_DIR`, and RUN_DIR/report.html at the end of
// every search): the (accuracy, energy) plane with every evaluation, the front and its energy
// bands, the budgets; each front member's layers with their estimated energy; how the front's
// hypervolume grew; the training times; the config and how far to trust the board profile.

#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "energy/board_profile.hpp"
#include "search/config.hpp"
#include "search/evaluation_record.hpp"

namespace joules {

/// What a run report is made of (all read from the run directory by write_run_report).
struct RunReportInput {
  std::string run_dir;      // as the user named it (shown)
  SearchConfig config;
  std::string config_yaml;  // config.yaml as written (shown verbatim)
  BoardProfile profile;
  std::string profile_path;
  std::vector<EvaluationRecord> evaluations;
};

/// The report as one HTML document. Every evaluation is one `.pt` element carrying
/// `data-id="ID"` in the plane (`#plane`); front members' carry the class `front`. The page's
/// script honours `#hover=ID` (a hover of that point) and `#open=ID` (a click on it).
std::string run_report_html(const RunReportInput& input);

/// The front's hypervolume after each evaluation, in the log's order, in the config's
/// objectives (2 or 3; empty otherwise), each normalised to [0, 1] over the trained
/// evaluations, reference point 1.1 in each: how the search converged.
std::vector<double> hypervolume_history(const std::vector<EvaluationRecord>& evaluations,
                                        const std::vector<Objective>& objectives);

struct WrittenReport {
  std::filesystem::path file;
  std::size_t bytes = 0;
  std::size_t evaluations = 0;  // in a run's report (0 in a profile's)
};

/// Reads RUN_DIR (config.yaml, evaluations.jsonl, the config's board profile; no lock is
/// taken, so a running search's report shows the evaluations so far) and writes the report
/// atomically to `out` (default RUN_DIR/report.html). Throws InputError when RUN_DIR holds no
/// run or its files are malformed, std::runtime_error on I/O failure.
WrittenReport write_run_report(const std::filesystem::path& run_dir, const std::filesystem::path& out = {});

/// For the end of a search: write_run_report(run_dir), but a failure only comes back as its
/// message (a search's results never depend on its report).
std::optional<std::string> try_write_run_report(const std::filesystem::path& run_dir);

}  // namespace joules
