#include "cli/format.hpp"

#include <algorithm>

#include <filesystem>

#include <fmt/format.h>

#include "energy/board_reference.hpp"
#include "util/input_error.hpp"

namespace joules::cli {

std::string thousands(std::int64_t value) {
  std::string digits = std::to_string(value < 0 ? -value : value);
  std::string out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return value < 0 ? "-" + out : out;
}

std::string board_profile_path(const std::string& board) {
  try {
    return resolve_board_profile(board, std::filesystem::current_path().string());
  } catch (const SpecError& e) {
    throw InputError("command line", 0, "--board", e.message());
  }
}

std::string board_name(const std::string& board) {
  try {
    return board_name_of(board);
  } catch (const SpecError& e) {
    throw InputError("command line", 0, "--board", e.message());
  }
}

std::string dump_json(const nlohmann::json& value) {
  return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

nlohmann::json architecture_json(const Architecture& arch, const NetworkAnalysis& net) {
  nlohmann::json layers = nlohmann::json::array();
  for (std::size_t i = 0; i < arch.layers.size(); ++i) {
    const LayerAnalysis& l = net.layers[i];
    layers.push_back({{"index", i},
                      {"type", layer_type(arch.layers[i])},
                      {"output", {l.output.channels, l.output.height, l.output.width}},
                      {"macs", l.macs},
                      {"params", l.params}});
  }
  return {{"name", arch.name},
          {"hash", canonical_hash_hex(arch)},
          {"input", {arch.input.channels, arch.input.height, arch.input.width}},
          {"macs", net.macs},
          {"params", net.params},
          {"layers", layers}};
}

std::string architecture_table(const Architecture& arch, const NetworkAnalysis& net,
                               const std::vector<Column>& extra) {
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> header{"#", "layer", "output", "MACs", "params"};
  for (const Column& c : extra) header.push_back(c.header);
  rows.push_back(header);
  for (std::size_t i = 0; i < arch.layers.size(); ++i) {
    const LayerAnalysis& l = net.layers[i];
    std::vector<std::string> row{std::to_string(i), describe(arch.layers[i]),
                                 fmt::format("{}x{}x{}", l.output.channels, l.output.height, l.output.width),
                                 thousands(l.macs), thousands(l.params)};
    for (const Column& c : extra) row.push_back(i < c.cells.size() ? c.cells[i] : "");
    rows.push_back(row);
  }
  std::vector<std::string> total{"", "total", "", thousands(net.macs), thousands(net.params)};
  for (const Column& c : extra) total.push_back(c.total);
  rows.push_back(total);

  std::vector<std::size_t> width(header.size(), 0);
  for (const auto& row : rows) {
    for (std::size_t c = 0; c < row.size(); ++c) width[c] = std::max(width[c], row[c].size());
  }
  std::string out = fmt::format("{}  input {}x{}x{}  hash {}\n", arch.name.empty() ? "(unnamed)" : arch.name,
                                arch.input.channels, arch.input.height, arch.input.width,
                                canonical_hash_hex(arch));
  for (std::size_t r = 0; r < rows.size(); ++r) {
    std::string line;
    for (std::size_t c = 0; c < rows[r].size(); ++c) {
      // Text columns (layer, output) left-aligned, numbers right-aligned.
      const bool left = c == 1 || c == 2;
      line += left ? fmt::format("{:<{}}", rows[r][c], width[c]) : fmt::format("{:>{}}", rows[r][c], width[c]);
      line += c + 1 < rows[r].size() ? "  " : "";
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
    if (r == 0 || r + 2 == rows.size()) {
      std::size_t total_width = 0;
      for (std::size_t w : width) total_width += w + 2;
      out += std::string(total_width - 2, '-') + "\n";
    }
  }
  return out;
}

std::string flag_of(const std::string& key) {
  std::string flag = "--" + key;
  for (char& c : flag) c = c == '_' ? '-' : c;
  return flag;
}

}  // namespace joules::cli
