#include "util/svg_plot.hpp"

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

}  // namespace
}  // namespace joules
