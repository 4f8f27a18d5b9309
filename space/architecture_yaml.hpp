#pragma once
// Reading and writing the architecture YAML of DESIGN.md.

#include <cstddef>
#include <string>

#include "space/architecture.hpp"

namespace joules {

namespace yaml {
class Value;
}

/// Most layers an architecture file may list; more is refused before the layers are read.
inline constexpr std::size_t kMaxLayers = 1024;

/// Reads an architecture file. Throws InputError ("FILE:LINE: KEY: message") for unreadable
/// files, YAML syntax errors, wrong types, unknown keys and impossible networks.
Architecture load_architecture(const std::string& path);

/// Parses architecture YAML text; `file` labels errors.
Architecture parse_architecture(const std::string& text, const std::string& file);

/// Parses an architecture held in a larger YAML document (e.g. a log or a config).
Architecture parse_architecture(const yaml::Value& node);

/// Writes the architecture in the canonical short form: flow-style layers, defaults left
/// out. parse_architecture(to_yaml(a)) == a for every valid `a`.
std::string to_yaml(const Architecture& arch);

/// The same short form as one line of JSON (`{"input":[1,28,28],"layers":[{"conv":{...}}]}`),
/// as written in run logs. JSON is YAML, so parse_architecture() reads it back.
std::string to_json(const Architecture& arch);

}  // namespace joules
