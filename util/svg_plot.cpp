#include "util/svg_plot.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

#include <fmt/format.h>

namespace joules {
namespace {

constexpr const char* kPalette[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd",
                                    "#8c564b", "#e377c2", "#17becf", "#7f7f7f", "#bcbd22"};

// One axis: data range, mapping to pixels, and tick positions.
struct Axis {
  bool log = false;
  double lo = 0;
  double hi = 1;

  double transform(double v) const { return log ? std::log10(v) : v; }
  bool usable(double v) const { return std::isfinite(v) && (!log || v > 0); }

  void fit(const std::vector<double>& values) {
    double a = std::numeric_limits<double>::infinity();
    double b = -a;
    for (double v : values) {
      if (!usable(v)) continue;
      a = std::min(a, transform(v));
      b = std::max(b, transform(v));
    }
    if (!std::isfinite(a)) {
      a = 0;
      b = 1;
    }
    if (b - a < 1e-12) {
      const double pad = std::max(std::fabs(a) * 0.05, log ? 0.5 : 1e-3);
      a -= pad;
      b += pad;
    }
    const double margin = (b - a) * 0.04;
    lo = a - margin;
    hi = b + margin;
    if (!log && lo < 0 && a >= 0) lo = std::max(lo, 0.0 - (b - a) * 0.02);
  }

  double fraction(double v) const { return (transform(v) - lo) / (hi - lo); }

  std::vector<double> ticks() const {
    std::vector<double> out;
    if (log) {
      for (int e = static_cast<int>(std::floor(lo)); e <= static_cast<int>(std::ceil(hi)); ++e) {
        const double multipliers[] = {1, 2, 5};
        const bool dense = hi - lo < 2.5;
        for (double m : multipliers) {
          if (!dense && m != 1) continue;
          const double v = m * std::pow(10.0, e);
          if (std::log10(v) >= lo && std::log10(v) <= hi) out.push_back(v);
        }
      }
      return out;
    }
    const double raw = (hi - lo) / 6;
    const double mag = std::pow(10.0, std::floor(std::log10(raw)));
    double step = mag;
    for (double m : {1.0, 2.0, 2.5, 5.0, 10.0}) {
      if (m * mag >= raw) {
        step = m * mag;
        break;
      }
    }
    for (double v = std::ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) {
      out.push_back(std::fabs(v) < step * 1e-9 ? 0.0 : v);
    }
    return out;
  }
};

std::string tick_label(double v) {
  const double a = std::fabs(v);
  if (a != 0 && (a >= 1e5 || a < 1e-3)) return fmt::format("{:.0e}", v);
  return fmt::format("{:.6g}", v);
}

}  // namespace

std::string xml_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '&': out += "&amp;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string palette_color(std::size_t index) { return kPalette[index % std::size(kPalette)]; }

std::string svg_plot(const PlotOptions& options, const std::vector<PlotSeries>& series) {
  for (const PlotSeries& s : series) {
    if (s.x.size() != s.y.size()) {
      throw std::invalid_argument(fmt::format("plot series '{}' has {} x values and {} y values", s.label,
                                              s.x.size(), s.y.size()));
    }
    if ((!s.x_low.empty() && s.x_low.size() != s.x.size()) || s.x_low.size() != s.x_high.size()) {
      throw std::invalid_argument(fmt::format("plot series '{}' has {} x values and bars for {} and {}", s.label,
                                              s.x.size(), s.x_low.size(), s.x_high.size()));
    }
    if (!s.ids.empty() && s.ids.size() != s.x.size()) {
      throw std::invalid_argument(fmt::format("plot series '{}' has {} x values and {} ids", s.label, s.x.size(),
                                              s.ids.size()));
    }
  }
  const double W = options.width_px;
  const double H = options.height_px;
  const double left = 78, right = 24, top = options.title.empty() ? 20 : 44, bottom = 58;
  const double pw = W - left - right;
  const double ph = H - top - bottom;

  Axis ax{.log = options.log_x};
  Axis ay{.log = options.log_y};
  std::vector<double> xs;
  std::vector<double> ys;
  for (const PlotSeries& s : series) {
    xs.insert(xs.end(), s.x.begin(), s.x.end());
    xs.insert(xs.end(), s.x_low.begin(), s.x_low.end());
    xs.insert(xs.end(), s.x_high.begin(), s.x_high.end());
    ys.insert(ys.end(), s.y.begin(), s.y.end());
  }
  if (options.diagonal && options.log_x == options.log_y) {
    // Same range on both axes so that y = x is the diagonal.
    std::vector<double> both = xs;
    both.insert(both.end(), ys.begin(), ys.end());
    ax.fit(both);
    ay.fit(both);
  } else {
    ax.fit(xs);
    ay.fit(ys);
  }
  auto px = [&](double v) { return left + ax.fraction(v) * pw; };
  auto py = [&](double v) { return top + (1 - ay.fraction(v)) * ph; };

  const std::string clip = options.id.empty() ? "plot" : xml_escape(options.id) + "-clip";
  std::string svg = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\"{2} width=\"{0}\" height=\"{1}\" viewBox=\"0 0 {0} {1}\" "
      "font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n",
      W, H, options.id.empty() ? "" : fmt::format(" id=\"{}\"", xml_escape(options.id)));
  if (!options.title.empty()) {
    svg += fmt::format("<text x=\"{}\" y=\"24\" text-anchor=\"middle\" font-size=\"15\">{}</text>\n", W / 2,
                       xml_escape(options.title));
  }
  // Grid and ticks.
  for (double t : ax.ticks()) {
    const double x = px(t);
    svg += fmt::format("<line x1=\"{0:.1f}\" y1=\"{1:.1f}\" x2=\"{0:.1f}\" y2=\"{2:.1f}\" stroke=\"#e5e5e5\"/>\n", x, top,
                       top + ph);
    svg += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"middle\">{}</text>\n", x, top + ph + 16,
                       tick_label(t));
  }
  for (double t : ay.ticks()) {
    const double y = py(t);
    svg += fmt::format("<line x1=\"{0:.1f}\" y1=\"{1:.1f}\" x2=\"{2:.1f}\" y2=\"{1:.1f}\" stroke=\"#e5e5e5\"/>\n", left, y,
                       left + pw);
    svg += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"end\">{}</text>\n", left - 6, y + 4,
                       tick_label(t));
  }
  svg += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"#333\"/>\n", left, top,
                     pw, ph);
  svg += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n", left + pw / 2, H - 14,
                     xml_escape(options.x_label));
  svg += fmt::format("<text transform=\"translate(18,{}) rotate(-90)\" text-anchor=\"middle\">{}</text>\n", top + ph / 2,
                     xml_escape(options.y_label));
  svg += fmt::format("<clipPath id=\"{}\"><rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\"/></clipPath>\n", clip,
                     left, top, pw, ph);
  svg += fmt::format("<g clip-path=\"url(#{})\">\n", clip);
  if (options.diagonal) {
    const double lo = std::max(ax.lo, ay.lo);
    const double hi = std::min(ax.hi, ay.hi);
    auto back = [&](double t) { return options.log_x ? std::pow(10.0, t) : t; };
    svg += fmt::format(
        "<line x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"#555\" stroke-dasharray=\"5,4\"/>\n",
        px(back(lo)), py(back(lo)), px(back(hi)), py(back(hi)));
  }
  for (const ReferenceLine& line : options.x_lines) {
    if (!ax.usable(line.x) || ax.fraction(line.x) < 0 || ax.fraction(line.x) > 1) continue;
    const double x = px(line.x);
    svg += fmt::format("<line class=\"reference\" x1=\"{0:.1f}\" y1=\"{1:.1f}\" x2=\"{0:.1f}\" y2=\"{2:.1f}\" stroke=\"{3}\" "
                       "stroke-width=\"1.4\" stroke-dasharray=\"6,4\"/>\n",
                       x, top, top + ph, xml_escape(line.color));
    svg += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" fill=\"{}\" text-anchor=\"end\" "
                       "transform=\"rotate(-90 {:.1f} {:.1f})\">{}</text>\n",
                       x - 4, top + 6, xml_escape(line.color), x - 4, top + 6, xml_escape(line.label));
  }

  std::vector<std::pair<std::string, const PlotSeries*>> legend;
  std::size_t next_color = 0;
  for (const PlotSeries& s : series) {
    const std::string color = s.color.empty() ? kPalette[next_color++ % std::size(kPalette)] : s.color;
    if (!s.label.empty()) legend.emplace_back(color, &s);
    std::string path;
    std::string marks;
    std::string bars;
    const bool with_bars = !s.x_low.empty();
    const std::string point_class = s.point_class.empty() ? "" : fmt::format(" class=\"{}\"", xml_escape(s.point_class));
    for (std::size_t i = 0; i < s.x.size(); ++i) {
      if (!ax.usable(s.x[i]) || !ay.usable(s.y[i])) continue;
      const double x = px(s.x[i]);
      const double y = py(s.y[i]);
      const std::string attributes =
          (s.ids.empty() ? std::string() : fmt::format(" data-id=\"{}\"", xml_escape(s.ids[i]))) + point_class;
      if (with_bars && ax.usable(s.x_low[i]) && ax.usable(s.x_high[i])) {
        bars += fmt::format("<path{5} d=\"M{0:.1f},{2:.1f} L{1:.1f},{2:.1f} M{0:.1f},{3:.1f} L{0:.1f},{4:.1f} "
                            "M{1:.1f},{3:.1f} L{1:.1f},{4:.1f}\"/>",
                            px(s.x_low[i]), px(s.x_high[i]), y, y - 3, y + 3,
                            s.ids.empty() ? std::string() : fmt::format(" data-id=\"{}\"", xml_escape(s.ids[i])));
      }
      path += fmt::format("{}{:.1f},{:.1f}", path.empty() ? "M" : " L", x, y);
      const double r = s.size_px;
      switch (s.marker) {
        case Marker::circle:
          marks += fmt::format("<circle{} cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"{}\"/>", attributes, x, y, r);
          break;
        case Marker::square:
          marks += fmt::format("<rect{} x=\"{:.1f}\" y=\"{:.1f}\" width=\"{}\" height=\"{}\"/>", attributes, x - r, y - r,
                               2 * r, 2 * r);
          break;
        case Marker::cross:
          marks += fmt::format("<path{} d=\"M{:.1f},{:.1f} L{:.1f},{:.1f} M{:.1f},{:.1f} L{:.1f},{:.1f}\"/>", attributes,
                               x - r, y - r, x + r, y + r, x - r, y + r, x + r, y - r);
          break;
        case Marker::none: break;
      }
    }
    if (s.line && !path.empty()) {
      svg += fmt::format("<path d=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"1.6\" opacity=\"{}\"/>\n", path, color,
                         s.opacity);
    }
    if (!bars.empty()) {
      svg += fmt::format("<g class=\"bands\" stroke=\"{}\" stroke-width=\"1.2\" opacity=\"{}\">{}</g>\n", color,
                         0.6 * s.opacity, bars);
    }
    if (!marks.empty() && s.hollow && s.marker != Marker::cross) {
      svg += fmt::format("<g fill=\"white\" stroke=\"{}\" stroke-width=\"1.5\" opacity=\"{}\">{}</g>\n", color,
                         s.opacity, marks);
    } else if (!marks.empty()) {
      svg += s.marker == Marker::cross
                 ? fmt::format("<g stroke=\"{}\" stroke-width=\"1.3\" opacity=\"{}\">{}</g>\n", color, s.opacity, marks)
                 : fmt::format("<g fill=\"{}\" opacity=\"{}\">{}</g>\n", color, s.opacity, marks);
    }
  }
  svg += "</g>\n";
  // Legend inside the plot, in the corner that hides the fewest points.
  if (!legend.empty()) {
    std::size_t longest = 0;
    for (const auto& entry : legend) longest = std::max(longest, entry.second->label.size());
    const double box_w = 24 + 6.6 * static_cast<double>(longest);
    const double box_h = 17.0 * static_cast<double>(legend.size()) + 8;
    double best_x = left + pw - box_w - 6;
    double best_y = top + 6;
    std::size_t best_hidden = SIZE_MAX;
    for (const double x0 : {left + pw - box_w - 6, left + 6}) {
      for (const double y0 : {top + 6, top + ph - box_h - 6}) {
        std::size_t hidden = 0;
        for (const PlotSeries& s : series) {
          for (std::size_t i = 0; i < s.x.size(); ++i) {
            if (!ax.usable(s.x[i]) || !ay.usable(s.y[i])) continue;
            const double x = px(s.x[i]);
            const double y = py(s.y[i]);
            hidden += x >= x0 && x <= x0 + box_w && y >= y0 && y <= y0 + box_h;
          }
        }
        if (hidden < best_hidden) {
          best_hidden = hidden;
          best_x = x0;
          best_y = y0;
        }
      }
    }
    svg += fmt::format("<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\" fill=\"white\" "
                       "fill-opacity=\"0.85\" stroke=\"#ccc\"/>\n",
                       best_x, best_y, box_w, box_h);
    double ly = best_y + 17;
    for (const auto& [color, s] : legend) {
      svg += fmt::format("<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"10\" height=\"10\" fill=\"{}\"/>", best_x + 8,
                         ly - 9, color);
      svg += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\">{}</text>\n", best_x + 24, ly, xml_escape(s->label));
      ly += 17;
    }
  }
  svg += "</svg>\n";
  return svg;
}

std::string svg_bar_chart(const BarChartOptions& options, const std::vector<Bar>& bars) {
  const auto clean = [](double v) { return std::isfinite(v) && v > 0 ? v : 0.0; };
  std::size_t longest_label = 0;
  double hi = 0;
  for (const Bar& b : bars) {
    longest_label = std::max(longest_label, b.label.size());
    hi = std::max({hi, clean(b.value), b.low < b.high ? clean(b.high) : 0.0});
  }
  if (hi <= 0) hi = 1;
  const double W = options.width_px;
  const double left = std::min(W * 0.45, 14 + 6.6 * static_cast<double>(longest_label));
  const double right = 150;  // the value and its note
  const double top = options.title.empty() ? 10 : 34;
  const double row = options.bar_px + 6;
  const double pw = std::max(W - left - right, 40.0);
  const double H = top + row * static_cast<double>(bars.size()) + 44;
  Axis axis;
  axis.lo = 0;
  axis.hi = hi * 1.02;
  auto px = [&](double v) { return left + clean(v) / axis.hi * pw; };

  std::string svg = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\"{2}{3} width=\"{0}\" height=\"{1:.0f}\" viewBox=\"0 0 {0} {1:.0f}\" "
      "font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n",
      W, H, options.id.empty() ? "" : fmt::format(" id=\"{}\"", xml_escape(options.id)),
      options.data_id.empty() ? "" : fmt::format(" data-id=\"{}\"", xml_escape(options.data_id)));
  if (!options.title.empty()) {
    svg += fmt::format("<text x=\"{}\" y=\"22\" text-anchor=\"middle\" font-size=\"14\">{}</text>\n", W / 2,
                       xml_escape(options.title));
  }
  const double bottom = top + row * static_cast<double>(bars.size());
  for (double t : axis.ticks()) {
    if (t < 0) continue;
    svg += fmt::format("<line x1=\"{0:.1f}\" y1=\"{1:.1f}\" x2=\"{0:.1f}\" y2=\"{2:.1f}\" stroke=\"#e5e5e5\"/>\n", px(t), top,
                       bottom);
    svg += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"middle\">{}</text>\n", px(t), bottom + 15,
                       tick_label(t));
  }
  svg += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"middle\">{}</text>\n", left + pw / 2, bottom + 34,
                     xml_escape(options.value_label));
  double y = top;
  for (const Bar& b : bars) {
    const std::string color = b.color.empty() ? kPalette[0] : b.color;
    const double mid = y + row / 2;
    svg += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"end\">{}</text>", left - 6, mid + 4,
                       xml_escape(b.label));
    svg += fmt::format("<rect class=\"bar\" x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\" fill=\"{}\"/>", left,
                       y + 3, px(b.value) - left, options.bar_px, xml_escape(color));
    if (b.low < b.high) {
      svg += fmt::format("<path d=\"M{0:.1f},{2:.1f} L{1:.1f},{2:.1f} M{0:.1f},{3:.1f} L{0:.1f},{4:.1f} M{1:.1f},{3:.1f} "
                         "L{1:.1f},{4:.1f}\" stroke=\"#333\" stroke-width=\"1.1\"/>",
                         px(b.low), px(b.high), mid, mid - 4, mid + 4);
    }
    const double text_x = std::max(px(b.value), b.low < b.high ? px(b.high) : 0.0) + 6;
    svg += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\">{:.3g}{}</text>\n", text_x, mid + 4, clean(b.value),
                       b.note.empty() ? "" : " " + xml_escape(b.note));
    y += row;
  }
  svg += "</svg>\n";
  return svg;
}

}  // namespace joules
