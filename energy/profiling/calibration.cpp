#include "energy/profiling/calibration.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <stdexcept>

#include <fmt/format.h>

#include "util/csv.hpp"
#include "util/input_error.hpp"

namespace joules::profiling {

RailCalibration fit_calibration(const std::string& rail, std::span<const CalibrationPoint> points) {
  if (points.size() < 2) {
    throw std::invalid_argument(fmt::format("calibration of rail {}: needs at least 2 (internal, external) pairs, got {}",
                                            rail, points.size()));
  }
  for (const auto& p : points) {
    if (!std::isfinite(p.internal_mw) || !std::isfinite(p.external_mw)) {
      throw std::invalid_argument(fmt::format("calibration of rail {}: non-finite reading ({}, {})", rail, p.internal_mw,
                                              p.external_mw));
    }
  }
  const double n = static_cast<double>(points.size());
  double mean_x = 0, mean_y = 0;
  for (const auto& p : points) {
    mean_x += p.internal_mw / n;
    mean_y += p.external_mw / n;
  }
  double sxx = 0, sxy = 0, syy = 0;
  for (const auto& p : points) {
    const double dx = p.internal_mw - mean_x, dy = p.external_mw - mean_y;
    sxx += dx * dx;
    sxy += dx * dy;
    syy += dy * dy;
  }
  if (sxx <= 0.0) {
    throw std::invalid_argument(fmt::format(
        "calibration of rail {}: all {} internal readings are {} mW; pairs at different loads are needed to fit a "
        "gain and an offset",
        rail, points.size(), points.front().internal_mw));
  }
  RailCalibration fit;
  fit.rail = rail;
  fit.gain = sxy / sxx;
  fit.offset_mw = mean_y - fit.gain * mean_x;
  fit.points = points.size();
  if (!(fit.gain > 0.0)) {
    throw std::invalid_argument(fmt::format(
        "calibration of rail {}: fitted gain {} is not positive: the internal and external readings do not rise "
        "together; check that the pairs belong to this rail",
        rail, fit.gain));
  }
  double sse = 0;
  for (const auto& p : points) {
    const double residual = p.external_mw - fit.apply(p.internal_mw);
    sse += residual * residual;
    fit.max_abs_error_mw = std::max(fit.max_abs_error_mw, std::abs(residual));
  }
  fit.rmse_mw = std::sqrt(sse / n);
  fit.r_squared = syy > 0.0 ? 1.0 - sse / syy : 1.0;
  return fit;
}

std::vector<RailCalibration> load_calibration_file(const std::string& path) {
  const CsvTable table = CsvTable::read_file(path);
  const std::size_t rail_column = table.column("rail");
  const std::size_t internal_column = table.column("internal_mw");
  const std::size_t external_column = table.column("external_mw");
  std::vector<std::string> order;
  std::map<std::string, std::vector<CalibrationPoint>> points;
  std::map<std::string, int> first_line;
  for (std::size_t row = 0; row < table.rows(); ++row) {
    const std::string& rail = table.text(row, rail_column);
    if (rail.empty()) table.fail(row, rail_column, "empty rail name");
    CalibrationPoint point{table.number(row, internal_column), table.number(row, external_column)};
    if (point.internal_mw < 0) table.fail(row, internal_column, fmt::format("negative power {} mW", point.internal_mw));
    if (point.external_mw < 0) table.fail(row, external_column, fmt::format("negative power {} mW", point.external_mw));
    if (!points.count(rail)) {
      order.push_back(rail);
      first_line[rail] = table.line(row);
    }
    points[rail].push_back(point);
  }
  if (order.empty()) throw InputError(path, 0, "", "no calibration pairs (expected rows of rail,internal_mw,external_mw)");
  std::vector<RailCalibration> fits;
  for (const std::string& rail : order) {
    try {
      fits.push_back(fit_calibration(rail, points[rail]));
    } catch (const std::invalid_argument& e) {
      throw InputError(path, first_line[rail], rail, e.what());
    }
    fits.back().source = path;
  }
  return fits;
}

}  // namespace joules::profiling
