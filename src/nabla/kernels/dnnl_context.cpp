#include "nabla/kernels/dnnl_context.h"

#include "nabla/core/allocator.h"
#include "nabla/kernels/parallel.h"

namespace nabla::kernels {

dnnl::engine& dnnl_engine() {
  static dnnl::engine engine = [] {
    num_threads();  // apply NABLA_NUM_THREADS before oneDNN sizes its thread pool
    return dnnl::engine(dnnl::engine::kind::cpu, 0);
  }();
  return engine;
}

// One stream per thread: fused kernels call GEMMs from inside their own parallel loops.
dnnl::stream& dnnl_stream() {
  thread_local dnnl::stream stream(dnnl_engine());
  return stream;
}

LayoutCopies::~LayoutCopies() {
  for (auto [block, bytes] : blocks_) CachingAllocator::instance().deallocate(block, bytes);
}

dnnl::memory LayoutCopies::make(const dnnl::memory::desc& layout) {
  const size_t bytes = layout.get_size();
  void* block = CachingAllocator::instance().allocate(bytes);
  blocks_.emplace_back(block, bytes);
  return dnnl::memory(layout, dnnl_engine(), block);
}

dnnl::memory LayoutCopies::input(const dnnl::memory::desc& plain, const dnnl::memory::desc& wanted, const void* data) {
  dnnl::memory user(plain, dnnl_engine(), const_cast<void*>(data));
  if (plain == wanted) return user;
  dnnl::memory converted = make(wanted);
  dnnl::reorder(user, converted).execute(dnnl_stream(), user, converted);
  return converted;
}

}  // namespace nabla::kernels
