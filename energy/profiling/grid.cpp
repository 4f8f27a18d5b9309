#include "energy/profiling/grid.hpp"

#include <functional>
#include <set>
#include <utility>

#include <fmt/format.h>

#include "space/analysis.hpp"
#include "util/input_error.hpp"
#include "util/random.hpp"
#include "util/yaml_reader.hpp"

namespace joules::profiling {
namespace {

using yaml::Value;

constexpr std::int64_t kMaxSize = 1 << 20;

// A key's values: a number, a list of numbers, or {from, to, step}.
std::vector<std::int64_t> int_values(const Value& block, std::string_view key, std::int64_t lo, std::int64_t hi) {
  const Value v = block.require(key);
  std::vector<std::int64_t> out;
  if (v.is_map()) {
    v.allow_keys({"from", "to", "step"});
    const std::int64_t from = v.require("from").as_int(lo, hi);
    const std::int64_t to = v.require("to").as_int(from, hi);
    const std::int64_t step = v.get("step").defined() ? v.get("step").as_int(1, kMaxSize) : 1;
    for (std::int64_t x = from; x <= to; x += step) out.push_back(x);
  } else if (v.is_sequence()) {
    if (v.size() == 0) v.fail("expected at least one value");
    for (std::size_t i = 0; i < v.size(); ++i) out.push_back(v.at(i).as_int(lo, hi));
  } else {
    out.push_back(v.as_int(lo, hi));
  }
  return out;
}

std::vector<std::int64_t> int_values_or(const Value& block, std::string_view key, std::int64_t lo, std::int64_t hi,
                                        std::int64_t fallback) {
  return block.get(key).defined() ? int_values(block, key, lo, hi) : std::vector<std::int64_t>{fallback};
}

bool bool_or(const Value& block, std::string_view key, bool fallback) {
  return block.get(key).defined() ? block.get(key).as_bool() : fallback;
}

Activation activation_or(const Value& block, Activation fallback) {
  const Value v = block.get("activation");
  if (!v.defined()) return fallback;
  const std::string name = v.as_string();
  if (const auto a = parse_activation(name)) return *a;
  std::string names;
  for (Activation a : kActivations) names += (names.empty() ? "" : ", ") + std::string(to_string(a));
  v.fail(fmt::format("expected one of {}, got '{}'", names, name));
}

std::string block_name(const Value& block, std::string_view section, std::size_t index) {
  const Value name = block.get("name");
  if (name.defined()) {
    std::string text = name.as_string();
    if (text.empty()) name.fail("a block name must not be empty");
    return text;
  }
  return fmt::format("{}[{}]", section, index);
}

// Multiplies out the value lists of a block, in the order given, calling `emit` with one value
// of each. Refuses blocks beyond the grid's limit before expanding them.
void for_each_combination(const Value& block, const std::vector<std::vector<std::int64_t>>& lists,
                          std::size_t points_so_far, const std::function<void(const std::vector<std::int64_t>&)>& emit) {
  std::size_t count = 1;
  for (const auto& list : lists) {
    count *= list.size();
    if (count + points_so_far > kMaxGridPoints) {
      block.fail(fmt::format("the grid would have more than {} points (a range with a step too small?)", kMaxGridPoints));
    }
  }
  std::vector<std::int64_t> values(lists.size());
  std::function<void(std::size_t)> recurse = [&](std::size_t depth) {
    if (depth == lists.size()) {
      emit(values);
      return;
    }
    for (std::int64_t x : lists[depth]) {
      values[depth] = x;
      recurse(depth + 1);
    }
  };
  recurse(0);
}

class GridBuilder {
 public:
  explicit GridBuilder(ProfileGrid& grid) : grid_(grid) {}

  // Adds a point unless an earlier block produced the same configuration; `what` describes
  // it for the error of an impossible one.
  void add(const Value& block, const std::string& family, Shape input, Layer layer, const std::string& what) {
    try {
      analyze(Architecture{.input = input, .layers = {layer}});
    } catch (const SpecError& e) {
      block.fail(fmt::format("{}: impossible: {}", what, e.message()));
    }
    if (!seen_.insert(point_key(input, layer)).second) return;
    grid_.points.push_back(GridPoint{.input = input, .layer = std::move(layer), .family = family});
  }

  std::size_t size() const { return grid_.points.size(); }

 private:
  ProfileGrid& grid_;
  std::set<std::string> seen_;
};

void read_conv_block(const Value& block, const std::string& family, GridBuilder& out) {
  block.allow_keys({"name", "input_size", "in_channels", "filters", "kernel", "stride", "padding", "depthwise", "bias",
                    "batch_norm", "activation"});
  const bool depthwise = bool_or(block, "depthwise", false);
  if (depthwise && block.get("filters").defined()) {
    block.get("filters").fail("a depthwise block has as many filters as input channels: leave filters out");
  }
  const auto sizes = int_values(block, "input_size", 1, kMaxSize);
  const auto channels = int_values(block, "in_channels", 1, kMaxSize);
  const auto filters = depthwise ? std::vector<std::int64_t>{0} : int_values(block, "filters", 1, kMaxSize);
  const auto kernels = int_values(block, "kernel", 1, kMaxSize);
  const auto strides = int_values_or(block, "stride", 1, kMaxSize, 1);
  // `padding: same` pads kernel / 2 on each side (the input size, for odd kernels at stride 1).
  const Value padding = block.get("padding");
  const bool same = padding.is_scalar() && padding.as_string() == "same";
  const auto paddings = same ? std::vector<std::int64_t>{-1} : int_values_or(block, "padding", 0, kMaxSize, 0);
  ConvLayer base;
  base.bias = bool_or(block, "bias", true);
  base.batch_norm = bool_or(block, "batch_norm", false);
  base.activation = activation_or(block, Activation::relu);
  for_each_combination(block, {sizes, channels, filters, kernels, strides, paddings}, out.size(),
                       [&](const std::vector<std::int64_t>& v) {
                         ConvLayer conv = base;
                         conv.filters = depthwise ? v[1] : v[2];
                         conv.groups = depthwise ? v[1] : 1;
                         conv.kernel = Size2::square(v[3]);
                         conv.stride = Size2::square(v[4]);
                         conv.padding = Size2::square(same ? v[3] / 2 : v[5]);
                         const std::string what =
                             fmt::format("input_size {}, in_channels {}{}, kernel {}, stride {}, padding {}", v[0], v[1],
                                         depthwise ? "" : fmt::format(", filters {}", v[2]), v[3], v[4], conv.padding.h);
                         out.add(block, family, Shape{v[1], v[0], v[0]}, conv, what);
                       });
}

void read_fc_block(const Value& block, const std::string& family, GridBuilder& out) {
  block.allow_keys({"name", "inputs", "outputs", "bias", "activation"});
  const auto inputs = int_values(block, "inputs", 1, kMaxSize);
  const auto outputs = int_values(block, "outputs", 1, kMaxSize);
  FcLayer base;
  base.bias = bool_or(block, "bias", true);
  base.activation = activation_or(block, Activation::relu);
  for_each_combination(block, {inputs, outputs}, out.size(), [&](const std::vector<std::int64_t>& v) {
    FcLayer fc = base;
    fc.units = v[1];
    out.add(block, family, Shape{v[0], 1, 1}, fc, fmt::format("inputs {}, outputs {}", v[0], v[1]));
  });
}

void read_pool_block(const Value& block, const std::string& family, GridBuilder& out) {
  block.allow_keys({"name", "input_size", "channels", "kernel", "stride", "padding", "op"});
  const auto sizes = int_values(block, "input_size", 1, kMaxSize);
  const auto channels = int_values(block, "channels", 1, kMaxSize);
  const auto kernels = int_values(block, "kernel", 1, kMaxSize);
  // Stride 0 stands for "as the kernel", the default.
  const auto strides = int_values_or(block, "stride", 1, kMaxSize, 0);
  const auto paddings = int_values_or(block, "padding", 0, kMaxSize, 0);
  std::vector<std::int64_t> ops;  // PoolOp values
  const Value op = block.get("op");
  if (!op.defined()) {
    ops.push_back(static_cast<std::int64_t>(PoolOp::max));
  } else if (op.is_sequence()) {
    if (op.size() == 0) op.fail("expected at least one of max, avg");
    for (std::size_t i = 0; i < op.size(); ++i) ops.push_back(static_cast<std::int64_t>(op.at(i).as_enum(kPoolOpNames)));
  } else {
    ops.push_back(static_cast<std::int64_t>(op.as_enum(kPoolOpNames)));
  }
  for_each_combination(block, {sizes, channels, kernels, strides, paddings, ops}, out.size(),
                       [&](const std::vector<std::int64_t>& v) {
                         PoolLayer pool;
                         pool.op = static_cast<PoolOp>(v[5]);
                         pool.kernel = Size2::square(v[2]);
                         pool.stride = Size2::square(v[3] == 0 ? v[2] : v[3]);
                         pool.padding = Size2::square(v[4]);
                         const std::string what =
                             fmt::format("input_size {}, channels {}, kernel {}, stride {}, padding {}", v[0], v[1],
                                         v[2], pool.stride.h, v[4]);
                         out.add(block, family, Shape{v[1], v[0], v[0]}, pool, what);
                       });
}

ProfileGrid read_grid(const Value& root) {
  if (!root.is_map()) root.fail("expected a profiling grid: a map with conv, fc and/or pool lists of blocks");
  root.allow_keys({"name", "seed", "conv", "fc", "pool"});
  ProfileGrid grid;
  grid.file = root.file();
  if (root.get("name").defined()) grid.name = root.get("name").as_string();
  if (root.get("seed").defined()) grid.seed = static_cast<std::uint64_t>(root.get("seed").as_int(0));
  GridBuilder builder(grid);
  using Reader = void (*)(const Value&, const std::string&, GridBuilder&);
  const std::pair<const char*, Reader> sections[] = {
      {"conv", &read_conv_block}, {"fc", &read_fc_block}, {"pool", &read_pool_block}};
  for (const auto& [section, read] : sections) {
    const Value list = root.get(section);
    if (!list.defined()) continue;
    if (!list.is_sequence()) list.fail("expected a list of blocks");
    for (std::size_t i = 0; i < list.size(); ++i) {
      const Value block = list.at(i);
      if (!block.is_map()) block.fail("expected a block: a map of sizes");
      read(block, block_name(block, section, i), builder);
    }
  }
  if (grid.points.empty()) root.fail("the grid has no points: give at least one conv, fc or pool block");
  return grid;
}

}  // namespace

ProfileGrid load_profile_grid(const std::string& path) { return read_grid(Value::parse_file(path)); }

ProfileGrid parse_profile_grid(const std::string& text, const std::string& file) {
  return read_grid(Value::parse_string(text, file));
}

std::vector<GridPoint> measuring_order(const ProfileGrid& grid, std::uint64_t seed) {
  std::vector<GridPoint> points = grid.points;
  Rng rng(seed);
  for (std::size_t i = points.size(); i > 1; --i) std::swap(points[i - 1], points[rng.index(i)]);
  return points;
}

std::string point_key(const Shape& input, const Layer& layer) {
  return canonical_form(Architecture{.input = input, .layers = {layer}});
}

}  // namespace joules::profiling
