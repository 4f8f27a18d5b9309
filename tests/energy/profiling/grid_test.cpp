// Profiling grids: how blocks multiply out into layer configurations, the measuring order, and
// errors that name the file, line and key.

#include "energy/profiling/grid.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "energy/measurements.hpp"
#include "util/input_error.hpp"

namespace joules::profiling {
namespace {

using ::testing::HasSubstr;

const char* const kGrid = R"(name: example
seed: 7
conv:
  - name: steps
    input_size: 16
    in_channels: [8, 16]
    filters: {from: 1, to: 10, step: 3}
    kernel: 3
    padding: same
  - input_size: [8]
    in_channels: 8
    kernel: [3, 5]
    stride: 2
    depthwise: true
    batch_norm: true
    activation: relu6
fc:
  - inputs: 256
    outputs: [10, 100]
    bias: false
pool:
  - input_size: 16
    channels: 4
    kernel: 2
    op: [max, avg]
)";

TEST(ProfileGridTest, BlocksMultiplyOutIntoLayerConfigurations) {
  const ProfileGrid grid = parse_profile_grid(kGrid, "g.yaml");
  EXPECT_EQ(grid.name, "example");
  EXPECT_EQ(grid.seed, 7u);
  ASSERT_EQ(grid.points.size(), 2u * 4 + 2 + 2 + 2);

  // filters 1, 4, 7, 10 on 8 then 16 channels; same padding keeps the 16x16 map.
  const GridPoint& first = grid.points[0];
  EXPECT_EQ(first.family, "steps");
  EXPECT_EQ(first.input, (Shape{8, 16, 16}));
  const auto& conv = std::get<ConvLayer>(first.layer);
  EXPECT_EQ(conv.filters, 1);
  EXPECT_EQ(conv.kernel, Size2::square(3));
  EXPECT_EQ(conv.padding, Size2::square(1));
  EXPECT_EQ(conv.groups, 1);
  EXPECT_EQ(std::get<ConvLayer>(grid.points[3].layer).filters, 10);
  EXPECT_EQ(grid.points[4].input.channels, 16);

  // Depthwise: as many filters and groups as input channels; unnamed blocks are "conv[1]".
  const GridPoint& dw = grid.points[8];
  EXPECT_EQ(dw.family, "conv[1]");
  const auto& d = std::get<ConvLayer>(dw.layer);
  EXPECT_EQ(d.filters, 8);
  EXPECT_EQ(d.groups, 8);
  EXPECT_EQ(d.stride, Size2::square(2));
  EXPECT_EQ(d.padding, Size2::square(0));
  EXPECT_TRUE(d.batch_norm);
  EXPECT_EQ(d.activation, Activation::relu6);
  EXPECT_EQ(std::get<ConvLayer>(grid.points[9].layer).kernel, Size2::square(5));

  // fc: the input is inputs x 1 x 1.
  EXPECT_EQ(grid.points[10].input, (Shape{256, 1, 1}));
  EXPECT_EQ(std::get<FcLayer>(grid.points[11].layer).units, 100);
  EXPECT_FALSE(std::get<FcLayer>(grid.points[11].layer).bias);

  // pool: stride defaults to the kernel.
  const auto& pool = std::get<PoolLayer>(grid.points[13].layer);
  EXPECT_EQ(pool.op, PoolOp::avg);
  EXPECT_EQ(pool.stride, Size2::square(2));
}

TEST(ProfileGridTest, AConfigurationInTwoBlocksIsMeasuredOnce) {
  const ProfileGrid grid = parse_profile_grid(R"(conv:
  - {input_size: 8, in_channels: 4, filters: [4, 8], kernel: 3}
  - {name: again, input_size: 8, in_channels: 4, filters: [8, 12], kernel: 3}
)",
                                              "g.yaml");
  ASSERT_EQ(grid.points.size(), 3u);
  EXPECT_EQ(grid.points[1].family, "conv[0]");
  EXPECT_EQ(grid.points[2].family, "again");
}

TEST(ProfileGridTest, MeasuringOrderIsASeededPermutation) {
  const ProfileGrid grid = parse_profile_grid(kGrid, "g.yaml");
  const auto a = measuring_order(grid, 1);
  EXPECT_EQ(measuring_order(grid, 1), a);
  EXPECT_NE(measuring_order(grid, 2), a);
  EXPECT_NE(a, grid.points);
  std::set<std::string> keys, original;
  for (const auto& p : a) keys.insert(point_key(p.input, p.layer));
  for (const auto& p : grid.points) original.insert(point_key(p.input, p.layer));
  EXPECT_EQ(keys, original);
}

TEST(ProfileGridTest, PointKeyMatchesTheRowReadBackFromACsv) {
  const ProfileGrid grid = parse_profile_grid(kGrid, "g.yaml");
  std::string csv = layer_measurements_header() + "\n";
  for (const auto& p : grid.points) {
    csv += to_csv_row(LayerMeasurement{.input = p.input, .layer = p.layer, .energy_mj = 1, .family = p.family}) + "\n";
  }
  const LayerMeasurementSet rows = parse_layer_measurements(csv, "m.csv");
  ASSERT_EQ(rows.rows.size(), grid.points.size());
  for (std::size_t i = 0; i < rows.rows.size(); ++i) {
    EXPECT_EQ(point_key(rows.rows[i].input, rows.rows[i].layer), point_key(grid.points[i].input, grid.points[i].layer))
        << i;
  }
}

struct BadGrid {
  const char* name;
  const char* text;
  const char* expected;
  friend void PrintTo(const BadGrid& b, std::ostream* os) { *os << b.name; }
};

class ProfileGridErrorTest : public ::testing::TestWithParam<BadGrid> {};

TEST_P(ProfileGridErrorTest, NamesFileLineAndKey) {
  try {
    parse_profile_grid(GetParam().text, "bad.yaml");
    FAIL() << "accepted";
  } catch (const InputError& e) {
    EXPECT_THAT(e.what(), HasSubstr(GetParam().expected));
  }
}

INSTANTIATE_TEST_SUITE_P(
    Grids, ProfileGridErrorTest,
    ::testing::Values(
        BadGrid{"UnknownTopKey", "conv: []\nlayers: 3\n", "bad.yaml:2: layers: unknown key"},
        BadGrid{"UnknownBlockKey", "conv:\n  - input_size: 8\n    in_channels: 4\n    filters: 4\n    kernel: 3\n    dilation: 2\n",
                "bad.yaml:6: conv[0].dilation: unknown key"},
        BadGrid{"MissingKey", "fc:\n  - inputs: 8\n", "bad.yaml:2: fc[0]: missing required key 'outputs'"},
        BadGrid{"RangeBackwards", "fc:\n  - inputs: 8\n    outputs: {from: 10, to: 5}\n", "bad.yaml:3: fc[0].outputs.to:"},
        BadGrid{"RangeKey", "fc:\n  - inputs: 8\n    outputs: {from: 1, upto: 5}\n", "bad.yaml:3: fc[0].outputs.upto: unknown key"},
        BadGrid{"ZeroFilters", "conv:\n  - {input_size: 8, in_channels: 4, filters: [4, 0], kernel: 3}\n",
                "bad.yaml:2: conv[0].filters[1]:"},
        BadGrid{"FiltersInDepthwise", "conv:\n  - {input_size: 8, in_channels: 4, filters: 4, kernel: 3, depthwise: true}\n",
                "conv[0].filters: a depthwise block has as many filters as input channels"},
        BadGrid{"ImpossibleKernel", "conv:\n  - name: big\n    input_size: [8, 4]\n    in_channels: 4\n    filters: 4\n    kernel: 5\n",
                "bad.yaml:2: conv[0]: input_size 4, in_channels 4, filters 4, kernel 5, stride 1, padding 0: impossible:"},
        BadGrid{"BadActivation", "fc:\n  - {inputs: 8, outputs: 2, activation: swish}\n",
                "fc[0].activation: expected one of none, relu, relu6"},
        BadGrid{"BadOp", "pool:\n  - {input_size: 8, channels: 2, kernel: 2, op: [max, min]}\n", "pool[0].op[1]:"},
        BadGrid{"EmptyGrid", "name: nothing\n", "bad.yaml:1: the grid has no points"},
        BadGrid{"TooManyPoints", "fc:\n  - {inputs: {from: 1, to: 1000}, outputs: {from: 1, to: 1000}}\n",
                "bad.yaml:2: fc[0]: the grid would have more than 100000 points"},
        BadGrid{"BlockNotAMap", "conv:\n  - 3\n", "bad.yaml:2: conv[0]: expected a block"}),
    [](const auto& p) { return std::string(p.param.name); });

TEST(ProfileGridTest, ShippedGridsLoad) {
  for (const char* name : {"example.yaml", "cpu-filter-steps.yaml"}) {
    const ProfileGrid grid = load_profile_grid(std::string(JOULES_SOURCE_DIR) + "/configs/profiling/" + name);
    EXPECT_GT(grid.points.size(), 10u) << name;
  }
}

}  // namespace
}  // namespace joules::profiling
