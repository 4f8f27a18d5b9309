#pragma once
// Writing YAML scalars that read back as the same string through util/yaml_reader.hpp. Every
// module that writes YAML (architectures, board profiles) quotes its strings with this.

#include <string>
#include <string_view>

namespace joules {

/// `text` as a YAML scalar: plain when it is a safe identifier-like word (letters, digits,
/// '_', '-', '.', not starting with a digit or '-', and not true/false/null), otherwise
/// double-quoted with '"', '\\', newlines and other control characters escaped.
std::string yaml_scalar(std::string_view text);

}  // namespace joules
