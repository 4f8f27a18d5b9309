// bench/scale_out: the distributed search's coordination cost, without training. Run under
// mpirun: rank 0 runs the real driver (optimizer, run directory, log, checkpoints) on an MPI
// evaluator; every other rank is a worker whose "training" sleeps for a duration drawn (seeded
// by the candidate) from measured training times, scaled by --scale. Prints one JSON line:
// worker utilisation (busy / (workers x wall)), evaluations per second and rank 0's time per
// result. bench/scale_out.sh runs it at 2..32 workers for both schedules.

#include <algorithm>
#include <chrono>
#include <cmath>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <thread>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "energy/board_profile.hpp"
#include "search/config.hpp"
#include "search/mpi_evaluator.hpp"
#include "search/nas_search.hpp"
#include "space/analysis.hpp"
#include "util/csv.hpp"

namespace {

using namespace joules;

std::vector<double> read_durations(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::vector<double> seconds;
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#' || line.starts_with("train_seconds")) continue;
    seconds.push_back(std::stod(line));
  }
  if (seconds.empty()) throw std::runtime_error(path + " holds no durations");
  return seconds;
}

double cpu_seconds() {
  timespec t{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
}

// Rank 0's evaluator as the driver sees it, with the time of every job handed out: after the
// last one the run only drains (workers whose training ended have nothing left to do), so
// the bench reports utilisation up to that moment apart from the whole run's.
class TimedEvaluator final : public Evaluator {
 public:
  TimedEvaluator(Evaluator& inner, std::chrono::steady_clock::time_point start) : inner_(inner), start_(start) {}
  std::size_t slots() const override { return inner_.slots(); }
  std::size_t in_flight() const override { return inner_.in_flight(); }
  void submit(TrainJob job) override {
    submitted_s_[job.id] = since_start();
    last_submit_s_ = submitted_s_[job.id];
    inner_.submit(std::move(job));
  }
  std::optional<TrainDone> collect(std::chrono::milliseconds timeout) override {
    std::optional<TrainDone> done = inner_.collect(timeout);
    if (done) trainings_.push_back({submitted_s_.at(done->id), done->result.seconds});
    return done;
  }
  /// Busy worker seconds before the last job was handed out (a training counted from the
  /// moment it was sent, so the messages' latency counts as busy: a small overestimate).
  double busy_until_last_submit() const {
    double busy = 0;
    for (const auto& [sent_s, seconds] : trainings_) busy += std::clamp(last_submit_s_ - sent_s, 0.0, seconds);
    return busy;
  }
  double last_submit_s() const { return last_submit_s_; }

 private:
  double since_start() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  }
  Evaluator& inner_;
  std::chrono::steady_clock::time_point start_;
  std::map<std::int64_t, double> submitted_s_;
  std::vector<std::pair<double, double>> trainings_;  // (sent at, training seconds)
  double last_submit_s_ = 0;
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app("Distributed search coordination: worker utilisation and rank 0's cost per result");
  std::string config_path = std::string(JOULES_SOURCE_DIR) + "/configs/quickstart.yaml";
  std::string durations_path = std::string(JOULES_SOURCE_DIR) + "/bench/data/smoke_train_seconds.csv";
  std::string schedule = "async";
  std::string out;
  double scale = 0.05;
  std::size_t rounds = 40;
  app.add_option("--config", config_path, "Search config whose space and board are used");
  app.add_option("--durations", durations_path, "Measured training times (one per line, seconds)");
  app.add_option("--schedule", schedule, "generational or async")->check(CLI::IsMember({"generational", "async"}));
  app.add_option("--scale", scale, "Sleep = measured duration x scale");
  app.add_option("--rounds", rounds, "Evaluations = workers x rounds (population = workers)");
  app.add_option("--out", out, "Run directory (default: a fresh one under the temp directory)")->required();
  CLI11_PARSE(app, argc, argv);
  try {
    if (!launched_by_mpi()) throw std::runtime_error("run under mpirun (see bench/scale_out.sh)");
    MpiSession mpi;
    const std::vector<double> durations = read_durations(durations_path);
    if (mpi.rank() != 0) {
      if (!mpi.receive_config()) return 0;
      const CandidateTrainer sleeper = [&](const Architecture& arch, const TrainOptions& options,
                                           const std::atomic<bool>*) {
        Rng rng(options.seed);
        const double sleep_s = durations[rng.index(durations.size())] * scale;
        const auto start = std::chrono::steady_clock::now();
        std::this_thread::sleep_for(std::chrono::duration<double>(sleep_s));
        TrainResult r;
        r.status = TrainStatus::ok;
        const double params = static_cast<double>(analyze(arch).params);
        r.validation_accuracy = 0.6 + 0.3 * (1 - std::exp(-params / 30000)) + 0.01 * static_cast<double>(options.seed % 7);
        r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        return r;
      };
      mpi.serve(sleeper, TrainOptions{}, nullptr);
      return 0;
    }
    const std::size_t workers = static_cast<std::size_t>(mpi.size() - 1);
    if (workers == 0) throw std::runtime_error("needs at least 2 ranks");
    SearchConfig config = load_search_config(config_path);
    config.search.population = std::max<std::size_t>(workers, 4);
    config.search.generations = rounds - 1;
    config.search.schedule = schedule == "async" ? Schedule::async : Schedule::generational;
    config.search.evaluations = 0;
    mpi.send_config(to_yaml(config));
    const BoardProfile profile = load_board_profile(config.board);
    RunDirectory run = RunDirectory::create(out, to_yaml(config));
    std::unique_ptr<Evaluator> evaluator = mpi.evaluator(CandidateTrainer(), nullptr);
    const double cpu_start = cpu_seconds();
    const auto start = std::chrono::steady_clock::now();
    TimedEvaluator timed(*evaluator, start);
    SearchHooks hooks;
    hooks.evaluator = &timed;
    const SearchSummary summary = run_search(config, profile, run, hooks);
    const double wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const double cpu_s = cpu_seconds() - cpu_start;
    double busy_s = 0;
    std::size_t logged = 0;
    for (const EvaluationRecord& r : read_evaluations(out)) {
      busy_s += r.train_seconds;
      ++logged;
    }
    const double results = static_cast<double>(std::max<std::size_t>(summary.results, 1));
    const nlohmann::json line{{"schedule", schedule},
                              {"workers", workers},
                              {"scale", scale},
                              {"evaluations", logged},
                              {"trained", summary.trained},
                              {"wall_s", wall_s},
                              {"utilisation", busy_s / (static_cast<double>(workers) * wall_s)},
                              {"utilisation_until_last_job",
                               timed.busy_until_last_submit() / (static_cast<double>(workers) * timed.last_submit_s())},
                              {"drain_s", wall_s - timed.last_submit_s()},
                              {"evaluations_per_s", static_cast<double>(logged) / wall_s},
                              {"rank0_ms_per_result", 1e3 * summary.handling_seconds / results},
                              {"rank0_handling_cpu_ms_per_result", 1e3 * summary.handling_cpu_seconds / results},
                              {"rank0_cpu_ms_per_result", 1e3 * cpu_s / results}};
    fmt::print("{}\n", line.dump());
    return 0;
  } catch (const std::exception& e) {
    fmt::print(stderr, "error: {}\n", e.what());
    return 1;
  }
}
