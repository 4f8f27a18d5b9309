#include "energy/board_reference.hpp"

#include <cstdlib>
#include <filesystem>

#include "util/input_error.hpp"

namespace joules {

namespace fs = std::filesystem;

std::string profiles_directory() {
  if (const char* dir = std::getenv("JOULES_PROFILES_DIR"); dir && *dir) return dir;
  return JOULES_PROFILES_DIR;
}

bool is_board_name(const std::string& board) {
  return board.find('/') == std::string::npos && !board.ends_with(".yaml");
}

std::string resolve_board_profile(const std::string& board, const std::string& base_dir) {
  fs::path path;
  if (is_board_name(board)) {
    path = fs::path(profiles_directory()) / (board + ".yaml");
  } else {
    path = fs::path(board).is_absolute() ? fs::path(board) : fs::path(base_dir) / board;
  }
  std::error_code ec;
  const fs::path absolute = fs::weakly_canonical(path, ec);
  if (board.empty() || ec || !fs::is_regular_file(absolute)) {
    throw SpecError("board", "no board profile at " + path.string());
  }
  return absolute.string();
}

std::string board_name_of(const std::string& board) {
  std::string name = board;
  if (!is_board_name(board)) {
    name = fs::path(board).filename().string();
    if (name.ends_with(".yaml")) name.resize(name.size() - 5);
  }
  if (name.empty() || name == "." || name == "..") {
    throw SpecError("board", "expected a board name or a profile path (profiles/NAME.yaml), got '" + board + "'");
  }
  return name;
}

}  // namespace joules
