// `joules fit` as a user runs it: per-layer and per-network measurements in, a loadable board
// profile (and report, plot) out; bad input exits 2 with one error line and writes nothing.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "tests/cli/run_command.hpp"
#include "tests/support/temp_dir.hpp"

namespace joules::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

const char* kProvenance = "board: lab-board\nprovenance: {kind: measured, sensor: INA3221, rails: [VDD_GPU]}\n";

std::string read(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Conv and fc layers whose energy is exactly linear in MACs (0.5 nJ/MAC + 0.2 mJ per layer).
std::string layers_csv() {
  std::string out = "layer,in_channels,in_height,in_width,filters,units,kernel,padding,energy_mj,latency_ms,repeats\n";
  for (int i = 0; i < 30; ++i) {
    const int c = 3 + i % 5, h = 8 + i, f = 4 + 3 * i;
    const double macs = double(h) * h * f * c * 9;
    out += fmt::format("conv,{},{},{},{},,3,1,{},{},100\n", c, h, h, f, 5e-7 * macs + 0.2, 1e-7 * macs + 0.05);
  }
  for (int i = 0; i < 10; ++i) {
    const int in = 100 + 50 * i, units = 10 + 7 * i;
    out += fmt::format("fc,{},1,1,,{},,,{},{},100\n", in, units, 5e-7 * in * units + 0.2, 1e-7 * in * units + 0.05);
  }
  return out;
}

TEST(FitCommandTest, FitsPerLayerMeasurementsIntoAProfileThatEstimates) {
  TempDir dir;
  const std::string csv = dir.write("m/layers.csv", layers_csv());
  const std::string provenance = dir.write("m/provenance.yaml", kProvenance);
  const std::string out = (dir.path() / "profiles" / "lab.yaml").string();
  std::filesystem::create_directories(dir.path() / "profiles");
  const std::string report = (dir.path() / "report.md").string();
  const std::string plot = (dir.path() / "fit.svg").string();
  CommandResult r = run_joules({"fit", "--layers", csv, "--provenance", provenance, "--out", out, "--model", "linear",
                                "--report", report, "--plot", plot});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("energy conv: linear (granularity 1), cross-validated MAPE 0.00%"));
  EXPECT_THAT(r.out, HasSubstr("wrote " + out));
  const std::string profile = read(out);
  EXPECT_THAT(profile, HasSubstr("board: lab-board"));
  EXPECT_THAT(profile, HasSubstr("kind: measured"));
  EXPECT_THAT(profile, HasSubstr("data: \"../m/layers.csv\""));  // relative to the profile
  EXPECT_THAT(read(report), HasSubstr("| linear | 1 | 0.00 |"));
  EXPECT_THAT(read(plot), StartsWith("<svg"));

  const std::string arch = dir.write("a.yaml", "input: [3, 16, 16]\nlayers:\n  - conv: {filters: 10, kernel: 3, padding: 1}\n");
  r = run_joules({"estimate", arch, "--board", out, "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "");  // measured: no notice, and within range
  const double macs = 16.0 * 16 * 10 * 3 * 9;
  EXPECT_NEAR(nlohmann::json::parse(r.out)["energy_mj"].get<double>(), 5e-7 * macs + 0.2, 1e-6);
}

TEST(FitCommandTest, JsonPrintsOneSummaryOfWhatWasWrittenAndTheFitQuality) {
  TempDir dir;
  const std::string csv = dir.write("m/layers.csv", layers_csv());
  const std::string provenance = dir.write("m/provenance.yaml", kProvenance);
  const std::string out = (dir.path() / "lab.yaml").string();
  const std::string plot = (dir.path() / "fit.svg").string();
  // --board takes a profile path too: its file name is the board's name.
  const CommandResult r = run_joules({"fit", "--layers", csv, "--provenance", provenance, "--out", out, "--model",
                                      "linear", "--plot", plot, "--board", "profiles/renamed.yaml", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const nlohmann::json j = nlohmann::json::parse(r.out);  // one object, nothing else on stdout
  EXPECT_EQ(j["profile"], out);
  EXPECT_EQ(j["board"], "renamed");
  EXPECT_EQ(j["provenance"], "measured");
  EXPECT_EQ(j["data"], csv);
  EXPECT_EQ(j["rows"], 40);
  EXPECT_EQ(j["written"], nlohmann::json::array({out, plot}));
  ASSERT_GE(j["fits"].size(), 2u);
  bool conv = false;
  for (const auto& f : j["fits"]) {
    EXPECT_EQ(f["family"], "linear");
    EXPECT_LT(f["mape_pct"].get<double>(), 0.01);
    EXPECT_GT(f["r2"].get<double>(), 0.999);
    EXPECT_GT(f["points"].get<int>(), 0);
    if (f["quantity"] == "energy" && f["kinds"] == nlohmann::json::array({"conv"})) {
      conv = true;
      EXPECT_EQ(f["points"], 30);
    }
  }
  EXPECT_TRUE(conv) << r.out;
  EXPECT_THAT(read(out), HasSubstr("board: renamed"));
  EXPECT_TRUE(std::filesystem::exists(plot));
}

TEST(FitCommandTest, FitsPerNetworkMeasurements) {
  TempDir dir;
  std::string csv = "arch,family,group,gpu_energy_mj,latency_ms\n";
  for (int i = 0; i < 24; ++i) {
    const int f = 8 + 4 * i, w = 10 + i % 6;
    dir.write(fmt::format("archs/n{}.yaml", i),
              fmt::format("input: [3, {0}, {0}]\nlayers:\n  - conv: {{filters: {1}, kernel: 3, padding: 1}}\n"
                          "  - fc: {{units: 10}}\n", w, f));
    const double conv = double(w) * w * f * 27, fc = double(w) * w * f * 10;
    csv += fmt::format("archs/n{}.yaml,{},{},{},{}\n", i, i % 2 ? "odd" : "even", i / 2, 2 + 4e-8 * conv + 1e-6 * fc,
                       1 + 1e-8 * conv);
  }
  const std::string networks = dir.write("networks.csv", csv);
  const std::string provenance = dir.write("provenance.yaml", kProvenance);
  const std::string out = (dir.path() / "net.yaml").string();
  const CommandResult r = run_joules({"fit", "--networks", networks, "--target", "gpu_energy_mj", "--provenance",
                                      provenance, "--out", out, "--model", "linear", "--folds", "4"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("energy conv,fc: linear"));
  EXPECT_THAT(r.out, HasSubstr("latency conv,fc: linear"));
  const std::string profile = read(out);
  EXPECT_THAT(profile, HasSubstr("target: gpu_energy_mj"));
  EXPECT_THAT(profile, HasSubstr("input: networks"));
  EXPECT_THAT(profile, HasSubstr("leave_one_family_out:"));
}

// Transfer: networks measured on a board that is the prior with its compute twice as dear and
// its per-layer constant a tenth, fitted with --prior; --validate scores unseen networks.
TEST(FitCommandTest, TransferFitRescalesThePriorAndValidatesOnUnseenNetworks) {
  TempDir dir;
  const std::string prior = dir.write("prior.yaml",
      "format: 1\nboard: prior-board\nprovenance: {kind: measured, sensor: INA3221, rails: [GPU]}\n"
      "energy:\n  target: energy_mj\n  overhead_mj: 0\n  models:\n"
      "    conv: {family: linear, granularity: 1, mj_per_mac: 1.0e-8, mj_per_layer: 0.5}\n");
  // conv MACs: w*w*f*27 (3 input channels, 3x3, padding 1); fc MACs w*w*f*10, priced by conv.
  const auto energy = [](double conv_macs, double fc_macs) { return 0.3 + 2 * 1e-8 * (conv_macs + fc_macs) + 2 * 0.05; };
  std::string train = "arch,group,energy_mj\n", test = train;
  for (int i = 0; i < 30; ++i) {
    const int f = 8 + 5 * i, w = 10 + i % 7;
    dir.write(fmt::format("archs/n{}.yaml", i),
              fmt::format("input: [3, {0}, {0}]\nlayers:\n  - conv: {{filters: {1}, kernel: 3, padding: 1}}\n"
                          "  - fc: {{units: 10}}\n", w, f));
    (i < 12 ? train : test) += fmt::format("archs/n{}.yaml,g{},{}\n", i, i, energy(double(w) * w * f * 27, double(w) * w * f * 10));
  }
  const std::string train_csv = dir.write("train.csv", train), test_csv = dir.write("test.csv", test);
  const std::string provenance = dir.write("provenance.yaml", kProvenance);
  const std::string out = (dir.path() / "new.yaml").string();
  const std::string report = (dir.path() / "report.md").string();
  const CommandResult r = run_joules({"fit", "--networks", train_csv, "--prior", prior, "--validate", test_csv,
                                      "--provenance", provenance, "--out", out, "--report", report, "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["prior"], prior);
  EXPECT_TRUE(j["fits"][0]["scales"].is_string());
  EXPECT_EQ(j["validation"]["energy"]["points"], 18);
  EXPECT_LT(j["validation"]["energy"]["mape_pct"].get<double>(), 0.1);
  const std::string profile = read(out);
  EXPECT_THAT(profile, HasSubstr("prior: \"prior-board ("));
  EXPECT_THAT(profile, HasSubstr("scales: "));
  EXPECT_THAT(read(report), HasSubstr("| scales | family |"));
  // The refitted profile estimates an unseen network as the board costs it.
  const std::string arch = dir.write("a.yaml", "input: [3, 20, 20]\nlayers:\n  - conv: {filters: 30, kernel: 3, padding: 1}\n  - fc: {units: 10}\n");
  const CommandResult e = run_joules({"estimate", arch, "--board", out, "--json"});
  ASSERT_EQ(e.exit_code, 0) << e.err;
  EXPECT_NEAR(nlohmann::json::parse(e.out)["energy_mj"].get<double>(), energy(20.0 * 20 * 30 * 27, 20.0 * 20 * 30 * 10), 1e-3);

  // A transfer needs network data and keeps the prior's families.
  const std::string other = (dir.path() / "other.yaml").string();
  CommandResult bad = run_joules({"fit", "--layers", train_csv, "--prior", prior, "--provenance", provenance, "--out", other});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_THAT(bad.err, HasSubstr("--prior"));
  bad = run_joules({"fit", "--networks", train_csv, "--prior", prior, "--model", "linear", "--provenance", provenance, "--out", other});
  EXPECT_EQ(bad.exit_code, 2);
  bad = run_joules({"fit", "--networks", train_csv, "--prior", prior, "--scales", "bogus", "--provenance", provenance, "--out", other});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_THAT(bad.err, HasSubstr("--scales"));
  EXPECT_FALSE(std::filesystem::exists(other));
}

TEST(FitCommandTest, BadInputExitsTwoAndWritesNothing) {
  TempDir dir;
  const std::string provenance = dir.write("provenance.yaml", kProvenance);
  const std::string out = (dir.path() / "p.yaml").string();
  const std::string csv = dir.write("bad.csv", "layer,in_channels,in_height,in_width,filters,kernel,energy_mj\n"
                                               "conv,3,8,8,4,3,1.5\nconv,3,9,9,4,3,-2\n");
  CommandResult r = run_joules({"fit", "--layers", csv, "--provenance", provenance, "--out", out});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err, "error: " + csv + ":3: energy_mj: must be > 0, got -2\n");
  EXPECT_FALSE(std::filesystem::exists(out));

  const std::string few = dir.write("few.csv", "layer,in_channels,in_height,in_width,filters,kernel,energy_mj\n"
                                               "conv,3,8,8,4,3,1.5\n");
  r = run_joules({"fit", "--layers", few, "--provenance", provenance, "--out", out});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, StartsWith("error: " + few + ": cross-validation needs measurements of at least 2 different groups"));

  r = run_joules({"fit", "--layers", few, "--networks", few, "--provenance", provenance, "--out", out});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("give exactly one of --layers CSV and --networks CSV"));

  const std::string no_board = dir.write("nb.yaml", "provenance: {kind: measured}\n");
  r = run_joules({"fit", "--layers", few, "--provenance", no_board, "--out", out});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, StartsWith("error: " + no_board + ":1: missing required key 'board'"));

  r = run_joules({"fit", "--layers", few, "--provenance", provenance, "--out", out, "--model", "cubic"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("--model: expected auto, linear, stairs or traffic, got 'cubic'"));
  EXPECT_FALSE(std::filesystem::exists(out));
}

// `joules fit` never writes a figure no command can read: an undefined R^2 is written null (and
// the profile estimates), values that overflow a fit are refused naming the data file.
TEST(FitCommandTest, ExtremeValuesGiveAReadableProfileOrAClearError) {
  TempDir dir;
  const std::string provenance = dir.write("provenance.yaml", kProvenance);
  const std::string out = (dir.path() / "p.yaml").string();
  std::string flat = "layer,in_channels,in_height,in_width,filters,kernel,energy_mj,group\n";
  for (int i = 0; i < 12; ++i) flat += fmt::format("conv,3,{},{},4,3,2.5,g{}\n", 8 + i, 8 + i, i % 3);
  const std::string flat_csv = dir.write("flat.csv", flat);
  CommandResult r = run_joules({"fit", "--layers", flat_csv, "--provenance", provenance, "--out", out,
                                "--model", "linear", "--groups", "group", "--folds", "3"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(read(out), HasSubstr("r2: null"));
  EXPECT_THAT(read(out), ::testing::Not(HasSubstr(": -nan")));
  EXPECT_THAT(read(out), ::testing::Not(HasSubstr(": nan")));
  const std::string arch = dir.write("a.yaml", "input: [3, 10, 10]\nlayers:\n  - conv: {filters: 4, kernel: 3}\n");
  r = run_joules({"estimate", arch, "--board", out, "--json"});
  EXPECT_EQ(r.exit_code, 0) << r.err;

  std::filesystem::remove(out);
  std::string huge = "layer,in_channels,in_height,in_width,filters,kernel,energy_mj,group\n";
  for (int i = 0; i < 12; ++i) huge += fmt::format("conv,3,{},{},4,3,{}e305,g{}\n", 8 + i, 8 + i, 1 + i, i % 3);
  const std::string huge_csv = dir.write("huge.csv", huge);
  r = run_joules({"fit", "--layers", huge_csv, "--provenance", provenance, "--out", out, "--model", "linear",
                  "--groups", "group", "--folds", "3"});
  // Values near the top of a double: either a profile every command reads, or exit 2 and nothing.
  if (r.exit_code == 0) {
    r = run_joules({"estimate", arch, "--board", out, "--json"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
  } else {
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_THAT(r.err, StartsWith("error: " + huge_csv + ": cannot fit a profile from these values (board profile "
                                  "lab-board cannot be written: energy."));
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1);
    EXPECT_FALSE(std::filesystem::exists(out));
  }
}

}  // namespace
}  // namespace joules::testing
