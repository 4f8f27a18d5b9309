// joules export RUN_DIR [--to DIR] [--retrain-epochs N]: the Pareto front of a search.

#include <fmt/format.h>

#include "cli/command.hpp"
#include "cli/search_output.hpp"
#include "energy/board_profile.hpp"
#include "search/config.hpp"
#include "search/export.hpp"
#include "train/allocator.hpp"
#include "train/trainer.hpp"
#include "util/input_error.hpp"
#include "util/yaml_reader.hpp"

namespace joules::cli {
namespace {

struct ExportCommandOptions {
  std::string run_dir;
  std::string to;
  std::int64_t retrain_epochs = 0;
};

int run_export_command(const ExportCommandOptions& options) {
  ExportRequest request{.run_dir = options.run_dir, .to_dir = options.to, .retrain_epochs = options.retrain_epochs};
  const std::filesystem::path config_path = request.run_dir / "config.yaml";
  if (!std::filesystem::exists(config_path)) {
    throw InputError(options.run_dir, 0, "RUN_DIR", "is not a search run directory (no config.yaml)");
  }
  const SearchConfig config = load_search_config(config_path.string());
  std::shared_ptr<const Data> data;
  if (options.retrain_epochs > 0) {
    keep_freed_memory_for_training();
    data = load_data(config.data, yaml::Value::parse_file(config_path.string()).get("data"));
    request.retrain = [&data](const Architecture& arch, const TrainOptions& train_options) {
      return train_architecture(arch, *data, train_options);
    };
    request.on_note = [](const std::string& note) { fmt::print(stderr, "{}\n", note); };
  }
  const ExportResult exported = export_front(request);
  print_export_summary(exported, load_board_profile(config.board));
  return 0;
}

}  // namespace

Runner add_export_command(CLI::App& app) {
  auto options = std::make_shared<ExportCommandOptions>();
  CLI::App* cmd = app.add_subcommand("export", "Export the Pareto front of a search run");
  cmd->add_option("RUN_DIR", options->run_dir, "Run directory of `joules search`")->required();
  cmd->add_option("--to", options->to, "Export directory (default: RUN_DIR/pareto)");
  cmd->add_option("--retrain-epochs", options->retrain_epochs,
                  "Retrain each member this many epochs on the whole training split and add its test accuracy")
      ->check(CLI::Range(std::int64_t{0}, std::int64_t{100000}));
  return [options] { return run_export_command(*options); };
}

}  // namespace joules::cli
