#include "energy/fit.hpp"

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <map>
#include <numeric>
#include <optional>
#include <set>
#include <stdexcept>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "energy/estimator.hpp"
#include "energy/nnls.hpp"
#include "space/analysis.hpp"
#include "util/input_error.hpp"
#include "util/random.hpp"

namespace joules {
namespace {

constexpr std::string_view kTool = "joules 0.1.0";

// One measured row, as the fit sees it.
struct Sample {
  std::vector<LayerFeatures> layers;
  double value = 0;
  std::size_t group = 0;
  std::string family;
};

// One least-squares problem: a quantity, over a set of samples, for some layer kinds.
struct Problem {
  std::string file;
  Quantity quantity = Quantity::energy;
  bool networks = false;  // network-level: an overhead column, all kinds fitted together
  std::vector<Sample> samples;
  std::vector<LayerKind> kinds;
  // Transfer fits: the prior's models of this quantity, whose terms keep their ratios and
  // get a few scale factors (the candidates are sets of scales, not families).
  const QuantityModels* prior = nullptr;
};

struct Column {
  bool overhead = false;
  LayerKind kind = LayerKind::conv;
  Term term = Term::layer;
  int generator = -1;  // >= 0: the kind's kernel-class slopes along kKernelClassGenerators[generator]
  std::string scale;   // transfer fits: the scale factor's name (the column multiplies prior terms)
};

bool is_class_term(Term t) { return t == Term::mac_1x1 || t == Term::mac_3x3s1 || t == Term::mac_kxk; }

// Index of a kernel-class term in Term order (1x1, 3x3s1, kxk).
std::size_t class_index(Term t) { return static_cast<std::size_t>(t) - static_cast<std::size_t>(Term::mac_1x1); }

// The design matrix of a candidate: one row per sample, the sum of its layers' term values.
struct Design {
  ModelFamily family = ModelFamily::linear;
  std::int64_t granularity = 1;
  std::vector<Column> columns;
  std::vector<double> x;  // samples x columns, row-major
  // Transfer fits: the scale set, the prior's models per kind the data prices (the base the
  // scales multiply) and the column of each (kind, term); -1 where a term has no column.
  std::string scales;
  std::array<std::optional<LayerModel>, kLayerKindCount> base{};
  std::array<std::array<int, kTermCount>, kLayerKindCount> scale_column{};

  std::size_t width() const { return columns.size(); }
  std::span<const double> row(std::size_t i) const { return {x.data() + i * width(), width()}; }
};

// A solved problem: coefficients per column, and what the data could not identify.
struct Solution {
  std::vector<double> coefficients;
  std::vector<std::string> notes;
};

double round_significant(double value, int digits) {
  if (value == 0 || !std::isfinite(value)) return value;
  const double scale = std::pow(10.0, digits - 1 - static_cast<int>(std::floor(std::log10(std::abs(value)))));
  return std::round(value * scale) / scale;
}

std::string column_name(const Column& c, Quantity q) {
  if (c.overhead) return fmt::format("overhead_{}", unit_prefix(q));
  if (!c.scale.empty()) return fmt::format("scale {}", c.scale);
  if (c.generator >= 0) return fmt::format("{} {}_per_mac kernel-class generator {}", to_string(c.kind), unit_prefix(q), c.generator);
  return fmt::format("{} {}", to_string(c.kind), coefficient_key(q, c.term));
}

Design build_design(const Problem& problem, ModelFamily family, std::int64_t granularity) {
  Design d;
  d.family = family;
  d.granularity = granularity;
  std::array<std::array<int, kTermCount>, kLayerKindCount> index{};
  for (auto& row : index) row.fill(-1);
  if (problem.networks) d.columns.push_back(Column{.overhead = true});
  // The kernel-class slopes are fitted along the generators of the ordered cone (see
  // kKernelClassGenerators), so that no fit prices a bigger kernel below a smaller one.
  std::array<int, kLayerKindCount> first_generator{};
  first_generator.fill(-1);
  for (LayerKind kind : problem.kinds) {
    for (Term t : family_terms(family, kind)) {
      if (is_class_term(t)) {
        if (first_generator[static_cast<std::size_t>(kind)] >= 0) continue;
        first_generator[static_cast<std::size_t>(kind)] = static_cast<int>(d.columns.size());
        for (int g = 0; g < 3; ++g) d.columns.push_back(Column{.kind = kind, .term = Term::mac_kxk, .generator = g});
        continue;
      }
      index[static_cast<std::size_t>(kind)][static_cast<std::size_t>(t)] = static_cast<int>(d.columns.size());
      d.columns.push_back(Column{.kind = kind, .term = t});
    }
  }
  const std::size_t p = d.width();
  d.x.assign(problem.samples.size() * p, 0.0);
  for (std::size_t i = 0; i < problem.samples.size(); ++i) {
    double* row = d.x.data() + i * p;
    if (problem.networks) row[0] = 1.0;
    for (const LayerFeatures& layer : problem.samples[i].layers) {
      const auto k = static_cast<std::size_t>(layer.kind);
      for (Term t : family_terms(family, layer.kind)) {
        const double v = term_value(t, layer, granularity);
        if (!is_class_term(t)) {
          row[index[k][static_cast<std::size_t>(t)]] += v;
        } else if (v != 0) {
          for (std::size_t g = 0; g < 3; ++g) row[first_generator[k] + g] += v * kKernelClassGenerators[g][class_index(t)];
        }
      }
    }
  }
  return d;
}

// Transfer fits. The sets of scale factors a transfer fit tries, each a grouping of the prior's
// terms: the terms of a group keep their ratios and are multiplied by one fitted factor.
// - one: a single factor (the new board is the prior, uniformly dearer or cheaper);
// - per-kind: a factor per layer kind (conv, depthwise, fc, pool);
// - per-term: compute (every MAC term), activations (input and output traffic), weights and
//   the per-layer constant (launches): the costs that change independently from one board
//   and runtime to another (arithmetic throughput; activation traffic, which a runtime that
//   fuses layers keeps on chip; weight reads from DRAM; launch cost);
// - per-class: per-term with the compute split by kernel class (1x1, 3x3 stride 1, other),
//   for runtimes that pick other algorithms per kernel (Winograd for 3x3);
// - per-term-1x1-dw: per-term with the MACs of 1x1 convolutions apart from the others, and
//   every term of depthwise layers apart from the same term of the other layers: what moves
//   most from a PyTorch-eager prior to a TensorRT board (1x1 convolutions become GEMMs;
//   depthwise layers, bound by memory, fuse). On the Nano data it beats per-class from 10
//   networks up (experiments/transfer-fit).
// Every set also fits the per-inference overhead (added, not scaled: a per-layer prior has none).

std::string scale_group(std::string_view set, LayerKind kind, Term t) {
  const bool compute = t == Term::mac || is_class_term(t);
  if (set == "one") return "all";
  if (set == "per-kind") return std::string(to_string(kind));
  const std::string dw = set == "per-term-1x1-dw" && kind == LayerKind::depthwise ? "_dw" : "";
  if (t == Term::layer) return "per_layer" + dw;
  if (t == Term::weight) return "weights" + dw;
  if (!compute) return "activations" + dw;
  if (set == "per-term") return "compute";
  if (set == "per-term-1x1-dw") return (t == Term::mac_1x1 ? "compute_1x1" : "compute") + dw;
  if (t == Term::mac_1x1) return "compute_1x1";
  if (t == Term::mac_3x3s1) return "compute_3x3s1";
  return "compute_other";
}

// The kind whose model prices `kind` among `models`, following the fallbacks.
std::optional<LayerKind> resolve_kind(const std::array<std::optional<LayerModel>, kLayerKindCount>& models, LayerKind kind) {
  std::optional<LayerKind> k = kind;
  while (k && !models[static_cast<std::size_t>(*k)]) k = fallback_kind(*k);
  return k;
}

// A prior model of kind `from` as a model of kind `to` that prices `to`'s layers exactly as
// the estimator's fallback does (features_as), when there is one: depthwise takes a conv
// model as it is (same terms); so does an fc a linear or stairs model (a MAC slope and a
// constant). An fc priced by a traffic conv model is not: its weight term is not padded to
// the granularity as the fc's MAC term is, so such an fc keeps falling back.
std::optional<LayerModel> model_as(const LayerModel& m, LayerKind from, LayerKind to) {
  if (to == LayerKind::depthwise && from == LayerKind::conv) return m;
  if (to == LayerKind::fc && m.family != ModelFamily::traffic) return m;
  return std::nullopt;
}

// A layer as the model evaluates it: a strided layer costs the cheaper of itself and the same
// layer at stride 1 (LayerModel::evaluate), the choice made with the prior's coefficients.
LayerFeatures as_evaluated(const LayerFeatures& l, const LayerModel& m) {
  if (l.stride <= 1) return l;
  LayerFeatures dense = l;
  dense.macs = l.dense_macs;
  dense.output_elements = l.dense_output_elements;
  dense.kernel_class = l.dense_kernel_class;
  return m.evaluate(dense) < m.evaluate(l) ? dense : l;
}

Design build_transfer_design(const Problem& problem, std::string_view set) {
  const QuantityModels& prior = *problem.prior;
  Design d;
  d.scales = std::string(set);
  d.columns.push_back(Column{.overhead = true});
  // The models the fitted profile will hold: the prior's own kinds, plus every kind of the
  // data the prior prices through a fallback (but pools, which keep falling back).
  std::array<std::optional<LayerModel>, kLayerKindCount> models = prior.layers;
  for (LayerKind kind : problem.kinds) {
    const auto k = static_cast<std::size_t>(kind);
    if (models[k] || kind == LayerKind::pool) continue;
    if (const auto from = resolve_kind(prior.layers, kind)) models[k] = model_as(*prior.model(*from), *from, kind);
    // An fc that cannot have a model of its own resolves again (to conv) below.
  }
  for (auto& row : d.scale_column) row.fill(-1);
  std::map<std::string, int> column_of;
  const auto column = [&](LayerKind kind, Term t) {
    int& c = d.scale_column[static_cast<std::size_t>(kind)][static_cast<std::size_t>(t)];
    if (c >= 0) return c;
    const std::string name = scale_group(set, kind, t);
    auto it = column_of.find(name);
    if (it == column_of.end()) {
      it = column_of.emplace(name, static_cast<int>(d.columns.size())).first;
      d.columns.push_back(Column{.scale = name});
    }
    return c = it->second;
  };
  // First pass: the kinds the data's layers are priced as, and their columns.
  for (const Sample& s : problem.samples) {
    for (const LayerFeatures& l : s.layers) {
      const auto as = resolve_kind(models, l.kind);
      if (!as) continue;
      const auto k = static_cast<std::size_t>(*as);
      if (d.base[k]) continue;
      d.base[k] = models[k];
      for (std::size_t t = 0; t < kTermCount; ++t) {
        if (models[k]->coefficients[t] != 0) column(*as, static_cast<Term>(t));
      }
    }
  }
  d.family = d.base[static_cast<std::size_t>(LayerKind::conv)] ? d.base[static_cast<std::size_t>(LayerKind::conv)]->family
                                                                : ModelFamily::linear;
  d.granularity = d.base[static_cast<std::size_t>(LayerKind::conv)] ? d.base[static_cast<std::size_t>(LayerKind::conv)]->granularity : 1;
  const std::size_t p = d.width();
  d.x.assign(problem.samples.size() * p, 0.0);
  for (std::size_t i = 0; i < problem.samples.size(); ++i) {
    double* row = d.x.data() + i * p;
    row[0] = 1.0;
    for (const LayerFeatures& l : problem.samples[i].layers) {
      const auto as = resolve_kind(d.base, l.kind);
      if (!as) continue;
      const LayerModel& m = *d.base[static_cast<std::size_t>(*as)];
      const LayerFeatures f = as_evaluated(*as == l.kind ? l : features_as(l, *as), m);
      for (std::size_t t = 0; t < kTermCount; ++t) {
        const int c = d.scale_column[static_cast<std::size_t>(*as)][t];
        if (c >= 0) row[c] += m.coefficients[t] * term_value(static_cast<Term>(t), f, m.granularity);
      }
    }
  }
  return d;
}

// Scales of a transfer design that no row in `rows` exercises take the fitted scale of their
// sibling where they have one (a depthwise group "X_dw": group "X" of the other layers), else
// the geometric mean of the fitted non-zero ones (the prior's ratio to the other groups is the
// best guess there is). Returns the columns filled, each with where its scale came from.
std::vector<std::pair<std::size_t, std::string>> fill_unfitted_scales(const Design& d, const std::vector<bool>& rows,
                                                                      std::vector<double>& scale) {
  double log_sum = 0;
  int fitted = 0;
  std::vector<std::size_t> empty;
  for (std::size_t j = 1; j < d.width(); ++j) {
    bool any = false;
    for (std::size_t i = 0; i < rows.size() && !any; ++i) any = rows[i] && d.x[i * d.width() + j] != 0;
    if (!any) {
      empty.push_back(j);
    } else if (scale[j] > 0) {
      log_sum += std::log(scale[j]);
      ++fitted;
    }
  }
  const double mean = fitted > 0 ? std::exp(log_sum / fitted) : 1.0;
  const auto sibling = [&](std::size_t j) -> std::optional<std::size_t> {
    const std::string& name = d.columns[j].scale;
    if (!name.ends_with("_dw")) return std::nullopt;
    for (std::size_t k = 1; k < d.width(); ++k) {
      if (d.columns[k].scale == name.substr(0, name.size() - 3) &&
          std::find(empty.begin(), empty.end(), k) == empty.end() && scale[k] > 0) {
        return k;
      }
    }
    return std::nullopt;
  };
  std::vector<std::pair<std::size_t, std::string>> filled;
  for (std::size_t j : empty) {
    if (const auto k = sibling(j)) {
      scale[j] = scale[*k];
      filled.emplace_back(j, fmt::format("the scale of {}", d.columns[*k].scale));
    } else {
      scale[j] = mean;
      filled.emplace_back(j, "the geometric mean of the fitted scales");
    }
  }
  return filled;
}

// Minimising the squared relative error: each row divided by its measured value, target 1
// (weighted: refine_absolute).
void add_sample(NormalEquations& eq, const Design& d, const Problem& problem, std::size_t i, double weight = 1.0) {
  std::vector<double> a(d.row(i).begin(), d.row(i).end());
  const double y = problem.samples[i].value;
  for (double& v : a) v /= y;
  eq.add_row(a, 1.0, weight);
}

// Solves one candidate's normal equations. Columns without data get zero (a kernel class
// without data copies a sibling class's slope when the models are stored); of two
// proportional columns the later is dropped and its effect is carried by the earlier one.
Solution solve_design(const NormalEquations& eq, const Design& d, Quantity q, bool with_notes) {
  const std::size_t p = d.width();
  std::vector<bool> use(p, false);
  std::vector<bool> empty(p, false);
  for (std::size_t j = 0; j < p; ++j) {
    empty[j] = !(eq.gram(j, j) > 0);
    use[j] = !empty[j];
  }
  Solution s;
  for (std::size_t j = 0; j < p; ++j) {
    if (!use[j]) continue;
    for (std::size_t i = 0; i < j; ++i) {
      if (!use[i]) continue;
      const double gij = eq.gram(i, j);
      if (gij > 0 && gij * gij >= (1 - 1e-9) * eq.gram(i, i) * eq.gram(j, j)) {
        use[j] = false;
        // Two generators of one kind's cone that the data sees alike: no news for the user.
        const bool same_cone = d.columns[i].generator >= 0 && d.columns[j].generator >= 0;
        if (with_notes && !same_cone) {
          s.notes.push_back(fmt::format("{}: indistinguishable from {} in these data; carried by it (0 here)",
                                        column_name(d.columns[j], q), column_name(d.columns[i], q)));
        }
        break;
      }
    }
  }
  s.coefficients = solve_nonnegative(eq, use);
  if (with_notes) {
    for (std::size_t j = 0; j < p; ++j) {
      const Column& c = d.columns[j];
      if (empty[j] && c.generator < 0 && c.scale.empty()) {
        s.notes.push_back(fmt::format("{}: no data varies it; 0", column_name(c, q)));
      }
    }
  }
  return s;
}

double predict(const Design& d, const std::vector<double>& b, std::size_t i) {
  const auto row = d.row(i);
  return std::inner_product(row.begin(), row.end(), b.begin(), 0.0);
}

// Transfer fits minimise the mean absolute relative error (the MAPE the quality report and
// the goals judge) rather than its square: a few scale factors fitted to a handful of
// networks, where one network the prior prices badly would otherwise pull every factor toward
// it. Iteratively reweighted least squares from the least-squares solution `s`, over `rows`.
Solution refine_absolute(const Design& d, const Problem& problem, const std::vector<bool>& rows, Solution s,
                         bool with_notes) {
  constexpr int kIterations = 50;
  constexpr double kFloor = 1e-4;  // relative residuals below it weigh as it does
  for (int it = 0; it < kIterations; ++it) {
    NormalEquations eq(d.width());
    for (std::size_t i = 0; i < rows.size(); ++i) {
      if (!rows[i]) continue;
      const double r = predict(d, s.coefficients, i) / problem.samples[i].value - 1;
      add_sample(eq, d, problem, i, 1.0 / std::max(std::abs(r), kFloor));
    }
    Solution next = solve_design(eq, d, problem.quantity, with_notes);
    double change = 0;
    for (std::size_t j = 0; j < d.width(); ++j) {
      change = std::max(change, std::abs(next.coefficients[j] - s.coefficients[j]) /
                                    std::max(std::abs(s.coefficients[j]), 1e-12));
    }
    s = std::move(next);
    if (change < 1e-7) break;
  }
  return s;
}

// Groups shuffled into folds, so that all rows of a group land on the same side.
std::vector<std::size_t> assign_folds(const Problem& problem, std::size_t folds, std::uint64_t seed) {
  std::vector<std::size_t> groups;
  for (const Sample& s : problem.samples) groups.push_back(s.group);
  std::sort(groups.begin(), groups.end());
  groups.erase(std::unique(groups.begin(), groups.end()), groups.end());
  Rng rng(seed);
  for (std::size_t i = groups.size(); i > 1; --i) std::swap(groups[i - 1], groups[rng.index(i)]);
  std::map<std::size_t, std::size_t> fold_of;
  for (std::size_t i = 0; i < groups.size(); ++i) fold_of[groups[i]] = i % folds;
  std::vector<std::size_t> out;
  for (const Sample& s : problem.samples) out.push_back(fold_of[s.group]);
  return out;
}

std::size_t count_groups(const Problem& problem) {
  std::set<std::size_t> groups;
  for (const Sample& s : problem.samples) groups.insert(s.group);
  return groups.size();
}

struct CandidateFit {
  Design design;
  CandidateResult result;
  std::vector<double> out_of_fold;
  std::vector<GroupResult> per_family;
  std::vector<GroupResult> lofo;
};

std::vector<std::string> family_names(const Problem& problem) {
  std::set<std::string> names;
  for (const Sample& s : problem.samples) {
    if (!s.family.empty()) names.insert(s.family);
  }
  return {names.begin(), names.end()};
}

std::set<LayerKind> kinds_of(const Problem& problem, const std::string& family, bool inside) {
  std::set<LayerKind> kinds;
  for (const Sample& s : problem.samples) {
    if ((s.family == family) != inside) continue;
    for (const LayerFeatures& l : s.layers) kinds.insert(l.kind);
  }
  return kinds;
}

Quality quality_of_rows(const Problem& problem, const std::vector<double>& predicted,
                        const std::vector<std::size_t>& rows, double coverage) {
  std::vector<double> m, p;
  for (std::size_t i : rows) {
    m.push_back(problem.samples[i].value);
    p.push_back(predicted[i]);
  }
  return measure_quality(m, p, coverage);
}

CandidateFit evaluate_candidate(const Problem& problem, Design design, const std::vector<std::size_t>& fold,
                                std::size_t folds, const FitOptions& options) {
  const ModelFamily family = design.family;
  const std::int64_t granularity = design.granularity;
  CandidateFit fit{.design = std::move(design)};
  const Design& d = fit.design;
  const std::size_t n = problem.samples.size();
  std::vector<NormalEquations> per_fold(folds, NormalEquations(d.width()));
  NormalEquations total(d.width());
  for (std::size_t i = 0; i < n; ++i) add_sample(per_fold[fold[i]], d, problem, i);
  for (const auto& eq : per_fold) total.add(eq);

  fit.out_of_fold.assign(n, 0.0);
  for (std::size_t f = 0; f < folds; ++f) {
    NormalEquations train = total;
    train.subtract(per_fold[f]);
    Solution s = solve_design(train, d, problem.quantity, false);
    if (!d.scales.empty()) {
      std::vector<bool> rows(n);
      for (std::size_t i = 0; i < n; ++i) rows[i] = fold[i] != f;
      s = refine_absolute(d, problem, rows, std::move(s), false);
      fill_unfitted_scales(d, rows, s.coefficients);
    }
    for (std::size_t i = 0; i < n; ++i) {
      if (fold[i] == f) fit.out_of_fold[i] = predict(d, s.coefficients, i);
    }
  }
  std::vector<std::size_t> all(n);
  std::iota(all.begin(), all.end(), 0);
  fit.result = CandidateResult{.family = family, .granularity = granularity, .scales = d.scales,
                               .cv = quality_of_rows(problem, fit.out_of_fold, all, options.band_coverage)};

  // Per family: the k-fold errors split by family, and the errors with the family left out.
  const std::vector<std::string> names = family_names(problem);
  std::vector<double> lofo_mapes;
  for (const std::string& name : names) {
    std::vector<std::size_t> rows;
    NormalEquations inside(d.width());
    for (std::size_t i = 0; i < n; ++i) {
      if (problem.samples[i].family != name) continue;
      rows.push_back(i);
      add_sample(inside, d, problem, i);
    }
    fit.per_family.push_back(GroupResult{.name = name,
                                         .quality = quality_of_rows(problem, fit.out_of_fold, rows, options.band_coverage)});
    if (names.size() < 2) continue;
    NormalEquations train = total;
    train.subtract(inside);
    Solution s = solve_design(train, d, problem.quantity, false);
    if (!d.scales.empty()) {
      std::vector<bool> others(n);
      for (std::size_t i = 0; i < n; ++i) others[i] = problem.samples[i].family != name;
      s = refine_absolute(d, problem, others, std::move(s), false);
    }
    std::vector<double> predicted(n, 0.0);
    for (std::size_t i : rows) predicted[i] = predict(d, s.coefficients, i);
    const std::set<LayerKind> own = kinds_of(problem, name, true);
    const std::set<LayerKind> others = kinds_of(problem, name, false);
    const bool predictable = std::includes(others.begin(), others.end(), own.begin(), own.end());
    GroupResult g{.name = name, .quality = quality_of_rows(problem, predicted, rows, options.band_coverage),
                  .predictable = predictable};
    if (predictable) lofo_mapes.push_back(g.quality.mape_pct);
    fit.lofo.push_back(std::move(g));
  }
  if (!lofo_mapes.empty()) {
    fit.result.lofo_mape_pct =
        round_significant(std::accumulate(lofo_mapes.begin(), lofo_mapes.end(), 0.0) / static_cast<double>(lofo_mapes.size()), 4);
  }
  return fit;
}

std::array<std::array<bool, 3>, kLayerKindCount> classes_present(const Problem& problem);

std::size_t identifiable_columns(const Design& d, const Problem& problem) {
  // Columns that some sample exercises: those the data can pin down at most. A kind's
  // kernel-class generators span no more directions than the kind has classes in the data.
  const std::size_t n = problem.samples.size();
  const auto present = classes_present(problem);
  std::size_t count = 0;
  for (std::size_t j = 0; j < d.width(); ++j) {
    const Column& c = d.columns[j];
    if (c.generator >= 0) {
      const auto& p = present[static_cast<std::size_t>(c.kind)];
      count += static_cast<std::size_t>(c.generator) < static_cast<std::size_t>(std::count(p.begin(), p.end(), true)) ? 1 : 0;
      continue;
    }
    bool any = false;
    for (std::size_t i = 0; i < n && !any; ++i) any = d.x[i * d.width() + j] != 0.0;
    count += any ? 1 : 0;
  }
  return count;
}

struct FittedProblem {
  FitSummary summary;
  Design design;
  Solution solution;
  std::vector<double> out_of_fold;
  // Per kind, whether the data has layers of each kernel class (Term order 1x1, 3x3s1, kxk).
  std::array<std::array<bool, 3>, kLayerKindCount> classes_present{};
};

std::array<std::array<bool, 3>, kLayerKindCount> classes_present(const Problem& problem) {
  std::array<std::array<bool, 3>, kLayerKindCount> present{};
  for (const Sample& s : problem.samples) {
    for (const LayerFeatures& l : s.layers) {
      for (Term t : {Term::mac_1x1, Term::mac_3x3s1, Term::mac_kxk}) {
        if (term_value(t, l, 1) > 0) present[static_cast<std::size_t>(l.kind)][class_index(t)] = true;
      }
    }
  }
  return present;
}

FittedProblem fit_problem(const Problem& problem, const FitOptions& options) {
  const std::size_t n = problem.samples.size();
  std::string what = problem.networks ? "networks" : fmt::format("{} layers", to_string(problem.kinds.front()));
  const std::size_t groups = count_groups(problem);
  if (groups < 2) {
    throw InputError(problem.file, 0, "",
                     fmt::format("cross-validation needs measurements of at least 2 different groups of {}, got {}",
                                 what, groups));
  }
  const std::size_t folds = std::min<std::size_t>(static_cast<std::size_t>(options.folds), groups);
  const std::vector<std::size_t> fold = assign_folds(problem, folds, options.seed);

  std::vector<CandidateFit> fits;
  std::vector<std::string> skipped;
  std::size_t smallest = std::numeric_limits<std::size_t>::max();
  const auto consider = [&](Design design, const std::string& label) {
    const std::size_t p = identifiable_columns(design, problem);
    smallest = std::min(smallest, p);
    if (p > n) {
      skipped.push_back(fmt::format("{}: {} coefficients for {} points", label, p, n));
      return;
    }
    fits.push_back(evaluate_candidate(problem, std::move(design), fold, folds, options));
  };
  if (problem.prior) {
    for (std::string_view set : kTransferScaleSets) {
      if (!options.transfer_scales.empty() &&
          std::find(options.transfer_scales.begin(), options.transfer_scales.end(), set) == options.transfer_scales.end()) {
        continue;
      }
      consider(build_transfer_design(problem, set), fmt::format("scales {}", set));
    }
  } else {
    for (ModelFamily family : options.families) {
      std::vector<std::int64_t> gs{1};
      if (family != ModelFamily::linear) gs = options.granularities;
      for (std::int64_t g : gs) {
        consider(build_design(problem, family, g), fmt::format("{} (granularity {})", to_string(family), g));
      }
    }
  }
  if (fits.empty()) {
    throw InputError(problem.file, 0, "",
                     fmt::format("{} measurements of {} cannot fit any candidate model: the smallest has {} "
                                 "coefficients (measure more, or leave these rows out)",
                                 n, what, smallest));
  }
  std::size_t best = 0;
  for (std::size_t i = 1; i < fits.size(); ++i) {
    if (fits[i].result.cv.mape_pct < fits[best].result.cv.mape_pct) best = i;
  }
  fits[best].result.chosen = true;

  FittedProblem out;
  out.design = fits[best].design;
  NormalEquations total(out.design.width());
  for (std::size_t i = 0; i < n; ++i) add_sample(total, out.design, problem, i);
  out.solution = solve_design(total, out.design, problem.quantity, true);
  if (!out.design.scales.empty()) {
    out.solution = refine_absolute(out.design, problem, std::vector<bool>(n, true), std::move(out.solution), true);
  }
  out.out_of_fold = fits[best].out_of_fold;
  out.summary.kinds = problem.kinds;
  out.summary.quality = fits[best].result.cv;
  for (const CandidateFit& f : fits) out.summary.candidates.push_back(f.result);
  out.summary.per_family = fits[best].per_family;
  out.summary.leave_one_family_out = fits[best].lofo;
  out.summary.notes = out.solution.notes;
  out.classes_present = classes_present(problem);
  if (out.design.family == ModelFamily::traffic && !problem.prior) {
    for (LayerKind kind : problem.kinds) {
      if (kind != LayerKind::conv && kind != LayerKind::depthwise) continue;
      std::array<double, kTermCount> probe{};
      const auto donors = complete_kernel_classes(probe, out.classes_present[static_cast<std::size_t>(kind)]);
      for (std::size_t c = 0; c < 3; ++c) {
        if (!donors[c]) continue;
        out.summary.notes.push_back(fmt::format("{} {}: no such layers in the data; copies {}", to_string(kind),
                                                coefficient_key(problem.quantity, static_cast<Term>(static_cast<std::size_t>(Term::mac_1x1) + c)),
                                                coefficient_key(problem.quantity, *donors[c])));
      }
    }
  }
  for (const std::string& s : skipped) out.summary.notes.push_back("skipped candidate " + s);
  for (const GroupResult& g : out.summary.leave_one_family_out) {
    if (!g.predictable) {
      out.summary.notes.push_back(fmt::format(
          "family {} has a layer kind no other family has: leaving it out cannot predict it, so its "
          "leave-one-family-out error is not averaged in",
          g.name));
    }
  }
  return out;
}

// A transfer fit's models: the prior's (base) models with each term times its scale. A scale
// the data could not fit (no layer exercises it, or it was indistinguishable from another)
// takes its sibling's or the geometric mean of the fitted non-zero scales (fill_unfitted_scales),
// so that no term of the prior is silently dropped by an absence of data.
void store_transfer_models(const FittedProblem& fitted, QuantityModels& models) {
  const Design& d = fitted.design;
  std::vector<double> scale = fitted.solution.coefficients;
  FitSummary summary = fitted.summary;
  for (const auto& [j, from] : fill_unfitted_scales(d, std::vector<bool>(d.x.size() / d.width(), true), scale)) {
    summary.notes.push_back(fmt::format("scale {}: no data exercises it; takes {}, {:.4g}", d.columns[j].scale, from, scale[j]));
  }
  summary.kinds.clear();
  models.overhead = scale[0];
  for (LayerKind kind : kLayerKinds) {
    const auto k = static_cast<std::size_t>(kind);
    if (!d.base[k]) continue;
    LayerModel m = *d.base[k];
    for (std::size_t t = 0; t < kTermCount; ++t) {
      const int c = d.scale_column[k][t];
      m.coefficients[t] = c >= 0 ? m.coefficients[t] * scale[static_cast<std::size_t>(c)] : 0.0;
    }
    models.layers[k] = m;
    summary.kinds.push_back(kind);
  }
  std::string scales;
  for (std::size_t j = 1; j < d.width(); ++j) scales += fmt::format("{}{} x{:.4g}", scales.empty() ? "" : ", ", d.columns[j].scale, scale[j]);
  summary.notes.insert(summary.notes.begin(), fmt::format("transfer fit: the prior's terms times the fitted scales ({}); "
                                                          "per-inference overhead {:.4g}", scales, scale[0]));
  models.fits.push_back(std::move(summary));
}

// Writes a fitted problem's coefficients into the quantity's models.
void store_models(const FittedProblem& fitted, QuantityModels& models) {
  const Design& d = fitted.design;
  if (!d.scales.empty()) {
    store_transfer_models(fitted, models);
    return;
  }
  for (LayerKind kind : fitted.summary.kinds) {
    LayerModel m{.family = d.family, .granularity = d.family == ModelFamily::linear ? 1 : d.granularity};
    for (std::size_t j = 0; j < d.width(); ++j) {
      const Column& c = d.columns[j];
      if (c.overhead) {
        models.overhead = fitted.solution.coefficients[j];
      } else if (c.kind == kind && c.generator >= 0) {
        const auto& g = kKernelClassGenerators[static_cast<std::size_t>(c.generator)];
        for (std::size_t k = 0; k < 3; ++k) {
          m.coefficients[static_cast<std::size_t>(Term::mac_1x1) + k] += g[k] * fitted.solution.coefficients[j];
        }
      } else if (c.kind == kind) {
        m.coefficients[static_cast<std::size_t>(c.term)] = fitted.solution.coefficients[j];
      }
    }
    if (d.family == ModelFamily::traffic && (kind == LayerKind::conv || kind == LayerKind::depthwise)) {
      complete_kernel_classes(m.coefficients, fitted.classes_present[static_cast<std::size_t>(kind)]);
    }
    models.layers[static_cast<std::size_t>(kind)] = m;
  }
  models.fits.push_back(fitted.summary);
}

void check_value(const std::string& file, int line, const std::string& column, double v) {
  if (!std::isfinite(v)) throw InputError(file, line, column, fmt::format("must be a finite number, got {}", v));
  if (!(v > 0)) {
    throw InputError(file, line, column,
                     fmt::format("must be > 0 (errors are relative to it), got {}", v));
  }
}

void check_options(const FitOptions& o, const std::string& file) {
  const auto bad = [&](const std::string& m) { throw InputError(file, 0, "", "bad fit options: " + m); };
  if (o.families.empty()) bad("no candidate family");
  if (o.granularities.empty()) bad("no candidate granularity");
  for (std::int64_t g : o.granularities) {
    if (g < 1) bad(fmt::format("granularity must be >= 1, got {}", g));
  }
  if (o.folds < 2) bad(fmt::format("folds must be >= 2, got {}", o.folds));
  for (const std::string& set : o.transfer_scales) {
    if (std::find(kTransferScaleSets.begin(), kTransferScaleSets.end(), set) == kTransferScaleSets.end()) {
      bad(fmt::format("unknown scale set '{}' ({})", set, fmt::join(kTransferScaleSets, ", ")));
    }
  }
  if (!(o.split_percentile > 50 && o.split_percentile < 100)) {
    bad(fmt::format("split percentile must be in (50, 100), got {}", o.split_percentile));
  }
  if (!(o.band_coverage > 0 && o.band_coverage < 1)) bad(fmt::format("band coverage must be in (0, 1), got {}", o.band_coverage));
}

void record_ranges(BoardProfile& profile, const std::vector<LayerFeatures>& layers) {
  for (const LayerFeatures& l : layers) {
    KindRanges& r = profile.ranges[static_cast<std::size_t>(l.kind)];
    for (RangeKey key : range_keys(l.kind)) {
      auto& range = r[static_cast<std::size_t>(key)];
      const double v = l.range_value(key);
      if (!range) {
        range = Range{v, v};
      } else {
        range->lo = std::min(range->lo, v);
        range->hi = std::max(range->hi, v);
      }
    }
  }
}

std::vector<LayerKind> kinds_in(const std::vector<Sample>& samples) {
  std::set<LayerKind> kinds;
  for (const Sample& s : samples) {
    for (const LayerFeatures& l : s.layers) kinds.insert(l.kind);
  }
  return {kinds.begin(), kinds.end()};
}

std::vector<FitPrediction> predictions(const Problem& problem, const std::vector<double>& oof) {
  std::vector<FitPrediction> out;
  for (std::size_t i = 0; i < problem.samples.size(); ++i) {
    out.push_back(FitPrediction{.measured = problem.samples[i].value, .predicted = oof[i],
                                .family = problem.samples[i].family, .kind = problem.samples[i].layers.front().kind});
  }
  return out;
}

BoardProfile new_profile(const BoardIdentity& identity, std::string input, const std::string& file,
                         std::size_t rows, const std::string& hash, const FitOptions& options) {
  BoardProfile p;
  p.board = identity.board;
  p.provenance = identity.provenance;
  p.fit = FitInfo{.input = std::move(input), .data = file, .rows = static_cast<std::int64_t>(rows),
                  .data_fnv1a64 = hash, .folds = options.folds, .seed = options.seed, .tool = std::string(kTool)};
  return p;
}

// A row of the data as the calibration sees it: the network it prices and what it measured.
struct HeldOutRow {
  Architecture arch;
  double measured = 0;
  double macs = 0;
};

double percentile(std::vector<double> values, double pct) {
  std::sort(values.begin(), values.end());
  const double pos = pct / 100 * static_cast<double>(values.size() - 1);
  const auto lo = static_cast<std::size_t>(std::floor(pos));
  const std::size_t hi = std::min(lo + 1, values.size() - 1);
  return values[lo] + (pos - static_cast<double>(lo)) * (values[hi] - values[lo]);
}

// Held-out rows beyond a refit's ranges, with the refit that prices them.
struct Direction {
  std::string name;
  BoardProfile refit;
  std::vector<const HeldOutRow*> beyond;
};

double coverage(const Direction& d, double growth) {
  if (d.beyond.empty()) return 1;
  BoardProfile p = d.refit;
  p.extrapolation = ExtrapolationBand{.growth_per_decade = growth};
  const EnergyEstimator estimator(std::move(p));
  std::size_t inside = 0;
  for (const HeldOutRow* r : d.beyond) {
    const NetworkEstimate e = estimator.estimate(r->arch);
    inside += r->measured >= e.energy_low_mj && r->measured <= e.energy_high_mj ? 1 : 0;
  }
  return static_cast<double>(inside) / static_cast<double>(d.beyond.size());
}

// Refits on each side of the split, measures the held-out rows beyond the refit's ranges, and
// picks the smallest growth whose pooled coverage reaches the band's coverage.
ExtrapolationBand calibrate(const std::vector<HeldOutRow>& rows, const FitOptions& options,
                            const std::function<BoardProfile(const std::vector<bool>&)>& refit,
                            std::vector<std::string>& notes) {
  ExtrapolationBand band{.split_percentile = options.split_percentile, .target_coverage = options.band_coverage};
  std::vector<double> macs;
  for (const HeldOutRow& r : rows) macs.push_back(r.macs);
  const double upper = percentile(macs, options.split_percentile);
  const double lower = percentile(macs, 100 - options.split_percentile);
  std::vector<Direction> directions;
  for (const bool above : {true, false}) {
    std::vector<bool> train(rows.size());
    for (std::size_t i = 0; i < rows.size(); ++i) train[i] = above ? rows[i].macs <= upper : rows[i].macs >= lower;
    Direction d{.name = above ? "above" : "below"};
    try {
      d.refit = refit(train);
    } catch (const InputError& e) {
      notes.push_back(fmt::format("extrapolation check '{}' skipped: the refit failed: {}", d.name, e.message()));
      continue;
    }
    d.refit.extrapolation.reset();
    const EnergyEstimator estimator(d.refit);
    for (std::size_t i = 0; i < rows.size(); ++i) {
      if (!train[i] && estimator.estimate(rows[i].arch).extrapolated()) d.beyond.push_back(&rows[i]);
    }
    directions.push_back(std::move(d));
  }
  std::size_t total = 0;
  for (const Direction& d : directions) total += d.beyond.size();
  const auto pooled = [&](double growth) {
    double inside = 0;
    for (const Direction& d : directions) inside += coverage(d, growth) * static_cast<double>(d.beyond.size());
    return total == 0 ? 1.0 : inside / static_cast<double>(total);
  };
  // Coverage grows with the growth: bisect for the smallest that reaches the target.
  double lo = 0, hi = 1;
  if (pooled(0) < band.target_coverage) {
    while (hi < 1e4 && pooled(hi) < band.target_coverage) hi *= 2;
    for (int i = 0; i < 30; ++i) {
      const double mid = (lo + hi) / 2;
      (pooled(mid) >= band.target_coverage ? hi : lo) = mid;
    }
    band.growth_per_decade = round_significant(hi * 1.0001, 3);
  }
  for (const Direction& d : directions) {
    band.checks.push_back(ExtrapolationCheck{.direction = d.name,
                                             .held_out = static_cast<std::int64_t>(d.beyond.size()),
                                             .coverage_before = round_significant(coverage(d, 0), 4),
                                             .coverage_after = round_significant(coverage(d, band.growth_per_decade), 4)});
  }
  return band;
}

// The rows (and their lines) of a measurement set where `keep` is true.
template <class Set>
Set rows_where(const Set& data, const std::vector<bool>& keep) {
  Set subset = data;
  subset.rows.clear();
  subset.lines.clear();
  for (std::size_t r = 0; r < data.rows.size(); ++r) {
    if (!keep[r]) continue;
    subset.rows.push_back(data.rows[r]);
    if (r < data.lines.size()) subset.lines.push_back(data.lines[r]);
  }
  return subset;
}

// The chosen family and granularity of a fit: what the calibration's refits try.
FitOptions chosen_only(const BoardProfile& profile, FitOptions options) {
  options.calibrate_extrapolation = false;
  for (const FitSummary& s : profile.energy.fits) {
    for (const CandidateResult& c : s.candidates) {
      if (!c.chosen) continue;
      options.families = {c.family};
      options.granularities = {c.granularity};
      if (!c.scales.empty()) options.transfer_scales = {c.scales};
      return options;
    }
  }
  return options;
}

// The products of a fit, checked as the profile reader checks them: extreme data (values near
// the limits of a double) can give non-finite or absurd figures, refused naming the data file.
void check_writable(const BoardProfile& profile, const std::string& file) {
  try {
    to_yaml(profile);
  } catch (const std::invalid_argument& e) {
    throw InputError(file, 0, "", fmt::format("cannot fit a profile from these values ({})", e.what()));
  }
}

}  // namespace

Quality measure_quality(std::span<const double> measured, std::span<const double> predicted, double band_coverage) {
  if (measured.size() != predicted.size() || measured.empty()) {
    throw std::invalid_argument("measure_quality: needs as many predictions as measurements, and at least one");
  }
  const std::size_t n = measured.size();
  double ape = 0, spe = 0, within = 0, mean = 0;
  std::vector<double> ratios;
  for (std::size_t i = 0; i < n; ++i) {
    const double r = (predicted[i] - measured[i]) / measured[i];
    ape += std::abs(r);
    spe += r * r;
    within += std::abs(r) <= 0.1 ? 1 : 0;
    mean += measured[i];
    ratios.push_back(predicted[i] > 0 ? measured[i] / predicted[i] : std::numeric_limits<double>::infinity());
  }
  mean /= static_cast<double>(n);
  double ss_res = 0, ss_tot = 0;
  for (std::size_t i = 0; i < n; ++i) {
    ss_res += (measured[i] - predicted[i]) * (measured[i] - predicted[i]);
    ss_tot += (measured[i] - mean) * (measured[i] - mean);
  }
  std::sort(ratios.begin(), ratios.end());
  const auto quantile = [&](double q) {
    const double pos = q * static_cast<double>(n - 1);
    const auto lo = static_cast<std::size_t>(std::floor(pos));
    const std::size_t hi = std::min(lo + 1, n - 1);
    if (!std::isfinite(ratios[hi])) return ratios[hi];
    return ratios[lo] + (pos - static_cast<double>(lo)) * (ratios[hi] - ratios[lo]);
  };
  const auto nd = static_cast<double>(n);
  Quality q;
  q.points = static_cast<std::int64_t>(n);
  q.mape_pct = round_significant(100 * ape / nd, 4);
  q.rmspe_pct = round_significant(100 * std::sqrt(spe / nd), 4);
  // Undefined (NaN, written `r2: null`) when the measured values have no spread or the sums
  // of squares overflow: a number there would claim a fit quality nobody measured.
  const double r2 = 1 - ss_res / ss_tot;
  q.r2 = ss_tot > 0 && std::isfinite(r2) ? round_significant(r2, 4) : std::numeric_limits<double>::quiet_NaN();
  q.within_10_pct = round_significant(100 * within / nd, 4);
  q.band_low = round_significant(quantile((1 - band_coverage) / 2), 4);
  q.band_high = round_significant(quantile((1 + band_coverage) / 2), 4);
  // A prediction of 0 gives an unbounded ratio: the band is capped at what a profile holds.
  q.band_low = std::min(q.band_low, kMaxBandRatio);
  q.band_high = std::min(q.band_high, kMaxBandRatio);
  q.band_coverage = band_coverage;
  return q;
}

BoardFit fit_layer_measurements(const LayerMeasurementSet& data, const BoardIdentity& identity,
                                const FitOptions& options) {
  check_options(options, data.file);
  const std::string& energy_column = options.layer_energy_column;
  if (energy_column != "energy_mj" && energy_column != "dynamic_energy_mj") {
    throw InputError(data.file, 0, "", fmt::format("the energy to fit is energy_mj or dynamic_energy_mj, not '{}'", energy_column));
  }
  if (data.rows.empty()) throw InputError(data.file, 0, "", "no measurements to fit");
  bool any_latency = false;
  bool all_latency = true;
  for (const LayerMeasurement& m : data.rows) {
    any_latency = any_latency || m.latency_ms.has_value();
    all_latency = all_latency && m.latency_ms.has_value();
  }

  // Rows of a kind form one problem per quantity. Rows without a group are their own group.
  std::map<std::string, std::size_t> group_ids;
  std::array<Problem, kLayerKindCount> energy, latency;
  std::vector<LayerFeatures> all_layers;
  for (std::size_t r = 0; r < data.rows.size(); ++r) {
    const LayerMeasurement& m = data.rows[r];
    const int line = r < data.lines.size() ? data.lines[r] : 0;
    const Architecture arch{.input = m.input, .layers = {m.layer}};
    LayerFeatures f;
    try {
      f = layer_features(m.layer, analyze(arch).layers.front());
    } catch (const SpecError& e) {
      throw InputError(data.file, line, "layer", e.message());
    }
    const std::optional<double> e = energy_column == "energy_mj" ? std::optional<double>(m.energy_mj) : m.dynamic_energy_mj;
    if (!e) throw InputError(data.file, line, energy_column, "is empty: every row needs the energy being fitted");
    check_value(data.file, line, energy_column, *e);
    const std::string key = m.group.empty() ? fmt::format("\x01row{}", r) : m.group;
    const std::size_t group = group_ids.emplace(key, group_ids.size()).first->second;
    const auto k = static_cast<std::size_t>(f.kind);
    energy[k].samples.push_back(Sample{.layers = {f}, .value = *e, .group = group, .family = m.family});
    if (all_latency) {
      check_value(data.file, line, data.latency_column, *m.latency_ms);
      latency[k].samples.push_back(Sample{.layers = {f}, .value = *m.latency_ms, .group = group, .family = m.family});
    } else if (any_latency && !m.latency_ms) {
      throw InputError(data.file, line, data.latency_column,
                       "is empty while other rows have it: give it everywhere or nowhere");
    }
    all_layers.push_back(f);
  }

  BoardFit out;
  out.profile = new_profile(identity, "layers", data.file, data.rows.size(), data.fnv1a64, options);
  out.profile.energy.target = energy_column;
  if (all_latency) out.profile.latency = QuantityModels{.target = data.latency_column};
  record_ranges(out.profile, all_layers);
  for (LayerKind kind : kLayerKinds) {
    const auto k = static_cast<std::size_t>(kind);
    if (energy[k].samples.empty()) continue;
    for (Quantity q : {Quantity::energy, Quantity::latency}) {
      Problem& problem = q == Quantity::energy ? energy[k] : latency[k];
      if (problem.samples.empty()) continue;
      problem.file = data.file;
      problem.quantity = q;
      problem.kinds = {kind};
      const FittedProblem fitted = fit_problem(problem, options);
      store_models(fitted, q == Quantity::energy ? out.profile.energy : *out.profile.latency);
      auto p = predictions(problem, fitted.out_of_fold);
      auto& into = q == Quantity::energy ? out.energy : out.latency;
      into.insert(into.end(), p.begin(), p.end());
    }
  }
  if (!out.profile.energy.model(LayerKind::conv)) {
    throw InputError(data.file, 0, "", "no conv measurements: a profile needs at least a conv model");
  }
  if (options.calibrate_extrapolation) {
    std::vector<HeldOutRow> rows;
    for (std::size_t r = 0; r < data.rows.size(); ++r) {
      const LayerMeasurement& m = data.rows[r];
      const double e = energy_column == "energy_mj" ? m.energy_mj : *m.dynamic_energy_mj;
      rows.push_back(HeldOutRow{.arch = Architecture{.input = m.input, .layers = {m.layer}}, .measured = e,
                                .macs = all_layers[r].macs});
    }
    const FitOptions refit_options = chosen_only(out.profile, options);
    out.profile.extrapolation = calibrate(rows, options, [&](const std::vector<bool>& train) {
      return fit_layer_measurements(rows_where(data, train), identity, refit_options).profile;
    }, out.profile.energy.fits.front().notes);
  }
  check_writable(out.profile, data.file);
  return out;
}

namespace {

BoardFit fit_networks(const NetworkMeasurementSet& data, const BoardIdentity& identity, const FitOptions& options,
                      const BoardProfile* prior) {
  check_options(options, data.file);
  if (data.rows.empty()) throw InputError(data.file, 0, "", "no measurements to fit");
  std::map<std::string, std::size_t> group_ids;
  Problem energy{.file = data.file, .quantity = Quantity::energy, .networks = true};
  Problem latency{.file = data.file, .quantity = Quantity::latency, .networks = true};
  std::vector<LayerFeatures> all_layers;
  std::map<std::string, std::vector<LayerFeatures>> cache;  // by architecture file
  for (std::size_t r = 0; r < data.rows.size(); ++r) {
    const NetworkMeasurement& m = data.rows[r];
    const int line = r < data.lines.size() ? data.lines[r] : 0;
    auto it = cache.find(m.arch_file);
    if (it == cache.end() || m.arch_file.empty()) {
      std::vector<LayerFeatures> layers;
      try {
        const NetworkAnalysis net = analyze(m.arch);
        for (std::size_t i = 0; i < m.arch.layers.size(); ++i) layers.push_back(layer_features(m.arch.layers[i], net.layers[i]));
      } catch (const SpecError& e) {
        throw InputError(data.file, line, "arch", fmt::format("{}: {}", e.key(), e.message()));
      }
      it = cache.insert_or_assign(m.arch_file, std::move(layers)).first;
    }
    check_value(data.file, line, data.energy_column, m.energy_mj);
    const std::string key = m.group.empty() ? fmt::format("\x01row{}", r) : m.group;
    const std::size_t group = group_ids.emplace(key, group_ids.size()).first->second;
    energy.samples.push_back(Sample{.layers = it->second, .value = m.energy_mj, .group = group, .family = m.family});
    if (!data.latency_column.empty()) {
      if (!m.latency_ms) throw InputError(data.file, line, data.latency_column, "is empty");
      check_value(data.file, line, data.latency_column, *m.latency_ms);
      latency.samples.push_back(Sample{.layers = it->second, .value = *m.latency_ms, .group = group, .family = m.family});
    }
    all_layers.insert(all_layers.end(), it->second.begin(), it->second.end());
  }
  energy.kinds = kinds_in(energy.samples);
  latency.kinds = energy.kinds;
  if (prior) {
    energy.prior = &prior->energy;
    if (prior->latency) latency.prior = &*prior->latency;
  }
  if (std::find(energy.kinds.begin(), energy.kinds.end(), LayerKind::conv) == energy.kinds.end()) {
    throw InputError(data.file, 0, "", "no network has a conv layer: a profile needs at least a conv model");
  }

  BoardFit out;
  out.profile = new_profile(identity, "networks", data.file, data.rows.size(), data.fnv1a64, options);
  out.profile.energy.target = data.energy_column;
  if (prior) out.profile.fit->prior = prior->board;
  record_ranges(out.profile, all_layers);
  const FittedProblem e = fit_problem(energy, options);
  store_models(e, out.profile.energy);
  out.energy = predictions(energy, e.out_of_fold);
  if (!data.latency_column.empty()) {
    out.profile.latency = QuantityModels{.target = data.latency_column};
    FittedProblem l = fit_problem(latency, options);
    if (prior && !latency.prior) {
      l.summary.notes.push_back(fmt::format("the prior {} has no latency models: latency fitted from scratch", prior->board));
    }
    store_models(l, *out.profile.latency);
    out.latency = predictions(latency, l.out_of_fold);
  }
  if (options.calibrate_extrapolation) {
    std::vector<HeldOutRow> rows;
    for (std::size_t r = 0; r < data.rows.size(); ++r) {
      double macs = 0;
      for (const LayerFeatures& l : energy.samples[r].layers) macs += l.macs;
      rows.push_back(HeldOutRow{.arch = data.rows[r].arch, .measured = data.rows[r].energy_mj, .macs = macs});
    }
    const FitOptions refit_options = chosen_only(out.profile, options);
    out.profile.extrapolation = calibrate(rows, options, [&](const std::vector<bool>& train) {
      return fit_networks(rows_where(data, train), identity, refit_options, prior).profile;
    }, out.profile.energy.fits.front().notes);
  }
  check_writable(out.profile, data.file);
  return out;
}

}  // namespace

BoardFit fit_network_measurements(const NetworkMeasurementSet& data, const BoardIdentity& identity,
                                  const FitOptions& options) {
  return fit_networks(data, identity, options, nullptr);
}

BoardFit fit_network_transfer(const NetworkMeasurementSet& data, const BoardProfile& prior,
                              const BoardIdentity& identity, const FitOptions& options) {
  return fit_networks(data, identity, options, &prior);
}

NetworkValidation validate_on_networks(const BoardProfile& profile, const NetworkMeasurementSet& data,
                                       double band_coverage) {
  if (data.rows.empty()) throw InputError(data.file, 0, "", "no measurements to validate on");
  const EnergyEstimator estimator(profile);
  std::vector<double> energy, energy_predicted, latency, latency_predicted;
  for (const NetworkMeasurement& m : data.rows) {
    const NetworkEstimate e = estimator.estimate(m.arch);
    energy.push_back(m.energy_mj);
    energy_predicted.push_back(e.energy_mj);
    if (m.latency_ms && e.latency_ms) {
      latency.push_back(*m.latency_ms);
      latency_predicted.push_back(*e.latency_ms);
    }
  }
  NetworkValidation out{.file = data.file, .energy = measure_quality(energy, energy_predicted, band_coverage)};
  if (!latency.empty() && latency.size() == data.rows.size()) {
    out.latency = measure_quality(latency, latency_predicted, band_coverage);
  }
  return out;
}

}  // namespace joules
