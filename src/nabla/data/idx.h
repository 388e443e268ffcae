// The IDX format of (Fashion-)MNIST, gzip-compressed or plain: a magic number giving the
// element type and rank, big-endian dimension sizes, then the raw data.
#pragma once
#include <string>

#include "nabla/core/tensor.h"

namespace nabla::data {

// Reads an unsigned-byte IDX file (plain or gzip) into a u8 tensor of its stored shape. Missing,
// truncated or corrupt files are errors naming the file.
Tensor read_idx(const std::string& path);

struct FashionMnist {
  Tensor images;  // f32 [N, 1, 28, 28], scaled to [0, 1]
  Tensor labels;  // i64 [N], 0-9
};

// The first of $NABLA_FASHION_MNIST_DIR, default_data_dir()/fashion-mnist, Debian's
// /usr/share/datasets/fashion-mnist (package dataset-fashion-mnist) and /usr/local/share/datasets/
// fashion-mnist that holds the files (gzip-compressed or plain); the Debian path when none does.
std::string default_fashion_mnist_dir();
// split: "train" (60,000) or "test" (10,000). limit > 0 keeps the first `limit` examples. An empty
// dir means default_fashion_mnist_dir().
FashionMnist load_fashion_mnist(const std::string& split, const std::string& dir = default_fashion_mnist_dir(),
                                int64_t limit = 0);

extern const char* const kFashionMnistClasses[10];

}  // namespace nabla::data
