#include "search/test_problems.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <stdexcept>

#include <fmt/format.h>

namespace joules {
namespace {

RealBounds unit_box(std::size_t variables) {
  return {std::vector<double>(variables, 0.0), std::vector<double>(variables, 1.0)};
}

double fraction(std::size_t i, std::size_t samples) {
  return samples <= 1 ? 0.0 : static_cast<double>(i) / static_cast<double>(samples - 1);
}

// The boxes validate the problem's sizes before the base class is built from them.
RealBounds zdt_box(int id, std::size_t variables) {
  if (id < 1 || id > 3) throw std::invalid_argument(fmt::format("ZDT problem {}: expected 1, 2 or 3", id));
  if (variables < 2) throw std::invalid_argument(fmt::format("ZDT{}: {} variables; expected at least 2", id, variables));
  return unit_box(variables);
}

RealBounds dtlz2_box(std::size_t objectives, std::size_t variables) {
  if (objectives < 2) throw std::invalid_argument(fmt::format("DTLZ2: {} objectives; expected at least 2", objectives));
  if (variables < objectives) {
    throw std::invalid_argument(
        fmt::format("DTLZ2: {} variables for {} objectives; expected at least as many variables", variables, objectives));
  }
  return unit_box(variables);
}

}  // namespace

void RealProblem::check_decision(const Decision& x) const {
  if (x.size() != variable_count()) {
    throw std::invalid_argument(
        fmt::format("decision has {} variables; the problem has {}", x.size(), variable_count()));
  }
}

Zdt::Zdt(int id, std::size_t variables, RealVariationOptions variation)
    : RealProblem(RealVariation(zdt_box(id, variables), variation)), id_(id) {}

Evaluation Zdt::evaluate(const Decision& x) const {
  check_decision(x);
  const double f1 = x[0];
  double sum = 0.0;
  for (std::size_t i = 1; i < x.size(); ++i) sum += x[i];
  const double g = 1.0 + 9.0 * sum / static_cast<double>(x.size() - 1);
  const double r = f1 / g;
  double h = 0.0;
  switch (id_) {
    case 1: h = 1.0 - std::sqrt(r); break;
    case 2: h = 1.0 - r * r; break;
    default: h = 1.0 - std::sqrt(r) - r * std::sin(10.0 * std::numbers::pi * f1); break;
  }
  return {{f1, g * h}, 0.0};
}

ObjectiveMatrix Zdt::true_front(std::size_t samples) const {
  // On the front g = 1: evaluate x = (f1, 0, ..., 0).
  ObjectiveMatrix points;
  Decision x(variable_count(), 0.0);
  for (std::size_t i = 0; i < samples; ++i) {
    x[0] = fraction(i, samples);
    points.push_back(evaluate(x).objectives);
  }
  ObjectiveMatrix front;
  for (const std::size_t i : pareto_front(points)) front.push_back(points[i]);
  return front;
}

Dtlz2::Dtlz2(std::size_t objectives, std::size_t variables, RealVariationOptions variation)
    : RealProblem(RealVariation(dtlz2_box(objectives, variables), variation)), objectives_(objectives) {}

Evaluation Dtlz2::evaluate(const Decision& x) const {
  check_decision(x);
  const std::size_t m = objectives_;
  double g = 0.0;
  for (std::size_t i = m - 1; i < x.size(); ++i) g += (x[i] - 0.5) * (x[i] - 0.5);
  std::vector<double> f(m, 1.0 + g);
  for (std::size_t k = 0; k < m; ++k) {
    // f_k = (1 + g) * cos(x_0 pi/2) ... cos(x_{m-k-2} pi/2) * sin(x_{m-k-1} pi/2) (no sine for k = 0).
    for (std::size_t i = 0; i + k + 1 < m; ++i) f[k] *= std::cos(x[i] * std::numbers::pi / 2.0);
    if (k > 0) f[k] *= std::sin(x[m - k - 1] * std::numbers::pi / 2.0);
  }
  return {std::move(f), 0.0};
}

ObjectiveMatrix Dtlz2::true_front(std::size_t per_angle) const {
  const std::size_t angles = objectives_ - 1;
  ObjectiveMatrix front;
  if (per_angle == 0) return front;
  std::vector<std::size_t> counter(angles, 0);
  Decision x(variable_count(), 0.5);  // g = 0
  while (true) {
    for (std::size_t a = 0; a < angles; ++a) x[a] = fraction(counter[a], per_angle);
    front.push_back(evaluate(x).objectives);
    std::size_t a = 0;
    while (a < angles && ++counter[a] == per_angle) counter[a++] = 0;
    if (a == angles) break;
  }
  return front;
}

Constr::Constr(RealVariationOptions variation) : RealProblem(RealVariation({{0.1, 0.0}, {1.0, 5.0}}, variation)) {}

Evaluation Constr::evaluate(const Decision& x) const {
  check_decision(x);
  const double deficit1 = std::max(0.0, 6.0 - (x[1] + 9.0 * x[0]));
  const double deficit2 = std::max(0.0, 1.0 - (9.0 * x[0] - x[1]));
  return {{x[0], (1.0 + x[1]) / x[0]}, deficit1 + deficit2};
}

ObjectiveMatrix Constr::true_front(std::size_t samples) const {
  ObjectiveMatrix front;
  for (std::size_t i = 0; i < samples; ++i) {
    const double x1 = 7.0 / 18.0 + fraction(i, samples) * (1.0 - 7.0 / 18.0);
    const double x2 = std::max(0.0, 6.0 - 9.0 * x1);
    front.push_back({x1, (1.0 + x2) / x1});
  }
  return front;
}

}  // namespace joules
