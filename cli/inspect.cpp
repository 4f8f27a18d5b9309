// joules inspect ARCH.yaml [--json]: shapes, MACs and parameters of an architecture.

#include <cstdio>
#include <string>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/command.hpp"
#include "cli/format.hpp"
#include "space/analysis.hpp"
#include "onnx/onnx_model.hpp"
#include "space/architecture_yaml.hpp"

namespace joules::cli {
namespace {

struct InspectOptions {
  std::string path;
  bool json = false;
};

int run_inspect(const InspectOptions& options) {
  const Architecture arch = load_architecture_file(options.path);  // YAML or .onnx
  const NetworkAnalysis net = analyze(arch);
  if (options.json) {
    fmt::print("{}\n", dump_json(architecture_json(arch, net)));
    return 0;
  }
  fmt::print("{}", architecture_table(arch, net, {}));
  return 0;
}

}  // namespace

Runner add_inspect_command(CLI::App& app) {
  auto options = std::make_shared<InspectOptions>();
  CLI::App* cmd = app.add_subcommand("inspect", "Show an architecture's shapes, MACs and parameters");
  cmd->add_option("ARCH.yaml", options->path, "Architecture file (YAML or .onnx)")->required();
  cmd->add_flag("--json", options->json, "Print JSON instead of a table");
  return [options] { return run_inspect(*options); };
}

}  // namespace joules::cli
