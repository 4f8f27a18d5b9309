#include "energy/profiling/grid.hpp"

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <stdexcept>
#include <set>
#include <utility>

#include <fmt/format.h>

#include "energy/layer_features.hpp"
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

namespace joules::profiling {
namespace {

LayerFeatures features_of(const GridPoint& p) {
  const Architecture arch{.input = p.input, .layers = {p.layer}};
  return layer_features(p.layer, analyze(arch).layers.front());
}

std::string kind_family(LayerKind kind) { return fmt::format("space-{}", to_string(kind)); }

// Coordinates of the space-filling design: the kind far apart, then log sizes.
std::vector<double> design_coordinates(const LayerFeatures& f) {
  const auto lg = [](double v) { return std::log2(std::max(v, 1.0)); };
  return {100.0 * static_cast<double>(f.kind), lg(f.macs), lg(f.width), lg(static_cast<double>(f.in_channels)),
          static_cast<double>(f.kernel), static_cast<double>(f.stride), lg(static_cast<double>(f.input_size)),
          static_cast<double>(f.kernel_class)};
}

// One representative conv (the median of the plain convs by MACs) at filter counts around each
// multiple of 8 in [lo, hi]: the points a fit needs to see the steps of the scheduling.
std::vector<GridPoint> filter_steps(const std::vector<GridPoint>& convs, std::int64_t lo, std::int64_t hi) {
  if (convs.empty()) return {};
  std::vector<std::pair<double, std::size_t>> by_macs;
  for (std::size_t i = 0; i < convs.size(); ++i) by_macs.emplace_back(features_of(convs[i]).macs, i);
  std::sort(by_macs.begin(), by_macs.end());
  const GridPoint& base = convs[by_macs[by_macs.size() / 2].second];
  std::set<std::int64_t> counts;
  for (std::int64_t m = 8; m <= hi + 1; m += 8) {
    for (std::int64_t f : {m - 1, m, m + 1}) {
      if (f >= lo && f <= hi) counts.insert(f);
    }
  }
  std::vector<GridPoint> out;
  for (std::int64_t f : counts) {
    GridPoint p = base;
    std::get<ConvLayer>(p.layer).filters = f;
    p.family = "filter-steps";
    out.push_back(std::move(p));
  }
  return out;
}

}  // namespace

ProfileGrid grid_from_space(const SearchSpaceOptions& options, const SpaceGridOptions& grid_options) {
  const SearchSpace space(options);
  std::vector<GridPoint> candidates;
  std::vector<GridPoint> convs;
  std::set<std::string> seen;
  std::int64_t min_filters = std::numeric_limits<std::int64_t>::max(), max_filters = 0;
  for (const auto& r : space.reachable_layers()) {
    GridPoint p{.input = r.input, .layer = r.layer};
    // A global pool is measured as the window over the whole map it is (the same work and
    // the same range values), so that the grid file can say it.
    if (auto* pool = std::get_if<PoolLayer>(&p.layer); pool && pool->global) {
      const Size2 window{r.input.height, r.input.width};
      p.layer = PoolLayer{.op = pool->op, .kernel = window, .stride = window};
    }
    if (!seen.insert(point_key(p.input, p.layer)).second) continue;
    const LayerFeatures f = features_of(p);
    p.family = kind_family(f.kind);
    if (f.kind == LayerKind::conv) {
      convs.push_back(p);
      min_filters = std::min(min_filters, static_cast<std::int64_t>(f.width));
      max_filters = std::max(max_filters, static_cast<std::int64_t>(f.width));
    }
    candidates.push_back(std::move(p));
  }
  std::vector<GridPoint> steps;
  for (GridPoint& p : filter_steps(convs, min_filters, max_filters)) {
    if (seen.insert(point_key(p.input, p.layer)).second) steps.push_back(std::move(p));
  }

  // The points that reach the ends of each kind's ranges are always kept.
  std::vector<LayerFeatures> features;
  for (const GridPoint& p : candidates) features.push_back(features_of(p));
  std::vector<bool> keep(candidates.size(), false);
  for (LayerKind kind : kLayerKinds) {
    for (RangeKey key : range_keys(kind)) {
      std::optional<std::size_t> lo, hi;
      for (std::size_t i = 0; i < candidates.size(); ++i) {
        if (features[i].kind != kind) continue;
        const double v = features[i].range_value(key);
        if (!lo || v < features[*lo].range_value(key)) lo = i;
        if (!hi || v > features[*hi].range_value(key)) hi = i;
      }
      if (lo) keep[*lo] = true;
      if (hi) keep[*hi] = true;
    }
  }
  const auto required = static_cast<std::size_t>(std::count(keep.begin(), keep.end(), true));
  std::size_t target = grid_options.points == 0 ? candidates.size() + steps.size() : grid_options.points;
  if (target < required) {
    throw std::invalid_argument(fmt::format("{} points cannot cover the space: the {} layer configurations that reach "
                                            "the ends of its ranges need at least {}",
                                            target, candidates.size(), required));
  }
  target = std::min(target, candidates.size() + steps.size());
  // A quarter of the points beyond the required ones at most go to the filter steps.
  const std::size_t step_count = grid_options.points == 0 ? steps.size() : std::min(steps.size(), (target - required) / 4);
  if (step_count < steps.size()) {
    // Evenly spread over the counts.
    std::vector<GridPoint> spread;
    for (std::size_t i = 0; i < step_count; ++i) spread.push_back(steps[i * steps.size() / step_count]);
    steps = std::move(spread);
  }

  // Greedy maximin over the rest, in a seeded order (ties go to the earlier in that order).
  std::vector<std::size_t> order(candidates.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  Rng rng(grid_options.seed);
  for (std::size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[rng.index(i)]);
  std::vector<std::vector<double>> x;
  for (const LayerFeatures& f : features) x.push_back(design_coordinates(f));
  std::vector<double> lo_x(x.front().size(), std::numeric_limits<double>::max()), hi_x(x.front().size(), -lo_x.front());
  for (const auto& v : x) {
    for (std::size_t d = 0; d < v.size(); ++d) {
      lo_x[d] = std::min(lo_x[d], v[d]);
      hi_x[d] = std::max(hi_x[d], v[d]);
    }
  }
  for (auto& v : x) {
    for (std::size_t d = 1; d < v.size(); ++d) v[d] = hi_x[d] > lo_x[d] ? (v[d] - lo_x[d]) / (hi_x[d] - lo_x[d]) : 0.0;
  }
  std::vector<double> nearest(candidates.size(), std::numeric_limits<double>::max());
  const auto take = [&](std::size_t j) {
    keep[j] = true;
    for (std::size_t i = 0; i < candidates.size(); ++i) {
      double d2 = 0;
      for (std::size_t d = 0; d < x[i].size(); ++d) d2 += (x[i][d] - x[j][d]) * (x[i][d] - x[j][d]);
      nearest[i] = std::min(nearest[i], d2);
    }
  };
  std::size_t kept = 0;
  for (std::size_t i = 0; i < candidates.size(); ++i) {
    if (keep[i]) {
      take(i);
      ++kept;
    }
  }
  if (kept == 0 && !order.empty() && target > step_count) {
    take(order.front());
    ++kept;
  }
  while (kept + step_count < target) {
    std::optional<std::size_t> best;
    for (std::size_t i : order) {
      if (!keep[i] && (!best || nearest[i] > nearest[*best])) best = i;
    }
    if (!best) break;
    take(*best);
    ++kept;
  }

  ProfileGrid grid;
  grid.file = grid_options.file;
  grid.name = grid_options.file.empty() ? "grid from a search space" : "grid from " + grid_options.file;
  grid.seed = grid_options.seed;
  for (std::size_t i = 0; i < candidates.size(); ++i) {
    if (keep[i]) grid.points.push_back(candidates[i]);
  }
  grid.points.insert(grid.points.end(), steps.begin(), steps.end());
  return grid;
}

std::string to_yaml(const ProfileGrid& grid) {
  std::string conv, fc, pool;
  for (const GridPoint& p : grid.points) {
    const std::int64_t size = std::max(p.input.height, p.input.width);
    if (const auto* c = std::get_if<ConvLayer>(&p.layer)) {
      const bool depthwise = c->groups > 1 && c->groups == p.input.channels;
      conv += fmt::format("  - {{name: {}, input_size: {}, in_channels: {}{}, kernel: {}, stride: {}, padding: {}, "
                          "bias: {}, batch_norm: {}, activation: {}}}\n",
                          p.family, size, p.input.channels,
                          depthwise ? ", depthwise: true" : fmt::format(", filters: {}", c->filters), c->kernel.h,
                          c->stride.h, c->padding.h, c->bias, c->batch_norm, to_string(c->activation));
    } else if (const auto* pl = std::get_if<PoolLayer>(&p.layer)) {
      pool += fmt::format("  - {{name: {}, input_size: {}, channels: {}, kernel: {}, stride: {}, padding: {}, op: {}}}\n",
                          p.family, size, p.input.channels, pl->kernel.h, pl->stride.h, pl->padding.h,
                          to_string(pl->op));
    } else {
      const auto& f = std::get<FcLayer>(p.layer);
      fc += fmt::format("  - {{name: {}, inputs: {}, outputs: {}, bias: {}, activation: {}}}\n", p.family,
                        p.input.channels * p.input.height * p.input.width, f.units, f.bias, to_string(f.activation));
    }
  }
  std::string out = fmt::format("# {} ({} points), written by joules profile --grid-from\nname: \"{}\"\nseed: {}\n",
                                grid.name, grid.points.size(), grid.name, grid.seed);
  if (!conv.empty()) out += "conv:\n" + conv;
  if (!fc.empty()) out += "fc:\n" + fc;
  if (!pool.empty()) out += "pool:\n" + pool;
  return out;
}

}  // namespace joules::profiling
