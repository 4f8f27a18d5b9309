// Grids from a search space (joules profile --grid-from): they reach every layer configuration
// the space can produce, within the points asked for, the same for the same seed; and the
// property that matters to a user: a profile fitted from a (simulated-sensor) run of a space's
// grid prices 10,000 sampled networks of that space without a single range warning.

#include "energy/profiling/grid.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <set>

#include "energy/estimator.hpp"
#include "energy/fit.hpp"
#include "energy/measurements.hpp"
#include "energy/profiling/profile_run.hpp"
#include "space/analysis.hpp"
#include "tests/energy/profiling/simulated_sensor.hpp"
#include "tests/support/temp_dir.hpp"

namespace joules::profiling {
namespace {

using ::testing::HasSubstr;

// configs/quickstart.yaml's space.
SearchSpaceOptions quickstart_space() {
  SearchSpaceOptions o;
  o.input = Shape{1, 28, 28};
  o.conv_blocks = {1, 3};
  o.filters = {8, 16, 24, 32, 48};
  o.kernels = {3, 5};
  o.strides = {1, 2};
  o.separable = {false, true};
  o.batch_norm = {false, true};
  o.pool = {BlockPool::none, BlockPool::max, BlockPool::avg};
  o.fc_layers = {0, 1};
  o.fc_units = {32, 64, 128};
  o.global_pool = {false, true};
  return o;
}

std::set<LayerKind> kinds_of(const ProfileGrid& grid) {
  std::set<LayerKind> kinds;
  for (const GridPoint& p : grid.points) {
    kinds.insert(layer_kind(p.layer, analyze(Architecture{.input = p.input, .layers = {p.layer}}).layers.front()));
  }
  return kinds;
}

TEST(GridFromSpaceTest, KeepsThePointsAskedForWithEveryKindAndTheFilterSteps) {
  const ProfileGrid grid = grid_from_space(quickstart_space(), {.points = 300, .seed = 3, .file = "quickstart.yaml"});
  EXPECT_EQ(grid.points.size(), 300u);
  EXPECT_EQ(kinds_of(grid), (std::set<LayerKind>{LayerKind::conv, LayerKind::depthwise, LayerKind::fc, LayerKind::pool}));
  std::set<std::int64_t> step_filters;
  for (const GridPoint& p : grid.points) {
    if (p.family == "filter-steps") step_filters.insert(std::get<ConvLayer>(p.layer).filters);
  }
  // Counts on both sides of multiples of 8 between the space's 8 and 48 filters.
  EXPECT_GE(step_filters.size(), 6u);
  std::set<std::string> keys;
  for (const GridPoint& p : grid.points) keys.insert(point_key(p.input, p.layer));
  EXPECT_EQ(keys.size(), grid.points.size()) << "a configuration twice";
}

TEST(GridFromSpaceTest, TheSameSeedGivesTheSameGridAndAnotherSeedAnother) {
  const auto a = grid_from_space(quickstart_space(), {.points = 120, .seed = 1});
  const auto b = grid_from_space(quickstart_space(), {.points = 120, .seed = 1});
  const auto c = grid_from_space(quickstart_space(), {.points = 120, .seed = 2});
  EXPECT_EQ(a.points, b.points);
  EXPECT_NE(a.points, c.points);
}

TEST(GridFromSpaceTest, TooFewPointsToSpanTheRangesAreRefusedWithTheMinimum) {
  try {
    grid_from_space(quickstart_space(), {.points = 3});
    FAIL() << "3 points accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_THAT(e.what(), HasSubstr("3 points cannot cover the space"));
    EXPECT_THAT(e.what(), HasSubstr("need at least"));
  }
}

TEST(GridFromSpaceTest, TheWrittenGridReadsBackToTheSamePoints) {
  const ProfileGrid grid = grid_from_space(quickstart_space(), {.points = 80, .seed = 5, .file = "q.yaml"});
  const ProfileGrid back = parse_profile_grid(to_yaml(grid), "grid.yaml");
  std::set<std::string> expected, read;
  for (const GridPoint& p : grid.points) expected.insert(point_key(p.input, p.layer));
  for (const GridPoint& p : back.points) read.insert(point_key(p.input, p.layer));
  EXPECT_EQ(read, expected);
  EXPECT_EQ(back.seed, 5u);
}

// A simulated board whose layers cost a traffic-like mix of work and memory.
double simulated_energy_mj(const GridPoint& p) {
  const LayerFeatures f = layer_features(p.layer, analyze(Architecture{.input = p.input, .layers = {p.layer}}).layers.front());
  return 4e-8 * f.macs + 2e-6 * f.output_elements + 1e-6 * f.input_elements + 0.01;
}

TEST(GridFromSpaceTest, SampledNetworksOfTheSpaceHaveNoRangeWarningsOnAProfileOfItsGrid) {
  const SearchSpaceOptions space = quickstart_space();
  const ProfileGrid grid = grid_from_space(space, {.points = 200, .seed = 1, .file = "quickstart.yaml"});
  ::joules::testing::TempDir dir;
  ::joules::testing::SimulatedSensor sensor(/*idle_power_mw=*/1000, std::chrono::microseconds(20));
  ProfileRunOptions run{.board = "sim", .out_dir = dir.path() / "run"};
  run.protocol.warmup_s = 0;
  run.protocol.warmup_inferences = 1;
  run.protocol.min_window_s = 0.001;
  run.protocol.repeats = 2;
  run.protocol.cooldown_s = 0;
  run.protocol.idle_s = 0.001;
  run.device = "simulated";
  run.software = "test";
  std::uint64_t seed = 1;
  const ProfileRunResult result = run_profile(grid, sensor, [&](const GridPoint& p) {
    return ::joules::testing::simulated_workload(sensor, simulated_energy_mj(p), 20e-6, 0.02, seed++);
  }, run);
  ASSERT_EQ(result.measured, grid.points.size());

  const LayerMeasurementSet data = read_layer_measurements(result.csv.string());
  const FitOptions options;
  const BoardFit fit = fit_layer_measurements(data, load_board_identity(result.provenance.string()), options);
  const EnergyEstimator estimator(fit.profile);
  const SearchSpace searched(space);
  std::size_t warned = 0;
  std::string first;
  for (const Architecture& arch : searched.sample_architectures(10000, 11)) {
    const NetworkEstimate e = estimator.estimate(arch);
    if (!e.warnings.empty() && warned++ == 0) first = describe(e.warnings.front());
  }
  EXPECT_EQ(warned, 0u) << "first: " << first;
}

}  // namespace
}  // namespace joules::profiling
