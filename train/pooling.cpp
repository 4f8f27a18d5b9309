#include "train/pooling.hpp"

#include <cmath>
#include <limits>

#include <ATen/Parallel.h>

namespace joules {
namespace {

struct Geometry {
  std::int64_t in_h, in_w, out_h, out_w;
  Size2 kernel, stride, padding;

  bool two_by_two() const { return kernel == Size2{2, 2} && stride == Size2{2, 2} && padding == Size2{0, 0}; }
  // The window of output (oh, ow) clipped to the input: rows [h0, h1), columns [w0, w1).
  void window(std::int64_t oh, std::int64_t ow, std::int64_t& h0, std::int64_t& h1, std::int64_t& w0,
              std::int64_t& w1) const {
    h0 = oh * stride.h - padding.h;
    w0 = ow * stride.w - padding.w;
    h1 = std::min(h0 + kernel.h, in_h);
    w1 = std::min(w0 + kernel.w, in_w);
    h0 = std::max<std::int64_t>(h0, 0);
    w0 = std::max<std::int64_t>(w0, 0);
  }
};

Geometry geometry(const torch::Tensor& x, Size2 kernel, Size2 stride, Size2 padding) {
  Geometry g{x.size(2), x.size(3), 0, 0, kernel, stride, padding};
  g.out_h = (g.in_h + 2 * padding.h - kernel.h) / stride.h + 1;
  g.out_w = (g.in_w + 2 * padding.w - kernel.w) / stride.w + 1;
  return g;
}

bool supported(const torch::Tensor& x) {
  return x.is_cpu() && x.scalar_type() == torch::kFloat && x.dim() == 4 && x.is_contiguous() &&
         x.size(2) * x.size(3) <= std::numeric_limits<std::int32_t>::max();
}

// Runs `f(plane)` for every (sample, channel) plane on the intra-op threads, enough planes per
// task to amortise the scheduling.
template <class F>
void for_each_plane(std::int64_t planes, std::int64_t plane_size, const F& f) {
  const std::int64_t grain = std::max<std::int64_t>(1, 32768 / (plane_size + 1));
  at::parallel_for(0, planes, grain, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t p = begin; p < end; ++p) f(p);
  });
}

// --- max ------------------------------------------------------------------------------------

// Whether v replaces the running maximum m: PyTorch's rule (a larger value, or any NaN).
inline bool takes_over(float v, float m) { return v > m || v != v; }

// 2x2 windows with stride 2 and no padding, the common case: branch-free so that it
// vectorises.
template <bool kIndices>
void max_plane_2x2(const float* in, float* out, std::int32_t* indices, const Geometry& g) {
  const auto in_w = static_cast<std::int32_t>(g.in_w);
  for (std::int64_t oh = 0; oh < g.out_h; ++oh) {
    const float* r0 = in + 2 * oh * g.in_w;
    const float* r1 = r0 + g.in_w;
    float* o = out + oh * g.out_w;
    const auto base = static_cast<std::int32_t>(2 * oh * g.in_w);
    for (std::int64_t ow = 0; ow < g.out_w; ++ow) {
      float best = r0[2 * ow];  // the first element always takes over from -inf
      std::int32_t at = 0;
      const float b = r0[2 * ow + 1];
      bool t = takes_over(b, best);
      best = t ? b : best;
      at = t ? 1 : at;
      const float c = r1[2 * ow];
      t = takes_over(c, best);
      best = t ? c : best;
      at = t ? in_w : at;
      const float d = r1[2 * ow + 1];
      t = takes_over(d, best);
      best = t ? d : best;
      at = t ? in_w + 1 : at;
      o[ow] = best;
      if constexpr (kIndices) indices[oh * g.out_w + ow] = base + static_cast<std::int32_t>(2 * ow) + at;
    }
  }
}

// One plane, any window. `indices` may be null (inference). An index is the offset of the
// maximum inside its input plane, as PyTorch's.
void max_plane(const float* in, float* out, std::int32_t* indices, const Geometry& g) {
  if (g.two_by_two()) {
    if (indices != nullptr) {
      max_plane_2x2<true>(in, out, indices, g);
    } else {
      max_plane_2x2<false>(in, out, nullptr, g);
    }
    return;
  }
  for (std::int64_t oh = 0; oh < g.out_h; ++oh) {
    for (std::int64_t ow = 0; ow < g.out_w; ++ow) {
      std::int64_t h0, h1, w0, w1;
      g.window(oh, ow, h0, h1, w0, w1);
      float best = -std::numeric_limits<float>::infinity();
      std::int64_t at = h0 * g.in_w + w0;
      for (std::int64_t h = h0; h < h1; ++h) {
        for (std::int64_t w = w0; w < w1; ++w) {
          const float v = in[h * g.in_w + w];
          if (takes_over(v, best)) {
            best = v;
            at = h * g.in_w + w;
          }
        }
      }
      out[oh * g.out_w + ow] = best;
      if (indices != nullptr) indices[oh * g.out_w + ow] = static_cast<std::int32_t>(at);
    }
  }
}

torch::Tensor max_forward(const torch::Tensor& x, const Geometry& g, torch::Tensor* indices) {
  torch::Tensor out = torch::empty({x.size(0), x.size(1), g.out_h, g.out_w}, x.options());
  if (indices != nullptr) *indices = torch::empty(out.sizes(), x.options().dtype(torch::kInt32));
  const float* in = x.data_ptr<float>();
  float* o = out.data_ptr<float>();
  std::int32_t* idx = indices != nullptr ? indices->data_ptr<std::int32_t>() : nullptr;
  const std::int64_t in_plane = g.in_h * g.in_w;
  const std::int64_t out_plane = g.out_h * g.out_w;
  for_each_plane(x.size(0) * x.size(1), in_plane, [&](std::int64_t p) {
    max_plane(in + p * in_plane, o + p * out_plane, idx != nullptr ? idx + p * out_plane : nullptr, g);
  });
  return out;
}

class MaxPoolFunction : public torch::autograd::Function<MaxPoolFunction> {
 public:
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& x, Size2 kernel,
                               Size2 stride, Size2 padding) {
    torch::Tensor indices;
    torch::Tensor out = max_forward(x, geometry(x, kernel, stride, padding), &indices);
    ctx->save_for_backward({indices});
    ctx->saved_data["input_size"] = x.sizes();
    return out;
  }

  static torch::autograd::tensor_list backward(torch::autograd::AutogradContext* ctx,
                                               torch::autograd::tensor_list grads) {
    const torch::Tensor indices = ctx->get_saved_variables()[0];
    const std::vector<std::int64_t> size = ctx->saved_data["input_size"].toIntVector();
    const torch::Tensor grad_out = grads[0].contiguous();
    torch::Tensor grad_in = torch::zeros(size, grad_out.options());
    const std::int64_t in_plane = size[2] * size[3];
    const std::int64_t out_plane = indices.size(2) * indices.size(3);
    const float* go = grad_out.data_ptr<float>();
    const std::int32_t* idx = indices.data_ptr<std::int32_t>();
    float* gi = grad_in.data_ptr<float>();
    for_each_plane(size[0] * size[1], in_plane, [&](std::int64_t p) {
      for (std::int64_t o = 0; o < out_plane; ++o)
        gi[p * in_plane + idx[p * out_plane + o]] += go[p * out_plane + o];
    });
    return {grad_in, torch::Tensor(), torch::Tensor(), torch::Tensor()};
  }
};

// --- average --------------------------------------------------------------------------------
// In floor mode with padding at most half the kernel every window lies inside the padded
// input, so PyTorch's divisor (padding counted) is always kernel.h * kernel.w. Sums run in
// PyTorch's order, in float, so that results are the same to the bit.

void avg_plane(const float* in, float* out, const Geometry& g) {
  const auto divisor = static_cast<float>(g.kernel.h * g.kernel.w);
  if (g.two_by_two()) {
    for (std::int64_t oh = 0; oh < g.out_h; ++oh) {
      const float* r0 = in + 2 * oh * g.in_w;
      const float* r1 = r0 + g.in_w;
      float* o = out + oh * g.out_w;
      for (std::int64_t ow = 0; ow < g.out_w; ++ow) {
        o[ow] = (((0.0f + r0[2 * ow]) + r0[2 * ow + 1]) + r1[2 * ow]) + r1[2 * ow + 1];
        o[ow] /= divisor;
      }
    }
    return;
  }
  for (std::int64_t oh = 0; oh < g.out_h; ++oh) {
    for (std::int64_t ow = 0; ow < g.out_w; ++ow) {
      std::int64_t h0, h1, w0, w1;
      g.window(oh, ow, h0, h1, w0, w1);
      float sum = 0.0f;
      for (std::int64_t h = h0; h < h1; ++h) {
        for (std::int64_t w = w0; w < w1; ++w) sum += in[h * g.in_w + w];
      }
      out[oh * g.out_w + ow] = sum / divisor;
    }
  }
}

void avg_plane_backward(const float* grad_out, float* grad_in, const Geometry& g) {
  const auto divisor = static_cast<float>(g.kernel.h * g.kernel.w);
  for (std::int64_t oh = 0; oh < g.out_h; ++oh) {
    for (std::int64_t ow = 0; ow < g.out_w; ++ow) {
      std::int64_t h0, h1, w0, w1;
      g.window(oh, ow, h0, h1, w0, w1);
      const float delta = grad_out[oh * g.out_w + ow] / divisor;
      for (std::int64_t h = h0; h < h1; ++h) {
        for (std::int64_t w = w0; w < w1; ++w) grad_in[h * g.in_w + w] += delta;
      }
    }
  }
}

torch::Tensor avg_forward(const torch::Tensor& x, const Geometry& g) {
  torch::Tensor out = torch::empty({x.size(0), x.size(1), g.out_h, g.out_w}, x.options());
  const float* in = x.data_ptr<float>();
  float* o = out.data_ptr<float>();
  const std::int64_t in_plane = g.in_h * g.in_w;
  const std::int64_t out_plane = g.out_h * g.out_w;
  for_each_plane(x.size(0) * x.size(1), in_plane,
                 [&](std::int64_t p) { avg_plane(in + p * in_plane, o + p * out_plane, g); });
  return out;
}

class AvgPoolFunction : public torch::autograd::Function<AvgPoolFunction> {
 public:
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& x, Size2 kernel,
                               Size2 stride, Size2 padding) {
    ctx->saved_data["input_size"] = x.sizes();
    ctx->saved_data["geometry"] =
        std::vector<std::int64_t>{kernel.h, kernel.w, stride.h, stride.w, padding.h, padding.w};
    return avg_forward(x, geometry(x, kernel, stride, padding));
  }

  static torch::autograd::tensor_list backward(torch::autograd::AutogradContext* ctx,
                                               torch::autograd::tensor_list grads) {
    const std::vector<std::int64_t> size = ctx->saved_data["input_size"].toIntVector();
    const std::vector<std::int64_t> k = ctx->saved_data["geometry"].toIntVector();
    const torch::Tensor grad_out = grads[0].contiguous();
    torch::Tensor grad_in = torch::zeros(size, grad_out.options());
    const Geometry g = geometry(grad_in, {k[0], k[1]}, {k[2], k[3]}, {k[4], k[5]});
    const std::int64_t in_plane = g.in_h * g.in_w;
    const std::int64_t out_plane = g.out_h * g.out_w;
    const float* go = grad_out.data_ptr<float>();
    float* gi = grad_in.data_ptr<float>();
    for_each_plane(size[0] * size[1], in_plane,
                   [&](std::int64_t p) { avg_plane_backward(go + p * out_plane, gi + p * in_plane, g); });
    return {grad_in, torch::Tensor(), torch::Tensor(), torch::Tensor()};
  }
};

bool records_grad(const torch::Tensor& x) { return torch::GradMode::is_enabled() && x.requires_grad(); }

}  // namespace

torch::Tensor max_pool2d(const torch::Tensor& x, Size2 kernel, Size2 stride, Size2 padding) {
  if (!supported(x)) {
    return at::max_pool2d(x, {kernel.h, kernel.w}, {stride.h, stride.w}, {padding.h, padding.w},
                          /*dilation=*/{1, 1}, /*ceil_mode=*/false);
  }
  if (records_grad(x)) return MaxPoolFunction::apply(x, kernel, stride, padding);
  return max_forward(x, geometry(x, kernel, stride, padding), nullptr);
}

torch::Tensor avg_pool2d(const torch::Tensor& x, Size2 kernel, Size2 stride, Size2 padding) {
  if (!supported(x)) {
    return at::avg_pool2d(x, {kernel.h, kernel.w}, {stride.h, stride.w}, {padding.h, padding.w},
                          /*ceil_mode=*/false, /*count_include_pad=*/true);
  }
  if (records_grad(x)) return AvgPoolFunction::apply(x, kernel, stride, padding);
  return avg_forward(x, geometry(x, kernel, stride, padding));
}

}  // namespace joules
