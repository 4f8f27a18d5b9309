#pragma once
// Output shared by the subcommands that describe an architecture (inspect, estimate), and the
// reading of the options several subcommands share (--board).

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "space/analysis.hpp"

namespace joules::cli {

/// An extra column of the per-layer table: one cell per layer and one for the total row.
struct Column {
  std::string header;
  std::vector<std::string> cells;
  std::string total;
};

/// {"name", "hash", "input", "macs", "params", "layers": [{"index", "type", "output", "macs",
/// "params"}]} as DESIGN.md's inspect contract.
nlohmann::json architecture_json(const Architecture& arch, const NetworkAnalysis& net);

/// A readable per-layer table with a total row; `extra` columns are appended on the right.
std::string architecture_table(const Architecture& arch, const NetworkAnalysis& net,
                               const std::vector<Column>& extra);

/// Compact JSON; bytes that are not UTF-8 (names read from files) become U+FFFD.
std::string dump_json(const nlohmann::json& value);

/// "batch_size" -> "--batch-size": the command-line flag of an option key.
std::string flag_of(const std::string& key);

/// 1234567 -> "1,234,567".
std::string thousands(std::int64_t value);

/// The profile file that `--board` names: a board name (profiles/NAME.yaml) or a profile's
/// path, as a search config's `board:`. Throws InputError (command line, --board) when there is
/// none.
std::string board_profile_path(const std::string& board);

/// The board name that `--board` gives: a name, or a profile path's file name without .yaml.
/// Throws InputError (command line, --board) when it holds none.
std::string board_name(const std::string& board);

}  // namespace joules::cli
