#pragma once
// A search config: everything `joules search` needs, read from one YAML file and written back,
// resolved (defaults filled in, paths absolute), as the run directory's config.yaml.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "energy/split.hpp"
#include "space/search_space.hpp"
#include "train/data.hpp"
#include "train/trainer.hpp"

namespace joules {

/// split_energy: the best split's total energy for the link of `search.split` (energy/split.hpp).
enum class Objective { accuracy, energy, latency, params, macs, split_energy };
/// exhaustive: every member of the space (SearchSpace::enumerate, at most 100,000), in its
/// fixed order, in batches of `population` (`generations` is ignored): builds a tabular
/// benchmark with the run directory's logging and resume.
enum class Algorithm { nsga2, random, exhaustive };
inline constexpr std::size_t kExhaustiveLimit = 100000;
/// search.schedule: generational (a barrier per generation; the same evaluations for a seed
/// whatever the jobs or ranks) or async (steady state: a child bred whenever a worker is free).
enum class Schedule { generational, async };

std::string_view to_string(Objective objective);
std::string_view to_string(Algorithm algorithm);
std::string_view to_string(Schedule schedule);

/// Upper limits a candidate must meet; one that breaks any is logged `infeasible` and never
/// trained (energy and sizes are known before training).
struct Budgets {
  std::optional<double> energy_mj;
  std::optional<double> latency_ms;
  std::optional<std::int64_t> params;
  std::optional<std::int64_t> macs;

  bool operator==(const Budgets&) const = default;
};

/// search.extrapolation: "allow", "warn" (default), "reject".
enum class Extrapolation { allow, warn, reject };
std::string_view to_string(Extrapolation policy);

/// search.fidelity: successive halving inside each generation. Every new candidate is trained
/// on levels[0] x training.train_samples samples; the best `promote` share of those trained at
/// a level (by non-dominated rank, then crowding) is trained again, from scratch, at the next;
/// the last level is 1 (the config's training). A candidate's record holds the accuracy of the
/// highest level it reached, that level as `fidelity`, and the seconds of all its trainings.
/// search.fidelity.promote_by. rank: non-dominated rank, then crowding, among the level's
/// candidates. hypervolume: the ones that add the most hypervolume to the front trained in full
/// in earlier generations, each at its level's accuracy plus the median gain from that level
/// to 1 of the candidates of earlier generations that have both.
enum class FidelityPromotion { rank, hypervolume };
std::string_view to_string(FidelityPromotion promotion);

struct FidelityOptions {
  std::vector<double> levels{0.25, 0.5, 1.0};
  double promote = 0.5;
  /// `continue`: a level is a prefix (that share of the steps) of the config's whole training,
  /// and a promoted candidate continues from its state at the level before; false: a level
  /// trains from scratch on that share of training.train_samples.
  bool continue_training = false;
  /// `promote_by`: how a level's best share is chosen (FidelityPromotion).
  FidelityPromotion promote_by = FidelityPromotion::rank;

  bool operator==(const FidelityOptions&) const = default;
};

struct SearchOptions {
  Algorithm algorithm = Algorithm::nsga2;
  /// Candidates per generation (NSGA-II's population size; random search's batch).
  std::size_t population = 12;
  /// Generations of offspring after the initial population: (generations + 1) * population
  /// candidates in all (fewer are trained when the optimizer proposes known networks).
  std::size_t generations = 4;
  /// Trainings run at once; each uses `training.threads` threads (keep jobs x threads <= cores).
  int jobs = 2;
  /// Objectives of the Pareto front: accuracy (maximised) and the others (minimised).
  std::vector<Objective> objectives{Objective::accuracy, Objective::energy};
  Budgets budgets;
  /// Probability that two selected parents are crossed over (otherwise copied); every child
  /// is then mutated once.
  double crossover_rate = 0.9;
  /// What to do with a candidate whose energy estimate extrapolates beyond the profile's data
  /// (a layer outside a fitted range): allow (say nothing), warn (count it in the summary) or
  /// reject (log it infeasible without training it).
  Extrapolation extrapolation = Extrapolation::warn;
  /// search.split: {uplink_mbps, radio_mw, bytes_per_value, server_ms_per_gmac}, the link the
  /// split_energy objective prices every candidate's splits for; required by that objective.
  std::optional<SplitLink> split;
  /// generational (default) or async (NSGA-II only).
  Schedule schedule = Schedule::generational;
  /// async: candidates bred in all; 0 means population x (generations + 1).
  std::size_t evaluations = 0;
  /// Successive halving (generational nsga2 and random only); none: every candidate gets the
  /// whole training.
  std::optional<FidelityOptions> fidelity;
  /// search.prescreen: children bred per candidate trained (nsga2; 1: off). Of population x
  /// prescreen children, the population a Gaussian process of accuracy (fitted to the earlier
  /// generations' trainings, energy and latency exact) says add the most hypervolume are
  /// trained (search/surrogate.hpp); schedule: async picks one of prescreen children for each
  /// free slot (1 when async leaves the key out). Ignored by random and exhaustive.
  std::size_t prescreen = 4;
  /// Under MPI, rank 0 also trains (one candidate at a time) besides coordinating.
  bool coordinator_trains = false;

  /// The async budget: `evaluations`, or population x (generations + 1) when it is 0.
  std::size_t evaluation_budget() const { return evaluations > 0 ? evaluations : population * (generations + 1); }

  bool operator==(const SearchOptions&) const = default;
};

struct ExportOptions {
  /// When > 0, every front member is retrained for this many epochs on the whole training
  /// split and its test-set accuracy added to the export.
  std::int64_t retrain_epochs = 0;

  bool operator==(const ExportOptions&) const = default;
};

struct SearchConfig {
  std::string name;            // names the default run directory
  std::uint64_t seed = 1;      // seeds the optimizer; candidate trainings derive theirs from it
  std::string board;           // absolute path of the board profile
  SearchSpaceOptions space;
  DataOptions data;
  TrainOptions training;
  SearchOptions search;
  ExportOptions export_options;

  bool operator==(const SearchConfig&) const = default;
};

/// Reads a search config; relative paths (board, space) are resolved against the config's
/// directory, a board without '/' or ".yaml" names profiles/NAME.yaml. Throws InputError naming
/// the file, line and key for any error, before any work starts.
SearchConfig load_search_config(const std::string& path);
/// Same for config text; `file` labels errors and `base_dir` resolves relative paths.
SearchConfig parse_search_config(const std::string& text, const std::string& file, const std::string& base_dir);

/// The resolved config as YAML that parse_search_config() reads back to an equal config.
std::string to_yaml(const SearchConfig& config);

/// Throws SpecError ("space.input", "space.classes", "training.train_samples") when the data
/// does not fit the config.
void check_search_against_data(const SearchConfig& config, const Data& data);

/// The default config (configs/quickstart.yaml, embedded at build time).
std::string default_config_text();

}  // namespace joules
