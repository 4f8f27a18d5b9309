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

}  // namespace
}  // namespace joules
