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

}  // namespace joules
