#pragma once
// What a profile records about the machine it was measured on: the CPU (model, logical CPUs,
// widest vector extension) and the time of each measurement. Torch-free.

#include <filesystem>
#include <string>

namespace joules::profiling {

/// "AMD EPYC, 2 logical CPUs, AVX-512" from proc/cpuinfo under `root` (x86 `model name` and
/// `flags`; ARM `Hardware`, `CPU implementer`/`CPU part` and `Features`), preceded by the
/// device tree's model when there is one ("NVIDIA Jetson Nano Developer Kit: ARMv8 ..."). Never
/// throws: what cannot be read is left out, and "unknown CPU" stands for a missing cpuinfo.
std::string cpu_description(const std::filesystem::path& root = "/");

/// The current UTC time as ISO 8601, "2025-01-31T12:34:56Z".
std::string utc_timestamp();

}  // namespace joules::profiling
