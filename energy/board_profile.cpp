#include "energy/board_profile.hpp"

#include <cmath>
#include <limits>

#include <fmt/format.h>

#include "util/input_error.hpp"
#include "util/yaml_reader.hpp"
#include "util/yaml_writer.hpp"

namespace joules {
namespace {

using yaml::Value;

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr std::int64_t kFormat = 1;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// ---- reading ----

std::string optional_string(const Value& map, std::string_view key) {
  const Value v = map.get(key);
  return v.is_null() ? std::string() : v.as_string();
}

std::vector<std::string> string_list(const Value& v) {
  std::vector<std::string> out;
  if (v.is_null()) return out;
  if (!v.is_sequence()) v.fail("expected a list of strings");
  for (std::size_t i = 0; i < v.size(); ++i) out.push_back(v.at(i).as_string());
  return out;
}

RailCalibration read_calibration(const Value& v) {
  if (!v.is_map()) v.fail("expected a map with rail, gain, offset_mw, points, r_squared, rmse_mw");
  v.allow_keys({"rail", "gain", "offset_mw", "points", "r_squared", "rmse_mw", "max_abs_error_mw", "source"});
  RailCalibration c;
  c.rail = v.require("rail").as_string();
  c.gain = v.require("gain").as_double(0, kInf);
  if (!(c.gain > 0)) v.require("gain").fail("a calibration gain must be > 0");
  c.offset_mw = v.require("offset_mw").as_double(-kInf, kInf);
  c.points = static_cast<std::size_t>(v.require("points").as_int(2));
  c.r_squared = v.require("r_squared").as_double(-kInf, 1);
  c.rmse_mw = v.require("rmse_mw").as_double(0, kInf);
  c.max_abs_error_mw = v.get("max_abs_error_mw").is_null() ? 0.0 : v.get("max_abs_error_mw").as_double(0, kInf);
  c.source = optional_string(v, "source");
  return c;
}

Provenance read_provenance(const Value& v) {
  if (!v.is_map()) v.fail("expected a map with kind, sensor, rails, device, software, date, source");
  v.allow_keys({"kind", "sensor", "rails", "device", "software", "date", "source", "notes", "estimate", "calibrations"});
  Provenance p;
  p.kind = v.require("kind").as_enum(kProvenanceKindNames);
  p.sensor = optional_string(v, "sensor");
  p.rails = string_list(v.get("rails"));
  p.device = optional_string(v, "device");
  p.software = optional_string(v, "software");
  p.date = optional_string(v, "date");
  p.source = optional_string(v, "source");
  p.notes = optional_string(v, "notes");
  p.estimate = !v.get("estimate").is_null() && v.get("estimate").as_bool();
  const Value calibrations = v.get("calibrations");
  if (!calibrations.is_null()) {
    if (!calibrations.is_sequence()) calibrations.fail("expected a list of rail calibrations");
    for (std::size_t i = 0; i < calibrations.size(); ++i) p.calibrations.push_back(read_calibration(calibrations.at(i)));
  }
  return p;
}

BoardIdentity read_identity(const Value& root) {
  BoardIdentity id;
  id.board = root.require("board").as_string();
  if (id.board.empty()) root.require("board").fail("the board name must not be empty");
  id.provenance = read_provenance(root.require("provenance"));
  return id;
}

Quality read_quality(const Value& v) {
  if (!v.is_map()) v.fail("expected a map of quality figures");
  v.allow_keys({"points", "mape_pct", "rmspe_pct", "r2", "within_10_pct", "band", "band_coverage"});
  Quality q;
  q.points = v.require("points").as_int(0);
  q.mape_pct = v.require("mape_pct").as_double(0, kInf);
  q.rmspe_pct = v.require("rmspe_pct").as_double(0, kInf);
  // null: undefined (written for a NaN r2: measured values without spread, or overflowing sums).
  q.r2 = v.require("r2").is_null() ? kNaN : v.require("r2").as_double(-kInf, 1);
  q.within_10_pct = v.require("within_10_pct").as_double(0, 100);
  const Value band = v.require("band");
  if (!band.is_sequence() || band.size() != 2) band.fail("expected [low, high]: measured / predicted ratios");
  q.band_low = band.at(0).as_double(0, kMaxBandRatio);
  q.band_high = band.at(1).as_double(q.band_low, kMaxBandRatio);
  q.band_coverage = v.require("band_coverage").as_double(0, 1);
  return q;
}

std::int64_t read_granularity(const Value& v) { return v.as_int(1, 1 << 20); }

ModelFamily read_family(const Value& v) {
  return v.as_enum(kModelFamilyNames);
}

CandidateResult read_candidate(const Value& v) {
  if (!v.is_map()) v.fail("expected a map with family, granularity and quality figures");
  v.allow_keys({"family", "granularity", "scales", "cv", "lofo_mape_pct", "chosen"});
  CandidateResult c;
  c.family = read_family(v.require("family"));
  c.granularity = read_granularity(v.require("granularity"));
  c.scales = optional_string(v, "scales");
  c.cv = read_quality(v.require("cv"));
  if (!v.get("lofo_mape_pct").is_null()) c.lofo_mape_pct = v.get("lofo_mape_pct").as_double(0, kInf);
  c.chosen = !v.get("chosen").is_null() && v.get("chosen").as_bool();
  return c;
}

std::vector<GroupResult> read_groups(const Value& v) {
  std::vector<GroupResult> out;
  if (v.is_null()) return out;
  if (!v.is_sequence()) v.fail("expected a list of {name, predictable, quality}");
  for (std::size_t i = 0; i < v.size(); ++i) {
    const Value g = v.at(i);
    if (!g.is_map()) g.fail("expected a map with name and quality");
    g.allow_keys({"name", "predictable", "quality"});
    GroupResult r;
    r.name = g.require("name").as_string();
    r.predictable = g.get("predictable").is_null() || g.get("predictable").as_bool();
    r.quality = read_quality(g.require("quality"));
    out.push_back(std::move(r));
  }
  return out;
}

LayerKind read_kind(const Value& v) {
  return v.as_enum(kLayerKindNames);
}

FitSummary read_fit_summary(const Value& v) {
  if (!v.is_map()) v.fail("expected a map with kinds, quality and candidates");
  v.allow_keys({"kinds", "quality", "candidates", "per_family", "leave_one_family_out", "notes"});
  FitSummary s;
  const Value kinds = v.require("kinds");
  if (!kinds.is_sequence() || kinds.size() == 0) kinds.fail("expected a list of layer kinds");
  for (std::size_t i = 0; i < kinds.size(); ++i) s.kinds.push_back(read_kind(kinds.at(i)));
  s.quality = read_quality(v.require("quality"));
  const Value candidates = v.get("candidates");
  if (!candidates.is_null() && !candidates.is_sequence()) candidates.fail("expected a list of candidates");
  for (std::size_t i = 0; i < candidates.size(); ++i) s.candidates.push_back(read_candidate(candidates.at(i)));
  s.per_family = read_groups(v.get("per_family"));
  s.leave_one_family_out = read_groups(v.get("leave_one_family_out"));
  s.notes = string_list(v.get("notes"));
  return s;
}

LayerModel read_model(const Value& v, Quantity quantity, LayerKind kind) {
  if (!v.is_map()) v.fail("expected a map with family, granularity and coefficients");
  LayerModel m;
  m.family = read_family(v.require("family"));
  if (!v.get("granularity").is_null()) m.granularity = read_granularity(v.get("granularity"));
  if (m.family == ModelFamily::linear && m.granularity != 1) {
    v.get("granularity").fail("a linear model has no granularity (it must be 1)");
  }
  // The keys must be exactly the family's coefficients for this kind.
  const auto terms = family_terms(m.family, kind);
  for (const std::string& key : v.keys()) {
    if (key == "family" || key == "granularity") continue;
    const auto term = parse_coefficient_key(quantity, key);
    bool used = false;
    for (Term t : terms) used = used || (term && *term == t);
    if (!used) v.get(key).fail(fmt::format("unknown key for a {} {} model of {}", to_string(m.family),
                                           to_string(quantity), to_string(kind)));
  }
  for (Term t : terms) {
    m.coefficients[static_cast<std::size_t>(t)] =
        v.require(coefficient_key(quantity, t)).as_double(0, kMaxCoefficient);
  }
  return m;
}

QuantityModels read_quantity(const Value& v, Quantity quantity) {
  if (!v.is_map()) v.fail("expected a map with target, models and fits");
  const std::string overhead_key = fmt::format("overhead_{}", unit_prefix(quantity));
  for (const std::string& key : v.keys()) {
    if (key != "target" && key != overhead_key && key != "models" && key != "fits") {
      v.get(key).fail(fmt::format("unknown key (expected target, {}, models, fits)", overhead_key));
    }
  }
  QuantityModels q;
  q.target = v.require("target").as_string();
  if (!v.get(overhead_key).is_null()) q.overhead = v.get(overhead_key).as_double(0, kMaxCoefficient);
  const Value models = v.require("models");
  if (!models.is_map()) models.fail("expected a map from layer kind to model");
  for (const std::string& key : models.keys()) {
    const auto kind = parse_layer_kind(key);
    if (!kind) models.get(key).fail("unknown layer kind (expected conv, depthwise, fc or pool)");
    q.layers[static_cast<std::size_t>(*kind)] = read_model(models.get(key), quantity, *kind);
  }
  const Value fits = v.get("fits");
  if (!fits.is_null() && !fits.is_sequence()) fits.fail("expected a list of fits");
  for (std::size_t i = 0; i < fits.size(); ++i) q.fits.push_back(read_fit_summary(fits.at(i)));
  return q;
}

FitInfo read_fit_info(const Value& v) {
  if (!v.is_map()) v.fail("expected a map with input, data, rows, folds, seed, tool");
  v.allow_keys({"input", "data", "rows", "data_fnv1a64", "folds", "seed", "tool", "prior"});
  FitInfo f;
  f.input = v.require("input").as_string();
  if (f.input != "layers" && f.input != "networks") v.require("input").fail("expected layers or networks");
  f.data = optional_string(v, "data");
  f.rows = v.require("rows").as_int(0);
  f.data_fnv1a64 = optional_string(v, "data_fnv1a64");
  f.folds = v.require("folds").as_int(2);
  f.seed = static_cast<std::uint64_t>(v.require("seed").as_int(0));
  f.tool = optional_string(v, "tool");
  f.prior = optional_string(v, "prior");
  return f;
}

KindRanges read_ranges(const Value& v, LayerKind kind) {
  if (!v.is_map()) v.fail("expected a map from size to [low, high]");
  KindRanges out{};
  for (const std::string& key : v.keys()) {
    const Value r = v.get(key);
    const auto range_key = parse_range_key(key);
    bool valid = false;
    for (RangeKey k : range_keys(kind)) valid = valid || (range_key && k == *range_key);
    if (!valid) r.fail(fmt::format("not a recorded size of a {} layer", to_string(kind)));
    if (!r.is_sequence() || r.size() != 2) r.fail("expected [low, high]");
    const double lo = r.at(0).as_double(0, kInf);
    out[static_cast<std::size_t>(*range_key)] = Range{lo, r.at(1).as_double(lo, kInf)};
  }
  return out;
}

ExtrapolationBand read_extrapolation(const Value& v) {
  if (!v.is_map()) v.fail("expected a map with growth_per_decade, split_percentile, target_coverage, checks");
  v.allow_keys({"growth_per_decade", "split_percentile", "target_coverage", "checks"});
  ExtrapolationBand b;
  b.growth_per_decade = v.require("growth_per_decade").as_double(0, 1e6);
  if (v.get("split_percentile").defined()) b.split_percentile = v.get("split_percentile").as_double(50, 100);
  if (v.get("target_coverage").defined()) b.target_coverage = v.get("target_coverage").as_double(0, 1);
  const Value checks = v.get("checks");
  if (checks.defined()) {
    if (!checks.is_sequence()) checks.fail("expected a list of checks");
    for (std::size_t i = 0; i < checks.size(); ++i) {
      const Value c = checks.at(i);
      c.allow_keys({"direction", "held_out", "coverage_before", "coverage_after"});
      b.checks.push_back(ExtrapolationCheck{.direction = c.require("direction").as_string(),
                                            .held_out = c.require("held_out").as_int(0),
                                            .coverage_before = c.require("coverage_before").as_double(0, 1),
                                            .coverage_after = c.require("coverage_after").as_double(0, 1)});
    }
  }
  return b;
}

BoardProfile read_profile(const Value& root) {
  if (!root.is_map()) root.fail("expected a board profile: a map with format, board, provenance, energy");
  root.allow_keys({"format", "board", "provenance", "fit", "energy", "latency", "ranges", "extrapolation"});
  BoardProfile p;
  p.format = root.require("format").as_int();
  if (p.format != kFormat) {
    root.require("format").fail(fmt::format("unsupported profile format {} (this joules reads {})", p.format, kFormat));
  }
  BoardIdentity id = read_identity(root);
  p.board = std::move(id.board);
  p.provenance = std::move(id.provenance);
  if (!root.get("fit").is_null()) p.fit = read_fit_info(root.get("fit"));
  p.energy = read_quantity(root.require("energy"), Quantity::energy);
  if (!p.energy.model(LayerKind::conv)) {
    root.require("energy").require("models").fail("a profile needs at least a conv energy model");
  }
  if (!root.get("latency").is_null()) p.latency = read_quantity(root.get("latency"), Quantity::latency);
  const Value ranges = root.get("ranges");
  if (!ranges.is_null()) {
    if (!ranges.is_map()) ranges.fail("expected a map from layer kind to ranges");
    for (const std::string& key : ranges.keys()) {
      const auto kind = parse_layer_kind(key);
      if (!kind) ranges.get(key).fail("unknown layer kind (expected conv, depthwise, fc or pool)");
      p.ranges[static_cast<std::size_t>(*kind)] = read_ranges(ranges.get(key), *kind);
    }
  }
  if (!root.get("extrapolation").is_null()) p.extrapolation = read_extrapolation(root.get("extrapolation"));
  return p;
}

// ---- writing ----

std::string profile_text(const BoardProfile& p);

std::string number(double value) { return fmt::format("{}", value); }

std::string quality_yaml(const Quality& q) {
  return fmt::format(
      "{{points: {}, mape_pct: {}, rmspe_pct: {}, r2: {}, within_10_pct: {}, band: [{}, {}], "
      "band_coverage: {}}}",
      q.points, number(q.mape_pct), number(q.rmspe_pct), std::isnan(q.r2) ? "null" : number(q.r2),
      number(q.within_10_pct),
      number(q.band_low), number(q.band_high), number(q.band_coverage));
}

std::string string_list_yaml(const std::vector<std::string>& items) {
  std::string out = "[";
  for (std::size_t i = 0; i < items.size(); ++i) out += (i ? ", " : "") + yaml_scalar(items[i]);
  return out + "]";
}

// `estimate` and `calibrations` only when set, so that profiles without them read as before.
void write_provenance(std::string& out, const Provenance& v) {
  out += "provenance:\n";
  out += fmt::format("  kind: {}\n", to_string(v.kind));
  out += fmt::format("  sensor: {}\n", yaml_scalar(v.sensor));
  out += fmt::format("  rails: {}\n", string_list_yaml(v.rails));
  out += fmt::format("  device: {}\n", yaml_scalar(v.device));
  out += fmt::format("  software: {}\n", yaml_scalar(v.software));
  out += fmt::format("  date: {}\n", yaml_scalar(v.date));
  out += fmt::format("  source: {}\n", yaml_scalar(v.source));
  out += fmt::format("  notes: {}\n", yaml_scalar(v.notes));
  if (v.estimate) out += "  estimate: true  # energy = measured time x a configured power, not measured\n";
  if (!v.calibrations.empty()) {
    out += "  calibrations:  # corrected = gain x internal + offset_mw, applied to every sample\n";
    for (const RailCalibration& c : v.calibrations) {
      out += fmt::format(
          "    - {{rail: {}, gain: {}, offset_mw: {}, points: {}, r_squared: {}, rmse_mw: {}, max_abs_error_mw: {}, "
          "source: {}}}\n",
          yaml_scalar(c.rail), number(c.gain), number(c.offset_mw), c.points, number(c.r_squared), number(c.rmse_mw),
          number(c.max_abs_error_mw), yaml_scalar(c.source));
    }
  }
}

void write_groups(std::string& out, std::string_view key, const std::vector<GroupResult>& groups) {
  if (groups.empty()) return;
  out += fmt::format("      {}:\n", key);
  for (const GroupResult& g : groups) {
    out += fmt::format("        - {{name: {}, predictable: {}, quality: {}}}\n", yaml_scalar(g.name),
                       g.predictable, quality_yaml(g.quality));
  }
}

void write_quantity(std::string& out, const QuantityModels& q, Quantity quantity) {
  out += fmt::format("{}:\n", to_string(quantity));
  out += fmt::format("  target: {}\n", yaml_scalar(q.target));
  out += fmt::format("  overhead_{}: {}\n", unit_prefix(quantity), number(q.overhead));
  out += "  models:\n";
  for (LayerKind kind : kLayerKinds) {
    const auto& m = q.model(kind);
    if (!m) continue;
    out += fmt::format("    {}: {{family: {}", to_string(kind), to_string(m->family));
    if (m->family != ModelFamily::linear) out += fmt::format(", granularity: {}", m->granularity);
    for (Term t : family_terms(m->family, kind)) {
      out += fmt::format(", {}: {}", coefficient_key(quantity, t), number(m->coefficients[static_cast<std::size_t>(t)]));
    }
    out += "}\n";
  }
  if (q.fits.empty()) return;
  out += "  fits:\n";
  for (const FitSummary& s : q.fits) {
    std::vector<std::string> kinds;
    for (LayerKind k : s.kinds) kinds.emplace_back(to_string(k));
    out += fmt::format("    - kinds: {}\n", string_list_yaml(kinds));
    out += fmt::format("      quality: {}\n", quality_yaml(s.quality));
    if (!s.candidates.empty()) {
      out += "      candidates:\n";
      for (const CandidateResult& c : s.candidates) {
        out += fmt::format("        - {{family: {}, granularity: {}, ", to_string(c.family), c.granularity);
        if (!c.scales.empty()) out += fmt::format("scales: {}, ", yaml_scalar(c.scales));
        out += fmt::format("chosen: {}, cv: {}", c.chosen, quality_yaml(c.cv));
        if (c.lofo_mape_pct) out += fmt::format(", lofo_mape_pct: {}", number(*c.lofo_mape_pct));
        out += "}\n";
      }
    }
    write_groups(out, "per_family", s.per_family);
    write_groups(out, "leave_one_family_out", s.leave_one_family_out);
    if (!s.notes.empty()) {
      out += "      notes:\n";
      for (const std::string& n : s.notes) out += fmt::format("        - {}\n", yaml_scalar(n));
    }
  }
}

}  // namespace

std::string_view to_string(ProvenanceKind kind) { return name_of(kProvenanceKindNames, kind); }

std::optional<ProvenanceKind> parse_provenance_kind(std::string_view text) {
  return value_of(kProvenanceKindNames, text);
}

bool is_measured(const BoardProfile& profile) { return profile.provenance.kind == ProvenanceKind::measured; }

std::string provenance_notice(const BoardProfile& profile) {
  if (is_measured(profile)) {
    if (!profile.provenance.estimate) return "";
    return fmt::format(
        "profile {}'s energy figures are an ESTIMATE (the timer estimate: measured time x a configured power), not "
        "measured energy; its latency is measured",
        profile.board);
  }
  const std::string what = profile.provenance.kind == ProvenanceKind::third_party
                               ? "third-party data"
                               : "a datasheet prior";
  std::string out = fmt::format("profile {} is {}, not measured by joules on this board", profile.board, what);
  std::vector<std::string> details;
  if (!profile.energy.fits.empty()) {
    details.push_back(fmt::format("cross-validated energy MAPE {:.1f}%", profile.energy.fits.front().quality.mape_pct));
  }
  if (!profile.provenance.source.empty()) details.push_back("source: " + profile.provenance.source);
  for (std::size_t i = 0; i < details.size(); ++i) out += (i ? "; " : " (") + details[i];
  return details.empty() ? out : out + ")";
}

BoardProfile parse_board_profile(const std::string& text, const std::string& file) {
  return read_profile(Value::parse_string(text, file));
}

BoardProfile load_board_profile(const std::string& path) { return read_profile(Value::parse_file(path)); }

BoardIdentity load_board_identity(const std::string& path) {
  const Value root = Value::parse_file(path);
  if (!root.is_map()) root.fail("expected a map with board and provenance");
  root.allow_keys({"board", "provenance"});
  return read_identity(root);
}

std::string to_yaml(const BoardIdentity& identity) {
  std::string out = "# joules provenance: who measured what, how, on which board (joules fit --provenance).\n";
  out += fmt::format("board: {}\n", yaml_scalar(identity.board));
  write_provenance(out, identity.provenance);
  return out;
}

std::string to_yaml(const BoardProfile& p) {
  std::string out = profile_text(p);
  // Never write what no command can read: a non-finite or out-of-range figure is refused here.
  try {
    parse_board_profile(out, "profile");
  } catch (const InputError& e) {
    throw std::invalid_argument(fmt::format("board profile {} cannot be written: {}: {}", p.board,
                                            e.key(), e.message()));
  }
  return out;
}

namespace {

std::string profile_text(const BoardProfile& p) {
  std::string out = "# joules board profile: energy (and latency) per inference, batch 1. See README.md.\n";
  out += fmt::format("format: {}\n", p.format);
  out += fmt::format("board: {}\n", yaml_scalar(p.board));
  write_provenance(out, p.provenance);
  if (p.fit) {
    const FitInfo& f = *p.fit;
    out += "fit:\n";
    out += fmt::format("  input: {}\n", f.input);
    out += fmt::format("  data: {}\n", yaml_scalar(f.data));
    out += fmt::format("  rows: {}\n", f.rows);
    out += fmt::format("  data_fnv1a64: {}\n", yaml_scalar(f.data_fnv1a64));
    out += fmt::format("  folds: {}\n", f.folds);
    out += fmt::format("  seed: {}\n", f.seed);
    out += fmt::format("  tool: {}\n", yaml_scalar(f.tool));
    if (!f.prior.empty()) out += fmt::format("  prior: {}\n", yaml_scalar(f.prior));
  }
  write_quantity(out, p.energy, Quantity::energy);
  if (p.latency) write_quantity(out, *p.latency, Quantity::latency);
  bool any_range = false;
  for (const KindRanges& r : p.ranges) {
    for (const auto& x : r) any_range = any_range || x.has_value();
  }
  if (any_range) {
    out += "ranges:  # of the data each kind's models were fitted on\n";
    for (LayerKind kind : kLayerKinds) {
      std::string body;
      for (RangeKey key : range_keys(kind)) {
        const auto& r = p.range(kind)[static_cast<std::size_t>(key)];
        if (r) body += fmt::format("{}{}: [{}, {}]", body.empty() ? "" : ", ", to_string(key), number(r->lo), number(r->hi));
      }
      if (!body.empty()) out += fmt::format("  {}: {{{}}}\n", to_string(kind), body);
    }
  }
  if (p.extrapolation) {
    const ExtrapolationBand& b = *p.extrapolation;
    out += "extrapolation:  # outside the ranges each band end moves out by 1 + growth_per_decade * decades\n";
    out += fmt::format("  growth_per_decade: {}\n  split_percentile: {}\n  target_coverage: {}\n",
                       number(b.growth_per_decade), number(b.split_percentile), number(b.target_coverage));
    if (!b.checks.empty()) out += "  checks:\n";
    for (const ExtrapolationCheck& c : b.checks) {
      out += fmt::format("    - {{direction: {}, held_out: {}, coverage_before: {}, coverage_after: {}}}\n",
                         yaml_scalar(c.direction), c.held_out, number(c.coverage_before), number(c.coverage_after));
    }
  }
  return out;
}

}  // namespace

}  // namespace joules
