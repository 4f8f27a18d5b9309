#pragma once
// The NAS driver: a search config in, a run directory out. Candidates come from NSGA-II (or
// random sampling) over the search space; each is priced by the board's energy model first, and
// only those within the budgets are trained, by an Evaluator (`jobs` local threads, or MPI
// ranks). Every finished evaluation is logged at once. The generational schedule checkpoints
// after every generation; the async one (steady-state NSGA-II) breeds a child whenever a slot
// is free and checkpoints every `slots` results. A resumed run continues where the last
// checkpoint left off without training any architecture twice.

#include <atomic>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "energy/board_profile.hpp"
#include "search/config.hpp"
#include "search/evaluation_record.hpp"
#include "search/evaluator.hpp"
#include "search/run_directory.hpp"

namespace joules {

struct SearchProgress {
  std::size_t generation = 0;   // generation being evaluated (0: the initial population)
  std::size_t generations = 0;  // last generation
  std::size_t evaluated = 0;    // evaluations in the log (this run and resumed ones)
  std::size_t running = 0;      // trainings in flight
  std::size_t planned = 0;      // candidates still to evaluate in this generation
  std::optional<double> best_accuracy;
  std::size_t front_size = 0;
  double elapsed_s = 0;
  std::optional<double> eta_s;
};

struct SearchHooks {
  CandidateTrainer trainer;                 // required unless `evaluator` is given
  /// Trains the candidates elsewhere (e.g. on MPI ranks); null: `trainer` on search.jobs threads.
  Evaluator* evaluator = nullptr;
  const std::atomic<bool>* stop = nullptr;  // set (e.g. by SIGINT) to stop after a checkpoint
  /// Called on every change and about once a second; calls never overlap.
  std::function<void(const SearchProgress&)> on_progress;
};

struct SearchSummary {
  bool interrupted = false;
  std::size_t generations_done = 0;  // generations complete (checkpointed)
  std::size_t trained = 0;           // trainings finished in this process
  std::size_t infeasible = 0;        // candidates logged infeasible in this process
  std::size_t reused = 0;            // candidates answered from the log
  std::size_t extrapolated = 0;      // candidates priced in this process outside the profile's data
  std::size_t results = 0;           // trainings collected from the evaluator (logged or not)
  /// Wall time the driver spent on collected results (logging, selection, breeding and handing
  /// out the next candidates), from a result's arrival until it waits again, in seconds.
  double handling_seconds = 0;
  /// The same in CPU time of the driver's thread: the cost itself, without the time the thread
  /// waited for a core on a loaded machine.
  double handling_cpu_seconds = 0;
};

/// Runs (or resumes, when `run` was reopened with RunDirectory::resume) a search, pricing
/// candidates with `profile` (the config's board, loaded once by the caller). Failed trainings
/// are logged as failed and never stop it. Returns interrupted = true when the stop flag was
/// raised: finished evaluations are logged and the last checkpoint stands. Throws
/// std::runtime_error for I/O failures of the run's files (weights, log, checkpoint: the
/// candidates they concern are not logged, so a resume trains them again) and InputError for a
/// checkpoint that does not match the config.
SearchSummary run_search(const SearchConfig& config, const BoardProfile& profile, RunDirectory& run,
                         const SearchHooks& hooks);

/// Objective values of a logged evaluation, all minimised (accuracy as 1 - accuracy; a
/// candidate without accuracy gets 1), in the config's order.
std::vector<double> minimised_objectives(const EvaluationRecord& record, const std::vector<Objective>& objectives);

/// The training seed of an architecture in a search: derived from the run's training seed and
/// the architecture's canonical hash, so it does not depend on when or where it is trained.
std::uint64_t candidate_seed(std::uint64_t training_seed, const std::string& hash);

}  // namespace joules
