// The joules executable. Exit status (DESIGN.md): 0 success; 2 bad input with one "error:" line
// naming the file, line and key; 1 a failure while running; 130 interrupted.

#include <algorithm>
#include <cstdio>
#include <exception>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "cli/command.hpp"
#include "util/input_error.hpp"

namespace {

// Levenshtein distance: the number of single-character edits from `a` to `b`.
std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

// The list `joules`, `joules help` and `joules --help` print: one line per command.
std::string command_list(const CLI::App& app) {
  std::size_t width = 0;
  for (const CLI::App* sub : app.get_subcommands({})) width = std::max(width, sub->get_name().size());
  std::string out = fmt::format("{}\n\nUsage: joules COMMAND [OPTIONS]\n\nCommands:\n", app.get_description());
  for (const CLI::App* sub : app.get_subcommands({})) {
    out += fmt::format("  {:<{}}  {}\n", sub->get_name(), width, sub->get_description());
  }
  out += "\nRun 'joules COMMAND --help' for a command's arguments and options; 'joules --version' for the version.\n";
  return out;
}

const CLI::App* find_command(const CLI::App& app, std::string_view name) {
  for (const CLI::App* sub : app.get_subcommands({})) {
    if (sub->get_name() == name) return sub;
  }
  return nullptr;
}

// "unknown command 'serch'; did you mean 'search'?" when a command is within two edits (or
// one for short names), else a pointer at the list.
std::string unknown_command(const CLI::App& app, std::string_view name) {
  std::string best;
  std::size_t best_distance = std::string::npos;
  for (const CLI::App* sub : app.get_subcommands({})) {
    const std::size_t d = edit_distance(name, sub->get_name());
    if (d < best_distance) {
      best_distance = d;
      best = sub->get_name();
    }
  }
  const std::size_t allowed = std::min<std::size_t>(2, (best.size() + 2) / 3);
  if (!best.empty() && best_distance <= allowed) {
    return fmt::format("unknown command '{}'; did you mean '{}'?", name, best);
  }
  return fmt::format("unknown command '{}' (see joules --help)", name);
}

}  // namespace

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
  add(&joules::cli::add_convert_command);
  add(&joules::cli::add_space_command);
  add(&joules::cli::add_report_command);
  add(&joules::cli::add_prune_command);
  add(&joules::cli::add_split_command);
  add(&joules::cli::add_measure_command);

  // The words CLI11 would misread: no command, `help`, a misspelt command, `COMMAND help`.
  const std::string first = argc > 1 ? argv[1] : "";
  if (argc == 1 || first == "help" || first == "--help" || first == "-h") {
    if (first == "help" && argc > 2) {
      if (const CLI::App* sub = find_command(app, argv[2])) {
        fmt::print("{}", sub->help("joules"));
        return 0;
      }
      fmt::print(stderr, "error: {}\n", unknown_command(app, argv[2]));
      return 2;
    }
    fmt::print("{}", command_list(app));
    return 0;
  }
  const CLI::App* command = find_command(app, first);
  if (command == nullptr && !first.starts_with("-")) {
    fmt::print(stderr, "error: {}\n", unknown_command(app, first));
    return 2;
  }
  if (command != nullptr && argc == 3 && std::string_view(argv[2]) == "help") {
    fmt::print("{}", command->help("joules"));
    return 0;
  }
  // Where a usage error sends the user: the command's own help when there is a command.
  const std::string help_pointer = command != nullptr ? fmt::format(" (see joules {} --help)", command->get_name())
                                                      : std::string(" (see joules --help)");

  try {
    app.parse(argc, argv);
  } catch (const CLI::Success& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::string message = e.what();
    for (char& c : message) c = c == '\n' ? ' ' : c;
    fmt::print(stderr, "error: {}{}\n", message, help_pointer);
    return 2;
  }

  try {
    for (auto& [subcommand, run] : commands) {
      if (subcommand->parsed()) return run();
    }
    return 2;
  } catch (const joules::InputError& e) {
    // A bad flag value is a usage error: point at the command's help as CLI11's errors do.
    const bool usage = e.file().empty() || e.file() == "command line";
    fmt::print(stderr, "error: {}{}\n", e.what(), usage ? help_pointer : "");
    return 2;
  } catch (const std::exception& e) {
    fmt::print(stderr, "error: {}\n", e.what());
    return 1;
  }
}
