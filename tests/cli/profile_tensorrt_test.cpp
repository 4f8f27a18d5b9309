// `joules profile --runtime tensorrt` with a fake trtexec (a bash script the test writes): it
// checks its arguments and fails on any it does not expect, checks that the ONNX file exists
// when building and the engine when loading, prints a TensorRT banner, logs each invocation,
// and sleeps 100 ms to "load" the engine, then a per-iteration time that depends on the point
// (written into the engine it builds). Checked: grid -> ONNX per point -> engine -> rows ->
// `joules fit`; per-inference latency without the load time; kill -9 mid-grid and a rerun
// measure every point once without rebuilding engines; --fp16; the runtime in the CSV.

#include <signal.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <algorithm>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "energy/measurements.hpp"
#include "energy/profiling/grid.hpp"
#include "energy/profiling/tensorrt.hpp"
#include "onnx/onnx_model.hpp"
#include "tests/cli/run_command.hpp"
#include "tests/support/temp_dir.hpp"
#include "util/csv.hpp"

namespace joules::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

namespace fs = std::filesystem;

std::string read(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream s(text);
  std::string line;
  while (std::getline(s, line)) out.push_back(line);
  return out;
}

std::size_t data_lines(const fs::path& csv) {
  const std::string text = read(csv);
  const auto n = static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n'));
  return n == 0 ? 0 : n - 1;
}

// 8 conv layers and 4 fc layers: enough for `joules fit --model linear` on both kinds.
const char* const kGrid = R"(conv:
  - {name: filters, input_size: 8, in_channels: 4, filters: {from: 1, to: 8}, kernel: 3, padding: same}
fc:
  - {inputs: 32, outputs: [4, 8, 16, 32]}
)";
constexpr std::size_t kGridPoints = 12;

// The fake. An engine holds "cost_us=C": C us per iteration, 200 + the ONNX file's size / 20
// (so that bigger layers cost more). FAKE_LOG gets one line per invocation.
const char* const kFakeTrtexec = R"SH(#!/bin/bash
echo "$*" >> "$FAKE_LOG"
echo "&&&& RUNNING TensorRT.trtexec [TensorRT v8601] # trtexec $*"
fail() { echo "fake trtexec: $*" >&2; exit 3; }
case "$1" in
  --help)
    [ $# -eq 1 ] || fail "unexpected arguments after --help: $*"
    echo "=== Model Options ==="; exit 0;;
  --onnx=*)
    onnx="${1#--onnx=}"
    [ -s "$onnx" ] || fail "no ONNX file $onnx"
    [[ "$2" == --saveEngine=* ]] || fail "expected --saveEngine=, got '$2'"
    plan="${2#--saveEngine=}"
    shift 2
    fp16=0
    for a in "$@"; do
      case "$a" in --fp16) fp16=1;; *) fail "unexpected build argument '$a'";; esac
    done
    size=$(stat -c %s "$onnx")
    sleep 0.05
    echo "cost_us=$((200 + size / 20)) fp16=$fp16" > "$plan"
    exit 0;;
  --loadEngine=*)
    plan="${1#--loadEngine=}"
    [ -f "$plan" ] || fail "no engine $plan"
    shift
    iterations=""
    for a in "$@"; do
      case "$a" in
        --iterations=*) iterations="${a#--iterations=}";;
        --warmUp=*|--duration=0|--noDataTransfers) ;;
        *) fail "unexpected run argument '$a'";;
      esac
    done
    [[ "$iterations" =~ ^[0-9]+$ ]] || fail "expected --iterations=N, got '$iterations'"
    cost=$(sed -n 's/^cost_us=\([0-9]*\).*/\1/p' "$plan")
    [ -n "$cost" ] || fail "not an engine of this fake: $plan"
    sleep 0.1
    sleep "$(awk "BEGIN { printf \"%.6f\", $iterations * $cost / 1e6 }")"
    echo "[I] done"
    exit 0;;
  *) fail "unexpected arguments: $*";;
esac
)SH";

class ProfileTensorRtTest : public ::testing::Test {
 protected:
  ProfileTensorRtTest()
      : grid_(dir_.write("grid.yaml", kGrid)), out_((dir_.path() / "run").string()), log_(dir_.path() / "trtexec.log") {
    trtexec_ = dir_.write("bin/trtexec", kFakeTrtexec);
    fs::permissions(trtexec_, fs::perms::owner_all);
    ::setenv("FAKE_LOG", log_.c_str(), 1);
  }

  // Windows of `window_s`, long against the start-up jitter of a process on a loaded machine
  // (tens of ms).
  std::vector<std::string> args(double window_s = 0.1) const {
    return {"profile", "--board", "trt-test", "--grid", grid_, "--out", out_, "--sensor", "timer", "--runtime",
            "tensorrt", "--trtexec", trtexec_, "--min-window-s", fmt::format("{}", window_s), "--repeats", "2", "--cooldown-s", "0",
            "--warmup-s", "0"};
  }

  fs::path csv() const { return fs::path(out_) / "measurements.csv"; }
  fs::path engines() const { return fs::path(out_) / "engines"; }

  std::vector<std::string> log_lines() const { return fs::exists(log_) ? lines_of(read(log_)) : std::vector<std::string>{}; }

  // How often each engine was built, by stem.
  static std::map<std::string, int> builds(const std::vector<std::string>& lines) {
    std::map<std::string, int> out;
    for (const std::string& l : lines) {
      if (!l.starts_with("--onnx=")) continue;
      const std::string onnx = l.substr(7, l.find(' ') - 7);
      ++out[fs::path(onnx).stem().string()];
    }
    return out;
  }

  void expect_each_point_once() const {
    const profiling::ProfileGrid grid = profiling::load_profile_grid(grid_);
    const LayerMeasurementSet rows = read_layer_measurements(csv().string());
    std::map<std::string, int> count;
    for (const auto& m : rows.rows) ++count[profiling::point_key(m.input, m.layer)];
    EXPECT_EQ(count.size(), grid.points.size());
    for (const auto& p : grid.points) EXPECT_EQ(count[profiling::point_key(p.input, p.layer)], 1) << describe(p.layer);
  }

  TempDir dir_;
  std::string grid_;
  std::string out_;
  fs::path log_;
  std::string trtexec_;
};

TEST_F(ProfileTensorRtTest, BuildsAnEnginePerPointMeasuresPerInferenceCostsAndFits) {
  const CommandResult r = run_joules(args(0.2));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr(fmt::format("trt-test: measured {} points", kGridPoints)));
  EXPECT_THAT(r.out, HasSubstr(fmt::format("{} built, 0 reused", kGridPoints)));
  expect_each_point_once();

  // One ONNX file per point, of that single layer, and one engine built from it.
  const profiling::ProfileGrid grid = profiling::load_profile_grid(grid_);
  const std::map<std::string, int> built = builds(log_lines());
  EXPECT_EQ(built.size(), kGridPoints);
  std::map<std::string, double> cost_ms;  // by point key
  for (const auto& p : grid.points) {
    const std::string stem = profiling::point_file_stem(p);
    EXPECT_EQ(built.count(stem) ? built.at(stem) : 0, 1) << stem;
    const OnnxImport onnx = load_onnx((engines() / (stem + ".onnx")).string());
    ASSERT_EQ(onnx.arch.layers.size(), 1u);
    EXPECT_EQ(onnx.arch.input, p.input);
    const std::string plan = read(engines() / (stem + ".plan"));
    ASSERT_THAT(plan, HasSubstr("cost_us=")) << stem;
    cost_ms[profiling::point_key(p.input, p.layer)] = std::stod(plan.substr(plan.find('=') + 1)) / 1000;
    EXPECT_FALSE(fs::exists(engines() / (stem + ".plan.partial")));
  }

  // Per inference: the fake's per-iteration time, not its 100 ms of loading spread over the
  // iterations (which would add 100 ms / N: 1.5 times the time or more, for 200 ms windows). Each
  // row within a factor 2 (a loaded machine delays single runs), their median within 25%.
  std::vector<double> ratios;
  for (const LayerMeasurement& m : read_layer_measurements(csv().string()).rows) {
    const double expected = cost_ms.at(profiling::point_key(m.input, m.layer));
    ASSERT_TRUE(m.latency_ms.has_value());
    ratios.push_back(*m.latency_ms / expected);
    EXPECT_GT(ratios.back(), 0.5) << describe(m.layer);
    EXPECT_LT(ratios.back(), 2.0) << describe(m.layer);
    EXPECT_NEAR(m.energy_mj / (10000 * *m.latency_ms * 1e-3), 1.0, 0.05);  // timer estimate: 10 W x time
  }
  std::sort(ratios.begin(), ratios.end());
  EXPECT_NEAR(ratios[ratios.size() / 2], 1.0, 0.25);

  // The runtime and its version, in the CSV and in the provenance.
  const CsvTable table = CsvTable::parse(read(csv()), csv().string());
  ASSERT_TRUE(table.has_column("runtime"));
  for (std::size_t i = 0; i < table.rows(); ++i) {
    EXPECT_EQ(table.text(i, table.column("runtime")), "tensorrt");
    EXPECT_EQ(table.text(i, table.column("runtime_version")), "v8601");
    EXPECT_EQ(table.text(i, table.column("thread_cpu_ms")), "");
  }
  const std::string provenance = (fs::path(out_) / "provenance.yaml").string();
  EXPECT_THAT(read(provenance), HasSubstr("TensorRT v8601"));
  EXPECT_THAT(read(provenance), HasSubstr("TensorRT FP32 engines"));

  const std::string profile = (dir_.path() / "trt-test.yaml").string();
  const CommandResult fit = run_joules({"fit", "--layers", csv().string(), "--provenance", provenance, "--out", profile,
                                        "--model", "linear"});
  ASSERT_EQ(fit.exit_code, 0) << fit.err;
  EXPECT_THAT(read(profile), HasSubstr("TensorRT v8601"));

  // A rerun measures nothing and builds nothing.
  const std::size_t invocations = log_lines().size();
  const CommandResult again = run_joules(args(0.2));
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_THAT(again.out, HasSubstr(fmt::format("({} of {} were already there)", kGridPoints, kGridPoints)));
  const std::vector<std::string> lines = log_lines();
  EXPECT_EQ(lines.size(), invocations + 1);  // --help, for the version
}

TEST_F(ProfileTensorRtTest, AKilledRunRunAgainMeasuresEveryPointOnceAndReusesItsEngines) {
  const int pid = start_command(JOULES_BINARY, args(), (dir_.path() / "out.txt").string(), (dir_.path() / "err.txt").string());
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (std::chrono::steady_clock::now() < deadline && !(fs::exists(csv()) && data_lines(csv()) >= 4)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ASSERT_EQ(kill(pid, SIGKILL), 0);
  EXPECT_EQ(wait_command(pid), 128 + SIGKILL);
  const std::size_t before = data_lines(csv());
  ASSERT_GE(before, 4u) << read(dir_.path() / "err.txt");
  ASSERT_LT(before, kGridPoints) << "the run finished before it was killed";
  std::set<std::string> plans;
  for (const auto& e : fs::directory_iterator(engines())) {
    if (e.path().extension() == ".plan") plans.insert(e.path().stem().string());
  }
  const std::size_t first_run_lines = log_lines().size();

  const CommandResult r = run_joules(args());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  expect_each_point_once();
  const std::vector<std::string> all = log_lines();
  const std::map<std::string, int> rebuilt =
      builds(std::vector<std::string>(all.begin() + static_cast<std::ptrdiff_t>(first_run_lines), all.end()));
  for (const std::string& stem : plans) EXPECT_EQ(rebuilt.count(stem), 0u) << stem << " was built again";
  EXPECT_EQ(rebuilt.size() + plans.size(), kGridPoints);
  EXPECT_THAT(r.out, HasSubstr(fmt::format("{} built, {} reused", kGridPoints - plans.size(), plans.size() - before)));
}

TEST_F(ProfileTensorRtTest, CtrlCStopsAfterTheCurrentPointWithExit130AndTheRestFollowsOnARerun) {
  const int pid = start_command(JOULES_BINARY, args(), (dir_.path() / "out.txt").string(), (dir_.path() / "err.txt").string());
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (std::chrono::steady_clock::now() < deadline && !(fs::exists(csv()) && data_lines(csv()) >= 1)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ASSERT_EQ(kill(pid, SIGINT), 0);
  EXPECT_EQ(wait_command(pid), 130) << read(dir_.path() / "err.txt");
  const std::size_t before = data_lines(csv());
  ASSERT_LT(before, kGridPoints);
  EXPECT_THAT(read(dir_.path() / "out.txt"), HasSubstr(fmt::format("interrupted: {} points left", kGridPoints - before)));
  // The point being measured was finished (trtexec is in a process group of its own: the
  // terminal's Ctrl-C does not reach it), so no engine is left half built.
  for (const auto& e : fs::directory_iterator(engines())) EXPECT_NE(e.path().extension(), ".partial") << e.path();
  const CommandResult r = run_joules(args());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  expect_each_point_once();
}

TEST_F(ProfileTensorRtTest, Fp16BuildsFp16EnginesAndSaysSo) {
  dir_.write("grid.yaml", "fc:\n  - {inputs: 32, outputs: [4, 8]}\n");
  std::vector<std::string> a = args();
  a.push_back("--fp16");
  a.push_back("--json");
  const CommandResult r = run_joules(a);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const nlohmann::json j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["runtime"], "tensorrt");
  EXPECT_EQ(j["runtime_version"], "v8601");
  EXPECT_EQ(j["engines_built"], 2);
  const std::map<std::string, int> built = builds(log_lines());
  EXPECT_EQ(built.size(), 2u);
  for (const std::string& l : log_lines()) {
    if (l.starts_with("--onnx=")) {
      EXPECT_THAT(l, HasSubstr(" --fp16"));
    }
  }
  for (const auto& [stem, n] : built) {
    EXPECT_THAT(read(engines() / (stem + ".fp16.plan")), HasSubstr("fp16=1"));
  }
  EXPECT_THAT(read(fs::path(out_) / "provenance.yaml"), HasSubstr("TensorRT FP16 engines"));
}

TEST_F(ProfileTensorRtTest, ATrtexecThatFailsIsARuntimeErrorNamingItsLog) {
  dir_.write("grid.yaml", "fc:\n  - {inputs: 32, outputs: [4]}\n");
  // A trtexec that rejects --noDataTransfers, as one too old for it would.
  std::string script = kFakeTrtexec;
  script.replace(script.find("|--noDataTransfers"), std::string("|--noDataTransfers").size(), "");
  dir_.write("bin/trtexec", script);
  const CommandResult r = run_joules(args());
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_THAT(r.err, HasSubstr("trtexec failed running"));
  EXPECT_THAT(r.err, HasSubstr(".run.log"));
  const std::string stem = profiling::point_file_stem(profiling::load_profile_grid(grid_).points.front());
  EXPECT_THAT(read(engines() / (stem + ".run.log")), HasSubstr("unexpected run argument '--noDataTransfers'"));
  EXPECT_EQ(data_lines(csv()), 0u);
}

TEST_F(ProfileTensorRtTest, BadRuntimeOrMissingTrtexecIsOneErrorLineAndExit2) {
  const auto expect_bad = [&](std::vector<std::string> a, const std::string& expected) {
    const CommandResult r = run_joules(a);
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_THAT(r.err, ::testing::StartsWith("error: "));
    EXPECT_THAT(r.err, HasSubstr(expected));
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_FALSE(fs::exists(out_));
  };
  std::vector<std::string> a = args();
  *(std::find(a.begin(), a.end(), "tensorrt")) = "foo";
  expect_bad(a, "--runtime: expected libtorch or tensorrt, got 'foo'");
  a = args();
  *(std::find(a.begin(), a.end(), "--trtexec") + 1) = (dir_.path() / "none" / "trtexec").string();
  expect_bad(a, "--trtexec: '");
  if (!fs::exists("/usr/src/tensorrt/bin/trtexec")) {
    // No --trtexec and none in PATH nor at TensorRT's place.
    a = args();
    a.erase(std::find(a.begin(), a.end(), "--trtexec"), std::find(a.begin(), a.end(), "--trtexec") + 2);
    const std::string path = std::getenv("PATH") ? std::getenv("PATH") : "";
    ::setenv("PATH", (dir_.path() / "empty").c_str(), 1);
    expect_bad(a, "--trtexec: no trtexec in PATH nor /usr/src/tensorrt/bin/trtexec");
    // A name is looked up in PATH.
    ::setenv("PATH", (dir_.path() / "bin").c_str(), 1);
    a.insert(a.end(), {"--trtexec", "trtexec", "--device", "cpu"});
    expect_bad(a, "--device: TensorRT engines run on the GPU");
    ::setenv("PATH", path.c_str(), 1);
  }
  a = {"profile", "--board", "b", "--grid", grid_, "--out", out_, "--sensor", "timer", "--fp16"};
  expect_bad(a, "--fp16: only with --runtime tensorrt");
  a = args();
  a.insert(a.end(), {"--device", "cpu"});
  expect_bad(a, "--device: TensorRT engines run on the GPU");
}

}  // namespace
}  // namespace joules::testing
