// Direct convolution with AVX2 and fused multiply-add, for the layers with few output channels
// (a network's first layers), where im2col's copies cost more than the product they feed. Each
// output starts from its bias and adds its products one fused multiply-add at a time in the
// im2col order (channel, kernel row, kernel column), the arithmetic of the GEMM path, so either
// path gives the same bits. A ReLU and a 2x2 max pooling after the convolution can be applied
// while the outputs are in registers, so that only what they leave is stored.
#include "CBulwarkKernels.h"
#include "blocking.h"

#include <stdlib.h>
#include <string.h>

// Output channels and 8-wide column vectors computed together: 6 x 2 = 12 accumulators, the
// register block of the GEMM kernel (4 x 2 left the FMA units waiting on their latency); a last
// 7 or 8 channels split as `block_size` says.
enum { CHANNEL_BLOCK = 6, VECTOR_BLOCK = 2 };

void bulwark_conv_direct_pack(const struct bulwark_convolution *conv, ptrdiff_t out_channels,
                              const float *weight, float *packed) {
  ptrdiff_t taps = conv->in_channels * conv->kernel_height * conv->kernel_width;
  // Each block of output channels tap by tap, so that a tap's broadcasts read one short run.
  for (ptrdiff_t oc = 0, channels; oc < out_channels; oc += channels) {
    channels = block_size(oc, out_channels, CHANNEL_BLOCK);
    for (ptrdiff_t tap = 0; tap < taps; tap++)
      for (ptrdiff_t i = 0; i < channels; i++)
        packed[oc * taps + tap * channels + i] = weight[(oc + i) * taps + tap];
  }
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>

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

// The sums of outputs [oc0, oc0 + channels) x `vectors` vectors of 8 columns, rectified when
// asked: columns [x0, x0 + 8) of one output row, and the next 8 columns or (for rows of 8 or
// fewer) the same columns of the next row, `second` values on in the padded input. `source` is
// the padded input at the first vector's first tap, `offsets` each tap's place from there and
// `packed` the block's weights, `channels` per tap.
__attribute__((target("avx2,fma"), always_inline)) static inline void accumulate(
    int channels, int vectors, const float *source, ptrdiff_t second, const ptrdiff_t *offsets,
    ptrdiff_t taps, const float *packed, const float *bias, int rectify,
    __m256 sums[CHANNEL_BLOCK][VECTOR_BLOCK]) {
  for (int i = 0; i < channels; i++)
    for (int v = 0; v < vectors; v++) sums[i][v] = _mm256_set1_ps(bias[i]);
  for (ptrdiff_t tap = 0; tap < taps; tap++) {
    const float *x = source + offsets[tap];
    __m256 x0 = _mm256_loadu_ps(x);
    __m256 x1 = vectors > 1 ? _mm256_loadu_ps(x + second) : x0;
    const float *w = packed + tap * channels;
    for (int i = 0; i < channels; i++) {
      __m256 weight = _mm256_broadcast_ss(w + i);
      sums[i][0] = _mm256_fmadd_ps(weight, x0, sums[i][0]);
      if (vectors > 1) sums[i][1] = _mm256_fmadd_ps(weight, x1, sums[i][1]);
    }
  }
  // A rectified output is max(sum, +0) as maxps takes it: the sum where it is greater than 0,
  // else +0 (NaN included), the bits of a separate ReLU.
  if (rectify)
    for (int i = 0; i < channels; i++)
      for (int v = 0; v < vectors; v++)
        sums[i][v] = _mm256_max_ps(sums[i][v], _mm256_setzero_ps());
}

// A block of outputs (see `accumulate`), the second vector `second_out` values after the first
// in the output, at most `valid` and `second_valid` of their columns kept.
__attribute__((target("avx2,fma"), always_inline)) static inline void block(
    int channels, int vectors, const float *source, ptrdiff_t second, const ptrdiff_t *offsets,
    ptrdiff_t taps, const float *packed, const float *bias, int rectify, float *target,
    ptrdiff_t out_plane, ptrdiff_t second_out, ptrdiff_t valid, ptrdiff_t second_valid) {
  __m256 sums[CHANNEL_BLOCK][VECTOR_BLOCK];
  accumulate(channels, vectors, source, second, offsets, taps, packed, bias, rectify, sums);
  for (int i = 0; i < channels; i++) {
    store(target + i * out_plane, sums[i][0], valid);
    if (vectors > 1) store(target + i * out_plane + second_out, sums[i][1], second_valid);
  }
}

// The maxima of a row's 16 columns in pairs, in order: the right one where it is strictly
// greater (maxps returns its second operand unless the first is greater, NaN included).
__attribute__((target("avx2,fma"), always_inline)) static inline __m256 pair_maxima(__m256 v0,
                                                                                  __m256 v1) {
  __m256 left = _mm256_shuffle_ps(v0, v1, _MM_SHUFFLE(2, 0, 2, 0));
  __m256 right = _mm256_shuffle_ps(v0, v1, _MM_SHUFFLE(3, 1, 3, 1));
  // The shuffles work within 128-bit halves: pairs 0, 1, 4, 5, 2, 3, 6, 7 until permuted.
  return _mm256_max_ps(right, left);
}

// Two output rows' block (see `accumulate`; `source` at the upper row's first tap and `below`
// the distance to the lower's), max-pooled 2x2 with stride 2 as bulwark_max_pool_forward's 2x2
// path does: each row's pair maximum, the lower one where it is strictly greater. With one
// vector a row, both rows are summed at once (`stacked`); with two, one row after the other. At
// most `valid` pooled columns kept.
__attribute__((target("avx2,fma"), always_inline)) static inline void pooled_block(
    int channels, int vectors, const float *source, ptrdiff_t below, const ptrdiff_t *offsets,
    ptrdiff_t taps, const float *packed, const float *bias, int rectify, float *target,
    ptrdiff_t pooled_plane, ptrdiff_t valid) {
  __m256 upper[CHANNEL_BLOCK][VECTOR_BLOCK], lower[CHANNEL_BLOCK][VECTOR_BLOCK];
  __m256 upper_maxima[CHANNEL_BLOCK];
  int stacked = vectors == 1;
  if (stacked) {
    accumulate(channels, 2, source, below, offsets, taps, packed, bias, rectify, upper);
    for (int i = 0; i < channels; i++) {
      upper_maxima[i] = pair_maxima(upper[i][0], upper[i][0]);
      lower[i][0] = upper[i][1];
    }
  } else {
    accumulate(channels, 2, source, 8, offsets, taps, packed, bias, rectify, upper);
    // The upper row's maxima wait in memory: the lower row needs every register.
    for (int i = 0; i < channels; i++) upper_maxima[i] = pair_maxima(upper[i][0], upper[i][1]);
    accumulate(channels, 2, source + below, 8, offsets, taps, packed, bias, rectify, lower);
  }
  for (int i = 0; i < channels; i++) {
    __m256 lower_maxima = pair_maxima(lower[i][0], stacked ? lower[i][0] : lower[i][1]);
    __m256d maxima = _mm256_castps_pd(_mm256_max_ps(lower_maxima, upper_maxima[i]));
    // Pairs back in order (see `pair_maxima`), 64 bits at a time.
    store(target + i * pooled_plane,
          _mm256_castpd_ps(_mm256_permute4x64_pd(maxima, _MM_SHUFFLE(3, 1, 2, 0))), valid);
  }
}

// `block` or `pooled_block` with its channel and vector counts as constants, so that the
// accumulators live in registers.
#define BLOCK(CHANNELS, VECTORS)                                                               \
  do {                                                                                         \
    if (pool)                                                                                  \
      pooled_block(CHANNELS, VECTORS, source, below, offsets, taps, packed + oc * taps,       \
                   bias + oc, rectify,                                                         \
                   output_image + oc * pooled_plane + oy / 2 * pooled_width + x0 / 2,          \
                   pooled_plane, pooled_width - x0 / 2);                                       \
    else if (stacked)                                                                          \
      block(CHANNELS, VECTORS, source, below, offsets, taps, packed + oc * taps, bias + oc,   \
            rectify, output_image + oc * out_plane + oy * out_width, out_plane, out_width,     \
            out_width, out_width);                                                             \
    else                                                                                       \
      block(CHANNELS, VECTORS, source, 8, offsets, taps, packed + oc * taps, bias + oc,       \
            rectify, output_image + oc * out_plane + oy * out_width + x0, out_plane, 8,        \
            out_width - x0, out_width - x0 - 8);                                               \
  } while (0)

__attribute__((target("avx2,fma"))) int bulwark_conv_direct_avx2(
    const struct bulwark_convolution *conv, ptrdiff_t count, const float *input,
    const float *weight, const float *packed_weight, const float *bias, ptrdiff_t out_channels,
    int rectify, int pool, float *output) {
  if (conv->stride_x < 1) return 0;
  ptrdiff_t in_channels = conv->in_channels, height = conv->in_height, width = conv->in_width;
  ptrdiff_t kernel_height = conv->kernel_height, kernel_width = conv->kernel_width;
  ptrdiff_t stride_y = conv->stride_y, pad_top = conv->pad_top, pad_left = conv->pad_left;
  ptrdiff_t dilation_y = conv->dilation_y, dilation_x = conv->dilation_x;
  ptrdiff_t out_height = conv->out_height, out_width = conv->out_width;
  ptrdiff_t stride_x = conv->stride_x;
  // The padded image: every row and column a tap reads, zero outside the image. Its columns are
  // dealt into stride_x phases, padded column q going to column q / stride_x of phase
  // q % stride_x, so that a tap reads consecutive columns of one phase for consecutive outputs;
  // a phase's columns run to a whole number of vectors past the last output column.
  ptrdiff_t padded_height = (out_height - 1) * stride_y + (kernel_height - 1) * dilation_y + 1;
  ptrdiff_t row_stride = (out_width + 7) / 8 * 8 + (kernel_width - 1) * dilation_x / stride_x;
  ptrdiff_t plane = padded_height * row_stride;
  ptrdiff_t taps = in_channels * kernel_height * kernel_width;
  // The weights packed (here, unless the caller packed them once), and each tap's offset in the
  // padded image, in im2col order, so that one loop walks them all.
  float *padded = malloc((size_t)(in_channels * stride_x * plane) * sizeof(float));
  float *own =
      packed_weight != NULL ? NULL : malloc((size_t)(out_channels * taps) * sizeof(float));
  ptrdiff_t *offsets = malloc((size_t)taps * sizeof(ptrdiff_t));
  if (padded == NULL || (packed_weight == NULL && own == NULL) || offsets == NULL) {
    free(padded);
    free(own);
    free(offsets);
    return 0;
  }
  if (own != NULL) bulwark_conv_direct_pack(conv, out_channels, weight, own);
  const float *packed = own != NULL ? own : packed_weight;
  for (ptrdiff_t c = 0, tap = 0; c < in_channels; c++)
    for (ptrdiff_t ky = 0; ky < kernel_height; ky++)
      for (ptrdiff_t kx = 0; kx < kernel_width; kx++, tap++) {
        ptrdiff_t phase = kx * dilation_x % stride_x;
        offsets[tap] = (c * stride_x + phase) * plane + ky * dilation_y * row_stride +
                       kx * dilation_x / stride_x;
      }
  ptrdiff_t out_plane = out_height * out_width;
  // Pooled, only the rows and columns of whole windows are computed and kept.
  ptrdiff_t pooled_width = out_width / 2, pooled_plane = out_height / 2 * pooled_width;
  ptrdiff_t rows = pool ? out_height / 2 * 2 : out_height;
  ptrdiff_t columns = pool ? pooled_width * 2 : out_width;
  // Rows of 8 columns or fewer are computed two at a time (as a pooled pair of rows is), so that
  // a block still keeps two vectors of sums per channel.
  int stacked = !pool && out_width <= 8;
  ptrdiff_t below = stride_y * row_stride;
  for (ptrdiff_t image = 0; image < count; image++) {
    const float *pixels = input + image * in_channels * height * width;
    memset(padded, 0, (size_t)(in_channels * stride_x * plane) * sizeof(float));
    // Input column x is padded column x + pad_left; those past the phases' columns are never read.
    ptrdiff_t first_x = pad_left > 0 ? 0 : -pad_left;  // the first input column kept
    ptrdiff_t last_x = row_stride * stride_x - pad_left < width ? row_stride * stride_x - pad_left
                                                                : width;
    for (ptrdiff_t c = 0; c < in_channels; c++) {
      for (ptrdiff_t y = 0; y < height; y++) {
        ptrdiff_t py = y + pad_top;
        if (py < 0 || py >= padded_height || first_x >= last_x) continue;
        const float *line = pixels + (c * height + y) * width;
        float *target = padded + c * stride_x * plane + py * row_stride;
        if (stride_x == 1) {
          memcpy(target + first_x + pad_left, line + first_x,
                 (size_t)(last_x - first_x) * sizeof(float));
        } else {
          for (ptrdiff_t x = first_x; x < last_x; x++) {
            ptrdiff_t q = x + pad_left;
            target[q % stride_x * plane + q / stride_x] = line[x];
          }
        }
      }
    }
    float *output_image = output + image * out_channels * (pool ? pooled_plane : out_plane);
    // A block of channels runs over the whole image while its weights stay in L1: 13-14% faster
    // on ResNet-18's layers than every block over one row at a time, which evicted them.
    for (ptrdiff_t oc = 0, channels; oc < out_channels; oc += channels) {
      channels = block_size(oc, out_channels, CHANNEL_BLOCK);
      for (ptrdiff_t oy = 0; oy < rows; oy += pool || stacked ? 2 : 1) {
        for (ptrdiff_t x0 = 0; x0 < columns; x0 += 8 * VECTOR_BLOCK) {
          const float *source = padded + oy * below + x0;
          int two = stacked ? oy + 1 < rows : columns - x0 > 8;
          switch (channels) {
            case 6: if (two) BLOCK(6, 2); else BLOCK(6, 1); break;
            case 5: if (two) BLOCK(5, 2); else BLOCK(5, 1); break;
            case 4: if (two) BLOCK(4, 2); else BLOCK(4, 1); break;
            case 3: if (two) BLOCK(3, 2); else BLOCK(3, 1); break;
            case 2: if (two) BLOCK(2, 2); else BLOCK(2, 1); break;
            default: if (two) BLOCK(1, 2); else BLOCK(1, 1); break;
          }
        }
      }
    }
  }
  free(padded);
  free(own);
  free(offsets);
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

int bulwark_conv_direct_avx2(const struct bulwark_convolution *conv, ptrdiff_t count,
                             const float *input, const float *weight, const float *packed_weight,
                             const float *bias, ptrdiff_t out_channels, int rectify, int pool,
                             float *output) {
  (void)conv; (void)count; (void)input; (void)weight; (void)packed_weight; (void)bias;
  (void)out_channels; (void)rectify; (void)pool; (void)output;
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
