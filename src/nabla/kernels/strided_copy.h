// Copies of a matrix whose rows lie far apart (one head's slice of a [B, T, 3E] projection, a row
// per page) into a contiguous buffer, as rows or transposed. Across pages the hardware prefetcher
// stops, so both fetch rows ahead of use; the transpose works in register blocks (16 x 16 with
// AVX-512, 8 x 8 with AVX2). The attention kernel packs each head's operands this way: an
// element-at-a-time transpose took longer than the tile products it fed.
#pragma once
#include <cstdint>

namespace nabla::kernels {

// Asks for the cache lines of one row of cols floats (into L1), ahead of reading it.
void prefetch_row(const float* row, int64_t cols);

// out[r * ldo + c] = x[r * ld + c] for r < rows, c < cols.
void copy_rows(const float* x, int64_t ld, int64_t rows, int64_t cols, float* out, int64_t ldo);

// out[c * ldo + r] = x[r * ld + c] for r < rows, c < cols.
void transpose(const float* x, int64_t ld, int64_t rows, int64_t cols, float* out, int64_t ldo);

}  // namespace nabla::kernels
