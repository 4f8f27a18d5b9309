#pragma once
// Shared by the benchmarks: the median of a sample (the figure each bench quotes on a noisy
// machine) and the machine's load average, printed beside it.

#include <algorithm>
#include <cmath>
#include <fstream>
#include <vector>

namespace joules::bench {

/// The median (the mean of the two middle values for an even count); NaN when empty.
inline double median(std::vector<double> values) {
  if (values.empty()) return std::nan("");
  std::sort(values.begin(), values.end());
  const std::size_t n = values.size();
  return n % 2 == 1 ? values[n / 2] : 0.5 * (values[n / 2 - 1] + values[n / 2]);
}

/// The 1-minute load average (/proc/loadavg); NaN where there is none.
inline double load_average() {
  std::ifstream in("/proc/loadavg");
  double load = std::nan("");
  in >> load;
  return load;
}

}  // namespace joules::bench
