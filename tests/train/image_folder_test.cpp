// Image folders: classes from sorted folders, splits from train/ val/ test/, pixels decoded and
// resized to the input, the cache and what invalidates it, and every kind of bad input.

#include "train/image_folder.hpp"

#include <cstdlib>
#include <filesystem>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/support/temp_dir.hpp"
#include "tests/train/image_writer.hpp"
#include "train/data_tensors.hpp"
#include "util/input_error.hpp"

namespace joules {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using testing::flat_image;
using ::testing::HasSubstr;

class ImageFolderTest : public ::testing::Test {
 protected:
  // train/ with classes dog, ant, cat (grey values 200, 10, 100; PNG and JPEG, grey and RGB,
  // odd sizes), val/ with ant and dog, test/ with cat.
  void SetUp() override {
    image("train/dog/1.png", flat_image(5, 3, 1, 200));
    image("train/dog/2.jpg", flat_image(9, 7, 1, 200));
    image("train/ant/a.png", flat_image(4, 4, 1, 10));
    image("train/ant/b.PNG", flat_image(3, 5, 1, 10));
    image("train/ant/c.jpeg", flat_image(6, 6, 1, 10));
    image("train/cat/x.png", flat_image(7, 2, 1, 100));
    image("train/cat/sub/y.png", flat_image(4, 4, 1, 100));  // nested, as torchvision reads it
    image("val/ant/v.png", flat_image(4, 4, 1, 10));
    image("val/dog/w.png", flat_image(4, 4, 1, 200));
    image("test/cat/t.png", flat_image(4, 4, 1, 100));
    dir_.write("train/.DS_Store", "hidden files are ignored");
  }
  std::string image(const std::string& name, const testing::TestImage& img) const {
    const bool jpeg = name.ends_with(".jpg") || name.ends_with(".jpeg");
    return dir_.write(name, jpeg ? testing::jpeg_bytes(img) : testing::png_bytes(img));
  }
  DataOptions options() const {
    DataOptions o;
    o.kind = DatasetKind::image_folder;
    o.path = dir_.path().string();
    o.validation_size = 0;
    return o;
  }
  std::string load_error(const DataOptions& o, const Shape& input = {1, 4, 4}) const {
    try {
      load_data(o, input);
    } catch (const InputError& e) {
      return e.what();
    }
    return "no error";
  }
  testing::TempDir dir_;
};

TEST_F(ImageFolderTest, ClassesAreTheSortedFoldersAndSplitsTheirFolders) {
  const auto data = load_data(options(), {1, 4, 4});
  EXPECT_THAT(data->class_names(), ElementsAre("ant", "cat", "dog"));
  EXPECT_EQ(data->classes(), 3);
  EXPECT_EQ(data->input(), (Shape{1, 4, 4}));
  EXPECT_EQ(data->train_size(), 7);
  EXPECT_EQ(data->validation_size(), 2);
  EXPECT_EQ(data->test_size(), 1);
  // Every image is flat, so every resized pixel is its class's value (JPEG within 2).
  const std::uint8_t value[3] = {10, 100, 200};
  const auto& t = data->tensors();
  for (const auto& [images, labels] :
       {std::pair{t.images, t.labels}, std::pair{t.test_images, t.test_labels}}) {
    for (std::int64_t r = 0; r < images.size(0); ++r) {
      const std::int64_t label = labels[r].item<std::int64_t>();
      const torch::Tensor diff = images[r].to(torch::kInt32) - value[label];
      EXPECT_LE(diff.abs().max().item<int>(), 2) << "row " << r << " label " << label;
    }
  }
  EXPECT_EQ(t.test_labels[0].item<std::int64_t>(), 1);  // cat
}

TEST_F(ImageFolderTest, ThreeChannelsReplicateGreyAndKeepColour) {
  image("train/ant/rgb.png", testing::TestImage{1, 1, 3, {30, 60, 90}});
  const auto data = load_data(options(), {3, 3, 3});
  const auto& t = data->tensors();
  // ant's rows come first (sorted files: a.png, b.PNG, c.jpeg, rgb.png).
  EXPECT_EQ(t.images[0][0][1][1].item<int>(), 10);
  EXPECT_EQ(t.images[0][2][1][1].item<int>(), 10);
  EXPECT_EQ(t.images[3][0][2][2].item<int>(), 30);
  EXPECT_EQ(t.images[3][1][0][0].item<int>(), 60);
  EXPECT_EQ(t.images[3][2][1][0].item<int>(), 90);
}

TEST_F(ImageFolderTest, WithoutValTheValidationSplitIsSeeded) {
  fs::remove_all(dir_.path() / "val");
  DataOptions o = options();
  o.validation_size = 2;
  const auto a = load_data(o, {1, 4, 4});
  EXPECT_EQ(a->train_size(), 5);
  EXPECT_EQ(a->validation_size(), 2);
  const auto b = load_data(o, {1, 4, 4});
  EXPECT_TRUE(a->tensors().validation_index.equal(b->tensors().validation_index));
  o.validation_size = 7;
  try {
    load_data(o, {1, 4, 4});
    ADD_FAILURE() << "no error";
  } catch (const SpecError& e) {
    EXPECT_EQ(e.key(), "validation_size");
  }
}

TEST_F(ImageFolderTest, TheCacheIsReusedUntilFilesOrSettingsChange) {
  DataOptions o = options();
  const ImageFolder first = load_image_folder(o, {1, 4, 4});
  EXPECT_FALSE(first.from_cache);
  EXPECT_THAT(first.cache_path, HasSubstr((dir_.path() / ".joules-cache").string()));
  EXPECT_TRUE(fs::is_regular_file(first.cache_path));
  const ImageFolder second = load_image_folder(o, {1, 4, 4});
  EXPECT_TRUE(second.from_cache);
  EXPECT_EQ(*second.buffer, *first.buffer);

  // A touched file (new mtime), an added file, another resize or shape: decoded again.
  const fs::path touched = dir_.path() / "train/cat/x.png";
  fs::last_write_time(touched, fs::last_write_time(touched) + std::chrono::seconds(5));
  EXPECT_FALSE(load_image_folder(o, {1, 4, 4}).from_cache);
  EXPECT_TRUE(load_image_folder(o, {1, 4, 4}).from_cache);
  image("train/cat/z.png", flat_image(4, 4, 1, 100));
  const ImageFolder added = load_image_folder(o, {1, 4, 4});
  EXPECT_FALSE(added.from_cache);
  EXPECT_EQ(added.train_count, 8);
  o.resize = ImageResize::shorter_side;
  EXPECT_FALSE(load_image_folder(o, {1, 4, 4}).from_cache);
  EXPECT_TRUE(load_image_folder(o, {1, 4, 4}).from_cache);
  EXPECT_FALSE(load_image_folder(o, {1, 5, 4}).from_cache);

  // A damaged cache file is not trusted.
  fs::resize_file(added.cache_path, fs::file_size(added.cache_path) - 3);
  o.resize = ImageResize::stretch;
  const ImageFolder repaired = load_image_folder(o, {1, 4, 4});
  EXPECT_FALSE(repaired.from_cache);
  EXPECT_EQ(*repaired.buffer, *added.buffer);
}

TEST_F(ImageFolderTest, TheCacheGoesWhereToldOrElsewhereWhenTheDataIsReadOnly) {
  testing::TempDir cache;
  DataOptions o = options();
  o.cache_dir = (cache.path() / "mine").string();
  EXPECT_THAT(load_image_folder(o, {1, 4, 4}).cache_path, HasSubstr(o.cache_dir));
  EXPECT_TRUE(load_image_folder(o, {1, 4, 4}).from_cache);
  EXPECT_FALSE(fs::exists(dir_.path() / ".joules-cache"));

  // .joules-cache cannot be made (a file is in the way): the user's cache directory.
  dir_.write(".joules-cache", "in the way");
  const char* old = std::getenv("XDG_CACHE_HOME");
  const std::string saved = old ? old : "";
  setenv("XDG_CACHE_HOME", cache.path().c_str(), 1);
  const ImageFolder f = load_image_folder(options(), {1, 4, 4});
  if (old)
    setenv("XDG_CACHE_HOME", saved.c_str(), 1);
  else
    unsetenv("XDG_CACHE_HOME");
  EXPECT_THAT(f.cache_path, HasSubstr((cache.path() / "joules").string()));
}

TEST_F(ImageFolderTest, ACorruptImageNamesTheFileOrIsSkippedAndCounted) {
  const std::string bad = dir_.write("train/cat/broken.png", "\x89PNG\r\n\x1a\nnot really");
  EXPECT_THAT(load_error(options()), HasSubstr(bad + ": corrupt PNG"));
  EXPECT_THAT(load_error(options()), HasSubstr("skip_bad_images"));
  DataOptions o = options();
  o.skip_bad_images = true;
  const auto data = load_data(o, {1, 4, 4});
  EXPECT_EQ(data->skipped_images(), 1);
  EXPECT_EQ(data->train_size(), 7);
  const ImageFolder cached = load_image_folder(o, {1, 4, 4});
  EXPECT_TRUE(cached.from_cache);
  EXPECT_EQ(cached.skipped, 1);
  dir_.write("train/cat/text.jpg", "plain text");
  EXPECT_THAT(load_error(options()), HasSubstr(bad + ": corrupt PNG"));  // the first in order
}

TEST_F(ImageFolderTest, BadLayoutsAreOneLineErrorsNamingTheFolderOrFile) {
  const std::string root = dir_.path().string();
  EXPECT_EQ(load_error(options(), {2, 4, 4}),
            root + ": image folders decode to 1 (grey) or 3 (RGB) channels; the network's input asks for 2");
  {
    testing::TempDir empty;
    DataOptions o = options();
    o.path = empty.path().string();
    EXPECT_THAT(load_error(o), HasSubstr("has no train/ folder"));
  }
  fs::create_directories(dir_.path() / "train/eel");
  EXPECT_EQ(load_error(options()), root + "/train/eel: is an empty class folder (no .png, .jpg or .jpeg)");
  fs::remove(dir_.path() / "train/eel");
  const std::string notes = dir_.write("train/ant/notes.txt", "x");
  EXPECT_EQ(load_error(options()), notes + ": is not an image (expected .png, .jpg or .jpeg)");
  fs::remove(notes);
  const std::string stray = dir_.write("train/stray.png", testing::png_bytes(flat_image(2, 2, 1, 0)));
  EXPECT_THAT(load_error(options()), HasSubstr(stray + ": is not a class folder"));
  fs::remove(stray);
  image("val/yak/1.png", flat_image(2, 2, 1, 0));
  EXPECT_THAT(load_error(options()), HasSubstr("class folder yak is not among train/'s 3 classes"));
  fs::remove_all(dir_.path() / "val/yak");
  DataOptions named = options();
  named.class_names = {"ant", "bee", "cat"};
  EXPECT_THAT(load_error(named),
              HasSubstr("holds the classes [ant, cat, dog] but data.class_names lists [ant, bee, cat]"));
  named.class_names = {"ant", "cat", "dog"};
  EXPECT_EQ(load_data(named, {1, 4, 4})->classes(), 3);
}

TEST_F(ImageFolderTest, ADataSetLargerThanMemoryIsAnErrorSayingItsSize) {
  // 10 images of 3 x 100000 x 100000 bytes: about 28 GiB each.
  const std::string e = load_error(options(), {3, 100000, 100000});
  EXPECT_THAT(e, HasSubstr("10 images decoded to 3x100000x100000 take 279.40 GiB, more than the"));
  EXPECT_THAT(e, HasSubstr("of memory available"));
}

}  // namespace
}  // namespace joules
