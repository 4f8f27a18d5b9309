#pragma once
// Shared by the benchmarks: the median of a sample (the figure each bench quotes on a noisy
// machine) and the machine's load average, printed beside it.

#include <cmath>
#include <fstream>

#include "util/median.hpp"

namespace joules::bench {

using joules::median;  // util/median.hpp

/// The 1-minute load average (/proc/loadavg); NaN where there is none.
inline double load_average() {
  std::ifstream in("/proc/loadavg");
  double load = std::nan("");
  in >> load;
  return load;
}

}  // namespace joules::bench
