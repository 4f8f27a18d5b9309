// `joules search` under mpirun: the same evaluations as one process, weights written by rank 0,
// and a worker killed mid-run costs only its training in flight (--resume under mpirun).

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/types.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "tests/cli/run_command.hpp"
#include "tests/cli/tiny_search.hpp"
#include "tests/support/temp_dir.hpp"

namespace joules::testing {
namespace {

using ::testing::HasSubstr;

std::string find_mpirun() {
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path ? path : "/usr/bin:/bin");
  for (std::string dir; std::getline(dirs, dir, ':');) {
    if (std::filesystem::exists(std::filesystem::path(dir) / "mpirun")) return dir + "/mpirun";
  }
  return "";
}

// Run as root in CI, on fewer cores than ranks.
std::vector<std::string> mpirun_args(int ranks, std::vector<std::string> joules_args) {
  std::vector<std::string> args{"--allow-run-as-root", "--oversubscribe", "-np", std::to_string(ranks), JOULES_BINARY};
  args.insert(args.end(), joules_args.begin(), joules_args.end());
  return args;
}

// id -> "hash status accuracy energy": what a run found, timings aside.
std::map<int, std::string> evaluations(const std::filesystem::path& run) {
  std::map<int, std::string> out;
  for (const auto& j : read_log(run)) {
    out[j["id"].get<int>()] = j["hash"].get<std::string>() + " " + j["status"].get<std::string>() + " " +
                              j["accuracy"].dump() + " " + j["energy_mj"].dump();
  }
  return out;
}

// The ids of an exported front (front.csv's first column; its train_seconds differ run to run).
std::vector<std::string> front_ids(const std::filesystem::path& run) {
  std::vector<std::string> ids;
  std::ifstream in(run / "pareto/front.csv");
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) ids.push_back(line.substr(0, line.find(',')));
  return ids;
}

class SearchMpiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    mpirun_ = find_mpirun();
    if (mpirun_.empty()) GTEST_SKIP() << "no mpirun on PATH (Debian: openmpi-bin; scripts/setup.sh installs it)";
    if (!have_data()) GTEST_SKIP() << "Fashion-MNIST is not installed (dataset-fashion-mnist)";
  }
  std::string mpirun_;
  TempDir tmp;
};

// The smoke config, without its wall-clock time budget: a training truncated by the clock on a
// loaded machine would differ between the two runs for reasons that are not the schedule's.
TEST_F(SearchMpiTest, ThreeRanksGiveTheSameEvaluationsAsOneProcess) {
  std::string text = read_text(std::filesystem::path(JOULES_SOURCE_DIR) / "configs/smoke.yaml");
  text.replace(text.find("time_budget_s: 20"), 17, "time_budget_s: 0");
  text.replace(text.find("board: jetson-nano"), 18, std::string("board: ") + JOULES_SOURCE_DIR + "/profiles/jetson-nano.yaml");
  const auto config = tmp.path() / "smoke.yaml";
  std::ofstream(config) << text;

  const CommandResult one = run_joules({"search", config.string(), "--out", (tmp.path() / "one").string()});
  ASSERT_EQ(one.exit_code, 0) << one.err;
  const CommandResult three =
      run_command(mpirun_, mpirun_args(3, {"search", config.string(), "--out", (tmp.path() / "three").string()}));
  ASSERT_EQ(three.exit_code, 0) << three.err;

  const auto a = evaluations(tmp.path() / "one");
  EXPECT_GE(a.size(), 6u);
  EXPECT_EQ(evaluations(tmp.path() / "three"), a);
  // Rank 0 wrote the workers' weights where one process writes them, and exported the front.
  for (const auto& j : read_log(tmp.path() / "three")) {
    if (j["status"] == "ok") {
      EXPECT_TRUE(std::filesystem::file_size(tmp.path() / "three" / j["weights"].get<std::string>()) > 0) << j.dump();
    }
  }
  EXPECT_EQ(front_ids(tmp.path() / "three"), front_ids(tmp.path() / "one"));
  EXPECT_FALSE(front_ids(tmp.path() / "one").empty());
}

// Rank 0 sends the config before it loads the data, so the workers load theirs at the same
// time; data none of them can load is rank 0's error alone: one line, exit 2, nothing written,
// and the workers leave without a second message.
TEST_F(SearchMpiTest, DataNoRankCanLoadIsOneErrorExitTwoAndNothingWritten) {
  std::string text = read_text(std::filesystem::path(JOULES_SOURCE_DIR) / "configs/smoke.yaml");
  const auto images = tmp.path() / "images";  // no train/ folder
  std::filesystem::create_directories(images);
  text.replace(text.find("kind: fashion-mnist"), 19, "kind: image-folder\n  path: " + images.string());
  text.replace(text.find("board: jetson-nano"), 18, std::string("board: ") + JOULES_SOURCE_DIR + "/profiles/jetson-nano.yaml");
  const auto config = tmp.path() / "bad.yaml";
  std::ofstream(config) << text;
  const auto out = tmp.path() / "run";
  const CommandResult r = run_command(mpirun_, mpirun_args(3, {"search", config.string(), "--out", out.string()}));
  EXPECT_EQ(r.exit_code, 2) << r.err;
  std::size_t errors = 0;
  for (std::size_t at = r.err.find("error: "); at != std::string::npos; at = r.err.find("error: ", at + 1)) ++errors;
  EXPECT_EQ(errors, 1u) << r.err;
  EXPECT_THAT(r.err, HasSubstr("has no train/ folder"));
  EXPECT_FALSE(std::filesystem::exists(out));
}

// A worker's rank id from its environment (Open MPI sets OMPI_COMM_WORLD_RANK).
int worker_pid(const std::string& rank) {
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    std::ifstream env(entry.path() / "environ", std::ios::binary);
    const std::string text((std::istreambuf_iterator<char>(env)), {});
    if (text.find(std::string("OMPI_COMM_WORLD_RANK=") + rank + '\0') == std::string::npos) continue;
    std::ifstream cmdline(entry.path() / "cmdline", std::ios::binary);
    const std::string cmd((std::istreambuf_iterator<char>(cmdline)), {});
    if (cmd.starts_with(JOULES_BINARY) && cmd.find("kill-me") != std::string::npos) return std::stoi(entry.path().filename());
  }
  return -1;
}

TEST_F(SearchMpiTest, AKilledWorkerEndsTheJobAndResumeLosesNothing) {
  for (const char* schedule : {"generational", "async"}) {
    SCOPED_TRACE(schedule);
    const auto config = tmp.path() / fmt::format("tiny-{}.yaml", schedule);
    // Long enough (54 candidates) to be killed mid-run.
    std::string text = tiny_config(fmt::format("  schedule: {}\n", schedule));
    text.replace(text.find("generations: 2"), 14, "generations: 8");
    std::ofstream(config) << text;
    const auto run = tmp.path() / fmt::format("kill-me-{}", schedule);
    const int pid = start_command(mpirun_, mpirun_args(3, {"search", config.string(), "--out", run.string()}),
                                  (tmp.path() / "out.txt").string(), (tmp.path() / "err.txt").string());
    // Kill rank 2 once a few results are logged.
    for (int i = 0; i < 600 && (!std::filesystem::exists(run / "evaluations.jsonl") ||
                                line_count(run / "evaluations.jsonl") < 4);
         ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    const int victim = worker_pid("2");
    ASSERT_GT(victim, 0) << read_text(tmp.path() / "err.txt");
    const std::map<int, std::string> before = evaluations(run);
    ASSERT_EQ(::kill(victim, SIGKILL), 0);
    EXPECT_NE(wait_command(pid), 0) << "a dead rank ends the job";

    const CommandResult resumed = run_command(mpirun_, mpirun_args(3, {"search", "--resume", "--out", run.string()}));
    ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
    const std::map<int, std::string> after = evaluations(run);
    for (const auto& [id, found] : before) EXPECT_EQ(after.at(id), found) << "lost or changed: candidate " << id;
    std::set<std::string> hashes;
    for (const auto& j : read_log(run)) {
      EXPECT_TRUE(hashes.insert(j["hash"].get<std::string>()).second) << "trained twice: " << j.dump();
    }
    EXPECT_GT(after.size(), before.size());
    EXPECT_TRUE(std::filesystem::exists(run / "pareto/front.csv")) << "the export completed";
    EXPECT_TRUE(std::filesystem::exists(run / "pareto/front.svg"));
  }
}

// One rank under mpirun is a plain search; and without mpirun nothing asks for MPI (every
// other CLI test runs joules that way).
TEST_F(SearchMpiTest, OneRankResumesAndSearchesAlone) {
  const auto config = tmp.path() / "tiny.yaml";
  std::ofstream(config) << tiny_config("  schedule: async\n  evaluations: 8\n");
  const CommandResult r =
      run_command(mpirun_, mpirun_args(1, {"search", config.string(), "--out", (tmp.path() / "solo").string()}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_LE(read_log(tmp.path() / "solo").size(), 8u);
  EXPECT_GE(read_log(tmp.path() / "solo").size(), 4u);
}

// search.fidelity under MPI: the workers train each level as asked (a share of the samples;
// or, with continue, a prefix that continues from the state rank 0 sends them), so the log is
// the one of a single process, rungs included.
TEST_F(SearchMpiTest, FidelityLevelsTrainOnTheWorkersAsInOneProcess) {
  for (const std::string mode : {"false", "true"}) {
    SCOPED_TRACE("continue: " + mode);
    const auto config = tmp.path() / ("fidelity-" + mode + ".yaml");
    std::ofstream(config) << tiny_config_with(
        "  prescreen: 1\n  fidelity: {levels: [0.25, 0.5, 1], promote: 0.5, continue: " + mode + "}\n", 0);
    const auto one = tmp.path() / ("one-" + mode);
    const auto three = tmp.path() / ("three-" + mode);
    const CommandResult a = run_joules({"search", config.string(), "--out", one.string()});
    ASSERT_EQ(a.exit_code, 0) << a.err;
    const CommandResult b = run_command(mpirun_, mpirun_args(3, {"search", config.string(), "--out", three.string()}));
    ASSERT_EQ(b.exit_code, 0) << b.err;
    EXPECT_EQ(evaluations(three), evaluations(one));
    std::set<std::string> rungs_one, rungs_three;
    for (const auto& [dir, rungs] : {std::pair{one, &rungs_one}, std::pair{three, &rungs_three}}) {
      std::ifstream in(dir / "rungs.jsonl");
      for (std::string line; std::getline(in, line);) {
        const auto j = nlohmann::json::parse(line);
        rungs->insert(j["hash"].get<std::string>() + " " + j["fidelity"].dump() + " " + j["accuracy"].dump());
      }
    }
    EXPECT_GE(rungs_one.size(), 6u + 3u + 2u);
    EXPECT_EQ(rungs_three, rungs_one);
  }
}

}  // namespace
}  // namespace joules::testing
