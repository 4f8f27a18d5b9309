#include "search/nas_search.hpp"

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "energy/estimator.hpp"
#include "energy/split.hpp"
#include "search/nsga2.hpp"
#include "search/nsga2_json.hpp"
#include "search/pareto.hpp"
#include "space/analysis.hpp"
#include "util/input_error.hpp"

namespace joules {
namespace {

using Clock = std::chrono::steady_clock;

constexpr int kCheckpointFormat = 1;
// A candidate whose training failed loses against every trained or over-budget one.
constexpr double kFailedViolation = 1e9;

// NSGA-II's view of the search space (see search/nsga2.hpp for the concept).
struct NasProblem {
  using Decision = Genome;
  const SearchSpace* space = nullptr;
  double crossover_rate = 0.9;
  std::size_t objectives = 2;

  std::size_t objective_count() const { return objectives; }
  Genome sample(Rng& rng) const { return space->sample(rng); }
  std::pair<Genome, Genome> crossover(const Genome& a, const Genome& b, Rng& rng) const {
    if (!rng.chance(crossover_rate)) return {a, b};
    return space->crossover(a, b, rng);
  }
  Genome mutate(const Genome& g, Rng& rng) const { return space->mutate(g, rng); }
};

// Sum of the relative excesses over the budgets; `why` lists them.
double budget_violation(const EvaluationRecord& r, const Budgets& b, std::string& why) {
  double violation = 0;
  auto check = [&](const char* what, double value, std::optional<double> limit, const char* unit) {
    if (!limit || value <= *limit) return;
    violation += value / *limit - 1;
    why += fmt::format("{}{} {:.4g}{} > budget {:.4g}{}", why.empty() ? "" : "; ", what, value, unit, *limit, unit);
  };
  check("energy", r.energy_mj, b.energy_mj, " mJ");
  if (r.latency_ms) check("latency", *r.latency_ms, b.latency_ms, " ms");
  check("params", static_cast<double>(r.params),
        b.params ? std::optional<double>(static_cast<double>(*b.params)) : std::nullopt, "");
  check("MACs", static_cast<double>(r.macs), b.macs ? std::optional<double>(static_cast<double>(*b.macs)) : std::nullopt,
        "");
  return violation;
}

// The estimate's band, warnings and extrapolation into the record.
void record_coverage(const NetworkEstimate& estimate, EvaluationRecord& r) {
  r.energy_low_mj = estimate.energy_low_mj;
  r.energy_high_mj = estimate.energy_high_mj;
  r.latency_low_ms = estimate.latency_low_ms;
  r.latency_high_ms = estimate.latency_high_ms;
  r.extrapolated = estimate.extrapolated();
  for (const EstimateWarning& w : estimate.warnings) {
    r.warnings.push_back(describe(w));
    const std::string key = w.type == EstimateWarning::Type::fallback ? "kind" : std::string(to_string(w.key));
    if (std::find(r.extrapolated_keys.begin(), r.extrapolated_keys.end(), key) == r.extrapolated_keys.end()) {
      r.extrapolated_keys.push_back(key);
    }
    r.extrapolation_factor = std::max(r.extrapolation_factor, std::min(extrapolation_factor(w), 1e12));
  }
}

class Driver {
 public:
  Driver(const SearchConfig& config, const BoardProfile& profile, RunDirectory& run, const SearchHooks& hooks)
      : config_(config),
        run_(run),
        hooks_(hooks),
        space_(config.space),
        estimator_(profile),
        start_(Clock::now()) {
    if (!hooks_.trainer) throw std::invalid_argument("run_search: no trainer");
    // Ids come from the checkpoint (next_id) and the batch order, not from the log: a
    // resumed generation must give its candidates the ids they had before.
    for (const EvaluationRecord& r : run_.previous_evaluations()) known_[r.hash] = r;
    evaluated_ = known_.size();
  }

  SearchSummary run() {
    std::jthread ticker([this](std::stop_token stop) {
      while (!stop.stop_requested()) {
        std::unique_lock lock(tick_mutex_);
        tick_.wait_for(lock, stop, std::chrono::seconds(1), [] { return false; });
        if (!stop.stop_requested()) report();
      }
    });
    if (config_.search.algorithm == Algorithm::nsga2) {
      run_nsga2();
    } else {
      run_random();
    }
    ticker.request_stop();
    report();
    return summary_;
  }

 private:
  bool stopping() const { return hooks_.stop && hooks_.stop->load(); }

  std::optional<nlohmann::json> checkpoint_for(Algorithm algorithm) {
    std::optional<nlohmann::json> checkpoint = run_.read_checkpoint();
    if (!checkpoint) return std::nullopt;
    const nlohmann::json& c = *checkpoint;
    const auto mismatch = [&](const char* key, const std::string& then, const std::string& now) {
      throw InputError(run_.checkpoint_path().string(), 0, key,
                       fmt::format("{} in the checkpoint, {} in config.yaml: they belong to different runs", then, now));
    };
    if (c.value("format", 0) != kCheckpointFormat) mismatch("format", c.value("format", nlohmann::json()).dump(), "1");
    if (c.value("algorithm", "") != to_string(algorithm)) {
      mismatch("algorithm", c.value("algorithm", ""), std::string(to_string(algorithm)));
    }
    if (c.value("seed", std::uint64_t{0}) != config_.seed) {
      mismatch("seed", c.value("seed", nlohmann::json()).dump(), std::to_string(config_.seed));
    }
    next_id_ = std::max(next_id_, c.at("next_id").get<std::int64_t>());
    summary_.generations_done = c.at("generations_done").get<std::size_t>();
    return checkpoint;
  }

  void write_checkpoint(nlohmann::json state) {
    state["format"] = kCheckpointFormat;
    state["algorithm"] = to_string(config_.search.algorithm);
    state["seed"] = config_.seed;
    state["next_id"] = next_id_;
    state["generations_done"] = summary_.generations_done;
    state["finished"] = summary_.generations_done > config_.search.generations;
    run_.write_checkpoint(state);
  }

  void run_nsga2() {
    const SearchOptions& s = config_.search;
    Nsga2<NasProblem> optimizer(NasProblem{&space_, s.crossover_rate, s.objectives.size()},
                                Nsga2Options{.population_size = s.population, .seed = config_.seed});
    if (const auto checkpoint = checkpoint_for(Algorithm::nsga2)) {
      optimizer.restore(checkpoint->at("optimizer").get<Nsga2State<Genome>>());
    }
    while (optimizer.generation() <= s.generations) {
      const std::vector<Genome> batch = optimizer.ask();
      const std::optional<std::vector<Evaluation>> results = evaluate(batch, optimizer.generation());
      if (!results) return;
      optimizer.tell(*results);
      summary_.generations_done = optimizer.generation();
      write_checkpoint({{"optimizer", optimizer.state()}});
    }
  }

  void run_random() {
    const SearchOptions& s = config_.search;
    Rng rng(config_.seed);
    if (const auto checkpoint = checkpoint_for(Algorithm::random)) {
      rng.set_state(checkpoint->at("rng").get<Rng::State>());
    }
    while (summary_.generations_done <= s.generations) {
      // Unseen networks where the space has them: the same number of evaluations as NSGA-II's.
      std::vector<Genome> batch;
      std::unordered_set<std::string> drawn;
      for (std::size_t i = 0; i < s.population; ++i) {
        Genome g = space_.sample(rng);
        for (int attempt = 0; attempt < 100; ++attempt) {
          const std::string hash = canonical_hash_hex(space_.decode(g));
          // Known from earlier generations only, so a resumed generation draws what it drew.
          const auto it = known_.find(hash);
          const bool seen = it != known_.end() && it->second.generation < static_cast<int>(summary_.generations_done);
          if (!seen && !drawn.contains(hash)) break;
          g = space_.sample(rng);
        }
        drawn.insert(canonical_hash_hex(space_.decode(g)));
        batch.push_back(std::move(g));
      }
      if (!evaluate(batch, summary_.generations_done)) return;
      ++summary_.generations_done;
      write_checkpoint({{"rng", rng.state()}});
    }
  }

  Evaluation to_evaluation(const EvaluationRecord& r) const {
    Evaluation e{.objectives = minimised_objectives(r, config_.search.objectives)};
    if (r.status == EvaluationStatus::failed) {
      e.violation = kFailedViolation;
    } else if (r.status == EvaluationStatus::infeasible) {
      std::string why;
      double violation = budget_violation(r, config_.search.budgets, why);
      // Rejected extrapolations: the farther outside the data, the worse.
      if (r.extrapolated && config_.search.extrapolation == Extrapolation::reject) {
        violation += std::log10(std::min(r.extrapolation_factor, 1e12)) + 1e-6;
      }
      e.violation = std::max(violation, 1e-9);
    }
    return e;
  }

  // Prices a new candidate; a record with status infeasible when it breaks a budget.
  EvaluationRecord price(const Architecture& arch, const std::string& hash, std::size_t generation) {
    EvaluationRecord r;
    r.id = next_id_++;
    r.generation = static_cast<int>(generation);
    r.hash = hash;
    r.arch = arch;
    r.arch.name = fmt::format("candidate-{}", r.id);
    const NetworkAnalysis analysis = analyze(arch);
    const NetworkEstimate estimate = estimator_.estimate(arch, analysis);
    r.energy_mj = estimate.energy_mj;
    if (config_.search.split) {
      const SplitPlan splits = plan_splits(analysis, estimate, *config_.search.split);
      r.split_energy_mj = splits.splits[splits.best].total_energy_mj;
    }
    r.latency_ms = estimate.latency_ms;
    record_coverage(estimate, r);
    r.macs = analysis.macs;
    r.params = analysis.params;
    std::string why;
    if (budget_violation(r, config_.search.budgets, why) > 0) {
      r.status = EvaluationStatus::infeasible;
      r.error = why;
    }
    if (r.extrapolated) ++summary_.extrapolated;
    if (r.extrapolated && config_.search.extrapolation == Extrapolation::reject) {
      r.status = EvaluationStatus::infeasible;
      r.error += fmt::format("{}extrapolated (search.extrapolation: reject): {}", r.error.empty() ? "" : "; ",
                             r.warnings.front());
    }
    return r;
  }

  // Throws std::runtime_error when the weights could not be written: the run stops, and the
  // candidate, not logged, is trained again on resume.
  void train(EvaluationRecord& r) {
    TrainOptions options = config_.training;
    options.seed = candidate_seed(config_.training.seed, r.hash);
    options.evaluate_test = false;
    const std::string weights = fmt::format("weights/{}.pt", r.id);
    options.save_path = (run_.path() / weights).string();
    TrainResult result;
    try {
      result = hooks_.trainer(r.arch, options, hooks_.stop);
    } catch (const std::exception& e) {
      result.status = TrainStatus::failed;
      result.reason = e.what();
    } catch (...) {
      result.status = TrainStatus::failed;
      result.reason = "unknown error";
    }
    if (!result.save_error.empty()) {
      throw std::runtime_error(fmt::format("cannot write {}: {}; the search stopped (candidate {} is not logged): "
                                           "free space or fix the directory, then continue with joules search "
                                           "--resume --out {}",
                                           options.save_path, result.save_error, r.id, run_.path().string()));
    }
    r.train_seconds = result.seconds;
    const bool usable = (result.status == TrainStatus::ok || result.status == TrainStatus::truncated) &&
                        result.validation_accuracy.has_value();
    if (usable) {
      r.status = EvaluationStatus::ok;
      r.accuracy = result.validation_accuracy;
      r.weights = weights;
      // Truncated by the time budget: the budget is part of the protocol; say so.
      if (result.status == TrainStatus::truncated) r.error = "truncated: " + result.reason;
    } else {
      r.status = EvaluationStatus::failed;
      r.error = fmt::format("{}: {}", to_string(result.status), result.reason);
    }
  }

  // Evaluates a batch; std::nullopt when stopped before it was complete.
  std::optional<std::vector<Evaluation>> evaluate(const std::vector<Genome>& batch, std::size_t generation) {
    std::vector<std::string> hashes;
    std::vector<EvaluationRecord> to_train;
    {
      std::lock_guard lock(mutex_);
      generation_ = generation;
      std::unordered_set<std::string> seen;
      for (const Genome& g : batch) {
        Architecture arch = space_.decode(g);
        hashes.push_back(canonical_hash_hex(arch));
        const std::string& hash = hashes.back();
        if (!seen.insert(hash).second) continue;
        const auto it = known_.find(hash);
        if (it != known_.end() && it->second.generation < static_cast<int>(generation)) {
          ++summary_.reused;
          continue;
        }
        // New in this generation: ids follow the batch order, so a resumed generation gives
        // its candidates the ids they had before the interruption.
        if (it != known_.end()) {
          next_id_ = std::max(next_id_, it->second.id + 1);
          continue;
        }
        EvaluationRecord r = price(arch, hash, generation);
        if (r.status == EvaluationStatus::infeasible) {
          run_.append(r);
          known_[hash] = r;
          ++evaluated_;
          ++summary_.infeasible;
        } else {
          to_train.push_back(std::move(r));
        }
      }
      planned_ = to_train.size();
    }
    report();

    // An I/O failure of the run's own files (weights, log) stops the run: no training starts
    // after it and nothing more is appended (a log torn by a full disk must stay its last line).
    std::exception_ptr failure;
    std::atomic<bool> failed{false};
    tbb::task_arena arena(config_.search.jobs);
    arena.execute([&] {
      tbb::parallel_for(tbb::blocked_range<std::size_t>(0, to_train.size(), 1), [&](const auto& range) {
        for (std::size_t i = range.begin(); i != range.end(); ++i) {
          if (stopping() || failed) return;
          EvaluationRecord& r = to_train[i];
          ++running_;
          report();
          try {
            train(r);
          } catch (...) {
            --running_;
            std::lock_guard lock(mutex_);
            if (!failure) failure = std::current_exception();
            failed = true;
            return;
          }
          --running_;
          if (stopping() && r.status != EvaluationStatus::ok) {
            report();
            return;  // stopped mid-training: not an evaluation; trained again on resume
          }
          try {
            std::lock_guard lock(mutex_);
            if (failed) return;
            run_.append(r);
            known_[r.hash] = r;
            ++evaluated_;
            ++summary_.trained;
            --planned_;
            train_seconds_total_ += r.train_seconds;
          } catch (...) {
            std::lock_guard lock(mutex_);
            if (!failure) failure = std::current_exception();
            failed = true;
          }
          report();
        }
      });
    });
    if (failure) std::rethrow_exception(failure);
    if (stopping()) {
      summary_.interrupted = true;
      return std::nullopt;
    }
    std::vector<Evaluation> results;
    std::lock_guard lock(mutex_);
    for (const std::string& hash : hashes) results.push_back(to_evaluation(known_.at(hash)));
    return results;
  }

  void report() {
    if (!hooks_.on_progress) return;
    SearchProgress p;
    {
      std::lock_guard lock(mutex_);
      p.generation = generation_;
      p.generations = config_.search.generations;
      p.evaluated = evaluated_;
      p.running = running_;
      p.planned = planned_;
      ObjectiveMatrix points;
      for (const auto& [hash, r] : known_) {
        if (r.status != EvaluationStatus::ok) continue;
        points.push_back({1.0 - *r.accuracy, r.energy_mj});
        p.best_accuracy = std::max(p.best_accuracy.value_or(0.0), *r.accuracy);
      }
      p.front_size = pareto_front(points).size();
      p.elapsed_s = std::chrono::duration<double>(Clock::now() - start_).count();
      if (summary_.trained > 0) {
        const double per_training = train_seconds_total_ / static_cast<double>(summary_.trained);
        const double remaining = static_cast<double>(planned_) +
                                 static_cast<double>(config_.search.population) *
                                     static_cast<double>(config_.search.generations - std::min(generation_, config_.search.generations));
        p.eta_s = remaining * per_training / static_cast<double>(config_.search.jobs);
      }
    }
    std::lock_guard lock(report_mutex_);
    hooks_.on_progress(p);
  }

  const SearchConfig& config_;
  RunDirectory& run_;
  const SearchHooks& hooks_;
  SearchSpace space_;
  EnergyEstimator estimator_;
  Clock::time_point start_;

  std::mutex mutex_;  // guards what follows
  std::unordered_map<std::string, EvaluationRecord> known_;
  std::int64_t next_id_ = 0;
  std::size_t generation_ = 0;
  std::size_t evaluated_ = 0;
  std::size_t planned_ = 0;
  double train_seconds_total_ = 0;
  SearchSummary summary_;

  std::atomic<std::size_t> running_{0};
  std::mutex report_mutex_;  // serialises on_progress calls
  std::mutex tick_mutex_;
  std::condition_variable_any tick_;
};

}  // namespace

std::vector<double> minimised_objectives(const EvaluationRecord& r, const std::vector<Objective>& objectives) {
  std::vector<double> values;
  for (Objective o : objectives) {
    switch (o) {
      case Objective::accuracy: values.push_back(1.0 - r.accuracy.value_or(0.0)); break;
      case Objective::energy: values.push_back(r.energy_mj); break;
      case Objective::latency: values.push_back(r.latency_ms.value_or(0.0)); break;
      case Objective::params: values.push_back(static_cast<double>(r.params)); break;
      case Objective::macs: values.push_back(static_cast<double>(r.macs)); break;
      case Objective::split_energy: values.push_back(r.split_energy_mj.value_or(r.energy_mj)); break;
    }
  }
  return values;
}

std::uint64_t candidate_seed(std::uint64_t training_seed, const std::string& hash) {
  std::uint64_t h = 0;
  for (char c : hash) h = h * 16 + static_cast<std::uint64_t>(c <= '9' ? c - '0' : c - 'a' + 10);
  Rng rng(training_seed ^ h);
  return rng();
}

SearchSummary run_search(const SearchConfig& config, const BoardProfile& profile, RunDirectory& run,
                         const SearchHooks& hooks) {
  Driver driver(config, profile, run, hooks);
  return driver.run();
}

}  // namespace joules
