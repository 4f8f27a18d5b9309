// The joules executable. Exit status (DESIGN.md): 0 success; 2 bad input with one "error:" line
// naming the file, line and key; 1 a failure while running; 130 interrupted.

#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "cli/command.hpp"
#include "util/input_error.hpp"

int main(int argc, char** argv) {
  CLI::App app{"joules: energy-aware neural architecture search for edge boards", "joules"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "joules 0.1.0");

  std::vector<std::pair<CLI::App*, joules::cli::Runner>> commands;
  auto add = [&](joules::cli::Runner (*adder)(CLI::App&)) {
    joules::cli::Runner run = adder(app);
    commands.emplace_back(app.get_subcommands({}).back(), std::move(run));
  };
  add(&joules::cli::add_search_command);
  add(&joules::cli::add_export_command);
  add(&joules::cli::add_compare_command);
  add(&joules::cli::add_inspect_command);
  add(&joules::cli::add_sensors_command);
  add(&joules::cli::add_estimate_command);
  add(&joules::cli::add_fit_command);
  add(&joules::cli::add_profile_command);
  add(&joules::cli::add_train_command);
  add(&joules::cli::add_space_command);

  try {
    app.parse(argc, argv);
  } catch (const CLI::Success& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::string message = e.what();
    for (char& c : message) c = c == '\n' ? ' ' : c;
    fmt::print(stderr, "error: {} (see joules --help)\n", message);
    return 2;
  }

  try {
    for (auto& [subcommand, run] : commands) {
      if (subcommand->parsed()) return run();
    }
    return 2;
  } catch (const joules::InputError& e) {
    fmt::print(stderr, "error: {}\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    fmt::print(stderr, "error: {}\n", e.what());
    return 1;
  }
}
