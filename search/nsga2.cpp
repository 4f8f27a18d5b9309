#include "search/nsga2.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <stdexcept>

namespace joules::nsga2_detail {

Ranking rank_and_crowd(const ObjectiveMatrix& objectives, const std::vector<double>& violations) {
  NonDominatedFronts sorted = non_dominated_sort(objectives, violations);
  Ranking ranking{std::move(sorted.rank), std::vector<double>(objectives.size(), 0.0)};
  for (const auto& front : sorted.fronts) {
    const std::vector<double> crowding = crowding_distance(objectives, front);
    for (std::size_t p = 0; p < front.size(); ++p) ranking.crowding[front[p]] = crowding[p];
  }
  return ranking;
}

std::vector<std::size_t> select_parents(const Ranking& ranking, std::size_t count, Rng& rng) {
  const std::size_t n = ranking.rank.size();
  std::vector<std::size_t> contestants(n);
  std::size_t next = n;  // position in `contestants`; n: draw a new permutation
  auto winner = [&](std::size_t a, std::size_t b) {
    if (ranking.rank[a] != ranking.rank[b]) return ranking.rank[a] < ranking.rank[b] ? a : b;
    if (ranking.crowding[a] != ranking.crowding[b]) return ranking.crowding[a] > ranking.crowding[b] ? a : b;
    return rng.chance(0.5) ? a : b;
  };
  std::vector<std::size_t> parents;
  parents.reserve(count);
  while (parents.size() < count) {
    if (next + 2 > n) {
      std::iota(contestants.begin(), contestants.end(), std::size_t{0});
      // Fisher-Yates with the project's Rng: std::shuffle's draws differ between libraries.
      for (std::size_t i = n - 1; i > 0; --i) std::swap(contestants[i], contestants[rng.index(i + 1)]);
      next = 0;
    }
    parents.push_back(winner(contestants[next], contestants[next + 1]));
    next += 2;
  }
  return parents;
}

std::vector<std::size_t> select_survivors(const ObjectiveMatrix& objectives, const std::vector<double>& violations,
                                          std::size_t count) {
  const NonDominatedFronts sorted = non_dominated_sort(objectives, violations);
  std::vector<std::size_t> survivors;
  survivors.reserve(std::min(count, objectives.size()));
  for (const auto& front : sorted.fronts) {
    if (survivors.size() + front.size() <= count) {
      survivors.insert(survivors.end(), front.begin(), front.end());
      continue;
    }
    const std::vector<double> crowding = crowding_distance(objectives, front);
    std::vector<std::size_t> order(front.size());
    std::iota(order.begin(), order.end(), std::size_t{0});
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return crowding[a] > crowding[b]; });
    for (std::size_t p = 0; survivors.size() < count; ++p) survivors.push_back(front[order[p]]);
    break;
  }
  return survivors;
}

void check_options(const Nsga2Options& options, std::size_t objective_count) {
  if (options.population_size < 2) {
    throw std::invalid_argument(
        fmt::format("NSGA-II population_size is {}; expected at least 2", options.population_size));
  }
  if (objective_count < 1) throw std::invalid_argument("NSGA-II: the problem has no objectives");
}

std::string evaluation_error(const Evaluation& evaluation, std::size_t objective_count) {
  if (evaluation.objectives.size() != objective_count) {
    return fmt::format("{} objectives; the problem has {}", evaluation.objectives.size(), objective_count);
  }
  for (std::size_t k = 0; k < objective_count; ++k) {
    if (!std::isfinite(evaluation.objectives[k])) {
      return fmt::format("objective {} is {}; expected a finite value (tell a failed evaluation as infeasible "
                         "with finite objectives)",
                         k, evaluation.objectives[k]);
    }
  }
  if (!(evaluation.violation >= 0.0) || !std::isfinite(evaluation.violation)) {
    return fmt::format("violation is {}; expected a finite value >= 0", evaluation.violation);
  }
  return {};
}

}  // namespace joules::nsga2_detail
