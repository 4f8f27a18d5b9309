// The NAS driver with a stand-in trainer (accuracy from the architecture, instantly), so that
// generations, budgets, failures, determinism and resume are checked in milliseconds. Real
// training runs end to end in tests/cli/search_test.cpp.

#include "search/nas_search.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <tuple>

#include <fmt/format.h>

#include "energy/board_profile.hpp"
#include "energy/split.hpp"
#include "search/compare.hpp"
#include "search/export.hpp"
#include "search/hypervolume.hpp"
#include "search/pareto.hpp"
#include "space/analysis.hpp"
#include "space/architecture_yaml.hpp"
#include "tests/support/temp_dir.hpp"
#include "util/directory_lock.hpp"
#include "util/input_error.hpp"
#include "util/median.hpp"

namespace joules {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

std::string config_text(const std::string& extra_search = "", const std::string& algorithm = "nsga2", int jobs = 2) {
  return fmt::format(R"(name: test
seed: 7
board: jetson-nano
space:
  input: [1, 28, 28]
  classes: 10
  conv_blocks:
    count: {{min: 1, max: 3}}
    filters: [4, 8, 16, 32]
    kernel: [3, 5]
    stride: [1, 2]
    pool: [none, max]
  fc_layers:
    count: {{min: 0, max: 1}}
    units: [16, 32]
search:
  algorithm: {}
  population: 8
  generations: 3
  jobs: {}
{}
)",
                     algorithm, jobs, extra_search);
}

SearchConfig config_from(const std::string& text) {
  return parse_search_config(text, "test.yaml", JOULES_SOURCE_DIR);
}

// Accuracy grows with the parameter count, with a little architecture-specific noise.
class FakeTrainer {
 public:
  TrainResult operator()(const Architecture& arch, const TrainOptions& options, const std::atomic<bool>* stop) {
    const std::string hash = canonical_hash_hex(arch);
    {
      std::lock_guard lock(mutex_);
      ++calls_[hash];
      ++trainings_[{hash, options.train_samples}];
      seen_.push_back(options);
      ++total_;
      if (stop_after_ > 0 && total_ >= stop_after_) stop_flag_.store(true);
    }
    if (fail_hash_prefix_ && hash.starts_with(*fail_hash_prefix_)) throw std::runtime_error("out of memory (fake)");
    TrainResult r;
    if (!options.save_path.empty() && std::filesystem::is_directory(options.save_path)) {
      // What the real trainer reports when its weights file cannot be written.
      r.status = TrainStatus::failed;
      r.save_error = options.save_path + ": Is a directory";
      r.reason = "trained, but saving the weights failed: " + r.save_error;
      return r;
    }
    if (stop && stop->load()) {
      r.status = TrainStatus::truncated;
      r.reason = "stopped";
      return r;
    }
    if (!options.state_path.empty()) std::ofstream(options.state_path) << "state";  // what a continuation reads
    const double params = static_cast<double>(analyze(arch).params);
    r.status = TrainStatus::ok;
    r.validation_accuracy = 0.6 + 0.3 * (1 - std::exp(-params / 30000)) + 0.01 * static_cast<double>(options.seed % 7);
    r.seconds = 0.5;
    return r;
  }

  std::map<std::string, int> calls() const {
    std::lock_guard lock(mutex_);
    return calls_;
  }
  // Trainings by (hash, train_samples).
  std::map<std::pair<std::string, std::int64_t>, int> trainings() const {
    std::lock_guard lock(mutex_);
    return trainings_;
  }
  // The options of every training, in the order they started.
  std::vector<TrainOptions> seen() const {
    std::lock_guard lock(mutex_);
    return seen_;
  }
  void stop_after(int n) { stop_after_ = n; }
  void fail_hashes_starting_with(std::string prefix) { fail_hash_prefix_ = std::move(prefix); }
  std::atomic<bool> stop_flag_{false};

 private:
  mutable std::mutex mutex_;
  std::map<std::string, int> calls_;
  std::map<std::pair<std::string, std::int64_t>, int> trainings_;
  std::vector<TrainOptions> seen_;
  int total_ = 0;
  int stop_after_ = 0;
  std::optional<std::string> fail_hash_prefix_;
};

SearchHooks hooks_for(FakeTrainer& trainer) {
  SearchHooks hooks;
  hooks.trainer = [&trainer](const Architecture& a, const TrainOptions& o, const std::atomic<bool>* s) {
    return trainer(a, o, s);
  };
  hooks.stop = &trainer.stop_flag_;
  return hooks;
}

// The log without timings, by id.
std::map<std::int64_t, std::string> essence(const std::vector<EvaluationRecord>& records) {
  std::map<std::int64_t, std::string> out;
  for (EvaluationRecord r : records) {
    r.train_seconds = 0;
    out[r.id] = to_json(r).dump();
  }
  return out;
}

class NasSearchTest : public ::testing::Test {
 protected:
  testing::TempDir tmp;

  std::vector<EvaluationRecord> run_fresh(const SearchConfig& config, FakeTrainer& trainer, const std::string& name) {
    RunDirectory run = RunDirectory::create(tmp.path() / name, to_yaml(config));
    const SearchSummary summary = run_search(config, load_board_profile(config.board), run, hooks_for(trainer));
    EXPECT_FALSE(summary.interrupted);
    return read_evaluations(tmp.path() / name);
  }

  // Every training of run `name` at every level (search.fidelity's rungs.jsonl), in order.
  std::vector<EvaluationRecord> read_rungs(const std::string& name) const {
    std::vector<EvaluationRecord> rungs;
    std::ifstream in(tmp.path() / name / "rungs.jsonl");
    for (std::string line; std::getline(in, line);) rungs.push_back(evaluation_from_json(nlohmann::json::parse(line)));
    return rungs;
  }
};

TEST_F(NasSearchTest, EvaluatesEveryGenerationAndTrainsEachArchitectureOnce) {
  const SearchConfig config = config_from(config_text());
  FakeTrainer trainer;
  const auto log = run_fresh(config, trainer, "a");
  ASSERT_GE(log.size(), 8u);
  EXPECT_LE(log.size(), 8u * 4);
  std::set<std::string> hashes;
  std::set<std::int64_t> ids;
  int last_generation = 0;
  for (const auto& r : log) {
    EXPECT_TRUE(hashes.insert(r.hash).second) << "logged twice: " << r.hash;
    EXPECT_TRUE(ids.insert(r.id).second);
    EXPECT_EQ(r.hash, canonical_hash_hex(r.arch));
    EXPECT_EQ(r.status, EvaluationStatus::ok);
    EXPECT_GT(r.energy_mj, 0);
    last_generation = std::max(last_generation, r.generation);
  }
  EXPECT_EQ(last_generation, 3);
  for (const auto& [hash, n] : trainer.calls()) EXPECT_EQ(n, 1) << hash;
  RunDirectory run = RunDirectory::resume(tmp.path() / "a");
  const auto checkpoint = run.read_checkpoint();
  ASSERT_TRUE(checkpoint);
  EXPECT_EQ((*checkpoint)["finished"], true);
  EXPECT_EQ((*checkpoint)["generations_done"], 4);
}

TEST_F(NasSearchTest, SameSeedSameEvaluationsWhateverTheJobs) {
  FakeTrainer t1, t2, t3;
  const auto a = run_fresh(config_from(config_text("", "nsga2", 1)), t1, "a");
  const auto b = run_fresh(config_from(config_text("", "nsga2", 1)), t2, "b");
  const auto c = run_fresh(config_from(config_text("", "nsga2", 3)), t3, "c");
  EXPECT_EQ(essence(a), essence(b));
  EXPECT_EQ(essence(a), essence(c)) << "jobs change the order of the log, not its content";
  const auto d = run_fresh(config_from(std::string(config_text()).replace(std::string(config_text()).find("seed: 7"), 7, "seed: 8")), t3, "d");
  EXPECT_NE(essence(a), essence(d));
}

TEST_F(NasSearchTest, OverBudgetCandidatesAreLoggedInfeasibleAndNeverTrained) {
  const SearchConfig config = config_from(config_text("  budgets: {params: 20000}"));
  FakeTrainer trainer;
  const auto log = run_fresh(config, trainer, "a");
  int infeasible = 0;
  for (const auto& r : log) {
    if (r.params > 20000) {
      EXPECT_EQ(r.status, EvaluationStatus::infeasible) << r.params;
      EXPECT_THAT(r.error, HasSubstr("params"));
      EXPECT_FALSE(r.accuracy);
      EXPECT_EQ(trainer.calls().count(r.hash), 0u);
      ++infeasible;
    } else {
      EXPECT_EQ(r.status, EvaluationStatus::ok);
    }
  }
  EXPECT_GT(infeasible, 0);
}

TEST_F(NasSearchTest, FailedTrainingsAreLoggedAndTheSearchGoesOn) {
  const SearchConfig config = config_from(config_text());
  FakeTrainer trainer;
  trainer.fail_hashes_starting_with("a");  // about one in sixteen
  const auto log = run_fresh(config, trainer, "a");
  int failed = 0;
  for (const auto& r : log) {
    if (r.hash.starts_with("a")) {
      EXPECT_EQ(r.status, EvaluationStatus::failed);
      EXPECT_THAT(r.error, HasSubstr("out of memory"));
      ++failed;
    }
  }
  EXPECT_EQ(log.back().generation, 3);
  (void)failed;
}

TEST_F(NasSearchTest, InterruptedRunResumesToTheSameResult) {
  for (const char* algorithm : {"nsga2", "random"}) {
    SCOPED_TRACE(algorithm);
    const SearchConfig config = config_from(config_text("", algorithm));
    FakeTrainer reference;
    const auto whole = run_fresh(config, reference, std::string("whole-") + algorithm);

    FakeTrainer first;
    first.stop_after(13);  // mid generation 1
    const std::string name = std::string("cut-") + algorithm;
    {
      RunDirectory run = RunDirectory::create(tmp.path() / name, to_yaml(config));
      EXPECT_TRUE(run_search(config, load_board_profile(config.board), run, hooks_for(first)).interrupted);
    }
    // A crash while the next line was written.
    std::ofstream(tmp.path() / name / "evaluations.jsonl", std::ios::app) << "{\"id\": 99, \"gen";
    FakeTrainer second;
    {
      RunDirectory run = RunDirectory::resume(tmp.path() / name);
      EXPECT_GT(run.repaired_bytes(), 0u);
      EXPECT_FALSE(run_search(config, load_board_profile(config.board), run, hooks_for(second)).interrupted);
    }
    const auto resumed = read_evaluations(tmp.path() / name);
    EXPECT_EQ(essence(resumed), essence(whole));
    // Nothing logged before the interruption was trained again.
    std::set<std::string> logged_first;
    for (const auto& r : resumed) {
      if (first.calls().count(r.hash) && !second.calls().count(r.hash)) logged_first.insert(r.hash);
    }
    for (const auto& [hash, n] : second.calls()) {
      EXPECT_EQ(n, 1);
      EXPECT_FALSE(logged_first.contains(hash));
    }
  }
}

TEST_F(NasSearchTest, WeightsThatCannotBeWrittenStopTheRunAndAreTrainedOnResume) {
  const SearchConfig config = config_from(config_text());
  FakeTrainer reference;
  const auto whole = run_fresh(config, reference, "whole");
  // Candidate 3 of generation 0 meets a weights path it cannot write (as a full disk would).
  const std::filesystem::path run_dir = tmp.path() / "cut";
  std::filesystem::create_directories(run_dir / "weights" / "3.pt" / "blocker");
  FakeTrainer first;
  {
    RunDirectory run = RunDirectory::create(run_dir, to_yaml(config));
    try {
      run_search(config, load_board_profile(config.board), run, hooks_for(first));
      ADD_FAILURE() << "the search went on";
    } catch (const std::runtime_error& e) {
      EXPECT_THAT(e.what(), HasSubstr("3.pt: Is a directory; the search stopped (candidate 3 is not logged)"));
      EXPECT_THAT(e.what(), HasSubstr("--resume"));
    }
  }
  for (const auto& r : read_evaluations(run_dir)) EXPECT_NE(r.id, 3) << "an I/O failure is not the candidate's";
  EXPECT_FALSE(std::filesystem::exists(run_dir / "checkpoint.json")) << "generation 0 never completed";

  std::filesystem::remove_all(run_dir / "weights" / "3.pt");
  FakeTrainer second;
  {
    RunDirectory run = RunDirectory::resume(run_dir);
    EXPECT_FALSE(run_search(config, load_board_profile(config.board), run, hooks_for(second)).interrupted);
  }
  const auto resumed = read_evaluations(run_dir);
  EXPECT_EQ(essence(resumed), essence(whole));
  for (const auto& r : resumed) {
    if (r.id == 3) {
      EXPECT_EQ(r.status, EvaluationStatus::ok);
    }
  }
}

TEST_F(NasSearchTest, ResumeRefusesAConfigCheckpointOrLogEditedSinceTheCheckpoint) {
  const SearchConfig config = config_from(config_text());
  FakeTrainer trainer;
  run_fresh(config, trainer, "a");
  const std::filesystem::path dir = tmp.path() / "a";
  const auto read = [](const std::filesystem::path& p) {
    std::ifstream in(p);
    return std::string((std::istreambuf_iterator<char>(in)), {});
  };
  const auto write = [](const std::filesystem::path& p, const std::string& text) { std::ofstream(p) << text; };
  const auto resume_error = [&]() -> std::string {
    try {
      RunDirectory::resume(dir);
    } catch (const InputError& e) {
      return e.what();
    }
    return "resumed";
  };
  EXPECT_EQ(resume_error(), "resumed") << "an untouched run resumes";

  const std::string config_yaml = read(dir / "config.yaml");
  std::string edited = config_yaml;
  edited.replace(edited.find("seed: 7"), 7, "seed: 9");
  write(dir / "config.yaml", edited);
  const int seed_line = 1 + static_cast<int>(std::count(config_yaml.begin(), config_yaml.begin() + config_yaml.find("seed: 7"), '\n'));
  EXPECT_THAT(resume_error(), HasSubstr(fmt::format("{}:{}: seed: differs from the config this run was started with "
                                                    "(was 'seed: 7', now 'seed: 9')",
                                                    (dir / "config.yaml").string(), seed_line)));
  write(dir / "config.yaml", config_yaml);

  const std::string checkpoint = read(dir / "checkpoint.json");
  std::string tampered = checkpoint;
  const std::size_t at = tampered.find("\"next_id\": ") + 11;
  tampered.insert(at, "1");
  write(dir / "checkpoint.json", tampered);
  EXPECT_THAT(resume_error(), HasSubstr("checkpoint.json: was edited after joules wrote it"));
  write(dir / "checkpoint.json", checkpoint);

  const std::string log = read(dir / "evaluations.jsonl");
  std::string rewritten = log;
  rewritten.replace(rewritten.find("\"generation\":0"), 14, "\"generation\":1");
  write(dir / "evaluations.jsonl", rewritten);
  EXPECT_THAT(resume_error(), HasSubstr("evaluations.jsonl: was edited since the last checkpoint"));
  write(dir / "evaluations.jsonl", log.substr(0, log.size() / 2));
  EXPECT_THAT(resume_error(), HasSubstr("evaluations.jsonl: was edited since the last checkpoint"));
}

TEST_F(NasSearchTest, ALogWeightsPathOutsideTheRunIsRefused) {
  const SearchConfig config = config_from(config_text());
  FakeTrainer trainer;
  run_fresh(config, trainer, "a");
  const std::filesystem::path log = tmp.path() / "a" / "evaluations.jsonl";
  std::string text;
  {
    std::ifstream in(log);
    text.assign((std::istreambuf_iterator<char>(in)), {});
  }
  for (const std::string evil : {"../../../etc/hostname", "/etc/hostname", "weights/../../x.pt"}) {
    SCOPED_TRACE(evil);
    std::string edited = text;
    const std::size_t second_line = edited.find('\n') + 1;
    const std::size_t at = edited.find("\"weights\":\"", second_line) + 11;
    edited.replace(at, edited.find('"', at) - at, evil);
    std::ofstream(log) << edited;
    try {
      read_evaluations(tmp.path() / "a");
      ADD_FAILURE() << "read";
    } catch (const InputError& e) {
      EXPECT_THAT(e.what(), HasSubstr(log.string() + ":2: weights: '" + evil + "' resolves to"));
      EXPECT_THAT(e.what(), HasSubstr("outside the run directory"));
    }
    try {
      export_front({.run_dir = tmp.path() / "a", .to_dir = tmp.path() / "out"});
      ADD_FAILURE() << "exported";
    } catch (const InputError& e) {
      EXPECT_THAT(e.what(), HasSubstr(":2: weights:"));
    }
    EXPECT_FALSE(std::filesystem::exists(tmp.path() / "out"));
  }
  // A symlink out of the run is refused the same way.
  std::filesystem::create_symlink("/etc/hostname", tmp.path() / "a" / "weights" / "link.pt");
  std::string edited = text;
  const std::size_t at = edited.find("\"weights\":\"") + 11;
  edited.replace(at, edited.find('"', at) - at, "weights/link.pt");
  std::ofstream(log) << edited;
  EXPECT_THROW(read_evaluations(tmp.path() / "a"), InputError);
}

TEST_F(NasSearchTest, ExportWritesTheNonDominatedMembers) {
  // prescreen 1: the prescreen would breed around the over-budget children the plot must show.
  const SearchConfig config = config_from(config_text("  budgets: {params: 60000}\n  prescreen: 1"));
  FakeTrainer trainer;
  const auto log = run_fresh(config, trainer, "a");
  const ExportResult exported = export_front({.run_dir = tmp.path() / "a"});
  ASSERT_FALSE(exported.front.empty());
  EXPECT_TRUE(std::filesystem::exists(exported.dir / kExportMarker));
  EXPECT_EQ(exported.counts.total(), log.size());
  EXPECT_EQ(exported.files.front(), "front.csv");
  for (const auto& m : exported.front) {
    EXPECT_FALSE(m.has_weights) << "the stand-in trainer saves none";
    EXPECT_THAT(m.missing_weights, HasSubstr(fmt::format("weights/{}.pt is missing from the run", m.record.id)));
  }
  EXPECT_EQ(exported.evaluations, log.size());
  for (const auto& m : exported.front) {
    for (const auto& r : log) {
      if (r.status != EvaluationStatus::ok) continue;
      const bool dominates = *r.accuracy >= *m.record.accuracy && r.energy_mj <= m.record.energy_mj &&
                             (*r.accuracy > *m.record.accuracy || r.energy_mj < m.record.energy_mj);
      EXPECT_FALSE(dominates) << r.id << " dominates " << m.record.id;
    }
    const auto yaml = exported.dir / fmt::format("{}.yaml", m.record.id);
    ASSERT_TRUE(std::filesystem::exists(yaml));
    Architecture read = load_architecture(yaml.string());
    read.name = m.record.arch.name;
    EXPECT_EQ(read, m.record.arch);
  }
  std::ifstream csv(exported.dir / "front.csv");
  std::size_t lines = 0;
  for (std::string line; std::getline(csv, line);) ++lines;
  EXPECT_EQ(lines, exported.front.size() + 1);
  std::ifstream svg(exported.dir / "front.svg");
  const std::string text((std::istreambuf_iterator<char>(svg)), {});
  EXPECT_THAT(text, HasSubstr("Pareto front"));
  EXPECT_THAT(text, HasSubstr("(mJ)"));
  EXPECT_THAT(text, HasSubstr("over budget"));
}

TEST_F(NasSearchTest, ExportReplacesOnlyWhatJoulesExported) {
  FakeTrainer trainer;
  run_fresh(config_from(config_text()), trainer, "runs/a");
  const std::filesystem::path run = tmp.path() / "runs" / "a";
  const auto refused = [&](const std::filesystem::path& to) -> std::string {
    try {
      export_front({.run_dir = run, .to_dir = to});
    } catch (const InputError& e) {
      return e.what();
    }
    return "exported";
  };
  const std::string file = tmp.write("notes.txt", "mine");
  EXPECT_THAT(refused(file), HasSubstr(file + ": --to: is not a directory"));
  EXPECT_THAT(refused(run), HasSubstr("is the run directory"));
  EXPECT_THAT(refused(run / ".." / "a"), HasSubstr("is the run directory"));
  EXPECT_THAT(refused(tmp.path() / "runs"), HasSubstr("or holds it"));
  EXPECT_THAT(refused(tmp.path()), HasSubstr("or holds it"));
  tmp.write("mine/keep.txt", "precious");
  EXPECT_THAT(refused(tmp.path() / "mine"), HasSubstr("is not an export of joules (no .joules-export inside)"));
  tmp.write("runs/a/weights/0.pt", "weights");  // the stand-in trainer saves none
  EXPECT_THAT(refused(run / "weights"), HasSubstr("is not an export of joules"));
  EXPECT_TRUE(std::filesystem::exists(run / "weights" / "0.pt"));
  EXPECT_TRUE(std::filesystem::exists(tmp.path() / "mine" / "keep.txt"));
  EXPECT_TRUE(std::filesystem::exists(run / "evaluations.jsonl"));
  std::ifstream kept(file);
  EXPECT_EQ(std::string((std::istreambuf_iterator<char>(kept)), {}), "mine");

  std::filesystem::create_directories(tmp.path() / "empty");
  EXPECT_EQ(refused(tmp.path() / "empty"), "exported");
  EXPECT_EQ(refused(tmp.path() / "new" / "dir"), "exported");
  EXPECT_EQ(refused(tmp.path() / "new" / "dir"), "exported") << "an earlier export is replaced";
  EXPECT_TRUE(std::filesystem::exists(tmp.path() / "new" / "dir" / "front.csv"));
  // The run's own pareto/ from before the marker existed (front.csv, no marker) is replaced too.
  ASSERT_EQ(refused({}), "exported");
  ASSERT_TRUE(std::filesystem::remove(run / "pareto" / kExportMarker));
  EXPECT_EQ(refused({}), "exported");
  EXPECT_TRUE(std::filesystem::exists(run / "pareto" / kExportMarker));
}

TEST_F(NasSearchTest, ExportCleansUpWhatAKilledExportLeftButNotALiveOne) {
  FakeTrainer trainer;
  run_fresh(config_from(config_text()), trainer, "a");
  const std::filesystem::path out = tmp.path() / "out";
  const auto leftover = [&](const std::string& name, bool marker) {
    tmp.write(name + "/3.yaml", "half written");
    if (!marker) return;
    tmp.write(name + "/" + kExportMarker, "joules export\n");
    std::filesystem::last_write_time(tmp.path() / name / kExportMarker,
                                     std::filesystem::file_time_type::clock::now() - std::chrono::minutes(5));
  };
  leftover(".pareto-tmp-Ab12Cd", true);   // killed while writing
  leftover(".pareto-old-Ef34Gh", true);   // killed while swapping
  leftover(".pareto-tmp-Live01", true);   // another export, still writing
  leftover(".pareto-tmp-NotOur", false);  // no marker: not known to be joules'
  std::optional<DirectoryLock> live = DirectoryLock::try_lock_file(tmp.path() / ".pareto-tmp-Live01" / kExportMarker);
  ASSERT_TRUE(live);
  const ExportResult exported = export_front({.run_dir = tmp.path() / "a", .to_dir = out});
  EXPECT_EQ(exported.stale_removed, 2u);
  EXPECT_FALSE(std::filesystem::exists(tmp.path() / ".pareto-tmp-Ab12Cd"));
  EXPECT_FALSE(std::filesystem::exists(tmp.path() / ".pareto-old-Ef34Gh"));
  EXPECT_TRUE(std::filesystem::exists(tmp.path() / ".pareto-tmp-Live01" / "3.yaml"));
  EXPECT_TRUE(std::filesystem::exists(tmp.path() / ".pareto-tmp-NotOur" / "3.yaml"));
  for (const auto& entry : std::filesystem::directory_iterator(tmp.path())) {
    const std::string name = entry.path().filename().string();
    if (name.starts_with(".pareto-")) {
      EXPECT_TRUE(name == ".pareto-tmp-Live01" || name == ".pareto-tmp-NotOur") << name;
    }
  }
}

TEST_F(NasSearchTest, AStoppedExportWritesAndReplacesNothing) {
  FakeTrainer trainer;
  run_fresh(config_from(config_text()), trainer, "a");
  const std::filesystem::path out = tmp.path() / "out";
  export_front({.run_dir = tmp.path() / "a", .to_dir = out});
  const auto before = std::filesystem::last_write_time(out / "front.csv");
  const std::atomic<bool> stop{true};
  const ExportResult stopped = export_front({.run_dir = tmp.path() / "a", .to_dir = out, .stop = &stop});
  EXPECT_TRUE(stopped.interrupted);
  EXPECT_EQ(std::filesystem::last_write_time(out / "front.csv"), before);
  for (const auto& entry : std::filesystem::directory_iterator(tmp.path())) {
    EXPECT_FALSE(entry.path().filename().string().starts_with(".pareto-")) << entry.path();
  }
}

TEST_F(NasSearchTest, ExportOfARunWithoutTrainedCandidatesSaysWhatItHas) {
  FakeTrainer trainer;
  trainer.fail_hashes_starting_with("");  // every training fails
  const SearchConfig config = config_from(config_text("  budgets: {params: 20000}"));
  const auto log = run_fresh(config, trainer, "a");
  const ExportResult exported = export_front({.run_dir = tmp.path() / "a"});
  EXPECT_TRUE(exported.front.empty());
  EXPECT_EQ(exported.counts.ok, 0u);
  EXPECT_GT(exported.counts.failed, 0u);
  EXPECT_GT(exported.counts.infeasible, 0u);
  EXPECT_EQ(exported.counts.total(), log.size());
  EXPECT_EQ(exported.files, (std::vector<std::string>{"front.csv", "front.svg"}));
}

TEST_F(NasSearchTest, CompareMeasuresEachFrontAgainstOneReference) {
  FakeTrainer t1, t2;
  run_fresh(config_from(config_text()), t1, "nsga2");
  run_fresh(config_from(config_text("", "random")), t2, "random");
  const Comparison c = compare_runs({tmp.path() / "nsga2", tmp.path() / "random"});
  ASSERT_EQ(c.runs.size(), 2u);
  double highest = 0;
  for (const auto& run : c.runs) {
    EXPECT_FALSE(run.front.empty());
    EXPECT_GT(run.hypervolume, 0);
    for (const auto& r : read_evaluations(run.dir)) {
      if (r.status == EvaluationStatus::ok) highest = std::max(highest, r.energy_mj);
    }
    // Each front member adds its own rectangle: the hypervolume is at least the best one's.
    double best = 0;
    for (const auto& r : run.front) best = std::max(best, *r.accuracy * (c.reference_energy_mj - r.energy_mj));
    EXPECT_GE(run.hypervolume, best - 1e-12);
    EXPECT_LE(run.hypervolume, c.reference_energy_mj);
  }
  EXPECT_EQ(c.reference_energy_mj, highest);
  EXPECT_EQ(c.runs[0].label, "nsga2");
  const Comparison fixed = compare_runs({tmp.path() / "nsga2"}, 10.0);
  EXPECT_GT(fixed.runs[0].hypervolume, c.runs[0].hypervolume) << "a farther reference adds volume";
  EXPECT_THAT(comparison_svg(c, "t"), HasSubstr("nsga2 (HV"));
}

// Hands results back in the reverse of the order it was given them, a few at a time: what MPI
// ranks of different speeds do to the order results arrive in.
class ReversingEvaluator final : public Evaluator {
 public:
  ReversingEvaluator(FakeTrainer& trainer, std::size_t slots) : trainer_(trainer), slots_(slots) {}
  std::size_t slots() const override { return slots_; }
  std::size_t in_flight() const override { return waiting_.size(); }
  void submit(TrainJob job) override {
    if (waiting_.size() >= slots_) throw std::logic_error("busy");
    waiting_.push_back(std::move(job));
  }
  std::optional<TrainDone> collect(std::chrono::milliseconds) override {
    if (waiting_.size() < slots_ && !full_once_) return std::nullopt;  // wait until all slots are busy once
    full_once_ = true;
    if (waiting_.empty()) return std::nullopt;
    TrainJob job = std::move(waiting_.back());
    waiting_.pop_back();
    ++collected;
    return TrainDone{.id = job.id, .result = trainer_(job.arch, job.options, nullptr)};
  }
  int collected = 0;

 private:
  FakeTrainer& trainer_;
  std::size_t slots_;
  std::vector<TrainJob> waiting_;
  bool full_once_ = false;
};

TEST_F(NasSearchTest, GenerationalGivesTheSameEvaluationsWhateverOrderResultsArriveIn) {
  const SearchConfig config = config_from(config_text("", "nsga2", 1));
  FakeTrainer local;
  const auto reference = run_fresh(config, local, "local");
  FakeTrainer remote;
  ReversingEvaluator evaluator(remote, 3);
  SearchHooks hooks;
  hooks.evaluator = &evaluator;
  RunDirectory run = RunDirectory::create(tmp.path() / "reversed", to_yaml(config));
  EXPECT_FALSE(run_search(config, load_board_profile(config.board), run, hooks).interrupted);
  const auto reversed = read_evaluations(tmp.path() / "reversed");
  EXPECT_GT(evaluator.collected, 0);
  EXPECT_EQ(essence(reversed), essence(reference));
  std::vector<std::int64_t> order;
  for (const auto& r : reversed) order.push_back(r.id);
  EXPECT_FALSE(std::is_sorted(order.begin(), order.end())) << "results are logged as they arrive";
}

TEST_F(NasSearchTest, AsyncScheduleSpendsTheEvaluationBudgetAndTrainsEachArchitectureOnce) {
  const SearchConfig config = config_from(config_text("  schedule: async\n  evaluations: 20", "nsga2", 3));
  FakeTrainer trainer;
  RunDirectory run = RunDirectory::create(tmp.path() / "a", to_yaml(config));
  const SearchSummary summary = run_search(config, load_board_profile(config.board), run, hooks_for(trainer));
  EXPECT_FALSE(summary.interrupted);
  const auto log = read_evaluations(tmp.path() / "a");
  EXPECT_EQ(log.size() + summary.reused, 20u) << "every bred child is an evaluation, new or known";
  EXPECT_GE(log.size(), 8u);
  std::set<std::string> hashes;
  std::set<std::int64_t> ids;
  for (const auto& r : log) {
    EXPECT_TRUE(hashes.insert(r.hash).second) << "logged twice: " << r.hash;
    EXPECT_TRUE(ids.insert(r.id).second);
    EXPECT_EQ(r.status, EvaluationStatus::ok);
  }
  EXPECT_EQ(*ids.rbegin(), static_cast<std::int64_t>(log.size()) - 1) << "ids are dense";
  for (const auto& [hash, n] : trainer.calls()) EXPECT_EQ(n, 1) << hash;
  const auto checkpoint = run.read_checkpoint();
  ASSERT_TRUE(checkpoint);
  EXPECT_EQ((*checkpoint)["finished"], true);
  EXPECT_EQ((*checkpoint)["schedule"], "async");
  EXPECT_EQ((*checkpoint)["optimizer"]["bred"], 20);
  EXPECT_TRUE((*checkpoint)["in_flight"].empty());
}

TEST_F(NasSearchTest, AsyncResumeNeverTrainsALoggedArchitectureAgain) {
  for (const char* prescreen : {"1", "4"}) {
    SCOPED_TRACE(fmt::format("prescreen {}", prescreen));
    const SearchConfig config = config_from(config_text(fmt::format("  schedule: async\n  prescreen: {}", prescreen), "nsga2", 2));
    FakeTrainer first;
    first.stop_after(11);
    const std::filesystem::path dir = tmp.path() / fmt::format("cut-{}", prescreen);
    {
      RunDirectory run = RunDirectory::create(dir, to_yaml(config));
      EXPECT_TRUE(run_search(config, load_board_profile(config.board), run, hooks_for(first)).interrupted);
    }
    const auto before = read_evaluations(dir);
    ASSERT_GE(before.size(), 8u);
    std::set<std::string> logged_first;
    for (const auto& r : before) logged_first.insert(r.hash);
    FakeTrainer second;
    SearchSummary summary;
    {
      RunDirectory run = RunDirectory::resume(dir);
      summary = run_search(config, load_board_profile(config.board), run, hooks_for(second));
      EXPECT_FALSE(summary.interrupted);
      EXPECT_EQ((*run.read_checkpoint())["finished"], true);
    }
    EXPECT_GT(second.calls().size(), 0u);
    for (const auto& [hash, n] : second.calls()) {
      EXPECT_EQ(n, 1) << hash;
      EXPECT_FALSE(logged_first.contains(hash)) << "trained again after resume: " << hash;
    }
    const auto after = read_evaluations(dir);
    std::set<std::string> hashes;
    std::set<std::int64_t> ids;
    for (const auto& r : after) {
      EXPECT_TRUE(hashes.insert(r.hash).second) << "logged twice: " << r.hash;
      EXPECT_TRUE(ids.insert(r.id).second) << "id given twice: " << r.id;
    }
    EXPECT_LE(after.size(), config.search.evaluation_budget());
  }
}

TEST_F(NasSearchTest, AScheduleChangeOnResumeIsRefused) {
  const SearchConfig config = config_from(config_text());
  FakeTrainer trainer;
  run_fresh(config, trainer, "a");
  const SearchConfig async = config_from(config_text("  schedule: async"));
  RunDirectory run = RunDirectory::resume(tmp.path() / "a");
  EXPECT_THAT([&] { run_search(async, load_board_profile(async.board), run, hooks_for(trainer)); },
              ::testing::ThrowsMessage<InputError>(
                  HasSubstr("schedule: generational in the checkpoint, async in config.yaml")));
}

TEST(SearchConfigTest, ScheduleEvaluationsAndCoordinatorTrainsAreRead) {
  const SearchConfig config =
      config_from(config_text("  schedule: async\n  evaluations: 50\n  coordinator_trains: true"));
  EXPECT_EQ(config.search.schedule, Schedule::async);
  EXPECT_EQ(config.search.evaluation_budget(), 50u);
  EXPECT_TRUE(config.search.coordinator_trains);
  EXPECT_EQ(parse_search_config(to_yaml(config), "resolved.yaml", JOULES_SOURCE_DIR), config);
  const SearchConfig defaults = config_from(config_text());
  EXPECT_EQ(defaults.search.schedule, Schedule::generational);
  EXPECT_EQ(defaults.search.evaluation_budget(), 8u * 4) << "population x (generations + 1)";
  EXPECT_FALSE(defaults.search.coordinator_trains);
  auto error = [](const std::string& text) {
    try {
      config_from(text);
    } catch (const InputError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_THAT(error(config_text("  schedule: eventually")), HasSubstr("test.yaml:21: search.schedule"));
  EXPECT_THAT(error(config_text("  schedule: async", "random")),
              HasSubstr("search.schedule: async is a schedule of NSGA-II"));
  EXPECT_THAT(error(config_text("  evaluations: 0")), HasSubstr("test.yaml:21: search.evaluations"));
}

TEST(SearchConfigTest, ResolvedConfigReadsBackEqual) {
  const SearchConfig config = config_from(config_text("  budgets: {energy_mj: 2.5, params: 1000}\n  objectives: [accuracy, energy, params]"));
  EXPECT_EQ(config.search.objectives.size(), 3u);
  EXPECT_TRUE(config.board.ends_with("profiles/jetson-nano.yaml"));
  const SearchConfig again = config_from(to_yaml(config));
  EXPECT_EQ(again.space, config.space);
  EXPECT_EQ(again.data, config.data);
  EXPECT_EQ(again.training, config.training);
  EXPECT_EQ(again.search, config.search);
  EXPECT_EQ(again, config) << to_yaml(config);
}

TEST(SearchConfigTest, EverySectionIsRead) {
  const SearchConfig c = config_from(config_text() + R"(data:
  validation_size: 1234
  split_seed: 5
training:
  epochs: 3
  train_samples: 777
  optimizer: adam
  learning_rate: 0.004
export:
  retrain_epochs: 6
)");
  EXPECT_EQ(c.data.validation_size, 1234);
  EXPECT_EQ(c.data.split_seed, 5u);
  EXPECT_EQ(c.training.epochs, 3);
  EXPECT_EQ(c.training.train_samples, 777);
  EXPECT_EQ(c.training.optimizer, OptimizerKind::adam);
  EXPECT_EQ(c.training.learning_rate, 0.004);
  EXPECT_EQ(c.export_options.retrain_epochs, 6);
  EXPECT_EQ(c.search.population, 8u);
  EXPECT_EQ(c.space.conv_blocks.max, 3);
}

TEST(SearchConfigTest, ARunNameIsANameNotAPath) {
  auto error = [](const std::string& name) {
    std::string text = config_text();
    text.replace(0, text.find('\n'), "name: " + name);
    try {
      config_from(text);
    } catch (const InputError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_THAT(error("\"../../x\""), HasSubstr("test.yaml:1: name: '../../x' holds a path separator"));
  EXPECT_THAT(error("/tmp/abs"), HasSubstr("test.yaml:1: name: '/tmp/abs' holds a path separator"));
  EXPECT_THAT(error("'a\\b'"), HasSubstr("test.yaml:1: name: 'a\\b' holds a path separator"));
  EXPECT_THAT(error("'..'"), HasSubstr("test.yaml:1: name: '..' is not a name"));
  EXPECT_THAT(error("a..b"), HasSubstr("test.yaml:1: name: 'a..b' holds '..'"));
  EXPECT_THAT(error("\"\""), HasSubstr("test.yaml:1: name: is empty"));
  EXPECT_THAT(error("\"a\\x01b\""), HasSubstr("test.yaml:1: name: holds a control character"));
  EXPECT_EQ(error("my-run_2.v1"), "no error");
}

TEST(SearchConfigTest, DefaultConfigIsValid) {
  const SearchConfig config = parse_search_config(default_config_text(), "default", JOULES_SOURCE_DIR);
  EXPECT_EQ(config.name, "quickstart");
}

TEST(SearchConfigTest, ErrorsNameFileLineAndKey) {
  auto error = [](const std::string& text) {
    try {
      config_from(text);
    } catch (const InputError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_THAT(error(config_text("  populaton: 3")), HasSubstr("test.yaml:21: search.populaton: unknown key"));
  EXPECT_THAT(error(config_text("  budgets: {energy_mj: -1}")), HasSubstr("test.yaml:21: search.budgets.energy_mj"));
  EXPECT_THAT(error(config_text("  objectives: [accuracy, flops]")), HasSubstr("search.objectives[1]"));
  std::string text = config_text();
  text.replace(text.find("board: jetson-nano"), 18, "board: no-such-board");
  EXPECT_THAT(error(text), HasSubstr("test.yaml:3: board: no board profile"));
  text = config_text();
  text.replace(text.find("count: {min: 1, max: 3}"), 23, "count: {min: 4, max: 3}");
  EXPECT_THAT(error(text), HasSubstr("test.yaml:8: space.conv_blocks.count"));
}

// The split_energy objective (energy/split.hpp): every candidate priced for the link of
// search.split, and the link required and validated where the config names it.
TEST_F(NasSearchTest, SplitEnergyObjectivePricesTheBestSplitOfEveryCandidate) {
  const SearchConfig config = config_from(
      config_text("  objectives: [accuracy, split_energy]\n  split: {uplink_mbps: 8, radio_mw: 900, bytes_per_value: 1}"));
  ASSERT_TRUE(config.search.split);
  EXPECT_EQ(config.search.split->bytes_per_value, 1);
  EXPECT_EQ(config_from(to_yaml(config)).search, config.search);  // written back and read equal
  FakeTrainer trainer;
  const auto log = run_fresh(config, trainer, "split");
  ASSERT_FALSE(log.empty());
  const EnergyEstimator estimator(load_board_profile(config.board));
  for (const EvaluationRecord& r : log) {
    ASSERT_TRUE(r.split_energy_mj) << r.id;
    EXPECT_DOUBLE_EQ(*r.split_energy_mj, best_split_energy_mj(r.arch, estimator, *config.search.split));
    EXPECT_LE(*r.split_energy_mj, r.energy_mj);  // never more than running everything on the device
    EXPECT_EQ(minimised_objectives(r, config.search.objectives)[1], *r.split_energy_mj);
  }
}

TEST(SearchConfigTest, SplitEnergyNeedsAValidLink) {
  const auto message = [](const std::string& text) {
    try {
      config_from(text);
    } catch (const InputError& e) {
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  EXPECT_THAT(message(config_text("  objectives: [accuracy, split_energy]")),
              HasSubstr("split_energy needs the link under search.split"));
  EXPECT_THAT(message(config_text("  objectives: [accuracy, split_energy]\n  split: {uplink_mbps: -2, radio_mw: 900}")),
              HasSubstr("search.split.uplink_mbps: -2 is not a bandwidth"));
  EXPECT_THAT(message(config_text("  split: {uplink_mbps: 2, radio_mw: 900, radio: 1}")), HasSubstr("search.split.radio: unknown key"));
}

}  // namespace
}  // namespace joules

namespace joules {
namespace {

std::string small_space_config(const std::string& search) {
  return fmt::format(R"(name: table
seed: 3
board: jetson-nano
space:
  input: [1, 28, 28]
  classes: 10
  conv_blocks:
    count: {{min: 1, max: 2}}
    filters: [4, 8]
    kernel: [3]
    stride: [1, 2]
    pool: [none]
  fc_layers:
    count: {{min: 0, max: 0}}
training:
  train_samples: 1000
search:
{}
)",
                     search);
}

TEST_F(NasSearchTest, ExhaustiveTrainsEveryMemberOnceAndResumesWhereItStopped) {
  const SearchConfig config = config_from(small_space_config("  algorithm: exhaustive\n  population: 3\n  jobs: 2"));
  const auto members = SearchSpace(config.space).enumerate(1000).value();
  ASSERT_EQ(members.size(), 4u + 16u) << "1 block: 2 filters x 2 strides; 2 blocks: 4 x 4";
  FakeTrainer whole_trainer;
  const auto whole = run_fresh(config, whole_trainer, "whole");
  std::set<std::string> expected;
  for (const auto& [genome, arch] : members) expected.insert(canonical_hash_hex(arch));
  std::set<std::string> logged;
  for (const auto& r : whole) logged.insert(r.hash);
  EXPECT_EQ(logged, expected);
  EXPECT_EQ(whole.size(), members.size());
  for (const auto& [hash, n] : whole_trainer.calls()) EXPECT_EQ(n, 1) << hash;
  // Ids follow enumerate's order (results are logged as they arrive, two at a time).
  std::map<std::int64_t, std::string> by_id;
  for (const auto& r : whole) by_id[r.id] = r.hash;
  std::vector<std::string> in_id_order, in_enumerate_order;
  for (const auto& [id, hash] : by_id) in_id_order.push_back(hash);
  for (const auto& [genome, arch] : members) in_enumerate_order.push_back(canonical_hash_hex(arch));
  EXPECT_EQ(in_id_order, in_enumerate_order);

  FakeTrainer first;
  first.stop_after(8);
  {
    RunDirectory run = RunDirectory::create(tmp.path() / "cut", to_yaml(config));
    EXPECT_TRUE(run_search(config, load_board_profile(config.board), run, hooks_for(first)).interrupted);
  }
  FakeTrainer second;
  {
    RunDirectory run = RunDirectory::resume(tmp.path() / "cut");
    EXPECT_FALSE(run_search(config, load_board_profile(config.board), run, hooks_for(second)).interrupted);
    EXPECT_TRUE(run.read_checkpoint()->at("finished").get<bool>());
  }
  EXPECT_EQ(essence(read_evaluations(tmp.path() / "cut")), essence(whole));
  for (const auto& [hash, n] : second.calls()) EXPECT_EQ(n, 1);
  // Only the trainings in flight at the stop (jobs: 2) are done twice.
  EXPECT_LE(first.calls().size() + second.calls().size(), members.size() + 2);
  EXPECT_LT(second.calls().size(), members.size()) << "the resume trained only what was left";
}

// The error a config gives, or "no error".
std::string config_error(const std::string& text, const std::string& file = "test.yaml") {
  try {
    parse_search_config(text, file, JOULES_SOURCE_DIR);
  } catch (const InputError& e) {
    return e.what();
  }
  return "no error";
}

TEST(SearchConfigTest, ExhaustiveRefusesASpaceTooLargeToList) {
  std::string text = default_config_text();
  const std::size_t at = text.find("algorithm: nsga2");
  ASSERT_NE(at, std::string::npos);
  text.replace(at, std::string("algorithm: nsga2").size(), "algorithm: exhaustive");
  const std::string error = config_error(text, "big.yaml");
  EXPECT_THAT(error, HasSubstr("big.yaml:"));
  EXPECT_THAT(error, HasSubstr("search.algorithm: exhaustive: the space has more than 100000"));
}

TEST(SearchConfigTest, FidelityIsReadCheckedAndWrittenBack) {
  const SearchConfig config =
      config_from(small_space_config("  population: 8\n  fidelity: {levels: [0.25, 0.5, 1], promote: 0.5}"));
  ASSERT_TRUE(config.search.fidelity);
  EXPECT_EQ(config.search.fidelity->levels, (std::vector<double>{0.25, 0.5, 1.0}));
  EXPECT_EQ(config.search.fidelity->promote, 0.5);
  EXPECT_EQ(parse_search_config(to_yaml(config), "resolved.yaml", JOULES_SOURCE_DIR), config);
  EXPECT_FALSE(config_from(small_space_config("  population: 8")).search.fidelity);
  auto error = [](const std::string& search) { return config_error(small_space_config(search)); };
  EXPECT_THAT(error("  fidelity: {levels: [0.5, 0.25, 1]}"), HasSubstr("search.fidelity.levels[1]: levels must increase"));
  EXPECT_THAT(error("  fidelity: {levels: [0.25, 0.5]}"), HasSubstr("the last level must be 1"));
  EXPECT_THAT(error("  fidelity: {promote: 0}"), HasSubstr("search.fidelity.promote"));
  EXPECT_THAT(error("  fidelity: {rungs: 3}"), HasSubstr("search.fidelity"));
  EXPECT_THAT(error("  schedule: async\n  fidelity: {}"), HasSubstr("not with schedule: async"));
  EXPECT_THAT(error("  algorithm: exhaustive\n  fidelity: {}"), HasSubstr("promote must be 1"));
  EXPECT_TRUE(config_from(small_space_config("  algorithm: exhaustive\n  fidelity: {promote: 1}")).search.fidelity);
  EXPECT_THAT(config_from(small_space_config("  fidelity: {}")).search.fidelity->levels.size(), 3u);
  std::string whole_split = small_space_config("  fidelity: {}");
  whole_split.replace(whole_split.find("train_samples: 1000"), 19, "epochs: 1");
  EXPECT_THAT(config_error(whole_split), HasSubstr("search.fidelity: needs training.train_samples"));
  // continue: the levels are shares of the steps, so the whole split will do.
  EXPECT_FALSE(config.search.fidelity->continue_training);
  std::string continued = small_space_config("  fidelity: {continue: true}");
  continued.replace(continued.find("train_samples: 1000"), 19, "epochs: 1");
  const SearchConfig c = config_from(continued);
  EXPECT_TRUE(c.search.fidelity->continue_training);
  EXPECT_EQ(parse_search_config(to_yaml(c), "resolved.yaml", JOULES_SOURCE_DIR), c);
  EXPECT_THAT(error("  fidelity: {continue: 2}"), HasSubstr("search.fidelity.continue"));
  // promote_by: rank unless asked; hypervolume is written back, a name it does not know refused.
  EXPECT_EQ(config.search.fidelity->promote_by, FidelityPromotion::rank);
  EXPECT_THAT(to_yaml(config), Not(HasSubstr("promote_by")));
  const SearchConfig by_volume = config_from(small_space_config("  fidelity: {promote_by: hypervolume}"));
  EXPECT_EQ(by_volume.search.fidelity->promote_by, FidelityPromotion::hypervolume);
  EXPECT_EQ(parse_search_config(to_yaml(by_volume), "resolved.yaml", JOULES_SOURCE_DIR), by_volume);
  EXPECT_THAT(error("  fidelity: {promote_by: crowding}"), HasSubstr("search.fidelity.promote_by"));
}

TEST(SearchConfigTest, PrescreenIsReadCheckedAndWrittenBack) {
  EXPECT_EQ(config_from(small_space_config("  population: 8")).search.prescreen, 4u) << "on by default";
  const SearchConfig off = config_from(small_space_config("  prescreen: 1"));
  EXPECT_EQ(off.search.prescreen, 1u);
  EXPECT_EQ(parse_search_config(to_yaml(off), "resolved.yaml", JOULES_SOURCE_DIR), off);
  const auto error = [](const std::string& search) { return config_error(small_space_config(search)); };
  EXPECT_THAT(error("  prescreen: 0"), HasSubstr("search.prescreen"));
  EXPECT_THAT(error("  prescreen: 100"), HasSubstr("search.prescreen"));
  // Async picks one of prescreen children per free slot when asked to; left out, off there.
  const SearchConfig async = config_from(small_space_config("  schedule: async"));
  EXPECT_EQ(async.search.prescreen, 1u);
  EXPECT_EQ(parse_search_config(to_yaml(async), "resolved.yaml", JOULES_SOURCE_DIR), async);
  const SearchConfig async_on = config_from(small_space_config("  schedule: async\n  prescreen: 4"));
  EXPECT_EQ(async_on.search.prescreen, 4u);
  EXPECT_EQ(parse_search_config(to_yaml(async_on), "resolved.yaml", JOULES_SOURCE_DIR), async_on);
}

// Front hypervolume with prescreen 4 against 1 over seeds 1 to 8, from `volume(prescreen,
// seed)`: better on at least 5 seeds and on the sum.
template <class Volume>
void expect_prescreen_wins(const Volume& volume) {
  int wins = 0;
  double with = 0.0, without = 0.0;
  for (std::uint64_t seed = 1; seed <= 8; ++seed) {
    const double a = volume(4, seed), b = volume(1, seed);
    with += a;
    without += b;
    if (a > b) ++wins;
  }
  EXPECT_GE(wins, 5) << "of 8 seeds";
  EXPECT_GT(with, without);
}

// The stand-in trainer's accuracy is a smooth function of the parameter count, which the
// prescreen's model learns from the first generation: its searches find a better front with
// the same trainings, on most seeds (the trainer's per-architecture noise it cannot learn).
TEST_F(NasSearchTest, PrescreenFindsABetterFrontWithTheSameTrainings) {
  const auto volume = [&](std::size_t prescreen, std::uint64_t seed) {
    SearchConfig config = config_from(config_text(fmt::format("  prescreen: {}", prescreen)));
    config.search.generations = 8;
    config.seed = seed;
    FakeTrainer trainer;
    const auto log = run_fresh(config, trainer, fmt::format("p{}-{}", prescreen, seed));
    std::size_t trained = 0;
    ObjectiveMatrix points;
    for (const auto& r : log) {
      if (r.status != EvaluationStatus::ok) continue;
      ++trained;
      points.push_back({1.0 - *r.accuracy, r.energy_mj});
    }
    EXPECT_EQ(trained, 72u) << "population 8, generations 8: as many trainings either way";
    return hypervolume(points, {0.5, 5.0});
  };
  expect_prescreen_wins(volume);
}

// Async picks one of `prescreen` children per free slot; one slot makes the run deterministic.
TEST_F(NasSearchTest, AsyncPrescreenFindsABetterFrontWithTheSameTrainings) {
  const auto volume = [&](std::size_t prescreen, std::uint64_t seed) {
    SearchConfig config =
        config_from(config_text(fmt::format("  schedule: async\n  evaluations: 72\n  prescreen: {}", prescreen), "nsga2", 1));
    config.seed = seed;
    FakeTrainer trainer;
    const auto log = run_fresh(config, trainer, fmt::format("a{}-{}", prescreen, seed));
    ObjectiveMatrix points;
    for (const auto& r : log) {
      if (r.status == EvaluationStatus::ok) points.push_back({1.0 - *r.accuracy, r.energy_mj});
    }
    for (const auto& [hash, n] : trainer.calls()) EXPECT_EQ(n, 1) << hash;
    EXPECT_LE(log.size(), 72u) << "a pick counts as one child against the budget";
    return hypervolume(points, {0.5, 5.0});
  };
  expect_prescreen_wins(volume);
}

TEST_F(NasSearchTest, FidelityTrainsEveryChildAtTheLowestLevelAndPromotesTheBestShare) {
  const SearchConfig config = config_from(
      small_space_config("  population: 8\n  generations: 1\n  fidelity: {levels: [0.25, 0.5, 1], promote: 0.5}"));
  FakeTrainer trainer;
  const auto log = run_fresh(config, trainer, "halving");
  std::map<std::int64_t, int> by_samples;
  for (const auto& [key, n] : trainer.trainings()) {
    EXPECT_EQ(n, 1) << "no training twice at one level";
    by_samples[key.second] += n;
  }
  // Generation 0 has 8 new children: 8 at 250 samples, 4 at 500, 2 at 1000; generation 1 the same
  // over its new ones.
  ASSERT_EQ(by_samples.size(), 3u);
  EXPECT_GE(by_samples[250], 8);
  EXPECT_EQ(by_samples[500], (by_samples[250] + 1) / 2);
  EXPECT_EQ(by_samples[1000], (by_samples[500] + 1) / 2) << "ceil of half of each level";
  std::map<double, int> by_fidelity;
  for (const EvaluationRecord& r : log) {
    ASSERT_TRUE(r.fidelity);
    ++by_fidelity[*r.fidelity];
    const int levels = *r.fidelity == 1.0 ? 3 : *r.fidelity == 0.5 ? 2 : 1;
    EXPECT_DOUBLE_EQ(r.train_seconds, 0.5 * levels) << "the seconds of every level it was trained at";
  }
  EXPECT_EQ(by_fidelity[1.0], by_samples[1000]);
  EXPECT_EQ(by_fidelity[0.5], by_samples[500] - by_samples[1000]);
  EXPECT_EQ(by_fidelity[0.25], by_samples[250] - by_samples[500]);
  EXPECT_EQ(log.size(), static_cast<std::size_t>(by_samples[250])) << "each candidate logged once";

  // The promoted of generation 0 are its best by rank: none is dominated by one left behind.
  const auto rungs_log = read_rungs("halving");
  EXPECT_EQ(rungs_log.size(), static_cast<std::size_t>(by_samples[250] + by_samples[500] + by_samples[1000]));
  std::set<std::string> promoted;
  for (const auto& r : rungs_log) {
    if (r.generation == 0 && *r.fidelity == 0.5) promoted.insert(r.hash);
  }
  for (const auto& kept : rungs_log) {
    if (kept.generation != 0 || *kept.fidelity != 0.25 || !promoted.contains(kept.hash)) continue;
    for (const auto& left : rungs_log) {
      if (left.generation != 0 || *left.fidelity != 0.25 || promoted.contains(left.hash)) continue;
      EXPECT_FALSE(dominates(minimised_objectives(left, config.search.objectives),
                             minimised_objectives(kept, config.search.objectives)))
          << left.hash << " dominates the promoted " << kept.hash;
    }
  }
}

// promote_by: hypervolume. A level's candidates are judged at their accuracy plus the median
// gain from that level to 1 of earlier generations, against the front that earlier generations
// trained in full: one left behind may still add hypervolume only if every promoted one did
// too, when it was picked. So no promoted candidate is (weakly) dominated by that front while
// one left behind is dominated neither by it nor by the promoted.
TEST_F(NasSearchTest, FidelityByHypervolumePromotesWhatAddsToTheEarlierFullFront) {
  const auto weakly_dominated = [](const std::vector<double>& p, const ObjectiveMatrix& by) {
    return std::any_of(by.begin(), by.end(), [&](const std::vector<double>& q) {
      for (std::size_t j = 0; j < p.size(); ++j) {
        if (q[j] > p[j]) return false;
      }
      return true;
    });
  };
  std::map<std::string, std::set<std::pair<int, std::string>>> promotions;  // promote_by -> (generation, hash)
  for (const std::string by : {"rank", "hypervolume"}) {
    const SearchConfig config = config_from(small_space_config(
        "  population: 8\n  generations: 4\n  fidelity: {levels: [0.25, 1], promote: 0.5, promote_by: " + by + "}"));
    FakeTrainer trainer;
    run_fresh(config, trainer, by);
    const auto rungs = read_rungs(by);
    for (const auto& r : rungs) {
      if (*r.fidelity == 1.0) promotions[by].insert({r.generation, r.hash});
    }
    if (by == "rank") continue;
    int checked = 0;
    for (int g = 1; g <= 4; ++g) {
      ObjectiveMatrix front;
      std::map<std::string, double> low, full;
      for (const auto& r : rungs) {
        if (r.status != EvaluationStatus::ok || r.generation >= g) continue;
        (*r.fidelity == 1.0 ? full : low)[r.hash] = *r.accuracy;
        if (*r.fidelity == 1.0) front.push_back(minimised_objectives(r, config.search.objectives));
      }
      std::vector<double> gains;
      for (const auto& [hash, a] : low) {
        if (full.contains(hash)) gains.push_back(full[hash] - a);
      }
      ASSERT_FALSE(gains.empty());
      const double gain = median(gains);
      ObjectiveMatrix kept, left;
      for (const auto& r : rungs) {
        if (r.generation != g || *r.fidelity != 0.25 || r.status != EvaluationStatus::ok) continue;
        EvaluationRecord at_full = r;
        at_full.accuracy = std::clamp(*r.accuracy + gain, 0.0, 1.0);
        (promotions[by].contains({g, r.hash}) ? kept : left).push_back(minimised_objectives(at_full, config.search.objectives));
      }
      ObjectiveMatrix front_and_kept = front;
      front_and_kept.insert(front_and_kept.end(), kept.begin(), kept.end());
      const bool a_kept_one_added_nothing =
          std::any_of(kept.begin(), kept.end(), [&](const auto& p) { return weakly_dominated(p, front); });
      for (const auto& p : left) {
        if (a_kept_one_added_nothing) {
          EXPECT_TRUE(weakly_dominated(p, front_and_kept)) << "generation " << g;
        }
      }
      checked += static_cast<int>(kept.size());
    }
    EXPECT_GT(checked, 0);
  }
  EXPECT_NE(promotions["rank"], promotions["hypervolume"]) << "promote_by chooses other candidates";
}

// search.fidelity.continue: every level trains the whole config's samples, to a share of its
// steps; a promoted candidate starts from the state its level before saved, the last level
// saves none, and no state is left once the candidates are logged.
TEST_F(NasSearchTest, ContinuedFidelityStartsEachPromotionFromTheStateOfTheLevelBefore) {
  const SearchConfig config = config_from(small_space_config(
      "  population: 8\n  generations: 1\n  fidelity: {levels: [0.25, 0.5, 1], promote: 0.5, continue: true}"));
  FakeTrainer trainer;
  const auto log = run_fresh(config, trainer, "continued");
  const std::filesystem::path run = tmp.path() / "continued";
  std::map<double, int> by_level;
  for (const TrainOptions& o : trainer.seen()) {
    EXPECT_EQ(o.train_samples, 1000) << "every level draws from all of training.train_samples";
    const double level = o.stop_at == 0.0 ? 1.0 : o.stop_at;
    ++by_level[level];
    const std::string id = std::filesystem::path(o.save_path).stem().string();
    if (level == 0.25) {
      EXPECT_EQ(o.resume_path, "");
    } else {
      EXPECT_EQ(o.resume_path, (run / fmt::format("states/{}@{}.state", id, level == 1.0 ? 0.5 : 0.25)).string());
    }
    EXPECT_EQ(o.state_path, level == 1.0 ? "" : (run / fmt::format("states/{}@{}.state", id, level)).string());
  }
  ASSERT_EQ(by_level.size(), 3u);
  EXPECT_EQ(by_level[0.5], (by_level[0.25] + 1) / 2);
  EXPECT_EQ(by_level[1.0], (by_level[0.5] + 1) / 2);
  EXPECT_EQ(log.size(), static_cast<std::size_t>(by_level[0.25]));
  EXPECT_TRUE(std::filesystem::is_empty(run / "states"));
}

// A tabular benchmark's build: exhaustive with promote 1 evaluates every member at every level.
TEST_F(NasSearchTest, ExhaustiveWithFidelityEvaluatesEveryMemberAtEveryLevel) {
  const SearchConfig config = config_from(small_space_config(
      "  algorithm: exhaustive\n  population: 6\n  fidelity: {levels: [0.25, 0.5, 1], promote: 1, continue: true}"));
  FakeTrainer trainer;
  const auto log = run_fresh(config, trainer, "exhaustive-levels");
  EXPECT_EQ(log.size(), 20u) << "every member, logged once";
  for (const EvaluationRecord& r : log) EXPECT_EQ(r.fidelity, 1.0);
  std::map<double, int> by_level;
  for (const TrainOptions& o : trainer.seen()) ++by_level[o.stop_at == 0.0 ? 1.0 : o.stop_at];
  EXPECT_EQ(by_level, (std::map<double, int>{{0.25, 20}, {0.5, 20}, {1.0, 20}}));
}

TEST_F(NasSearchTest, FidelityResumeReplaysThePromotionsWithoutTrainingAgain) {
  for (const std::string continued : {"false", "true", "false, promote_by: hypervolume"}) {
    SCOPED_TRACE("continue: " + continued);
    const SearchConfig config = config_from(small_space_config(
        "  population: 8\n  generations: 1\n  fidelity: {levels: [0.25, 0.5, 1], promote: 0.5, continue: " + continued + "}"));
    const std::string tag = continued.find("hypervolume") != std::string::npos ? "hypervolume" : continued;
    FakeTrainer reference;
    const auto whole = run_fresh(config, reference, "whole-" + tag);
    // 14 trainings a generation: the last cut is in generation 1, whose promotions by
    // hypervolume depend on generation 0's.
    for (int cut : {5, 10, 13, 19}) {
      SCOPED_TRACE(cut);
      const std::string name = fmt::format("cut-{}-{}", cut, tag);
      FakeTrainer first;
      first.stop_after(cut);
      {
        RunDirectory run = RunDirectory::create(tmp.path() / name, to_yaml(config));
        EXPECT_TRUE(run_search(config, load_board_profile(config.board), run, hooks_for(first)).interrupted);
      }
      FakeTrainer second;
      {
        RunDirectory run = RunDirectory::resume(tmp.path() / name);
        EXPECT_FALSE(run_search(config, load_board_profile(config.board), run, hooks_for(second)).interrupted);
      }
      EXPECT_EQ(essence(read_evaluations(tmp.path() / name)), essence(whole));
      // Trainings that finished before the stop are not done again (those cut by it are).
      // A training: its candidate (the weights file), samples and share of the steps.
      const auto trainings = [](const FakeTrainer& t) {
        std::multiset<std::tuple<std::string, std::int64_t, double>> out;
        for (const TrainOptions& o : t.seen()) out.insert({o.save_path, o.train_samples, o.stop_at});
        return out;
      };
      int again = 0;
      for (const auto& key : trainings(second)) again += static_cast<int>(trainings(first).count(key));
      EXPECT_LE(again, 2) << "at most the trainings in flight at the stop (jobs: 2)";
    }
  }
}

}  // namespace
}  // namespace joules
