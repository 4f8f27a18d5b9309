// Bands that widen outside the data (issue 13, item 2): the calibration refits on each side of
// the MAC split, measures the held-out rows beyond the refits' ranges and records a growth that
// covers them; the estimator widens a layer's band with the decades it lies outside; profiles
// keep the calibration through a write and a read.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>

#include "energy/estimator.hpp"
#include "energy/fit.hpp"
#include "util/input_error.hpp"
#include "util/random.hpp"

namespace joules {
namespace {

using ::testing::HasSubstr;

// Conv layers whose energy grows faster than their MACs: a linear fit extrapolates badly.
LayerMeasurementSet curved_conv_rows() {
  LayerMeasurementSet data{.file = "curved.csv"};
  Rng rng(5);
  for (int i = 0; i < 120; ++i) {
    const std::int64_t filters = 2 + static_cast<std::int64_t>(rng.index(200));
    const std::int64_t size = 4 + static_cast<std::int64_t>(rng.index(40));
    LayerMeasurement m;
    m.input = Shape{8, size, size};
    m.layer = ConvLayer{.filters = filters, .kernel = Size2::square(3), .padding = Size2::square(1)};
    const double macs = static_cast<double>(filters * 8 * 9 * size * size);
    m.energy_mj = 1e-6 * std::pow(macs, 1.15) * (1 + 0.03 * (rng.uniform() - 0.5)) + 0.01;
    data.rows.push_back(m);
    data.lines.push_back(i + 2);
  }
  return data;
}

BoardIdentity identity() {
  return BoardIdentity{.board = "synthetic", .provenance = Provenance{.kind = ProvenanceKind::measured, .source = "test"}};
}

TEST(ExtrapolationBandTest, CalibrationWidensTheBandUntilTheHeldOutRowsAreCovered) {
  FitOptions options;
  options.families = {ModelFamily::linear};
  options.calibrate_extrapolation = true;
  const BoardFit fit = fit_layer_measurements(curved_conv_rows(), identity(), options);
  ASSERT_TRUE(fit.profile.extrapolation.has_value());
  const ExtrapolationBand& band = *fit.profile.extrapolation;
  EXPECT_GT(band.growth_per_decade, 0);
  ASSERT_EQ(band.checks.size(), 2u);
  double held = 0, covered = 0;
  for (const ExtrapolationCheck& c : band.checks) {
    EXPECT_GT(c.held_out, 0) << c.direction;
    EXPECT_GE(c.coverage_after, c.coverage_before) << c.direction;
    held += static_cast<double>(c.held_out);
    covered += c.coverage_after * static_cast<double>(c.held_out);
  }
  EXPECT_GE(covered / held, 0.9 - 1e-3);
  EXPECT_EQ(band.checks[0].direction, "above");
  EXPECT_EQ(band.checks[1].direction, "below");
  // A write and a read keep it.
  EXPECT_EQ(parse_board_profile(to_yaml(fit.profile), "p.yaml").extrapolation, fit.profile.extrapolation);
}

TEST(ExtrapolationBandTest, WithoutTheOptionNoCalibrationIsRecorded) {
  FitOptions options;
  options.families = {ModelFamily::linear};
  EXPECT_FALSE(fit_layer_measurements(curved_conv_rows(), identity(), options).profile.extrapolation);
}

TEST(ExtrapolationBandTest, TheBandGrowsWithTheDecadesOutsideAndNotInside) {
  FitOptions options;
  options.families = {ModelFamily::linear};
  BoardProfile profile = fit_layer_measurements(curved_conv_rows(), identity(), options).profile;
  profile.extrapolation = ExtrapolationBand{.growth_per_decade = 0.5};
  const EnergyEstimator widened(profile);
  profile.extrapolation.reset();
  const EnergyEstimator plain(profile);
  const auto ratio = [](const NetworkEstimate& e) { return e.energy_high_mj / e.energy_low_mj; };
  const Architecture inside{.input = {8, 16, 16}, .layers = {ConvLayer{.filters = 64, .kernel = Size2::square(3), .padding = Size2::square(1)}}};
  EXPECT_DOUBLE_EQ(ratio(widened.estimate(inside)), ratio(plain.estimate(inside)));
  // 10x and 100x the largest filters and map: farther out, wider.
  const Architecture out10{.input = {8, 160, 160}, .layers = {ConvLayer{.filters = 64, .kernel = Size2::square(3), .padding = Size2::square(1)}}};
  const Architecture out100{.input = {8, 1600, 1600}, .layers = {ConvLayer{.filters = 64, .kernel = Size2::square(3), .padding = Size2::square(1)}}};
  EXPECT_GT(ratio(widened.estimate(out10)), ratio(plain.estimate(out10)) * 1.2);
  EXPECT_GT(ratio(widened.estimate(out100)), ratio(widened.estimate(out10)));
  const NetworkEstimate e = widened.estimate(out100);
  EXPECT_LE(e.energy_low_mj, e.energy_mj);
  EXPECT_GE(e.energy_high_mj, e.energy_mj);
}

TEST(ExtrapolationBandTest, ABadSectionNamesTheKey) {
  FitOptions options;
  options.families = {ModelFamily::linear};
  BoardProfile profile = fit_layer_measurements(curved_conv_rows(), identity(), options).profile;
  std::string text = to_yaml(profile) + "extrapolation:\n  growth_per_decade: -1\n";
  try {
    parse_board_profile(text, "p.yaml");
    FAIL() << "accepted";
  } catch (const InputError& e) {
    EXPECT_THAT(e.what(), HasSubstr("p.yaml:"));
    EXPECT_THAT(e.what(), HasSubstr("growth_per_decade"));
  }
}

}  // namespace
}  // namespace joules
