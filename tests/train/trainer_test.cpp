// Short training runs on small datasets written by the tests: learning, determinism (also
// next to a concurrent training), divergence, time budget, stop flag, failures as results,
// progress, saving, threads. Through the torch-free API the search uses.

#include "train/trainer.hpp"

#include <filesystem>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "space/architecture_yaml.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/train/dataset_files.hpp"
#include "train/threads.hpp"
#include "train/weights.hpp"
#include "util/input_error.hpp"


namespace joules {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

// A tiny conv net for 8x8 grey images of 3 classes.
const char* kTinyNet = R"(
name: tiny
input: [1, 8, 8]
layers:
  - conv: {filters: 4, kernel: 3, padding: 1, batch_norm: true}
  - pool: {op: max, kernel: 2}
  - fc: {units: 16, dropout: 0.1}
  - fc: {units: 3}
)";

class TrainerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new testing::TempDir;
    data_ = testing::load_synthetic_idx(dir_->path().string(), /*train_count=*/600, /*test_count=*/100,
                                        /*classes=*/3, /*gzipped=*/true, /*validation_size=*/100);
  }
  static void TearDownTestSuite() {
    data_.reset();
    delete dir_;
  }

  static TrainOptions options() {
    TrainOptions o;
    o.epochs = 2;
    o.batch_size = 32;
    o.learning_rate = 0.05;
    o.seed = 1;
    o.loss_every_steps = 4;
    return o;
  }

  const Architecture arch_ = parse_architecture(kTinyNet, "tiny.yaml");
  static testing::TempDir* dir_;
  static std::shared_ptr<const Data> data_;
};

testing::TempDir* TrainerTest::dir_ = nullptr;
std::shared_ptr<const Data> TrainerTest::data_;

TEST_F(TrainerTest, LearnsAndReportsTheRun) {
  TrainOptions o = options();
  o.evaluate_test = true;
  const TrainResult r = train_architecture(arch_, *data_, o);
  ASSERT_EQ(r.status, TrainStatus::ok) << r.reason;
  EXPECT_EQ(r.reason, "");
  ASSERT_TRUE(r.validation_accuracy.has_value());
  EXPECT_GE(*r.validation_accuracy, 0.9);
  ASSERT_TRUE(r.test_accuracy.has_value());
  EXPECT_GE(*r.test_accuracy, 0.9);
  // 500 training samples, batches of 32: 15 full batches per epoch (the rest is dropped).
  EXPECT_EQ(r.steps, 30);
  EXPECT_EQ(r.samples_seen, 30 * 32);
  ASSERT_EQ(r.loss_curve.size(), 8u);  // every 4 steps, and the last 2
  EXPECT_EQ(r.loss_curve.back().step, 30);
  EXPECT_DOUBLE_EQ(r.loss_curve.back().epoch, 960.0 / 500.0);
  EXPECT_LT(r.loss_curve.back().loss, r.loss_curve.front().loss);
  EXPECT_GT(r.seconds, 0.0);
  EXPECT_GE(r.seconds, r.train_seconds);
}

TEST_F(TrainerTest, SameSeedAndThreadsGiveTheSameResult) {
  for (int threads : {1, 2}) {
    TrainOptions o = options();
    o.threads = threads;
    // Few steps: with two threads on a loaded 2-core machine each parallel region can wait
    // for a descheduled thread.
    o.steps = 8;
    o.loss_every_steps = 2;
    TrainResult a = train_architecture(arch_, *data_, o);
    TrainResult b = train_architecture(arch_, *data_, o);
    ASSERT_EQ(a.status, TrainStatus::ok) << a.reason;
    a.seconds = b.seconds = a.train_seconds = b.train_seconds = 0;
    EXPECT_EQ(a, b) << "threads " << threads;
  }
  TrainOptions o = options();
  const TrainResult a = train_architecture(arch_, *data_, o);
  o.seed = 2;
  const TrainResult c = train_architecture(arch_, *data_, o);
  EXPECT_NE(a.loss_curve, c.loss_curve);
}

TEST_F(TrainerTest, AConcurrentTrainingDoesNotChangeTheResult) {
  TrainOptions o = options();
  TrainResult alone = train_architecture(arch_, *data_, o);
  TrainResult together;
  TrainOptions other = options();
  other.seed = 9;
  other.optimizer = OptimizerKind::adam;
  other.learning_rate = 0.01;
  std::thread neighbour([&] { train_architecture(arch_, *data_, other); });
  together = train_architecture(arch_, *data_, o);
  neighbour.join();
  alone.seconds = together.seconds = alone.train_seconds = together.train_seconds = 0;
  EXPECT_EQ(alone, together);
}

TEST_F(TrainerTest, StepsAndTrainingSubsetBoundTheRun) {
  TrainOptions o = options();
  o.steps = 7;
  o.train_samples = 64;
  o.batch_size = 16;  // 4 batches per epoch: 7 steps run into a second epoch
  const TrainResult r = train_architecture(arch_, *data_, o);
  ASSERT_EQ(r.status, TrainStatus::ok) << r.reason;
  EXPECT_EQ(r.steps, 7);
  EXPECT_EQ(r.samples_seen, 7 * 16);
  EXPECT_DOUBLE_EQ(r.loss_curve.back().epoch, 7.0 * 16 / 64);

  o.train_samples = 10;  // fewer samples than a batch: one batch of all of them
  const TrainResult small = train_architecture(arch_, *data_, o);
  EXPECT_EQ(small.samples_seen, 7 * 10);
}

TEST_F(TrainerTest, ADivergingLossEndsAsDivergedWithoutAccuracy) {
  TrainOptions o = options();
  o.learning_rate = 1e12;
  o.evaluate_test = true;
  TrainResult r;
  EXPECT_NO_THROW(r = train_architecture(arch_, *data_, o));
  EXPECT_EQ(r.status, TrainStatus::diverged);
  EXPECT_THAT(r.reason,
              ::testing::AnyOf(HasSubstr("the training loss became"), HasSubstr("the weights became NaN")));
  EXPECT_FALSE(r.validation_accuracy.has_value());
  EXPECT_FALSE(r.test_accuracy.has_value());
  EXPECT_LT(r.steps, 60);
  EXPECT_GT(r.train_seconds, 0.0);
}

// Training stops early enough to leave the evaluation its estimated time; on a loaded machine
// the evaluation can still run past the budget, and then the run says so and has no accuracy.
TEST_F(TrainerTest, TheTimeBudgetTruncatesTheRunWhichIsStillEvaluated) {
  TrainOptions o = options();
  o.epochs = 1000;
  o.time_budget_s = 1;  // far less than 15000 steps, far more than one (on a loaded machine)
  const TrainResult r = train_architecture(arch_, *data_, o);
  EXPECT_EQ(r.status, TrainStatus::truncated);
  EXPECT_THAT(r.reason, ::testing::AnyOf(StartsWith("time budget of 1 s reached after "),
                                         StartsWith("time budget of 1 s reached during evaluation, after ")));
  EXPECT_THAT(r.reason, HasSubstr(" of 15000 steps"));
  EXPECT_LT(r.steps, 15000);
  EXPECT_EQ(r.validation_accuracy.has_value(), r.reason.find("during evaluation") == std::string::npos) << r.reason;
}

// The budget bounds the evaluation too: past it, the evaluation ends before its next batch.
// (A budget of a nanosecond is always past by the time the one step is done.)
TEST_F(TrainerTest, TheTimeBudgetAlsoBoundsTheEvaluation) {
  TrainOptions o = options();
  o.steps = 1;
  o.evaluate_test = true;
  o.time_budget_s = 1e-9;
  const TrainResult r = train_architecture(arch_, *data_, o);
  EXPECT_EQ(r.status, TrainStatus::truncated);
  EXPECT_EQ(r.reason, "time budget of 1e-09 s reached during evaluation, after 1 of 1 steps");
  EXPECT_EQ(r.steps, 1);
  EXPECT_FALSE(r.validation_accuracy.has_value());
  EXPECT_FALSE(r.test_accuracy.has_value());
}

TEST_F(TrainerTest, TheStopFlagEndsTheRunWithoutEvaluation) {
  std::atomic<bool> stop{false};
  TrainHooks hooks;
  hooks.stop = &stop;
  hooks.progress_interval_s = 0;
  std::int64_t reports = 0;
  hooks.on_progress = [&](const TrainProgress& p) {
    ++reports;
    if (p.step >= 3) stop = true;  // as SIGINT would, from elsewhere
  };
  TrainOptions o = options();
  o.save_path = (dir_->path() / "stopped.pt").string();
  const TrainResult r = train_architecture(arch_, *data_, o, hooks);
  EXPECT_EQ(r.status, TrainStatus::truncated);
  EXPECT_EQ(r.reason, "stopped after 3 of 30 steps");
  EXPECT_EQ(r.steps, 3);
  EXPECT_FALSE(r.validation_accuracy.has_value());
  EXPECT_FALSE(std::filesystem::exists(o.save_path));
  EXPECT_GE(reports, 3);
}

TEST_F(TrainerTest, ProgressReportsCountUpAndEndWithDone) {
  std::vector<TrainProgress> seen;
  TrainHooks hooks;
  hooks.progress_interval_s = 0;
  hooks.on_progress = [&](const TrainProgress& p) { seen.push_back(p); };
  const TrainResult r = train_architecture(arch_, *data_, options(), hooks);
  ASSERT_EQ(r.status, TrainStatus::ok) << r.reason;
  ASSERT_GE(seen.size(), 2u);
  EXPECT_EQ(seen.front().step, 1);
  EXPECT_EQ(seen.front().epoch, 1);
  EXPECT_TRUE(seen.back().done);
  EXPECT_EQ(seen.back().step, 30);
  EXPECT_EQ(seen.back().total_steps, 30);
  EXPECT_EQ(seen.back().epochs, 2);
  EXPECT_EQ(seen.back().epoch, 2);
  EXPECT_EQ(seen.back().samples_seen, 960);
  EXPECT_LT(seen.back().learning_rate, 0.05 * 0.01);  // cosine schedule, at its end
}

TEST_F(TrainerTest, FailuresAreResultsNotExceptions) {
  const Architecture wrong_outputs =
      parse_architecture("input: [1, 8, 8]\nlayers:\n  - fc: {units: 4}\n", "four.yaml");
  TrainResult r = train_architecture(wrong_outputs, *data_, options());
  EXPECT_EQ(r.status, TrainStatus::failed);
  EXPECT_EQ(r.reason, "layers[0]: the network outputs 4 values per sample but the data has 3 classes");

  const Architecture wrong_input =
      parse_architecture("input: [1, 28, 28]\nlayers:\n  - fc: {units: 3}\n", "big.yaml");
  r = train_architecture(wrong_input, *data_, options());
  EXPECT_EQ(r.status, TrainStatus::failed);
  EXPECT_EQ(r.reason, "input: the network takes 1x28x28 inputs but the data's samples are 1x8x8");

  TrainOptions o = options();
  o.batch_size = 0;
  r = train_architecture(arch_, *data_, o);
  EXPECT_EQ(r.status, TrainStatus::failed);
  EXPECT_EQ(r.reason, "batch_size: must be >= 1, got 0");

  o = options();
  o.train_samples = 100000;
  r = train_architecture(arch_, *data_, o);
  EXPECT_EQ(r.status, TrainStatus::failed);
  EXPECT_EQ(r.reason, "train_samples: 100000 is more than the 500 samples of the training split");

  TrainHooks hooks;
  hooks.on_progress = [](const TrainProgress&) { throw std::runtime_error("display broke"); };
  r = train_architecture(arch_, *data_, options(), hooks);
  EXPECT_EQ(r.status, TrainStatus::failed);
  EXPECT_EQ(r.reason, "display broke");
  EXPECT_FALSE(r.validation_accuracy.has_value());
}

TEST_F(TrainerTest, SavesTheWeightsWhenAsked) {
  TrainOptions o = options();
  o.steps = 3;
  o.save_path = (dir_->path() / "weights" / "tiny.pt").string();
  std::filesystem::create_directories(dir_->path() / "weights");
  const TrainResult r = train_architecture(arch_, *data_, o);
  ASSERT_EQ(r.status, TrainStatus::ok) << r.reason;
  ASSERT_TRUE(std::filesystem::exists(o.save_path));
  EXPECT_GT(std::filesystem::file_size(o.save_path), 4u * (4 * 9 + 4 + 8 + 16 * 64 + 16 + 3 * 16 + 3));

  o.save_path = (dir_->path() / "no-such-dir" / "tiny.pt").string();
  const TrainResult unsaved = train_architecture(arch_, *data_, o);
  EXPECT_EQ(unsaved.status, TrainStatus::failed);
  EXPECT_THAT(unsaved.reason, HasSubstr("trained, but saving the weights failed"));
}

// search.fidelity.continue: a run stopped at a step and continued from its saved state ends
// where the whole run ends, bit for bit (dropout, batch norm, a stop in mid-epoch, a cosine
// schedule that spans all the steps), with SGD and Adam.
TEST_F(TrainerTest, AContinuedPrefixEndsWhereTheWholeRunEnds) {
  const std::filesystem::path dir = dir_->path() / "continue";
  std::filesystem::create_directories(dir);
  for (OptimizerKind kind : {OptimizerKind::sgd, OptimizerKind::adam}) {
    TrainOptions o = options();  // 15 steps an epoch, 30 in all
    o.optimizer = kind;
    o.learning_rate = kind == OptimizerKind::adam ? 0.01 : 0.05;
    o.save_path = (dir / "whole.pt").string();
    const TrainResult whole = train_architecture(arch_, *data_, o);
    ASSERT_EQ(whole.status, TrainStatus::ok) << whole.reason;

    TrainOptions first = o;
    first.save_path = (dir / "first.pt").string();
    first.stop_at = 7.0 / 30;
    first.state_path = (dir / "7.state").string();
    const TrainResult a = train_architecture(arch_, *data_, first);
    ASSERT_EQ(a.status, TrainStatus::ok) << a.reason;
    EXPECT_EQ(a.steps, 7);
    ASSERT_TRUE(a.validation_accuracy.has_value());  // a prefix is evaluated
    EXPECT_NE(read_weights_file(arch_, first.save_path), read_weights_file(arch_, o.save_path));

    TrainOptions second = o;
    second.save_path = (dir / "second.pt").string();
    second.stop_at = 22.0 / 30;
    second.resume_path = first.state_path;
    second.state_path = (dir / "22.state").string();
    const TrainResult b = train_architecture(arch_, *data_, second);
    ASSERT_EQ(b.status, TrainStatus::ok) << b.reason;
    EXPECT_EQ(b.steps, 22);
    EXPECT_EQ(b.samples_seen, 22 * 32);
    ASSERT_FALSE(b.loss_curve.empty());
    EXPECT_GT(b.loss_curve.front().step, 7);  // this call's steps only

    TrainOptions last = o;
    last.save_path = (dir / "last.pt").string();
    last.resume_path = second.state_path;
    const TrainResult c = train_architecture(arch_, *data_, last);
    ASSERT_EQ(c.status, TrainStatus::ok) << c.reason;
    EXPECT_EQ(c.steps, whole.steps);
    EXPECT_EQ(c.validation_accuracy, whole.validation_accuracy) << to_string(kind);
    EXPECT_EQ(read_weights_file(arch_, last.save_path), read_weights_file(arch_, o.save_path)) << to_string(kind);
  }
}

TEST_F(TrainerTest, AStateOfAnotherRunOrNoneIsAFailureWithAReason) {
  const std::filesystem::path dir = dir_->path() / "continue-bad";
  std::filesystem::create_directories(dir);
  TrainOptions o = options();
  o.stop_at = 5.0 / 30;
  o.state_path = (dir / "5.state").string();
  ASSERT_EQ(train_architecture(arch_, *data_, o).status, TrainStatus::ok);

  TrainOptions other_seed = options();
  other_seed.seed = 2;
  other_seed.resume_path = o.state_path;
  const TrainResult seed = train_architecture(arch_, *data_, other_seed);
  EXPECT_EQ(seed.status, TrainStatus::failed);
  EXPECT_THAT(seed.reason, HasSubstr("is of another run"));

  TrainOptions behind = options();
  behind.stop_at = 3.0 / 30;
  behind.resume_path = o.state_path;
  const TrainResult past = train_architecture(arch_, *data_, behind);
  EXPECT_EQ(past.status, TrainStatus::failed);
  EXPECT_THAT(past.reason, HasSubstr("is at step 5, past the 3 asked"));

  const Architecture wider = parse_architecture(R"(
name: wider
input: [1, 8, 8]
layers:
  - conv: {filters: 6, kernel: 3, padding: 1, batch_norm: true}
  - pool: {op: max, kernel: 2}
  - fc: {units: 3}
)", "wider.yaml");
  TrainOptions misfit = options();
  misfit.resume_path = o.state_path;
  const TrainResult wrong = train_architecture(wider, *data_, misfit);
  EXPECT_EQ(wrong.status, TrainStatus::failed);
  EXPECT_THAT(wrong.reason, HasSubstr("does not fit"));

  TrainOptions missing = options();
  missing.resume_path = (dir / "none.state").string();
  const TrainResult none = train_architecture(arch_, *data_, missing);
  EXPECT_EQ(none.status, TrainStatus::failed);
  EXPECT_THAT(none.reason, HasSubstr("cannot read the training state"));
}

// Whether LibTorch sees a CUDA device, through the torch-free API.
bool cuda_available() {
  try {
    check_device(ComputeDevice::cuda);
    return true;
  } catch (const SpecError&) {
    return false;
  }
}

TEST_F(TrainerTest, CudaWithoutAGpuIsAFailureWithAReason) {
  if (cuda_available()) GTEST_SKIP() << "a CUDA device is present: see TrainsOnTheGpu_CUDA";
  TrainOptions o = options();
  o.device = ComputeDevice::cuda;
  const TrainResult r = train_architecture(arch_, *data_, o);
  EXPECT_EQ(r.status, TrainStatus::failed);
  EXPECT_THAT(r.reason, HasSubstr("device: cuda asked, but LibTorch"));
  EXPECT_THAT([] { check_device(ComputeDevice::cuda); },
              ::testing::ThrowsMessage<SpecError>(HasSubstr("sees no CUDA device")));
  EXPECT_NO_THROW(check_device(ComputeDevice::cpu));
}

TEST_F(TrainerTest, TrainsOnTheGpu_CUDA) {
  if (!cuda_available()) GTEST_SKIP() << "no CUDA device: LibTorch is CPU-only here, or there is no GPU";
  TrainOptions o = options();
  o.device = ComputeDevice::cuda;
  o.save_path = (dir_->path() / "gpu.pt").string();
  const TrainResult gpu = train_architecture(arch_, *data_, o);
  ASSERT_EQ(gpu.status, TrainStatus::ok) << gpu.reason;
  o.device = ComputeDevice::cpu;
  o.save_path.clear();
  const TrainResult cpu = train_architecture(arch_, *data_, o);
  // Same weights at the start, different kernels (and dropout masks): close, not identical.
  EXPECT_NEAR(*gpu.validation_accuracy, *cpu.validation_accuracy, 0.15);
  EXPECT_NEAR(gpu.loss_curve.front().loss, cpu.loss_curve.front().loss, 0.05);
  EXPECT_TRUE(std::filesystem::exists(dir_->path() / "gpu.pt"));
}

TEST_F(TrainerTest, RunsOnTheRequestedThreadsAndRestoresTheCallersCount) {
  const int before = intra_op_threads();
  int inside = 0;
  TrainHooks hooks;
  hooks.progress_interval_s = 0;
  hooks.on_progress = [&](const TrainProgress&) { inside = intra_op_threads(); };
  TrainOptions o = options();
  o.steps = 2;
  o.threads = before == 2 ? 3 : 2;
  const TrainResult r = train_architecture(arch_, *data_, o, hooks);
  ASSERT_EQ(r.status, TrainStatus::ok) << r.reason;
  EXPECT_EQ(inside, o.threads);
  EXPECT_EQ(intra_op_threads(), before);
}

TEST(TrainStatusTest, NamesAreTheOnesWrittenInRunDirectories) {
  EXPECT_EQ(to_string(TrainStatus::ok), "ok");
  EXPECT_EQ(to_string(TrainStatus::diverged), "diverged");
  EXPECT_EQ(to_string(TrainStatus::truncated), "truncated");
  EXPECT_EQ(to_string(TrainStatus::failed), "failed");
}

}  // namespace
}  // namespace joules
