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

/// ART's reverse sigmoid in float32 on `rows` x `columns` values (row-major): per value
/// q = clip(p - beta (sigmoid(gamma ln(pc / (1 - pc))) - 1/2), 0, 1) with pc = clip(p, 1e-9, 1),
/// then each row times 1 / its sum (a row summing to 0 stays 0, NaN spreads over its row). `output` may be `input`.
/// `portable` nonzero runs the baseline variant even where AVX2 + FMA is available (both give the
/// same bits).
void bulwark_reverse_sigmoid(const float *input, float *output, ptrdiff_t rows,
                             ptrdiff_t columns, float beta, float gamma, int portable);

/// NumPy's `around` in float32: rint(x * scale) / scale for `count` values, ties to even, the
/// quotient correctly rounded. `output` may be `input`. `portable` as above.
void bulwark_round_scaled(const float *input, float *output, ptrdiff_t count, float scale,
                          int portable);

#endif
