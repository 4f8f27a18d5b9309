#pragma once
// The report of a board profile (`joules report PROFILE.yaml [--data CSV]`): its provenance,
// each layer kind's model family and coefficients with the range of its data, every
// candidate's cross-validated errors; with measurements, the profile's predictions against
// them and (per-layer data) energy against the filter count, where the steps show.

#include <filesystem>
#include <optional>
#include <string>
#include <variant>

#include "energy/board_profile.hpp"
#include "energy/measurements.hpp"
#include "report/run_report.hpp"

namespace joules {

/// Measurements to check a profile against: per-layer or per-network rows.
using ProfileCheckData = std::variant<LayerMeasurementSet, NetworkMeasurementSet>;

/// The report as one HTML document; `profile_path` is shown as the file.
std::string profile_report_html(const BoardProfile& profile, const std::string& profile_path,
                                const ProfileCheckData* data = nullptr);

/// Reads the profile (and the CSV when `data_csv` is not empty: per-network when the profile
/// was fitted on networks, per-layer otherwise) and writes the report atomically to `out`
/// (default: the profile's path with .html for .yaml). Throws InputError for a bad profile or
/// CSV (naming the file, line and key), std::runtime_error on I/O failure.
WrittenReport write_profile_report(const std::filesystem::path& profile_path, const std::filesystem::path& data_csv = {},
                                   const std::filesystem::path& out = {});

}  // namespace joules
