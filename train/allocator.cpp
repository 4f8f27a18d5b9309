#include "train/allocator.hpp"

#include <cstdlib>  // defines __GLIBC__ with glibc, which the test below needs

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace joules {
namespace {

constexpr int kMmapThreshold = 32 << 20;  // glibc's largest on 64-bit systems
constexpr int kTrimThreshold = 512 << 20;

}  // namespace

void keep_freed_memory_for_training() {
#if defined(__GLIBC__)
  mallopt(M_MMAP_THRESHOLD, kMmapThreshold);
  mallopt(M_TRIM_THRESHOLD, kTrimThreshold);
#endif
}

const char* training_malloc_tunables() {
  static_assert(kMmapThreshold == 33554432 && kTrimThreshold == 536870912, "keep the text below in step");
  return "glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=536870912";
}

}  // namespace joules
