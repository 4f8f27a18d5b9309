#pragma once
// How users name a board profile, the same in a search config's `board:` and in every
// command's --board: a board name (profiles/NAME.yaml) or the path of a profile file.

#include <string>

namespace joules {

/// Where board names are looked up: $JOULES_PROFILES_DIR, else the source tree's profiles/.
std::string profiles_directory();

/// True when `board` is a board name rather than a path: it has no '/' and does not end in
/// ".yaml".
bool is_board_name(const std::string& board);

/// The profile file that `board` names: a board name is profiles_directory()/NAME.yaml, a path
/// is taken relative to `base_dir`. Returns the absolute path. Throws SpecError (key "board")
/// "no board profile at PATH" when no regular file is there.
std::string resolve_board_profile(const std::string& board, const std::string& base_dir);

/// The board's name in a reference: a board name itself, or a path's file name without
/// ".yaml" (profiles/xavier.yaml -> xavier). Throws SpecError (key "board") when that name is
/// empty or is "." or "..".
std::string board_name_of(const std::string& board);

}  // namespace joules
