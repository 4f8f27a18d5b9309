#include "search/run_directory.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>

#include "space/architecture_yaml.hpp"
#include "tests/support/temp_dir.hpp"
#include "util/input_error.hpp"

namespace joules {
namespace {

using ::testing::HasSubstr;

EvaluationRecord record(std::int64_t id, EvaluationStatus status = EvaluationStatus::ok) {
  EvaluationRecord r;
  r.id = id;
  r.generation = static_cast<int>(id / 4);
  r.arch = parse_architecture("input: [1, 8, 8]\nlayers:\n  - fc: {units: " + std::to_string(id + 2) + "}\n", "a.yaml");
  r.hash = canonical_hash_hex(r.arch);
  r.status = status;
  if (status == EvaluationStatus::ok) r.accuracy = 0.5 + 0.01 * static_cast<double>(id);
  if (status != EvaluationStatus::ok) r.error = "budget: energy 3 mJ > 2 mJ";
  r.energy_mj = 1.25 * static_cast<double>(id + 1);
  r.latency_ms = 0.5;
  r.macs = 64 * (id + 2);
  r.params = r.macs + id + 2;
  r.train_seconds = 3.5;
  return r;
}

class RunDirectoryTest : public ::testing::Test {
 protected:
  testing::TempDir tmp;
  std::filesystem::path dir = tmp.path() / "runs" / "a";
};

TEST_F(RunDirectoryTest, EvaluationsSurviveAndResume) {
  {
    RunDirectory run = RunDirectory::create(dir, "seed: 1\n");
    run.append(record(0));
    run.append(record(1, EvaluationStatus::infeasible));
    run.append(record(2, EvaluationStatus::failed));
    run.write_checkpoint({{"generation", 3}});
  }
  RunDirectory run = RunDirectory::resume(dir);
  ASSERT_EQ(run.previous_evaluations().size(), 3u);
  EXPECT_EQ(run.previous_evaluations()[0], record(0));
  EXPECT_EQ(run.previous_evaluations()[1], record(1, EvaluationStatus::infeasible));
  EXPECT_EQ(run.previous_evaluations()[2], record(2, EvaluationStatus::failed));
  EXPECT_EQ(run.repaired_bytes(), 0u);
  EXPECT_EQ((*run.read_checkpoint())["generation"], 3);
  std::ifstream config(run.config_path());
  std::string text((std::istreambuf_iterator<char>(config)), {});
  EXPECT_EQ(text, "seed: 1\n");
}

TEST_F(RunDirectoryTest, LinesFollowTheContract) {
  RunDirectory run = RunDirectory::create(dir, "");
  run.append(record(1, EvaluationStatus::failed));
  std::ifstream in(run.evaluations_path());
  std::string line;
  std::getline(in, line);
  const auto j = nlohmann::json::parse(line);
  for (const char* key : {"id", "generation", "hash", "arch", "status", "accuracy", "energy_mj", "macs", "params",
                          "train_seconds", "error"}) {
    EXPECT_TRUE(j.contains(key)) << key;
  }
  EXPECT_EQ(j["status"], "failed");
  EXPECT_TRUE(j["accuracy"].is_null());
  EXPECT_EQ(j["arch"]["layers"][0]["fc"]["units"], 3);
}

TEST_F(RunDirectoryTest, TornLastLineIsRepairedNotFatal) {
  {
    RunDirectory run = RunDirectory::create(dir, "");
    run.append(record(0));
    run.append(record(1));
  }
  // A crash in the middle of the third write.
  const std::string torn = to_json(record(2)).dump().substr(0, 40);
  std::ofstream(dir / "evaluations.jsonl", std::ios::app) << torn;
  RunDirectory run = RunDirectory::resume(dir);
  EXPECT_EQ(run.previous_evaluations().size(), 2u);
  EXPECT_EQ(run.repaired_bytes(), torn.size());
  run.append(record(2));
  EXPECT_EQ(read_evaluations(dir).size(), 3u) << "the appended line follows a clean end";
}

TEST_F(RunDirectoryTest, CorruptLineInTheMiddleIsAnError) {
  {
    RunDirectory run = RunDirectory::create(dir, "");
    run.append(record(0));
  }
  std::ofstream(dir / "evaluations.jsonl", std::ios::app) << "{not json}\n" << to_json(record(1)).dump() << "\n";
  EXPECT_THAT([&] { RunDirectory::resume(dir); },
              ::testing::ThrowsMessage<std::runtime_error>(HasSubstr("evaluations.jsonl:2: corrupt")));
}

TEST_F(RunDirectoryTest, RefusesToOverwriteARunOrShareIt) {
  RunDirectory run = RunDirectory::create(dir, "");
  EXPECT_THAT([&] { RunDirectory::resume(dir); },
              ::testing::ThrowsMessage<std::runtime_error>(HasSubstr(dir.string() + " is in use by pid")));
  run = RunDirectory::create(tmp.path() / "other", "");  // releases the lock on `dir`
  EXPECT_THAT([&] { RunDirectory::create(dir, ""); }, ::testing::ThrowsMessage<InputError>(HasSubstr("--resume")));
  EXPECT_THAT([&] { RunDirectory::resume(tmp.path() / "nothing"); },
              ::testing::ThrowsMessage<InputError>(HasSubstr("no search run")));
}

}  // namespace
}  // namespace joules
