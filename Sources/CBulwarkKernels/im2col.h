// im2col written straight into the layout the AVX2 GEMM packs its right operand in, so that a
// convolution's product never holds its im2col matrix whole.
#ifndef BULWARK_IM2COL_H
#define BULWARK_IM2COL_H

#include "CBulwarkKernels.h"
#include "cpu.h"

// Columns per sliver of a packed right operand (the GEMM micro-kernel's width).
enum { PACK_WIDTH = 16 };

#ifdef HAS_AVX2_VARIANT
// Rows [p0, p0 + kc) and columns [column, column + nc) of the im2col matrix of consecutive CHW
// images at `input` (bulwark_im2col's rows and columns), into PACK_WIDTH-column slivers
// [sliver][p][column] with the columns past nc zero: the values bulwark_im2col writes, as the
// GEMM's pack_b lays them out. Each lane gathers its cell, so the images' offsets from the
// sliver's first image must fit 32 bits. Needs AVX2.
void im2col_pack_avx2(const struct bulwark_convolution *conv, const float *input, ptrdiff_t p0,
                      ptrdiff_t kc, ptrdiff_t column, ptrdiff_t nc, float *packed);
#endif

#endif
