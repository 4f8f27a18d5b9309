// joules search [CONFIG.yaml] [--out DIR] [--resume]: the main job. Under mpirun or srun, rank 0
// runs it and the other ranks train what rank 0 sends them (search/mpi_evaluator.hpp).

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "cli/command.hpp"
#include "cli/format.hpp"
#include "cli/interrupt.hpp"
#include "cli/search_output.hpp"
#include "energy/board_profile.hpp"
#include "report/run_report.hpp"
#include "search/config.hpp"
#include "search/export.hpp"
#include "search/mpi_evaluator.hpp"
#include "search/nas_search.hpp"
#include "search/run_directory.hpp"
#include "train/allocator.hpp"
#include "train/trainer.hpp"
#include "util/input_error.hpp"
#include "util/status_line.hpp"
#include "util/yaml_reader.hpp"

namespace joules::cli {
namespace {

struct SearchCommandOptions {
  std::string config;
  std::string out;
  bool resume = false;
  bool json = false;
};

std::string default_run_directory(const std::string& name) {
  const std::time_t now = std::time(nullptr);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", std::localtime(&now));
  return fmt::format("runs/{}-{}", name, stamp);
}

// With training.device cuda, each rank takes GPU local_rank % device_count (before CUDA starts).
void choose_gpu(const SearchConfig& config) {
  if (config.training.device != ComputeDevice::cuda) return;
  if (const std::optional<std::string> gpu = gpu_for_rank(local_rank())) ::setenv("CUDA_VISIBLE_DEVICES", gpu->c_str(), 1);
}

// A rank other than 0: the config comes from rank 0 (workers need no copy of the run directory).
int run_search_worker(MpiSession& mpi) {
  const std::optional<std::string> text = mpi.receive_config();
  if (!text) return 0;  // rank 0 ended before the search started (e.g. bad input, which it reports)
  const std::string label = fmt::format("<config from rank 0, on rank {}>", mpi.rank());
  const SearchConfig config = parse_search_config(*text, label, std::filesystem::current_path().string());
  choose_gpu(config);
  keep_freed_memory_for_training();
  // Rank 0 sends the config before it loads the data itself, so both load at once. Data that
  // rank 0 cannot load either ends with rank 0's error and QUIT: then leave quietly; only a
  // job for a rank without its data is this rank's own failure (it ends the MPI job).
  std::shared_ptr<const Data> data;
  try {
    data = load_data(config.data, config.space.input, yaml::Value::parse_string(*text, label).get("data"));
  } catch (const std::exception&) {
    if (!mpi.receive_job_or_quit()) return 0;
    throw;
  }
  const InterruptGuard interrupt;
  mpi.serve([&data](const Architecture& arch, const TrainOptions& train_options,
                    const std::atomic<bool>* flag) {
    return train_architecture(arch, *data, train_options, TrainHooks{.stop = flag});
  }, config.training, &interrupt.flag());
  return 0;
}

int run_search_command(const SearchCommandOptions& options) {
  // Under an MPI launcher (and only then) MPI starts; ranks other than 0 train.
  std::unique_ptr<MpiSession> mpi;
  if (launched_by_mpi()) mpi = std::make_unique<MpiSession>();
  if (mpi && mpi->rank() != 0) return run_search_worker(*mpi);
  const bool distributed = mpi && mpi->size() > 1;

  // 1. The config: a file, the embedded default, or the run's own when resuming.
  std::string config_label;
  std::string config_text;
  SearchConfig config;
  if (options.resume) {
    if (options.out.empty()) throw InputError("", 0, "--resume", "needs the run directory: --out DIR");
    config_label = (std::filesystem::path(options.out) / "config.yaml").string();
    if (!std::filesystem::exists(config_label)) {
      throw InputError(options.out, 0, "--resume", "holds no search run to resume (no config.yaml)");
    }
    config = load_search_config(config_label);
    config_text = read_input_file(config_label);
    if (!options.config.empty()) fmt::print(stderr, "note: resuming with the run's own config.yaml; {} is not read\n", options.config);
  } else if (options.config.empty()) {
    config_label = "<default config: configs/quickstart.yaml>";
    config_text = default_config_text();
    config = parse_search_config(config_text, config_label, std::filesystem::current_path().string());
  } else {
    config_label = options.config;
    config = load_search_config(options.config);
    config_text = read_input_file(options.config);
  }

  // 2. Everything that can be wrong with the input is found before any work starts (workers
  // load their data meanwhile; bad input here releases them).
  const BoardProfile profile = load_board_profile(config.board);
  if (distributed) mpi->send_config(to_yaml(config));
  keep_freed_memory_for_training();
  const std::shared_ptr<const Data> data = load_data(
      config.data, config.space.input, yaml::Value::parse_string(config_text, config_label).get("data"));
  config.data.class_names = data->class_names();  // an image folder's, into the resolved config
  try {
    check_search_against_data(config, *data);
  } catch (const SpecError& e) {
    yaml::Value::parse_string(config_text, config_label).fail_at(e);
  }
  if (distributed && config.search.coordinator_trains) choose_gpu(config);
  const std::string out = options.out.empty() ? default_run_directory(config.name) : options.out;
  RunDirectory run = options.resume ? RunDirectory::resume(out) : RunDirectory::create(out, to_yaml(config));

  // Under --json, stdout holds only the final summary object; the rest goes to stderr.
  print_search_header(config, profile, *data, run, options.resume, options.json ? stderr : stdout);
  const InterruptGuard interrupt;
  StatusLine status(stderr);
  SearchHooks hooks;
  hooks.stop = &interrupt.flag();
  hooks.trainer = [&data](const Architecture& arch, const TrainOptions& train_options, const std::atomic<bool>* flag) {
    return train_architecture(arch, *data, train_options, TrainHooks{.stop = flag});
  };
  std::unique_ptr<Evaluator> ranks;
  if (distributed) {
    ranks = mpi->evaluator(config.search.coordinator_trains ? hooks.trainer : CandidateTrainer(), hooks.stop);
    hooks.evaluator = ranks.get();
  }
  // Off a terminal, a line per generation (and at most one per 10 s within one).
  hooks.on_progress = [&status, generation = std::size_t{0}](const SearchProgress& p) mutable {
    status.update(describe_progress(p), /*force=*/p.generation != generation);
    generation = p.generation;
  };
  const SearchSummary summary = run_search(config, profile, run, hooks);
  status.finish();
  if (mpi) mpi->release_workers();  // the export runs on rank 0 alone
  if (summary.interrupted) {
    fmt::print(stderr, "interrupted after {} complete generations; every finished evaluation is in {}.\n"
               "continue with: joules search --resume --out {}\n",
               summary.generations_done, run.evaluations_path().string(), run.path().string());
    if (options.json) {
      const EvaluationCounts counts = count_evaluations(read_evaluations(run.path()));
      fmt::print("{}\n", dump_json(summary_json(run.path(), nullptr, counts, true)));
    }
    return 130;
  }

  // 3. The search exports its front by itself (under the run's lock, which it holds).
  ExportRequest request{.run_dir = run.path(),
                        .retrain_epochs = config.export_options.retrain_epochs,
                        .config = &config,
                        .profile = &profile,
                        .stop = &interrupt.flag()};
  if (request.retrain_epochs > 0) {
    request.retrain = [&data, &interrupt](const Architecture& arch, const TrainOptions& train_options) {
      return train_architecture(arch, *data, train_options, TrainHooks{.stop = &interrupt.flag()});
    };
    request.on_note = [](const std::string& note) { fmt::print(stderr, "{}\n", note); };
  }
  const ExportResult exported = export_front(request);
  if (exported.interrupted) {
    fmt::print(stderr, "interrupted during the export; the search itself is complete: export its front with "
               "joules export {}\n", run.path().string());
    if (options.json) fmt::print("{}\n", dump_json(summary_json(run.path(), nullptr, exported.counts, true)));
    return 130;
  }
  print_export_warnings(exported);
  const std::optional<std::string> report_failure = try_write_run_report(run.path());
  if (report_failure) fmt::print(stderr, "warning: no report.html: {}\n", *report_failure);
  if (options.json) {
    fmt::print("{}\n", dump_json(summary_json(run.path(), &exported, exported.counts, false)));
  } else {
    print_export_summary(exported, profile);
    if (!report_failure) fmt::print("report: {} (one self-contained page; open it in a browser)\n", (run.path() / "report.html").string());
  }
  return 0;
}

}  // namespace

Runner add_search_command(CLI::App& app) {
  auto options = std::make_shared<SearchCommandOptions>();
  CLI::App* cmd = app.add_subcommand("search", "Search for accurate, energy-efficient architectures");
  cmd->add_option("CONFIG.yaml", options->config,
                  "Search config (default: the embedded configs/quickstart.yaml)");
  cmd->add_option("--out", options->out, "Run directory (default: runs/NAME-DATE-TIME)");
  cmd->add_flag("--resume", options->resume, "Continue the interrupted run in --out");
  cmd->add_flag("--json", options->json,
                "Print one JSON summary object on stdout at the end (the header and progress go to stderr)");
  return [options] { return run_search_command(*options); };
}

}  // namespace joules::cli
