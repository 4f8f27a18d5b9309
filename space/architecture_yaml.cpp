#include "space/architecture_yaml.hpp"

#include <optional>

#include <fmt/format.h>

#include "space/analysis.hpp"
#include "util/yaml_reader.hpp"
#include "util/yaml_writer.hpp"

namespace joules {
namespace {

using yaml::Value;

// Accepts n or [h, w]. Range checks happen in analyze(), the one validator.
Size2 read_size2(const Value& v) {
  if (v.is_sequence()) {
    if (v.size() != 2) v.fail(fmt::format("expected an integer or [height, width], got a list of {}", v.size()));
    return {v.at(0).as_int(), v.at(1).as_int()};
  }
  return Size2::square(v.as_int());
}

std::optional<Activation> read_activation(const Value& layer) {
  const Value v = layer.get("activation");
  if (!v.defined()) return std::nullopt;
  return v.as_enum(kActivationNames);
}

ConvLayer read_conv(const Value& v, bool last) {
  v.allow_keys({"filters", "kernel", "stride", "padding", "groups", "bias", "batch_norm", "activation"});
  ConvLayer conv;
  conv.filters = v.require("filters").as_int();
  conv.kernel = read_size2(v.require("kernel"));
  if (v.get("stride").defined()) conv.stride = read_size2(v.get("stride"));
  if (v.get("padding").defined()) conv.padding = read_size2(v.get("padding"));
  if (v.get("groups").defined()) conv.groups = v.get("groups").as_int();
  if (v.get("bias").defined()) conv.bias = v.get("bias").as_bool();
  if (v.get("batch_norm").defined()) conv.batch_norm = v.get("batch_norm").as_bool();
  conv.activation = read_activation(v).value_or(last ? Activation::none : Activation::relu);
  return conv;
}

PoolLayer read_pool(const Value& v) {
  v.allow_keys({"op", "kernel", "stride", "padding", "global"});
  PoolLayer pool;
  if (v.get("global").defined()) pool.global = v.get("global").as_bool();
  if (pool.global) {
    for (const char* unused : {"kernel", "stride", "padding"}) {
      if (v.get(unused).defined()) v.get(unused).fail("not allowed with global: true");
    }
    pool.op = v.get("op").defined() ? v.get("op").as_enum(kPoolOpNames) : PoolOp::avg;
    return pool;
  }
  pool.op = v.get("op").defined() ? v.get("op").as_enum(kPoolOpNames) : PoolOp::max;
  pool.kernel = read_size2(v.require("kernel"));
  pool.stride = v.get("stride").defined() ? read_size2(v.get("stride")) : pool.kernel;
  if (v.get("padding").defined()) pool.padding = read_size2(v.get("padding"));
  return pool;
}

FcLayer read_fc(const Value& v, bool last) {
  v.allow_keys({"units", "bias", "activation", "dropout"});
  FcLayer fc;
  fc.units = v.require("units").as_int();
  if (v.get("bias").defined()) fc.bias = v.get("bias").as_bool();
  if (v.get("dropout").defined()) fc.dropout = v.get("dropout").as_double(0.0, 0.999999);
  fc.activation = read_activation(v).value_or(last ? Activation::none : Activation::relu);
  return fc;
}

Layer read_layer(const Value& item, bool last) {
  if (!item.is_map() || item.size() != 1) {
    item.fail("expected a layer: a map with one key, conv, pool or fc");
  }
  const std::string type = item.keys().front();
  const Value body = item.get(type);
  if (type != "conv" && type != "pool" && type != "fc") {
    body.fail("unknown layer type (expected conv, pool or fc)");
  }
  // `- pool: {}` and `- pool:` are both an empty map of options.
  if (!body.is_map() && !body.is_null()) body.fail("expected a map of layer options");
  if (body.is_null()) {
    if (type == "conv") body.fail("missing required keys 'filters' and 'kernel'");
    if (type == "fc") body.fail("missing required key 'units'");
    body.fail("missing required key 'kernel' (or global: true)");
  }
  if (type == "conv") return read_conv(body, last);
  if (type == "pool") return read_pool(body);
  return read_fc(body, last);
}

}  // namespace

Architecture parse_architecture(const Value& root) {
  root.allow_keys({"name", "input", "layers"});
  Architecture arch;
  if (root.get("name").defined()) arch.name = root.get("name").as_string();

  const Value input = root.require("input");
  if (!input.is_sequence() || input.size() != 3) input.fail("expected [channels, height, width]");
  arch.input = Shape{input.at(0).as_int(), input.at(1).as_int(), input.at(2).as_int()};

  const Value layers = root.require("layers");
  if (!layers.is_sequence() && !layers.is_null()) layers.fail("expected a list of layers");
  if (layers.size() > kMaxLayers) layers.fail(fmt::format("at most {} layers, got {}", kMaxLayers, layers.size()));
  for (std::size_t i = 0; i < layers.size(); ++i) {
    arch.layers.push_back(read_layer(layers.at(i), i + 1 == layers.size()));
  }
  try {
    analyze(arch);
  } catch (const SpecError& e) {
    root.fail_at(e);
  }
  return arch;
}

Architecture parse_architecture(const std::string& text, const std::string& file) {
  const Value root = Value::parse_string(text, file);
  if (!root.is_map()) root.fail("expected an architecture: a map with input and layers");
  return parse_architecture(root);
}

Architecture load_architecture(const std::string& path) {
  const Value root = Value::parse_file(path);
  if (!root.is_map()) root.fail("expected an architecture: a map with input and layers");
  return parse_architecture(root);
}

namespace {

// One writer for both notations: YAML flow maps (`{filters: 6, kernel: 5}`) and JSON
// (`{"filters":6,"kernel":5}`) differ only in quoting and spacing.
class FieldWriter {
 public:
  explicit FieldWriter(bool json) : json_(json) {}

  void number(const char* key, std::int64_t v) { field(key, std::to_string(v)); }
  void real(const char* key, double v) { field(key, fmt::format("{}", v)); }
  void flag(const char* key, bool v) { field(key, v ? "true" : "false"); }
  void word(const char* key, std::string_view v) { field(key, json_ ? fmt::format("\"{}\"", v) : std::string(v)); }
  void size2(const char* key, Size2 s) {
    if (s.is_square()) {
      field(key, std::to_string(s.h));
    } else {
      field(key, fmt::format("[{},{}{}]", s.h, json_ ? "" : " ", s.w));
    }
  }
  std::string take() {
    std::string out = "{" + body_ + "}";
    body_.clear();
    return out;
  }

 private:
  void field(const char* key, const std::string& value) {
    if (!body_.empty()) body_ += json_ ? "," : ", ";
    body_ += json_ ? fmt::format("\"{}\":{}", key, value) : fmt::format("{}: {}", key, value);
  }
  bool json_;
  std::string body_;
};

// The layer's options, defaults left out (the last layer's default activation is none).
std::string layer_body(const Layer& layer, bool last, bool json) {
  FieldWriter w(json);
  const Activation default_activation = last ? Activation::none : Activation::relu;
  if (const auto* c = std::get_if<ConvLayer>(&layer)) {
    w.number("filters", c->filters);
    w.size2("kernel", c->kernel);
    if (c->stride != Size2{1, 1}) w.size2("stride", c->stride);
    if (c->padding != Size2{0, 0}) w.size2("padding", c->padding);
    if (c->groups != 1) w.number("groups", c->groups);
    if (!c->bias) w.flag("bias", false);
    if (c->batch_norm) w.flag("batch_norm", true);
    if (c->activation != default_activation) w.word("activation", to_string(c->activation));
  } else if (const auto* p = std::get_if<PoolLayer>(&layer)) {
    if (p->global) {
      if (p->op != PoolOp::avg) w.word("op", to_string(p->op));
      w.flag("global", true);
    } else {
      w.word("op", to_string(p->op));
      w.size2("kernel", p->kernel);
      if (p->stride != p->kernel) w.size2("stride", p->stride);
      if (p->padding != Size2{0, 0}) w.size2("padding", p->padding);
    }
  } else {
    const auto& f = std::get<FcLayer>(layer);
    w.number("units", f.units);
    if (!f.bias) w.flag("bias", false);
    if (f.dropout != 0.0) w.real("dropout", f.dropout);
    if (f.activation != default_activation) w.word("activation", to_string(f.activation));
  }
  return w.take();
}

std::string json_string(const std::string& text) {
  std::string out = "\"";
  for (unsigned char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20) {
      out += fmt::format("\\u{:04x}", c);
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

}  // namespace

std::string to_yaml(const Architecture& arch) {
  std::string out;
  if (!arch.name.empty()) out += "name: " + yaml_scalar(arch.name) + "\n";
  out += fmt::format("input: [{}, {}, {}]\nlayers:\n", arch.input.channels, arch.input.height,
                     arch.input.width);
  for (std::size_t i = 0; i < arch.layers.size(); ++i) {
    out += fmt::format("  - {}: {}\n", layer_type(arch.layers[i]),
                       layer_body(arch.layers[i], i + 1 == arch.layers.size(), /*json=*/false));
  }
  return out;
}

std::string to_json(const Architecture& arch) {
  std::string out = "{";
  if (!arch.name.empty()) out += "\"name\":" + json_string(arch.name) + ",";
  out += fmt::format("\"input\":[{},{},{}],\"layers\":[", arch.input.channels, arch.input.height,
                     arch.input.width);
  for (std::size_t i = 0; i < arch.layers.size(); ++i) {
    out += fmt::format("{}{{\"{}\":{}}}", i ? "," : "", layer_type(arch.layers[i]),
                       layer_body(arch.layers[i], i + 1 == arch.layers.size(), /*json=*/true));
  }
  return out + "]}";
}

}  // namespace joules
