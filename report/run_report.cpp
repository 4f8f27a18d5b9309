#include "report/run_report.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <set>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "energy/estimator.hpp"
#include "report/html_page.hpp"
#include "search/export.hpp"
#include "search/hypervolume.hpp"
#include "search/nas_search.hpp"
#include "search/run_directory.hpp"
#include "space/analysis.hpp"
#include "util/atomic_file.hpp"
#include "util/input_error.hpp"
#include "util/svg_plot.hpp"

namespace joules {
namespace {

namespace fs = std::filesystem;

constexpr const char* kFrontColor = "#1f77b4";
constexpr const char* kInfeasibleColor = "#d62728";
constexpr const char* kFailedColor = "#8c564b";

std::string shape_text(const Shape& s) { return fmt::format("{}\u00d7{}\u00d7{}", s.channels, s.height, s.width); }

// "conv 8 3x3 /1 relu \u2192 pool max 2 \u2192 fc 10": the layers in one line, for the tooltip.
std::string layers_line(const Architecture& arch) {
  std::string out;
  for (const Layer& layer : arch.layers) out += (out.empty() ? "" : " \u2192 ") + describe(layer);
  return out;
}

std::string band_text(double value, double low, double high, const char* unit) {
  return fmt::format("{} {} [{}, {}]", human_number(value), unit, human_number(low), human_number(high));
}

// The plane: trained evaluations by accuracy and energy; those without accuracy (over a budget,
// failed) along a strip below the lowest accuracy, so that every evaluation is one point.
std::string plane_svg(const RunReportInput& in, const std::vector<EvaluationRecord>& front) {
  std::set<std::int64_t> on_front;
  for (const EvaluationRecord& r : front) on_front.insert(r.id);
  PlotSeries evaluated{.label = "evaluated", .color = "#8f96a3", .opacity = 0.7, .size_px = 3, .point_class = "pt"};
  PlotSeries infeasible{.label = "over a budget (not trained)", .color = kInfeasibleColor, .marker = Marker::cross,
                        .size_px = 3.5, .point_class = "pt infeasible"};
  PlotSeries failed{.label = "failed", .color = kFailedColor, .marker = Marker::square, .size_px = 3,
                    .hollow = true, .point_class = "pt failed"};
  PlotSeries line{.label = "Pareto front (bars: energy band)", .color = kFrontColor, .marker = Marker::none,
                  .line = true};
  PlotSeries inside{.color = kFrontColor, .size_px = 5, .point_class = "pt front"};
  PlotSeries outside{.label = "front member priced outside the profile's data", .color = kFrontColor, .size_px = 5,
                     .hollow = true, .point_class = "pt front extrapolated"};
  double lowest = 100;
  double min_energy = std::numeric_limits<double>::infinity();
  double max_energy = 0;
  for (const EvaluationRecord& r : in.evaluations) {
    if (r.energy_mj > 0) min_energy = std::min(min_energy, r.energy_mj);
    max_energy = std::max(max_energy, r.energy_mj);
    if (r.accuracy) lowest = std::min(lowest, 100 * *r.accuracy);
  }
  const double strip = lowest - 3;
  for (const EvaluationRecord& r : in.evaluations) {
    const std::string id = std::to_string(r.id);
    if (on_front.contains(r.id)) {
      PlotSeries& s = r.extrapolated ? outside : inside;
      s.x.push_back(r.energy_mj);
      s.y.push_back(100 * *r.accuracy);
      s.x_low.push_back(r.energy_low_mj);
      s.x_high.push_back(r.energy_high_mj);
      s.ids.push_back(id);
      continue;
    }
    PlotSeries& s = r.status == EvaluationStatus::infeasible ? infeasible
                    : r.accuracy && r.status == EvaluationStatus::ok ? evaluated
                                                                      : failed;
    s.x.push_back(r.energy_mj);
    s.y.push_back(&s == &evaluated ? 100 * *r.accuracy : strip);
    s.ids.push_back(id);
  }
  for (const EvaluationRecord& r : front) {
    line.x.push_back(r.energy_mj);
    line.y.push_back(100 * *r.accuracy);
  }
  const bool log_x = min_energy > 0 && max_energy / min_energy > 20;
  PlotOptions options{.x_label = fmt::format("estimated energy per inference on {} (mJ{})", in.profile.board,
                                             log_x ? ", log scale" : ""),
                      .y_label = "validation accuracy (%)",
                      .log_x = log_x,
                      .width_px = 900,
                      .height_px = 540,
                      .id = "plane"};
  if (in.config.search.budgets.energy_mj) {
    options.x_lines.push_back({.x = *in.config.search.budgets.energy_mj,
                               .label = fmt::format("energy budget {} mJ", human_number(*in.config.search.budgets.energy_mj))});
  }
  // Zero-energy points (failed before pricing) cannot sit on a log axis: keep them linear then.
  for (PlotSeries* s : {&infeasible, &failed, &evaluated}) {
    if (!log_x) break;
    for (double& x : s->x) x = x > 0 ? x : min_energy;
  }
  std::vector<PlotSeries> series{evaluated};
  if (!failed.x.empty()) series.push_back(failed);
  if (!infeasible.x.empty()) series.push_back(infeasible);
  if (!line.x.empty()) series.push_back(line);
  if (!inside.x.empty()) series.push_back(inside);
  if (!outside.x.empty()) series.push_back(outside);
  return svg_plot(options, series);
}

std::string hypervolume_svg(const std::vector<double>& history) {
  PlotSeries s{.label = "", .color = kFrontColor, .marker = Marker::none, .line = true};
  for (std::size_t i = 0; i < history.size(); ++i) {
    s.x.push_back(static_cast<double>(i + 1));
    s.y.push_back(history[i]);
  }
  return svg_plot({.title = "Hypervolume of the front",
                   .x_label = "evaluations",
                   .y_label = "hypervolume (normalised objectives)",
                   .width_px = 560,
                   .height_px = 360,
                   .id = "hypervolume"},
                  {s});
}

// Training seconds as a step histogram (a line along the bins' tops).
std::string train_time_svg(const std::vector<EvaluationRecord>& evaluations) {
  std::vector<double> seconds;
  for (const EvaluationRecord& r : evaluations) {
    if (r.status != EvaluationStatus::infeasible && r.train_seconds > 0) seconds.push_back(r.train_seconds);
  }
  if (seconds.empty()) return "<p class=\"hint\">No evaluation was trained.</p>";
  const auto [lo_it, hi_it] = std::minmax_element(seconds.begin(), seconds.end());
  const double lo = *lo_it;
  const double hi = *hi_it > lo ? *hi_it : lo + 1;
  const std::size_t bins = std::clamp<std::size_t>(static_cast<std::size_t>(std::sqrt(seconds.size())), 4, 30);
  std::vector<double> counts(bins, 0);
  for (double v : seconds) {
    counts[std::min(bins - 1, static_cast<std::size_t>((v - lo) / (hi - lo) * static_cast<double>(bins)))] += 1;
  }
  PlotSeries s{.color = "#2ca02c", .marker = Marker::none, .line = true};
  const double width = (hi - lo) / static_cast<double>(bins);
  s.x.push_back(lo);
  s.y.push_back(0);
  for (std::size_t b = 0; b < bins; ++b) {
    s.x.insert(s.x.end(), {lo + width * static_cast<double>(b), lo + width * static_cast<double>(b + 1)});
    s.y.insert(s.y.end(), {counts[b], counts[b]});
  }
  s.x.push_back(hi);
  s.y.push_back(0);
  return svg_plot({.title = fmt::format("Training time ({} trainings)", seconds.size()),
                   .x_label = "training seconds per candidate",
                   .y_label = "candidates",
                   .width_px = 560,
                   .height_px = 360,
                   .id = "train-time"},
                  {s});
}

// One front member: its layers' shapes, MACs and estimated energy, and the energy as bars.
std::string member_section(const EvaluationRecord& r, const EnergyEstimator& estimator) {
  const std::string id = std::to_string(r.id);
  std::string out = fmt::format("<section class=\"card member\" id=\"member-{}\" hidden>\n<h2><span>Front member #{}{}"
                                "</span><button type=\"button\" data-close>close</button></h2>\n",
                                id, id, r.arch.name.empty() ? "" : ": " + html_escape(r.arch.name));
  out += fmt::format("<p class=\"sub\">accuracy {:.2f}% \u00b7 energy {} \u00b7 {} MACs \u00b7 {} params{}</p>\n",
                     100 * r.accuracy.value_or(0), html_escape(band_text(r.energy_mj, r.energy_low_mj, r.energy_high_mj, "mJ")),
                     human_count(r.macs), human_count(r.params),
                     r.extrapolated ? " \u00b7 <b>priced outside the profile's data</b>" : "");
  NetworkAnalysis analysis;
  NetworkEstimate estimate;
  try {
    analysis = analyze(r.arch);
    estimate = estimator.estimate(r.arch, analysis);
  } catch (const std::exception& e) {
    return out + fmt::format("<p class=\"notice\">Its layers cannot be priced: {}</p>\n</section>\n", html_escape(e.what()));
  }
  double layers_total = 0;
  for (const LayerEstimate& l : estimate.layers) layers_total += l.energy_mj;
  out += "<table><thead><tr><th>#</th><th>layer</th><th>output</th><th class=\"num\">MACs</th><th class=\"num\">params"
         "</th><th class=\"num\">energy (mJ)</th><th class=\"num\">share of layers</th></tr></thead><tbody>\n";
  std::vector<Bar> bars;
  for (std::size_t i = 0; i < r.arch.layers.size(); ++i) {
    const LayerEstimate& l = estimate.layers[i];
    const LayerAnalysis& a = analysis.layers[i];
    const double share = layers_total > 0 ? 100 * l.energy_mj / layers_total : 0;
    std::string priced = l.priced_as != l.kind ? fmt::format(" (priced as {})", to_string(l.priced_as)) : "";
    out += fmt::format("<tr><td>{}</td><td>{}{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>"
                       "<td class=\"num\">{} [{}, {}]</td><td class=\"num\">{:.1f}%</td></tr>\n",
                       i, html_escape(describe(r.arch.layers[i])), html_escape(priced), shape_text(a.output),
                       human_count(a.macs), human_count(a.params), human_number(l.energy_mj),
                       human_number(l.energy_low_mj), human_number(l.energy_high_mj), share);
    bars.push_back({.label = fmt::format("{} {}", i, layer_type(r.arch.layers[i])),
                    .value = l.energy_mj,
                    .low = l.energy_low_mj,
                    .high = l.energy_high_mj,
                    .color = l.kind == LayerKind::fc ? "#ff7f0e" : l.kind == LayerKind::pool ? "#9467bd" : kFrontColor,
                    .note = fmt::format("({:.0f}%)", share)});
  }
  out += fmt::format("<tr><td></td><td><i>per-inference overhead (not a layer)</i></td><td></td><td></td><td></td>"
                     "<td class=\"num\">{}</td><td></td></tr>\n</tbody></table>\n",
                     human_number(estimate.overhead_mj));
  // The overhead is no layer's and often larger than all of them: left out of the bars, so
  // that the layers' scale shows.
  out += svg_bar_chart({.title = fmt::format("Where #{}'s layers spend their energy (bars: band)", id),
                        .value_label = "estimated energy per inference (mJ)",
                        .width_px = 760,
                        .data_id = id},
                       bars);
  out += fmt::format("<p class=\"hint\">Plus the per-inference overhead apart from the layers: {} mJ ({:.0f}% of the "
                     "network's {} mJ), left out of the bars.</p>\n",
                     human_number(estimate.overhead_mj),
                     estimate.energy_mj > 0 ? 100 * estimate.overhead_mj / estimate.energy_mj : 0.0,
                     human_number(estimate.energy_mj));
  if (!estimate.warnings.empty()) {
    out += "<div class=\"notice\"><b>Outside the profile's data:</b><ul>\n";
    for (const EstimateWarning& w : estimate.warnings) out += fmt::format("<li>{}</li>\n", html_escape(describe(w)));
    out += "</ul></div>\n";
  }
  return out + "</section>\n";
}

nlohmann::json optional_json(const std::optional<double>& v) { return v ? nlohmann::json(*v) : nlohmann::json(); }

// What the script shows on hover: one compact object per evaluation. The estimator's warnings
// repeat across candidates, so they are listed once and referred to by index.
nlohmann::json report_json(const std::vector<EvaluationRecord>& evaluations, const std::set<std::int64_t>& front) {
  nlohmann::json list = nlohmann::json::array();
  std::vector<std::string> warnings;
  std::map<std::string, std::size_t> warning_index;
  for (const EvaluationRecord& r : evaluations) {
    nlohmann::json j = {{"id", r.id},
                        {"g", r.generation},
                        {"s", to_string(r.status)},
                        {"a", optional_json(r.accuracy)},
                        {"e", r.energy_mj},
                        {"lo", r.energy_low_mj},
                        {"hi", r.energy_high_mj},
                        {"lat", optional_json(r.latency_ms)},
                        {"macs", r.macs},
                        {"params", r.params},
                        {"t", r.train_seconds},
                        {"f", front.contains(r.id)},
                        {"x", r.extrapolated},
                        {"arch", layers_line(r.arch)}};
    if (!r.arch.name.empty()) j["n"] = r.arch.name;
    if (!r.warnings.empty()) {
      std::vector<std::size_t> indices;
      for (const std::string& w : r.warnings) {
        const auto [it, added] = warning_index.emplace(w, warnings.size());
        if (added) warnings.push_back(w);
        indices.push_back(it->second);
      }
      j["w"] = indices;
    }
    if (!r.error.empty()) j["err"] = r.error;
    list.push_back(std::move(j));
  }
  return {{"evaluations", std::move(list)}, {"warnings", std::move(warnings)}};
}

std::string front_table(const std::vector<EvaluationRecord>& front) {
  if (front.empty()) return "<p class=\"hint\">No evaluation was trained yet: no front.</p>\n";
  std::string out =
      "<table id=\"front-table\"><thead><tr><th>#</th><th class=\"num\">accuracy</th><th class=\"num\">energy (mJ) "
      "[band]</th><th class=\"num\">latency (ms)</th><th class=\"num\">MACs</th><th class=\"num\">params</th>"
      "<th class=\"num\">train (s)</th><th class=\"wide\">layers</th></tr></thead><tbody>\n";
  for (const EvaluationRecord& r : front) {
    out += fmt::format("<tr data-member=\"{}\"><td>{}{}</td><td class=\"num\">{:.2f}%</td><td class=\"num\">{} [{}, {}]{}"
                       "</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>"
                       "<td class=\"num\">{:.1f}</td><td class=\"wide\">{}</td></tr>\n",
                       r.id, r.id, r.arch.name.empty() ? "" : " " + html_escape(r.arch.name), 100 * *r.accuracy,
                       human_number(r.energy_mj), human_number(r.energy_low_mj), human_number(r.energy_high_mj),
                       r.extrapolated ? " *" : "", r.latency_ms ? human_number(*r.latency_ms) : "\u2013",
                       human_count(r.macs), human_count(r.params), r.train_seconds, html_escape(layers_line(r.arch)));
  }
  out += "</tbody></table>\n";
  if (std::any_of(front.begin(), front.end(), [](const auto& r) { return r.extrapolated; })) {
    out += "<p class=\"hint\">* priced outside the data the profile was fitted on: an extrapolation.</p>\n";
  }
  return out + "<p class=\"hint\">Click a row (or a front point) for the member's layers.</p>\n";
}

std::string quality_row(const std::string& what, const Quality& q) {
  return fmt::format("<tr><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{:.2f}%</td><td class=\"num\">{:.2f}%"
                     "</td><td class=\"num\">{}</td><td class=\"num\">{:.1f}%</td><td class=\"num\">[{}, {}]</td></tr>\n",
                     html_escape(what), human_count(q.points), q.mape_pct, q.rmspe_pct,
                     std::isfinite(q.r2) ? fmt::format("{:.4f}", q.r2) : "undefined", q.within_10_pct,
                     human_number(q.band_low), human_number(q.band_high));
}

std::string kinds_text(const std::vector<LayerKind>& kinds) {
  std::string out;
  for (LayerKind k : kinds) out += (out.empty() ? "" : ", ") + std::string(to_string(k));
  return out;
}

std::string profile_card(const RunReportInput& in, const std::vector<EvaluationRecord>& front) {
  const BoardProfile& p = in.profile;
  const Provenance& pv = p.provenance;
  std::string out = fmt::format("<section class=\"card\" id=\"profile\">\n<h2>Board profile: {}</h2>\n", html_escape(p.board));
  const std::string notice = provenance_notice(p);
  if (!notice.empty()) out += fmt::format("<p class=\"notice\" id=\"not-measured\">{}</p>\n", html_escape(notice));
  std::size_t priced = 0;
  std::size_t outside = 0;
  for (const EvaluationRecord& r : in.evaluations) {
    if (r.status == EvaluationStatus::failed && r.energy_mj == 0) continue;  // never priced
    ++priced;
    outside += r.extrapolated;
  }
  out += fmt::format("<p id=\"coverage\"><b>{} of {} candidates ({:.1f}%)</b> were priced outside the data the profile "
                     "was fitted on (their energies extrapolate the fitted models).</p>\n",
                     outside, priced, priced ? 100.0 * static_cast<double>(outside) / static_cast<double>(priced) : 0.0);
  for (const std::string& line : coverage_summary(in.evaluations, front, p, in.run_dir + "/config.yaml")) {
    out += fmt::format("<p class=\"hint\">{}</p>\n", html_escape(line));
  }
  out += "<dl>\n";
  const auto item = [&out](const char* key, const std::string& value) { out += definition_item(key, value); };
  item("file", in.profile_path);
  out += provenance_items(pv, "provenance");
  if (p.fit) {
    item("fitted on", fmt::format("{} rows of {} ({}), {}-fold cross-validation, {}", human_count(p.fit->rows), p.fit->input,
                                  p.fit->data, p.fit->folds, p.fit->tool));
  }
  out += "</dl>\n";
  out += "<h3>Fit quality (cross-validated, out of fold)</h3>\n<table><thead><tr><th>model</th><th class=\"num\">points"
         "</th><th class=\"num\">MAPE</th><th class=\"num\">RMSPE</th><th class=\"num\">R\u00b2</th><th class=\"num\">"
         "within 10%</th><th class=\"num\">band (measured / predicted)</th></tr></thead><tbody>\n";
  for (const FitSummary& f : p.energy.fits) out += quality_row("energy: " + kinds_text(f.kinds), f.quality);
  if (p.latency) {
    for (const FitSummary& f : p.latency->fits) out += quality_row("latency: " + kinds_text(f.kinds), f.quality);
  }
  out += "</tbody></table>\n";
  if (p.energy.fits.empty()) out += "<p class=\"hint\">The profile records no fit (a hand-written prior).</p>\n";
  out += "<p class=\"hint\">For each kind's family and coefficients: <code>joules report PROFILE.yaml</code>.</p>\n";
  return out + "</section>\n";
}

constexpr const char* kRunScript = R"js(
(function () {
  'use strict';
  var data = JSON.parse(document.getElementById('report-data').textContent);
  var byId = {};
  data.evaluations.forEach(function (r) { byId[String(r.id)] = r; });
  var plane = document.getElementById('plane');
  var tip = document.getElementById('tip');
  var pinned = null;
  function num(v) { return v === null || v === undefined ? '\u2013' : Number(v).toPrecision(3); }
  function group(v) { return Number(v).toLocaleString('en-US'); }
  function row(key, value, cls) {
    var div = document.createElement('div');
    if (cls) div.className = cls;
    var b = document.createElement('b');
    b.textContent = key + ': ';
    div.appendChild(b);
    div.appendChild(document.createTextNode(value));
    tip.appendChild(div);
  }
  function place(x, y) {
    var w = tip.offsetWidth, h = tip.offsetHeight;
    var left = x + 14, top = y + 14;
    if (left + w > window.innerWidth - 4) left = Math.max(4, x - w - 14);
    if (top + h > window.innerHeight - 4) top = Math.max(4, y - h - 14);
    tip.style.left = left + 'px';
    tip.style.top = top + 'px';
  }
  function show(id, x, y) {
    var r = byId[id];
    if (!r) return;
    tip.textContent = '';
    var title = document.createElement('div');
    title.className = 'tip-title';
    title.textContent = '#' + r.id + (r.n ? ' ' + r.n : '') + (r.f ? ' \u2014 Pareto front' : '');
    tip.appendChild(title);
    row('status', r.s + ' (generation ' + r.g + ')');
    row('accuracy', r.a === null ? '\u2013 (not trained)' : (100 * r.a).toFixed(2) + ' %');
    row('energy', num(r.e) + ' mJ, band [' + num(r.lo) + ', ' + num(r.hi) + ']' +
        (r.x ? ' \u2014 extrapolated' : ''));
    row('latency', r.lat === null ? '\u2013 (no latency model)' : num(r.lat) + ' ms');
    row('MACs', group(r.macs));
    row('params', group(r.params));
    row('train', Number(r.t).toFixed(1) + ' s');
    row('layers', r.arch);
    if (r.err) row('error', r.err, 'tip-warn');
    var warnings = r.w || [];
    warnings.slice(0, 4).forEach(function (w) { row('warning', data.warnings[w], 'tip-warn'); });
    if (warnings.length > 4) row('and', (warnings.length - 4) + ' more warnings', 'tip-warn');
    if (r.f) row('click', 'the layers and their energy below');
    tip.setAttribute('data-shown', String(r.id));
    tip.hidden = false;
    place(x, y);
    var old = plane.querySelectorAll('.pt.sel');
    for (var i = 0; i < old.length; i++) old[i].classList.remove('sel');
    var el = plane.querySelector('.pt[data-id="' + id + '"]');
    if (el) el.classList.add('sel');
  }
  function hide() {
    if (pinned !== null) return;
    tip.hidden = true;
    tip.removeAttribute('data-shown');
  }
  function openMember(id, scroll) {
    var all = document.querySelectorAll('section.member');
    for (var i = 0; i < all.length; i++) all[i].hidden = true;
    var rows = document.querySelectorAll('tr[data-member]');
    for (var k = 0; k < rows.length; k++) rows[k].classList.toggle('sel', rows[k].getAttribute('data-member') === id);
    var s = document.getElementById('member-' + id);
    if (!s) return;
    s.hidden = false;
    if (scroll && s.scrollIntoView) s.scrollIntoView({behavior: 'smooth', block: 'start'});
  }
  function pointOf(ev) {
    var t = ev.target;
    while (t && t !== plane) {
      if (t.classList && t.classList.contains('pt') && t.hasAttribute('data-id')) return t;
      t = t.parentNode;
    }
    return null;
  }
  plane.addEventListener('mouseover', function (ev) {
    var p = pointOf(ev);
    if (p && pinned === null) show(p.getAttribute('data-id'), ev.clientX, ev.clientY);
  });
  plane.addEventListener('mousemove', function (ev) { if (!tip.hidden && pinned === null) place(ev.clientX, ev.clientY); });
  plane.addEventListener('mouseout', function (ev) { if (pointOf(ev)) hide(); });
  plane.addEventListener('click', function (ev) {
    var p = pointOf(ev);
    if (!p) { pinned = null; hide(); return; }
    var id = p.getAttribute('data-id');
    pinned = null;
    show(id, ev.clientX, ev.clientY);
    pinned = id;
    if (byId[id] && byId[id].f) openMember(id, ev.isTrusted);
  });
  document.addEventListener('keydown', function (ev) { if (ev.key === 'Escape') { pinned = null; hide(); } });
  var rows = document.querySelectorAll('tr[data-member]');
  for (var i = 0; i < rows.length; i++) {
    rows[i].addEventListener('click', function () { openMember(this.getAttribute('data-member'), true); });
  }
  var closers = document.querySelectorAll('[data-close]');
  for (var j = 0; j < closers.length; j++) {
    closers[j].addEventListener('click', function () { this.closest('section').hidden = true; });
  }
  // #hover=ID and #open=ID replay a hover or a click on that point (links, tests).
  function fromHash() {
    var m = /^#(hover|open)=(-?\d+)$/.exec(location.hash);
    if (!m) return;
    var el = plane.querySelector('.pt[data-id="' + m[2] + '"]');
    if (!el) return;
    var box = el.getBoundingClientRect();
    el.dispatchEvent(new MouseEvent(m[1] === 'hover' ? 'mouseover' : 'click',
        {bubbles: true, clientX: box.left + box.width / 2, clientY: box.top + box.height / 2}));
  }
  window.addEventListener('hashchange', fromHash);
  fromHash();
  document.body.setAttribute('data-ready', 'true');
})();
)js";

}  // namespace

std::vector<double> hypervolume_history(const std::vector<EvaluationRecord>& evaluations,
                                        const std::vector<Objective>& objectives) {
  if (objectives.size() < 2 || objectives.size() > 3) return {};
  const std::size_t m = objectives.size();
  ObjectiveMatrix points;
  std::vector<double> lo(m, std::numeric_limits<double>::infinity());
  std::vector<double> hi(m, -std::numeric_limits<double>::infinity());
  std::vector<bool> trained;
  for (const EvaluationRecord& r : evaluations) {
    trained.push_back(r.status == EvaluationStatus::ok && r.accuracy.has_value());
    points.push_back(minimised_objectives(r, objectives));
    if (!trained.back()) continue;
    for (std::size_t k = 0; k < m; ++k) {
      lo[k] = std::min(lo[k], points.back()[k]);
      hi[k] = std::max(hi[k], points.back()[k]);
    }
  }
  std::vector<double> history;
  ObjectiveMatrix front;  // the non-dominated points so far, normalised
  double volume = 0;
  const std::vector<double> reference(m, 1.1);
  for (std::size_t i = 0; i < evaluations.size(); ++i) {
    if (trained[i]) {
      std::vector<double> p(m);
      bool finite = true;
      for (std::size_t k = 0; k < m; ++k) {
        const double span = hi[k] > lo[k] ? hi[k] - lo[k] : 1;
        p[k] = (points[i][k] - lo[k]) / span;
        finite = finite && std::isfinite(p[k]);
      }
      if (finite) {
        front.push_back(std::move(p));
        ObjectiveMatrix kept;
        for (std::size_t j : pareto_front(front)) kept.push_back(front[j]);
        front = std::move(kept);
        volume = hypervolume(front, reference);
      }
    }
    history.push_back(volume);
  }
  return history;
}

std::string run_report_html(const RunReportInput& in) {
  const std::vector<EvaluationRecord> front = pareto_members(in.evaluations, in.config.search.objectives);
  std::set<std::int64_t> on_front;
  for (const EvaluationRecord& r : front) on_front.insert(r.id);
  const EvaluationCounts counts = count_evaluations(in.evaluations);
  const EnergyEstimator estimator(in.profile);

  std::string objectives;
  for (Objective o : in.config.search.objectives) objectives += (objectives.empty() ? "" : ", ") + std::string(to_string(o));
  std::string budgets;
  const Budgets& b = in.config.search.budgets;
  const auto budget = [&budgets](const std::string& text) { budgets += (budgets.empty() ? "" : ", ") + text; };
  if (b.energy_mj) budget(fmt::format("energy \u2264 {} mJ", human_number(*b.energy_mj)));
  if (b.latency_ms) budget(fmt::format("latency \u2264 {} ms", human_number(*b.latency_ms)));
  if (b.params) budget(fmt::format("params \u2264 {}", human_count(*b.params)));
  if (b.macs) budget(fmt::format("MACs \u2264 {}", human_count(*b.macs)));

  std::string body = fmt::format("<header>\n<h1>Search run {}</h1>\n<p class=\"sub\">{} \u00b7 board {} \u00b7 {}, {} "
                                 "candidates per generation \u00b7 objectives: {}{}</p>\n",
                                 html_escape(in.config.name), html_escape(in.run_dir), html_escape(in.profile.board),
                                 to_string(in.config.search.algorithm), in.config.search.population,
                                 html_escape(objectives), budgets.empty() ? "" : " \u00b7 budgets: " + html_escape(budgets));
  const std::string notice = provenance_notice(in.profile);
  if (!notice.empty()) body += fmt::format("<p class=\"notice\">{}</p>\n", html_escape(notice));
  double best_accuracy = 0;
  for (const EvaluationRecord& r : front) best_accuracy = std::max(best_accuracy, *r.accuracy);
  body += fmt::format("<ul class=\"stats\"><li><b id=\"count-evaluations\">{}</b>evaluations</li><li><b>{}</b>trained</li>"
                      "<li><b>{}</b>over a budget</li><li><b>{}</b>failed</li><li><b id=\"count-front\">{}</b>on the "
                      "front</li><li><b>{}</b>best accuracy</li><li><b>{}</b>lowest front energy</li></ul>\n</header>\n"
                      "<main>\n",
                      counts.total(), counts.ok, counts.infeasible, counts.failed, front.size(),
                      front.empty() ? "\u2013" : fmt::format("{:.2f}%", 100 * best_accuracy),
                      front.empty() ? "\u2013" : human_number(front.front().energy_mj) + " mJ");
  body += "<section class=\"card\" id=\"plane-card\">\n<h2>Accuracy against energy</h2>\n";
  body += plane_svg(in, front);
  body += "<p class=\"hint\">Hover or tap a point for its figures; click a front member for its layers. Candidates "
          "without an accuracy (over a budget, failed) sit on the strip below the lowest accuracy.</p>\n</section>\n";
  body += "<section class=\"card\" id=\"front\">\n<h2>Pareto front</h2>\n" + front_table(front) + "</section>\n";
  for (const EvaluationRecord& r : front) body += member_section(r, estimator);
  body += "<div class=\"grid\">\n<section class=\"card\" id=\"convergence\">\n<h2>How the search converged</h2>\n";
  const std::vector<double> history = hypervolume_history(in.evaluations, in.config.search.objectives);
  body += history.empty() ? "<p class=\"hint\">The hypervolume is computed for 2 or 3 objectives only.</p>\n"
                          : hypervolume_svg(history);
  body += "</section>\n<section class=\"card\" id=\"training\">\n<h2>Training time</h2>\n" + train_time_svg(in.evaluations) +
          "</section>\n</div>\n";
  body += profile_card(in, front);
  body += fmt::format("<section class=\"card\" id=\"config\">\n<h2>Config</h2>\n<details><summary>config.yaml as run"
                      "</summary>\n<pre>{}</pre>\n</details>\n</section>\n</main>\n",
                      html_escape(in.config_yaml));
  body += "<footer>Written by joules report. One self-contained file: it fetches nothing.</footer>\n";
  body += "<div id=\"tip\" role=\"status\" hidden></div>\n";
  body += json_script("report-data", report_json(in.evaluations, on_front));
  return html_document(fmt::format("joules run {}", in.config.name), body, kRunScript);
}

WrittenReport write_run_report(const fs::path& run_dir, const fs::path& out) {
  const fs::path config_path = run_dir / "config.yaml";
  if (!fs::exists(config_path)) {
    throw InputError(run_dir.string(), 0, "RUN_DIR", "is not a search run directory (no config.yaml)");
  }
  RunReportInput in;
  in.run_dir = run_dir.string();
  in.config_yaml = read_input_file(config_path.string());
  in.config = load_search_config(config_path.string());
  in.profile_path = in.config.board;
  in.profile = load_board_profile(in.config.board);
  in.evaluations = read_evaluations(run_dir);
  WrittenReport written{.file = out.empty() ? run_dir / "report.html" : out, .evaluations = in.evaluations.size()};
  const std::string html = run_report_html(in);
  written.bytes = html.size();
  write_file_atomic(written.file, html);
  return written;
}

std::optional<std::string> try_write_run_report(const fs::path& run_dir) {
  try {
    write_run_report(run_dir);
    return std::nullopt;
  } catch (const std::exception& e) {
    return std::string(e.what());
  }
}

}  // namespace joules
