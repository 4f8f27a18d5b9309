#include "space/analysis.hpp"

#include <fmt/format.h>

#include "util/input_error.hpp"

namespace joules {
namespace {

// Checked arithmetic: an overflow is an error in the spec, never a wrapped number.
class Checked {
 public:
  explicit Checked(std::string key) : key_(std::move(key)) {}

  std::int64_t mul(std::int64_t a, std::int64_t b, const char* what) const {
    std::int64_t r = 0;
    if (__builtin_mul_overflow(a, b, &r)) overflow(what);
    return r;
  }
  std::int64_t add(std::int64_t a, std::int64_t b, const char* what) const {
    std::int64_t r = 0;
    if (__builtin_add_overflow(a, b, &r)) overflow(what);
    return r;
  }
  [[noreturn]] void fail(const std::string& field, const std::string& message) const {
    throw SpecError(field.empty() ? key_ : key_ + "." + field, message);
  }

 private:
  [[noreturn]] void overflow(const char* what) const {
    throw SpecError(key_, fmt::format("the {} overflow 64-bit integers: sizes are absurdly large", what));
  }
  std::string key_;
};

void check_range(const Checked& at, const char* field, std::int64_t value, std::int64_t min) {
  if (value < min) at.fail(field, fmt::format("must be >= {}, got {}", min, value));
  if (value > kMaxDimension) {
    at.fail(field, fmt::format("{} is absurdly large (at most {})", value, kMaxDimension));
  }
}

void check_size2(const Checked& at, const char* field, Size2 s, std::int64_t min) {
  check_range(at, field, s.h, min);
  check_range(at, field, s.w, min);
}

// Output length of a sliding window; the caller has checked that the window fits.
std::int64_t window_out(const Checked& at, std::int64_t in, std::int64_t kernel, std::int64_t stride,
                        std::int64_t padding) {
  const std::int64_t padded = at.add(in, at.mul(2, padding, "padded sizes"), "padded sizes");
  return (padded - kernel) / stride + 1;
}

void check_window_fits(const Checked& at, Shape in, Size2 kernel, Size2 padding) {
  const std::int64_t ph = in.height + 2 * padding.h;  // both <= 3 * 2^31: no overflow
  const std::int64_t pw = in.width + 2 * padding.w;
  if (kernel.h > ph || kernel.w > pw) {
    at.fail("kernel", fmt::format("kernel {}x{} is larger than the padded input {}x{}", kernel.h,
                                  kernel.w, ph, pw));
  }
}

LayerAnalysis analyze_conv(const ConvLayer& conv, Shape in, const Checked& at) {
  check_range(at, "filters", conv.filters, 1);
  check_size2(at, "kernel", conv.kernel, 1);
  check_size2(at, "stride", conv.stride, 1);
  check_size2(at, "padding", conv.padding, 0);
  check_range(at, "groups", conv.groups, 1);
  if (in.channels % conv.groups != 0) {
    at.fail("groups", fmt::format("groups {} does not divide the {} input channels", conv.groups,
                                  in.channels));
  }
  if (conv.filters % conv.groups != 0) {
    at.fail("groups", fmt::format("groups {} does not divide the {} filters", conv.groups,
                                  conv.filters));
  }
  check_window_fits(at, in, conv.kernel, conv.padding);

  LayerAnalysis out{.input = in};
  out.output = Shape{conv.filters,
                     window_out(at, in.height, conv.kernel.h, conv.stride.h, conv.padding.h),
                     window_out(at, in.width, conv.kernel.w, conv.stride.w, conv.padding.w)};
  const std::int64_t per_filter =
      at.mul(at.mul(in.channels / conv.groups, conv.kernel.h, "weights"), conv.kernel.w, "weights");
  const std::int64_t map = at.mul(out.output.height, out.output.width, "feature map elements");
  at.mul(map, conv.filters, "feature map elements");
  out.macs = at.mul(at.mul(map, conv.filters, "MACs"), per_filter, "MACs");
  out.params = at.mul(per_filter, conv.filters, "parameters");
  if (conv.bias) out.params = at.add(out.params, conv.filters, "parameters");
  if (conv.batch_norm) out.params = at.add(out.params, at.mul(2, conv.filters, "parameters"), "parameters");
  return out;
}

LayerAnalysis analyze_pool(const PoolLayer& pool, Shape in, const Checked& at) {
  LayerAnalysis out{.input = in};
  if (pool.global) {
    out.output = Shape{in.channels, 1, 1};
    return out;
  }
  check_size2(at, "kernel", pool.kernel, 1);
  check_size2(at, "stride", pool.stride, 1);
  check_size2(at, "padding", pool.padding, 0);
  if (2 * pool.padding.h > pool.kernel.h || 2 * pool.padding.w > pool.kernel.w) {
    at.fail("padding", fmt::format("padding {}x{} is more than half the kernel {}x{}",
                                   pool.padding.h, pool.padding.w, pool.kernel.h, pool.kernel.w));
  }
  check_window_fits(at, in, pool.kernel, pool.padding);
  out.output = Shape{in.channels,
                     window_out(at, in.height, pool.kernel.h, pool.stride.h, pool.padding.h),
                     window_out(at, in.width, pool.kernel.w, pool.stride.w, pool.padding.w)};
  return out;
}

LayerAnalysis analyze_fc(const FcLayer& fc, Shape in, const Checked& at) {
  check_range(at, "units", fc.units, 1);
  if (!(fc.dropout >= 0.0 && fc.dropout < 1.0)) {
    at.fail("dropout", fmt::format("must be in [0, 1), got {}", fc.dropout));
  }
  LayerAnalysis out{.input = in};
  const std::int64_t features =
      at.mul(at.mul(in.channels, in.height, "input features"), in.width, "input features");
  out.output = Shape{fc.units, 1, 1};
  out.macs = at.mul(features, fc.units, "MACs");
  out.params = out.macs;
  if (fc.bias) out.params = at.add(out.params, fc.units, "parameters");
  return out;
}

}  // namespace

bool is_depthwise(const ConvLayer& conv, std::int64_t in_channels) {
  return conv.groups > 1 && conv.groups == in_channels;
}

NetworkAnalysis analyze(const Architecture& arch) {
  const Checked input_at("input");
  check_range(input_at, "", arch.input.channels, 1);
  check_range(input_at, "", arch.input.height, 1);
  check_range(input_at, "", arch.input.width, 1);
  input_at.mul(input_at.mul(arch.input.channels, arch.input.height, "input elements"),
               arch.input.width, "input elements");
  if (arch.layers.empty()) throw SpecError("layers", "a network needs at least one layer");

  NetworkAnalysis net;
  net.layers.reserve(arch.layers.size());
  Shape shape = arch.input;
  bool flattened = false;
  for (std::size_t i = 0; i < arch.layers.size(); ++i) {
    const Layer& layer = arch.layers[i];
    const Checked at(fmt::format("layers[{}].{}", i, layer_type(layer)));
    LayerAnalysis result;
    if (const auto* conv = std::get_if<ConvLayer>(&layer)) {
      if (flattened) at.fail("", "conv layer after an fc layer (fc layers must come last)");
      result = analyze_conv(*conv, shape, at);
    } else if (const auto* pool = std::get_if<PoolLayer>(&layer)) {
      if (flattened) at.fail("", "pool layer after an fc layer (fc layers must come last)");
      result = analyze_pool(*pool, shape, at);
    } else {
      result = analyze_fc(std::get<FcLayer>(layer), shape, at);
      flattened = true;
    }
    const Checked total("layers");
    net.macs = total.add(net.macs, result.macs, "total MACs");
    net.params = total.add(net.params, result.params, "total parameters");
    shape = result.output;
    net.layers.push_back(result);
  }
  net.output = shape;
  return net;
}

}  // namespace joules
