// Profiling runs end to end on a simulated device driven by a known stairs model: profile ->
// fit recovers the model; runs stopped, crashed or torn and run again measure every point
// exactly once; run directories of another setup are refused before anything is written.

#include "energy/profiling/profile_run.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <map>
#include <sstream>

#include "energy/fit.hpp"
#include "energy/measurements.hpp"
#include "energy/profiling/timer_estimate.hpp"
#include "space/analysis.hpp"
#include "tests/energy/profiling/simulated_sensor.hpp"
#include "tests/support/temp_dir.hpp"
#include "util/input_error.hpp"

namespace joules::profiling {
namespace {

using ::testing::HasSubstr;
using std::chrono::microseconds;

std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// The simulated device's truth: dynamic energy per inference of a stairs model, E = a x MACs x
// g ceil(F / g) / F + b, the filters F padded to the granularity g (the paper's conv model).
struct StairsDevice {
  std::int64_t granularity = 16;
  double mj_per_mac = 2e-7;
  double mj_per_layer = 0.002;
  double latency_s = 50e-6;
  double noise = 0.02;

  double energy_mj(const GridPoint& p) const {
    const double macs = static_cast<double>(analyze(Architecture{.input = p.input, .layers = {p.layer}}).macs);
    const auto filters = static_cast<double>(std::get<ConvLayer>(p.layer).filters);
    const double padded = std::ceil(filters / static_cast<double>(granularity)) * static_cast<double>(granularity);
    return mj_per_mac * macs * padded / filters + mj_per_layer;
  }
};

class ProfileRunTest : public ::testing::Test {
 protected:
  ProfileRunTest() : sensor_(/*idle_power_mw=*/2000, microseconds(20)) {
    options_.board = "sim";
    options_.out_dir = dir_.path() / "run";
    options_.protocol.warmup_s = 0;
    options_.protocol.warmup_inferences = 1;
    options_.protocol.min_window_s = 0.002;
    options_.protocol.repeats = 3;
    options_.protocol.cooldown_s = 0;
    options_.device = "simulated";
    options_.software = "test";
  }

  WorkloadFactory factory(std::uint64_t seed = 1) {
    auto seeds = std::make_shared<std::uint64_t>(seed);
    return [this, seeds](const GridPoint& p) {
      return testing::simulated_workload(sensor_, device_.energy_mj(p), device_.latency_s, device_.noise, (*seeds)++);
    };
  }

  std::vector<std::string> csv_lines() const {
    std::vector<std::string> lines;
    std::istringstream in(read_text(options_.out_dir / "measurements.csv"));
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
  }

  // Every grid point's key appears in the CSV exactly once, and nothing else does.
  void expect_each_point_once(const ProfileGrid& grid) const {
    const LayerMeasurementSet set = read_layer_measurements((options_.out_dir / "measurements.csv").string());
    std::map<std::string, int> count;
    for (const auto& m : set.rows) ++count[point_key(m.input, m.layer)];
    EXPECT_EQ(count.size(), grid.points.size());
    for (const auto& p : grid.points) EXPECT_EQ(count[point_key(p.input, p.layer)], 1) << describe(p.layer);
  }

  testing::TempDir dir_;
  testing::SimulatedSensor sensor_;
  StairsDevice device_;
  ProfileRunOptions options_;
};

const char* const kSmallGrid = R"(conv:
  - {input_size: 8, in_channels: 4, filters: {from: 2, to: 24, step: 2}, kernel: 3}
)";

TEST_F(ProfileRunTest, EndToEndProfileThenFitRecoversTheStairsModel) {
  const ProfileGrid grid = parse_profile_grid(R"(conv:
  - name: fine
    input_size: 8
    in_channels: 8
    filters: {from: 1, to: 64}
    kernel: 3
    padding: same
  - name: coarse
    input_size: 6
    in_channels: 16
    filters: {from: 2, to: 62, step: 4}
    kernel: 3
)",
                                              "grid.yaml");
  const ProfileRunResult run = run_profile(grid, sensor_, factory(), options_);
  EXPECT_EQ(run.measured, grid.points.size());
  expect_each_point_once(grid);

  const LayerMeasurementSet data = read_layer_measurements(run.csv.string());
  FitOptions fit_options;
  fit_options.families = {ModelFamily::stairs};
  fit_options.layer_energy_column = "dynamic_energy_mj";
  const BoardFit fit = fit_layer_measurements(data, load_board_identity(run.provenance.string()), fit_options);
  const auto& conv = fit.profile.energy.model(LayerKind::conv);
  ASSERT_TRUE(conv.has_value());
  EXPECT_EQ(conv->granularity, device_.granularity);
  const double slope = conv->coefficients[static_cast<std::size_t>(Term::mac)];
  EXPECT_NEAR(slope / device_.mj_per_mac, 1.0, 0.03);
  EXPECT_EQ(fit.profile.provenance.kind, ProvenanceKind::measured);
  EXPECT_FALSE(fit.profile.provenance.estimate);
}

TEST_F(ProfileRunTest, AStoppedRunResumesAndMeasuresEveryPointOnce) {
  const ProfileGrid grid = parse_profile_grid(kSmallGrid, "grid.yaml");
  std::atomic<bool> stop{false};
  ProfileRunHooks hooks{.stop = &stop, .on_point = [&](const PointProgress& p) {
                          if (p.done == 4) stop = true;
                        }};
  const ProfileRunResult first = run_profile(grid, sensor_, factory(), options_, hooks);
  EXPECT_TRUE(first.stopped);
  EXPECT_EQ(first.measured, 4u);
  EXPECT_EQ(csv_lines().size(), 1u + 4);

  const ProfileRunResult second = run_profile(grid, sensor_, factory(), options_);
  EXPECT_FALSE(second.stopped);
  EXPECT_EQ(second.already_measured, 4u);
  EXPECT_EQ(second.measured, grid.points.size() - 4);
  expect_each_point_once(grid);
}

TEST_F(ProfileRunTest, ACrashMidGridLosesNoRowAndTheRerunFinishes) {
  const ProfileGrid grid = parse_profile_grid(kSmallGrid, "grid.yaml");
  int built = 0;
  const WorkloadFactory normal = factory();
  const WorkloadFactory crashing = [&](const GridPoint& p) {
    if (++built == 6) throw std::runtime_error("device lost");
    return normal(p);
  };
  EXPECT_THAT([&] { run_profile(grid, sensor_, crashing, options_); },
              ::testing::ThrowsMessage<std::runtime_error>(HasSubstr("device lost")));
  EXPECT_EQ(csv_lines().size(), 1u + 5);
  const ProfileRunResult rerun = run_profile(grid, sensor_, factory(), options_);
  EXPECT_EQ(rerun.already_measured, 5u);
  expect_each_point_once(grid);
}

TEST_F(ProfileRunTest, ATornLastLineIsDroppedAndItsPointMeasuredAgain) {
  const ProfileGrid grid = parse_profile_grid(kSmallGrid, "grid.yaml");
  run_profile(grid, sensor_, factory(), options_);
  // A kill in the middle of the last append: half a line, no newline.
  std::string text = read_text(options_.out_dir / "measurements.csv");
  text.pop_back();
  const auto last = text.rfind('\n') + 1;
  const std::size_t torn = (text.size() - last) / 2;
  text.resize(last + torn);
  std::ofstream(options_.out_dir / "measurements.csv", std::ios::binary | std::ios::trunc) << text;

  const ProfileRunResult rerun = run_profile(grid, sensor_, factory(), options_);
  EXPECT_EQ(rerun.torn_bytes_dropped, torn);
  EXPECT_EQ(rerun.measured, 1u);
  expect_each_point_once(grid);
  EXPECT_EQ(read_text(options_.out_dir / "measurements.csv").back(), '\n');
}

TEST_F(ProfileRunTest, ARunDirectoryOfAnotherSetupIsRefusedBeforeAnythingIsWritten) {
  const ProfileGrid grid = parse_profile_grid(kSmallGrid, "grid.yaml");
  std::atomic<bool> stop{true};  // writes the provenance and the header, measures nothing
  run_profile(grid, sensor_, factory(), options_, {.stop = &stop});
  const std::string csv = read_text(options_.out_dir / "measurements.csv");
  const std::string provenance = read_text(options_.out_dir / "provenance.yaml");
  EXPECT_EQ(csv, profile_csv_header() + "\n");

  ProfileRunOptions other = options_;
  other.protocol.repeats = 4;
  try {
    run_profile(grid, sensor_, factory(), other);
    FAIL() << "accepted";
  } catch (const InputError& e) {
    EXPECT_THAT(e.what(), HasSubstr("provenance.yaml:11: provenance.notes: the measurements here were taken with"));
    EXPECT_THAT(e.what(), HasSubstr("profile into another --out directory"));
  }
  other = options_;
  other.board = "other";
  EXPECT_THAT([&] { run_profile(grid, sensor_, factory(), other); },
              ::testing::ThrowsMessage<InputError>(HasSubstr("board: the measurements here were taken with 'sim', "
                                                             "this run would use 'other'")));
  TimerEstimateSensor timer;
  try {
    run_profile(grid, timer, factory(), options_);
    FAIL() << "accepted";
  } catch (const InputError& e) {
    EXPECT_THAT(e.what(), HasSubstr("provenance.sensor:"));
  }
  EXPECT_EQ(read_text(options_.out_dir / "measurements.csv"), csv);
  EXPECT_EQ(read_text(options_.out_dir / "provenance.yaml"), provenance);

  // A CSV of another format, or one without its provenance.
  std::ofstream(options_.out_dir / "measurements.csv", std::ios::trunc) << "layer,energy_mj\n";
  try {
    run_profile(grid, sensor_, factory(), options_);
    FAIL() << "accepted";
  } catch (const InputError& e) {
    EXPECT_THAT(e.what(), HasSubstr("measurements.csv:1: header: not the header of a joules profile CSV"));
  }
  std::filesystem::remove(options_.out_dir / "provenance.yaml");
  try {
    run_profile(grid, sensor_, factory(), options_);
    FAIL() << "accepted";
  } catch (const InputError& e) {
    EXPECT_THAT(e.what(), HasSubstr("measurements.csv: exists without provenance.yaml"));
  }
  EXPECT_FALSE(std::filesystem::exists(options_.out_dir / "provenance.yaml"));
}

TEST_F(ProfileRunTest, EveryRowAndTheProvenanceSayHowItWasMeasured) {
  const ProfileGrid grid = parse_profile_grid(kSmallGrid, "grid.yaml");
  options_.threads = 2;
  options_.sampler.calibrations = {RailCalibration{.rail = "sim", .gain = 2.0, .points = 2, .source = "cal.csv"}};
  const ProfileRunResult run = run_profile(grid, sensor_, factory(), options_);
  const Provenance& p = run.identity.provenance;
  EXPECT_EQ(p.kind, ProvenanceKind::measured);
  EXPECT_THAT(p.sensor, HasSubstr("rapl: simulated device (test); sampled every 1 ms"));
  EXPECT_EQ(p.rails, std::vector<std::string>{"sim"});
  EXPECT_EQ(p.device, "simulated; 2 intra-op threads");
  EXPECT_THAT(p.notes, HasSubstr("3 windows of at least 0.002 s"));
  EXPECT_THAT(p.notes, HasSubstr("idle power over 0.002 s right before each point"));
  EXPECT_FALSE(p.estimate);
  EXPECT_EQ(p.calibrations, options_.sampler.calibrations);
  EXPECT_EQ(load_board_identity(run.provenance.string()).provenance, p);

  const std::vector<std::string> lines = csv_lines();
  EXPECT_EQ(lines[0], profile_csv_header());
  EXPECT_THAT(lines[1], HasSubstr(",false,rapl,false,sim,sim: 2 x internal +0 mW,simulated; 2 intra-op threads,2,test,sim,"));
  // The calibration doubles every reading, so the dynamic energy is twice the device's. Within
  // 25%, which still tells 2x from 1x: the idle power subtracted over 2 ms windows moves by
  // ~11% on a loaded machine (seen with both cores busy); the protocol tests check accuracy.
  const LayerMeasurementSet data = read_layer_measurements(run.csv.string());
  for (std::size_t i = 0; i < data.rows.size(); ++i) {
    const GridPoint point{.input = data.rows[i].input, .layer = data.rows[i].layer};
    EXPECT_NEAR(*data.rows[i].dynamic_energy_mj / (2 * device_.energy_mj(point)), 1.0, 0.25) << lines[i + 1];
    // 3 windows, of which at most (3 - 1) / 2 rejected.
    EXPECT_GE(data.rows[i].repeats, 2);
    EXPECT_LE(data.rows[i].repeats, 3);
  }
}

TEST_F(ProfileRunTest, TheTimerEstimateIsLabelledInTheRowsAndTheProvenance) {
  const ProfileGrid grid = parse_profile_grid("fc:\n  - {inputs: 8, outputs: [2, 4, 6]}\n", "grid.yaml");
  TimerEstimateSensor timer({.power_mw = 4000});
  const WorkloadFactory sleeping = [](const GridPoint&) -> Workload {
    return [](std::int64_t n) { std::this_thread::sleep_for(std::chrono::duration<double>(n * 100e-6)); };
  };
  const ProfileRunResult run = run_profile(grid, timer, sleeping, options_);
  EXPECT_TRUE(run.identity.provenance.estimate);
  EXPECT_THAT(run.identity.provenance.sensor, HasSubstr("timer-estimate: ESTIMATE, not a measurement"));
  EXPECT_THAT(run.identity.provenance.notes, HasSubstr("ENERGY IS AN ESTIMATE"));
  EXPECT_THAT(run.identity.provenance.notes, HasSubstr("no idle measurement"));
  const std::vector<std::string> lines = csv_lines();
  ASSERT_EQ(lines.size(), 4u);
  for (std::size_t i = 1; i < lines.size(); ++i) EXPECT_THAT(lines[i], HasSubstr(",timer-estimate,true,estimate,"));
  for (const auto& m : read_layer_measurements(run.csv.string()).rows) {
    EXPECT_FALSE(m.dynamic_energy_mj.has_value());
    EXPECT_NEAR(m.energy_mj / (4000 * *m.latency_ms * 1e-3), 1.0, 1e-9);
  }
}

TEST_F(ProfileRunTest, BadOptionsAreRefusedNamingThem) {
  const ProfileGrid grid = parse_profile_grid(kSmallGrid, "grid.yaml");
  options_.board = "";
  EXPECT_THAT([&] { run_profile(grid, sensor_, factory(), options_); },
              ::testing::ThrowsMessage<std::invalid_argument>(HasSubstr("board: a board name is required")));
  options_.board = "sim";
  options_.sampler.rails = {"VDD_IN"};
  try {
    run_profile(grid, sensor_, factory(), options_);
    FAIL() << "accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_THAT(e.what(), HasSubstr("no rail 'VDD_IN' (rails: sim)"));
  }
  EXPECT_FALSE(std::filesystem::exists(options_.out_dir));
}

}  // namespace
}  // namespace joules::profiling
