// joules prune ARCH.yaml --weights FILE.pt --board PROFILE (--energy-mj E | --keep F)
// [--baseline uniform] [--fine-tune-epochs N] [--out DIR] [--json]: structured filter pruning
// on the board's energy steps (energy/prune_plan.hpp), the weights cut to match, fine-tuned
// (train/trainer.hpp), written as YAML, .pt and ONNX, with a per-layer table.

#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/command.hpp"
#include "cli/format.hpp"
#include "cli/interrupt.hpp"
#include "energy/board_profile.hpp"
#include "energy/estimator.hpp"
#include "energy/prune_plan.hpp"
#include "onnx/onnx_model.hpp"
#include "space/analysis.hpp"
#include "space/architecture_yaml.hpp"
#include "train/allocator.hpp"
#include "train/trainer.hpp"
#include "train/weights.hpp"
#include "util/atomic_file.hpp"
#include "util/input_error.hpp"
#include "util/yaml_reader.hpp"

namespace joules::cli {
namespace {

struct PruneOptions {
  std::string path;
  std::string weights_path;
  std::string board;
  double energy_mj = 0;
  double keep = 0;
  CLI::Option* energy_option = nullptr;
  std::string baseline;  // "" (step-aware) or "uniform"
  std::int64_t fine_tune_epochs = 1;
  std::string out_dir = "pruned";
  bool json = false;
  std::string config_path;
  std::int64_t train_samples = 0;
  double learning_rate = 0.01;
  std::uint64_t seed = 0;
  int threads = 1;
  std::string data_path;
};

std::optional<double> accuracy(const TrainResult& r) { return r.validation_accuracy; }
nlohmann::json optional_json(const std::optional<double>& v) { return v ? nlohmann::json(*v) : nlohmann::json(); }
std::string percent(const std::optional<double>& v) { return v ? fmt::format("{:.2f}%", 100 * *v) : "-"; }

int run_prune(const PruneOptions& o) {
  keep_freed_memory_for_training();
  // Everything is read and checked before anything is trained or written.
  const BoardProfile profile = load_board_profile(board_profile_path(o.board));
  const Architecture arch = load_architecture_file(o.path);
  NetworkWeights weights;
  try {
    weights = read_weights_file(arch, o.weights_path);
  } catch (const SpecError&) {
    throw;
  } catch (const std::exception& e) {
    throw InputError(o.weights_path, 0, "weights", fmt::format("does not fit {}: {}", o.path, e.what()));
  }
  const EnergyEstimator estimator(profile);
  const std::vector<std::vector<double>> norms = filter_l1_norms(arch, weights);
  if (prunable_layers(arch).empty()) {
    throw InputError(o.path, 0, "layers", "no conv layer can be pruned (none with groups 1 feeding a conv or an fc)");
  }
  const bool uniform = o.baseline == "uniform";
  PrunePlan plan;
  try {
    if (o.energy_option->count() > 0) {
      plan = uniform ? plan_uniform_to_energy(arch, norms, estimator, o.energy_mj)
                     : plan_step_aware(arch, norms, estimator, o.energy_mj);
    } else {
      plan = plan_uniform(arch, norms, estimator, o.keep);
      if (!uniform) plan = plan_step_aware(arch, norms, estimator, plan.energy_mj);
    }
  } catch (const SpecError& e) {
    throw InputError("command line", 0, e.key() == "keep" ? "--keep" : "--energy-mj", e.message());
  }
  const Architecture pruned = with_filter_counts(arch, plan.filters);
  const NetworkWeights pruned_weights = prune_weights(arch, weights, plan);

  TrainOptions train;
  DataOptions data_options;
  if (!o.config_path.empty()) {
    const yaml::Value config = yaml::Value::parse_file(o.config_path);
    if (!config.is_map()) config.fail("expected a config: a map (with training: and data: sections)");
    train = parse_train_options(config.get("training"));
    data_options = parse_data_options(config.get("data"));
  }
  train.learning_rate = o.learning_rate;
  train.seed = o.seed;
  train.threads = o.threads;
  if (o.train_samples > 0) train.train_samples = o.train_samples;
  if (!o.data_path.empty()) data_options.path = o.data_path;
  train.epochs = std::max<std::int64_t>(o.fine_tune_epochs, 1);
  train.steps = 0;
  try {
    validate(train);
  } catch (const SpecError& e) {
    throw InputError("command line", 0, e.key(), e.message());
  }
  const std::shared_ptr<const Data> data = load_data(data_options, arch.input);
  try {
    check_compatible(arch, *data);
    check_compatible(train, *data);
  } catch (const SpecError& e) {
    throw InputError(o.path, 0, e.key(), e.message());
  }

  const std::filesystem::path out(o.out_dir);
  std::filesystem::create_directories(out);
  const std::string stem = uniform ? "uniform" : "pruned";
  const std::filesystem::path yaml_path = out / (stem + ".yaml");
  const std::filesystem::path pt_path = out / (stem + ".pt");
  const std::filesystem::path onnx_path = out / (stem + ".onnx");

  TrainOptions eval = train;
  const TrainResult before = evaluate_weights(arch, *data, weights, eval);
  const TrainResult cut = evaluate_weights(pruned, *data, pruned_weights, eval);
  TrainResult after;
  bool interrupted = false;
  TrainOptions tune = train;
  tune.save_path = pt_path.string();
  if (o.fine_tune_epochs > 0) {
    const InterruptGuard interrupt;
    TrainHooks hooks;
    hooks.stop = &interrupt.flag();
    after = fine_tune_architecture(pruned, *data, pruned_weights, tune, hooks);
    interrupted = interrupt.interrupted();
  } else {
    after = evaluate_weights(pruned, *data, pruned_weights, tune);
  }
  if (interrupted) return 130;
  if (after.status != TrainStatus::ok && after.status != TrainStatus::truncated) {
    fmt::print(stderr, "error: fine-tuning {}: {}\n", to_string(after.status), after.reason);
    return 1;
  }
  Architecture named = pruned;
  named.name = (arch.name.empty() ? std::filesystem::path(o.path).stem().string() : arch.name) + "-" + stem;
  write_file_atomic(yaml_path, to_yaml(named));
  const NetworkEstimate e_before = estimator.estimate(arch);
  const NetworkEstimate e_after = estimator.estimate(pruned);
  write_onnx(onnx_path.string(), pruned, read_weights_file(pruned, pt_path.string()),
             OnnxMetadata{.board = profile.board,
                          .energy_mj = e_after.energy_mj,
                          .energy_band_mj = std::array<double, 2>{e_after.energy_low_mj, e_after.energy_high_mj},
                          .validation_accuracy = after.validation_accuracy,
                          .test_accuracy = after.test_accuracy,
                          .class_names = data->class_names()});

  const std::int64_t g = conv_granularity(estimator);
  const std::vector<double> within_mj = within_step_savings_mj(arch, estimator, plan);
  std::int64_t removed = 0, within = 0;
  double within_saved = 0;
  nlohmann::json layers = nlohmann::json::array();
  for (std::size_t i = 0; i < arch.layers.size(); ++i) {
    nlohmann::json l = {{"index", i + 1},
                        {"type", layer_type(arch.layers[i])},
                        {"energy_before_mj", e_before.layers[i].energy_mj},
                        {"energy_after_mj", e_after.layers[i].energy_mj}};
    if (const auto* c = std::get_if<ConvLayer>(&arch.layers[i])) {
      const std::int64_t now = std::get<ConvLayer>(pruned.layers[i]).filters;
      const std::int64_t in_step = plan.filters[i] != 0 && now != c->filters ? removed_within_step(c->filters, now, g) : 0;
      l["filters_before"] = c->filters;
      l["filters_after"] = now;
      l["removed_within_step"] = in_step;
      l["within_step_saved_mj"] = within_mj[i];
      removed += c->filters - now;
      within += in_step;
      within_saved += within_mj[i];
    }
    layers.push_back(l);
  }
  const nlohmann::json result = {
      {"method", uniform ? "uniform" : "step-aware"},
      {"board", profile.board},
      {"granularity", g},
      {"target_energy_mj", o.energy_option->count() > 0 ? nlohmann::json(o.energy_mj) : nlohmann::json()},
      {"keep", o.energy_option->count() > 0 ? nlohmann::json() : nlohmann::json(o.keep)},
      {"energy_before_mj", e_before.energy_mj},
      {"energy_after_mj", e_after.energy_mj},
      {"criterion_lost", plan.criterion_lost},
      {"filters_removed", removed},
      {"filters_removed_within_step", within},
      {"within_step_saved_mj", within_saved},
      {"accuracy_before", optional_json(accuracy(before))},
      {"accuracy_pruned", optional_json(accuracy(cut))},
      {"accuracy_after", optional_json(accuracy(after))},
      {"fine_tune_epochs", o.fine_tune_epochs},
      {"fine_tune_seconds", after.seconds},
      {"seed", o.seed},
      {"layers", layers},
      {"files", {{"yaml", yaml_path.string()}, {"weights", pt_path.string()}, {"onnx", onnx_path.string()}}}};
  write_file_atomic(out / (stem + ".json"), dump_json(result) + "\n");

  const std::string notice = provenance_notice(profile);
  if (o.json) {
    if (!notice.empty()) fmt::print(stderr, "notice: {}\n", notice);
    fmt::print("{}\n", dump_json(result));
    return 0;
  }
  if (!notice.empty()) fmt::print("NOTICE: {}\n", notice);
  fmt::print("{} pruning on {} (conv steps of {} filters)\n", uniform ? "uniform" : "step-aware", profile.board, g);
  fmt::print("{:>5}  {:<5}  {:>8}  {:>8}  {:>12}  {:>10}  {:>10}\n", "layer", "type", "filters", "after",
             "within step", "mJ before", "mJ after");
  for (const nlohmann::json& l : layers) {
    const bool conv = l.contains("filters_before");
    fmt::print("{:>5}  {:<5}  {:>8}  {:>8}  {:>12}  {:>10.4g}  {:>10.4g}\n", l["index"].get<std::size_t>(),
               l["type"].get<std::string>(), conv ? std::to_string(l["filters_before"].get<std::int64_t>()) : "",
               conv ? std::to_string(l["filters_after"].get<std::int64_t>()) : "",
               conv ? std::to_string(l["removed_within_step"].get<std::int64_t>()) : "",
               l["energy_before_mj"].get<double>(), l["energy_after_mj"].get<double>());
  }
  fmt::print("energy {:.4g} -> {:.4g} mJ per inference; {} filters removed, {} of them within a step (saving {:.3g} mJ)\n",
             e_before.energy_mj, e_after.energy_mj, removed, within, within_saved);
  fmt::print("validation accuracy {} before, {} pruned, {} after {} fine-tuning epoch(s)\n", percent(accuracy(before)),
             percent(accuracy(cut)), percent(accuracy(after)), o.fine_tune_epochs);
  fmt::print("written: {}, {}, {}, {}\n", yaml_path.string(), pt_path.string(), onnx_path.string(),
             (out / (stem + ".json")).string());
  return 0;
}

}  // namespace

Runner add_prune_command(CLI::App& app) {
  auto o = std::make_shared<PruneOptions>();
  CLI::App* cmd = app.add_subcommand("prune", "Prune a trained network's conv filters on the board's energy steps");
  cmd->add_option("ARCH.yaml", o->path, "Architecture file (YAML or .onnx)")->required();
  cmd->add_option("--weights", o->weights_path, "Its trained weights (joules train --save)")->required();
  cmd->add_option("--board", o->board, "Board profile: a name (profiles/NAME.yaml) or a profile file")->required();
  o->energy_option = cmd->add_option("--energy-mj", o->energy_mj, "Prune until the estimate is at most this (mJ)");
  CLI::Option* keep = cmd->add_option("--keep", o->keep,
                                      "Keep this fraction of every layer's filters (uniform), or reach its energy (step-aware)");
  o->energy_option->excludes(keep);
  keep->excludes(o->energy_option);
  cmd->add_option("--baseline", o->baseline, "uniform: the same fraction from every layer, the steps ignored")
      ->check(CLI::IsMember({"uniform"}));
  cmd->add_option("--fine-tune-epochs", o->fine_tune_epochs, "Fine-tuning epochs after pruning (1; 0: none)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--out", o->out_dir, "Output directory (pruned)");
  cmd->add_flag("--json", o->json, "Print JSON instead of a table");
  cmd->add_option("--config", o->config_path, "Config whose training: and data: sections set the fine-tuning");
  cmd->add_option("--train-samples", o->train_samples, "Fine-tune on the first N training samples (0: the config's)");
  cmd->add_option("--learning-rate,--lr", o->learning_rate, "Fine-tuning learning rate (0.01)");
  cmd->add_option("--seed", o->seed, "Seed of the fine-tuning's shuffling and dropout (0)");
  cmd->add_option("--threads", o->threads, "Intra-op threads (1)");
  cmd->add_option("--data", o->data_path, "Dataset directory (the config's, else Fashion-MNIST's)");
  cmd->callback([o, cmd] {
    if (cmd->get_option("--energy-mj")->count() == 0 && cmd->get_option("--keep")->count() == 0) {
      throw CLI::ValidationError("--energy-mj or --keep", "one of them is required");
    }
  });
  return [o] { return run_prune(*o); };
}

}  // namespace joules::cli
