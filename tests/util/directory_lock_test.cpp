#include "util/directory_lock.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <unistd.h>

#include <fmt/format.h>

#include "tests/support/temp_dir.hpp"

namespace joules {
namespace {

using ::testing::HasSubstr;

TEST(DirectoryLockTest, ASecondHolderIsRefusedWithTheFirstNamedUntilItEnds) {
  testing::TempDir tmp;
  {
    const DirectoryLock first = DirectoryLock::acquire(tmp.path(), "joules profile");
    std::string held_by;
    EXPECT_FALSE(DirectoryLock::try_acquire(tmp.path(), "joules export", &held_by));
    EXPECT_EQ(held_by, fmt::format("pid {} (joules profile)", ::getpid()));
    try {
      DirectoryLock::acquire(tmp.path(), "joules search");
      ADD_FAILURE() << "locked twice";
    } catch (const std::runtime_error& e) {
      EXPECT_THAT(e.what(), HasSubstr(tmp.path().string() + " is in use by pid"));
      EXPECT_THAT(e.what(), HasSubstr("(joules profile)"));
    }
  }
  // Released with its holder: the lock file left behind is not a lock.
  EXPECT_TRUE(DirectoryLock::try_acquire(tmp.path(), "joules search"));
}

TEST(DirectoryLockTest, AFileLockIsHeldUntilReleased) {
  testing::TempDir tmp;
  const auto marker = tmp.path() / "marker";
  std::optional<DirectoryLock> held = DirectoryLock::try_lock_file(marker);
  ASSERT_TRUE(held);
  EXPECT_FALSE(DirectoryLock::try_lock_file(marker));
  held.reset();
  EXPECT_TRUE(DirectoryLock::try_lock_file(marker));
}

}  // namespace
}  // namespace joules
