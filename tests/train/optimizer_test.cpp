// FlatOptimizer: the same updates as LibTorch's SGD and Adam (PyTorch's rules), with the
// parameters and gradients living in two flat buffers.

#include "train/optimizer.hpp"

#include <gtest/gtest.h>

namespace joules {
namespace {

std::vector<torch::Tensor> make_parameters() {
  torch::manual_seed(3);
  std::vector<torch::Tensor> ps{torch::randn({4, 3}), torch::randn({5}), torch::randn({2, 2, 3, 3})};
  for (auto& p : ps) p.set_requires_grad(true);
  return ps;
}

std::vector<torch::Tensor> clones(const std::vector<torch::Tensor>& ps) {
  std::vector<torch::Tensor> out;
  for (const auto& p : ps) out.push_back(p.detach().clone().set_requires_grad(true));
  return out;
}

// Runs `steps` updates with the same pseudo-random gradients through FlatOptimizer and
// through `reference`, then compares the parameters.
template <class Reference>
void expect_same_updates(const TrainOptions& options, Reference& make_reference, int steps) {
  std::vector<torch::Tensor> ours = make_parameters();
  std::vector<torch::Tensor> theirs = clones(ours);
  FlatOptimizer flat(ours, options);
  auto reference = make_reference(theirs);
  torch::manual_seed(4);
  for (int s = 0; s < steps; ++s) {
    flat.zero_grad();
    for (std::size_t i = 0; i < ours.size(); ++i) {
      const torch::Tensor g = torch::randn(ours[i].sizes());
      ours[i].mutable_grad().add_(g);  // as backward() accumulates
      theirs[i].mutable_grad() = g.clone();
    }
    flat.step(options.learning_rate);
    reference.step();
  }
  for (std::size_t i = 0; i < ours.size(); ++i) {
    EXPECT_TRUE(torch::allclose(ours[i], theirs[i], 1e-5, 1e-6)) << "parameter " << i << "\n"
                                                                 << ours[i] - theirs[i];
  }
}

TEST(FlatOptimizerTest, SgdWithMomentumAndWeightDecayMatchesLibTorch) {
  TrainOptions o;
  o.learning_rate = 0.1;
  o.momentum = 0.9;
  o.weight_decay = 0.01;
  auto make = [&](std::vector<torch::Tensor>& ps) {
    return torch::optim::SGD(
        ps, torch::optim::SGDOptions(o.learning_rate).momentum(o.momentum).weight_decay(o.weight_decay));
  };
  expect_same_updates(o, make, 5);
  o.momentum = 0.0;
  expect_same_updates(o, make, 3);
}

TEST(FlatOptimizerTest, AdamMatchesLibTorch) {
  TrainOptions o;
  o.optimizer = OptimizerKind::adam;
  o.learning_rate = 0.01;
  o.adam_beta1 = 0.8;
  o.adam_beta2 = 0.95;
  o.adam_epsilon = 1e-6;
  o.weight_decay = 0.001;
  auto make = [&](std::vector<torch::Tensor>& ps) {
    return torch::optim::Adam(ps, torch::optim::AdamOptions(o.learning_rate)
                                      .betas({o.adam_beta1, o.adam_beta2})
                                      .eps(o.adam_epsilon)
                                      .weight_decay(o.weight_decay));
  };
  expect_same_updates(o, make, 5);
}

TEST(FlatOptimizerTest, BackwardAccumulatesIntoTheFlatGradients) {
  std::vector<torch::Tensor> ps = make_parameters();
  const std::vector<torch::Tensor> before = clones(ps);
  TrainOptions o;
  o.momentum = 0.0;
  FlatOptimizer flat(ps, o);
  for (std::size_t i = 0; i < ps.size(); ++i) EXPECT_TRUE(torch::equal(ps[i], before[i]));  // values kept
  flat.zero_grad();
  torch::Tensor loss = torch::zeros({});
  for (const auto& p : ps) loss = loss + (p * p).sum();
  loss.backward();
  flat.step(0.5);  // p - 0.5 * 2p = 0
  for (const auto& p : ps) EXPECT_EQ(p.abs().max().item<float>(), 0.0f);
  EXPECT_TRUE(flat.weights_finite());
  {
    torch::NoGradGuard no_grad;
    ps[1][2] = std::numeric_limits<float>::infinity();
  }
  EXPECT_FALSE(flat.weights_finite());
}

}  // namespace
}  // namespace joules
