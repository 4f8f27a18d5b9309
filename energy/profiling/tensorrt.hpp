#pragma once
// Profiling grid points through TensorRT (`joules profile --runtime tensorrt`, docs/profiling.md):
// each point becomes an ONNX file of that single layer (onnx/onnx_model.hpp, random weights),
// built once into an engine by `trtexec --onnx=P.onnx --saveEngine=P.plan [--fp16]`, and run by
// `trtexec --loadEngine=P.plan --iterations=N --warmUp=W --duration=0 --noDataTransfers` while
// the sampler runs (measure_command, energy/profiling/command_measurement.hpp).
//
// A trtexec run's window holds more than the N inferences: process start, engine
// deserialisation, context creation and the warm-up. So each point is measured by difference:
// each of the `repeats` windows is a run of 1 iteration (the baseline: everything but N - 1
// inferences) followed by a run of N iterations; per inference, latency = (T_N - T_1) / (N - 1)
// and energy = (E_N - E_1) / (N - 1).
// N is chosen from probe runs (of growing length) so that the N - 1 inferences last a window.
//
// The files live in ENGINE_DIR (DIR/engines of the run directory): P.onnx, P.plan (P.fp16.plan
// with --fp16), and P.build.log / P.run.log (trtexec's output, the last run's). An engine is
// built into P.plan.partial and renamed when trtexec succeeds, so a run killed while building
// leaves no plan that looks complete, and a rerun reuses every plan there is.

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include "energy/profiling/grid.hpp"
#include "energy/profiling/profile_run.hpp"

namespace joules::profiling {

struct TensorRtOptions {
  std::filesystem::path trtexec;      // the executable (find_trtexec)
  std::filesystem::path engine_dir;   // where ONNX files, engines and logs go
  bool fp16 = false;                  // build the engines with --fp16
  std::uint64_t seed = 0;             // of the layers' random weights
  ProtocolOptions protocol;           // warm-up, windows, repeats, cool-down, outliers, idle
  SamplerOptions sampler;             // as the run's
};

/// The trtexec to run: `flag` when given (a path, or a name looked up in PATH), else
/// `trtexec` in PATH, else /usr/src/tensorrt/bin/trtexec. nullopt when none is an executable
/// file.
std::optional<std::filesystem::path> find_trtexec(const std::string& flag);

/// TensorRT's version as trtexec's banner says it ("&&&& RUNNING TensorRT.trtexec [TensorRT
/// v8502] ..."): "v8502", from `trtexec --help` (its output goes to `log`; `sensor` is sampled
/// meanwhile, as measure_command does, and not read). Throws CommandNotStarted when trtexec
/// cannot be run, std::runtime_error when it prints no banner.
std::string trtexec_version(PowerSensor& sensor, const std::filesystem::path& trtexec, const std::filesystem::path& log);

/// What the engines run on, for the records: "cuda: " and the GPU's name through NVML, or
/// "cuda: the GPU trtexec uses, name unknown (NVML not available)"; then "; TensorRT FP32
/// engines" or "FP16".
std::string tensorrt_device_description(bool fp16);

/// The single-layer network of a grid point (input: the point's input, layers: its layer).
Architecture single_layer_architecture(const GridPoint& point);

/// The file stem of a point's ONNX file and engine: "layer-" + the architecture's hash.
std::string point_file_stem(const GridPoint& point);

/// Counts of what a measurer did, for tests and progress lines.
struct TensorRtCounts {
  std::size_t engines_built = 0;
  std::size_t engines_reused = 0;
};

/// A PointMeasurer (profile_run.hpp) running points through trtexec as described above.
/// It throws std::runtime_error naming the log when trtexec fails, and std::invalid_argument
/// for bad protocol options. `counts`, when given, must outlive the measurer.
PointMeasurer tensorrt_measurer(const TensorRtOptions& options, TensorRtCounts* counts = nullptr);

}  // namespace joules::profiling
