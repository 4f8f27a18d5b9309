#pragma once
// The one small SVG writer behind every plot joules draws (Pareto fronts, fits, profiling
// sweeps), so that a user needs nothing but a browser to look at results.

#include <cstddef>
#include <string>
#include <string_view>
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
  /// Optional: one id per point, written as `data-id="ID"` on its marker and its bar (what an
  /// HTML report's script looks points up by); empty, or as long as x.
  std::vector<std::string> ids;
  /// Optional: the `class` of every marker of the series (e.g. "pt front"), for CSS and scripts.
  std::string point_class;
};

/// A labelled dashed line across the plot at a fixed x (e.g. an energy budget).
struct ReferenceLine {
  double x = 0;
  std::string label;
  std::string color = "#d62728";
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
  std::vector<ReferenceLine> x_lines;  // drawn only when inside the x range
  /// The document's `id`; also prefixes its clip path's id, so that several plots can share
  /// one HTML page. Empty: no id, clip path "plot".
  std::string id;
};

/// `text` with <, >, & and " replaced by entities: safe inside XML or HTML text and inside
/// attribute values in double quotes (the only kind joules writes).
std::string xml_escape(std::string_view text);

/// The i-th colour of the palette that series without a colour take in turn (wraps around):
/// for giving two series (e.g. measurements and their fitted model) the same colour.
std::string palette_color(std::size_t index);

/// A complete SVG document. Points that are not finite (or not positive on a log axis) are
/// left out. Throws std::invalid_argument when a series has x and y of different lengths.
std::string svg_plot(const PlotOptions& options, const std::vector<PlotSeries>& series);

/// One bar of a horizontal bar chart: a value with an optional band [low, high].
struct Bar {
  std::string label;  // left of the bar
  double value = 0;
  double low = 0;     // band; ignored unless low < high
  double high = 0;
  std::string color;  // empty: the first colour of the palette
  std::string note;   // right of the bar, after the value (e.g. "12% of the total")
};

struct BarChartOptions {
  std::string title;
  std::string value_label;  // with units, e.g. "estimated energy per inference (mJ)"
  int width_px = 760;
  double bar_px = 18;       // height of one bar's row
  std::string id;           // the document's `id` (none when empty)
  std::string data_id;      // when set, `data-id` of the document (whose thing it draws)
};

/// A complete SVG document of horizontal bars from 0 (values and bands that are not finite
/// or negative are drawn as 0), one row per bar, labels on the left, values on the right.
std::string svg_bar_chart(const BarChartOptions& options, const std::vector<Bar>& bars);

}  // namespace joules
