// The `training:` section: defaults, every key, round trip through to_yaml, and errors with
// file, line and key.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "train/trainer.hpp"
#include "util/input_error.hpp"
#include "util/yaml_reader.hpp"
#include "tests/train/config_text.hpp"

namespace joules {
namespace {

using ::testing::HasSubstr;

TrainOptions parse(const std::string& text) {
  return parse_train_options(yaml::Value::parse_string(text, "config.yaml").get("training"));
}

std::string error_of(const std::string& text) { return testing::input_error(parse, text); }

TEST(TrainOptionsTest, MissingSectionGivesTheDefaults) {
  EXPECT_EQ(parse("other: 1\n"), TrainOptions{});
  EXPECT_EQ(parse("training:\n"), TrainOptions{});
}

TEST(TrainOptionsTest, ReadsEveryKey) {
  const TrainOptions o = parse(R"(training:
  epochs: 3
  steps: 40
  train_samples: 1000
  batch_size: 32
  optimizer: adam
  learning_rate: 0.001
  schedule: linear
  momentum: 0.5
  adam_beta1: 0.8
  adam_beta2: 0.99
  adam_epsilon: 1e-6
  weight_decay: 0.0005
  seed: 12
  threads: 2
  time_budget_s: 30
  evaluate_test: true
  eval_batch_size: 500
  loss_every_steps: 5
)");
  EXPECT_EQ(o.epochs, 3);
  EXPECT_EQ(o.steps, 40);
  EXPECT_EQ(o.train_samples, 1000);
  EXPECT_EQ(o.batch_size, 32);
  EXPECT_EQ(o.optimizer, OptimizerKind::adam);
  EXPECT_EQ(o.learning_rate, 0.001);
  EXPECT_EQ(o.schedule, LrSchedule::linear);
  EXPECT_EQ(o.momentum, 0.5);
  EXPECT_EQ(o.adam_beta1, 0.8);
  EXPECT_EQ(o.adam_beta2, 0.99);
  EXPECT_EQ(o.adam_epsilon, 1e-6);
  EXPECT_EQ(o.weight_decay, 0.0005);
  EXPECT_EQ(o.seed, 12u);
  EXPECT_EQ(o.threads, 2);
  EXPECT_EQ(o.time_budget_s, 30.0);
  EXPECT_TRUE(o.evaluate_test);
  EXPECT_EQ(o.eval_batch_size, 500);
  EXPECT_EQ(o.loss_every_steps, 5);
}

TEST(TrainOptionsTest, ToYamlReadsBackTheSameOptions) {
  TrainOptions o;
  o.optimizer = OptimizerKind::adam;
  o.schedule = LrSchedule::constant;
  o.learning_rate = 0.1 + 0.2;  // not exactly representable in short decimal
  o.adam_epsilon = 1e-8;
  o.seed = 99;
  o.time_budget_s = 2.5;
  const std::string yaml = testing::yaml_section("training", to_yaml(o));
  EXPECT_EQ(parse(yaml), o) << yaml;
}

TEST(TrainOptionsTest, ErrorsNameFileLineAndKey) {
  EXPECT_EQ(error_of("training:\n  epochs: 2\n  batch_size: 0\n"),
            "config.yaml:3: training.batch_size: must be >= 1, got 0");
  EXPECT_THAT(error_of("training:\n  optimizer: rmsprop\n"), HasSubstr("config.yaml:2: training.optimizer:"));
  EXPECT_THAT(error_of("training:\n  lr: 0.1\n"), HasSubstr("config.yaml:2: training.lr:"));
  EXPECT_THAT(error_of("training:\n  momentum: 1.5\n"),
              HasSubstr("config.yaml:2: training.momentum: must be in [0, 1), got 1.5"));
  EXPECT_THAT(error_of("training:\n  learning_rate: -1\n"),
              HasSubstr("config.yaml:2: training.learning_rate: must be a number > 0, got -1"));
  EXPECT_THAT(error_of("training:\n  time_budget_s: -3\n"),
              HasSubstr("training.time_budget_s: must be a number of seconds >= 0"));
  EXPECT_THAT(error_of("training:\n  threads: 0\n"), HasSubstr("config.yaml:2: training.threads:"));
  EXPECT_THAT(error_of("training: [1, 2]\n"), HasSubstr("config.yaml:1: training: expected a map"));
}

TEST(TrainOptionsTest, AugmentIsReadWrittenAndChecked) {
  const TrainOptions o = parse("training:\n  augment: {crop_padding: 4, horizontal_flip: true}\n");
  EXPECT_EQ(o.augment, (AugmentOptions{.crop_padding = 4, .horizontal_flip = true}));
  EXPECT_FALSE(TrainOptions{}.augment.enabled());
  EXPECT_EQ(parse(testing::yaml_section("training", to_yaml(o))), o);
  EXPECT_THAT(to_yaml(TrainOptions{}), HasSubstr("augment: {crop_padding: 0, horizontal_flip: false}"));
  EXPECT_THAT(error_of("training:\n  augment: {crop_padding: -1}\n"),
              HasSubstr("config.yaml:2: training.augment.crop_padding:"));
  EXPECT_THAT(error_of("training:\n  augment: {flip: true}\n"), HasSubstr("config.yaml:2: training.augment.flip:"));
  EXPECT_THAT(error_of("training:\n  augment: 3\n"), HasSubstr("training.augment: expected a map"));
}

TEST(TrainOptionsTest, ValidateNamesTheKeyAndTheRange) {
  TrainOptions o;
  o.threads = 0;
  try {
    validate(o);
    FAIL();
  } catch (const SpecError& e) {
    EXPECT_EQ(e.key(), "threads");
    EXPECT_THAT(e.message(), HasSubstr("must be in [1, 1024], got 0"));
  }
  o = TrainOptions{};
  o.steps = 10;
  o.epochs = 0;  // ignored when steps are given
  EXPECT_NO_THROW(validate(o));
}

// One set of rules: the file reads what validate() accepts, and reports what it refuses.
TEST(TrainOptionsTest, TheFileFollowsTheSameRulesAsValidate) {
  const TrainOptions o = parse("training:\n  epochs: 0\n  steps: 20\n");
  EXPECT_EQ(o.epochs, 0);
  EXPECT_EQ(o.steps, 20);
  EXPECT_NO_THROW(validate(o));
  EXPECT_EQ(error_of("training:\n  epochs: 0\n"),
            "config.yaml:2: training.epochs: must be >= 1 when steps is 0, got 0");
  EXPECT_EQ(error_of("training:\n  steps: 5\n  epochs: -1\n"),
            "config.yaml:3: training.epochs: must be >= 0 (ignored when steps > 0), got -1");
  EXPECT_EQ(error_of("training:\n  threads: 2000\n"), "config.yaml:2: training.threads: must be in [1, 1024], got 2000");
  EXPECT_THAT(error_of("training:\n  threads: 4294967297\n"),
              HasSubstr("config.yaml:2: training.threads: expected an integer in [-2147483648, 2147483647]"))
      << "no silent narrowing to 1";
}

}  // namespace
}  // namespace joules
