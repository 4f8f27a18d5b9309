#include "search/evaluator.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <set>

namespace joules {
namespace {

using namespace std::chrono_literals;

// A trainer that waits (at most 10 s) until `wanted` trainings run at once, and records how
// many ever did: the concurrency a user asking for `jobs` gets, whatever the machine's cores.
struct Rendezvous {
  std::mutex mutex;
  std::condition_variable changed;
  int running = 0;
  int most = 0;
  int wanted = 0;
  bool met = false;  // `wanted` ran at once: everyone may leave

  CandidateTrainer trainer() {
    return [this](const Architecture&, const TrainOptions& options, const std::atomic<bool>*) {
      std::unique_lock lock(mutex);
      most = std::max(most, ++running);
      if (running >= wanted) met = true;
      changed.notify_all();
      changed.wait_for(lock, 10s, [this] { return met; });
      --running;
      TrainResult r;
      r.status = TrainStatus::ok;
      r.validation_accuracy = static_cast<double>(options.seed) / 100;
      return r;
    };
  }
};

TEST(LocalEvaluatorTest, RunsAsManyTrainingsAtOnceAsJobsEvenBeyondTheCores) {
  for (int jobs : {2, 4}) {
    Rendezvous meet;
    meet.wanted = jobs;
    auto evaluator = make_local_evaluator(meet.trainer(), jobs, nullptr);
    ASSERT_EQ(evaluator->slots(), static_cast<std::size_t>(jobs));
    for (int i = 0; i < jobs; ++i) {
      TrainJob job{.id = i};
      job.options.seed = static_cast<std::uint64_t>(i);
      evaluator->submit(std::move(job));
    }
    EXPECT_THROW(evaluator->submit(TrainJob{.id = 99}), std::logic_error) << "every slot is busy";
    std::set<std::int64_t> ids;
    const auto start = std::chrono::steady_clock::now();
    while (ids.size() < static_cast<std::size_t>(jobs)) {
      if (auto done = evaluator->collect(100ms)) {
        EXPECT_EQ(done->result.status, TrainStatus::ok);
        EXPECT_DOUBLE_EQ(*done->result.validation_accuracy, static_cast<double>(done->id) / 100);
        ids.insert(done->id);
      }
      ASSERT_LT(std::chrono::steady_clock::now() - start, 30s);
    }
    EXPECT_EQ(meet.most, jobs) << "jobs: " << jobs << " trained " << meet.most << " at once";
    EXPECT_EQ(evaluator->in_flight(), 0u);
  }
}

TEST(LocalEvaluatorTest, AThrowingTrainerIsAFailedTrainingAndTheSlotIsFreedAgain) {
  auto evaluator = make_local_evaluator(
      [](const Architecture&, const TrainOptions&, const std::atomic<bool>*) -> TrainResult {
        throw std::runtime_error("out of memory");
      },
      1, nullptr);
  for (int round = 0; round < 2; ++round) {
    evaluator->submit(TrainJob{.id = round});
    std::optional<TrainDone> done;
    for (int i = 0; i < 100 && !done; ++i) done = evaluator->collect(100ms);
    ASSERT_TRUE(done.has_value());
    EXPECT_EQ(done->id, round);
    EXPECT_EQ(done->result.status, TrainStatus::failed);
    EXPECT_EQ(done->result.reason, "out of memory");
  }
}

TEST(LocalEvaluatorTest, RefusesFewerThanOneJob) {
  const CandidateTrainer any = [](const Architecture&, const TrainOptions&, const std::atomic<bool>*) {
    return TrainResult{};
  };
  EXPECT_THROW(make_local_evaluator(any, 0, nullptr), std::invalid_argument);
}

}  // namespace
}  // namespace joules
