// `joules split` as a user runs it: the JSON contract, every row recomputed from `joules
// estimate`'s per-layer energies and `joules inspect`'s shapes, the plot, and bad input.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <tuple>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/cli/run_command.hpp"
#include "tests/support/temp_dir.hpp"

namespace joules::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

const std::string kArchitectures = std::string(JOULES_SOURCE_DIR) + "/configs/architectures/";
const std::string kNano = std::string(JOULES_SOURCE_DIR) + "/profiles/jetson-nano.yaml";

TEST(SplitCommandTest, RowsAreTheEstimatesLayersPlusTheRadio) {
  const std::string arch = kArchitectures + "lenet5.yaml";
  const CommandResult e = run_joules({"estimate", arch, "--board", kNano, "--json"});
  ASSERT_EQ(e.exit_code, 0) << e.err;
  const double mbps = 20, mw = 800;
  const CommandResult r = run_joules({"split", arch, "--board", kNano, "--uplink-mbps", "20", "--radio-mw", "800",
                                      "--bytes-per-value", "2", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto est = nlohmann::json::parse(e.out);
  const auto j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j.size(), 2u);  // exactly "splits" and "best"
  const auto& layers = est["layers"];
  ASSERT_EQ(j["splits"].size(), layers.size() + 1);
  double device = 0, best = 1e300;
  std::size_t best_k = 0;
  for (std::size_t k = 0; k < j["splits"].size(); ++k) {
    const auto& row = j["splits"][k];
    EXPECT_EQ(row.size(), 6u);
    EXPECT_EQ(row["after_layer"], k);
    if (k > 0) device += layers[k - 1]["energy_mj"].get<double>();
    const double expected_device = k > 0 ? device + est["overhead_mj"].get<double>() : 0.0;
    EXPECT_NEAR(row["device_energy_mj"].get<double>(), expected_device, 1e-9 * (1 + expected_device));
    std::int64_t values = 0;
    if (k == 0) {
      values = est["input"][0].get<std::int64_t>() * est["input"][1].get<std::int64_t>() * est["input"][2].get<std::int64_t>();
    } else if (k < layers.size()) {
      const auto& o = layers[k - 1]["output"];
      values = o[0].get<std::int64_t>() * o[1].get<std::int64_t>() * o[2].get<std::int64_t>();
    }
    EXPECT_EQ(row["bytes"], values * 2) << k;
    const double radio = static_cast<double>(values * 2) * 8 / (mbps * 1e6) * mw;
    EXPECT_NEAR(row["radio_energy_mj"].get<double>(), radio, 1e-12 + 1e-9 * radio);
    EXPECT_NEAR(row["total_energy_mj"].get<double>(), expected_device + radio, 1e-9 * (1 + expected_device + radio));
    EXPECT_TRUE(row["latency_ms"].is_number());  // the Nano profile models latency
    if (expected_device + radio < best) {
      best = expected_device + radio;
      best_k = k;
    }
  }
  EXPECT_EQ(j["best"], best_k);
  EXPECT_NEAR(j["splits"].back()["device_energy_mj"].get<double>(), est["energy_mj"].get<double>(), 1e-9);
}

TEST(SplitCommandTest, TableMarksTheBestAndThePlotIsWritten) {
  TempDir dir;
  const std::string svg = (dir.path() / "split.svg").string();
  const CommandResult r = run_joules({"split", kArchitectures + "alexnet.yaml", "--board", kNano, "--uplink-mbps",
                                      "5", "--radio-mw", "1000", "--svg", svg});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("<- best"));
  EXPECT_THAT(r.out, HasSubstr("(send the input)"));
  EXPECT_THAT(r.out, HasSubstr("NOTICE: profile jetson-nano"));
  ASSERT_TRUE(std::filesystem::exists(svg));
  std::ifstream in(svg);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_THAT(text, StartsWith("<svg"));
  EXPECT_THAT(text, HasSubstr("best: after layer"));
}

TEST(SplitCommandTest, BadLinkExitsTwoWithOneLineAndWritesNothing) {
  TempDir dir;
  const std::string svg = (dir.path() / "split.svg").string();
  for (const auto& [flag, value, message] : std::vector<std::tuple<std::string, std::string, std::string>>{
           {"--uplink-mbps", "-3", "--uplink-mbps: -3 is not a bandwidth"},
           {"--radio-mw", "-1", "--radio-mw: -1 is not a power"},
           {"--bytes-per-value", "3", "--bytes-per-value: 3: expected 4 (float32), 2 (half) or 1 (int8)"}}) {
    std::vector<std::string> args{"split", kArchitectures + "lenet5.yaml", "--board", kNano, "--svg", svg};
    for (const std::string f : {"--uplink-mbps", "--radio-mw"}) {
      if (f != flag) args.insert(args.end(), {f, "10"});
    }
    args.insert(args.end(), {flag, value});
    const CommandResult r = run_joules(args);
    EXPECT_EQ(r.exit_code, 2) << flag;
    EXPECT_THAT(r.err, StartsWith("error: command line: " + message)) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_FALSE(std::filesystem::exists(svg));
  }
}

}  // namespace
}  // namespace joules::testing
