#pragma once
// NSGA-II (Deb, Pratap, Agarwal, Meyarivan 2002) behind an ask/tell interface, generic over the
// problem. The optimizer proposes batches of decisions; the caller evaluates them however it
// likes (in parallel, skipping duplicates it already knows) and tells the results back by
// index; once a batch is complete the optimizer keeps the best population_size of parents and
// offspring by non-dominated rank under Deb's constraint domination, then crowding distance.
//
// A problem type P models the concept below (checked with readable static_asserts):
//   using Decision = ...;                                  // copyable decision vector
//   std::size_t objective_count() const;                   // objectives, all minimised
//   Decision sample(Rng&) const;                           // a random decision (initial population)
//   std::pair<Decision, Decision> crossover(const Decision&, const Decision&, Rng&) const;
//   Decision mutate(const Decision&, Rng&) const;          // applied to every child
//   Evaluation evaluate(const Decision&) const;            // optional: only evolve() needs it
// Crossover and mutation probabilities belong to the problem's operators (see RealVariation).
//
// Determinism: every random choice comes from the optimizer's Rng (seeded by the options,
// handed to the problem's operators), so a seed fixes the sequence of batches whatever order or
// thread the results are told from. state()/restore() capture and restore everything, so a
// restored optimizer continues exactly as the original would have.

#include <algorithm>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "search/evaluation.hpp"
#include "search/pareto.hpp"
#include "util/random.hpp"

namespace joules {

namespace nsga2_concept {
template <class P>
concept HasDecision = requires { typename P::Decision; } && std::copyable<typename P::Decision>;
template <class P>
concept HasObjectiveCount = requires(const P& p) {
  { p.objective_count() } -> std::convertible_to<std::size_t>;
};
template <class P>
concept HasSample = requires(const P& p, Rng& rng) {
  { p.sample(rng) } -> std::same_as<typename P::Decision>;
};
template <class P>
concept HasCrossover = requires(const P& p, const typename P::Decision& x, Rng& rng) {
  { p.crossover(x, x, rng) } -> std::same_as<std::pair<typename P::Decision, typename P::Decision>>;
};
template <class P>
concept HasMutate = requires(const P& p, const typename P::Decision& x, Rng& rng) {
  { p.mutate(x, rng) } -> std::same_as<typename P::Decision>;
};
template <class P>
concept HasEvaluate = requires(const P& p, const typename P::Decision& x) {
  { p.evaluate(x) } -> std::same_as<Evaluation>;
};
}  // namespace nsga2_concept

/// What Nsga2 needs from a problem (evaluate() excepted).
template <class P>
concept MultiObjectiveProblem = nsga2_concept::HasDecision<P> && nsga2_concept::HasObjectiveCount<P> &&
                                nsga2_concept::HasSample<P> && nsga2_concept::HasCrossover<P> &&
                                nsga2_concept::HasMutate<P>;

/// An evaluated decision.
template <class Decision>
struct Individual {
  Decision decision;
  Evaluation evaluation;
  bool operator==(const Individual&) const = default;
};

struct Nsga2Options {
  std::size_t population_size = 100;  // parents kept each generation = candidates per batch; >= 2
  std::uint64_t seed = 0;             // seeds the optimizer's Rng (ignored by restore())
  bool operator==(const Nsga2Options&) const = default;
};

/// Everything an Nsga2 run holds, as plain data (serialise it with search/nsga2_json.hpp).
template <class Decision>
struct Nsga2State {
  std::uint64_t generation = 0;                 // batches told in full
  std::vector<Individual<Decision>> population;  // survivors, best first; empty at generation 0
  std::vector<Decision> batch;                   // asked and not yet told in full; else empty
  std::vector<std::optional<Evaluation>> told;   // results told so far, aligned with batch
  Rng::State rng{};
  bool operator==(const Nsga2State&) const = default;
};

/// Objective vectors of `individuals`, in order (e.g. for hypervolume()).
template <class Decision>
ObjectiveMatrix objectives_of(const std::vector<Individual<Decision>>& individuals) {
  ObjectiveMatrix objectives;
  objectives.reserve(individuals.size());
  for (const auto& i : individuals) objectives.push_back(i.evaluation.objectives);
  return objectives;
}

/// Constraint violations of `individuals`, in order.
template <class Decision>
std::vector<double> violations_of(const std::vector<Individual<Decision>>& individuals) {
  std::vector<double> violations;
  violations.reserve(individuals.size());
  for (const auto& i : individuals) violations.push_back(i.evaluation.violation);
  return violations;
}

/// The feasible individuals no other feasible one dominates, in their order (see pareto_front()).
template <class Decision>
std::vector<Individual<Decision>> pareto_front(const std::vector<Individual<Decision>>& individuals) {
  std::vector<Individual<Decision>> front;
  for (const std::size_t i : pareto_front(objectives_of(individuals), violations_of(individuals))) {
    front.push_back(individuals[i]);
  }
  return front;
}

// The non-template parts of Nsga2 (search/nsga2.cpp).
namespace nsga2_detail {

/// Non-dominated rank (under constraint domination) and crowding distance of every point.
struct Ranking {
  std::vector<std::size_t> rank;
  std::vector<double> crowding;
};
Ranking rank_and_crowd(const ObjectiveMatrix& objectives, const std::vector<double>& violations);

/// `count` parents chosen by binary tournaments (lower rank, then larger crowding, then a coin
/// flip). Contestants are drawn in pairs from successive random permutations of the population,
/// so each individual enters about 2 * count / n tournaments (Deb's scheme, as in pagmo2).
std::vector<std::size_t> select_parents(const Ranking& ranking, std::size_t count, Rng& rng);

/// Indices of the `count` best points, best first: whole fronts in rank order, then the front that
/// does not fit entirely by decreasing crowding distance (ties by index).
std::vector<std::size_t> select_survivors(const ObjectiveMatrix& objectives, const std::vector<double>& violations,
                                          std::size_t count);

/// Why `evaluation` cannot be told (wrong objective count, non-finite objective, violation not a
/// finite number >= 0), or "" when it can.
std::string evaluation_error(const Evaluation& evaluation, std::size_t objective_count);
/// Throws std::invalid_argument for a population_size below 2 or a problem without objectives.
void check_options(const Nsga2Options& options, std::size_t objective_count);

}  // namespace nsga2_detail

/// Not thread-safe: one thread asks and tells (results evaluated in parallel are told from it).
template <class Problem>
class Nsga2 {
  static_assert(nsga2_concept::HasDecision<Problem>,
                "Nsga2<Problem>: Problem must declare a copyable `using Decision = ...;` (its decision vector type)");
  static_assert(nsga2_concept::HasObjectiveCount<Problem>,
                "Nsga2<Problem>: Problem must have `std::size_t objective_count() const`");
  static_assert(nsga2_concept::HasSample<Problem>,
                "Nsga2<Problem>: Problem must have `Decision sample(Rng&) const` (a random decision)");
  static_assert(nsga2_concept::HasCrossover<Problem>,
                "Nsga2<Problem>: Problem must have "
                "`std::pair<Decision, Decision> crossover(const Decision&, const Decision&, Rng&) const`");
  static_assert(nsga2_concept::HasMutate<Problem>,
                "Nsga2<Problem>: Problem must have `Decision mutate(const Decision&, Rng&) const`");

 public:
  using Decision = typename Problem::Decision;
  using State = Nsga2State<Decision>;

  /// Throws std::invalid_argument for a population_size below 2 or a problem without objectives.
  explicit Nsga2(Problem problem, Nsga2Options options = {})
      : problem_(std::move(problem)), options_(options), rng_(options.seed),
        objective_count_(problem_.objective_count()) {
    nsga2_detail::check_options(options_, objective_count_);
  }

  const Problem& problem() const { return problem_; }
  const Nsga2Options& options() const { return options_; }
  /// Batches told in full: 0 until the initial population is evaluated. The batch ask() returns
  /// belongs to generation generation() (the initial population is generation 0).
  std::uint64_t generation() const { return generation_; }
  /// The current parents (evaluated, best first); empty until the initial batch is told.
  const std::vector<Individual<Decision>>& population() const { return population_; }

  /// Starts from these decisions (e.g. sampled by the driver) instead of the problem's samples;
  /// at most population_size, the rest sampled by the problem. Only before the first ask().
  /// Throws std::logic_error afterwards, std::invalid_argument for too many decisions.
  void set_initial_population(std::vector<Decision> decisions) {
    if (generation_ > 0 || !batch_.empty()) {
      throw std::logic_error("set_initial_population: only before the initial population is asked");
    }
    if (decisions.size() > options_.population_size) {
      throw std::invalid_argument(fmt::format("set_initial_population: {} decisions; population_size is {}",
                                              decisions.size(), options_.population_size));
    }
    start_batch(std::move(decisions));
  }

  /// Says whether a decision may enter the batch being bred (false: one evaluated before, or a
  /// repeat within the batch); it sees every candidate in breeding order.
  using Fresh = std::function<bool(const Decision&)>;
  /// Picks `n` of the bred `children` to evaluate (indices into them).
  using Screen = std::function<std::vector<std::size_t>(const std::vector<Decision>& children, std::size_t n)>;
  /// How many times a refused decision is bred again before it is taken anyway.
  static constexpr int kRebreeds = 50;

  /// The batch to evaluate: the initial population at generation 0, population_size offspring
  /// after. Asking again before the batch is told in full returns the same batch. The reference
  /// is to the optimizer's own batch, which the tell() that completes it clears: copy it to keep it.
  ///
  /// With `fresh`, a sample it refuses is drawn again and a child it refuses is mutated again
  /// (each time from the refused child, a walk away from its parents), up to kRebreeds times.
  /// In a discrete space a converging population breeds mostly architectures it has seen;
  /// without this, they fill the batch (evaluated for nothing, or reused) and enter the
  /// population as clones (pymoo's eliminate_duplicates does the same). The same `fresh` on a
  /// restored optimizer gives the same batch.
  ///
  /// With `screen` and breed > 1, population_size x breed children are bred (after generation
  /// 0) and the batch is the population_size of them that `screen` picks (indices into the
  /// bred children, distinct; the batch keeps the bred order): a caller that can predict how
  /// children score spends its evaluations on the promising ones (search.prescreen).
  /// Throws std::logic_error when `screen` returns other than population_size distinct
  /// indices of bred children.
  const std::vector<Decision>& ask(const Fresh& fresh = {}, const Screen& screen = {}, std::size_t breed = 1) {
    if (!batch_.empty()) return batch_;
    if (generation_ == 0) {
      start_batch({}, fresh);
      return batch_;
    }
    const std::size_t n = options_.population_size;
    const std::size_t bred = screen && breed > 1 ? n * breed : n;
    const nsga2_detail::Ranking ranking = nsga2_detail::rank_and_crowd(objectives_of(population_), violations_of(population_));
    const std::vector<std::size_t> parents = nsga2_detail::select_parents(ranking, bred + bred % 2, rng_);
    std::vector<Decision> children;
    children.reserve(bred + 1);
    for (std::size_t p = 0; p + 1 < parents.size(); p += 2) {
      auto pair = problem_.crossover(population_[parents[p]].decision, population_[parents[p + 1]].decision, rng_);
      children.push_back(bred_fresh(problem_.mutate(pair.first, rng_), fresh));
      if (children.size() < bred) children.push_back(bred_fresh(problem_.mutate(pair.second, rng_), fresh));
    }
    if (bred > n) {
      std::vector<std::size_t> picks = screen(children, n);
      children = screened(std::move(children), std::move(picks));
    }
    batch_ = std::move(children);
    told_.assign(batch_.size(), std::nullopt);
    untold_ = batch_.size();
    return batch_;
  }

  /// Candidates of the current batch not told yet (0 when there is no batch).
  std::size_t untold() const { return untold_; }
  bool is_told(std::size_t index) const { return index < told_.size() && told_[index].has_value(); }

  /// The result of batch candidate `index`, in any order. Returns true when this completes the
  /// batch (the generation advances). Throws std::logic_error when no batch is asked or the
  /// index was told already; std::out_of_range for an index outside the batch;
  /// std::invalid_argument for the wrong number of objectives, a non-finite objective, or a
  /// violation that is not a finite number >= 0. A throw leaves the optimizer unchanged.
  bool tell(std::size_t index, Evaluation evaluation) {
    if (batch_.empty()) throw std::logic_error("tell: no batch is waiting for results (call ask() first)");
    if (index >= batch_.size()) {
      throw std::out_of_range(
          fmt::format("tell: candidate {} is not in the batch of generation {} ({} candidates)", index, generation_,
                      batch_.size()));
    }
    if (told_[index]) {
      throw std::logic_error(fmt::format("tell: candidate {} of generation {} was told already", index, generation_));
    }
    check(evaluation, index);
    told_[index] = std::move(evaluation);
    if (--untold_ > 0) return false;
    complete_batch();
    return true;
  }

  /// The results of the whole batch, in batch order (none told before). Throws as tell().
  void tell(std::vector<Evaluation> evaluations) {
    if (batch_.empty()) throw std::logic_error("tell: no batch is waiting for results (call ask() first)");
    if (evaluations.size() != batch_.size() || untold_ != batch_.size()) {
      throw std::logic_error(fmt::format("tell: {} results for a batch of {} with {} untold; expected one per "
                                         "candidate, none told before",
                                         evaluations.size(), batch_.size(), untold_));
    }
    for (std::size_t i = 0; i < evaluations.size(); ++i) check(evaluations[i], i);
    for (std::size_t i = 0; i < evaluations.size(); ++i) told_[i] = std::move(evaluations[i]);
    untold_ = 0;
    complete_batch();
  }

  /// Evaluates with the problem's own evaluate(), serially: the initial population first if it
  /// is not evaluated yet (it does not count), then `generations` batches of offspring (a batch
  /// already asked counts as the first). evolve(250) matches pagmo2's nsga2(gen = 250).
  void evolve(std::size_t generations)
    requires nsga2_concept::HasEvaluate<Problem>
  {
    if (generation_ == 0) evaluate_batch();
    for (std::size_t g = 0; g < generations; ++g) evaluate_batch();
  }

  /// A copy of the whole state, valid at any point (mid-batch included).
  State state() const { return {generation_, population_, batch_, told_, rng_.state()}; }

  /// Continues from `state` (taken from an optimizer with the same problem and population_size).
  /// Throws std::invalid_argument, naming what is inconsistent, for a population or batch of the
  /// wrong size, evaluations that tell() would reject, or an invalid Rng state; the optimizer is
  /// unchanged then.
  void restore(State state) {
    const std::size_t n = options_.population_size;
    const bool initial = state.generation == 0;
    if (state.population.size() != (initial ? 0 : n)) {
      throw std::invalid_argument(fmt::format("NSGA-II state: generation {} with {} individuals; expected {}",
                                              state.generation, state.population.size(), initial ? 0 : n));
    }
    if (state.batch.size() != state.told.size()) {
      throw std::invalid_argument(fmt::format("NSGA-II state: a batch of {} with {} told flags",
                                              state.batch.size(), state.told.size()));
    }
    if (!state.batch.empty() && state.batch.size() != n) {
      throw std::invalid_argument(
          fmt::format("NSGA-II state: a batch of {}; expected {} (population_size)", state.batch.size(), n));
    }
    for (std::size_t i = 0; i < state.population.size(); ++i) {
      const std::string error = nsga2_detail::evaluation_error(state.population[i].evaluation, objective_count_);
      if (!error.empty()) throw std::invalid_argument(fmt::format("NSGA-II state: individual {}: {}", i, error));
    }
    std::size_t untold = 0;
    for (std::size_t i = 0; i < state.told.size(); ++i) {
      if (!state.told[i]) {
        ++untold;
        continue;
      }
      const std::string error = nsga2_detail::evaluation_error(*state.told[i], objective_count_);
      if (!error.empty()) throw std::invalid_argument(fmt::format("NSGA-II state: batch candidate {}: {}", i, error));
    }
    if (!state.batch.empty() && untold == 0) {
      throw std::invalid_argument("NSGA-II state: a batch told in full but not completed");
    }
    Rng rng(0);
    rng.set_state(state.rng);  // throws for the all-zero state
    generation_ = state.generation;
    population_ = std::move(state.population);
    batch_ = std::move(state.batch);
    told_ = std::move(state.told);
    untold_ = untold;
    rng_ = rng;
  }

 private:
  // `d`, or where `fresh` refuses it, the first of up to kRebreeds redraws (next(d)) it takes.
  template <class Next>
  Decision until_fresh(Decision d, const Fresh& fresh, Next next) {
    for (int i = 0; fresh && i < kRebreeds && !fresh(d); ++i) d = next(d);
    return d;
  }
  // The children `picks` names, in bred order.
  std::vector<Decision> screened(std::vector<Decision> children, std::vector<std::size_t> picks) const {
    std::sort(picks.begin(), picks.end());
    if (picks.size() != options_.population_size || std::adjacent_find(picks.begin(), picks.end()) != picks.end() ||
        (!picks.empty() && picks.back() >= children.size())) {
      throw std::logic_error(fmt::format("ask: the screen picked {} children of {}; expected {} distinct ones",
                                         picks.size(), children.size(), options_.population_size));
    }
    std::vector<Decision> batch;
    for (std::size_t i : picks) batch.push_back(std::move(children[i]));
    return batch;
  }
  // A child, mutated again from itself while `fresh` refuses it.
  Decision bred_fresh(Decision child, const Fresh& fresh) {
    return until_fresh(std::move(child), fresh, [&](const Decision& x) { return problem_.mutate(x, rng_); });
  }

  void start_batch(std::vector<Decision> decisions, const Fresh& fresh = {}) {
    while (decisions.size() < options_.population_size) {
      decisions.push_back(until_fresh(problem_.sample(rng_), fresh, [&](const Decision&) { return problem_.sample(rng_); }));
    }
    batch_ = std::move(decisions);
    told_.assign(batch_.size(), std::nullopt);
    untold_ = batch_.size();
  }

  void check(const Evaluation& evaluation, std::size_t index) const {
    const std::string error = nsga2_detail::evaluation_error(evaluation, objective_count_);
    if (!error.empty()) {
      throw std::invalid_argument(fmt::format("tell: candidate {} of generation {}: {}", index, generation_, error));
    }
  }

  void complete_batch() {
    std::vector<Individual<Decision>> pool = std::move(population_);
    pool.reserve(pool.size() + batch_.size());
    for (std::size_t i = 0; i < batch_.size(); ++i) pool.push_back({std::move(batch_[i]), std::move(*told_[i])});
    batch_.clear();
    told_.clear();
    population_.clear();
    for (const std::size_t i :
         nsga2_detail::select_survivors(objectives_of(pool), violations_of(pool), options_.population_size)) {
      population_.push_back(std::move(pool[i]));
    }
    ++generation_;
  }

  void evaluate_batch()
    requires nsga2_concept::HasEvaluate<Problem>
  {
    const std::vector<Decision>& batch = ask();
    for (std::size_t i = 0; i < batch.size(); ++i) {
      if (!is_told(i) && tell(i, problem_.evaluate(batch[i]))) return;
    }
  }

  Problem problem_;
  Nsga2Options options_;
  Rng rng_;
  std::size_t objective_count_;
  std::uint64_t generation_ = 0;
  std::vector<Individual<Decision>> population_;
  std::vector<Decision> batch_;
  std::vector<std::optional<Evaluation>> told_;
  std::size_t untold_ = 0;
};

}  // namespace joules
