// `joules measure -- COMMAND` as a user runs it: against a fake Jetson Nano INA3221 tree whose
// board-input power the measured command itself changes while it runs (energy within 2% of the
// integral of what it wrote, idle power subtracted), against the timer estimate, the command's
// exit status passed on, Ctrl-C stopping both (exit 130), --compare, and bad input.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sstream>

#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "tests/cli/run_command.hpp"
#include "tests/energy/profiling/fake_sysfs.hpp"
#include "tests/support/temp_dir.hpp"

namespace joules::testing {
namespace {

using ::testing::HasSubstr;

class MeasureCommandTest : public ::testing::Test {
 protected:
  void SetUp() override { ::setenv("JOULES_NVML_LIBRARY", "libnvidia-ml-absent-for-this-test.so.1", 1); }
  void TearDown() override { ::unsetenv("JOULES_NVML_LIBRARY"); }
  TempDir dir_;
};

std::string read_all(const std::filesystem::path& file) {
  std::ifstream in(file);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// The Nano's board input POM_5V_IN reads 5000 mV x 600 mA = 3000 mW while idle. The command
// rewrites its power in place (`1<>` opens without truncating, as a sysfs attribute changes):
// 8000 mW for one second, then 2000 mW for half a second.
TEST_F(MeasureCommandTest, EnergyOfAFakeInaTreeIsTheIntegralOfWhatTheCommandWrote) {
  write_nano_l4t(dir_.path());
  const auto power = dir_.path() / "sys/bus/i2c/drivers/ina3221x/6-0040/iio:device0/in_power0_input";
  ASSERT_TRUE(std::filesystem::exists(power));
  const std::string script = dir_.write("load.sh", "printf 8000 1<> \"$1\"\nsleep 1\nprintf 2000 1<> \"$1\"\nsleep 0.5\n");
  const CommandResult r = run_joules({"measure", "--sysfs-root", dir_.path().string(), "--sensor", "jetson", "--rails",
                                      "POM_5V_IN", "--idle-s", "0.5", "--rate-hz", "200", "--inferences", "100", "--json",
                                      "--", "/bin/sh", script, power.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["sensor"], "jetson-ina3221");
  EXPECT_EQ(j["exit_status"], 0);
  const double duration = j["duration_s"];
  EXPECT_GE(duration, 1.5);
  EXPECT_LT(duration, 2.5);
  EXPECT_GE(j["samples"].get<double>(), 100 * duration);  // at least 100 Hz
  // The integral of what the command wrote: 8000 mW for 1 s, 2000 mW for the rest.
  const double expected = 8000 * 1.0 + 2000 * (duration - 1.0);
  const auto& total = j["total"];
  EXPECT_EQ(total["name"], "POM_5V_IN");
  EXPECT_NEAR(total["energy_mj"].get<double>(), expected, 0.02 * expected);
  EXPECT_NEAR(total["idle_power_mw"].get<double>(), 3000, 1e-6);
  const double dynamic = expected - 3000 * duration;
  EXPECT_NEAR(total["dynamic_energy_mj"].get<double>(), dynamic, 0.02 * expected);
  EXPECT_NEAR(total["energy_per_inference_mj"].get<double>(), total["energy_mj"].get<double>() / 100, 1e-9);
  EXPECT_NEAR(total["dynamic_energy_per_inference_mj"].get<double>(), total["dynamic_energy_mj"].get<double>() / 100, 1e-9);
  EXPECT_NEAR(total["mean_power_mw"].get<double>(), total["energy_mj"].get<double>() / duration, 1e-6 * expected);
  ASSERT_EQ(j["rails"].size(), 1u);
  EXPECT_EQ(j["rails"][0], total);
}

TEST_F(MeasureCommandTest, EveryRailAndTheTotalArePrintedAsATable) {
  write_nano_l4t(dir_.path());
  const CommandResult r = run_joules({"measure", "--sysfs-root", dir_.path().string(), "--idle-s", "0.2", "--", "sleep", "0.3"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("jetson-ina3221: "));
  EXPECT_THAT(r.out, HasSubstr("idle measured for"));
  EXPECT_THAT(r.out, HasSubstr("mean mW"));
  EXPECT_THAT(r.out, HasSubstr("dynamic mJ"));
  EXPECT_THAT(r.out, HasSubstr("total "));
}

TEST_F(MeasureCommandTest, OneRailIsOneRowNotARailAndItsTotal) {
  const CommandResult r = run_joules({"measure", "--sysfs-root", dir_.path().string(), "--sensor", "timer",
                                      "--estimate-power-mw", "5000", "--idle-s", "0.2", "--", "sleep", "0.2"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::size_t rows = 0;
  std::istringstream lines(r.out);
  for (std::string line; std::getline(lines, line);) {
    if (line.find("mean mW") == std::string::npos && line.find(" mJ") == std::string::npos &&
        line.rfind("  ", 0) == 0) {
      ++rows;  // a table row: indented, not the header
    }
  }
  EXPECT_EQ(rows, 1u) << r.out;
  EXPECT_THAT(r.out, HasSubstr("total "));
}

TEST_F(MeasureCommandTest, TimerEstimateIsPowerTimesTimeAndSaysSo) {
  const CommandResult r = run_joules({"measure", "--sysfs-root", dir_.path().string(), "--sensor", "timer",
                                      "--estimate-power-mw", "5000", "--idle-s", "0.2", "--inferences", "4", "--json",
                                      "--", "sleep", "0.4"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["estimate"], true);
  const double duration = j["duration_s"];
  EXPECT_GE(duration, 0.4);
  EXPECT_NEAR(j["total"]["energy_mj"].get<double>(), 5000 * duration, 0.02 * 5000 * duration);
  // Idle and busy power are the same constant: nothing is dynamic.
  EXPECT_NEAR(j["total"]["dynamic_energy_mj"].get<double>(), 0, 1e-6 * 5000 * duration);
  EXPECT_NEAR(j["total"]["energy_per_inference_mj"].get<double>(), j["total"]["energy_mj"].get<double>() / 4, 1e-9);
  EXPECT_NEAR(j["idle_s"].get<double>(), 0.2, 0.1);

  const CommandResult table = run_joules({"measure", "--sysfs-root", dir_.path().string(), "--sensor", "timer",
                                          "--idle-s", "0", "--", "true"});
  ASSERT_EQ(table.exit_code, 0) << table.err;
  EXPECT_THAT(table.out, HasSubstr("NOTICE: timer estimate"));
}

TEST_F(MeasureCommandTest, TheCommandsExitStatusIsPassedOn) {
  const std::vector<std::string> base{"measure", "--sysfs-root", dir_.path().string(), "--sensor", "timer", "--idle-s", "0", "--json", "--"};
  auto args = base;
  args.insert(args.end(), {"/bin/sh", "-c", "exit 3"});
  CommandResult r = run_joules(args);
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out)["exit_status"], 3);
  args = base;
  args.insert(args.end(), {"/bin/sh", "-c", "kill -TERM $$"});
  r = run_joules(args);
  EXPECT_EQ(r.exit_code, 128 + SIGTERM) << r.err;
}

TEST_F(MeasureCommandTest, CtrlCStopsTheCommandAndExits130) {
  const std::string pid_file = (dir_.path() / "child.pid").string();
  const std::string out = (dir_.path() / "out.txt").string();
  const int pid = start_command(JOULES_BINARY, {"measure", "--sysfs-root", dir_.path().string(), "--sensor", "timer",
                                                "--idle-s", "0", "--", "/bin/sh", "-c", "echo $$ > " + pid_file + "; exec sleep 60"},
                                out, out + ".err");
  for (int i = 0; i < 500 && read_all(pid_file).empty(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  const std::string child_text = read_all(pid_file);
  ASSERT_FALSE(child_text.empty()) << read_all(out + ".err");
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  const auto start = std::chrono::steady_clock::now();
  ASSERT_EQ(kill(pid, SIGINT), 0);
  EXPECT_EQ(wait_command(pid), 130) << read_all(out + ".err");
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
  EXPECT_THAT(read_all(out), HasSubstr("interrupted"));
  // The command is gone too.
  const int child = std::stoi(child_text);
  EXPECT_NE(kill(child, 0), 0);
}

TEST_F(MeasureCommandTest, CompareAddsTheEstimateItsBandAndTheError) {
  const std::string arch = dir_.write("net.yaml", "name: net\ninput: [3, 32, 32]\nlayers:\n  - conv: {filters: 16, kernel: 3, padding: 1}\n  - fc: {units: 10}\n");
  const std::string profile = std::string(JOULES_SOURCE_DIR) + "/profiles/jetson-nano.yaml";
  const CommandResult est = run_joules({"estimate", arch, "--board", profile, "--json"});
  ASSERT_EQ(est.exit_code, 0) << est.err;
  const double estimate = nlohmann::json::parse(est.out)["energy_mj"];
  const CommandResult r = run_joules({"measure", "--sysfs-root", dir_.path().string(), "--sensor", "timer", "--idle-s", "0",
                                      "--inferences", "10", "--compare", arch, "--board", profile, "--json", "--", "sleep", "0.1"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  const auto& c = j["compare"];
  EXPECT_EQ(c["board"], "jetson-nano");
  EXPECT_NEAR(c["estimate_mj"].get<double>(), estimate, 1e-9 * estimate);
  const double measured = j["total"]["energy_per_inference_mj"];
  EXPECT_NEAR(c["measured_mj"].get<double>(), measured, 1e-12);
  EXPECT_NEAR(c["error_pct"].get<double>(), 100 * (estimate / measured - 1), 1e-6);
  EXPECT_LE(c["band_mj"][0].get<double>(), estimate);
  EXPECT_GE(c["band_mj"][1].get<double>(), estimate);
}

TEST_F(MeasureCommandTest, BadInputIsAUsageErrorAndRunsNothing) {
  const std::string marker = (dir_.path() / "ran").string();
  CommandResult r = run_joules({"measure", "--sensor", "timer", "--idle-s", "0", "--", "no-such-command-here"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("error: COMMAND: cannot run 'no-such-command-here': No such file or directory"));
  r = run_joules({"measure", "--sensor", "timer", "--compare", "x.yaml", "--", "touch", marker});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("--board"));
  r = run_joules({"measure", "--sensor", "timer", "--idle-s", "0", "--inferences", "3", "--compare", "/no/such.yaml",
                  "--board", "jetson-nano", "--", "touch", marker});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_THAT(r.err, HasSubstr("/no/such.yaml"));
  r = run_joules({"measure", "--sensor", "bogus", "--", "touch", marker});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("--sensor"));
  EXPECT_FALSE(std::filesystem::exists(marker));
}

}  // namespace
}  // namespace joules::testing
