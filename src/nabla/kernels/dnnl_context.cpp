#include "nabla/kernels/dnnl_context.h"

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

}  // namespace nabla::kernels
