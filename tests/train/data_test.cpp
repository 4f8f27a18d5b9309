// Loading datasets written by the tests: sizes, classes, the seeded validation split,
// normalisation with the training split's statistics, CIFAR-10, and errors.

#include "train/data.hpp"

#include <filesystem>
#include <set>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/support/temp_dir.hpp"
#include "tests/train/dataset_files.hpp"
#include "train/data_tensors.hpp"
#include "util/input_error.hpp"
#include "util/yaml_reader.hpp"

namespace joules {
namespace {

using ::testing::HasSubstr;
using testing::TempDir;

class DataTest : public ::testing::Test {
 protected:
  DataOptions options(std::int64_t validation = 40, std::uint64_t seed = 7) const {
    DataOptions o;
    o.kind = DatasetKind::mnist_idx;
    o.path = dir_.path().string();
    o.validation_size = validation;
    o.split_seed = seed;
    return o;
  }
  void SetUp() override {
    testing::write_idx_dataset(dir_.path().string(), 200, 50, /*classes=*/3, /*gzipped=*/true);
  }

  TempDir dir_;
};

TEST_F(DataTest, LoadsSizesShapeAndClasses) {
  const auto data = load_data(options());
  EXPECT_EQ(data->input(), (Shape{1, 8, 8}));
  EXPECT_EQ(data->classes(), 3);
  EXPECT_EQ(data->train_size(), 160);
  EXPECT_EQ(data->validation_size(), 40);
  EXPECT_EQ(data->test_size(), 50);
  EXPECT_EQ(data->options(), options());
}

TEST_F(DataTest, ValidationSplitIsSeededDisjointAndComplete) {
  const auto a = load_data(options(40, 7));
  const auto b = load_data(options(40, 7));
  const auto c = load_data(options(40, 8));
  const auto& ta = a->tensors();
  EXPECT_EQ(ta.train_order, b->tensors().train_order);
  EXPECT_TRUE(torch::equal(ta.validation_index, b->tensors().validation_index));
  EXPECT_NE(ta.train_order, c->tensors().train_order);

  std::set<std::int64_t> rows(ta.train_order.begin(), ta.train_order.end());
  for (std::int64_t i = 0; i < ta.validation_index.size(0); ++i) {
    EXPECT_TRUE(rows.insert(ta.validation_index[i].item<std::int64_t>()).second) << "row in both splits";
  }
  EXPECT_EQ(rows.size(), 200u);
  EXPECT_EQ(*rows.rbegin(), 199);
}

TEST_F(DataTest, NormalisesWithTheTrainingSplitStatistics) {
  const auto data = load_data(options());
  const auto& t = data->tensors();
  torch::Tensor pixels = t.images.index_select(0, torch::tensor(t.train_order)).to(torch::kDouble);
  EXPECT_NEAR(data->channel_mean(0), pixels.mean().item<double>(), 1e-9);
  EXPECT_NEAR(data->channel_std(0), pixels.std(/*unbiased=*/false).item<double>(), 1e-6);

  torch::Tensor batch;
  gather_images(t, t.images, torch::tensor(t.train_order), batch);
  EXPECT_EQ(batch.sizes(), (std::vector<std::int64_t>{160, 1, 8, 8}));
  EXPECT_NEAR(batch.mean().item<double>(), 0.0, 1e-4);
  EXPECT_NEAR(batch.std(/*unbiased=*/false).item<double>(), 1.0, 1e-4);
}

TEST_F(DataTest, RawAndGzippedFilesGiveTheSameData) {
  TempDir raw;
  testing::write_idx_dataset(raw.path().string(), 200, 50, 3, /*gzipped=*/false);
  DataOptions o = options();
  const auto gz = load_data(o);
  o.path = raw.path().string();
  const auto plain = load_data(o);
  EXPECT_TRUE(torch::equal(gz->tensors().images, plain->tensors().images));
  EXPECT_TRUE(torch::equal(gz->tensors().test_labels, plain->tensors().test_labels));
}

TEST_F(DataTest, RejectsAValidationSplitThatLeavesNoTrainingSample) {
  try {
    load_data(options(/*validation=*/200));
    FAIL();
  } catch (const SpecError& e) {
    EXPECT_EQ(e.key(), "validation_size");
    EXPECT_THAT(e.message(), HasSubstr("must be in [1, 199] to leave a training sample"));
  }
}

TEST_F(DataTest, NamesTheMissingDirectoryOrFile) {
  DataOptions o = options();
  o.path = (dir_.path() / "nowhere").string();
  try {
    load_data(o);
    FAIL();
  } catch (const SpecError& e) {
    EXPECT_EQ(e.key(), "path");
    EXPECT_EQ(e.message(), "no such directory: " + o.path);
  }
  std::filesystem::remove(dir_.path() / "t10k-labels-idx1-ubyte.gz");
  try {
    load_data(options());
    FAIL();
  } catch (const SpecError& e) {
    EXPECT_EQ(e.key(), "path");
    EXPECT_THAT(e.message(), HasSubstr(dir_.path().string() + " has no t10k-labels-idx1-ubyte.gz"));
  }
}

// The config's own file, line and key: data.path and data.validation_size.
TEST_F(DataTest, ErrorsOfAConfigsDataSectionNameTheConfigLineAndKey) {
  const std::string nowhere = (dir_.path() / "nowhere").string();
  const std::string text = "name: x\ndata:\n  kind: mnist-idx\n  path: " + nowhere + "\n  validation_size: 200\n";
  const yaml::Value root = yaml::Value::parse_string(text, "search.yaml");
  DataOptions o = parse_data_options(root.get("data"));
  EXPECT_THAT([&] { load_data(o, Shape{}, root.get("data")); },
              ::testing::ThrowsMessage<InputError>(
                  ::testing::StrEq("search.yaml:4: data.path: no such directory: " + nowhere)));
  o.path = dir_.path().string();
  EXPECT_THAT([&] { load_data(o, Shape{}, root.get("data")); },
              ::testing::ThrowsMessage<InputError>(::testing::StartsWith(
                  "search.yaml:5: data.validation_size: must be in [1, 199] to leave a training sample")));
  o.validation_size = 0;
  EXPECT_THAT([&] { load_data(o, Shape{}, root.get("data")); },
              ::testing::ThrowsMessage<InputError>(::testing::HasSubstr("data.validation_size: must be in [1, 199]")));
}

TEST_F(DataTest, RejectsTestImagesOfAnotherSize) {
  const testing::Synthetic other = testing::synthetic_images(5, 3, 1, 9, 9, 3);
  testing::write_file((dir_.path() / "t10k-images-idx3-ubyte.gz").string(),
                      testing::idx_bytes({5, 9, 9}, other.pixels));
  testing::write_file((dir_.path() / "t10k-labels-idx1-ubyte.gz").string(),
                      testing::idx_bytes({5}, other.labels));
  try {
    load_data(options());
    FAIL();
  } catch (const InputError& e) {
    EXPECT_THAT(e.what(), HasSubstr("test images are 1x9x9 but training images are 1x8x8"));
  }
}

TEST(Cifar10DataTest, ReadsTheBinaryBatchesDirectory) {
  TempDir dir;
  std::vector<testing::Synthetic> sets;
  const auto batch = [&](const std::string& name, std::int64_t count, std::uint64_t seed) {
    sets.push_back(testing::synthetic_images(count, 10, 3, 32, 32, seed));
    testing::write_file((dir.path() / "cifar-10-batches-bin" / name).string(),
                        testing::cifar10_bytes(sets.back()));
  };
  batch("data_batch_1.bin", 30, 1);
  batch("data_batch_2.bin", 20, 2);
  batch("test_batch.bin", 10, 3);
  DataOptions o;
  o.kind = DatasetKind::cifar10;
  o.path = dir.path().string();
  o.validation_size = 1;  // the statistics below are of the other 49
  const auto data = load_data(o);
  EXPECT_EQ(data->input(), (Shape{3, 32, 32}));
  EXPECT_EQ(data->classes(), 10);
  EXPECT_EQ(data->train_size(), 49);
  EXPECT_EQ(data->validation_size(), 1);
  EXPECT_EQ(data->test_size(), 10);
  for (std::int64_t channel = 0; channel < 3; ++channel) {
    double sum = 0;
    for (const std::int64_t row : data->tensors().train_order) {  // rows of batch 1, then batch 2
      const std::size_t s = row < 30 ? 0 : 1;
      const std::int64_t i = row < 30 ? row : row - 30;
      for (std::int64_t p = 0; p < 32 * 32; ++p) sum += sets[s].pixels[(i * 3 + channel) * 32 * 32 + p];
    }
    EXPECT_NEAR(data->channel_mean(channel), sum / (49.0 * 32 * 32), 1e-9) << "channel " << channel;
  }
}

TEST(FashionMnistDataTest, LoadsDebiansPackage) {
  if (!std::filesystem::exists("/usr/share/datasets/fashion-mnist")) {
    GTEST_SKIP() << "dataset-fashion-mnist is not installed";
  }
  const auto data = load_data(DataOptions{});
  EXPECT_EQ(data->input(), (Shape{1, 28, 28}));
  EXPECT_EQ(data->classes(), 10);
  EXPECT_EQ(data->train_size() + data->validation_size(), 60000);
  EXPECT_EQ(data->validation_size(), DataOptions{}.validation_size);
  EXPECT_EQ(data->test_size(), 10000);
  EXPECT_GT(data->channel_std(0), 0.0);
}

}  // namespace
}  // namespace joules
