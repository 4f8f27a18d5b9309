#pragma once
// Distributed evaluation on MPI (Open MPI's mpirun, Slurm's srun): rank 0 runs the search (the
// optimizer, the run directory) and hands candidates to the other ranks, which load the data
// once and train one candidate at a time; results, the trained weights' bytes included, travel
// back to rank 0, which writes them where a one-process search writes them (no shared file
// system is needed). MPI's headers stay inside search/mpi_evaluator.cpp; a build without MPI
// keeps this interface and MpiSession's constructor throws.
//
// A process calls MPI_Init only when launched by an MPI launcher (launched_by_mpi()), so a
// plain `joules search` never needs one.

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "search/evaluator.hpp"

namespace joules {

/// Reads an environment variable; std::getenv by default (tests pass a map).
using EnvironmentReader = std::function<const char*(const char*)>;

/// True when an MPI launcher started this process: Open MPI (OMPI_COMM_WORLD_SIZE), MPICH
/// or Intel MPI (PMI_SIZE), PMIx (PMIX_RANK), or a Slurm step (SLURM_PROCID with
/// SLURM_STEP_NUM_TASKS: srun sets both, a batch script's own shell not the second).
bool launched_by_mpi(const EnvironmentReader& env = std::getenv);

/// This process's rank among those on its machine: OMPI_COMM_WORLD_LOCAL_RANK,
/// MPI_LOCALRANKID, PMIX_LOCAL_RANK or SLURM_LOCALID; 0 when none is set.
int local_rank(const EnvironmentReader& env = std::getenv);

/// The GPU a rank takes with training.device cuda, as the value to put in
/// CUDA_VISIBLE_DEVICES before CUDA starts: GPU local_rank % device_count among those already
/// visible (CUDA_VISIBLE_DEVICES when set, else one per entry of PROC_ROOT/driver/nvidia/gpus).
/// std::nullopt when no GPU is found (training then fails as it does without MPI).
std::optional<std::string> gpu_for_rank(int local_rank, const EnvironmentReader& env = std::getenv,
                                        const std::filesystem::path& proc_root = "/proc");

/// Whether this joules was built with MPI.
bool mpi_built();

/// MPI_Init on construction, MPI_Finalize on destruction (rank 0 first tells every worker to
/// quit). One per process; only from the thread that runs main (MPI_THREAD_FUNNELED).
class MpiSession {
 public:
  /// Throws std::runtime_error when built without MPI (saying how to build with it).
  MpiSession();
  ~MpiSession();
  MpiSession(const MpiSession&) = delete;
  MpiSession& operator=(const MpiSession&) = delete;

  int rank() const { return rank_; }
  int size() const { return size_; }

  // Rank 0.
  /// Sends the resolved config text to every other rank.
  void send_config(const std::string& config_yaml);
  /// Evaluates on every other rank, one training each, and on rank 0 too when
  /// `coordinator_trainer` is set. One evaluator at a time; it must outlive no MpiSession.
  std::unique_ptr<Evaluator> evaluator(CandidateTrainer coordinator_trainer, const std::atomic<bool>* stop);
  /// Tells every worker to quit (also done by the destructor).
  void release_workers();

  // Other ranks.
  /// The config rank 0 sent; std::nullopt when rank 0 ended before sending one.
  std::optional<std::string> receive_config();
  /// Waits for rank 0's next message: true for a job (taken, not answered), false for quit.
  /// For a rank that cannot train (its data failed to load) to tell whether rank 0 failed too.
  bool receive_job_or_quit();
  /// Trains what rank 0 sends (with the config's training options and the candidate's seed)
  /// until rank 0 says quit. A trainer's exception is sent back as a failed training.
  void serve(const CandidateTrainer& trainer, const TrainOptions& training, const std::atomic<bool>* stop);

 private:
  friend class MpiEvaluator;
  int rank_ = 0;
  int size_ = 1;
  bool released_ = false;
  bool abort_ = false;  // an evaluator was destroyed with trainings in flight
};

}  // namespace joules
