#pragma once
// The layers joules can search over and estimate: plain CNN building blocks.
// Plain value types: comparable, printable (describe), no hidden state.

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "util/enum_names.hpp"

namespace joules {

/// A height x width pair (kernel, stride, padding).
struct Size2 {
  std::int64_t h = 0;
  std::int64_t w = 0;

  static constexpr Size2 square(std::int64_t n) { return {n, n}; }
  bool is_square() const { return h == w; }
  bool operator==(const Size2&) const = default;
};

enum class Activation { none, relu, relu6, leaky_relu, sigmoid, tanh, gelu, silu, hardswish };
enum class PoolOp { max, avg };

inline constexpr std::array<Activation, 9> kActivations{
    Activation::none, Activation::relu, Activation::relu6, Activation::leaky_relu, Activation::sigmoid,
    Activation::tanh, Activation::gelu, Activation::silu, Activation::hardswish};

/// Names as written in YAML.
inline constexpr EnumNames<Activation, 9> kActivationNames{{{Activation::none, "none"},
                                                            {Activation::relu, "relu"},
                                                            {Activation::relu6, "relu6"},
                                                            {Activation::leaky_relu, "leaky_relu"},
                                                            {Activation::sigmoid, "sigmoid"},
                                                            {Activation::tanh, "tanh"},
                                                            {Activation::gelu, "gelu"},
                                                            {Activation::silu, "silu"},
                                                            {Activation::hardswish, "hardswish"}}};
inline constexpr EnumNames<PoolOp, 2> kPoolOpNames{{{PoolOp::max, "max"}, {PoolOp::avg, "avg"}}};

/// Name as written in YAML ("relu", "none", ...).
std::string_view to_string(Activation activation);
/// The activation whose to_string() is `name`; std::nullopt for anything else.
std::optional<Activation> parse_activation(std::string_view name);
std::string_view to_string(PoolOp op);

/// 2-D convolution (optionally grouped / depthwise), optional batch norm, then activation.
struct ConvLayer {
  std::int64_t filters = 0;
  Size2 kernel{};
  Size2 stride{1, 1};
  Size2 padding{0, 0};
  std::int64_t groups = 1;  // equal to the input channels for a depthwise conv
  bool bias = true;
  bool batch_norm = false;
  Activation activation = Activation::relu;

  bool operator==(const ConvLayer&) const = default;
};

/// Max or average pooling; `global` pools each channel to 1x1 (kernel, stride and padding
/// are then unused and zero).
struct PoolLayer {
  PoolOp op = PoolOp::max;
  Size2 kernel{};
  Size2 stride{};  // the parser resolves the default (= kernel)
  Size2 padding{0, 0};
  bool global = false;

  bool operator==(const PoolLayer&) const = default;
};

/// Fully connected layer; the feature map is flattened before the first one. Dropout is
/// applied to the layer's input during training.
struct FcLayer {
  std::int64_t units = 0;
  bool bias = true;
  Activation activation = Activation::relu;
  double dropout = 0.0;

  bool operator==(const FcLayer&) const = default;
};

using Layer = std::variant<ConvLayer, PoolLayer, FcLayer>;

/// "conv", "pool" or "fc": the YAML key and the JSON "type".
std::string_view layer_type(const Layer& layer);

/// A short human-readable description, e.g. "conv 16 5x5 /1 pad 2 relu".
std::string describe(const Layer& layer);

}  // namespace joules
