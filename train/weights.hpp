#pragma once
// A network's parameters as plain float arrays (space/weights.hpp), for code that does not link
// LibTorch: the ONNX writer, the CLI. Torch-free header.

#include <cstdint>
#include <string>

#include "space/architecture.hpp"
#include "space/weights.hpp"

namespace joules {

/// The weights in a file written by save_weights() (`joules train --save`, run directories,
/// `joules export`), with its normalisation when the file holds one (empty otherwise: files
/// of joules before 0.2). Throws std::runtime_error naming the path when the file cannot be
/// read or does not fit `arch`; SpecError for an invalid architecture.
NetworkWeights read_weights_file(const Architecture& arch, const std::string& path);

/// The initial weights of NetworkImpl(arch, seed): PyTorch's default initialisation, seeded.
/// The normalisation is left empty. Throws SpecError for an invalid architecture.
NetworkWeights initial_weights(const Architecture& arch, std::uint64_t seed);

}  // namespace joules
