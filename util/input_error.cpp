#include "util/input_error.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <utility>

#include <fmt/format.h>

namespace joules {
namespace {

// Length of the UTF-8 sequence at text[i] (RFC 3629: no overlongs, no surrogates, <= U+10FFFF);
// 0 when the bytes there are not UTF-8.
std::size_t utf8_length(std::string_view text, std::size_t i) {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(text[k]); };
  const unsigned char c = byte(i);
  if (c < 0x80) return 1;
  std::size_t n = 0;
  unsigned char lo = 0x80, hi = 0xbf;  // allowed range of the second byte
  if (c >= 0xc2 && c <= 0xdf) {
    n = 2;
  } else if (c >= 0xe0 && c <= 0xef) {
    n = 3;
    if (c == 0xe0) lo = 0xa0;
    if (c == 0xed) hi = 0x9f;
  } else if (c >= 0xf0 && c <= 0xf4) {
    n = 4;
    if (c == 0xf0) lo = 0x90;
    if (c == 0xf4) hi = 0x8f;
  } else {
    return 0;
  }
  if (i + n > text.size()) return 0;
  if (byte(i + 1) < lo || byte(i + 1) > hi) return 0;
  for (std::size_t k = 2; k < n; ++k) {
    if (byte(i + k) < 0x80 || byte(i + k) > 0xbf) return 0;
  }
  return n;
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

std::string printable(std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  const auto escape = [&](std::string& out, unsigned char c) {
    out.append("\\x").push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 15]);
  };
  std::string out;
  for (std::size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    const std::size_t n = utf8_length(text, i);
    // C1 controls (U+0080..U+009F, encoded c2 80..c2 9f) act like escapes on some terminals.
    const bool c1 = n == 2 && c == 0xc2 && static_cast<unsigned char>(text[i + 1]) < 0xa0;
    if (n == 0 || c < 0x20 || c == 0x7f || c1) {
      for (std::size_t k = 0; k < std::max<std::size_t>(n, 1); ++k) escape(out, static_cast<unsigned char>(text[i + k]));
      i += std::max<std::size_t>(n, 1);
    } else {
      out.append(text.substr(i, n));
      i += n;
    }
  }
  return out;
}

InputError::InputError(std::string file, int line, std::string key, std::string message)
    : std::runtime_error(format_location(file, line, key, message)),
      file_(std::move(file)),
      line_(line),
      key_(std::move(key)),
      message_(std::move(message)) {}

std::string read_input_file(const std::string& path, std::size_t max_bytes) {
  const auto too_large = [&] {
    return InputError(path, 0, "",
                      fmt::format("file is larger than {} bytes, the most joules reads from a file of this kind",
                                  max_bytes));
  };
  std::error_code ec;
  if (std::filesystem::is_regular_file(path, ec) && std::filesystem::file_size(path, ec) > max_bytes && !ec) {
    throw too_large();
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(path, 0, "", "cannot read file");
  // Read in chunks so that a pipe or a growing file is also bounded by max_bytes.
  std::string text;
  char chunk[1 << 16];
  while (in.read(chunk, sizeof chunk) || in.gcount() > 0) {
    text.append(chunk, static_cast<std::size_t>(in.gcount()));
    if (text.size() > max_bytes) throw too_large();
  }
  if (in.bad()) throw InputError(path, 0, "", "cannot read file");
  return text;
}

std::string_view checked_text(std::string_view text, const std::string& file) {
  if (text.starts_with("\xef\xbb\xbf")) text.remove_prefix(3);
  int line = 1;
  for (std::size_t i = 0; i < text.size();) {
    if (text[i] == '\n') ++line;
    if (text[i] == '\0') throw InputError(file, line, "", "a NUL byte: this is not a text file");
    const std::size_t n = utf8_length(text, i);
    if (n == 0) throw InputError(file, line, "", "bytes that are not UTF-8 text (save the file as UTF-8)");
    i += n;
  }
  return text;
}

SpecError::SpecError(std::string key, std::string message)
    : std::invalid_argument(key.empty() ? message : key + ": " + message),
      key_(std::move(key)),
      message_(std::move(message)) {}

}  // namespace joules
