#pragma once
// Comparing the fronts of several search runs (e.g. NSGA-II against random search, or two
// seeds) by the hypervolume they dominate in (error, energy), with one reference point for all.

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "search/evaluation_record.hpp"

namespace joules {

struct RunComparison {
  std::string label;  // the run directory's name
  std::filesystem::path dir;
  std::size_t evaluations = 0;  // logged
  std::size_t trained = 0;      // status ok
  std::vector<EvaluationRecord> front;  // (accuracy, energy) front, by increasing energy
  double hypervolume = 0;       // of the front in (1 - accuracy, energy_mj), see below
};

struct Comparison {
  /// The common reference point: error 1 (accuracy 0) and this energy, by default the highest
  /// energy of any trained candidate of the compared runs.
  double reference_energy_mj = 0;
  std::vector<RunComparison> runs;
};

/// Reads the runs and measures each front's hypervolume against the common reference.
/// Throws InputError when a directory holds no run.
Comparison compare_runs(const std::vector<std::filesystem::path>& run_dirs,
                        std::optional<double> reference_energy_mj = std::nullopt);

/// The fronts on one plot (accuracy against energy), one colour per run.
std::string comparison_svg(const Comparison& comparison, const std::string& title);

}  // namespace joules
