#pragma once
// Fitting board profiles from measurements: per-layer rows (each kind fitted on its own) or
// whole networks (the per-layer models fitted together through the sum over each network's
// layers, plus a per-inference overhead). Every candidate family (and stairs granularity) is
// fitted by non-negative weighted least squares on the relative error, and the candidate
// kept is the one with the lowest cross-validated MAPE (grouped k-fold), never the lowest
// training error. The chosen model is then refitted on all the data.

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "energy/board_profile.hpp"
#include "energy/measurements.hpp"

namespace joules {

/// The sets of scale factors a transfer fit (fit_network_transfer) tries; fit.cpp says which
/// terms each groups.
inline constexpr std::array<std::string_view, 5> kTransferScaleSets{"one", "per-kind", "per-term", "per-class",
                                                                      "per-term-1x1-dw"};

struct FitOptions {
  /// Candidate families (default: all).
  std::vector<ModelFamily> families{kModelFamilies.begin(), kModelFamilies.end()};
  /// Candidate scheduling granularities of stairs and traffic (default: 1, 8, 16, 32, 64, 128).
  std::vector<std::int64_t> granularities{kDefaultGranularities.begin(), kDefaultGranularities.end()};
  /// k of the grouped k-fold cross-validation; at least 2 (fewer groups: one fold per group).
  std::int64_t folds = 10;
  /// Shuffles the groups into folds.
  std::uint64_t seed = 1;
  /// Share of the out-of-fold measured/predicted ratios inside the uncertainty band.
  double band_coverage = 0.9;
  /// Per-layer data only: the energy column to fit, "energy_mj" (idle power included: adds up
  /// over a network's layers) or "dynamic_energy_mj".
  std::string layer_energy_column = "energy_mj";
  /// Calibrate how the band widens outside the fitted ranges (ExtrapolationBand): refit below
  /// the split_percentile of the rows' MACs and measure above it, and the mirror image; the
  /// growth is the smallest that puts target_coverage of the held-out rows that lie outside
  /// the refits' ranges inside their bands. Costs two more fits (of the chosen family only).
  bool calibrate_extrapolation = false;
  /// Transfer fits only (fit_network_transfer): the candidate sets of scale factors (empty:
  /// all of kTransferScaleSets).
  std::vector<std::string> transfer_scales;
  double split_percentile = 80;
};

/// An out-of-fold prediction of the chosen model, for plots and reports.
struct FitPrediction {
  double measured = 0;
  double predicted = 0;
  std::string family;  // the row's family column (may be empty)
  LayerKind kind = LayerKind::conv;  // per-layer data: the layer's kind
};

struct BoardFit {
  BoardProfile profile;
  std::vector<FitPrediction> energy;   // out of fold
  std::vector<FitPrediction> latency;  // empty without latency data
};

/// Fits every layer kind present in `data` (energy, and latency when every row has it).
/// Throws InputError (naming the file, and the line where one row is at fault) when a kind has
/// fewer measurements than the smallest model has coefficients, when cross-validation has
/// fewer than 2 groups, for non-finite or non-positive targets, or for bad options.
BoardFit fit_layer_measurements(const LayerMeasurementSet& data, const BoardIdentity& identity,
                                const FitOptions& options = {});

/// Fits the per-layer models of every kind in the networks together, with a per-inference
/// overhead; energy, and latency when the data has it. Throws InputError as above.
BoardFit fit_network_measurements(const NetworkMeasurementSet& data, const BoardIdentity& identity,
                                  const FitOptions& options = {});

/// Transfer fitting: fits a new board from a handful of whole-network measurements by keeping
/// `prior`'s models (families, granularities and the ratios between their terms) and fitting a
/// few scale factors over groups of terms by non-negative least squares on the relative error,
/// plus a per-inference overhead. The candidates are sets of scales (one; per layer kind;
/// compute, memory and per-layer; the same with compute per kernel class), chosen as the
/// families are: the lowest grouped k-fold MAPE. CandidateResult::scales names the set;
/// FitInfo::prior the prior's board. Data kinds the prior prices through a fallback get a model
/// of their own (the fallback's, with their own scales where the set splits by kind). A
/// quantity the prior has no models of is fitted from scratch (noted). Options' families and
/// granularities are not used. Throws InputError as fit_network_measurements.
BoardFit fit_network_transfer(const NetworkMeasurementSet& data, const BoardProfile& prior,
                              const BoardIdentity& identity, const FitOptions& options = {});

/// How a profile's estimates compare with whole-network measurements it was not fitted on.
struct NetworkValidation {
  std::string file;
  Quality energy;
  std::optional<Quality> latency;  // when the data and the profile both have latency
};

/// Estimates every network of `data` with `profile` and scores them (see measure_quality).
/// Throws InputError for no rows, std::invalid_argument for a profile without a conv model.
NetworkValidation validate_on_networks(const BoardProfile& profile, const NetworkMeasurementSet& data,
                                       double band_coverage = 0.9);

/// Quality of predictions against measurements (see Quality). Throws std::invalid_argument for
/// spans of different lengths or no points.
Quality measure_quality(std::span<const double> measured, std::span<const double> predicted, double band_coverage);

}  // namespace joules
