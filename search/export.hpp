#pragma once
// Exporting a run's Pareto front (DESIGN.md): pareto/front.csv, front.svg and, per member,
// ID.yaml (its architecture) and ID.pt (its weights), optionally after a longer retraining with
// test-set accuracy.

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

struct ExportRequest {
  std::filesystem::path run_dir;
  std::filesystem::path to_dir;        // empty: RUN_DIR/pareto
  std::int64_t retrain_epochs = 0;     // 0: keep the search's weights
  Retrainer retrain;                   // required when retrain_epochs > 0
  std::function<void(const std::string&)> on_note;  // progress notes (retraining)
};

struct ExportedMember {
  EvaluationRecord record;
  std::optional<double> test_accuracy;  // after retraining
  bool has_weights = false;
};

struct ExportResult {
  std::filesystem::path dir;
  std::vector<ExportedMember> front;  // by increasing energy
  std::size_t evaluations = 0;        // in the run's log
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

/// Writes the export into a fresh directory that replaces `to_dir` only once complete.
/// Throws InputError when the run directory holds no run, std::runtime_error on I/O errors.
ExportResult export_front(const ExportRequest& request);

}  // namespace joules
