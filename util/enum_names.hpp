#pragma once
// One name table per enum: its to_string(), its parse function and the YAML reader's choice
// (yaml::Value::as_enum) all read the same table, so the names an enum is written with and the
// names it is read back from cannot drift apart.

#include <array>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace joules {

template <class Enum>
struct EnumName {
  Enum value;
  std::string_view name;
};

/// An enum's names, one entry per value, in the order usage messages list them.
template <class Enum, std::size_t N>
using EnumNames = std::array<EnumName<Enum>, N>;

/// The name of `value`; "?" when the table lacks it (a value cast from a bad integer).
template <class Enum, std::size_t N>
constexpr std::string_view name_of(const EnumNames<Enum, N>& names, Enum value) {
  for (const EnumName<Enum>& n : names) {
    if (n.value == value) return n.name;
  }
  return "?";
}

/// The value named `text`, if one is.
template <class Enum, std::size_t N>
constexpr std::optional<Enum> value_of(const EnumNames<Enum, N>& names, std::string_view text) {
  for (const EnumName<Enum>& n : names) {
    if (n.name == text) return n.value;
  }
  return std::nullopt;
}

/// The names alone, in table order.
template <class Enum, std::size_t N>
constexpr std::array<std::string_view, N> names_only(const EnumNames<Enum, N>& names) {
  std::array<std::string_view, N> out{};
  for (std::size_t i = 0; i < N; ++i) out[i] = names[i].name;
  return out;
}

/// "a, b or c": the names for an error message.
template <class Enum, std::size_t N>
std::string names_list(const EnumNames<Enum, N>& names) {
  std::string out;
  for (std::size_t i = 0; i < N; ++i) {
    out += (i == 0 ? "" : i + 1 == N ? " or " : ", ") + std::string(names[i].name);
  }
  return out;
}

}  // namespace joules
