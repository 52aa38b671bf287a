// The backward pass of 2x2, stride 2 max pooling, eight windows per step with the compiler's
// vector extension. Compiled twice, for AVX2 (chosen at run time when the CPU has it) and for the
// baseline target; comparisons, selections and one addition of zero are exact, so both give the
// same bits as the scalar rule.
#include "CBulwarkKernels.h"

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

// Eight windows side by side: each gradient goes, as +0 + g, to the first maximum of its window
// in the order upper left, upper right, lower left, lower right (a later cell wins only when
// strictly greater, so NaN never wins); the window's other cells get +0. `top` and `bottom` are
// the windows' 16 cells of each row.
INLINE void route(const float *top, const float *bottom, const float *gradient, float *top_out,
                  float *bottom_out) {
  floats top0 = load(top), top1 = load(top + 8);
  floats bottom0 = load(bottom), bottom1 = load(bottom + 8);
  floats a = __builtin_shufflevector(top0, top1, 0, 2, 4, 6, 8, 10, 12, 14);
  floats b = __builtin_shufflevector(top0, top1, 1, 3, 5, 7, 9, 11, 13, 15);
  floats c = __builtin_shufflevector(bottom0, bottom1, 0, 2, 4, 6, 8, 10, 12, 14);
  floats d = __builtin_shufflevector(bottom0, bottom1, 1, 3, 5, 7, 9, 11, 13, 15);
  ints right_in_upper = b > a, right_in_lower = d > c;
  floats upper = (floats)((right_in_upper & (ints)b) | (~right_in_upper & (ints)a));
  floats lower = (floats)((right_in_lower & (ints)d) | (~right_in_lower & (ints)c));
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

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define HAS_AVX2_VARIANT 1
__attribute__((target("avx2"))) static void max_pool_backward_avx2(
    ptrdiff_t planes, ptrdiff_t in_height, ptrdiff_t in_width, ptrdiff_t out_height,
    ptrdiff_t out_width, const float *input, const float *output_gradient,
    float *input_gradient) {
  max_pool_backward(planes, in_height, in_width, out_height, out_width, input, output_gradient,
                    input_gradient);
}

static int use_avx2(void) {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2");
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
  if (!portable && use_avx2()) {
    max_pool_backward_avx2(planes, in_height, in_width, out_height, out_width, input,
                           output_gradient, input_gradient);
    return;
  }
#endif
  max_pool_backward_baseline(planes, in_height, in_width, out_height, out_width, input,
                             output_gradient, input_gradient);
}
