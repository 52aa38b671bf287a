// Max pooling: the forward pass of any window, one kernel cell at a time over a row of windows
// (2x2 stride 2 windows and padded 3x3 stride 2 ones eight windows per step), and the backward
// pass of 2x2, stride 2 windows, eight windows per step, with the compiler's vector extension.
// Compiled twice, for AVX2 (chosen at run time when the CPU has it) and for the baseline target;
// comparisons, selections and one addition of zero are exact, so both give the same bits as the
// scalar rule.
#include "CBulwarkKernels.h"
#include "cpu.h"
#include "window.h"

#include <string.h>

// The vector helpers are always inlined, so the ABI of passing wide vectors never applies.
#pragma clang diagnostic ignored "-Wpsabi"

typedef float floats __attribute__((vector_size(8 * sizeof(float))));
typedef int ints __attribute__((vector_size(8 * sizeof(int))));

#define INLINE static inline __attribute__((always_inline))

INLINE floats load(const float *source) {
  floats value;
  memcpy(&value, source, sizeof value);
  return value;
}

INLINE void store(float *target, floats value) { memcpy(target, &value, sizeof value); }

// Lanes of `value` where `mask` is all ones, +0 elsewhere.
INLINE floats keep(ints mask, floats value) { return (floats)(mask & (ints)value); }

// The four cells of eight windows side by side, from the windows' 16 cells of each row: upper
// left, upper right, lower left, lower right.
struct cells {
  floats a, b, c, d;
};

INLINE struct cells window_cells(const float *top, const float *bottom) {
  floats top0 = load(top), top1 = load(top + 8);
  floats bottom0 = load(bottom), bottom1 = load(bottom + 8);
  return (struct cells){
      __builtin_shufflevector(top0, top1, 0, 2, 4, 6, 8, 10, 12, 14),
      __builtin_shufflevector(top0, top1, 1, 3, 5, 7, 9, 11, 13, 15),
      __builtin_shufflevector(bottom0, bottom1, 0, 2, 4, 6, 8, 10, 12, 14),
      __builtin_shufflevector(bottom0, bottom1, 1, 3, 5, 7, 9, 11, 13, 15),
  };
}

// `when` lanes of `yes`, the other lanes of `no`.
INLINE floats blend(ints when, floats yes, floats no) {
  return (floats)((when & (ints)yes) | (~when & (ints)no));
}

// The maxima of eight windows: the upper pair's first maximum, replaced by the lower pair's
// when that is strictly greater (the cell `route` sends the gradient to).
INLINE floats window_maxima(const float *top, const float *bottom) {
  struct cells w = window_cells(top, bottom);
  floats upper = blend(w.b > w.a, w.b, w.a), lower = blend(w.d > w.c, w.d, w.c);
  return blend(lower > upper, lower, upper);
}

// Eight windows side by side: each gradient goes, as +0 + g, to the cell `window_maxima` takes
// (the upper pair's first maximum, or the lower pair's when strictly greater); the window's
// other cells get +0. `top` and `bottom` are the windows' 16 cells of each row.
INLINE void route(const float *top, const float *bottom, const float *gradient, float *top_out,
                  float *bottom_out) {
  struct cells w = window_cells(top, bottom);
  floats a = w.a, b = w.b, c = w.c, d = w.d;
  ints right_in_upper = b > a, right_in_lower = d > c;
  floats upper = blend(right_in_upper, b, a), lower = blend(right_in_lower, d, c);
  ints lower_wins = lower > upper;
  floats routed = 0.0f + load(gradient);
  floats upper_left = keep(~lower_wins & ~right_in_upper, routed);
  floats upper_right = keep(~lower_wins & right_in_upper, routed);
  floats lower_left = keep(lower_wins & ~right_in_lower, routed);
  floats lower_right = keep(lower_wins & right_in_lower, routed);
  store(top_out, __builtin_shufflevector(upper_left, upper_right, 0, 8, 1, 9, 2, 10, 3, 11));
  store(top_out + 8,
        __builtin_shufflevector(upper_left, upper_right, 4, 12, 5, 13, 6, 14, 7, 15));
  store(bottom_out, __builtin_shufflevector(lower_left, lower_right, 0, 8, 1, 9, 2, 10, 3, 11));
  store(bottom_out + 8,
        __builtin_shufflevector(lower_left, lower_right, 4, 12, 5, 13, 6, 14, 7, 15));
}

INLINE void max_pool_backward(ptrdiff_t planes, ptrdiff_t in_height, ptrdiff_t in_width,
                              ptrdiff_t out_height, ptrdiff_t out_width, const float *input,
                              const float *output_gradient, float *input_gradient) {
  for (ptrdiff_t p = 0; p < planes; p++) {
    const float *plane = input + p * in_height * in_width;
    float *target = input_gradient + p * in_height * in_width;
    const float *gradient = output_gradient + p * out_height * out_width;
    for (ptrdiff_t oy = 0; oy < out_height; oy++) {
      const float *top = plane + 2 * oy * in_width, *bottom = top + in_width;
      float *top_out = target + 2 * oy * in_width, *bottom_out = top_out + in_width;
      const float *row = gradient + oy * out_width;
      ptrdiff_t ox = 0;
      for (; ox + 8 <= out_width; ox += 8) {
        route(top + 2 * ox, bottom + 2 * ox, row + ox, top_out + 2 * ox, bottom_out + 2 * ox);
      }
      // The last windows through copies: a step of eight on the rest, without a branch per cell
      // (the values past the rest are zeros and their results are dropped).
      if (ox < out_width) {
        size_t windows = (size_t)(out_width - ox);
        float cells[2][16] = {{0}}, routed[2][16], rest[8] = {0};
        memcpy(cells[0], top + 2 * ox, 2 * windows * sizeof(float));
        memcpy(cells[1], bottom + 2 * ox, 2 * windows * sizeof(float));
        memcpy(rest, row + ox, windows * sizeof(float));
        route(cells[0], cells[1], rest, routed[0], routed[1]);
        memcpy(top_out + 2 * ox, routed[0], 2 * windows * sizeof(float));
        memcpy(bottom_out + 2 * ox, routed[1], 2 * windows * sizeof(float));
      }
    }
  }
}

// Folds one kernel cell into a row of window maxima: out[ox] becomes line[ox * stride + offset]
// when that is strictly greater (so NaN never wins), for the windows first...last whose cell lies
// inside the row. Inlined with a constant stride, so the compiler
// can vectorise the strided loads.
INLINE void fold_cells(float *out, const float *line, ptrdiff_t first, ptrdiff_t last,
                       ptrdiff_t offset, ptrdiff_t stride) {
  for (ptrdiff_t ox = first; ox <= last; ox++) {
    float cell = line[ox * stride + offset], best = out[ox];
    out[ox] = cell > best ? cell : best;
  }
}

// The common 2x2, stride 2 window without padding, eight windows per step, a row's last
// windows one at a time by the same rule.
INLINE void max_pool_forward_2x2(ptrdiff_t planes, ptrdiff_t in_height, ptrdiff_t in_width,
                                 ptrdiff_t out_height, ptrdiff_t out_width, const float *input,
                                 float *output) {
  for (ptrdiff_t p = 0; p < planes; p++) {
    const float *plane = input + p * in_height * in_width;
    for (ptrdiff_t oy = 0; oy < out_height; oy++) {
      const float *top = plane + 2 * oy * in_width, *bottom = top + in_width;
      float *out = output + (p * out_height + oy) * out_width;
      ptrdiff_t ox = 0;
      for (; ox + 8 <= out_width; ox += 8) {
        store(out + ox, window_maxima(top + 2 * ox, bottom + 2 * ox));
      }
      for (; ox < out_width; ox++) {
        const float *upper = top + 2 * ox, *lower = bottom + 2 * ox;
        float up = upper[1] > upper[0] ? upper[1] : upper[0];
        float down = lower[1] > lower[0] ? lower[1] : lower[0];
        out[ox] = down > up ? down : up;
      }
    }
  }
}

// The 3x3, stride 2 window with one padded row and column before the plane and none needed
// after it (ResNet's stem pooling), eight windows per step. Window ox covers columns 2 ox - 1,
// 2 ox and 2 ox + 1: the row's odd columns shifted by one, its even columns and its odd columns.
// The cells fold as the generic path folds them, row by row and left to right from the window's
// first cell inside the plane, so the bits are the same; a padded cell is -infinity, which
// never wins.
INLINE void max_pool_forward_3x3_stride_2(ptrdiff_t planes, ptrdiff_t in_height,
                                          ptrdiff_t in_width, ptrdiff_t out_height,
                                          ptrdiff_t out_width, const float *input,
                                          float *output) {
  const floats outside = (floats){0} - __builtin_inff();
  const ints first_lane = {-1, 0, 0, 0, 0, 0, 0, 0};
  for (ptrdiff_t p = 0; p < planes; p++) {
    const float *plane = input + p * in_height * in_width;
    for (ptrdiff_t oy = 0; oy < out_height; oy++) {
      float *out = output + (p * out_height + oy) * out_width;
      ptrdiff_t top = oy == 0 ? 0 : 2 * oy - 1;
      for (ptrdiff_t ox = 0; ox < out_width; ox += 8) {
        floats best = {0};
        for (ptrdiff_t iy = top; iy <= 2 * oy + 1; iy++) {
          const float *line = plane + iy * in_width + 2 * ox;
          floats low = load(line), high = load(line + 8);
          floats even = __builtin_shufflevector(low, high, 0, 2, 4, 6, 8, 10, 12, 14);
          floats odd = __builtin_shufflevector(low, high, 1, 3, 5, 7, 9, 11, 13, 15);
          floats before = ox == 0 ? outside : (floats){0} + line[-1];
          floats left = __builtin_shufflevector(before, odd, 7, 8, 9, 10, 11, 12, 13, 14);
          if (iy == top) {
            // The first row's left cells open their windows; the plane's first window opens
            // on its even cell.
            best = ox == 0 ? blend(first_lane, even, left) : left;
          } else {
            best = blend(left > best, left, best);
          }
          best = blend(even > best, even, best);
          best = blend(odd > best, odd, best);
        }
        store(out + ox, best);
      }
    }
  }
}

INLINE void max_pool_forward(ptrdiff_t planes, ptrdiff_t in_height, ptrdiff_t in_width,
                             ptrdiff_t out_height, ptrdiff_t out_width, ptrdiff_t kernel_height,
                             ptrdiff_t kernel_width, ptrdiff_t stride_y, ptrdiff_t stride_x,
                             ptrdiff_t pad_top, ptrdiff_t pad_left, ptrdiff_t dilation_y,
                             ptrdiff_t dilation_x, const float *input, float *output) {
  if (kernel_height == 2 && kernel_width == 2 && stride_y == 2 && stride_x == 2 &&
      pad_top == 0 && pad_left == 0 && dilation_y == 1 && dilation_x == 1 &&
      2 * out_height <= in_height && 2 * out_width <= in_width) {
    max_pool_forward_2x2(planes, in_height, in_width, out_height, out_width, input, output);
    return;
  }
  if (kernel_height == 3 && kernel_width == 3 && stride_y == 2 && stride_x == 2 &&
      pad_top == 1 && pad_left == 1 && dilation_y == 1 && dilation_x == 1 &&
      in_height == 2 * out_height && in_width == 2 * out_width && out_width % 8 == 0) {
    max_pool_forward_3x3_stride_2(planes, in_height, in_width, out_height, out_width, input,
                                  output);
    return;
  }
  for (ptrdiff_t p = 0; p < planes; p++) {
    const float *plane = input + p * in_height * in_width;
    for (ptrdiff_t oy = 0; oy < out_height; oy++) {
      float *out = output + (p * out_height + oy) * out_width;
      ptrdiff_t top = oy * stride_y - pad_top, first_row = -1;
      for (ptrdiff_t ky = 0; ky < kernel_height && first_row < 0; ky++) {
        ptrdiff_t iy = top + ky * dilation_y;
        if (iy >= 0 && iy < in_height) first_row = ky;
      }
      // Each window starts from its first cell inside the plane (row-major order); a window
      // with none is 0 and no cell below folds into it.
      for (ptrdiff_t ox = 0; ox < out_width; ox++) {
        ptrdiff_t left = ox * stride_x - pad_left;
        ptrdiff_t kx = left >= 0 ? 0 : (-left + dilation_x - 1) / dilation_x;
        ptrdiff_t ix = left + kx * dilation_x;
        out[ox] = first_row >= 0 && kx < kernel_width && ix < in_width
                      ? plane[(top + first_row * dilation_y) * in_width + ix]
                      : 0;
      }
      if (first_row < 0) continue;
      for (ptrdiff_t ky = first_row; ky < kernel_height; ky++) {
        ptrdiff_t iy = top + ky * dilation_y;
        if (iy < 0 || iy >= in_height) continue;
        const float *line = plane + iy * in_width;
        for (ptrdiff_t kx = 0; kx < kernel_width; kx++) {
          ptrdiff_t offset = kx * dilation_x - pad_left, first, last;
          inside_range(offset, stride_x, in_width, out_width, &first, &last);
          if (stride_x == 1) {
            fold_cells(out, line, first, last, offset, 1);
          } else if (stride_x == 2) {
            fold_cells(out, line, first, last, offset, 2);
          } else {
            fold_cells(out, line, first, last, offset, stride_x);
          }
        }
      }
    }
  }
}

#ifdef HAS_AVX2_VARIANT
__attribute__((target("avx2"))) static void max_pool_backward_avx2(
    ptrdiff_t planes, ptrdiff_t in_height, ptrdiff_t in_width, ptrdiff_t out_height,
    ptrdiff_t out_width, const float *input, const float *output_gradient,
    float *input_gradient) {
  max_pool_backward(planes, in_height, in_width, out_height, out_width, input, output_gradient,
                    input_gradient);
}

__attribute__((target("avx2"))) static void max_pool_forward_avx2(
    ptrdiff_t planes, ptrdiff_t in_height, ptrdiff_t in_width, ptrdiff_t out_height,
    ptrdiff_t out_width, ptrdiff_t kernel_height, ptrdiff_t kernel_width, ptrdiff_t stride_y,
    ptrdiff_t stride_x, ptrdiff_t pad_top, ptrdiff_t pad_left, ptrdiff_t dilation_y,
    ptrdiff_t dilation_x, const float *input, float *output) {
  max_pool_forward(planes, in_height, in_width, out_height, out_width, kernel_height,
                   kernel_width, stride_y, stride_x, pad_top, pad_left, dilation_y, dilation_x,
                   input, output);
}
#endif

static void max_pool_backward_baseline(ptrdiff_t planes, ptrdiff_t in_height, ptrdiff_t in_width,
                                       ptrdiff_t out_height, ptrdiff_t out_width,
                                       const float *input, const float *output_gradient,
                                       float *input_gradient) {
  max_pool_backward(planes, in_height, in_width, out_height, out_width, input, output_gradient,
                    input_gradient);
}

void bulwark_max_pool_backward_2x2(ptrdiff_t planes, ptrdiff_t in_height, ptrdiff_t in_width,
                                   ptrdiff_t out_height, ptrdiff_t out_width, const float *input,
                                   const float *output_gradient, float *input_gradient,
                                   int portable) {
#ifdef HAS_AVX2_VARIANT
  if (!portable && cpu_has_avx2(0)) {
    max_pool_backward_avx2(planes, in_height, in_width, out_height, out_width, input,
                           output_gradient, input_gradient);
    return;
  }
#endif
  max_pool_backward_baseline(planes, in_height, in_width, out_height, out_width, input,
                             output_gradient, input_gradient);
}

static void max_pool_forward_baseline(ptrdiff_t planes, ptrdiff_t in_height, ptrdiff_t in_width,
                                      ptrdiff_t out_height, ptrdiff_t out_width,
                                      ptrdiff_t kernel_height, ptrdiff_t kernel_width,
                                      ptrdiff_t stride_y, ptrdiff_t stride_x, ptrdiff_t pad_top,
                                      ptrdiff_t pad_left, ptrdiff_t dilation_y,
                                      ptrdiff_t dilation_x, const float *input, float *output) {
  max_pool_forward(planes, in_height, in_width, out_height, out_width, kernel_height,
                   kernel_width, stride_y, stride_x, pad_top, pad_left, dilation_y, dilation_x,
                   input, output);
}

void bulwark_max_pool_forward(ptrdiff_t planes, ptrdiff_t in_height, ptrdiff_t in_width,
                              ptrdiff_t out_height, ptrdiff_t out_width, ptrdiff_t kernel_height,
                              ptrdiff_t kernel_width, ptrdiff_t stride_y, ptrdiff_t stride_x,
                              ptrdiff_t pad_top, ptrdiff_t pad_left, ptrdiff_t dilation_y,
                              ptrdiff_t dilation_x, const float *input, float *output,
                              int portable) {
#ifdef HAS_AVX2_VARIANT
  if (!portable && cpu_has_avx2(0)) {
    max_pool_forward_avx2(planes, in_height, in_width, out_height, out_width, kernel_height,
                          kernel_width, stride_y, stride_x, pad_top, pad_left, dilation_y,
                          dilation_x, input, output);
    return;
  }
#endif
  max_pool_forward_baseline(planes, in_height, in_width, out_height, out_width, kernel_height,
                            kernel_width, stride_y, stride_x, pad_top, pad_left, dilation_y,
                            dilation_x, input, output);
}
