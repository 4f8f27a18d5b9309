#include "report/profile_report.hpp"

#include <cmath>
#include <map>

#include <fmt/format.h>

#include "energy/estimator.hpp"
#include "energy/fit.hpp"
#include "energy/fit_report.hpp"
#include "report/html_page.hpp"
#include "space/analysis.hpp"
#include "util/atomic_file.hpp"
#include "util/svg_plot.hpp"

namespace joules {
namespace {

namespace fs = std::filesystem;

std::string quality_cells(const Quality& q) {
  return fmt::format("<td class=\"num\">{}</td><td class=\"num\">{:.2f}%</td><td class=\"num\">{:.2f}%</td>"
                     "<td class=\"num\">{}</td><td class=\"num\">{:.1f}%</td><td class=\"num\">[{}, {}]</td>",
                     human_count(q.points), q.mape_pct, q.rmspe_pct,
                     std::isfinite(q.r2) ? fmt::format("{:.4f}", q.r2) : "undefined", q.within_10_pct,
                     human_number(q.band_low), human_number(q.band_high));
}

constexpr const char* kQualityHeads =
    "<th class=\"num\">points</th><th class=\"num\">MAPE</th><th class=\"num\">RMSPE</th><th class=\"num\">R\u00b2</th>"
    "<th class=\"num\">within 10%</th><th class=\"num\">band</th>";

std::string kinds_text(const std::vector<LayerKind>& kinds) {
  std::string out;
  for (LayerKind k : kinds) out += (out.empty() ? "" : ", ") + std::string(to_string(k));
  return out;
}

std::string models_card(const BoardProfile& p, const QuantityModels& q, Quantity quantity) {
  const std::string unit = quantity == Quantity::energy ? "mJ" : "ms";
  std::string out = fmt::format("<section class=\"card\" id=\"{}-models\">\n<h2>{} models (predicting {})</h2>\n",
                                to_string(quantity), quantity == Quantity::energy ? "Energy" : "Latency",
                                html_escape(q.target));
  out += fmt::format("<p>Per-inference overhead: <b>{} {}</b> (independent of the layers).</p>\n", human_number(q.overhead),
                     unit);
  out += "<table><thead><tr><th>kind</th><th>family</th><th class=\"num\">granularity</th><th>coefficients</th>"
         "<th>fitted ranges</th></tr></thead><tbody>\n";
  for (std::size_t k = 0; k < kLayerKindCount; ++k) {
    const LayerKind kind = static_cast<LayerKind>(k);
    const std::optional<LayerModel>& model = q.model(kind);
    std::string ranges;
    for (RangeKey key : range_keys(kind)) {
      if (const auto& r = p.range(kind)[static_cast<std::size_t>(key)]) {
        ranges += fmt::format("{}{} [{}, {}]", ranges.empty() ? "" : "<br>", to_string(key), human_number(r->lo),
                              human_number(r->hi));
      }
    }
    if (!model) {
      out += fmt::format("<tr><td>{}</td><td colspan=\"3\"><i>no model: priced by another kind's (fallback)</i></td>"
                         "<td>{}</td></tr>\n",
                         to_string(kind), ranges);
      continue;
    }
    std::string coefficients;
    for (Term term : family_terms(model->family, kind)) {
      coefficients += fmt::format("{}<code>{}</code> = {:.4g}", coefficients.empty() ? "" : "<br>",
                                  coefficient_key(quantity, term), model->coefficients[static_cast<std::size_t>(term)]);
    }
    out += fmt::format("<tr><td>{}</td><td>{}</td><td class=\"num\">{}</td><td>{}</td><td>{}</td></tr>\n", to_string(kind),
                       to_string(model->family), model->granularity, coefficients, ranges.empty() ? "\u2013" : ranges);
  }
  out += "</tbody></table>\n";
  for (const FitSummary& f : q.fits) {
    out += fmt::format("<h3>Fit of {}</h3>\n<table><thead><tr><th>candidate</th>{}<th class=\"num\">leave-one-family-"
                       "out MAPE</th></tr></thead><tbody>\n",
                       html_escape(kinds_text(f.kinds)), kQualityHeads);
    for (const CandidateResult& c : f.candidates) {
      out += fmt::format("<tr{}><td>{} g={}{}</td>{}<td class=\"num\">{}</td></tr>\n", c.chosen ? " class=\"sel\"" : "",
                         to_string(c.family), c.granularity, c.chosen ? " <b>(chosen)</b>" : "", quality_cells(c.cv),
                         c.lofo_mape_pct ? fmt::format("{:.2f}%", *c.lofo_mape_pct) : "\u2013");
    }
    out += fmt::format("<tr><td><b>chosen, refitted</b></td>{}<td></td></tr>\n</tbody></table>\n", quality_cells(f.quality));
    const auto groups = [&out](const char* title, const std::vector<GroupResult>& list) {
      if (list.empty()) return;
      out += fmt::format("<h3>{}</h3>\n<table><thead><tr><th>family</th>{}</tr></thead><tbody>\n", title, kQualityHeads);
      for (const GroupResult& g : list) {
        out += fmt::format("<tr><td>{}{}</td>{}</tr>\n", html_escape(g.name), g.predictable ? "" : " (not predictable)",
                           quality_cells(g.quality));
      }
      out += "</tbody></table>\n";
    };
    groups("Per family, k-fold", f.per_family);
    groups("Per family, left out of the fit", f.leave_one_family_out);
    for (const std::string& note : f.notes) out += fmt::format("<p class=\"hint\">{}</p>\n", html_escape(note));
  }
  if (q.fits.empty()) out += "<p class=\"hint\">No fit is recorded: a hand-written prior.</p>\n";
  return out + "</section>\n";
}

// Measured against what the profile predicts for each row.
struct Checked {
  std::vector<double> measured;
  std::vector<double> predicted;
  std::vector<std::string> label;  // the series of the row
};

Checked check_layers(const BoardProfile& p, const LayerMeasurementSet& data) {
  const EnergyEstimator estimator(p);
  Checked out;
  for (const LayerMeasurement& m : data.rows) {
    const std::optional<double> value = p.energy.target == "dynamic_energy_mj" ? m.dynamic_energy_mj : m.energy_mj;
    if (!value) continue;
    const Architecture arch{.input = m.input, .layers = {m.layer}};
    const NetworkEstimate e = estimator.estimate(arch);
    out.measured.push_back(*value);
    out.predicted.push_back(e.layers.front().energy_mj);
    out.label.push_back(m.family.empty() ? std::string(to_string(e.layers.front().kind)) : m.family);
  }
  return out;
}

Checked check_networks(const BoardProfile& p, const NetworkMeasurementSet& data) {
  const EnergyEstimator estimator(p);
  Checked out;
  for (const NetworkMeasurement& m : data.rows) {
    out.measured.push_back(m.energy_mj);
    out.predicted.push_back(estimator.estimate(m.arch).energy_mj);
    out.label.push_back(m.family.empty() ? "networks" : m.family);
  }
  return out;
}

std::string data_card(const BoardProfile& p, const ProfileCheckData& data) {
  const bool layers = std::holds_alternative<LayerMeasurementSet>(data);
  const std::string& file = layers ? std::get<LayerMeasurementSet>(data).file : std::get<NetworkMeasurementSet>(data).file;
  const std::string& hash =
      layers ? std::get<LayerMeasurementSet>(data).fnv1a64 : std::get<NetworkMeasurementSet>(data).fnv1a64;
  const Checked c = layers ? check_layers(p, std::get<LayerMeasurementSet>(data))
                           : check_networks(p, std::get<NetworkMeasurementSet>(data));
  const bool same_data = p.fit && p.fit->data_fnv1a64 == hash;
  std::string out = fmt::format("<section class=\"card\" id=\"data\">\n<h2>Against the measurements in {}</h2>\n",
                                html_escape(file));
  out += same_data ? "<p class=\"notice\">This is the data the profile was fitted on: the predictions below are in "
                     "sample (the cross-validated errors in the models' tables below are the honest ones).</p>\n"
                   : "<p>This is not the data the profile was fitted on: an out-of-sample check.</p>\n";
  if (c.measured.empty()) return out + "<p class=\"hint\">No row has the measured column the profile predicts.</p>\n</section>\n";
  const Quality q = measure_quality(c.measured, c.predicted, p.energy.fits.empty() ? 0.9 : p.energy.fits.front().quality.band_coverage);
  out += fmt::format("<table><thead><tr><th></th>{}</tr></thead><tbody><tr><td>{} rows</td>{}</tr></tbody></table>\n",
                     kQualityHeads, layers ? "layer" : "network", quality_cells(q));
  std::map<std::string, PlotSeries> series;
  for (std::size_t i = 0; i < c.measured.size(); ++i) {
    PlotSeries& s = series[c.label[i]];
    s.label = c.label[i];
    s.x.push_back(c.measured[i]);
    s.y.push_back(c.predicted[i]);
    s.opacity = 0.55;
    s.size_px = 2.5;
  }
  std::vector<PlotSeries> list;
  for (auto& [name, s] : series) list.push_back(std::move(s));
  out += "<div class=\"grid\">\n<div>\n";
  out += svg_plot({.title = fmt::format("{}: predicted against measured", p.board),
                   .x_label = fmt::format("measured {} (mJ)", p.energy.target),
                   .y_label = "predicted by the profile (mJ)",
                   .log_x = true,
                   .log_y = true,
                   .diagonal = true,
                   .width_px = 600,
                   .height_px = 480,
                   .id = "predicted-measured"},
                  list);
  out += "</div>\n";
  if (layers && p.fit && p.fit->input == "layers") {
    out += "<div>\n" + fit_sweep_svg(BoardFit{.profile = p}, std::get<LayerMeasurementSet>(data), Quantity::energy) +
           "</div>\n";
  } else {
    out += "<p class=\"hint\">Energy against the filter count needs per-layer measurements and a profile fitted on "
           "them.</p>\n";
  }
  return out + "</div>\n</section>\n";
}

}  // namespace

std::string profile_report_html(const BoardProfile& p, const std::string& profile_path, const ProfileCheckData* data) {
  const Provenance& pv = p.provenance;
  std::string body = fmt::format("<header>\n<h1>Board profile {}</h1>\n<p class=\"sub\">{} \u00b7 format {} \u00b7 {}</p>\n",
                                 html_escape(p.board), html_escape(profile_path), p.format, to_string(pv.kind));
  const std::string notice = provenance_notice(p);
  if (!notice.empty()) body += fmt::format("<p class=\"notice\" id=\"not-measured\">{}</p>\n", html_escape(notice));
  body += "</header>\n<main>\n<section class=\"card\" id=\"provenance\">\n<h2>Provenance</h2>\n<dl>\n";
  const auto item = [&body](const char* key, const std::string& value) { body += definition_item(key, value); };
  body += provenance_items(pv, "kind");
  for (const RailCalibration& c : pv.calibrations) {
    item("calibration", fmt::format("{}: gain {:.4g}, offset {:.4g} mW, R\u00b2 {:.4f} over {} points", c.rail, c.gain,
                                    c.offset_mw, c.r_squared, c.points));
  }
  if (p.fit) {
    item("fitted on", fmt::format("{} rows of {} from {} (FNV-1a {}), {}-fold cross-validation, seed {}, {}",
                                  human_count(p.fit->rows), p.fit->input, p.fit->data, p.fit->data_fnv1a64, p.fit->folds,
                                  p.fit->seed, p.fit->tool));
  }
  if (p.extrapolation) {
    item("outside the ranges", fmt::format("the band widens by {:.3g} per decade outside the fitted ranges (chosen to "
                                           "cover {:.0f}% of held-out rows)",
                                           p.extrapolation->growth_per_decade, 100 * p.extrapolation->target_coverage));
  }
  body += "</dl>\n</section>\n";
  if (data) body += data_card(p, *data);
  body += models_card(p, p.energy, Quantity::energy);
  if (p.latency) body += models_card(p, *p.latency, Quantity::latency);
  body += "</main>\n<footer>Written by joules report. One self-contained file: it fetches nothing.</footer>\n";
  return html_document(fmt::format("joules profile {}", p.board), body);
}

WrittenReport write_profile_report(const fs::path& profile_path, const fs::path& data_csv, const fs::path& out) {
  const BoardProfile profile = load_board_profile(profile_path.string());
  std::optional<ProfileCheckData> data;
  if (!data_csv.empty()) {
    if (profile.fit && profile.fit->input == "networks") {
      data = read_network_measurements(data_csv.string());
    } else {
      data = read_layer_measurements(data_csv.string());
    }
  }
  fs::path file = out;
  if (file.empty()) {
    file = profile_path;
    file.replace_extension(".html");
  }
  const std::string html = profile_report_html(profile, profile_path.string(), data ? &*data : nullptr);
  write_file_atomic(file, html);
  return {.file = file, .bytes = html.size()};
}

}  // namespace joules
