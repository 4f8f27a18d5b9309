// The ONNX writer and reader without a runtime: round trips over seeded search-space members,
// the metadata, PyTorch-exported fixtures, and bad files (which must fail with one InputError,
// never a crash; the fuzz test runs under ASan in a -DJOULES_SANITIZE=ON build).

#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <onnx/onnx_pb.h>

#include "onnx/onnx_model.hpp"
#include "space/analysis.hpp"
#include "space/architecture_yaml.hpp"
#include "tests/onnx/members.hpp"
#include "util/input_error.hpp"

namespace joules {
namespace {

using ::testing::HasSubstr;
namespace fs = std::filesystem;

const fs::path kFixtures = fs::path(JOULES_SOURCE_DIR) / "tests/onnx/fixtures";

std::string read_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::map<std::string, std::string> metadata_of(const OnnxImport& m) { return {m.metadata.begin(), m.metadata.end()}; }

// The InputError message of parsing `bytes`; fails the test when it parses.
std::string import_error(const std::string& bytes) {
  try {
    parse_onnx(bytes, "model.onnx");
  } catch (const InputError& e) {
    return e.what();
  }
  ADD_FAILURE() << "the model was accepted";
  return "";
}

Architecture lenet() { return load_architecture(JOULES_SOURCE_DIR "/configs/architectures/lenet5.yaml"); }

onnx::ModelProto model_of(const std::string& bytes) {
  onnx::ModelProto m;
  EXPECT_TRUE(m.ParseFromString(bytes));
  return m;
}

std::string bytes_of(const onnx::ModelProto& m) {
  std::string s;
  m.SerializeToString(&s);
  return s;
}

class OnnxModelTest : public ::testing::Test {};

TEST_F(OnnxModelTest, RoundTripGivesTheFoldedArchitectureForSeededSpaceMembers) {
  int with_batch_norm = 0;
  for (const Architecture& arch : testing::varied_members(200, /*seed=*/7)) {
    const NetworkWeights weights = testing::random_weights(arch, canonical_hash(arch));
    const OnnxImport imported = parse_onnx(onnx_model_bytes(arch, weights), arch.name + ".onnx");
    const Architecture expected = testing::folded(arch);
    with_batch_norm += !(expected == arch);
    ASSERT_EQ(canonical_hash_hex(imported.arch), canonical_hash_hex(expected))
        << to_yaml(arch) << "read back as\n" << to_yaml(imported.arch);
    EXPECT_EQ(imported.opset, kOnnxOpset);
    ASSERT_EQ(imported.weights.normalization.mean.size(), weights.normalization.mean.size());
    EXPECT_NEAR(imported.weights.normalization.std[0], weights.normalization.std[0], 1e-6);
    for (std::size_t i = 0; i < arch.layers.size(); ++i) {
      const auto* conv = std::get_if<ConvLayer>(&arch.layers[i]);
      if (conv && conv->batch_norm) continue;  // folded: checked by the runtime tests
      EXPECT_EQ(imported.weights.layers[i].weight, weights.layers[i].weight) << "layer " << i;
      EXPECT_EQ(imported.weights.layers[i].bias, weights.layers[i].bias) << "layer " << i;
    }
  }
  EXPECT_GT(with_batch_norm, 20);  // the property covers folding
}

TEST_F(OnnxModelTest, RoundTripOfEveryShippedArchitecture) {
  for (const auto& entry : fs::directory_iterator(JOULES_SOURCE_DIR "/configs/architectures")) {
    const Architecture arch = load_architecture(entry.path().string());
    // VGG-16's 528 MB take minutes to check and parse here; onnx_runtime_tests runs it.
    if (analyze(arch).params > 100'000'000) continue;
    const OnnxImport imported = parse_onnx(onnx_model_bytes(arch, testing::random_weights(arch, 1, /*constant=*/true)), "a.onnx");
    EXPECT_EQ(canonical_hash_hex(imported.arch), canonical_hash_hex(testing::folded(arch))) << entry.path();
    EXPECT_EQ(analyze(imported.arch).macs, analyze(arch).macs) << entry.path();
  }
}

TEST_F(OnnxModelTest, MetadataDescribesTheNetwork) {
  const Architecture arch = lenet();
  const OnnxMetadata meta{.board = "jetson-nano",
                          .energy_mj = 1.25,
                          .energy_band_mj = std::array<double, 2>{1.0, 1.5},
                          .validation_accuracy = 0.875,
                          .test_accuracy = 0.86,
                          .class_names = {"a", "b", "c", "d", "e", "f", "g", "h", "i", "j"}};
  NetworkWeights w = testing::random_weights(arch, 3);
  w.normalization = {{0.2860}, {0.3530}};
  const auto m = metadata_of(parse_onnx(onnx_model_bytes(arch, w, meta), "m.onnx"));
  EXPECT_EQ(m.at("architecture_hash"), canonical_hash_hex(arch));
  EXPECT_EQ(m.at("board"), "jetson-nano");
  EXPECT_EQ(m.at("energy_mj"), "1.25");
  EXPECT_EQ(nlohmann::json::parse(m.at("energy_band_mj")), nlohmann::json({1.0, 1.5}));
  EXPECT_EQ(m.at("validation_accuracy"), "0.875");
  EXPECT_EQ(m.at("test_accuracy"), "0.86");
  EXPECT_EQ(nlohmann::json::parse(m.at("mean")), nlohmann::json({0.2860}));
  EXPECT_EQ(nlohmann::json::parse(m.at("std")), nlohmann::json({0.3530}));
  EXPECT_EQ(nlohmann::json::parse(m.at("class_names"))[9], "j");
  EXPECT_THAT(m.at("input_layout"), HasSubstr("NCHW"));
  EXPECT_FALSE(m.at("joules_version").empty());
  EXPECT_EQ(parse_architecture(m.at("architecture"), "metadata"), arch);
}

TEST_F(OnnxModelTest, WrittenFileHasTheContractsInputOutputAndOpset) {
  const onnx::ModelProto m = model_of(onnx_model_bytes(lenet(), testing::random_weights(lenet(), 1)));
  ASSERT_EQ(m.graph().input_size(), 1);
  const auto& in = m.graph().input(0);
  EXPECT_EQ(in.name(), "input");
  const auto& shape = in.type().tensor_type().shape();
  ASSERT_EQ(shape.dim_size(), 4);
  EXPECT_FALSE(shape.dim(0).has_dim_value());  // N dynamic
  EXPECT_EQ(shape.dim(1).dim_value(), 1);
  EXPECT_EQ(shape.dim(2).dim_value(), 28);
  EXPECT_EQ(m.graph().output(0).name(), "logits");
  EXPECT_EQ(m.graph().output(0).type().tensor_type().shape().dim(1).dim_value(), 10);
  EXPECT_EQ(m.opset_import(0).version(), 13);
  EXPECT_EQ(m.graph().node(0).op_type(), "Sub");  // the normalisation comes first
  EXPECT_EQ(m.graph().node(1).op_type(), "Div");
  for (const auto& n : m.graph().node()) EXPECT_NE(n.op_type(), "Dropout");
}

TEST_F(OnnxModelTest, WeightsThatDoNotFitAreRefusedByLayer) {
  NetworkWeights w = testing::random_weights(lenet(), 1);
  w.layers[2].weight.pop_back();
  try {
    onnx_model_bytes(lenet(), w);
    FAIL() << "accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_THAT(e.what(), HasSubstr("layer 3: weight has 2399 values, the architecture needs 2400"));
  }
}

// --- files written by torch.onnx.export (tests/onnx/make_fixtures.py) ------------------------

TEST_F(OnnxModelTest, PyTorchExportsReadWithTheirMacsParamsAndOutput) {
  const nlohmann::json expected = nlohmann::json::parse(read_bytes(kFixtures / "expected.json"));
  int read = 0;
  for (const auto& [file, want] : expected.items()) {
    const std::string bytes = read_bytes(kFixtures / file);
    if (want.contains("refused_op")) {
      EXPECT_THAT(import_error(bytes), HasSubstr("(" + want["refused_op"].get<std::string>() + "): ")) << file;
      continue;
    }
    const OnnxImport m = parse_onnx(bytes, file);
    const NetworkAnalysis net = analyze(m.arch);
    EXPECT_EQ(net.macs, want["macs"].get<std::int64_t>()) << file;
    EXPECT_EQ(net.params, want["params"].get<std::int64_t>()) << file;
    EXPECT_EQ((std::vector<std::int64_t>{net.output.channels, net.output.height, net.output.width}),
              want["output"].get<std::vector<std::int64_t>>())
        << file;
    EXPECT_EQ(m.opset, want["opset"].get<int>()) << file;
    ++read;
  }
  EXPECT_GE(read, 8);
}

TEST_F(OnnxModelTest, ReluAfterMaxPoolIsTheConvsActivation) {
  const OnnxImport m = parse_onnx(read_bytes(kFixtures / "lenet_relu_after_pool.onnx"), "lenet.onnx");
  EXPECT_EQ(std::get<ConvLayer>(m.arch.layers[0]).activation, Activation::relu);
  EXPECT_EQ(std::get<PoolLayer>(m.arch.layers[1]).op, PoolOp::max);
}

TEST_F(OnnxModelTest, ExporterActivationCompositionsAreRecognised) {
  const OnnxImport m = parse_onnx(read_bytes(kFixtures / "mixed_activations.onnx"), "mixed.onnx");
  std::vector<Activation> acts;
  for (const Layer& l : m.arch.layers) {
    if (const auto* c = std::get_if<ConvLayer>(&l)) acts.push_back(c->activation);
    if (const auto* f = std::get_if<FcLayer>(&l)) acts.push_back(f->activation);
  }
  EXPECT_EQ(acts, (std::vector<Activation>{Activation::leaky_relu, Activation::sigmoid, Activation::tanh,
                                           Activation::silu, Activation::gelu, Activation::relu6, Activation::none}));
  for (const char* file : {"mobile_hardswish_opset13.onnx", "mobile_hardswish_opset14.onnx"}) {
    const OnnxImport h = parse_onnx(read_bytes(kFixtures / file), file);
    EXPECT_EQ(std::get<ConvLayer>(h.arch.layers[0]).activation, Activation::hardswish) << file;
  }
}

// --- bad files -------------------------------------------------------------------------------

TEST_F(OnnxModelTest, TruncatedAndForeignFilesAreRefused) {
  const std::string good = onnx_model_bytes(lenet(), testing::random_weights(lenet(), 1));
  EXPECT_THAT(import_error(good.substr(0, good.size() / 2)), HasSubstr("model.onnx: not an ONNX model"));
  EXPECT_THAT(import_error("input: [1, 28, 28]\nlayers: []\n"), HasSubstr("not an ONNX model"));
  EXPECT_THAT(import_error(""), HasSubstr("not an ONNX model"));
}

TEST_F(OnnxModelTest, OpsetsOutsideElevenToSeventeenAreRefused) {
  onnx::ModelProto m = model_of(onnx_model_bytes(lenet(), testing::random_weights(lenet(), 1)));
  m.mutable_opset_import(0)->set_version(9);
  EXPECT_THAT(import_error(bytes_of(m)), HasSubstr("model.onnx: opset_import: opset 9; joules reads opsets 11 to 17"));
  m.mutable_opset_import(0)->set_version(18);
  EXPECT_THAT(import_error(bytes_of(m)), HasSubstr("opset 18"));
}

TEST_F(OnnxModelTest, UnsupportedNodesAreNamedWithTheirOpType) {
  const std::string good = onnx_model_bytes(lenet(), testing::random_weights(lenet(), 1));
  {
    onnx::ModelProto m = model_of(good);
    auto* conv = m.mutable_graph()->mutable_node(2);  // Sub, Div, then the first Conv
    ASSERT_EQ(conv->op_type(), "Conv");
    for (auto& a : *conv->mutable_attribute()) {
      if (a.name() == "dilations") a.set_ints(0, 2);
    }
    EXPECT_THAT(import_error(bytes_of(m)), HasSubstr("node 'layers.0.conv' (Conv): dilation 2x1 is not supported"));
  }
  {
    onnx::ModelProto m = model_of(good);
    m.mutable_graph()->mutable_node(3)->set_op_type("Softmax");
    EXPECT_THAT(import_error(bytes_of(m)), HasSubstr("node 'layers.0.relu' (Softmax): op Softmax is not supported"));
  }
  {
    onnx::ModelProto m = model_of(good);
    m.mutable_graph()->mutable_input(0)->mutable_type()->mutable_tensor_type()->mutable_shape()->mutable_dim(2)->set_dim_param("H");
    EXPECT_THAT(import_error(bytes_of(m)), HasSubstr("input 'input': has a dynamic or invalid channel, height or width"));
  }
  {
    // A second branch: the node reads a tensor off the chain.
    onnx::ModelProto m = model_of(good);
    auto* add = m.mutable_graph()->mutable_node(4);
    add->set_op_type("Concat");
    add->set_input(0, "input");
    EXPECT_THAT(import_error(bytes_of(m)), HasSubstr("(Concat): does not read the chain's tensor"));
  }
}

TEST_F(OnnxModelTest, TensorsClaimingMoreDataThanTheyHoldAreRefused) {
  onnx::ModelProto m = model_of(onnx_model_bytes(lenet(), testing::random_weights(lenet(), 1)));
  onnx::TensorProto* w = nullptr;
  for (auto& t : *m.mutable_graph()->mutable_initializer()) {
    if (t.name() == "layers.4.weight") w = &t;
  }
  ASSERT_NE(w, nullptr);
  w->set_dims(0, 120);
  w->set_dims(1, std::int64_t{1} << 22);  // 2 GB of float32 claimed by a 1.6 MB tensor
  EXPECT_THAT(import_error(bytes_of(m)), HasSubstr("model.onnx: initializer 'layers.4.weight': claims more than"));
  w->set_dims(1, 401);
  EXPECT_THAT(import_error(bytes_of(m)), HasSubstr("initializer 'layers.4.weight': claims 48120 values but holds 192000 bytes"));
  w->set_dims(0, 400);
  w->set_dims(1, 120);
  EXPECT_THAT(import_error(bytes_of(m)),
              HasSubstr("node 'layers.4.fc' (Gemm): weight 'layers.4.weight' has shape [400, 120] for 400 inputs"));
}

// Mutated files (bit flips, truncations, spliced bytes) either read or fail with InputError;
// under -DJOULES_SANITIZE=ON this also checks that no read goes out of bounds.
TEST_F(OnnxModelTest, FuzzedFilesNeverCrash) {
  Architecture small = parse_architecture(
      "input: [2, 8, 8]\nlayers:\n  - conv: {filters: 3, kernel: 3, batch_norm: true, activation: gelu}\n"
      "  - pool: {op: avg, kernel: 2}\n  - fc: {units: 4, activation: hardswish}\n  - fc: {units: 3}\n",
      "small.yaml");
  const std::string good = onnx_model_bytes(small, testing::random_weights(small, 1));
  Rng rng(2024);
  int accepted = 0, refused = 0;
  for (int i = 0; i < 4000; ++i) {
    std::string bytes = good;
    const int edits = 1 + static_cast<int>(rng.index(4));
    for (int e = 0; e < edits; ++e) {
      const std::size_t at = rng.index(bytes.size());
      switch (rng.index(4)) {
        case 0: bytes[at] = static_cast<char>(bytes[at] ^ (1 << rng.index(8))); break;
        case 1: bytes[at] = static_cast<char>(rng.index(256)); break;
        case 2: bytes.resize(at); break;
        default: bytes.insert(at, good.substr(rng.index(good.size()), 1 + rng.index(16))); break;
      }
      if (bytes.empty()) break;
    }
    try {
      parse_onnx(bytes, "fuzz.onnx");
      ++accepted;
    } catch (const InputError& e) {
      EXPECT_THAT(e.what(), HasSubstr("fuzz.onnx: "));
      EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos);
      ++refused;
    }
  }
  EXPECT_GT(refused, 1000);
  EXPECT_GT(accepted, 10);  // flips inside weights keep the file valid
}

TEST_F(OnnxModelTest, OnnxPathsAreRecognisedByExtension) {
  EXPECT_TRUE(is_onnx_path("a/b/model.onnx"));
  EXPECT_TRUE(is_onnx_path("MODEL.ONNX"));
  EXPECT_FALSE(is_onnx_path("lenet5.yaml"));
  EXPECT_FALSE(is_onnx_path("onnx"));
}

}  // namespace
}  // namespace joules
