#pragma once
// Running one layer with LibTorch, for the measurement protocol: the layer of a grid point built
// by train/'s model builder (a one-layer Architecture builds one layer), on the CPU or a CUDA
// GPU, in inference mode at batch 1. Torch-free header; the implementation links LibTorch.
//
// CUDA: the layer is built on the CPU (the model builder draws its initial weights from a CPU
// generator) and moved to the GPU; every run of N inferences ends with
// torch::cuda::synchronize(), so that a window's timing and energy cover the GPU's work, not
// just its launches. Only APIs present in both Debian's CPU LibTorch 1.13 and CUDA LibTorch 2.x
// are used (torch::cuda::is_available, torch::cuda::synchronize, Tensor::to).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "energy/profiling/protocol.hpp"
#include "space/architecture.hpp"
#include "space/layer.hpp"
#include "util/compute_device.hpp"

namespace joules::profiling {

// The device type is util/compute_device.hpp's, shared with training.

/// True when this LibTorch was built with CUDA and sees at least one GPU.
bool cuda_available();

/// "LibTorch 1.13.0" (the version the program was compiled against).
std::string torch_version();

/// What the layers run on, for the records: "cpu: " + cpu_description(), or "cuda: " and the
/// GPU's name (through NVML when it loads; otherwise "device 0 of N, name unknown").
std::string compute_device_description(ComputeDevice device);

struct LayerWorkloadOptions {
  ComputeDevice device = ComputeDevice::cpu;
  /// Seeds the layer's weights and its input (standard normal).
  std::uint64_t seed = 0;
};

/// Builds the layer and returns a Workload that runs it `n` times on one input of batch 1 and
/// returns when the device is done. Inference runs on the calling thread's LibTorch intra-op
/// threads (train/threads.hpp). Throws std::runtime_error when CUDA is asked for and not
/// available, SpecError for a layer impossible on its input.
Workload make_layer_workload(const Shape& input, const Layer& layer, const LayerWorkloadOptions& options = {});

}  // namespace joules::profiling
