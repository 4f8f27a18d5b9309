// joules' max pooling gives LibTorch's results exactly, forward and backward: the same
// maxima and the same winner of ties and NaNs, for every window geometry.

#include "train/max_pool.hpp"

#include <gtest/gtest.h>

#include "train/threads.hpp"

namespace joules {
namespace {

struct Geometry {
  std::vector<std::int64_t> input;  // N, C, H, W
  Size2 kernel, stride, padding;
};

class MaxPoolTest : public ::testing::TestWithParam<Geometry> {};

TEST_P(MaxPoolTest, MatchesLibTorchForwardAndBackward) {
  const Geometry& g = GetParam();
  torch::manual_seed(1);
  // Small integers: many ties inside windows; a NaN too.
  torch::Tensor x = torch::randint(0, 3, g.input).to(torch::kFloat);
  x.view(-1)[x.numel() / 2] = std::numeric_limits<float>::quiet_NaN();
  for (int threads : {1, 2}) {
    IntraOpThreads guard(threads);
    torch::Tensor ours_in = x.clone().requires_grad_();
    torch::Tensor theirs_in = x.clone().requires_grad_();
    const torch::Tensor ours = max_pool2d(ours_in, g.kernel, g.stride, g.padding);
    const torch::Tensor theirs = torch::max_pool2d(theirs_in, {g.kernel.h, g.kernel.w}, {g.stride.h, g.stride.w},
                                                   {g.padding.h, g.padding.w});
    ASSERT_EQ(ours.sizes(), theirs.sizes());
    EXPECT_TRUE(torch::equal(ours.nan_to_num(-7), theirs.nan_to_num(-7))) << "threads " << threads;
    const torch::Tensor grad = torch::randn(ours.sizes());
    ours.backward(grad);
    theirs.backward(grad);
    EXPECT_TRUE(torch::equal(ours_in.grad(), theirs_in.grad())) << "threads " << threads;

    torch::NoGradGuard no_grad;  // the inference path, without indices
    EXPECT_TRUE(torch::equal(max_pool2d(x, g.kernel, g.stride, g.padding).nan_to_num(-7), theirs.nan_to_num(-7)));
  }
}

INSTANTIATE_TEST_SUITE_P(
    Windows, MaxPoolTest,
    ::testing::Values(Geometry{{4, 3, 8, 8}, {2, 2}, {2, 2}, {0, 0}},   // the common case
                      Geometry{{2, 2, 7, 9}, {2, 2}, {2, 2}, {0, 0}},   // odd sizes: floor mode drops edges
                      Geometry{{2, 3, 9, 9}, {3, 3}, {2, 2}, {1, 1}},   // padding
                      Geometry{{1, 2, 6, 11}, {3, 2}, {1, 2}, {1, 0}},  // rectangular, overlapping
                      Geometry{{3, 1, 5, 5}, {5, 5}, {5, 5}, {0, 0}}),  // one window per plane
    [](const ::testing::TestParamInfo<Geometry>& param) { return "geometry" + std::to_string(param.index); });

TEST(MaxPoolFallbackTest, OtherTensorsUseLibTorch) {
  const torch::Tensor x = torch::randn({2, 3, 6, 6}, torch::kDouble);
  EXPECT_TRUE(torch::equal(joules::max_pool2d(x, Size2{2, 2}, Size2{2, 2}, Size2{0, 0}), torch::max_pool2d(x, {2, 2})));
  const torch::Tensor strided = torch::randn({2, 6, 6, 3}).permute({0, 3, 1, 2});
  EXPECT_TRUE(torch::equal(joules::max_pool2d(strided, Size2{2, 2}, Size2{2, 2}, Size2{0, 0}), torch::max_pool2d(strided, {2, 2})));
}

}  // namespace
}  // namespace joules
