#include "util/yaml_reader.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace joules::yaml {
namespace {

using ::testing::HasSubstr;

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

}  // namespace
}  // namespace joules::yaml
