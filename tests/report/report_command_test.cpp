// `joules report` as a user runs it, and the report a search leaves in its run directory.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/report/report_support.hpp"
#include "tests/support/temp_dir.hpp"

namespace joules {
namespace {

using ::testing::HasSubstr;
using testing::count_matches;
using testing::run_joules;
using testing::TempDir;

const std::string kSource = JOULES_SOURCE_DIR;

TEST(ReportCommandTest, WritesTheRunReportIntoTheRunOrWhereAsked) {
  const TempDir tmp;
  testing::write_synthetic_run(tmp.path() / "run", 25);
  const auto result = run_joules({"report", (tmp.path() / "run").string()});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_THAT(result.out, HasSubstr("wrote " + (tmp.path() / "run" / "report.html").string() + " (25 evaluations"));
  EXPECT_EQ(count_matches(testing::read_text(tmp.path() / "run" / "report.html"), R"(data-id="\d+" class="pt)"), 25u);

  const auto elsewhere = run_joules({"report", (tmp.path() / "run").string(), "--out", (tmp.path() / "r.html").string()});
  ASSERT_EQ(elsewhere.exit_code, 0) << elsewhere.err;
  EXPECT_TRUE(std::filesystem::exists(tmp.path() / "r.html"));
}

TEST(ReportCommandTest, WritesAProfileReportBesideItOrWhereAsked) {
  const TempDir tmp;
  std::filesystem::copy_file(kSource + "/profiles/jetson-tx2.yaml", tmp.path() / "tx2.yaml");
  const auto beside = run_joules({"report", (tmp.path() / "tx2.yaml").string()});
  ASSERT_EQ(beside.exit_code, 0) << beside.err;
  EXPECT_THAT(testing::read_text(tmp.path() / "tx2.html"), HasSubstr("Board profile jetson-tx2"));

  const std::string dir = kSource + "/experiments/cpu-filter-steps";
  const auto with_data = run_joules({"report", dir + "/profile.yaml", "--data", dir + "/measurements.csv", "--out",
                                     (tmp.path() / "cpu.html").string()});
  ASSERT_EQ(with_data.exit_code, 0) << with_data.err;
  EXPECT_THAT(testing::read_text(tmp.path() / "cpu.html"), HasSubstr("id=\"predicted-measured\""));
}

TEST(ReportCommandTest, BadInputExitsTwoNamingItAndWritesNothing) {
  const TempDir tmp;
  const auto missing = run_joules({"report", (tmp.path() / "nothing").string()});
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_THAT(missing.err, HasSubstr("error: "));
  EXPECT_THAT(missing.err, HasSubstr("nothing"));
  EXPECT_THAT(missing.err, HasSubstr("is neither a run directory nor a profile file"));

  std::filesystem::create_directories(tmp.path() / "empty");
  const auto not_run = run_joules({"report", (tmp.path() / "empty").string()});
  EXPECT_EQ(not_run.exit_code, 2);
  EXPECT_THAT(not_run.err, HasSubstr("is not a search run directory (no config.yaml)"));
  EXPECT_FALSE(std::filesystem::exists(tmp.path() / "empty" / "report.html"));

  testing::write_synthetic_run(tmp.path() / "run", 5);
  const auto data_for_run = run_joules({"report", (tmp.path() / "run").string(), "--data", "x.csv"});
  EXPECT_EQ(data_for_run.exit_code, 2);
  EXPECT_THAT(data_for_run.err, HasSubstr("--data"));

  const std::string bad = tmp.write("bad.yaml", "format: 1\nboard: x\nbogus: 3\n");
  const auto bad_profile = run_joules({"report", bad});
  EXPECT_EQ(bad_profile.exit_code, 2);
  EXPECT_THAT(bad_profile.err, HasSubstr("bad.yaml"));
  EXPECT_EQ(std::count(bad_profile.err.begin(), bad_profile.err.end(), '\n'), 1);
  EXPECT_FALSE(std::filesystem::exists(tmp.path() / "bad.html"));
}

TEST(ReportCommandTest, ASearchLeavesItsReportInTheRunDirectory) {
  if (!testing::have_data()) GTEST_SKIP() << "Fashion-MNIST is not installed (dataset-fashion-mnist)";
  const TempDir tmp;
  const std::string config = tmp.write("tiny.yaml", testing::tiny_config());
  const auto result = run_joules({"search", config, "--out", (tmp.path() / "run").string()});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_THAT(result.out, HasSubstr("report: " + (tmp.path() / "run" / "report.html").string()));
  const std::string html = testing::read_text(tmp.path() / "run" / "report.html");
  EXPECT_EQ(count_matches(html, R"(data-id="\d+" class="pt)"), testing::read_log(tmp.path() / "run").size());
}

}  // namespace
}  // namespace joules
