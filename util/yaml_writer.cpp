#include "util/yaml_writer.hpp"

#include <cctype>

#include <fmt/format.h>

namespace joules {

std::string yaml_scalar(std::string_view text) {
  bool plain = !text.empty() && !std::isdigit(static_cast<unsigned char>(text[0])) && text[0] != '-';
  for (char c : text) {
    plain = plain && (std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.');
  }
  if (plain && text != "true" && text != "false" && text != "null") return std::string(text);
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    // Other control characters as YAML's \xNN escape: raw, the reader rejects or alters them.
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      out += fmt::format("\\x{:02x}", static_cast<unsigned char>(c));
      continue;
    }
    out += c;
  }
  return out + "\"";
}

}  // namespace joules
