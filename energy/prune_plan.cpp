#include "energy/prune_plan.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <stdexcept>

#include <fmt/format.h>

#include "space/analysis.hpp"
#include "util/input_error.hpp"

namespace joules {
namespace {

const ConvLayer* as_conv(const Layer& layer) { return std::get_if<ConvLayer>(&layer); }

// The plain weight rows of `v` (rows of `row` values) at `kept`.
std::vector<float> keep_rows(const std::vector<float>& v, std::size_t row, const std::vector<std::int64_t>& kept) {
  std::vector<float> out;
  if (v.empty()) return out;
  out.reserve(kept.size() * row);
  for (std::int64_t k : kept) {
    const auto begin = v.begin() + static_cast<std::ptrdiff_t>(static_cast<std::size_t>(k) * row);
    out.insert(out.end(), begin, begin + static_cast<std::ptrdiff_t>(row));
  }
  return out;
}

// Of a [rows, groups x block] matrix, the column blocks at `kept` (block: values per group).
std::vector<float> keep_column_blocks(const std::vector<float>& v, std::size_t rows, std::size_t groups,
                                      std::size_t block, const std::vector<std::int64_t>& kept) {
  std::vector<float> out;
  out.reserve(rows * kept.size() * block);
  for (std::size_t r = 0; r < rows; ++r) {
    const std::size_t base = r * groups * block;
    for (std::int64_t k : kept) {
      const auto begin = v.begin() + static_cast<std::ptrdiff_t>(base + static_cast<std::size_t>(k) * block);
      out.insert(out.end(), begin, begin + static_cast<std::ptrdiff_t>(block));
    }
  }
  return out;
}

void keep_filters(LayerWeights& w, std::size_t filters, const std::vector<std::int64_t>& kept) {
  w.weight = keep_rows(w.weight, w.weight.size() / filters, kept);
  w.bias = keep_rows(w.bias, 1, kept);
  w.bn_weight = keep_rows(w.bn_weight, 1, kept);
  w.bn_bias = keep_rows(w.bn_bias, 1, kept);
  w.bn_mean = keep_rows(w.bn_mean, 1, kept);
  w.bn_var = keep_rows(w.bn_var, 1, kept);
}

// The indices of the `count` largest norms, ascending (ties: the lower index kept).
std::vector<std::int64_t> top_filters(const std::vector<double>& norms, std::int64_t count) {
  std::vector<std::int64_t> order(norms.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](std::int64_t a, std::int64_t b) {
    return norms[static_cast<std::size_t>(a)] > norms[static_cast<std::size_t>(b)];
  });
  order.resize(static_cast<std::size_t>(count));
  std::sort(order.begin(), order.end());
  return order;
}

// Criterion lost when a layer keeps `count` of its n filters: n x (total L1 mass / kept L1
// mass - 1). For small cuts this is the removed norms over the layer's mean norm (the plain L1
// criterion, comparable between layers of different scale); as a layer nears empty it grows
// like 1/kept share, so the greedy does not buy energy by squeezing one layer into a
// bottleneck of a few filters (which a short fine-tuning cannot recover from). A barrier of
// n x -ln(kept share), which grows only logarithmically, still cut sample-26's first conv from
// 16 filters to 3 (experiments/step-aware-pruning). A layer of all-zero filters loses nothing.
double criterion_lost(const std::vector<double>& sorted_ascending, std::int64_t count) {
  const double total = std::accumulate(sorted_ascending.begin(), sorted_ascending.end(), 0.0);
  if (total <= 0) return 0;
  const auto removed = static_cast<std::ptrdiff_t>(sorted_ascending.size()) - count;
  const double kept = std::accumulate(sorted_ascending.begin() + removed, sorted_ascending.end(), 0.0);
  if (kept <= 0) return std::numeric_limits<double>::infinity();
  return static_cast<double>(sorted_ascending.size()) * (total / kept - 1);
}

struct Search {
  const Architecture& arch;
  const std::vector<std::vector<double>>& norms;
  const EnergyEstimator& estimator;
  std::vector<std::size_t> prunable;
  std::vector<std::vector<double>> sorted;  // per layer, norms ascending

  Search(const Architecture& a, const std::vector<std::vector<double>>& n, const EnergyEstimator& e)
      : arch(a), norms(n), estimator(e), prunable(prunable_layers(a)), sorted(n) {
    if (norms.size() != arch.layers.size()) {
      throw std::invalid_argument(
          fmt::format("pruning: {} layers of filter norms for a network of {} layers", norms.size(), arch.layers.size()));
    }
    for (auto& s : sorted) std::sort(s.begin(), s.end());
  }

  std::vector<std::int64_t> original() const {
    std::vector<std::int64_t> filters(arch.layers.size(), 0);
    for (std::size_t i = 0; i < arch.layers.size(); ++i) {
      if (const ConvLayer* c = as_conv(arch.layers[i])) filters[i] = c->filters;
    }
    return filters;
  }
  double energy(const std::vector<std::int64_t>& filters) const {
    return estimator.estimate(with_filter_counts(arch, filters)).energy_mj;
  }
  double lost(const std::vector<std::int64_t>& filters) const {
    double sum = 0;
    for (std::size_t i : prunable) sum += criterion_lost(sorted[i], filters[i]);
    return sum;
  }
  PrunePlan plan(const std::vector<std::int64_t>& filters) const {
    PrunePlan p;
    p.filters = filters;
    p.kept.resize(arch.layers.size());
    for (std::size_t i : prunable) p.kept[i] = top_filters(norms[i], filters[i]);
    p.energy_mj = energy(filters);
    p.criterion_lost = lost(filters);
    return p;
  }
  void check_target(double target_energy_mj, const std::vector<std::int64_t>& smallest) const {
    const double now = energy(original());
    if (!std::isfinite(target_energy_mj) || target_energy_mj > now) {
      throw SpecError("energy_mj", fmt::format("the target {:.4g} mJ is not below the network's estimated {:.4g} mJ",
                                               target_energy_mj, now));
    }
    const double least = energy(smallest);
    if (target_energy_mj < least) {
      throw SpecError("energy_mj", fmt::format("the target {:.4g} mJ is below {:.4g} mJ, what the network costs with "
                                               "its prunable layers at their fewest filters",
                                               target_energy_mj, least));
    }
  }
};

}  // namespace

std::vector<std::size_t> prunable_layers(const Architecture& arch) {
  const NetworkAnalysis net = analyze(arch);
  std::vector<std::size_t> out;
  for (std::size_t i = 0; i < arch.layers.size(); ++i) {
    const ConvLayer* conv = as_conv(arch.layers[i]);
    if (conv == nullptr || conv->groups != 1) continue;
    for (std::size_t j = i + 1; j < arch.layers.size(); ++j) {
      if (std::holds_alternative<PoolLayer>(arch.layers[j])) continue;
      if (std::holds_alternative<FcLayer>(arch.layers[j])) {
        out.push_back(i);
        break;
      }
      const ConvLayer& next = std::get<ConvLayer>(arch.layers[j]);
      if (next.groups == 1) {
        out.push_back(i);
        break;
      }
      if (!is_depthwise(next, net.layers[j].input.channels)) break;  // grouped: channels tied in groups
    }
  }
  return out;
}

std::vector<std::vector<double>> filter_l1_norms(const Architecture& arch, const NetworkWeights& weights) {
  const NetworkAnalysis net = analyze(arch);
  if (weights.layers.size() != arch.layers.size()) {
    throw std::invalid_argument(fmt::format("the weights have {} layers, the architecture {}", weights.layers.size(),
                                            arch.layers.size()));
  }
  std::vector<std::vector<double>> out(arch.layers.size());
  for (std::size_t i = 0; i < arch.layers.size(); ++i) {
    const ConvLayer* conv = as_conv(arch.layers[i]);
    if (conv == nullptr) continue;
    const auto row = static_cast<std::size_t>(net.layers[i].input.channels / conv->groups * conv->kernel.h * conv->kernel.w);
    const std::vector<float>& w = weights.layers[i].weight;
    if (w.size() != row * static_cast<std::size_t>(conv->filters)) {
      throw std::invalid_argument(fmt::format("layer {} (conv) has {} weights, the architecture needs {}", i + 1,
                                              w.size(), row * static_cast<std::size_t>(conv->filters)));
    }
    for (std::int64_t f = 0; f < conv->filters; ++f) {
      double sum = 0;
      for (std::size_t k = 0; k < row; ++k) sum += std::abs(w[static_cast<std::size_t>(f) * row + k]);
      out[i].push_back(sum);
    }
  }
  return out;
}

Architecture with_filter_counts(const Architecture& arch, const std::vector<std::int64_t>& filters) {
  const NetworkAnalysis before = analyze(arch);
  Architecture out = arch;
  std::int64_t channels = arch.input.channels;
  for (std::size_t i = 0; i < out.layers.size(); ++i) {
    ConvLayer* conv = std::get_if<ConvLayer>(&out.layers[i]);
    if (conv == nullptr) {
      if (std::holds_alternative<FcLayer>(out.layers[i])) break;  // no channels after the first fc
      continue;  // a pool keeps the channels
    }
    const std::int64_t in_before = before.layers[i].input.channels;
    if (is_depthwise(*conv, in_before)) {
      const std::int64_t multiplier = conv->filters / conv->groups;
      conv->groups = channels;
      conv->filters = multiplier * channels;
    } else if (i < filters.size() && filters[i] != 0) {
      if (filters[i] < 1 || filters[i] > conv->filters) {
        throw std::invalid_argument(
            fmt::format("layer {} (conv): {} filters asked of {}", i + 1, filters[i], conv->filters));
      }
      conv->filters = filters[i];
    }
    channels = conv->filters;
  }
  return out;
}

std::vector<std::int64_t> step_counts(std::int64_t filters, std::int64_t granularity) {
  const std::int64_t g = std::max<std::int64_t>(granularity, 1);
  std::vector<std::int64_t> out;
  for (std::int64_t c = 1; c < std::min(filters, g); ++c) out.push_back(c);
  for (std::int64_t c = g; c < filters; c += g) out.push_back(c);
  return out;
}

std::int64_t conv_granularity(const EnergyEstimator& estimator) {
  const std::optional<LayerModel>& model = estimator.profile().energy.model(LayerKind::conv);
  if (!model || model->family == ModelFamily::linear) return 1;
  return std::max<std::int64_t>(model->granularity, 1);
}

PrunePlan plan_step_aware(const Architecture& arch, const std::vector<std::vector<double>>& norms,
                          const EnergyEstimator& estimator, double target_energy_mj) {
  const Search s(arch, norms, estimator);
  const std::int64_t g = conv_granularity(estimator);
  std::vector<std::int64_t> filters = s.original();
  std::vector<std::int64_t> smallest = filters;
  for (std::size_t i : s.prunable) {
    const std::vector<std::int64_t> steps = step_counts(filters[i], g);
    if (!steps.empty()) smallest[i] = steps.front();
  }
  s.check_target(target_energy_mj, smallest);

  double energy = s.energy(filters);
  while (energy > target_energy_mj) {
    struct Move {
      std::size_t layer = 0;
      std::int64_t count = 0;
      double energy = 0, lost = 0, ratio = 0;
    };
    std::optional<Move> best_ratio, best_reaching;
    for (std::size_t i : s.prunable) {
      const double lost_now = criterion_lost(s.sorted[i], filters[i]);
      for (std::int64_t c : step_counts(s.original()[i], g)) {
        if (c >= filters[i]) break;
        std::vector<std::int64_t> next = filters;
        next[i] = c;
        const double e = s.energy(next);
        const double saved = energy - e;
        if (saved <= 0) continue;
        const double lost = criterion_lost(s.sorted[i], c) - lost_now;
        const Move m{i, c, e, lost, lost > 0 ? saved / lost : std::numeric_limits<double>::infinity()};
        if (e <= target_energy_mj &&
            (!best_reaching || m.lost < best_reaching->lost ||
             (m.lost == best_reaching->lost && m.energy > best_reaching->energy))) {
          best_reaching = m;
        }
        if (!best_ratio || m.ratio > best_ratio->ratio) best_ratio = m;
      }
    }
    // Moves go by energy saved per criterion lost; only once the best of them would reach the
    // target does the cheapest move that reaches it end the search. (Ending at the first move
    // that reaches the target, however costly, cut whole layers down to a few filters.)
    const bool ending = best_ratio && best_ratio->energy <= target_energy_mj;
    const std::optional<Move>& take = ending ? best_reaching : best_ratio;
    if (!take) break;  // cannot happen: check_target saw the smallest network reach the target
    filters[take->layer] = take->count;
    energy = take->energy;
  }
  return s.plan(filters);
}

PrunePlan plan_uniform(const Architecture& arch, const std::vector<std::vector<double>>& norms,
                       const EnergyEstimator& estimator, double keep) {
  if (!(keep > 0 && keep <= 1)) throw SpecError("keep", fmt::format("{}: expected a fraction in (0, 1]", keep));
  const Search s(arch, norms, estimator);
  std::vector<std::int64_t> filters = s.original();
  for (std::size_t i : s.prunable) {
    filters[i] = std::max<std::int64_t>(1, std::llround(keep * static_cast<double>(filters[i])));
  }
  return s.plan(filters);
}

PrunePlan plan_uniform_to_energy(const Architecture& arch, const std::vector<std::vector<double>>& norms,
                                 const EnergyEstimator& estimator, double target_energy_mj) {
  const Search s(arch, norms, estimator);
  std::vector<std::int64_t> smallest = s.original();
  for (std::size_t i : s.prunable) smallest[i] = 1;
  s.check_target(target_energy_mj, smallest);
  for (int permille = 1000; permille >= 1; --permille) {
    PrunePlan p = plan_uniform(arch, norms, estimator, permille / 1000.0);
    if (p.energy_mj <= target_energy_mj) return p;
  }
  return plan_uniform(arch, norms, estimator, 0.001);
}

std::int64_t removed_within_step(std::int64_t before, std::int64_t after, std::int64_t granularity) {
  const std::int64_t g = std::max<std::int64_t>(granularity, 1);
  const std::int64_t step_top = (after + g - 1) / g * g;
  return std::min(before, step_top) - after;
}

std::vector<double> within_step_savings_mj(const Architecture& arch, const EnergyEstimator& estimator,
                                           const PrunePlan& plan) {
  const std::int64_t g = conv_granularity(estimator);
  std::vector<double> out(arch.layers.size(), 0.0);
  for (std::size_t i : prunable_layers(arch)) {
    const std::int64_t before = std::get<ConvLayer>(arch.layers[i]).filters;
    const std::int64_t within = removed_within_step(before, plan.filters[i], g);
    if (within == 0) continue;
    std::vector<std::int64_t> raised = plan.filters;
    raised[i] += within;
    out[i] = estimator.estimate(with_filter_counts(arch, raised)).energy_mj - plan.energy_mj;
  }
  return out;
}

NetworkWeights prune_weights(const Architecture& arch, const NetworkWeights& weights, const PrunePlan& plan) {
  if (weights.layers.size() != arch.layers.size() || plan.kept.size() != arch.layers.size() ||
      plan.filters.size() != arch.layers.size()) {
    throw std::invalid_argument(fmt::format("pruning: the weights ({}) or the plan ({}) do not have the network's {} layers",
                                            weights.layers.size(), plan.kept.size(), arch.layers.size()));
  }
  NetworkWeights out = weights;
  std::vector<std::int64_t> counts(arch.layers.size(), 0);
  for (std::size_t i : prunable_layers(arch)) {
    const Architecture current = with_filter_counts(arch, counts);
    const NetworkAnalysis net = analyze(current);
    const auto& conv = std::get<ConvLayer>(current.layers[i]);
    std::vector<std::int64_t> kept = plan.kept[i];
    if (static_cast<std::int64_t>(kept.size()) != plan.filters[i] ||
        std::any_of(kept.begin(), kept.end(), [&](std::int64_t k) { return k < 0 || k >= conv.filters; })) {
      throw std::invalid_argument(fmt::format("pruning: layer {} keeps {} filter indices for {} filters", i + 1,
                                              kept.size(), plan.filters[i]));
    }
    keep_filters(out.layers[i], static_cast<std::size_t>(conv.filters), kept);
    std::int64_t channels = conv.filters;
    for (std::size_t j = i + 1; j < current.layers.size(); ++j) {
      LayerWeights& w = out.layers[j];
      if (std::holds_alternative<PoolLayer>(current.layers[j])) continue;
      if (std::holds_alternative<FcLayer>(current.layers[j])) {
        const Shape in = net.layers[j].input;
        const auto units = std::get<FcLayer>(current.layers[j]).units;
        w.weight = keep_column_blocks(w.weight, static_cast<std::size_t>(units), static_cast<std::size_t>(channels),
                                      static_cast<std::size_t>(in.height * in.width), kept);
        break;
      }
      const auto& next = std::get<ConvLayer>(current.layers[j]);
      const auto area = static_cast<std::size_t>(next.kernel.h * next.kernel.w);
      if (next.groups == 1) {
        w.weight = keep_column_blocks(w.weight, static_cast<std::size_t>(next.filters),
                                      static_cast<std::size_t>(channels), area, kept);
        break;
      }
      // Depthwise: its filters follow their input channel (multiplier filters / groups each).
      const std::int64_t multiplier = next.filters / next.groups;
      std::vector<std::int64_t> follow;
      for (std::int64_t c : kept)
        for (std::int64_t t = 0; t < multiplier; ++t) follow.push_back(c * multiplier + t);
      keep_filters(w, static_cast<std::size_t>(next.filters), follow);
      kept = std::move(follow);
      channels = next.filters;
    }
    counts[i] = plan.filters[i];
  }
  return out;
}

}  // namespace joules
