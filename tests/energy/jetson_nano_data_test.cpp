// The committed Jetson Nano profile against the third-party data it was fitted on
// (../shared/datasets/jetson-nano-icas; skipped when absent): every network rebuilt from its
// name has the data's MAC count, and the profile's estimates reproduce the measurements.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <regex>

#include "energy/estimator.hpp"
#include "util/csv.hpp"

namespace joules {
namespace {

const std::string kData = std::string(JOULES_SHARED_DIR) + "/datasets/jetson-nano-icas/networks.csv";
const std::string kProfile = std::string(JOULES_SOURCE_DIR) + "/profiles/jetson-nano.yaml";

// The dataset README's rules, from a model name to its architecture.
Architecture rebuild(const std::string& name) {
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

TEST(JetsonNanoDataTest, ProfileReproducesTheMeasuredNetworks) {
  if (!std::filesystem::exists(kData)) GTEST_SKIP() << kData << " is absent (third-party data, not in the repository)";
  const CsvTable table = CsvTable::read_file(kData);
  const EnergyEstimator estimator(load_board_profile(kProfile));
  const std::size_t name = table.column("model_name"), macs = table.column("total_macs_torchinfo"),
                    energy = table.column("gpu_energy_mj"), latency = table.column("latency_ms");
  double energy_ape = 0, latency_ape = 0;
  std::size_t mac_mismatches = 0;
  for (std::size_t r = 0; r < table.rows(); ++r) {
    const Architecture arch = rebuild(table.text(r, name));
    const NetworkAnalysis net = analyze(arch);
    std::int64_t torchinfo = 0;  // one more operation per output element for each bias
    for (const LayerAnalysis& l : net.layers) torchinfo += l.macs + l.output.channels * l.output.height * l.output.width;
    mac_mismatches += torchinfo != table.integer(r, macs);
    const NetworkEstimate e = estimator.estimate(arch, net);
    energy_ape += std::abs(e.energy_mj / table.number(r, energy) - 1);
    latency_ape += std::abs(*e.latency_ms / table.number(r, latency) - 1);
  }
  EXPECT_EQ(mac_mismatches, 0u);
  const double n = static_cast<double>(table.rows());
  // The refitted model's error on its own data is at most its cross-validated error (which the
  // profile reports and the issue bounds by 10%).
  const Quality& cv = estimator.profile().energy.fits.front().quality;
  EXPECT_EQ(cv.points, static_cast<std::int64_t>(table.rows()));
  EXPECT_LE(100 * energy_ape / n, cv.mape_pct);
  EXPECT_LE(100 * latency_ape / n, estimator.profile().latency->fits.front().quality.mape_pct);
}

}  // namespace
}  // namespace joules
