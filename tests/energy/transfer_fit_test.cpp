// Transfer fitting (fit_network_transfer): a new board's profile from a few whole-network
// measurements and a prior profile, keeping the prior's families, granularities and the ratios
// between its terms. Synthetic boards that are the prior with its terms rescaled are recovered
// exactly; on the third-party Jetson Nano data (skipped when absent) 10 networks and the TX2
// prior predict the other networks within the bound, and better than a fit from scratch.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <regex>

#include <fmt/format.h>

#include "energy/estimator.hpp"
#include "energy/fit.hpp"
#include "tests/energy/jetson_nano_data.hpp"
#include "util/csv.hpp"
#include "util/input_error.hpp"
#include "util/random.hpp"

namespace joules {
namespace {

using ::testing::HasSubstr;

constexpr std::size_t slot(Term t) { return static_cast<std::size_t>(t); }
constexpr std::size_t slot(LayerKind k) { return static_cast<std::size_t>(k); }

BoardIdentity identity() {
  return BoardIdentity{.board = "new-board", .provenance = Provenance{.kind = ProvenanceKind::measured, .source = "test"}};
}

// A per-layer prior with a conv traffic model only (as the shipped TX2 profile).
BoardProfile prior_profile() {
  BoardProfile p;
  p.board = "prior-board";
  p.provenance = Provenance{.kind = ProvenanceKind::measured, .source = "test"};
  LayerModel conv{.family = ModelFamily::traffic, .granularity = 16};
  conv.coefficients[slot(Term::mac_1x1)] = 3e-8;
  conv.coefficients[slot(Term::mac_3x3s1)] = 3.2e-8;
  conv.coefficients[slot(Term::mac_kxk)] = 4.4e-8;
  conv.coefficients[slot(Term::input)] = 3e-5;
  conv.coefficients[slot(Term::output)] = 8e-6;
  conv.coefficients[slot(Term::weight)] = 5e-7;
  conv.coefficients[slot(Term::layer)] = 0.6;
  p.energy.layers[slot(LayerKind::conv)] = conv;
  p.energy.target = "energy_mj";
  return p;
}

// The prior with compute, memory and per-layer terms scaled, and an overhead: the new board.
BoardProfile rescaled(const BoardProfile& prior, double compute, double memory, double layer, double overhead) {
  BoardProfile p = prior;
  auto& c = p.energy.layers[slot(LayerKind::conv)]->coefficients;
  for (Term t : {Term::mac_1x1, Term::mac_3x3s1, Term::mac_kxk}) c[slot(t)] *= compute;
  for (Term t : {Term::input, Term::output, Term::weight}) c[slot(t)] *= memory;
  c[slot(Term::layer)] *= layer;
  p.energy.overhead = overhead;
  return p;
}

Architecture random_network(Rng& rng, int index) {
  const std::int64_t kernels[] = {1, 3, 5};
  const std::int64_t width = rng.between(16, 64);
  Architecture a{.name = "net" + std::to_string(index), .input = Shape{3, width, width}};
  const std::int64_t layers = rng.between(1, 6);
  for (std::int64_t i = 0; i < layers; ++i) {
    const std::int64_t k = kernels[rng.index(3)];
    const std::int64_t filters = rng.between(8, 200);
    a.layers.push_back(ConvLayer{.filters = filters, .kernel = Size2::square(k), .stride = Size2::square(rng.between(1, 2)),
                                 .padding = Size2::square(k / 2)});
    if (rng.index(3) == 0) {
      a.layers.push_back(ConvLayer{.filters = filters, .kernel = Size2::square(3), .padding = Size2::square(1), .groups = filters});
    }
  }
  a.layers.push_back(FcLayer{.units = rng.between(10, 100), .activation = Activation::none});
  return a;
}

// Networks measured on `board` (its estimates are the measurements).
NetworkMeasurementSet measured_on(const BoardProfile& board, Rng& rng, int count, int first = 0) {
  const EnergyEstimator estimator(board);
  NetworkMeasurementSet set{.file = "networks.csv", .energy_column = "energy_mj"};
  for (int i = first; i < first + count; ++i) {
    NetworkMeasurement m{.arch = random_network(rng, i), .arch_file = "net" + std::to_string(i) + ".yaml"};
    m.energy_mj = estimator.estimate(m.arch).energy_mj;
    set.rows.push_back(m);
    set.lines.push_back(i + 2);
  }
  return set;
}

const CandidateResult& chosen(const FitSummary& s) {
  return *std::find_if(s.candidates.begin(), s.candidates.end(), [](const CandidateResult& c) { return c.chosen; });
}

TEST(TransferFitTest, RecoversABoardThatIsThePriorRescaledPerTerm) {
  const BoardProfile prior = prior_profile();
  const BoardProfile truth = rescaled(prior, 2.0, 0.5, 0.05, 0.7);
  Rng rng(7);
  const NetworkMeasurementSet train = measured_on(truth, rng, 30);
  const NetworkMeasurementSet test = measured_on(truth, rng, 40, 100);
  const BoardFit fit = fit_network_transfer(train, prior, identity());

  // Every stored term is the prior's times its group's scale: the ratios are the prior's.
  const auto& conv = fit.profile.energy.model(LayerKind::conv);
  ASSERT_TRUE(conv);
  EXPECT_EQ(conv->family, ModelFamily::traffic);
  EXPECT_EQ(conv->granularity, 16);
  const auto& p = prior.energy.model(LayerKind::conv)->coefficients;
  for (Term t : {Term::mac_1x1, Term::mac_3x3s1, Term::mac_kxk}) EXPECT_NEAR(conv->coefficients[slot(t)] / p[slot(t)], 2.0, 1e-6);
  for (Term t : {Term::input, Term::output, Term::weight}) EXPECT_NEAR(conv->coefficients[slot(t)] / p[slot(t)], 0.5, 1e-6);
  EXPECT_NEAR(conv->coefficients[slot(Term::layer)] / p[slot(Term::layer)], 0.05, 1e-6);
  EXPECT_NEAR(fit.profile.energy.overhead, 0.7, 1e-6);
  const std::string set = chosen(fit.profile.energy.fits.front()).scales;
  EXPECT_TRUE(set == "per-term" || set == "per-class") << set;

  // The fc layers the prior priced as 1x1 convs are still priced so (a traffic conv model has
  // no exact fc equivalent); the depthwise convs get a model of their own, the conv's rescaled.
  EXPECT_FALSE(fit.profile.energy.model(LayerKind::fc));
  ASSERT_TRUE(fit.profile.energy.model(LayerKind::depthwise));
  const NetworkValidation v = validate_on_networks(fit.profile, test);
  EXPECT_EQ(v.energy.points, 40);
  EXPECT_LT(v.energy.mape_pct, 0.01);
  EXPECT_EQ(fit.profile.fit->prior, "prior-board");
  // The candidates are named scale sets, recorded in the profile and read back.
  const BoardProfile reread = parse_board_profile(to_yaml(fit.profile), "p.yaml");
  EXPECT_EQ(reread.energy.fits.front().candidates, fit.profile.energy.fits.front().candidates);
  EXPECT_EQ(reread.fit->prior, "prior-board");
}

TEST(TransferFitTest, AUniformlyDearerBoardIsOneScale) {
  const BoardProfile prior = prior_profile();
  const BoardProfile truth = rescaled(prior, 3.0, 3.0, 3.0, 0.0);
  Rng rng(11);
  const BoardFit fit = fit_network_transfer(measured_on(truth, rng, 12), prior, identity());
  const auto& conv = fit.profile.energy.model(LayerKind::conv);
  const auto& p = prior.energy.model(LayerKind::conv)->coefficients;
  for (std::size_t t = 0; t < kTermCount; ++t) {
    if (p[t] != 0) {
      EXPECT_NEAR(conv->coefficients[t] / p[t], 3.0, 1e-6) << term_suffix(static_cast<Term>(t));
    }
  }
  EXPECT_LT(fit.profile.energy.fits.front().quality.mape_pct, 0.01);
}

TEST(TransferFitTest, CandidatesWithMoreScalesThanNetworksAreSkipped) {
  const BoardProfile prior = prior_profile();
  Rng rng(3);
  const BoardFit fit = fit_network_transfer(measured_on(rescaled(prior, 2, 1, 1, 0.1), rng, 5), prior, identity());
  const FitSummary& s = fit.profile.energy.fits.front();
  for (const CandidateResult& c : s.candidates) EXPECT_NE(c.scales, "per-class");
  EXPECT_THAT(::testing::PrintToString(s.notes), HasSubstr("skipped candidate scales per-class"));
}

// A TensorRT-like board: 1x1 convolutions dearer than the prior says against the other
// kernels, and depthwise layers scaled apart from the conv layers, term by term. The
// per-term-1x1-dw set recovers it exactly; per-term, which ties them together, cannot.
TEST(TransferFitTest, DepthwiseLayersAndOneByOneConvolutionsScaleApart) {
  const BoardProfile prior = prior_profile();
  BoardProfile truth = rescaled(prior, 2.0, 0.5, 0.2, 0.3);
  LayerModel& conv = *truth.energy.layers[slot(LayerKind::conv)];
  conv.coefficients[slot(Term::mac_1x1)] *= 3.0;  // 1x1 compute: 6x the prior's, the rest 2x
  LayerModel dw = *prior.energy.model(LayerKind::conv);
  for (Term t : {Term::mac_1x1, Term::mac_3x3s1, Term::mac_kxk}) dw.coefficients[slot(t)] *= 0.25;
  for (Term t : {Term::input, Term::output}) dw.coefficients[slot(t)] *= 4.0;
  dw.coefficients[slot(Term::weight)] *= 0.5;
  dw.coefficients[slot(Term::layer)] *= 0.05;
  truth.energy.layers[slot(LayerKind::depthwise)] = dw;
  Rng rng(13);
  const NetworkMeasurementSet train = measured_on(truth, rng, 40);
  const NetworkMeasurementSet test = measured_on(truth, rng, 40, 100);

  FitOptions split, tied;
  split.transfer_scales = {"per-term-1x1-dw"};
  tied.transfer_scales = {"per-term"};
  const BoardFit fit = fit_network_transfer(train, prior, identity(), split);
  const auto& p = prior.energy.model(LayerKind::conv)->coefficients;
  const auto& c = fit.profile.energy.model(LayerKind::conv)->coefficients;
  EXPECT_NEAR(c[slot(Term::mac_1x1)] / p[slot(Term::mac_1x1)], 6.0, 1e-4);
  EXPECT_NEAR(c[slot(Term::mac_3x3s1)] / p[slot(Term::mac_3x3s1)], 2.0, 1e-4);
  ASSERT_TRUE(fit.profile.energy.model(LayerKind::depthwise));
  const auto& d = fit.profile.energy.model(LayerKind::depthwise)->coefficients;
  EXPECT_NEAR(d[slot(Term::mac_3x3s1)] / p[slot(Term::mac_3x3s1)], 0.25, 1e-4);
  EXPECT_NEAR(d[slot(Term::input)] / p[slot(Term::input)], 4.0, 1e-4);
  EXPECT_NEAR(d[slot(Term::layer)] / p[slot(Term::layer)], 0.05, 1e-4);
  EXPECT_LT(validate_on_networks(fit.profile, test).energy.mape_pct, 0.01);
  EXPECT_GT(validate_on_networks(fit_network_transfer(train, prior, identity(), tied).profile, test).energy.mape_pct, 1.0);
}

// Transfer fits minimise the absolute relative error: one network measured three times too
// dear (a botched run) leaves the scale of the others where it is; least squares would move
// it by several percent.
TEST(TransferFitTest, OneBadMeasurementDoesNotDragTheScales) {
  const BoardProfile prior = prior_profile();
  const BoardProfile truth = rescaled(prior, 3.0, 3.0, 3.0, 0.0);
  Rng rng(11);
  NetworkMeasurementSet train = measured_on(truth, rng, 12);
  train.rows[4].energy_mj *= 3.0;
  FitOptions one;
  one.transfer_scales = {"one"};
  const BoardFit fit = fit_network_transfer(train, prior, identity(), one);
  const auto& c = fit.profile.energy.model(LayerKind::conv)->coefficients;
  const auto& p = prior.energy.model(LayerKind::conv)->coefficients;
  EXPECT_NEAR(c[slot(Term::mac_3x3s1)] / p[slot(Term::mac_3x3s1)], 3.0, 3e-3);
  EXPECT_LT(validate_on_networks(fit.profile, measured_on(truth, rng, 20, 100)).energy.mape_pct, 0.1);
}

TEST(TransferFitTest, ALatencyThePriorLacksIsFittedFromScratchAndSaidSo) {
  const BoardProfile prior = prior_profile();
  Rng rng(5);
  NetworkMeasurementSet data = measured_on(rescaled(prior, 2, 1, 1, 0.1), rng, 30);
  data.latency_column = "latency_ms";
  for (NetworkMeasurement& m : data.rows) m.latency_ms = 3 * m.energy_mj;
  const BoardFit fit = fit_network_transfer(data, prior, identity());
  ASSERT_TRUE(fit.profile.latency);
  EXPECT_THAT(::testing::PrintToString(fit.profile.latency->fits.front().notes), HasSubstr("fitted from scratch"));
  EXPECT_TRUE(chosen(fit.profile.latency->fits.front()).scales.empty());
}

// Real data: 10 networks drawn (seeded) from the Nano set, the shipped TX2 profile as prior,
// MAPE on every other network, median over 5 seeds: the transfer fit (scale set chosen by
// cross-validation) beats the fit from scratch on the same rows. The goal (<= 10%) is
// not asserted: it is not met on every set of draws (experiments/transfer-fit/results.md).
TEST(TransferFitDataTest, TenNanoNetworksWithTheTx2PriorPredictTheOthers) {
  if (!std::filesystem::exists(testing_nano::kData)) {
    GTEST_SKIP() << testing_nano::kData << " is absent (third-party data, not in the repository)";
  }
  const CsvTable table = CsvTable::read_file(testing_nano::kData);
  const std::size_t name = table.column("model_name"), energy = table.column("gpu_energy_mj"),
                    family = table.column("family");
  std::vector<NetworkMeasurement> all;
  for (std::size_t r = 0; r < table.rows(); ++r) {
    const std::string n = table.text(r, name);
    all.push_back(NetworkMeasurement{.arch = testing_nano::rebuild(n), .arch_file = n, .energy_mj = table.number(r, energy),
                                     .group = std::regex_replace(n, std::regex("_W[0-9]+"), ""),
                                     .family = table.text(r, family)});
  }
  const BoardProfile prior = load_board_profile(std::string(JOULES_SOURCE_DIR) + "/profiles/jetson-tx2.yaml");
  FitOptions per_class;
  per_class.transfer_scales = {"per-class"};
  std::vector<double> chosen_by_cv, fixed, scratch;
  for (std::uint64_t seed = 1; seed <= 5; ++seed) {
    std::vector<std::size_t> order(all.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    Rng rng(seed);
    for (std::size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[rng.index(i)]);
    NetworkMeasurementSet train{.file = "train.csv", .energy_column = "gpu_energy_mj"};
    NetworkMeasurementSet rest{.file = "rest.csv", .energy_column = "gpu_energy_mj"};
    for (std::size_t i = 0; i < order.size(); ++i) (i < 10 ? train : rest).rows.push_back(all[order[i]]);
    chosen_by_cv.push_back(validate_on_networks(fit_network_transfer(train, prior, identity()).profile, rest).energy.mape_pct);
    fixed.push_back(validate_on_networks(fit_network_transfer(train, prior, identity(), per_class).profile, rest).energy.mape_pct);
    scratch.push_back(validate_on_networks(fit_network_measurements(train, identity()).profile, rest).energy.mape_pct);
  }
  for (auto* v : {&chosen_by_cv, &fixed, &scratch}) std::sort(v->begin(), v->end());
  EXPECT_LT(chosen_by_cv[2], scratch[2]) << ::testing::PrintToString(chosen_by_cv) << " vs "
                                         << ::testing::PrintToString(scratch);
  // Every fit is a usable estimate of unseen networks (per-class: no scale left at 0 by a
  // class the draw lacks).
  EXPECT_LT(fixed[4], 50.0) << ::testing::PrintToString(fixed);
}

}  // namespace
}  // namespace joules
