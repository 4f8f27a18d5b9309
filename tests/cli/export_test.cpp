// `joules export`, `search --json` and what `search --resume` refuses, through the real binary,
// on one tiny real search made once for the suite and copied for each test.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "tests/cli/run_command.hpp"
#include "tests/cli/tiny_search.hpp"
#include "tests/support/temp_dir.hpp"
#include "util/directory_lock.hpp"

namespace joules::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
namespace fs = std::filesystem;

void write_text(const fs::path& file, const std::string& text) { std::ofstream(file, std::ios::binary) << text; }

// Replaces every `from` by `to` in a file; returns how many there were.
int replace_in(const fs::path& file, const std::string& from, const std::string& to) {
  std::string text = read_text(file);
  int n = 0;
  for (std::size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
    ++n;
  }
  write_text(file, text);
  return n;
}

class ExportCommandTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!have_data()) return;
    suite_ = std::make_unique<TempDir>();
    std::string config = tiny_config();
    config.replace(config.find("generations: 2"), 14, "generations: 1");
    const std::string file = suite_->write("tiny.yaml", config);
    search_ = run_joules({"search", file, "--out", (suite_->path() / "run").string(), "--json"});
  }
  static void TearDownTestSuite() { suite_.reset(); }

  void SetUp() override {
    if (!have_data()) GTEST_SKIP() << "Fashion-MNIST is not installed (Debian package dataset-fashion-mnist)";
    ASSERT_EQ(search_.exit_code, 0) << search_.err;
    fs::create_directories(run_.parent_path());
    fs::copy(suite_->path() / "run", run_, fs::copy_options::recursive);
  }

  // The ids of the exported front, from front.csv.
  static std::vector<int> front_ids(const fs::path& dir) {
    std::ifstream csv(dir / "front.csv");
    std::vector<int> ids;
    std::string line;
    std::getline(csv, line);
    while (std::getline(csv, line)) ids.push_back(std::stoi(line.substr(0, line.find(','))));
    return ids;
  }

  static inline std::unique_ptr<TempDir> suite_;
  static inline CommandResult search_;
  TempDir tmp;
  fs::path run_ = tmp.path() / "runs" / "run";
};

TEST_F(ExportCommandTest, SearchJsonIsOneSummaryObjectOnStdout) {
  const nlohmann::json j = nlohmann::json::parse(search_.out);  // nothing else on stdout
  EXPECT_EQ(j["run"], (suite_->path() / "run").string());
  EXPECT_EQ(j["interrupted"], false);
  const auto log = read_log(suite_->path() / "run");
  EXPECT_EQ(j["evaluations"]["total"], log.size());
  std::size_t ok = 0;
  for (const auto& r : log) ok += r["status"] == "ok";
  EXPECT_EQ(j["evaluations"]["ok"], ok);
  EXPECT_EQ(j["evaluations"]["ok"].get<std::size_t>() + j["evaluations"]["failed"].get<std::size_t>() +
                j["evaluations"]["infeasible"].get<std::size_t>(),
            log.size());
  ASSERT_FALSE(j["front"].empty());
  for (const auto& m : j["front"]) {
    EXPECT_GT(m["accuracy"].get<double>(), 0.1);
    EXPECT_GT(m["energy_mj"].get<double>(), 0);
    EXPECT_EQ(m["weights"], true);
  }
  EXPECT_EQ(j["export"]["dir"], (suite_->path() / "run" / "pareto").string());
  const auto files = j["export"]["files"].get<std::vector<std::string>>();
  EXPECT_EQ(files[0], "front.csv");
  for (const std::string& f : files) EXPECT_TRUE(fs::exists(suite_->path() / "run" / "pareto" / f)) << f;
  EXPECT_EQ(files.size(), 2 + 2 * j["front"].size());
  // The header and progress went to stderr.
  EXPECT_THAT(search_.err, HasSubstr("joules search: tiny"));
}

TEST_F(ExportCommandTest, ToReplacesOnlyAnEarlierExport) {
  const auto refused = [&](const fs::path& to, const std::string& why) {
    const CommandResult r = run_joules({"export", run_.string(), "--to", to.string()});
    EXPECT_EQ(r.exit_code, 2) << to;
    EXPECT_THAT(r.err, HasSubstr(fmt::format("error: {}: --to: {}", to.string(), why)));
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  };
  const std::string file = tmp.write("notes.txt", "mine");
  refused(file, "is not a directory");
  EXPECT_EQ(read_text(file), "mine");
  refused(run_, "is the run directory");
  refused(run_.parent_path(), "is the run directory " + fs::weakly_canonical(run_).string() + " or holds it");
  tmp.write("runs/sibling/data.txt", "sibling");
  refused(tmp.path(), "is the run directory");
  tmp.write("theirs/data.txt", "theirs");
  refused(tmp.path() / "theirs", "is not an export of joules (no .joules-export inside) and not empty");
  EXPECT_EQ(read_text(tmp.path() / "theirs" / "data.txt"), "theirs");
  EXPECT_EQ(read_text(tmp.path() / "runs" / "sibling" / "data.txt"), "sibling");
  EXPECT_EQ(line_count(run_ / "evaluations.jsonl"), line_count(suite_->path() / "run" / "evaluations.jsonl"));

  const fs::path out = tmp.path() / "out";
  CommandResult r = run_joules({"export", run_.string(), "--to", out.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(fs::exists(out / ".joules-export"));
  EXPECT_THAT(r.out, HasSubstr("exported to " + out.string() + ": front.csv, front.svg, and ID.yaml + ID.pt per member"));
  r = run_joules({"export", run_.string(), "--to", out.string(), "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err << "an earlier export is replaced";
  const nlohmann::json j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["export"]["dir"], out.string());
  EXPECT_EQ(j["partial"], false);
  EXPECT_EQ(j["front"].size(), front_ids(out).size());
  fs::create_directories(tmp.path() / "empty");
  EXPECT_EQ(run_joules({"export", run_.string(), "--to", (tmp.path() / "empty").string()}).exit_code, 0);
}

TEST_F(ExportCommandTest, AWeightsPathOutsideTheRunIsRefused) {
  const std::string first = read_log(run_)[0]["weights"].get<std::string>();
  ASSERT_EQ(replace_in(run_ / "evaluations.jsonl", "\"weights\":\"" + first + "\"",
                       "\"weights\":\"../../../../../../etc/hostname\""),
            1);
  const fs::path out = tmp.path() / "out";
  const CommandResult r = run_joules({"export", run_.string(), "--to", out.string()});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("evaluations.jsonl:1: weights: '../../../../../../etc/hostname' resolves to /etc/hostname, "
                               "outside the run directory"));
  EXPECT_FALSE(fs::exists(out));
}

TEST_F(ExportCommandTest, LeftoversOfAKilledExportAreCleanedUp) {
  const fs::path out = tmp.path() / "out";
  const fs::path stale = tmp.path() / ".pareto-tmp-K1lled";
  tmp.write(".pareto-tmp-K1lled/3.yaml", "half");
  tmp.write(".pareto-tmp-K1lled/.joules-export", "joules export\n");
  fs::last_write_time(stale / ".joules-export", fs::file_time_type::clock::now() - std::chrono::minutes(2));
  const CommandResult r = run_joules({"export", run_.string(), "--to", out.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_FALSE(fs::exists(stale));
  EXPECT_THAT(r.err, HasSubstr("notice: removed 1 unfinished export(s)"));
}

TEST_F(ExportCommandTest, ARunInUseIsExportedOnlyElsewhereAndSaidPartial) {
  // As a running search holds it.
  const std::optional<DirectoryLock> lock = DirectoryLock::try_acquire(run_, "joules search");
  ASSERT_TRUE(lock);
  CommandResult r = run_joules({"export", run_.string()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr(fmt::format("is in use by pid {} (joules search)", ::getpid())));
  EXPECT_THAT(r.err, HasSubstr("--to DIR"));
  r = run_joules({"export", run_.string(), "--to", (tmp.path() / "out").string(), "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.err, HasSubstr("this front is partial"));
  EXPECT_EQ(nlohmann::json::parse(r.out)["partial"], true);
}

TEST_F(ExportCommandTest, AnEmptyFrontAndMissingWeightsAreSaid) {
  const fs::path out = tmp.path() / "out";
  CommandResult r = run_joules({"export", run_.string(), "--to", out.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::vector<int> ids = front_ids(out);
  ASSERT_FALSE(ids.empty());
  fs::remove(run_ / "weights" / fmt::format("{}.pt", ids[0]));
  r = run_joules({"export", run_.string(), "--to", out.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.err, HasSubstr(fmt::format("warning: candidate {}: exported without weights (no {}.pt): weights/{}.pt is "
                                           "missing from the run", ids[0], ids[0], ids[0])));
  EXPECT_THAT(r.out, HasSubstr(fmt::format("ID.pt for {} of {}", ids.size() - 1, ids.size())));
  EXPECT_FALSE(fs::exists(out / fmt::format("{}.pt", ids[0])));

  ASSERT_GT(replace_in(run_ / "evaluations.jsonl", "\"status\":\"ok\"", "\"status\":\"failed\""), 0);
  r = run_joules({"export", run_.string(), "--to", out.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("the front is empty: no candidate was trained successfully"));
  EXPECT_THAT(r.out, HasSubstr(" 0 ok, "));
  EXPECT_THAT(r.out, HasSubstr("front.csv (no members)"));
  EXPECT_THAT(r.out, Not(HasSubstr("ID.pt per member")));
  EXPECT_EQ(line_count(out / "front.csv"), 1u);
}

TEST_F(ExportCommandTest, CompareSaysWhereItWroteThePlot) {
  const std::string svg = (tmp.path() / "fronts.svg").string();
  const CommandResult r = run_joules({"compare", run_.string(), "--svg", svg});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("wrote the plot of the fronts to " + svg));
  EXPECT_TRUE(fs::exists(svg));
}

TEST_F(ExportCommandTest, ResumeRefusesAConfigCheckpointOrLogEditedByHand) {
  const auto resume = [&] { return run_joules({"search", "--resume", "--out", run_.string()}); };
  const fs::path config = run_ / "config.yaml";
  const std::string original = read_text(config);
  ASSERT_EQ(replace_in(config, "learning_rate: 0.003", "learning_rate: 0.01"), 1);
  CommandResult r = resume();
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr(config.string() + ":"));
  EXPECT_THAT(r.err, HasSubstr(": learning_rate: differs from the config this run was started with (was "));
  write_text(config, original);

  const fs::path checkpoint = run_ / "checkpoint.json";
  const std::string saved = read_text(checkpoint);
  ASSERT_EQ(replace_in(checkpoint, "\"next_id\": ", "\"next_id\": 1"), 1);
  r = resume();
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("checkpoint.json: was edited after joules wrote it"));
  write_text(checkpoint, saved);

  ASSERT_EQ(replace_in(run_ / "evaluations.jsonl", "\"id\":0,", "\"id\":100,"), 1);
  r = resume();
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("evaluations.jsonl: was edited since the last checkpoint"));
  replace_in(run_ / "evaluations.jsonl", "\"id\":100,", "\"id\":0,");
  r = resume();
  EXPECT_EQ(r.exit_code, 0) << r.err << "restored, it resumes";
}

TEST_F(ExportCommandTest, WeightsThatCannotBeWrittenStopTheSearchAndResumeTrainsThem) {
  // Back to the middle of generation 0: two evaluations logged, no checkpoint yet.
  const auto whole = findings(run_);
  const auto log = read_log(run_);
  std::string kept;
  for (std::size_t i = 0; i < 2; ++i) kept += log[i].dump() + "\n";
  int blocked = -1;
  for (std::size_t i = 2; i < log.size() && blocked < 0; ++i) {
    if (log[i]["status"] == "ok" && log[i]["generation"] == 0) blocked = log[i]["id"].get<int>();
  }
  ASSERT_GE(blocked, 0);
  write_text(run_ / "evaluations.jsonl", kept);
  fs::remove(run_ / "checkpoint.json");
  // Its weights file cannot be written: a directory stands in its place (as a full disk would).
  const fs::path weights = run_ / "weights" / fmt::format("{}.pt", blocked);
  fs::remove(weights);
  fs::create_directories(weights / "blocker");

  CommandResult r = run_joules({"search", "--resume", "--out", run_.string()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr(fmt::format("error: cannot write {}", weights.string())));
  EXPECT_THAT(r.err, HasSubstr(fmt::format("the search stopped (candidate {} is not logged)", blocked)));
  for (const auto& j : read_log(run_)) EXPECT_NE(j["id"], blocked) << "an I/O failure is not the candidate's";
  EXPECT_FALSE(fs::exists(run_ / "checkpoint.json"));

  fs::remove_all(weights);
  r = run_joules({"search", "--resume", "--out", run_.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(findings(run_), whole) << "the same evaluations as the uninterrupted run";
  EXPECT_TRUE(fs::is_regular_file(weights));
}

}  // namespace
}  // namespace joules::testing
