// Augmentation of training batches: flips and padded crops drawn per sample and epoch from the
// seed, reproducible, and never applied to the batches that measure accuracy.

#include "train/augment.hpp"

#include <filesystem>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "space/architecture_yaml.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/train/dataset_files.hpp"
#include "train/model.hpp"

namespace joules {
namespace {

class AugmentTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new testing::TempDir;
    data_ = testing::load_synthetic_idx(dir_->path().string(), /*train_count=*/400, /*test_count=*/50,
                                        /*classes=*/3, /*gzipped=*/false, /*validation_size=*/100);
  }
  static void TearDownTestSuite() {
    data_.reset();
    delete dir_;
  }
  // Rows 0..n-1, normalised, as the trainer gathers them.
  static torch::Tensor batch(std::int64_t n, torch::Tensor& rows) {
    rows = torch::arange(n, torch::kInt64);
    torch::Tensor x;
    gather_images(data_->tensors(), data_->tensors().images, rows, x);
    return x;
  }
  static inline testing::TempDir* dir_ = nullptr;
  static inline std::shared_ptr<const Data> data_;
};

TEST_F(AugmentTest, FlipMirrorsAboutHalfTheSamplesTheSameWayForTheSameSeed) {
  torch::Tensor rows;
  const torch::Tensor original = batch(32, rows);
  const AugmentOptions flip{.crop_padding = 0, .horizontal_flip = true};
  torch::Tensor a = original.clone();
  augment_batch(a, rows, /*epoch=*/0, /*seed=*/5, flip, data_->tensors());
  int flipped = 0;
  for (std::int64_t i = 0; i < 32; ++i) {
    const bool same = a[i].equal(original[i]);
    const bool mirrored = a[i].equal(original[i].flip({2}));
    EXPECT_TRUE(same || mirrored) << i;
    flipped += mirrored && !same;
  }
  EXPECT_GT(flipped, 4);
  EXPECT_LT(flipped, 28);

  torch::Tensor b = original.clone();
  augment_batch(b, rows, 0, 5, flip, data_->tensors());
  EXPECT_TRUE(a.equal(b)) << "same seed, rows and epoch";
  torch::Tensor c = original.clone();
  augment_batch(c, rows, /*epoch=*/1, 5, flip, data_->tensors());
  EXPECT_FALSE(a.equal(c)) << "another epoch draws again";
  torch::Tensor d = original.clone();
  augment_batch(d, rows, 0, /*seed=*/6, flip, data_->tensors());
  EXPECT_FALSE(a.equal(d)) << "another seed draws again";
}

TEST_F(AugmentTest, CropShiftsEachSampleWithBlackPadding) {
  torch::Tensor rows;
  const torch::Tensor original = batch(16, rows);
  torch::Tensor a = original.clone();
  augment_batch(a, rows, 0, 1, AugmentOptions{.crop_padding = 2, .horizontal_flip = false}, data_->tensors());
  const auto& t = data_->tensors();
  const float black = t.shift[0][0].item<float>();  // a pixel of 0, normalised
  int moved = 0;
  for (std::int64_t i = 0; i < 16; ++i) {
    // The padded original, and the one crop of it that the sample must be.
    torch::Tensor padded = torch::full({1, 12, 12}, black);
    padded.narrow(1, 2, 8).narrow(2, 2, 8).copy_(original[i]);
    bool found = false;
    for (int dy = 0; dy <= 4 && !found; ++dy)
      for (int dx = 0; dx <= 4 && !found; ++dx) {
        if (a[i].equal(padded.narrow(1, dy, 8).narrow(2, dx, 8))) {
          found = true;
          moved += dy != 2 || dx != 2;
        }
      }
    EXPECT_TRUE(found) << "sample " << i << " is not a padded crop of its image";
  }
  EXPECT_GT(moved, 8);
}

TEST_F(AugmentTest, OnlyTrainingBatchesAreAugmentedAndRunsRepeat) {
  testing::TempDir out;
  const Architecture arch = parse_architecture(R"(
input: [1, 8, 8]
layers:
  - conv: {filters: 4, kernel: 3, padding: 1}
  - pool: {op: max, kernel: 2}
  - fc: {units: 3}
)",
                                               "tiny.yaml");
  TrainOptions o;
  o.epochs = 2;
  o.batch_size = 32;
  o.seed = 3;
  o.loss_every_steps = 2;
  o.eval_batch_size = 100;  // the whole validation split in one batch, as below
  const TrainResult plain = train_architecture(arch, *data_, o);
  o.augment = AugmentOptions{.crop_padding = 1, .horizontal_flip = true};
  o.save_path = (out.path() / "w.pt").string();
  const TrainResult augmented = train_architecture(arch, *data_, o);
  ASSERT_EQ(augmented.status, TrainStatus::ok) << augmented.reason;
  EXPECT_NE(plain.loss_curve, augmented.loss_curve) << "the training batches change";
  const TrainResult again = train_architecture(arch, *data_, o);
  EXPECT_EQ(again.loss_curve, augmented.loss_curve) << "the same seed, the same augmentation";
  EXPECT_EQ(again.validation_accuracy, augmented.validation_accuracy);

  // The validation accuracy reported is that of the plain (unaugmented) validation images.
  Network network(arch, /*seed=*/0);
  load_weights(network, o.save_path);
  network->eval();
  torch::NoGradGuard no_grad;
  const auto& t = data_->tensors();
  torch::Tensor x;
  gather_images(t, t.images, t.validation_index, x);
  const double correct =
      network->forward(x).argmax(1).eq(t.labels.index_select(0, t.validation_index)).sum().item<double>();
  ASSERT_TRUE(augmented.validation_accuracy.has_value());
  EXPECT_DOUBLE_EQ(*augmented.validation_accuracy, correct / static_cast<double>(t.validation_index.size(0)));
}

}  // namespace
}  // namespace joules
