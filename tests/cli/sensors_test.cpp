// `joules sensors` as a user runs it, pointed at fake sysfs trees: the JSON contract, the table,
// what it says when nothing is found, and bad options.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

#include "tests/cli/run_command.hpp"
#include "tests/energy/profiling/fake_sysfs.hpp"
#include "tests/support/temp_dir.hpp"

namespace joules::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// NVML is looked for on every run; these tests steer it to an absent library unless they ask
// for the fake one, so that a GPU on the test machine changes nothing.
class SensorsCommandTest : public ::testing::Test {
 protected:
  void SetUp() override { ::setenv("JOULES_NVML_LIBRARY", "libnvidia-ml-absent-for-this-test.so.1", 1); }
  void TearDown() override { ::unsetenv("JOULES_NVML_LIBRARY"); }

  static nlohmann::json sensors_json(const TempDir& root) {
    const CommandResult r = run_joules({"sensors", "--sysfs-root", root.path().string(), "--json"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return nlohmann::json::parse(r.out);
  }
};

TEST_F(SensorsCommandTest, JsonFollowsTheContractOnAnL4tBoard) {
  TempDir root;
  write_tx2_l4t(root.path());
  const auto j = sensors_json(root);
  ASSERT_GE(j["sources"].size(), 2u);
  const auto& jetson = j["sources"][0];
  EXPECT_EQ(jetson["kind"], "jetson-ina3221");
  EXPECT_EQ(jetson["total_rail"], "VDD_IN+VDD_MUX");
  EXPECT_DOUBLE_EQ(jetson["total_power_mw"].get<double>(), 19000.0 * 300 / 1000 + 19000.0 * 200 / 1000);
  ASSERT_EQ(jetson["rails"].size(), 9u);
  const auto& vdd_in = jetson["rails"][3];
  EXPECT_EQ(vdd_in["name"], "VDD_IN");
  EXPECT_EQ(vdd_in["power_mw"], 5700.0);
  EXPECT_EQ(vdd_in["voltage_mv"], 19000.0);
  EXPECT_EQ(vdd_in["current_ma"], 300.0);
  EXPECT_EQ(jetson["module"], "Jetson TX2");
  EXPECT_FALSE(jetson["estimate"].get<bool>());
  // The timer estimate is always last and says what it is.
  const auto& estimate = j["sources"].back();
  EXPECT_EQ(estimate["kind"], "timer-estimate");
  EXPECT_TRUE(estimate["estimate"].get<bool>());
  EXPECT_THAT(estimate["description"].get<std::string>(), HasSubstr("ESTIMATE"));
}

TEST_F(SensorsCommandTest, HwmonRailsGivePowerFromVoltageAndCurrent) {
  TempDir root;
  write_agx_orin_hwmon(root.path());
  const auto j = sensors_json(root);
  const auto& jetson = j["sources"][0];
  EXPECT_EQ(jetson["kind"], "jetson-ina3221");
  EXPECT_EQ(jetson["total_rail"], "VDD_GPU_SOC+VDD_CPU_CV+VIN_SYS_5V0");
  ASSERT_EQ(jetson["rails"].size(), 4u);
  EXPECT_EQ(jetson["rails"][3]["name"], "VDDQ_VDD2_1V8AO");
  EXPECT_DOUBLE_EQ(jetson["rails"][0]["power_mw"].get<double>(), 4984.0 * 644 / 1000);
  EXPECT_DOUBLE_EQ(jetson["total_power_mw"].get<double>(), (4984.0 * 644 + 4984.0 * 160 + 4976.0 * 480) / 1000);
}

TEST_F(SensorsCommandTest, RaplPowerComesFromTheCounter) {
  TempDir root;
  write_rapl_zone(root.path(), "intel-rapl:0", "package-0", 123456);
  const auto j = sensors_json(root);
  const auto& rapl = j["sources"][0];
  EXPECT_EQ(rapl["kind"], "rapl");
  EXPECT_EQ(rapl["total_rail"], "package-0");
  EXPECT_EQ(rapl["rails"][0]["name"], "package-0");
  EXPECT_EQ(rapl["rails"][0]["power_mw"], 0.0);  // the fake counter does not move
  EXPECT_TRUE(rapl["rails"][0]["voltage_mv"].is_null());
}

TEST_F(SensorsCommandTest, NvmlFromTheLibraryInTheEnvironment) {
  ::setenv("JOULES_NVML_LIBRARY", FAKE_NVML_LIBRARY, 1);
  ::setenv("FAKE_NVML_ENERGY_SUPPORTED", "0", 1);
  ::setenv("FAKE_NVML_POWER_MW", "61000", 1);
  TempDir root;
  const auto j = sensors_json(root);
  ::unsetenv("FAKE_NVML_ENERGY_SUPPORTED");
  ::unsetenv("FAKE_NVML_POWER_MW");
  const auto& nvml = j["sources"][0];
  EXPECT_EQ(nvml["kind"], "nvml");
  EXPECT_EQ(nvml["rails"][0]["name"], "gpu0");
  EXPECT_EQ(nvml["rails"][0]["power_mw"], 61000.0);
  EXPECT_EQ(nvml["total_power_mw"], 61000.0);
}

TEST_F(SensorsCommandTest, NothingFoundStillWorksAndSaysWhy) {
  TempDir root;
  const auto j = sensors_json(root);
  ASSERT_EQ(j["sources"].size(), 1u);
  EXPECT_EQ(j["sources"][0]["kind"], "timer-estimate");
  EXPECT_EQ(j["sources"][0]["total_power_mw"], 10000.0);
  ASSERT_EQ(j["unavailable"].size(), 3u);
  EXPECT_EQ(j["unavailable"][0]["kind"], "jetson-ina3221");
  EXPECT_THAT(j["unavailable"][1]["reason"].get<std::string>(), HasSubstr("NVIDIA driver"));

  const CommandResult table = run_joules({"sensors", "--sysfs-root", root.path().string()});
  ASSERT_EQ(table.exit_code, 0) << table.err;
  EXPECT_THAT(table.out, HasSubstr("jetson-ina3221: not available: no INA3221 rails under " + root.path().string()));
  EXPECT_THAT(table.out, HasSubstr("rapl: not available: no RAPL zones"));
  EXPECT_THAT(table.out, HasSubstr("total estimate: 10000.0 mW  (ESTIMATE, not measured)"));
  EXPECT_THAT(table.out, HasSubstr("No power sensor found"));
}

TEST_F(SensorsCommandTest, TableListsRailsTotalAndRule) {
  TempDir root;
  write_agx_xavier_l4t(root.path());
  const CommandResult r = run_joules({"sensors", "--sysfs-root", root.path().string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("jetson-ina3221: Jetson AGX Xavier (model 'Jetson-AGX')"));
  EXPECT_THAT(r.out, HasSubstr("  SYS5V      1500.0      5000.0       300.0\n"));
  EXPECT_THAT(r.out, HasSubstr("total GPU+CPU+SOC+CV+VDDRQ+SYS5V: 5490.0 mW"));
  EXPECT_THAT(r.out, HasSubstr("board total rule: AGX Xavier: the sum of its six rails"));
  EXPECT_THAT(r.out, Not(HasSubstr("No power sensor found")));
}

TEST_F(SensorsCommandTest, FailedRailIsShownWithItsError) {
  TempDir root;
  const auto dir = write_l4t_chip(root.path(), "1-0040", "iio:device0", {{"VDD_IN", 5000, 1000}, {"VDD_GPU", 5000, 10}});
  overwrite(dir / "in_power0_input", "busy\n");
  const auto j = sensors_json(root);
  const auto& jetson = j["sources"][0];
  EXPECT_TRUE(jetson["rails"][0]["power_mw"].is_null());
  EXPECT_THAT(jetson["rails"][0]["error"].get<std::string>(), HasSubstr("in_power0_input: not a number: 'busy'"));
  EXPECT_TRUE(jetson["total_power_mw"].is_null());
}

// A FIFO (or device) in place of a sysfs attribute is refused, not read: reading it would wait
// forever for a writer. Run under timeout(1) so that a regression fails instead of hanging.
TEST_F(SensorsCommandTest, AFifoInPlaceOfAnAttributeIsRefusedWithoutBlocking) {
  TempDir root;
  const auto dir = write_l4t_chip(root.path(), "1-0040", "iio:device0", {{"VDD_IN", 5000, 1000}, {"VDD_GPU", 5000, 10}});
  std::filesystem::remove(dir / "in_power0_input");
  ASSERT_EQ(::mkfifo((dir / "in_power0_input").c_str(), 0644), 0);
  std::filesystem::remove(dir / "rail_name_1");
  ASSERT_EQ(::mkfifo((dir / "rail_name_1").c_str(), 0644), 0);
  const CommandResult r = run_command("/usr/bin/timeout", {"30", JOULES_BINARY, "sensors", "--sysfs-root",
                                                           root.path().string(), "--json"});
  ASSERT_EQ(r.exit_code, 0) << "124: it blocked on the FIFO\n" << r.err;
  const auto jetson = nlohmann::json::parse(r.out)["sources"][0];
  ASSERT_EQ(jetson["rails"].size(), 1u) << "the channel whose label is a FIFO is skipped";
  EXPECT_EQ(jetson["rails"][0]["error"].get<std::string>(),
            "refusing " + (dir / "in_power0_input").string() +
                ": it is a FIFO, not a sysfs attribute file (reading it could block)");
  EXPECT_THAT(jetson["warnings"].dump(), HasSubstr("rail_name_1: it is a FIFO"));
}

// Negative or absurd readings are faults: flagged in the JSON and the table, left out of the
// total.
TEST_F(SensorsCommandTest, AbsurdReadingsAreFaultsOutsideTheTotal) {
  TempDir root;
  // No input rail: the total is the sum of every rail.
  const auto dir = write_l4t_chip(root.path(), "1-0040", "iio:device0",
                                  {{"RAIL_A", 5000, 1000}, {"RAIL_B", 5000, 10}, {"RAIL_C", 5000, 20}});
  overwrite(dir / "in_power1_input", "9223372036854775807\n");
  overwrite(dir / "in_power2_input", "-250\n");
  const auto j = sensors_json(root);
  const auto& jetson = j["sources"][0];
  ASSERT_EQ(jetson["total_rail"], "RAIL_A+RAIL_B+RAIL_C");
  EXPECT_EQ(jetson["rails"][1]["fault"], "fault: power 9.223372036854776e+18 mW is outside [0, 10000000] mW");
  EXPECT_EQ(jetson["rails"][2]["fault"], "fault: power -250 mW is outside [0, 10000000] mW");
  EXPECT_FALSE(jetson["rails"][0].contains("fault"));
  EXPECT_EQ(jetson["total_power_mw"], 5000.0);
  EXPECT_EQ(jetson["total_excludes"], nlohmann::json::array({"RAIL_B", "RAIL_C"}));

  const CommandResult r = run_joules({"sensors", "--sysfs-root", root.path().string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("fault: power -250 mW is outside [0, 10000000] mW"));
  EXPECT_THAT(r.out, HasSubstr("total RAIL_A+RAIL_B+RAIL_C: 5000.0 mW  (excluding faulted RAIL_B+RAIL_C)"));
}

// Labels are the machine's text, not the terminal's commands.
TEST_F(SensorsCommandTest, ControlCharactersInLabelsArePrintedEscaped) {
  TempDir root;
  write_l4t_chip(root.path(), "1-0040", "iio:device0", {{"VDD_\x1b[2J\x1b]0;owned\x07IN", 5000, 1000}});
  const CommandResult r = run_joules({"sensors", "--sysfs-root", root.path().string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, Not(HasSubstr("\x1b")));
  EXPECT_THAT(r.out, Not(HasSubstr("\x07")));
  EXPECT_THAT(r.out, HasSubstr("VDD_\\x1b[2J\\x1b]0;owned\\x07IN"));
  const auto j = sensors_json(root);
  EXPECT_EQ(j["sources"][0]["rails"][0]["name"], "VDD_\x1b[2J\x1b]0;owned\x07IN") << "JSON escapes it itself";
}

TEST_F(SensorsCommandTest, BadOptionsAreUsageErrors) {
  CommandResult r = run_joules({"sensors", "--sysfs-root", "/no/such/root"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err, "error: --sysfs-root: /no/such/root: no such directory (see joules sensors --help)\n");
  r = run_joules({"sensors", "--estimate-power-mw", "-3"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("--estimate-power-mw: must be a positive number of mW, got -3"));
  r = run_joules({"sensors", "--estimate-power-mw", "watts"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("error: "));
}

// The example trees shipped under examples/sysfs/ (used by the docs), read as a user would.
std::string example_tree(const std::string& name) { return std::string(JOULES_SOURCE_DIR) + "/examples/sysfs/" + name; }

nlohmann::json example_json(const std::string& name) {
  const CommandResult r = run_joules({"sensors", "--sysfs-root", example_tree(name), "--json"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return nlohmann::json::parse(r.out);
}

TEST_F(SensorsCommandTest, ExampleJetsonNanoTreeGivesItsInputRail) {
  const auto j = example_json("jetson-nano-l4t");
  const auto& jetson = j["sources"][0];
  EXPECT_EQ(jetson["kind"], "jetson-ina3221");
  EXPECT_EQ(jetson["module"], "Jetson Nano");
  EXPECT_EQ(jetson["model"], "NVIDIA Jetson Nano Developer Kit");
  ASSERT_EQ(jetson["rails"].size(), 3u);
  EXPECT_EQ(jetson["rails"][0]["name"], "POM_5V_IN");
  EXPECT_EQ(jetson["rails"][0]["voltage_mv"], 5008.0);
  EXPECT_EQ(jetson["rails"][0]["current_ma"], 760.0);
  EXPECT_EQ(jetson["total_rail"], "POM_5V_IN");
  EXPECT_EQ(jetson["total_power_mw"], 3806.0);  // in_power0_input, as L4T computes it
}

TEST_F(SensorsCommandTest, ExampleJetsonTx2TreeAddsTheCarrierInput) {
  const auto j = example_json("jetson-tx2-l4t");
  const auto& jetson = j["sources"][0];
  EXPECT_EQ(jetson["module"], "Jetson TX2");
  ASSERT_EQ(jetson["rails"].size(), 9u);  // three chips, 0-0040 to 0-0042
  EXPECT_EQ(jetson["total_rail"], "VDD_IN+VDD_MUX");
  EXPECT_EQ(jetson["total_power_mw"], 5802.0 + 3394.0);
  EXPECT_THAT(jetson.value("warnings", nlohmann::json::array()), ::testing::IsEmpty());
}

TEST_F(SensorsCommandTest, ExampleAgxOrinTreeSkipsUnconnectedChannels) {
  const auto j = example_json("jetson-agx-orin-hwmon");
  const auto& jetson = j["sources"][0];
  EXPECT_EQ(jetson["module"], "Jetson AGX Orin");
  ASSERT_EQ(jetson["rails"].size(), 4u);  // the two NC channels of 1-0041 are not rails
  EXPECT_EQ(jetson["rails"][3]["name"], "VDDQ_VDD2_1V8AO");
  EXPECT_EQ(jetson["total_rail"], "VDD_GPU_SOC+VDD_CPU_CV+VIN_SYS_5V0");
  EXPECT_DOUBLE_EQ(jetson["total_power_mw"].get<double>(), (4984.0 * 644 + 4984.0 * 160 + 4976.0 * 480) / 1000);
}

TEST_F(SensorsCommandTest, ExampleRaplTreeTotalsOnPsysAndLeavesMmioOut) {
  const auto j = example_json("rapl");
  const auto& rapl = j["sources"][0];
  EXPECT_EQ(rapl["kind"], "rapl");
  EXPECT_EQ(rapl["total_rail"], "psys");
  std::vector<std::string> names;
  for (const auto& rail : rapl["rails"]) names.push_back(rail["name"]);
  EXPECT_THAT(names, ::testing::UnorderedElementsAre("package-0", "package-0/core", "package-0/uncore",
                                                     "package-0/dram", "psys"));
  EXPECT_EQ(j["unavailable"][0]["kind"], "jetson-ina3221");
}

// README.md shows `joules sensors` on the TX2 example tree; its Jetson lines must be what the
// command prints today (the NVML and RAPL lines depend on the machine).
TEST_F(SensorsCommandTest, ReadmeShowsTheTx2ExampleAsItRuns) {
  std::ifstream in(std::string(JOULES_SOURCE_DIR) + "/README.md");
  std::stringstream readme;
  readme << in.rdbuf();
  const std::string command = "$ ./build/joules sensors --sysfs-root examples/sysfs/jetson-tx2-l4t\n";
  const auto start = readme.str().find(command);
  ASSERT_NE(start, std::string::npos) << "README.md no longer shows the TX2 example";
  const auto shown_start = start + command.size();
  const auto shown_end = readme.str().find("\nnvml:", shown_start);
  ASSERT_NE(shown_end, std::string::npos);
  const std::string shown = readme.str().substr(shown_start, shown_end + 1 - shown_start);

  const CommandResult r = run_joules({"sensors", "--sysfs-root", example_tree("jetson-tx2-l4t")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::string printed = r.out;
  const std::string absolute = std::string(JOULES_SOURCE_DIR) + "/";
  for (auto at = printed.find(absolute); at != std::string::npos; at = printed.find(absolute, at)) {
    printed.erase(at, absolute.size());
  }
  EXPECT_EQ(printed.substr(0, shown.size()), shown);
}

TEST_F(SensorsCommandTest, RaplPermissionDeniedIsExplained) {
  TempDir root;
  const auto zone = write_rapl_zone(root.path(), "intel-rapl:0", "package-0", 1000);
  ASSERT_EQ(::chmod((zone / "energy_uj").c_str(), 0400), 0);
  // Run joules as nobody, as a user without root would.
  std::vector<std::string> args = {"--reuid=65534", "--regid=65534", "--clear-groups", JOULES_BINARY, "sensors",
                                   "--sysfs-root", root.path().string()};
  const CommandResult r = ::geteuid() == 0 ? run_command("/usr/bin/setpriv", args)
                                           : run_joules({"sensors", "--sysfs-root", root.path().string()});
  if (::geteuid() == 0 && r.exit_code == 127) GTEST_SKIP() << "setpriv is not available to drop root privileges";
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("rapl: not available: permission denied reading " + (zone / "energy_uj").string()));
  EXPECT_THAT(r.out, HasSubstr("CVE-2020-8694"));
}

}  // namespace
}  // namespace joules::testing
