// The `data:` section: defaults, keys, round trip and errors with file, line and key.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "train/data.hpp"
#include "util/yaml_writer.hpp"
#include "util/input_error.hpp"
#include "util/yaml_reader.hpp"
#include "tests/train/config_text.hpp"

namespace joules {
namespace {

using ::testing::HasSubstr;

DataOptions parse(const std::string& text) {
  return parse_data_options(yaml::Value::parse_string(text, "config.yaml").get("data"));
}

std::string error_of(const std::string& text) { return testing::input_error(parse, text); }

TEST(DataOptionsTest, DefaultsToDebiansFashionMnist) {
  const DataOptions o = parse("other: 1\n");
  EXPECT_EQ(o, DataOptions{});
  EXPECT_EQ(o.kind, DatasetKind::fashion_mnist);
  EXPECT_EQ(o.path, "/usr/share/datasets/fashion-mnist");
}

TEST(DataOptionsTest, ReadsEveryKey) {
  const DataOptions o =
      parse("data:\n  kind: cifar10\n  path: /data/cifar\n  validation_size: 1000\n  split_seed: 3\n");
  EXPECT_EQ(o.kind, DatasetKind::cifar10);
  EXPECT_EQ(o.path, "/data/cifar");
  EXPECT_EQ(o.validation_size, 1000);
  EXPECT_EQ(o.split_seed, 3u);
}

TEST(DataOptionsTest, ToYamlReadsBackTheSameOptions) {
  DataOptions o;
  o.kind = DatasetKind::mnist_idx;
  o.path = "/odd path/with \"quotes\": and # hash";
  o.validation_size = 7;
  o.split_seed = 11;
  const std::string yaml = testing::yaml_section("data", to_yaml(o));
  EXPECT_EQ(parse(yaml), o) << yaml;
  EXPECT_THAT(to_yaml(DataOptions{}), HasSubstr("/usr/share/datasets/fashion-mnist"));
  // Quoted by util's yaml_scalar, as every string joules writes into YAML.
  o.path = "/data/tab\there/bell\a";
  EXPECT_THAT(to_yaml(o), HasSubstr("path: " + yaml_scalar(o.path) + "\n"));
  EXPECT_EQ(parse(testing::yaml_section("data", to_yaml(o))), o);
}

TEST(DataOptionsTest, ImageFolderKeysAreReadAndWrittenBack) {
  const DataOptions o = parse(
      "data:\n  kind: image-folder\n  path: /pets\n  resize: shorter-side\n  cache_dir: /c\n"
      "  skip_bad_images: true\n  class_names: [cat, '0-dog']\n");
  EXPECT_EQ(o.kind, DatasetKind::image_folder);
  EXPECT_EQ(o.resize, ImageResize::shorter_side);
  EXPECT_EQ(o.cache_dir, "/c");
  EXPECT_TRUE(o.skip_bad_images);
  EXPECT_EQ(o.class_names, (std::vector<std::string>{"cat", "0-dog"}));
  EXPECT_EQ(parse(testing::yaml_section("data", to_yaml(o))), o) << to_yaml(o);
  const DataOptions plain = parse("data:\n  kind: image-folder\n  path: /pets\n");
  EXPECT_EQ(plain.resize, ImageResize::stretch);
  EXPECT_EQ(plain.cache_dir, "");
  EXPECT_FALSE(plain.skip_bad_images);
  EXPECT_EQ(parse(testing::yaml_section("data", to_yaml(plain))), plain);
}

TEST(DataOptionsTest, ImageFolderKeysAreOnlyForImageFolders) {
  EXPECT_EQ(error_of("data:\n  kind: cifar10\n  path: /c\n  resize: stretch\n"),
            "config.yaml:4: data.resize: only for kind image-folder (this data is cifar10)");
  EXPECT_THAT(error_of("data:\n  kind: image-folder\n"), HasSubstr("kind image-folder needs a path"));
  EXPECT_THAT(error_of("data:\n  kind: image-folder\n  path: /p\n  resize: crop\n"),
              HasSubstr("config.yaml:4: data.resize:"));
  EXPECT_THAT(error_of("data:\n  kind: image-folder\n  path: /p\n  class_names: []\n"),
              HasSubstr("data.class_names: expected a list of class names"));
}

TEST(DataOptionsTest, ErrorsNameFileLineAndKey) {
  EXPECT_THAT(error_of("data:\n  kind: imagenet\n"), HasSubstr("config.yaml:2: data.kind:"));
  EXPECT_EQ(error_of("data:\n  kind: cifar10\n"),
            "config.yaml:1: data: kind cifar10 needs a path (the directory of its files)");
  EXPECT_THAT(error_of("data:\n  validation_size: -1\n"), HasSubstr("config.yaml:2: data.validation_size:"));
  EXPECT_EQ(error_of("data:\n  validation_size: 0\n"),
            "config.yaml:2: data.validation_size: expected an integer >= 1, got 0");
  EXPECT_THAT(error_of("data:\n  pth: /x\n"), HasSubstr("config.yaml:2: data.pth:"));
  EXPECT_THAT(error_of("data:\n  path: ''\n"), HasSubstr("data.path: must not be empty"));
}

}  // namespace
}  // namespace joules
