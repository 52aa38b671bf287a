// Float32 kernels for the output postprocessors, vectorised with the compiler's vector extension.
// Each is compiled twice: for AVX2 + FMA, chosen at run time when the CPU has them, and for the
// baseline target. Every operation is IEEE-exact or correctly rounded (fused multiply-add
// included, done in software where the CPU lacks it) and nothing is contracted, so both give the
// same bits on every machine.
#include "CBulwarkKernels.h"
#include "cpu.h"

#include <float.h>
#include <string.h>

#pragma STDC FP_CONTRACT OFF
// The vector helpers are always inlined, so the ABI of passing wide vectors never applies.
#pragma clang diagnostic ignored "-Wpsabi"

// 32 lanes: four 256-bit registers per step.
#define LANES 32
typedef float floats __attribute__((vector_size(LANES * sizeof(float))));
typedef int ints __attribute__((vector_size(LANES * sizeof(int))));
// One lane per row, for renormalising eight rows at once.
typedef float rows8 __attribute__((vector_size(8 * sizeof(float))));
typedef int rowmask8 __attribute__((vector_size(8 * sizeof(int))));

#define INLINE static inline __attribute__((always_inline))

INLINE floats splat(float value) { return (floats){0} + value; }

// Lanes of `a` where `mask` is all ones, of `b` elsewhere (C has no vector `?:`).
INLINE floats choose(ints mask, floats a, floats b) {
  return (floats)((mask & (ints)a) | (~mask & (ints)b));
}

// lo where x < lo, hi where x > hi, x elsewhere: NaN stays NaN, as NumPy's clip.
INLINE floats clip(floats x, float lo, float hi) {
  return choose(x < lo, splat(lo), choose(x > hi, splat(hi), x));
}

INLINE floats fma_(floats a, floats b, floats c) { return __builtin_elementwise_fma(a, b, c); }

// log2(x) for finite x > 0: x = m 2^e with m in [sqrt(1/2), sqrt(2)), and log2(m) = f P(f) with
// f = m - 1 and P a degree-8 polynomial fitted for Bulwark (relative error 3e-8 before rounding;
// 6e-8 absolute on [sqrt(1/2), sqrt(2)) in float32).
INLINE floats log2_(floats x) {
  ints bits = (ints)x;
  ints exponent = (bits >> 23) - 127;
  floats m = (floats)((bits & 0x7fffff) | 0x3f800000);
  ints high = m > 1.41421356f;
  m = choose(high, m * 0.5f, m);
  exponent = (high & (exponent + 1)) | (~high & exponent);
  floats f = m - 1.0f;
  floats p = splat(0.1258375645f);
  p = fma_(p, f, splat(-0.2072700113f));
  p = fma_(p, f, splat(0.2157155275f));
  p = fma_(p, f, splat(-0.2389447838f));
  p = fma_(p, f, splat(0.2879162431f));
  p = fma_(p, f, splat(-0.3607036769f));
  p = fma_(p, f, splat(0.4809106290f));
  p = fma_(p, f, splat(-0.7213473320f));
  p = fma_(p, f, splat(1.4426950216f));
  return fma_(f, p, __builtin_convertvector(exponent, floats));
}

// 2^y for y in [-126, 126] (clamped there): 2^n times a degree-6 polynomial fitted for Bulwark on
// the fraction in [-1/2, 1/2] (relative error 1e-7 in float32).
INLINE floats exp2_(floats y) {
  y = clip(y, -126.0f, 126.0f);
  // Adding 1.5 * 2^23 rounds y to an integer (half to even) held in the low mantissa bits.
  floats shifted = y + 0x1.8p23f;
  floats fraction = y - (shifted - 0x1.8p23f);
  floats p = splat(0.0001534601470f);
  p = fma_(p, fraction, splat(0.001339993440f));
  p = fma_(p, fraction, splat(0.009618488140f));
  p = fma_(p, fraction, splat(0.05550328642f));
  p = fma_(p, fraction, splat(0.2402264625f));
  p = fma_(p, fraction, splat(0.6931471825f));
  p = fma_(p, fraction, splat(1.0f));
  ints n = (ints)shifted - 0x4b400000;
  return p * (floats)((n + 127) << 23);
}

// clip(p - beta (sigmoid(gamma ln(pc / (1 - pc))) - 1/2), 0, 1) with pc = clip(p, 1e-9, 1), where
// the sigmoid is 1 / (1 + ((1 - pc) / pc)^gamma). pc = 1 makes the ratio 0, whose power is 0.
INLINE floats perturb(floats p, float beta, float gamma) {
  floats pc = clip(p, 1e-9f, 1.0f);
  floats ratio = (1.0f - pc) / pc;
  floats power = exp2_(gamma * log2_(ratio));
  power = choose(ratio == 0.0f, splat(0.0f), power);
  floats sigmoid = 1.0f / (1.0f + power);
  return clip(p - beta * (sigmoid - 0.5f), 0.0f, 1.0f);
}

// Eight columns of eight rows, `stride` values apart from one row to the next: `columns[k]`
// holds column k, one lane per row. Three rounds of eight shuffles (lanes in pairs, pairs of
// pairs, halves): 24 instructions for what lane-by-lane loads take 64 loads and 56 inserts.
INLINE void transpose8(const float *block, ptrdiff_t stride, rows8 columns[8]) {
  rows8 rows[8], pairs[8], quads[8];
  for (int lane = 0; lane < 8; lane++) memcpy(&rows[lane], block + lane * stride, sizeof(rows8));
  for (int k = 0; k < 8; k += 2) {
    pairs[k] = __builtin_shufflevector(rows[k], rows[k + 1], 0, 8, 1, 9, 4, 12, 5, 13);
    pairs[k + 1] = __builtin_shufflevector(rows[k], rows[k + 1], 2, 10, 3, 11, 6, 14, 7, 15);
  }
  for (int k = 0; k < 8; k += 4) {
    for (int half = 0; half < 2; half++) {
      rows8 top = pairs[k + half], bottom = pairs[k + half + 2];
      quads[k + 2 * half] = __builtin_shufflevector(top, bottom, 0, 1, 8, 9, 4, 5, 12, 13);
      quads[k + 2 * half + 1] =
          __builtin_shufflevector(top, bottom, 2, 3, 10, 11, 6, 7, 14, 15);
    }
  }
  for (int k = 0; k < 4; k++) {
    columns[k] = __builtin_shufflevector(quads[k], quads[k + 4], 0, 1, 2, 3, 8, 9, 10, 11);
    columns[k + 4] = __builtin_shufflevector(quads[k], quads[k + 4], 4, 5, 6, 7, 12, 13, 14, 15);
  }
}

INLINE void reverse_sigmoid(const float *input, float *output, ptrdiff_t rows, ptrdiff_t columns,
                            float beta, float gamma) {
  ptrdiff_t count = rows * columns, index = 0;
  // Two steps at a time: the logarithm's and the exponential's Horner chains make one value's
  // latency about 110 cycles, and eight independent registers keep the vector units busier than
  // four (100,000 values on Zen 3: 144 us against 160 us; the spills cost less than idle cycles).
  for (; index + 2 * LANES <= count; index += 2 * LANES) {
    floats p[2];
    memcpy(p, input + index, sizeof p);
    floats q[2] = {perturb(p[0], beta, gamma), perturb(p[1], beta, gamma)};
    memcpy(output + index, q, sizeof q);
  }
  for (; index + LANES <= count; index += LANES) {
    floats p;
    memcpy(&p, input + index, sizeof p);
    floats q = perturb(p, beta, gamma);
    memcpy(output + index, &q, sizeof q);
  }
  if (index < count) {
    floats p = {0};
    size_t bytes = (size_t)(count - index) * sizeof(float);
    memcpy(&p, input + index, bytes);
    floats q = perturb(p, beta, gamma);
    memcpy(output + index, &q, bytes);
  }
  // Each row is multiplied by 1 / its sum, the sum taken left to right. Eight rows at a time
  // hold one row per lane, so every lane adds its row's values in the same order as one row
  // alone, and gives the same bits.
  ptrdiff_t row = 0;
  for (; row + 8 <= rows; row += 8) {
    float *block = output + row * columns;
    rows8 sum = {0};
    ptrdiff_t column = 0;
    for (; column + 8 <= columns; column += 8) {
      rows8 values[8];
      transpose8(block + column, columns, values);
      for (int k = 0; k < 8; k++) sum += values[k];
    }
    for (; column < columns; column++) {
      rows8 values;
      for (int lane = 0; lane < 8; lane++) values[lane] = block[lane * columns + column];
      sum += values;
    }
    // A zero sum (every value clipped to 0) gives 0; a NaN sum spreads NaN over its row.
    rows8 alpha = (rows8)((sum != 0.0f) & (rowmask8)(1.0f / sum));
    for (int lane = 0; lane < 8; lane++) {
      for (ptrdiff_t column = 0; column < columns; column++) {
        block[lane * columns + column] *= alpha[lane];
      }
    }
  }
  for (; row < rows; row++) {
    float *values = output + row * columns;
    float sum = 0;
    for (ptrdiff_t column = 0; column < columns; column++) sum += values[column];
    float alpha = sum == 0 ? 0.0f : 1.0f / sum;
    for (ptrdiff_t column = 0; column < columns; column++) values[column] *= alpha;
  }
}

// rint(x * scale) / scale, the quotient without a division: for y = rint(x * scale) and
// r = RN(1 / scale), q = RN(y r) is within an ulp of y / scale, d = q scale - y is exact, and
// RN(q - d r) is RN(y / scale) (Markstein's correction), zeros keeping their sign. Checked
// against division for every integer |y| <= 2^24 and every decimals 1...38 (larger y are such an
// integer times a power of two, which scales every step exactly). NaN stays NaN. An infinite y
// makes q that infinity and d NaN (inf - inf); d then becomes FLT_MAX, the minimum's non-NaN
// operand (a finite d is far smaller and stays), and q minus a finite amount is q. One minimum
// rather than a mask of d == d, a compare and a blend: the four multiplications already fill
// both multiply units.
INLINE floats round_scaled(floats x, float scale, float reciprocal) {
  floats y = __builtin_elementwise_roundeven(x * scale);
  floats q = y * reciprocal;
  floats d = __builtin_elementwise_min(fma_(q, splat(scale), -y), splat(FLT_MAX));
  return fma_(-d, splat(reciprocal), q);
}

// The step loop is written out again rather than shared through a function pointer: a call
// through a pointer is not inlined at -O0, and a wide vector passed to an out-of-line function
// compiled for another target has another calling convention (the -Wpsabi warning above).
INLINE void round_values(const float *input, float *output, ptrdiff_t count, float scale) {
  float reciprocal = 1.0f / scale;
  ptrdiff_t index = 0;
  for (; index + LANES <= count; index += LANES) {
    floats x;
    memcpy(&x, input + index, sizeof x);
    floats y = round_scaled(x, scale, reciprocal);
    memcpy(output + index, &y, sizeof y);
  }
  if (index < count) {
    floats x = {0};
    size_t bytes = (size_t)(count - index) * sizeof(float);
    memcpy(&x, input + index, bytes);
    floats y = round_scaled(x, scale, reciprocal);
    memcpy(output + index, &y, bytes);
  }
}

#ifdef HAS_AVX2_VARIANT
__attribute__((target("avx2,fma"))) static void reverse_sigmoid_avx2(
    const float *input, float *output, ptrdiff_t rows, ptrdiff_t columns, float beta,
    float gamma) {
  reverse_sigmoid(input, output, rows, columns, beta, gamma);
}

__attribute__((target("avx2,fma"))) static void round_values_avx2(
    const float *input, float *output, ptrdiff_t count, float scale) {
  round_values(input, output, count, scale);
}
#endif

static void reverse_sigmoid_baseline(const float *input, float *output, ptrdiff_t rows,
                                     ptrdiff_t columns, float beta, float gamma) {
  reverse_sigmoid(input, output, rows, columns, beta, gamma);
}

static void round_values_baseline(const float *input, float *output, ptrdiff_t count,
                                  float scale) {
  round_values(input, output, count, scale);
}

void bulwark_reverse_sigmoid(const float *input, float *output, ptrdiff_t rows,
                             ptrdiff_t columns, float beta, float gamma, int portable) {
#ifdef HAS_AVX2_VARIANT
  if (!portable && cpu_has_avx2(1)) {
    reverse_sigmoid_avx2(input, output, rows, columns, beta, gamma);
    return;
  }
#endif
  reverse_sigmoid_baseline(input, output, rows, columns, beta, gamma);
}

void bulwark_round_scaled(const float *input, float *output, ptrdiff_t count, float scale,
                          int portable) {
#ifdef HAS_AVX2_VARIANT
  if (!portable && cpu_has_avx2(1)) {
    round_values_avx2(input, output, count, scale);
    return;
  }
#endif
  round_values_baseline(input, output, count, scale);
}
