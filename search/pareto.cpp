#include "search/pareto.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <stdexcept>
#include <string>

#include <fmt/format.h>

namespace joules {
namespace {

void check_points(const ObjectiveMatrix& objectives, const std::vector<double>& violations) {
  if (!violations.empty() && violations.size() != objectives.size()) {
    throw std::invalid_argument(fmt::format("{} violations given for {} points (expected one per point, or none)",
                                            violations.size(), objectives.size()));
  }
  for (std::size_t i = 0; i < objectives.size(); ++i) {
    if (objectives[i].size() != objectives[0].size()) {
      throw std::invalid_argument(fmt::format("point {} has {} objectives, point 0 has {}", i, objectives[i].size(),
                                              objectives[0].size()));
    }
    for (std::size_t k = 0; k < objectives[i].size(); ++k) {
      if (std::isnan(objectives[i][k])) throw std::invalid_argument(fmt::format("point {}: objective {} is NaN", i, k));
    }
    if (!violations.empty() && !(violations[i] >= 0.0)) {
      throw std::invalid_argument(
          fmt::format("point {}: violation {} is not a number >= 0", i, violations[i]));
    }
  }
}

}  // namespace

bool dominates(const std::vector<double>& a, const std::vector<double>& b) {
  bool better = false;
  for (std::size_t k = 0; k < a.size(); ++k) {
    if (a[k] > b[k]) return false;
    if (a[k] < b[k]) better = true;
  }
  return better;
}

bool constrained_dominates(const std::vector<double>& a, double violation_a, const std::vector<double>& b,
                           double violation_b) {
  if (violation_a == 0.0 && violation_b == 0.0) return dominates(a, b);
  return violation_a < violation_b;
}

NonDominatedFronts non_dominated_sort(const ObjectiveMatrix& objectives, const std::vector<double>& violations) {
  check_points(objectives, violations);
  const std::size_t n = objectives.size();
  auto violation = [&](std::size_t i) { return violations.empty() ? 0.0 : violations[i]; };

  // dominated_by[i]: how many points dominate i; dominating[i]: the points i dominates.
  std::vector<std::size_t> dominated_by(n, 0);
  std::vector<std::vector<std::size_t>> dominating(n);
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t j = i + 1; j < n; ++j) {
      if (constrained_dominates(objectives[i], violation(i), objectives[j], violation(j))) {
        dominating[i].push_back(j);
        ++dominated_by[j];
      } else if (constrained_dominates(objectives[j], violation(j), objectives[i], violation(i))) {
        dominating[j].push_back(i);
        ++dominated_by[i];
      }
    }
  }

  NonDominatedFronts result;
  result.rank.assign(n, 0);
  std::vector<std::size_t> current;
  for (std::size_t i = 0; i < n; ++i) {
    if (dominated_by[i] == 0) current.push_back(i);
  }
  while (!current.empty()) {
    std::vector<std::size_t> next;
    for (const std::size_t i : current) {
      result.rank[i] = result.fronts.size();
      for (const std::size_t j : dominating[i]) {
        if (--dominated_by[j] == 0) next.push_back(j);
      }
    }
    std::sort(next.begin(), next.end());
    result.fronts.push_back(std::move(current));
    current = std::move(next);
  }
  return result;
}

std::vector<double> crowding_distance(const ObjectiveMatrix& objectives, const std::vector<std::size_t>& front) {
  constexpr double kInfinity = std::numeric_limits<double>::infinity();
  const std::size_t n = front.size();
  if (n <= 2) return std::vector<double>(n, kInfinity);
  for (const std::size_t i : front) {
    if (i >= objectives.size()) {
      throw std::invalid_argument(fmt::format("front index {} out of range ({} points)", i, objectives.size()));
    }
  }
  std::vector<double> distance(n, 0.0);
  std::vector<std::size_t> order(n);  // positions in `front`
  const std::size_t m = objectives[front[0]].size();
  for (std::size_t k = 0; k < m; ++k) {
    std::iota(order.begin(), order.end(), std::size_t{0});
    std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
      const double fa = objectives[front[a]][k];
      const double fb = objectives[front[b]][k];
      return fa < fb || (fa == fb && front[a] < front[b]);
    });
    distance[order.front()] = kInfinity;
    distance[order.back()] = kInfinity;
    const double range = objectives[front[order.back()]][k] - objectives[front[order.front()]][k];
    if (!(range > 0.0) || !std::isfinite(range)) continue;
    for (std::size_t p = 1; p + 1 < n; ++p) {
      distance[order[p]] += (objectives[front[order[p + 1]]][k] - objectives[front[order[p - 1]]][k]) / range;
    }
  }
  return distance;
}

std::vector<std::size_t> pareto_front(const ObjectiveMatrix& objectives, const std::vector<double>& violations) {
  check_points(objectives, violations);
  std::vector<std::size_t> feasible;
  for (std::size_t i = 0; i < objectives.size(); ++i) {
    if (violations.empty() || violations[i] == 0.0) feasible.push_back(i);
  }
  std::vector<std::size_t> front;
  if (!feasible.empty() && objectives[0].size() == 2) {
    // Two objectives: sort by (f0, f1) and sweep. A point is dominated by an earlier one with a
    // lower f1, or with the same f1 and a lower f0 (equal points do not dominate each other).
    std::sort(feasible.begin(), feasible.end(), [&](std::size_t a, std::size_t b) {
      return objectives[a] < objectives[b] || (objectives[a] == objectives[b] && a < b);
    });
    double best_f1 = 0.0;  // lowest f1 so far (of the first point in front)
    double best_f0 = 0.0;  // lowest f0 reaching best_f1
    for (const std::size_t i : feasible) {
      const double f0 = objectives[i][0];
      const double f1 = objectives[i][1];
      if (!front.empty() && (best_f1 < f1 || (best_f1 == f1 && best_f0 < f0))) continue;
      if (front.empty() || f1 < best_f1) {
        best_f1 = f1;
        best_f0 = f0;
      }
      front.push_back(i);
    }
    std::sort(front.begin(), front.end());
    return front;
  }
  for (const std::size_t i : feasible) {
    const bool dominated = std::any_of(feasible.begin(), feasible.end(),
                                       [&](std::size_t j) { return dominates(objectives[j], objectives[i]); });
    if (!dominated) front.push_back(i);
  }
  return front;
}

}  // namespace joules
