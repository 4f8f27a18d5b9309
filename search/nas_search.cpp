#include "search/nas_search.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <ctime>
#include <condition_variable>
#include <deque>
#include <exception>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <numeric>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "energy/estimator.hpp"
#include "energy/split.hpp"
#include "search/async_nsga2.hpp"
#include "search/nsga2.hpp"
#include "search/nsga2_json.hpp"
#include "search/pareto.hpp"
#include "search/surrogate.hpp"
#include "space/analysis.hpp"
#include "util/input_error.hpp"
#include "util/median.hpp"

namespace joules {
namespace {

using Clock = std::chrono::steady_clock;

double thread_cpu_seconds() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
}

constexpr int kCheckpointFormat = 1;
// A candidate whose training failed loses against every trained or over-budget one.
constexpr double kFailedViolation = 1e9;
// search.prescreen: trainings the surrogate is fitted to (the latest), and how many standard
// deviations of its prediction an unexplored child's accuracy is given.
constexpr std::size_t kSurrogateRows = 400;
// 2: on the table (bench/search_efficiency) 1 reached random search's 400-evaluation
// hypervolume in 166 evaluations, 2 in 159, 0 (the mean alone) in 276.
constexpr double kPrescreenKappa = 2.0;

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
    if (hooks_.evaluator) {
      evaluator_ = hooks_.evaluator;
    } else {
      if (!hooks_.trainer) throw std::invalid_argument("run_search: no trainer");
      owned_evaluator_ = make_local_evaluator(hooks_.trainer, config_.search.jobs, hooks_.stop);
      evaluator_ = owned_evaluator_.get();
    }
    // Ids come from the checkpoint (next_id) and the batch order, not from the log: a
    // resumed generation must give its candidates the ids they had before.
    for (const EvaluationRecord& r : run_.previous_evaluations()) known_[r.hash] = r;
    evaluated_ = known_.size();
    logged_ = run_.previous_evaluations().size();
  }

  SearchSummary run() {
    std::jthread ticker([this](std::stop_token stop) {
      while (!stop.stop_requested()) {
        std::unique_lock lock(tick_mutex_);
        tick_.wait_for(lock, stop, std::chrono::seconds(1), [] { return false; });
        if (!stop.stop_requested()) report();
      }
    });
    if (config_.search.algorithm == Algorithm::random) {
      run_random();
    } else if (config_.search.algorithm == Algorithm::exhaustive) {
      run_exhaustive();
    } else if (config_.search.schedule == Schedule::async) {
      run_async();
    } else {
      run_nsga2();
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
    // Checkpoints from before search.schedule existed are generational.
    const std::string schedule = c.value("schedule", "generational");
    if (schedule != to_string(config_.search.schedule)) {
      mismatch("schedule", schedule, std::string(to_string(config_.search.schedule)));
    }
    next_id_ = std::max(next_id_, c.at("next_id").get<std::int64_t>());
    summary_.generations_done = c.at("generations_done").get<std::size_t>();
    return checkpoint;
  }

  void write_checkpoint(nlohmann::json state, std::optional<bool> finished = std::nullopt) {
    state["format"] = kCheckpointFormat;
    state["algorithm"] = to_string(config_.search.algorithm);
    state["schedule"] = to_string(config_.search.schedule);
    state["seed"] = config_.seed;
    state["next_id"] = next_id_;
    state["generations_done"] = summary_.generations_done;
    state["finished"] = finished.value_or(summary_.generations_done > config_.search.generations);
    run_.write_checkpoint(state);
  }

  NasProblem problem() const {
    const SearchOptions& s = config_.search;
    return NasProblem{&space_, s.crossover_rate, s.objectives.size()};
  }

  void run_nsga2() {
    const SearchOptions& s = config_.search;
    Nsga2<NasProblem> optimizer(problem(), Nsga2Options{.population_size = s.population, .seed = config_.seed});
    if (const auto checkpoint = checkpoint_for(Algorithm::nsga2)) {
      optimizer.restore(checkpoint->at("optimizer").get<Nsga2State<Genome>>());
    }
    while (optimizer.generation() <= s.generations) {
      const std::vector<Genome> batch =
          optimizer.ask(fresh_rule(optimizer.generation()), screen_rule(optimizer.generation()), s.prescreen);
      const std::optional<std::vector<Evaluation>> results = evaluate(batch, optimizer.generation());
      if (!results) return;
      optimizer.tell(*results);
      summary_.generations_done = optimizer.generation();
      write_checkpoint({{"optimizer", optimizer.state()}});
    }
  }

  // NSGA-II's Fresh for the batch of `generation`: an architecture logged in an earlier
  // generation, or already in this batch, is refused (logged in this one: a resumed batch, bred
  // as it was before the interruption).
  std::function<bool(const Genome&)> fresh_rule(std::uint64_t generation) const {
    auto in_batch = std::make_shared<std::unordered_set<std::string>>();
    return [this, generation, in_batch](const Genome& g) {
      const std::string hash = canonical_hash_hex(space_.decode(g));
      const auto it = known_.find(hash);
      if (it != known_.end() && it->second.generation < static_cast<int>(generation)) return false;
      return in_batch->insert(hash).second;
    };
  }

  // search.prescreen's pick for the batch of `generation` (none when it is off): a Gaussian
  // process of accuracy, fitted to the trainings of earlier generations only (a resumed
  // generation picks what it picked), predicts each child; energy, latency and the budgets
  // are priced exactly; prescreen() picks the `n` that add the most hypervolume.
  Nsga2<NasProblem>::Screen screen_rule(std::uint64_t generation) const {
    if (config_.search.prescreen <= 1) return {};
    return [this, generation](const std::vector<Genome>& children, std::size_t n) {
      const int g = static_cast<int>(generation);
      return screen(children, n, trained_objectives(g), accuracy_model(g));
    };
  }

  // The trainings of generations before `generation`, oldest first.
  std::vector<const EvaluationRecord*> trained_before(int generation) const {
    std::vector<const EvaluationRecord*> trained;
    for (const auto& [hash, r] : known_) {
      if (r.generation < generation && r.status == EvaluationStatus::ok && r.accuracy) trained.push_back(&r);
    }
    std::sort(trained.begin(), trained.end(), [](auto* a, auto* b) { return a->id < b->id; });
    return trained;
  }

  ObjectiveMatrix trained_objectives(int generation) const {
    ObjectiveMatrix evaluated;
    for (const EvaluationRecord* r : trained_before(generation)) {
      evaluated.push_back(minimised_objectives(*r, config_.search.objectives));
    }
    return evaluated;
  }

  bool predicts_accuracy() const {
    const std::vector<Objective>& objectives = config_.search.objectives;
    return std::find(objectives.begin(), objectives.end(), Objective::accuracy) != objectives.end();
  }

  // The prescreen's model of accuracy, fitted to the latest kSurrogateRows trainings of
  // generations before `generation` (the fit is cubic in them); none where accuracy is not an
  // objective or fewer than 2 trainings are there to fit.
  std::optional<GaussianProcess> accuracy_model(int generation) const {
    if (!predicts_accuracy()) return std::nullopt;
    std::vector<const EvaluationRecord*> trained = trained_before(generation);
    if (trained.size() > kSurrogateRows) trained.erase(trained.begin(), trained.end() - kSurrogateRows);
    if (trained.size() < 2) return std::nullopt;
    ObjectiveMatrix x;
    std::vector<double> y;
    for (const EvaluationRecord* r : trained) {
      const std::optional<Genome> genome = canonical_genome(r->arch);
      if (!genome) continue;  // not recoverable from the architecture: left out of the fit
      x.push_back(surrogate_features(*genome, r->macs, r->params, r->fidelity.value_or(1.0)));
      y.push_back(*r->accuracy);
    }
    if (x.empty()) return std::nullopt;
    return GaussianProcess::fit(x, y);
  }

  // The `n` of `children` to train: those that add the most hypervolume to `evaluated` at an
  // optimistic accuracy from `model` (without a model where accuracy is an objective: the first n).
  std::vector<std::size_t> screen(const std::vector<Genome>& children, std::size_t n, const ObjectiveMatrix& evaluated,
                                  const std::optional<GaussianProcess>& model) const {
    if (predicts_accuracy() && !model) {
      std::vector<std::size_t> first(n);
      std::iota(first.begin(), first.end(), 0);
      return first;
    }
    ObjectiveMatrix candidates;
    std::vector<bool> feasible;
    for (const Genome& g : children) {
      EvaluationRecord r = priced(space_.decode(g));
      if (model) {
        const GpPrediction p = model->predict(surrogate_features(canonical_genome(r.arch).value_or(g), r.macs, r.params, 1.0));
        r.accuracy = std::clamp(p.mean + kPrescreenKappa * p.sd, 0.0, 1.0);
      }
      candidates.push_back(minimised_objectives(r, config_.search.objectives));
      feasible.push_back(r.status != EvaluationStatus::infeasible);
    }
    return prescreen(evaluated, candidates, feasible, n);
  }

  // The one genome of an architecture (inactive genes 0); none where the space's encoding
  // cannot recover it (a decode that dropped layers).
  std::optional<Genome> canonical_genome(const Architecture& arch) const {
    try {
      return space_.encode(arch);
    } catch (const std::invalid_argument&) {
      return std::nullopt;
    }
  }

  // The surrogate's description of a training: the space's features of the genome, the
  // logarithms of its MACs and parameters, and of the share of the training it had.
  std::vector<double> surrogate_features(const Genome& genome, std::int64_t macs, std::int64_t params,
                                         double fidelity) const {
    std::vector<double> x = space_.features(genome);
    x.push_back(std::log(1.0 + static_cast<double>(macs)));
    x.push_back(std::log(1.0 + static_cast<double>(params)));
    x.push_back(std::log2(fidelity));
    return x;
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

  // Every member of the space in enumerate()'s order, `population` per batch; a batch is a
  // generation (checkpointed), so a resume goes on with the first unfinished one.
  void run_exhaustive() {
    const std::optional<std::vector<std::pair<Genome, Architecture>>> members = space_.enumerate(kExhaustiveLimit);
    if (!members) throw std::logic_error("run_search: exhaustive over a space larger than the config check allows");
    const std::size_t per_batch = config_.search.population;
    const std::size_t batches = (members->size() + per_batch - 1) / per_batch;
    last_generation_ = batches == 0 ? 0 : batches - 1;
    checkpoint_for(Algorithm::exhaustive);
    while (summary_.generations_done < batches) {
      std::vector<Genome> batch;
      const std::size_t first = summary_.generations_done * per_batch;
      for (std::size_t i = first; i < std::min(members->size(), first + per_batch); ++i) {
        batch.push_back((*members)[i].first);
      }
      if (!evaluate(batch, summary_.generations_done)) return;
      ++summary_.generations_done;
      write_checkpoint({}, summary_.generations_done >= batches);
    }
  }

  // Steady-state NSGA-II: a child whenever a slot is free, each result told as it arrives. The
  // checkpoint holds the optimizer, the candidates in flight and how many log lines it has
  // told; a resume tells the lines logged after it (their genomes re-encoded from the logged
  // architectures) and trains again only the candidates that were in flight and not logged.
  void run_async() {
    const SearchOptions& s = config_.search;
    const std::size_t budget = s.evaluation_budget();
    AsyncNsga2<NasProblem> optimizer(problem(), Nsga2Options{.population_size = s.population, .seed = config_.seed});
    std::deque<std::pair<Genome, EvaluationRecord>> retry;  // in flight at the checkpoint and not logged
    std::size_t told = 0;                // results told to the optimizer (for checkpoints)
    if (const auto checkpoint = checkpoint_for(Algorithm::nsga2)) {
      const nlohmann::json& c = *checkpoint;
      auto state = c.at("optimizer").get<AsyncNsga2State<Genome>>();
      const std::size_t logged_then = c.at("logged").get<std::size_t>();
      told = c.at("told").get<std::size_t>();
      const std::vector<EvaluationRecord>& log = run_.previous_evaluations();
      std::unordered_set<std::int64_t> logged_ids;
      for (const EvaluationRecord& r : log) {
        logged_ids.insert(r.id);
        next_id_ = std::max(next_id_, r.id + 1);
      }
      std::unordered_set<std::int64_t> was_in_flight;
      for (const nlohmann::json& f : c.at("in_flight")) {
        const std::int64_t id = f.at("id").get<std::int64_t>();
        was_in_flight.insert(id);
        if (logged_ids.contains(id)) continue;
        Genome genome = f.at("genome").get<Genome>();
        const Architecture arch = space_.decode(genome);
        retry.emplace_back(std::move(genome),
                           price(arch, canonical_hash_hex(arch), f.at("generation").get<std::size_t>(), id));
      }
      // Bred after the checkpoint and logged: they count against the budget as they did.
      for (std::size_t i = logged_then; i < log.size(); ++i) {
        if (!was_in_flight.contains(log[i].id)) ++state.bred;
      }
      optimizer.restore(std::move(state));
      for (std::size_t i = logged_then; i < log.size(); ++i) {
        // A genome that decodes to the logged architecture. Where the space's encoding cannot
        // recover one (a decode that dropped layers), the result is still known: never trained
        // again, just not told.
        std::optional<Genome> genome;
        try {
          genome = space_.encode(log[i].arch);
        } catch (const std::exception&) {
        }
        if (!genome) continue;
        optimizer.tell(std::move(*genome), to_evaluation(log[i]));
        ++told;
      }
    }
    std::map<std::int64_t, std::pair<Genome, EvaluationRecord>> flying;
    std::vector<std::pair<Genome, EvaluationRecord>> abandoned;  // stopped mid-training
    std::unordered_set<std::string> flying_hashes;
    std::size_t since_checkpoint = 0;
    const auto checkpoint_now = [&](bool finished) {
      nlohmann::json in_flight = nlohmann::json::array();
      const auto add = [&](const std::pair<Genome, EvaluationRecord>& f) {
        in_flight.push_back({{"id", f.second.id}, {"generation", f.second.generation}, {"genome", f.first}});
      };
      for (const auto& [id, f] : flying) add(f);
      for (const auto& f : abandoned) add(f);
      for (const auto& f : retry) add(f);
      summary_.generations_done = told / s.population;
      write_checkpoint({{"optimizer", optimizer.state()}, {"in_flight", in_flight}, {"logged", logged_}, {"told", told}},
                       finished);
      since_checkpoint = 0;
    };
    const auto submit = [&](Genome genome, EvaluationRecord r) {
      flying_hashes.insert(r.hash);
      evaluator_->submit(job_for(r, 1.0));
      const std::int64_t id = r.id;
      flying.emplace(id, std::pair{std::move(genome), std::move(r)});
      ++running_;
    };
    // search.prescreen: of `prescreen` children bred for a free slot, the one that adds the
    // most hypervolume to every training so far, at an optimistic accuracy from a model refitted
    // each `population` results told; children trained or in training already are passed over.
    std::optional<GaussianProcess> model;
    std::optional<std::size_t> model_told;  // told / population when `model` was fitted
    const AsyncNsga2<NasProblem>::Pick pick = [&](const std::vector<Genome>& children) -> std::size_t {
      std::vector<Genome> fresh;
      std::vector<std::size_t> index;
      std::unordered_set<std::string> hashes;
      for (std::size_t i = 0; i < children.size(); ++i) {
        const std::string hash = canonical_hash_hex(space_.decode(children[i]));
        if (flying_hashes.contains(hash) || known_.contains(hash) || !hashes.insert(hash).second) continue;
        fresh.push_back(children[i]);
        index.push_back(i);
      }
      if (fresh.empty()) return 0;
      if (model_told != told / s.population) {
        model = accuracy_model(std::numeric_limits<int>::max());
        model_told = told / s.population;
      }
      return index[screen(fresh, 1, trained_objectives(std::numeric_limits<int>::max()), model).front()];
    };
    // Hands out children until every slot is busy or the budget is spent; infeasible and known
    // candidates are told at once.
    const auto fill = [&] {
      while (!stopping() && evaluator_->in_flight() < evaluator_->slots()) {
        if (!retry.empty()) {
          auto [genome, r] = std::move(retry.front());
          retry.pop_front();
          submit(std::move(genome), std::move(r));
          continue;
        }
        if (optimizer.bred() >= budget) break;
        const std::size_t generation = optimizer.bred() / s.population;
        Genome genome = s.prescreen > 1 ? optimizer.breed(pick, s.prescreen) : optimizer.breed();
        const Architecture arch = space_.decode(genome);
        const std::string hash = canonical_hash_hex(arch);
        if (flying_hashes.contains(hash)) {
          ++summary_.reused;  // in training already: its result will be told once
          continue;
        }
        if (const auto it = known_.find(hash); it != known_.end()) {
          ++summary_.reused;
          optimizer.tell(std::move(genome), to_evaluation(it->second));
          ++told;
          continue;
        }
        EvaluationRecord r = price(arch, hash, generation, next_id_++);
        if (r.status == EvaluationStatus::infeasible) {
          log(r);
          ++summary_.infeasible;
          optimizer.tell(std::move(genome), to_evaluation(r));
          ++told;
          ++since_checkpoint;
          continue;
        }
        submit(std::move(genome), std::move(r));
      }
      std::lock_guard lock(mutex_);
      generation_ = told / s.population;
      planned_ = budget - std::min<std::size_t>(budget, optimizer.bred()) + retry.size();
    };

    fill();
    report();
    while (evaluator_->in_flight() > 0) {
      std::optional<TrainDone> done = evaluator_->collect(kCollectTimeout);
      if (!done) continue;
      const auto arrived = Clock::now();
      const double arrived_cpu_s = thread_cpu_seconds();
      --running_;
      ++summary_.results;
      auto node = flying.extract(done->id);
      if (node.empty()) throw std::logic_error(fmt::format("an evaluator returned candidate {}, never sent", done->id));
      auto& [genome, r] = node.mapped();
      flying_hashes.erase(r.hash);
      complete(r, done->result);
      if (stopping() && r.status != EvaluationStatus::ok) {
        abandoned.emplace_back(std::move(genome), std::move(r));  // trained again on resume
      } else {
        log(r);
        ++summary_.trained;
        train_seconds_total_ += r.train_seconds;
        optimizer.tell(std::move(genome), to_evaluation(r));
        ++told;
        ++since_checkpoint;
        if (since_checkpoint >= evaluator_->slots()) checkpoint_now(false);
      }
      fill();
      summary_.handling_seconds += std::chrono::duration<double>(Clock::now() - arrived).count();
      summary_.handling_cpu_seconds += thread_cpu_seconds() - arrived_cpu_s;
      report();
    }
    const bool finished = !stopping() && optimizer.bred() >= budget && retry.empty() && abandoned.empty();
    checkpoint_now(finished);
    if (stopping()) summary_.interrupted = true;
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
  EvaluationRecord price(const Architecture& arch, const std::string& hash, std::size_t generation, std::int64_t id) {
    EvaluationRecord r = priced(arch);
    r.id = id;
    r.generation = static_cast<int>(generation);
    r.hash = hash;
    r.arch.name = fmt::format("candidate-{}", r.id);
    if (r.extrapolated) ++summary_.extrapolated;
    return r;
  }

  // What the profile and the budgets say of an architecture before any training: energy,
  // latency, their coverage, MACs, parameters, and status infeasible when it breaks a budget
  // (or extrapolates under search.extrapolation: reject).
  EvaluationRecord priced(const Architecture& arch) const {
    EvaluationRecord r;
    r.arch = arch;
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
    if (r.extrapolated && config_.search.extrapolation == Extrapolation::reject) {
      r.status = EvaluationStatus::infeasible;
      r.error += fmt::format("{}extrapolated (search.extrapolation: reject): {}", r.error.empty() ? "" : "; ",
                             r.warnings.front());
    }
    return r;
  }

  std::string weights_file(std::int64_t id) const { return fmt::format("weights/{}.pt", id); }

  // search.fidelity.continue: the training state of candidate `id` at `level` (< 1).
  std::filesystem::path state_file(std::int64_t id, double level) const {
    return run_.path() / fmt::format("states/{}@{}.state", id, level);
  }

  // The training of `r` at `level` (1: the config's training). `previous`: the level it was
  // trained at before (search.fidelity), which a continued training starts from.
  TrainJob job_for(const EvaluationRecord& r, double level, std::optional<double> previous = std::nullopt) const {
    TrainJob job{.id = r.id, .arch = r.arch, .options = config_.training};
    const bool continued = config_.search.fidelity && config_.search.fidelity->continue_training;
    if (level < 1.0 && continued) {
      job.options.stop_at = level;
      job.options.state_path = state_file(r.id, level).string();
    } else if (level < 1.0) {
      job.options.train_samples =
          std::max<std::int64_t>(1, std::llround(level * static_cast<double>(config_.training.train_samples)));
    }
    // Without the state (deleted, or the level failed to save it) the prefix is trained from
    // the start: the same result, in more seconds.
    if (continued && previous && std::filesystem::exists(state_file(r.id, *previous))) {
      job.options.resume_path = state_file(r.id, *previous).string();
    }
    job.options.seed = candidate_seed(config_.training.seed, r.hash);
    job.options.evaluate_test = false;
    job.options.save_path = (run_.path() / weights_file(r.id)).string();
    return job;
  }

  // A training's result into its record. Throws std::runtime_error when the weights could not
  // be written: the run stops, and the candidate, not logged, is trained again on resume.
  void complete(EvaluationRecord& r, const TrainResult& result) {
    if (!result.save_error.empty()) {
      throw std::runtime_error(fmt::format("cannot write {}: {}; the search stopped (candidate {} is not logged): "
                                           "free space or fix the directory, then continue with joules search "
                                           "--resume --out {}",
                                           (run_.path() / weights_file(r.id)).string(), result.save_error, r.id,
                                           run_.path().string()));
    }
    r.train_seconds = result.seconds;
    const bool usable = (result.status == TrainStatus::ok || result.status == TrainStatus::truncated) &&
                        result.validation_accuracy.has_value();
    if (usable) {
      r.status = EvaluationStatus::ok;
      r.accuracy = result.validation_accuracy;
      r.weights = weights_file(r.id);
      // Truncated by the time budget: the budget is part of the protocol; say so.
      if (result.status == TrainStatus::truncated) r.error = "truncated: " + result.reason;
    } else {
      r.status = EvaluationStatus::failed;
      r.error = fmt::format("{}: {}", to_string(result.status), result.reason);
    }
  }

  // Appends a finished evaluation to the log and the driver's view of it.
  void log(const EvaluationRecord& r) {
    run_.append(r);
    std::lock_guard lock(mutex_);
    known_[r.hash] = r;
    ++evaluated_;
    ++logged_;
  }

  // Evaluates a batch; std::nullopt when stopped before it was complete.
  std::optional<std::vector<Evaluation>> evaluate(const std::vector<Genome>& batch, std::size_t generation) {
    std::vector<std::string> hashes;
    std::deque<EvaluationRecord> to_train;
    std::vector<std::string> logged_here;  // new in this generation and logged before a resume
    {
      std::lock_guard lock(mutex_);
      generation_ = generation;
    }
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
        if (it->second.status != EvaluationStatus::infeasible) logged_here.push_back(hash);
        continue;
      }
      EvaluationRecord r = price(arch, hash, generation, next_id_++);
      if (r.status == EvaluationStatus::infeasible) {
        log(r);
        ++summary_.infeasible;
      } else {
        to_train.push_back(std::move(r));
      }
    }

    if (config_.search.fidelity) {
      if (!halve(std::move(to_train), logged_here)) return std::nullopt;
    } else {
      // Results are logged as they arrive, in any order; ids were given above.
      train_all(std::move(to_train), 1.0, [&](EvaluationRecord&& r) { log(r); });
      if (stopping()) {
        summary_.interrupted = true;
        return std::nullopt;
      }
    }
    std::vector<Evaluation> results;
    std::lock_guard lock(mutex_);
    for (const std::string& hash : hashes) results.push_back(to_evaluation(known_.at(hash)));
    return results;
  }

  // Trains every record at `level` (a share of training.train_samples; 1: the config's
  // training) on the evaluator, handing each finished one to `done` as it arrives. Stopped
  // mid-training, a result that is not ok is dropped (trained again on resume). An I/O
  // failure of the run's own files (weights, log) throws out of here: no training starts after
  // it and nothing more is appended (a log torn by a full disk must stay its last line).
  void train_all(std::deque<EvaluationRecord> to_train, double level,
                 const std::function<void(EvaluationRecord&&)>& done, std::optional<double> previous = std::nullopt) {
    {
      std::lock_guard lock(mutex_);
      planned_ = to_train.size();
    }
    report();
    std::map<std::int64_t, EvaluationRecord> flying;
    const auto fill = [&] {
      while (!stopping() && !to_train.empty() && evaluator_->in_flight() < evaluator_->slots()) {
        EvaluationRecord r = std::move(to_train.front());
        to_train.pop_front();
        evaluator_->submit(job_for(r, level, previous));
        const std::int64_t id = r.id;
        flying.emplace(id, std::move(r));
        ++running_;
      }
    };
    fill();
    report();
    while (evaluator_->in_flight() > 0) {
      std::optional<TrainDone> done_training = evaluator_->collect(kCollectTimeout);
      if (!done_training) continue;
      const auto arrived = Clock::now();
      const double arrived_cpu_s = thread_cpu_seconds();
      --running_;
      ++summary_.results;
      auto node = flying.extract(done_training->id);
      if (node.empty()) {
        throw std::logic_error(fmt::format("an evaluator returned candidate {}, never sent", done_training->id));
      }
      EvaluationRecord& r = node.mapped();
      complete(r, done_training->result);
      // Stopped mid-training: not an evaluation; trained again on resume.
      if (!stopping() || r.status == EvaluationStatus::ok) {
        ++summary_.trained;
        train_seconds_total_ += r.train_seconds;
        {
          std::lock_guard lock(mutex_);
          --planned_;
        }
        done(std::move(r));
      }
      fill();
      summary_.handling_seconds += std::chrono::duration<double>(Clock::now() - arrived).count();
      summary_.handling_cpu_seconds += thread_cpu_seconds() - arrived_cpu_s;
      report();
    }
  }

  // Successive halving over a generation's new candidates (search.fidelity): every one trained
  // at the first level, the best `promote` share of each level (non-dominated rank, then
  // crowding, on the config's objectives) again at the next. Every training goes to
  // rungs.jsonl first, so a resumed generation takes the trainings it had from there and makes
  // the same promotions; a candidate is logged once, when it is not promoted further.
  // `logged_here`: candidates of this generation logged before a resume (their trainings are
  // in the rungs). False when stopped.
  bool halve(std::deque<EvaluationRecord> fresh, const std::vector<std::string>& logged_here) {
    const FidelityOptions& f = *config_.search.fidelity;
    if (f.continue_training) std::filesystem::create_directories(run_.path() / "states");
    if (!rungs_loaded_) {
      for (const EvaluationRecord& r : run_.previous_rungs()) {
        if (r.fidelity) rungs_[{r.hash, *r.fidelity}] = r;
      }
      rungs_loaded_ = true;
    }
    const std::unordered_set<std::string> logged(logged_here.begin(), logged_here.end());
    // The candidates as priced, by id (rung records carry the same fields); logged ones from the rungs.
    std::map<std::int64_t, EvaluationRecord> candidates;
    for (EvaluationRecord& r : fresh) candidates.emplace(r.id, std::move(r));
    for (const std::string& hash : logged_here) {
      const auto it = rungs_.lower_bound({hash, 0.0});
      if (it == rungs_.end() || it->first.first != hash) continue;  // no rung on record: it stays as logged
      EvaluationRecord r = it->second;
      r.fidelity.reset();
      candidates.emplace(r.id, std::move(r));
    }
    std::unordered_map<std::string, double> seconds;  // over the levels trained so far
    for (std::size_t k = 0; k < f.levels.size() && !candidates.empty(); ++k) {
      const double level = f.levels[k];
      std::map<std::int64_t, EvaluationRecord> results;
      std::deque<EvaluationRecord> to_train;
      for (const auto& [id, c] : candidates) {
        if (const auto it = rungs_.find({c.hash, level}); it != rungs_.end()) {
          results.emplace(c.id, it->second);
        } else {
          to_train.push_back(c);
        }
      }
      train_all(
          std::move(to_train), level,
          [&](EvaluationRecord&& r) {
            r.fidelity = level;
            run_.append_rung(r);
            rungs_[{r.hash, level}] = r;
            results.emplace(r.id, std::move(r));
          },
          k > 0 ? std::optional(f.levels[k - 1]) : std::nullopt);
      if (stopping()) {
        summary_.interrupted = true;
        return false;
      }
      // Promote the best share of the ok ones; the rest end here.
      std::vector<const EvaluationRecord*> ok;
      for (auto& [id, r] : results) {
        seconds[r.hash] += r.train_seconds;
        if (r.status == EvaluationStatus::ok) ok.push_back(&r);
      }
      std::unordered_set<std::string> promoted;
      if (k + 1 < f.levels.size()) {
        const auto share = static_cast<std::size_t>(std::ceil(f.promote * static_cast<double>(ok.size()) - 1e-9));
        const std::vector<std::size_t> best = f.promote_by == FidelityPromotion::hypervolume
                                                  ? adding_most_hypervolume(ok, level, share)
                                                  : best_share(ok, share);
        for (std::size_t i : best) promoted.insert(ok[i]->hash);
      }
      std::map<std::int64_t, EvaluationRecord> next;
      for (auto& [id, r] : results) {
        if (promoted.contains(r.hash)) {
          next.emplace(id, std::move(candidates.at(id)));
          continue;
        }
        // Its training states are not needed any more (nor when it was logged before a resume).
        for (std::size_t j = 0; f.continue_training && j <= k; ++j) {
          std::error_code ignored;
          std::filesystem::remove(state_file(id, f.levels[j]), ignored);
        }
        if (logged.contains(r.hash)) continue;
        EvaluationRecord final_record = r;
        final_record.train_seconds = seconds[r.hash];
        log(final_record);
      }
      candidates = std::move(next);
    }
    return true;
  }

  // search.fidelity.promote_by: hypervolume. Indices of the `share` records (all trained at
  // `level`, of one generation) whose points add the most hypervolume to the front of the
  // candidates that earlier generations trained in full, each record at its accuracy plus the
  // median gain from `level` to 1 among the earlier generations' candidates trained at both
  // (none yet: no gain). Only earlier generations count, so a resumed generation promotes the same.
  std::vector<std::size_t> adding_most_hypervolume(const std::vector<const EvaluationRecord*>& records, double level,
                                                   std::size_t share) const {
    if (records.empty()) return {};
    const int generation = records.front()->generation;
    ObjectiveMatrix front;
    for (const auto& [hash, r] : known_) {
      if (r.generation < generation && r.status == EvaluationStatus::ok && r.accuracy && r.fidelity.value_or(1.0) == 1.0)
        front.push_back(minimised_objectives(r, config_.search.objectives));
    }
    std::vector<double> gains;
    for (const auto& [key, r] : rungs_) {
      if (key.second != level || r.generation >= generation || r.status != EvaluationStatus::ok || !r.accuracy) continue;
      const auto full = rungs_.find({key.first, 1.0});
      if (full != rungs_.end() && full->second.status == EvaluationStatus::ok && full->second.accuracy)
        gains.push_back(*full->second.accuracy - *r.accuracy);
    }
    const double gain = gains.empty() ? 0.0 : median(std::move(gains));
    ObjectiveMatrix candidates;
    for (const EvaluationRecord* r : records) {
      EvaluationRecord at_full = *r;
      at_full.accuracy = std::clamp(*r->accuracy + gain, 0.0, 1.0);
      candidates.push_back(minimised_objectives(at_full, config_.search.objectives));
    }
    return prescreen(front, candidates, std::vector<bool>(records.size(), true), share);
  }

  // Indices of the `share` best records by non-dominated rank, then crowding distance (larger
  // first), then id: the same choice on every run.
  std::vector<std::size_t> best_share(const std::vector<const EvaluationRecord*>& records, std::size_t share) const {
    ObjectiveMatrix points;
    for (const EvaluationRecord* r : records) points.push_back(minimised_objectives(*r, config_.search.objectives));
    const NonDominatedFronts fronts = non_dominated_sort(points);
    std::vector<std::size_t> order;
    for (const std::vector<std::size_t>& front : fronts.fronts) {
      const std::vector<double> crowding = crowding_distance(points, front);
      std::vector<std::size_t> by_crowding(front.size());
      for (std::size_t i = 0; i < front.size(); ++i) by_crowding[i] = i;
      std::stable_sort(by_crowding.begin(), by_crowding.end(),
                       [&](std::size_t a, std::size_t b) { return crowding[a] > crowding[b]; });
      for (std::size_t i : by_crowding) order.push_back(front[i]);
    }
    order.resize(std::min(share, order.size()));
    return order;
  }

  void report() {
    if (!hooks_.on_progress) return;
    SearchProgress p;
    {
      std::lock_guard lock(mutex_);
      p.generation = generation_;
      p.generations = last_generation_;
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
        const double remaining =
            config_.search.schedule == Schedule::async
                ? static_cast<double>(planned_)
                : static_cast<double>(planned_) +
                      static_cast<double>(config_.search.population) *
                          static_cast<double>(last_generation_ - std::min(generation_, last_generation_));
        p.eta_s = remaining * per_training / static_cast<double>(evaluator_->slots());
      }
    }
    std::lock_guard lock(report_mutex_);
    hooks_.on_progress(p);
  }

  static constexpr std::chrono::milliseconds kCollectTimeout{200};

  const SearchConfig& config_;
  RunDirectory& run_;
  const SearchHooks& hooks_;
  SearchSpace space_;
  EnergyEstimator estimator_;
  Clock::time_point start_;
  std::unique_ptr<Evaluator> owned_evaluator_;
  Evaluator* evaluator_ = nullptr;

  // The driver's thread changes these; mutex_ guards them against report() on the ticker.
  std::mutex mutex_;
  std::unordered_map<std::string, EvaluationRecord> known_;
  std::int64_t next_id_ = 0;
  std::size_t generation_ = 0;
  std::size_t last_generation_ = config_.search.generations;  // the last generation (or batch)
  std::size_t evaluated_ = 0;
  std::size_t logged_ = 0;  // lines in the log
  std::size_t planned_ = 0;
  double train_seconds_total_ = 0;
  SearchSummary summary_;
  // search.fidelity: every training by (hash, level), from rungs.jsonl and this process.
  std::map<std::pair<std::string, double>, EvaluationRecord> rungs_;
  bool rungs_loaded_ = false;

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
