// The NAS driver with a stand-in trainer (accuracy from the architecture, instantly), so that
// generations, budgets, failures, determinism and resume are checked in milliseconds. Real
// training runs end to end in tests/cli/search_test.cpp.

#include "search/nas_search.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <map>
#include <mutex>
#include <set>

#include <fmt/format.h>

#include "search/compare.hpp"
#include "search/export.hpp"
#include "space/analysis.hpp"
#include "space/architecture_yaml.hpp"
#include "tests/support/temp_dir.hpp"
#include "util/input_error.hpp"

namespace joules {
namespace {

using ::testing::HasSubstr;

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
      ++total_;
      if (stop_after_ > 0 && total_ >= stop_after_) stop_flag_.store(true);
    }
    if (fail_hash_prefix_ && hash.starts_with(*fail_hash_prefix_)) throw std::runtime_error("out of memory (fake)");
    TrainResult r;
    if (stop && stop->load()) {
      r.status = TrainStatus::truncated;
      r.reason = "stopped";
      return r;
    }
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
  void stop_after(int n) { stop_after_ = n; }
  void fail_hashes_starting_with(std::string prefix) { fail_hash_prefix_ = std::move(prefix); }
  std::atomic<bool> stop_flag_{false};

 private:
  mutable std::mutex mutex_;
  std::map<std::string, int> calls_;
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
    const SearchSummary summary = run_search(config, run, hooks_for(trainer));
    EXPECT_FALSE(summary.interrupted);
    return read_evaluations(tmp.path() / name);
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
      EXPECT_TRUE(run_search(config, run, hooks_for(first)).interrupted);
    }
    // A crash while the next line was written.
    std::ofstream(tmp.path() / name / "evaluations.jsonl", std::ios::app) << "{\"id\": 99, \"gen";
    FakeTrainer second;
    {
      RunDirectory run = RunDirectory::resume(tmp.path() / name);
      EXPECT_GT(run.repaired_bytes(), 0u);
      EXPECT_FALSE(run_search(config, run, hooks_for(second)).interrupted);
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

TEST_F(NasSearchTest, ExportWritesTheNonDominatedMembers) {
  const SearchConfig config = config_from(config_text("  budgets: {params: 60000}"));
  FakeTrainer trainer;
  const auto log = run_fresh(config, trainer, "a");
  const ExportResult exported = export_front({.run_dir = tmp.path() / "a"});
  ASSERT_FALSE(exported.front.empty());
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

}  // namespace
}  // namespace joules
