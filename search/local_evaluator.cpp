// search/evaluator.hpp's local evaluator: `jobs` threads of its own, each taking the next
// submitted training. Not TBB's task arena: TBB caps its workers at the machine's hardware
// threads minus one (so `jobs: 2` on 2 cores ran one training at a time, with a warning), and
// a training is a long blocking call that should own its thread anyway.

#include <condition_variable>
#include <deque>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "search/evaluator.hpp"

namespace joules {
namespace {

class LocalEvaluator final : public Evaluator {
 public:
  LocalEvaluator(CandidateTrainer trainer, int jobs, const std::atomic<bool>* stop)
      : trainer_(std::move(trainer)), jobs_(static_cast<std::size_t>(jobs)), stop_(stop) {
    threads_.reserve(jobs_);
    for (std::size_t i = 0; i < jobs_; ++i) threads_.emplace_back([this] { work(); });
  }

  // Trainings still running finish first: they use this object.
  ~LocalEvaluator() override {
    {
      std::lock_guard lock(mutex_);
      closing_ = true;
    }
    queued_.notify_all();
    for (std::thread& t : threads_) t.join();
  }

  std::size_t slots() const override { return jobs_; }
  std::size_t in_flight() const override {
    std::lock_guard lock(mutex_);
    return waiting_.size() + running_ + done_.size();
  }

  void submit(TrainJob job) override {
    {
      std::lock_guard lock(mutex_);
      if (waiting_.size() + running_ + done_.size() >= jobs_) {
        throw std::logic_error(fmt::format("submit: all {} local slots are busy", jobs_));
      }
      waiting_.push_back(std::move(job));
    }
    queued_.notify_one();
  }

  std::optional<TrainDone> collect(std::chrono::milliseconds timeout) override {
    std::unique_lock lock(mutex_);
    if (!finished_.wait_for(lock, timeout, [this] { return !done_.empty(); })) return std::nullopt;
    TrainDone done = std::move(done_.front());
    done_.pop_front();
    return done;
  }

 private:
  void work() {
    std::unique_lock lock(mutex_);
    while (true) {
      queued_.wait(lock, [this] { return closing_ || !waiting_.empty(); });
      if (waiting_.empty()) return;  // closing, and nothing left to train
      TrainJob job = std::move(waiting_.front());
      waiting_.pop_front();
      ++running_;
      lock.unlock();
      TrainDone done{.id = job.id};
      try {
        done.result = trainer_(job.arch, job.options, stop_);
      } catch (const std::exception& e) {
        done.result = TrainResult{.status = TrainStatus::failed, .reason = e.what()};
      } catch (...) {
        done.result = TrainResult{.status = TrainStatus::failed, .reason = "unknown error"};
      }
      lock.lock();
      --running_;
      done_.push_back(std::move(done));
      finished_.notify_all();
    }
  }

  CandidateTrainer trainer_;
  std::size_t jobs_;
  const std::atomic<bool>* stop_;
  mutable std::mutex mutex_;  // guards what follows
  std::condition_variable queued_;
  std::condition_variable finished_;
  std::deque<TrainJob> waiting_;
  std::size_t running_ = 0;
  std::deque<TrainDone> done_;
  bool closing_ = false;
  std::vector<std::thread> threads_;  // last: started once everything above exists
};

}  // namespace

std::unique_ptr<Evaluator> make_local_evaluator(CandidateTrainer trainer, int jobs, const std::atomic<bool>* stop) {
  if (jobs < 1) throw std::invalid_argument(fmt::format("local evaluator: jobs is {}; expected at least 1", jobs));
  if (!trainer) throw std::invalid_argument("local evaluator: no trainer");
  return std::make_unique<LocalEvaluator>(std::move(trainer), jobs, stop);
}

}  // namespace joules
