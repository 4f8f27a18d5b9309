#include "util/atomic_file.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "tests/support/temp_dir.hpp"

namespace joules {
namespace {

std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(AtomicFileTest, ReplacesContentAndLeavesNoTemporaries) {
  testing::TempDir dir;
  const auto path = dir.path() / "state.json";
  write_file_atomic(path, "first");
  write_file_atomic(path, "second");
  EXPECT_EQ(slurp(path), "second");
  int files = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir.path())) ++files;
  EXPECT_EQ(files, 1);
}

TEST(AtomicFileTest, FailureKeepsTheOldFile) {
  testing::TempDir dir;
  EXPECT_THROW(write_file_atomic(dir.path() / "missing-dir" / "x", "data"), std::runtime_error);
}

TEST(AtomicFileTest, AppendsLines) {
  testing::TempDir dir;
  const auto path = dir.path() / "log.jsonl";
  append_line_durable(path, "{\"a\":1}");
  append_line_durable(path, "{\"a\":2}");
  EXPECT_EQ(slurp(path), "{\"a\":1}\n{\"a\":2}\n");
}

}  // namespace
}  // namespace joules
