// bench/train_throughput: training samples per second of the joules trainer against the same
// loop written in Python (bench/train_throughput.py, Debian's python3-torch): same
// architecture, batch, optimizer, thread count, data in memory. Also two joules trainings at
// once (one thread each, as the search runs them in TBB tasks) against one, and the GFLOP/s
// achieved against a large matrix product's, measured in the same run.
//
//   build/bench/train_throughput [--arch FILE] [--samples N] [--batch-size N] [--threads N]
//                                [--repeats N] [--data DIR] [--python PATH]
//
// Prints medians over the repeats; runs alternate between joules and Python so that a change
// in the machine's load hits both.

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <oneapi/tbb/task_arena.h>
#include <oneapi/tbb/task_group.h>
#include <torch/torch.h>

#include "bench/stats.hpp"
#include "space/analysis.hpp"
#include "space/architecture_yaml.hpp"
#include "train/allocator.hpp"
#include "train/threads.hpp"
#include "train/trainer.hpp"

namespace {

using joules::Architecture;
using Clock = std::chrono::steady_clock;

using joules::bench::median;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

std::string run_capture(const std::string& command) {
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) throw std::runtime_error("cannot run " + command);
  std::string out;
  std::array<char, 4096> buffer{};
  while (std::fgets(buffer.data(), static_cast<int>(buffer.size()), pipe) != nullptr) out += buffer.data();
  const int status = pclose(pipe);
  if (status != 0)
    throw std::runtime_error(fmt::format("the Python peer failed (status {}): {}", status, command));
  return out;
}

// The architecture as the Python peer reads it: every default resolved.
nlohmann::json architecture_json(const Architecture& arch) {
  const joules::NetworkAnalysis net = joules::analyze(arch);
  nlohmann::json layers = nlohmann::json::array();
  for (std::size_t i = 0; i < arch.layers.size(); ++i) {
    const auto& layer = arch.layers[i];
    if (const auto* c = std::get_if<joules::ConvLayer>(&layer)) {
      layers.push_back({{"type", "conv"},
                        {"filters", c->filters},
                        {"kernel", {c->kernel.h, c->kernel.w}},
                        {"stride", {c->stride.h, c->stride.w}},
                        {"padding", {c->padding.h, c->padding.w}},
                        {"groups", c->groups},
                        {"bias", c->bias},
                        {"batch_norm", c->batch_norm},
                        {"activation", joules::to_string(c->activation)}});
    } else if (const auto* p = std::get_if<joules::PoolLayer>(&layer)) {
      layers.push_back({{"type", "pool"},
                        {"op", joules::to_string(p->op)},
                        {"global", p->global},
                        {"kernel", {p->kernel.h, p->kernel.w}},
                        {"stride", {p->stride.h, p->stride.w}},
                        {"padding", {p->padding.h, p->padding.w}}});
    } else {
      const auto& f = std::get<joules::FcLayer>(layer);
      const joules::Shape in = net.layers[i].input;
      layers.push_back({{"type", "fc"},
                        {"units", f.units},
                        {"inputs", in.channels * in.height * in.width},
                        {"bias", f.bias},
                        {"dropout", f.dropout},
                        {"activation", joules::to_string(f.activation)}});
    }
  }
  return {{"input", {arch.input.channels, arch.input.height, arch.input.width}}, {"layers", layers}};
}

// GFLOP/s of a large matrix product, through LibTorch's BLAS (torch::mm) and through oneDNN
// (the same product as a 1x1 convolution, as joules computes fc layers).
std::pair<double, double> matmul_gflops(int threads) {
  joules::IntraOpThreads guard(threads);
  torch::NoGradGuard no_grad;
  const std::int64_t m = 512, k = 1024, n = 1024;
  const double flop = 2.0 * m * k * n;
  const torch::Tensor a = torch::randn({m, k});
  const torch::Tensor b = torch::randn({k, n});
  const torch::Tensor w = b.t().contiguous().view({n, k, 1, 1});
  const torch::Tensor a4 = a.view({m, k, 1, 1});
  auto rate = [&](auto&& product) {
    product();
    std::vector<double> gflops;
    for (int r = 0; r < 5; ++r) {
      const auto start = Clock::now();
      product();
      gflops.push_back(flop / seconds_since(start) / 1e9);
    }
    return median(gflops);
  };
  return {rate([&] { return torch::mm(a, b); }), rate([&] { return at::conv2d(a4, w); })};
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Training throughput of joules against the same loop in Python (PyTorch)"};
  std::string arch_path = std::string(JOULES_SOURCE_DIR) + "/configs/architectures/lenet5.yaml";
  std::string data_dir = "/usr/share/datasets/fashion-mnist";
  std::string python = "/usr/bin/python3";
  std::int64_t samples = 12800;
  std::int64_t batch = 64;
  int threads = 1;
  int repeats = 5;
  bool verbose = false;
  app.add_option("--arch", arch_path, "Architecture file (lenet5)");
  app.add_option("--data", data_dir, "Fashion-MNIST (IDX) directory");
  app.add_option("--samples", samples, "Training samples per timed run (12800)");
  app.add_option("--batch-size", batch, "Samples per step (64)");
  app.add_option("--threads", threads, "Intra-op threads of each training (1)");
  app.add_option("--repeats", repeats, "Timed runs of each kind (5)");
  app.add_option("--python", python, "Python with PyTorch (/usr/bin/python3, Debian's python3-torch)");
  app.add_flag("--verbose", verbose, "Print every run's rates");
  CLI11_PARSE(app, argc, argv);

  try {
    // The same allocator setting in both processes: joules' commands use it.
    joules::keep_freed_memory_for_training();
    const Architecture arch = joules::load_architecture(arch_path);
    const std::int64_t macs = joules::analyze(arch).macs;
    joules::DataOptions data_options;
    data_options.path = data_dir;
    data_options.validation_size = 1000;  // evaluation is not what is measured here
    const auto data = joules::load_data(data_options);

    joules::TrainOptions options;
    options.train_samples = samples;
    options.batch_size = batch;
    options.threads = threads;
    options.schedule = joules::LrSchedule::constant;  // as the Python loop

    const std::string script = std::string(JOULES_SOURCE_DIR) + "/bench/train_throughput.py";
    const std::string peer = fmt::format(
        "GLIBC_TUNABLES={} {} {} --arch-json {} --data {} --samples {} --batch-size {} --threads {} "
        "--learning-rate {} "
        "--momentum {} --repeats 1",
        joules::training_malloc_tunables(), python, shell_quote(script),
        shell_quote(architecture_json(arch).dump()), shell_quote(data_dir), samples, batch, threads,
        options.learning_rate, options.momentum);
    auto python_rate = [&](const std::string& flags) {
      const auto out = nlohmann::json::parse(run_capture(peer + " " + flags));
      return out.at("samples_per_s").at(0).get<double>();
    };
    auto joules_run = [&](std::uint64_t seed, int run_threads) {
      joules::TrainOptions o = options;
      o.seed = seed;
      o.threads = run_threads;
      const joules::TrainResult r = joules::train_architecture(arch, *data, o);
      if (r.status != joules::TrainStatus::ok) throw std::runtime_error("joules training " + r.reason);
      return r;
    };

    std::vector<double> joules_rates, linear_rates, conv_rates, last_rates, single_rates, pair_rates;
    tbb::task_arena arena(2);
    joules_run(100, threads);  // warm-up: first touch of the data, oneDNN's kernel generation
    for (int r = 0; r < repeats; ++r) {
      const joules::TrainResult one = joules_run(r, threads);
      joules_rates.push_back(static_cast<double>(one.samples_seen) / one.train_seconds);
      linear_rates.push_back(python_rate("--fc linear"));
      conv_rates.push_back(python_rate("--fc conv"));
      last_rates.push_back(python_rate("--fc conv --channels-last"));
      // Two trainings at once with one thread each, in TBB tasks as the search runs its jobs,
      // against one (whole calls: model building, training and evaluation). One thread each
      // always: libgomp keeps a thread pool per training thread, and once more threads exist
      // than cores it stops spin-waiting, which would slow every later multi-threaded run.
      const joules::TrainResult single = threads == 1 ? one : joules_run(500 + r, 1);
      single_rates.push_back(static_cast<double>(single.samples_seen) / single.seconds);
      std::array<joules::TrainResult, 2> pair;
      const auto start = Clock::now();
      arena.execute([&] {
        tbb::task_group group;
        group.run([&] { pair[0] = joules_run(1000 + r, 1); });
        group.run([&] { pair[1] = joules_run(2000 + r, 1); });
        group.wait();
      });
      pair_rates.push_back(static_cast<double>(pair[0].samples_seen + pair[1].samples_seen) /
                           seconds_since(start));
      if (verbose) {
        fmt::print(stderr,
                   "run {}: joules {:.0f}, python linear {:.0f}, conv {:.0f}, conv channels-last {:.0f}; one "
                   "thread: "
                   "one joules {:.0f}, two joules {:.0f} samples/s\n",
                   r + 1, joules_rates.back(), linear_rates.back(), conv_rates.back(), last_rates.back(),
                   single_rates.back(), pair_rates.back());
      }
    }
    const auto [mm_gflops, onednn_gflops] = matmul_gflops(threads);

    // Ratios are taken within each run (its measurements are seconds apart), then the median.
    const auto median_ratio = [](const std::vector<double>& a, const std::vector<double>& b) {
      std::vector<double> r;
      for (std::size_t i = 0; i < a.size(); ++i) r.push_back(a[i] / b[i]);
      return median(r);
    };
    const double joules_rate = median(joules_rates);
    const double gflops = joules_rate * 6.0 * static_cast<double>(macs) / 1e9;
    std::ifstream loadavg("/proc/loadavg");
    std::string load;
    std::getline(loadavg, load);

    fmt::print(
        "train_throughput: {} ({} MACs), batch {}, {} samples per run, {} thread(s), SGD momentum, "
        "medians of {} runs (ratios: of each run's); load average {}\n",
        arch.name.empty() ? arch_path : arch.name, macs, batch, samples, threads, repeats, load);
    const auto row = [](const std::string& label, double rate, const std::string& note) {
      fmt::print("  {:<44}{:>8.0f} samples/s   {}\n", label, rate, note);
    };
    row("joules trainer", joules_rate, "");
    row("python, nn.Linear fc layers", median(linear_rates),
        fmt::format("joules/python {:.2f}x", median_ratio(joules_rates, linear_rates)));
    row("python, fc layers as 1x1 convs (as joules)", median(conv_rates),
        fmt::format("joules/python {:.2f}x", median_ratio(joules_rates, conv_rates)));
    row("python, 1x1-conv fc layers, channels-last", median(last_rates),
        fmt::format("joules/python {:.2f}x", median_ratio(joules_rates, last_rates)));
    row("one joules training, 1 thread", median(single_rates), "(whole calls: build, train, evaluate)");
    row("two joules trainings at once, 1 thread each", median(pair_rates),
        fmt::format("{:.2f}x one", median_ratio(pair_rates, single_rates)));
    fmt::print(
        "  achieved {:.1f} GFLOP/s (6 x MACs per training sample); large matrix product {}x{}x{}: "
        "torch::mm {:.1f} GFLOP/s ({:.2f}x), oneDNN {:.1f} GFLOP/s ({:.2f}x)\n",
        gflops, 512, 1024, 1024, mm_gflops, gflops / mm_gflops, onednn_gflops, gflops / onednn_gflops);
    return 0;
  } catch (const std::exception& e) {
    fmt::print(stderr, "error: {}\n", e.what());
    return 1;
  }
}
