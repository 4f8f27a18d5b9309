#include "search/hypervolume.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <iterator>
#include <map>
#include <stdexcept>

#include <fmt/format.h>

namespace joules {
namespace {

// Points strictly inside the reference box, as fixed-size arrays.
template <std::size_t M>
std::vector<std::array<double, M>> inside(const ObjectiveMatrix& points, const std::vector<double>& reference) {
  std::vector<std::array<double, M>> kept;
  kept.reserve(points.size());
  for (const auto& p : points) {
    std::array<double, M> a;
    bool in = true;
    for (std::size_t k = 0; k < M; ++k) {
      a[k] = p[k];
      in = in && p[k] < reference[k];
    }
    if (in) kept.push_back(a);
  }
  return kept;
}

double hypervolume_2d(const ObjectiveMatrix& points, const std::vector<double>& reference) {
  auto kept = inside<2>(points, reference);
  std::sort(kept.begin(), kept.end());
  // Sweep along objective 0; each point that lowers the staircase adds a slab up to the reference.
  double volume = 0.0;
  double floor = reference[1];
  for (const auto& p : kept) {
    if (p[1] < floor) {
      volume += (reference[0] - p[0]) * (floor - p[1]);
      floor = p[1];
    }
  }
  return volume;
}

// The 2-D staircase of the points swept so far, projected on objectives 0 and 1: keys (x)
// ascend and values (y) strictly descend, so no stored point dominates another.
class Staircase {
 public:
  Staircase(double reference_x, double reference_y) : reference_x_(reference_x), reference_y_(reference_y) {}

  double area() const { return area_; }

  void insert(double x, double y) {
    auto right = steps_.lower_bound(x);  // first step with key >= x
    const double left_y = right == steps_.begin() ? reference_y_ : std::prev(right)->second;
    if (left_y <= y) return;                                      // dominated from the left
    if (right != steps_.end() && right->first == x && right->second <= y) return;  // same x, lower
    // Remove the steps (x, y) dominates, adding the area each uncovered column gains.
    double top = left_y;
    double column_x = x;
    while (right != steps_.end() && right->second >= y) {
      area_ += (right->first - column_x) * (top - y);
      top = right->second;
      column_x = right->first;
      right = steps_.erase(right);
    }
    const double end_x = right == steps_.end() ? reference_x_ : right->first;
    area_ += (end_x - column_x) * (top - y);
    steps_.emplace_hint(right, x, y);
  }

 private:
  double reference_x_;
  double reference_y_;
  double area_ = 0.0;
  std::map<double, double> steps_;
};

double hypervolume_3d(const ObjectiveMatrix& points, const std::vector<double>& reference) {
  auto kept = inside<3>(points, reference);
  std::sort(kept.begin(), kept.end(), [](const auto& a, const auto& b) { return a[2] < b[2]; });
  // Sweep along objective 2: between consecutive heights the dominated slice is the staircase
  // of every point already passed.
  Staircase staircase(reference[0], reference[1]);
  double volume = 0.0;
  for (std::size_t i = 0; i < kept.size(); ++i) {
    staircase.insert(kept[i][0], kept[i][1]);
    const double next_z = i + 1 < kept.size() ? kept[i + 1][2] : reference[2];
    volume += staircase.area() * (next_z - kept[i][2]);
  }
  return volume;
}

}  // namespace

double hypervolume(const ObjectiveMatrix& points, const std::vector<double>& reference) {
  const std::size_t m = reference.size();
  if (m != 2 && m != 3) {
    throw std::invalid_argument(
        fmt::format("hypervolume: the reference point has {} objectives; exact hypervolume needs 2 or 3", m));
  }
  for (std::size_t k = 0; k < m; ++k) {
    if (!std::isfinite(reference[k])) {
      throw std::invalid_argument(fmt::format("hypervolume: reference coordinate {} is {}", k, reference[k]));
    }
  }
  for (std::size_t i = 0; i < points.size(); ++i) {
    if (points[i].size() != m) {
      throw std::invalid_argument(fmt::format("hypervolume: point {} has {} objectives, the reference point {}", i,
                                              points[i].size(), m));
    }
    for (std::size_t k = 0; k < m; ++k) {
      if (!std::isfinite(points[i][k])) {
        throw std::invalid_argument(fmt::format("hypervolume: point {} objective {} is {}", i, k, points[i][k]));
      }
    }
  }
  return m == 2 ? hypervolume_2d(points, reference) : hypervolume_3d(points, reference);
}

}  // namespace joules
