// joules train ARCH.yaml [options] [--save FILE.pt]: trains one architecture on real data and
// prints its validation and test accuracy. Options come from the command line, over the
// `training:` and `data:` sections of an optional config file.


#include <atomic>
#include <csignal>
#include <cstdio>
#include <functional>
#include <map>
#include <type_traits>
#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/command.hpp"
#include "cli/interrupt.hpp"
#include "cli/format.hpp"
#include "space/analysis.hpp"
#include "space/architecture_yaml.hpp"
#include "train/allocator.hpp"
#include "train/trainer.hpp"
#include "util/input_error.hpp"
#include "util/status_line.hpp"
#include "util/yaml_reader.hpp"

namespace joules::cli {
namespace {

struct TrainCommandOptions {
  std::string arch_path;
  std::string config_path;
  std::string save_path;
  bool json = false;
  bool no_test = false;
  // Values given on the command line, applied over the config's.
  TrainOptions train;
  DataOptions data;
  std::vector<std::pair<CLI::Option*, std::function<void(TrainOptions&, DataOptions&)>>> overrides;
};

// "batch_size" -> "--batch-size": the flag of a training option's key.
std::string flag_of(const std::string& key) {
  std::string flag = "--" + key;
  for (char& c : flag) c = c == '_' ? '-' : c;
  return flag;
}

void read_options(const TrainCommandOptions& cli, TrainOptions& train, DataOptions& data) {
  if (!cli.config_path.empty()) {
    const yaml::Value config = yaml::Value::parse_file(cli.config_path);
    if (!config.is_map()) config.fail("expected a config: a map (with training: and data: sections)");
    train = parse_train_options(config.get("training"));
    data = parse_data_options(config.get("data"));
  }
  for (const auto& [option, apply] : cli.overrides) {
    if (option->count() > 0) apply(train, data);
  }
  train.evaluate_test = !cli.no_test;
  train.save_path = cli.save_path;
  try {
    validate(train);
  } catch (const SpecError& e) {
    throw InputError("command line", 0, flag_of(e.key()), e.message());
  }
  if (data.kind != DatasetKind::fashion_mnist && data.path == kFashionMnistPath) {
    throw InputError("command line", 0, "--data",
                     fmt::format("data kind {} needs --data DIR", to_string(data.kind)));
  }
}

// A live line on a terminal; otherwise a line per finished epoch.
std::function<void(const TrainProgress&)> progress_printer() {
  // Off a terminal only the lines forced below are printed.
  auto status = std::make_shared<StatusLine>(stderr, /*interval_s=*/1e9);
  auto last_epoch = std::make_shared<std::int64_t>(0);
  return [status, last_epoch](const TrainProgress& p) {
    const double rate = p.elapsed_s > 0 ? static_cast<double>(p.samples_seen) / p.elapsed_s : 0.0;
    const std::string line = fmt::format("epoch {}/{}  step {}/{}  loss {:.4f}  {:.0f} samples/s  {:.1f} s",
                                         p.epoch, p.epochs, p.step, p.total_steps, p.loss, rate, p.elapsed_s);
    const bool epoch_ended = p.done || p.epoch > *last_epoch + 1;
    if (epoch_ended) *last_epoch = p.epoch - 1;
    status->update(line, /*force=*/epoch_ended);
    if (p.done) status->finish();
  };
}

std::string percent(const std::optional<double>& fraction) {
  return fraction ? fmt::format("{:.2f}%", 100.0 * *fraction) : "-";
}

int run_train(const TrainCommandOptions& cli) {
  keep_freed_memory_for_training();
  const Architecture arch = load_architecture(cli.arch_path);
  TrainOptions train;
  DataOptions data_options;
  read_options(cli, train, data_options);

  std::shared_ptr<const Data> data;
  try {
    data = load_data(data_options);
  } catch (const SpecError& e) {  // data.path or validation_size wrong for this data
    if (cli.config_path.empty()) {
      throw InputError("command line", 0, e.key() == "path" ? "--data" : flag_of(e.key()), e.message());
    }
    yaml::Value::parse_file(cli.config_path).fail_at(SpecError("data." + e.key(), e.message()));
  }
  try {
    check_compatible(arch, *data);
  } catch (const SpecError& e) {
    yaml::Value::parse_file(cli.arch_path).fail_at(e);
  }
  try {
    check_compatible(train, *data);
  } catch (const SpecError& e) {
    throw InputError("command line", 0, flag_of(e.key()), e.message());
  }

  TrainHooks hooks;
  if (!cli.json) hooks.on_progress = progress_printer();
  TrainResult result;
  bool interrupted = false;
  {
    const InterruptGuard interrupt;
    hooks.stop = &interrupt.flag();
    result = train_architecture(arch, *data, train, hooks);
    interrupted = interrupt.interrupted();
  }

  const std::string name = arch.name.empty() ? cli.arch_path : arch.name;
  if (cli.json) {
    nlohmann::json curve = nlohmann::json::array();
    for (const LossPoint& p : result.loss_curve)
      curve.push_back({{"step", p.step}, {"epoch", p.epoch}, {"loss", p.loss}});
    const auto optional = [](const std::optional<double>& v) {
      return v ? nlohmann::json(*v) : nlohmann::json();
    };
    nlohmann::json out = {{"name", arch.name},
                          {"hash", canonical_hash_hex(arch)},
                          {"status", to_string(result.status)},
                          {"validation_accuracy", optional(result.validation_accuracy)},
                          {"test_accuracy", optional(result.test_accuracy)},
                          {"steps", result.steps},
                          {"samples_seen", result.samples_seen},
                          {"seconds", result.seconds},
                          {"train_seconds", result.train_seconds},
                          {"loss_curve", curve}};
    if (!result.reason.empty()) out["reason"] = result.reason;
    fmt::print("{}\n", dump_json(out));
  } else {
    fmt::print("{}: {}{} after {} steps ({} samples) in {:.1f} s (training {:.1f} s)\n", name,
               to_string(result.status), result.reason.empty() ? "" : " (" + result.reason + ")",
               thousands(result.steps), thousands(result.samples_seen), result.seconds, result.train_seconds);
    if (result.validation_accuracy) {
      fmt::print("validation accuracy  {:>7}  ({} samples)\n", percent(result.validation_accuracy),
                 thousands(data->validation_size()));
    }
    if (result.test_accuracy) {
      fmt::print("test accuracy        {:>7}  ({} samples)\n", percent(result.test_accuracy),
                 thousands(data->test_size()));
    }
    if (!train.save_path.empty() &&
        (result.status == TrainStatus::ok || result.status == TrainStatus::truncated) &&
        !interrupted) {
      fmt::print("weights saved to {}\n", train.save_path);
    }
  }
  if (interrupted) return 130;
  if (result.status == TrainStatus::diverged || result.status == TrainStatus::failed) {
    fmt::print(stderr, "error: training {}: {}\n", to_string(result.status), result.reason);
    return 1;
  }
  return 0;
}

// The options of `Options`' kind among a training's and a data set's.
template <class Options>
Options& options_of(TrainOptions& train, DataOptions& data) {
  if constexpr (std::is_same_v<Options, TrainOptions>) {
    return train;
  } else {
    return data;
  }
}

// Adds a flag for `field` of the options that `Options` selects (training or data) and records
// how to apply it over the config's value when given. A later flag overrides an earlier one.
template <class Options, class T>
CLI::Option* add_override(CLI::App* cmd, TrainCommandOptions& cli, const std::string& names,
                          T Options::*field, const std::string& help) {
  Options& given = options_of<Options>(cli.train, cli.data);
  CLI::Option* option = cmd->add_option(names, given.*field, help);
  option->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  cli.overrides.emplace_back(option, [&given, field](TrainOptions& train, DataOptions& data) {
    options_of<Options>(train, data).*field = given.*field;
  });
  return option;
}

// The same for an enum `field`, given by name (to_string() of one of `values`).
template <class Options, class Enum>
void add_choice_override(CLI::App* cmd, TrainCommandOptions& cli, const std::string& names,
                         Enum Options::*field, std::initializer_list<Enum> values, const std::string& help) {
  std::map<std::string, Enum> by_name;
  for (Enum v : values) by_name.emplace(std::string(to_string(v)), v);
  auto text = std::make_shared<std::string>();
  CLI::Option* option = cmd->add_option(names, *text, help)->check(CLI::IsMember(by_name));
  option->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  cli.overrides.emplace_back(option, [text, field, by_name](TrainOptions& train, DataOptions& data) {
    options_of<Options>(train, data).*field = by_name.at(*text);
  });
}

}  // namespace

Runner add_train_command(CLI::App& app) {
  auto cli = std::make_shared<TrainCommandOptions>();
  CLI::App* cmd = app.add_subcommand("train", "Train an architecture on real data and print its accuracy");
  cmd->add_option("ARCH.yaml", cli->arch_path, "Architecture file")->required();
  cmd->add_option("--config", cli->config_path,
                  "Config file whose training: and data: sections give the defaults of the options below");
  cmd->add_option("--save", cli->save_path,
                  "Write the trained weights here (a dict of tensors, torch.load reads it)");
  cmd->add_flag("--json", cli->json, "Print the result as JSON (no progress)");
  cmd->add_flag("--no-test", cli->no_test, "Do not evaluate on the test set");

  const TrainOptions t;
  const DataOptions d;
  TrainCommandOptions& c = *cli;
  add_override(cmd, c, "--epochs", &TrainOptions::epochs,
               fmt::format("Passes over the training samples ({})", t.epochs));
  add_override(cmd, c, "--steps", &TrainOptions::steps, "Train exactly this many batches instead of epochs");
  add_override(cmd, c, "--train-samples", &TrainOptions::train_samples,
               "Use the first N training samples (0: all)");
  add_override(cmd, c, "--batch-size", &TrainOptions::batch_size,
               fmt::format("Samples per step ({})", t.batch_size));
  add_choice_override(cmd, c, "--optimizer", &TrainOptions::optimizer,
                      {OptimizerKind::sgd, OptimizerKind::adam}, "Optimizer (sgd)");
  add_override(cmd, c, "--learning-rate,--lr", &TrainOptions::learning_rate,
               fmt::format("Learning rate ({})", t.learning_rate));
  add_choice_override(cmd, c, "--schedule", &TrainOptions::schedule,
                      {LrSchedule::constant, LrSchedule::cosine, LrSchedule::linear},
                      "Learning-rate schedule (cosine)");
  add_override(cmd, c, "--momentum", &TrainOptions::momentum, fmt::format("SGD momentum ({})", t.momentum));
  add_override(cmd, c, "--weight-decay", &TrainOptions::weight_decay, "L2 penalty (0)");
  add_override(cmd, c, "--seed", &TrainOptions::seed, "Seed of the weights, shuffling and dropout (0)");
  add_override(cmd, c, "--threads", &TrainOptions::threads, "Intra-op threads (1)");
  add_choice_override(cmd, c, "--device", &TrainOptions::device, {TrainDevice::cpu, TrainDevice::cuda},
                      "Train on the CPU or a CUDA GPU (cpu)");
  add_override(cmd, c, "--time-budget-s", &TrainOptions::time_budget_s,
               "Stop training after this many seconds (0: no limit)");
  add_choice_override(cmd, c, "--dataset", &DataOptions::kind,
                      {DatasetKind::fashion_mnist, DatasetKind::mnist_idx, DatasetKind::cifar10},
                      "Data kind (fashion-mnist)");
  add_override(cmd, c, "--data", &DataOptions::path, fmt::format("Dataset directory ({})", d.path));
  add_override(cmd, c, "--validation-size", &DataOptions::validation_size,
               fmt::format("Training samples held out for validation ({})", d.validation_size));
  add_override(cmd, c, "--split-seed", &DataOptions::split_seed, "Seed of the validation split (0)");
  return [cli] { return run_train(*cli); };
}

}  // namespace joules::cli
