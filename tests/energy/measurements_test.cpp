// The per-layer and per-network measurement CSVs: what a profiler writes reads back equal, and
// every bad field is reported with its file, line and column.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>

#include "energy/measurements.hpp"
#include "tests/support/temp_dir.hpp"
#include "util/input_error.hpp"

namespace joules {
namespace {

using ::testing::HasSubstr;
using testing::TempDir;

std::vector<LayerMeasurement> examples() {
  return {
      LayerMeasurement{.input = Shape{16, 32, 32},
                       .layer = ConvLayer{.filters = 32, .kernel = {3, 5}, .stride = {1, 2}, .padding = {1, 2}},
                       .energy_mj = 1.25, .energy_mj_std = 0.01, .dynamic_energy_mj = 0.75, .dynamic_energy_mj_std = 0.02,
                       .latency_ms = 0.5, .latency_ms_std = 0.001, .repeats = 200, .group = "g1", .family = "grid, a"},
      LayerMeasurement{.input = Shape{32, 16, 16},
                       .layer = ConvLayer{.filters = 32, .kernel = Size2::square(3), .padding = Size2::square(1),
                                          .groups = 32, .bias = false, .batch_norm = true, .activation = Activation::relu6},
                       .energy_mj = 0.1, .repeats = 50},
      LayerMeasurement{.input = Shape{8, 10, 10}, .layer = PoolLayer{.op = PoolOp::avg, .kernel = Size2::square(2),
                                                                      .stride = Size2::square(2)},
                       .energy_mj = 0.01, .latency_ms = 0.02},
      LayerMeasurement{.input = Shape{8, 10, 10}, .layer = PoolLayer{.op = PoolOp::avg, .global = true}, .energy_mj = 0.02},
      LayerMeasurement{.input = Shape{512, 1, 1}, .layer = FcLayer{.units = 10, .activation = Activation::none},
                       .energy_mj = 0.3, .latency_ms = 0.2},
  };
}

TEST(MeasurementsTest, LayerRowsRoundTrip) {
  std::string text = layer_measurements_header() + "\n";
  for (const LayerMeasurement& m : examples()) text += to_csv_row(m) + "\n";
  const LayerMeasurementSet set = parse_layer_measurements(text, "layers.csv");
  ASSERT_EQ(set.rows.size(), examples().size());
  for (std::size_t i = 0; i < set.rows.size(); ++i) EXPECT_EQ(set.rows[i], examples()[i]) << "row " << i;
  EXPECT_EQ(set.lines, (std::vector<int>{2, 3, 4, 5, 6}));
  EXPECT_EQ(set.fnv1a64.size(), 16u);
}

TEST(MeasurementsTest, OptionalColumnsMayBeLeftOut) {
  const LayerMeasurementSet set = parse_layer_measurements(
      "layer,in_channels,in_height,in_width,filters,kernel,units,energy_mj\n"
      "conv,3,32,32,16,3,,2.5\n"
      "fc,100,1,1,,,10,0.5\n",
      "min.csv");
  ASSERT_EQ(set.rows.size(), 2u);
  const auto& conv = std::get<ConvLayer>(set.rows[0].layer);
  EXPECT_EQ(conv.stride, Size2::square(1));
  EXPECT_EQ(conv.groups, 1);
  EXPECT_TRUE(conv.bias);
  EXPECT_EQ(set.rows[0].repeats, 1);
  EXPECT_FALSE(set.rows[0].latency_ms.has_value());
  EXPECT_EQ(std::get<FcLayer>(set.rows[1].layer).units, 10);
}

// A CSV line in header order: a valid conv row with `changes` applied ("" empties a field).
std::string row(std::initializer_list<std::pair<std::string, std::string>> changes) {
  std::map<std::string, std::string> fields{{"layer", "conv"}, {"in_channels", "3"}, {"in_height", "8"},
                                            {"in_width", "8"},  {"filters", "4"},     {"kernel", "3"},
                                            {"energy_mj", "1"}, {"repeats", "1"}};
  for (const auto& [k, v] : changes) fields[k] = v;
  std::string out;
  std::string header = layer_measurements_header() + ",";
  for (std::size_t start = 0, comma; (comma = header.find(',', start)) != std::string::npos; start = comma + 1) {
    out += (start ? "," : "") + fields[header.substr(start, comma - start)];
  }
  return out;
}

struct BadRow {
  const char* name;
  std::string row;
  const char* expected;
  friend void PrintTo(const BadRow& b, std::ostream* os) { *os << b.name; }
};

class MeasurementsErrorTest : public ::testing::TestWithParam<BadRow> {};

TEST_P(MeasurementsErrorTest, NamesFileLineAndColumn) {
  const std::string text = layer_measurements_header() + "\n" + row({}) + "\n" + GetParam().row + "\n";
  try {
    parse_layer_measurements(text, "m.csv");
    FAIL() << "accepted " << GetParam().row;
  } catch (const InputError& e) {
    EXPECT_THAT(e.what(), HasSubstr(GetParam().expected));
  }
}

INSTANTIATE_TEST_SUITE_P(
    Rows, MeasurementsErrorTest,
    ::testing::Values(
        BadRow{"UnknownLayer", row({{"layer", "deconv"}}), "m.csv:3: layer: expected conv, pool or fc, got 'deconv'"},
        BadRow{"MissingFilters", row({{"filters", ""}}), "m.csv:3: filters: is required, but empty or missing"},
        BadRow{"BadKernel", row({{"kernel", "3y3"}}), "m.csv:3: kernel: expected a size: N or HxW, got '3y3'"},
        BadRow{"UnitsOnConv", row({{"units", "3"}}), "m.csv:3: units: does not apply to a conv layer"},
        BadRow{"KernelTooLarge", row({{"kernel", "9"}}), "m.csv:3: kernel: kernel 9x9 is larger than the padded input 8x8"},
        BadRow{"GroupsNotDividing", row({{"groups", "2"}}), "m.csv:3: groups: groups 2 does not divide the 3 input channels"},
        BadRow{"NegativeEnergy", row({{"energy_mj", "-1"}}), "m.csv:3: energy_mj: must be > 0, got -1"},
        BadRow{"NotANumber", row({{"energy_mj", "nan"}}), "m.csv:3: energy_mj: expected a finite number, got 'nan'"},
        BadRow{"NegativeSpread", row({{"energy_mj_std", "-0.1"}}), "m.csv:3: energy_mj_std: a spread must be >= 0, got -0.1"},
        BadRow{"ZeroLatency", row({{"latency_ms", "0"}}), "m.csv:3: latency_ms: must be > 0, got 0"},
        BadRow{"NoRepeats", row({{"repeats", "0"}}), "m.csv:3: repeats: must be >= 1, got 0"},
        BadRow{"FiltersOnFc", row({{"layer", "fc"}, {"units", "10"}, {"kernel", ""}}), "m.csv:3: filters: does not apply to a fc layer"},
        BadRow{"BadPoolOp", row({{"layer", "pool"}, {"filters", ""}, {"kernel", "2"}, {"op", "min"}}),
               "m.csv:3: op: expected max or avg, got 'min'"}),
    [](const auto& p) { return std::string(p.param.name); });

TEST(MeasurementsTest, AMissingRequiredColumnIsNamed) {
  try {
    parse_layer_measurements("layer,in_channels,in_height,in_width\nconv,3,8,8\n", "m.csv");
    FAIL();
  } catch (const InputError& e) {
    EXPECT_THAT(e.what(), HasSubstr("energy_mj"));
    EXPECT_THAT(e.what(), HasSubstr("missing column"));
  }
}

TEST(MeasurementsTest, LatencyMayComeFromAnotherColumn) {
  const std::string text =
      "layer,in_channels,in_height,in_width,filters,kernel,energy_mj,latency_ms,latency_ms_std,thread_cpu_ms\n"
      "conv,3,8,8,4,3,2.5,0.4,0.1,0.25\n";
  const LayerMeasurementSet set = parse_layer_measurements(text, "m.csv", "thread_cpu_ms");
  EXPECT_EQ(set.latency_column, "thread_cpu_ms");
  EXPECT_EQ(set.rows[0].latency_ms, 0.25);
  EXPECT_FALSE(set.rows[0].latency_ms_std.has_value());  // latency_ms's spread is not this column's
  try {
    parse_layer_measurements(text, "m.csv", "gpu_ms");
    FAIL();
  } catch (const InputError& e) {
    EXPECT_THAT(e.what(), HasSubstr("gpu_ms"));
    EXPECT_THAT(e.what(), HasSubstr("missing column"));
  }
}

TEST(MeasurementsTest, NetworkRowsNameTheirArchitectureRelativeToTheCsv) {
  TempDir dir;
  dir.write("archs/a.yaml", "input: [3, 16, 16]\nlayers:\n  - conv: {filters: 8, kernel: 3}\n  - fc: {units: 10}\n");
  const std::string csv = dir.write("networks.csv",
                                    "arch,gpu_energy_mj,latency_ms,family,group\n"
                                    "archs/a.yaml,12.5,3.0,small,a\n"
                                    "archs/a.yaml,13.0,3.1,small,a\n");
  const NetworkMeasurementSet set = read_network_measurements(csv, NetworkColumns{.energy = "gpu_energy_mj"});
  ASSERT_EQ(set.rows.size(), 2u);
  EXPECT_EQ(set.rows[0].arch.layers.size(), 2u);
  EXPECT_EQ(set.rows[1].energy_mj, 13.0);
  EXPECT_EQ(set.rows[0].latency_ms, 3.0);
  EXPECT_EQ(set.rows[0].family, "small");
  EXPECT_EQ(set.latency_column, "latency_ms");

  const std::string bad = dir.write("bad.csv", "arch,energy_mj\narchs/a.yaml,-3\n");
  try {
    read_network_measurements(bad);
    FAIL();
  } catch (const InputError& e) {
    EXPECT_THAT(e.what(), HasSubstr("bad.csv:2: energy_mj: must be > 0, got -3"));
  }
  const std::string missing = dir.write("missing.csv", "arch,energy_mj\narchs/none.yaml,3\n");
  try {
    read_network_measurements(missing);
    FAIL();
  } catch (const InputError& e) {
    EXPECT_THAT(e.what(), HasSubstr("none.yaml"));
    EXPECT_THAT(e.what(), HasSubstr("cannot read file"));
  }
  try {
    read_network_measurements(csv, NetworkColumns{.energy = "gpu_energy_mj", .latency = "t_ms", .latency_required = true});
    FAIL();
  } catch (const InputError& e) {
    EXPECT_THAT(e.what(), HasSubstr("t_ms"));
  }
}

}  // namespace
}  // namespace joules
