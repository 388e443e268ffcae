#include "nabla/data/idx.h"

#include <zlib.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <vector>

#include "nabla/core/checked.h"
#include "nabla/core/creation.h"
#include "nabla/data/input_file.h"
#include "nabla/data/text_corpus.h"

namespace nabla::data {
namespace {

constexpr int64_t kMaxElements = int64_t(1) << 32;

// gzread reads plain files too, so one path serves both.
struct GzFile {
  gzFile handle;
  explicit GzFile(const std::string& path) : handle(gzopen(path.c_str(), "rb")) {}
  ~GzFile() {
    if (handle) gzclose(handle);
  }
};

void read_exact(GzFile& f, void* out, size_t bytes, const std::string& path, const char* what) {
  size_t done = 0;
  while (done < bytes) {
    unsigned chunk = unsigned(std::min<size_t>(bytes - done, 1u << 30));
    int n = gzread(f.handle, static_cast<char*>(out) + done, chunk);
    if (n <= 0) {
      int err = 0;
      const char* msg = gzerror(f.handle, &err);
      fail(path, ": truncated or corrupt IDX file while reading the ", what, " (got ", done, " of ", bytes, " bytes",
           err < 0 ? std::string("; zlib: ") + msg : std::string(), ")");
    }
    done += size_t(n);
  }
}

}  // namespace

const char* const kFashionMnistClasses[10] = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                              "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};

Tensor read_idx(const std::string& path) {
  data::check_input_file(path, "IDX file", uint64_t(16) << 30);
  GzFile f(path);
  if (!f.handle) fail("cannot open IDX file ", path);
  unsigned char magic[4];
  read_exact(f, magic, 4, path, "magic number");
  if (magic[0] != 0 || magic[1] != 0)
    fail(path, ": not an IDX file (magic bytes ", int(magic[0]), " ", int(magic[1]), ", expected 0 0)");
  if (magic[2] != 0x08)
    fail(path, ": IDX element type 0x", std::hex, int(magic[2]), " is not supported (only unsigned bytes, 0x08)");
  const int rank = magic[3];
  if (rank < 1 || rank > Shape::kMaxDims) fail(path, ": IDX rank ", rank, " is not between 1 and ", Shape::kMaxDims);
  Shape shape;
  int64_t numel = 1, nonzero = 1;  // the product of the non-zero sizes bounds every stride
  for (int i = 0; i < rank; ++i) {
    unsigned char b[4];
    read_exact(f, b, 4, path, "dimension sizes");
    int64_t d = (int64_t(b[0]) << 24) | (int64_t(b[1]) << 16) | (int64_t(b[2]) << 8) | b[3];
    if (d != 0) nonzero = checked_mul(nonzero, d, path + ": IDX dimensions are implausibly large", kMaxElements);
    numel *= d;
    shape.push_back(d);
  }
  // Read in chunks into a growing buffer: a lying header cannot force a huge allocation up front.
  std::vector<unsigned char> bytes;
  const size_t chunk = 1 << 20;
  while (int64_t(bytes.size()) < numel) {
    size_t want = std::min<size_t>(chunk, size_t(numel) - bytes.size());
    size_t at = bytes.size();
    bytes.resize(at + want);
    read_exact(f, bytes.data() + at, want, path, "data");
  }
  char extra;
  const int more = gzread(f.handle, &extra, 1);
  if (more > 0) fail(path, ": IDX file has data beyond its declared shape ", shape);
  if (more < 0) {
    // The data all arrived but the gzip stream itself is damaged (a bad checksum or trailer).
    int err = 0;
    const char* msg = gzerror(f.handle, &err);
    fail(path, ": corrupt gzip stream after the IDX data (zlib: ", msg, ")");
  }
  return from_blob(bytes.data(), shape, DType::u8);
}

std::string default_fashion_mnist_dir() {
  // The first directory holding the training images wins; the Debian path is also what the
  // "not found" error names when none does.
  const char* const kDebianDir = "/usr/share/datasets/fashion-mnist";
  std::vector<std::string> candidates;
  if (const char* dir = std::getenv("NABLA_FASHION_MNIST_DIR"); dir && *dir) candidates.push_back(dir);
  candidates.push_back(default_data_dir() + "/fashion-mnist");
  candidates.push_back(kDebianDir);
  candidates.push_back("/usr/local/share/datasets/fashion-mnist");
  for (const std::string& dir : candidates) {
    std::error_code ec;
    for (const char* name : {"/train-images-idx3-ubyte.gz", "/train-images-idx3-ubyte"})
      if (std::filesystem::exists(dir + name, ec)) return dir;
  }
  return kDebianDir;
}

FashionMnist load_fashion_mnist(const std::string& split, const std::string& dir_or_empty, int64_t limit) {
  const std::string dir = dir_or_empty.empty() ? default_fashion_mnist_dir() : dir_or_empty;
  NABLA_CHECK(split == "train" || split == "test", "load_fashion_mnist: split must be \"train\" or \"test\", got \"",
              split, "\"");
  const std::string prefix = split == "train" ? "train" : "t10k";
  auto find = [&](const std::string& stem) {
    for (const char* suffix : {".gz", ""}) {
      std::string p = dir + "/" + prefix + stem + suffix;
      if (std::filesystem::exists(p)) return p;
    }
    fail("Fashion-MNIST file ", prefix, stem, "(.gz) not found in ", dir,
         "; install the Debian package dataset-fashion-mnist (sudo apt-get install dataset-fashion-mnist, or "
         "`make setup`), or pass a directory holding the IDX files (--data DIR)");
  };
  Tensor images = read_idx(find("-images-idx3-ubyte"));
  const std::string labels_path = find("-labels-idx1-ubyte");
  Tensor labels = read_idx(labels_path);
  NABLA_CHECK(images.dim() == 3 && images.shape()[1] == 28 && images.shape()[2] == 28, dir, ": images have shape ",
              images.shape(), ", expected [N, 28, 28]");
  NABLA_CHECK(labels.dim() == 1 && labels.shape()[0] == images.shape()[0], dir, ": ", labels.numel(), " labels for ",
              images.shape()[0], " images");
  int64_t n = images.shape()[0];
  if (limit > 0 && limit < n) n = limit;
  FashionMnist out;
  out.images = Tensor::empty({n, 1, 28, 28});
  const uint8_t* src = images.data<uint8_t>();
  float* dst = out.images.data<float>();
  for (int64_t i = 0; i < n * 784; ++i) dst[i] = float(src[i]) / 255.0f;
  out.labels = labels.slice(0, 0, n).to(DType::i64).contiguous();
  const int64_t* lv = out.labels.data<int64_t>();
  for (int64_t i = 0; i < n; ++i)
    NABLA_CHECK(lv[i] >= 0 && lv[i] < 10, labels_path, ": label ", lv[i], " of example ", i,
                " is not one of the 10 Fashion-MNIST classes (0-9)");
  return out;
}

}  // namespace nabla::data
