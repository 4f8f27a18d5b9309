// Writing joules networks as ONNX ModelProtos through the ONNX project's protobuf classes.

#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <onnx/checker.h>
#include <onnx/defs/schema.h>
#include <onnx/onnx_pb.h>
#include <onnx/shape_inference/implementation.h>

#include "onnx/onnx_model.hpp"
#include "space/analysis.hpp"
#include "space/architecture_yaml.hpp"
#include "util/atomic_file.hpp"

#ifndef JOULES_VERSION
#define JOULES_VERSION "unknown"
#endif

namespace joules {
namespace {

// IR version 7 is the oldest that carries opset 13; older TensorRT parsers reject newer IRs.
constexpr std::int64_t kIrVersion = 7;

class GraphBuilder {
 public:
  explicit GraphBuilder(onnx::GraphProto& graph) : graph_(graph) {}

  // A float initializer named `name` with dims `dims` holding `values`.
  std::string initializer(const std::string& name, const std::vector<std::int64_t>& dims,
                          const std::vector<float>& values) {
    onnx::TensorProto* t = graph_.add_initializer();
    t->set_name(name);
    t->set_data_type(onnx::TensorProto::FLOAT);
    for (std::int64_t d : dims) t->add_dims(d);
    // raw_data is little-endian float32, which every machine joules runs on is.
    t->set_raw_data(std::string(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(float)));
    return name;
  }

  // A scalar constant, shared by every node that uses the same value.
  std::string scalar(float value) {
    const std::string name = fmt::format("const.{}", value);
    for (const auto& t : graph_.initializer()) {
      if (t.name() == name) return name;
    }
    return initializer(name, {}, {value});
  }

  // Adds a node reading `inputs`; returns the name of its (one) output.
  onnx::NodeProto& node(const std::string& op, const std::string& name, const std::vector<std::string>& inputs) {
    onnx::NodeProto* n = graph_.add_node();
    n->set_op_type(op);
    n->set_name(name);
    for (const std::string& in : inputs) n->add_input(in);
    n->add_output(fmt::format("t{}", next_++));
    return *n;
  }

  static void ints(onnx::NodeProto& n, const std::string& name, const std::vector<std::int64_t>& values) {
    onnx::AttributeProto* a = n.add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::INTS);
    for (std::int64_t v : values) a->add_ints(v);
  }
  static void integer(onnx::NodeProto& n, const std::string& name, std::int64_t value) {
    onnx::AttributeProto* a = n.add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::INT);
    a->set_i(value);
  }
  static void real(onnx::NodeProto& n, const std::string& name, float value) {
    onnx::AttributeProto* a = n.add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::FLOAT);
    a->set_f(value);
  }

 private:
  onnx::GraphProto& graph_;
  int next_ = 0;
};

std::string out(const onnx::NodeProto& n) { return n.output(0); }

// The activation as opset-13 nodes after `x`; returns the activated tensor. Compositions are
// exact: what torch.onnx.export writes for the same PyTorch functions at opset 13.
std::string activation_nodes(GraphBuilder& g, const std::string& prefix, Activation activation, const std::string& x) {
  switch (activation) {
    case Activation::none:
      return x;
    case Activation::relu:
      return out(g.node("Relu", prefix + ".relu", {x}));
    case Activation::relu6:
      return out(g.node("Clip", prefix + ".relu6", {x, g.scalar(0.0f), g.scalar(6.0f)}));
    case Activation::leaky_relu: {
      onnx::NodeProto& n = g.node("LeakyRelu", prefix + ".leaky_relu", {x});
      GraphBuilder::real(n, "alpha", 0.01f);
      return out(n);
    }
    case Activation::sigmoid:
      return out(g.node("Sigmoid", prefix + ".sigmoid", {x}));
    case Activation::tanh:
      return out(g.node("Tanh", prefix + ".tanh", {x}));
    case Activation::gelu: {
      // gelu(x) = x * 0.5 * (1 + erf(x / sqrt(2))), PyTorch's exact (not tanh) form.
      const std::string d = out(g.node("Div", prefix + ".gelu.div", {x, g.scalar(static_cast<float>(M_SQRT2))}));
      const std::string e = out(g.node("Erf", prefix + ".gelu.erf", {d}));
      const std::string a = out(g.node("Add", prefix + ".gelu.add", {e, g.scalar(1.0f)}));
      const std::string m = out(g.node("Mul", prefix + ".gelu.mul", {x, a}));
      return out(g.node("Mul", prefix + ".gelu.half", {m, g.scalar(0.5f)}));
    }
    case Activation::silu: {
      const std::string s = out(g.node("Sigmoid", prefix + ".silu.sigmoid", {x}));
      return out(g.node("Mul", prefix + ".silu.mul", {x, s}));
    }
    case Activation::hardswish: {
      // HardSwish is opset 14; at 13 it is x * hardsigmoid(x) with alpha 1/6, beta 1/2.
      onnx::NodeProto& h = g.node("HardSigmoid", prefix + ".hardswish.hardsigmoid", {x});
      GraphBuilder::real(h, "alpha", 1.0f / 6.0f);
      GraphBuilder::real(h, "beta", 0.5f);
      return out(g.node("Mul", prefix + ".hardswish.mul", {x, out(h)}));
    }
  }
  return x;
}

void expect_size(const std::vector<float>& values, std::size_t expected, std::size_t layer, const char* what) {
  if (values.size() != expected) {
    throw std::invalid_argument(fmt::format("layer {}: {} has {} values, the architecture needs {}", layer + 1,
                                            what, values.size(), expected));
  }
}

std::string json_list(const std::vector<double>& values) { return nlohmann::json(values).dump(); }

void add_metadata(onnx::ModelProto& model, const std::string& key, const std::string& value) {
  onnx::StringStringEntryProto* p = model.add_metadata_props();
  p->set_key(key);
  p->set_value(value);
}

onnx::ValueInfoProto& tensor_value(onnx::ValueInfoProto& v, const std::string& name, const std::vector<std::int64_t>& dims) {
  v.set_name(name);
  onnx::TypeProto_Tensor* t = v.mutable_type()->mutable_tensor_type();
  t->set_elem_type(onnx::TensorProto::FLOAT);
  onnx::TensorShapeProto* shape = t->mutable_shape();
  shape->add_dim()->set_dim_param("N");
  for (std::int64_t d : dims) shape->add_dim()->set_dim_value(d);
  return v;
}

}  // namespace

std::string onnx_model_bytes(const Architecture& arch, const NetworkWeights& weights, const OnnxMetadata& metadata) {
  const NetworkAnalysis net = analyze(arch);
  if (weights.layers.size() != arch.layers.size()) {
    throw std::invalid_argument(fmt::format("the weights have {} layers, the architecture {}", weights.layers.size(),
                                            arch.layers.size()));
  }
  const Shape in = arch.input;
  std::vector<double> mean = weights.normalization.mean;
  std::vector<double> std = weights.normalization.std;
  if (mean.empty() && std.empty()) {
    mean.assign(in.channels, 0.0);
    std.assign(in.channels, 1.0);
  }
  if (mean.size() != static_cast<std::size_t>(in.channels) || std.size() != mean.size()) {
    throw std::invalid_argument(fmt::format("the normalisation has {} means and {} standard deviations for {} channels",
                                            mean.size(), std.size(), in.channels));
  }

  onnx::ModelProto model;
  model.set_ir_version(kIrVersion);
  model.set_producer_name("joules");
  model.set_producer_version(JOULES_VERSION);
  model.set_model_version(1);
  onnx::OperatorSetIdProto* opset = model.add_opset_import();
  opset->set_domain("");
  opset->set_version(kOnnxOpset);
  onnx::GraphProto& graph = *model.mutable_graph();
  graph.set_name(arch.name.empty() ? "joules" : arch.name);
  GraphBuilder g(graph);

  tensor_value(*graph.add_input(), "input", {in.channels, in.height, in.width});
  const std::int64_t outputs = net.output.channels * net.output.height * net.output.width;
  tensor_value(*graph.add_output(), "logits", {outputs});

  // The training normalisation, so that the file runs on raw [0, 1] pixels.
  std::vector<float> mean_f(mean.begin(), mean.end());
  std::vector<float> std_f(std.begin(), std.end());
  // [C, 1, 1] broadcasts over [N, C, H, W] as [1, C, 1, 1] would; OpenCV 4.6 reads only this form.
  const std::string m = g.initializer("input.mean", {in.channels, 1, 1}, mean_f);
  const std::string s = g.initializer("input.std", {in.channels, 1, 1}, std_f);
  std::string x = out(g.node("Sub", "input.sub_mean", {"input", m}));
  x = out(g.node("Div", "input.div_std", {x, s}));

  bool flat = false;
  for (std::size_t i = 0; i < arch.layers.size(); ++i) {
    const LayerAnalysis& a = net.layers[i];
    const LayerWeights& w = weights.layers[i];
    const std::string prefix = fmt::format("layers.{}", i);
    if (const auto* conv = std::get_if<ConvLayer>(&arch.layers[i])) {
      const std::int64_t per_group = a.input.channels / conv->groups;
      const std::size_t fan = static_cast<std::size_t>(per_group * conv->kernel.h * conv->kernel.w);
      const std::size_t filters = static_cast<std::size_t>(conv->filters);
      expect_size(w.weight, filters * fan, i, "weight");
      std::vector<float> weight = w.weight;
      std::vector<float> bias = w.bias;
      if (conv->bias) expect_size(bias, filters, i, "bias");
      if (conv->batch_norm) {
        // Folded into the conv: w' = w * g / sqrt(var + eps), b' = (b - mean) * g / sqrt(var + eps) + beta,
        // computed in double. Inference-mode BatchNormalization would be the same network, but
        // TensorRT and OpenCV fold it anyway and one node is simpler to check.
        expect_size(w.bn_weight, filters, i, "bn.weight");
        expect_size(w.bn_bias, filters, i, "bn.bias");
        expect_size(w.bn_mean, filters, i, "bn.running_mean");
        expect_size(w.bn_var, filters, i, "bn.running_var");
        if (bias.empty()) bias.assign(filters, 0.0f);
        for (std::size_t f = 0; f < filters; ++f) {
          const double scale = w.bn_weight[f] / std::sqrt(static_cast<double>(w.bn_var[f]) + kBatchNormEpsilon);
          for (std::size_t k = 0; k < fan; ++k) weight[f * fan + k] = static_cast<float>(weight[f * fan + k] * scale);
          bias[f] = static_cast<float>((static_cast<double>(bias[f]) - w.bn_mean[f]) * scale + w.bn_bias[f]);
        }
      }
      std::vector<std::string> inputs{
          x, g.initializer(prefix + ".weight", {conv->filters, per_group, conv->kernel.h, conv->kernel.w}, weight)};
      if (!bias.empty()) inputs.push_back(g.initializer(prefix + ".bias", {conv->filters}, bias));
      onnx::NodeProto& n = g.node("Conv", prefix + ".conv", inputs);
      GraphBuilder::ints(n, "kernel_shape", {conv->kernel.h, conv->kernel.w});
      GraphBuilder::ints(n, "strides", {conv->stride.h, conv->stride.w});
      GraphBuilder::ints(n, "pads", {conv->padding.h, conv->padding.w, conv->padding.h, conv->padding.w});
      GraphBuilder::ints(n, "dilations", {1, 1});
      GraphBuilder::integer(n, "group", conv->groups);
      x = activation_nodes(g, prefix, conv->activation, out(n));
    } else if (const auto* pool = std::get_if<PoolLayer>(&arch.layers[i])) {
      if (pool->global) {
        x = out(g.node(pool->op == PoolOp::avg ? "GlobalAveragePool" : "GlobalMaxPool", prefix + ".pool", {x}));
        continue;
      }
      onnx::NodeProto& n = g.node(pool->op == PoolOp::avg ? "AveragePool" : "MaxPool", prefix + ".pool", {x});
      GraphBuilder::ints(n, "kernel_shape", {pool->kernel.h, pool->kernel.w});
      GraphBuilder::ints(n, "strides", {pool->stride.h, pool->stride.w});
      GraphBuilder::ints(n, "pads", {pool->padding.h, pool->padding.w, pool->padding.h, pool->padding.w});
      GraphBuilder::integer(n, "ceil_mode", 0);
      if (pool->op == PoolOp::avg) GraphBuilder::integer(n, "count_include_pad", 1);  // PyTorch's default
      x = out(n);
    } else {
      const auto& fc = std::get<FcLayer>(arch.layers[i]);
      const std::int64_t features = a.input.channels * a.input.height * a.input.width;
      expect_size(w.weight, static_cast<std::size_t>(fc.units * features), i, "weight");
      if (!flat) {
        onnx::NodeProto& f = g.node("Flatten", prefix + ".flatten", {x});
        GraphBuilder::integer(f, "axis", 1);
        x = out(f);
        flat = true;
      }
      std::vector<std::string> inputs{x, g.initializer(prefix + ".weight", {fc.units, features}, w.weight)};
      if (fc.bias) {
        expect_size(w.bias, static_cast<std::size_t>(fc.units), i, "bias");
        inputs.push_back(g.initializer(prefix + ".bias", {fc.units}, w.bias));
      }
      onnx::NodeProto& n = g.node("Gemm", prefix + ".fc", inputs);
      GraphBuilder::integer(n, "transB", 1);
      x = activation_nodes(g, prefix, fc.activation, out(n));
    }
  }
  if (!flat) {
    onnx::NodeProto& f = g.node("Flatten", "output.flatten", {x});
    GraphBuilder::integer(f, "axis", 1);
    x = out(f);
  }
  // The last node's output is the graph's.
  onnx::NodeProto& last = *graph.mutable_node(graph.node_size() - 1);
  last.set_output(0, "logits");

  add_metadata(model, "joules_version", JOULES_VERSION);
  add_metadata(model, "architecture_hash", canonical_hash_hex(arch));
  add_metadata(model, "architecture", to_json(arch));
  if (!metadata.board.empty()) add_metadata(model, "board", metadata.board);
  if (metadata.energy_mj) add_metadata(model, "energy_mj", fmt::format("{}", *metadata.energy_mj));
  if (metadata.energy_band_mj) {
    add_metadata(model, "energy_band_mj", json_list({(*metadata.energy_band_mj)[0], (*metadata.energy_band_mj)[1]}));
  }
  if (metadata.validation_accuracy) {
    add_metadata(model, "validation_accuracy", fmt::format("{}", *metadata.validation_accuracy));
  }
  if (metadata.test_accuracy) add_metadata(model, "test_accuracy", fmt::format("{}", *metadata.test_accuracy));
  add_metadata(model, "mean", json_list(mean));
  add_metadata(model, "std", json_list(std));
  std::vector<std::string> names = metadata.class_names;
  if (names.empty()) {
    for (std::int64_t c = 0; c < outputs; ++c) names.push_back(std::to_string(c));
  }
  add_metadata(model, "class_names", nlohmann::json(names).dump());
  add_metadata(model, "input_layout",
               "NCHW float32, N dynamic; pixel values in [0, 1]; the normalisation (x - mean) / std is in the graph");

  try {
    onnx::checker::check_model(model);
    onnx::shape_inference::InferShapes(model, onnx::OpSchemaRegistry::Instance(),
                                       onnx::ShapeInferenceOptions(/*check_type=*/true, /*strict_mode=*/1));
  } catch (const std::exception& e) {
    throw std::runtime_error(fmt::format("the ONNX checker rejects the model of {}: {}",
                                         arch.name.empty() ? canonical_hash_hex(arch) : arch.name, e.what()));
  }
  // Inference fills value_info; the file's size and content stay those of the graph alone.
  model.mutable_graph()->clear_value_info();
  std::string bytes;
  if (!model.SerializeToString(&bytes)) throw std::runtime_error("cannot serialize the ONNX model");
  return bytes;
}

void write_onnx(const std::string& path, const Architecture& arch, const NetworkWeights& weights,
                const OnnxMetadata& metadata) {
  write_file_atomic(path, onnx_model_bytes(arch, weights, metadata));
}

}  // namespace joules
