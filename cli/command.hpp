#pragma once
// Each subcommand lives in its own file: it adds its options to the CLI11 app and returns the
// function that runs it once the command line is parsed. main.cpp maps exceptions to exit codes.

#include <functional>

#include <CLI/CLI.hpp>

namespace joules::cli {

/// Runs a parsed subcommand; returns its exit status.
using Runner = std::function<int()>;

Runner add_search_command(CLI::App& app);
Runner add_export_command(CLI::App& app);
Runner add_compare_command(CLI::App& app);
Runner add_inspect_command(CLI::App& app);
Runner add_sensors_command(CLI::App& app);
Runner add_estimate_command(CLI::App& app);
Runner add_fit_command(CLI::App& app);
Runner add_profile_command(CLI::App& app);
Runner add_train_command(CLI::App& app);
Runner add_convert_command(CLI::App& app);
Runner add_space_command(CLI::App& app);
Runner add_report_command(CLI::App& app);
Runner add_prune_command(CLI::App& app);
Runner add_split_command(CLI::App& app);
Runner add_measure_command(CLI::App& app);

}  // namespace joules::cli
