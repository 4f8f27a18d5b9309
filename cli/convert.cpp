// joules convert ARCH.yaml|MODEL.onnx [--weights FILE.pt] --onnx OUT.onnx: an architecture as an
// ONNX file, with trained weights or seeded random ones (for profiling a runtime).

#include <cstdint>
#include <string>

#include <fmt/format.h>

#include "cli/command.hpp"
#include "energy/board_profile.hpp"
#include "energy/estimator.hpp"
#include "onnx/onnx_model.hpp"
#include "space/analysis.hpp"
#include "train/weights.hpp"
#include "util/input_error.hpp"

namespace joules::cli {
namespace {

struct ConvertOptions {
  std::string arch_path;
  std::string weights_path;
  std::string onnx_path;
  std::string board;
  std::uint64_t seed = 0;
};

int run_convert(const ConvertOptions& options) {
  const Architecture arch = load_architecture_file(options.arch_path);
  const NetworkAnalysis net = analyze(arch);
  NetworkWeights weights;
  if (options.weights_path.empty()) {
    weights = initial_weights(arch, options.seed);
  } else {
    try {
      weights = read_weights_file(arch, options.weights_path);
    } catch (const std::runtime_error& e) {
      // A weights file that does not fit the architecture is the user's input: exit 2. The
      // message already starts with the path.
      throw InputError("--weights", 0, "", e.what());
    }
  }
  OnnxMetadata metadata;
  if (!options.board.empty()) {
    const BoardProfile profile = load_board_profile(options.board);
    const NetworkEstimate e = EnergyEstimator(profile).estimate(arch, net);
    metadata.board = profile.board;
    metadata.energy_mj = e.energy_mj;
    metadata.energy_band_mj = std::array<double, 2>{e.energy_low_mj, e.energy_high_mj};
  }
  write_onnx(options.onnx_path, arch, weights, metadata);
  const Shape in = arch.input;
  fmt::print("wrote {}: opset {}, input [N, {}, {}, {}], logits [N, {}], {} weights{}\n", options.onnx_path,
             kOnnxOpset, in.channels, in.height, in.width, net.output.channels * net.output.height * net.output.width,
             options.weights_path.empty() ? fmt::format("random (seed {})", options.seed) : "from " + options.weights_path,
             weights.normalization.mean.empty() ? ", no normalisation (mean 0, std 1)" : "");
  return 0;
}

}  // namespace

Runner add_convert_command(CLI::App& app) {
  auto options = std::make_shared<ConvertOptions>();
  CLI::App* cmd = app.add_subcommand("convert", "Write an architecture (and its weights) as an ONNX file");
  cmd->add_option("ARCH", options->arch_path, "Architecture file (YAML or .onnx)")->required();
  cmd->add_option("--onnx", options->onnx_path, "ONNX file to write")->required();
  cmd->add_option("--weights", options->weights_path,
                  "Weights file (joules train --save, ID.pt of an export); default: seeded random weights");
  cmd->add_option("--seed", options->seed, "Seed of the random weights (0)");
  cmd->add_option("--board", options->board, "Board profile: adds the energy estimate to the file's metadata");
  return [options] { return run_convert(*options); };
}

}  // namespace joules::cli
