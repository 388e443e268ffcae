#include "nabla/kernels/cross_entropy.h"

#include <cmath>
#include <vector>

#include "nabla/kernels/softmax.h"

namespace nabla::kernels {

namespace {

RowLosses summed(const float* per_row, int64_t rows, int64_t counted) {
  RowLosses out{counted, 0.0f};
  for (int64_t r = 0; r < rows; ++r) out.total += per_row[r];
  return out;
}

// Row r's loss into per_row[r] and its log-sum-exp into lse[r]; 1 if the row counts, 0 if ignored.
int64_t row_loss(const ClassRows& in, int64_t r, float* scratch, float* lse, float* per_row) {
  const int64_t classes = in.classes;
  const float eps = in.label_smoothing;
  const float* row = in.x + r * classes;
  const float m = row_max(row, classes);
  lse[r] = m + std::log(row_exp_sum(row, scratch, classes, m));
  if (!in.targets) {
    const float* y = in.probabilities + r * classes;
    float loss = 0;
    for (int64_t c = 0; c < classes; ++c) loss -= ((1 - eps) * y[c] + eps / classes) * (row[c] - lse[r]);
    per_row[r] = loss;
    return 1;
  }
  const int64_t t = in.targets[r];
  if (t == in.ignore_index) {
    per_row[r] = 0;
    return 0;
  }
  float smooth = 0;
  if (eps > 0) {
    for (int64_t c = 0; c < classes; ++c) smooth += lse[r] - row[c];
    smooth /= float(classes);
  }
  per_row[r] = (1 - eps) * (lse[r] - row[t]) + eps * smooth;
  return 1;
}

}  // namespace

RowLosses cross_entropy_forward(const ClassRows& in, float* lse, float* per_row) {
  const int64_t classes = in.classes;
  int64_t counted = 0;
#pragma omp parallel if (in.rows * classes > (1 << 15)) reduction(+ : counted)
  {
    std::vector<float> scratch(static_cast<size_t>(classes));
#pragma omp for schedule(static)
    for (int64_t r = 0; r < in.rows; ++r) counted += row_loss(in, r, scratch.data(), lse, per_row);
  }
  return summed(per_row, in.rows, counted);
}

void cross_entropy_backward(const ClassRows& in, const float* lse, const float* upstream, bool each_row, float scale,
                            float* dx) {
  const int64_t rows = in.rows, classes = in.classes;
  const float eps = in.label_smoothing;
#pragma omp parallel for if (rows * classes > (1 << 15)) schedule(static)
  for (int64_t r = 0; r < rows; ++r) {
    const float g = (each_row ? upstream[r] : upstream[0]) * scale;
    const float* row = in.x + r * classes;
    float* drow = dx + r * classes;
    if (!in.targets) {
      const float* y = in.probabilities + r * classes;
      float mass = 0;
      for (int64_t c = 0; c < classes; ++c) mass += (1 - eps) * y[c] + eps / classes;
      for (int64_t c = 0; c < classes; ++c)
        drow[c] = g * (std::exp(row[c] - lse[r]) * mass - ((1 - eps) * y[c] + eps / classes));
      continue;
    }
    const int64_t t = in.targets[r];
    if (t == in.ignore_index) {
      for (int64_t c = 0; c < classes; ++c) drow[c] = 0;
      continue;
    }
    for (int64_t c = 0; c < classes; ++c) drow[c] = g * (std::exp(row[c] - lse[r]) - eps / classes);
    drow[t] -= g * (1 - eps);
  }
}

RowLosses nll_forward(const ClassRows& in, float* per_row) {
  int64_t counted = 0;
  for (int64_t r = 0; r < in.rows; ++r) {
    const bool ignored = in.targets[r] == in.ignore_index;
    per_row[r] = ignored ? 0.0f : -in.x[r * in.classes + in.targets[r]];
    counted += !ignored;
  }
  return summed(per_row, in.rows, counted);
}

void nll_backward(const ClassRows& in, const float* upstream, bool each_row, float scale, float* dx) {
  for (int64_t r = 0; r < in.rows; ++r)
    if (in.targets[r] != in.ignore_index)
      dx[r * in.classes + in.targets[r]] = -(each_row ? upstream[r] : upstream[0]) * scale;
}

}  // namespace nabla::kernels
