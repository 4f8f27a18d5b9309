#pragma once
// Where a search's candidates are trained: on `jobs` threads of this process, or on the
// ranks of an MPI job (search/mpi_evaluator.hpp). The driver hands out one training at a time
// and collects each result the moment it finishes, so both the generational and the
// asynchronous schedule run on either.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>

#include "space/architecture.hpp"
#include "train/trainer.hpp"

namespace joules {

/// Trains one candidate with the given options (the driver sets seed and save_path per
/// candidate). Called from several threads at once. The default trains on the loaded data.
using CandidateTrainer =
    std::function<TrainResult(const Architecture& arch, const TrainOptions& options, const std::atomic<bool>* stop)>;

struct TrainJob {
  std::int64_t id = 0;  // the candidate's id in the run
  Architecture arch;
  TrainOptions options;  // save_path: where the weights must end up (on the coordinator)
};

struct TrainDone {
  std::int64_t id = 0;
  /// A trainer's exception arrives as status failed with its message as the reason; a weights
  /// file that could not be written at the job's save_path as save_error.
  TrainResult result;
};

/// Not thread-safe: one thread submits and collects (the trainings themselves run elsewhere).
class Evaluator {
 public:
  virtual ~Evaluator() = default;
  /// Trainings that run at once: submit() at most this many before collecting.
  virtual std::size_t slots() const = 0;
  /// Starts a training. Throws std::logic_error when every slot is busy.
  virtual void submit(TrainJob job) = 0;
  /// The next finished training, waiting at most `timeout`; std::nullopt when none finished.
  virtual std::optional<TrainDone> collect(std::chrono::milliseconds timeout) = 0;
  /// Trainings submitted and not collected yet.
  virtual std::size_t in_flight() const = 0;
};

/// Runs `trainer` on `jobs` threads of this process; `stop` (may be null) is passed to it.
/// Throws std::invalid_argument for jobs < 1.
std::unique_ptr<Evaluator> make_local_evaluator(CandidateTrainer trainer, int jobs, const std::atomic<bool>* stop);

}  // namespace joules
