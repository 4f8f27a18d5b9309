#pragma once
// Config text in the tests: sections built from YAML lines, and the error a parser gives.

#include <string>

#include <gtest/gtest.h>

#include "util/input_error.hpp"

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

/// What the InputError thrown by `parse(text)` says; a test failure when it throws none.
template <class Parse>
std::string input_error(const Parse& parse, const std::string& text) {
  try {
    parse(text);
  } catch (const InputError& e) {
    return e.what();
  }
  ADD_FAILURE() << "no error for:\n" << text;
  return "";
}

}  // namespace joules::testing
