#include "report/run_report.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <iostream>
#include <set>

#include "search/export.hpp"
#include "tests/report/report_support.hpp"
#include "tests/support/temp_dir.hpp"

namespace joules {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using testing::count_matches;
using testing::TempDir;

constexpr const char* kScriptName = "<script>alert(1)</script>";
constexpr const char* kQuoteName = "\"&'";

std::vector<std::int64_t> front_ids(const std::vector<EvaluationRecord>& records) {
  std::vector<std::int64_t> ids;
  for (const EvaluationRecord& r : pareto_members(records, {Objective::accuracy, Objective::energy})) ids.push_back(r.id);
  return ids;
}

TEST(RunReportTest, EveryEvaluationIsOnePointCarryingItsIdAndTheFrontIsMarked) {
  const TempDir tmp;
  const auto records = testing::write_synthetic_run(tmp.path() / "run", 60);
  const WrittenReport written = write_run_report(tmp.path() / "run");
  EXPECT_EQ(written.file, tmp.path() / "run" / "report.html");
  EXPECT_EQ(written.evaluations, 60u);
  const std::string html = testing::read_text(written.file);
  EXPECT_EQ(count_matches(html, R"(<(circle|rect|path) data-id="\d+" class="pt)"), 60u);
  for (const EvaluationRecord& r : records) {
    EXPECT_EQ(count_matches(html, "<(circle|rect|path) data-id=\"" + std::to_string(r.id) + "\" class=\"pt"), 1u) << r.id;
  }
  const std::vector<std::int64_t> front = front_ids(records);
  ASSERT_GE(front.size(), 2u);
  EXPECT_EQ(count_matches(html, R"(class="pt front)"), front.size());
  for (std::int64_t id : front) {
    EXPECT_THAT(html, HasSubstr("data-id=\"" + std::to_string(id) + "\" class=\"pt front"));
    EXPECT_THAT(html, HasSubstr("id=\"member-" + std::to_string(id) + "\""));  // its layers
  }
  // Infeasible and failed candidates are points too, marked as such.
  EXPECT_EQ(count_matches(html, R"(class="pt infeasible")"), 6u);
  EXPECT_EQ(count_matches(html, R"(class="pt failed")"), 3u);
  // Labelled axes with units, a legend, the budget, the profile's notice and coverage.
  EXPECT_THAT(html, HasSubstr("estimated energy per inference on jetson-nano (mJ"));
  EXPECT_THAT(html, HasSubstr("validation accuracy (%)"));
  EXPECT_THAT(html, HasSubstr(">over a budget (not trained)</text>"));
  EXPECT_THAT(html, HasSubstr("params \u2264 30,000"));
  EXPECT_THAT(html, HasSubstr("not measured by joules"));
  EXPECT_THAT(html, HasSubstr("candidates ("));
  EXPECT_THAT(html, HasSubstr("Hypervolume of the front"));
  EXPECT_THAT(html, HasSubstr("Training time ("));
  EXPECT_THAT(html, HasSubstr("per-inference overhead (not a layer)"));
  EXPECT_THAT(html, HasSubstr("seed: 3"));  // the config as run
}

TEST(RunReportTest, FetchesNothing) {
  const TempDir tmp;
  testing::write_synthetic_run(tmp.path() / "run", 30);
  const std::string html = testing::read_text(write_run_report(tmp.path() / "run").file);
  EXPECT_THAT(html, Not(HasSubstr("src=")));
  EXPECT_THAT(html, Not(HasSubstr("href=")));
  EXPECT_THAT(html, Not(HasSubstr("@import")));
  EXPECT_THAT(html, Not(HasSubstr("url(http")));
  EXPECT_THAT(html, HasSubstr("default-src 'none'"));
  EXPECT_THAT(html, HasSubstr("name=\"viewport\""));
}

TEST(RunReportTest, NamesAndMessagesAreEscapedEverywhere) {
  const TempDir tmp;
  const auto records = testing::write_synthetic_run(tmp.path() / "run", 40, {kScriptName, kQuoteName});
  const std::string html = testing::read_text(write_run_report(tmp.path() / "run").file);
  EXPECT_THAT(html, Not(HasSubstr(kScriptName)));
  EXPECT_THAT(html, Not(HasSubstr("<b>loss nan</b>")));
  // Front members' names in their table rows and sections, as text.
  for (std::int64_t id : front_ids(records)) {
    const std::string name = records[static_cast<std::size_t>(id)].arch.name;
    const std::string escaped = name == kScriptName ? "&lt;script&gt;alert(1)&lt;/script&gt;" : "&quot;&amp;'";
    EXPECT_THAT(html, HasSubstr("<td>" + std::to_string(id) + " " + escaped + "</td>"));
    EXPECT_THAT(html, HasSubstr("Front member #" + std::to_string(id) + ": " + escaped));
  }
  // Every name in the JSON block, inert there.
  EXPECT_THAT(html, HasSubstr(R"("n":"<script>alert(1)<\/script>")"));
  EXPECT_THAT(html, HasSubstr(R"("n":"\"&'")"));
  EXPECT_THAT(html, HasSubstr(R"("err":"training diverged <b>loss nan<\/b>")"));
  EXPECT_EQ(count_matches(html, "</script>"), 2u);  // the data block and the page's script
}

TEST(RunReportTest, HypervolumeGrowsOnlyWhenTheFrontDoes) {
  const auto record = [](std::int64_t id, double accuracy, double energy) {
    return EvaluationRecord{.id = id, .accuracy = accuracy, .energy_mj = energy};
  };
  EvaluationRecord infeasible{.id = 4, .status = EvaluationStatus::infeasible, .energy_mj = 50};
  const std::vector<EvaluationRecord> log{record(0, 0.5, 10), record(1, 0.4, 12), record(2, 0.9, 20),
                                          record(3, 0.7, 5), infeasible};
  const std::vector<double> history = hypervolume_history(log, {Objective::accuracy, Objective::energy});
  ASSERT_EQ(history.size(), 5u);
  EXPECT_GT(history[0], 0);
  EXPECT_DOUBLE_EQ(history[1], history[0]);  // dominated by the first
  EXPECT_GT(history[2], history[1]);
  EXPECT_GT(history[3], history[2]);
  EXPECT_DOUBLE_EQ(history[4], history[3]);  // not trained
  EXPECT_LE(history[4], 1.1 * 1.1);
  EXPECT_TRUE(hypervolume_history(log, {Objective::accuracy, Objective::energy, Objective::params, Objective::macs})
                  .empty());
}

TEST(RunReportTest, AThousandEvaluationsStayUnderTwoMegabytes) {
  const TempDir tmp;
  testing::write_synthetic_run(tmp.path() / "run", 1000);
  const WrittenReport written = write_run_report(tmp.path() / "run", tmp.path() / "big.html");
  const auto bytes = std::filesystem::file_size(written.file);
  std::cout << "report of 1000 evaluations: " << bytes << " bytes\n";
  RecordProperty("bytes_for_1000_evaluations", std::to_string(bytes));
  EXPECT_EQ(bytes, written.bytes);
  EXPECT_LT(bytes, 2u * 1024 * 1024);
  EXPECT_EQ(count_matches(testing::read_text(written.file), R"(data-id="\d+" class="pt)"), 1000u);
}

// In a browser, after the page's scripts ran.
class RunReportBrowserTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (testing::chromium_path().empty()) GTEST_SKIP() << "chromium is not installed (scripts/setup.sh installs it)";
  }
};

// The tooltip's opening tag and what follows it in a dumped DOM.
std::pair<std::string, std::string> tooltip(const std::string& dom) {
  std::smatch tip;
  if (!std::regex_search(dom, tip, std::regex(R"re(<div id="tip"[^>]*>)re"))) return {};
  return {tip.str(), dom.substr(static_cast<std::size_t>(tip.position()), 3000)};
}

TEST_F(RunReportBrowserTest, DomHasEveryPointAndAHoverShowsItsFigures) {
  const TempDir tmp;
  const auto records = testing::write_synthetic_run(tmp.path() / "run", 120, {"", kScriptName, kQuoteName});
  const std::filesystem::path file = write_run_report(tmp.path() / "run").file;
  const std::vector<std::int64_t> front = front_ids(records);
  const std::int64_t hovered = front.at(front.size() / 2);
  const std::string dom = testing::dump_dom(tmp.path(), file, "#hover=" + std::to_string(hovered));
  ASSERT_THAT(dom, HasSubstr("data-ready=\"true\""));  // the script ran to its end
  EXPECT_EQ(count_matches(dom, R"(data-id="\d+" class="pt)"), records.size());
  EXPECT_EQ(count_matches(dom, R"(class="pt front)"), front.size());
  // The tooltip is shown, for that point, with its figures.
  const auto [tag, tip] = tooltip(dom);
  EXPECT_THAT(tag, HasSubstr("data-shown=\"" + std::to_string(hovered) + "\""));
  EXPECT_THAT(tag, Not(HasSubstr("hidden")));
  EXPECT_THAT(tip, HasSubstr(">#" + std::to_string(hovered)));
  EXPECT_THAT(tip, HasSubstr("Pareto front"));
  EXPECT_THAT(tip, HasSubstr("accuracy: </b>"));
  EXPECT_THAT(tip, HasSubstr(" mJ, band ["));
  EXPECT_THAT(tip, HasSubstr("latency: </b>"));
  EXPECT_THAT(tip, HasSubstr("MACs: </b>"));
  EXPECT_THAT(tip, HasSubstr("params: </b>"));
  EXPECT_THAT(tip, HasSubstr("train: </b>"));
  EXPECT_THAT(tip, HasSubstr("status: </b>ok"));
  // The hovered point is highlighted; without a hash, no tooltip shows.
  EXPECT_EQ(count_matches(dom, "data-id=\"" + std::to_string(hovered) + "\" class=\"pt front[a-z ]* sel\""), 1u);
  const auto [plain_tag, plain_tip] = tooltip(testing::dump_dom(tmp.path(), file));
  EXPECT_THAT(plain_tag, HasSubstr("hidden"));
  EXPECT_THAT(plain_tag, Not(HasSubstr("data-shown")));

  const std::filesystem::path png = testing::screenshot(tmp.path(), file, "run-report", "#hover=" + std::to_string(hovered));
  ASSERT_TRUE(std::filesystem::exists(png)) << png;
  EXPECT_EQ(testing::read_text(png).substr(1, 3), "PNG");
  EXPECT_GT(std::filesystem::file_size(png), 20000u);
  const std::filesystem::path phone = testing::screenshot(tmp.path(), file, "run-report-phone",
                                                          "#hover=" + std::to_string(hovered), "390,2400");
  EXPECT_TRUE(std::filesystem::exists(phone)) << phone;
}

TEST_F(RunReportBrowserTest, NamesShowAsTextInTheTooltipNeverAsMarkup) {
  const TempDir tmp;
  testing::write_synthetic_run(tmp.path() / "run", 30, {"", kScriptName, kQuoteName});
  const std::filesystem::path file = write_run_report(tmp.path() / "run").file;
  // Ids 1 and 2 carry the two names (both trained).
  const std::string script_dom = testing::dump_dom(tmp.path(), file, "#hover=1");
  EXPECT_THAT(tooltip(script_dom).second, HasSubstr("#1 &lt;script&gt;alert(1)&lt;/script&gt;"));
  EXPECT_EQ(count_matches(script_dom, "</script>"), 2u);  // only the page's own
  EXPECT_THAT(script_dom, Not(HasSubstr(kScriptName)));
  const std::string quote_dom = testing::dump_dom(tmp.path(), file, "#hover=2");
  EXPECT_THAT(tooltip(quote_dom).second, HasSubstr("#2 \"&amp;'"));
  // A failed evaluation's message is text too.
  const std::string failed_dom = testing::dump_dom(tmp.path(), file, "#hover=3");
  EXPECT_THAT(tooltip(failed_dom).second, HasSubstr("training diverged &lt;b&gt;loss nan&lt;/b&gt;"));
}

TEST_F(RunReportBrowserTest, ClickingAFrontMemberOpensItsLayers) {
  const TempDir tmp;
  const auto records = testing::write_synthetic_run(tmp.path() / "run", 60);
  const std::filesystem::path file = write_run_report(tmp.path() / "run").file;
  const std::vector<std::int64_t> front = front_ids(records);
  const std::string id = std::to_string(front.front());
  const std::string dom = testing::dump_dom(tmp.path(), file, "#open=" + id);
  EXPECT_EQ(count_matches(dom, "<section class=\"card member\" id=\"member-" + id + "\">"), 1u);  // not hidden
  EXPECT_EQ(count_matches(dom, R"(<section class="card member" id="member-\d+" hidden)"), front.size() - 1);
  // Its bar chart: one bar per layer, the chart carrying the id; the overhead apart.
  const std::size_t at = dom.find("id=\"member-" + id + "\"");
  const std::string section = dom.substr(at, dom.find("</section>", at) - at);
  EXPECT_THAT(section, HasSubstr("data-id=\"" + id + "\""));
  const std::size_t layers = records[static_cast<std::size_t>(front.front())].arch.layers.size();
  EXPECT_EQ(count_matches(section, "class=\"bar\""), layers);
  EXPECT_THAT(section, HasSubstr("Plus the per-inference overhead apart from the layers: "));
  EXPECT_THAT(section, HasSubstr("\u00d7"));  // output shapes
  EXPECT_TRUE(std::filesystem::exists(testing::screenshot(tmp.path(), file, "run-report-member", "#open=" + id)));
}

}  // namespace
}  // namespace joules
