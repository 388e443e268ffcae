// Shape: a small inline list of dimension sizes (or strides). No heap, so views are cheap.
#pragma once
#include <cstdint>
#include <initializer_list>
#include <ostream>
#include <vector>

#include "nabla/core/error.h"

namespace nabla {

class Shape {
 public:
  static constexpr int kMaxDims = 8;

  Shape() = default;
  Shape(std::initializer_list<int64_t> dims) { assign(dims.begin(), dims.end()); }
  Shape(const std::vector<int64_t>& dims) { assign(dims.begin(), dims.end()); }
  template <typename It>
  Shape(It first, It last) {
    assign(first, last);
  }

  int size() const { return rank_; }
  bool empty() const { return rank_ == 0; }
  int64_t operator[](int i) const { return dims_[i]; }
  int64_t& operator[](int i) { return dims_[i]; }
  const int64_t* begin() const { return dims_; }
  const int64_t* end() const { return dims_ + rank_; }
  int64_t* begin() { return dims_; }
  int64_t* end() { return dims_ + rank_; }
  int64_t back() const { return dims_[rank_ - 1]; }

  void push_back(int64_t d) {
    NABLA_CHECK(rank_ < kMaxDims, "tensors have at most ", kMaxDims, " dimensions");
    dims_[rank_++] = d;
  }
  void insert(int pos, int64_t d) {
    NABLA_CHECK(rank_ < kMaxDims, "tensors have at most ", kMaxDims, " dimensions");
    for (int i = rank_; i > pos; --i) dims_[i] = dims_[i - 1];
    dims_[pos] = d;
    ++rank_;
  }
  void erase(int pos) {
    for (int i = pos; i + 1 < rank_; ++i) dims_[i] = dims_[i + 1];
    --rank_;
  }
  void resize(int rank, int64_t fill = 1) {
    NABLA_CHECK(rank <= kMaxDims, "tensors have at most ", kMaxDims, " dimensions");
    for (int i = rank_; i < rank; ++i) dims_[i] = fill;
    rank_ = rank;
  }

  int64_t numel() const {
    int64_t n = 1;
    for (int i = 0; i < rank_; ++i) n *= dims_[i];
    return n;
  }
  std::vector<int64_t> vec() const { return {begin(), end()}; }

  friend bool operator==(const Shape& a, const Shape& b) {
    if (a.rank_ != b.rank_) return false;
    for (int i = 0; i < a.rank_; ++i)
      if (a.dims_[i] != b.dims_[i]) return false;
    return true;
  }
  friend std::ostream& operator<<(std::ostream& out, const Shape& s) {
    out << '[';
    for (int i = 0; i < s.rank_; ++i) out << (i ? ", " : "") << s.dims_[i];
    return out << ']';
  }

 private:
  template <typename It>
  void assign(It first, It last) {
    rank_ = 0;
    for (; first != last; ++first) push_back(int64_t(*first));
  }
  int64_t dims_[kMaxDims] = {};
  int rank_ = 0;
};

// Row-major strides for a shape.
inline Shape contiguous_strides(const Shape& shape) {
  Shape strides;
  strides.resize(shape.size());
  int64_t s = 1;
  for (int i = shape.size() - 1; i >= 0; --i) {
    strides[i] = s;
    s *= shape[i];
  }
  return strides;
}

// Wraps a possibly negative dimension index into [0, rank), or fails naming the op.
inline int wrap_dim(int64_t dim, int rank, const char* op) {
  int64_t r = rank == 0 ? 1 : rank;
  NABLA_CHECK(dim >= -r && dim < r, op, ": dimension ", dim, " is out of range for a tensor with ", rank,
              " dimensions (expected ", -r, " to ", r - 1, ")");
  return int(dim < 0 ? dim + r : dim);
}

// NumPy broadcasting of two shapes, or an error naming the op and both shapes.
inline Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op) {
  Shape out;
  int rank = std::max(a.size(), b.size());
  out.resize(rank);
  for (int i = 0; i < rank; ++i) {
    int ia = a.size() - rank + i, ib = b.size() - rank + i;
    int64_t da = ia >= 0 ? a[ia] : 1, db = ib >= 0 ? b[ib] : 1;
    NABLA_CHECK(da == db || da == 1 || db == 1, op, ": shapes ", a, " and ", b,
                " cannot be broadcast together (dimension ", i, ": ", da, " vs ", db, ")");
    out[i] = da == 1 ? db : da;
  }
  return out;
}

}  // namespace nabla
