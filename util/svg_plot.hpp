#pragma once
// The one small SVG writer behind every plot joules draws (Pareto fronts, fits, profiling
// sweeps), so that a user needs nothing but a browser to look at results.

#include <cstddef>
#include <string>
#include <vector>

namespace joules {

enum class Marker { circle, cross, square, none };

struct PlotSeries {
  std::string label;  // legend entry; empty: not in the legend
  std::vector<double> x;
  std::vector<double> y;
  std::string color;  // any CSS colour; empty: the next colour of the palette
  Marker marker = Marker::circle;
  bool line = false;  // join the points in the given order
  double opacity = 1.0;
  double size_px = 3.0;  // marker radius
  /// Optional horizontal bars from x_low[i] to x_high[i] through each point (e.g. an
  /// estimate's uncertainty band); empty, or as long as x.
  std::vector<double> x_low;
  std::vector<double> x_high;
  bool hollow = false;  // circle and square markers drawn as outlines
};

struct PlotOptions {
  std::string title;
  std::string x_label;  // with units, e.g. "energy per inference (mJ)"
  std::string y_label;
  bool log_x = false;
  bool log_y = false;
  bool diagonal = false;  // a dashed y = x line (predicted against measured)
  int width_px = 760;
  int height_px = 500;
};

/// The i-th colour of the palette that series without a colour take in turn (wraps around):
/// for giving two series (e.g. measurements and their fitted model) the same colour.
std::string palette_color(std::size_t index);

/// A complete SVG document. Points that are not finite (or not positive on a log axis) are
/// left out. Throws std::invalid_argument when a series has x and y of different lengths.
std::string svg_plot(const PlotOptions& options, const std::vector<PlotSeries>& series);

}  // namespace joules
