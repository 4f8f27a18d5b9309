#include "util/status_line.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <string>

namespace joules {
namespace {

std::string contents(std::FILE* f) {
  std::fflush(f);
  std::rewind(f);
  std::string out;
  char buffer[256];
  while (std::fgets(buffer, sizeof buffer, f)) out += buffer;
  return out;
}

TEST(StatusLineTest, PlainOutputPrintsAtMostOneStatusPerInterval) {
  std::FILE* f = std::tmpfile();
  {
    StatusLine line(f, /*interval_s=*/3600);
    EXPECT_FALSE(line.live());
    line.update("gen 1");  // first status is printed
    line.update("gen 2");  // within the interval: held back
    line.update("gen 3", /*force=*/true);
    line.print("note");
  }
  EXPECT_EQ(contents(f), "gen 1\ngen 3\nnote\n");
  std::fclose(f);
}

TEST(StatusLineTest, FormatsDurations) {
  EXPECT_EQ(format_duration(12.4), "12s");
  EXPECT_EQ(format_duration(245), "4:05");
  EXPECT_EQ(format_duration(3723), "1:02:03");
  EXPECT_EQ(format_duration(-1), "?");
}

}  // namespace
}  // namespace joules
