// bench/search_efficiency: search strategies replayed on joules' own tabular benchmark
// (experiments/nas-table: every member of configs/spaces/table.yaml trained once at 1/4, 1/2
// and all of its training budget). A table-lookup trainer stands behind run_search, so joules'
// strategies run their real code path (optimizer, pricing by the board profile, run
// directory, checkpoints); Optuna's NSGAIISampler and MOTPESampler run over the same genome
// (bench/search_efficiency_optuna.py, with Debian's python3; "optuna tpe" is TPESampler with
// multivariate=True, Optuna 3.1's multi-objective TPE; "optuna motpe" its deprecated
// independent-sampling MOTPESampler, slow enough to run on fewer seeds). For each strategy and seed the
// first B evaluations (B = 50, 100, 200, 400) are priced by the hypervolume of their front in
// (1 - accuracy, energy) as a share of the table's true front's hypervolume; the bench prints
// the medians, the ratios, how many evaluations joules needs to reach random search's
// 400-evaluation hypervolume, and the multi-fidelity replay (search.fidelity on the table: the
// training seconds it needs to reach full-fidelity NSGA-II's 400-evaluation hypervolume).

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <future>
#include <map>
#include <mutex>
#include <numeric>
#include <optional>
#include <set>
#include <thread>

#include <unistd.h>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "bench/stats.hpp"
#include "energy/board_profile.hpp"
#include "search/config.hpp"
#include "search/hypervolume.hpp"
#include "search/nas_search.hpp"
#include "search/run_directory.hpp"
#include "space/architecture.hpp"
#include "space/search_space.hpp"
#include "util/csv.hpp"

namespace {

using namespace joules;

// A seed that never reaches a target: its evaluations or seconds (the median of a set with
// half or more of them is one too).
constexpr double kNever = std::numeric_limits<double>::infinity();
using bench::load_average;
using bench::median;

struct Entry {
  bool ok = false;
  double accuracy = 0;
  double seconds = 0;
};

// table.csv (each level trained from scratch on its share of the samples) or
// table-continue.csv (each level a prefix of one training, its seconds that level's own): one
// row per member and level.
struct Table {
  std::vector<std::string> members;                    // hash of every member, by member index
  std::map<std::string, std::size_t> member_of;        // hash -> member index
  std::map<std::pair<std::string, std::int64_t>, Entry> entries;  // (hash, level in millionths)
  std::map<std::string, double> energy_mj;             // hash -> estimate
  std::int64_t full_samples = 0;

  static std::int64_t key(double level) { return std::llround(level * 1e6); }
  const Entry& at(const std::string& hash, double level = 1.0) const {
    const auto it = entries.find({hash, key(level)});
    if (it == entries.end()) throw std::runtime_error(fmt::format("the table has no member {} at level {}", hash, level));
    return it->second;
  }
  // The level a replayed training asks for: its share of the steps (continue), or of the samples.
  double level_of(const TrainOptions& o) const {
    if (o.stop_at > 0.0 && o.stop_at < 1.0) return o.stop_at;
    return static_cast<double>(o.train_samples) / static_cast<double>(full_samples);
  }
  // A prefix table's seconds to train `hash` from the start to `level`: its levels' up to there.
  double seconds_from_start(const std::string& hash, double level) const {
    double total = 0;
    for (auto it = entries.lower_bound({hash, 0}); it != entries.end() && it->first.first == hash; ++it) {
      if (it->first.second <= key(level)) total += it->second.seconds;
    }
    return total;
  }
};

Table read_table(const std::string& path) {
  const CsvTable csv = CsvTable::read_file(path);
  const std::size_t member = csv.column("member"), hash = csv.column("hash"), fidelity = csv.column("fidelity"),
                    samples = csv.column("train_samples"), status = csv.column("status"),
                    accuracy = csv.column("accuracy"), seconds = csv.column("train_seconds"),
                    energy = csv.column("energy_mj");
  Table t;
  for (std::size_t i = 0; i < csv.rows(); ++i) {
    Entry e;
    e.ok = csv.text(i, status) == "ok" && !csv.text(i, accuracy).empty();
    e.accuracy = e.ok ? csv.number(i, accuracy) : 0.0;
    e.seconds = csv.number(i, seconds);
    const std::string& h = csv.text(i, hash);
    t.entries[{h, Table::key(csv.number(i, fidelity))}] = e;
    t.energy_mj[h] = csv.number(i, energy);
    if (csv.number(i, fidelity) == 1.0) {
      t.full_samples = csv.integer(i, samples);
      const auto index = static_cast<std::size_t>(csv.integer(i, member));
      if (t.members.size() <= index) t.members.resize(index + 1);
      t.members[index] = h;
      t.member_of[h] = index;
    }
  }
  if (t.members.empty()) throw std::runtime_error(path + ": no row at fidelity 1");
  return t;
}

// Hypervolume of the (1 - accuracy, energy) points of `records`' first `count` ok records.
double front_hypervolume(const std::vector<EvaluationRecord>& records, std::size_t count,
                         const std::vector<double>& reference) {
  ObjectiveMatrix points;
  for (std::size_t i = 0; i < std::min(count, records.size()); ++i)
    if (records[i].status == EvaluationStatus::ok && records[i].accuracy)
      points.push_back({1.0 - *records[i].accuracy, records[i].energy_mj});
  return hypervolume(points, reference);
}

enum class Strategy { nsga2, nsga2_plain, nsga2_async, random, nsga2_fidelity };

struct Replay {
  std::vector<EvaluationRecord> log;    // evaluations.jsonl, in order
  std::vector<EvaluationRecord> rungs;  // rungs.jsonl (search.fidelity), in training order
};

// One joules search on the table: the lookup trainer stops the run once `max_trainings`
// trainings were answered or their table seconds reach `max_seconds`.
Replay replay(SearchConfig config, const BoardProfile& profile, const Table& table, Strategy strategy,
              std::uint64_t seed, std::size_t population, std::size_t max_trainings, double max_seconds,
              const std::filesystem::path& dir, const FidelityOptions& fidelity = {}, std::size_t prescreen = 1) {
  config.seed = seed;
  config.training.seed = seed;
  config.search.population = population;
  config.search.jobs = 1;
  config.search.generations = 100000;
  config.search.budgets = Budgets{};
  config.search.algorithm = strategy == Strategy::random ? Algorithm::random : Algorithm::nsga2;
  config.search.schedule = strategy == Strategy::nsga2_async ? Schedule::async : Schedule::generational;
  config.search.evaluations = strategy == Strategy::nsga2_async ? 100000 : 0;
  if (strategy == Strategy::nsga2_fidelity) config.search.fidelity = fidelity;
  config.search.prescreen = strategy == Strategy::nsga2_plain || strategy == Strategy::random ? 1 : prescreen;
  // Read back, so that the config checks (e.g. of --fidelity-levels) hold for the replay too.
  const std::string yaml = to_yaml(config);
  config = parse_search_config(yaml, "replay config", dir.parent_path().string());
  std::filesystem::remove_all(dir);
  std::atomic<bool> stop{false};
  std::mutex mutex;
  std::size_t trainings = 0;
  double seconds = 0;
  SearchHooks hooks;
  hooks.stop = &stop;
  const bool continued = config.search.fidelity && config.search.fidelity->continue_training;
  hooks.trainer = [&](const Architecture& arch, const TrainOptions& options, const std::atomic<bool>*) {
    const std::string hash = canonical_hash_hex(arch);
    const double level = table.level_of(options);
    const Entry& e = table.at(hash, level);
    TrainResult r;
    r.status = e.ok ? TrainStatus::ok : TrainStatus::failed;
    if (e.ok) r.validation_accuracy = e.accuracy;
    else r.reason = "failed when the table was built";
    // A continued level costs its own seconds; one without the state it continues from (none
    // saved) trains the prefix from the start, as the real trainer would.
    r.seconds = continued && options.resume_path.empty() ? table.seconds_from_start(hash, level) : e.seconds;
    if (!options.state_path.empty()) std::ofstream(options.state_path) << "table";
    std::lock_guard lock(mutex);
    ++trainings;
    seconds += r.seconds;
    if (trainings >= max_trainings || seconds >= max_seconds) stop.store(true);
    return r;
  };
  {
    RunDirectory run = RunDirectory::create(dir, yaml);
    run_search(config, profile, run, hooks);
  }
  // The run directory's own reader gives the log and the rungs, in the order they were written.
  const RunDirectory done = RunDirectory::resume(dir);
  return Replay{done.previous_evaluations(), done.previous_rungs()};
}

// Optuna's runs: the member index of every trial, per seed.
std::vector<std::vector<std::size_t>> optuna_runs(const std::string& python, const std::string& script,
                                                  const std::filesystem::path& lookup, const std::string& sampler,
                                                  std::size_t first_seed, std::size_t seeds, std::size_t trials,
                                                  std::size_t population) {
  const std::string command =
      fmt::format("'{}' '{}' '{}' --sampler {} --seeds {}..{} --trials {} --population {}", python, script,
                  lookup.string(), sampler, first_seed, first_seed + seeds - 1, trials, population);
  FILE* pipe = popen(command.c_str(), "r");
  if (!pipe) throw std::runtime_error("cannot run " + command);
  std::vector<std::vector<std::size_t>> runs;
  std::string line;
  for (int c; (c = std::fgetc(pipe)) != EOF;) {
    if (c != '\n') {
      line.push_back(static_cast<char>(c));
      continue;
    }
    runs.push_back(nlohmann::json::parse(line).at("members").get<std::vector<std::size_t>>());
    line.clear();
  }
  if (pclose(pipe) != 0 || runs.size() != seeds) throw std::runtime_error("failed: " + command);
  return runs;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app("Search strategies replayed on joules' tabular benchmark (experiments/nas-table)");
  const std::string source = JOULES_SOURCE_DIR;
  std::string table_path = source + "/experiments/nas-table/table.csv";
  std::string config_path = source + "/experiments/nas-table/config.yaml";
  std::string python = "/usr/bin/python3";
  std::string optuna_script = source + "/bench/search_efficiency_optuna.py";
  std::size_t seeds = 20, motpe_seeds = 0, population = 20, jobs = 2, first_seed = 1;
  std::vector<std::size_t> budgets{50, 100, 200, 400};
  bool skip_tpe = false;
  FidelityOptions fidelity;
  std::string continue_table_path;
  std::size_t prescreen = SearchOptions{}.prescreen;
  app.add_option("--table", table_path, "The table (experiments/nas-table/table.csv)");
  app.add_option("--config", config_path, "The table's search config at fidelity 1");
  app.add_option("--seeds", seeds, "Seeds per strategy");
  app.add_option("--first-seed", first_seed, "The first seed: seeds run from it to it + seeds - 1");
  app.add_option("--motpe-seeds", motpe_seeds,
                 "Seeds of Optuna's MOTPESampler (independent sampling; about 14 min a seed at 400 trials; "
                 "split over --jobs processes)");
  app.add_flag("--skip-tpe", skip_tpe, "Leave Optuna's TPESampler (multivariate MOTPE) out");
  app.add_option("--population", population, "Population of the NSGA-II strategies and random search's batch");
  app.add_option("--budgets", budgets, "Evaluation budgets")->delimiter(',');
  app.add_option("--jobs", jobs, "Replays run at once");
  app.add_option("--fidelity-levels", fidelity.levels, "search.fidelity levels of the replay (the table has 0.25,0.5,1)")
      ->delimiter(',');
  app.add_option("--promote", fidelity.promote, "search.fidelity promote share of the replay");
  std::map<std::string, FidelityPromotion> promotions;
  for (FidelityPromotion p : {FidelityPromotion::rank, FidelityPromotion::hypervolume})
    promotions[std::string(to_string(p))] = p;
  std::string promote_by(to_string(fidelity.promote_by));
  app.add_option("--promote-by", promote_by, "search.fidelity promote_by of the replay")
      ->check(CLI::IsMember(promotions));
  app.add_option("--continue-table", continue_table_path,
                 "Also replay search.fidelity with continue: true on this prefix table "
                 "(experiments/nas-table/table-continue.csv, build.py --continue)");
  app.add_option("--prescreen", prescreen,
                 "search.prescreen of joules nsga2, its async schedule and the multi-fidelity replays ('joules nsga2 plain': 1)");
  app.add_option("--python", python, "Python with optuna (Debian: python3-optuna)");
  CLI11_PARSE(app, argc, argv);
  fidelity.promote_by = promotions.at(promote_by);
  try {
    std::sort(budgets.begin(), budgets.end());
    const std::size_t max_budget = budgets.back();
    const Table table = read_table(table_path);
    const SearchConfig config = load_search_config(config_path);
    if (config.training.train_samples != table.full_samples)
      throw std::runtime_error(fmt::format("{}: train_samples {} is not the table's full fidelity ({})", config_path,
                                           config.training.train_samples, table.full_samples));
    const BoardProfile profile = load_board_profile(config.board);
    const SearchSpace space(config.space);

    // The true front: every member at fidelity 1. Reference: 1.1 x the table's worst error and
    // largest energy (its nadir over all members, not of the front), so that the shares spread
    // over the region where the members differ rather than crowd near 1 (error 1 as the
    // reference would make any network better than chance cover most of the area).
    double max_energy = 0, max_error = 0;
    ObjectiveMatrix all;
    for (const std::string& h : table.members) {
      max_energy = std::max(max_energy, table.energy_mj.at(h));
      const Entry& e = table.at(h);
      if (!e.ok) continue;
      all.push_back({1.0 - e.accuracy, table.energy_mj.at(h)});
      max_error = std::max(max_error, 1.0 - e.accuracy);
    }
    const std::vector<double> reference{std::min(1.0, 1.1 * max_error), 1.1 * max_energy};
    const double true_hv = hypervolume(all, reference);
    double full_seconds = 0;
    for (const std::string& h : table.members) full_seconds += table.at(h).seconds;
    fmt::print("table: {} members ({} ok at fidelity 1), {} train samples at fidelity 1; {:.0f} training seconds "
               "for all of them at fidelity 1; reference point ({:.4g}, {:.4g} mJ); true front's hypervolume {:.6g}\n",
               table.members.size(), all.size(), table.full_samples, full_seconds, reference[0], reference[1], true_hv);
    fmt::print("load average at the start: {:.2f}\n", load_average());

    // share[strategy][seed][budget index]
    std::map<std::string, std::vector<std::vector<double>>> share;
    // Run directories in memory where there is a tmpfs: a replay appends and checkpoints
    // hundreds of times a second, and the disk's flushes would be most of its time.
    const std::filesystem::path scratch =
        (std::filesystem::is_directory("/dev/shm") ? std::filesystem::path("/dev/shm")
                                                   : std::filesystem::temp_directory_path()) /
        fmt::format("joules-search-efficiency-{}", ::getpid());
    // Optuna over the same genome: every genome (mixed radix, last gene fastest) to its member.
    nlohmann::json lookup;
    lookup["cardinalities"] = space.cardinalities();
    std::size_t genomes = 1;
    for (int c : space.cardinalities()) genomes *= static_cast<std::size_t>(c);
    if (genomes > 10'000'000) throw std::runtime_error("the genome has too many values to list for Optuna");
    std::vector<std::size_t> genome_member(genomes);
    Genome genome(space.genome_length(), 0);
    for (std::size_t index = 0; index < genomes; ++index) {
      std::size_t rest = index;
      for (std::size_t g = genome.size(); g-- > 0;) {
        const auto c = static_cast<std::size_t>(space.cardinalities()[g]);
        genome[g] = static_cast<int>(rest % c);
        rest /= c;
      }
      genome_member[index] = table.member_of.at(canonical_hash_hex(space.decode(genome)));
    }
    lookup["genome_member"] = genome_member;
    nlohmann::json objectives = nlohmann::json::array();
    for (const std::string& h : table.members) {
      const Entry& e = table.at(h);
      objectives.push_back({e.ok ? 1.0 - e.accuracy : 1.0, table.energy_mj.at(h)});
    }
    lookup["objectives"] = objectives;
    std::filesystem::create_directories(scratch);
    const std::filesystem::path lookup_path = scratch / "lookup.json";
    std::ofstream(lookup_path) << lookup.dump();
    // Optuna's runs go on in their own processes while joules' replays run.
    std::map<std::string, std::future<std::vector<std::vector<std::size_t>>>> optuna;
    // A sampler's n seeds, split over `parts` processes (their runs joined in seed order).
    const auto launch = [&](const std::string& name, const std::string& sampler, std::size_t n, std::size_t parts) {
      optuna[name] = std::async(std::launch::async, [&, sampler, n, parts = std::max<std::size_t>(1, std::min(parts, n))] {
        std::vector<std::future<std::vector<std::vector<std::size_t>>>> pieces;
        for (std::size_t p = 0, from = 0; p < parts; ++p) {
          const std::size_t count = n / parts + (p < n % parts ? 1 : 0);
          pieces.push_back(std::async(std::launch::async, optuna_runs, python, optuna_script, lookup_path, sampler,
                                      first_seed + from, count, max_budget, population));
          from += count;
        }
        std::vector<std::vector<std::size_t>> runs;
        for (auto& piece : pieces) {
          for (auto& run : piece.get()) runs.push_back(std::move(run));
        }
        return runs;
      });
    };
    launch("optuna nsga2", "nsga2", seeds, 1);
    if (!skip_tpe) launch("optuna tpe", "tpe", seeds, 1);
    // MOTPESampler takes seconds a trial late in a run: its seeds go over `jobs` processes.
    if (motpe_seeds > 0) launch("optuna motpe", "motpe", motpe_seeds, jobs);

    const std::vector<std::pair<std::string, Strategy>> joules_strategies{
        {"joules nsga2", Strategy::nsga2},
        {"joules nsga2 async", Strategy::nsga2_async},
        {"random", Strategy::random},
        {"joules nsga2 plain", Strategy::nsga2_plain}};
    // Runs task(i, scratch directory) for i < count on `jobs` threads; rethrows the first error.
    const auto in_parallel = [&](std::size_t count, const std::function<void(std::size_t, const std::filesystem::path&)>& task) {
      std::atomic<std::size_t> next{0};
      std::vector<std::thread> threads;
      std::mutex error_mutex;
      std::optional<std::string> error;
      for (std::size_t j = 0; j < std::max<std::size_t>(jobs, 1); ++j)
        threads.emplace_back([&, j] {
          for (std::size_t i; (i = next++) < count;) {
            try {
              task(i, scratch / fmt::format("job{}", j));
            } catch (const std::exception& e) {
              std::lock_guard lock(error_mutex);
              if (!error) error = e.what();
            }
          }
        });
      for (std::thread& t : threads) t.join();
      if (error) throw std::runtime_error(*error);
    };
    std::map<std::string, std::vector<Replay>> replays;
    for (const auto& [name, strategy] : joules_strategies) replays[name].resize(seeds);
    in_parallel(joules_strategies.size() * seeds, [&](std::size_t i, const std::filesystem::path& dir) {
      const auto& [name, strategy] = joules_strategies[i / seeds];
      const std::size_t s = i % seeds;
      replays[name][s] = replay(config, profile, table, strategy, first_seed + s, population, max_budget, 1e300, dir, {}, prescreen);
    });
    for (const auto& [name, runs] : replays)
      for (const Replay& r : runs) {
        if (r.log.size() < max_budget)
          throw std::runtime_error(fmt::format("{}: only {} evaluations logged", name, r.log.size()));
        std::vector<double> shares;
        for (std::size_t b : budgets) shares.push_back(front_hypervolume(r.log, b, reference) / true_hv);
        share[name].push_back(shares);
      }

    const auto optuna_shares = [&](const std::vector<std::vector<std::size_t>>& runs) {
      std::vector<std::vector<double>> out;
      for (const auto& members : runs) {
        std::vector<double> shares;
        for (std::size_t b : budgets) {
          ObjectiveMatrix points;
          for (std::size_t i = 0; i < std::min(b, members.size()); ++i) {
            const std::string& h = table.members.at(members[i]);
            const Entry& e = table.at(h);
            if (e.ok) points.push_back({1.0 - e.accuracy, table.energy_mj.at(h)});
          }
          shares.push_back(hypervolume(points, reference) / true_hv);
        }
        out.push_back(shares);
      }
      return out;
    };

    std::map<std::string, double> distinct;  // median distinct architectures among an Optuna run's trials
    for (auto& [name, future] : optuna) {
      const std::vector<std::vector<std::size_t>> runs = future.get();
      share[name] = optuna_shares(runs);
      std::vector<double> counts;
      for (const auto& members : runs)
        counts.push_back(static_cast<double>(std::set<std::size_t>(members.begin(), members.end()).size()));
      distinct[name] = median(counts);
    }

    // Medians per budget.
    fmt::print("\nmedian hypervolume share of the true front ({} seeds, {} to {}; optuna motpe: {}), population {}:\n",
               seeds, first_seed, first_seed + seeds - 1,
               share.contains("optuna motpe") ? fmt::format("{} seeds", motpe_seeds) : "left out", population);
    fmt::print("{:<20}", "evaluations");
    for (std::size_t b : budgets) fmt::print("{:>10}", b);
    fmt::print("\n");
    std::map<std::string, std::vector<double>> medians;
    for (const auto& [name, runs] : share) {
      fmt::print("{:<20}", name);
      for (std::size_t k = 0; k < budgets.size(); ++k) {
        std::vector<double> v;
        for (const auto& s : runs) v.push_back(s[k]);
        medians[name].push_back(median(v));
        fmt::print("{:>10.4f}", medians[name].back());
      }
      fmt::print("\n");
    }
    const auto ratio_row = [&](const std::string& a, const std::string& b) {
      if (!medians.contains(a) || !medians.contains(b)) return;
      fmt::print("{:<20}", fmt::format("{} / {}", a.substr(a.find(' ') + 1), b));
      for (std::size_t k = 0; k < budgets.size(); ++k) fmt::print("{:>10.4f}", medians[a][k] / medians[b][k]);
      fmt::print("\n");
    };
    for (const auto& [name, count] : distinct)
      fmt::print("{}: a median {:.0f} distinct architectures among its {} trials (the others repeat one)\n", name,
                 count, max_budget);
    fmt::print("ratios of the medians:\n");
    ratio_row("joules nsga2", "optuna nsga2");
    ratio_row("joules nsga2", "random");
    ratio_row("joules nsga2", "optuna tpe");
    ratio_row("joules nsga2", "optuna motpe");
    ratio_row("joules nsga2 async", "optuna nsga2");
    ratio_row("joules nsga2", "joules nsga2 plain");
    ratio_row("joules nsga2 plain", "optuna nsga2");
    ratio_row("joules nsga2 plain", "random");

    // Evaluations joules NSGA-II needs to reach random search's median hypervolume at the
    // largest budget (per seed; the median over seeds).
    const double random_target = medians["random"].back() * true_hv;
    nlohmann::json to_random;
    for (const std::string name : {"joules nsga2", "joules nsga2 plain"}) {
      std::vector<double> needed;
      for (const Replay& r : replays[name]) {
        std::size_t n = 1;
        while (n <= r.log.size() && front_hypervolume(r.log, n, reference) < random_target) ++n;
        needed.push_back(n <= r.log.size() ? static_cast<double>(n) : kNever);
      }
      const auto reached = std::count_if(needed.begin(), needed.end(), [](double x) { return x < kNever; });
      const double m = median(needed);
      fmt::print("{}{} reaches random search's median {}-evaluation hypervolume after a median of {} "
                 "evaluations ({} of {} seeds reach it within {})\n",
                 name == "joules nsga2" ? "\n" : "", name, max_budget,
                 m == kNever ? std::string("(not reached)") : fmt::format("{:.0f}", m), reached, seeds, max_budget);
      to_random[name] = m == kNever ? nlohmann::json() : nlohmann::json(m);
    }

    // Multi-fidelity: search.fidelity replayed. Its cost is the
    // table seconds of every training at every level, in the order they ran (rungs.jsonl). Its
    // front is priced two ways: as logged (each candidate at the accuracy of the highest level
    // it reached, the network whose weights the run keeps: what a user of the run gets), and
    // counting only the trainings at fidelity 1.
    // Against each full-fidelity baseline: joules nsga2 (the same search.prescreen as the
    // multi-fidelity replays) and joules nsga2 plain (prescreen 1).
    const std::vector<std::string> baselines{"joules nsga2", "joules nsga2 plain"};
    // The multi-fidelity replays (one per seed) on `levels_table`, against both baselines, whose
    // first max_budget evaluations cost `cost_of(hash)` each.
    const auto multi_fidelity = [&](const Table& levels_table, const FidelityOptions& options,
                                    const std::function<double(const std::string&)>& cost_of) {
      std::map<std::string, std::vector<double>> baseline_seconds;  // per seed
      double longest = 1.0;  // the multi-fidelity replays run to twice the longest baseline's median
      for (const std::string& baseline : baselines) {
        for (const Replay& r : replays[baseline]) {
          double spent = 0;
          for (std::size_t i = 0; i < max_budget; ++i) spent += cost_of(r.log[i].hash);
          baseline_seconds[baseline].push_back(spent);
        }
        longest = std::max(longest, median(baseline_seconds[baseline]));
      }
      std::vector<Replay> fidelity_replays(seeds);
      in_parallel(seeds, [&](std::size_t s, const std::filesystem::path& dir) {
        fidelity_replays[s] = replay(config, profile, levels_table, Strategy::nsga2_fidelity, first_seed + s, population,
                                     1000000, 2.0 * longest, dir, options, prescreen);
      });
      nlohmann::json summary;
      for (const std::string& baseline : baselines) {
        std::vector<double> baseline_hv;
        for (const Replay& r : replays[baseline]) baseline_hv.push_back(front_hypervolume(r.log, max_budget, reference));
        const double target_hv = median(baseline_hv), budget_seconds = median(baseline_seconds[baseline]);
        struct Accounting {
          std::vector<double> fraction;         // seconds to reach target_hv / budget_seconds (kNever: never)
          std::vector<double> share_at_budget;  // hypervolume share within budget_seconds
        };
        std::map<std::string, Accounting> accountings;  // "as logged", "fidelity 1 only"
        for (const Replay& r : fidelity_replays) {
          for (const bool full_only : {false, true}) {
            double spent = 0, hv_budget = 0;
            std::optional<double> at;
            std::map<std::int64_t, std::vector<double>> latest;  // candidate id -> its highest level's point
            for (const EvaluationRecord& rung : r.rungs) {
              spent += rung.train_seconds;
              const bool counts = rung.status == EvaluationStatus::ok && rung.accuracy &&
                                  (!full_only || (rung.fidelity && *rung.fidelity == 1.0));
              if (counts) latest[rung.id] = {1.0 - *rung.accuracy, rung.energy_mj};
              else if (!full_only) latest.erase(rung.id);
              ObjectiveMatrix points;
              for (const auto& [id, point] : latest) points.push_back(point);
              const double hv = hypervolume(points, reference);
              if (spent <= budget_seconds) hv_budget = hv;
              if (!at && hv >= target_hv) at = spent;
            }
            Accounting& acc = accountings[full_only ? "fidelity 1 only" : "as logged"];
            acc.fraction.push_back(at ? *at / budget_seconds : kNever);
            acc.share_at_budget.push_back(hv_budget / true_hv);
          }
        }
        fmt::print("\nmulti-fidelity (search.fidelity levels {}, promote {} by {}{}; prescreen {}) against full-fidelity {} "
                   "at {} evaluations (median hypervolume share {:.4f}, median {:.0f} training seconds):\n",
                   fmt::join(options.levels, ", "), options.promote, to_string(options.promote_by),
                   options.continue_training ? ", continue" : "",
                   prescreen, baseline,
                   max_budget, target_hv / true_hv, budget_seconds);
        for (const auto& [name, acc] : accountings) {
          const double f = median(acc.fraction);
          const auto seeds_reached =
              std::count_if(acc.fraction.begin(), acc.fraction.end(), [](double x) { return x < kNever; });
          fmt::print("  front {}: reaches that hypervolume with a median {} of those seconds ({} of {} seeds within "
                     "the replay's seconds); median share with the same seconds {:.4f}\n",
                     name, f == kNever ? std::string("(not reached)") : fmt::format("{:.1f}%", 100 * f), seeds_reached,
                     seeds, median(acc.share_at_budget));
          summary[baseline][name] = {{"seconds_fraction", f == kNever ? nlohmann::json() : nlohmann::json(f)},
                                     {"share_at_same_seconds", median(acc.share_at_budget)}};
        }
      }
      return summary;
    };
    nlohmann::json fidelity_summary = multi_fidelity(table, fidelity, [&](const std::string& h) { return table.at(h).seconds; });
    if (!continue_table_path.empty()) {
      // The prefix table: every level a prefix of the same training as table.csv's fidelity 1
      // (the same accuracy at level 1), built at another time and load, so the baselines are
      // priced in its own seconds. Each of its pieces is its steps plus one evaluation, and the
      // 0.25 and 0.5 pieces together have the steps of the last one: a whole training without
      // the two extra evaluations is 3 p1 - p0.25 - p0.5.
      const Table prefix = read_table(continue_table_path);
      if (prefix.members != table.members) {
        throw std::runtime_error(continue_table_path + ": its members are not the table's");
      }
      const auto whole = [&](const std::string& h) {
        return 3.0 * prefix.at(h, 1.0).seconds - prefix.at(h, 0.25).seconds - prefix.at(h, 0.5).seconds;
      };
      double pieces = 0, wholes = 0, table_seconds = 0;
      std::size_t same = 0;
      for (const std::string& h : table.members) {
        pieces += prefix.seconds_from_start(h, 1.0);
        wholes += whole(h);
        table_seconds += table.at(h).seconds;
        same += prefix.at(h).ok == table.at(h).ok && prefix.at(h).accuracy == table.at(h).accuracy;
      }
      fmt::print("\nprefix table {}: level-1 accuracy equal to the table's for {} of {} members; every member to "
                 "level 1 in three pieces {:.0f} s, whole trainings there (3 p1 - p0.25 - p0.5) {:.0f} s, "
                 "the table's fidelity 1 {:.0f} s\n",
                 continue_table_path, same, table.members.size(), pieces, wholes, table_seconds);
      FidelityOptions continued = fidelity;
      continued.continue_training = true;
      fidelity_summary["continue"] = multi_fidelity(prefix, continued, whole);
      fidelity_summary["continue"]["seconds"] = {{"three_pieces", pieces}, {"whole", wholes}, {"table_fidelity_1", table_seconds}};
    }
    fmt::print("load average at the end: {:.2f}\n", load_average());

    nlohmann::json summary{{"budgets", budgets},
                           {"seeds", seeds},
                           {"first_seed", first_seed},
                           {"medians", medians},
                           {"optuna_distinct_architectures", distinct},
                           {"evaluations_to_random_at_max", to_random},
                           {"fidelity", fidelity_summary}};
    fmt::print("{}\n", summary.dump());
    std::filesystem::remove_all(scratch);
    return 0;
  } catch (const std::exception& e) {
    fmt::print(stderr, "error: {}\n", e.what());
    return 1;
  }
}
