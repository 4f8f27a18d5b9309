#pragma once
// A board profile (profiles/BOARD.yaml, DESIGN.md): who measured what, how, on which board;
// per layer kind the fitted models of energy and (optionally) latency per inference; how good
// the fit is under cross-validation; and the range of the data each model was fitted on.
// Plain values: comparable, written and read back exactly.

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "energy/layer_features.hpp"
#include "energy/model_family.hpp"
#include "energy/rail_calibration.hpp"

namespace joules {

/// Where a profile's data comes from. Only `measured` means measured by joules itself on the
/// board (`joules profile`); everything else makes the commands that use it say so.
enum class ProvenanceKind { measured, third_party, datasheet };
inline constexpr EnumNames<ProvenanceKind, 3> kProvenanceKindNames{{{ProvenanceKind::measured, "measured"},
                                                                     {ProvenanceKind::third_party, "third-party"},
                                                                     {ProvenanceKind::datasheet, "datasheet"}}};
std::string_view to_string(ProvenanceKind kind);  // "measured", "third-party", "datasheet"
std::optional<ProvenanceKind> parse_provenance_kind(std::string_view text);

struct Provenance {
  ProvenanceKind kind = ProvenanceKind::datasheet;
  std::string sensor;               // e.g. "INA3221 via tegrastats, 1 Hz"
  std::vector<std::string> rails;   // e.g. {"POM_5V_GPU"}
  std::string device;               // board, power mode, clocks
  std::string software;             // L4T, TensorRT / LibTorch versions
  std::string date;                 // of the measurements
  std::string source;               // a repository, a paper, a run directory
  std::string notes;                // caveats a user should read
  /// True when the energy figures are not measured but estimated (joules profile with the
  /// timer estimate: measured time x a configured power). Users of the profile are told.
  bool estimate = false;
  /// Calibrations applied to the rails' readings while measuring (joules profile
  /// --calibration), with their fit quality.
  std::vector<RailCalibration> calibrations;

  bool operator==(const Provenance&) const = default;
};

/// How well predictions match measurements, out of fold (never training error).
/// Percentages are rounded to 4 significant digits when a fit computes them.
struct Quality {
  std::int64_t points = 0;
  double mape_pct = 0;       // mean absolute percentage error
  double rmspe_pct = 0;      // root mean squared percentage error
  double r2 = 0;             // coefficient of determination on the measured values; NaN when
                             // undefined (no spread in them), written `r2: null`
  double within_10_pct = 0;  // share of points within +-10%
  /// Measured / predicted at the (1 - coverage) / 2 and (1 + coverage) / 2 quantiles: an
  /// estimate E has the band [E * band_low, E * band_high].
  double band_low = 1;
  double band_high = 1;
  double band_coverage = 0.9;

  bool operator==(const Quality&) const = default;
};

/// Cross-validation of one candidate model (family and granularity).
struct CandidateResult {
  ModelFamily family = ModelFamily::linear;
  std::int64_t granularity = 1;
  /// Transfer fits (fit_network_transfer): the set of scale factors fitted over the prior's
  /// terms ("one", "per-kind", "per-term", "per-class"); family and granularity are the
  /// prior's conv model's. Empty for fits from scratch.
  std::string scales;
  Quality cv;
  /// Mean MAPE over the predictable left-out families (absent without families).
  std::optional<double> lofo_mape_pct;
  bool chosen = false;

  bool operator==(const CandidateResult&) const = default;
};

/// Quality over one family of the data (a `family` column): its k-fold out-of-fold errors,
/// or its errors when left out of the fit entirely.
struct GroupResult {
  std::string name;
  Quality quality;
  /// False when the family holds a layer kind that no other family has: leaving it out
  /// cannot predict it, so it is reported but not averaged in.
  bool predictable = true;

  bool operator==(const GroupResult&) const = default;
};

/// One fit: the layer kinds it covers (all of them, for network-level data, whose layers are
/// fitted together; one, for per-layer data), how its candidates fared and the chosen one's
/// quality.
struct FitSummary {
  std::vector<LayerKind> kinds;
  Quality quality;
  std::vector<CandidateResult> candidates;
  std::vector<GroupResult> per_family;
  std::vector<GroupResult> leave_one_family_out;
  std::vector<std::string> notes;  // terms the data could not identify, and what was done

  bool operator==(const FitSummary&) const = default;
};

/// The models of one quantity (energy in mJ, latency in ms) per inference at batch 1.
struct QuantityModels {
  std::string target;    // the measured column the models predict, e.g. "gpu_energy_mj"
  double overhead = 0;   // per inference, independent of the layers (mJ or ms)
  std::array<std::optional<LayerModel>, kLayerKindCount> layers;  // indexed by LayerKind
  std::vector<FitSummary> fits;

  const std::optional<LayerModel>& model(LayerKind kind) const {
    return layers[static_cast<std::size_t>(kind)];
  }
  bool operator==(const QuantityModels&) const = default;
};

/// The smallest and largest value of a size in the data a model was fitted on.
struct Range {
  double lo = 0;
  double hi = 0;
  bool contains(double value) const { return value >= lo && value <= hi; }
  bool operator==(const Range&) const = default;
};
using KindRanges = std::array<std::optional<Range>, kRangeKeyCount>;  // indexed by RangeKey

/// One check of the extrapolation band: refitted on part of the data and measured on the
/// networks (or layers) held out beyond that part's ranges.
struct ExtrapolationCheck {
  /// "above": fitted on the rows below the split's MAC percentile, measured above it;
  /// "below": fitted above the mirror percentile, measured below it.
  std::string direction;
  std::int64_t held_out = 0;   // held-out rows outside the refit's ranges
  double coverage_before = 0;  // share of them inside the band without widening
  double coverage_after = 0;   // ... inside the widened band

  bool operator==(const ExtrapolationCheck&) const = default;
};

/// How an estimate's band widens outside the ranges: each end moves out by the factor
/// 1 + growth_per_decade * d, d the decades (log10 of the worst extrapolation factor) by which
/// a layer lies outside its kind's ranges.
struct ExtrapolationBand {
  double growth_per_decade = 0;
  double split_percentile = 80;  // of the rows' MACs, for the checks
  double target_coverage = 0.9;  // share of the held-out rows the growth was chosen to cover
  std::vector<ExtrapolationCheck> checks;

  bool operator==(const ExtrapolationBand&) const = default;
};

/// How the profile was fitted.
struct FitInfo {
  std::string input;      // "layers" or "networks": the kind of measurements
  std::string data;       // the measurements file (relative to the profile when beside it)
  std::int64_t rows = 0;
  std::string data_fnv1a64;  // hash of the file's bytes, to recognise the data
  std::int64_t folds = 10;
  std::uint64_t seed = 1;
  std::string tool;       // "joules 0.1.0"
  /// Transfer fits: the prior profile whose models were rescaled ("BOARD (FILE, FNV-1a HASH)").
  std::string prior;

  bool operator==(const FitInfo&) const = default;
};

struct BoardProfile {
  std::int64_t format = 1;
  std::string board;
  Provenance provenance;
  std::optional<FitInfo> fit;  // absent for a hand-written datasheet prior
  QuantityModels energy;       // has at least a conv model
  std::optional<QuantityModels> latency;
  std::array<KindRanges, kLayerKindCount> ranges{};  // indexed by LayerKind
  std::optional<ExtrapolationBand> extrapolation;    // absent: the band does not widen

  const KindRanges& range(LayerKind kind) const { return ranges[static_cast<std::size_t>(kind)]; }
  bool operator==(const BoardProfile&) const = default;
};

/// True when joules itself measured the data on the board (provenance kind `measured`).
bool is_measured(const BoardProfile& profile);

/// One line for users of a profile that is not `measured`, e.g. "profile jetson-nano is
/// third-party data, not measured by joules on this board (cross-validated energy MAPE 5.6%;
/// source: ...)", or whose energy is an estimate ("profile cpu's energy figures are an
/// ESTIMATE ..."); empty for a measured profile with measured energy.
std::string provenance_notice(const BoardProfile& profile);

/// Largest coefficient (and overhead) a profile may hold, and largest band ratio: with at most
/// a million layers of int64 sizes, no estimate from such a profile can overflow a double.
inline constexpr double kMaxCoefficient = 1e100;
inline constexpr double kMaxBandRatio = 1e100;

/// Reads a profile. Throws InputError ("FILE:LINE: KEY: message") for unreadable files, YAML
/// errors, unknown or missing keys, an unsupported format, negative, non-finite or larger
/// than kMaxCoefficient coefficients, band ratios above kMaxBandRatio, a profile without a
/// conv energy model. `r2: null` reads as NaN (undefined).
BoardProfile load_board_profile(const std::string& path);
BoardProfile parse_board_profile(const std::string& text, const std::string& file);

/// The board name and provenance that a fit writes into a profile.
struct BoardIdentity {
  std::string board;
  Provenance provenance;
};

/// Reads a provenance file (what `joules fit --provenance` takes, and what a profiler writes
/// beside its measurements): a map with exactly the `board` and `provenance` keys of a
/// profile. Throws InputError as load_board_profile.
BoardIdentity load_board_identity(const std::string& path);

/// The profile as YAML; parse_board_profile(to_yaml(p)) == p (but for NaN r2s, written null).
/// Throws std::invalid_argument naming the key when the text would not read back (a
/// non-finite figure, a coefficient above kMaxCoefficient): nothing unreadable is written.
std::string to_yaml(const BoardProfile& profile);

/// A provenance file as load_board_identity() reads it back equal.
std::string to_yaml(const BoardIdentity& identity);

}  // namespace joules
