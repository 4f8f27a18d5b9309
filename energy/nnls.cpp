#include "energy/nnls.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace joules {
namespace {

// Solves the symmetric positive (semi)definite system m z = r in place (Cholesky). A pivot that
// vanishes (a column that is a combination of others) is regularised rather than failing: the
// result is then one of the equally good solutions.
std::vector<double> cholesky_solve(std::vector<double> m, std::vector<double> r) {
  const std::size_t n = r.size();
  for (std::size_t j = 0; j < n; ++j) {
    double d = m[j * n + j];
    for (std::size_t k = 0; k < j; ++k) d -= m[j * n + k] * m[j * n + k];
    d = std::max(d, 1e-13);
    const double l = std::sqrt(d);
    m[j * n + j] = l;
    for (std::size_t i = j + 1; i < n; ++i) {
      double s = m[i * n + j];
      for (std::size_t k = 0; k < j; ++k) s -= m[i * n + k] * m[j * n + k];
      m[i * n + j] = s / l;
    }
  }
  for (std::size_t i = 0; i < n; ++i) {
    double s = r[i];
    for (std::size_t k = 0; k < i; ++k) s -= m[i * n + k] * r[k];
    r[i] = s / m[i * n + i];
  }
  for (std::size_t i = n; i-- > 0;) {
    double s = r[i];
    for (std::size_t k = i + 1; k < n; ++k) s -= m[k * n + i] * r[k];
    r[i] = s / m[i * n + i];
  }
  return r;
}

}  // namespace

NormalEquations::NormalEquations(std::size_t columns)
    : columns_(columns), gram_(columns * columns, 0.0), rhs_(columns, 0.0) {}

void NormalEquations::add_row(std::span<const double> a, double b, double weight) {
  if (a.size() != columns_) throw std::invalid_argument("NormalEquations::add_row: wrong row length");
  for (std::size_t i = 0; i < columns_; ++i) {
    if (a[i] == 0.0) continue;
    const double wa = weight * a[i];
    rhs_[i] += wa * b;
    for (std::size_t j = 0; j < columns_; ++j) gram_[i * columns_ + j] += wa * a[j];
  }
}

void NormalEquations::add(const NormalEquations& other) {
  for (std::size_t i = 0; i < gram_.size(); ++i) gram_[i] += other.gram_[i];
  for (std::size_t i = 0; i < rhs_.size(); ++i) rhs_[i] += other.rhs_[i];
}

void NormalEquations::subtract(const NormalEquations& other) {
  for (std::size_t i = 0; i < gram_.size(); ++i) gram_[i] -= other.gram_[i];
  for (std::size_t i = 0; i < rhs_.size(); ++i) rhs_[i] -= other.rhs_[i];
}

std::vector<double> solve_nonnegative(const NormalEquations& eq) {
  return solve_nonnegative(eq, std::vector<bool>(eq.columns(), true));
}

std::vector<double> solve_nonnegative(const NormalEquations& eq, const std::vector<bool>& use) {
  const std::size_t p = eq.columns();
  // Scale every used column to a unit diagonal: the terms' units (per MAC, per layer) differ by
  // ten orders of magnitude.
  std::vector<double> scale(p, 0.0);
  std::vector<bool> usable(p, false);
  for (std::size_t j = 0; j < p; ++j) {
    const double d = eq.gram(j, j);
    if (use[j] && d > 0 && std::isfinite(d)) {
      scale[j] = 1.0 / std::sqrt(d);
      usable[j] = true;
    }
  }
  auto g = [&](std::size_t i, std::size_t j) { return eq.gram(i, j) * scale[i] * scale[j]; };
  auto h = [&](std::size_t i) { return eq.rhs(i) * scale[i]; };
  double h_max = 0;
  for (std::size_t j = 0; j < p; ++j) h_max = std::max(h_max, usable[j] ? std::abs(h(j)) : 0.0);
  const double tolerance = 1e-11 * std::max(1.0, h_max);

  std::vector<double> x(p, 0.0);
  std::vector<bool> passive(p, false);
  std::vector<bool> excluded(p, false);  // columns that cannot enter (degenerate)
  auto gradient = [&](std::size_t j) {
    double w = h(j);
    for (std::size_t k = 0; k < p; ++k) {
      if (passive[k]) w -= g(j, k) * x[k];
    }
    return w;
  };

  for (std::size_t outer = 0; outer < 10 * p + 10; ++outer) {
    std::size_t best = p;
    double best_w = tolerance;
    for (std::size_t j = 0; j < p; ++j) {
      if (!usable[j] || passive[j] || excluded[j]) continue;
      const double w = gradient(j);
      if (w > best_w) {
        best_w = w;
        best = j;
      }
    }
    if (best == p) break;
    passive[best] = true;

    for (std::size_t inner = 0; inner < 10 * p + 10; ++inner) {
      std::vector<std::size_t> set;
      for (std::size_t j = 0; j < p; ++j) {
        if (passive[j]) set.push_back(j);
      }
      const std::size_t n = set.size();
      std::vector<double> m(n * n), r(n);
      for (std::size_t a = 0; a < n; ++a) {
        r[a] = h(set[a]);
        for (std::size_t b = 0; b < n; ++b) m[a * n + b] = g(set[a], set[b]);
      }
      const std::vector<double> z = cholesky_solve(std::move(m), std::move(r));
      bool feasible = true;
      for (std::size_t a = 0; a < n; ++a) feasible = feasible && z[a] > 0;
      if (feasible) {
        for (std::size_t a = 0; a < n; ++a) x[set[a]] = z[a];
        break;
      }
      // Step from x towards z until the first coefficient reaches zero, and drop it.
      double alpha = 1.0;
      for (std::size_t a = 0; a < n; ++a) {
        if (z[a] <= 0) {
          const double xi = x[set[a]];
          alpha = std::min(alpha, xi / (xi - z[a]));
        }
      }
      bool dropped = false;
      for (std::size_t a = 0; a < n; ++a) {
        const std::size_t j = set[a];
        x[j] += alpha * (z[a] - x[j]);
        if (x[j] <= 1e-15 || (z[a] <= 0 && alpha == 0.0)) {
          x[j] = 0;
          passive[j] = false;
          dropped = true;
          // A column that cannot become positive right after entering is degenerate: keep it
          // out so that the method cannot cycle.
          if (j == best) excluded[j] = true;
        }
      }
      if (!dropped) break;
    }
  }
  for (std::size_t j = 0; j < p; ++j) x[j] *= scale[j];
  return x;
}

}  // namespace joules
