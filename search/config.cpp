#include "search/config.hpp"

#include <array>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <set>

#include <fmt/format.h>

#include "energy/board_profile.hpp"
#include "energy/board_reference.hpp"
#include "util/input_error.hpp"
#include "util/yaml_reader.hpp"
#include "util/yaml_writer.hpp"

namespace joules {
namespace {

namespace fs = std::filesystem;

constexpr EnumNames<Objective, 6> kObjectiveNames{{{Objective::accuracy, "accuracy"},
                                                    {Objective::energy, "energy"},
                                                    {Objective::latency, "latency"},
                                                    {Objective::params, "params"},
                                                    {Objective::macs, "macs"},
                                                    {Objective::split_energy, "split_energy"}}};
constexpr EnumNames<Algorithm, 3> kAlgorithmNames{
    {{Algorithm::nsga2, "nsga2"}, {Algorithm::random, "random"}, {Algorithm::exhaustive, "exhaustive"}}};
constexpr EnumNames<Schedule, 2> kScheduleNames{
    {{Schedule::generational, "generational"}, {Schedule::async, "async"}}};
constexpr EnumNames<FidelityPromotion, 2> kPromotionNames{
    {{FidelityPromotion::rank, "rank"}, {FidelityPromotion::hypervolume, "hypervolume"}}};

std::string indent(const std::string& yaml_text) {
  std::string out;
  std::size_t begin = 0;
  while (begin < yaml_text.size()) {
    const std::size_t end = yaml_text.find('\n', begin);
    const std::string line = yaml_text.substr(begin, end == std::string::npos ? std::string::npos : end - begin);
    if (!line.empty()) out += "  " + line + "\n";
    if (end == std::string::npos) break;
    begin = end + 1;
  }
  return out;
}

std::string resolve_board(const yaml::Value& node, const std::string& base_dir) {
  try {
    return resolve_board_profile(node.as_string(), base_dir);
  } catch (const SpecError& e) {
    node.fail(e.message());
  }
}

SearchSpaceOptions read_space(const yaml::Value& node, const std::string& base_dir) {
  if (node.is_map()) return parse_search_space(node);
  const std::string name = node.as_string();
  const fs::path path = fs::path(name).is_absolute() ? fs::path(name) : fs::path(base_dir) / name;
  if (!fs::is_regular_file(path)) node.fail("no search space file at " + path.string());
  return load_search_space(path.string());
}

// search.split: the radio link of the split_energy objective.
SplitLink read_split_link(const yaml::Value& node) {
  if (!node.is_map()) node.fail("expected a map: {uplink_mbps, radio_mw, bytes_per_value, server_ms_per_gmac}");
  node.allow_keys({"uplink_mbps", "radio_mw", "bytes_per_value", "server_ms_per_gmac"});
  SplitLink link;
  link.uplink_mbps = node.require("uplink_mbps").as_double(-1e300, 1e300);
  link.radio_mw = node.require("radio_mw").as_double(-1e300, 1e300);
  if (node.get("bytes_per_value").defined()) link.bytes_per_value = node.get("bytes_per_value").as_int();
  if (node.get("server_ms_per_gmac").defined()) {
    link.server_ms_per_gmac = node.get("server_ms_per_gmac").as_double(-1e300, 1e300);
  }
  try {
    validate(link);
  } catch (const SpecError& e) {
    node.get(e.key()).fail(e.message());
  }
  return link;
}

SearchOptions read_search(const yaml::Value& node) {
  SearchOptions o;
  if (!node.defined()) return o;
  node.allow_keys({"algorithm", "population", "generations", "jobs", "objectives", "budgets", "crossover_rate",
                  "extrapolation", "split", "schedule", "evaluations",
                  "coordinator_trains", "fidelity", "prescreen"});
  if (const yaml::Value split = node.get("split"); split.defined()) o.split = read_split_link(split);
  if (node.get("algorithm").defined()) {
    o.algorithm = node.get("algorithm").as_enum(kAlgorithmNames);
  }
  if (node.get("population").defined()) o.population = node.get("population").as_int(2, 100000);
  if (node.get("generations").defined()) o.generations = node.get("generations").as_int(0, 100000);
  if (node.get("jobs").defined()) o.jobs = static_cast<int>(node.get("jobs").as_int(1, 1024));
  if (const yaml::Value objectives = node.get("objectives"); objectives.defined()) {
    if (!objectives.is_sequence() || objectives.size() == 0) objectives.fail("expected a list of objectives");
    o.objectives.clear();
    for (std::size_t i = 0; i < objectives.size(); ++i) {
      const yaml::Value item = objectives.at(i);
      const Objective objective = item.as_enum(kObjectiveNames);
      if (std::find(o.objectives.begin(), o.objectives.end(), objective) != o.objectives.end()) {
        item.fail("duplicate objective");
      }
      o.objectives.push_back(objective);
    }
  }
  if (const yaml::Value budgets = node.get("budgets"); budgets.defined()) {
    budgets.allow_keys({"energy_mj", "latency_ms", "params", "macs"});
    if (budgets.get("energy_mj").defined()) o.budgets.energy_mj = budgets.get("energy_mj").as_double(1e-12, 1e12);
    if (budgets.get("latency_ms").defined()) o.budgets.latency_ms = budgets.get("latency_ms").as_double(1e-12, 1e12);
    if (budgets.get("params").defined()) o.budgets.params = budgets.get("params").as_int(1);
    if (budgets.get("macs").defined()) o.budgets.macs = budgets.get("macs").as_int(1);
  }
  if (node.get("crossover_rate").defined()) o.crossover_rate = node.get("crossover_rate").as_double(0.0, 1.0);
  if (node.get("extrapolation").defined()) {
    o.extrapolation = static_cast<Extrapolation>(node.get("extrapolation").as_choice({"allow", "warn", "reject"}));
  }
  if (node.get("schedule").defined()) {
    o.schedule = node.get("schedule").as_enum(kScheduleNames);
    if (o.schedule == Schedule::async && o.algorithm != Algorithm::nsga2) {
      node.get("schedule").fail(fmt::format("async is a schedule of NSGA-II; algorithm {} runs generational", to_string(o.algorithm)));
    }
  }
  if (node.get("evaluations").defined()) o.evaluations = node.get("evaluations").as_int(1, 100000000);
  if (node.get("coordinator_trains").defined()) o.coordinator_trains = node.get("coordinator_trains").as_bool();
  if (const yaml::Value p = node.get("prescreen"); p.defined()) {
    o.prescreen = static_cast<std::size_t>(p.as_int(1, 64));
  } else if (o.schedule == Schedule::async) {
    o.prescreen = 1;  // on the NAS table, async's prescreen helps early and not at 200 (docs/search.md#prescreen)
  }
  if (const yaml::Value f = node.get("fidelity"); f.defined()) {
    if (!f.is_map()) f.fail("expected {levels: [0.25, 0.5, 1], promote: 0.5}");
    f.allow_keys({"levels", "promote", "continue", "promote_by"});
    FidelityOptions fidelity;
    if (const yaml::Value levels = f.get("levels"); levels.defined()) {
      if (!levels.is_sequence() || levels.size() < 2) levels.fail("expected at least two levels, e.g. [0.25, 0.5, 1]");
      fidelity.levels.clear();
      for (std::size_t i = 0; i < levels.size(); ++i) {
        const double level = levels.at(i).as_double(1e-6, 1.0);
        if (!fidelity.levels.empty() && level <= fidelity.levels.back()) {
          levels.at(i).fail("levels must increase");
        }
        fidelity.levels.push_back(level);
      }
      if (fidelity.levels.back() != 1.0) levels.at(levels.size() - 1).fail("the last level must be 1 (the whole training)");
    }
    if (f.get("promote").defined()) fidelity.promote = f.get("promote").as_double(1e-6, 1.0);
    if (f.get("continue").defined()) fidelity.continue_training = f.get("continue").as_bool();
    if (f.get("promote_by").defined()) fidelity.promote_by = f.get("promote_by").as_enum(kPromotionNames);
    if (o.schedule == Schedule::async) f.fail("successive halving runs inside a generation: not with schedule: async");
    // Exhaustive trains every member in full: with fidelity, it also evaluates every one at
    // every level (a tabular benchmark's low fidelities), so nobody may be left behind.
    if (o.algorithm == Algorithm::exhaustive && fidelity.promote != 1.0) {
      f.fail("algorithm: exhaustive trains every member at every level: promote must be 1");
    }
    o.fidelity = fidelity;
  }
  return o;
}

// The name names the default run directory runs/NAME-DATE: a name, never a path.
std::string run_name_problem(const std::string& name) {
  if (name.empty()) return "is empty: a run needs a name";
  if (name == "." || name == "..") return fmt::format("'{}' is not a name", name);
  if (name.find_first_of("/\\") != std::string::npos) {
    return fmt::format("'{}' holds a path separator: a name, not a path, is expected", name);
  }
  for (unsigned char ch : name) {
    if (ch < 0x20 || ch == 0x7f) return "holds a control character: letters, digits, '-', '_' and '.' are expected";
  }
  if (name.find("..") != std::string::npos) return fmt::format("'{}' holds '..': a name, not a path, is expected", name);
  return "";
}

SearchConfig parse_root(const yaml::Value& root, const std::string& base_dir) {
  if (!root.is_map()) root.fail("expected a search config: a map with board, space, data, training and search");
  root.allow_keys({"name", "seed", "board", "space", "data", "training", "search", "export"});
  SearchConfig c;
  c.name = root.get("name").defined() ? root.get("name").as_string()
                                      : fs::path(root.file()).stem().string();
  if (const std::string why = run_name_problem(c.name); !why.empty()) {
    if (root.get("name").defined()) root.get("name").fail(why);
    root.fail(fmt::format("name (from the file's name): {}", why));
  }
  if (root.get("seed").defined()) c.seed = static_cast<std::uint64_t>(root.get("seed").as_int(0));
  const yaml::Value board = root.require("board");
  c.board = resolve_board(board, base_dir);
  const BoardProfile profile = load_board_profile(c.board);
  c.space = read_space(root.require("space"), base_dir);
  if (root.get("data").defined()) c.data = parse_data_options(root.get("data"));
  // The resolved config names the data directory absolutely (relative to the config's directory).
  if (const fs::path data_dir = c.data.path; !data_dir.empty() && data_dir.is_relative()) {
    c.data.path = (fs::path(base_dir) / data_dir).lexically_normal().string();
  }
  if (const fs::path cache_dir = c.data.cache_dir; !cache_dir.empty() && cache_dir.is_relative()) {
    c.data.cache_dir = (fs::path(base_dir) / cache_dir).lexically_normal().string();
  }
  if (root.get("training").defined()) c.training = parse_train_options(root.get("training"));
  c.search = read_search(root.get("search"));
  if (const yaml::Value e = root.get("export"); e.defined()) {
    e.allow_keys({"retrain_epochs"});
    if (e.get("retrain_epochs").defined()) c.export_options.retrain_epochs = e.get("retrain_epochs").as_int(0, 100000);
  }

  // What the board profile cannot estimate is an error now, not after hours of training.
  const bool latency = profile.latency.has_value();
  const yaml::Value search = root.get("search");
  for (std::size_t i = 0; i < c.search.objectives.size(); ++i) {
    if (c.search.objectives[i] == Objective::latency && !latency) {
      search.get("objectives").at(i).fail("the board profile " + c.board + " has no latency model");
    }
  }
  for (std::size_t i = 0; i < c.search.objectives.size(); ++i) {
    if (c.search.objectives[i] == Objective::split_energy && !c.search.split) {
      search.get("objectives").at(i).fail("split_energy needs the link under search.split: {uplink_mbps, radio_mw}");
    }
  }
  if (c.search.budgets.latency_ms && !latency) {
    search.get("budgets").get("latency_ms").fail("the board profile " + c.board + " has no latency model");
  }
  const bool fidelity_by_samples = c.search.fidelity && !c.search.fidelity->continue_training;
  if (fidelity_by_samples && c.training.train_samples <= 0) {
    search.get("fidelity").fail("needs training.train_samples: the levels are shares of it (or continue: true, "
                                "where they are shares of the training's steps)");
  }
  if (fidelity_by_samples && std::llround(c.search.fidelity->levels.front() *
                                        static_cast<double>(c.training.train_samples)) < 1) {
    search.get("fidelity").get("levels").fail("the first level trains on no sample of training.train_samples");
  }
  if (c.search.algorithm == Algorithm::exhaustive && !SearchSpace(c.space).enumerate(kExhaustiveLimit)) {
    search.get("algorithm").fail(fmt::format("exhaustive: the space has more than {} distinct architectures "
                                             "(joules space enumerate counts them); narrow it",
                                             kExhaustiveLimit));
  }
  return c;
}

}  // namespace

std::string_view to_string(Objective objective) { return name_of(kObjectiveNames, objective); }

std::string_view to_string(Algorithm algorithm) { return name_of(kAlgorithmNames, algorithm); }

std::string_view to_string(Schedule schedule) { return name_of(kScheduleNames, schedule); }

std::string_view to_string(FidelityPromotion promotion) { return name_of(kPromotionNames, promotion); }

std::string_view to_string(Extrapolation policy) {
  constexpr std::array<std::string_view, 3> kNames{"allow", "warn", "reject"};
  return kNames[static_cast<std::size_t>(policy)];
}

SearchConfig parse_search_config(const std::string& text, const std::string& file, const std::string& base_dir) {
  return parse_root(yaml::Value::parse_string(text, file), base_dir);
}

SearchConfig load_search_config(const std::string& path) {
  const yaml::Value root = yaml::Value::parse_file(path);
  return parse_root(root, fs::absolute(path).parent_path().string());
}

void check_search_against_data(const SearchConfig& config, const Data& data) {
  const Shape in = data.input();
  const Shape& want = config.space.input;
  if (want != in) {
    throw SpecError("space.input", fmt::format("the space's input {}x{}x{} is not the data's sample shape {}x{}x{}",
                                               want.channels, want.height, want.width, in.channels, in.height, in.width));
  }
  if (config.space.classes != data.classes()) {
    throw SpecError("space.classes",
                    fmt::format("the space has {} classes, the data {}{}", config.space.classes, data.classes(),
                                class_source(data)));
  }
  try {
    check_compatible(config.training, data);
  } catch (const SpecError& e) {
    throw SpecError("training." + e.key(), e.message());
  }
}

std::string to_yaml(const SearchConfig& c) {
  std::string out = "# The resolved search config: every default filled in, paths absolute.\n";
  out += fmt::format("name: {}\nseed: {}\nboard: {}\n", yaml_scalar(c.name), c.seed, yaml_scalar(c.board));
  out += "space:\n" + indent(to_yaml(c.space));
  out += "data:\n" + indent(to_yaml(c.data));
  out += "training:\n" + indent(to_yaml(c.training));
  const SearchOptions& s = c.search;
  out += "search:\n";
  out += fmt::format("  algorithm: {}\n  population: {}\n  generations: {}\n  jobs: {}\n", to_string(s.algorithm),
                     s.population, s.generations, s.jobs);
  std::string objectives;
  for (Objective o : s.objectives) objectives += (objectives.empty() ? "" : ", ") + std::string(to_string(o));
  out += fmt::format("  objectives: [{}]\n", objectives);
  std::string budgets;
  auto add = [&](const char* key, const std::string& value) {
    budgets += (budgets.empty() ? "" : ", ") + fmt::format("{}: {}", key, value);
  };
  if (s.budgets.energy_mj) add("energy_mj", fmt::format("{}", *s.budgets.energy_mj));
  if (s.budgets.latency_ms) add("latency_ms", fmt::format("{}", *s.budgets.latency_ms));
  if (s.budgets.params) add("params", fmt::format("{}", *s.budgets.params));
  if (s.budgets.macs) add("macs", fmt::format("{}", *s.budgets.macs));
  out += fmt::format("  budgets: {{{}}}\n", budgets);
  out += fmt::format("  crossover_rate: {}\n", s.crossover_rate);
  out += fmt::format("  extrapolation: {}\n", to_string(s.extrapolation));
  if (s.split) {
    out += fmt::format("  split: {{uplink_mbps: {}, radio_mw: {}, bytes_per_value: {}{}}}\n", s.split->uplink_mbps,
                       s.split->radio_mw, s.split->bytes_per_value,
                       s.split->server_ms_per_gmac ? fmt::format(", server_ms_per_gmac: {}", *s.split->server_ms_per_gmac) : "");
  }
  out += fmt::format("  schedule: {}\n", to_string(s.schedule));
  if (s.evaluations > 0) out += fmt::format("  evaluations: {}\n", s.evaluations);
  out += fmt::format("  coordinator_trains: {}\n", s.coordinator_trains);
  out += fmt::format("  prescreen: {}\n", s.prescreen);
  if (s.fidelity) {
    std::string levels;
    for (double l : s.fidelity->levels) levels += (levels.empty() ? "" : ", ") + fmt::format("{}", l);
    out += fmt::format("  fidelity: {{levels: [{}], promote: {}{}{}}}\n", levels, s.fidelity->promote,
                       s.fidelity->continue_training ? ", continue: true" : "",
                       s.fidelity->promote_by == FidelityPromotion::rank
                           ? ""
                           : fmt::format(", promote_by: {}", to_string(s.fidelity->promote_by)));
  }
  out += fmt::format("export:\n  retrain_epochs: {}\n", c.export_options.retrain_epochs);
  return out;
}

}  // namespace joules
