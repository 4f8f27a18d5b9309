// joules space sample, joules space enumerate and joules profile --grid-from, as a user runs them.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "tests/cli/run_command.hpp"
#include "tests/support/temp_dir.hpp"

namespace joules {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

const std::string kConfig = std::string(JOULES_SOURCE_DIR) + "/configs/quickstart.yaml";

TEST(SpaceCommandTest, SampleWritesArchitecturesThatInspectReads) {
  testing::TempDir tmp;
  const fs::path out = tmp.path() / "archs";
  const testing::CommandResult r = testing::run_joules({"space", "sample", kConfig, "--count", "5", "--seed", "3", "--out", out.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("wrote 5 architectures"));
  for (int i = 1; i <= 5; ++i) {
    const fs::path f = out / ("sample-" + std::to_string(i) + ".yaml");
    ASSERT_TRUE(fs::exists(f)) << f;
    EXPECT_EQ(testing::run_joules({"inspect", f.string()}).exit_code, 0);
  }
  // The same seed, the same files.
  const fs::path again = tmp.path() / "again";
  ASSERT_EQ(testing::run_joules({"space", "sample", kConfig, "--count", "5", "--seed", "3", "--out", again.string()}).exit_code, 0);
  std::ifstream a(out / "sample-4.yaml"), b(again / "sample-4.yaml");
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(a), {}), std::string(std::istreambuf_iterator<char>(b), {}));
}

TEST(SpaceCommandTest, SampleRefusesADirectoryWithFilesInIt) {
  testing::TempDir tmp;
  std::ofstream(tmp.path() / "mine.txt") << "keep me";
  const testing::CommandResult r = testing::run_joules({"space", "sample", kConfig, "--count", "2", "--out", tmp.path().string()});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("error: command line: --out:"));
  EXPECT_THAT(r.err, HasSubstr("is not an empty directory"));
  EXPECT_TRUE(fs::exists(tmp.path() / "mine.txt"));
}

TEST(SpaceCommandTest, EnumerateCountsAndWritesEveryArchitectureOfTheTableSpace) {
  testing::TempDir tmp;
  const std::string table = std::string(JOULES_SOURCE_DIR) + "/configs/spaces/table.yaml";
  const testing::CommandResult count = testing::run_joules({"space", "enumerate", table, "--json"});
  ASSERT_EQ(count.exit_code, 0) << count.err;
  const int n = nlohmann::json::parse(count.out)["architectures"].get<int>();
  EXPECT_GE(n, 1000);
  EXPECT_LE(n, 3000);
  const fs::path out = tmp.path() / "members";
  const testing::CommandResult written = testing::run_joules({"space", "enumerate", table, "--out", out.string()});
  ASSERT_EQ(written.exit_code, 0) << written.err;
  EXPECT_THAT(written.out, HasSubstr(std::to_string(n) + " distinct architectures"));
  EXPECT_EQ(std::distance(fs::directory_iterator(out), fs::directory_iterator()), n);
  EXPECT_EQ(testing::run_joules({"inspect", (out / ("member-" + std::to_string(n) + ".yaml")).string()}).exit_code, 0);
}

TEST(SpaceCommandTest, EnumerateRefusesASpaceAboveTheLimitAndWritesNothing) {
  testing::TempDir tmp;
  const fs::path out = tmp.path() / "members";
  const testing::CommandResult r =
      testing::run_joules({"space", "enumerate", kConfig, "--limit", "50", "--out", out.string()});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("error: command line: --limit: the space of"));
  EXPECT_THAT(r.err, HasSubstr("holds more than 50 architectures"));
  EXPECT_FALSE(fs::exists(out));
}

TEST(SpaceCommandTest, ProfileGridFromNeedsExactlyOneGridAndEnoughPoints) {
  testing::TempDir tmp;
  const testing::CommandResult neither = testing::run_joules({"profile", "--board", "b", "--sensor", "timer", "--out", (tmp.path() / "r").string()});
  EXPECT_EQ(neither.exit_code, 2);
  EXPECT_THAT(neither.err, HasSubstr("give one of --grid GRID.yaml or --grid-from CONFIG.yaml"));
  const testing::CommandResult few = testing::run_joules({"profile", "--board", "b", "--sensor", "timer", "--grid-from", kConfig,
                                        "--points", "2", "--out", (tmp.path() / "r").string()});
  EXPECT_EQ(few.exit_code, 2);
  EXPECT_THAT(few.err, HasSubstr("--points: 2 points cannot cover the space"));
  EXPECT_FALSE(fs::exists(tmp.path() / "r"));
}

}  // namespace
}  // namespace joules
