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
  return static_cast<Activation>(v.as_choice(
      {"none", "relu", "relu6", "leaky_relu", "sigmoid", "tanh", "gelu", "silu", "hardswish"}));
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
    pool.op = v.get("op").defined() ? static_cast<PoolOp>(v.get("op").as_choice({"max", "avg"}))
                                    : PoolOp::avg;
    return pool;
  }
  pool.op = v.get("op").defined() ? static_cast<PoolOp>(v.get("op").as_choice({"max", "avg"}))
                                  : PoolOp::max;
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

void write_size2(std::string& out, const char* key, Size2 s) {
  if (s.is_square()) {
    out += fmt::format(", {}: {}", key, s.h);
  } else {
    out += fmt::format(", {}: [{}, {}]", key, s.h, s.w);
  }
}

void write_activation(std::string& out, Activation a, bool last) {
  if (a != (last ? Activation::none : Activation::relu)) {
    out += fmt::format(", activation: {}", to_string(a));
  }
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

std::string to_yaml(const Architecture& arch) {
  std::string out;
  if (!arch.name.empty()) out += "name: " + yaml_scalar(arch.name) + "\n";
  out += fmt::format("input: [{}, {}, {}]\nlayers:\n", arch.input.channels, arch.input.height,
                     arch.input.width);
  for (std::size_t i = 0; i < arch.layers.size(); ++i) {
    const bool last = i + 1 == arch.layers.size();
    std::string body;
    const Layer& layer = arch.layers[i];
    if (const auto* c = std::get_if<ConvLayer>(&layer)) {
      body = fmt::format("filters: {}", c->filters);
      write_size2(body, "kernel", c->kernel);
      if (c->stride != Size2{1, 1}) write_size2(body, "stride", c->stride);
      if (c->padding != Size2{0, 0}) write_size2(body, "padding", c->padding);
      if (c->groups != 1) body += fmt::format(", groups: {}", c->groups);
      if (!c->bias) body += ", bias: false";
      if (c->batch_norm) body += ", batch_norm: true";
      write_activation(body, c->activation, last);
    } else if (const auto* p = std::get_if<PoolLayer>(&layer)) {
      if (p->global) {
        body = p->op == PoolOp::avg ? "global: true" : "op: max, global: true";
      } else {
        body = fmt::format("op: {}", to_string(p->op));
        write_size2(body, "kernel", p->kernel);
        if (p->stride != p->kernel) write_size2(body, "stride", p->stride);
        if (p->padding != Size2{0, 0}) write_size2(body, "padding", p->padding);
      }
    } else {
      const auto& f = std::get<FcLayer>(layer);
      body = fmt::format("units: {}", f.units);
      if (!f.bias) body += ", bias: false";
      if (f.dropout != 0.0) body += fmt::format(", dropout: {}", f.dropout);
      write_activation(body, f.activation, last);
    }
    out += fmt::format("  - {}: {{{}}}\n", layer_type(layer), body);
  }
  return out;
}

}  // namespace joules
