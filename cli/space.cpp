// joules space sample CONFIG.yaml --count N --seed S --out DIR: N architectures of a search
// space (a search config's `space`, or a space file of its own) as YAML files, to inspect or
// estimate a space before searching it. joules space enumerate CONFIG.yaml [--out DIR]: how
// many distinct architectures it holds, and every one of them as a file.

#include <cstdio>
#include <filesystem>
#include <string>

#include <fmt/format.h>

#include "cli/command.hpp"
#include "search/config.hpp"
#include "space/architecture_yaml.hpp"
#include "space/search_space.hpp"
#include "util/atomic_file.hpp"
#include "util/input_error.hpp"
#include "util/yaml_reader.hpp"

namespace joules::cli {
namespace {

namespace fs = std::filesystem;

struct SpaceSampleOptions {
  std::string config;
  std::size_t count = 10;
  std::uint64_t seed = 1;
  std::string out;
};

SearchSpaceOptions load_space_of(const std::string& path) {
  const yaml::Value root = yaml::Value::parse_file(path);
  // A search config holds its space under `space`; a space file is the space itself.
  if (root.is_map() && root.get("space").defined()) return load_search_config(path).space;
  return load_search_space(path);
}

int run_space_sample(const SpaceSampleOptions& o) {
  const SearchSpaceOptions options = load_space_of(o.config);
  std::error_code ec;
  if (fs::exists(o.out, ec) && !(fs::is_directory(o.out, ec) && fs::is_empty(o.out, ec))) {
    throw InputError("command line", 0, "--out", fmt::format("{} exists and is not an empty directory", o.out));
  }
  std::vector<Architecture> archs;
  try {
    archs = SearchSpace(options).sample_architectures(o.count, o.seed);
  } catch (const SpecError& e) {
    throw InputError(o.config, 0, "space." + e.key(), e.message());
  }
  fs::create_directories(o.out);
  for (const Architecture& arch : archs) {
    write_file_atomic(fs::path(o.out) / (arch.name + ".yaml"),
                      fmt::format("# drawn from the space of {} (seed {})\n{}", o.config, o.seed, to_yaml(arch)));
  }
  fmt::print("wrote {} architectures of {} to {}/sample-1.yaml ... sample-{}.yaml (seed {})\n", archs.size(), o.config,
             o.out, archs.size(), o.seed);
  return 0;
}

struct SpaceEnumerateOptions {
  std::string config;
  std::size_t limit = 100000;
  std::string out;
  bool json = false;
};

int run_space_enumerate(const SpaceEnumerateOptions& o) {
  const SearchSpaceOptions options = load_space_of(o.config);
  std::error_code ec;
  if (!o.out.empty() && fs::exists(o.out, ec) && !(fs::is_directory(o.out, ec) && fs::is_empty(o.out, ec))) {
    throw InputError("command line", 0, "--out", fmt::format("{} exists and is not an empty directory", o.out));
  }
  std::optional<std::vector<std::pair<Genome, Architecture>>> members;
  try {
    members = SearchSpace(options).enumerate(o.limit);
  } catch (const SpecError& e) {
    throw InputError(o.config, 0, "space." + e.key(), e.message());
  }
  if (!members) {
    throw InputError("command line", 0, "--limit",
                     fmt::format("the space of {} holds more than {} architectures (raise --limit, or list fewer)",
                                 o.config, o.limit));
  }
  if (!o.out.empty()) {
    fs::create_directories(o.out);
    for (const auto& [genome, arch] : *members) {
      write_file_atomic(fs::path(o.out) / (arch.name + ".yaml"),
                        fmt::format("# member of the space of {} (hash {})\n{}", o.config, canonical_hash_hex(arch),
                                    to_yaml(arch)));
    }
  }
  if (o.json) {
    fmt::print("{{\"architectures\": {}}}\n", members->size());
  } else {
    fmt::print("{} distinct architectures in the space of {}{}\n", members->size(), o.config,
               o.out.empty() ? "" : fmt::format("; written to {}/member-1.yaml ... member-{}.yaml", o.out, members->size()));
  }
  return 0;
}

}  // namespace

Runner add_space_command(CLI::App& app) {
  auto o = std::make_shared<SpaceSampleOptions>();
  CLI::App* cmd = app.add_subcommand("space", "Work with search spaces");
  cmd->require_subcommand(1);
  CLI::App* sample = cmd->add_subcommand("sample", "Write architectures drawn from a search space as YAML files");
  sample->add_option("CONFIG.yaml", o->config, "Search config (its space) or search space file")->required();
  sample->add_option("--count", o->count, "Architectures to draw (default 10)")->check(CLI::Range(1, 1000000));
  sample->add_option("--seed", o->seed, "Seed of the draw (default 1)");
  sample->add_option("--out", o->out, "Directory to write them to (created; must be new or empty)")->required();
  auto e = std::make_shared<SpaceEnumerateOptions>();
  CLI::App* enumerate = cmd->add_subcommand("enumerate", "Count a search space's distinct architectures (and write them)");
  enumerate->add_option("CONFIG.yaml", e->config, "Search config (its space) or search space file")->required();
  enumerate->add_option("--limit", e->limit, "Refuse a space with more than this many (default 100000)")
      ->check(CLI::Range(std::size_t{1}, std::size_t{10000000}));
  enumerate->add_option("--out", e->out, "Write each as DIR/member-N.yaml (created; must be new or empty)");
  enumerate->add_flag("--json", e->json, "Print {\"architectures\": N}");
  return [o, e, sample, enumerate] { return sample->parsed() ? run_space_sample(*o) : run_space_enumerate(*e); };
}

}  // namespace joules::cli
