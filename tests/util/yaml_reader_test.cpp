#include "util/yaml_reader.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fmt/format.h>

namespace joules::yaml {
namespace {

using ::testing::HasSubstr;
using ::testing::StrEq;

TEST(YamlReaderTest, ReportsLinesAndPathsOfNestedValues) {
  const Value root = Value::parse_string("a:\n  b:\n    - 1\n    - x: 2\n", "f.yaml");
  const Value x = root.get("a").get("b").at(1).get("x");
  EXPECT_EQ(x.path(), "a.b[1].x");
  EXPECT_EQ(x.line(), 4);
  EXPECT_EQ(x.as_int(), 2);
}

TEST(YamlReaderTest, AbsentKeysPointAtTheirMap) {
  const Value root = Value::parse_string("top: 1\nmap:\n  k: 1\n", "f.yaml");
  const Value missing = root.get("map").get("other");
  EXPECT_FALSE(missing.defined());
  EXPECT_EQ(missing.line(), 2) << "the line of the map's key";
  try {
    root.get("map").require("other");
    FAIL();
  } catch (const InputError& e) {
    EXPECT_STREQ(e.what(), "f.yaml:2: map: missing required key 'other'");
  }
}

TEST(YamlReaderTest, FailAtFollowsASpecErrorPathToItsLine) {
  const Value root = Value::parse_string("x:\n  list:\n    - 1\n    - 2\n", "f.yaml");
  try {
    root.fail_at(SpecError("x.list[1]", "too big"));
    FAIL();
  } catch (const InputError& e) {
    EXPECT_STREQ(e.what(), "f.yaml:4: x.list[1]: too big");
  }
  try {
    root.get("x").fail_at(SpecError("list[7].deeper", "missing"));  // deepest existing: the list
    FAIL();
  } catch (const InputError& e) {
    EXPECT_EQ(e.line(), 2);
    EXPECT_EQ(e.key(), "x.list[7].deeper");
  }
}

TEST(YamlReaderTest, TypedReadsRejectOtherTypes) {
  const Value root = Value::parse_string("i: 3\nf: 2.5\ns: \"4\"\nb: yes\nl: [1]\n", "f.yaml");
  EXPECT_THAT([&] { root.get("f").as_int(); }, ::testing::ThrowsMessage<InputError>(HasSubstr("expected an integer, got '2.5'")));
  EXPECT_THAT([&] { root.get("s").as_int(); }, ::testing::ThrowsMessage<InputError>(HasSubstr("string")));
  EXPECT_THAT([&] { root.get("b").as_bool(); }, ::testing::ThrowsMessage<InputError>(HasSubstr("true or false")));
  EXPECT_THAT([&] { root.get("l").as_int(); }, ::testing::ThrowsMessage<InputError>(HasSubstr("got a list")));
  EXPECT_THAT([&] { root.get("i").as_int(5, 9); }, ::testing::ThrowsMessage<InputError>(HasSubstr("in [5, 9]")));
  EXPECT_DOUBLE_EQ(root.get("f").as_double(0, 10), 2.5);
  EXPECT_EQ(root.get("i").as_double(0, 10), 3.0);
}

TEST(YamlReaderTest, InvalidUtf8IsRejectedWithItsLine) {
  EXPECT_THAT([] { Value::parse_string("name: ok\nboard: caf\xe9\n", "c.yaml"); },
              ::testing::ThrowsMessage<InputError>(HasSubstr("c.yaml:2: bytes that are not UTF-8")));
  // An overlong encoding of '/' and a UTF-16 surrogate are not UTF-8 either.
  EXPECT_THROW(Value::parse_string("a: \xc0\xaf\n", "c.yaml"), InputError);
  EXPECT_THROW(Value::parse_string("a: \xed\xa0\x80\n", "c.yaml"), InputError);
  EXPECT_EQ(Value::parse_string("a: caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\n", "c.yaml").get("a").as_string(),
            "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
}

TEST(YamlReaderTest, ANulByteIsRejectedNotReadAsANewline) {
  const std::string text("a: 1\nb: x\0y\n", 12);
  EXPECT_THAT([&] { Value::parse_string(text, "c.yaml"); },
              ::testing::ThrowsMessage<InputError>(StrEq("c.yaml:2: a NUL byte: this is not a text file")));
}

TEST(YamlReaderTest, ASecondDocumentIsRejected) {
  EXPECT_THAT([] { Value::parse_string("a: 1\n---\nb: 2\n", "c.yaml"); },
              ::testing::ThrowsMessage<InputError>(HasSubstr("c.yaml:3: a second YAML document")));
  EXPECT_EQ(Value::parse_string("---\na: 1\n", "c.yaml").get("a").as_int(), 1) << "one document with its marker";
}

TEST(YamlReaderTest, AByteOrderMarkIsDropped) {
  const Value root = Value::parse_string("\xef\xbb\xbf" "a: 1\n", "c.yaml");
  EXPECT_EQ(root.keys(), std::vector<std::string>{"a"});
  EXPECT_EQ(root.get("a").as_int(), 1);
}

TEST(YamlReaderTest, AFileLargerThanTheLimitIsRefusedBeforeParsing) {
  std::string text = "filters: [";
  while (text.size() <= kMaxFileBytes) text += "1, ";
  text += "1]\n";
  EXPECT_THAT([&] { Value::parse_string(text, "big.yaml"); },
              ::testing::ThrowsMessage<InputError>(HasSubstr(
                  fmt::format("big.yaml: file is larger than {} bytes", kMaxFileBytes))));
}

}  // namespace
}  // namespace joules::yaml
