#pragma once
// The third-party Jetson Nano whole-network data (../shared/datasets/jetson-nano-icas; tests
// skip when it is absent): each network rebuilt from its name by the dataset README's rules.

#include <regex>
#include <stdexcept>
#include <string>

#include "space/architecture.hpp"

namespace joules::testing_nano {

inline const std::string kData = std::string(JOULES_SHARED_DIR) + "/datasets/jetson-nano-icas/networks.csv";
inline const std::string kProfile = std::string(JOULES_SOURCE_DIR) + "/profiles/jetson-nano.yaml";

// The dataset README's rules, from a model name to its architecture.
inline Architecture rebuild(const std::string& name) {
  static const std::regex pattern(R"(convnet_L(\d+)_F(\d+)_(.+)_W(\d+)(_DWS)?)");
  static const std::regex mixed(R"(K(\d+)x\d+_(\d+)_K(\d+)x\d+_(\d+))");
  static const std::regex square(R"(K(\d+)x\d+)");
  std::smatch m;
  if (!std::regex_match(name, m, pattern)) throw std::runtime_error("unrecognised model name " + name);
  const int layers = std::stoi(m[1]);
  const std::int64_t filters = std::stoll(m[2]);
  const std::string kernels = m[3];
  const std::int64_t width = std::stoll(m[4]);
  Architecture arch{.name = name, .input = Shape{3, width, width}};
  std::smatch k;
  if (m[5].matched) {
    std::regex_match(kernels, k, square);
    const std::int64_t size = std::stoll(k[1]);
    std::int64_t channels = 3;
    for (int i = 0; i < layers; ++i) {
      arch.layers.push_back(ConvLayer{.filters = channels, .kernel = Size2::square(size),
                                      .padding = Size2::square(size == 3 ? 1 : 2), .groups = channels,
                                      .activation = Activation::none});
      arch.layers.push_back(ConvLayer{.filters = filters, .kernel = Size2::square(1)});
      channels = filters;
    }
  } else if (std::regex_match(kernels, k, mixed)) {
    const std::int64_t a = std::stoll(k[1]), b = std::stoll(k[3]);
    std::int64_t pad = 2;
    for (int i = 0; i < layers; ++i) {
      const std::int64_t size = i % 2 == 0 ? a : b;
      if (size % 2 == 1) pad = 1;
      arch.layers.push_back(ConvLayer{.filters = filters, .kernel = Size2::square(size), .padding = Size2::square(pad)});
    }
  } else {
    std::regex_match(kernels, k, square);
    const std::int64_t size = std::stoll(k[1]);
    for (int i = 0; i < layers; ++i) {
      arch.layers.push_back(ConvLayer{.filters = filters, .kernel = Size2::square(size),
                                      .padding = Size2::square(size == 1 || size == 3 ? 1 : 2)});
    }
  }
  arch.layers.push_back(FcLayer{.units = 10, .activation = Activation::none});
  return arch;
}

}  // namespace joules::testing_nano
