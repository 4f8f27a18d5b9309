#pragma once
// Where layers run, for training (train/) and for profiling (energy/profiling/): the one
// device type both share.

#include <optional>
#include <string_view>

#include "util/enum_names.hpp"

namespace joules {

/// cuda needs a CUDA-enabled LibTorch and a GPU (see README: "GPU hosts"); Debian's LibTorch
/// is CPU-only.
enum class ComputeDevice { cpu, cuda };

inline constexpr EnumNames<ComputeDevice, 2> kComputeDeviceNames{{
    {ComputeDevice::cpu, "cpu"},
    {ComputeDevice::cuda, "cuda"},
}};

/// "cpu", "cuda".
inline std::string_view to_string(ComputeDevice device) { return name_of(kComputeDeviceNames, device); }
inline std::optional<ComputeDevice> parse_compute_device(std::string_view text) {
  return value_of(kComputeDeviceNames, text);
}

}  // namespace joules
