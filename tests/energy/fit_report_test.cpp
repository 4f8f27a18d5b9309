// Sweep plots of a fit: measurements and the fitted model against the filter count, one
// colour and legend entry per sweep.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "energy/fit.hpp"
#include "energy/fit_report.hpp"
#include "space/analysis.hpp"

namespace joules {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// Two conv sweeps over the filter count (energy in steps of 8 filters) and one with two inputs.
LayerMeasurementSet sweeps(bool with_latency) {
  LayerMeasurementSet data{.file = "sweeps.csv"};
  const auto add = [&](const std::string& family, Shape input, std::int64_t filters) {
    LayerMeasurement m{.input = input, .layer = ConvLayer{.filters = filters, .kernel = Size2::square(3)}};
    const double macs = static_cast<double>(analyze(Architecture{.input = input, .layers = {m.layer}}).macs);
    m.energy_mj = 1e-6 * macs * static_cast<double>((filters + 7) / 8 * 8) / static_cast<double>(filters) + 0.01;
    if (with_latency) m.latency_ms = m.energy_mj / 10;
    m.family = family;
    data.rows.push_back(m);
  };
  for (std::int64_t f = 1; f <= 32; ++f) {
    add("small", Shape{4, 8, 8}, f);
    add("mixed", Shape{8, 8, 8}, f);
    add("mixed", Shape{8, 10, 10}, f);
  }
  return data;
}

TEST(FitReportTest, SweepPlotDrawsEachSweepWithItsFittedModel) {
  const LayerMeasurementSet data = sweeps(/*with_latency=*/true);
  FitOptions options;
  options.families = {ModelFamily::stairs};
  const BoardFit fit = fit_layer_measurements(data, {.board = "b", .provenance = {}}, options);
  const std::string svg = fit_sweep_svg(fit, data, Quantity::energy);
  EXPECT_THAT(svg, HasSubstr("b: energy_mj per inference against the filter count (lines: fitted model)"));
  // One configuration: the family's name; several: the name and the configuration.
  EXPECT_THAT(svg, HasSubstr(">small<"));
  EXPECT_THAT(svg, HasSubstr(">mixed: conv 8x8x8 k3x3 s1<"));
  EXPECT_THAT(svg, HasSubstr(">mixed: conv 8x10x10 k3x3 s1<"));
  EXPECT_THAT(svg, HasSubstr("<path"));  // the models' lines
  EXPECT_THAT(fit_sweep_svg(fit, data, Quantity::latency), HasSubstr("latency_ms per inference"));

  const LayerMeasurementSet no_latency = sweeps(/*with_latency=*/false);
  const BoardFit energy_only = fit_layer_measurements(no_latency, {.board = "b", .provenance = {}}, options);
  EXPECT_THAT([&] { fit_sweep_svg(energy_only, no_latency, Quantity::latency); },
              ::testing::ThrowsMessage<std::invalid_argument>(HasSubstr("the fit has no latency to plot")));
  EXPECT_THAT(fit_sweep_svg(energy_only, no_latency, Quantity::energy), Not(HasSubstr("latency")));
}

}  // namespace
}  // namespace joules
