#include "space/layer.hpp"

#include <fmt/format.h>

namespace joules {
namespace {

std::string size2(Size2 s) { return s.is_square() ? fmt::format("{}", s.h) : fmt::format("{}x{}", s.h, s.w); }
std::string kernel2(Size2 s) { return fmt::format("{}x{}", s.h, s.w); }

}  // namespace

std::string_view to_string(Activation activation) {
  switch (activation) {
    case Activation::none: return "none";
    case Activation::relu: return "relu";
    case Activation::relu6: return "relu6";
    case Activation::leaky_relu: return "leaky_relu";
    case Activation::sigmoid: return "sigmoid";
    case Activation::tanh: return "tanh";
    case Activation::gelu: return "gelu";
    case Activation::silu: return "silu";
    case Activation::hardswish: return "hardswish";
  }
  return "none";
}

std::optional<Activation> parse_activation(std::string_view name) {
  for (Activation a : kActivations) {
    if (to_string(a) == name) return a;
  }
  return std::nullopt;
}

std::string_view to_string(PoolOp op) { return op == PoolOp::max ? "max" : "avg"; }

std::string_view layer_type(const Layer& layer) {
  switch (layer.index()) {
    case 0: return "conv";
    case 1: return "pool";
    default: return "fc";
  }
}

std::string describe(const Layer& layer) {
  if (const auto* conv = std::get_if<ConvLayer>(&layer)) {
    std::string out = fmt::format("conv {} {}", conv->filters, kernel2(conv->kernel));
    if (conv->stride != Size2{1, 1}) out += " /" + size2(conv->stride);
    if (conv->padding != Size2{0, 0}) out += " pad " + size2(conv->padding);
    if (conv->groups != 1) out += fmt::format(" groups {}", conv->groups);
    if (!conv->bias) out += " no-bias";
    if (conv->batch_norm) out += " bn";
    if (conv->activation != Activation::none) out += " " + std::string(to_string(conv->activation));
    return out;
  }
  if (const auto* pool = std::get_if<PoolLayer>(&layer)) {
    if (pool->global) return fmt::format("pool global {}", to_string(pool->op));
    std::string out = fmt::format("pool {} {}", to_string(pool->op), kernel2(pool->kernel));
    if (pool->stride != pool->kernel) out += " /" + size2(pool->stride);
    if (pool->padding != Size2{0, 0}) out += " pad " + size2(pool->padding);
    return out;
  }
  const auto& fc = std::get<FcLayer>(layer);
  std::string out = fmt::format("fc {}", fc.units);
  if (!fc.bias) out += " no-bias";
  if (fc.dropout > 0) out += fmt::format(" dropout {}", fc.dropout);
  if (fc.activation != Activation::none) out += " " + std::string(to_string(fc.activation));
  return out;
}

}  // namespace joules
