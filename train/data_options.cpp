// DataOptions: names, defaults and the `data:` YAML section. Torch-free.

#include <fmt/format.h>

#include "train/data.hpp"
#include "util/yaml_reader.hpp"

namespace joules {

std::string_view to_string(DatasetKind kind) {
  switch (kind) {
    case DatasetKind::fashion_mnist:
      return "fashion-mnist";
    case DatasetKind::mnist_idx:
      return "mnist-idx";
    case DatasetKind::cifar10:
      return "cifar10";
  }
  return "?";
}

DataOptions parse_data_options(const yaml::Value& node) {
  DataOptions o;
  if (!node.defined() || node.is_null()) return o;
  if (!node.is_map()) node.fail("expected a map with kind, path, validation_size, split_seed");
  node.allow_keys({"kind", "path", "validation_size", "split_seed"});
  if (const auto v = node.get("kind"); v.defined()) {
    o.kind = static_cast<DatasetKind>(v.as_choice({"fashion-mnist", "mnist-idx", "cifar10"}));
  }
  if (const auto v = node.get("path"); v.defined()) {
    o.path = v.as_string();
    if (o.path.empty()) v.fail("must not be empty (leave the key out for the default)");
  } else if (o.kind != DatasetKind::fashion_mnist) {
    node.fail(fmt::format("kind {} needs a path (the directory of its files)", to_string(o.kind)));
  }
  if (const auto v = node.get("validation_size"); v.defined()) o.validation_size = v.as_int(1, INT64_MAX);
  if (const auto v = node.get("split_seed"); v.defined()) {
    o.split_seed = static_cast<std::uint64_t>(v.as_int(0, INT64_MAX));
  }
  return o;
}

std::string to_yaml(const DataOptions& o) {
  std::string out = fmt::format("kind: {}\n", to_string(o.kind));
  // Quoted so that any path (spaces, colons, '#') reads back unchanged.
  std::string quoted;
  for (char c : o.path) {
    if (c == '"' || c == '\\') {
      quoted += '\\';
      quoted += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      quoted += fmt::format("\\x{:02x}", static_cast<unsigned char>(c));
    } else {
      quoted += c;
    }
  }
  out += fmt::format("path: \"{}\"\n", quoted);
  out += fmt::format("validation_size: {}\n", o.validation_size);
  out += fmt::format("split_seed: {}\n", o.split_seed);
  return out;
}

}  // namespace joules
