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
};

struct Column {
  bool overhead = false;
  LayerKind kind = LayerKind::conv;
  Term term = Term::layer;
  int generator = -1;  // >= 0: the kind's kernel-class slopes along kKernelClassGenerators[generator]
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

// Minimising the squared relative error: each row divided by its measured value, target 1.
void add_sample(NormalEquations& eq, const Design& d, const Problem& problem, std::size_t i) {
  std::vector<double> a(d.row(i).begin(), d.row(i).end());
  const double y = problem.samples[i].value;
  for (double& v : a) v /= y;
  eq.add_row(a, 1.0);
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
      if (empty[j] && c.generator < 0) {
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

CandidateFit evaluate_candidate(const Problem& problem, ModelFamily family, std::int64_t granularity,
                                const std::vector<std::size_t>& fold, std::size_t folds, const FitOptions& options) {
  CandidateFit fit{.design = build_design(problem, family, granularity)};
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
    const Solution s = solve_design(train, d, problem.quantity, false);
    for (std::size_t i = 0; i < n; ++i) {
      if (fold[i] == f) fit.out_of_fold[i] = predict(d, s.coefficients, i);
    }
  }
  std::vector<std::size_t> all(n);
  std::iota(all.begin(), all.end(), 0);
  fit.result = CandidateResult{.family = family, .granularity = granularity,
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
    const Solution s = solve_design(train, d, problem.quantity, false);
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
  for (ModelFamily family : options.families) {
    std::vector<std::int64_t> gs{1};
    if (family != ModelFamily::linear) gs = options.granularities;
    for (std::int64_t g : gs) {
      const Design probe = build_design(problem, family, g);
      const std::size_t p = identifiable_columns(probe, problem);
      smallest = std::min(smallest, p);
      if (p > n) {
        skipped.push_back(fmt::format("{} (granularity {}): {} coefficients for {} points", to_string(family), g, p, n));
        continue;
      }
      fits.push_back(evaluate_candidate(problem, family, g, fold, folds, options));
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
  out.out_of_fold = fits[best].out_of_fold;
  out.summary.kinds = problem.kinds;
  out.summary.quality = fits[best].result.cv;
  for (const CandidateFit& f : fits) out.summary.candidates.push_back(f.result);
  out.summary.per_family = fits[best].per_family;
  out.summary.leave_one_family_out = fits[best].lofo;
  out.summary.notes = out.solution.notes;
  out.classes_present = classes_present(problem);
  if (out.design.family == ModelFamily::traffic) {
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

// Writes a fitted problem's coefficients into the quantity's models.
void store_models(const FittedProblem& fitted, QuantityModels& models) {
  const Design& d = fitted.design;
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

BoardFit fit_network_measurements(const NetworkMeasurementSet& data, const BoardIdentity& identity,
                                  const FitOptions& options) {
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
  if (std::find(energy.kinds.begin(), energy.kinds.end(), LayerKind::conv) == energy.kinds.end()) {
    throw InputError(data.file, 0, "", "no network has a conv layer: a profile needs at least a conv model");
  }

  BoardFit out;
  out.profile = new_profile(identity, "networks", data.file, data.rows.size(), data.fnv1a64, options);
  out.profile.energy.target = data.energy_column;
  record_ranges(out.profile, all_layers);
  const FittedProblem e = fit_problem(energy, options);
  store_models(e, out.profile.energy);
  out.energy = predictions(energy, e.out_of_fold);
  if (!data.latency_column.empty()) {
    out.profile.latency = QuantityModels{.target = data.latency_column};
    const FittedProblem l = fit_problem(latency, options);
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
      return fit_network_measurements(rows_where(data, train), identity, refit_options).profile;
    }, out.profile.energy.fits.front().notes);
  }
  check_writable(out.profile, data.file);
  return out;
}

}  // namespace joules
