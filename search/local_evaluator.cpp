#include <tbb/task_arena.h>

#include <condition_variable>
#include <deque>
#include <mutex>
#include <stdexcept>

#include <fmt/format.h>

#include "search/evaluator.hpp"

namespace joules {
namespace {

class LocalEvaluator final : public Evaluator {
 public:
  LocalEvaluator(CandidateTrainer trainer, int jobs, const std::atomic<bool>* stop)
      : trainer_(std::move(trainer)),
        jobs_(static_cast<std::size_t>(jobs)),
        stop_(stop),
        // No thread of ours joins the arena, so none is reserved for one: `jobs` TBB workers run.
        arena_(jobs, /*reserved_for_masters=*/0) {}

  // Trainings still running finish first: they use this object.
  ~LocalEvaluator() override {
    std::unique_lock lock(mutex_);
    idle_.wait(lock, [this] { return running_ == 0; });
  }

  std::size_t slots() const override { return jobs_; }
  std::size_t in_flight() const override {
    std::lock_guard lock(mutex_);
    return running_ + done_.size();
  }

  void submit(TrainJob job) override {
    {
      std::lock_guard lock(mutex_);
      if (running_ + done_.size() >= jobs_) {
        throw std::logic_error(fmt::format("submit: all {} local slots are busy", jobs_));
      }
      ++running_;
    }
    arena_.enqueue([this, job = std::move(job)] {
      TrainDone done{.id = job.id};
      try {
        done.result = trainer_(job.arch, job.options, stop_);
      } catch (const std::exception& e) {
        done.result = TrainResult{.status = TrainStatus::failed, .reason = e.what()};
      } catch (...) {
        done.result = TrainResult{.status = TrainStatus::failed, .reason = "unknown error"};
      }
      std::lock_guard lock(mutex_);
      done_.push_back(std::move(done));
      --running_;
      finished_.notify_all();
      idle_.notify_all();
    });
  }

  std::optional<TrainDone> collect(std::chrono::milliseconds timeout) override {
    std::unique_lock lock(mutex_);
    if (!finished_.wait_for(lock, timeout, [this] { return !done_.empty(); })) return std::nullopt;
    TrainDone done = std::move(done_.front());
    done_.pop_front();
    return done;
  }

 private:
  CandidateTrainer trainer_;
  std::size_t jobs_;
  const std::atomic<bool>* stop_;
  mutable std::mutex mutex_;  // guards what follows
  std::condition_variable finished_;
  std::condition_variable idle_;
  std::size_t running_ = 0;
  std::deque<TrainDone> done_;
  tbb::task_arena arena_;  // last: destroyed first, after the destructor has waited
};

}  // namespace

std::unique_ptr<Evaluator> make_local_evaluator(CandidateTrainer trainer, int jobs, const std::atomic<bool>* stop) {
  if (jobs < 1) throw std::invalid_argument(fmt::format("local evaluator: jobs is {}; expected at least 1", jobs));
  if (!trainer) throw std::invalid_argument("local evaluator: no trainer");
  return std::make_unique<LocalEvaluator>(std::move(trainer), jobs, stop);
}

}  // namespace joules
