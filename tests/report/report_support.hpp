#pragma once
// What the report tests share: a synthetic run directory written by the real RunDirectory, and
// headless Chromium (dump the DOM after the page's scripts ran, take screenshots).

#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>
#include <regex>
#include <string>
#include <vector>

#include "energy/board_profile.hpp"
#include "energy/estimator.hpp"
#include "search/config.hpp"
#include "search/run_directory.hpp"
#include "space/analysis.hpp"
#include "tests/cli/run_command.hpp"
#include "tests/cli/tiny_search.hpp"

namespace joules::testing {

/// A run of `n` evaluations priced by the Jetson Nano profile: every 10th over the params
/// budget (infeasible, not trained), every 25th failed, the rest trained with an accuracy that
/// grows with the energy (and some noise), so that the front has several members. Names, when
/// given, are the architectures' in turn.
inline std::vector<EvaluationRecord> write_synthetic_run(const std::filesystem::path& dir, std::size_t n,
                                                         const std::vector<std::string>& names = {}) {
  const SearchConfig config = parse_search_config(tiny_config(), "config.yaml", dir.parent_path().string());
  RunDirectory run = RunDirectory::create(dir, to_yaml(config));
  const EnergyEstimator estimator(load_board_profile(config.board));
  std::mt19937 rng(7);
  std::uniform_real_distribution<double> noise(-0.04, 0.04);
  std::vector<EvaluationRecord> records;
  for (std::size_t i = 0; i < n; ++i) {
    Architecture arch{.input = {1, 28, 28}};
    arch.layers.push_back(ConvLayer{.filters = static_cast<std::int64_t>(4 + i % 29), .kernel = {3, 3}, .padding = {1, 1}});
    if (i % 3 == 0) arch.layers.push_back(PoolLayer{.kernel = {2, 2}, .stride = {2, 2}});
    if (i % 4 == 1) arch.layers.push_back(ConvLayer{.filters = static_cast<std::int64_t>(8 + i % 17), .kernel = {5, 5}});
    if (i % 2 == 0) arch.layers.push_back(FcLayer{.units = 16});
    arch.layers.push_back(FcLayer{.units = 10, .activation = Activation::none});
    if (!names.empty()) arch.name = names[i % names.size()];
    const NetworkAnalysis analysis = analyze(arch);
    const NetworkEstimate e = estimator.estimate(arch, analysis);
    EvaluationRecord r{.id = static_cast<std::int64_t>(i),
                       .generation = static_cast<int>(i / 12),
                       .hash = canonical_hash_hex(arch),
                       .arch = arch,
                       .energy_mj = e.energy_mj,
                       .latency_ms = e.latency_ms,
                       .energy_low_mj = e.energy_low_mj,
                       .energy_high_mj = e.energy_high_mj,
                       .extrapolated = e.extrapolated(),
                       .macs = analysis.macs,
                       .params = analysis.params};
    for (const EstimateWarning& w : e.warnings) r.warnings.push_back(describe(w));
    if (i % 10 == 7) {
      r.status = EvaluationStatus::infeasible;
      r.error = "params over the budget";
    } else if (i % 25 == 3) {
      r.status = EvaluationStatus::failed;
      r.error = "training diverged <b>loss nan</b>";
      r.train_seconds = 0.5;
    } else {
      r.accuracy = std::clamp(0.6 + 0.1 * std::log10(1 + static_cast<double>(analysis.macs) / 1e4) + noise(rng), 0.0, 1.0);
      r.train_seconds = 2 + static_cast<double>(i % 13) * 0.7;
    }
    run.append(r);
    records.push_back(r);
  }
  return records;
}

inline std::string chromium_path() {
  for (const char* candidate : {"/usr/bin/chromium", "/usr/bin/chromium-browser"}) {
    if (std::filesystem::exists(candidate)) return candidate;
  }
  return "";
}

/// Runs headless Chromium on `url` with `extra` flags (a user data dir of its own inside
/// `scratch`); returns stdout (the DOM with --dump-dom).
inline CommandResult run_chromium(const std::filesystem::path& scratch, const std::string& url,
                                  std::vector<std::string> extra) {
  std::vector<std::string> args{"--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                                "--user-data-dir=" + (scratch / "chromium-profile").string()};
  args.insert(args.end(), extra.begin(), extra.end());
  args.push_back(url);
  return run_command(chromium_path(), args);
}

inline std::string dump_dom(const std::filesystem::path& scratch, const std::filesystem::path& file,
                            const std::string& hash = "") {
  return run_chromium(scratch, "file://" + std::filesystem::absolute(file).string() + hash,
                      {"--virtual-time-budget=3000", "--dump-dom"})
      .out;
}

/// Writes a PNG of the page into build/test-output/report/NAME.png and returns its path.
inline std::filesystem::path screenshot(const std::filesystem::path& scratch, const std::filesystem::path& file,
                                        const std::string& name, const std::string& hash = "",
                                        const std::string& size = "1280,2600") {
  const std::filesystem::path out = std::filesystem::path(JOULES_TEST_OUTPUT_DIR) / "report" / (name + ".png");
  std::filesystem::create_directories(out.parent_path());
  std::filesystem::remove(out);
  run_chromium(scratch, "file://" + std::filesystem::absolute(file).string() + hash,
               {"--hide-scrollbars", "--window-size=" + size, "--virtual-time-budget=3000",
                "--screenshot=" + out.string()});
  return out;
}

inline std::size_t count_matches(const std::string& text, const std::string& pattern) {
  const std::regex re(pattern);
  return static_cast<std::size_t>(std::distance(std::sregex_iterator(text.begin(), text.end(), re), std::sregex_iterator()));
}

}  // namespace joules::testing
