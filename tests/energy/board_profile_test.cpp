// Board profiles: written and read back equal, every error with its file, line and key, the
// provenance notice, and the committed profiles load.

#include <cmath>
#include <limits>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>

#include "energy/board_profile.hpp"
#include "tests/energy/sample_profile.hpp"
#include "tests/support/temp_dir.hpp"
#include "util/input_error.hpp"

namespace joules {
namespace {

using ::testing::HasSubstr;
using testing::sample_profile;

TEST(BoardProfileTest, RoundTripsThroughYaml) {
  const BoardProfile p = sample_profile();
  const std::string text = to_yaml(p);
  EXPECT_EQ(parse_board_profile(text, "p.yaml"), p);
  EXPECT_EQ(to_yaml(parse_board_profile(text, "p.yaml")), text);
  // A profile without optional sections round-trips too.
  BoardProfile bare = p;
  bare.fit.reset();
  bare.latency.reset();
  bare.energy.fits.clear();
  bare.ranges = {};
  EXPECT_EQ(parse_board_profile(to_yaml(bare), "p.yaml"), bare);
}

TEST(BoardProfileTest, LoadsFromAFile) {
  testing::TempDir dir;
  const std::string path = dir.write("b.yaml", to_yaml(sample_profile()));
  EXPECT_EQ(load_board_profile(path), sample_profile());
  try {
    load_board_profile((dir.path() / "none.yaml").string());
    FAIL();
  } catch (const InputError& e) {
    EXPECT_THAT(e.what(), HasSubstr("none.yaml"));
  }
}

TEST(BoardProfileTest, OnlyMeasuredProfilesGoWithoutANotice) {
  EXPECT_TRUE(is_measured(sample_profile(ProvenanceKind::measured)));
  EXPECT_EQ(provenance_notice(sample_profile(ProvenanceKind::measured)), "");
  EXPECT_FALSE(is_measured(sample_profile(ProvenanceKind::third_party)));
  EXPECT_EQ(provenance_notice(sample_profile(ProvenanceKind::third_party)),
            "profile test-board is third-party data, not measured by joules on this board (cross-validated energy "
            "MAPE 4.5%; source: a test)");
  EXPECT_THAT(provenance_notice(sample_profile(ProvenanceKind::datasheet)), HasSubstr("is a datasheet prior"));
}

struct Edit {
  const char* name;
  const char* from;  // text of the sample profile's YAML to replace
  const char* to;
  const char* expected;
  friend void PrintTo(const Edit& e, std::ostream* os) { *os << e.name; }
};

class BoardProfileErrorTest : public ::testing::TestWithParam<Edit> {};

TEST_P(BoardProfileErrorTest, NamesFileLineAndKey) {
  std::string text = to_yaml(sample_profile());
  const auto at = text.find(GetParam().from);
  ASSERT_NE(at, std::string::npos) << GetParam().from;
  text.replace(at, std::string(GetParam().from).size(), GetParam().to);
  try {
    parse_board_profile(text, "bad.yaml");
    FAIL() << "accepted:\n" << text;
  } catch (const InputError& e) {
    EXPECT_THAT(e.what(), HasSubstr(GetParam().expected));
  }
}

INSTANTIATE_TEST_SUITE_P(
    Profiles, BoardProfileErrorTest,
    ::testing::Values(
        Edit{"Format", "format: 1", "format: 2", "bad.yaml:2: format: unsupported profile format 2 (this joules reads 1)"},
        Edit{"ProvenanceKind", "kind: third-party", "kind: guessed", "bad.yaml:5: provenance.kind:"},
        Edit{"UnknownTopKey", "board: test-board", "board: test-board\ncolour: blue", "bad.yaml:4: colour: unknown key"},
        Edit{"NegativeCoefficient", "mj_per_mac: 5e-08", "mj_per_mac: -5e-08", "energy.models.conv.mj_per_mac: expected a number in [0, 1e+100]"},
        // Coefficients whose estimates could overflow to inf are refused where they are written.
        Edit{"HugeCoefficient", "mj_per_mac: 5e-08", "mj_per_mac: 1e308",
             "energy.models.conv.mj_per_mac: expected a number in [0, 1e+100], got 1e+308"},
        Edit{"HugeOverhead", "overhead_mj: 1.5", "overhead_mj: 1e300", "energy.overhead_mj: expected a number in [0, 1e+100]"},
        Edit{"NanR2", "r2: 0.975", "r2: .nan", "r2: expected a finite number, got '.nan'"},
        Edit{"MissingCoefficient", ", mj_per_layer: 0.125", "", "energy.models.conv: missing required key 'mj_per_layer'"},
        Edit{"ForeignCoefficient", "mj_per_layer: 0.125", "mj_per_layer: 0.125, mj_per_weight: 1",
             "energy.models.conv.mj_per_weight: unknown key for a stairs energy model of conv"},
        Edit{"LatencyUnits", "ms_per_mac: 1e-08", "mj_per_mac: 1e-08", "latency.models.conv.mj_per_mac: unknown key"},
        Edit{"UnknownKind", "    fc: {family: linear", "    deconv: {family: linear", "energy.models.deconv: unknown layer kind"},
        Edit{"NoConvModel", "    conv: {family: stairs", "    depthwise: {family: stairs", "a profile needs at least a conv energy model"},
        Edit{"LinearWithGranularity", "fc: {family: linear", "fc: {family: linear, granularity: 8",
             "energy.models.fc.granularity: a linear model has no granularity"},
        Edit{"BadFamily", "family: stairs", "family: cubic", "energy.models.conv.family:"},
        Edit{"BadRange", "kernel: [1, 7]", "kernel: [7, 1]", "ranges.conv.kernel[1]: expected a number in [7, inf]"},
        Edit{"RangeOfAnotherKind", "units: [10, 10]", "filters: [10, 10]", "ranges.fc.filters: not a recorded size of a fc layer"},
        Edit{"BandOrder", "band: [0.9, 1.2]", "band: [1.2, 0.9]", "band[1]: expected a number in [1.2, 1e+100]"}),
    [](const auto& p) { return std::string(p.param.name); });

TEST(BoardProfileTest, EstimatedEnergyAndCalibrationsRoundTripAndAreAnnounced) {
  BoardProfile p = sample_profile(ProvenanceKind::measured);
  p.provenance.estimate = true;
  p.provenance.sensor = "timer-estimate: elapsed time x 10000 mW";
  p.provenance.calibrations = {RailCalibration{.rail = "VDD_IN", .gain = 1.25, .offset_mw = -31.5, .points = 4,
                                               .r_squared = 0.998, .rmse_mw = 12.5, .max_abs_error_mw = 20,
                                               .source = "cal.csv"}};
  const std::string text = to_yaml(p);
  EXPECT_THAT(text, HasSubstr("estimate: true"));
  EXPECT_THAT(text, HasSubstr("{rail: VDD_IN, gain: 1.25, offset_mw: -31.5, points: 4"));
  EXPECT_EQ(parse_board_profile(text, "p.yaml"), p);
  // A measured profile whose energy is the timer estimate says so, whatever command uses it.
  EXPECT_TRUE(is_measured(p));
  EXPECT_EQ(provenance_notice(p),
            "profile test-board's energy figures are an ESTIMATE (the timer estimate: measured time x a configured "
            "power), not measured energy; its latency is measured");
  // Profiles without them are written as before (no new keys).
  EXPECT_THAT(to_yaml(sample_profile()), ::testing::Not(HasSubstr("estimate")));

  const BoardIdentity id{.board = "cpu", .provenance = p.provenance};
  testing::TempDir dir;
  const std::string path = dir.write("provenance.yaml", to_yaml(id));
  const BoardIdentity back = load_board_identity(path);
  EXPECT_EQ(back.board, "cpu");
  EXPECT_EQ(back.provenance, p.provenance);

  std::string bad = text;
  bad.replace(bad.find("gain: 1.25"), 10, "gain: 0");
  try {
    parse_board_profile(bad, "bad.yaml");
    FAIL();
  } catch (const InputError& e) {
    EXPECT_THAT(e.what(), HasSubstr("provenance.calibrations[0].gain: a calibration gain must be > 0"));
  }
}

TEST(BoardProfileTest, ReadsAProvenanceFile) {
  testing::TempDir dir;
  const std::string path = dir.write("p.yaml", "board: nano\nprovenance: {kind: measured, rails: [VDD_GPU]}\n");
  const BoardIdentity id = load_board_identity(path);
  EXPECT_EQ(id.board, "nano");
  EXPECT_EQ(id.provenance.kind, ProvenanceKind::measured);
  EXPECT_EQ(id.provenance.rails, std::vector<std::string>{"VDD_GPU"});
  const std::string bad = dir.write("q.yaml", "board: nano\nprovenance: {kind: measured}\nenergy: 3\n");
  try {
    load_board_identity(bad);
    FAIL();
  } catch (const InputError& e) {
    EXPECT_THAT(e.what(), HasSubstr("q.yaml:3: energy: unknown key"));
  }
}

TEST(BoardProfileTest, CommittedProfilesLoadAndSayWhereTheyComeFrom) {
  for (const char* name : {"jetson-nano.yaml", "jetson-tx2.yaml"}) {
    const std::string path = std::string(JOULES_SOURCE_DIR) + "/profiles/" + name;
    const BoardProfile p = load_board_profile(path);
    EXPECT_EQ(p.provenance.kind, ProvenanceKind::third_party) << name;
    EXPECT_FALSE(p.provenance.source.empty()) << name;
    ASSERT_FALSE(p.energy.fits.empty()) << name;
    EXPECT_GT(p.energy.fits.front().quality.points, 1000) << name;
  }
  const BoardProfile nano = load_board_profile(std::string(JOULES_SOURCE_DIR) + "/profiles/jetson-nano.yaml");
  EXPECT_EQ(nano.energy.target, "gpu_energy_mj");
  EXPECT_TRUE(nano.latency.has_value());
  EXPECT_LE(nano.energy.fits.front().quality.mape_pct, 10.0);  // the goal for this data
}

// What the writer writes, the reader reads: an undefined r2 is written null and read back NaN;
// a figure the reader would refuse is never written.
TEST(BoardProfileTest, TheWriterWritesOnlyWhatTheReaderReads) {
  BoardProfile p = sample_profile();
  p.energy.fits.front().quality.r2 = std::numeric_limits<double>::quiet_NaN();
  p.energy.overhead = kMaxCoefficient;
  p.energy.fits.front().quality.band_high = kMaxBandRatio;
  p.energy.layers[static_cast<std::size_t>(LayerKind::fc)]->coefficients[static_cast<std::size_t>(Term::mac)] = 5e-324;
  const std::string text = to_yaml(p);
  EXPECT_THAT(text, HasSubstr("r2: null"));
  const BoardProfile back = parse_board_profile(text, "written.yaml");
  EXPECT_TRUE(std::isnan(back.energy.fits.front().quality.r2));
  EXPECT_EQ(back.energy.overhead, kMaxCoefficient);
  EXPECT_EQ(back.energy.fits.front().quality.band_high, kMaxBandRatio);
  EXPECT_EQ(back.energy.model(LayerKind::fc)->coefficients[static_cast<std::size_t>(Term::mac)], 5e-324);

  for (const double bad : {std::numeric_limits<double>::infinity(), std::numeric_limits<double>::quiet_NaN(), 1e308}) {
    BoardProfile q = sample_profile();
    q.energy.layers[static_cast<std::size_t>(LayerKind::conv)]->coefficients[static_cast<std::size_t>(Term::mac)] = bad;
    EXPECT_THAT([&] { to_yaml(q); },
                ::testing::ThrowsMessage<std::invalid_argument>(HasSubstr(
                    "board profile test-board cannot be written: energy.models.conv.mj_per_mac: expected ")))
        << bad;
  }
  BoardProfile q = sample_profile();
  q.energy.fits.front().quality.mape_pct = std::numeric_limits<double>::infinity();
  EXPECT_THAT([&] { to_yaml(q); }, ::testing::ThrowsMessage<std::invalid_argument>(HasSubstr("quality.mape_pct")));
}

}  // namespace
}  // namespace joules
