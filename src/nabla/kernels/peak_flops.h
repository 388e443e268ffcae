// The machine's measured fp32 peak: the denominator of model FLOPs utilisation (MFU).
#pragma once

namespace nabla::kernels {

// GFLOP/s of independent fused multiply-adds on every thread of nabla's pool, for about `seconds`.
double measure_fp32_peak_gflops(double seconds = 0.5);

}  // namespace nabla::kernels
