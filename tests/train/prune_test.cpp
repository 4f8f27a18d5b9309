// Pruning on real networks: the surgery leaves a network that computes what the original does
// with the removed filters silenced, and `joules prune` as a user runs it (files written, the
// table's figures, the steps kept, bad input refused with nothing written).

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "energy/prune_plan.hpp"
#include "space/architecture_yaml.hpp"
#include "tests/cli/run_command.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/train/dataset_files.hpp"
#include "train/model.hpp"
#include "train/weights.hpp"

namespace joules::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

const char* kNet = R"(name: small
input: [1, 8, 8]
layers:
  - conv: {filters: 6, kernel: 3, padding: 1}
  - pool: {op: max, kernel: 2}
  - conv: {filters: 5, kernel: 3, padding: 1}
  - fc: {units: 3}
)";

TEST(PruneSurgeryTest, PrunedNetworkComputesTheOriginalWithTheRemovedFiltersSilenced) {
  const Architecture arch = parse_architecture(kNet, "small.yaml");
  torch::manual_seed(0);
  Network original(arch, /*seed=*/3);
  NetworkWeights w = network_weights(original);
  const PrunePlan plan{.filters = {4, 0, 3, 0}, .kept = {{0, 2, 3, 5}, {}, {1, 2, 4}, {}}};
  const Architecture pruned_arch = with_filter_counts(arch, plan.filters);
  Network pruned(pruned_arch, /*seed=*/9);
  set_network_weights(pruned, prune_weights(arch, w, plan));

  // Silence the removed filters: zero weights and bias give relu(0) = 0 after every layer.
  const auto silence = [](LayerWeights& l, std::size_t filters, std::initializer_list<std::size_t> removed) {
    const std::size_t row = l.weight.size() / filters;
    for (std::size_t f : removed) {
      std::fill_n(l.weight.begin() + static_cast<std::ptrdiff_t>(f * row), row, 0.0f);
      l.bias[f] = 0;
    }
  };
  silence(w.layers[0], 6, {1, 4});
  silence(w.layers[2], 5, {0, 3});
  Network silenced(arch, /*seed=*/3);
  set_network_weights(silenced, w);

  const torch::Tensor x = torch::rand({4, 1, 8, 8});
  torch::NoGradGuard no_grad;
  original->eval();
  pruned->eval();
  silenced->eval();
  const torch::Tensor expected = silenced->forward(x);
  EXPECT_TRUE(torch::allclose(pruned->forward(x), expected, 1e-5, 1e-6));
  EXPECT_FALSE(torch::allclose(original->forward(x), expected, 1e-5, 1e-6));  // the filters mattered
}

TEST(PruneSurgeryTest, SetWeightsRefusesWeightsOfAnotherNetwork) {
  const Architecture arch = parse_architecture(kNet, "small.yaml");
  Network network(arch, 0);
  NetworkWeights w = network_weights(network);
  w.layers[2].bias.pop_back();
  try {
    set_network_weights(network, w);
    FAIL() << "accepted a short bias";
  } catch (const std::invalid_argument& e) {
    EXPECT_THAT(e.what(), HasSubstr("layer 3: layers.2.bias has 4 values, the network expects 5"));
  }
}

// A board whose conv energy rises in steps of 4 filters.
const char* kStairs =
    "format: 1\n"
    "board: stairs-board\n"
    "provenance: {kind: measured, sensor: INA3221, rails: [VDD_GPU]}\n"
    "energy:\n"
    "  target: energy_mj\n"
    "  overhead_mj: 1\n"
    "  models:\n"
    "    conv: {family: stairs, granularity: 4, mj_per_mac: 1e-04, mj_per_layer: 0.05}\n"
    "    fc: {family: linear, mj_per_mac: 1e-04, mj_per_layer: 0.01}\n";

const char* kWide = R"(name: wide
input: [1, 8, 8]
layers:
  - conv: {filters: 10, kernel: 3, padding: 1}
  - pool: {op: max, kernel: 2}
  - conv: {filters: 10, kernel: 3, padding: 1, batch_norm: true}
  - fc: {units: 3}
)";

class PruneCommandTest : public ::testing::Test {
 protected:
  void SetUp() override {
    write_idx_dataset((dir_.path() / "data").string(), 300, 60, /*classes=*/3, /*gzipped=*/false);
    arch_ = dir_.write("wide.yaml", kWide);
    profile_ = dir_.write("stairs.yaml", kStairs);
    config_ = dir_.write("data.yaml", "data: {kind: mnist-idx, path: " + (dir_.path() / "data").string() +
                                          ", validation_size: 60}\ntraining: {batch_size: 16}\n");
    weights_ = (dir_.path() / "wide.pt").string();
    const CommandResult r = run_joules({"train", arch_, "--config", config_, "--epochs", "2", "--no-test",
                                        "--save", weights_});
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  CommandResult prune(std::vector<std::string> extra) const {
    std::vector<std::string> a{"prune", arch_, "--weights", weights_, "--board", profile_, "--config", config_};
    a.insert(a.end(), extra.begin(), extra.end());
    return run_joules(a);
  }

  TempDir dir_;
  std::string arch_, profile_, config_, weights_;
};

TEST_F(PruneCommandTest, StepAwareKeepsStepsAndWritesEveryFile) {
  const std::string out = (dir_.path() / "out").string();
  const CommandResult r = prune({"--keep", "0.5", "--out", out, "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["method"], "step-aware");
  EXPECT_EQ(j["granularity"], 4);
  EXPECT_LT(j["energy_after_mj"].get<double>(), j["energy_before_mj"].get<double>());
  EXPECT_TRUE(j["accuracy_before"].is_number());
  EXPECT_TRUE(j["accuracy_after"].is_number());
  for (const auto& l : j["layers"]) {
    if (!l.contains("filters_after")) continue;
    const std::int64_t after = l["filters_after"];
    EXPECT_TRUE(after == 10 || after % 4 == 0 || after < 4) << after;
  }
  const Architecture pruned = load_architecture(out + "/pruned.yaml");
  EXPECT_EQ(pruned.name, "wide-pruned");
  EXPECT_EQ(std::get<ConvLayer>(pruned.layers[0]).filters, j["layers"][0]["filters_after"].get<std::int64_t>());
  // The weights fit the pruned network; the ONNX file and the table are there.
  EXPECT_EQ(read_weights_file(pruned, out + "/pruned.pt").layers.size(), 4u);
  EXPECT_TRUE(std::filesystem::is_regular_file(out + "/pruned.onnx"));
  EXPECT_EQ(nlohmann::json::parse(std::ifstream(out + "/pruned.json"))["energy_after_mj"], j["energy_after_mj"]);
}

TEST_F(PruneCommandTest, UniformBaselineCountsTheFiltersRemovedForNoStep) {
  const std::string out = (dir_.path() / "u").string();
  const CommandResult r = prune({"--keep", "0.5", "--baseline", "uniform", "--fine-tune-epochs", "0", "--out", out});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("uniform pruning on stairs-board (conv steps of 4 filters)"));
  // 10 -> 5 filters in both convs: 5 still runs as 8, so 3 of the 5 removed per layer bought no step.
  EXPECT_THAT(r.out, HasSubstr("10 filters removed, 6 of them within a step"));
  const Architecture pruned = load_architecture(out + "/uniform.yaml");
  EXPECT_EQ(std::get<ConvLayer>(pruned.layers[2]).filters, 5);
}

TEST_F(PruneCommandTest, BadInputExitsTwoAndWritesNothing) {
  const std::string out = (dir_.path() / "never").string();
  // Weights of another network (one conv layer more).
  const std::string other = dir_.write("other.yaml", R"(input: [1, 8, 8]
layers:
  - conv: {filters: 10, kernel: 3, padding: 1}
  - conv: {filters: 10, kernel: 3, padding: 1}
  - pool: {op: max, kernel: 2}
  - conv: {filters: 10, kernel: 3, padding: 1, batch_norm: true}
  - fc: {units: 3}
)");
  CommandResult r = run_joules({"prune", other, "--weights", weights_, "--board", profile_, "--keep", "0.5",
                                "--out", out});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, StartsWith("error: " + weights_));
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  // A target above the network's energy.
  r = prune({"--energy-mj", "1e9", "--out", out});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("--energy-mj: the target 1e+09 mJ is not below the network's estimated"));
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  r = prune({"--out", out});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("--energy-mj or --keep"));
  EXPECT_FALSE(std::filesystem::exists(out));
}

}  // namespace
}  // namespace joules::testing
