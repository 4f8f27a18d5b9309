// The ONNX files joules writes, run by an independent runtime (OpenCV DNN): their logits equal
// LibTorch's forward pass on the same weights, and the joules commands that read and write them.

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <onnx/onnx_pb.h>
#include <opencv2/dnn.hpp>
#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include "onnx/onnx_model.hpp"
#include "space/analysis.hpp"
#include "space/architecture_yaml.hpp"
#include "tests/cli/run_command.hpp"
#include "tests/onnx/members.hpp"
#include "tests/support/temp_dir.hpp"
#include "train/data.hpp"
#include "train/data_tensors.hpp"
#include "train/model.hpp"
#include "train/trainer.hpp"
#include "train/weights.hpp"

namespace joules {
namespace {

using ::testing::HasSubstr;
using testing::run_joules;
using testing::TempDir;
namespace fs = std::filesystem;

constexpr int kInputs = 64;
constexpr double kTolerance = 1e-4;  // max abs difference / max abs logit

// Random batch-norm parameters and statistics, so that folding is exercised.
void randomize_batch_norm(Network& net, std::uint64_t seed) {
  torch::NoGradGuard no_grad;
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  for (auto& p : net->named_parameters()) {
    if (p.key().find(".bn.weight") != std::string::npos) p.value().uniform_(0.5, 1.5, gen);
    if (p.key().find(".bn.bias") != std::string::npos) p.value().uniform_(-0.5, 0.5, gen);
  }
  for (auto& b : net->named_buffers()) {
    if (b.key().find("running_mean") != std::string::npos) b.value().uniform_(-0.5, 0.5, gen);
    if (b.key().find("running_var") != std::string::npos) b.value().uniform_(0.5, 2.0, gen);
  }
}

// OpenCV 4.6 reads Clip only in its opset-6 form (min and max as attributes), not opset 11's
// inputs that the file has, as TensorRT and onnxruntime read. The runtime gets a copy with
// relu6's Clip nodes rewritten to that form; nothing else changes.
cv::dnn::Net opencv_net(const std::string& bytes) {
  onnx::ModelProto model;
  EXPECT_TRUE(model.ParseFromString(bytes));
  for (auto& node : *model.mutable_graph()->mutable_node()) {
    if (node.op_type() != "Clip" || node.input_size() != 3) continue;
    node.mutable_input()->DeleteSubrange(1, 2);
    for (const auto& [name, value] : {std::pair{"min", 0.0f}, std::pair{"max", 6.0f}}) {
      onnx::AttributeProto* a = node.add_attribute();
      a->set_name(name);
      a->set_type(onnx::AttributeProto::FLOAT);
      a->set_f(value);
    }
  }
  std::string rewritten;
  model.SerializeToString(&rewritten);
  return cv::dnn::readNetFromONNX(rewritten.data(), rewritten.size());
}

torch::Tensor opencv_forward(cv::dnn::Net& net, const torch::Tensor& x) {
  const torch::Tensor c = x.contiguous();
  const int dims[4] = {static_cast<int>(c.size(0)), static_cast<int>(c.size(1)), static_cast<int>(c.size(2)),
                       static_cast<int>(c.size(3))};
  const cv::Mat blob(4, dims, CV_32F, c.data_ptr<float>());
  net.setInput(blob, "input");
  const cv::Mat out = net.forward("logits");
  return torch::from_blob(const_cast<float*>(out.ptr<float>()), {out.size[0], static_cast<std::int64_t>(out.total()) / out.size[0]})
      .clone();
}

struct Fidelity {
  double max_abs_diff = 0;
  double scale = 0;
  double relative() const { return max_abs_diff / std::max(scale, 1e-12); }
};

// LibTorch's forward of `arch` (seeded weights, random batch norm and normalisation) against
// OpenCV's run of its ONNX file, on kInputs seeded [0, 1] images.
Fidelity compare(const Architecture& arch, std::uint64_t seed, int batch = kInputs) {
  Network net(arch, seed);
  randomize_batch_norm(net, seed + 1);
  net->eval();
  NetworkWeights weights = network_weights(net);
  weights.normalization = testing::random_weights(arch, seed).normalization;
  const std::string bytes = onnx_model_bytes(arch, weights);
  cv::dnn::Net cv_net = opencv_net(bytes);
  cv_net.setPreferableBackend(cv::dnn::DNN_BACKEND_OPENCV);

  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed + 2);
  const Shape s = arch.input;
  const torch::Tensor images = torch::rand({kInputs, s.channels, s.height, s.width}, gen);
  const auto per_channel = [&](const std::vector<double>& v) {
    return torch::tensor(v, torch::kDouble).to(torch::kFloat).view({1, s.channels, 1, 1});
  };
  Fidelity f;
  torch::NoGradGuard no_grad;
  for (int start = 0; start < kInputs; start += batch) {
    const torch::Tensor x = images.narrow(0, start, std::min(batch, kInputs - start));
    const torch::Tensor expected =
        net->forward((x - per_channel(weights.normalization.mean)) / per_channel(weights.normalization.std));
    const torch::Tensor got = opencv_forward(cv_net, x);
    EXPECT_EQ(got.sizes(), expected.sizes());
    if (got.sizes() != expected.sizes()) return {1, 1};
    f.max_abs_diff = std::max(f.max_abs_diff, (got - expected).abs().max().item<double>());
    f.scale = std::max(f.scale, expected.abs().max().item<double>());
  }
  return f;
}

class OnnxRuntimeTest : public ::testing::Test {};

TEST_F(OnnxRuntimeTest, ShippedArchitecturesMatchLibTorchInOpenCv) {
  for (const auto& entry : fs::directory_iterator(JOULES_SOURCE_DIR "/configs/architectures")) {
    const Architecture arch = load_architecture(entry.path().string());
    const Fidelity f = compare(arch, /*seed=*/11, /*batch=*/8);
    std::printf("%s: max-abs difference / logit scale %.3g\n", entry.path().filename().c_str(), f.relative());
    EXPECT_LE(f.relative(), kTolerance) << entry.path() << ": max abs difference " << f.max_abs_diff
                                        << " for logits up to " << f.scale;
  }
}

TEST_F(OnnxRuntimeTest, SeededSpaceMembersMatchLibTorchInOpenCv) {
  int checked = 0;
  double worst = 0;
  for (const Architecture& arch : testing::varied_members(200, /*seed=*/3)) {
    const Fidelity f = compare(arch, canonical_hash(arch));
    worst = std::max(worst, f.relative());
    EXPECT_LE(f.relative(), kTolerance) << to_yaml(arch) << "max abs difference " << f.max_abs_diff
                                        << " for logits up to " << f.scale;
    ++checked;
  }
  EXPECT_EQ(checked, 200);
  RecordProperty("worst_relative_difference", std::to_string(worst));
  std::printf("worst max-abs difference / logit scale over 200 members: %.3g\n", worst);
}

bool have_fashion_mnist() { return fs::exists(fs::path(kFashionMnistPath)); }

// A LeNet-5 trained briefly: the ONNX file and LibTorch agree on the class of every one of the
// 10,000 test images, so the file's accuracy is the reported one.
TEST_F(OnnxRuntimeTest, TrainedLenetAgreesOnEveryFashionMnistTestImage) {
  if (!have_fashion_mnist()) GTEST_SKIP() << "no Fashion-MNIST at " << kFashionMnistPath;
  const TempDir dir;
  const Architecture arch = load_architecture(JOULES_SOURCE_DIR "/configs/architectures/lenet5.yaml");
  const std::shared_ptr<const Data> data = load_data(DataOptions{});
  TrainOptions options;
  options.steps = 300;
  options.evaluate_test = true;
  options.save_path = (dir.path() / "lenet.pt").string();
  const TrainResult result = train_architecture(arch, *data, options);
  ASSERT_EQ(result.status, TrainStatus::ok) << result.reason;

  const NetworkWeights weights = read_weights_file(arch, options.save_path);
  ASSERT_EQ(weights.normalization.mean.size(), 1u);
  EXPECT_NEAR(weights.normalization.mean[0], data->channel_mean(0) / 255.0, 1e-9);
  const std::string bytes = onnx_model_bytes(arch, weights);
  cv::dnn::Net cv_net = opencv_net(bytes);

  Network net(arch);
  load_weights(net, options.save_path);
  net->eval();
  const Data::Tensors& t = data->tensors();
  torch::NoGradGuard no_grad;
  std::int64_t agree = 0, correct = 0;
  for (std::int64_t start = 0; start < data->test_size(); start += 500) {
    const torch::Tensor index = t.test_index.narrow(0, start, 500);
    torch::Tensor normalized;
    gather_images(t, t.test_images, index, normalized);
    const torch::Tensor raw = t.test_images.index_select(0, index).to(torch::kFloat) / 255.0;
    const torch::Tensor a = net->forward(normalized).argmax(1);
    const torch::Tensor b = opencv_forward(cv_net, raw).argmax(1);
    agree += a.eq(b).sum().item<std::int64_t>();
    correct += b.eq(t.test_labels.index_select(0, index)).sum().item<std::int64_t>();
  }
  EXPECT_EQ(agree, data->test_size());
  EXPECT_NEAR(static_cast<double>(correct) / data->test_size(), *result.test_accuracy, 1e-12);
}

// --- the commands ----------------------------------------------------------------------------

const std::string kLenetYaml = JOULES_SOURCE_DIR "/configs/architectures/lenet5.yaml";
const std::string kFixtures = JOULES_SOURCE_DIR "/tests/onnx/fixtures/";

TEST_F(OnnxRuntimeTest, InspectReadsAPyTorchExport) {
  const auto r = run_joules({"inspect", kFixtures + "lenet.onnx", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const nlohmann::json j = nlohmann::json::parse(r.out);
  const nlohmann::json expected =
      nlohmann::json::parse(std::ifstream(kFixtures + "expected.json"))["lenet.onnx"];
  EXPECT_EQ(j["macs"], expected["macs"]);
  EXPECT_EQ(j["params"], expected["params"]);
  EXPECT_EQ(j["layers"].back()["output"], expected["output"]);
}

TEST_F(OnnxRuntimeTest, BadOnnxFilesExitTwoWithOneLine) {
  const TempDir dir;
  const std::string truncated = (dir.path() / "truncated.onnx").string();
  {
    std::ifstream in(kFixtures + "lenet.onnx", std::ios::binary);
    const std::string bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    std::ofstream(truncated, std::ios::binary) << bytes.substr(0, bytes.size() / 3);
  }
  for (const auto& [file, message] :
       std::vector<std::pair<std::string, std::string>>{{truncated, "not an ONNX model"},
                                                        {kFixtures + "residual_add.onnx", "(Add): "},
                                                        {kFixtures + "upsample.onnx", "(Resize): "}}) {
    for (const char* command : {"inspect", "train"}) {
      const auto r = run_joules({command, file});
      EXPECT_EQ(r.exit_code, 2) << command << " " << file;
      EXPECT_THAT(r.err, HasSubstr("error: " + file + ": "));
      EXPECT_THAT(r.err, HasSubstr(message));
      EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    }
  }
  const auto r = run_joules({"estimate", kFixtures + "residual_add.onnx", "--board",
                             JOULES_SOURCE_DIR "/profiles/jetson-nano.yaml"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_THAT(r.err, HasSubstr("(Add): "));
}

TEST_F(OnnxRuntimeTest, ConvertWritesACheckedFileWithSeededWeights) {
  const TempDir dir;
  const std::string a = (dir.path() / "a.onnx").string();
  const std::string b = (dir.path() / "b.onnx").string();
  auto r = run_joules({"convert", kLenetYaml, "--onnx", a, "--seed", "5"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("logits [N, 10]"));
  r = run_joules({"convert", kLenetYaml, "--onnx", b, "--seed", "5"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const OnnxImport ia = load_onnx(a);
  EXPECT_EQ(ia.arch.layers, load_architecture(kLenetYaml).layers);
  EXPECT_EQ(ia.weights.layers, load_onnx(b).weights.layers);  // same seed, same weights
  EXPECT_EQ(ia.weights.layers[0].weight, initial_weights(ia.arch, 5).layers[0].weight);
  // The ONNX file converts back (its architecture, fresh weights).
  r = run_joules({"inspect", a, "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out)["macs"], analyze(ia.arch).macs);
}

TEST_F(OnnxRuntimeTest, ConvertRefusesWeightsOfAnotherArchitecture) {
  const TempDir dir;
  Network other(parse_architecture("input: [1, 28, 28]\nlayers:\n  - fc: {units: 10}\n", "x.yaml"));
  const std::string pt = (dir.path() / "other.pt").string();
  save_weights(other, pt);
  const std::string out = (dir.path() / "out.onnx").string();
  const auto r = run_joules({"convert", kLenetYaml, "--weights", pt, "--onnx", out});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("error: "));
  EXPECT_THAT(r.err, HasSubstr(pt));
  EXPECT_FALSE(fs::exists(out));
}

TEST_F(OnnxRuntimeTest, TrainWritesTheTrainedNetworkAsOnnx) {
  if (!have_fashion_mnist()) GTEST_SKIP() << "no Fashion-MNIST at " << kFashionMnistPath;
  const TempDir dir;
  const std::string onnx = (dir.path() / "lenet.onnx").string();
  const auto r = run_joules({"train", kLenetYaml, "--steps", "20", "--train-samples", "2000", "--no-test",
                             "--onnx", onnx});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("ONNX model saved to " + onnx));
  const OnnxImport m = load_onnx(onnx);
  std::map<std::string, std::string> meta(m.metadata.begin(), m.metadata.end());
  EXPECT_TRUE(meta.count("validation_accuracy"));
  EXPECT_NEAR(nlohmann::json::parse(meta.at("mean"))[0].get<double>(), 0.286, 0.01);  // Fashion-MNIST's
  // Only the ONNX file is left (the weights went through a temporary file).
  EXPECT_EQ(std::distance(fs::directory_iterator(dir.path()), fs::directory_iterator()), 1);
  // An imported file trains its architecture from scratch.
  const auto again = run_joules({"train", onnx, "--steps", "5", "--train-samples", "500", "--no-test", "--json"});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(nlohmann::json::parse(again.out)["hash"], canonical_hash_hex(load_architecture(kLenetYaml)));
}

// A tiny search with batch norm: every exported member gets an ID.onnx whose outputs on raw
// pixels are LibTorch's on ID.pt with the saved normalisation, and whose metadata is the run's.
TEST_F(OnnxRuntimeTest, ExportWritesAnOnnxFilePerFrontMember) {
  if (!have_fashion_mnist()) GTEST_SKIP() << "no Fashion-MNIST at " << kFashionMnistPath;
  const TempDir dir;
  const std::string config = (dir.path() / "tiny.yaml").string();
  std::ofstream(config) << "name: tiny\nseed: 5\nboard: " JOULES_SOURCE_DIR "/profiles/jetson-nano.yaml\n"
                           "space:\n  input: [1, 28, 28]\n  classes: 10\n  conv_blocks:\n    count: {min: 1, max: 2}\n"
                           "    filters: [4, 8]\n    kernel: [3]\n    stride: [1]\n"
                           "    batch_norm: [true]\n    pool: [max, avg]\n  fc_layers:\n    count: {min: 0, max: 1}\n"
                           "    units: [16]\ndata:\n  validation_size: 500\ntraining:\n  train_samples: 256\n"
                           "search:\n  population: 4\n  generations: 1\n  jobs: 1\n";
  const fs::path run = dir.path() / "run";
  const auto r = run_joules({"search", config, "--out", run.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err << r.out;
  int members = 0;
  for (const auto& entry : fs::directory_iterator(run / "pareto")) {
    if (entry.path().extension() != ".pt") continue;
    const fs::path onnx = fs::path(entry.path()).replace_extension(".onnx");
    ASSERT_TRUE(fs::exists(onnx)) << onnx;
    const Architecture arch = load_architecture(fs::path(entry.path()).replace_extension(".yaml").string());
    const OnnxImport imported = load_onnx(onnx.string());
    EXPECT_EQ(canonical_hash_hex(imported.arch), canonical_hash_hex(testing::folded(arch)));
    const std::map<std::string, std::string> meta(imported.metadata.begin(), imported.metadata.end());
    EXPECT_EQ(meta.at("board"), "jetson-nano");
    EXPECT_TRUE(meta.count("energy_mj") && meta.count("energy_band_mj") && meta.count("validation_accuracy"));
    EXPECT_EQ(meta.at("architecture_hash"), canonical_hash_hex(arch));

    Network net(arch);
    load_weights(net, entry.path().string());
    net->eval();
    const Normalization n = load_normalization(entry.path().string());
    ASSERT_EQ(n.mean.size(), 1u);
    std::ifstream in(onnx, std::ios::binary);
    const std::string bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    cv::dnn::Net cv_net = opencv_net(bytes);
    auto gen = at::make_generator<at::CPUGeneratorImpl>(9);
    const torch::Tensor x = torch::rand({kInputs, 1, 28, 28}, gen);
    torch::NoGradGuard no_grad;
    const torch::Tensor expected = net->forward((x - n.mean[0]) / n.std[0]);
    const torch::Tensor got = opencv_forward(cv_net, x);
    EXPECT_LE((got - expected).abs().max().item<double>(), kTolerance * expected.abs().max().item<double>());
    ++members;
  }
  EXPECT_GT(members, 0);
}

}  // namespace
}  // namespace joules
