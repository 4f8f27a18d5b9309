#pragma once
// A search's run directory (DESIGN.md): config.yaml (the resolved config), evaluations.jsonl
// (one line per finished evaluation, flushed as it finishes), checkpoint.json (written
// atomically after every generation) and pareto/ (the export). The checkpoint also records
// digests of config.yaml, of the log as it was and of its own content, so that a resume notices
// any of the three edited by hand.

#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "search/evaluation_record.hpp"
#include "util/directory_lock.hpp"
#include "util/fnv1a64.hpp"

namespace joules {

/// Holds an exclusive lock on the directory for its lifetime, so two searches never write
/// the same run. append() may be called from several threads; the rest from one.
class RunDirectory {
 public:
  /// Starts a new run in `dir` (created with its parents) and writes config.yaml.
  /// Throws InputError when `dir` already holds a run, std::runtime_error on I/O failure.
  static RunDirectory create(const std::filesystem::path& dir, const std::string& config_yaml);

  /// Reopens a run for --resume: reads every evaluation, repairing a last line torn by a
  /// crash (it is cut off; its candidate is evaluated again). Throws InputError when `dir`
  /// holds no run, when config.yaml, checkpoint.json or the log's checkpointed part were
  /// edited since the last checkpoint (naming the file, and the line of config.yaml), or when
  /// a weights path leaves the run; std::runtime_error when a complete line is corrupt or
  /// another process holds the run.
  static RunDirectory resume(const std::filesystem::path& dir);

  RunDirectory(RunDirectory&&) noexcept;
  RunDirectory& operator=(RunDirectory&&) noexcept;
  ~RunDirectory();

  const std::filesystem::path& path() const { return dir_; }
  std::filesystem::path config_path() const { return dir_ / "config.yaml"; }
  std::filesystem::path evaluations_path() const { return dir_ / "evaluations.jsonl"; }
  std::filesystem::path checkpoint_path() const { return dir_ / "checkpoint.json"; }
  std::filesystem::path pareto_path() const { return dir_ / "pareto"; }
  std::filesystem::path weights_path() const { return dir_ / "weights"; }
  /// search.fidelity: every training at every fidelity (a record each, its `fidelity` set), so
  /// that a resumed generation replays its promotions without training anything again.
  std::filesystem::path rungs_path() const { return dir_ / "rungs.jsonl"; }

  /// The evaluations found by resume() (empty for a new run).
  const std::vector<EvaluationRecord>& previous_evaluations() const { return previous_; }
  /// Bytes cut off a torn last line by resume(); 0 when the log was intact.
  std::size_t repaired_bytes() const { return repaired_bytes_; }
  /// The rung trainings found by resume() (search.fidelity; empty for a new run).
  const std::vector<EvaluationRecord>& previous_rungs() const { return previous_rungs_; }
  /// Appends one rung training to rungs.jsonl and flushes it. Thread-safe.
  void append_rung(const EvaluationRecord& record);

  /// Appends one evaluation and flushes it to disk. Thread-safe.
  void append(const EvaluationRecord& record);

  /// Writes `state` atomically as checkpoint.json, with the digests resume() verifies.
  /// Call it only when no append() is in flight. Throws std::runtime_error on I/O failure.
  void write_checkpoint(const nlohmann::json& state) const;
  /// The last checkpoint's state (without its digests); std::nullopt before the first.
  std::optional<nlohmann::json> read_checkpoint() const;

 private:
  RunDirectory(std::filesystem::path dir, DirectoryLock lock);
  void verify_checkpoint() const;

  std::filesystem::path dir_;
  std::optional<DirectoryLock> lock_;
  std::unique_ptr<std::mutex> append_mutex_;
  std::vector<EvaluationRecord> previous_;
  std::vector<EvaluationRecord> previous_rungs_;
  std::size_t repaired_bytes_ = 0;
  // The log's digest and length, kept up to date by append() so that a checkpoint costs the
  // same whatever the log's length (a search of thousands of results checkpoints often);
  // unknown (re-read from the file) after an append failed part-way.
  Fnv1a64 log_digest_;
  std::size_t log_bytes_ = 0;
  bool log_digest_known_ = true;
};

/// Reads every evaluation of a run directory without locking it (export, tools). A torn last
/// line is skipped. Throws like RunDirectory::resume(); InputError naming the line of a record
/// whose `weights` path resolves outside the run directory.
std::vector<EvaluationRecord> read_evaluations(const std::filesystem::path& dir);

}  // namespace joules
