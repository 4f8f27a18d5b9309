#pragma once
// A network: its input shape and its layers, in order.

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "space/layer.hpp"

namespace joules {

/// A feature map: channels x height x width.
struct Shape {
  std::int64_t channels = 0;
  std::int64_t height = 0;
  std::int64_t width = 0;

  bool operator==(const Shape&) const = default;
};

/// A plain CNN as the architecture YAML describes it, with every default resolved.
struct Architecture {
  std::string name;  // optional; not part of the canonical form
  Shape input;
  std::vector<Layer> layers;

  bool operator==(const Architecture&) const = default;
};

/// A text that is equal for equal architectures (the name excluded), whatever the YAML
/// spelling they came from (defaults written or not, int or [h, w] kernels...).
std::string canonical_form(const Architecture& arch);

/// 64-bit hash of canonical_form(); stable across runs, builds and machines.
std::uint64_t canonical_hash(const Architecture& arch);

/// canonical_hash() as 16 lowercase hex digits, as written in run directories.
std::string canonical_hash_hex(const Architecture& arch);

}  // namespace joules

template <>
struct std::hash<joules::Architecture> {
  std::size_t operator()(const joules::Architecture& arch) const noexcept {
    return static_cast<std::size_t>(joules::canonical_hash(arch));
  }
};
