#include "util/input_error.hpp"

#include <fstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/support/temp_dir.hpp"

namespace joules {
namespace {

using ::testing::HasSubstr;

TEST(ReadInputFileTest, AFileLargerThanTheLimitIsRefused) {
  testing::TempDir dir;
  const std::string path = dir.write("big.yaml", std::string(1001, 'x'));
  EXPECT_THAT([&] { read_input_file(path, 1000); },
              ::testing::ThrowsMessage<InputError>(HasSubstr(path + ": file is larger than 1000 bytes")));
  EXPECT_EQ(read_input_file(path, 1001).size(), 1001u);
}

TEST(ReadInputFileTest, TheDefaultLimitIsSixteenMebibytes) {
  testing::TempDir dir;
  const std::string path = (dir.path() / "huge.csv").string();
  std::ofstream(path).close();
  std::filesystem::resize_file(path, kMaxInputFileBytes + 1);  // sparse: no 16 MiB written
  EXPECT_THAT([&] { read_input_file(path); },
              ::testing::ThrowsMessage<InputError>(HasSubstr("file is larger than 16777216 bytes")));
}

TEST(CheckedTextTest, KeepsUtf8AndDropsAByteOrderMark) {
  EXPECT_EQ(checked_text("\xef\xbb\xbf" "a\xc3\xa9", "f"), "a\xc3\xa9");
  EXPECT_THAT([] { checked_text("ok\nok\n\xe2\x82", "f.txt"); },
              ::testing::ThrowsMessage<InputError>(HasSubstr("f.txt:3: bytes that are not UTF-8")));
}

TEST(PrintableTest, EscapesWhatATerminalWouldObey) {
  EXPECT_EQ(printable("VDD_\x1b[2JGPU\x07"), "VDD_\\x1b[2JGPU\\x07");
  EXPECT_EQ(printable("a\xc2\x9b" "31mb"), "a\\xc2\\x9b31mb") << "C1 CSI";
  EXPECT_EQ(printable("bad \xff byte"), "bad \\xff byte");
  EXPECT_EQ(printable("VDD_CPU caf\xc3\xa9 \xe2\x82\xac"), "VDD_CPU caf\xc3\xa9 \xe2\x82\xac");
}

}  // namespace
}  // namespace joules
