#include "energy/profiling/layer_workload.hpp"

#include <memory>
#include <stdexcept>

#include <ATen/CPUGeneratorImpl.h>
#include <fmt/format.h>
#include <torch/cuda.h>
#include <torch/torch.h>
#include <torch/version.h>

#include "energy/profiling/device_info.hpp"
#include "energy/profiling/nvml.hpp"
#include "train/model.hpp"

namespace joules::profiling {
namespace {

struct LayerState {
  Network network{nullptr};
  torch::Tensor input;
  bool cuda = false;
};

}  // namespace

bool cuda_available() { return torch::cuda::is_available(); }

std::string torch_version() { return fmt::format("LibTorch {}", TORCH_VERSION); }

std::string compute_device_description(ComputeDevice device) {
  if (device == ComputeDevice::cpu) return "cpu: " + cpu_description();
  try {
    const auto nvml = NvmlSensor::open();
    if (!nvml->rails().empty()) return "cuda: " + nvml->rails().front().location;
  } catch (const SensorUnavailable&) {
    // No name then; say so.
  }
  return fmt::format("cuda: device 0 of {}, name unknown (NVML not available)", torch::cuda::device_count());
}

Workload make_layer_workload(const Shape& input, const Layer& layer, const LayerWorkloadOptions& options) {
  if (options.device == ComputeDevice::cuda && !cuda_available()) {
    throw std::runtime_error("CUDA is not available: this LibTorch was built without CUDA or sees no GPU");
  }
  auto state = std::make_shared<LayerState>();
  state->cuda = options.device == ComputeDevice::cuda;
  const Architecture arch{.input = input, .layers = {layer}};
  state->network = Network(arch, options.seed);  // throws SpecError for an impossible layer
  state->network->eval();
  auto generator = at::make_generator<at::CPUGeneratorImpl>(options.seed ^ 0x9e3779b97f4a7c15ULL);
  state->input = torch::randn({1, input.channels, input.height, input.width}, generator);
  if (state->cuda) {
    state->network->to(torch::kCUDA);
    state->input = state->input.to(torch::kCUDA);
    torch::cuda::synchronize();
  }
  return [state](std::int64_t inferences) {
    torch::InferenceMode inference;
    for (std::int64_t i = 0; i < inferences; ++i) (void)state->network->forward(state->input);
    if (state->cuda) torch::cuda::synchronize();
  };
}

}  // namespace joules::profiling
