#include "train/max_pool.hpp"

#include <cmath>
#include <limits>

#include <ATen/Parallel.h>

namespace joules {
namespace {

struct Geometry {
  std::int64_t in_h, in_w, out_h, out_w;
  Size2 kernel, stride, padding;
};

// Whether v replaces the running maximum m: PyTorch's rule (a larger value, or any NaN).
inline bool takes_over(float v, float m) { return v > m || v != v; }

// 2x2 windows with stride 2 and no padding, the common case: branch-free so that it
// vectorises.
template <bool kIndices>
void pool_plane_2x2(const float* in, float* out, std::int32_t* indices, const Geometry& g) {
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

// One channel plane, any window. `indices` may be null (inference). An index is the offset
// of the maximum inside its input plane, as PyTorch's.
void pool_plane(const float* in, float* out, std::int32_t* indices, const Geometry& g) {
  if (g.kernel == Size2{2, 2} && g.stride == Size2{2, 2} && g.padding == Size2{0, 0}) {
    if (indices != nullptr) {
      pool_plane_2x2<true>(in, out, indices, g);
    } else {
      pool_plane_2x2<false>(in, out, nullptr, g);
    }
    return;
  }
  for (std::int64_t oh = 0; oh < g.out_h; ++oh) {
    std::int64_t h0 = oh * g.stride.h - g.padding.h;
    const std::int64_t h1 = std::min(h0 + g.kernel.h, g.in_h);
    h0 = std::max<std::int64_t>(h0, 0);
    for (std::int64_t ow = 0; ow < g.out_w; ++ow) {
      std::int64_t w0 = ow * g.stride.w - g.padding.w;
      const std::int64_t w1 = std::min(w0 + g.kernel.w, g.in_w);
      w0 = std::max<std::int64_t>(w0, 0);
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

Geometry geometry(const torch::Tensor& x, Size2 kernel, Size2 stride, Size2 padding) {
  Geometry g{x.size(2), x.size(3), 0, 0, kernel, stride, padding};
  g.out_h = (g.in_h + 2 * padding.h - kernel.h) / stride.h + 1;
  g.out_w = (g.in_w + 2 * padding.w - kernel.w) / stride.w + 1;
  return g;
}

// Planes per parallel task: enough work to amortise the scheduling.
std::int64_t grain(const Geometry& g) { return std::max<std::int64_t>(1, 32768 / (g.in_h * g.in_w + 1)); }

torch::Tensor pool(const torch::Tensor& x, const Geometry& g, torch::Tensor* indices) {
  const std::int64_t planes = x.size(0) * x.size(1);
  torch::Tensor out = torch::empty({x.size(0), x.size(1), g.out_h, g.out_w}, x.options());
  if (indices != nullptr) *indices = torch::empty(out.sizes(), x.options().dtype(torch::kInt32));
  const float* in = x.data_ptr<float>();
  float* o = out.data_ptr<float>();
  std::int32_t* idx = indices != nullptr ? indices->data_ptr<std::int32_t>() : nullptr;
  const std::int64_t in_plane = g.in_h * g.in_w;
  const std::int64_t out_plane = g.out_h * g.out_w;
  at::parallel_for(0, planes, grain(g), [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t p = begin; p < end; ++p) {
      pool_plane(in + p * in_plane, o + p * out_plane, idx != nullptr ? idx + p * out_plane : nullptr, g);
    }
  });
  return out;
}

class MaxPoolFunction : public torch::autograd::Function<MaxPoolFunction> {
 public:
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& x, Size2 kernel,
                               Size2 stride, Size2 padding) {
    const Geometry g = geometry(x, kernel, stride, padding);
    torch::Tensor indices;
    torch::Tensor out = pool(x, g, &indices);
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
    const std::int64_t planes = size[0] * size[1];
    const std::int64_t in_plane = size[2] * size[3];
    const std::int64_t out_plane = indices.size(2) * indices.size(3);
    const float* go = grad_out.data_ptr<float>();
    const std::int32_t* idx = indices.data_ptr<std::int32_t>();
    float* gi = grad_in.data_ptr<float>();
    at::parallel_for(0, planes, std::max<std::int64_t>(1, 32768 / (in_plane + 1)), [&](std::int64_t b, std::int64_t e) {
      for (std::int64_t p = b; p < e; ++p) {
        for (std::int64_t o = 0; o < out_plane; ++o) gi[p * in_plane + idx[p * out_plane + o]] += go[p * out_plane + o];
      }
    });
    return {grad_in, torch::Tensor(), torch::Tensor(), torch::Tensor()};
  }
};

}  // namespace

torch::Tensor max_pool2d(const torch::Tensor& x, Size2 kernel, Size2 stride, Size2 padding) {
  const bool supported = x.is_cpu() && x.scalar_type() == torch::kFloat && x.dim() == 4 && x.is_contiguous() &&
                         x.size(2) * x.size(3) <= std::numeric_limits<std::int32_t>::max();
  if (!supported) {
    return at::max_pool2d(x, {kernel.h, kernel.w}, {stride.h, stride.w}, {padding.h, padding.w},
                          /*dilation=*/{1, 1}, /*ceil_mode=*/false);
  }
  if (torch::GradMode::is_enabled() && x.requires_grad()) return MaxPoolFunction::apply(x, kernel, stride, padding);
  return pool(x, geometry(x, kernel, stride, padding), nullptr);
}

}  // namespace joules
