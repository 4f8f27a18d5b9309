// `joules train --dataset image-folder` and `joules search` over an image folder, as a user
// runs them: results, class names in the output and the run's config, one-line errors.

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "tests/cli/run_command.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/train/image_writer.hpp"

namespace joules::testing {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::StartsWith;

// Class c's images are flat RGB of a colour of its own, 40x30 (resized to the input).
void write_folder(const TempDir& dir, int per_class) {
  const char* classes[3] = {"red", "green", "blue"};
  for (int c = 0; c < 3; ++c) {
    for (const char* split : {"train", "val", "test"}) {
      const int count = std::string(split) == "train" ? per_class : 2;
      for (int i = 0; i < count; ++i) {
        TestImage image{40, 30, 3, {}};
        for (int p = 0; p < 40 * 30; ++p)
          for (int ch = 0; ch < 3; ++ch)
            image.pixels.push_back(static_cast<std::uint8_t>(ch == c ? 200 + i % 40 : 20 + (p * 7 + i) % 30));
        const std::string name = fmt::format("{}/{}/{}.{}", split, classes[c], i, i % 2 ? "jpg" : "png");
        dir.write("data/" + name, i % 2 ? jpeg_bytes(image) : png_bytes(image));
      }
    }
  }
}

std::string net(int outputs) {
  return fmt::format(R"(name: tiny
input: [3, 32, 32]
layers:
  - conv: {{filters: 4, kernel: 3, stride: 2}}
  - pool: {{op: max, kernel: 2}}
  - fc: {{units: {}}}
)",
                     outputs);
}

// Lines of stderr that are errors (progress lines such as "decoded 30 images" may precede them).
int error_lines(const std::string& err) {
  int n = 0;
  for (std::size_t at = 0; at < err.size(); at = err.find('\n', at) + 1) {
    n += err.compare(at, 7, "error: ") == 0;
    if (err.find('\n', at) == std::string::npos) break;
  }
  return n;
}

class ImageFolderCommandTest : public ::testing::Test {
 protected:
  void SetUp() override { write_folder(dir_, 6); }
  std::string data() const { return (dir_.path() / "data").string(); }
  TempDir dir_;
};

TEST_F(ImageFolderCommandTest, TrainReadsTheFolderAndPrintsItsClasses) {
  const std::string arch = dir_.write("tiny.yaml", net(3));
  const CommandResult r = run_joules({"train", arch, "--dataset", "image-folder", "--data", data(),
                                      "--epochs", "3", "--batch-size", "6", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["status"], "ok");
  EXPECT_EQ(j["class_names"], nlohmann::json({"blue", "green", "red"}));
  EXPECT_TRUE(j["test_accuracy"].is_number());
  EXPECT_THAT(r.err, HasSubstr("decoded 30 images"));
  EXPECT_TRUE(fs::exists(dir_.path() / "data/.joules-cache"));

  // The second run reads the cache; its ONNX file names the folder's classes.
  const fs::path onnx = dir_.path() / "tiny.onnx";
  const CommandResult again = run_joules({"train", arch, "--dataset", "image-folder", "--data", data(),
                                          "--epochs", "3", "--batch-size", "6", "--json", "--onnx", onnx.string()});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_THAT(again.err, HasSubstr("30 images from the cache"));
  EXPECT_EQ(nlohmann::json::parse(again.out)["test_accuracy"], j["test_accuracy"]);
  std::ifstream in(onnx, std::ios::binary);
  EXPECT_THAT(std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()),
              HasSubstr(R"(["blue","green","red"])"));
}

TEST_F(ImageFolderCommandTest, BadInputIsOneLineAndExitTwo) {
  const std::string arch5 = dir_.write("five.yaml", net(5));
  CommandResult r = run_joules({"train", arch5, "--dataset", "image-folder", "--data", data()});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err,
              HasSubstr("outputs 5 values per sample but the data has 3 classes (the class folders of " +
                        data() + "/train)"));
  EXPECT_EQ(error_lines(r.err), 1) << r.err;

  const std::string arch = dir_.write("tiny.yaml", net(3));
  r = run_joules({"train", arch, "--dataset", "image-folder"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("--data: data kind image-folder needs --data DIR"));

  const std::string bad = dir_.write("data/train/red/zz.png", "\x89PNG\r\n\x1a\n....");
  r = run_joules({"train", arch, "--dataset", "image-folder", "--data", data()});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, StartsWith("error: " + bad + ": corrupt PNG"));
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;  // nothing else

  fs::remove_all(dir_.path() / "data/train");
  r = run_joules({"train", arch, "--dataset", "image-folder", "--data", data()});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err, "error: " + data() +
                       ": has no train/ folder (an image folder holds train/CLASS/*.png|jpg, "
                       "optional val/ and test/)\n");
}

TEST_F(ImageFolderCommandTest, ASearchOverAnRgbFolderRunsEndToEnd) {
  const std::string config = dir_.write("search.yaml", std::string(R"(name: rgb
seed: 2
board: )") + JOULES_SOURCE_DIR + R"(/profiles/jetson-nano.yaml
space:
  input: [3, 32, 32]
  classes: 3
  conv_blocks:
    count: {min: 1, max: 2}
    filters: [4, 8]
    kernel: [3]
    stride: [1, 2]
    pool: [none, max]
  fc_layers:
    count: {min: 0, max: 1}
    units: [8]
data:
  kind: image-folder
  path: data
  resize: shorter-side
training:
  epochs: 2
  batch_size: 6
  augment: {crop_padding: 2, horizontal_flip: true}
search:
  population: 3
  generations: 1
  jobs: 1
)");
  const fs::path run = dir_.path() / "run";
  const CommandResult r = run_joules({"search", config, "--out", run.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::ifstream config_in(run / "config.yaml");
  std::stringstream resolved;
  resolved << config_in.rdbuf();
  EXPECT_THAT(resolved.str(), HasSubstr("class_names: [blue, green, red]"));
  EXPECT_THAT(resolved.str(), HasSubstr("resize: shorter-side"));
  EXPECT_THAT(resolved.str(), HasSubstr("augment: {crop_padding: 2, horizontal_flip: true}"));
  std::ifstream log(run / "evaluations.jsonl");
  int ok = 0;
  for (std::string line; std::getline(log, line);) {
    const auto record = nlohmann::json::parse(line);
    EXPECT_NE(record["status"], "failed") << line;
    ok += record["status"] == "ok";
  }
  EXPECT_GE(ok, 2);
  EXPECT_TRUE(fs::exists(run / "pareto/front.csv"));
  // Each exported ONNX file names the folder's classes in its metadata (JSON text, as written).
  int onnx_files = 0;
  for (const auto& entry : fs::directory_iterator(run / "pareto")) {
    if (entry.path().extension() != ".onnx") continue;
    std::ifstream in(entry.path(), std::ios::binary);
    const std::string bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    EXPECT_THAT(bytes, HasSubstr(R"(["blue","green","red"])")) << entry.path();
    ++onnx_files;
  }
  EXPECT_GT(onnx_files, 0);

  // The space's classes must be the folder's.
  const std::string wrong = dir_.write("wrong.yaml", [&] {
    std::ifstream in(config);
    std::stringstream text;
    text << in.rdbuf();
    std::string s = text.str();
    s.replace(s.find("classes: 3"), 10, "classes: 4");
    return s;
  }());
  const CommandResult w = run_joules({"search", wrong, "--out", (dir_.path() / "run2").string()});
  EXPECT_EQ(w.exit_code, 2);
  EXPECT_THAT(w.err, HasSubstr("space.classes: the space has 4 classes, the data 3 (the class folders of"));
}

}  // namespace
}  // namespace joules::testing
