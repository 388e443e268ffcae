// The process-wide oneDNN CPU engine and stream, and scratch memory for layout copies.
#pragma once
#include <cstddef>
#include <oneapi/dnnl/dnnl.hpp>
#include <utility>
#include <vector>

namespace nabla::kernels {

dnnl::engine& dnnl_engine();
dnnl::stream& dnnl_stream();

// Memories in a primitive's own (blocked) layouts for the length of one call, taken from the
// caching allocator: when oneDNN allocates them itself, every step maps and page-faults fresh
// memory (7% of a conv training step).
class LayoutCopies {
 public:
  LayoutCopies() = default;
  LayoutCopies(const LayoutCopies&) = delete;
  LayoutCopies& operator=(const LayoutCopies&) = delete;
  ~LayoutCopies();

  dnnl::memory make(const dnnl::memory::desc& layout);
  // Wraps `data` (in `plain` layout) for a primitive wanting `wanted`; reorders if they differ.
  dnnl::memory input(const dnnl::memory::desc& plain, const dnnl::memory::desc& wanted, const void* data);

 private:
  std::vector<std::pair<void*, size_t>> blocks_;
};

}  // namespace nabla::kernels
