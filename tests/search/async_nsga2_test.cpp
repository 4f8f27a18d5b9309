#include "search/async_nsga2.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <queue>

#include "search/durations.hpp"
#include "search/hypervolume.hpp"
#include "search/test_problems.hpp"
#include "util/median.hpp"

namespace joules {
namespace {

using ::testing::HasSubstr;
using ::testing::ThrowsMessage;

// Hypervolume of a population's feasible front against (1.1, 1.1), ZDT's usual reference.
template <class Decision>
double front_hypervolume(const std::vector<Individual<Decision>>& population) {
  return hypervolume(objectives_of(pareto_front(population)), {1.1, 1.1});
}

// `workers` simulated workers; each evaluation takes a seeded lognormal time (the spread of the
// quickstart's trainings), and results are told in the order they finish.
double async_run(const Zdt& problem, std::size_t population, std::size_t evaluations, std::size_t workers,
                 std::uint64_t seed) {
  AsyncNsga2<Zdt> optimizer(problem, Nsga2Options{.population_size = population, .seed = seed});
  Rng durations_rng(seed ^ 0x5eed);
  const LognormalDurations durations{.median_s = 2.0, .sigma = 1.0};
  using Running = std::pair<double, std::vector<double>>;  // finish time, decision
  auto later = [](const Running& a, const Running& b) { return a.first > b.first; };
  std::priority_queue<Running, std::vector<Running>, decltype(later)> running(later);
  double now = 0;
  while (running.size() < workers && optimizer.bred() < evaluations) {
    running.push({now + durations.draw(durations_rng), optimizer.breed()});
  }
  while (!running.empty()) {
    Running done = running.top();
    running.pop();
    now = done.first;
    optimizer.tell(done.second, problem.evaluate(done.second));
    if (optimizer.bred() < evaluations) running.push({now + durations.draw(durations_rng), optimizer.breed()});
  }
  return front_hypervolume(optimizer.population());
}

double generational_run(const Zdt& problem, std::size_t population, std::size_t generations, std::uint64_t seed) {
  // The generational schedule's results do not depend on completion order: evolve() is it.
  Nsga2<Zdt> optimizer(problem, Nsga2Options{.population_size = population, .seed = seed});
  optimizer.evolve(generations);
  return front_hypervolume(optimizer.population());
}

// The quality goal: async NSGA-II, with 8 workers finishing in random order, is no worse than
// generational NSGA-II by more than 1% of median hypervolume over 11 seeds, for the same number
// of evaluations. At 10,040 evaluations (population 40, 250 generations) it holds on ZDT1, 2
// and 3. At 4,040 it holds on ZDT1 and ZDT3 but not on ZDT2 (concave front): there the
// steady-state schedule first converges onto the f1 = 0 end and is still spreading along the
// front (median about 0.20 against 0.52), so at that budget ZDT2 is only printed.
struct ZdtMedians {
  double async_hv;
  double generational_hv;
};

ZdtMedians zdt_medians(int id, std::size_t generations) {
  constexpr std::size_t kPopulation = 40;
  const Zdt problem(id, /*variables=*/10);
  std::vector<double> async_hv;
  std::vector<double> generational_hv;
  for (std::uint64_t seed = 1; seed <= 11; ++seed) {
    async_hv.push_back(async_run(problem, kPopulation, kPopulation * (generations + 1), /*workers=*/8, seed));
    generational_hv.push_back(generational_run(problem, kPopulation, generations, seed));
  }
  const ZdtMedians m{median(async_hv), median(generational_hv)};
  std::printf("ZDT%d: median hypervolume async %.4f, generational %.4f (11 seeds, %zu evaluations, 10 variables)\n",
              id, m.async_hv, m.generational_hv, kPopulation * (generations + 1));
  return m;
}

TEST(AsyncNsga2Test, MatchesGenerationalHypervolumeOnZdtWithEightWorkers) {
  for (int id = 1; id <= 3; ++id) {
    const ZdtMedians m = zdt_medians(id, /*generations=*/250);
    RecordProperty(fmt::format("zdt{}_async_median_hv", id), fmt::format("{:.4f}", m.async_hv));
    RecordProperty(fmt::format("zdt{}_generational_median_hv", id), fmt::format("{:.4f}", m.generational_hv));
    EXPECT_GE(m.async_hv, m.generational_hv * 0.99) << "ZDT" << id;
    EXPECT_GT(m.generational_hv, 0.5) << "ZDT" << id << ": the generational baseline should converge at all";
  }
}

TEST(AsyncNsga2Test, AtASmallerBudgetMatchesGenerationalOnZdt1AndZdt3) {
  for (int id = 1; id <= 3; ++id) {
    const ZdtMedians m = zdt_medians(id, /*generations=*/100);
    if (id != 2) {
      EXPECT_GE(m.async_hv, m.generational_hv * 0.99) << "ZDT" << id;
    }
  }
}

TEST(AsyncNsga2Test, HandsOutTheInitialSamplesThenBreedsFromWhatWasTold) {
  const Zdt problem(1, 5);
  AsyncNsga2<Zdt> optimizer(problem, Nsga2Options{.population_size = 4, .seed = 9});
  Rng same(9);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(optimizer.breed(), problem.sample(same));
  // None told yet: still samples, so a worker never waits for a result.
  EXPECT_EQ(optimizer.breed(), problem.sample(same));
  EXPECT_EQ(optimizer.bred(), 5u);
  for (int i = 0; i < 6; ++i) {
    const auto x = problem.sample(same);
    optimizer.tell(x, problem.evaluate(x));
  }
  EXPECT_EQ(optimizer.population().size(), 4u);  // environmental selection keeps population_size
}

TEST(AsyncNsga2Test, APickChoosesOneOfSeveralChildrenAndCountsAsOne) {
  const Zdt problem(1, 5);
  AsyncNsga2<Zdt> optimizer(problem, Nsga2Options{.population_size = 4, .seed = 2});
  std::size_t asked = 0;
  const AsyncNsga2<Zdt>::Pick pick_last = [&](const std::vector<std::vector<double>>& children) {
    ++asked;
    EXPECT_EQ(children.size(), 3u);
    return children.size() - 1;
  };
  for (int i = 0; i < 4; ++i) {
    const auto x = optimizer.breed(pick_last, 3);
    optimizer.tell(x, problem.evaluate(x));
  }
  EXPECT_EQ(asked, 0u) << "the initial population is sampled, not picked";
  AsyncNsga2<Zdt> copy(problem, optimizer.options());
  copy.restore(optimizer.state());
  const auto picked = optimizer.breed(pick_last, 3);
  EXPECT_EQ(asked, 1u);
  EXPECT_EQ(optimizer.bred(), 5u);
  std::vector<std::vector<double>> seen;
  const auto first = copy.breed([&](const auto& children) { seen = children; return std::size_t{0}; }, 3);
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(picked, seen.back()) << "the same children, the last handed out";
  EXPECT_EQ(first, seen.front());
  EXPECT_NE(seen.front(), seen.back());
  EXPECT_THAT([&] { optimizer.breed([](const auto&) { return std::size_t{3}; }, 3); },
              ThrowsMessage<std::logic_error>(HasSubstr("chose child 3 of 3")));
}

TEST(AsyncNsga2Test, KeepsTheNonDominatedAndRejectsBadEvaluations) {
  const Zdt problem(1, 3);
  AsyncNsga2<Zdt> optimizer(problem, Nsga2Options{.population_size = 2, .seed = 1});
  optimizer.tell({0.0}, Evaluation{.objectives = {0.5, 0.5}});
  optimizer.tell({1.0}, Evaluation{.objectives = {0.9, 0.9}});
  optimizer.tell({2.0}, Evaluation{.objectives = {0.1, 0.9}});
  std::vector<std::vector<double>> kept;
  for (const auto& i : optimizer.population()) kept.push_back(i.decision);
  EXPECT_THAT(kept, ::testing::UnorderedElementsAre(std::vector<double>{0.0}, std::vector<double>{2.0}));
  EXPECT_THAT([&] { optimizer.tell({3.0}, Evaluation{.objectives = {0.1}}); },
              ThrowsMessage<std::invalid_argument>(HasSubstr("1 objectives; the problem has 2")));
  EXPECT_EQ(optimizer.population().size(), 2u);
}

TEST(AsyncNsga2Test, RestoredStateBreedsTheSameChildren) {
  const Zdt problem(2, 4);
  AsyncNsga2<Zdt> a(problem, Nsga2Options{.population_size = 4, .seed = 3});
  for (int i = 0; i < 7; ++i) {
    const auto x = a.breed();
    a.tell(x, problem.evaluate(x));
  }
  const nlohmann::json saved = a.state();
  AsyncNsga2<Zdt> b(problem, Nsga2Options{.population_size = 4, .seed = 99});
  b.restore(saved.get<AsyncNsga2State<std::vector<double>>>());
  EXPECT_EQ(b.state(), a.state());
  for (int i = 0; i < 5; ++i) EXPECT_EQ(b.breed(), a.breed());
  AsyncNsga2<Zdt> small(problem, Nsga2Options{.population_size = 2, .seed = 1});
  EXPECT_THAT([&] { small.restore(a.state()); },
              ThrowsMessage<std::invalid_argument>(HasSubstr("4 individuals; population_size is 2")));
}

}  // namespace
}  // namespace joules
