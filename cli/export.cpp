// joules export RUN_DIR [--to DIR] [--retrain-epochs N] [--json]: the Pareto front of a search.

#include <optional>

#include <fmt/format.h>

#include "cli/command.hpp"
#include "cli/format.hpp"
#include "cli/interrupt.hpp"
#include "cli/search_output.hpp"
#include "energy/board_profile.hpp"
#include "search/config.hpp"
#include "search/export.hpp"
#include "train/allocator.hpp"
#include "train/trainer.hpp"
#include "util/directory_lock.hpp"
#include "util/input_error.hpp"
#include "util/yaml_reader.hpp"

namespace joules::cli {
namespace {

struct ExportCommandOptions {
  std::string run_dir;
  std::string to;
  std::int64_t retrain_epochs = 0;
  bool json = false;
};

int run_export_command(const ExportCommandOptions& options) {
  const std::filesystem::path config_path = std::filesystem::path(options.run_dir) / "config.yaml";
  if (!std::filesystem::exists(config_path)) {
    throw InputError(options.run_dir, 0, "RUN_DIR", "is not a search run directory (no config.yaml)");
  }
  // Loaded once here and handed down.
  const SearchConfig config = load_search_config(config_path.string());
  const BoardProfile profile = load_board_profile(config.board);

  // The run's lock: a running search (or another export) holds it. The search exports into
  // its own pareto/ when it ends, so only an export elsewhere may go on, and it says the
  // front is partial.
  std::string held_by;
  const std::optional<DirectoryLock> lock = DirectoryLock::try_acquire(options.run_dir, "joules export", &held_by);
  if (!lock) {
    if (options.to.empty()) {
      throw std::runtime_error(fmt::format(
          "{} is in use by {}: a running search exports its front into {}/pareto when it ends; wait for it, or "
          "export the front so far elsewhere with --to DIR",
          options.run_dir, held_by, options.run_dir));
    }
    fmt::print(stderr, "warning: {} is in use by {}: if a search is running there, this front is partial (only the "
               "evaluations logged so far)\n", options.run_dir, held_by);
  }

  const InterruptGuard interrupt;
  ExportRequest request{.run_dir = options.run_dir,
                        .to_dir = options.to,
                        .retrain_epochs = options.retrain_epochs,
                        .config = &config,
                        .profile = &profile,
                        .stop = &interrupt.flag()};
  std::shared_ptr<const Data> data;
  if (options.retrain_epochs > 0) {
    keep_freed_memory_for_training();
    data = load_data(config.data, config.space.input,
                     yaml::Value::parse_file(config_path.string()).get("data"));
    request.retrain = [&data, &interrupt](const Architecture& arch, const TrainOptions& train_options) {
      return train_architecture(arch, *data, train_options, TrainHooks{.stop = &interrupt.flag()});
    };
    request.on_note = [](const std::string& note) { fmt::print(stderr, "{}\n", note); };
  }
  const ExportResult exported = export_front(request);
  if (exported.interrupted) {
    fmt::print(stderr, "interrupted: nothing was exported, {} is as it was\n", exported.dir.string());
    return 130;
  }
  print_export_warnings(exported);
  if (options.json) {
    nlohmann::json summary = summary_json(options.run_dir, &exported, exported.counts, false);
    summary["partial"] = !lock.has_value();
    fmt::print("{}\n", dump_json(summary));
  } else {
    print_export_summary(exported, profile);
  }
  return 0;
}

}  // namespace

Runner add_export_command(CLI::App& app) {
  auto options = std::make_shared<ExportCommandOptions>();
  CLI::App* cmd = app.add_subcommand("export", "Export the Pareto front of a search run");
  cmd->add_option("RUN_DIR", options->run_dir, "Run directory of `joules search`")->required();
  cmd->add_option("--to", options->to,
                  "Export directory (default: RUN_DIR/pareto); replaced only if new, empty or an earlier export");
  cmd->add_option("--retrain-epochs", options->retrain_epochs,
                  "Retrain each member this many epochs on the whole training split and add its test accuracy")
      ->check(CLI::Range(std::int64_t{0}, std::int64_t{100000}));
  cmd->add_flag("--json", options->json, "Print one JSON summary object on stdout (notes go to stderr)");
  return [options] { return run_export_command(*options); };
}

}  // namespace joules::cli
