#include "search/nsga2.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <future>
#include <numbers>
#include <numeric>
#include <set>
#include <stdexcept>

#include "search/hypervolume.hpp"
#include "search/nsga2_json.hpp"
#include "search/surrogate.hpp"
#include "search/test_problems.hpp"
#include "space/analysis.hpp"
#include "space/search_space.hpp"

namespace joules {
namespace {

using ::testing::HasSubstr;
using ::testing::ThrowsMessage;

// A problem that only the driver evaluates (no evaluate()), like the NAS problem: integer
// genomes with the space-style operators.
struct IntegerProblem {
  using Decision = std::vector<int>;
  std::size_t objective_count() const { return 2; }
  Decision sample(Rng& rng) const { return {static_cast<int>(rng.index(100)), static_cast<int>(rng.index(100))}; }
  std::pair<Decision, Decision> crossover(const Decision& a, const Decision& b, Rng& rng) const {
    return rng.chance(0.5) ? std::pair{Decision{a[0], b[1]}, Decision{b[0], a[1]}} : std::pair{a, b};
  }
  Decision mutate(const Decision& x, Rng& rng) const {
    Decision y = x;
    y[rng.index(2)] = static_cast<int>(rng.index(100));
    return y;
  }
};
static_assert(MultiObjectiveProblem<IntegerProblem>);
static_assert(!nsga2_concept::HasEvaluate<IntegerProblem>);

// The driver's side: objectives of a genome, infeasible when the genes sum past 150.
Evaluation judge(const std::vector<int>& x) {
  return {{static_cast<double>(x[0]), static_cast<double>(100 - x[1])}, std::max(0.0, x[0] + x[1] - 150.0)};
}

// The shape of the NAS problem: genomes of the search space with its own operators; the driver
// evaluates (here: fewest MACs against most parameters, a stand-in for energy against accuracy).
struct GenomeProblem {
  using Decision = Genome;
  SearchSpace space{SearchSpaceOptions{}};
  std::size_t objective_count() const { return 2; }
  Genome sample(Rng& rng) const { return space.sample(rng); }
  std::pair<Genome, Genome> crossover(const Genome& a, const Genome& b, Rng& rng) const {
    return space.crossover(a, b, rng);
  }
  Genome mutate(const Genome& x, Rng& rng) const { return space.mutate(x, rng); }
};

Evaluation measure(const GenomeProblem& problem, const Genome& genome) {
  const NetworkAnalysis net = analyze(problem.space.decode(genome));
  return {{static_cast<double>(net.macs), -static_cast<double>(net.params)}, 0.0};
}

class Nsga2Test : public ::testing::Test {
 protected:
  // The benchmark's budget (population 100, 250 generations) is cheap enough here: ~0.06 s a run.
  static constexpr std::size_t kGenerations = 250;
  static constexpr std::uint64_t kSeeds[] = {11, 12};

  template <class Problem>
  static Nsga2<Problem> evolved(Problem problem, std::uint64_t seed, std::size_t generations = kGenerations) {
    Nsga2<Problem> optimizer(std::move(problem), {.population_size = 100, .seed = seed});
    optimizer.evolve(generations);
    return optimizer;
  }

  // Tells the whole batch, in the order given.
  static void tell_all(Nsga2<IntegerProblem>& optimizer, const std::vector<std::size_t>& order) {
    const std::vector<std::vector<int>> batch = optimizer.ask();
    for (const std::size_t i : order) optimizer.tell(i, judge(batch[i]));
  }

  static std::vector<std::size_t> in_order(std::size_t n) {
    std::vector<std::size_t> order(n);
    std::iota(order.begin(), order.end(), std::size_t{0});
    return order;
  }
};

TEST_F(Nsga2Test, ConvergesToTheZdtFronts) {
  for (const int id : {1, 2, 3}) {
    const Zdt problem(id);
    const double truth = hypervolume(problem.true_front(20001), {1.1, 1.1});
    for (const std::uint64_t seed : kSeeds) {
      const auto optimizer = evolved(problem, seed);
      EXPECT_EQ(optimizer.generation(), kGenerations + 1);
      const auto front = pareto_front(optimizer.population());
      EXPECT_EQ(front.size(), 100u) << "ZDT" << id << " seed " << seed;
      // 100 points cannot reach the front's HV exactly; 2% short is a near-converged, spread front.
      EXPECT_GT(hypervolume(objectives_of(front), {1.1, 1.1}), 0.98 * truth) << "ZDT" << id << " seed " << seed;
      // Distance from the front: g - 1, where g = 1 + 9 * mean(x2..x30) (g = 1 on the front).
      double total = 0.0;
      for (const auto& member : front) {
        const double g = 1.0 + 9.0 * std::accumulate(member.decision.begin() + 1, member.decision.end(), 0.0) / 29.0;
        EXPECT_LT(g, 1.05) << "ZDT" << id << " seed " << seed;
        total += g - 1.0;
      }
      EXPECT_LT(total / static_cast<double>(front.size()), 0.01) << "ZDT" << id << " seed " << seed;
    }
  }
}

TEST_F(Nsga2Test, ConvergesToTheDtlz2Sphere) {
  for (const std::uint64_t seed : kSeeds) {
    const auto optimizer = evolved(Dtlz2(), seed);
    // Distance from the sphere: |f| - 1.
    double total = 0.0;
    for (const auto& member : optimizer.population()) {
      const auto& f = member.evaluation.objectives;
      const double distance = std::sqrt(std::inner_product(f.begin(), f.end(), f.begin(), 0.0)) - 1.0;
      EXPECT_LT(distance, 0.05) << "seed " << seed;
      total += distance;
    }
    EXPECT_LT(total / 100.0, 0.01) << "seed " << seed;
    // Crowding distance spreads 100 points unevenly over a 2-D front: 15% short of the exact volume.
    const double hv = hypervolume(objectives_of(optimizer.population()), {1.1, 1.1, 1.1});
    EXPECT_GT(hv, 0.85 * (1.331 - std::numbers::pi / 6)) << "seed " << seed;
  }
}

TEST_F(Nsga2Test, ConstrainedFrontIsFeasibleAndComplete) {
  const Constr problem;
  const double truth = hypervolume(problem.true_front(20001), {1.1, 10});
  for (const std::uint64_t seed : kSeeds) {
    const auto optimizer = evolved(problem, seed, 100);
    std::size_t on_constraint = 0;  // members on the cut-off part, x2 = 6 - 9 x1 > 0
    for (const auto& member : optimizer.population()) {
      EXPECT_TRUE(member.evaluation.feasible()) << "seed " << seed;
      on_constraint += member.decision[0] < 0.6;
    }
    EXPECT_GT(on_constraint, 10u) << "seed " << seed;
    EXPECT_GT(hypervolume(objectives_of(pareto_front(optimizer.population())), {1.1, 10}), 0.99 * truth);
  }
}

TEST_F(Nsga2Test, CandidatesToldAsFailedDoNotSurvive) {
  // The driver fails every candidate with x1 > 0.5 (violation 1): the front is ZDT1's left half.
  Nsga2<Zdt> optimizer(Zdt(1), {.population_size = 40, .seed = 3});
  for (int generation = 0; generation < 60; ++generation) {
    const auto batch = optimizer.ask();
    for (std::size_t i = 0; i < batch.size(); ++i) {
      Evaluation e = optimizer.problem().evaluate(batch[i]);
      if (batch[i][0] > 0.5) e.violation = 1.0;
      optimizer.tell(i, e);
    }
  }
  for (const auto& member : optimizer.population()) {
    EXPECT_TRUE(member.evaluation.feasible());
    EXPECT_LE(member.decision[0], 0.5);
  }
}

TEST_F(Nsga2Test, SameSeedGivesTheSameBatchesWhateverTheTellOrder) {
  Nsga2<IntegerProblem> forward(IntegerProblem{}, {.population_size = 20, .seed = 9});
  Nsga2<IntegerProblem> shuffled(IntegerProblem{}, {.population_size = 20, .seed = 9});
  Nsga2<IntegerProblem> other(IntegerProblem{}, {.population_size = 20, .seed = 10});
  Rng order_rng(1);
  bool differs = false;
  for (int generation = 0; generation < 15; ++generation) {
    ASSERT_EQ(forward.ask(), shuffled.ask()) << "generation " << generation;
    differs = differs || forward.ask() != other.ask();
    tell_all(forward, in_order(20));
    std::vector<std::size_t> order = in_order(20);
    for (std::size_t i = order.size() - 1; i > 0; --i) std::swap(order[i], order[order_rng.index(i + 1)]);
    tell_all(shuffled, order);
    tell_all(other, in_order(20));
  }
  EXPECT_EQ(forward.state(), shuffled.state());
  EXPECT_TRUE(differs);
}

TEST_F(Nsga2Test, ResultsEvaluatedOnThreadsGiveTheSameRun) {
  const auto run = [](bool threaded) {
    Nsga2<Zdt> optimizer(Zdt(1), {.population_size = 24, .seed = 5});
    for (int generation = 0; generation < 10; ++generation) {
      const auto batch = optimizer.ask();
      std::vector<std::future<Evaluation>> results;
      for (const auto& x : batch) {
        results.push_back(std::async(threaded ? std::launch::async : std::launch::deferred,
                                     [&optimizer, x] { return optimizer.problem().evaluate(x); }));
      }
      for (std::size_t i = batch.size(); i-- > 0;) optimizer.tell(i, results[i].get());
    }
    return optimizer.state();
  };
  EXPECT_EQ(run(true), run(false));
}

TEST_F(Nsga2Test, ResumedFromJsonContinuesExactlyAsTheUninterruptedRun) {
  Nsga2<IntegerProblem> uninterrupted(IntegerProblem{}, {.population_size = 16, .seed = 77});
  Nsga2<IntegerProblem> first(IntegerProblem{}, {.population_size = 16, .seed = 77});
  for (int generation = 0; generation < 6; ++generation) {
    tell_all(uninterrupted, in_order(16));
    tell_all(first, in_order(16));
  }
  // Interrupted mid-batch: three results told, then the checkpoint.
  const auto batch = first.ask();
  for (const std::size_t i : {4u, 0u, 9u}) first.tell(i, judge(batch[i]));
  const std::string checkpoint = nlohmann::json(first.state()).dump();

  Nsga2<IntegerProblem> resumed(IntegerProblem{}, {.population_size = 16, .seed = 1234});  // seed ignored
  resumed.restore(nlohmann::json::parse(checkpoint).get<Nsga2State<std::vector<int>>>());
  EXPECT_EQ(resumed.state(), first.state());
  EXPECT_EQ(resumed.generation(), 6u);
  EXPECT_EQ(resumed.untold(), 13u);
  EXPECT_TRUE(resumed.is_told(9));
  ASSERT_EQ(resumed.ask(), uninterrupted.ask());
  for (std::size_t i = 0; i < 16; ++i) {
    if (!resumed.is_told(i)) resumed.tell(i, judge(batch[i]));
  }
  tell_all(uninterrupted, in_order(16));
  for (int generation = 7; generation < 12; ++generation) {
    ASSERT_EQ(resumed.ask(), uninterrupted.ask()) << "generation " << generation;
    tell_all(resumed, in_order(16));
    tell_all(uninterrupted, in_order(16));
  }
  EXPECT_EQ(resumed.state(), uninterrupted.state());
}

// Batches bred under a Fresh that refuses every decision seen before: none repeats one (the
// space, 10,000 members, is far from exhausted); without it a converging population breeds
// repeats. A restored optimizer with the same Fresh breeds the same batch.
TEST_F(Nsga2Test, FreshRefusesDecisionsSeenBeforeAndResumesTheSame) {
  const auto run = [](bool with_fresh, std::set<std::vector<int>>& seen) {
    Nsga2<IntegerProblem> optimizer(IntegerProblem{}, {.population_size = 20, .seed = 5});
    std::size_t repeats = 0;
    for (int generation = 0; generation < 40; ++generation) {
      std::set<std::vector<int>> batch_seen;
      const auto fresh = [&](const std::vector<int>& x) { return !seen.contains(x) && batch_seen.insert(x).second; };
      const std::vector<std::vector<int>> batch =
          with_fresh ? optimizer.ask(fresh) : optimizer.ask();
      for (std::size_t i = 0; i < batch.size(); ++i) {
        if (!seen.insert(batch[i]).second) ++repeats;
        optimizer.tell(i, judge(batch[i]));
      }
    }
    return std::pair{repeats, optimizer.state()};
  };
  std::set<std::vector<int>> seen_plain, seen_fresh;
  EXPECT_GT(run(false, seen_plain).first, 50u);
  const auto [repeats, state] = run(true, seen_fresh);
  EXPECT_EQ(repeats, 0u);
  EXPECT_EQ(seen_fresh.size(), 20u * 40u);

  Nsga2<IntegerProblem> resumed(IntegerProblem{}, {.population_size = 20});
  resumed.restore(nlohmann::json::parse(nlohmann::json(state).dump()).get<Nsga2State<std::vector<int>>>());
  Nsga2<IntegerProblem> original(IntegerProblem{}, {.population_size = 20});
  original.restore(state);
  const auto fresh_copy = [&seen_fresh](std::set<std::vector<int>>& batch_seen) {
    return [&seen_fresh, &batch_seen](const std::vector<int>& x) {
      return !seen_fresh.contains(x) && batch_seen.insert(x).second;
    };
  };
  std::set<std::vector<int>> a, b;
  const std::vector<std::vector<int>> next = original.ask(fresh_copy(a));
  EXPECT_EQ(resumed.ask(fresh_copy(b)), next);
  for (const auto& x : next) EXPECT_FALSE(seen_fresh.contains(x));
}

// A screen that knows the objectives (the prescreen's ideal: a perfect surrogate) picks the
// children that add most to the front; the batch is those children, in bred order.
TEST_F(Nsga2Test, ScreenPicksTheBatchAmongMoreChildren) {
  // Hypervolume of the feasible points judged so far against (100, 100).
  const auto volume = [](const std::vector<std::vector<int>>& seen) {
    ObjectiveMatrix points;
    for (const auto& x : seen)
      if (judge(x).violation == 0.0) points.push_back(judge(x).objectives);
    return hypervolume(points, {100.0, 100.0});
  };
  const auto run = [&](bool screened) {
    Nsga2<IntegerProblem> optimizer(IntegerProblem{}, {.population_size = 10, .seed = 3});
    std::vector<std::vector<int>> seen;
    for (int generation = 0; generation < 6; ++generation) {
      const auto screen = [&](const std::vector<std::vector<int>>& children, std::size_t n) {
        EXPECT_EQ(children.size(), 40u);
        ObjectiveMatrix evaluated, candidates;
        std::vector<bool> feasible;
        for (const auto& x : seen) evaluated.push_back(judge(x).objectives);
        for (const auto& x : children) {
          candidates.push_back(judge(x).objectives);
          feasible.push_back(judge(x).violation == 0.0);
        }
        return prescreen(evaluated, candidates, feasible, n);
      };
      const std::vector<std::vector<int>> batch =
          screened ? optimizer.ask({}, screen, 4) : optimizer.ask();
      EXPECT_EQ(batch.size(), 10u);
      for (std::size_t i = 0; i < batch.size(); ++i) {
        seen.push_back(batch[i]);
        optimizer.tell(i, judge(batch[i]));
      }
    }
    return volume(seen);
  };
  EXPECT_GT(run(true), run(false) + 50.0);

  // A screen that picks too few, or one twice, is a programming error.
  Nsga2<IntegerProblem> optimizer(IntegerProblem{}, {.population_size = 4, .seed = 1});
  const std::vector<std::vector<int>> first = optimizer.ask();
  for (std::size_t i = 0; i < first.size(); ++i) optimizer.tell(i, judge(first[i]));
  const auto twice = [](const std::vector<std::vector<int>>&, std::size_t) { return std::vector<std::size_t>{0, 0, 1, 2}; };
  EXPECT_THROW(optimizer.ask({}, twice, 2), std::logic_error);
}

TEST_F(Nsga2Test, SearchesTheArchitectureSpaceAndResumes) {
  const auto run = [](int interrupt_at) {
    Nsga2<GenomeProblem> optimizer(GenomeProblem{}, {.population_size = 12, .seed = 21});
    for (int generation = 0; generation < 8; ++generation) {
      if (generation == interrupt_at) {
        const std::string checkpoint = nlohmann::json(optimizer.state()).dump();
        Nsga2<GenomeProblem> resumed(GenomeProblem{}, {.population_size = 12});
        resumed.restore(nlohmann::json::parse(checkpoint).get<Nsga2State<Genome>>());
        optimizer = std::move(resumed);
      }
      const auto batch = optimizer.ask();
      for (std::size_t i = 0; i < batch.size(); ++i) {
        optimizer.problem().space.check(batch[i]);
        optimizer.tell(i, measure(optimizer.problem(), batch[i]));
      }
    }
    return optimizer.state();
  };
  const auto uninterrupted = run(-1);
  EXPECT_EQ(run(4), uninterrupted);
  EXPECT_FALSE(pareto_front(uninterrupted.population).empty());
}

TEST_F(Nsga2Test, RealValuedStateRoundTripsThroughJsonText) {
  Nsga2<Zdt> optimizer(Zdt(3), {.population_size = 20, .seed = 2});
  optimizer.evolve(5);
  optimizer.ask();
  const auto state = optimizer.state();
  const auto text = nlohmann::json(state).dump();
  EXPECT_EQ(nlohmann::json::parse(text).get<Nsga2State<std::vector<double>>>(), state);

  Nsga2<Zdt> resumed(Zdt(3), {.population_size = 20});
  resumed.restore(nlohmann::json::parse(text).get<Nsga2State<std::vector<double>>>());
  optimizer.evolve(5);
  resumed.evolve(5);
  EXPECT_EQ(resumed.state(), optimizer.state());
}

TEST_F(Nsga2Test, RestoreRejectsInconsistentStates) {
  Nsga2<IntegerProblem> optimizer(IntegerProblem{}, {.population_size = 8, .seed = 1});
  for (int generation = 0; generation < 3; ++generation) tell_all(optimizer, in_order(8));
  const auto good = optimizer.state();

  auto state = good;
  state.population.pop_back();
  EXPECT_THAT([&] { optimizer.restore(state); },
              ThrowsMessage<std::invalid_argument>(HasSubstr("generation 3 with 7 individuals; expected 8")));
  state = good;
  state.population[2].evaluation.objectives.push_back(1.0);
  EXPECT_THAT([&] { optimizer.restore(state); },
              ThrowsMessage<std::invalid_argument>(HasSubstr("individual 2: 3 objectives; the problem has 2")));
  state = good;
  state.batch.resize(8);
  EXPECT_THAT([&] { optimizer.restore(state); },
              ThrowsMessage<std::invalid_argument>(HasSubstr("a batch of 8 with 0 told flags")));
  state = good;
  state.rng = {};
  EXPECT_THAT([&] { optimizer.restore(state); },
              ThrowsMessage<std::invalid_argument>(HasSubstr("all four words are 0")));
  EXPECT_EQ(optimizer.state(), good);  // unchanged by the failed restores
}

TEST_F(Nsga2Test, TellRejectsMisuseAndBadResultsWithoutChangingState) {
  Nsga2<IntegerProblem> optimizer(IntegerProblem{}, {.population_size = 4, .seed = 1});
  EXPECT_THAT([&] { optimizer.tell(0, judge({1, 1})); },
              ThrowsMessage<std::logic_error>(HasSubstr("no batch is waiting for results (call ask() first)")));
  const auto batch = optimizer.ask();
  EXPECT_THAT([&] { optimizer.tell(4, judge(batch[0])); },
              ThrowsMessage<std::out_of_range>(HasSubstr("candidate 4 is not in the batch of generation 0 (4 "
                                                         "candidates)")));
  EXPECT_THAT([&] { optimizer.tell(1, {{1.0}, 0.0}); },
              ThrowsMessage<std::invalid_argument>(HasSubstr("candidate 1 of generation 0: 1 objectives; the problem "
                                                             "has 2")));
  EXPECT_THAT([&] { optimizer.tell(1, {{1.0, std::nan("")}, 0.0}); },
              ThrowsMessage<std::invalid_argument>(HasSubstr("objective 1 is nan; expected a finite value")));
  EXPECT_THAT([&] { optimizer.tell(1, {{1.0, 2.0}, -0.5}); },
              ThrowsMessage<std::invalid_argument>(HasSubstr("violation is -0.5; expected a finite value >= 0")));
  EXPECT_EQ(optimizer.untold(), 4u);
  EXPECT_FALSE(optimizer.tell(1, judge(batch[1])));
  EXPECT_THAT([&] { optimizer.tell(1, judge(batch[1])); },
              ThrowsMessage<std::logic_error>(HasSubstr("candidate 1 of generation 0 was told already")));
  EXPECT_THAT([&] { optimizer.tell(std::vector<Evaluation>(4, judge(batch[0]))); },
              ThrowsMessage<std::logic_error>(HasSubstr("4 results for a batch of 4 with 3 untold")));
  EXPECT_EQ(optimizer.ask(), batch);  // asking again returns the pending batch
  optimizer.tell(0, judge(batch[0]));
  optimizer.tell(3, judge(batch[3]));
  EXPECT_TRUE(optimizer.tell(2, judge(batch[2])));
  EXPECT_EQ(optimizer.generation(), 1u);
  EXPECT_EQ(optimizer.untold(), 0u);
}

TEST_F(Nsga2Test, DriverSuppliedInitialPopulationComesFirst) {
  Nsga2<IntegerProblem> optimizer(IntegerProblem{}, {.population_size = 6, .seed = 1});
  optimizer.set_initial_population({{1, 2}, {3, 4}});
  const auto batch = optimizer.ask();
  ASSERT_EQ(batch.size(), 6u);
  EXPECT_EQ(batch[0], (std::vector<int>{1, 2}));
  EXPECT_EQ(batch[1], (std::vector<int>{3, 4}));
  EXPECT_THAT([&] { optimizer.set_initial_population({}); },
              ThrowsMessage<std::logic_error>(HasSubstr("only before the initial population is asked")));
  Nsga2<IntegerProblem> fresh(IntegerProblem{}, {.population_size = 2});
  EXPECT_THAT([&] { fresh.set_initial_population({{1, 1}, {2, 2}, {3, 3}}); },
              ThrowsMessage<std::invalid_argument>(HasSubstr("3 decisions; population_size is 2")));
}

TEST_F(Nsga2Test, AnyPopulationSizeFromTwoWorks) {
  EXPECT_THAT([] { Nsga2<IntegerProblem>(IntegerProblem{}, {.population_size = 1}); },
              ThrowsMessage<std::invalid_argument>(HasSubstr("population_size is 1; expected at least 2")));
  for (const std::size_t n : {2u, 3u, 7u}) {
    Nsga2<IntegerProblem> optimizer(IntegerProblem{}, {.population_size = n, .seed = 4});
    for (int generation = 0; generation < 5; ++generation) {
      ASSERT_EQ(optimizer.ask().size(), n);
      tell_all(optimizer, in_order(n));
      ASSERT_EQ(optimizer.population().size(), n);
    }
  }
}

TEST_F(Nsga2Test, PopulationIsKeptBestFirst) {
  // After the initial population and one generation, 30 random genomes still span several
  // fronts, so the order below says something (on one rank it would hold whatever the order).
  Nsga2<IntegerProblem> optimizer(IntegerProblem{}, {.population_size = 30, .seed = 8});
  for (int generation = 0; generation < 2; ++generation) tell_all(optimizer, in_order(30));
  const auto& population = optimizer.population();
  const auto ranks = non_dominated_sort(objectives_of(population), violations_of(population)).rank;
  ASSERT_GE(*std::max_element(ranks.begin(), ranks.end()), 2u) << "too few fronts for the test to mean anything";
  EXPECT_TRUE(std::is_sorted(ranks.begin(), ranks.end()));
}

TEST_F(Nsga2Test, TournamentsFavourLowerRankThenLargerCrowding) {
  // Individual 0 is alone in front 0 and 5 alone in the last front; 1 and 2 share front 1, where
  // 2 is the more isolated, and 3, 4, 6, 7 share front 2.
  const nsga2_detail::Ranking ranking{{0, 1, 1, 2, 2, 3, 2, 2}, {1.0, 0.5, 2.0, 1.0, 1.0, 1.0, 1.0, 1.0}};
  Rng rng(6);
  std::vector<int> wins(8, 0);
  for (int trial = 0; trial < 200; ++trial) {
    const auto parents = nsga2_detail::select_parents(ranking, 8, rng);
    ASSERT_EQ(parents.size(), 8u);
    // Each individual enters exactly two tournaments (pairs from two permutations of 8).
    ASSERT_EQ(std::count(parents.begin(), parents.end(), 0u), 2);
    ASSERT_EQ(std::count(parents.begin(), parents.end(), 5u), 0);
    for (const std::size_t p : parents) ++wins[p];
  }
  EXPECT_GT(wins[2], wins[1]);  // same rank: larger crowding wins
  EXPECT_GT(wins[1], wins[3]);  // lower rank wins
}

TEST_F(Nsga2Test, SurvivorsAreWholeFrontsThenTheLeastCrowded) {
  // Front 0: five points along a line; front 1: two points. Keeping 4 drops one middle point of
  // front 0: the most crowded one, (2, 2.9), which sits close to (1, 4).
  const ObjectiveMatrix f{{0, 5}, {1, 4}, {2, 2.9}, {3, 2}, {5, 0}, {6, 6}, {7, 7}};
  EXPECT_THAT(nsga2_detail::select_survivors(f, {}, 4), ::testing::ElementsAre(0, 4, 3, 1));
  EXPECT_THAT(nsga2_detail::select_survivors(f, {}, 6), ::testing::ElementsAre(0, 1, 2, 3, 4, 5));
  // An infeasible point goes after every feasible one however good its objectives.
  EXPECT_THAT(nsga2_detail::select_survivors({{0, 0}, {1, 1}, {2, 2}}, {0.5, 0.0, 0.0}, 2),
              ::testing::ElementsAre(1, 2));
}

}  // namespace
}  // namespace joules
