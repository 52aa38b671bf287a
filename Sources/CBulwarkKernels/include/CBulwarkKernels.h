#ifndef BULWARK_KERNELS_H
#define BULWARK_KERNELS_H

#include <stddef.h>

/// Returns 1 when this CPU runs the AVX2 + FMA kernels below, 0 otherwise (the caller then uses
/// its portable Swift kernel).
int bulwark_gemm_avx2_available(void);

/// Four rows of C (c0...c3, columns [0, n)) += packed A block (k x 4, [p][row]) * B (k x n, row
/// stride b_row_stride), with AVX2 and fused multiply-add, 16 columns at a time. n must be a
/// multiple of 16. Accumulates in the order p = 0, 1, ..., k - 1 for every element.
void bulwark_gemm_kernel_4x16_avx2(ptrdiff_t k, ptrdiff_t n, const float *packed,
                                   const float *b, ptrdiff_t b_row_stride, float *c0, float *c1,
                                   float *c2, float *c3);

#endif
