#pragma once
// A lognormal distribution of training times, for simulated asynchronous completion (the ZDT
// quality check) and for bench/scale_out's fake trainer. Seeded through the project's Rng, so a
// seed gives the same durations on every platform.

#include <cmath>
#include <numbers>

#include "util/random.hpp"

namespace joules {

struct LognormalDurations {
  double median_s = 1.0;  // exp(mu)
  double sigma = 1.0;     // standard deviation of log(duration)

  /// One duration in seconds (Box-Muller on two uniforms of `rng`).
  double draw(Rng& rng) const {
    const double u1 = 1.0 - rng.uniform();  // in (0, 1]
    const double u2 = rng.uniform();
    const double z = std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
    return median_s * std::exp(sigma * z);
  }
};

}  // namespace joules
