#pragma once
// A process-wide memory setting for processes that train. Torch-free.
//
// LibTorch allocates every activation and gradient afresh at each step. With glibc's default
// thresholds the larger blocks are mapped and unmapped, or trimmed from the heap, at every
// step, and touching them again costs page faults: about a tenth of a LeNet-5 step on
// Fashion-MNIST (bench/train_throughput runs the Python peer with the same setting).

namespace joules {

/// Makes glibc's malloc keep freed memory for reuse (blocks up to 32 MiB come from the heap,
/// and up to 512 MiB of free heap is kept) instead of returning it to the system after each
/// step. Process-wide: call it once, early, from the program (a CLI command, a benchmark),
/// not from library code. Peak memory is unchanged; memory freed after a training is reused
/// by the next rather than returned. No effect without glibc.
void keep_freed_memory_for_training();

/// The same setting as a GLIBC_TUNABLES environment value, for a child process (a peer).
const char* training_malloc_tunables();

}  // namespace joules
