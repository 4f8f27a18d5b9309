#pragma once
// Errors for bad user input. Everything a user writes (architecture files, search spaces,
// configs, command lines) fails with one of these, and the CLI turns them into exit status 2.

#include <cstddef>
#include <stdexcept>
#include <string>
#include <string_view>

namespace joules {

/// Bad input located in a file: what() reads "FILE:LINE: KEY: MESSAGE" (LINE and KEY left out
/// when unknown), ready to be printed after "error: ".
class InputError : public std::runtime_error {
 public:
  /// `line` is 1-based; 0 means unknown. `key` is a path such as "layers[2].conv.kernel".
  InputError(std::string file, int line, std::string key, std::string message);

  const std::string& file() const { return file_; }
  int line() const { return line_; }
  const std::string& key() const { return key_; }
  const std::string& message() const { return message_; }

 private:
  std::string file_;
  int line_;
  std::string key_;
  std::string message_;
};

/// A value that breaks a rule of a specification (an architecture, a search space, a config),
/// found by a validator that knows the key path of the value but not the file it came from.
/// The YAML readers catch it and rethrow an InputError with the file and line of that key.
class SpecError : public std::invalid_argument {
 public:
  SpecError(std::string key, std::string message);

  const std::string& key() const { return key_; }
  const std::string& message() const { return message_; }

 private:
  std::string key_;
  std::string message_;
};

/// Largest user file read whole (configs, architectures, spaces, profiles, CSV tables): 16 MiB.
/// The YAML reader's own limit is smaller (yaml_reader.hpp).
inline constexpr std::size_t kMaxInputFileBytes = std::size_t{16} << 20;

/// The whole content of a file the user gave. Throws InputError(path, "cannot read file") when
/// it cannot be read, and InputError(path, "file is larger than ...") past `max_bytes`, found
/// before the file is read into memory (a pipe is read up to the limit).
std::string read_input_file(const std::string& path, std::size_t max_bytes = kMaxInputFileBytes);

/// `text` as it can be printed on a terminal: control characters (C0, DEL, C1) and bytes that
/// are not UTF-8 written as \xNN, so that no escape sequence reaches the terminal.
std::string printable(std::string_view text);

/// The text of a user file checked to be text: a leading UTF-8 byte order mark is dropped, and
/// a NUL byte or bytes that are not UTF-8 throw InputError(file, LINE, "", ...) naming the line.
std::string_view checked_text(std::string_view text, const std::string& file);

}  // namespace joules
