#pragma once
// Errors for bad user input. Everything a user writes (architecture files, search spaces,
// configs, command lines) fails with one of these, and the CLI turns them into exit status 2.

#include <stdexcept>
#include <string>

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

/// The whole content of a file the user gave; throws InputError(path, "cannot read file").
std::string read_input_file(const std::string& path);

}  // namespace joules
