#pragma once
// What a fit says about itself, for people: a Markdown report (every candidate's
// cross-validated quality, per family k-fold and leave-one-family-out errors, the chosen
// coefficients, the notes) and an SVG of out-of-fold predictions against measurements.

#include <string>

#include "energy/fit.hpp"

namespace joules {

/// A Markdown document describing `fit`.
std::string fit_report_markdown(const BoardFit& fit);

/// Predicted (out of fold) against measured, log-log, one colour per family (or layer kind for
/// per-layer data), with the y = x diagonal. Throws std::invalid_argument when the fit has no
/// predictions of `quantity`.
std::string fit_plot_svg(const BoardFit& fit, Quantity quantity);

/// Per-layer data: measured energy (the fitted column) or latency against the layers' width,
/// the filter count (units for fc, channels for pool), with the fitted model as a line through
/// the same sizes: one colour per family and layer configuration (input, kernel, stride). Shows
/// the steps a scheduling granularity makes. Throws std::invalid_argument for network data or
/// a fit without `quantity`.
std::string fit_sweep_svg(const BoardFit& fit, const LayerMeasurementSet& data, Quantity quantity);

}  // namespace joules
