#pragma once
// Running a profiling grid into a run directory, resumably (docs/profiling.md):
//   DIR/provenance.yaml    board and provenance (what `joules fit --provenance` reads), written
//                          atomically before the first measurement; a rerun must match it
//   DIR/measurements.csv   the per-layer measurements CSV (energy/measurements.hpp) plus
//                          columns saying how each row was measured; one row appended and
//                          flushed to disk as soon as its point is measured
//   DIR/.lock              held while a run measures (util/directory_lock.hpp): a second
//                          run into DIR is refused, naming the first
// A rerun skips the points already in the CSV, so a run killed at any moment and run again
// ends with every point measured exactly once; a last line torn by the kill is dropped first.
// Torch-free: the layers are run by the workloads a WorkloadFactory makes.

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "energy/board_profile.hpp"
#include "energy/profiling/grid.hpp"
#include "energy/profiling/power_sensor.hpp"
#include "energy/profiling/protocol.hpp"
#include "energy/profiling/sampler.hpp"

namespace joules::profiling {

/// Makes the workload that runs one grid point's layer (building it on its device).
using WorkloadFactory = std::function<Workload(const GridPoint&)>;

/// Measures one grid point by other means than a Workload under measure_point (the TensorRT
/// runtime runs trtexec per window: energy/profiling/tensorrt.hpp). `sampler` samples `sensor`
/// and is idle when called.
using PointMeasurer = std::function<PointMeasurement(const GridPoint&, PowerSensor& sensor, Sampler& sampler)>;

struct ProfileRunOptions {
  std::string board;                 // the profile's board name; required
  std::filesystem::path out_dir;     // the run directory; required
  std::uint64_t seed = 1;            // of the measuring order (measuring_order)
  ProtocolOptions protocol;
  SamplerOptions sampler;            // rate, rails (default: the sensor's total) and calibrations
  /// What the layers run on, as recorded: "cpu: AMD EPYC, 2 logical CPUs, AVX-512" or
  /// "cuda: NVIDIA A100-SXM4-40GB".
  std::string device;
  int threads = 1;                   // LibTorch intra-op threads, as recorded
  std::string software;              // "LibTorch 1.13.0, joules 0.1.0"
  std::string runtime = "libtorch";  // what ran the layers, as recorded: libtorch or tensorrt
  std::string runtime_version;       // "1.13.0", or trtexec's banner "v8502"
  std::string source;                // how the run was made (the grid file), for provenance
};

/// Throws std::invalid_argument naming the option: an empty board or out_dir, threads < 1, or
/// invalid protocol options.
void validate(const ProfileRunOptions& options);

/// A point as it was measured, for progress displays.
struct PointProgress {
  std::size_t done = 0;   // points measured in this run so far, this one included
  std::size_t to_do = 0;  // points this run measures in all (skipped ones excluded)
  const GridPoint* point = nullptr;
  const PointMeasurement* measurement = nullptr;
};


struct ProfileRunResult {
  std::filesystem::path csv;
  std::filesystem::path provenance;
  std::size_t grid_points = 0;
  std::size_t already_measured = 0;  // found in the CSV and skipped
  std::size_t measured = 0;          // in this run
  bool stopped = false;              // by hooks.stop, before the grid was done
  std::size_t torn_bytes_dropped = 0;  // of a last line without its newline
  /// Rows of a LibTorch run made before the CSV had runtime columns, rewritten with them
  /// ("libtorch", version unknown) so that the run resumes.
  std::size_t upgraded_rows = 0;
  BoardIdentity identity;            // what provenance.yaml holds
};

struct ProfileRunHooks {
  /// Checked before each point: when set, the run stops after the point being measured.
  const std::atomic<bool>* stop = nullptr;
  /// Called once the run directory has been checked and prepared, before the first point, with
  /// the result so far (grid_points, already_measured, torn_bytes_dropped, the paths).
  std::function<void(const ProfileRunResult&)> on_start;
  /// Called after each point is measured and its row written.
  std::function<void(const PointProgress&)> on_point;
};

/// The CSV header of a run directory: layer_measurements_header() plus the columns below.
/// Extra columns (ignored by `joules fit`): thread_cpu_ms (WindowResult::thread_cpu_ms),
/// inferences (mean per kept window),
/// windows_rejected, window_s, idle_power_mw, mean_power_mw, read_errors, stale, sensor,
/// estimate, rails, calibration, device, threads, software, board, date (UTC, ISO 8601),
/// runtime, runtime_version. thread_cpu_ms is empty when the layers ran in another process
/// (the TensorRT runtime).
std::string profile_csv_header();

/// The board identity a run with these options writes to provenance.yaml: kind measured, the
/// sensor's description and sampling interval, the sampled rails, device and threads, software,
/// today's date (UTC), the protocol in the notes, `estimate` for the timer estimate and the
/// sampler's calibrations.
BoardIdentity run_identity(const PowerSensor& sensor, const Sampler& sampler, const ProfileRunOptions& options);

/// Measures every point of `grid` not yet in out_dir's CSV, in measuring order. Everything is
/// checked before anything is written: throws InputError (the file, line and key) when
/// out_dir holds a provenance.yaml of another setup (board, sensor, rails, device, software,
/// threads, calibration, protocol), a CSV with another header or an unreadable row, or a CSV
/// without provenance.yaml; std::invalid_argument for bad options; std::runtime_error naming the
/// holder when another process runs into out_dir. While running, throws what
/// the workloads and the sampler throw (the rows written so far stay).
ProfileRunResult run_profile(const ProfileGrid& grid, PowerSensor& sensor, const WorkloadFactory& make_workload,
                             const ProfileRunOptions& options, const ProfileRunHooks& hooks = {});

/// The same with each point measured by `measure`.
ProfileRunResult run_profile(const ProfileGrid& grid, PowerSensor& sensor, const PointMeasurer& measure,
                             const ProfileRunOptions& options, const ProfileRunHooks& hooks = {});

}  // namespace joules::profiling
