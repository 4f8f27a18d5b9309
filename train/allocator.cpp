#include "train/allocator.hpp"

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace joules {
namespace {

constexpr int kMmapThreshold = 64 << 20;
constexpr int kTrimThreshold = 512 << 20;

}  // namespace

void keep_freed_memory_for_training() {
#if defined(__GLIBC__)
  mallopt(M_MMAP_THRESHOLD, kMmapThreshold);
  mallopt(M_TRIM_THRESHOLD, kTrimThreshold);
#endif
}

const char* training_malloc_tunables() {
  static_assert(kMmapThreshold == 67108864 && kTrimThreshold == 536870912, "keep the text below in step");
  return "glibc.malloc.mmap_threshold=67108864:glibc.malloc.trim_threshold=536870912";
}

}  // namespace joules
