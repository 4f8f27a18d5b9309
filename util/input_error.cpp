#include "util/input_error.hpp"

#include <fstream>
#include <sstream>
#include <utility>

namespace joules {
namespace {

// The error stays one printable line, whatever bytes the file held.
std::string printable(const std::string& text) {
  std::string out;
  for (unsigned char c : text) {
    if (c < 0x20 || c == 0x7f) {
      static constexpr char kHex[] = "0123456789abcdef";
      out.append("\\x").push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  return out;
}

std::string format_location(const std::string& file, int line, const std::string& key,
                            const std::string& message) {
  std::string out = printable(file);
  if (line > 0) out.append(":").append(std::to_string(line));
  if (!key.empty()) out.append(out.empty() ? "" : ": ").append(printable(key));
  if (!out.empty()) out.append(": ");
  return out.append(printable(message));
}

}  // namespace

InputError::InputError(std::string file, int line, std::string key, std::string message)
    : std::runtime_error(format_location(file, line, key, message)),
      file_(std::move(file)),
      line_(line),
      key_(std::move(key)),
      message_(std::move(message)) {}

std::string read_input_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(path, 0, "", "cannot read file");
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) throw InputError(path, 0, "", "cannot read file");
  return text.str();
}

SpecError::SpecError(std::string key, std::string message)
    : std::invalid_argument(key.empty() ? message : key + ": " + message),
      key_(std::move(key)),
      message_(std::move(message)) {}

}  // namespace joules
