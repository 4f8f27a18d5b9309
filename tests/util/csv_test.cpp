#include "util/csv.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "util/input_error.hpp"

namespace joules {
namespace {

using ::testing::HasSubstr;

TEST(CsvTest, ReadsQuotedFieldsAndReportsLines) {
  const CsvTable t = CsvTable::parse("name,value\n\"a, b\",1.5\r\n\n\"say \"\"hi\"\"\nthere\",2\n", "t.csv");
  ASSERT_EQ(t.rows(), 2u);
  EXPECT_EQ(t.text(0, t.column("name")), "a, b");
  EXPECT_DOUBLE_EQ(t.number(0, t.column("value")), 1.5);
  EXPECT_EQ(t.text(1, 0), "say \"hi\"\nthere");
  EXPECT_EQ(t.line(0), 2);
  EXPECT_EQ(t.line(1), 4);
  EXPECT_TRUE(t.ends_with_newline());
}

TEST(CsvTest, ErrorsNameFileLineAndColumn) {
  const CsvTable t = CsvTable::parse("a,b\n1,x\n", "t.csv");
  EXPECT_THAT([&] { t.number(0, 1); }, ::testing::ThrowsMessage<InputError>(HasSubstr("t.csv:2: b: expected a finite number")));
  EXPECT_THAT([&] { t.column("c"); }, ::testing::ThrowsMessage<InputError>(HasSubstr("t.csv:1: c: missing column")));
  EXPECT_THAT([] { CsvTable::parse("a,b\n1,2,3\n", "t.csv"); },
              ::testing::ThrowsMessage<InputError>(HasSubstr("t.csv:2: expected 2 fields")));
  EXPECT_THAT([] { CsvTable::parse("a\n\"open\n", "t.csv"); }, ::testing::ThrowsMessage<InputError>(HasSubstr("not closed")));
  EXPECT_THAT([] { CsvTable::parse("", "t.csv"); }, ::testing::ThrowsMessage<InputError>(HasSubstr("header")));
}

TEST(CsvTest, DetectsATornLastLine) {
  const CsvTable t = CsvTable::parse("a,b\n1,2\n3,4", "t.csv");
  EXPECT_EQ(t.rows(), 2u);
  EXPECT_FALSE(t.ends_with_newline());
}

TEST(CsvTest, FieldsAndNumbersRoundTrip) {
  const std::string line = csv_field("x,y") + "," + csv_field("plain") + "," + csv_number(0.1 + 0.2);
  const CsvTable t = CsvTable::parse("a,b,c\n" + line + "\n", "t.csv");
  EXPECT_EQ(t.text(0, 0), "x,y");
  EXPECT_EQ(t.text(0, 1), "plain");
  EXPECT_EQ(t.number(0, 2), 0.1 + 0.2);
  EXPECT_EQ(CsvTable::parse("n\n12.0\n", "t.csv").integer(0, 0), 12);
}

TEST(CsvTest, ADuplicateColumnIsNamed) {
  EXPECT_THAT([] { CsvTable::parse("energy_mj,macs,energy_mj\n1,2,3\n", "m.csv"); },
              ::testing::ThrowsMessage<InputError>(::testing::StrEq("m.csv:1: energy_mj: duplicate column")));
}

TEST(CsvTest, AByteOrderMarkIsDropped) {
  const CsvTable t = CsvTable::parse("\xef\xbb\xbf" "energy_mj,macs\n1,2\n", "m.csv");
  EXPECT_EQ(t.header().front(), "energy_mj");
  EXPECT_DOUBLE_EQ(t.number(0, t.column("energy_mj")), 1.0);
}

TEST(CsvTest, BinaryBytesAreRejectedWithTheirLine) {
  EXPECT_THAT([] { CsvTable::parse(std::string("a,b\n1,2\n3,\0\n", 11), "m.csv"); },
              ::testing::ThrowsMessage<InputError>(HasSubstr("m.csv:3: a NUL byte")));
  EXPECT_THAT([] { CsvTable::parse("a,b\n1,\xff\n", "m.csv"); },
              ::testing::ThrowsMessage<InputError>(HasSubstr("m.csv:2: bytes that are not UTF-8")));
}

}  // namespace
}  // namespace joules
