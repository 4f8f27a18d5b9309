// joules compare RUN_DIR... [--svg FILE] [--json] [--reference-energy-mj E]: the fronts of
// several runs and the hypervolume each dominates, against one reference point.

#include <optional>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/command.hpp"
#include "cli/format.hpp"
#include "search/compare.hpp"
#include "util/atomic_file.hpp"

namespace joules::cli {
namespace {

struct CompareOptions {
  std::vector<std::string> runs;
  std::string svg;
  bool json = false;
  std::optional<double> reference_energy_mj;
};

int run_compare(const CompareOptions& options) {
  std::vector<std::filesystem::path> dirs(options.runs.begin(), options.runs.end());
  const Comparison c = compare_runs(dirs, options.reference_energy_mj);
  if (!options.svg.empty()) {
    write_file_atomic(options.svg, comparison_svg(c, "Pareto fronts"));
    // On stderr under --json, whose stdout is the JSON alone.
    fmt::print(options.json ? stderr : stdout, "wrote the plot of the fronts to {}\n", options.svg);
  }
  if (options.json) {
    nlohmann::json runs = nlohmann::json::array();
    for (const RunComparison& r : c.runs) {
      runs.push_back({{"run", r.dir.string()},
                      {"evaluations", r.evaluations},
                      {"trained", r.trained},
                      {"front_size", r.front.size()},
                      {"hypervolume", r.hypervolume}});
    }
    fmt::print("{}\n", dump_json({{"reference", {1.0, c.reference_energy_mj}}, {"runs", runs}}));
    return 0;
  }
  fmt::print("hypervolume of each (accuracy, energy) front, dominated up to error 1 and {:.4g} mJ\n",
             c.reference_energy_mj);
  fmt::print("  {:<32}  {:>11}  {:>7}  {:>5}  {:>11}\n", "run", "evaluations", "trained", "front", "hypervolume");
  for (const RunComparison& r : c.runs) {
    fmt::print("  {:<32}  {:>11}  {:>7}  {:>5}  {:>11.5g}\n", r.label, r.evaluations, r.trained, r.front.size(),
               r.hypervolume);
  }
  return 0;
}

}  // namespace

Runner add_compare_command(CLI::App& app) {
  auto options = std::make_shared<CompareOptions>();
  CLI::App* cmd = app.add_subcommand("compare", "Compare the Pareto fronts of search runs by hypervolume");
  cmd->add_option("RUN_DIR", options->runs, "Run directories of `joules search`")->required();
  cmd->add_option("--svg", options->svg, "Also plot the fronts into this SVG file");
  cmd->add_flag("--json", options->json, "Print JSON");
  cmd->add_option("--reference-energy-mj", options->reference_energy_mj,
                  "Energy of the reference point (default: the highest energy of a trained candidate)")
      ->check(CLI::PositiveNumber);
  return [options] { return run_compare(*options); };
}

}  // namespace joules::cli
