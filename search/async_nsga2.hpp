#pragma once
// Steady-state (asynchronous) NSGA-II: whenever a worker is free, one child is bred from the
// current population; each finished result enters the population by environmental selection
// (non-dominated rank under constraint domination, then crowding distance: the worst of the
// population plus the newcomer leaves). No generation barrier, so no worker waits for the
// slowest training of a batch. Same problem concept and operators as search/nsga2.hpp; results
// may be told in any order (the order they finish in), so unlike Nsga2 the sequence of children
// depends on that order.
//
// The first population_size children are the problem's samples (the initial population);
// later ones are bred by two binary tournaments over the population told so far (sampled
// while it has fewer than two members).

#include <cstddef>
#include <cstdint>
#include <functional>
#include <stdexcept>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "search/nsga2.hpp"
#include "search/nsga2_json.hpp"

namespace joules {

/// Everything an AsyncNsga2 holds, as plain data (to_json/from_json below).
template <class Decision>
struct AsyncNsga2State {
  std::uint64_t bred = 0;                         // children handed out so far
  std::vector<Individual<Decision>> population;  // at most population_size, best first
  Rng::State rng{};
  bool operator==(const AsyncNsga2State&) const = default;
};

/// Not thread-safe: one thread breeds and tells.
template <class Problem>
class AsyncNsga2 {
  static_assert(MultiObjectiveProblem<Problem>,
                "AsyncNsga2<Problem>: Problem must model the concept of search/nsga2.hpp (Decision, "
                "objective_count, sample, crossover, mutate)");

 public:
  using Decision = typename Problem::Decision;
  using State = AsyncNsga2State<Decision>;

  /// Throws std::invalid_argument for a population_size below 2 or a problem without objectives.
  explicit AsyncNsga2(Problem problem, Nsga2Options options = {})
      : problem_(std::move(problem)), options_(options), rng_(options.seed),
        objective_count_(problem_.objective_count()) {
    nsga2_detail::check_options(options_, objective_count_);
  }

  const Problem& problem() const { return problem_; }
  const Nsga2Options& options() const { return options_; }
  /// Children handed out by breed() so far.
  std::uint64_t bred() const { return bred_; }
  /// The population (at most population_size, best first after the first selection).
  const std::vector<Individual<Decision>>& population() const { return population_; }

  /// Which of `children` to hand out (an index into them).
  using Pick = std::function<std::size_t(const std::vector<Decision>& children)>;

  /// One new child: a sample while the initial population is handed out (or fewer than two
  /// individuals have been told), else a tournament-selected pair crossed over and mutated.
  /// With `pick` and candidates > 1 (after the initial population), `candidates` children are
  /// bred, each from its own pair, and the one `pick` chooses is handed out: it counts as one
  /// child (search.prescreen). Throws std::logic_error when `pick` returns an index outside them.
  Decision breed(const Pick& pick = {}, std::size_t candidates = 1) {
    ++bred_;
    if (bred_ <= options_.population_size || population_.size() < 2) return problem_.sample(rng_);
    const nsga2_detail::Ranking ranking =
        nsga2_detail::rank_and_crowd(objectives_of(population_), violations_of(population_));
    const std::size_t n = pick && candidates > 1 ? candidates : 1;
    const std::vector<std::size_t> parents = nsga2_detail::select_parents(ranking, 2 * n, rng_);
    std::vector<Decision> children;
    for (std::size_t c = 0; c < n; ++c) {
      auto pair =
          problem_.crossover(population_[parents[2 * c]].decision, population_[parents[2 * c + 1]].decision, rng_);
      children.push_back(problem_.mutate(pair.first, rng_));
    }
    if (n == 1) return std::move(children.front());
    const std::size_t chosen = pick(children);
    if (chosen >= n) {
      throw std::logic_error(fmt::format("AsyncNsga2::breed: the pick chose child {} of {}", chosen, n));
    }
    return std::move(children[chosen]);
  }

  /// A finished result enters by environmental selection. Throws std::invalid_argument (the
  /// optimizer unchanged) for an evaluation Nsga2::tell() would reject.
  void tell(Decision decision, Evaluation evaluation) {
    const std::string error = nsga2_detail::evaluation_error(evaluation, objective_count_);
    if (!error.empty()) throw std::invalid_argument("tell: " + error);
    population_.push_back({std::move(decision), std::move(evaluation)});
    if (population_.size() <= options_.population_size) return;
    std::vector<Individual<Decision>> pool = std::move(population_);
    population_.clear();
    for (const std::size_t i :
         nsga2_detail::select_survivors(objectives_of(pool), violations_of(pool), options_.population_size)) {
      population_.push_back(std::move(pool[i]));
    }
  }

  State state() const { return {bred_, population_, rng_.state()}; }

  /// Continues from `state`. Throws std::invalid_argument for a population larger than
  /// population_size, evaluations tell() would reject, or an invalid Rng state (unchanged then).
  void restore(State state) {
    if (state.population.size() > options_.population_size) {
      throw std::invalid_argument(fmt::format("NSGA-II state: {} individuals; population_size is {}",
                                              state.population.size(), options_.population_size));
    }
    for (std::size_t i = 0; i < state.population.size(); ++i) {
      const std::string error = nsga2_detail::evaluation_error(state.population[i].evaluation, objective_count_);
      if (!error.empty()) throw std::invalid_argument(fmt::format("NSGA-II state: individual {}: {}", i, error));
    }
    Rng rng(0);
    rng.set_state(state.rng);  // throws for the all-zero state
    bred_ = state.bred;
    population_ = std::move(state.population);
    rng_ = rng;
  }

 private:
  Problem problem_;
  Nsga2Options options_;
  Rng rng_;
  std::size_t objective_count_;
  std::uint64_t bred_ = 0;
  std::vector<Individual<Decision>> population_;
};

template <class Decision>
void to_json(nlohmann::json& j, const AsyncNsga2State<Decision>& s) {
  j = nlohmann::json{{"bred", s.bred}, {"rng", s.rng}, {"population", s.population}};
}

template <class Decision>
void from_json(const nlohmann::json& j, AsyncNsga2State<Decision>& s) {
  j.at("bred").get_to(s.bred);
  j.at("rng").get_to(s.rng);
  j.at("population").get_to(s.population);
}

}  // namespace joules
