// `joules estimate` as a user runs it: the JSON contract, the table, the notice for profiles
// not measured by joules, warnings, and exit status 2 with one error line for bad input.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "tests/cli/run_command.hpp"
#include "tests/support/temp_dir.hpp"

namespace joules::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

const std::string kArchitectures = std::string(JOULES_SOURCE_DIR) + "/configs/architectures/";
const std::string kNano = std::string(JOULES_SOURCE_DIR) + "/profiles/jetson-nano.yaml";

// A small measured profile: conv and fc, energy only.
const char* kMeasured =
    "format: 1\n"
    "board: bench-board\n"
    "provenance: {kind: measured, sensor: INA3221, rails: [VDD_GPU]}\n"
    "energy:\n"
    "  target: energy_mj\n"
    "  overhead_mj: 1\n"
    "  models:\n"
    "    conv: {family: linear, mj_per_mac: 1e-08, mj_per_layer: 0.5}\n"
    "    fc: {family: linear, mj_per_mac: 1e-07, mj_per_layer: 0.25}\n";

TEST(EstimateCommandTest, JsonExtendsInspectWithEnergy) {
  const CommandResult inspect = run_joules({"inspect", kArchitectures + "alexnet.yaml", "--json"});
  const CommandResult r = run_joules({"estimate", kArchitectures + "alexnet.yaml", "--board", kNano, "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  const auto i = nlohmann::json::parse(inspect.out);
  for (const auto& [key, value] : i.items()) {
    if (key != "layers") {
      EXPECT_EQ(j[key], value) << key;
    }
  }
  EXPECT_EQ(j["board"], "jetson-nano");
  EXPECT_EQ(j["provenance"], "third-party");
  ASSERT_EQ(j["layers"].size(), i["layers"].size());
  double sum = j["overhead_mj"].get<double>();
  for (std::size_t k = 0; k < j["layers"].size(); ++k) {
    EXPECT_EQ(j["layers"][k]["macs"], i["layers"][k]["macs"]);
    EXPECT_GT(j["layers"][k]["energy_mj"].get<double>(), 0) << "layer " << k;
    sum += j["layers"][k]["energy_mj"].get<double>();
  }
  EXPECT_NEAR(j["energy_mj"].get<double>(), sum, 1e-9 * sum);
  EXPECT_LT(j["energy_band_mj"][0].get<double>(), j["energy_mj"].get<double>());
  EXPECT_GT(j["energy_band_mj"][1].get<double>(), j["energy_mj"].get<double>());
  EXPECT_GT(j["latency_ms"].get<double>(), 0);
  EXPECT_EQ(j["layers"][1]["priced_as"], "depthwise");  // a pool: no pool data on the Nano
  // The profile is third-party: stderr says so; stdout stays pure JSON.
  EXPECT_THAT(r.err, StartsWith("notice: profile jetson-nano is third-party data, not measured by joules"));
  EXPECT_THAT(r.err, HasSubstr("warning: layer 0 (conv): kernel 11 is outside the fitted range"));
  EXPECT_THAT(j["warnings"].dump(), HasSubstr("stride 4 is outside the fitted range [1, 1]"));
}

TEST(EstimateCommandTest, TableShowsPerLayerEnergyUnderANotice) {
  const CommandResult r = run_joules({"estimate", kArchitectures + "lenet5.yaml", "--board", kNano});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, StartsWith("NOTICE: profile jetson-nano is third-party data"));
  EXPECT_THAT(r.out, HasSubstr("energy mJ"));
  EXPECT_THAT(r.out, HasSubstr("latency ms"));
  EXPECT_THAT(r.out, HasSubstr("pool (as depthwise)"));
  EXPECT_THAT(r.out, HasSubstr("mJ per inference (90% band"));
  EXPECT_THAT(r.out, HasSubstr("warning: layer 1 (pool): the profile has no pool model"));
}

TEST(EstimateCommandTest, AMeasuredProfileNeedsNoNotice) {
  TempDir dir;
  const std::string board = dir.write("board.yaml", kMeasured);
  CommandResult r = run_joules({"estimate", kArchitectures + "lenet5.yaml", "--board", board, "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.err, Not(HasSubstr("notice")));
  const auto j = nlohmann::json::parse(r.out);
  // conv 0: 117,600 MACs; conv 2: 240,000; fc: 48,000 + 10,080 + 840; pools priced as conv.
  EXPECT_GT(j["energy_mj"].get<double>(), 1 + 3 * 0.5 + 3 * 0.25);
  EXPECT_FALSE(j.contains("latency_ms"));
  r = run_joules({"estimate", kArchitectures + "lenet5.yaml", "--board", board});
  EXPECT_THAT(r.out, StartsWith("board bench-board (measured)"));
  EXPECT_THAT(r.out, HasSubstr("mJ per inference (the profile has no cross-validated band)"));
}

TEST(EstimateCommandTest, BadInputExitsTwoWithOneErrorLine) {
  TempDir dir;
  std::string profile = kMeasured;
  profile.replace(profile.find("mj_per_mac: 1e-08"), 17, "mj_per_mac: -1");
  const std::string bad_board = dir.write("bad.yaml", profile);
  CommandResult r = run_joules({"estimate", kArchitectures + "lenet5.yaml", "--board", bad_board});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, StartsWith("error: " + bad_board + ":8: energy.models.conv.mj_per_mac: expected a number in [0, 1e+100]"));
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1);

  // A coefficient whose estimate would be inf is refused at load, before any estimate.
  profile = kMeasured;
  profile.replace(profile.find("mj_per_mac: 1e-08"), 17, "mj_per_mac: 1e308");
  const std::string huge_board = dir.write("huge.yaml", profile);
  r = run_joules({"estimate", kArchitectures + "lenet5.yaml", "--board", huge_board, "--json"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err, "error: " + huge_board +
                       ":8: energy.models.conv.mj_per_mac: expected a number in [0, 1e+100], got 1e+308\n");
  EXPECT_EQ(r.out, "");

  const std::string board = dir.write("board.yaml", kMeasured);
  const std::string arch = dir.write("arch.yaml", "input: [1, 8, 8]\nlayers:\n  - conv: {filters: 4, kernel: 9}\n");
  r = run_joules({"estimate", arch, "--board", board, "--json"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, StartsWith("error: " + arch + ":3: layers[0].conv.kernel: kernel 9x9 is larger"));
  EXPECT_EQ(r.out, "");

  r = run_joules({"estimate", kArchitectures + "lenet5.yaml"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("--board is required"));
}

TEST(EstimateCommandTest, BoardIsAProfilePathOrABoardNameAsInASearchConfig) {
  const std::string arch = kArchitectures + "lenet5.yaml";
  const CommandResult by_path = run_joules({"estimate", arch, "--board", kNano, "--json"});
  ASSERT_EQ(by_path.exit_code, 0) << by_path.err;
  // A name without '/' or ".yaml" is profiles/NAME.yaml.
  const CommandResult by_name = run_joules({"estimate", arch, "--board", "jetson-nano", "--json"});
  ASSERT_EQ(by_name.exit_code, 0) << by_name.err;
  EXPECT_EQ(by_name.out, by_path.out);

  const CommandResult unknown = run_joules({"estimate", arch, "--board", "no-such-board"});
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_THAT(unknown.err, StartsWith("error: command line: --board: no board profile at "));
  EXPECT_THAT(unknown.err, HasSubstr("profiles/no-such-board.yaml (see joules estimate --help)\n"));
  EXPECT_EQ(std::count(unknown.err.begin(), unknown.err.end(), '\n'), 1);

  const CommandResult missing_file = run_joules({"estimate", arch, "--board", "/no/such/board.yaml"});
  EXPECT_EQ(missing_file.exit_code, 2);
  EXPECT_THAT(missing_file.err, HasSubstr("--board: no board profile at /no/such/board.yaml"));
}

}  // namespace
}  // namespace joules::testing
