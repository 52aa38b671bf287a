// im2col and col2im for the convolutions that go through GEMM. Every image of a product is done
// in one call, images innermost, so each row's window geometry is worked out once for all of
// them; im2col has an AVX2 variant, chosen at run time when the CPU has it, and an AVX2 packing
// that gathers blocks of the matrix straight into the GEMM's layout (im2col.h). The values are
// only copied (im2col) or added in the order the scalar definition adds them (col2im), so the
// results are those of that definition, bit for bit.
#include "CBulwarkKernels.h"
#include "cpu.h"
#include "im2col.h"
#include "window.h"

#include <stdint.h>
#include <string.h>

#ifdef HAS_AVX2_VARIANT
#include <immintrin.h>
#endif

#define INLINE static inline __attribute__((always_inline))

// target[ox] = line[ox * stride + offset] for ox in first...last; inlined with a constant stride
// so the compiler can vectorise the strided loads.
INLINE void gather(float *target, const float *line, ptrdiff_t offset, ptrdiff_t first,
                   ptrdiff_t last, ptrdiff_t stride) {
  for (ptrdiff_t ox = first; ox <= last; ox++) target[ox] = line[ox * stride + offset];
}

// line[ox * stride + offset] += source[ox] for ox in first...last, in that order.
INLINE void scatter_add(float *line, const float *source, ptrdiff_t offset, ptrdiff_t first,
                        ptrdiff_t last, ptrdiff_t stride) {
  for (ptrdiff_t ox = first; ox <= last; ox++) line[ox * stride + offset] += source[ox];
}

// Row (c, ky, kx) of the im2col matrix: its index, the column offset of its cells
// (ox * stride_x + offset), and the output columns first...last whose cell lies inside the input.
struct kernel_row {
  ptrdiff_t index, offset, first, last;
};

INLINE struct kernel_row kernel_row(const struct bulwark_convolution *conv, ptrdiff_t c,
                                    ptrdiff_t ky, ptrdiff_t kx) {
  struct kernel_row row = {(c * conv->kernel_height + ky) * conv->kernel_width + kx,
                           kx * conv->dilation_x - conv->pad_left, 0, 0};
  inside_range(row.offset, conv->stride_x, conv->in_width, conv->out_width, &row.first,
               &row.last);
  return row;
}

// The input row output row oy's cells of kernel row ky read (outside the input when negative or
// past its height).
INLINE ptrdiff_t input_row(const struct bulwark_convolution *conv, ptrdiff_t oy, ptrdiff_t ky) {
  return oy * conv->stride_y - conv->pad_top + ky * conv->dilation_y;
}

static void im2col_baseline(const struct bulwark_convolution *conv, ptrdiff_t images,
                            const float *input, float *col, ptrdiff_t column_stride) {
  ptrdiff_t plane = conv->in_height * conv->in_width, image = conv->in_channels * plane;
  ptrdiff_t positions = conv->out_height * conv->out_width, out_width = conv->out_width;
  for (ptrdiff_t c = 0; c < conv->in_channels; c++) {
    for (ptrdiff_t ky = 0; ky < conv->kernel_height; ky++) {
      for (ptrdiff_t kx = 0; kx < conv->kernel_width; kx++) {
        struct kernel_row row = kernel_row(conv, c, ky, kx);
        for (ptrdiff_t oy = 0; oy < conv->out_height; oy++) {
          ptrdiff_t iy = input_row(conv, oy, ky);
          int inside = iy >= 0 && iy < conv->in_height && row.first <= row.last;
          float *target = col + row.index * column_stride + oy * out_width;
          const float *line = input + c * plane + (inside ? iy * conv->in_width : 0);
          for (ptrdiff_t n = 0; n < images; n++, target += positions, line += image) {
            if (!inside) {
              memset(target, 0, (size_t)out_width * sizeof(float));
              continue;
            }
            // Zeros left of the image, the copied run, zeros right of it.
            for (ptrdiff_t ox = 0; ox < row.first; ox++) target[ox] = 0;
            if (conv->stride_x == 1) {
              gather(target, line, row.offset, row.first, row.last, 1);
            } else if (conv->stride_x == 2) {
              gather(target, line, row.offset, row.first, row.last, 2);
            } else {
              gather(target, line, row.offset, row.first, row.last, conv->stride_x);
            }
            for (ptrdiff_t ox = row.last + 1; ox < out_width; ox++) target[ox] = 0;
          }
        }
      }
    }
  }
}

#ifdef HAS_AVX2_VARIANT
// Output columns ox...ox + 7 of a row whose cells are line[column * stride + offset]: lanes in
// `inside` are read (a masked load; for stride 2, two masked loads and a shuffle; otherwise a
// masked gather), the others are 0 and never read.
__attribute__((target("avx2"), always_inline)) static inline __m256 gather_avx2(
    const float *line, ptrdiff_t ox, ptrdiff_t stride, ptrdiff_t offset, __m256i inside,
    __m256i index) {
  if (stride == 1) return _mm256_maskload_ps(line + ox + offset, inside);
  if (stride == 2) {
    // Only the even cells are read: an odd one may lie past the end of the input.
    const float *start = line + 2 * ox + offset;
    __m256i even_cells = _mm256_setr_epi32(-1, 0, -1, 0, -1, 0, -1, 0);
    __m256i low = _mm256_and_si256(
        even_cells,
        _mm256_permutevar8x32_epi32(inside, _mm256_setr_epi32(0, 0, 1, 1, 2, 2, 3, 3)));
    __m256i high = _mm256_and_si256(
        even_cells,
        _mm256_permutevar8x32_epi32(inside, _mm256_setr_epi32(4, 4, 5, 5, 6, 6, 7, 7)));
    __m256 even = _mm256_shuffle_ps(_mm256_maskload_ps(start, low),
                                    _mm256_maskload_ps(start + 8, high), 0x88);
    return _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(even), 0xD8));
  }
  return _mm256_mask_i32gather_ps(_mm256_setzero_ps(), line, index, _mm256_castsi256_ps(inside),
                                  4);
}

// Eight output columns per step, whatever the run, so a row of 2 or 4 outputs (the small maps
// deep in a network) costs one load and one store per image. Images and their rows are written
// in order, so a step's lanes past the output row land where a later step writes; only steps
// that would reach past the matrix row are stored masked (a masked store costs many plain ones).
__attribute__((target("avx2"))) static void im2col_avx2(const struct bulwark_convolution *conv,
                                                        ptrdiff_t images, const float *input,
                                                        float *col, ptrdiff_t column_stride) {
  ptrdiff_t plane = conv->in_height * conv->in_width, image = conv->in_channels * plane;
  ptrdiff_t out_width = conv->out_width, stride = conv->stride_x;
  const __m256i lanes = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  for (ptrdiff_t c = 0; c < conv->in_channels; c++) {
    for (ptrdiff_t ky = 0; ky < conv->kernel_height; ky++) {
      for (ptrdiff_t kx = 0; kx < conv->kernel_width; kx++) {
        struct kernel_row row = kernel_row(conv, c, ky, kx);
        float *target = col + row.index * column_stride;
        const float *row_end = target + images * conv->out_height * out_width;
        for (ptrdiff_t n = 0; n < images; n++) {
          for (ptrdiff_t oy = 0; oy < conv->out_height; oy++, target += out_width) {
            ptrdiff_t iy = input_row(conv, oy, ky);
            int inside_y = iy >= 0 && iy < conv->in_height;
            const float *line =
                input + n * image + c * plane + (inside_y ? iy * conv->in_width : 0);
            for (ptrdiff_t ox = 0; ox < out_width; ox += 8) {
              __m256i column = _mm256_add_epi32(_mm256_set1_epi32((int)ox), lanes);
              // Lanes whose column lies inside the image: first <= column <= last.
              __m256i inside = _mm256_andnot_si256(
                  _mm256_cmpgt_epi32(_mm256_set1_epi32((int)row.first), column),
                  _mm256_cmpgt_epi32(_mm256_set1_epi32((int)row.last + 1), column));
              if (!inside_y) inside = _mm256_setzero_si256();
              __m256i index = _mm256_add_epi32(
                  _mm256_mullo_epi32(column, _mm256_set1_epi32((int)stride)),
                  _mm256_set1_epi32((int)row.offset));
              __m256 values = gather_avx2(line, ox, stride, row.offset, inside, index);
              if (target + ox + 8 <= row_end) {
                _mm256_storeu_ps(target + ox, values);
              } else {
                __m256i owned = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)out_width), column);
                _mm256_maskstore_ps(target + ox, owned, values);
              }
            }
          }
        }
      }
    }
  }
}

// The windows of one vector of a sliver's lanes: each window's top row and left column (where
// kernel cell (0, 0) falls, inside the input or not), that cell's offset from the sliver's first
// image, and whether the lane holds a column of the block at all.
struct lane_windows {
  __m256i top, left, corner, owned;
};

__attribute__((target("avx2"))) void im2col_pack_avx2(const struct bulwark_convolution *conv,
                                                      const float *input, ptrdiff_t p0,
                                                      ptrdiff_t kc, ptrdiff_t column,
                                                      ptrdiff_t nc, float *packed) {
  ptrdiff_t height = conv->in_height, width = conv->in_width, plane = height * width;
  ptrdiff_t out_width = conv->out_width, positions = conv->out_height * out_width;
  ptrdiff_t kernel_width = conv->kernel_width, taps = conv->kernel_height * kernel_width;
  const __m256i none = _mm256_set1_epi32(-1);
  const __m256i rows = _mm256_set1_epi32((int)height), columns = _mm256_set1_epi32((int)width);
  for (ptrdiff_t sliver = 0; sliver < nc; sliver += PACK_WIDTH) {
    // The sliver's images start at the first lane's; lanes past nc are owned by none.
    ptrdiff_t first = column + sliver, origin = first / positions * conv->in_channels * plane;
    struct lane_windows windows[PACK_WIDTH / 8];
    for (int v = 0; v < PACK_WIDTH / 8; v++) {
      int top[8], left[8], corner[8], owned[8];
      for (int lane = 0; lane < 8; lane++) {
        ptrdiff_t index = first + v * 8 + lane, position = index % positions;
        ptrdiff_t oy = position / out_width, ox = position % out_width;
        top[lane] = (int)(oy * conv->stride_y - conv->pad_top);
        left[lane] = (int)(ox * conv->stride_x - conv->pad_left);
        corner[lane] = (int)(index / positions * conv->in_channels * plane - origin +
                             top[lane] * width + left[lane]);
        owned[lane] = sliver + v * 8 + lane < nc ? -1 : 0;
      }
      windows[v] = (struct lane_windows){_mm256_loadu_si256((const __m256i *)top),
                                         _mm256_loadu_si256((const __m256i *)left),
                                         _mm256_loadu_si256((const __m256i *)corner),
                                         _mm256_loadu_si256((const __m256i *)owned)};
    }
    float *target = packed + sliver * kc;
    ptrdiff_t c = p0 / taps, ky = p0 % taps / kernel_width, kx = p0 % kernel_width;
    for (ptrdiff_t p = 0; p < kc; p++, target += PACK_WIDTH) {
      __m256i dy = _mm256_set1_epi32((int)(ky * conv->dilation_y));
      __m256i dx = _mm256_set1_epi32((int)(kx * conv->dilation_x));
      __m256i shift = _mm256_set1_epi32((int)(c * plane + ky * conv->dilation_y * width +
                                              kx * conv->dilation_x));
      for (int v = 0; v < PACK_WIDTH / 8; v++) {
        // A lane reads its cell where 0 <= row < height and 0 <= column < width; the others
        // are 0 and never read.
        __m256i y = _mm256_add_epi32(windows[v].top, dy);
        __m256i x = _mm256_add_epi32(windows[v].left, dx);
        __m256i inside = _mm256_and_si256(
            _mm256_and_si256(_mm256_cmpgt_epi32(y, none), _mm256_cmpgt_epi32(rows, y)),
            _mm256_and_si256(_mm256_cmpgt_epi32(x, none), _mm256_cmpgt_epi32(columns, x)));
        inside = _mm256_and_si256(inside, windows[v].owned);
        __m256 values = _mm256_mask_i32gather_ps(
            _mm256_setzero_ps(), input + origin, _mm256_add_epi32(windows[v].corner, shift),
            _mm256_castsi256_ps(inside), 4);
        _mm256_storeu_ps(target + 8 * v, values);
      }
      if (++kx == kernel_width) {
        kx = 0;
        if (++ky == conv->kernel_height) ky = 0, c++;
      }
    }
  }
}
#endif

void bulwark_im2col(const struct bulwark_convolution *conv, ptrdiff_t images,
                    const float *input, float *col, ptrdiff_t column_stride, int portable) {
#ifdef HAS_AVX2_VARIANT
  // The vector variant indexes a row's cells with 32-bit lanes.
  ptrdiff_t reach = (conv->out_width + 8) * conv->stride_x +
                    conv->kernel_width * conv->dilation_x + conv->pad_left;
  if (!portable && cpu_has_avx2(0) && reach < INT32_MAX) {
    im2col_avx2(conv, images, input, col, column_stride);
    return;
  }
#endif
  im2col_baseline(conv, images, input, col, column_stride);
}

void bulwark_col2im(const struct bulwark_convolution *conv, ptrdiff_t images, const float *col,
                    ptrdiff_t column_stride, float *input) {
  ptrdiff_t plane = conv->in_height * conv->in_width, image = conv->in_channels * plane;
  ptrdiff_t positions = conv->out_height * conv->out_width, out_width = conv->out_width;
  memset(input, 0, (size_t)(images * image) * sizeof(float));
  for (ptrdiff_t c = 0; c < conv->in_channels; c++) {
    for (ptrdiff_t ky = 0; ky < conv->kernel_height; ky++) {
      for (ptrdiff_t kx = 0; kx < conv->kernel_width; kx++) {
        struct kernel_row row = kernel_row(conv, c, ky, kx);
        if (row.first > row.last) continue;
        for (ptrdiff_t oy = 0; oy < conv->out_height; oy++) {
          ptrdiff_t iy = input_row(conv, oy, ky);
          if (iy < 0 || iy >= conv->in_height) continue;
          const float *source = col + row.index * column_stride + oy * out_width;
          float *line = input + c * plane + iy * conv->in_width;
          for (ptrdiff_t n = 0; n < images; n++, source += positions, line += image) {
            if (conv->stride_x == 1) {
              scatter_add(line, source, row.offset, row.first, row.last, 1);
            } else if (conv->stride_x == 2) {
              scatter_add(line, source, row.offset, row.first, row.last, 2);
            } else {
              scatter_add(line, source, row.offset, row.first, row.last, conv->stride_x);
            }
          }
        }
      }
    }
  }
}
