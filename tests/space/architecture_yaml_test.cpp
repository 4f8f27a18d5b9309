#include "space/architecture_yaml.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>

#include "space/analysis.hpp"
#include "util/input_error.hpp"

namespace joules {
namespace {

using ::testing::HasSubstr;

InputError parse_error(const std::string& text) {
  try {
    parse_architecture(text, "net.yaml");
  } catch (const InputError& e) {
    return e;
  }
  ADD_FAILURE() << "expected an InputError for:\n" << text;
  return InputError("", 0, "", "");
}

TEST(ArchitectureYamlTest, ReadsLenetWithDefaults) {
  const Architecture a = load_architecture(std::string(JOULES_SOURCE_DIR) + "/configs/architectures/lenet5.yaml");
  EXPECT_EQ(a.name, "lenet5");
  EXPECT_EQ(a.input, (Shape{1, 28, 28}));
  ASSERT_EQ(a.layers.size(), 7u);
  const auto& conv = std::get<ConvLayer>(a.layers[0]);
  EXPECT_EQ(conv.kernel, (Size2{5, 5}));
  EXPECT_EQ(conv.stride, (Size2{1, 1}));
  EXPECT_EQ(conv.padding, (Size2{2, 2}));
  EXPECT_EQ(conv.groups, 1);
  EXPECT_TRUE(conv.bias);
  EXPECT_FALSE(conv.batch_norm);
  EXPECT_EQ(conv.activation, Activation::relu);
  const auto& pool = std::get<PoolLayer>(a.layers[1]);
  EXPECT_EQ(pool.stride, (Size2{2, 2})) << "pool stride defaults to its kernel";
  // Hidden fc layers default to relu; the last layer defaults to no activation.
  EXPECT_EQ(std::get<FcLayer>(a.layers[5]).activation, Activation::relu);
  EXPECT_EQ(std::get<FcLayer>(a.layers[6]).activation, Activation::none);
}

TEST(ArchitectureYamlTest, LastLayerActivationCanBeSetExplicitly) {
  const Architecture a = parse_architecture(
      "input: [1, 4, 4]\nlayers:\n  - fc: {units: 3, activation: sigmoid}\n", "x.yaml");
  EXPECT_EQ(std::get<FcLayer>(a.layers[0]).activation, Activation::sigmoid);
  const Architecture b = parse_architecture(
      "input: [1, 4, 4]\nlayers:\n  - conv: {filters: 2, kernel: 3}\n  - pool: {global: true}\n", "x.yaml");
  EXPECT_EQ(std::get<ConvLayer>(b.layers[0]).activation, Activation::relu)
      << "only the last layer defaults to none";
}

TEST(ArchitectureYamlTest, KernelsStridesAndPaddingTakeIntOrPair) {
  const Architecture a = parse_architecture(
      "input: [2, 9, 9]\nlayers:\n"
      "  - conv: {filters: 4, kernel: [3, 1], stride: [2, 1], padding: [1, 0]}\n"
      "  - pool: {op: avg, kernel: [2, 3], stride: 1}\n",
      "x.yaml");
  const auto& conv = std::get<ConvLayer>(a.layers[0]);
  EXPECT_EQ(conv.kernel, (Size2{3, 1}));
  EXPECT_EQ(conv.stride, (Size2{2, 1}));
  const auto& pool = std::get<PoolLayer>(a.layers[1]);
  EXPECT_EQ(pool.op, PoolOp::avg);
  EXPECT_EQ(pool.stride, (Size2{1, 1}));
}

TEST(ArchitectureYamlTest, WritesAndReadsBackEveryShippedArchitecture) {
  for (const auto& entry : std::filesystem::directory_iterator(std::string(JOULES_SOURCE_DIR) + "/configs/architectures")) {
    const Architecture a = load_architecture(entry.path().string());
    const std::string text = to_yaml(a);
    EXPECT_EQ(parse_architecture(text, "written.yaml"), a) << entry.path() << "\n" << text;
  }
}

TEST(ArchitectureYamlTest, JsonFormReadsBackAsTheSameArchitecture) {
  for (const auto& entry : std::filesystem::directory_iterator(std::string(JOULES_SOURCE_DIR) + "/configs/architectures")) {
    const Architecture a = load_architecture(entry.path().string());
    const std::string json = to_json(a);
    EXPECT_EQ(json.find('\n'), std::string::npos);
    EXPECT_EQ(parse_architecture(json, "log.jsonl"), a) << json;
  }
  Architecture odd{.name = "quote \" back\\slash", .input = {1, 2, 2}, .layers = {FcLayer{.units = 2, .dropout = 0.125}}};
  EXPECT_EQ(parse_architecture(to_json(odd), "log.jsonl"), odd) << to_json(odd);
}

TEST(ArchitectureYamlTest, RoundTripKeepsNonDefaultOptions) {
  Architecture a{.name = "odd name: with colon",
                 .input = {3, 16, 12},
                 .layers = {ConvLayer{.filters = 6, .kernel = {3, 5}, .stride = {1, 2}, .padding = {1, 2},
                                      .groups = 3, .bias = false, .batch_norm = true,
                                      .activation = Activation::hardswish},
                            PoolLayer{.op = PoolOp::avg, .kernel = {2, 2}, .stride = {1, 1}, .padding = {1, 1}},
                            PoolLayer{.op = PoolOp::max, .global = true},
                            FcLayer{.units = 7, .bias = false, .activation = Activation::tanh, .dropout = 0.25},
                            FcLayer{.units = 3, .activation = Activation::relu}}};
  analyze(a);
  EXPECT_EQ(parse_architecture(to_yaml(a), "w.yaml"), a) << to_yaml(a);
  EXPECT_EQ(parse_architecture(to_json(a), "w.json"), a) << to_json(a);
}

TEST(ArchitectureYamlTest, HashIsEqualWhateverTheSpelling) {
  const Architecture terse = parse_architecture(
      "input: [1, 28, 28]\nlayers:\n  - conv: {filters: 8, kernel: 3}\n  - pool: {kernel: 2}\n  - fc: {units: 10}\n",
      "a.yaml");
  const Architecture verbose = parse_architecture(R"(
name: same-net-other-name
input: [1, 28, 28]
layers:
  - conv:
      filters: 8
      kernel: [3, 3]
      stride: [1, 1]
      padding: 0
      groups: 1
      bias: true
      batch_norm: false
      activation: relu
  - pool: {op: max, kernel: [2, 2], stride: 2, padding: 0}
  - fc: {units: 10, bias: true, dropout: 0, activation: none}
)",
                                                  "b.yaml");
  EXPECT_EQ(canonical_hash(terse), canonical_hash(verbose));
  EXPECT_EQ(canonical_hash_hex(terse).size(), 16u);

  Architecture changed = terse;
  std::get<ConvLayer>(changed.layers[0]).filters = 9;
  EXPECT_NE(canonical_hash(changed), canonical_hash(terse));
  Architecture no_bias = terse;
  std::get<FcLayer>(no_bias.layers[2]).bias = false;
  EXPECT_NE(canonical_hash(no_bias), canonical_hash(terse));
}

struct BadCase {
  const char* what;
  const char* yaml;
  int line;
  const char* key;
  const char* message;
  friend void PrintTo(const BadCase& c, std::ostream* os) { *os << c.what; }
};

class ArchitectureYamlErrorTest : public ::testing::TestWithParam<BadCase> {};

TEST_P(ArchitectureYamlErrorTest, NamesFileLineAndKey) {
  const BadCase& c = GetParam();
  const InputError e = parse_error(c.yaml);
  EXPECT_EQ(e.file(), "net.yaml");
  EXPECT_EQ(e.line(), c.line) << e.what();
  EXPECT_EQ(e.key(), c.key) << e.what();
  EXPECT_THAT(e.message(), HasSubstr(c.message));
  EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos) << "one line";
}

INSTANTIATE_TEST_SUITE_P(
    Malformed, ArchitectureYamlErrorTest,
    ::testing::Values(
        BadCase{"syntax", "input: [1, 28, 28\nlayers: []\n", 2, "", "YAML syntax error"},
        BadCase{"not a map", "- conv: {}\n", 1, "", "expected an architecture"},
        BadCase{"missing input", "layers:\n  - fc: {units: 3}\n", 1, "", "missing required key 'input'"},
        BadCase{"input shape", "input: [28, 28]\nlayers:\n  - fc: {units: 3}\n", 1, "input", "[channels, height, width]"},
        BadCase{"unknown top key", "input: [1, 4, 4]\nlayer:\n  - fc: {units: 3}\n", 2, "layer", "unknown key"},
        BadCase{"unknown layer key", "input: [1, 4, 4]\nlayers:\n  - conv: {filters: 2, kernel: 3, filter: 4}\n", 3,
                "layers[0].conv.filter", "unknown key"},
        BadCase{"unknown layer type", "input: [1, 4, 4]\nlayers:\n  - lstm: {units: 3}\n", 3, "layers[0].lstm",
                "unknown layer type"},
        BadCase{"two types in one item", "input: [1, 4, 4]\nlayers:\n  - conv: {filters: 1, kernel: 1}\n    fc: {units: 2}\n",
                3, "layers[0]", "one key"},
        BadCase{"float filters", "input: [1, 4, 4]\nlayers:\n  - conv: {filters: 2.5, kernel: 3}\n", 3,
                "layers[0].conv.filters", "expected an integer"},
        BadCase{"string kernel", "input: [1, 4, 4]\nlayers:\n  - conv: {filters: 2, kernel: \"3\"}\n", 3,
                "layers[0].conv.kernel", "string"},
        BadCase{"bad bool", "input: [1, 4, 4]\nlayers:\n  - conv: {filters: 2, kernel: 3, bias: maybe}\n", 3,
                "layers[0].conv.bias", "true or false"},
        BadCase{"bad activation", "input: [1, 4, 4]\nlayers:\n  - fc: {units: 2, activation: swish2}\n", 3,
                "layers[0].fc.activation", "expected one of"},
        BadCase{"negative filters", "input: [1, 4, 4]\nlayers:\n  - fc: {units: 3}\n  - fc:\n      units: -3\n", 5,
                "layers[1].fc.units", "must be >= 1"},
        BadCase{"zero stride", "input: [1, 4, 4]\nlayers:\n  - conv: {filters: 2, kernel: 3, stride: 0}\n", 3,
                "layers[0].conv.stride", "must be >= 1"},
        BadCase{"kernel too large", "input: [1, 4, 4]\nlayers:\n  - conv: {filters: 2, kernel: 7, padding: 1}\n", 3,
                "layers[0].conv.kernel", "larger than the padded input 6x6"},
        BadCase{"groups", "input: [3, 4, 4]\nlayers:\n  - conv: {filters: 4, kernel: 1, groups: 2}\n", 3,
                "layers[0].conv.groups", "does not divide"},
        BadCase{"conv after fc", "input: [1, 8, 8]\nlayers:\n  - fc: {units: 4}\n  - conv: {filters: 2, kernel: 1}\n", 4,
                "layers[1].conv", "after an fc layer"},
        BadCase{"empty network", "input: [1, 8, 8]\nlayers: []\n", 2, "layers", "at least one layer"},
        BadCase{"null layers", "input: [1, 8, 8]\nlayers:\n", 2, "layers", "at least one layer"},
        BadCase{"missing units", "input: [1, 8, 8]\nlayers:\n  - fc: {bias: false}\n", 3, "layers[0].fc",
                "missing required key 'units'"},
        BadCase{"empty conv", "input: [1, 8, 8]\nlayers:\n  - conv:\n", 3, "layers[0].conv", "missing required keys"},
        BadCase{"huge integer", "input: [1, 8, 8]\nlayers:\n  - fc: {units: 99999999999999999999999}\n", 3,
                "layers[0].fc.units", "out of range"},
        BadCase{"overflow", "input: [1000000, 1000000, 1000000]\nlayers:\n  - fc: {units: 1000000000}\n", 3,
                "layers[0].fc", "MACs overflow"},
        BadCase{"input overflow", "input: [2000000000, 2000000000, 2000000000]\nlayers:\n  - fc: {units: 1}\n", 1,
                "input", "overflow"},
        BadCase{"duplicate key", "input: [1, 8, 8]\nlayers:\n  - fc: {units: 3, units: 4}\n", 3, "layers[0].fc.units",
                "duplicate key"},
        BadCase{"global with kernel", "input: [1, 8, 8]\nlayers:\n  - pool: {global: true, kernel: 2}\n", 3,
                "layers[0].pool.kernel", "not allowed"},
        BadCase{"dropout range", "input: [1, 8, 8]\nlayers:\n  - fc: {units: 2, dropout: 1.5}\n", 3,
                "layers[0].fc.dropout", "expected a number in"},
        BadCase{"kernel list length", "input: [1, 8, 8]\nlayers:\n  - conv: {filters: 2, kernel: [3, 3, 3]}\n", 3,
                "layers[0].conv.kernel", "[height, width]"}),
    [](const auto& p) {
      std::string n = p.param.what;
      for (char& c : n) c = std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
      return n;
    });

TEST(ArchitectureYamlTest, MissingFileIsAnInputError) {
  try {
    load_architecture("/nonexistent/arch.yaml");
    FAIL();
  } catch (const InputError& e) {
    EXPECT_THAT(e.what(), HasSubstr("/nonexistent/arch.yaml"));
    EXPECT_THAT(e.what(), HasSubstr("cannot read"));
  }
}

TEST(ArchitectureYamlTest, MoreLayersThanTheLimitAreRefusedBeforeReadingThem) {
  std::string text = "input: [1, 28, 28]\nlayers:\n";
  for (std::size_t i = 0; i <= kMaxLayers; ++i) text += "  - fc: {units: 10}\n";
  const InputError e = parse_error(text);
  EXPECT_STREQ(e.what(), "net.yaml:2: layers: at most 1024 layers, got 1025");
}

}  // namespace
}  // namespace joules
