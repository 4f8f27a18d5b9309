// `joules inspect` as a user runs it: JSON contract, table, exit codes and error lines.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "tests/cli/run_command.hpp"
#include "tests/support/temp_dir.hpp"

namespace joules::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

const std::string kArchitectures = std::string(JOULES_SOURCE_DIR) + "/configs/architectures/";

TEST(InspectCommandTest, JsonFollowsTheContract) {
  const CommandResult r = run_joules({"inspect", kArchitectures + "lenet5.yaml", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["name"], "lenet5");
  EXPECT_EQ(j["input"], nlohmann::json({1, 28, 28}));
  EXPECT_EQ(j["macs"], 416520);
  EXPECT_EQ(j["params"], 61706);
  ASSERT_EQ(j["layers"].size(), 7u);
  EXPECT_EQ(j["layers"][0]["index"], 0);
  EXPECT_EQ(j["layers"][0]["type"], "conv");
  EXPECT_EQ(j["layers"][0]["output"], nlohmann::json({6, 28, 28}));
  EXPECT_EQ(j["layers"][0]["macs"], 117600);
  EXPECT_EQ(j["layers"][0]["params"], 156);
  EXPECT_EQ(j["layers"][1]["type"], "pool");
  EXPECT_EQ(j["layers"][6]["type"], "fc");
  EXPECT_EQ(j["layers"][6]["output"], nlohmann::json({10, 1, 1}));
}

TEST(InspectCommandTest, TableShowsEveryLayerAndTotals) {
  const CommandResult r = run_joules({"inspect", kArchitectures + "dws-small.yaml"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("dws-small"));
  EXPECT_THAT(r.out, HasSubstr("groups 16"));
  EXPECT_THAT(r.out, HasSubstr("pool global avg"));
  EXPECT_THAT(r.out, HasSubstr("1,226,624"));  // total MACs
  EXPECT_THAT(r.out, HasSubstr("13,898"));     // total params
}

struct BadFile {
  const char* name;
  const char* text;
  const char* expected;  // the error line after "error: "
  friend void PrintTo(const BadFile& f, std::ostream* os) { *os << f.name; }
};

class InspectErrorTest : public ::testing::TestWithParam<BadFile> {};

TEST_P(InspectErrorTest, ExitsTwoWithOneErrorLine) {
  TempDir dir;
  const std::string path = dir.write("bad.yaml", GetParam().text);
  const CommandResult r = run_joules({"inspect", path, "--json"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.out, "") << "nothing half-written on stdout";
  EXPECT_THAT(r.err, StartsWith("error: " + path + GetParam().expected));
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
}

INSTANTIATE_TEST_SUITE_P(
    Malformed, InspectErrorTest,
    ::testing::Values(
        BadFile{"syntax", "input: [1, 2\n", ":2: YAML syntax error"},
        BadFile{"binary", "\x01\x02\xff\xfe", ":"},
        BadFile{"empty", "", ":1: expected an architecture"},
        BadFile{"wrong_type", "input: 5\nlayers: []\n", ":1: input: expected [channels, height, width]"},
        BadFile{"unknown_key", "input: [1, 8, 8]\nlayers:\n  - fc: {units: 2, unit: 3}\n", ":3: layers[0].fc.unit: unknown key"},
        BadFile{"impossible", "input: [1, 8, 8]\nlayers:\n  - pool: {kernel: 9}\n", ":3: layers[0].pool.kernel: kernel 9x9 is larger"}),
    [](const auto& p) { return std::string(p.param.name); });

TEST(InspectCommandTest, OddBytesAreRefusedInOneLine) {
  TempDir dir;
  // Not UTF-8: refused at its line (configs and architectures are UTF-8 text).
  const std::string named = dir.write("named.yaml", "name: ab\xb3" "cd\ninput: [1, 4, 4]\nlayers:\n  - fc: {units: 2}\n");
  CommandResult r = run_joules({"inspect", named, "--json"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_THAT(r.err, HasSubstr("named.yaml:1: bytes that are not UTF-8 text"));
  EXPECT_TRUE(r.out.empty()) << r.out;

  const std::string key = dir.write("key.yaml", "input: [1, 4, 4]\nlayers:\n  - \"c\\nv\": {units: 2}\n");
  r = run_joules({"inspect", key});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_THAT(r.err, HasSubstr("c\\x0av"));
}

TEST(InspectCommandTest, UsageErrorsExitTwo) {
  CommandResult r = run_joules({"inspect"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, StartsWith("error: "));
  r = run_joules({"inspect", kArchitectures + "lenet5.yaml", "--bogus"});
  EXPECT_EQ(r.exit_code, 2);
  r = run_joules({"frobnicate"});
  EXPECT_EQ(r.exit_code, 2);
  r = run_joules({"inspect", "/no/such/file.yaml"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("/no/such/file.yaml"));
}

TEST(InspectCommandTest, HelpExitsZero) {
  const CommandResult r = run_joules({"--help"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_THAT(r.out, HasSubstr("inspect"));
}

}  // namespace
}  // namespace joules::testing
