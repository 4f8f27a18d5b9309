// joules report RUN_DIR|PROFILE.yaml [--out FILE.html] [--data CSV]: one self-contained HTML page.

#include <filesystem>

#include <fmt/format.h>

#include "cli/command.hpp"
#include "report/profile_report.hpp"
#include "report/run_report.hpp"
#include "util/input_error.hpp"

namespace joules::cli {
namespace {

struct ReportCommandOptions {
  std::string target;
  std::string out;
  std::string data;
};

int run_report_command(const ReportCommandOptions& options) {
  namespace fs = std::filesystem;
  WrittenReport written;
  if (fs::is_directory(options.target)) {
    if (!options.data.empty()) throw InputError("command line", 0, "--data", "is for a profile's report, not a run's");
    written = write_run_report(options.target, options.out);
    fmt::print("wrote {} ({} evaluations, {:.0f} KB)\n", written.file.string(), written.evaluations,
               static_cast<double>(written.bytes) / 1024);
  } else if (fs::is_regular_file(options.target)) {
    written = write_profile_report(options.target, options.data, options.out);
    fmt::print("wrote {} ({:.0f} KB)\n", written.file.string(), static_cast<double>(written.bytes) / 1024);
  } else {
    throw InputError(options.target, 0, "RUN_DIR|PROFILE.yaml", "is neither a run directory nor a profile file");
  }
  return 0;
}

}  // namespace

Runner add_report_command(CLI::App& app) {
  auto options = std::make_shared<ReportCommandOptions>();
  CLI::App* cmd = app.add_subcommand("report", "Write a self-contained HTML report of a search run or a board profile");
  cmd->add_option("RUN_DIR|PROFILE.yaml", options->target, "Run directory of `joules search`, or a board profile")
      ->required();
  cmd->add_option("--out", options->out,
                  "Report file (default: RUN_DIR/report.html; for a profile, its path with .html)");
  cmd->add_option("--data", options->data,
                  "Profile only: measurements CSV to check it against (per-network for a profile fitted on networks)");
  return [options] { return run_report_command(*options); };
}

}  // namespace joules::cli
