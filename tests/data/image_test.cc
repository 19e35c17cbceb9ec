// Image decoding on files written here with libpng's and libjpeg's own writers (every PNG
// colour type, 16-bit, palette, interlaced; grey, RGB and CMYK JPEG; PGM), transforms
// checked against hand-computed values, and image folders.
#include "onyx/data/image.h"
#include "../temp_dir.h"

#include <gtest/gtest.h>

#include <png.h>
#include <unistd.h>
#include <sstream>

// jpeglib.h needs FILE declared before it.
#include <cstdio>

#include <jpeglib.h>

#include <filesystem>
#include <string>
#include <vector>

#include "onyx/core/file_util.h"
#include "onyx/data/sources.h"

namespace onyx {
namespace {

namespace fs = std::filesystem;

// libpng errors longjmp back here, so this function owns nothing with a destructor.
bool write_png(const char* path, int w, int h, int colour, int depth, const uint8_t* data,
               bool interlace = false, const png_color* palette = nullptr, int colours = 0,
               const png_byte* trans = nullptr, int ntrans = 0) {
  png_bytep rows[64];
  FILE* f = h <= 64 ? std::fopen(path, "wb") : nullptr;
  if (!f) return false;
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
  png_infop info = png_create_info_struct(png);
  if (setjmp(png_jmpbuf(png))) {
    png_destroy_write_struct(&png, &info);
    std::fclose(f);
    return false;
  }
  png_init_io(png, f);
  png_set_IHDR(png, info, w, h, depth, colour, interlace ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE,
               PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  if (palette) png_set_PLTE(png, info, palette, colours);
  if (trans) png_set_tRNS(png, info, trans, ntrans, nullptr);
  png_write_info(png, info);
  for (int y = 0; y < h; ++y) {
    rows[y] = const_cast<uint8_t*>(data) + y * png_get_rowbytes(png, info);
  }
  png_write_image(png, rows);
  png_write_end(png, nullptr);
  png_destroy_write_struct(&png, &info);
  return std::fclose(f) == 0;
}

// Quality 100 without chroma subsampling: solid 8x8 blocks come back within rounding.
// libjpeg's default error handler exits, which a test helper can live with.
void write_jpeg(const char* path, int w, int h, int components, J_COLOR_SPACE space,
                const uint8_t* data) {
  jpeg_compress_struct c;
  jpeg_error_mgr err;
  c.err = jpeg_std_error(&err);
  jpeg_create_compress(&c);
  FILE* f = std::fopen(path, "wb");
  jpeg_stdio_dest(&c, f);
  c.image_width = w, c.image_height = h, c.input_components = components, c.in_color_space = space;
  jpeg_set_defaults(&c);
  jpeg_set_quality(&c, 100, TRUE);
  for (int i = 0; i < c.num_components; ++i) {
    c.comp_info[i].h_samp_factor = c.comp_info[i].v_samp_factor = 1;
  }
  jpeg_start_compress(&c, TRUE);
  while (c.next_scanline < c.image_height) {
    JSAMPROW row = const_cast<uint8_t*>(data) + c.next_scanline * w * components;
    jpeg_write_scanlines(&c, &row, 1);
  }
  jpeg_finish_compress(&c);
  jpeg_destroy_compress(&c);
  std::fclose(f);
}

// "[H,W,C] v v v ...": the shape and the pixels of a decoded file.
std::string decoded(const std::string& path) {
  Tensor t = data::decode_image(path);
  std::ostringstream out;
  out << shape_str(t.shape());
  for (int64_t i = 0; i < t.numel(); ++i) out << " " << int{t.data<uint8_t>()[i]};
  return out.str();
}

#define EXPECT_ERROR(call, error_kind, text)                                    \
  try {                                                                         \
    call;                                                                       \
    ADD_FAILURE() << "no error from " #call;                                    \
  } catch (const Error& e) {                                                    \
    EXPECT_EQ(e.kind(), ErrorKind::error_kind) << e.what();                     \
    EXPECT_NE(std::string(e.what()).find(text), std::string::npos) << e.what(); \
  }

class Image : public testing::TempDirTest {
 protected:
  // An 8-bit RGB PNG of one colour, or a grey one when `rgb` is false.
  std::string solid_png(const std::string& name, int w, int h, uint8_t v, bool rgb = true) {
    std::vector<uint8_t> px(static_cast<size_t>(w * h * (rgb ? 3 : 1)), v);
    std::string p = path(name);
    EXPECT_TRUE(
        write_png(p.c_str(), w, h, rgb ? PNG_COLOR_TYPE_RGB : PNG_COLOR_TYPE_GRAY, 8, px.data()));
    return p;
  }
};

TEST_F(Image, PngColourTypesGiveTheStoredSamples) {
  std::vector<uint8_t> rgb(18);
  std::string want = "[2,3,3]";  // [H, W, C], channels R, G, B
  for (int i = 0; i < 18; ++i) rgb[i] = static_cast<uint8_t>(10 * i + 5);
  for (int i = 0; i < 18; ++i) (want += " ") += std::to_string(rgb[i]);
  std::string p = path("a.png");
  ASSERT_TRUE(write_png(p.c_str(), 3, 2, PNG_COLOR_TYPE_RGB, 8, rgb.data()));
  EXPECT_EQ(decoded(p), want);
  ASSERT_TRUE(write_png(p.c_str(), 3, 2, PNG_COLOR_TYPE_RGB, 8, rgb.data(), true));
  EXPECT_EQ(decoded(p), want) << "Adam7 interlaced";

  uint8_t grey[] = {0, 50, 200, 255}, grey_alpha[] = {7, 255, 9, 0}, bits[] = {0xA0};
  ASSERT_TRUE(write_png(p.c_str(), 2, 2, PNG_COLOR_TYPE_GRAY, 8, grey));
  EXPECT_EQ(decoded(p), "[2,2,1] 0 50 200 255");
  ASSERT_TRUE(write_png(p.c_str(), 2, 1, PNG_COLOR_TYPE_GRAY_ALPHA, 8, grey_alpha));
  EXPECT_EQ(decoded(p), "[1,2,1] 7 9") << "alpha dropped";
  ASSERT_TRUE(write_png(p.c_str(), 3, 1, PNG_COLOR_TYPE_GRAY, 1, bits));
  EXPECT_EQ(decoded(p), "[1,3,1] 255 0 255") << "1-bit grey";
  uint8_t rgba[] = {1, 2, 3, 0, 4, 5, 6, 128};
  ASSERT_TRUE(write_png(p.c_str(), 2, 1, PNG_COLOR_TYPE_RGBA, 8, rgba));
  EXPECT_EQ(decoded(p), "[1,2,3] 1 2 3 4 5 6") << "alpha dropped";
  uint8_t deep[] = {0x12, 0x34, 0xAB, 0xCD, 0xFF, 0x00};  // big-endian 16-bit R, G, B
  ASSERT_TRUE(write_png(p.c_str(), 1, 1, PNG_COLOR_TYPE_RGB, 16, deep));
  EXPECT_EQ(decoded(p), "[1,1,3] 18 171 255") << "the high bytes";

  // 2-bit palette indices 0 1 2 / 3 2 1, with tRNS transparency (dropped).
  png_color palette[] = {{255, 0, 0}, {0, 255, 0}, {0, 0, 255}, {9, 8, 7}};
  uint8_t indices[] = {0x18, 0xE4}, trans[] = {0, 128};
  ASSERT_TRUE(
      write_png(p.c_str(), 3, 2, PNG_COLOR_TYPE_PALETTE, 2, indices, false, palette, 4, trans, 2));
  EXPECT_EQ(decoded(p), "[2,3,3] 255 0 0 0 255 0 0 0 255 9 8 7 0 0 255 0 255 0");
}

TEST_F(Image, JpegGreyRgbAndCmyk) {
  std::vector<uint8_t> grey(16 * 16, 100), rgb(16 * 16 * 3);
  const int colours[4][3] = {{200, 30, 40}, {20, 220, 60}, {10, 40, 250}, {128, 128, 128}};
  for (int i = 0; i < 768; ++i) {
    int y = i / 48, x = i / 3 % 16;  // four 8x8 blocks of solid colour
    rgb[i] = static_cast<uint8_t>(colours[y / 8 * 2 + x / 8][i % 3]);
  }
  std::string g = path("grey.jpg"), p = path("rgb.jpeg");
  write_jpeg(g.c_str(), 16, 16, 1, JCS_GRAYSCALE, grey.data());
  write_jpeg(p.c_str(), 16, 16, 3, JCS_RGB, rgb.data());
  Tensor tg = data::decode_image(g), tp = data::decode_image(p);
  ASSERT_EQ(tg.shape(), (Shape{16, 16, 1}));
  ASSERT_EQ(tp.shape(), (Shape{16, 16, 3}));
  // Quality 100 on block-aligned solid colours loses only colour-conversion rounding.
  for (int i = 0; i < 256; ++i) EXPECT_NEAR(tg.data<uint8_t>()[i], 100, 3);
  for (int i = 0; i < 768; ++i) EXPECT_NEAR(tp.data<uint8_t>()[i], rgb[i], 3) << i;
  std::vector<uint8_t> cmyk(8 * 8 * 4, 60);
  write_jpeg(p.c_str(), 8, 8, 4, JCS_CMYK, cmyk.data());
  EXPECT_ERROR(data::decode_image(p), Unsupported, "CMYK");
}

TEST_F(Image, PgmAsciiAndBinary) {
  write_file_atomic(path("a.pgm"), "P2\n# comment\n2 1\n15\n0 15\n");
  EXPECT_EQ(decoded(path("a.pgm")), "[1,2,1] 0 255") << "stretched from maxval 15";
  write_file_atomic(path("b.pgm"), std::string("P5 2 1 255\n") + "\x03\xfa");
  EXPECT_EQ(decoded(path("b.pgm")), "[1,2,1] 3 250");
  // A sample over maxval would scale past 255: refused, naming the file.
  write_file_atomic(path("c.pgm"), "P2 2 1 15\n0 16\n");
  EXPECT_ERROR(data::decode_image(path("c.pgm")), InvalidArgument,
               "c.pgm: PNM sample 16 over maxval 15");
  write_file_atomic(path("d.pgm"), std::string("P5 2 1 200\n") + "\x03\xfa");
  EXPECT_ERROR(data::decode_image(path("d.pgm")), InvalidArgument, "sample 250 over maxval 200");
}

TEST_F(Image, BadFilesSayWhichAndWhy) {
  std::string good = solid_png("good.png", 8, 8, 77), bytes = read_file(good);
  write_file_atomic(path("cut.png"), bytes.substr(0, bytes.size() / 2));
  EXPECT_ERROR(data::decode_image(path("cut.png")), InvalidArgument, "cut.png: corrupt PNG");
  std::vector<uint8_t> grey(64, 9);
  write_jpeg(path("j.jpg").c_str(), 8, 8, 1, JCS_GRAYSCALE, grey.data());
  bytes = read_file(path("j.jpg"));
  write_file_atomic(path("cut.jpg"), bytes.substr(0, bytes.size() * 2 / 3));
  EXPECT_ERROR(data::decode_image(path("cut.jpg")), InvalidArgument, "cut.jpg: corrupt JPEG");
  write_file_atomic(path("junk.jpg"), "\xff\xd8\xff not really a JPEG");
  EXPECT_ERROR(data::decode_image(path("junk.jpg")), InvalidArgument, "junk.jpg: corrupt JPEG");
  write_file_atomic(path("notes.png"), "just text");
  EXPECT_ERROR(data::decode_image(path("notes.png")), InvalidArgument,
               "not a PNG, JPEG, PNM, WebP or JPEG 2000 image");
  EXPECT_ERROR(data::decode_image(path("missing.png")), Io, "missing.png");
  solid_png("wide.png", 20000, 1, 0, false);
  EXPECT_ERROR(data::decode_image(path("wide.png")), ResourceLimit, "20000x1");
}

Tensor pixels(Shape shape, std::vector<uint8_t> v) {
  return Tensor::from_vector<uint8_t>(std::move(shape), v);
}
// Not designated initialisers: GCC's -Wextra would flag the vectors left out.
data::ImageTransform tf(int64_t channels, int64_t height = 0, int64_t width = 0,
                        std::vector<float> mean = {}, std::vector<float> std = {}) {
  data::ImageTransform t;
  t.channels = channels, t.height = height, t.width = width, t.mean = mean, t.std = std;
  return t;
}

TEST(ImageTransform, ChannelsScaleAndNormalise) {
  Tensor rgb = pixels({1, 1, 3}, {30, 60, 120});
  Tensor t = data::transform_image(rgb, {}, "x");
  EXPECT_EQ(t.shape(), (Shape{3, 1, 1}));
  EXPECT_EQ(t.to_vector<float>(), (std::vector<float>{30 / 255.f, 60 / 255.f, 120 / 255.f}));
  EXPECT_FLOAT_EQ(data::transform_image(rgb, tf(1), "x").data<float>()[0], 70 / 255.f);
  EXPECT_EQ(data::transform_image(pixels({1, 1, 1}, {51}), {}, "x").to_vector<float>(),
            std::vector<float>(3, 51 / 255.f));
  Tensor n =
      data::transform_image(pixels({1, 1, 3}, {255, 0, 51}), tf(3, 0, 0, {0.5f}, {0.25f}), "x");
  EXPECT_EQ(n.to_vector<float>(), (std::vector<float>{2, -2, (51 / 255.f - 0.5f) / 0.25f}));
  n = data::transform_image(rgb, tf(3, 0, 0, {0.1f, 0.2f, 0.3f}, {0.5f, 2, 4}), "x");
  EXPECT_FLOAT_EQ(n.data<float>()[2], (120 / 255.f - 0.3f) / 4);
  EXPECT_ERROR(data::transform_image(rgb, tf(3, 0, 0, {0.5f, 0.5f}), "pic.png"), InvalidArgument,
               "pic.png: normalisation mean has 2 values for 3 channels");
  EXPECT_ERROR(data::transform_image(rgb, tf(3, 0, 0, {}, {0}), "x"), InvalidArgument, "std of 0");
}

TEST(ImageTransform, BilinearWithHalfPixelCentres) {
  // 2 -> 4 samples each axis at 0, 0.25, 0.75, 1 between the two inputs (the outer ones
  // clamped): torch's F.interpolate(mode='bilinear', align_corners=False).
  Tensor up = data::transform_image(pixels({2, 2, 1}, {0, 60, 120, 240}), tf(1, 4, 4), "x");
  ASSERT_EQ(up.shape(), (Shape{1, 4, 4}));
  std::vector<float> want = {0,  15,     45,     60,  30,  48.75, 86.25, 105,
                             90, 116.25, 168.75, 195, 120, 150,   210,   240};
  for (int i = 0; i < 16; ++i) EXPECT_FLOAT_EQ(up.data<float>()[i], want[i] / 255) << i;
  // 4 -> 2 reads only the middle of each pair (0.5 and 2.5): no antialiasing.
  Tensor down = data::transform_image(pixels({1, 4, 1}, {0, 40, 80, 200}), tf(1, 0, 2), "x");
  ASSERT_EQ(down.shape(), (Shape{1, 1, 2}));
  EXPECT_FLOAT_EQ(down.data<float>()[0], 20 / 255.f);
  EXPECT_FLOAT_EQ(down.data<float>()[1], 140 / 255.f);
}

TEST_F(Image, FolderOfClasses) {
  solid_png("root/cat/b.png", 2, 2, 20);
  solid_png("root/cat/A.PNG", 2, 2, 10);  // byte order: upper case first
  solid_png("root/ant/x.png", 2, 2, 30, false);
  std::vector<uint8_t> px(2 * 2 * 3, 40);
  write_jpeg(path("root/dog/y.JPG").c_str(), 2, 2, 3, JCS_RGB, px.data());
  write_file_atomic(path("root/ant/notes.txt"), "not an image");
  data::ImageFolder f = data::load_image_folder(path("root"), {});
  EXPECT_EQ(f.classes, (std::vector<std::string>{"ant", "cat", "dog"}));
  const Tensor& images = f.data.at("images");
  ASSERT_EQ(images.shape(), (Shape{4, 3, 2, 2}));
  EXPECT_EQ(f.data.at("labels").to_vector<int64_t>(), (std::vector<int64_t>{0, 1, 1, 2}));
  const int firsts[] = {30, 10, 20};  // ant/x.png (grey, repeated), cat/A.PNG, cat/b.png
  for (int i = 0; i < 3; ++i) EXPECT_EQ(images.data<float>()[i * 12], firsts[i] / 255.f);
  EXPECT_NEAR(images.data<float>()[3 * 12], 40 / 255.f, 3 / 255.f);

  solid_png("root/cat/big.png", 3, 3, 50);
  EXPECT_ERROR(data::load_image_folder(path("root"), {}), InvalidArgument,
               "big.png: image is [3,3,3] (C, H, W) but");
  data::ImageFolderOptions resize;
  resize.transform = tf(1, 5, 4);
  EXPECT_EQ(data::load_image_folder(path("root"), resize).data.at("images").shape(),
            (Shape{5, 1, 5, 4}));
  fs::create_directories(dir_ / "root" / "emu");
  EXPECT_ERROR(data::load_image_folder(path("root"), {}), InvalidArgument,
               "no .png, .jpg or .jpeg files in class folder(s) 'emu'");
  EXPECT_ERROR(data::load_image_folder(path("nowhere"), {}), Io, "nowhere: not a directory");
}

}  // namespace
}  // namespace onyx
