// TrainOptions: names, validation and the `training:` YAML section. Torch-free.

#include <cmath>
#include <vector>
#include <limits>

#include <fmt/format.h>

#include "train/trainer.hpp"
#include "util/input_error.hpp"
#include "util/yaml_reader.hpp"

namespace joules {
namespace {

void require(bool ok, const char* key, const std::string& message) {
  if (!ok) throw SpecError(key, message);
}

}  // namespace

std::string_view to_string(OptimizerKind kind) { return name_of(kOptimizerNames, kind); }

std::string_view to_string(LrSchedule schedule) { return name_of(kLrScheduleNames, schedule); }

std::span<const std::string_view> training_option_keys() {
  static constexpr std::string_view keys[] = {
      "epochs",       "steps",      "train_samples", "batch_size",    "optimizer",       "learning_rate", "schedule",
      "momentum",     "adam_beta1", "adam_beta2",    "adam_epsilon",  "weight_decay",    "seed",          "threads",
      "time_budget_s", "evaluate_test", "eval_batch_size", "loss_every_steps", "device"};
  return keys;
}

std::string_view to_string(TrainStatus status) {
  switch (status) {
    case TrainStatus::ok:
      return "ok";
    case TrainStatus::diverged:
      return "diverged";
    case TrainStatus::truncated:
      return "truncated";
    case TrainStatus::failed:
      return "failed";
  }
  return "?";
}

void validate(const TrainOptions& o) {
  require(o.steps >= 0, "steps", fmt::format("must be >= 0 (0: use epochs), got {}", o.steps));
  require(o.epochs >= 0, "epochs", fmt::format("must be >= 0 (ignored when steps > 0), got {}", o.epochs));
  require(o.steps > 0 || o.epochs >= 1, "epochs", fmt::format("must be >= 1 when steps is 0, got {}", o.epochs));
  require(o.train_samples >= 0, "train_samples",
          fmt::format("must be >= 0 (0: the whole training split), got {}", o.train_samples));
  require(o.batch_size >= 1, "batch_size", fmt::format("must be >= 1, got {}", o.batch_size));
  require(o.stop_at >= 0 && o.stop_at <= 1, "stop_at", fmt::format("must be in [0, 1] (0: the whole run), got {}", o.stop_at));
  require(std::isfinite(o.learning_rate) && o.learning_rate > 0, "learning_rate",
          fmt::format("must be a number > 0, got {}", o.learning_rate));
  require(o.momentum >= 0 && o.momentum < 1, "momentum",
          fmt::format("must be in [0, 1), got {}", o.momentum));
  require(o.adam_beta1 >= 0 && o.adam_beta1 < 1, "adam_beta1",
          fmt::format("must be in [0, 1), got {}", o.adam_beta1));
  require(o.adam_beta2 >= 0 && o.adam_beta2 < 1, "adam_beta2",
          fmt::format("must be in [0, 1), got {}", o.adam_beta2));
  require(std::isfinite(o.adam_epsilon) && o.adam_epsilon > 0, "adam_epsilon",
          fmt::format("must be a number > 0, got {}", o.adam_epsilon));
  require(std::isfinite(o.weight_decay) && o.weight_decay >= 0, "weight_decay",
          fmt::format("must be a number >= 0, got {}", o.weight_decay));
  require(o.threads >= 1 && o.threads <= 1024, "threads",
          fmt::format("must be in [1, 1024], got {}", o.threads));
  require(std::isfinite(o.time_budget_s) && o.time_budget_s >= 0, "time_budget_s",
          fmt::format("must be a number of seconds >= 0 (0: no limit), got {}", o.time_budget_s));
  require(o.eval_batch_size >= 1, "eval_batch_size", fmt::format("must be >= 1, got {}", o.eval_batch_size));
  require(o.augment.crop_padding >= 0, "augment.crop_padding",
          fmt::format("must be >= 0 (0: no random crop), got {}", o.augment.crop_padding));
  require(o.loss_every_steps >= 1, "loss_every_steps",
          fmt::format("must be >= 1, got {}", o.loss_every_steps));
}

TrainOptions parse_train_options(const yaml::Value& node) {
  TrainOptions o;
  if (!node.defined() || node.is_null()) return o;
  if (!node.is_map()) node.fail("expected a map of training options (epochs, batch_size, optimizer, ...)");
  // The flat keys (each has a `joules train` flag) and the nested augment map.
  std::vector<std::string_view> keys(training_option_keys().begin(), training_option_keys().end());
  keys.push_back("augment");
  node.allow_keys(keys);
  // Ranges are checked once, by validate(), and reported at the key's line below; reading
  // only keeps each value within its field's type.
  const auto integer = [&](const char* key, auto& field) {
    using Field = std::remove_reference_t<decltype(field)>;
    const std::int64_t hi = std::numeric_limits<Field>::max() > INT64_MAX
                                ? INT64_MAX
                                : static_cast<std::int64_t>(std::numeric_limits<Field>::max());
    if (const auto v = node.get(key); v.defined()) {
      field = static_cast<Field>(v.as_int(static_cast<std::int64_t>(std::numeric_limits<Field>::min()), hi));
    }
  };
  const double inf = HUGE_VAL;
  const auto number = [&](const char* key, double& field) {
    if (const auto v = node.get(key); v.defined()) field = v.as_double(-inf, inf);
  };
  integer("epochs", o.epochs);
  integer("steps", o.steps);
  integer("train_samples", o.train_samples);
  integer("batch_size", o.batch_size);
  if (const auto v = node.get("optimizer"); v.defined()) {
    o.optimizer = v.as_enum(kOptimizerNames);
  }
  if (const auto v = node.get("schedule"); v.defined()) {
    o.schedule = v.as_enum(kLrScheduleNames);
  }
  number("learning_rate", o.learning_rate);
  number("momentum", o.momentum);
  number("adam_beta1", o.adam_beta1);
  number("adam_beta2", o.adam_beta2);
  number("adam_epsilon", o.adam_epsilon);
  number("weight_decay", o.weight_decay);
  number("time_budget_s", o.time_budget_s);
  integer("seed", o.seed);
  integer("threads", o.threads);
  if (const auto v = node.get("evaluate_test"); v.defined()) o.evaluate_test = v.as_bool();
  integer("eval_batch_size", o.eval_batch_size);
  integer("loss_every_steps", o.loss_every_steps);
  if (const auto v = node.get("device"); v.defined()) {
    o.device = v.as_enum(kComputeDeviceNames);
  }
  if (const auto a = node.get("augment"); a.defined() && !a.is_null()) {
    if (!a.is_map()) a.fail("expected a map with crop_padding, horizontal_flip");
    a.allow_keys({"crop_padding", "horizontal_flip"});
    if (const auto v = a.get("crop_padding"); v.defined()) o.augment.crop_padding = v.as_int(0, 1024);
    if (const auto v = a.get("horizontal_flip"); v.defined()) o.augment.horizontal_flip = v.as_bool();
  }
  try {
    validate(o);
  } catch (const SpecError& e) {
    node.fail_at(e);
  }
  return o;
}

std::string to_yaml(const TrainOptions& o) {
  std::string out;
  out += fmt::format("epochs: {}\n", o.epochs);
  out += fmt::format("steps: {}\n", o.steps);
  out += fmt::format("train_samples: {}\n", o.train_samples);
  out += fmt::format("batch_size: {}\n", o.batch_size);
  out += fmt::format("optimizer: {}\n", to_string(o.optimizer));
  out += fmt::format("learning_rate: {}\n", o.learning_rate);
  out += fmt::format("schedule: {}\n", to_string(o.schedule));
  out += fmt::format("momentum: {}\n", o.momentum);
  out += fmt::format("adam_beta1: {}\n", o.adam_beta1);
  out += fmt::format("adam_beta2: {}\n", o.adam_beta2);
  out += fmt::format("adam_epsilon: {}\n", o.adam_epsilon);
  out += fmt::format("weight_decay: {}\n", o.weight_decay);
  out += fmt::format("seed: {}\n", o.seed);
  out += fmt::format("threads: {}\n", o.threads);
  out += fmt::format("time_budget_s: {}\n", o.time_budget_s);
  out += fmt::format("evaluate_test: {}\n", o.evaluate_test);
  out += fmt::format("eval_batch_size: {}\n", o.eval_batch_size);
  out += fmt::format("loss_every_steps: {}\n", o.loss_every_steps);
  out += fmt::format("device: {}\n", to_string(o.device));
  out += fmt::format("augment: {{crop_padding: {}, horizontal_flip: {}}}\n", o.augment.crop_padding,
                     o.augment.horizontal_flip);
  return out;
}

}  // namespace joules
