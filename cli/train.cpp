// joules train ARCH.yaml [options] [--save FILE.pt]: trains one architecture on real data and
// prints its validation and test accuracy. Options come from the command line, over the
// `training:` and `data:` sections of an optional config file.


#include <atomic>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <map>
#include <type_traits>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/command.hpp"
#include "cli/interrupt.hpp"
#include "cli/format.hpp"
#include "space/analysis.hpp"
#include "onnx/onnx_model.hpp"
#include "space/architecture_yaml.hpp"
#include "train/allocator.hpp"
#include "train/trainer.hpp"
#include "train/weights.hpp"
#include "util/input_error.hpp"
#include "util/status_line.hpp"
#include "util/yaml_reader.hpp"

namespace joules::cli {
namespace {

struct TrainCommandOptions {
  std::string arch_path;
  std::string config_path;
  std::string save_path;
  std::string onnx_path;
  bool json = false;
  CLI::Option* evaluate_test = nullptr;  // --evaluate-test / --no-test
  bool evaluate_test_given = true;
  // Values given on the command line, applied over the config's.
  TrainOptions train;
  DataOptions data;
  std::vector<std::pair<CLI::Option*, std::function<void(TrainOptions&, DataOptions&)>>> overrides;
};

void read_options(const TrainCommandOptions& cli, TrainOptions& train, DataOptions& data) {
  // A training run of its own is evaluated on the test set unless the config or a flag says
  // not (a search's candidates are not: TrainOptions' default).
  train.evaluate_test = true;
  if (!cli.config_path.empty()) {
    const yaml::Value config = yaml::Value::parse_file(cli.config_path);
    if (!config.is_map()) config.fail("expected a config: a map (with training: and data: sections)");
    const yaml::Value training = config.get("training");
    train = parse_train_options(training);
    if (!training.is_map() || !training.get("evaluate_test").defined()) train.evaluate_test = true;
    data = parse_data_options(config.get("data"));
  }
  for (const auto& [option, apply] : cli.overrides) {
    if (option->count() > 0) apply(train, data);
  }
  if (cli.evaluate_test->count() > 0) train.evaluate_test = cli.evaluate_test_given;
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

// The trained network as ONNX, from the weights the training saved (with its normalisation).
void write_trained_onnx(const TrainCommandOptions& cli, const Architecture& arch, const TrainResult& result,
                        const std::string& weights_path, const std::vector<std::string>& class_names) {
  OnnxMetadata metadata{.validation_accuracy = result.validation_accuracy,
                        .test_accuracy = result.test_accuracy,
                        .class_names = class_names};
  write_onnx(cli.onnx_path, arch, read_weights_file(arch, weights_path), metadata);
}

int run_train(const TrainCommandOptions& cli) {
  keep_freed_memory_for_training();
  const Architecture arch = load_architecture_file(cli.arch_path);  // an .onnx file: its architecture, from scratch
  TrainOptions train;
  DataOptions data_options;
  read_options(cli, train, data_options);
  // The ONNX file is written from saved weights: a temporary file beside it without --save.
  const std::string onnx_weights = train.save_path.empty() && !cli.onnx_path.empty()
                                       ? cli.onnx_path + ".weights-tmp.pt" : train.save_path;
  train.save_path = onnx_weights;

  std::shared_ptr<const Data> data;
  try {
    data = load_data(data_options, arch.input);
  } catch (const SpecError& e) {  // data.path or validation_size wrong for this data
    if (cli.config_path.empty()) {
      throw InputError("command line", 0, e.key() == "path" ? "--data" : flag_of(e.key()), e.message());
    }
    yaml::Value::parse_file(cli.config_path).fail_at(SpecError("data." + e.key(), e.message()));
  }
  try {
    check_compatible(arch, *data);
  } catch (const SpecError& e) {
    if (is_onnx_path(cli.arch_path)) throw InputError(cli.arch_path, 0, e.key(), e.message());
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

  const bool saved = (result.status == TrainStatus::ok || result.status == TrainStatus::truncated) && !interrupted;
  if (!cli.onnx_path.empty() && saved) write_trained_onnx(cli, arch, result, onnx_weights, data->class_names());
  if (onnx_weights != cli.save_path) {
    std::error_code ignored;
    std::filesystem::remove(onnx_weights, ignored);
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
    if (!data->class_names().empty()) out["class_names"] = data->class_names();
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
    if (!cli.save_path.empty() && saved) fmt::print("weights saved to {}\n", cli.save_path);
    if (!cli.onnx_path.empty() && saved) fmt::print("ONNX model saved to {}\n", cli.onnx_path);
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

// The same for an enum `field`, given by one of the names of its table.
template <class Options, class Enum, std::size_t N>
void add_choice_override(CLI::App* cmd, TrainCommandOptions& cli, const std::string& names,
                         Enum Options::*field, const EnumNames<Enum, N>& values, const std::string& help) {
  std::map<std::string, Enum> by_name;
  for (const EnumName<Enum>& v : values) by_name.emplace(std::string(v.name), v.value);
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
  cmd->add_option("ARCH.yaml", cli->arch_path, "Architecture file (YAML, or .onnx: its architecture, trained from scratch)")->required();
  cmd->add_option("--config", cli->config_path,
                  "Config file whose training: and data: sections give the defaults of the options below");
  cmd->add_option("--save", cli->save_path,
                  "Write the trained weights here (a dict of tensors, torch.load reads it)");
  cmd->add_option("--onnx", cli->onnx_path,
                  "Also write the trained network as ONNX (opset 13, normalisation inside) here");
  cmd->add_flag("--json", cli->json, "Print the result as JSON (no progress)");
  cli->evaluate_test = cmd->add_flag("--evaluate-test,!--no-test", cli->evaluate_test_given,
                                     "Also evaluate on the test set (the default here; --no-test: do not)");

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
  add_choice_override(cmd, c, "--optimizer", &TrainOptions::optimizer, kOptimizerNames, "Optimizer (sgd)");
  add_override(cmd, c, "--learning-rate,--lr", &TrainOptions::learning_rate,
               fmt::format("Learning rate ({})", t.learning_rate));
  add_choice_override(cmd, c, "--schedule", &TrainOptions::schedule, kLrScheduleNames,
                      "Learning-rate schedule (cosine)");
  add_override(cmd, c, "--momentum", &TrainOptions::momentum, fmt::format("SGD momentum ({})", t.momentum));
  add_override(cmd, c, "--adam-beta1", &TrainOptions::adam_beta1, fmt::format("Adam's beta1 ({})", t.adam_beta1));
  add_override(cmd, c, "--adam-beta2", &TrainOptions::adam_beta2, fmt::format("Adam's beta2 ({})", t.adam_beta2));
  add_override(cmd, c, "--adam-epsilon", &TrainOptions::adam_epsilon,
               fmt::format("Adam's epsilon ({})", t.adam_epsilon));
  add_override(cmd, c, "--weight-decay", &TrainOptions::weight_decay, "L2 penalty (0)");
  add_override(cmd, c, "--seed", &TrainOptions::seed, "Seed of the weights, shuffling and dropout (0)");
  add_override(cmd, c, "--threads", &TrainOptions::threads, "Intra-op threads (1)");
  add_choice_override(cmd, c, "--device", &TrainOptions::device, kComputeDeviceNames,
                      "Train on the CPU or a CUDA GPU (cpu)");
  add_override(cmd, c, "--time-budget-s", &TrainOptions::time_budget_s,
               "Stop training after this many seconds (0: no limit)");
  add_override(cmd, c, "--eval-batch-size", &TrainOptions::eval_batch_size,
               fmt::format("Samples per batch when evaluating ({})", t.eval_batch_size));
  add_override(cmd, c, "--loss-every-steps", &TrainOptions::loss_every_steps,
               fmt::format("One loss-curve point per this many steps ({})", t.loss_every_steps));
  add_choice_override(cmd, c, "--dataset", &DataOptions::kind, kDatasetKindNames, "Data kind (fashion-mnist)");
  add_override(cmd, c, "--data", &DataOptions::path, fmt::format("Dataset directory ({})", d.path));
  add_override(cmd, c, "--validation-size", &DataOptions::validation_size,
               fmt::format("Training samples held out for validation ({})", d.validation_size));
  add_override(cmd, c, "--split-seed", &DataOptions::split_seed, "Seed of the validation split (0)");
  // Every key of a config's training: section has its flag; a key added without one stops
  // every command here at once rather than going unnoticed.
  for (std::string_view key : training_option_keys()) {
    if (cmd->get_option_no_throw(flag_of(std::string(key))) == nullptr) {
      throw std::logic_error(fmt::format("joules train has no flag for the training key '{}'", key));
    }
  }
  return [cli] { return run_train(*cli); };
}

}  // namespace joules::cli
