// IntraOpThreads: the count belongs to the calling thread, so concurrent trainings each keep
// their own, and it is restored afterwards.

#include "train/threads.hpp"

#include <barrier>
#include <stdexcept>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace joules {
namespace {

using ::testing::HasSubstr;

TEST(IntraOpThreadsTest, SetsAndRestoresTheCallingThreadsCount) {
  const int before = intra_op_threads();
  {
    IntraOpThreads guard(3);
    EXPECT_EQ(intra_op_threads(), 3);
    {
      IntraOpThreads inner(1);
      EXPECT_EQ(intra_op_threads(), 1);
    }
    EXPECT_EQ(intra_op_threads(), 3);
  }
  EXPECT_EQ(intra_op_threads(), before);
}

TEST(IntraOpThreadsTest, ThreadsKeepTheirOwnCountsConcurrently) {
  std::barrier sync(2);
  int seen[2] = {0, 0};
  auto work = [&](int index, int threads) {
    IntraOpThreads guard(threads);
    sync.arrive_and_wait();  // both guards are set now
    seen[index] = intra_op_threads();
    sync.arrive_and_wait();
  };
  std::thread a(work, 0, 1);
  std::thread b(work, 1, 4);
  a.join();
  b.join();
  EXPECT_EQ(seen[0], 1);
  EXPECT_EQ(seen[1], 4);
}

TEST(IntraOpThreadsTest, RejectsFewerThanOneThread) {
  try {
    IntraOpThreads guard(0);
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_THAT(e.what(), HasSubstr("intra-op threads must be >= 1, got 0"));
  }
}

}  // namespace
}  // namespace joules
