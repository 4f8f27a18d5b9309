// DataOptions: names, defaults and the `data:` YAML section. Torch-free.

#include <fmt/format.h>

#include "train/data.hpp"
#include "util/yaml_reader.hpp"
#include "util/yaml_writer.hpp"

namespace joules {

std::string_view to_string(DatasetKind kind) { return name_of(kDatasetKindNames, kind); }

DataOptions parse_data_options(const yaml::Value& node) {
  DataOptions o;
  if (!node.defined() || node.is_null()) return o;
  if (!node.is_map()) node.fail("expected a map with kind, path, validation_size, split_seed");
  node.allow_keys({"kind", "path", "validation_size", "split_seed", "resize", "cache_dir", "skip_bad_images",
                   "class_names"});
  if (const auto v = node.get("kind"); v.defined()) {
    o.kind = v.as_enum(kDatasetKindNames);
  }
  for (const char* key : {"resize", "cache_dir", "skip_bad_images", "class_names"}) {
    if (const auto v = node.get(key); v.defined() && o.kind != DatasetKind::image_folder) {
      v.fail(fmt::format("only for kind image-folder (this data is {})", to_string(o.kind)));
    }
  }
  if (const auto v = node.get("resize"); v.defined()) {
    o.resize = v.as_enum(kImageResizeNames);
  }
  if (const auto v = node.get("cache_dir"); v.defined()) {
    o.cache_dir = v.as_string();
    if (o.cache_dir.empty()) v.fail("must not be empty (leave the key out for the default)");
  }
  if (const auto v = node.get("skip_bad_images"); v.defined()) o.skip_bad_images = v.as_bool();
  if (const auto v = node.get("class_names"); v.defined()) {
    if (!v.is_sequence() || v.size() == 0)
      v.fail("expected a list of class names (the class folders, sorted)");
    for (std::size_t i = 0; i < v.size(); ++i) o.class_names.push_back(v.at(i).as_string());
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
  // Quoted as needed so that any path (spaces, colons, '#') reads back unchanged.
  out += fmt::format("path: {}\n", yaml_scalar(o.path));
  out += fmt::format("validation_size: {}\n", o.validation_size);
  out += fmt::format("split_seed: {}\n", o.split_seed);
  if (o.kind == DatasetKind::image_folder) {
    out += fmt::format("resize: {}\n", to_string(o.resize));
    if (!o.cache_dir.empty()) out += fmt::format("cache_dir: {}\n", yaml_scalar(o.cache_dir));
    out += fmt::format("skip_bad_images: {}\n", o.skip_bad_images);
    if (!o.class_names.empty()) {
      std::string names;
      for (const std::string& name : o.class_names) names += (names.empty() ? "" : ", ") + yaml_scalar(name);
      out += fmt::format("class_names: [{}]\n", names);
    }
  }
  return out;
}

}  // namespace joules
