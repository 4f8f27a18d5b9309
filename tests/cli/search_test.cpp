// `joules search` and `joules export` as a user runs them, with real (tiny) trainings on
// Fashion-MNIST: the whole pipeline, kill -9 and resume, Ctrl-C, bad configs.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <signal.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "tests/cli/run_command.hpp"
#include "tests/cli/tiny_search.hpp"
#include "tests/support/temp_dir.hpp"

namespace joules::testing {
namespace {

using ::testing::HasSubstr;
namespace fs = std::filesystem;

void expect_complete_export(const fs::path& run) {
  const fs::path pareto = run / "pareto";
  ASSERT_TRUE(fs::exists(pareto / "front.csv"));
  ASSERT_TRUE(fs::exists(pareto / "front.svg"));
  std::ifstream csv(pareto / "front.csv");
  std::string header;
  std::getline(csv, header);
  EXPECT_THAT(header, HasSubstr("id,hash,generation,accuracy"));
  int members = 0;
  for (std::string line; std::getline(csv, line);) {
    const std::string id = line.substr(0, line.find(','));
    EXPECT_TRUE(fs::exists(pareto / (id + ".yaml"))) << id;
    EXPECT_TRUE(fs::exists(pareto / (id + ".pt"))) << id;
    const CommandResult inspect = run_joules({"inspect", (pareto / (id + ".yaml")).string(), "--json"});
    EXPECT_EQ(inspect.exit_code, 0) << inspect.err;
    ++members;
  }
  EXPECT_GT(members, 0);
}

class SearchCommandTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!have_data()) GTEST_SKIP() << "Fashion-MNIST is not installed (Debian package dataset-fashion-mnist)";
  }
  TempDir tmp;
};

TEST_F(SearchCommandTest, RunsEndToEndAndExportsTheFront) {
  // prescreen 1: the prescreen breeds around over-budget children (this test wants some) and
  // spends some of so tiny a run on long shots that 384 samples do not train.
  std::string text = tiny_config();
  const std::size_t at = text.find("  population: 6\n");
  ASSERT_NE(at, std::string::npos);
  text.insert(at, "  prescreen: 1\n");
  const std::string config = tmp.write("tiny.yaml", text);
  const fs::path run = tmp.path() / "run";
  const CommandResult r = run_joules({"search", config, "--out", run.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err << r.out;
  EXPECT_THAT(r.out, HasSubstr("Pareto front:"));
  EXPECT_THAT(r.out, HasSubstr("third-party"));  // the profile's provenance is said
  const auto log = read_log(run);
  ASSERT_GE(log.size(), 6u);
  std::set<std::string> hashes;
  bool infeasible = false;
  for (const auto& j : log) {
    EXPECT_TRUE(hashes.insert(j["hash"].get<std::string>()).second);
    if (j["status"] == "ok") {
      EXPECT_GT(j["accuracy"].get<double>(), 0.1) << "better than chance";
      EXPECT_TRUE(fs::exists(run / j["weights"].get<std::string>()));
    }
    infeasible = infeasible || j["status"] == "infeasible";
  }
  EXPECT_TRUE(infeasible) << "the params budget excludes some candidates";
  // The resolved config is the one that ran: the file's training options, defaults filled in.
  std::ifstream resolved(run / "config.yaml");
  const std::string config_yaml((std::istreambuf_iterator<char>(resolved)), {});
  EXPECT_THAT(config_yaml, HasSubstr("train_samples: 384"));
  EXPECT_THAT(config_yaml, HasSubstr("optimizer: adam"));
  EXPECT_THAT(config_yaml, HasSubstr("validation_size: 500"));
  const auto checkpoint = nlohmann::json::parse(std::ifstream(run / "checkpoint.json"));
  EXPECT_EQ(checkpoint["finished"], true);
  expect_complete_export(run);

  // joules export: the same front elsewhere, and a run directory that is not one.
  const CommandResult e = run_joules({"export", run.string(), "--to", (tmp.path() / "elsewhere").string()});
  ASSERT_EQ(e.exit_code, 0) << e.err;
  EXPECT_EQ(line_count(tmp.path() / "elsewhere" / "front.csv"), line_count(run / "pareto" / "front.csv"));
  EXPECT_EQ(run_joules({"export", tmp.path().string()}).exit_code, 2);
}

// search.fidelity.continue: a level is a prefix of the whole training and a promoted candidate
// continues from its saved state, so one that reaches the last level has the accuracy the
// plain search gives it (generation 0 is the same population in both); its states are removed
// once it is logged.
TEST_F(SearchCommandTest, ContinuedFidelityReachesThePlainTrainingsAccuracy) {
  const std::string plain = tmp.write("plain.yaml", tiny_config_with("  prescreen: 1\n", 1));
  const std::string continued = tmp.write(
      "continued.yaml",
      tiny_config_with("  prescreen: 1\n  fidelity: {levels: [0.25, 0.5, 1], promote: 0.5, continue: true}\n", 1));
  const CommandResult a = run_joules({"search", plain, "--out", (tmp.path() / "plain").string()});
  ASSERT_EQ(a.exit_code, 0) << a.err;
  const CommandResult b = run_joules({"search", continued, "--out", (tmp.path() / "continued").string()});
  ASSERT_EQ(b.exit_code, 0) << b.err;
  std::map<std::string, double> plain_accuracy;
  for (const auto& j : read_log(tmp.path() / "plain")) {
    if (j["status"] == "ok" && j["generation"] == 0) plain_accuracy[j["hash"]] = j["accuracy"].get<double>();
  }
  int reached = 0, stopped_early = 0;
  for (const auto& j : read_log(tmp.path() / "continued")) {
    if (j["status"] != "ok" || j["generation"] != 0) continue;
    ASSERT_TRUE(plain_accuracy.contains(j["hash"])) << j.dump();
    if (j["fidelity"] == 1.0) {
      ++reached;
      EXPECT_EQ(j["accuracy"].get<double>(), plain_accuracy.at(j["hash"])) << j.dump();
    } else {
      ++stopped_early;
    }
  }
  EXPECT_GE(reached, 1);
  EXPECT_GE(stopped_early, 1);
  EXPECT_THAT(read_text(tmp.path() / "continued" / "config.yaml"), HasSubstr("continue: true"));
  ASSERT_TRUE(fs::is_directory(tmp.path() / "continued" / "states"));
  EXPECT_TRUE(fs::is_empty(tmp.path() / "continued" / "states")) << "every candidate was logged";
}

TEST_F(SearchCommandTest, KilledSearchResumesWithoutLosingOrRepeatingAnything) {
  const std::string config = tmp.write("tiny.yaml", tiny_config());
  const fs::path whole = tmp.path() / "whole";
  ASSERT_EQ(run_joules({"search", config, "--out", whole.string()}).exit_code, 0);

  const fs::path run = tmp.path() / "run";
  const std::string log = (tmp.path() / "log").string();
  const int search = start_command(JOULES_BINARY, {"search", config, "--out", run.string()}, log, log + ".err");
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (line_count(run / "evaluations.jsonl") < 4 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  kill(search, SIGKILL);
  EXPECT_EQ(wait_command(search), 128 + SIGKILL);
  const std::size_t before = line_count(run / "evaluations.jsonl");
  ASSERT_GE(before, 4u);
  ASSERT_LT(before, line_count(whole / "evaluations.jsonl")) << "killed before the end, not after";
  const CommandResult resumed = run_joules({"search", "--resume", "--out", run.string()});
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  EXPECT_THAT(resumed.out, HasSubstr("evaluations already logged"));
  // Same seed, same evaluations: nothing lost, nothing evaluated twice.
  EXPECT_EQ(findings(run), findings(whole));
  expect_complete_export(run);
}

TEST_F(SearchCommandTest, CtrlCOrSigtermStopsCleanlyAndTheRunResumes) {
  const std::string config = tmp.write("tiny.yaml", tiny_config());
  for (const int signal : {SIGINT, SIGTERM}) {
    SCOPED_TRACE(signal == SIGINT ? "SIGINT" : "SIGTERM");
    const fs::path run = tmp.path() / fmt::format("run-{}", signal);
    const std::string out = (tmp.path() / fmt::format("log-{}", signal)).string();
    const int search = start_command(JOULES_BINARY, {"search", config, "--out", run.string()}, out, out + ".err");
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (line_count(run / "evaluations.jsonl") < 2 && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    kill(search, signal);
    EXPECT_EQ(wait_command(search), 130);
    std::ifstream log(out + ".err");
    const std::string text((std::istreambuf_iterator<char>(log)), {});
    EXPECT_THAT(text, HasSubstr("joules search --resume --out"));
    const CommandResult resumed = run_joules({"search", "--resume", "--out", run.string()});
    EXPECT_EQ(resumed.exit_code, 0) << resumed.err;
    std::set<std::string> hashes;
    for (const auto& j : read_log(run)) EXPECT_TRUE(hashes.insert(j["hash"].get<std::string>()).second);
  }
}

TEST_F(SearchCommandTest, BadConfigsExitTwoBeforeAnyWork) {
  const fs::path run = tmp.path() / "run";
  std::string config = tmp.write("typo.yaml", tiny_config("  populaton: 3\n"));
  CommandResult r = run_joules({"search", config, "--out", run.string()});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("error: " + config + ":28: search.populaton: unknown key"));
  EXPECT_FALSE(fs::exists(run)) << "no run directory for a config that never ran";

  std::string text = tiny_config();
  text.replace(text.find("input: [1, 28, 28]"), 18, "input: [3, 32, 32]");
  config = tmp.write("shape.yaml", text);
  r = run_joules({"search", config, "--out", run.string()});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr(config + ":5: space.input: the space's input 3x32x32 is not the data's sample shape 1x28x28"));
  EXPECT_FALSE(fs::exists(run));

  // A name is a name: it never leads the default run directory out of runs/.
  for (const std::string name : {"\"../../x\"", "/tmp/x", "\"a\\\\b\""}) {
    text = tiny_config();
    text.replace(0, text.find('\n'), "name: " + name);
    config = tmp.write("name.yaml", text);
    r = run_joules({"search", config});
    EXPECT_EQ(r.exit_code, 2) << name;
    EXPECT_THAT(r.err, HasSubstr("error: " + config + ":1: name: '")) << name;
    EXPECT_THAT(r.err, HasSubstr("holds a path separator")) << name;
  }

  r = run_joules({"search", "--resume", "--out", (tmp.path() / "nothing").string()});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("no search run to resume"));
}

// validation_size and data.path are checked against the data with the config's file, line and
// key, in `search` and in `export --retrain-epochs` alike.
TEST_F(SearchCommandTest, DataSectionErrorsNameTheConfigLineAndKey) {
  const fs::path run = tmp.path() / "run";
  // The tiny config with its `validation_size: 500` line (line 17) replaced.
  const auto config_with = [&](const std::string& file, const std::string& data_line) {
    std::string text = tiny_config();
    text.replace(text.find("validation_size: 500"), 20, data_line);
    return tmp.write(file, text);
  };
  const std::string config = config_with("split.yaml", "validation_size: 60000");
  CommandResult r = run_joules({"search", config, "--out", run.string()});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, ::testing::StartsWith("error: " + config + ":17: data.validation_size: must be in [1, 59999]"));
  EXPECT_FALSE(fs::exists(run));

  const std::string zero = config_with("zero.yaml", "validation_size: 0");
  r = run_joules({"search", zero, "--out", run.string()});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err, "error: " + zero + ":17: data.validation_size: expected an integer >= 1, got 0\n");

  const std::string nowhere = config_with("nowhere.yaml", "path: /no/such/dir\n  validation_size: 500");
  r = run_joules({"search", nowhere, "--out", run.string()});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err, "error: " + nowhere + ":17: data.path: no such directory: /no/such/dir\n");
  EXPECT_FALSE(fs::exists(run));

  // An export that retrains reads the run's config.yaml the same way.
  const std::string run_config = config_with("exported/config.yaml", "validation_size: 60000");
  r = run_joules({"export", (tmp.path() / "exported").string(), "--retrain-epochs", "1"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, ::testing::StartsWith("error: " + run_config + ":17: data.validation_size: must be in [1, 59999]"));
}

TEST_F(SearchCommandTest, RefusesToOverwriteARun) {
  const std::string config = tmp.write("tiny.yaml", tiny_config());
  const fs::path run = tmp.path() / "run";
  ASSERT_EQ(run_joules({"search", config, "--out", run.string()}).exit_code, 0);
  const auto log = line_count(run / "evaluations.jsonl");
  const CommandResult again = run_joules({"search", config, "--out", run.string()});
  EXPECT_EQ(again.exit_code, 2);
  EXPECT_THAT(again.err, HasSubstr("--resume"));
  EXPECT_EQ(line_count(run / "evaluations.jsonl"), log);
}

}  // namespace
}  // namespace joules::testing
