// Cross-entropy and negative log-likelihood over rows of class scores: a packed [rows, classes]
// matrix against class indices (one per row; ignore_index rows count nothing) or probability
// rows, with label smoothing, as torch.nn.functional.cross_entropy and nll_loss define them.
#pragma once
#include <cstdint>

namespace nabla::kernels {

struct ClassRows {
  const float* x;  // [rows, classes]: logits (cross-entropy) or log-probabilities (nll)
  int64_t rows, classes;
  const int64_t* targets;      // class indices, or null for probability targets
  const float* probabilities;  // [rows, classes] target distributions when targets is null
  int64_t ignore_index = -100;
  float label_smoothing = 0;
};

struct RowLosses {
  int64_t counted = 0;  // rows that count (not ignored)
  float total = 0;      // the sum of per_row, in row order
};

// per_row[r] = the loss of row r and lse[r] its log-sum-exp (kept for backward).
RowLosses cross_entropy_forward(const ClassRows& in, float* lse, float* per_row);
// dx[r, c] = d loss / d x[r, c] times upstream[r] (each_row) or upstream[0], times scale. dx may be
// in.x itself: each element is read before it is overwritten.
void cross_entropy_backward(const ClassRows& in, const float* lse, const float* upstream, bool each_row, float scale,
                            float* dx);

// per_row[r] = -x[r, target[r]] (0 for ignored rows).
RowLosses nll_forward(const ClassRows& in, float* per_row);
// dx (zeroed by the caller) gets -upstream * scale at each row's target.
void nll_backward(const ClassRows& in, const float* upstream, bool each_row, float scale, float* dx);

}  // namespace nabla::kernels
