// Sampling overhead: the CPU the sampler costs while it samples a fake Jetson AGX Orin tree (3
// rails, 6 hwmon files per sample) at 1 kHz, as a share of one core, against a peer measured
// in the same run: the same sampling written naively (a thread that sleeps 1 ms, then opens,
// reads and closes each file with std::ifstream and integrates). Goal: the sampler < 5% of a
// core. Rounds alternate between the two; medians are printed.
//
//   build/bench/sampler_overhead [SECONDS_PER_ROUND=2] [ROUNDS=3]

#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "energy/profiling/jetson_ina3221.hpp"
#include "energy/profiling/sampler.hpp"
#include "util/median.hpp"
#include "tests/energy/profiling/fake_sysfs.hpp"
#include "tests/support/temp_dir.hpp"

namespace {

using Clock = std::chrono::steady_clock;
using joules::profiling::JetsonIna3221Sensor;
using joules::median;
using joules::profiling::Sampler;

double process_cpu_s() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  auto seconds = [](const timeval& t) { return static_cast<double>(t.tv_sec) + t.tv_usec * 1e-6; };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

struct Round {
  double cpu_share = 0;   // CPU seconds per wall second, of the whole process
  double rate_hz = 0;     // samples per second achieved
  double energy_mj = 0;   // as a sanity check that both did the same work
};

// The main thread sleeps during the window, so the process's CPU time is the sampling thread's.
Round run_sampler(JetsonIna3221Sensor& sensor, double seconds) {
  Sampler sampler(sensor, {.rate_hz = 1000});
  const double cpu0 = process_cpu_s();
  const auto t0 = Clock::now();
  sampler.start();
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  const auto m = sampler.stop();
  const double wall = std::chrono::duration<double>(Clock::now() - t0).count();
  return {(process_cpu_s() - cpu0) / wall, static_cast<double>(m.samples) / m.window_s, m.energy_mj};
}

long read_with_ifstream(const std::string& path) {
  std::ifstream in(path);
  long value = 0;
  in >> value;
  return value;
}

Round run_naive(const std::vector<std::pair<std::string, std::string>>& rails, double seconds) {
  std::atomic<bool> stop{false};
  std::size_t samples = 0;
  double energy_mj = 0;
  const double cpu0 = process_cpu_s();
  const auto t0 = Clock::now();
  std::thread worker([&] {
    double last_t = -1, last_p = 0;
    while (!stop) {
      double power_mw = 0;
      for (const auto& [voltage, current] : rails) {
        power_mw += read_with_ifstream(voltage) * static_cast<double>(read_with_ifstream(current)) / 1000.0;
      }
      const double t = std::chrono::duration<double>(Clock::now() - t0).count();
      if (last_t >= 0) energy_mj += 0.5 * (last_p + power_mw) * (t - last_t);
      last_t = t;
      last_p = power_mw;
      ++samples;
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  });
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  stop = true;
  worker.join();
  const double wall = std::chrono::duration<double>(Clock::now() - t0).count();
  return {(process_cpu_s() - cpu0) / wall, static_cast<double>(samples) / wall, energy_mj};
}

}  // namespace

int main(int argc, char** argv) {
  const double seconds = argc > 1 ? std::atof(argv[1]) : 2.0;
  const int rounds = argc > 2 ? std::atoi(argv[2]) : 3;
  if (!(seconds > 0) || rounds < 1) {
    std::fprintf(stderr, "usage: sampler_overhead [SECONDS_PER_ROUND>0] [ROUNDS>=1]\n");
    return 2;
  }
  joules::testing::TempDir root;
  joules::testing::write_agx_orin_hwmon(root.path());
  auto sensor = JetsonIna3221Sensor::open(root.path());
  std::vector<std::pair<std::string, std::string>> files;
  for (const auto& name : sensor->total_rails()) {
    const auto& dir = sensor->rails()[sensor->rail_index(name)].location;
    const int n = static_cast<int>(files.size()) + 1;  // the fake chip puts the total rails on channels 1..3
    files.emplace_back(dir + "/in" + std::to_string(n) + "_input", dir + "/curr" + std::to_string(n) + "_input");
  }

  std::vector<double> sampler_share, naive_share, sampler_rate, naive_rate;
  for (int r = 0; r < rounds; ++r) {
    const Round s = run_sampler(*sensor, seconds);
    const Round n = run_naive(files, seconds);
    std::printf("round %d: sampler %.2f%% of a core at %.0f Hz (%.0f mJ); naive ifstream loop %.2f%% at %.0f Hz (%.0f mJ)\n",
                r + 1, 100 * s.cpu_share, s.rate_hz, s.energy_mj, 100 * n.cpu_share, n.rate_hz, n.energy_mj);
    sampler_share.push_back(s.cpu_share);
    naive_share.push_back(n.cpu_share);
    sampler_rate.push_back(s.rate_hz);
    naive_rate.push_back(n.rate_hz);
  }
  const double s = median(sampler_share), n = median(naive_share);
  std::printf("median CPU per wall second: sampler %.2f%% of one core at %.0f Hz, naive loop %.2f%% at %.0f Hz\n",
              100 * s, median(sampler_rate), 100 * n, median(naive_rate));
  // Per sample, so that the two are compared at the rates they reached.
  const double per_sample_ratio = (n / median(naive_rate)) / (s / median(sampler_rate));
  std::printf("ratio naive/sampler: %.2fx CPU share, %.2fx CPU per sample\n", n / s, per_sample_ratio);
  std::printf("goal (sampler < 5%% of one core at 1 kHz): %s\n", s < 0.05 ? "met" : "NOT met");
  return 0;
}
