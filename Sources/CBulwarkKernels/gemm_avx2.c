// Single-precision GEMM with AVX2 and fused multiply-add, chosen at run time. Swift compiles for
// baseline x86-64 (SSE, no FMA) unless given unsafe flags, which a package used as a dependency
// cannot take; a C function with a target attribute can, and the caller checks the CPU first.
//
// The blocking follows Goto and van de Geijn ("Anatomy of high-performance matrix
// multiplication", 2008): B is packed KC rows by NC columns at a time into 16-column slivers
// that stay in L1 while the micro-kernel runs over them, A is packed MC rows by KC at a time into
// 6-row slivers that stay in L2 (a block's last 7 or 8 rows into 4 + 3 or 4 + 4), and a 6 x 16
// micro-kernel keeps twelve 8-wide accumulators in registers. Each element of C still sees its
// k products added one by one in the order p = 0, 1, ..., k - 1 (a block stores its partial sums
// to C and the next block loads them back), so the blocking never changes a result, and neither
// do the matrix sizes around an element.
#include "CBulwarkKernels.h"
#include "blocking.h"
#include "im2col.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

enum { MR = 6, NR = PACK_WIDTH, KC = 256, MC = 120, NC = 2048 };

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>

int bulwark_gemm_avx2_available(void) {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

// Rows [row, row + mc) and columns [p0, p0 + kc) of A into slivers of block_size rows, each
// [p][row] from `packed + (its first row - row) * kc`. Reads along whichever of A's axes is
// contiguous.
static void pack_a(const float *a, ptrdiff_t a_row_stride, ptrdiff_t a_column_stride,
                   ptrdiff_t row, ptrdiff_t mc, ptrdiff_t p0, ptrdiff_t kc, float *packed) {
  for (ptrdiff_t sliver = 0, rows; sliver < mc; sliver += rows) {
    rows = block_size(sliver, mc, MR);
    float *target = packed + sliver * kc;
    const float *source = a + (row + sliver) * a_row_stride + p0 * a_column_stride;
    if (a_row_stride == 1) {
      for (ptrdiff_t p = 0; p < kc; p++) {
        for (ptrdiff_t r = 0; r < rows; r++) target[p * rows + r] = source[p * a_column_stride + r];
      }
    } else {
      for (ptrdiff_t r = 0; r < rows; r++) {
        for (ptrdiff_t p = 0; p < kc; p++)
          target[p * rows + r] = source[r * a_row_stride + p * a_column_stride];
      }
    }
  }
}

// Rows [p0, p0 + kc) and columns [column, column + nc) of B into 16-column slivers,
// [sliver][p][column], columns past n zero.
__attribute__((target("avx2,fma"))) static void pack_b(const float *b, ptrdiff_t b_row_stride,
                                                       ptrdiff_t p0, ptrdiff_t kc,
                                                       ptrdiff_t column, ptrdiff_t nc,
                                                       float *packed) {
  for (ptrdiff_t sliver = 0; sliver < nc; sliver += NR) {
    float *target = packed + sliver * kc;
    const float *source = b + p0 * b_row_stride + column + sliver;
    ptrdiff_t width = nc - sliver < NR ? nc - sliver : NR;
    if (width == NR) {
      for (ptrdiff_t p = 0; p < kc; p++) {
        _mm256_storeu_ps(target + p * NR, _mm256_loadu_ps(source + p * b_row_stride));
        _mm256_storeu_ps(target + p * NR + 8, _mm256_loadu_ps(source + p * b_row_stride + 8));
      }
    } else {
      for (ptrdiff_t p = 0; p < kc; p++) {
        for (ptrdiff_t j = 0; j < NR; j++)
          target[p * NR + j] = j < width ? source[p * b_row_stride + j] : 0;
      }
    }
  }
}

// A `height` x 8 `vectors` tile of C (row stride c_row_stride) += a `height`-row sliver of A
// times the first 8 `vectors` columns of a 16-column sliver of B, over kc products: `height` x
// `vectors` 8-wide accumulators in registers.
__attribute__((target("avx2,fma"), always_inline)) static inline void kernel(
    int height, int vectors, ptrdiff_t kc, const float *a, const float *b, float *c,
    ptrdiff_t c_row_stride) {
  __m256 sums[MR][2];
  for (int r = 0; r < height; r++)
    for (int v = 0; v < vectors; v++) sums[r][v] = _mm256_loadu_ps(c + r * c_row_stride + 8 * v);
  for (ptrdiff_t p = 0; p < kc; p++) {
    __m256 b0 = _mm256_loadu_ps(b), b1 = vectors > 1 ? _mm256_loadu_ps(b + 8) : b0;
    for (int r = 0; r < height; r++) {
      __m256 x = _mm256_broadcast_ss(a + r);
      sums[r][0] = _mm256_fmadd_ps(x, b0, sums[r][0]);
      if (vectors > 1) sums[r][1] = _mm256_fmadd_ps(x, b1, sums[r][1]);
    }
    a += height;
    b += NR;
  }
  for (int r = 0; r < height; r++)
    for (int v = 0; v < vectors; v++) _mm256_storeu_ps(c + r * c_row_stride + 8 * v, sums[r][v]);
}

// The full 6 x 16 tile, most of a product's work.
__attribute__((target("avx2,fma"))) static void kernel_6x16(ptrdiff_t kc, const float *a,
                                                            const float *b, float *c,
                                                            ptrdiff_t c_row_stride) {
  kernel(MR, 2, kc, a, b, c, c_row_stride);
}

// `kernel` with its height and vector count as constants, so that the sums live in registers.
#define KERNEL(HEIGHT)                                                  \
  do {                                                                  \
    if (vectors > 1)                                                    \
      kernel(HEIGHT, 2, kc, a, b, target, stride);                      \
    else                                                                \
      kernel(HEIGHT, 1, kc, a, b, target, stride);                      \
  } while (0)

// A tile of rows x columns (at most 6 x 16) but the full one, with one vector of columns where
// 8 or fewer are left: a tile narrower than its vectors is copied into a full one, run through
// the same arithmetic, and copied back.
__attribute__((target("avx2,fma"))) static void kernel_edge(ptrdiff_t kc, const float *a,
                                                            const float *b, float *c,
                                                            ptrdiff_t c_row_stride,
                                                            ptrdiff_t rows, ptrdiff_t columns) {
  int vectors = columns > 8 ? 2 : 1;
  float tile[MR * NR] = {0};
  float *target = c;
  ptrdiff_t stride = c_row_stride;
  if (columns < 8 * vectors) {
    for (ptrdiff_t r = 0; r < rows; r++)
      memcpy(tile + r * NR, c + r * c_row_stride, (size_t)columns * sizeof(float));
    target = tile;
    stride = NR;
  }
  switch (rows) {
    case 6: KERNEL(6); break;
    case 5: KERNEL(5); break;
    case 4: KERNEL(4); break;
    case 3: KERNEL(3); break;
    case 2: KERNEL(2); break;
    default: KERNEL(1); break;
  }
  if (columns < 8 * vectors) {
    for (ptrdiff_t r = 0; r < rows; r++)
      memcpy(c + r * c_row_stride, tile + r * NR, (size_t)columns * sizeof(float));
  }
}

ptrdiff_t bulwark_gemm_packed_size(ptrdiff_t m, ptrdiff_t k) {
  return (m + MR - 1) / MR * MR * k;
}

void bulwark_gemm_pack(ptrdiff_t m, ptrdiff_t k, const float *a, ptrdiff_t a_row_stride,
                       ptrdiff_t a_column_stride, float *packed) {
  ptrdiff_t height = (m + MR - 1) / MR * MR;
  for (ptrdiff_t p0 = 0; p0 < k; p0 += KC) {
    ptrdiff_t kc = k - p0 < KC ? k - p0 : KC;
    for (ptrdiff_t row = 0; row < m; row += MC) {
      ptrdiff_t mc = m - row < MC ? m - row : MC;
      pack_a(a, a_row_stride, a_column_stride, row, mc, p0, kc, packed + p0 * height + row * kc);
    }
  }
}

// The right operand: a row-major matrix `b`, or (with `conv`) the im2col matrix of the images at
// `b`, packed a block at a time straight from them.
struct operand {
  const float *b;
  ptrdiff_t b_row_stride;
  const struct bulwark_convolution *conv;
};

// C += A B, with A packed whole by bulwark_gemm_pack (`prepacked`), or else read from `a` and
// packed a block at a time.
static int gemm(ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, const float *prepacked, const float *a,
                ptrdiff_t a_row_stride, ptrdiff_t a_column_stride, struct operand b, float *c,
                ptrdiff_t c_row_stride) {
  if (m <= 0 || n <= 0 || k <= 0) return 1;
  ptrdiff_t panel = n < NC ? (n + NR - 1) / NR * NR : NC;
  ptrdiff_t depth = k < KC ? k : KC;
  ptrdiff_t height = (m + MR - 1) / MR * MR;
  ptrdiff_t block_height = prepacked != NULL ? 0 : height < MC ? height : MC;
  float *packed_b = malloc((size_t)(panel * depth + block_height * depth) * sizeof(float));
  if (packed_b == NULL) return 0;
  float *block = packed_b + panel * depth;
  for (ptrdiff_t column = 0; column < n; column += NC) {
    ptrdiff_t nc = n - column < NC ? n - column : NC;
    for (ptrdiff_t p0 = 0; p0 < k; p0 += KC) {
      ptrdiff_t kc = k - p0 < KC ? k - p0 : KC;
      if (b.conv != NULL)
        im2col_pack_avx2(b.conv, b.b, p0, kc, column, nc, packed_b);
      else
        pack_b(b.b, b.b_row_stride, p0, kc, column, nc, packed_b);
      for (ptrdiff_t row = 0; row < m; row += MC) {
        ptrdiff_t mc = m - row < MC ? m - row : MC;
        const float *packed_a = prepacked != NULL ? prepacked + p0 * height + row * kc : block;
        if (prepacked == NULL) pack_a(a, a_row_stride, a_column_stride, row, mc, p0, kc, block);
        for (ptrdiff_t j = 0; j < nc; j += NR) {
          ptrdiff_t columns = nc - j < NR ? nc - j : NR;
          for (ptrdiff_t i = 0, rows; i < mc; i += rows) {
            rows = block_size(i, mc, MR);
            float *tile = c + (row + i) * c_row_stride + column + j;
            if (rows == MR && columns == NR)
              kernel_6x16(kc, packed_a + i * kc, packed_b + j * kc, tile, c_row_stride);
            else
              kernel_edge(kc, packed_a + i * kc, packed_b + j * kc, tile, c_row_stride, rows,
                          columns);
          }
        }
      }
    }
  }
  free(packed_b);
  return 1;
}

int bulwark_gemm_avx2(ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, const float *a,
                      ptrdiff_t a_row_stride, ptrdiff_t a_column_stride, const float *b,
                      ptrdiff_t b_row_stride, float *c, ptrdiff_t c_row_stride) {
  return gemm(m, n, k, NULL, a, a_row_stride, a_column_stride,
              (struct operand){b, b_row_stride, NULL}, c, c_row_stride);
}

int bulwark_gemm_avx2_packed(ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, const float *packed_a,
                             const float *b, ptrdiff_t b_row_stride, float *c,
                             ptrdiff_t c_row_stride) {
  return gemm(m, n, k, packed_a, NULL, 0, 0, (struct operand){b, b_row_stride, NULL}, c,
              c_row_stride);
}

int bulwark_conv_gemm_avx2(const struct bulwark_convolution *conv, ptrdiff_t images,
                           const float *input, ptrdiff_t m, const float *packed_a, float *c,
                           ptrdiff_t c_row_stride) {
  // The packing's lanes hold their window's rows and columns, and their cells' offsets from the
  // first image of a sliver (which spans at most NR images), in 32 bits.
  ptrdiff_t span = (NR + 1) * conv->in_channels * conv->in_height * conv->in_width;
  ptrdiff_t reach_y = conv->out_height * conv->stride_y + conv->pad_top +
                      conv->kernel_height * conv->dilation_y;
  ptrdiff_t reach_x = conv->out_width * conv->stride_x + conv->pad_left +
                      conv->kernel_width * conv->dilation_x;
  if (!bulwark_gemm_avx2_available() || span >= INT32_MAX || reach_y >= INT32_MAX ||
      reach_x >= INT32_MAX)
    return 0;
  ptrdiff_t n = images * conv->out_height * conv->out_width;
  ptrdiff_t k = conv->in_channels * conv->kernel_height * conv->kernel_width;
  return gemm(m, n, k, packed_a, NULL, 0, 0, (struct operand){input, 0, conv}, c, c_row_stride);
}

#else

int bulwark_gemm_avx2_available(void) { return 0; }

ptrdiff_t bulwark_gemm_packed_size(ptrdiff_t m, ptrdiff_t k) {
  return (m + MR - 1) / MR * MR * k;
}

void bulwark_gemm_pack(ptrdiff_t m, ptrdiff_t k, const float *a, ptrdiff_t a_row_stride,
                       ptrdiff_t a_column_stride, float *packed) {
  (void)m; (void)k; (void)a; (void)a_row_stride; (void)a_column_stride; (void)packed;
}

int bulwark_gemm_avx2(ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, const float *a,
                      ptrdiff_t a_row_stride, ptrdiff_t a_column_stride, const float *b,
                      ptrdiff_t b_row_stride, float *c, ptrdiff_t c_row_stride) {
  (void)m; (void)n; (void)k; (void)a; (void)a_row_stride; (void)a_column_stride;
  (void)b; (void)b_row_stride; (void)c; (void)c_row_stride;
  return 0;
}

int bulwark_gemm_avx2_packed(ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, const float *packed_a,
                             const float *b, ptrdiff_t b_row_stride, float *c,
                             ptrdiff_t c_row_stride) {
  (void)m; (void)n; (void)k; (void)packed_a; (void)b; (void)b_row_stride; (void)c;
  (void)c_row_stride;
  return 0;
}

int bulwark_conv_gemm_avx2(const struct bulwark_convolution *conv, ptrdiff_t images,
                           const float *input, ptrdiff_t m, const float *packed_a, float *c,
                           ptrdiff_t c_row_stride) {
  (void)conv; (void)images; (void)input; (void)m; (void)packed_a; (void)c; (void)c_row_stride;
  return 0;
}

#endif
