// Fitting: every family recovers the coefficients that generated synthetic data (the stairs
// granularity exactly), network-level data is fitted through the sum over layers, the choice
// between candidates is made by cross-validation, and degenerate input is rejected clearly.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "energy/estimator.hpp"
#include "energy/fit.hpp"
#include "util/input_error.hpp"
#include "util/random.hpp"

namespace joules {
namespace {

using ::testing::HasSubstr;

constexpr std::size_t slot(Term t) { return static_cast<std::size_t>(t); }

BoardIdentity identity() {
  return BoardIdentity{.board = "synthetic", .provenance = Provenance{.kind = ProvenanceKind::measured, .source = "test"}};
}

LayerFeatures features_of(const Shape& input, const Layer& layer) {
  const Architecture arch{.input = input, .layers = {layer}};
  return layer_features(layer, analyze(arch).layers.front());
}

class FitTest : public ::testing::Test {
 protected:
  Rng rng{20240611};

  // A random conv layer measurement whose energy follows `model`.
  LayerMeasurement conv_row(const LayerModel& model, std::int64_t max_filters = 200) {
    const std::int64_t kernels[] = {1, 3, 5};
    LayerMeasurement m;
    m.input = Shape{rng.between(1, 64), rng.between(8, 40), rng.between(8, 40)};
    const std::int64_t k = kernels[rng.index(3)];
    m.layer = ConvLayer{.filters = rng.between(1, max_filters), .kernel = Size2::square(k),
                        .stride = Size2::square(rng.between(1, 2)), .padding = Size2::square(k / 2)};
    m.energy_mj = model.evaluate(features_of(m.input, m.layer));
    m.latency_ms = 2 * m.energy_mj;
    return m;
  }

  LayerMeasurement fc_row(const LayerModel& model) {
    LayerMeasurement m;
    m.input = Shape{rng.between(1, 512), 1, 1};
    m.layer = FcLayer{.units = rng.between(1, 512)};
    m.energy_mj = model.evaluate(features_of(m.input, m.layer));
    m.latency_ms = 2 * m.energy_mj;
    return m;
  }
};

TEST_F(FitTest, LinearRecoversSlopeAndConstantOfFcLayers) {
  LayerModel truth{.family = ModelFamily::linear};
  truth.coefficients[slot(Term::mac)] = 3e-6;
  truth.coefficients[slot(Term::layer)] = 0.25;
  LayerMeasurementSet data{.file = "fc.csv"};
  for (int i = 0; i < 60; ++i) data.rows.push_back(fc_row(truth));
  // fc rows alone make no profile: add a few conv rows.
  for (int i = 0; i < 10; ++i) data.rows.push_back(conv_row(truth));

  FitOptions options;
  options.families = {ModelFamily::linear};
  const BoardFit fit = fit_layer_measurements(data, identity(), options);
  const auto& fc = fit.profile.energy.model(LayerKind::fc);
  ASSERT_TRUE(fc.has_value());
  EXPECT_EQ(fc->family, ModelFamily::linear);
  EXPECT_NEAR(fc->coefficients[slot(Term::mac)], 3e-6, 3e-6 * 1e-6);
  EXPECT_NEAR(fc->coefficients[slot(Term::layer)], 0.25, 0.25 * 1e-6);
  EXPECT_LT(fit.profile.energy.fits.front().quality.mape_pct, 1e-3);
}

TEST_F(FitTest, StairsRecoversTheGranularityExactly) {
  for (std::int64_t g : {8, 32, 64}) {
    LayerModel truth{.family = ModelFamily::stairs, .granularity = g};
    truth.coefficients[slot(Term::mac)] = 5e-8;
    truth.coefficients[slot(Term::layer)] = 0.02;
    LayerMeasurementSet data{.file = "conv.csv"};
    for (int i = 0; i < 150; ++i) data.rows.push_back(conv_row(truth, 300));

    FitOptions options;
    options.families = {ModelFamily::linear, ModelFamily::stairs};
    const BoardFit fit = fit_layer_measurements(data, identity(), options);
    const auto& conv = fit.profile.energy.model(LayerKind::conv);
    ASSERT_TRUE(conv.has_value());
    EXPECT_EQ(conv->family, ModelFamily::stairs);
    EXPECT_EQ(conv->granularity, g);
    EXPECT_NEAR(conv->coefficients[slot(Term::mac)], 5e-8, 5e-8 * 1e-6);
    EXPECT_NEAR(conv->coefficients[slot(Term::layer)], 0.02, 0.02 * 1e-6);
    // Every candidate was cross-validated, and exactly one was chosen.
    const FitSummary& s = fit.profile.energy.fits.front();
    EXPECT_EQ(s.candidates.size(), 1u + kDefaultGranularities.size());
    EXPECT_EQ(std::count_if(s.candidates.begin(), s.candidates.end(), [](const auto& c) { return c.chosen; }), 1);
  }
}

TEST_F(FitTest, TrafficRecoversEveryTermOfNetworksThroughTheSumOfLayers) {
  LayerModel conv{.family = ModelFamily::traffic, .granularity = 16};
  conv.coefficients[slot(Term::mac_1x1)] = 6e-8;
  conv.coefficients[slot(Term::mac_3x3s1)] = 3e-8;
  conv.coefficients[slot(Term::mac_kxk)] = 5e-8;
  conv.coefficients[slot(Term::input)] = 4e-6;
  conv.coefficients[slot(Term::output)] = 1e-6;
  conv.coefficients[slot(Term::weight)] = 2e-6;
  conv.coefficients[slot(Term::layer)] = 0.05;
  LayerModel fc{.family = ModelFamily::traffic, .granularity = 16};
  fc.coefficients[slot(Term::mac)] = 4e-7;
  fc.coefficients[slot(Term::input)] = 1e-5;
  fc.coefficients[slot(Term::output)] = 2e-4;
  fc.coefficients[slot(Term::layer)] = 0.1;
  const double overhead = 1.5;

  NetworkMeasurementSet data{.file = "networks.csv", .energy_column = "energy_mj"};
  for (int n = 0; n < 300; ++n) {
    Architecture arch{.input = Shape{rng.between(1, 8), rng.between(16, 48), 0}};
    arch.input.width = arch.input.height;
    const std::int64_t convs = rng.between(1, 3);
    for (std::int64_t i = 0; i < convs; ++i) {
      const std::int64_t k = std::array<std::int64_t, 3>{1, 3, 5}[rng.index(3)];
      arch.layers.push_back(ConvLayer{.filters = rng.between(4, 100), .kernel = Size2::square(k),
                                      .stride = Size2::square(rng.between(1, 2)), .padding = Size2::square(k / 2)});
    }
    const std::int64_t fcs = rng.between(0, 2);
    for (std::int64_t i = 0; i < fcs; ++i) arch.layers.push_back(FcLayer{.units = rng.between(5, 100)});
    const NetworkAnalysis net = analyze(arch);
    double energy = overhead;
    for (std::size_t i = 0; i < arch.layers.size(); ++i) {
      const LayerFeatures f = layer_features(arch.layers[i], net.layers[i]);
      energy += (f.kind == LayerKind::fc ? fc : conv).evaluate(f);
    }
    data.rows.push_back(NetworkMeasurement{.arch = arch, .arch_file = "", .energy_mj = energy, .group = std::to_string(n / 3)});
  }

  FitOptions options;
  options.families = {ModelFamily::linear, ModelFamily::traffic};
  const BoardFit fit = fit_network_measurements(data, identity(), options);
  const QuantityModels& e = fit.profile.energy;
  ASSERT_TRUE(e.model(LayerKind::conv) && e.model(LayerKind::fc));
  EXPECT_EQ(e.model(LayerKind::conv)->family, ModelFamily::traffic);
  EXPECT_EQ(e.model(LayerKind::conv)->granularity, 16);
  for (Term t : family_terms(ModelFamily::traffic, LayerKind::conv)) {
    EXPECT_NEAR(e.model(LayerKind::conv)->coefficients[slot(t)], conv.coefficients[slot(t)],
                conv.coefficients[slot(t)] * 1e-5)
        << coefficient_key(Quantity::energy, t);
  }
  for (Term t : family_terms(ModelFamily::traffic, LayerKind::fc)) {
    EXPECT_NEAR(e.model(LayerKind::fc)->coefficients[slot(t)], fc.coefficients[slot(t)], fc.coefficients[slot(t)] * 1e-5)
        << coefficient_key(Quantity::energy, t);
  }
  EXPECT_NEAR(e.overhead, overhead, overhead * 1e-6);

  // The estimator prices a network exactly as the fit modelled it.
  const EnergyEstimator estimator(fit.profile);
  EXPECT_NEAR(estimator.estimate(data.rows[7].arch).energy_mj, data.rows[7].energy_mj, data.rows[7].energy_mj * 1e-6);
}

TEST_F(FitTest, CrossValidationPrefersTheTrueFamilyOverARicherOne) {
  // Noisy linear data: the richer traffic family fits the training points at least as well,
  // but must not win on held-out points by more than noise; the chosen one is the CV minimum.
  LayerModel truth{.family = ModelFamily::linear};
  truth.coefficients[slot(Term::mac)] = 4e-8;
  truth.coefficients[slot(Term::layer)] = 0.01;
  LayerMeasurementSet data{.file = "conv.csv"};
  for (int i = 0; i < 120; ++i) {
    LayerMeasurement m = conv_row(truth);
    m.energy_mj *= 1 + 0.05 * (2 * rng.uniform() - 1);
    data.rows.push_back(m);
  }
  const BoardFit fit = fit_layer_measurements(data, identity());
  const FitSummary& s = fit.profile.energy.fits.front();
  const auto chosen = std::find_if(s.candidates.begin(), s.candidates.end(), [](const auto& c) { return c.chosen; });
  ASSERT_NE(chosen, s.candidates.end());
  for (const CandidateResult& c : s.candidates) EXPECT_LE(chosen->cv.mape_pct, c.cv.mape_pct);
  EXPECT_EQ(s.quality, chosen->cv);
  // 5% uniform noise: about 2.5% mean error, and a band around 1.
  EXPECT_LT(s.quality.mape_pct, 4.0);
  EXPECT_LT(s.quality.band_low, 1.0);
  EXPECT_GT(s.quality.band_high, 1.0);
}

TEST_F(FitTest, LeaveOneFamilyOutFlagsFamiliesWithAKindOfTheirOwn) {
  LayerModel truth{.family = ModelFamily::linear};
  truth.coefficients[slot(Term::mac)] = 4e-8;
  truth.coefficients[slot(Term::layer)] = 0.5;
  NetworkMeasurementSet data{.file = "networks.csv", .energy_column = "energy_mj"};
  for (int n = 0; n < 60; ++n) {
    const bool depthwise = n % 2 == 0;
    Architecture arch{.input = Shape{8, 20 + n % 7, 20 + n % 7}};
    arch.layers.push_back(ConvLayer{.filters = 8 + n, .kernel = Size2::square(3)});
    if (depthwise) arch.layers.push_back(ConvLayer{.filters = 8 + n, .kernel = Size2::square(3), .groups = 8 + n});
    const NetworkAnalysis net = analyze(arch);
    double energy = 0;
    for (std::size_t i = 0; i < arch.layers.size(); ++i) energy += truth.evaluate(layer_features(arch.layers[i], net.layers[i]));
    data.rows.push_back(NetworkMeasurement{.arch = arch, .energy_mj = energy, .group = std::to_string(n),
                                           .family = depthwise ? "dws" : "plain"});
  }
  const BoardFit fit = fit_network_measurements(data, identity());
  const FitSummary& s = fit.profile.energy.fits.front();
  ASSERT_EQ(s.leave_one_family_out.size(), 2u);
  EXPECT_EQ(s.leave_one_family_out[0].name, "dws");
  EXPECT_FALSE(s.leave_one_family_out[0].predictable);
  EXPECT_TRUE(s.leave_one_family_out[1].predictable);
  EXPECT_THAT(s.notes, ::testing::Contains(HasSubstr("family dws has a layer kind no other family has")));
}

TEST_F(FitTest, LatencyIsFittedWhenEveryRowHasIt) {
  LayerModel truth{.family = ModelFamily::linear};
  truth.coefficients[slot(Term::mac)] = 4e-8;
  truth.coefficients[slot(Term::layer)] = 0.01;
  LayerMeasurementSet data{.file = "conv.csv"};
  for (int i = 0; i < 40; ++i) data.rows.push_back(conv_row(truth));
  const BoardFit fit = fit_layer_measurements(data, identity());
  ASSERT_TRUE(fit.profile.latency.has_value());
  EXPECT_NEAR(fit.profile.latency->model(LayerKind::conv)->evaluate(features_of(data.rows[0].input, data.rows[0].layer)),
              *data.rows[0].latency_ms, *data.rows[0].latency_ms * 1e-6);
  EXPECT_EQ(fit.latency.size(), data.rows.size());

  data.rows[5].latency_ms.reset();
  data.lines = std::vector<int>(data.rows.size());
  for (std::size_t i = 0; i < data.lines.size(); ++i) data.lines[i] = static_cast<int>(i) + 2;
  try {
    fit_layer_measurements(data, identity());
    FAIL() << "a row without latency among rows with it was accepted";
  } catch (const InputError& e) {
    EXPECT_THAT(e.what(), HasSubstr("conv.csv:7: latency_ms: is empty while other rows have it"));
  }
}

// ---- degenerate input ----

class FitRejectsTest : public FitTest {
 protected:
  LayerMeasurementSet rows(int n) {
    LayerModel truth{.family = ModelFamily::linear};
    truth.coefficients[slot(Term::mac)] = 4e-8;
    truth.coefficients[slot(Term::layer)] = 0.01;
    LayerMeasurementSet data{.file = "layers.csv"};
    for (int i = 0; i < n; ++i) {
      data.rows.push_back(conv_row(truth));
      data.rows.back().layer = ConvLayer{.filters = 16 + i, .kernel = Size2::square(3), .padding = Size2::square(1)};
      data.lines.push_back(i + 2);
    }
    return data;
  }

  std::string error_of(const LayerMeasurementSet& data, const FitOptions& options = {}) {
    try {
      fit_layer_measurements(data, identity(), options);
    } catch (const InputError& e) {
      return e.what();
    }
    return "(no error)";
  }
};

TEST_F(FitRejectsTest, FewerPointsThanCoefficients) {
  FitOptions options;
  options.families = {ModelFamily::traffic};
  EXPECT_THAT(error_of(rows(3), options),
              HasSubstr("layers.csv: 3 measurements of conv layers cannot fit any candidate model: the smallest has 5 "
                        "coefficients"));
}

TEST_F(FitRejectsTest, ASingleGroup) {
  LayerMeasurementSet data = rows(6);
  for (auto& r : data.rows) r.group = "same";
  EXPECT_THAT(error_of(data), HasSubstr("cross-validation needs measurements of at least 2 different groups of conv layers, got 1"));
}

TEST_F(FitRejectsTest, NotANumber) {
  LayerMeasurementSet data = rows(6);
  data.rows[2].energy_mj = std::numeric_limits<double>::quiet_NaN();
  EXPECT_THAT(error_of(data), HasSubstr("layers.csv:4: energy_mj: must be a finite number, got nan"));
}

TEST_F(FitRejectsTest, NegativeOrZeroEnergies) {
  LayerMeasurementSet data = rows(6);
  data.rows[3].energy_mj = -2;
  EXPECT_THAT(error_of(data), HasSubstr("layers.csv:5: energy_mj: must be > 0 (errors are relative to it), got -2"));
  data.rows[3].energy_mj = 0;
  EXPECT_THAT(error_of(data), HasSubstr("layers.csv:5: energy_mj: must be > 0"));
}

TEST_F(FitRejectsTest, AMissingDynamicEnergyWhenFittingIt) {
  FitOptions options;
  options.layer_energy_column = "dynamic_energy_mj";
  EXPECT_THAT(error_of(rows(6), options),
              HasSubstr("layers.csv:2: dynamic_energy_mj: is empty: every row needs the energy being fitted"));
}

TEST_F(FitRejectsTest, BadOptions) {
  FitOptions options;
  options.folds = 1;
  EXPECT_THAT(error_of(rows(6), options), HasSubstr("bad fit options: folds must be >= 2, got 1"));
  options = {};
  options.granularities = {0};
  EXPECT_THAT(error_of(rows(6), options), HasSubstr("granularity must be >= 1, got 0"));
}

TEST_F(FitRejectsTest, DataWithoutConvLayers) {
  LayerMeasurementSet data{.file = "fc.csv"};
  for (int i = 0; i < 6; ++i) {
    data.rows.push_back(LayerMeasurement{.input = Shape{10 + i, 1, 1}, .layer = FcLayer{.units = 5 + i}, .energy_mj = 1.0 + i});
  }
  EXPECT_THAT(error_of(data), HasSubstr("no conv measurements: a profile needs at least a conv model"));
}

TEST(MeasureQualityTest, ComputesRelativeErrorsAndTheBand) {
  const std::vector<double> measured{100, 100, 100, 100};
  const std::vector<double> predicted{90, 110, 100, 125};
  const Quality q = measure_quality(measured, predicted, 0.5);
  EXPECT_EQ(q.points, 4);
  EXPECT_DOUBLE_EQ(q.mape_pct, 11.25);  // (10 + 10 + 0 + 25) / 4
  EXPECT_DOUBLE_EQ(q.within_10_pct, 75);
  EXPECT_NEAR(q.rmspe_pct, std::sqrt((100 + 100 + 0 + 625) / 4.0), 1e-2);
  EXPECT_GT(q.band_high, 1.0);
  EXPECT_LT(q.band_low, 1.0);
  EXPECT_TRUE(std::isnan(q.r2)) << "measured values without spread: R^2 is undefined, not " << q.r2;
  EXPECT_THAT([&] { measure_quality(measured, std::vector<double>{1.0}, 0.9); },
              ::testing::ThrowsMessage<std::invalid_argument>(
                  ::testing::HasSubstr("needs as many predictions as measurements")));
  // Sums of squares that overflow give no R^2 either, and a zero prediction an unbounded but
  // capped band.
  const Quality huge = measure_quality(std::vector<double>{1e300, 3e300}, std::vector<double>{2e300, 0}, 0.5);
  EXPECT_TRUE(std::isnan(huge.r2));
  EXPECT_EQ(huge.band_high, kMaxBandRatio);
}

}  // namespace
}  // namespace joules
