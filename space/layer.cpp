#include "space/layer.hpp"

#include <fmt/format.h>

namespace joules {
namespace {

std::string size2(Size2 s) { return s.is_square() ? fmt::format("{}", s.h) : fmt::format("{}x{}", s.h, s.w); }
std::string kernel2(Size2 s) { return fmt::format("{}x{}", s.h, s.w); }

}  // namespace

std::string_view to_string(Activation activation) { return name_of(kActivationNames, activation); }

std::optional<Activation> parse_activation(std::string_view name) { return value_of(kActivationNames, name); }

std::string_view to_string(PoolOp op) { return name_of(kPoolOpNames, op); }

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
