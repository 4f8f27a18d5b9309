#pragma once
// A rail's calibration against an external meter, as a plain value: the sampler applies it to
// every sample (energy/profiling/calibration.hpp fits it) and a board profile records it in its
// provenance. Here rather than in energy/profiling/ because profiles (energy/) must hold it and
// energy/ does not depend on energy/profiling/.

#include <cstddef>
#include <ostream>
#include <string>

namespace joules {

/// corrected = gain x internal + offset_mw.
struct RailCalibration {
  std::string rail;
  double gain = 1.0;
  double offset_mw = 0.0;
  std::size_t points = 0;       // pairs fitted
  double r_squared = 1.0;       // of the fit, on the external readings
  double rmse_mw = 0.0;         // root mean square residual
  double max_abs_error_mw = 0;  // largest residual
  std::string source;           // the file it came from ("" when fitted in code)

  /// Corrected power for an internal reading.
  double apply(double internal_mw) const { return gain * internal_mw + offset_mw; }

  friend bool operator==(const RailCalibration&, const RailCalibration&) = default;
};

/// "VDD_IN: 1.02 x internal -3.1 mW (12 points, R^2 0.9990, RMSE 4.2 mW, from cal.csv)".
std::ostream& operator<<(std::ostream& out, const RailCalibration& calibration);

}  // namespace joules
