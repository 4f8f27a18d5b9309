// Network energy estimates per second on one core, for 10-layer networks (a search asks for
// millions). Peer measured in the same run: analyze() alone, the shape and MAC inference that
// every estimate starts with; the ratio says what the energy model adds on top of it.
//
//   build/bench/estimate_throughput [PROFILE.yaml]   (default: profiles/jetson-nano.yaml)

#include <sched.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "energy/estimator.hpp"
#include "util/random.hpp"

namespace {

using joules::Architecture;

// Deterministic 10-layer networks: 6 convs (one in three depthwise), 2 pools, 2 fc.
std::vector<Architecture> networks(std::size_t count, std::uint64_t seed) {
  joules::Rng rng(seed);
  std::vector<Architecture> out;
  while (out.size() < count) {
    Architecture a{.input = joules::Shape{3, 64, 64}};
    std::int64_t channels = 3;
    for (int block = 0; block < 2; ++block) {
      for (int i = 0; i < 3; ++i) {
        const std::int64_t k = rng.chance(0.5) ? 3 : 5;
        if (i == 1 && channels > 3) {
          a.layers.push_back(joules::ConvLayer{.filters = channels, .kernel = joules::Size2::square(k),
                                               .padding = joules::Size2::square(k / 2), .groups = channels});
        } else {
          channels = 8 * rng.between(1, 12);
          a.layers.push_back(joules::ConvLayer{.filters = channels, .kernel = joules::Size2::square(k),
                                               .padding = joules::Size2::square(k / 2)});
        }
      }
      a.layers.push_back(joules::PoolLayer{.kernel = joules::Size2::square(2), .stride = joules::Size2::square(2)});
    }
    a.layers.push_back(joules::FcLayer{.units = 16 * rng.between(1, 16)});
    a.layers.push_back(joules::FcLayer{.units = 10, .activation = joules::Activation::none});
    out.push_back(std::move(a));
  }
  return out;
}

// Calls per second of `work` over all networks, median of `repeats` timed passes.
template <class Work>
double rate(const std::vector<Architecture>& nets, int repeats, Work work) {
  std::vector<double> rates;
  double sink = 0;
  for (int r = 0; r < repeats; ++r) {
    const auto start = std::chrono::steady_clock::now();
    for (const Architecture& a : nets) sink += work(a);
    const std::chrono::duration<double> s = std::chrono::steady_clock::now() - start;
    rates.push_back(static_cast<double>(nets.size()) / s.count());
  }
  std::sort(rates.begin(), rates.end());
  if (sink == 42.0) std::puts("");  // keeps the work observable
  return rates[rates.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  const std::string profile_path = argc > 1 ? argv[1] : std::string(JOULES_SOURCE_DIR) + "/profiles/jetson-nano.yaml";
  cpu_set_t one;
  CPU_ZERO(&one);
  CPU_SET(sched_getcpu(), &one);
  const bool pinned = sched_setaffinity(0, sizeof(one), &one) == 0;

  const joules::EnergyEstimator estimator(joules::load_board_profile(profile_path));
  const std::vector<Architecture> nets = networks(20000, /*seed=*/1);
  for (const Architecture& a : nets) estimator.estimate(a);  // warm up, and validate every network

  const int repeats = 7;
  const double analyze_rate = rate(nets, repeats, [](const Architecture& a) {
    return static_cast<double>(joules::analyze(a).macs);
  });
  const double estimate_rate = rate(nets, repeats, [&](const Architecture& a) { return estimator.estimate(a).energy_mj; });
  const double target = 1e5;
  fmt::print("estimate_throughput: {} networks of 10 layers, profile {}, {} thread{}\n", nets.size(), profile_path,
             1, pinned ? " pinned to one core" : " (not pinned)");
  fmt::print("  analyze() alone (peer):  {:>12.0f} networks/s\n", analyze_rate);
  fmt::print("  EnergyEstimator:         {:>12.0f} networks/s (median of {} passes)\n", estimate_rate, repeats);
  fmt::print("  ratio estimate / analyze: {:.2f} of the peer's rate; target >= {:.0f}/s: {}\n", estimate_rate / analyze_rate,
             target, estimate_rate >= target ? "met" : "NOT met");
  return estimate_rate >= target ? 0 : 1;
}
