// joules' pooling gives LibTorch's results exactly, forward and backward, for every window
// geometry: for max pooling the same winner of ties and NaNs, for average pooling the same
// sums to the bit.

#include "train/pooling.hpp"

#include <gtest/gtest.h>

#include "train/threads.hpp"

namespace joules {
namespace {

struct Geometry {
  std::vector<std::int64_t> input;  // N, C, H, W
  Size2 kernel, stride, padding;
  friend void PrintTo(const Geometry& g, std::ostream* os) {
    *os << "input " << g.input[0] << "x" << g.input[1] << "x" << g.input[2] << "x" << g.input[3] << " kernel "
        << g.kernel.h << "x" << g.kernel.w << " stride " << g.stride.h << "x" << g.stride.w << " padding "
        << g.padding.h << "x" << g.padding.w;
  }
};

// Our pooling and LibTorch's of x, forward (with and without autograd) and backward, on one
// and two threads, compared to the bit (NaN as -7).
void expect_same_as_libtorch(PoolOp op, const torch::Tensor& x, const Geometry& g) {
  const auto ours = [&](const torch::Tensor& t) {
    return op == PoolOp::max ? max_pool2d(t, g.kernel, g.stride, g.padding)
                             : avg_pool2d(t, g.kernel, g.stride, g.padding);
  };
  const auto theirs = [&](const torch::Tensor& t) {
    const std::vector<std::int64_t> k{g.kernel.h, g.kernel.w}, s{g.stride.h, g.stride.w},
        p{g.padding.h, g.padding.w};
    return op == PoolOp::max ? torch::max_pool2d(t, k, s, p) : torch::avg_pool2d(t, k, s, p);
  };
  const auto same = [](const torch::Tensor& a, const torch::Tensor& b) {
    return a.sizes() == b.sizes() && torch::equal(a.nan_to_num(-7), b.nan_to_num(-7));
  };
  for (int threads : {1, 2}) {
    IntraOpThreads guard(threads);
    torch::Tensor ours_in = x.clone().requires_grad_();
    torch::Tensor theirs_in = x.clone().requires_grad_();
    const torch::Tensor ours_out = ours(ours_in);
    const torch::Tensor theirs_out = theirs(theirs_in);
    ASSERT_TRUE(same(ours_out, theirs_out)) << "threads " << threads;
    const torch::Tensor grad = torch::randn(ours_out.sizes());
    ours_out.backward(grad);
    theirs_out.backward(grad);
    EXPECT_TRUE(same(ours_in.grad(), theirs_in.grad())) << "threads " << threads;

    torch::NoGradGuard no_grad;  // the inference path (max: without indices)
    EXPECT_TRUE(same(ours(x), theirs_out)) << "threads " << threads;
  }
}

class MaxPoolTest : public ::testing::TestWithParam<Geometry> {};

TEST_P(MaxPoolTest, MatchesLibTorchForwardAndBackward) {
  torch::manual_seed(1);
  // Small integers: many ties inside windows; a NaN too.
  torch::Tensor x = torch::randint(0, 3, GetParam().input).to(torch::kFloat);
  x.view(-1)[x.numel() / 2] = std::numeric_limits<float>::quiet_NaN();
  expect_same_as_libtorch(PoolOp::max, x, GetParam());
}

class AvgPoolTest : public ::testing::TestWithParam<Geometry> {};

TEST_P(AvgPoolTest, MatchesLibTorchForwardAndBackward) {
  torch::manual_seed(2);
  expect_same_as_libtorch(PoolOp::avg, torch::randn(GetParam().input), GetParam());
}

const auto kWindows =
    ::testing::Values(Geometry{{4, 3, 8, 8}, {2, 2}, {2, 2}, {0, 0}},   // the common case
                      Geometry{{2, 2, 7, 9}, {2, 2}, {2, 2}, {0, 0}},   // odd sizes: floor mode drops edges
                      Geometry{{2, 3, 9, 9}, {3, 3}, {2, 2}, {1, 1}},   // padding
                      Geometry{{1, 2, 6, 11}, {3, 2}, {1, 2}, {1, 0}},  // rectangular, overlapping
                      Geometry{{3, 1, 5, 5}, {5, 5}, {5, 5}, {0, 0}});  // one window per plane
std::string window_name(const ::testing::TestParamInfo<Geometry>& param) {
  return "geometry" + std::to_string(param.index);
}
INSTANTIATE_TEST_SUITE_P(Windows, MaxPoolTest, kWindows, window_name);
INSTANTIATE_TEST_SUITE_P(Windows, AvgPoolTest, kWindows, window_name);

TEST(MaxPoolFallbackTest, OtherTensorsUseLibTorch) {
  const torch::Tensor x = torch::randn({2, 3, 6, 6}, torch::kDouble);
  EXPECT_TRUE(torch::equal(joules::max_pool2d(x, Size2{2, 2}, Size2{2, 2}, Size2{0, 0}),
                           torch::max_pool2d(x, {2, 2})));
  const torch::Tensor strided = torch::randn({2, 6, 6, 3}).permute({0, 3, 1, 2});
  EXPECT_TRUE(torch::equal(joules::max_pool2d(strided, Size2{2, 2}, Size2{2, 2}, Size2{0, 0}),
                           torch::max_pool2d(strided, {2, 2})));
}

}  // namespace
}  // namespace joules
