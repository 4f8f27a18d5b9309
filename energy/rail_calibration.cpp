#include "energy/rail_calibration.hpp"

#include <fmt/format.h>

namespace joules {

std::ostream& operator<<(std::ostream& out, const RailCalibration& c) {
  return out << fmt::format("{}: {} x internal {:+} mW ({} points, R^2 {:.4f}, RMSE {:.1f} mW{})", c.rail, c.gain,
                            c.offset_mw, c.points, c.r_squared, c.rmse_mw,
                            c.source.empty() ? "" : ", from " + c.source);
}

}  // namespace joules
