#include "util/random.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <stdexcept>

namespace joules {
namespace {

using ::testing::HasSubstr;

TEST(RngTest, RestoredStateContinuesTheSameStream) {
  Rng original(42);
  for (int i = 0; i < 10; ++i) original();
  Rng restored(7);
  restored.set_state(original.state());
  EXPECT_EQ(restored, original);
  for (int i = 0; i < 100; ++i) ASSERT_EQ(restored(), original());
  EXPECT_NE(Rng(42).state(), original.state());
}

TEST(RngTest, RejectsTheAllZeroState) {
  Rng rng(1);
  try {
    rng.set_state(Rng::State{});
    FAIL() << "expected std::invalid_argument";
  } catch (const std::invalid_argument& e) {
    EXPECT_THAT(e.what(), HasSubstr("all four words are 0"));
  }
  EXPECT_EQ(rng, Rng(1));
}

}  // namespace
}  // namespace joules
