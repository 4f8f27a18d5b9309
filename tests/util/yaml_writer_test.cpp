// yaml_scalar: every string reads back unchanged through the YAML reader.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "util/yaml_reader.hpp"
#include "util/yaml_writer.hpp"

namespace joules {
namespace {

TEST(YamlWriterTest, StringsReadBackUnchanged) {
  for (const std::string text : {"lenet5", "jetson-nano", "with space", "a: b", "# not a comment", "true", "null",
                                 "1.5", "-leading", "quote \" and \\ backslash", "line\nbreak", "[1, 2]", "",
                                 "tegrastats (INA3221), 1 Hz"}) {
    const std::string doc = "key: " + yaml_scalar(text) + "\n";
    EXPECT_EQ(yaml::Value::parse_string(doc, "t.yaml").require("key").as_string(), text) << doc;
  }
  // Control characters (a tab, a bell, an escape, carriage return, DEL) as \xNN escapes.
  for (const std::string text : {"tab\there", "bell\a", "esc\x1b[31m", "cr\rlf", "del\x7f"}) {
    const std::string doc = "key: " + yaml_scalar(text) + "\n";
    EXPECT_EQ(yaml::Value::parse_string(doc, "t.yaml").require("key").as_string(), text) << doc;
  }
  EXPECT_EQ(yaml_scalar("a\x01" "b"), "\"a\\x01b\"");
  EXPECT_EQ(yaml_scalar("plain_word-1.2"), "plain_word-1.2");
  EXPECT_EQ(yaml_scalar("two words"), "\"two words\"");
}

}  // namespace
}  // namespace joules
