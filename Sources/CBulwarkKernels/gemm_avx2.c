// The inner GEMM kernel with AVX2 and fused multiply-add, chosen at run time. Swift compiles for
// baseline x86-64 (SSE, no FMA) unless given unsafe flags, which a package used as a dependency
// cannot take; a C function with a target attribute can, and the caller checks the CPU first.
#include "CBulwarkKernels.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>

int bulwark_gemm_avx2_available(void) {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

__attribute__((target("avx2,fma"))) void bulwark_gemm_kernel_4x16_avx2(
    ptrdiff_t k, ptrdiff_t n, const float *packed, const float *b, ptrdiff_t b_row_stride,
    float *c0, float *c1, float *c2, float *c3) {
  for (ptrdiff_t j = 0; j + 16 <= n; j += 16) {
    __m256 s00 = _mm256_loadu_ps(c0 + j), s01 = _mm256_loadu_ps(c0 + j + 8);
    __m256 s10 = _mm256_loadu_ps(c1 + j), s11 = _mm256_loadu_ps(c1 + j + 8);
    __m256 s20 = _mm256_loadu_ps(c2 + j), s21 = _mm256_loadu_ps(c2 + j + 8);
    __m256 s30 = _mm256_loadu_ps(c3 + j), s31 = _mm256_loadu_ps(c3 + j + 8);
    const float *pb = b + j;
    const float *pa = packed;
    for (ptrdiff_t p = 0; p < k; p++) {
      __m256 b0 = _mm256_loadu_ps(pb);
      __m256 b1 = _mm256_loadu_ps(pb + 8);
      __m256 a = _mm256_broadcast_ss(pa);
      s00 = _mm256_fmadd_ps(a, b0, s00);
      s01 = _mm256_fmadd_ps(a, b1, s01);
      a = _mm256_broadcast_ss(pa + 1);
      s10 = _mm256_fmadd_ps(a, b0, s10);
      s11 = _mm256_fmadd_ps(a, b1, s11);
      a = _mm256_broadcast_ss(pa + 2);
      s20 = _mm256_fmadd_ps(a, b0, s20);
      s21 = _mm256_fmadd_ps(a, b1, s21);
      a = _mm256_broadcast_ss(pa + 3);
      s30 = _mm256_fmadd_ps(a, b0, s30);
      s31 = _mm256_fmadd_ps(a, b1, s31);
      pb += b_row_stride;
      pa += 4;
    }
    _mm256_storeu_ps(c0 + j, s00);
    _mm256_storeu_ps(c0 + j + 8, s01);
    _mm256_storeu_ps(c1 + j, s10);
    _mm256_storeu_ps(c1 + j + 8, s11);
    _mm256_storeu_ps(c2 + j, s20);
    _mm256_storeu_ps(c2 + j + 8, s21);
    _mm256_storeu_ps(c3 + j, s30);
    _mm256_storeu_ps(c3 + j + 8, s31);
  }
}

#else

int bulwark_gemm_avx2_available(void) { return 0; }

void bulwark_gemm_kernel_4x16_avx2(ptrdiff_t k, ptrdiff_t n, const float *packed,
                                   const float *b, ptrdiff_t b_row_stride, float *c0, float *c1,
                                   float *c2, float *c3) {
  (void)k; (void)n; (void)packed; (void)b; (void)b_row_stride;
  (void)c0; (void)c1; (void)c2; (void)c3;
}

#endif
