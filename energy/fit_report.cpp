#include "energy/fit_report.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <optional>
#include <set>
#include <stdexcept>

#include <fmt/format.h>

#include "space/analysis.hpp"
#include "util/svg_plot.hpp"

namespace joules {
namespace {

std::string pct(double v) { return fmt::format("{:.2f}", v); }

// R^2 is NaN when undefined (measured values without spread).
std::string r2_text(double r2) { return std::isnan(r2) ? "n/a" : fmt::format("{:.4f}", r2); }

std::string quality_line(const Quality& q) {
  return fmt::format("MAPE {}%, RMSPE {}%, R^2 {}, {}% within +-10%, {:.0f}% band x[{:.3f}, {:.3f}] ({} points)",
                     pct(q.mape_pct), pct(q.rmspe_pct), r2_text(q.r2), pct(q.within_10_pct), 100 * q.band_coverage,
                     q.band_low, q.band_high, q.points);
}

std::string kinds_text(const std::vector<LayerKind>& kinds) {
  std::string out;
  for (LayerKind k : kinds) out += (out.empty() ? "" : ", ") + std::string(to_string(k));
  return out;
}

void write_quantity(std::string& out, const QuantityModels& models, Quantity quantity, const std::string& input) {
  out += fmt::format("\n## {} (`{}`)\n", quantity == Quantity::energy ? "Energy" : "Latency", models.target);
  if (input == "networks") {
    out += fmt::format("\nPer-inference overhead: {} {}.\n", fmt::format("{:.4g}", models.overhead),
                       quantity == Quantity::energy ? "mJ" : "ms");
  }
  for (const FitSummary& s : models.fits) {
    out += fmt::format("\n### Layers: {}\n\n", kinds_text(s.kinds));
    for (const CandidateResult& c : s.candidates) {
      if (c.chosen && !c.scales.empty()) {
        out += fmt::format("Transfer fit, chosen by cross-validation: scales **{}** over the prior's {} models "
                           "(granularity {}). Out of fold: {}.\n",
                           c.scales, to_string(c.family), c.granularity, quality_line(s.quality));
      } else if (c.chosen) {
        out += fmt::format("Chosen by cross-validation: **{}** (granularity {}). Out of fold: {}.\n",
                           to_string(c.family), c.granularity, quality_line(s.quality));
      }
    }
    const bool transfer = std::any_of(s.candidates.begin(), s.candidates.end(),
                                      [](const CandidateResult& c) { return !c.scales.empty(); });
    out += "\nCandidates, grouped k-fold cross-validation (out-of-fold errors):\n\n";
    out += fmt::format("| {}family | granularity | MAPE % | RMSPE % | R^2 | within +-10 % | leave-one-family-out MAPE % | |\n",
                       transfer ? "scales | " : "");
    out += transfer ? "|---|---|---:|---:|---:|---:|---:|---:|---|\n" : "|---|---:|---:|---:|---:|---:|---:|---|\n";
    for (const CandidateResult& c : s.candidates) {
      if (transfer) out += fmt::format("| {} ", c.scales);
      out += fmt::format("| {} | {} | {} | {} | {} | {} | {} | {} |\n", to_string(c.family), c.granularity,
                         pct(c.cv.mape_pct), pct(c.cv.rmspe_pct), r2_text(c.cv.r2), pct(c.cv.within_10_pct),
                         c.lofo_mape_pct ? pct(*c.lofo_mape_pct) : "-", c.chosen ? "chosen" : "");
    }
    if (!s.per_family.empty()) {
      out += "\nChosen model per family: k-fold (out of fold) and leave-one-family-out (fitted without the "
             "family):\n\n";
      out += "| family | points | k-fold MAPE % | k-fold within +-10 % | left-out MAPE % | left-out within +-10 % |\n";
      out += "|---|---:|---:|---:|---:|---:|\n";
      std::map<std::string, const GroupResult*> lofo;
      for (const GroupResult& g : s.leave_one_family_out) lofo[g.name] = &g;
      for (const GroupResult& g : s.per_family) {
        std::string left = "-", left_within = "-";
        if (const auto it = lofo.find(g.name); it != lofo.end()) {
          left = pct(it->second->quality.mape_pct);
          left_within = pct(it->second->quality.within_10_pct);
          if (!it->second->predictable) {
            left = fmt::format("({}) not predictable", left);
            left_within = fmt::format("({})", left_within);
          }
        }
        out += fmt::format("| {} | {} | {} | {} | {} | {} |\n", g.name, g.quality.points, pct(g.quality.mape_pct),
                           pct(g.quality.within_10_pct), left, left_within);
      }
    }
    out += "\nCoefficients (refitted on all the data):\n\n| kind | family | granularity | coefficient | value |\n";
    out += "|---|---|---:|---|---:|\n";
    for (LayerKind kind : s.kinds) {
      const auto& m = models.model(kind);
      if (!m) continue;
      for (Term t : family_terms(m->family, kind)) {
        out += fmt::format("| {} | {} | {} | {} | {:.4g} |\n", to_string(kind), to_string(m->family), m->granularity,
                           coefficient_key(quantity, t), m->coefficients[static_cast<std::size_t>(t)]);
      }
    }
    if (!s.notes.empty()) {
      out += "\nNotes:\n\n";
      for (const std::string& n : s.notes) out += "- " + n + "\n";
    }
  }
}

}  // namespace

std::string fit_report_markdown(const BoardFit& fit) {
  const BoardProfile& p = fit.profile;
  std::string out = fmt::format("# Fit of board profile `{}`\n\n", p.board);
  out += fmt::format("Provenance: {}", to_string(p.provenance.kind));
  if (!p.provenance.source.empty()) out += fmt::format(" ({})", p.provenance.source);
  out += ".\n";
  if (p.fit) {
    out += fmt::format("Data: {} {} from `{}` (FNV-1a {}); {} folds, seed {}; {}.\n", p.fit->rows, p.fit->input,
                       p.fit->data, p.fit->data_fnv1a64, p.fit->folds, p.fit->seed, p.fit->tool);
    if (!p.fit->prior.empty()) {
      out += fmt::format("Prior: {} (transfer fit: its models' terms keep their ratios; only the scales below and the "
                         "per-inference overhead are fitted).\n", p.fit->prior);
    }
  }
  write_quantity(out, p.energy, Quantity::energy, p.fit ? p.fit->input : "");
  if (p.latency) write_quantity(out, *p.latency, Quantity::latency, p.fit ? p.fit->input : "");
  if (p.extrapolation) {
    const ExtrapolationBand& b = *p.extrapolation;
    out += "\n## Extrapolation band\n\n";
    out += fmt::format("Outside the fitted ranges each end of a layer's band moves out by 1 + {} x the decades it lies "
                       "outside. Calibrated on the data: refitted below the {}th percentile of the rows' MACs and "
                       "measured above it, and refitted above the {}th and measured below; the growth is the smallest "
                       "that puts {:.0f}% of the held-out rows beyond the refits' ranges inside their bands.\n\n",
                       b.growth_per_decade, b.split_percentile, 100 - b.split_percentile, 100 * b.target_coverage);
    out += "| held out | rows beyond the ranges | inside the band without widening | inside the widened band |\n";
    out += "|---|---:|---:|---:|\n";
    for (const ExtrapolationCheck& c : b.checks) {
      out += fmt::format("| {} the split | {} | {:.1f}% | {:.1f}% |\n", c.direction, c.held_out, 100 * c.coverage_before,
                         100 * c.coverage_after);
    }
  }
  return out;
}

std::string fit_plot_svg(const BoardFit& fit, Quantity quantity) {
  const auto& predictions = quantity == Quantity::energy ? fit.energy : fit.latency;
  if (predictions.empty()) {
    throw std::invalid_argument(fmt::format("the fit has no {} predictions to plot", to_string(quantity)));
  }
  const bool by_kind = fit.profile.fit && fit.profile.fit->input == "layers";
  std::map<std::string, PlotSeries> series;
  for (const FitPrediction& p : predictions) {
    std::string label = by_kind ? std::string(to_string(p.kind)) : p.family;
    if (label.empty()) label = "all";
    PlotSeries& s = series[label];
    s.label = label;
    s.x.push_back(p.measured);
    s.y.push_back(p.predicted);
    s.opacity = 0.5;
    s.size_px = 2.0;
  }
  std::vector<PlotSeries> list;
  for (auto& [name, s] : series) list.push_back(std::move(s));
  const std::string unit = quantity == Quantity::energy ? "mJ" : "ms";
  const QuantityModels& q = quantity == Quantity::energy ? fit.profile.energy : *fit.profile.latency;
  PlotOptions options;
  options.title = fmt::format("{}: {} per inference, out-of-fold prediction vs measurement", fit.profile.board, q.target);
  options.x_label = fmt::format("measured ({})", unit);
  options.y_label = fmt::format("predicted out of fold ({})", unit);
  options.log_x = true;
  options.log_y = true;
  options.diagonal = true;
  return svg_plot(options, list);
}

std::string fit_sweep_svg(const BoardFit& fit, const LayerMeasurementSet& data, Quantity quantity) {
  const BoardProfile& p = fit.profile;
  if (!p.fit || p.fit->input != "layers") throw std::invalid_argument("a sweep plot needs per-layer measurements");
  if (quantity == Quantity::latency && !p.latency) throw std::invalid_argument("the fit has no latency to plot");
  const QuantityModels& models = quantity == Quantity::energy ? p.energy : *p.latency;

  // One sweep per family and configuration; the width is what varies along it.
  struct Sweep {
    std::vector<std::pair<double, double>> measured;   // (width, value)
    std::vector<std::pair<double, double>> predicted;
  };
  // A family with one configuration is labelled by its name alone (short legends).
  std::map<std::string, std::set<std::string>> configs_of_family;
  const auto config_of = [](const LayerMeasurement& m, LayerKind kind) {
    std::string config = fmt::format("{} {}x{}x{}", to_string(kind), m.input.channels, m.input.height, m.input.width);
    if (const auto* conv = std::get_if<ConvLayer>(&m.layer)) {
      config += fmt::format(" k{}x{} s{}", conv->kernel.h, conv->kernel.w, conv->stride.h);
    } else if (const auto* pool = std::get_if<PoolLayer>(&m.layer)) {
      config += pool->global ? " global" : fmt::format(" k{} s{}", pool->kernel.h, pool->stride.h);
    }
    return config;
  };
  std::vector<LayerFeatures> features;
  for (const LayerMeasurement& m : data.rows) {
    features.push_back(layer_features(m.layer, analyze(Architecture{.input = m.input, .layers = {m.layer}}).layers.front()));
    configs_of_family[m.family].insert(config_of(m, features.back().kind));
  }
  std::map<std::string, Sweep> sweeps;
  for (std::size_t i = 0; i < data.rows.size(); ++i) {
    const LayerMeasurement& m = data.rows[i];
    std::optional<double> value = m.latency_ms;
    if (quantity == Quantity::energy) value = models.target == "dynamic_energy_mj" ? m.dynamic_energy_mj : m.energy_mj;
    if (!value) continue;
    const LayerFeatures& f = features[i];
    const auto& model = models.model(f.kind);
    const std::string config = config_of(m, f.kind);
    const std::string label = m.family.empty()                          ? config
                              : configs_of_family[m.family].size() == 1 ? m.family
                                                                        : m.family + ": " + config;
    Sweep& sweep = sweeps[label];
    sweep.measured.emplace_back(f.width, *value);
    if (model) sweep.predicted.emplace_back(f.width, model->evaluate(f));
  }
  std::vector<PlotSeries> list;
  std::size_t index = 0;
  for (auto& [label, sweep] : sweeps) {
    const std::string color = palette_color(index++);
    std::sort(sweep.measured.begin(), sweep.measured.end());
    std::sort(sweep.predicted.begin(), sweep.predicted.end());
    PlotSeries measured{.label = label, .color = color, .marker = Marker::circle, .size_px = 2.5};
    for (const auto& [x, y] : sweep.measured) {
      measured.x.push_back(x);
      measured.y.push_back(y);
    }
    PlotSeries model{.color = color, .marker = Marker::none, .line = true, .opacity = 0.8};
    for (const auto& [x, y] : sweep.predicted) {
      model.x.push_back(x);
      model.y.push_back(y);
    }
    list.push_back(std::move(measured));
    if (!model.x.empty()) list.push_back(std::move(model));
  }
  PlotOptions options;
  options.title = fmt::format("{}: {} per inference against the filter count (lines: fitted model)", p.board, models.target);
  options.x_label = "filters (conv), units (fc), channels (pool)";
  options.y_label = fmt::format("{} ({})", models.target, quantity == Quantity::energy ? "mJ" : "ms");
  return svg_plot(options, list);
}

}  // namespace joules
