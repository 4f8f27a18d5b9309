// joules train ARCH.yaml [options] [--save FILE.pt]: trains one architecture on real data and
// prints its validation and test accuracy. Options come from the command line, over the
// `training:` and `data:` sections of an optional config file.

#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/command.hpp"
#include "cli/format.hpp"
#include "space/analysis.hpp"
#include "space/architecture_yaml.hpp"
#include "train/trainer.hpp"
#include "util/input_error.hpp"
#include "util/yaml_reader.hpp"

namespace joules::cli {
namespace {

std::atomic<bool> interrupted{false};
static_assert(std::atomic<bool>::is_always_lock_free, "set from a signal handler");

extern "C" void on_interrupt(int) { interrupted.store(true); }

struct TrainCommandOptions {
  std::string arch_path;
  std::string config_path;
  std::string save_path;
  bool json = false;
  bool no_test = false;
  // Values given on the command line, applied over the config's.
  TrainOptions train;
  DataOptions data;
  std::string optimizer;
  std::string schedule;
  std::string kind;
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
  if (data.kind != DatasetKind::fashion_mnist && data.path.empty()) {
    throw InputError("command line", 0, "--data", fmt::format("data kind {} needs --data DIR", to_string(data.kind)));
  }
}

// A live line on a terminal; otherwise a line per finished epoch.
std::function<void(const TrainProgress&)> progress_printer() {
  const bool terminal = isatty(STDERR_FILENO) != 0;
  auto last_epoch = std::make_shared<std::int64_t>(0);
  return [terminal, last_epoch](const TrainProgress& p) {
    const double rate = p.elapsed_s > 0 ? static_cast<double>(p.samples_seen) / p.elapsed_s : 0.0;
    const std::string line = fmt::format("epoch {}/{}  step {}/{}  loss {:.4f}  {:.0f} samples/s  {:.1f} s", p.epoch,
                                         p.epochs, p.step, p.total_steps, p.loss, rate, p.elapsed_s);
    if (terminal) {
      fmt::print(stderr, "\r\033[K{}{}", line, p.done ? "\n" : "");
    } else if (p.done || p.epoch > *last_epoch + 1) {
      fmt::print(stderr, "{}\n", line);
      *last_epoch = p.epoch - 1;
    }
    std::fflush(stderr);
  };
}

std::string percent(const std::optional<double>& fraction) {
  return fraction ? fmt::format("{:.2f}%", 100.0 * *fraction) : "-";
}

int run_train(const TrainCommandOptions& cli) {
  const Architecture arch = load_architecture(cli.arch_path);
  TrainOptions train;
  DataOptions data_options;
  read_options(cli, train, data_options);

  std::shared_ptr<const Data> data;
  try {
    data = load_data(data_options);
  } catch (const SpecError& e) {  // validation_size too large for this data
    throw InputError(cli.config_path.empty() ? "command line" : cli.config_path, 0,
                     cli.config_path.empty() ? flag_of(e.key()) : "data." + e.key(), e.message());
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
  hooks.stop = &interrupted;
  if (!cli.json) hooks.on_progress = progress_printer();
  interrupted.store(false);
  const auto previous = std::signal(SIGINT, on_interrupt);
  const TrainResult result = train_architecture(arch, *data, train, hooks);
  std::signal(SIGINT, previous);

  const std::string name = arch.name.empty() ? cli.arch_path : arch.name;
  if (cli.json) {
    nlohmann::json curve = nlohmann::json::array();
    for (const LossPoint& p : result.loss_curve) curve.push_back({{"step", p.step}, {"epoch", p.epoch}, {"loss", p.loss}});
    const auto optional = [](const std::optional<double>& v) { return v ? nlohmann::json(*v) : nlohmann::json(); };
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
    if (!train.save_path.empty() && (result.status == TrainStatus::ok || result.status == TrainStatus::truncated) &&
        !interrupted.load()) {
      fmt::print("weights saved to {}\n", train.save_path);
    }
  }
  if (interrupted.load()) return 130;
  if (result.status == TrainStatus::diverged || result.status == TrainStatus::failed) {
    fmt::print(stderr, "error: training {}: {}\n", to_string(result.status), result.reason);
    return 1;
  }
  return 0;
}

}  // namespace

Runner add_train_command(CLI::App& app) {
  auto cli = std::make_shared<TrainCommandOptions>();
  CLI::App* cmd = app.add_subcommand("train", "Train an architecture on real data and print its accuracy");
  cmd->add_option("ARCH.yaml", cli->arch_path, "Architecture file")->required();
  cmd->add_option("--config", cli->config_path,
                  "Config file whose training: and data: sections give the defaults of the options below");
  cmd->add_option("--save", cli->save_path, "Write the trained weights here (a dict of tensors, torch.load reads it)");
  cmd->add_flag("--json", cli->json, "Print the result as JSON (no progress)");
  cmd->add_flag("--no-test", cli->no_test, "Do not evaluate on the test set");

  TrainOptions& t = cli->train;
  DataOptions& d = cli->data;
  auto& overrides = cli->overrides;
  auto add = [&](CLI::Option* option, std::function<void(TrainOptions&, DataOptions&)> apply) {
    option->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);  // a later flag overrides
    overrides.emplace_back(option, std::move(apply));
  };
  const TrainOptions defaults;
  const DataOptions data_defaults;
  add(cmd->add_option("--epochs", t.epochs, fmt::format("Passes over the training samples ({})", defaults.epochs)),
      [&t](TrainOptions& o, DataOptions&) { o.epochs = t.epochs; });
  add(cmd->add_option("--steps", t.steps, "Train exactly this many batches instead of epochs"),
      [&t](TrainOptions& o, DataOptions&) { o.steps = t.steps; });
  add(cmd->add_option("--train-samples", t.train_samples, "Use the first N training samples (0: all)"),
      [&t](TrainOptions& o, DataOptions&) { o.train_samples = t.train_samples; });
  add(cmd->add_option("--batch-size", t.batch_size, fmt::format("Samples per step ({})", defaults.batch_size)),
      [&t](TrainOptions& o, DataOptions&) { o.batch_size = t.batch_size; });
  add(cmd->add_option("--optimizer", cli->optimizer, "sgd or adam (sgd)")->check(CLI::IsMember({"sgd", "adam"})),
      [c = cli.get()](TrainOptions& o, DataOptions&) {
        o.optimizer = c->optimizer == "adam" ? OptimizerKind::adam : OptimizerKind::sgd;
      });
  add(cmd->add_option("--learning-rate,--lr", t.learning_rate,
                      fmt::format("Learning rate ({})", defaults.learning_rate)),
      [&t](TrainOptions& o, DataOptions&) { o.learning_rate = t.learning_rate; });
  add(cmd->add_option("--schedule", cli->schedule, "Learning-rate schedule: constant, cosine or linear (cosine)")
          ->check(CLI::IsMember({"constant", "cosine", "linear"})),
      [c = cli.get()](TrainOptions& o, DataOptions&) {
        o.schedule = c->schedule == "cosine"   ? LrSchedule::cosine
                     : c->schedule == "linear" ? LrSchedule::linear
                                               : LrSchedule::constant;
      });
  add(cmd->add_option("--momentum", t.momentum, fmt::format("SGD momentum ({})", defaults.momentum)),
      [&t](TrainOptions& o, DataOptions&) { o.momentum = t.momentum; });
  add(cmd->add_option("--weight-decay", t.weight_decay, "L2 penalty (0)"),
      [&t](TrainOptions& o, DataOptions&) { o.weight_decay = t.weight_decay; });
  add(cmd->add_option("--seed", t.seed, "Seed of the weights, shuffling and dropout (0)"),
      [&t](TrainOptions& o, DataOptions&) { o.seed = t.seed; });
  add(cmd->add_option("--threads", t.threads, "Intra-op threads (1)"),
      [&t](TrainOptions& o, DataOptions&) { o.threads = t.threads; });
  add(cmd->add_option("--time-budget-s", t.time_budget_s, "Stop training after this many seconds (0: no limit)"),
      [&t](TrainOptions& o, DataOptions&) { o.time_budget_s = t.time_budget_s; });
  add(cmd->add_option("--dataset", cli->kind, "fashion-mnist, mnist-idx or cifar10 (fashion-mnist)")
          ->check(CLI::IsMember({"fashion-mnist", "mnist-idx", "cifar10"})),
      [c = cli.get()](TrainOptions&, DataOptions& o) {
        o.kind = c->kind == "cifar10"     ? DatasetKind::cifar10
                 : c->kind == "mnist-idx" ? DatasetKind::mnist_idx
                                          : DatasetKind::fashion_mnist;
      });
  add(cmd->add_option("--data", d.path, fmt::format("Dataset directory ({} for fashion-mnist)",
                                                    data_directory(data_defaults))),
      [&d](TrainOptions&, DataOptions& o) { o.path = d.path; });
  add(cmd->add_option("--validation-size", d.validation_size,
                      fmt::format("Training samples held out for validation ({})", data_defaults.validation_size)),
      [&d](TrainOptions&, DataOptions& o) { o.validation_size = d.validation_size; });
  add(cmd->add_option("--split-seed", d.split_seed, "Seed of the validation split (0)"),
      [&d](TrainOptions&, DataOptions& o) { o.split_seed = d.split_seed; });
  return [cli] { return run_train(*cli); };
}

}  // namespace joules::cli
