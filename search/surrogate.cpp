#include "search/surrogate.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

#include <fmt/format.h>

#include "search/hypervolume.hpp"

namespace joules {
namespace {

// Length scales (squared, as multiples of the median squared distance between training rows)
// and noise variances (shares of the target's variance) the fit chooses from.
constexpr double kLengthGrid[] = {0.125, 0.25, 0.5, 1.0, 2.0, 4.0};
constexpr double kNoiseGrid[] = {1e-3, 1e-2, 0.05, 0.2};

double squared_distance(const std::vector<double>& a, const std::vector<double>& b) {
  double d = 0.0;
  for (std::size_t i = 0; i < a.size(); ++i) d += (a[i] - b[i]) * (a[i] - b[i]);
  return d;
}

// Lower Cholesky factor of a symmetric matrix, in place; false when it is not positive definite.
bool cholesky(ObjectiveMatrix& a) {
  const std::size_t n = a.size();
  for (std::size_t j = 0; j < n; ++j) {
    double d = a[j][j];
    for (std::size_t k = 0; k < j; ++k) d -= a[j][k] * a[j][k];
    if (!(d > 0.0)) return false;
    a[j][j] = std::sqrt(d);
    for (std::size_t i = j + 1; i < n; ++i) {
      double s = a[i][j];
      for (std::size_t k = 0; k < j; ++k) s -= a[i][k] * a[j][k];
      a[i][j] = s / a[j][j];
    }
  }
  return true;
}

// Solves L z = b (forward) for the lower factor L.
std::vector<double> forward(const ObjectiveMatrix& l, std::vector<double> b) {
  for (std::size_t i = 0; i < b.size(); ++i) {
    for (std::size_t k = 0; k < i; ++k) b[i] -= l[i][k] * b[k];
    b[i] /= l[i][i];
  }
  return b;
}

// Solves L^T z = b (backward) for the lower factor L.
std::vector<double> backward(const ObjectiveMatrix& l, std::vector<double> b) {
  for (std::size_t i = b.size(); i-- > 0;) {
    for (std::size_t k = i + 1; k < b.size(); ++k) b[i] -= l[k][i] * b[k];
    b[i] /= l[i][i];
  }
  return b;
}

void check_finite(const std::vector<double>& row, const char* what) {
  for (double v : row) {
    if (!std::isfinite(v)) throw std::invalid_argument(fmt::format("GaussianProcess: a non-finite {}", what));
  }
}

}  // namespace

GaussianProcess GaussianProcess::fit(const ObjectiveMatrix& x, const std::vector<double>& y) {
  if (x.empty()) throw std::invalid_argument("GaussianProcess::fit: no rows");
  if (y.size() != x.size()) {
    throw std::invalid_argument(fmt::format("GaussianProcess::fit: {} rows, {} targets", x.size(), y.size()));
  }
  const std::size_t n = x.size(), d = x.front().size();
  for (const std::vector<double>& row : x) {
    if (row.size() != d) throw std::invalid_argument("GaussianProcess::fit: rows of different lengths");
    check_finite(row, "feature");
  }
  check_finite(y, "target");

  GaussianProcess gp;
  gp.mean_.assign(d, 0.0);
  gp.scale_.assign(d, 0.0);
  for (std::size_t j = 0; j < d; ++j) {
    double sum = 0.0, sum2 = 0.0;
    for (const std::vector<double>& row : x) sum += row[j];
    gp.mean_[j] = sum / static_cast<double>(n);
    for (const std::vector<double>& row : x) sum2 += (row[j] - gp.mean_[j]) * (row[j] - gp.mean_[j]);
    const double sd = std::sqrt(sum2 / static_cast<double>(n));
    gp.scale_[j] = sd > 1e-12 ? 1.0 / sd : 0.0;
  }
  double y_sum = 0.0, y_sum2 = 0.0;
  for (double v : y) y_sum += v;
  gp.y_mean_ = y_sum / static_cast<double>(n);
  for (double v : y) y_sum2 += (v - gp.y_mean_) * (v - gp.y_mean_);
  const double y_sd = std::sqrt(y_sum2 / static_cast<double>(n));
  gp.y_scale_ = y_sd > 1e-12 ? y_sd : 1.0;

  for (const std::vector<double>& row : x) gp.rows_.push_back(gp.standardised(row));
  std::vector<double> target(n);
  for (std::size_t i = 0; i < n; ++i) target[i] = (y[i] - gp.y_mean_) / gp.y_scale_;

  ObjectiveMatrix dist(n, std::vector<double>(n, 0.0));
  std::vector<double> off_diagonal;
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t k = 0; k < i; ++k) {
      dist[i][k] = dist[k][i] = squared_distance(gp.rows_[i], gp.rows_[k]);
      if (dist[i][k] > 0.0) off_diagonal.push_back(dist[i][k]);
    }
  }
  double median = 1.0;
  if (!off_diagonal.empty()) {
    std::nth_element(off_diagonal.begin(), off_diagonal.begin() + static_cast<std::ptrdiff_t>(off_diagonal.size() / 2),
                     off_diagonal.end());
    median = off_diagonal[off_diagonal.size() / 2];
  }

  double best = -std::numeric_limits<double>::infinity();
  for (double length : kLengthGrid) {
    for (double noise : kNoiseGrid) {
      const double l2 = length * median;
      ObjectiveMatrix k(n, std::vector<double>(n));
      for (std::size_t i = 0; i < n; ++i) {
        for (std::size_t j = 0; j <= i; ++j) k[i][j] = k[j][i] = std::exp(-dist[i][j] / (2.0 * l2));
        k[i][i] += noise;
      }
      if (!cholesky(k)) continue;
      const std::vector<double> alpha = backward(k, forward(k, target));
      double fit = 0.0, log_det = 0.0;
      for (std::size_t i = 0; i < n; ++i) {
        fit += target[i] * alpha[i];
        log_det += std::log(k[i][i]);
      }
      const double likelihood = -0.5 * fit - log_det;
      if (likelihood > best) {
        best = likelihood;
        gp.length_scale_ = std::sqrt(l2);
        gp.noise_ = noise;
        gp.alpha_ = alpha;
        gp.chol_ = std::move(k);
      }
    }
  }
  if (gp.alpha_.empty()) throw std::invalid_argument("GaussianProcess::fit: no kernel of the grid is positive definite");
  return gp;
}

std::vector<double> GaussianProcess::standardised(const std::vector<double>& x) const {
  std::vector<double> z(x.size());
  for (std::size_t j = 0; j < x.size(); ++j) z[j] = (x[j] - mean_[j]) * scale_[j];
  return z;
}

GpPrediction GaussianProcess::predict(const std::vector<double>& x) const {
  if (x.size() != mean_.size()) {
    throw std::invalid_argument(
        fmt::format("GaussianProcess::predict: {} features, the fit had {}", x.size(), mean_.size()));
  }
  check_finite(x, "feature");
  const std::vector<double> z = standardised(x);
  std::vector<double> k(rows_.size());
  for (std::size_t i = 0; i < rows_.size(); ++i) {
    k[i] = std::exp(-squared_distance(z, rows_[i]) / (2.0 * length_scale_ * length_scale_));
  }
  double mean = 0.0;
  for (std::size_t i = 0; i < k.size(); ++i) mean += k[i] * alpha_[i];
  const std::vector<double> v = forward(chol_, k);
  double explained = 0.0;
  for (double e : v) explained += e * e;
  return {.mean = y_mean_ + y_scale_ * mean, .sd = y_scale_ * std::sqrt(std::max(0.0, 1.0 - explained))};
}

std::vector<std::size_t> prescreen(const ObjectiveMatrix& evaluated, const ObjectiveMatrix& candidates,
                                   const std::vector<bool>& feasible, std::size_t n) {
  if (feasible.size() != candidates.size()) {
    throw std::invalid_argument(
        fmt::format("prescreen: {} candidates, {} feasibility flags", candidates.size(), feasible.size()));
  }
  const std::size_t d = !candidates.empty() ? candidates.front().size() : 0;
  for (const ObjectiveMatrix* m : {&evaluated, &candidates}) {
    for (const std::vector<double>& row : *m) {
      if (row.size() != d) throw std::invalid_argument("prescreen: objective vectors of different lengths");
    }
  }
  std::vector<std::size_t> picks;
  std::vector<std::size_t> open, closed;
  for (std::size_t i = 0; i < candidates.size(); ++i) (feasible[i] ? open : closed).push_back(i);

  // Ranges over everything on the table; the reference past the worst of them.
  std::vector<double> low(d, std::numeric_limits<double>::infinity()), high(d, -low[0]);
  for (const ObjectiveMatrix* m : {&evaluated, &candidates}) {
    for (const std::vector<double>& row : *m) {
      for (std::size_t j = 0; j < d; ++j) {
        low[j] = std::min(low[j], row[j]);
        high[j] = std::max(high[j], row[j]);
      }
    }
  }
  std::vector<double> range(d), reference(d);
  for (std::size_t j = 0; j < d; ++j) {
    range[j] = high[j] > low[j] ? high[j] - low[j] : 1.0;
    reference[j] = high[j] + 0.1 * range[j];
  }
  const bool by_volume = d == 2 || d == 3;
  // Gains below this share of the reference box are rounding, not volume.
  double box = 1.0;
  for (std::size_t j = 0; j < d; ++j) box *= reference[j] - low[j];
  const double tiny = 1e-12 * box;

  ObjectiveMatrix front;
  for (std::size_t i : pareto_front(evaluated)) front.push_back(evaluated[i]);
  // How much `c` must improve (in every objective, in units of its range) before no point of
  // the front dominates or equals it; <= 0 when it is non-dominated already.
  const auto epsilon = [&](const std::vector<double>& c) {
    double worst = -std::numeric_limits<double>::infinity();
    for (const std::vector<double>& f : front) {
      double best_gap = std::numeric_limits<double>::infinity();
      for (std::size_t j = 0; j < d; ++j) best_gap = std::min(best_gap, (c[j] - f[j]) / range[j]);
      worst = std::max(worst, best_gap);
    }
    return worst;
  };

  while (picks.size() < n && !open.empty()) {
    const double base = by_volume && !front.empty() ? hypervolume(front, reference) : 0.0;
    std::size_t chosen = 0;
    std::pair<int, double> best{-1, 0.0};
    for (std::size_t o = 0; o < open.size(); ++o) {
      const std::vector<double>& c = candidates[open[o]];
      double gain = 0.0;
      if (by_volume) {
        front.push_back(c);
        gain = hypervolume(front, reference) - base;
        front.pop_back();
      }
      const std::pair<int, double> score = gain > tiny ? std::pair{1, gain} : std::pair{0, -epsilon(c)};
      if (best.first < 0 || score > best) {
        best = score;
        chosen = o;
      }
    }
    picks.push_back(open[chosen]);
    front.push_back(candidates[open[chosen]]);
    open.erase(open.begin() + static_cast<std::ptrdiff_t>(chosen));
  }
  for (std::size_t i : closed) {
    if (picks.size() >= n) break;
    picks.push_back(i);
  }
  return picks;
}

}  // namespace joules
