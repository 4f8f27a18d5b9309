#include "report/profile_report.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/report/report_support.hpp"
#include "tests/support/temp_dir.hpp"
#include "util/input_error.hpp"

namespace joules {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using testing::count_matches;
using testing::TempDir;

const std::string kSource = JOULES_SOURCE_DIR;

TEST(ProfileReportTest, ShowsProvenanceFamiliesCoefficientsAndCandidates) {
  const TempDir tmp;
  const WrittenReport written =
      write_profile_report(kSource + "/profiles/jetson-nano.yaml", {}, tmp.path() / "nano.html");
  const std::string html = testing::read_text(written.file);
  EXPECT_THAT(html, HasSubstr("<h1>Board profile jetson-nano</h1>"));
  EXPECT_THAT(html, HasSubstr("id=\"not-measured\""));  // third-party data says so
  EXPECT_THAT(html, HasSubstr("not measured by joules"));
  EXPECT_THAT(html, HasSubstr("iCAS-Lab/NAS-Performance-Modeling"));
  EXPECT_THAT(html, HasSubstr("<td>conv</td><td>traffic</td><td class=\"num\">64</td>"));
  EXPECT_THAT(html, HasSubstr("<code>mj_per_mac_1x1</code> = 4.836e-08"));
  EXPECT_THAT(html, HasSubstr("Per-inference overhead: <b>1.3 mJ</b>"));
  EXPECT_THAT(html, HasSubstr("(chosen)"));
  EXPECT_GE(count_matches(html, R"(<tr(?: class="sel")?><td>(linear|stairs|traffic) g=\d+)"), 3u);
  EXPECT_THAT(html, Not(HasSubstr("id=\"data\"")));  // no --data
}

TEST(ProfileReportTest, WithItsDataPlotsPredictionsAndTheFilterSteps) {
  const TempDir tmp;
  const std::string dir = kSource + "/experiments/cpu-filter-steps";
  const WrittenReport written = write_profile_report(dir + "/profile.yaml", dir + "/measurements.csv", tmp.path() / "cpu.html");
  const std::string html = testing::read_text(written.file);
  EXPECT_THAT(html, HasSubstr("This is the data the profile was fitted on"));
  EXPECT_THAT(html, HasSubstr("<svg xmlns=\"http://www.w3.org/2000/svg\" id=\"predicted-measured\""));
  EXPECT_THAT(html, HasSubstr("predicted by the profile (mJ)"));
  EXPECT_THAT(html, HasSubstr("against the filter count"));
  EXPECT_THAT(html, HasSubstr("filters (conv), units (fc), channels (pool)"));
  EXPECT_THAT(html, HasSubstr("288</td>"));  // every row checked
  EXPECT_THAT(html, HasSubstr("ESTIMATE"));  // the timer estimate's notice
}

TEST(ProfileReportTest, OtherDataIsAnOutOfSampleCheck) {
  const TempDir tmp;
  const std::string dir = kSource + "/experiments/cpu-filter-steps";
  const std::string csv = testing::read_text(dir + "/measurements.csv");
  const std::string part = csv.substr(0, csv.find('\n', csv.size() / 2) + 1);  // other bytes: other data
  const std::string data = tmp.write("half.csv", part);
  const std::string html = testing::read_text(write_profile_report(dir + "/profile.yaml", data, tmp.path() / "r.html").file);
  EXPECT_THAT(html, HasSubstr("an out-of-sample check"));
}

TEST(ProfileReportTest, BadDataNamesTheFileAndWritesNothing) {
  const TempDir tmp;
  const std::string data = tmp.write("bad.csv", "layer,in_channels\nconv,x\n");
  try {
    write_profile_report(kSource + "/experiments/cpu-filter-steps/profile.yaml", data, tmp.path() / "r.html");
    FAIL() << "expected an InputError";
  } catch (const InputError& e) {
    EXPECT_THAT(e.what(), HasSubstr("bad.csv"));
  }
  EXPECT_FALSE(std::filesystem::exists(tmp.path() / "r.html"));
}

TEST(ProfileReportTest, BoardNamesAndNotesAreEscaped) {
  BoardProfile profile = load_board_profile(kSource + "/profiles/jetson-nano.yaml");
  profile.board = "<script>alert(1)</script>";
  profile.provenance.notes = "\"&'";
  const std::string html = profile_report_html(profile, "p.yaml");
  EXPECT_THAT(html, Not(HasSubstr("<script>")));
  EXPECT_THAT(html, HasSubstr("&lt;script&gt;alert(1)&lt;/script&gt;"));
  EXPECT_THAT(html, HasSubstr("&quot;&amp;'"));
}

TEST(ProfileReportBrowserTest, RendersWithItsPlots) {
  if (testing::chromium_path().empty()) GTEST_SKIP() << "chromium is not installed (scripts/setup.sh installs it)";
  const TempDir tmp;
  const std::string dir = kSource + "/experiments/cpu-filter-steps";
  const auto file = write_profile_report(dir + "/profile.yaml", dir + "/measurements.csv", tmp.path() / "cpu.html").file;
  const std::string dom = testing::dump_dom(tmp.path(), file);
  EXPECT_EQ(count_matches(dom, "<svg "), 2u);
  EXPECT_THAT(dom, HasSubstr("Energy models"));
  const auto png = testing::screenshot(tmp.path(), file, "profile-report", "", "1280,3000");
  ASSERT_TRUE(std::filesystem::exists(png)) << png;
  EXPECT_GT(std::filesystem::file_size(png), 20000u);
}

}  // namespace
}  // namespace joules
