#include "energy/measurements.hpp"

#include <array>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include <fmt/format.h>

#include "space/analysis.hpp"
#include "space/architecture_yaml.hpp"
#include "util/fnv1a64.hpp"
#include "util/csv.hpp"
#include "util/input_error.hpp"

namespace joules {
namespace {

constexpr std::array<std::string_view, 23> kLayerColumns{
    "layer",      "in_channels",       "in_height",   "in_width",   "filters",
    "units",      "kernel",            "stride",      "padding",    "groups",
    "op",         "bias",              "batch_norm",  "activation", "energy_mj",
    "energy_mj_std", "dynamic_energy_mj", "dynamic_energy_mj_std", "latency_ms", "latency_ms_std",
    "repeats",    "group",             "family"};

// A row of a CSV whose optional columns may be absent: absent and empty read alike.
class Row {
 public:
  Row(const CsvTable& table, std::size_t row) : table_(table), row_(row) {}

  int line() const { return table_.line(row_); }
  bool has(std::string_view column) const { return !text(column).empty(); }
  std::string text(std::string_view column) const {
    return table_.has_column(column) ? table_.text(row_, table_.column(column)) : std::string();
  }
  [[noreturn]] void fail(std::string_view column, const std::string& message) const {
    throw InputError(table_.file(), line(), std::string(column), message);
  }
  double number(std::string_view column) const {
    require(column);
    return table_.number(row_, table_.column(column));
  }
  void require(std::string_view column) const {
    if (!has(column)) fail(column, "is required, but empty or missing");
  }
  std::optional<double> optional_number(std::string_view column) const {
    if (!has(column)) return std::nullopt;
    return number(column);
  }
  double positive(std::string_view column) const {
    const double v = number(column);
    if (!(v > 0)) fail(column, fmt::format("must be > 0, got {}", v));
    return v;
  }
  std::optional<double> optional_positive(std::string_view column) const {
    if (!has(column)) return std::nullopt;
    return positive(column);
  }
  std::optional<double> optional_spread(std::string_view column) const {
    const auto v = optional_number(column);
    if (v && *v < 0) fail(column, fmt::format("a spread must be >= 0, got {}", *v));
    return v;
  }
  std::int64_t integer(std::string_view column, std::int64_t min) const {
    require(column);
    const std::int64_t v = table_.integer(row_, table_.column(column));
    if (v < min) fail(column, fmt::format("must be >= {}, got {}", min, v));
    return v;
  }
  std::int64_t integer_or(std::string_view column, std::int64_t min, std::int64_t fallback) const {
    return has(column) ? integer(column, min) : fallback;
  }
  Size2 size(std::string_view column, std::int64_t min) const {
    require(column);
    const std::string t = text(column);
    const auto x = t.find('x');
    Size2 s;
    const auto parse = [&](std::string_view part, std::int64_t& out) {
      const auto [ptr, ec] = std::from_chars(part.data(), part.data() + part.size(), out);
      if (ec != std::errc() || ptr != part.data() + part.size()) {
        fail(column, fmt::format("expected a size: N or HxW, got '{}'", t));
      }
    };
    if (x == std::string::npos) {
      parse(t, s.h);
      s.w = s.h;
    } else {
      parse(std::string_view(t).substr(0, x), s.h);
      parse(std::string_view(t).substr(x + 1), s.w);
    }
    if (s.h < min || s.w < min) fail(column, fmt::format("must be >= {}, got '{}'", min, t));
    return s;
  }
  Size2 size_or(std::string_view column, std::int64_t min, Size2 fallback) const {
    return has(column) ? size(column, min) : fallback;
  }
  bool boolean_or(std::string_view column, bool fallback) const {
    if (!has(column)) return fallback;
    const std::string t = text(column);
    if (t == "true" || t == "1") return true;
    if (t == "false" || t == "0") return false;
    fail(column, fmt::format("expected true or false, got '{}'", t));
  }
  Activation activation_or(std::string_view column, Activation fallback) const {
    if (!has(column)) return fallback;
    const std::string t = text(column);
    if (const auto a = parse_activation(t)) return *a;
    fail(column, fmt::format("unknown activation '{}'", t));
  }
  void forbid(std::initializer_list<std::string_view> columns, std::string_view layer) const {
    for (std::string_view c : columns) {
      if (has(c)) fail(c, fmt::format("does not apply to a {} layer (leave it empty)", layer));
    }
  }

 private:
  const CsvTable& table_;
  std::size_t row_;
};

Layer read_layer(const Row& row) {
  const std::string type = row.text("layer");
  if (type == "conv") {
    row.forbid({"units", "op"}, "conv");
    ConvLayer conv;
    conv.filters = row.integer("filters", 1);
    conv.kernel = row.size("kernel", 1);
    conv.stride = row.size_or("stride", 1, {1, 1});
    conv.padding = row.size_or("padding", 0, {0, 0});
    conv.groups = row.integer_or("groups", 1, 1);
    conv.bias = row.boolean_or("bias", true);
    conv.batch_norm = row.boolean_or("batch_norm", false);
    conv.activation = row.activation_or("activation", Activation::relu);
    return conv;
  }
  if (type == "pool") {
    row.forbid({"filters", "units", "groups", "bias", "batch_norm", "activation"}, "pool");
    PoolLayer pool;
    if (row.text("kernel") == "global") {
      pool.global = true;
      pool.op = PoolOp::avg;
      row.forbid({"stride", "padding"}, "global pool");
    } else {
      pool.kernel = row.size("kernel", 1);
      pool.stride = row.size_or("stride", 1, pool.kernel);
      pool.padding = row.size_or("padding", 0, {0, 0});
    }
    if (row.has("op")) {
      const std::string op = row.text("op");
      if (op != "max" && op != "avg") row.fail("op", fmt::format("expected max or avg, got '{}'", op));
      pool.op = op == "max" ? PoolOp::max : PoolOp::avg;
    }
    return pool;
  }
  if (type == "fc") {
    row.forbid({"filters", "kernel", "stride", "padding", "groups", "op", "batch_norm"}, "fc");
    FcLayer fc;
    fc.units = row.integer("units", 1);
    fc.bias = row.boolean_or("bias", true);
    fc.activation = row.activation_or("activation", Activation::relu);
    return fc;
  }
  row.fail("layer", fmt::format("expected conv, pool or fc, got '{}'", type));
}

std::string size_text(Size2 s) { return s.is_square() ? std::to_string(s.h) : fmt::format("{}x{}", s.h, s.w); }

std::string optional_text(const std::optional<double>& v) { return v ? csv_number(*v) : std::string(); }

}  // namespace

std::string fnv1a64_hex(std::string_view bytes) {
  Fnv1a64 digest;
  digest.update(bytes);
  return digest.hex();
}

std::string layer_measurements_header() {
  std::string out;
  for (std::size_t i = 0; i < kLayerColumns.size(); ++i) out += (i ? "," : "") + std::string(kLayerColumns[i]);
  return out;
}

std::string to_csv_row(const LayerMeasurement& m) {
  analyze(Architecture{.input = m.input, .layers = {m.layer}});  // throws SpecError if impossible
  std::array<std::string, kLayerColumns.size()> f;
  f[1] = std::to_string(m.input.channels);
  f[2] = std::to_string(m.input.height);
  f[3] = std::to_string(m.input.width);
  if (const auto* conv = std::get_if<ConvLayer>(&m.layer)) {
    f[0] = "conv";
    f[4] = std::to_string(conv->filters);
    f[6] = size_text(conv->kernel);
    f[7] = size_text(conv->stride);
    f[8] = size_text(conv->padding);
    f[9] = std::to_string(conv->groups);
    f[11] = conv->bias ? "true" : "false";
    f[12] = conv->batch_norm ? "true" : "false";
    f[13] = std::string(to_string(conv->activation));
  } else if (const auto* pool = std::get_if<PoolLayer>(&m.layer)) {
    f[0] = "pool";
    f[10] = std::string(to_string(pool->op));
    if (pool->global) {
      f[6] = "global";
    } else {
      f[6] = size_text(pool->kernel);
      f[7] = size_text(pool->stride);
      f[8] = size_text(pool->padding);
    }
  } else {
    const auto& fc = std::get<FcLayer>(m.layer);
    f[0] = "fc";
    f[5] = std::to_string(fc.units);
    f[11] = fc.bias ? "true" : "false";
    f[13] = std::string(to_string(fc.activation));
  }
  f[14] = csv_number(m.energy_mj);
  f[15] = optional_text(m.energy_mj_std);
  f[16] = optional_text(m.dynamic_energy_mj);
  f[17] = optional_text(m.dynamic_energy_mj_std);
  f[18] = optional_text(m.latency_ms);
  f[19] = optional_text(m.latency_ms_std);
  f[20] = std::to_string(m.repeats);
  f[21] = csv_field(m.group);
  f[22] = csv_field(m.family);
  std::string out;
  for (std::size_t i = 0; i < f.size(); ++i) out += (i ? "," : "") + f[i];
  return out;
}

LayerMeasurementSet parse_layer_measurements(std::string_view text, const std::string& file,
                                             const std::string& latency_column) {
  const CsvTable table = CsvTable::parse(text, file);
  for (std::string_view required : {"layer", "in_channels", "in_height", "in_width", "energy_mj"}) {
    table.column(required);  // throws "missing column"
  }
  const bool own_latency = latency_column == "latency_ms";
  if (!own_latency) table.column(latency_column);
  LayerMeasurementSet set;
  set.file = file;
  set.latency_column = latency_column;
  set.fnv1a64 = fnv1a64_hex(text);
  for (std::size_t r = 0; r < table.rows(); ++r) {
    const Row row(table, r);
    LayerMeasurement m;
    m.input = Shape{row.integer("in_channels", 1), row.integer("in_height", 1), row.integer("in_width", 1)};
    m.layer = read_layer(row);
    try {
      analyze(Architecture{.input = m.input, .layers = {m.layer}});
    } catch (const SpecError& e) {
      // The key ends with the offending field ("layers[0].conv.kernel"), named like its column.
      const std::string& key = e.key();
      const auto dot = key.rfind('.');
      std::string column = dot == std::string::npos ? key : key.substr(dot + 1);
      if (column == "conv" || column == "pool" || column == "fc" || column == "input") column = "layer";
      row.fail(column, e.message());
    }
    m.energy_mj = row.positive("energy_mj");
    m.energy_mj_std = row.optional_spread("energy_mj_std");
    m.dynamic_energy_mj = row.optional_number("dynamic_energy_mj");
    m.dynamic_energy_mj_std = row.optional_spread("dynamic_energy_mj_std");
    m.latency_ms = row.optional_positive(latency_column);
    if (own_latency) m.latency_ms_std = row.optional_spread("latency_ms_std");
    m.repeats = row.integer_or("repeats", 1, 1);
    m.group = row.text("group");
    m.family = row.text("family");
    set.rows.push_back(std::move(m));
    set.lines.push_back(row.line());
  }
  return set;
}

LayerMeasurementSet read_layer_measurements(const std::string& path, const std::string& latency_column) {
  return parse_layer_measurements(read_input_file(path), path, latency_column);
}

NetworkMeasurementSet read_network_measurements(const std::string& path, const NetworkColumns& columns) {
  const std::string bytes = read_input_file(path);
  const CsvTable table = CsvTable::parse(bytes, path);
  table.column(columns.arch);
  table.column(columns.energy);
  if (columns.latency_required) table.column(columns.latency);
  NetworkMeasurementSet set;
  set.file = path;
  set.fnv1a64 = fnv1a64_hex(bytes);
  set.energy_column = columns.energy;
  if (table.has_column(columns.latency)) set.latency_column = columns.latency;

  const std::filesystem::path folder = std::filesystem::path(path).parent_path();
  std::map<std::string, Architecture> cache;
  for (std::size_t r = 0; r < table.rows(); ++r) {
    const Row row(table, r);
    NetworkMeasurement m;
    m.arch_file = row.text(columns.arch);
    if (m.arch_file.empty()) row.fail(columns.arch, "names no architecture file");
    const std::filesystem::path arch_path =
        std::filesystem::path(m.arch_file).is_absolute() ? std::filesystem::path(m.arch_file) : folder / m.arch_file;
    auto it = cache.find(arch_path.string());
    if (it == cache.end()) it = cache.emplace(arch_path.string(), load_architecture(arch_path.string())).first;
    m.arch = it->second;
    m.energy_mj = row.positive(columns.energy);
    if (!set.latency_column.empty()) m.latency_ms = row.positive(set.latency_column);
    m.group = row.text(columns.group);
    m.family = row.text(columns.family);
    set.rows.push_back(std::move(m));
    set.lines.push_back(row.line());
  }
  return set;
}

}  // namespace joules
