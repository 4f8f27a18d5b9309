#include "energy/profiling/profile_run.hpp"

#include <cmath>
#include <fstream>
#include <set>
#include <sstream>
#include <stdexcept>

#include <fmt/format.h>

#include "energy/measurements.hpp"
#include "energy/profiling/device_info.hpp"
#include "util/atomic_file.hpp"
#include "util/csv.hpp"
#include "util/directory_lock.hpp"
#include "util/input_error.hpp"
#include "util/yaml_reader.hpp"

namespace joules::profiling {
namespace {

constexpr const char* kExtraColumns =
    "thread_cpu_ms,inferences,windows_rejected,window_s,idle_power_mw,mean_power_mw,read_errors,stale,sensor,estimate,rails,"
    "calibration,device,threads,software,board,date,runtime,runtime_version";

std::string seconds_text(double s) { return fmt::format("{:g} s", s); }

std::string protocol_notes(const ProtocolOptions& p, double window_s, std::uint64_t seed, bool constant_rails) {
  std::string notes = fmt::format(
      "protocol: warm-up {} (at least {} inferences); {}; {} window{} of at least {} (min_window_s {}, {} sensor update "
      "intervals) with {} cool-down after each; windows whose latency or energy per inference has a modified z-score "
      "above {} and is more than {}% from the median rejected; measuring order shuffled with seed {}; batch 1, "
      "inference mode",
      seconds_text(p.warmup_s), p.warmup_inferences,
      constant_rails ? "no idle measurement (the sensor's rails are constant by design)"
                     : fmt::format("idle power over {} right before each point", seconds_text(p.idle_s > 0 ? p.idle_s : window_s)),
      p.repeats, p.repeats == 1 ? "" : "s", seconds_text(window_s), seconds_text(p.min_window_s),
      p.window_update_intervals, seconds_text(p.cooldown_s), p.outlier_z, 100 * p.outlier_min_deviation, seed);
  return notes;
}

std::string calibration_text(const std::vector<RailCalibration>& calibrations) {
  std::string out;
  for (const auto& c : calibrations) {
    out += fmt::format("{}{}: {} x internal {:+} mW", out.empty() ? "" : "; ", c.rail, c.gain, c.offset_mw);
  }
  return out;
}

// The fields a rerun must share with the run that started the directory (the date and the
// grid file may differ: a grid can be extended).
void check_same_setup(const BoardIdentity& before, const BoardIdentity& now, const std::string& file) {
  const yaml::Value root = yaml::Value::parse_file(file);
  const auto differ = [&](const char* key, const std::string& old_value, const std::string& new_value) {
    if (old_value == new_value) return;
    const std::string_view k(key);
    const yaml::Value node = k.starts_with("provenance.") ? root.get("provenance").get(k.substr(11)) : root.get(k);
    throw InputError(file, node.line(), key,
                     fmt::format("the measurements here were taken with '{}', this run would use '{}': profile into "
                                 "another --out directory (or remove this one to start over)",
                                 old_value, new_value));
  };
  differ("board", before.board, now.board);
  differ("provenance.kind", std::string(to_string(before.provenance.kind)), std::string(to_string(now.provenance.kind)));
  differ("provenance.sensor", before.provenance.sensor, now.provenance.sensor);
  differ("provenance.rails", join_rails(before.provenance.rails), join_rails(now.provenance.rails));
  differ("provenance.device", before.provenance.device, now.provenance.device);
  differ("provenance.software", before.provenance.software, now.provenance.software);
  differ("provenance.notes", before.provenance.notes, now.provenance.notes);
  differ("provenance.estimate", before.provenance.estimate ? "true" : "false", now.provenance.estimate ? "true" : "false");
  differ("provenance.calibrations", calibration_text(before.provenance.calibrations),
         calibration_text(now.provenance.calibrations));
}

}  // namespace

void validate(const ProfileRunOptions& options) {
  if (options.board.empty()) throw std::invalid_argument("board: a board name is required");
  if (options.out_dir.empty()) throw std::invalid_argument("out_dir: a run directory is required");
  if (options.threads < 1) throw std::invalid_argument(fmt::format("threads must be at least 1, got {}", options.threads));
  validate(options.protocol);
}

std::string profile_csv_header() { return layer_measurements_header() + "," + kExtraColumns; }

namespace {

constexpr std::string_view kRuntimeColumns = ",runtime,runtime_version";

// The header a profile run wrote before it recorded the runtime (LibTorch was the only one).
std::string header_before_runtime_columns() {
  const std::string header = profile_csv_header();
  return header.substr(0, header.size() - kRuntimeColumns.size());
}

// Such a CSV's text with the two columns: the new header, and "libtorch" with an unknown
// version on every row (what those runs measured with).
std::string with_runtime_columns(const std::string& text) {
  std::string out = profile_csv_header() + "\n";
  std::size_t start = text.find('\n') + 1;
  while (start < text.size()) {
    const std::size_t end = text.find('\n', start);
    out.append(text, start, end - start);
    out += ",libtorch,\n";
    start = end + 1;
  }
  return out;
}

}  // namespace

BoardIdentity run_identity(const PowerSensor& sensor, const Sampler& sampler, const ProfileRunOptions& options) {
  const double interval_ms = std::chrono::duration<double, std::milli>(sampler.interval()).count();
  const double window_s = window_target_s(options.protocol, sensor.update_interval());
  BoardIdentity id;
  id.board = options.board;
  Provenance& p = id.provenance;
  p.kind = ProvenanceKind::measured;
  p.sensor = fmt::format("{}: {}; sampled every {:g} ms", to_string(sensor.kind()), sensor.description(), interval_ms);
  p.rails = sampler.rail_names();
  p.device = fmt::format("{}; {} intra-op thread{}", options.device, options.threads, options.threads == 1 ? "" : "s");
  p.software = options.software;
  p.date = utc_timestamp().substr(0, 10);
  p.source = options.source;
  p.notes = protocol_notes(options.protocol, window_s, options.seed, !measures_idle_power(sensor, sampler));
  if (sensor.is_estimate()) {
    p.notes += "; ENERGY IS AN ESTIMATE: measured time x the configured power of the timer estimate, not a measurement "
               "(latency is measured)";
  }
  p.estimate = sensor.is_estimate();
  p.calibrations = options.sampler.calibrations;
  return id;
}

ProfileRunResult run_profile(const ProfileGrid& grid, PowerSensor& sensor, const WorkloadFactory& make_workload,
                             const ProfileRunOptions& options, const ProfileRunHooks& hooks) {
  const ProtocolOptions protocol = options.protocol;
  return run_profile(
      grid, sensor,
      [&make_workload, protocol](const GridPoint& point, PowerSensor& s, Sampler& sampler) {
        return measure_point(s, sampler, make_workload(point), protocol);
      },
      options, hooks);
}

ProfileRunResult run_profile(const ProfileGrid& grid, PowerSensor& sensor, const PointMeasurer& measure,
                             const ProfileRunOptions& options, const ProfileRunHooks& hooks) {
  validate(options);
  Sampler sampler(sensor, options.sampler);  // throws for unknown rails and calibrations
  ProfileRunResult result;
  result.csv = options.out_dir / "measurements.csv";
  result.provenance = options.out_dir / "provenance.yaml";
  result.grid_points = grid.points.size();
  result.identity = run_identity(sensor, sampler, options);
  const std::string header = profile_csv_header();

  // One process per run directory (two would measure every point twice): the lock is taken
  // before anything is read. A directory it creates is empty, so no check below can fail there.
  std::filesystem::create_directories(options.out_dir);
  const DirectoryLock lock = DirectoryLock::acquire(options.out_dir, "joules profile");

  // Check what is there before writing anything.
  const bool has_provenance = std::filesystem::exists(result.provenance);
  if (has_provenance) {
    check_same_setup(load_board_identity(result.provenance.string()), result.identity, result.provenance.string());
  }
  std::set<std::string> measured;
  std::string repaired;  // the CSV's content to keep when a torn last line must go
  bool rewrite_csv = !std::filesystem::exists(result.csv);
  if (!rewrite_csv) {
    if (!has_provenance) {
      throw InputError(result.csv.string(), 0, "",
                       fmt::format("exists without {}: not a joules profile run directory (choose another --out)",
                                   result.provenance.filename().string()));
    }
    std::string text = read_input_file(result.csv.string());
    if (!text.empty() && text.back() != '\n') {
      const auto last = text.rfind('\n');
      const std::size_t keep = last == std::string::npos ? 0 : last + 1;
      result.torn_bytes_dropped = text.size() - keep;
      text.resize(keep);
      rewrite_csv = true;
    }
    if (text.empty()) {
      rewrite_csv = true;
    } else {
      const std::string first = text.substr(0, text.find('\n'));
      const bool upgrade = first == header_before_runtime_columns() && options.runtime == "libtorch";
      if (upgrade) {
        text = with_runtime_columns(text);  // a LibTorch run of the version before them
        rewrite_csv = true;
      } else if (first != header) {
        throw InputError(result.csv.string(), 1, "header",
                         "not the header of a joules profile CSV (of this version): profile into another --out directory");
      }
      const std::vector<LayerMeasurement> rows = parse_layer_measurements(text, result.csv.string()).rows;
      for (const LayerMeasurement& m : rows) measured.insert(point_key(m.input, m.layer));
      if (upgrade) result.upgraded_rows = rows.size();
    }
    repaired = std::move(text);
  }

  if (!has_provenance) write_file_atomic(result.provenance, to_yaml(result.identity));
  if (rewrite_csv) write_file_atomic(result.csv, repaired.empty() ? header + "\n" : repaired);

  std::vector<GridPoint> to_do;
  for (GridPoint& p : measuring_order(grid, options.seed)) {
    if (measured.count(point_key(p.input, p.layer))) {
      ++result.already_measured;
    } else {
      to_do.push_back(std::move(p));
    }
  }

  if (hooks.on_start) hooks.on_start(result);
  const std::string rails = join_rails(sampler.rail_names());
  const std::string calibration = calibration_text(options.sampler.calibrations);
  for (const GridPoint& point : to_do) {
    if (hooks.stop && hooks.stop->load()) {
      result.stopped = true;
      break;
    }
    const PointMeasurement m = measure(point, sensor, sampler);
    LayerMeasurement row{.input = point.input, .layer = point.layer};
    row.energy_mj = m.energy_mj;
    row.energy_mj_std = m.energy_mj_std;
    row.dynamic_energy_mj = m.dynamic_energy_mj;
    row.dynamic_energy_mj_std = m.dynamic_energy_mj_std;
    row.latency_ms = m.latency_ms;
    row.latency_ms_std = m.latency_ms_std;
    row.repeats = m.windows_kept;
    row.family = point.family;
    const std::string line = fmt::format(
        "{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}", to_csv_row(row),
        std::isfinite(m.thread_cpu_ms) ? csv_number(m.thread_cpu_ms) : "",
        csv_number(m.inferences),
        m.windows_rejected, csv_number(m.window_s), m.idle_power_mw ? csv_number(*m.idle_power_mw) : "",
        csv_number(m.mean_power_mw), m.read_errors, m.stale ? "true" : "false", to_string(sensor.kind()),
        m.estimate ? "true" : "false", csv_field(rails), csv_field(calibration), csv_field(result.identity.provenance.device),
        options.threads, csv_field(options.software), csv_field(options.board), utc_timestamp(),
        csv_field(options.runtime), csv_field(options.runtime_version));
    append_line_durable(result.csv, line);
    ++result.measured;
    if (hooks.on_point) {
      hooks.on_point(PointProgress{.done = result.measured, .to_do = to_do.size(), .point = &point, .measurement = &m});
    }
  }
  return result;
}

}  // namespace joules::profiling
