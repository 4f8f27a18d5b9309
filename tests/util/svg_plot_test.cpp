#include "util/svg_plot.hpp"

#include <cmath>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace joules {
namespace {

using ::testing::HasSubstr;

TEST(SvgPlotTest, DrawsLabelsSeriesAndLegend) {
  const std::string svg = svg_plot({.title = "Front <1>", .x_label = "energy (mJ)", .y_label = "accuracy (%)"},
                                   {{.label = "all", .x = {1, 2, 3}, .y = {50, 60, 70}},
                                    {.label = "front", .x = {1, 3}, .y = {50, 70}, .marker = Marker::square, .line = true}});
  EXPECT_THAT(svg, HasSubstr("<svg"));
  EXPECT_THAT(svg, HasSubstr("Front &lt;1&gt;"));
  EXPECT_THAT(svg, HasSubstr("energy (mJ)"));
  EXPECT_THAT(svg, HasSubstr("accuracy (%)"));
  EXPECT_EQ(std::count(svg.begin(), svg.end(), '\n') > 10, true);
  EXPECT_THAT(svg, HasSubstr("<circle"));
  EXPECT_THAT(svg, HasSubstr("<rect x="));
  EXPECT_THAT(svg, HasSubstr(">front</text>"));
  EXPECT_THAT(svg, HasSubstr("</svg>"));
}

TEST(SvgPlotTest, LogAxesSkipNonPositiveValues) {
  const std::string svg = svg_plot({.log_x = true, .log_y = true, .diagonal = true},
                                   {{.x = {0.0, 1.0, 100.0}, .y = {-1.0, 2.0, 90.0}}});
  EXPECT_EQ(std::count(svg.begin(), svg.end(), 'c') >= 2, true);
  std::size_t circles = 0;
  for (std::size_t p = svg.find("<circle"); p != std::string::npos; p = svg.find("<circle", p + 1)) ++circles;
  EXPECT_EQ(circles, 2u);
  EXPECT_THAT(svg, HasSubstr("stroke-dasharray"));  // y = x
}

TEST(SvgPlotTest, PaletteColoursAreWhatUncolouredSeriesGetInTurn) {
  EXPECT_EQ(palette_color(0), "#1f77b4");
  EXPECT_NE(palette_color(1), palette_color(0));
  EXPECT_EQ(palette_color(10), palette_color(0));  // wraps around
  const std::string svg = svg_plot({}, {{.label = "a", .x = {1}, .y = {1}}, {.label = "b", .x = {2}, .y = {2}}});
  EXPECT_NE(svg.find(palette_color(0)), std::string::npos);
  EXPECT_NE(svg.find(palette_color(1)), std::string::npos);
}

TEST(SvgPlotTest, RejectsMismatchedSeries) {
  EXPECT_THAT([] { svg_plot({}, {{.label = "a", .x = {1, 2}, .y = {1}}}); },
              ::testing::ThrowsMessage<std::invalid_argument>(
                  ::testing::HasSubstr("plot series 'a' has 2 x values and 1 y values")));
}

TEST(SvgPlotTest, BandsAreHorizontalBarsAndHollowMarkersAreOutlines) {
  const std::string svg = svg_plot({}, {{.label = "front", .x = {2, 4}, .y = {1, 2}, .x_low = {1, 3}, .x_high = {3, 6},
                                         .hollow = true}});
  EXPECT_THAT(svg, HasSubstr("class=\"bands\""));
  EXPECT_THAT(svg, HasSubstr("fill=\"white\""));
  try {
    svg_plot({}, {{.label = "front", .x = {2, 4}, .y = {1, 2}, .x_low = {1}, .x_high = {3}}});
    FAIL() << "bars of another length accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_THAT(e.what(), HasSubstr("plot series 'front' has 2 x values and bars for 1 and 1"));
  }
}

TEST(SvgPlotTest, PointsCarryTheirIdsAndClassForScripts) {
  const std::string svg = svg_plot({.id = "plane"}, {{.label = "front", .x = {2, 4}, .y = {1, 2}, .x_low = {1, 3},
                                                       .x_high = {3, 6}, .ids = {"7", "9"}, .point_class = "pt front"}});
  EXPECT_THAT(svg, HasSubstr("<circle data-id=\"7\" class=\"pt front\""));
  EXPECT_THAT(svg, HasSubstr("<circle data-id=\"9\" class=\"pt front\""));
  EXPECT_THAT(svg, HasSubstr("<path data-id=\"7\" d="));  // its band
  // Several plots on one page: each clips to its own rectangle.
  EXPECT_THAT(svg, HasSubstr("id=\"plane\""));
  EXPECT_THAT(svg, HasSubstr("<clipPath id=\"plane-clip\">"));
  EXPECT_THAT(svg, HasSubstr("clip-path=\"url(#plane-clip)\""));
  EXPECT_THAT([] { svg_plot({}, {{.label = "a", .x = {1, 2}, .y = {1, 2}, .ids = {"1"}}}); },
              ::testing::ThrowsMessage<std::invalid_argument>(HasSubstr("plot series 'a' has 2 x values and 1 ids")));
}

TEST(SvgPlotTest, ReferenceLinesAreDrawnWhereTheyFall) {
  const std::string svg = svg_plot({.x_lines = {{.x = 3, .label = "energy budget 3 mJ"}, {.x = 1000, .label = "far"}}},
                                   {{.x = {1, 5}, .y = {1, 2}}});
  EXPECT_THAT(svg, HasSubstr(">energy budget 3 mJ</text>"));
  EXPECT_EQ(svg.find(">far</text>"), std::string::npos);  // outside the x range
}

TEST(SvgPlotTest, BarChartsDrawABarPerRowWithBandsAndEscapedLabels) {
  const std::string svg = svg_bar_chart({.title = "layers", .value_label = "energy (mJ)", .data_id = "12"},
                                        {{.label = "1 conv <x>", .value = 2, .low = 1.5, .high = 2.5, .note = "(60%)"},
                                         {.label = "overhead", .value = 1.25, .color = "#999"},
                                         {.label = "nan", .value = NAN, .note = "(none)"}});
  EXPECT_THAT(svg, HasSubstr("data-id=\"12\""));
  EXPECT_EQ(std::count(svg.begin(), svg.end(), '\n') > 3, true);
  std::size_t bars = 0;
  for (std::size_t p = svg.find("class=\"bar\""); p != std::string::npos; p = svg.find("class=\"bar\"", p + 1)) ++bars;
  EXPECT_EQ(bars, 3u);
  EXPECT_THAT(svg, HasSubstr("1 conv &lt;x&gt;"));
  EXPECT_THAT(svg, HasSubstr(">2 (60%)</text>"));
  EXPECT_THAT(svg, HasSubstr(">1.25</text>"));
  EXPECT_THAT(svg, HasSubstr(">0 (none)</text>"));  // not finite: drawn as 0
  EXPECT_THAT(svg, HasSubstr("energy (mJ)"));
}

TEST(SvgPlotTest, EscapesEveryCharacterThatCouldEndTextOrAnAttribute) {
  EXPECT_EQ(xml_escape("<script>\"&'"), "&lt;script&gt;&quot;&amp;'");
  EXPECT_EQ(xml_escape("plain"), "plain");
}

}  // namespace
}  // namespace joules
