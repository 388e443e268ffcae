#include "nabla/data/image_file.h"

#include <png.h>

#include <cstring>
#include <fstream>
#include <sstream>
#include <vector>

#include "nabla/core/checked.h"
#include "nabla/core/creation.h"
#include "nabla/core/error.h"
#include "nabla/data/input_file.h"

namespace nabla::data {

namespace {

// Images nabla classifies are small: a file or a pixel count past these is not one of them.
constexpr uint64_t kMaxImageFileBytes = uint64_t(1) << 30;
constexpr int64_t kMaxPixels = int64_t(1) << 28;

// Next header token of a PGM file, skipping whitespace and # comments.
int64_t pgm_number(std::istream& in, const std::string& path) {
  int c;
  while ((c = in.peek()) != EOF && (std::isspace(c) || c == '#')) {
    if (c == '#')
      while ((c = in.get()) != EOF && c != '\n') {
      }
    else
      in.get();
  }
  int64_t value = -1;
  NABLA_CHECK(in >> value && value >= 0, path, ": malformed PGM header");
  return value;
}

Tensor read_pgm(const std::string& path, std::istream& in, bool binary) {
  const int64_t width = pgm_number(in, path), height = pgm_number(in, path), maxval = pgm_number(in, path);
  NABLA_CHECK(width > 0 && height > 0, path, ": bad PGM size ", width, "x", height);
  checked_mul(width, height, path + ": PGM width x height", kMaxPixels);
  NABLA_CHECK(maxval > 0 && maxval < 65536, path, ": PGM maxval must be in 1..65535, got ", maxval);
  std::vector<float> pixels(size_t(width * height));
  if (binary) {
    in.get();  // the single whitespace after maxval
    const int bytes = maxval < 256 ? 1 : 2;
    std::vector<unsigned char> raw(pixels.size() * bytes);
    in.read(reinterpret_cast<char*>(raw.data()), std::streamsize(raw.size()));
    NABLA_CHECK(in.gcount() == std::streamsize(raw.size()), path, ": truncated PGM (", in.gcount(), " of ", raw.size(),
                " pixel bytes)");
    for (size_t i = 0; i < pixels.size(); ++i)
      pixels[i] = float(bytes == 1 ? raw[i] : raw[2 * i] * 256 + raw[2 * i + 1]) / float(maxval);
  } else {
    for (float& p : pixels) {
      int64_t v = -1;
      NABLA_CHECK(in >> v && v >= 0 && v <= maxval, path, ": truncated or out-of-range ASCII PGM pixel");
      p = float(v) / float(maxval);
    }
  }
  return tensor(pixels, {1, height, width});
}

Tensor read_png(const std::string& path) {
  png_image image;
  std::memset(&image, 0, sizeof image);
  image.version = PNG_IMAGE_VERSION;
  NABLA_CHECK(png_image_begin_read_from_file(&image, path.c_str()), path, ": not a readable PNG (", image.message, ")");
  image.format = PNG_FORMAT_GRAY;
  // PNG_IMAGE_SIZE multiplies in 32 bits: check the size before it can wrap.
  const int64_t pixels_in_header = [&] {
    try {
      return checked_mul(int64_t(image.width), int64_t(image.height), path + ": PNG width x height", kMaxPixels);
    } catch (...) {
      png_image_free(&image);
      throw;
    }
  }();
  std::vector<unsigned char> buffer(size_t(pixels_in_header) * PNG_IMAGE_PIXEL_SIZE(image.format));
  const bool ok = png_image_finish_read(&image, nullptr, buffer.data(), 0, nullptr);
  const std::string message = image.message;
  png_image_free(&image);
  NABLA_CHECK(ok, path, ": corrupt PNG (", message, ")");
  std::vector<float> pixels(buffer.size());
  for (size_t i = 0; i < buffer.size(); ++i) pixels[i] = float(buffer[i]) / 255.0f;
  return tensor(pixels, {1, int64_t(image.height), int64_t(image.width)});
}

}  // namespace

Tensor read_grayscale_image(const std::string& path) {
  data::check_input_file(path, "image", kMaxImageFileBytes);
  std::ifstream in(path, std::ios::binary);
  NABLA_CHECK(in.good(), "cannot open image ", path);
  char magic[8] = {};
  in.read(magic, 8);
  if (in.gcount() == 8 && std::memcmp(magic, "\x89PNG\r\n\x1a\n", 8) == 0) return read_png(path);
  NABLA_CHECK(in.gcount() >= 2 && magic[0] == 'P' && (magic[1] == '5' || magic[1] == '2'), path,
              ": unknown image format; use PNG or PGM (P5/P2)");
  in.clear();
  in.seekg(2);
  return read_pgm(path, in, magic[1] == '5');
}

}  // namespace nabla::data
