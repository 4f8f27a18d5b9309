// Reading plain CNNs from ONNX files: the graph is walked as one chain of layers, each node
// matched to the joules layer (or the part of one) it is; anything else is refused by name.

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstring>
#include <deque>
#include <filesystem>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <onnx/onnx_pb.h>

#include "onnx/onnx_model.hpp"
#include "space/analysis.hpp"
#include "space/architecture_yaml.hpp"
#include "util/input_error.hpp"

namespace joules {
namespace {

// Larger tensors are refused before their data is looked at (a layer of 256M values already
// is far beyond any network joules searches or prices).
constexpr std::int64_t kMaxTensorValues = std::int64_t{1} << 28;

class Reader {
 public:
  Reader(const onnx::ModelProto& model, const std::string& file) : model_(model), graph_(model.graph()), file_(file) {}

  OnnxImport read() {
    read_opset();
    for (const auto& t : graph_.initializer()) {
      check_tensor(t);
      constants_[t.name()] = &t;
    }
    read_input();
    // Constant nodes first: the exporter interleaves them with the nodes that use them.
    for (const auto& node : graph_.node()) {
      if (node.op_type() == "Constant" && (node.domain().empty() || node.domain() == "ai.onnx")) {
        read_constant(node);
      } else {
        nodes_.push_back(&node);
      }
    }
    for (int i = 0; i < static_cast<int>(nodes_.size()); ++i) i = read_node(i);
    if (graph_.output_size() != 1) fail_graph(fmt::format("has {} outputs; joules reads networks with one", graph_.output_size()));
    if (graph_.output(0).name() != cur_) {
      fail_graph(fmt::format("its output '{}' is not the end of the chain of layers ('{}')", graph_.output(0).name(), cur_));
    }
    if (result_.arch.layers.empty()) fail_graph("has no conv, pool or fc layer");
    analyze_or_fail(nullptr);
    if (mean_.size() || std_.size()) {
      const auto c = static_cast<std::size_t>(result_.arch.input.channels);
      if (mean_.empty()) mean_.assign(c, 0.0);
      if (std_.empty()) std_.assign(c, 1.0);
      result_.weights.normalization = {mean_, std_};
    }
    for (const auto& p : model_.metadata_props()) result_.metadata.emplace_back(p.key(), p.value());
    return result_;
  }

 private:
  [[noreturn]] void fail(const onnx::NodeProto& node, const std::string& why) const {
    // Unnamed nodes are named by their first output.
    std::string name = node.name();
    if (name.empty() && node.output_size() > 0) name = node.output(0);
    throw InputError(file_, 0, fmt::format("node '{}' ({})", name, node.op_type()), why);
  }
  [[noreturn]] void fail_graph(const std::string& why) const { throw InputError(file_, 0, "graph", why); }

  void read_opset() {
    std::optional<std::int64_t> version;
    for (const auto& o : model_.opset_import()) {
      if (o.domain().empty() || o.domain() == "ai.onnx") version = o.version();
    }
    if (!version) throw InputError(file_, 0, "opset_import", "no opset of the default ONNX domain");
    if (*version < kOnnxMinImportOpset || *version > kOnnxMaxImportOpset) {
      throw InputError(file_, 0, "opset_import",
                       fmt::format("opset {}; joules reads opsets {} to {}", *version, kOnnxMinImportOpset, kOnnxMaxImportOpset));
    }
    result_.opset = static_cast<int>(*version);
  }

  void read_input() {
    const onnx::ValueInfoProto* input = nullptr;
    for (const auto& v : graph_.input()) {
      if (constants_.count(v.name())) continue;  // initializers listed as inputs (older exporters)
      if (input) fail_graph(fmt::format("has several inputs ('{}', '{}'); joules reads networks with one", input->name(), v.name()));
      input = &v;
    }
    if (!input) fail_graph("has no input");
    const std::string key = fmt::format("input '{}'", input->name());
    if (!input->type().has_tensor_type() || input->type().tensor_type().elem_type() != onnx::TensorProto::FLOAT) {
      throw InputError(file_, 0, key, "is not a float32 tensor");
    }
    const auto& shape = input->type().tensor_type().shape();
    if (shape.dim_size() != 4) throw InputError(file_, 0, key, fmt::format("has {} dimensions; joules reads NCHW images", shape.dim_size()));
    std::int64_t dims[3];
    for (int d = 1; d < 4; ++d) {
      const auto& dim = shape.dim(d);
      if (!dim.has_dim_value() || dim.dim_value() <= 0 || dim.dim_value() > kMaxDimension) {
        throw InputError(file_, 0, key, "has a dynamic or invalid channel, height or width; joules needs fixed C, H, W");
      }
      dims[d - 1] = dim.dim_value();
    }
    result_.arch.input = {dims[0], dims[1], dims[2]};
    result_.arch.name = graph_.name();
    cur_ = input->name();
  }

  // --- constants ------------------------------------------------------------------------

  // A tensor's claimed size against the data it holds, before anything reads it.
  void check_tensor(const onnx::TensorProto& t) const {
    const std::string key = fmt::format("initializer '{}'", t.name());
    std::int64_t n = 1;
    for (std::int64_t d : t.dims()) {
      if (d < 0) throw InputError(file_, 0, key, "has a negative dimension");
      if (d > 0 && n > kMaxTensorValues / d) {
        throw InputError(file_, 0, key, fmt::format("claims more than {} values", kMaxTensorValues));
      }
      n *= d;
    }
    if (t.data_location() == onnx::TensorProto::EXTERNAL) {
      throw InputError(file_, 0, key, "keeps its data in an external file; joules reads self-contained files");
    }
    std::size_t element = 0;
    std::int64_t held = 0;
    switch (t.data_type()) {
      case onnx::TensorProto::FLOAT: element = 4; held = t.float_data_size(); break;
      case onnx::TensorProto::DOUBLE: element = 8; held = t.double_data_size(); break;
      case onnx::TensorProto::INT64: element = 8; held = t.int64_data_size(); break;
      default: return;  // read (and refused) only if a node uses it
    }
    if (t.has_raw_data()) {
      if (t.raw_data().size() != static_cast<std::size_t>(n) * element) {
        throw InputError(file_, 0, key, fmt::format("claims {} values but holds {} bytes", n, t.raw_data().size()));
      }
    } else if (held != n) {
      throw InputError(file_, 0, key, fmt::format("claims {} values but holds {}", n, held));
    }
  }

  void read_constant(const onnx::NodeProto& node) {
    const auto* value = attribute(node, "value");
    if (!value || !value->has_t() || node.output_size() != 1) fail(node, "only tensor constants are supported");
    owned_.push_back(value->t());
    owned_.back().set_name(node.output(0));
    check_tensor(owned_.back());
    constants_[node.output(0)] = &owned_.back();
  }

  const onnx::TensorProto* constant(const std::string& name) const {
    const auto it = constants_.find(name);
    return it == constants_.end() ? nullptr : it->second;
  }

  std::int64_t count_of(const onnx::NodeProto& node, const onnx::TensorProto& t) const {
    std::int64_t n = 1;
    for (std::int64_t d : t.dims()) {
      if (d < 0) fail(node, fmt::format("tensor '{}' has a negative dimension", t.name()));
      if (d > 0 && n > kMaxTensorValues / d) {
        fail(node, fmt::format("tensor '{}' claims more than {} values", t.name(), kMaxTensorValues));
      }
      n *= d;
    }
    if (t.data_location() == onnx::TensorProto::EXTERNAL) {
      fail(node, fmt::format("tensor '{}' keeps its data in an external file; joules reads self-contained files", t.name()));
    }
    return n;
  }

  std::vector<std::int64_t> dims_of(const onnx::TensorProto& t) const { return {t.dims().begin(), t.dims().end()}; }

  std::vector<float> floats(const onnx::NodeProto& node, const std::string& name) const {
    const onnx::TensorProto* t = constant(name);
    if (!t) fail(node, fmt::format("input '{}' is not a constant (initializer or Constant node)", name));
    const std::int64_t n = count_of(node, *t);
    std::vector<float> v(static_cast<std::size_t>(n));
    if (t->data_type() == onnx::TensorProto::FLOAT) {
      if (t->has_raw_data()) {
        if (t->raw_data().size() != v.size() * sizeof(float)) {
          fail(node, fmt::format("tensor '{}' claims {} values but holds {} bytes", name, n, t->raw_data().size()));
        }
        if (!v.empty()) std::memcpy(v.data(), t->raw_data().data(), v.size() * sizeof(float));
      } else {
        if (t->float_data_size() != n) {
          fail(node, fmt::format("tensor '{}' claims {} values but holds {}", name, n, t->float_data_size()));
        }
        std::copy(t->float_data().begin(), t->float_data().end(), v.begin());
      }
    } else if (t->data_type() == onnx::TensorProto::DOUBLE) {
      if (t->has_raw_data()) {
        if (t->raw_data().size() != v.size() * sizeof(double)) {
          fail(node, fmt::format("tensor '{}' claims {} values but holds {} bytes", name, n, t->raw_data().size()));
        }
        for (std::size_t i = 0; i < v.size(); ++i) {
          double d;
          std::memcpy(&d, t->raw_data().data() + i * sizeof(double), sizeof(double));
          v[i] = static_cast<float>(d);
        }
      } else {
        if (t->double_data_size() != n) fail(node, fmt::format("tensor '{}' claims {} values but holds {}", name, n, t->double_data_size()));
        std::copy(t->double_data().begin(), t->double_data().end(), v.begin());
      }
    } else {
      fail(node, fmt::format("tensor '{}' is not float32 (data type {})", name, t->data_type()));
    }
    return v;
  }

  std::vector<std::int64_t> int64s(const onnx::NodeProto& node, const std::string& name) const {
    const onnx::TensorProto* t = constant(name);
    if (!t) fail(node, fmt::format("input '{}' is not a constant (dynamic shapes are not supported)", name));
    const std::int64_t n = count_of(node, *t);
    if (t->data_type() != onnx::TensorProto::INT64) fail(node, fmt::format("tensor '{}' is not int64", name));
    std::vector<std::int64_t> v(static_cast<std::size_t>(n));
    if (t->has_raw_data()) {
      if (t->raw_data().size() != v.size() * sizeof(std::int64_t)) {
        fail(node, fmt::format("tensor '{}' claims {} values but holds {} bytes", name, n, t->raw_data().size()));
      }
      if (!v.empty()) std::memcpy(v.data(), t->raw_data().data(), v.size() * sizeof(std::int64_t));
    } else {
      if (t->int64_data_size() != n) fail(node, fmt::format("tensor '{}' claims {} values but holds {}", name, n, t->int64_data_size()));
      std::copy(t->int64_data().begin(), t->int64_data().end(), v.begin());
    }
    return v;
  }

  // A scalar (or one-value) float constant.
  std::optional<float> scalar(const onnx::NodeProto& node, const std::string& name) const {
    const onnx::TensorProto* t = constant(name);
    if (!t || (t->data_type() != onnx::TensorProto::FLOAT && t->data_type() != onnx::TensorProto::DOUBLE)) return std::nullopt;
    const std::vector<float> v = floats(node, name);
    if (v.size() != 1) return std::nullopt;
    return v[0];
  }

  // --- attributes -----------------------------------------------------------------------

  const onnx::AttributeProto* attribute(const onnx::NodeProto& node, const std::string& name) const {
    for (const auto& a : node.attribute()) {
      if (a.name() == name) return &a;
    }
    return nullptr;
  }
  std::vector<std::int64_t> ints(const onnx::NodeProto& node, const std::string& name, std::vector<std::int64_t> fallback) const {
    const auto* a = attribute(node, name);
    return a ? std::vector<std::int64_t>(a->ints().begin(), a->ints().end()) : fallback;
  }
  std::int64_t integer(const onnx::NodeProto& node, const std::string& name, std::int64_t fallback) const {
    const auto* a = attribute(node, name);
    return a ? a->i() : fallback;
  }
  float real(const onnx::NodeProto& node, const std::string& name, float fallback) const {
    const auto* a = attribute(node, name);
    return a ? a->f() : fallback;
  }
  std::string text(const onnx::NodeProto& node, const std::string& name, std::string fallback) const {
    const auto* a = attribute(node, name);
    return a ? a->s() : fallback;
  }

  // kernel_shape, strides, pads of a 2-D conv or pool; symmetric pads only (PyTorch's).
  void window(const onnx::NodeProto& node, Size2& kernel, Size2& stride, Size2& padding) const {
    const std::string pad = text(node, "auto_pad", "NOTSET");
    if (pad != "NOTSET" && pad != "VALID") fail(node, fmt::format("auto_pad {} is not supported (explicit pads only)", pad));
    const auto k = ints(node, "kernel_shape", {});
    if (k.size() != 2) fail(node, "needs a 2-D kernel_shape");
    const auto s = ints(node, "strides", {1, 1});
    const auto p = ints(node, "pads", {0, 0, 0, 0});
    const auto d = ints(node, "dilations", {1, 1});
    if (s.size() != 2 || p.size() != 4 || d.size() != 2) fail(node, "strides, pads or dilations are not 2-D");
    if (d[0] != 1 || d[1] != 1) fail(node, fmt::format("dilation {}x{} is not supported", d[0], d[1]));
    if (p[0] != p[2] || p[1] != p[3]) fail(node, "asymmetric padding is not supported");
    kernel = {k[0], k[1]};
    stride = {s[0], s[1]};
    padding = {p[0], p[1]};
  }

  // --- the chain ------------------------------------------------------------------------

  // The architecture so far, analysed; a failure is reported at `node`.
  NetworkAnalysis analyze_or_fail(const onnx::NodeProto* node) const {
    try {
      return analyze(result_.arch);
    } catch (const SpecError& e) {
      if (node) fail(*node, fmt::format("{}: {}", e.key(), e.message()));
      throw InputError(file_, 0, e.key(), e.message());
    }
  }

  Shape current_shape(const onnx::NodeProto& node) const {
    if (result_.arch.layers.empty()) return result_.arch.input;
    return analyze_or_fail(&node).output;
  }

  void push(const onnx::NodeProto& node, Layer layer, LayerWeights weights) {
    result_.arch.layers.push_back(std::move(layer));
    result_.weights.layers.push_back(std::move(weights));
    analyze_or_fail(&node);
    activation_open_ = !std::holds_alternative<PoolLayer>(result_.arch.layers.back());
    pool_after_open_ = false;
  }

  void set_activation(const onnx::NodeProto& node, Activation activation) {
    auto& layers = result_.arch.layers;
    Activation* target = nullptr;
    if (activation_open_) {
      target = std::visit([](auto& l) -> Activation* {
        if constexpr (std::is_same_v<std::decay_t<decltype(l)>, PoolLayer>) return nullptr; else return &l.activation;
      }, layers.back());
    } else if (pool_after_open_) {
      // conv -> max pool -> f is conv(f) -> max pool for a non-decreasing f (PyTorch's classic
      // LeNet applies relu after pooling).
      target = &std::get<ConvLayer>(layers[layers.size() - 2]).activation;
    }
    if (!target) fail(node, "joules applies an activation only right after a conv or fc (or a max pool after a conv)");
    if (pool_after_open_ && !activation_open_ &&
        !(activation == Activation::relu || activation == Activation::relu6 || activation == Activation::leaky_relu ||
          activation == Activation::sigmoid || activation == Activation::tanh)) {
      fail(node, "this activation does not commute with the max pool before it");
    }
    *target = activation;
    activation_open_ = false;
    pool_after_open_ = false;
  }

  bool is_input(const onnx::NodeProto& node, int index, const std::string& name) const {
    return node.input_size() > index && node.input(index) == name;
  }
  // The other input of a two-input node whose one input is `name`; empty when none.
  std::string other_input(const onnx::NodeProto& node, const std::string& name) const {
    if (node.input_size() != 2) return "";
    if (node.input(0) == name) return node.input(1);
    if (node.input(1) == name) return node.input(0);
    return "";
  }

  const onnx::NodeProto* next_node(int i) const {
    return i + 1 < static_cast<int>(nodes_.size()) ? nodes_[i + 1] : nullptr;
  }
  // A node's first output; empty when it has none (only a malformed file).
  static std::string output0(const onnx::NodeProto& n) { return n.output_size() > 0 ? n.output(0) : ""; }

  void advance(const onnx::NodeProto& node) {
    if (node.output_size() < 1 || node.output(0).empty()) fail(node, "has no output");
    cur_ = node.output(0);
  }

  // Reads node i (and the nodes of a composition that starts there); returns the index of the
  // last node consumed.
  int read_node(int i) {
    const onnx::NodeProto& node = *nodes_[i];
    const std::string& op = node.op_type();
    if (!node.domain().empty() && node.domain() != "ai.onnx") fail(node, fmt::format("op of domain '{}' is not supported", node.domain()));
    if (node.output_size() < 1 || node.output(0).empty()) fail(node, "has no output");
    const bool on_chain = std::any_of(node.input().begin(), node.input().end(), [&](const std::string& in) { return in == cur_; });
    if (!on_chain) {
      fail(node, fmt::format("does not read the chain's tensor '{}': branches and shape computations are not supported", cur_));
    }
    const bool has_layers = !result_.arch.layers.empty();

    if (op == "Identity" || op == "Dropout") {
      if (!is_input(node, 0, cur_)) fail(node, "reads the chain's tensor in an unexpected position");
      advance(node);
      return i;
    }
    if ((op == "Sub" || op == "Div" || op == "Mul") && !has_layers && is_input(node, 0, cur_) && !flat_ &&
        node.input_size() == 2) {
      // The input normalisation: (x - mean) / std, or x * (1 / std).
      const std::vector<float> v = floats(node, node.input(1));
      const auto c = static_cast<std::size_t>(result_.arch.input.channels);
      if (v.size() != 1 && v.size() != c) fail(node, fmt::format("a normalisation with {} values for {} channels", v.size(), c));
      std::vector<double> per_channel(c);
      for (std::size_t k = 0; k < c; ++k) per_channel[k] = v.size() == 1 ? v[0] : v[k];
      if (op == "Sub") {
        if (!mean_.empty() || !std_.empty()) fail(node, "a second normalisation step is not supported");
        mean_ = per_channel;
      } else {
        if (!std_.empty()) fail(node, "a second normalisation step is not supported");
        for (double& s : per_channel) {
          if (op == "Mul") s = 1.0 / s;
          if (!(std::isfinite(s) && s > 0)) fail(node, "a normalisation whose standard deviation is not positive");
        }
        std_ = per_channel;
        if (mean_.empty()) mean_.assign(c, 0.0);
      }
      advance(node);
      return i;
    }
    if (pending_pad_ && op != "Conv" && op != "AveragePool") {
      fail(node, "follows a Pad: zero padding is supported only before a Conv or an AveragePool");
    }
    if (op == "Pad") return pad(i, node);
    if (op == "Conv") return conv(i, node);
    if (op == "BatchNormalization") return batch_norm(i, node);
    if (op == "MaxPool" || op == "AveragePool") return pool(i, node);
    if (op == "GlobalAveragePool" || op == "GlobalMaxPool" || op == "ReduceMean") return global_pool(i, node);
    if (op == "Flatten" || op == "Reshape") return flatten(i, node);
    if (op == "Gemm" || op == "MatMul") return fc(i, node);
    if (op == "Add") return add_bias(i, node);
    return activation(i, node);
  }

  // A zero Pad of height and width before a Conv or (count_include_pad) AveragePool: the same
  // as the next node's own padding, where torch.onnx.export writes it for padded avg pooling.
  int pad(int i, const onnx::NodeProto& node) {
    if (!is_input(node, 0, cur_)) fail(node, "reads the chain's tensor in an unexpected position");
    if (text(node, "mode", "constant") != "constant") fail(node, "only constant (zero) padding is supported");
    if (node.input_size() < 2) fail(node, "expects a pads input (opset 11 and later)");
    const auto p = int64s(node, node.input(1));
    if (node.input_size() > 2 && !node.input(2).empty()) {
      const auto v = scalar(node, node.input(2));
      if (!v || *v != 0.0f) fail(node, "only zero padding is supported");
    }
    if (p.size() != 8 || p[0] || p[1] || p[4] || p[5] || p[2] != p[6] || p[3] != p[7] || p[2] < 0 || p[3] < 0) {
      fail(node, "only symmetric padding of height and width is supported");
    }
    pending_pad_ = Size2{p[2], p[3]};
    advance(node);
    return i;
  }

  // Adds a pending Pad's amounts to a node's own padding.
  void take_pad(Size2& padding) {
    if (!pending_pad_) return;
    padding.h += pending_pad_->h;
    padding.w += pending_pad_->w;
    pending_pad_.reset();
  }

  int conv(int i, const onnx::NodeProto& node) {
    if (!is_input(node, 0, cur_)) fail(node, "reads the chain's tensor in an unexpected position");
    if (flat_) fail(node, "a conv after the feature map is flattened is not supported");
    const Shape in = current_shape(node);
    ConvLayer c;
    window(node, c.kernel, c.stride, c.padding);
    take_pad(c.padding);
    c.groups = integer(node, "group", 1);
    c.activation = Activation::none;
    if (node.input_size() < 2) fail(node, "has no weight");
    const onnx::TensorProto* wt = constant(node.input(1));
    if (!wt) fail(node, fmt::format("weight '{}' is not a constant", node.input(1)));
    const auto dims = dims_of(*wt);
    if (dims.size() != 4 || dims[2] != c.kernel.h || dims[3] != c.kernel.w || c.groups <= 0 ||
        dims[1] * c.groups != in.channels) {
      fail(node, fmt::format("weight '{}' has shape [{}]; expected [filters, {} / group {}, {}, {}]", node.input(1),
                             fmt::join(dims, ", "), in.channels, c.groups, c.kernel.h, c.kernel.w));
    }
    c.filters = dims[0];
    LayerWeights w;
    w.weight = floats(node, node.input(1));
    c.bias = node.input_size() > 2 && !node.input(2).empty();
    if (c.bias) {
      w.bias = floats(node, node.input(2));
      if (static_cast<std::int64_t>(w.bias.size()) != c.filters) fail(node, "bias size is not the number of filters");
    }
    push(node, c, std::move(w));
    advance(node);
    return i;
  }

  int batch_norm(int i, const onnx::NodeProto& node) {
    if (!is_input(node, 0, cur_)) fail(node, "reads the chain's tensor in an unexpected position");
    auto* conv = result_.arch.layers.empty() ? nullptr : std::get_if<ConvLayer>(&result_.arch.layers.back());
    if (!conv || !activation_open_ || conv->batch_norm) fail(node, "batch norm is supported only right after a conv");
    if (integer(node, "training_mode", 0) != 0) fail(node, "training-mode batch norm is not supported");
    if (node.input_size() != 5) fail(node, "expects scale, bias, mean and variance inputs");
    for (int k = 1; k < node.output_size(); ++k) {
      if (!node.output(k).empty()) fail(node, "running statistics outputs are not supported");
    }
    LayerWeights& w = result_.weights.layers.back();
    w.bn_weight = floats(node, node.input(1));
    w.bn_bias = floats(node, node.input(2));
    w.bn_mean = floats(node, node.input(3));
    w.bn_var = floats(node, node.input(4));
    const auto f = static_cast<std::size_t>(conv->filters);
    if (w.bn_weight.size() != f || w.bn_bias.size() != f || w.bn_mean.size() != f || w.bn_var.size() != f) {
      fail(node, fmt::format("its parameters do not have {} values (the conv's filters)", f));
    }
    // joules's epsilon is 1e-5: another epsilon is the same network with the variance shifted.
    const double eps = real(node, "epsilon", 1e-5f);
    for (float& v : w.bn_var) v = static_cast<float>(v + eps - kBatchNormEpsilon);
    conv->batch_norm = true;
    analyze_or_fail(&node);
    advance(node);
    return i;
  }

  int pool(int i, const onnx::NodeProto& node) {
    if (!is_input(node, 0, cur_)) fail(node, "reads the chain's tensor in an unexpected position");
    if (flat_) fail(node, "pooling after the feature map is flattened is not supported");
    if (node.output_size() > 1 && !node.output(1).empty()) fail(node, "pooling indices are not supported");
    PoolLayer p;
    p.op = node.op_type() == "MaxPool" ? PoolOp::max : PoolOp::avg;
    window(node, p.kernel, p.stride, p.padding);
    if (integer(node, "ceil_mode", 0) != 0) fail(node, "ceil_mode 1 is not supported (joules pools in floor mode)");
    if (integer(node, "storage_order", 0) != 0) fail(node, "storage_order 1 is not supported");
    if (p.op == PoolOp::avg && (p.padding.h || p.padding.w) && integer(node, "count_include_pad", 0) != 1) {
      fail(node, "padded average pooling must count the padding (count_include_pad 1, PyTorch's default)");
    }
    take_pad(p.padding);
    const bool after_conv = activation_open_ && std::holds_alternative<ConvLayer>(result_.arch.layers.back());
    push(node, p, {});
    pool_after_open_ = after_conv && p.op == PoolOp::max;
    advance(node);
    return i;
  }

  int global_pool(int i, const onnx::NodeProto& node) {
    if (!is_input(node, 0, cur_)) fail(node, "reads the chain's tensor in an unexpected position");
    if (flat_) fail(node, "pooling after the feature map is flattened is not supported");
    PoolLayer p;
    p.global = true;
    p.op = node.op_type() == "GlobalMaxPool" ? PoolOp::max : PoolOp::avg;
    if (node.op_type() == "ReduceMean") {
      auto axes = ints(node, "axes", {});
      for (auto& a : axes) a = a < 0 ? a + 4 : a;
      std::sort(axes.begin(), axes.end());
      if (axes != std::vector<std::int64_t>{2, 3} || integer(node, "keepdims", 1) != 1 || node.input_size() != 1) {
        fail(node, "only a mean over height and width with keepdims 1 (global average pooling) is supported");
      }
    }
    push(node, p, {});
    advance(node);
    return i;
  }

  int flatten(int i, const onnx::NodeProto& node) {
    if (!is_input(node, 0, cur_)) fail(node, "reads the chain's tensor in an unexpected position");
    const Shape s = current_shape(node);
    const std::int64_t features = s.channels * s.height * s.width;
    if (node.op_type() == "Flatten") {
      if (integer(node, "axis", 1) != 1) fail(node, "only axis 1 (flatten all but the batch) is supported");
    } else {
      if (node.input_size() != 2) fail(node, "expects a shape input");
      const auto shape = int64s(node, node.input(1));
      const bool ok = shape.size() == 2 &&
                      ((shape[1] == -1 && (shape[0] == 0 || shape[0] == 1)) ||
                       (shape[1] == features && (shape[0] == 0 || shape[0] == -1 || shape[0] == 1)));
      if (!ok) {
        fail(node, fmt::format("reshape to [{}] is not a flatten to [N, {}]", fmt::join(shape, ", "), features));
      }
    }
    flat_ = true;
    advance(node);
    return i;
  }

  int fc(int i, const onnx::NodeProto& node) {
    if (!is_input(node, 0, cur_)) fail(node, "reads the chain's tensor in an unexpected position");
    const bool after_fc = !result_.arch.layers.empty() && std::holds_alternative<FcLayer>(result_.arch.layers.back());
    if (!flat_ && !after_fc) fail(node, "needs a Flatten or Reshape before it");
    const Shape s = current_shape(node);
    const std::int64_t in = s.channels * s.height * s.width;
    if (node.input_size() < 2) fail(node, "has no weight");
    const onnx::TensorProto* wt = constant(node.input(1));
    if (!wt) fail(node, fmt::format("weight '{}' is not a constant", node.input(1)));
    const auto dims = dims_of(*wt);
    bool trans_b = false;
    float alpha = 1, beta = 1;
    if (node.op_type() == "Gemm") {
      if (integer(node, "transA", 0) != 0) fail(node, "transA 1 is not supported");
      trans_b = integer(node, "transB", 0) != 0;
      alpha = real(node, "alpha", 1.0f);
      beta = real(node, "beta", 1.0f);
    }
    if (dims.size() != 2 || dims[trans_b ? 1 : 0] != in) {
      fail(node, fmt::format("weight '{}' has shape [{}] for {} inputs", node.input(1), fmt::join(dims, ", "), in));
    }
    FcLayer f;
    f.units = dims[trans_b ? 0 : 1];
    f.activation = Activation::none;
    LayerWeights w;
    const std::vector<float> raw = floats(node, node.input(1));
    w.weight.resize(raw.size());
    for (std::int64_t u = 0; u < f.units; ++u) {
      for (std::int64_t k = 0; k < in; ++k) {
        const float v = trans_b ? raw[u * in + k] : raw[k * f.units + u];
        w.weight[u * in + k] = v * alpha;
      }
    }
    f.bias = node.op_type() == "Gemm" && node.input_size() > 2 && !node.input(2).empty();
    if (f.bias) {
      w.bias = floats(node, node.input(2));
      if (static_cast<std::int64_t>(w.bias.size()) != f.units) {
        fail(node, fmt::format("bias '{}' has {} values for {} units", node.input(2), w.bias.size(), f.units));
      }
      for (float& b : w.bias) b *= beta;
    }
    push(node, f, std::move(w));
    matmul_open_ = node.op_type() == "MatMul";
    advance(node);
    return i;
  }

  // The bias of a MatMul (torch exports Linear as MatMul + Add in some versions).
  int add_bias(int i, const onnx::NodeProto& node) {
    const std::string other = other_input(node, cur_);
    if (!matmul_open_ || other.empty() || !activation_open_) fail(node, "an Add that is not a MatMul's bias (branches are not supported)");
    auto& f = std::get<FcLayer>(result_.arch.layers.back());
    std::vector<float> b = floats(node, other);
    if (static_cast<std::int64_t>(b.size()) != f.units) fail(node, fmt::format("bias '{}' has {} values for {} units", other, b.size(), f.units));
    f.bias = true;
    result_.weights.layers.back().bias = std::move(b);
    matmul_open_ = false;
    analyze_or_fail(&node);
    advance(node);
    return i;
  }

  // Activations, single nodes or the compositions of opset 13 (SiLU, hard swish, exact GELU).
  int activation(int i, const onnx::NodeProto& node) {
    const std::string& op = node.op_type();
    matmul_open_ = false;
    if (!is_input(node, 0, cur_)) fail(node, "is not supported (only plain chains of conv, pool and fc layers are)");
    const std::string x = cur_;
    const onnx::NodeProto* next = next_node(i);
    // f(x) followed by Mul(x, f(x)).
    const auto times_x = [&](const onnx::NodeProto& n) {
      return next && next->op_type() == "Mul" && other_input(*next, output0(n)) == x;
    };
    if (op == "Relu") {
      set_activation(node, Activation::relu);
    } else if (op == "Clip") {
      std::optional<float> lo, hi;
      if (node.input_size() > 1 && !node.input(1).empty()) lo = scalar(node, node.input(1));
      if (node.input_size() > 2 && !node.input(2).empty()) hi = scalar(node, node.input(2));
      if (!lo || !hi || *lo != 0.0f || *hi != 6.0f) fail(node, "only Clip(0, 6) (relu6) is supported");
      set_activation(node, Activation::relu6);
    } else if (op == "LeakyRelu") {
      const float alpha = real(node, "alpha", 0.01f);
      if (std::abs(alpha - 0.01f) > 1e-7f) fail(node, fmt::format("alpha {} is not supported (joules's leaky_relu has slope 0.01)", alpha));
      set_activation(node, Activation::leaky_relu);
    } else if (op == "Sigmoid") {
      if (times_x(node)) {
        set_activation(node, Activation::silu);
        advance(*next);
        return i + 1;
      }
      set_activation(node, Activation::sigmoid);
    } else if (op == "Tanh") {
      set_activation(node, Activation::tanh);
    } else if (op == "HardSwish") {
      set_activation(node, Activation::hardswish);
    } else if (op == "HardSigmoid") {
      if (!times_x(node) || std::abs(real(node, "alpha", 0.2f) - 1.0f / 6.0f) > 1e-6f ||
          std::abs(real(node, "beta", 0.5f) - 0.5f) > 1e-6f) {
        fail(node, "HardSigmoid is supported only as hard swish: Mul(x, HardSigmoid(x, alpha 1/6, beta 1/2))");
      }
      set_activation(node, Activation::hardswish);
      advance(*next);
      return i + 1;
    } else if (op == "Div" && gelu_at(i)) {
      set_activation(node, Activation::gelu);
      advance(*nodes_[i + 4]);
      return i + 4;
    } else {
      fail(node, fmt::format("op {} is not supported (joules reads conv, batch norm, pool, fc and activation layers)", op));
    }
    advance(node);
    return i;
  }

  // Div(x, sqrt 2) -> Erf -> Add(1) -> Mul(x, .) -> Mul(0.5) (either Mul order) at node i.
  bool gelu_at(int i) const {
    if (i + 4 >= static_cast<int>(nodes_.size())) return false;
    const auto& d = *nodes_[i];
    const auto& e = *nodes_[i + 1];
    const auto& a = *nodes_[i + 2];
    const auto& m1 = *nodes_[i + 3];
    const auto& m2 = *nodes_[i + 4];
    const std::string x = cur_;
    const auto is_scalar = [&](const onnx::NodeProto& n, const std::string& name, float v) {
      const auto s = scalar(n, name);
      return s && std::abs(*s - v) < 1e-6f * std::max(1.0f, std::abs(v));
    };
    if (d.input_size() != 2 || !is_scalar(d, d.input(1), static_cast<float>(M_SQRT2))) return false;
    if (e.op_type() != "Erf" || !is_input(e, 0, output0(d))) return false;
    if (a.op_type() != "Add" || !is_scalar(a, other_input(a, output0(e)), 1.0f)) return false;
    if (m1.op_type() != "Mul" || m2.op_type() != "Mul") return false;
    // x * (1 + erf(x / sqrt 2)) * 0.5, the order torch.onnx.export and joules write.
    return other_input(m1, output0(a)) == x && is_scalar(m2, other_input(m2, output0(m1)), 0.5f);
  }

  const onnx::ModelProto& model_;
  const onnx::GraphProto& graph_;
  std::string file_;
  std::map<std::string, const onnx::TensorProto*> constants_;
  std::vector<const onnx::NodeProto*> nodes_;  // the graph's nodes but its Constant nodes
  std::deque<onnx::TensorProto> owned_;  // Constant nodes' values (stable addresses)
  std::string cur_;                       // the chain's current tensor
  bool flat_ = false;
  bool activation_open_ = false;  // the last layer is a conv or fc that has no activation yet
  bool pool_after_open_ = false;  // ... or a max pool right after such a conv
  bool matmul_open_ = false;      // the last layer is a MatMul that has no bias yet
  std::optional<Size2> pending_pad_;  // a Pad waiting for its Conv or AveragePool
  std::vector<double> mean_, std_;
  OnnxImport result_;
};

}  // namespace

OnnxImport parse_onnx(std::string_view bytes, const std::string& file) {
  onnx::ModelProto model;
  if (bytes.size() > static_cast<std::size_t>(std::numeric_limits<int>::max()) ||
      !model.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    throw InputError(file, 0, "", "not an ONNX model (the protobuf does not parse: truncated or another format)");
  }
  if (!model.has_graph()) throw InputError(file, 0, "", "not an ONNX model (no graph)");
  return Reader(model, file).read();
}

OnnxImport load_onnx(const std::string& path) { return parse_onnx(read_input_file(path), path); }

bool is_onnx_path(const std::string& path) {
  std::string ext = std::filesystem::path(path).extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
  return ext == ".onnx";
}

Architecture load_architecture_file(const std::string& path) {
  if (!is_onnx_path(path)) return load_architecture(path);
  Architecture arch = load_onnx(path).arch;
  if (arch.name.empty() || arch.name == "torch_jit" || arch.name == "main_graph") {
    arch.name = std::filesystem::path(path).stem().string();
  }
  return arch;
}

}  // namespace joules
