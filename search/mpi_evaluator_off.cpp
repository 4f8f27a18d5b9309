// search/mpi_evaluator.hpp in a build without MPI: every entry point says how to get one.

#include <stdexcept>

#include "search/mpi_evaluator.hpp"

namespace joules {
namespace {

[[noreturn]] void no_mpi() {
  throw std::runtime_error(
      "this joules was built without MPI, so it cannot run under mpirun or srun: install Open MPI "
      "(Debian: openmpi-bin libopenmpi-dev, as scripts/setup.sh does) and rebuild");
}

}  // namespace

bool mpi_built() { return false; }
MpiSession::MpiSession() { no_mpi(); }
MpiSession::~MpiSession() = default;
void MpiSession::send_config(const std::string&) { no_mpi(); }
std::unique_ptr<Evaluator> MpiSession::evaluator(CandidateTrainer, const std::atomic<bool>*) { no_mpi(); }
void MpiSession::release_workers() {}
std::optional<std::string> MpiSession::receive_config() { no_mpi(); }
bool MpiSession::receive_job_or_quit() { no_mpi(); }
void MpiSession::serve(const CandidateTrainer&, const TrainOptions&, const std::atomic<bool>*) { no_mpi(); }

}  // namespace joules
