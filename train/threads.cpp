#include "train/threads.hpp"

#include <stdexcept>
#include <string>

#include <ATen/Parallel.h>

namespace joules {
namespace {

// LibTorch initialises a thread's count lazily, on its first parallel region, from the
// process-wide value; that first initialisation would overwrite a count set before it. Both
// calls below run it now: the inline one for parallel regions compiled into joules, the
// exported one for those inside LibTorch.
void initialise_thread() {
  at::internal::lazy_init_num_threads();
  (void)at::get_num_threads();
}

}  // namespace

IntraOpThreads::IntraOpThreads(int threads) {
  if (threads < 1) {
    throw std::invalid_argument("intra-op threads must be >= 1, got " + std::to_string(threads));
  }
  initialise_thread();
  previous_ = at::get_num_threads();
  // With OpenMP this sets the calling thread's count (and, as a side effect, the default of
  // threads that have not run a parallel region yet; every training sets its own).
  if (threads != previous_) at::set_num_threads(threads);
}

IntraOpThreads::~IntraOpThreads() {
  if (at::get_num_threads() != previous_) at::set_num_threads(previous_);
}

int intra_op_threads() {
  initialise_thread();
  return at::get_num_threads();
}

}  // namespace joules
