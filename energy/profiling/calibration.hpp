#pragma once
// Calibrating a rail against an external meter. Jetson's internal INA3221 sensors can under-read
// the power drawn by up to 50%; Shalavi et al. (2023) bring them within 3% with a linear
// regression against an external meter. A calibration file holds (internal, external) pairs
// of simultaneous readings per rail; the fit external = gain x internal + offset is applied to
// every sample of that rail and recorded with the measurements it produced.

#include <cstddef>
#include <ostream>
#include <span>
#include <string>
#include <vector>

#include "energy/rail_calibration.hpp"

namespace joules::profiling {

/// One pair of simultaneous readings, in mW.
struct CalibrationPoint {
  double internal_mw = 0.0;  // what the board's own sensor read
  double external_mw = 0.0;  // what the external meter read

  friend bool operator==(const CalibrationPoint&, const CalibrationPoint&) = default;
};

/// The fitted calibration of one rail (a plain value that profiles record).
using joules::RailCalibration;

/// Least-squares fit of external = gain x internal + offset. Throws std::invalid_argument naming
/// the rail when there are fewer than 2 points, the internal readings are all equal, a value is
/// not finite, or the fitted gain is not positive.
RailCalibration fit_calibration(const std::string& rail, std::span<const CalibrationPoint> points);

/// Reads a calibration CSV file (header `rail,internal_mw,external_mw`, one row per pair, any
/// number of rails) and fits each rail, in order of first appearance. Throws InputError naming
/// the file, line and column (or rail) of the problem.
std::vector<RailCalibration> load_calibration_file(const std::string& path);

}  // namespace joules::profiling
