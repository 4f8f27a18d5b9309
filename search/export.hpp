#pragma once
// Exporting a run's Pareto front (DESIGN.md): pareto/front.csv, front.svg and, per member,
// ID.yaml (its architecture) and ID.pt (its weights), optionally after a longer retraining with
// test-set accuracy. Every export holds a marker file, .joules-export: an export replaces only
// a directory holding one (or an empty one), never anything else of the user's.

#include <atomic>
#include <filesystem>
#include <functional>
#include <optional>
#include <vector>

#include "energy/board_profile.hpp"
#include "search/config.hpp"
#include "search/evaluation_record.hpp"

namespace joules {

/// Retrains a front member (options: the run's training with more epochs, the whole training
/// split, test evaluation, save_path set). Empty when no retraining is asked.
using Retrainer = std::function<TrainResult(const Architecture& arch, const TrainOptions& options)>;

/// The marker file inside every export directory.
inline constexpr const char* kExportMarker = ".joules-export";

struct ExportRequest {
  std::filesystem::path run_dir;
  std::filesystem::path to_dir;        // empty: RUN_DIR/pareto
  std::int64_t retrain_epochs = 0;     // 0: keep the search's weights
  Retrainer retrain;                   // required when retrain_epochs > 0
  std::function<void(const std::string&)> on_note;  // progress notes (retraining)
  /// The run's config and board profile when the caller has them loaded (read from
  /// RUN_DIR/config.yaml and its board when null). Not owned.
  const SearchConfig* config = nullptr;
  const BoardProfile* profile = nullptr;
  /// When set (Ctrl-C, SIGTERM), the export stops before its next member and writes nothing.
  const std::atomic<bool>* stop = nullptr;
};

struct ExportedMember {
  EvaluationRecord record;
  std::optional<double> test_accuracy;  // after retraining
  bool has_weights = false;
  /// Why there is no ID.pt when has_weights is false ("weights/7.pt is missing from the run").
  std::string missing_weights;
};

struct EvaluationCounts {
  std::size_t ok = 0;
  std::size_t failed = 0;
  std::size_t infeasible = 0;
  std::size_t total() const { return ok + failed + infeasible; }
};

/// What evaluations of each status a log holds.
EvaluationCounts count_evaluations(const std::vector<EvaluationRecord>& evaluations);

struct ExportResult {
  std::filesystem::path dir;
  std::vector<ExportedMember> front;  // by increasing energy
  std::size_t evaluations = 0;        // in the run's log
  EvaluationCounts counts;            // of those
  std::vector<std::string> files;     // written into dir (names), the marker left out
  bool interrupted = false;           // by request.stop: nothing was written or replaced
  std::size_t stale_removed = 0;      // leftovers of killed exports cleaned up beside dir
  /// What the run's estimates extrapolate (see coverage_summary); empty when nothing does or
  /// the config says search.extrapolation: allow.
  std::vector<std::string> coverage;
};

/// Lines that say how many of `all` and of `front` were priced outside the profile's data,
/// along which range keys, by what factor at worst, from what data, and how to get a profile
/// that covers the space. Empty when none was.
std::vector<std::string> coverage_summary(const std::vector<EvaluationRecord>& all,
                                          const std::vector<EvaluationRecord>& front, const BoardProfile& profile,
                                          const std::string& config_path);

/// The feasible, trained evaluations that no other dominates in the config's objectives.
std::vector<EvaluationRecord> pareto_members(const std::vector<EvaluationRecord>& evaluations,
                                             const std::vector<Objective>& objectives);

/// Throws InputError (key `key`) unless `target` may receive an export of `run_dir`: missing, an
/// empty directory, or a directory holding the export marker (for the run's own pareto/, also
/// an export from before the marker, with its front.csv); never a file, the run itself or a
/// directory that holds the run.
void check_export_target(const std::filesystem::path& target, const std::filesystem::path& run_dir,
                         const std::string& key);

/// Writes the export into a fresh directory that replaces the target only once complete, and
/// first removes what killed exports left beside it (`.pareto-tmp-*`, `.pareto-old-*` holding
/// an unlocked marker). The caller holds the run's DirectoryLock or knows the run is not
/// running. Throws InputError when the run directory holds no run, the target may not be
/// replaced (check_export_target) or a weights path leaves the run; std::runtime_error on
/// I/O errors (leaving the old export in place).
ExportResult export_front(const ExportRequest& request);

}  // namespace joules
