#pragma once
// Reading user YAML files so that every error names the file, the line and the key.
// Every module's YAML parser (architectures, search spaces, configs, profiles) goes through
// this one reader; yaml-cpp itself stays out of the headers.

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "util/enum_names.hpp"
#include "util/input_error.hpp"

namespace YAML {
class Node;
}

namespace joules::yaml {

/// Largest YAML file or text joules parses: 4 MiB (the largest shipped file is a 15 KB profile).
/// yaml-cpp holds about 540 bytes per list entry: a 4 MiB list of numbers peaks at 1.1 GB.
inline constexpr std::size_t kMaxFileBytes = std::size_t{4} << 20;

/// A node of a parsed YAML document together with the file it came from and its key path
/// ("layers[2].conv.kernel"). Accessors validate types and throw InputError on mismatch.
/// Cheap to copy; immutable.
class Value {
 public:
  /// Parses a file. Throws InputError when it cannot be read, is larger than kMaxFileBytes, is
  /// not UTF-8 text (a NUL byte, invalid bytes; a leading byte order mark is dropped), is not
  /// valid YAML, or holds more than one document.
  static Value parse_file(const std::string& path);
  /// Parses text with the same checks; `file` labels errors.
  static Value parse_string(const std::string& text, const std::string& file);

  const std::string& file() const { return *file_; }
  /// Key path from the document root ("" for the root).
  const std::string& path() const { return path_; }
  /// 1-based line of this node, or of its parent map when the key is absent; 0 when unknown.
  int line() const { return line_; }

  bool defined() const;
  bool is_null() const;  // absent keys and `~` / empty values
  bool is_map() const;
  bool is_sequence() const;
  bool is_scalar() const;

  /// The value of `key` in this map (an undefined Value if absent). Throws if not a map.
  Value get(std::string_view key) const;
  /// Like get(), but a missing key is an error.
  Value require(std::string_view key) const;
  /// Element `index` of this sequence. Throws if not a sequence.
  Value at(std::size_t index) const;
  /// Number of elements of a sequence or entries of a map.
  std::size_t size() const;
  /// Keys of this map in file order. Throws on non-scalar or duplicate keys.
  std::vector<std::string> keys() const;
  /// Throws naming the first key of this map that is not in `allowed`.
  void allow_keys(std::initializer_list<std::string_view> allowed) const;
  void allow_keys(std::span<const std::string_view> allowed) const;

  /// A plain (unquoted) decimal integer in [lo, hi].
  std::int64_t as_int(std::int64_t lo = INT64_MIN, std::int64_t hi = INT64_MAX) const;
  /// A finite number in [lo, hi].
  double as_double(double lo, double hi) const;
  bool as_bool() const;
  std::string as_string() const;
  /// One of `options` (a scalar); returns its index.
  std::size_t as_choice(std::initializer_list<std::string_view> options) const;
  std::size_t as_choice(std::span<const std::string_view> options) const;
  /// One of the names of an enum's table (util/enum_names.hpp); returns its value.
  template <class Enum, std::size_t N>
  Enum as_enum(const EnumNames<Enum, N>& names) const {
    const std::array<std::string_view, N> options = names_only(names);
    return names[as_choice(std::span<const std::string_view>(options))].value;
  }

  /// Throws InputError at this node.
  [[noreturn]] void fail(const std::string& message) const;
  /// Rethrows a validator's SpecError, whose key is relative to this node, at the line of
  /// the deepest node of that key path that exists in the file.
  [[noreturn]] void fail_at(const SpecError& error) const;

 private:
  Value(std::shared_ptr<const YAML::Node> node, std::shared_ptr<const std::string> file,
        std::string path, int line);
  Value child(std::string_view key, std::string path_suffix) const;
  std::string scalar_text(std::string_view expected) const;

  std::shared_ptr<const YAML::Node> node_;  // null when the key is absent
  std::shared_ptr<const std::string> file_;
  std::string path_;
  int line_ = 0;
};

}  // namespace joules::yaml
