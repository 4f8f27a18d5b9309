#pragma once
// LibTorch's intra-op thread count for one thread. In LibTorch's OpenMP builds (Debian's,
// PyTorch's wheels) the count that at::parallel_for and oneDNN use is a property of the
// calling thread (OpenMP's nthreads-var), so trainings in different threads can each use
// their own count. Torch-free header.

namespace joules {

/// Sets the calling thread's intra-op thread count for the guard's lifetime and restores the
/// previous count when destroyed. Use it on the thread that runs the work, never across
/// threads. Throws std::invalid_argument when `threads` < 1.
class IntraOpThreads {
 public:
  explicit IntraOpThreads(int threads);
  ~IntraOpThreads();
  IntraOpThreads(const IntraOpThreads&) = delete;
  IntraOpThreads& operator=(const IntraOpThreads&) = delete;

 private:
  int previous_ = 0;
};

/// The calling thread's current intra-op thread count.
int intra_op_threads();

}  // namespace joules
