#include "util/atomic_file.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/resource.h>

#include <csignal>
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

// Writes past RLIMIT_FSIZE fail with EFBIG (SIGXFSZ ignored) for root too: a disk that fills
// up in the middle of a write, without a full disk.
class FileSizeLimit {
 public:
  explicit FileSizeLimit(rlim_t bytes) {
    old_handler_ = std::signal(SIGXFSZ, SIG_IGN);
    getrlimit(RLIMIT_FSIZE, &old_);
    rlimit limited = old_;
    limited.rlim_cur = bytes;
    setrlimit(RLIMIT_FSIZE, &limited);
  }
  ~FileSizeLimit() {
    setrlimit(RLIMIT_FSIZE, &old_);
    std::signal(SIGXFSZ, old_handler_);
  }

 private:
  rlimit old_{};
  void (*old_handler_)(int) = nullptr;
};

TEST(AtomicFileTest, FailureKeepsTheOldFile) {
  testing::TempDir dir;
  const auto path = dir.path() / "state.json";
  write_file_atomic(path, "old content");
  try {
    const FileSizeLimit limit(64);
    write_file_atomic(path, std::string(4096, 'x'));
    FAIL() << "a write past the file size limit succeeded";
  } catch (const std::runtime_error& e) {
    EXPECT_THAT(e.what(), ::testing::HasSubstr("cannot write"));
  }
  EXPECT_EQ(slurp(path), "old content");
  // And the half-written temporary is gone.
  int files = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir.path())) ++files;
  EXPECT_EQ(files, 1);
}

TEST(AtomicFileTest, AMissingDirectoryIsAnErrorNamingIt) {
  testing::TempDir dir;
  EXPECT_THAT([&] { write_file_atomic(dir.path() / "missing-dir" / "x", "data"); },
              ::testing::ThrowsMessage<std::runtime_error>(
                  ::testing::HasSubstr("cannot create a temporary file in " + (dir.path() / "missing-dir").string())));
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "missing-dir"));
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
