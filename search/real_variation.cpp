#include "search/real_variation.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include <fmt/format.h>

namespace joules {
namespace {

void check_probability(double p, const char* name) {
  if (!(p >= 0.0 && p <= 1.0)) throw std::invalid_argument(fmt::format("{} is {}; expected a value in [0, 1]", name, p));
}

void check_distribution_index(double eta, const char* name) {
  if (!(eta >= 0.0) || !std::isfinite(eta)) {
    throw std::invalid_argument(fmt::format("{} is {}; expected a finite value >= 0", name, eta));
  }
}

// The spread factor of SBX's bounded form: the distribution of children around the parents is
// truncated at the box edge, whose distance from the parents is measured by beta.
double spread(double beta, double eta, double u) {
  const double alpha = 2.0 - std::pow(beta, -(eta + 1.0));
  if (u <= 1.0 / alpha) return std::pow(u * alpha, 1.0 / (eta + 1.0));
  return std::pow(1.0 / (2.0 - u * alpha), 1.0 / (eta + 1.0));
}

}  // namespace

RealVariation::RealVariation(RealBounds bounds, RealVariationOptions options)
    : bounds_(std::move(bounds)), options_(options) {
  if (bounds_.lower.size() != bounds_.upper.size()) {
    throw std::invalid_argument(fmt::format("bounds: {} lower bounds but {} upper bounds", bounds_.lower.size(),
                                            bounds_.upper.size()));
  }
  if (bounds_.lower.empty()) throw std::invalid_argument("bounds: no variables");
  for (std::size_t i = 0; i < size(); ++i) {
    const double lo = bounds_.lower[i];
    const double hi = bounds_.upper[i];
    if (!std::isfinite(lo) || !std::isfinite(hi) || lo > hi) {
      throw std::invalid_argument(
          fmt::format("bounds of variable {}: [{}, {}]; expected finite bounds with lower <= upper", i, lo, hi));
    }
  }
  check_probability(options_.crossover_probability, "crossover_probability");
  check_distribution_index(options_.crossover_distribution_index, "crossover_distribution_index");
  mutation_probability_ = options_.mutation_probability.value_or(1.0 / static_cast<double>(size()));
  check_probability(mutation_probability_, "mutation_probability");
  check_distribution_index(options_.mutation_distribution_index, "mutation_distribution_index");
}

void RealVariation::check_length(const std::vector<double>& x, const char* what) const {
  if (x.size() != size()) {
    throw std::invalid_argument(fmt::format("{} has {} variables; the bounds have {}", what, x.size(), size()));
  }
}

std::vector<double> RealVariation::sample(Rng& rng) const {
  std::vector<double> x(size());
  for (std::size_t i = 0; i < size(); ++i) {
    x[i] = bounds_.lower[i] + rng.uniform() * (bounds_.upper[i] - bounds_.lower[i]);
  }
  return x;
}

std::pair<std::vector<double>, std::vector<double>> RealVariation::crossover(const std::vector<double>& a,
                                                                             const std::vector<double>& b,
                                                                             Rng& rng) const {
  check_length(a, "crossover: parent a");
  check_length(b, "crossover: parent b");
  std::pair<std::vector<double>, std::vector<double>> children{a, b};
  if (!rng.chance(options_.crossover_probability)) return children;
  const double eta = options_.crossover_distribution_index;
  for (std::size_t i = 0; i < size(); ++i) {
    const double lo = bounds_.lower[i];
    const double hi = bounds_.upper[i];
    // Parents closer than this are treated as equal (as in Deb's code): the spread would be 0/0.
    if (!rng.chance(0.5) || std::abs(a[i] - b[i]) <= 1e-14 || lo == hi) continue;
    const double y1 = std::min(a[i], b[i]);
    const double y2 = std::max(a[i], b[i]);
    const double u = rng.uniform();
    double c1 = 0.5 * ((y1 + y2) - spread(1.0 + 2.0 * (y1 - lo) / (y2 - y1), eta, u) * (y2 - y1));
    double c2 = 0.5 * ((y1 + y2) + spread(1.0 + 2.0 * (hi - y2) / (y2 - y1), eta, u) * (y2 - y1));
    c1 = std::clamp(c1, lo, hi);
    c2 = std::clamp(c2, lo, hi);
    if (rng.chance(0.5)) std::swap(c1, c2);
    children.first[i] = c1;
    children.second[i] = c2;
  }
  return children;
}

std::vector<double> RealVariation::mutate(std::vector<double> x, Rng& rng) const {
  check_length(x, "mutate: the decision");
  const double eta = options_.mutation_distribution_index;
  const double power = 1.0 / (eta + 1.0);
  for (std::size_t i = 0; i < size(); ++i) {
    const double lo = bounds_.lower[i];
    const double hi = bounds_.upper[i];
    if (!rng.chance(mutation_probability_) || lo == hi) continue;
    const double width = hi - lo;
    const double u = rng.uniform();
    double step;
    if (u < 0.5) {
      const double room = 1.0 - (x[i] - lo) / width;
      step = std::pow(2.0 * u + (1.0 - 2.0 * u) * std::pow(room, eta + 1.0), power) - 1.0;
    } else {
      const double room = 1.0 - (hi - x[i]) / width;
      step = 1.0 - std::pow(2.0 * (1.0 - u) + 2.0 * (u - 0.5) * std::pow(room, eta + 1.0), power);
    }
    x[i] = std::clamp(x[i] + step * width, lo, hi);
  }
  return x;
}

}  // namespace joules
