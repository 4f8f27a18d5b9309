// IDX and CIFAR-10 readers on files the tests write: contents, gzip, and every error naming
// the file.

#include "train/image_files.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/support/temp_dir.hpp"
#include "tests/train/dataset_files.hpp"
#include "util/input_error.hpp"

namespace joules {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::TempDir;

std::string error_of(const std::string& path) {
  try {
    read_idx(path);
  } catch (const InputError& e) {
    EXPECT_EQ(e.file(), path);
    return e.what();
  }
  ADD_FAILURE() << "no error for " << path;
  return "";
}

class IdxReaderTest : public ::testing::TestWithParam<const char*> {};

TEST_P(IdxReaderTest, ReadsDimensionsAndBytesRawOrGzipped) {
  TempDir dir;
  const std::string path = (dir.path() / (std::string("a.idx") + GetParam())).string();
  testing::write_file(path, testing::idx_bytes({2, 3, 2}, {0, 1, 2, 3, 4, 5, 250, 251, 252, 253, 254, 255}));
  const IdxArray a = read_idx(path);
  EXPECT_THAT(a.dims, ElementsAre(2, 3, 2));
  EXPECT_THAT(a.data, ElementsAre(0, 1, 2, 3, 4, 5, 250, 251, 252, 253, 254, 255));
}

INSTANTIATE_TEST_SUITE_P(Compression, IdxReaderTest, ::testing::Values("", ".gz"));

TEST(IdxReaderErrorTest, NamesTheFileAndTheProblem) {
  TempDir dir;
  const auto file = [&](const std::string& name, const std::string& bytes) {
    const std::string path = (dir.path() / name).string();
    testing::write_file(path, bytes);
    return path;
  };
  EXPECT_THAT(error_of(file("truncated.gz", testing::idx_bytes({4, 2}, {1, 2, 3}))),
              HasSubstr("truncated: a 4 x 2 array needs 8 bytes of data, the file has 3"));
  EXPECT_THAT(error_of(file("long", testing::idx_bytes({2}, {1, 2, 3}))),
              HasSubstr("is longer than its header says: a 2 array needs 2 bytes of data"));
  EXPECT_THAT(error_of(file("float", std::string("\0\0\x0d\x01\0\0\0\x01xxxx", 12))),
              HasSubstr("IDX element type 0x0d is not supported (only 0x08, unsigned bytes)"));
  EXPECT_THAT(error_of(file("text", "hello world")), HasSubstr("not an IDX file"));
  EXPECT_THAT(error_of(file("short", std::string("\0\0", 2))), HasSubstr("truncated: no IDX header"));
  EXPECT_THAT(error_of(file("dims", std::string("\0\0\x08\x03\0\0\0\x02", 8))),
              HasSubstr("the IDX header ends before its dimensions"));
  EXPECT_THAT(error_of((dir.path() / "missing").string()), HasSubstr("cannot open"));
}

TEST(IdxImagesTest, PairsImagesWithLabels) {
  TempDir dir;
  const std::string images = dir.write("images", testing::idx_bytes({2, 1, 3}, {1, 2, 3, 4, 5, 6}));
  const std::string labels = dir.write("labels", testing::idx_bytes({2}, {7, 9}));
  const LabelledImages set = read_idx_images(images, labels);
  EXPECT_EQ(set.count, 2);
  EXPECT_EQ(set.shape, (Shape{1, 1, 3}));
  EXPECT_THAT(set.pixels, ElementsAre(1, 2, 3, 4, 5, 6));
  EXPECT_THAT(set.labels, ElementsAre(7, 9));

  const std::string colour = dir.write("colour", testing::idx_bytes({1, 3, 1, 1}, {1, 2, 3}));
  const std::string one = dir.write("one", testing::idx_bytes({1}, {0}));
  EXPECT_EQ(read_idx_images(colour, one).shape, (Shape{3, 1, 1}));
}

TEST(IdxImagesTest, RejectsMismatchedFiles) {
  TempDir dir;
  const std::string images = dir.write("images", testing::idx_bytes({2, 1, 3}, {1, 2, 3, 4, 5, 6}));
  const std::string three = dir.write("three", testing::idx_bytes({3}, {0, 1, 2}));
  const std::string flat = dir.write("flat", testing::idx_bytes({6}, {1, 2, 3, 4, 5, 6}));
  try {
    read_idx_images(images, three);
    FAIL();
  } catch (const InputError& e) {
    EXPECT_EQ(e.file(), three);
    EXPECT_THAT(e.what(), HasSubstr("has 3 labels but " + images + " has 2 images"));
  }
  try {
    read_idx_images(flat, three);
    FAIL();
  } catch (const InputError& e) {
    EXPECT_THAT(e.what(), HasSubstr("expected images [count, height, width]"));
  }
}

TEST(Cifar10ReaderTest, ConcatenatesBatchFilesInOrder) {
  TempDir dir;
  const testing::Synthetic a = testing::synthetic_images(3, 10, 3, 32, 32, /*seed=*/1);
  const testing::Synthetic b = testing::synthetic_images(2, 10, 3, 32, 32, /*seed=*/2);
  const std::string first = dir.write("data_batch_1.bin", testing::cifar10_bytes(a));
  const std::string second = dir.write("data_batch_2.bin", testing::cifar10_bytes(b));
  const LabelledImages set = read_cifar10({first, second});
  EXPECT_EQ(set.count, 5);
  EXPECT_EQ(set.shape, (Shape{3, 32, 32}));
  EXPECT_THAT(set.labels, ElementsAre(a.labels[0], a.labels[1], a.labels[2], b.labels[0], b.labels[1]));
  std::vector<std::uint8_t> pixels = a.pixels;
  pixels.insert(pixels.end(), b.pixels.begin(), b.pixels.end());
  EXPECT_EQ(set.pixels, pixels);
}

TEST(Cifar10ReaderTest, RejectsPartialRecords) {
  TempDir dir;
  const std::string path = dir.write("data_batch_1.bin", std::string(3073 + 10, '\0'));
  try {
    read_cifar10({path});
    FAIL();
  } catch (const InputError& e) {
    EXPECT_EQ(e.file(), path);
    EXPECT_THAT(e.what(),
                HasSubstr("is 3083 bytes, not a whole number of CIFAR-10 records (3073 bytes each)"));
  }
}

}  // namespace
}  // namespace joules
