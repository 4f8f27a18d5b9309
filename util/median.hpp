#pragma once
// The median of a sample: the figure quoted over seeds, repeats and noisy measurements.

#include <algorithm>
#include <cmath>
#include <vector>

namespace joules {

/// The median (the mean of the two middle values for an even count); NaN when empty.
inline double median(std::vector<double> values) {
  if (values.empty()) return std::nan("");
  std::sort(values.begin(), values.end());
  const std::size_t n = values.size();
  return n % 2 == 1 ? values[n / 2] : 0.5 * (values[n / 2 - 1] + values[n / 2]);
}

}  // namespace joules
