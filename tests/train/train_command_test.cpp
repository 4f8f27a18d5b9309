// `joules train` as a user runs it, on a small dataset written by the test: results, JSON,
// --save, --config with command-line overrides, and exit codes with one error line.

#include <algorithm>
#include <filesystem>
#include <string_view>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "tests/cli/run_command.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/train/dataset_files.hpp"
#include "train/trainer.hpp"

namespace joules::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

const char* kTinyNet = R"(name: tiny
input: [1, 8, 8]
layers:
  - conv: {filters: 4, kernel: 3, padding: 1}
  - pool: {op: max, kernel: 2}
  - fc: {units: 3}
)";

class TrainCommandTest : public ::testing::Test {
 protected:
  void SetUp() override {
    write_idx_dataset((dir_.path() / "data").string(), 300, 60, /*classes=*/3, /*gzipped=*/false);
    arch_ = dir_.write("tiny.yaml", kTinyNet);
  }
  std::vector<std::string> args(std::vector<std::string> extra) const {
    std::vector<std::string> a{"train",
                               arch_,
                               "--dataset",
                               "mnist-idx",
                               "--data",
                               (dir_.path() / "data").string(),
                               "--validation-size",
                               "60",
                               "--batch-size",
                               "16"};
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
  }

  TempDir dir_;
  std::string arch_;
};

TEST_F(TrainCommandTest, PrintsValidationAndTestAccuracy) {
  const CommandResult r = run_joules(args({"--epochs", "2"}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, StartsWith("tiny: ok after 30 steps (480 samples)"));
  EXPECT_THAT(r.out, HasSubstr("validation accuracy"));
  EXPECT_THAT(r.out, HasSubstr("(60 samples)"));
  EXPECT_THAT(r.out, HasSubstr("test accuracy"));
  EXPECT_THAT(r.err, HasSubstr("epoch 2/2  step 30/30"));  // progress, one line per epoch off a terminal
}

TEST_F(TrainCommandTest, JsonHasTheResultAndTheLossCurve) {
  const CommandResult r = run_joules(args({"--steps", "12", "--json", "--no-test"}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["name"], "tiny");
  EXPECT_EQ(j["status"], "ok");
  EXPECT_EQ(j["steps"], 12);
  EXPECT_EQ(j["samples_seen"], 12 * 16);
  EXPECT_TRUE(j["validation_accuracy"].is_number());
  EXPECT_TRUE(j["test_accuracy"].is_null());
  EXPECT_EQ(j["loss_curve"].size(), 1u);
  EXPECT_EQ(j["loss_curve"][0]["step"], 12);
  EXPECT_FALSE(j.contains("reason"));
  EXPECT_EQ(r.err, "");
}

TEST_F(TrainCommandTest, SaveWritesTheWeights) {
  const std::string weights = (dir_.path() / "tiny.pt").string();
  const CommandResult r = run_joules(args({"--steps", "3", "--save", weights}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("weights saved to " + weights));
  EXPECT_TRUE(std::filesystem::exists(weights));
}

TEST_F(TrainCommandTest, CommandLineOverridesTheConfig) {
  const std::string config = dir_.write("search.yaml",
                                        "search: {generations: 3}\ntraining:\n  steps: 5\n  batch_size: 8\n"
                                        "data:\n  kind: mnist-idx\n  path: " +
                                            (dir_.path() / "data").string() + "\n  validation_size: 30\n");
  const CommandResult r = run_joules({"train", arch_, "--config", config, "--batch-size", "4", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["steps"], 5);
  EXPECT_EQ(j["samples_seen"], 20);
}

TEST_F(TrainCommandTest, EveryTrainingKeyHasAFlag) {
  const CommandResult r = run_joules({"train", "--help"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_FALSE(training_option_keys().empty());
  for (std::string_view key : training_option_keys()) {
    std::string flag = "--" + std::string(key);
    std::replace(flag.begin(), flag.end(), '_', '-');
    // The whole flag, not the start of a longer one ("--steps" in "--loss-every-steps" is fine).
    EXPECT_THAT(r.out, ::testing::ContainsRegex(" " + flag + "([^a-z0-9_-]|$)")) << "training key " << key;
  }
}

TEST_F(TrainCommandTest, TheOptimizerEvaluationAndLossCurveFlagsApply) {
  // Adam with its own betas and epsilon, a loss-curve point every 4 steps, evaluation batches
  // of 7.
  CommandResult r = run_joules(args({"--steps", "12", "--json", "--optimizer", "adam", "--learning-rate", "0.01",
                                     "--adam-beta1", "0.8", "--adam-beta2", "0.99", "--adam-epsilon", "1e-6",
                                     "--loss-every-steps", "4", "--eval-batch-size", "7", "--no-test"}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  nlohmann::json j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["status"], "ok");
  EXPECT_EQ(j["loss_curve"].size(), 3u);
  EXPECT_TRUE(j["test_accuracy"].is_null());

  for (const auto& [flag, message] : std::vector<std::pair<std::string, std::string>>{
           {"--adam-beta1", "--adam-beta1: must be in [0, 1), got 1.5"},
           {"--adam-beta2", "--adam-beta2: must be in [0, 1), got 1.5"},
           {"--adam-epsilon", "--adam-epsilon: must be a number > 0, got -1"},
           {"--eval-batch-size", "--eval-batch-size: must be >= 1, got 0"},
           {"--loss-every-steps", "--loss-every-steps: must be >= 1, got 0"}}) {
    const std::string value = flag == "--adam-epsilon" ? "-1" : flag.starts_with("--adam") ? "1.5" : "0";
    r = run_joules(args({flag, value}));
    EXPECT_EQ(r.exit_code, 2) << flag;
    EXPECT_EQ(r.err, "error: command line: " + message + " (see joules train --help)\n");
  }

  // evaluate_test: false in the config turns the test set off; --evaluate-test turns it on.
  const std::string config = dir_.write("no-test.yaml",
                                        "training:\n  steps: 3\n  evaluate_test: false\n"
                                        "data:\n  kind: mnist-idx\n  path: " +
                                            (dir_.path() / "data").string() + "\n  validation_size: 30\n");
  r = run_joules({"train", arch_, "--config", config, "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(nlohmann::json::parse(r.out)["test_accuracy"].is_null());
  r = run_joules({"train", arch_, "--config", config, "--json", "--evaluate-test"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(nlohmann::json::parse(r.out)["test_accuracy"].is_number());
}

TEST_F(TrainCommandTest, BadInputExitsTwoWithOneErrorLine) {
  CommandResult r = run_joules(args({"--batch-size", "0"}));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err, "error: command line: --batch-size: must be >= 1, got 0 (see joules train --help)\n");

  const std::string wide = dir_.write(
      "wide.yaml", "input: [1, 8, 8]\nlayers:\n  - conv: {filters: 4, kernel: 3}\n  - fc: {units: 7}\n");
  r = run_joules({"train", wide, "--dataset", "mnist-idx", "--data", (dir_.path() / "data").string(),
                  "--validation-size", "60"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err, "error: " + wide +
                       ":4: layers[1]: the network outputs 7 values per sample but the data has 3 classes\n");

  r = run_joules(args({"--data", (dir_.path() / "nowhere").string()}));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err, "error: command line: --data: no such directory: " + (dir_.path() / "nowhere").string() +
                       " (see joules train --help)\n");

  const std::string config = dir_.write("bad.yaml", "training:\n  epochs: 1\n  batch: 3\n");
  r = run_joules({"train", arch_, "--config", config});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, StartsWith("error: " + config + ":3: training.batch:"));

  const std::string split = dir_.write("split.yaml", "data:\n  kind: mnist-idx\n  path: " +
                                                         (dir_.path() / "data").string() + "\n  validation_size: 300\n");
  r = run_joules({"train", arch_, "--config", split});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, StartsWith("error: " + split + ":4: data.validation_size: must be in [1, 299]"));

  r = run_joules(args({"--validation-size", "300"}));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, StartsWith("error: command line: --validation-size: must be in [1, 299]"));

  r = run_joules(args({"--device", "gpu"}));
  EXPECT_EQ(r.exit_code, 2);

  r = run_joules({"train", arch_, "--dataset", "cifar10"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err, "error: command line: --data: data kind cifar10 needs --data DIR (see joules train --help)\n");
}

TEST_F(TrainCommandTest, ADivergingRunExitsOne) {
  const CommandResult r =
      run_joules(args({"--epochs", "3", "--learning-rate", "1e12", "--schedule", "constant"}));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.out, HasSubstr("tiny: diverged"));
  EXPECT_THAT(r.err, HasSubstr("error: training diverged: "));
}

}  // namespace
}  // namespace joules::testing
