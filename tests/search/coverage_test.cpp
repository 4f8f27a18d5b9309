// Coverage of the search's estimates (issue 13, item 1): every evaluation carries its band,
// whether it extrapolates the profile's data and the estimator's warnings; front.csv and
// front.svg show them; search.extrapolation: reject keeps extrapolated candidates untrained.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "search/export.hpp"
#include "search/nas_search.hpp"
#include "space/analysis.hpp"
#include "tests/support/temp_dir.hpp"
#include "util/input_error.hpp"

namespace joules {
namespace {

using ::testing::HasSubstr;

// The quickstart's kind of space on the Nano profile: every network has filters under the
// data's 64, so every estimate extrapolates.
std::string config_text(const std::string& extrapolation) {
  return fmt::format(R"(name: coverage
seed: 3
board: jetson-nano
space:
  input: [1, 28, 28]
  classes: 10
  conv_blocks:
    count: {{min: 1, max: 2}}
    filters: [8, 16]
    kernel: [3]
  fc_layers:
    count: {{min: 0, max: 0}}
search:
  population: 4
  generations: 1
  jobs: 1
{}
)",
                     extrapolation);
}

SearchConfig config_from(const std::string& text) { return parse_search_config(text, "c.yaml", JOULES_SOURCE_DIR); }

SearchHooks instant_trainer(int& calls) {
  SearchHooks hooks;
  hooks.trainer = [&calls](const Architecture& arch, const TrainOptions&, const std::atomic<bool>*) {
    ++calls;
    TrainResult r;
    r.status = TrainStatus::ok;
    r.validation_accuracy = 0.5 + 1e-6 * static_cast<double>(analyze(arch).params);
    return r;
  };
  return hooks;
}

std::string read_text(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

class CoverageTest : public ::testing::Test {
 protected:
  testing::TempDir tmp;
};

TEST_F(CoverageTest, EveryEvaluationCarriesItsBandExtrapolationAndWarnings) {
  const SearchConfig config = config_from(config_text(""));
  EXPECT_EQ(config.search.extrapolation, Extrapolation::warn);
  RunDirectory run = RunDirectory::create(tmp.path() / "run", to_yaml(config));
  int calls = 0;
  run_search(config, load_board_profile(config.board), run, instant_trainer(calls));
  std::ifstream log(tmp.path() / "run" / "evaluations.jsonl");
  int lines = 0;
  for (std::string line; std::getline(log, line); ++lines) {
    const nlohmann::json j = nlohmann::json::parse(line);
    ASSERT_TRUE(j.contains("energy_band_mj")) << line;
    const double low = j["energy_band_mj"][0], high = j["energy_band_mj"][1], energy = j["energy_mj"];
    EXPECT_LE(low, energy);
    EXPECT_GE(high, energy);
    EXPECT_EQ(j["extrapolated"], true) << "filters 8 and 16 are under the Nano data's 64";
    ASSERT_FALSE(j["warnings"].empty());
    EXPECT_THAT(j["warnings"].dump(), HasSubstr("is outside the fitted range [64, 1024]"));
    EXPECT_GT(j["extrapolation"]["factor"].get<double>(), 1.0);
  }
  EXPECT_GT(lines, 0);

  const ExportResult exported = export_front(ExportRequest{.run_dir = tmp.path() / "run"});
  const std::string csv = read_text(exported.dir / "front.csv");
  EXPECT_THAT(csv, HasSubstr("energy_mj,energy_low_mj,energy_high_mj,extrapolated,"));
  EXPECT_THAT(csv, HasSubstr(",true,"));
  const std::string svg = read_text(exported.dir / "front.svg");
  EXPECT_THAT(svg, HasSubstr("class=\"bands\""));
  EXPECT_THAT(svg, HasSubstr("extrapolated (outside the profile's data)"));
  ASSERT_EQ(exported.coverage.size(), 3u);
  EXPECT_THAT(exported.coverage[0], HasSubstr(fmt::format("of {} front members", exported.front.size())));
  EXPECT_THAT(exported.coverage[0], HasSubstr("filters"));
  EXPECT_THAT(exported.coverage[0], HasSubstr("along in_channels"));
  EXPECT_THAT(exported.coverage[0], HasSubstr("x outside a fitted range"));
  EXPECT_THAT(exported.coverage[2], HasSubstr("joules profile --grid-from"));
}

TEST_F(CoverageTest, RejectLogsExtrapolatedCandidatesInfeasibleWithoutTrainingThem) {
  const SearchConfig config = config_from(config_text("  extrapolation: reject"));
  EXPECT_EQ(config.search.extrapolation, Extrapolation::reject);
  RunDirectory run = RunDirectory::create(tmp.path() / "run", to_yaml(config));
  int calls = 0;
  const SearchSummary summary = run_search(config, load_board_profile(config.board), run, instant_trainer(calls));
  EXPECT_EQ(calls, 0);
  EXPECT_GT(summary.extrapolated, 0u);
  for (const EvaluationRecord& r : read_evaluations(tmp.path() / "run")) {
    EXPECT_EQ(r.status, EvaluationStatus::infeasible);
    EXPECT_THAT(r.error, HasSubstr("extrapolated (search.extrapolation: reject)"));
  }
  EXPECT_THAT(read_text(tmp.path() / "run" / "config.yaml"), HasSubstr("extrapolation: reject"));
}

TEST_F(CoverageTest, AllowSaysNothingInTheSummary) {
  const SearchConfig config = config_from(config_text("  extrapolation: allow"));
  RunDirectory run = RunDirectory::create(tmp.path() / "run", to_yaml(config));
  int calls = 0;
  run_search(config, load_board_profile(config.board), run, instant_trainer(calls));
  EXPECT_TRUE(export_front(ExportRequest{.run_dir = tmp.path() / "run"}).coverage.empty());
}

TEST_F(CoverageTest, AnUnknownPolicyIsAnErrorNamingTheKey) {
  try {
    config_from(config_text("  extrapolation: ignore"));
    FAIL() << "accepted";
  } catch (const InputError& e) {
    EXPECT_THAT(e.what(), HasSubstr("extrapolation"));
    EXPECT_THAT(e.what(), HasSubstr("allow"));
  }
}

TEST_F(CoverageTest, LogsWithoutCoverageFieldsAreStillRead) {
  EvaluationRecord r;
  r.hash = "ab";
  r.arch = Architecture{.input = {1, 4, 4}, .layers = {FcLayer{.units = 2}}};
  r.energy_mj = 1.5;
  nlohmann::json j = to_json(r);
  j.erase("energy_band_mj");
  j.erase("extrapolated");
  j.erase("warnings");
  const EvaluationRecord back = evaluation_from_json(j);
  EXPECT_EQ(back.energy_low_mj, 1.5);
  EXPECT_EQ(back.energy_high_mj, 1.5);
  EXPECT_FALSE(back.extrapolated);
}

}  // namespace
}  // namespace joules
