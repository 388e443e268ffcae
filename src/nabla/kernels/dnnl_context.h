// The process-wide oneDNN CPU engine and stream.
#pragma once
#include <oneapi/dnnl/dnnl.hpp>

namespace nabla::kernels {

dnnl::engine& dnnl_engine();
dnnl::stream& dnnl_stream();

}  // namespace nabla::kernels
