#pragma once
// The two kinds of measurements joules fits board profiles from (docs/formats/measurements-csv.md):
// - per-layer CSV: one row per measured layer configuration, as `joules profile` appends them
//   (layer_measurements_header() and to_csv_row() write it; append each row with
//   append_line_durable as soon as the layer is measured);
// - per-network CSV: one row per measured network, naming its architecture file.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "space/architecture.hpp"
#include "space/layer.hpp"

namespace joules {

/// One measured layer configuration: energy and latency per inference at batch 1.
struct LayerMeasurement {
  Shape input;
  Layer layer;
  double energy_mj = 0;                          // on the measured rails, idle power included
  std::optional<double> energy_mj_std;           // spread over the repeats
  std::optional<double> dynamic_energy_mj;       // idle power x latency subtracted
  std::optional<double> dynamic_energy_mj_std;
  std::optional<double> latency_ms;
  std::optional<double> latency_ms_std;
  std::int64_t repeats = 1;  // measured inferences (or windows) behind the figures
  std::string group;         // cross-validation group; empty: the row is its own group
  std::string family;        // for leave-one-family-out reports; may be empty

  bool operator==(const LayerMeasurement&) const = default;
};

struct LayerMeasurementSet {
  std::string file;
  std::string fnv1a64;  // hash of the file's bytes (hex)
  std::string latency_column = "latency_ms";  // the column rows' latency_ms was read from
  std::vector<LayerMeasurement> rows;
  std::vector<int> lines;  // 1-based line of each row in the file
};

/// The header line of a per-layer CSV (no trailing newline).
std::string layer_measurements_header();

/// One CSV line (no trailing newline) for `m`, matching layer_measurements_header(). Throws
/// SpecError when the layer is impossible on its input (as analyze()).
std::string to_csv_row(const LayerMeasurement& m);

/// Reads a per-layer CSV. Throws InputError naming file, line and column for a missing
/// required column, a bad or impossible layer, a non-finite, zero or negative energy or
/// latency, a negative spread, fewer than 1 repeat. `latency_column` names the column read
/// into latency_ms (e.g. "thread_cpu_ms" of `joules profile`'s CSV; its spread is then not
/// read); another than latency_ms must be present.
LayerMeasurementSet read_layer_measurements(const std::string& path, const std::string& latency_column = "latency_ms");
LayerMeasurementSet parse_layer_measurements(std::string_view text, const std::string& file,
                                             const std::string& latency_column = "latency_ms");

/// Which columns of a per-network CSV hold what.
struct NetworkColumns {
  std::string arch = "arch";            // architecture file, relative to the CSV's folder
  std::string energy = "energy_mj";     // energy per inference to fit (mJ)
  std::string latency = "latency_ms";   // optional: latency per inference (ms)
  bool latency_required = false;        // true: a missing latency column is an error
  std::string group = "group";          // optional: cross-validation groups
  std::string family = "family";        // optional: leave-one-family-out
};

struct NetworkMeasurement {
  Architecture arch;
  std::string arch_file;  // as written in the CSV
  double energy_mj = 0;
  std::optional<double> latency_ms;
  std::string group;
  std::string family;

  bool operator==(const NetworkMeasurement&) const = default;
};

struct NetworkMeasurementSet {
  std::string file;
  std::string fnv1a64;
  std::string energy_column;
  std::string latency_column;  // empty when the CSV has none
  std::vector<NetworkMeasurement> rows;
  std::vector<int> lines;
};

/// Reads a per-network CSV and every architecture file it names. Throws InputError naming the
/// file, line and column (or the architecture file's own error).
NetworkMeasurementSet read_network_measurements(const std::string& path, const NetworkColumns& columns = {});

/// 64-bit FNV-1a of `bytes` as 16 hex digits: identifies the data a profile was fitted on.
std::string fnv1a64_hex(std::string_view bytes);

}  // namespace joules
