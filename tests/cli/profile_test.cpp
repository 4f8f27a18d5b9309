// `joules profile` as a user runs it, with the timer estimate on tiny grids and short windows:
// a run and its fit, a run killed with SIGKILL and run again, a torn last line, Ctrl-C, and bad
// input (exit 2, one error line, nothing written).

#include <signal.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "energy/measurements.hpp"
#include "energy/profiling/grid.hpp"
#include "energy/profiling/profile_run.hpp"
#include "tests/cli/run_command.hpp"
#include "tests/support/temp_dir.hpp"
#include "util/csv.hpp"

namespace joules::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::MatchesRegex;
using ::testing::Not;
using ::testing::StartsWith;

std::string read(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::size_t data_lines(const std::filesystem::path& csv) {
  const std::string text = read(csv);
  std::size_t lines = 0;
  for (char c : text) lines += c == '\n';
  return lines == 0 ? 0 : lines - 1;  // complete lines after the header
}

// 30 small conv layers and a few fc layers.
const char* const kGrid = R"(conv:
  - {name: filters, input_size: 8, in_channels: 4, filters: {from: 1, to: 30}, kernel: 3, padding: same}
fc:
  - {inputs: 32, outputs: [4, 8, 16, 32]}
)";
constexpr std::size_t kGridPoints = 34;

class ProfileCommandTest : public ::testing::Test {
 protected:
  ProfileCommandTest() : grid_(dir_.write("grid.yaml", kGrid)), out_((dir_.path() / "run").string()) {}

  // The command, with windows of `window_s` (the timer estimate: no idle window).
  std::vector<std::string> args(double window_s = 0.004) const {
    return {"profile", "--board", "cli-test", "--grid", grid_, "--out", out_, "--sensor", "timer", "--min-window-s",
            fmt::format("{}", window_s), "--repeats", "2", "--cooldown-s", "0", "--warmup-s", "0", "--device", "cpu"};
  }

  std::filesystem::path csv() const { return std::filesystem::path(out_) / "measurements.csv"; }

  // Every grid point appears exactly once in the CSV, which parses.
  void expect_each_point_once() const {
    const profiling::ProfileGrid grid = profiling::load_profile_grid(grid_);
    const LayerMeasurementSet rows = read_layer_measurements(csv().string());
    std::map<std::string, int> count;
    for (const auto& m : rows.rows) ++count[profiling::point_key(m.input, m.layer)];
    EXPECT_EQ(count.size(), grid.points.size());
    for (const auto& p : grid.points) EXPECT_EQ(count[profiling::point_key(p.input, p.layer)], 1) << describe(p.layer);
  }

  // Starts the command in the background and waits until it has written `rows` rows.
  int start_and_wait_for_rows(const std::vector<std::string>& a, std::size_t rows) {
    const int pid = start_command(JOULES_BINARY, a, (dir_.path() / "out.txt").string(), (dir_.path() / "err.txt").string());
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (std::chrono::steady_clock::now() < deadline) {
      if (std::filesystem::exists(csv()) && data_lines(csv()) >= rows) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return pid;
  }

  TempDir dir_;
  std::string grid_;
  std::string out_;
};

TEST_F(ProfileCommandTest, ProfilesAGridAndFitsAProfileLabelledAsAnEstimateWithItsCalibration) {
  // A calibration of the timer estimate's rail: external = 1.5 x internal (10000 -> 15000 mW).
  const std::string cal = dir_.write("cal.csv", "rail,internal_mw,external_mw\nestimate,1000,1500\nestimate,2000,3000\n");
  std::vector<std::string> a = args();
  a.insert(a.end(), {"--calibration", cal});
  const CommandResult r = run_joules(a);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.err, HasSubstr("notice: energy will be an ESTIMATE (measured time x 10000 mW, the timer estimate)"));
  EXPECT_THAT(r.out, HasSubstr(fmt::format("cli-test: measured {} points in", kGridPoints)));
  EXPECT_THAT(r.out, HasSubstr("(energy: ESTIMATE)"));
  const std::string provenance = (std::filesystem::path(out_) / "provenance.yaml").string();
  EXPECT_THAT(r.out, HasSubstr(fmt::format("next: joules fit --layers {} --provenance {} --out profiles/cli-test.yaml",
                                           csv().string(), provenance)));
  expect_each_point_once();
  const std::string text = read(csv());
  EXPECT_THAT(text, HasSubstr(",15000,0,false,timer-estimate,true,estimate,estimate: 1.5 x internal +0 mW,\"cpu: "));
  for (const auto& m : read_layer_measurements(csv().string()).rows) {
    EXPECT_NEAR(m.energy_mj / (15000 * *m.latency_ms * 1e-3), 1.0, 1e-9);
  }
  EXPECT_THAT(text, HasSubstr("; 1 intra-op thread\",1,\"LibTorch "));
  // The runtime and its version, as the software column says it.
  const CsvTable table = CsvTable::parse(text, csv().string());
  for (std::size_t i = 0; i < table.rows(); ++i) {
    EXPECT_EQ(table.text(i, table.column("runtime")), "libtorch");
    const std::string version = table.text(i, table.column("runtime_version"));
    EXPECT_THAT(version, MatchesRegex("[0-9]+\\.[0-9]+.*"));
    EXPECT_THAT(table.text(i, table.column("software")), StartsWith("LibTorch " + version + ", "));
  }

  const std::string profile = (dir_.path() / "cli-test.yaml").string();
  const CommandResult fit = run_joules({"fit", "--layers", csv().string(), "--provenance", provenance, "--out", profile,
                                        "--model", "linear"});
  ASSERT_EQ(fit.exit_code, 0) << fit.err;
  EXPECT_THAT(fit.err, HasSubstr("notice: profile cli-test's energy figures are an ESTIMATE"));
  const std::string yaml = read(profile);
  EXPECT_THAT(yaml, HasSubstr("kind: measured"));
  EXPECT_THAT(yaml, HasSubstr("estimate: true"));
  EXPECT_THAT(yaml, HasSubstr("ENERGY IS AN ESTIMATE"));
  EXPECT_THAT(yaml, HasSubstr("calibrations:"));
  EXPECT_THAT(yaml, HasSubstr("- {rail: estimate, gain: 1.5, offset_mw: 0, points: 2, r_squared: 1"));

  const CommandResult estimate = run_joules(
      {"estimate", std::string(JOULES_SOURCE_DIR) + "/configs/architectures/lenet5.yaml", "--board", profile});
  ASSERT_EQ(estimate.exit_code, 0) << estimate.err;
  EXPECT_THAT(estimate.out, StartsWith("NOTICE: profile cli-test's energy figures are an ESTIMATE"));
}

TEST_F(ProfileCommandTest, JsonPrintsOneSummaryAndBoardTakesAProfilePath) {
  std::vector<std::string> a = args();
  ASSERT_EQ(a[1], "--board");
  a[2] = "profiles/cli-test.yaml";  // a profile's path names the board cli-test
  a.push_back("--json");
  CommandResult r = run_joules(a);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  nlohmann::json j = nlohmann::json::parse(r.out);  // one object, nothing else on stdout
  EXPECT_EQ(j["board"], "cli-test");
  EXPECT_EQ(j["csv"], csv().string());
  EXPECT_EQ(j["provenance"], (std::filesystem::path(out_) / "provenance.yaml").string());
  EXPECT_EQ(j["grid_points"], kGridPoints);
  EXPECT_EQ(j["measured"], kGridPoints);
  EXPECT_EQ(j["already_measured"], 0);
  EXPECT_EQ(j["left"], 0);
  EXPECT_EQ(j["estimate"], true);
  EXPECT_EQ(j["interrupted"], false);
  EXPECT_GE(j["seconds"].get<double>(), 0.0);
  EXPECT_THAT(read(std::filesystem::path(out_) / "provenance.yaml"), HasSubstr("board: cli-test"));
  expect_each_point_once();

  // Run again (the name this time): the same board, nothing left to measure.
  a[2] = "cli-test";
  r = run_joules(a);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["measured"], 0);
  EXPECT_EQ(j["already_measured"], kGridPoints);
}

TEST_F(ProfileCommandTest, AKilledRunRunAgainMeasuresEveryPointExactlyOnce) {
  const int pid = start_and_wait_for_rows(args(0.01), 4);
  ASSERT_EQ(kill(pid, SIGKILL), 0);
  EXPECT_EQ(wait_command(pid), 128 + SIGKILL);
  const std::size_t before = data_lines(csv());
  ASSERT_GE(before, 4u);
  ASSERT_LT(before, kGridPoints) << "the run finished before it was killed";

  const CommandResult r = run_joules(args(0.01));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // A kill during an append leaves a torn line, which is measured again.
  EXPECT_THAT(r.out, MatchesRegex(fmt::format(".*measured [0-9]+ points in .* \\(({}|{}) of {} were already there\\).*",
                                              before, before + 1, kGridPoints)));
  expect_each_point_once();
}

TEST_F(ProfileCommandTest, ATornLastLineIsDroppedAndMeasuredAgain) {
  ASSERT_EQ(run_joules(args()).exit_code, 0);
  std::string text = read(csv());
  text.pop_back();
  text.resize(text.rfind('\n') + 40);  // the kill struck 40 bytes into the last line
  std::ofstream(csv(), std::ios::binary | std::ios::trunc) << text;

  const CommandResult r = run_joules(args());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.err, HasSubstr(fmt::format("notice: {}: dropped a torn last line (39 bytes", csv().string())));
  EXPECT_THAT(r.out, HasSubstr(fmt::format("measured 1 point in")));
  expect_each_point_once();
}

// A LibTorch run started by the joules before the CSV recorded the runtime resumes: its rows
// gain "libtorch" and an empty version, and only the points it lacks are measured.
TEST_F(ProfileCommandTest, ARunFromBeforeTheRuntimeColumnsResumes) {
  ASSERT_EQ(run_joules(args()).exit_code, 0);
  std::string old;
  {
    std::istringstream lines(read(csv()));
    std::string line;
    int kept = 0;
    while (std::getline(lines, line) && kept < 11) {  // the header and 10 rows, without the two columns
      line.resize(line.rfind(','));
      line.resize(line.rfind(','));
      old += line + "\n";
      ++kept;
    }
  }
  std::ofstream(csv(), std::ios::binary | std::ios::trunc) << old;
  ASSERT_THAT(old, Not(HasSubstr("runtime")));

  const CommandResult r = run_joules(args());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.err, HasSubstr("without the runtime columns; its 10 rows now say runtime libtorch"));
  EXPECT_THAT(r.out, HasSubstr(fmt::format("(10 of {} were already there)", kGridPoints)));
  expect_each_point_once();
  const std::string text = read(csv());
  EXPECT_THAT(text, StartsWith(profiling::profile_csv_header() + "\n"));
  std::istringstream lines(text);
  std::string line;
  std::getline(lines, line);
  for (int i = 0; i < 10 && std::getline(lines, line); ++i) EXPECT_THAT(line, ::testing::EndsWith(",libtorch,")) << i;
}

TEST_F(ProfileCommandTest, CtrlCStopsAfterTheCurrentPointWithExit130) {
  const int pid = start_and_wait_for_rows(args(0.02), 2);
  ASSERT_EQ(kill(pid, SIGINT), 0);
  EXPECT_EQ(wait_command(pid), 130) << read(dir_.path() / "err.txt");
  const std::string out = read(dir_.path() / "out.txt");
  EXPECT_THAT(out, HasSubstr("interrupted: "));
  EXPECT_THAT(out, HasSubstr("run the same command again to measure them"));
  const std::string text = read(csv());
  EXPECT_EQ(text.back(), '\n');
  const std::size_t rows = read_layer_measurements(csv().string()).rows.size();
  EXPECT_LT(rows, kGridPoints);
  EXPECT_THAT(out, HasSubstr(fmt::format("interrupted: {} points left", kGridPoints - rows)));

  ASSERT_EQ(run_joules(args(0.02)).exit_code, 0);
  expect_each_point_once();
}

// Two profiles into one directory would measure every point twice: the second is refused,
// naming the first; SIGTERM (what schedulers send) stops the first like Ctrl-C.
TEST_F(ProfileCommandTest, ASecondRunIntoTheSameDirectoryIsRefusedAndSigtermStopsLikeCtrlC) {
  const int pid = start_and_wait_for_rows(args(0.1), 1);
  const CommandResult second = run_joules(args(0.1));
  EXPECT_EQ(second.exit_code, 1);
  EXPECT_THAT(second.err, HasSubstr(fmt::format("error: {} is in use by pid {} (joules profile)", out_, pid)));
  ASSERT_EQ(kill(pid, SIGTERM), 0);
  EXPECT_EQ(wait_command(pid), 130) << read(dir_.path() / "err.txt");
  EXPECT_THAT(read(dir_.path() / "out.txt"), HasSubstr("run the same command again to measure them"));
  ASSERT_EQ(run_joules(args(0.1)).exit_code, 0);
  expect_each_point_once();
}

TEST_F(ProfileCommandTest, ARerunWithAnotherSetupIsRefused) {
  ASSERT_EQ(run_joules(args()).exit_code, 0);
  const std::string before = read(csv());
  std::vector<std::string> other = args();
  other.insert(other.end(), {"--estimate-power-mw", "5000"});
  const CommandResult r = run_joules(other);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, StartsWith("error: " + out_ + "/provenance.yaml:5: provenance.sensor: the measurements here were "
                                "taken with 'timer-estimate: ESTIMATE, not a measurement: elapsed time x 10000 mW"));
  EXPECT_EQ(read(csv()), before);
}

struct BadRun {
  const char* name;
  std::vector<std::string> options;  // flags and values set over a good command line
  const char* grid;                  // replaces the good grid when set
  const char* expected;              // in the one error line
  int exit_code = 2;
  const char* calibration = nullptr;  // written to DIR/cal.csv when set
  friend void PrintTo(const BadRun& b, std::ostream* os) { *os << b.name; }
};

class ProfileCommandErrorTest : public ProfileCommandTest, public ::testing::WithParamInterface<BadRun> {};

TEST_P(ProfileCommandErrorTest, ExitsWithOneErrorLineAndWritesNothing) {
  if (GetParam().grid) dir_.write("grid.yaml", GetParam().grid);
  if (GetParam().calibration) dir_.write("cal.csv", GetParam().calibration);
  std::vector<std::string> a = args();
  const std::vector<std::string>& options = GetParam().options;
  for (std::size_t i = 0; i + 1 < options.size(); i += 2) {
    std::string value = options[i + 1];
    if (const auto at = value.find("DIR"); at != std::string::npos) value.replace(at, 3, dir_.path().string());
    const auto flag = std::find(a.begin(), a.end(), options[i]);
    if (flag == a.end()) {
      a.insert(a.end(), {options[i], value});
    } else {
      *(flag + 1) = value;
    }
  }
  const CommandResult r = run_joules(a);
  EXPECT_EQ(r.exit_code, GetParam().exit_code) << r.err;
  EXPECT_THAT(r.err, StartsWith("error: "));
  EXPECT_THAT(r.err, HasSubstr(GetParam().expected));
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_FALSE(std::filesystem::exists(out_));
}

INSTANTIATE_TEST_SUITE_P(
    BadInput, ProfileCommandErrorTest,
    ::testing::Values(
        BadRun{"GridUnknownKey", {}, "conv:\n  - input_size: 8\n    in_channels: 4\n    filters: 4\n    kernel: 3\n    dilation: 2\n",
               "grid.yaml:6: conv[0].dilation: unknown key"},
        BadRun{"GridImpossibleLayer", {}, "fc:\n  - {inputs: 8, outputs: 4}\nconv:\n  - {input_size: 4, in_channels: 2, filters: 2, kernel: 5}\n",
               "grid.yaml:4: conv[0]: input_size 4, in_channels 2, filters 2, kernel 5, stride 1, padding 0: impossible"},
        BadRun{"GridYamlSyntax", {}, "conv: [\n", "grid.yaml:"},
        BadRun{"NoGridFile", {"--grid", "DIR/none.yaml"}, nullptr, "none.yaml"},
        BadRun{"Device", {"--device", "gpu"}, nullptr, "--device: expected auto, cpu or cuda, got 'gpu'"},
        BadRun{"Sensor", {"--sensor", "thermometer"}, nullptr, "--sensor: expected auto, jetson, nvml, rapl or timer"},
        BadRun{"Repeats", {"--repeats", "0"}, nullptr, "--repeats: repeats must be at least 1, got 0"},
        BadRun{"Window", {"--min-window-s", "0"}, nullptr, "--min-window-s: min_window_s must be a positive number"},
        BadRun{"Threads", {"--threads", "0"}, nullptr, "--threads"},
        BadRun{"Board", {"--board", "profiles/"}, nullptr,
               "--board: expected a board name or a profile path (profiles/NAME.yaml), got 'profiles/' "
               "(see joules profile --help)"},
        BadRun{"Rails", {"--rails", "VDD_IN"}, nullptr, "--rails: timer-estimate sensor has no rail 'VDD_IN' (rails: estimate)"},
        BadRun{"CalibrationFile", {"--calibration", "DIR/cal.csv"}, nullptr, "cal.csv:3: internal_mw:", 2,
               "rail,internal_mw,external_mw\nestimate,1000,1100\nestimate,lots,1200\n"},
        BadRun{"SensorNotHere", {"--sensor", "jetson", "--sysfs-root", "DIR"}, nullptr,
               "--sensor jetson: not available: no INA3221 rails", 1}),
    [](const auto& p) { return std::string(p.param.name); });

TEST_F(ProfileCommandTest, ACalibrationOfARailTheSensorLacksIsBadInput) {
  const std::string cal = dir_.write("cal.csv", "rail,internal_mw,external_mw\nVDD_IN,1000,1100\nVDD_IN,2000,2150\n");
  std::vector<std::string> a = args();
  a.insert(a.end(), {"--calibration", cal});
  const CommandResult r = run_joules(a);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err, "error: " + cal + ": rail: timer-estimate sensor has no rail 'VDD_IN' (rails: estimate)\n");
  EXPECT_FALSE(std::filesystem::exists(out_));
}

TEST_F(ProfileCommandTest, RunsTheLayersOnTheGpu_CUDA) {
  std::vector<std::string> a = args();
  a.back() = "cuda";  // --device
  const CommandResult r = run_joules(a);
  if (r.exit_code == 2 && r.err.find("CUDA is not available") != std::string::npos) {
    GTEST_SKIP() << "no CUDA here: " << r.err;
  }
  ASSERT_EQ(r.exit_code, 0) << r.err;
  expect_each_point_once();
  EXPECT_THAT(read(csv()), HasSubstr(",\"cuda: "));
}

}  // namespace
}  // namespace joules::testing
