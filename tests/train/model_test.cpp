// The model builder: parameter counts equal space/'s for the shipped networks and for random
// members of the search space, the forward pass equals the same network written with plain
// LibTorch ops, seeded initialisation, dropout, and weights files.

#include "train/model.hpp"

#include <cstdlib>
#include <filesystem>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "space/analysis.hpp"
#include "space/architecture_yaml.hpp"
#include "space/search_space.hpp"
#include "tests/support/temp_dir.hpp"
#include "util/input_error.hpp"

namespace joules {
namespace {

using ::testing::HasSubstr;

const std::string kSource = JOULES_SOURCE_DIR;

Architecture shipped(const std::string& name) {
  return load_architecture(kSource + "/configs/architectures/" + name + ".yaml");
}

// The network written with plain LibTorch ops (nn.Linear's product, LibTorch's own pooling),
// reading the parameters by name: an independent statement of DESIGN.md's semantics.
torch::Tensor reference_forward(const Architecture& arch, Network& net, torch::Tensor x) {
  auto params = net->named_parameters();
  auto buffers = net->named_buffers();
  const auto param = [&](std::size_t i, const std::string& name) {
    const std::string key = "layers." + std::to_string(i) + "." + name;
    return params.contains(key) ? params[key] : torch::Tensor();
  };
  const auto act = [](torch::Tensor t, Activation a) {
    switch (a) {
      case Activation::none:
        return t;
      case Activation::relu:
        return torch::relu(t);
      case Activation::relu6:
        return torch::clamp(t, 0, 6);
      case Activation::leaky_relu:
        return torch::leaky_relu(t, 0.01);
      case Activation::sigmoid:
        return torch::sigmoid(t);
      case Activation::tanh:
        return torch::tanh(t);
      case Activation::gelu:
        return torch::gelu(t);
      case Activation::silu:
        return t * torch::sigmoid(t);
      case Activation::hardswish:
        return t * torch::clamp(t + 3, 0, 6) / 6;
    }
    return t;
  };
  for (std::size_t i = 0; i < arch.layers.size(); ++i) {
    if (const auto* c = std::get_if<ConvLayer>(&arch.layers[i])) {
      x = torch::conv2d(x, param(i, "weight"), param(i, "bias"), {c->stride.h, c->stride.w},
                        {c->padding.h, c->padding.w}, {1, 1}, c->groups);
      if (c->batch_norm) {
        const std::string bn = "layers." + std::to_string(i) + ".bn.";
        x = torch::batch_norm(x, params[bn + "weight"], params[bn + "bias"], buffers[bn + "running_mean"],
                              buffers[bn + "running_var"], /*training=*/false, 0.1, 1e-5, false);
      }
      x = act(x, c->activation);
    } else if (const auto* p = std::get_if<PoolLayer>(&arch.layers[i])) {
      if (p->global) {
        x = p->op == PoolOp::avg ? torch::adaptive_avg_pool2d(x, {1, 1})
                                 : std::get<0>(torch::adaptive_max_pool2d(x, {1, 1}));
      } else if (p->op == PoolOp::max) {
        x = torch::max_pool2d(x, {p->kernel.h, p->kernel.w}, {p->stride.h, p->stride.w},
                              {p->padding.h, p->padding.w});
      } else {
        x = torch::avg_pool2d(x, {p->kernel.h, p->kernel.w}, {p->stride.h, p->stride.w},
                              {p->padding.h, p->padding.w});
      }
    } else {
      const auto& f = std::get<FcLayer>(arch.layers[i]);
      x = act(torch::linear(x.flatten(1), param(i, "weight"), param(i, "bias")), f.activation);
    }
  }
  return x.flatten(1);
}

// Every layer option of DESIGN.md in one network.
const char* kEveryOption = R"(
input: [3, 21, 19]
layers:
  - conv: {filters: 8, kernel: [3, 5], stride: [1, 2], padding: [1, 2], activation: leaky_relu}
  - pool: {op: avg, kernel: 3, stride: 2, padding: 1}
  - conv: {filters: 8, kernel: 3, groups: 8, bias: false, batch_norm: true, activation: relu6}
  - conv: {filters: 16, kernel: 1, groups: 2, activation: hardswish}
  - pool: {op: max, kernel: [2, 3], stride: 1, padding: [1, 1]}
  - conv: {filters: 12, kernel: 2, activation: silu, batch_norm: true}
  - pool: {op: max, kernel: 2}
  - fc: {units: 20, activation: gelu, dropout: 0.5}
  - fc: {units: 17, activation: tanh}
  - fc: {units: 6, activation: sigmoid, bias: false}
  - fc: {units: 5}
)";

TEST(NetworkTest, ParameterCountEqualsSpacesForTheShippedNetworks) {
  for (const char* name : {"lenet5", "dws-small", "alexnet", "vgg16", "mobilenet-v1"}) {
    const Architecture arch = shipped(name);
    Network net(arch, /*seed=*/0, torch::kMeta);  // counts without allocating VGG's 138M weights
    EXPECT_EQ(net->parameter_count(), analyze(arch).params) << name;
  }
}

TEST(NetworkTest, ParameterCountAndOutputMatchForRandomSearchSpaceMembers) {
  const SearchSpace space(load_search_space(kSource + "/configs/spaces/fashion-mnist.yaml"));
  Rng rng(2024);
  for (int i = 0; i < 40; ++i) {
    const Architecture arch = space.sample_architecture(rng);
    Network net(arch, /*seed=*/i);
    ASSERT_EQ(net->parameter_count(), analyze(arch).params) << to_yaml(arch);
    net->eval();
    const torch::Tensor y = net->forward(torch::randn({3, 1, 28, 28}));
    EXPECT_EQ(y.sizes(), (std::vector<std::int64_t>{3, 10})) << to_yaml(arch);
  }
}

TEST(NetworkTest, ForwardEqualsPlainLibTorchOps) {
  for (const Architecture& arch :
       {shipped("lenet5"), shipped("dws-small"), parse_architecture(kEveryOption, "every.yaml")}) {
    Network net(arch, /*seed=*/3);
    net->eval();
    for (std::int64_t batch : {2, 20}) {  // below and above the batch where fc layers become 1x1 convs
      const torch::Tensor x = torch::randn({batch, arch.input.channels, arch.input.height, arch.input.width});
      torch::NoGradGuard no_grad;
      const torch::Tensor expected = reference_forward(arch, net, x);
      const torch::Tensor actual = net->forward(x);
      ASSERT_EQ(actual.sizes(), expected.sizes()) << arch.name;
      EXPECT_TRUE(torch::allclose(actual, expected, 1e-4, 1e-5)) << arch.name << " batch " << batch << "\n"
                                                                 << (actual - expected).abs().max();
    }
  }
}

TEST(NetworkTest, GlobalPoolingAveragesOrTakesTheMaximum) {
  for (const char* op : {"avg", "max"}) {
    const Architecture arch = parse_architecture(
        std::string(
            "input: [2, 5, 5]\nlayers:\n  - conv: {filters: 3, kernel: 3}\n  - pool: {global: true, op: ") +
            op + "}\n",
        "global.yaml");
    Network net(arch, 1);
    const torch::Tensor x = torch::randn({4, 2, 5, 5});
    torch::NoGradGuard no_grad;
    EXPECT_TRUE(torch::allclose(net->forward(x), reference_forward(arch, net, x))) << op;
  }
}

TEST(NetworkTest, InitialisationIsSeededAndFollowsPyTorchsBounds) {
  const Architecture arch = shipped("lenet5");
  Network a(arch, 5), b(arch, 5), c(arch, 6);
  const auto pa = a->named_parameters(), pb = b->named_parameters(), pc = c->named_parameters();
  for (const auto& item : pa) {
    EXPECT_TRUE(torch::equal(item.value(), pb[item.key()])) << item.key();
    EXPECT_FALSE(torch::equal(item.value(), pc[item.key()])) << item.key();
  }
  // conv 6x1x5x5: fan_in 25; fc 120x400: fan_in 400.
  EXPECT_LE(pa["layers.0.weight"].abs().max().item<double>(), 1.0 / 5);
  EXPECT_GT(pa["layers.0.weight"].abs().max().item<double>(), 0.9 / 5);
  EXPECT_LE(pa["layers.4.bias"].abs().max().item<double>(), 1.0 / 20);
}

TEST(NetworkTest, DropoutActsOnlyWhileTrainingAndIsSeeded) {
  const Architecture arch =
      parse_architecture("input: [1, 4, 4]\nlayers:\n  - fc: {units: 200, dropout: 0.5}\n", "dropout.yaml");
  Network a(arch, 9), b(arch, 9);
  const torch::Tensor x = torch::ones({32, 1, 4, 4});
  torch::NoGradGuard no_grad;
  const torch::Tensor train_a = a->forward(x);
  const torch::Tensor train_b = b->forward(x);
  EXPECT_TRUE(torch::equal(train_a, train_b));  // same seed, same masks
  a->eval();
  const torch::Tensor eval = a->forward(x);
  EXPECT_FALSE(torch::allclose(train_a, eval));
  EXPECT_TRUE(torch::allclose(eval, reference_forward(arch, a, x), 1e-4, 1e-5));
  EXPECT_TRUE(torch::allclose(a->forward(x), eval));  // deterministic in eval
}

TEST(NetworkTest, RejectsInvalidArchitectures) {
  Architecture arch = shipped("lenet5");
  std::get<ConvLayer>(arch.layers[2]).kernel = Size2{40, 40};
  try {
    Network net(arch);
    FAIL();
  } catch (const SpecError& e) {
    EXPECT_EQ(e.key(), "layers[2].conv.kernel");
  }
}

TEST(WeightsFileTest, RoundTripsThroughSaveAndLoad) {
  testing::TempDir dir;
  const std::string path = (dir.path() / "w.pt").string();
  const Architecture arch = shipped("dws-small");
  Network a(arch, 1), b(arch, 2);
  {
    a->train();  // move the batch-norm running statistics away from their initial values
    torch::NoGradGuard no_grad;
    a->forward(torch::randn({8, 1, 28, 28}));
  }
  save_weights(a, path);
  load_weights(b, path);
  const auto pb = b->named_parameters();
  for (const auto& item : a->named_parameters())
    EXPECT_TRUE(torch::equal(item.value(), pb[item.key()])) << item.key();
  const auto bb = b->named_buffers();
  for (const auto& item : a->named_buffers())
    EXPECT_TRUE(torch::equal(item.value(), bb[item.key()])) << item.key();

  Network other(shipped("lenet5"));
  try {
    load_weights(other, path);
    FAIL();
  } catch (const std::runtime_error& e) {
    EXPECT_THAT(e.what(), HasSubstr(path));
    EXPECT_THAT(e.what(), HasSubstr("layers.0.weight has shape 16x1x3x3, the network expects 6x1x5x5"));
  }
  const std::string missing = (dir.path() / "missing.pt").string();
  EXPECT_THAT([&] { load_weights(other, missing); },
              ::testing::ThrowsMessage<std::runtime_error>(HasSubstr(missing + ": cannot open weights file")));
}

TEST(WeightsFileTest, PythonTorchLoadReadsIt) {
  // The file is meant for PyTorch users; check with Debian's python3-torch when present
  // (about a second: importing torch).
  if (std::system("/usr/bin/python3 -c 'import torch' > /dev/null 2>&1") != 0) {
    GTEST_SKIP() << "no /usr/bin/python3 with torch";
  }
  testing::TempDir dir;
  const std::string path = (dir.path() / "w.pt").string();
  Network net(shipped("lenet5"), 4);
  save_weights(net, path);
  const double sum = net->named_parameters()["layers.4.weight"].sum().item<double>();
  const std::string check = "/usr/bin/python3 -c \"import torch, sys; d = torch.load('" + path +
                            "'); w = d['layers.4.weight']; sys.exit(0 if tuple(w.shape) == (120, 400) and "
                            "abs(float(w.sum()) - (" +
                            std::to_string(sum) + ")) < 1e-3 and len(d) == 10 else 1)\"";
  EXPECT_EQ(std::system(check.c_str()), 0) << check;
}

}  // namespace
}  // namespace joules
