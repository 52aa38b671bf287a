// Direct convolution with AVX2 and fused multiply-add, for the layers with few output channels
// (a network's first layers), where im2col's copies cost more than the product they feed. Each
// output starts from its bias and adds its products one fused multiply-add at a time in the
// im2col order (channel, kernel row, kernel column), the arithmetic of the GEMM path, so either
// path gives the same bits.
#include "CBulwarkKernels.h"

#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>

// Output channels and 8-wide column vectors computed together: 6 x 2 = 12 accumulators, the
// register block of the GEMM kernel (4 x 2 left the FMA units waiting on their latency).
enum { CHANNEL_BLOCK = 6, VECTOR_BLOCK = 2 };
// Input channels and column vectors of an input gradient computed together: up to 3 x 4 sums,
// each with its tap's partial sum beside it (the sums spill; the partials' chains stay in
// registers). On Zen 3 this runs LeNet-5's second layer at 85% of the FMA units' peak and its
// first, one channel wide, at 47% (2 x 2: 70% and 41%).
enum { GRADIENT_CHANNEL_BLOCK = 3, GRADIENT_VECTOR_BLOCK = 4 };

// Stores the first `lanes` values of `value` (all 8 when there are more; none when there are
// none): the columns of a block past the row's end are dropped.
__attribute__((target("avx2,fma"), always_inline)) static inline void store(
    float *out, __m256 value, ptrdiff_t lanes) {
  if (lanes >= 8) {
    _mm256_storeu_ps(out, value);
  } else if (lanes > 0) {
    float spill[8];
    _mm256_storeu_ps(spill, value);
    memcpy(out, spill, (size_t)lanes * sizeof(float));
  }
}

// Outputs [oc0, oc0 + channels) x columns [x0, x0 + 8 * vectors) of one output row, at most
// `valid` of its columns kept. `source` is the padded input at this row's first tap.
__attribute__((target("avx2,fma"), always_inline)) static inline void block(
    int channels, int vectors, const float *source, ptrdiff_t in_channels, ptrdiff_t plane,
    ptrdiff_t row_stride, ptrdiff_t kernel_height, ptrdiff_t kernel_width, ptrdiff_t dilation_y,
    ptrdiff_t dilation_x, const float *weight, ptrdiff_t rows, const float *bias, float *target,
    ptrdiff_t out_plane, ptrdiff_t valid, int rectify) {
  __m256 sums[CHANNEL_BLOCK][VECTOR_BLOCK];
  for (int i = 0; i < channels; i++)
    for (int v = 0; v < vectors; v++) sums[i][v] = _mm256_set1_ps(bias[i]);
  const float *tap_weight = weight;
  for (ptrdiff_t c = 0; c < in_channels; c++) {
    for (ptrdiff_t ky = 0; ky < kernel_height; ky++) {
      const float *line = source + c * plane + ky * dilation_y * row_stride;
      for (ptrdiff_t kx = 0; kx < kernel_width; kx++) {
        const float *x = line + kx * dilation_x;
        __m256 x0 = _mm256_loadu_ps(x);
        __m256 x1 = vectors > 1 ? _mm256_loadu_ps(x + 8) : x0;
        for (int i = 0; i < channels; i++) {
          __m256 w = _mm256_broadcast_ss(tap_weight + i * rows);
          sums[i][0] = _mm256_fmadd_ps(w, x0, sums[i][0]);
          if (vectors > 1) sums[i][1] = _mm256_fmadd_ps(w, x1, sums[i][1]);
        }
        tap_weight++;
      }
    }
  }
  // A rectified output is max(sum, +0) as maxps takes it: the sum where it is greater than 0,
  // else +0 (NaN included), the bits of a separate ReLU.
  for (int i = 0; i < channels; i++)
    for (int v = 0; v < vectors; v++)
      store(target + i * out_plane + v * 8,
            rectify ? _mm256_max_ps(sums[i][v], _mm256_setzero_ps()) : sums[i][v],
            valid - v * 8);
}

// `block` with its channel and vector counts as constants, so that the accumulators live in
// registers.
#define BLOCK(CHANNELS, VECTORS)                                                              \
  block(CHANNELS, VECTORS, source, in_channels, plane, row_stride, kernel_height, kernel_width, \
        dilation_y, dilation_x, weight + oc * rows, rows, bias + oc,                           \
        output_image + oc * out_plane + oy * out_width + x0, out_plane, out_width - x0, rectify)

__attribute__((target("avx2,fma"))) int bulwark_conv_direct_avx2(
    ptrdiff_t count, const float *input, ptrdiff_t in_channels, ptrdiff_t height,
    ptrdiff_t width, const float *weight, const float *bias, ptrdiff_t out_channels,
    ptrdiff_t kernel_height, ptrdiff_t kernel_width, ptrdiff_t stride_y, ptrdiff_t pad_top,
    ptrdiff_t pad_left, ptrdiff_t dilation_y, ptrdiff_t dilation_x, ptrdiff_t out_height,
    ptrdiff_t out_width, int rectify, float *output) {
  // The padded image: every row and column a tap reads, zero outside the image; columns run to
  // a whole number of vectors past the last output column.
  ptrdiff_t padded_height = (out_height - 1) * stride_y + (kernel_height - 1) * dilation_y + 1;
  ptrdiff_t row_stride = (out_width + 7) / 8 * 8 + (kernel_width - 1) * dilation_x;
  ptrdiff_t plane = padded_height * row_stride;
  float *padded = malloc((size_t)(in_channels * plane) * sizeof(float));
  if (padded == NULL) return 0;
  ptrdiff_t rows = in_channels * kernel_height * kernel_width;
  ptrdiff_t out_plane = out_height * out_width;
  for (ptrdiff_t image = 0; image < count; image++) {
    const float *pixels = input + image * in_channels * height * width;
    memset(padded, 0, (size_t)(in_channels * plane) * sizeof(float));
    ptrdiff_t first_x = pad_left > 0 ? 0 : -pad_left;  // the first input column kept
    ptrdiff_t last_x = row_stride - pad_left < width ? row_stride - pad_left : width;
    for (ptrdiff_t c = 0; c < in_channels; c++) {
      for (ptrdiff_t y = 0; y < height; y++) {
        ptrdiff_t py = y + pad_top;
        if (py < 0 || py >= padded_height || first_x >= last_x) continue;
        memcpy(padded + c * plane + py * row_stride + first_x + pad_left,
               pixels + (c * height + y) * width + first_x,
               (size_t)(last_x - first_x) * sizeof(float));
      }
    }
    float *output_image = output + image * out_channels * out_plane;
    for (ptrdiff_t oy = 0; oy < out_height; oy++) {
      for (ptrdiff_t x0 = 0; x0 < out_width; x0 += 8 * VECTOR_BLOCK) {
        const float *source = padded + oy * stride_y * row_stride + x0;
        int two = out_width - x0 > 8;
        ptrdiff_t oc = 0;
        for (; oc + CHANNEL_BLOCK <= out_channels; oc += CHANNEL_BLOCK) {
          if (two) BLOCK(6, 2); else BLOCK(6, 1);
        }
        switch (out_channels - oc) {
          case 5: if (two) BLOCK(5, 2); else BLOCK(5, 1); break;
          case 4: if (two) BLOCK(4, 2); else BLOCK(4, 1); break;
          case 3: if (two) BLOCK(3, 2); else BLOCK(3, 1); break;
          case 2: if (two) BLOCK(2, 2); else BLOCK(2, 1); break;
          case 1: if (two) BLOCK(1, 2); else BLOCK(1, 1); break;
          default: break;
        }
      }
    }
  }
  free(padded);
  return 1;
}

// Input gradient, input channels [c0, c0 + channels) x columns [x0, x0 + 8 * vectors) of one
// input row. `source` is the padded output gradient at this row's last tap (kernel row and
// column 0). For each tap (kernel row, kernel column), the gradient's products over the output
// channels are summed one fused multiply-add at a time from +0, as the product
// weightᵀ x gradient does, and the tap's sum is then added to the pixel's, as col2im adds it.
__attribute__((target("avx2,fma"), always_inline)) static inline void gradient_block(
    int channels, int vectors, const float *source, ptrdiff_t out_channels, ptrdiff_t plane,
    ptrdiff_t row_stride, ptrdiff_t kernel_height, ptrdiff_t kernel_width, ptrdiff_t dilation_y,
    ptrdiff_t dilation_x, const float *weight, ptrdiff_t rows, ptrdiff_t taps, float *target,
    ptrdiff_t in_plane, ptrdiff_t valid) {
  __m256 sums[GRADIENT_CHANNEL_BLOCK][GRADIENT_VECTOR_BLOCK];
  for (int i = 0; i < channels; i++)
    for (int v = 0; v < vectors; v++) sums[i][v] = _mm256_setzero_ps();
  for (ptrdiff_t ky = 0; ky < kernel_height; ky++) {
    for (ptrdiff_t kx = 0; kx < kernel_width; kx++) {
      const float *tap = source - ky * dilation_y * row_stride - kx * dilation_x;
      const float *tap_weight = weight + ky * kernel_width + kx;
      __m256 partial[GRADIENT_CHANNEL_BLOCK][GRADIENT_VECTOR_BLOCK];
      for (int i = 0; i < channels; i++)
        for (int v = 0; v < vectors; v++) partial[i][v] = _mm256_setzero_ps();
      for (ptrdiff_t o = 0; o < out_channels; o++) {
        __m256 g[GRADIENT_VECTOR_BLOCK];
        for (int v = 0; v < vectors; v++) g[v] = _mm256_loadu_ps(tap + o * plane + 8 * v);
        for (int i = 0; i < channels; i++) {
          __m256 w = _mm256_broadcast_ss(tap_weight + o * rows + i * taps);
          for (int v = 0; v < vectors; v++) {
            partial[i][v] = _mm256_fmadd_ps(w, g[v], partial[i][v]);
          }
        }
      }
      for (int i = 0; i < channels; i++)
        for (int v = 0; v < vectors; v++) sums[i][v] = _mm256_add_ps(sums[i][v], partial[i][v]);
    }
  }
  for (int i = 0; i < channels; i++)
    for (int v = 0; v < vectors; v++)
      store(target + i * in_plane + v * 8, sums[i][v], valid - v * 8);
}

// `gradient_block` with its channel and vector counts as constants, so that the partial sums
// live in registers.
#define GRADIENT_BLOCK(CHANNELS, VECTORS)                                                     \
  gradient_block(CHANNELS, VECTORS, source, out_channels, plane, row_stride, kernel_height,  \
                 kernel_width, dilation_y, dilation_x, weight + c * taps, rows, taps,        \
                 gradient_image + c * in_plane + y * width + x0, in_plane, width - x0)
#define GRADIENT_BLOCKS(CHANNELS)              \
  switch (vectors) {                           \
    case 4: GRADIENT_BLOCK(CHANNELS, 4); break; \
    case 3: GRADIENT_BLOCK(CHANNELS, 3); break; \
    case 2: GRADIENT_BLOCK(CHANNELS, 2); break; \
    default: GRADIENT_BLOCK(CHANNELS, 1); break; \
  }

__attribute__((target("avx2,fma"))) int bulwark_conv_input_gradient_direct_avx2(
    ptrdiff_t count, const float *output_gradient, ptrdiff_t out_channels, ptrdiff_t out_height,
    ptrdiff_t out_width, const float *weight, ptrdiff_t in_channels, ptrdiff_t height,
    ptrdiff_t width, ptrdiff_t kernel_height, ptrdiff_t kernel_width, ptrdiff_t pad_top,
    ptrdiff_t pad_left, ptrdiff_t dilation_y, ptrdiff_t dilation_x, float *input_gradient) {
  if (pad_top < 0 || pad_left < 0) return 0;
  // Input pixel (y, x) takes tap (ky, kx) from output (y + pad_top - ky dy, x + pad_left - kx dx).
  // The padded gradient holds output (oy, ox) at (oy + reach_y, ox + reach_x), zero around it,
  // so that every tap of every pixel reads inside it; columns run to a whole number of vectors
  // past the last input column.
  ptrdiff_t reach_y = (kernel_height - 1) * dilation_y, reach_x = (kernel_width - 1) * dilation_x;
  ptrdiff_t padded_height = height + pad_top + reach_y;
  ptrdiff_t row_stride = (width + 7) / 8 * 8 + pad_left + reach_x;
  ptrdiff_t plane = padded_height * row_stride;
  float *padded = malloc((size_t)(out_channels * plane) * sizeof(float));
  if (padded == NULL) return 0;
  ptrdiff_t taps = kernel_height * kernel_width;
  ptrdiff_t rows = in_channels * taps;
  ptrdiff_t in_plane = height * width, out_plane = out_height * out_width;
  // Output rows and columns past these reach no input pixel.
  ptrdiff_t kept_rows = out_height < height + pad_top ? out_height : height + pad_top;
  ptrdiff_t kept_columns =
      out_width < row_stride - reach_x ? out_width : row_stride - reach_x;
  memset(padded, 0, (size_t)(out_channels * plane) * sizeof(float));
  for (ptrdiff_t image = 0; image < count; image++) {
    const float *gradient = output_gradient + image * out_channels * out_plane;
    for (ptrdiff_t o = 0; o < out_channels; o++) {
      for (ptrdiff_t oy = 0; oy < kept_rows; oy++) {
        memcpy(padded + o * plane + (oy + reach_y) * row_stride + reach_x,
               gradient + o * out_plane + oy * out_width, (size_t)kept_columns * sizeof(float));
      }
    }
    float *gradient_image = input_gradient + image * in_channels * in_plane;
    for (ptrdiff_t y = 0; y < height; y++) {
      for (ptrdiff_t x0 = 0; x0 < width; x0 += 8 * GRADIENT_VECTOR_BLOCK) {
        const float *source =
            padded + (y + pad_top + reach_y) * row_stride + x0 + pad_left + reach_x;
        ptrdiff_t vectors = (width - x0 + 7) / 8;
        if (vectors > GRADIENT_VECTOR_BLOCK) vectors = GRADIENT_VECTOR_BLOCK;
        ptrdiff_t c = 0;
        for (; c + GRADIENT_CHANNEL_BLOCK <= in_channels; c += GRADIENT_CHANNEL_BLOCK) {
          GRADIENT_BLOCKS(3)
        }
        switch (in_channels - c) {
          case 2: GRADIENT_BLOCKS(2) break;
          case 1: GRADIENT_BLOCKS(1) break;
          default: break;
        }
      }
    }
  }
  free(padded);
  return 1;
}

#else

int bulwark_conv_direct_avx2(ptrdiff_t count, const float *input, ptrdiff_t in_channels,
                             ptrdiff_t height, ptrdiff_t width, const float *weight,
                             const float *bias, ptrdiff_t out_channels, ptrdiff_t kernel_height,
                             ptrdiff_t kernel_width, ptrdiff_t stride_y, ptrdiff_t pad_top,
                             ptrdiff_t pad_left, ptrdiff_t dilation_y, ptrdiff_t dilation_x,
                             ptrdiff_t out_height, ptrdiff_t out_width, int rectify,
                             float *output) {
  (void)count; (void)input; (void)in_channels; (void)height; (void)width; (void)weight;
  (void)bias; (void)out_channels; (void)kernel_height; (void)kernel_width; (void)stride_y;
  (void)pad_top; (void)pad_left; (void)dilation_y; (void)dilation_x; (void)out_height;
  (void)out_width; (void)rectify; (void)output;
  return 0;
}

int bulwark_conv_input_gradient_direct_avx2(
    ptrdiff_t count, const float *output_gradient, ptrdiff_t out_channels, ptrdiff_t out_height,
    ptrdiff_t out_width, const float *weight, ptrdiff_t in_channels, ptrdiff_t height,
    ptrdiff_t width, ptrdiff_t kernel_height, ptrdiff_t kernel_width, ptrdiff_t pad_top,
    ptrdiff_t pad_left, ptrdiff_t dilation_y, ptrdiff_t dilation_x, float *input_gradient) {
  (void)count; (void)output_gradient; (void)out_channels; (void)out_height; (void)out_width;
  (void)weight; (void)in_channels; (void)height; (void)width; (void)kernel_height;
  (void)kernel_width; (void)pad_top; (void)pad_left; (void)dilation_y; (void)dilation_x;
  (void)input_gradient;
  return 0;
}

#endif
