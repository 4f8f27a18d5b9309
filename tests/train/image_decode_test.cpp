// Decoding PNG and JPEG bytes written by the tests, and resizing: exact pixels where the
// format is lossless, bilinear (antialiased when shrinking) and centre-cropped resizes.

#include "train/image_decode.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/train/image_writer.hpp"

namespace joules {
namespace {

using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::HasSubstr;
using testing::TestImage;

std::vector<std::uint8_t> resized(const DecodedImage& image, Shape shape, ImageResize mode) {
  std::vector<std::uint8_t> out(static_cast<std::size_t>(shape.channels * shape.height * shape.width));
  resize_image(image, shape, mode, out.data());
  return out;
}

DecodedImage grey(int width, int height, std::vector<std::uint8_t> pixels) {
  return DecodedImage{width, height, 1, std::move(pixels)};
}

TEST(ImageDecodeTest, GreyPngDecodesExactlyToOneOrThreeChannels) {
  const TestImage image{3, 2, 1, {0, 17, 255, 90, 128, 3}};  // odd size
  const DecodedImage one = decode_image(testing::png_bytes(image), 1);
  EXPECT_EQ(one.width, 3);
  EXPECT_EQ(one.height, 2);
  EXPECT_THAT(one.pixels, ElementsAreArray(image.pixels));
  const DecodedImage three = decode_image(testing::png_bytes(image), 3);
  EXPECT_THAT(three.pixels,
              ElementsAre(0, 0, 0, 17, 17, 17, 255, 255, 255, 90, 90, 90, 128, 128, 128, 3, 3, 3));
}

TEST(ImageDecodeTest, RgbPngDecodesExactlyAndToGrey) {
  const TestImage image{1, 3, 3, {255, 0, 0, 0, 0, 0, 255, 255, 255}};
  EXPECT_THAT(decode_image(testing::png_bytes(image), 3).pixels, ElementsAreArray(image.pixels));
  const DecodedImage g = decode_image(testing::png_bytes(image), 1);
  ASSERT_EQ(g.pixels.size(), 3u);
  EXPECT_GT(g.pixels[0], 40);  // red is a mid grey
  EXPECT_LT(g.pixels[0], 150);
  EXPECT_EQ(g.pixels[1], 0);
  EXPECT_EQ(g.pixels[2], 255);
}

TEST(ImageDecodeTest, JpegDecodesCloseToItsPixels) {
  for (int channels : {1, 3}) {
    const TestImage image = testing::flat_image(13, 7, channels, 60);
    const DecodedImage d = decode_image(testing::jpeg_bytes(image), channels);
    ASSERT_EQ(d.pixels.size(), image.pixels.size());
    for (std::size_t i = 0; i < d.pixels.size(); ++i) EXPECT_NEAR(d.pixels[i], image.pixels[i], 2) << i;
  }
}

TEST(ImageDecodeTest, CorruptOrForeignBytesSayWhatIsWrong) {
  const std::string png = testing::png_bytes(testing::flat_image(8, 8, 1, 10));
  const std::string jpeg = testing::jpeg_bytes(testing::flat_image(32, 32, 3, 10));
  const auto error = [](const std::string& bytes) {
    try {
      decode_image(bytes, 3);
    } catch (const ImageDecodeError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_THAT(error(png.substr(0, 30)), HasSubstr("corrupt PNG"));
  EXPECT_THAT(error(jpeg.substr(0, jpeg.size() / 2)), HasSubstr("corrupt JPEG"));
  EXPECT_THAT(error("hello, not an image"), HasSubstr("not a PNG or JPEG file"));
  EXPECT_THAT(error(""), HasSubstr("empty file"));
  // A corrupt JPEG does not spoil the next one decoded in the same thread.
  EXPECT_EQ(decode_image(jpeg, 3).width, 32);
  EXPECT_THAT(error(jpeg.substr(0, 40)), HasSubstr("corrupt JPEG"));
  EXPECT_EQ(decode_image(jpeg, 1).height, 32);
}

TEST(ImageDecodeTest, SameSizeIsCopiedAsPlanes) {
  const DecodedImage rgb{2, 1, 3, {1, 2, 3, 4, 5, 6}};
  EXPECT_THAT(resized(rgb, {3, 1, 2}, ImageResize::stretch), ElementsAre(1, 4, 2, 5, 3, 6));
}

TEST(ImageDecodeTest, UpscalingIsBilinearWithEdgesClamped) {
  EXPECT_THAT(resized(grey(2, 1, {0, 200}), {1, 1, 4}, ImageResize::stretch), ElementsAre(0, 50, 150, 200));
}

TEST(ImageDecodeTest, ShrinkingIsAntialiased) {
  // A bright column in every 4: point-sampled bilinear would see only the dark ones.
  std::vector<std::uint8_t> stripes(16, 0);
  for (int x = 0; x < 16; x += 4) stripes[x] = 255;
  const auto out = resized(grey(16, 1, stripes), {1, 1, 4}, ImageResize::stretch);
  for (std::size_t i = 1; i < 4; ++i) {
    EXPECT_GT(out[i], 40) << i;
    EXPECT_LT(out[i], 90) << i;
  }
  // A flat image stays flat.
  const auto flat = resized(grey(9, 5, std::vector<std::uint8_t>(45, 77)), {1, 2, 3}, ImageResize::stretch);
  EXPECT_THAT(flat, ElementsAre(77, 77, 77, 77, 77, 77));
}

TEST(ImageDecodeTest, ShorterSideKeepsTheAspectAndCropsTheCentre) {
  // 6x2: columns 0 0 100 100 200 200. To 2x2, shorter-side keeps the middle; stretch mixes all.
  const DecodedImage wide = grey(6, 2, {0, 0, 100, 100, 200, 200, 0, 0, 100, 100, 200, 200});
  EXPECT_THAT(resized(wide, {1, 2, 2}, ImageResize::shorter_side), ElementsAre(100, 100, 100, 100));
  const auto stretched = resized(wide, {1, 2, 2}, ImageResize::stretch);
  EXPECT_LT(stretched[0], 60);
  EXPECT_GT(stretched[1], 140);
  // A tall image is cropped top and bottom: 1x4 rows 10 50 60 90 to 1x2 (scale 1) keeps 50 60.
  EXPECT_THAT(resized(grey(1, 4, {10, 50, 60, 90}), {1, 2, 1}, ImageResize::shorter_side),
              ElementsAre(50, 60));
}

}  // namespace
}  // namespace joules
