#pragma once
// Builds config text in the tests: a body of YAML lines nested as a section of a document.

#include <string>

namespace joules::testing {

/// `body` (YAML lines, each ending in '\n') indented under `name:`.
inline std::string yaml_section(const std::string& name, const std::string& body) {
  std::string out = name + ":\n";
  for (std::size_t start = 0, end; start < body.size(); start = end + 1) {
    end = body.find('\n', start);
    out += "  " + body.substr(start, end - start) + "\n";
  }
  return out;
}

}  // namespace joules::testing
