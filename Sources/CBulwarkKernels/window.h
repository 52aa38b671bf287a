// Where a kernel cell of a sliding window lies inside the input, shared by the pooling and
// im2col kernels.
#ifndef BULWARK_WINDOW_H
#define BULWARK_WINDOW_H

#include <stddef.h>

// The windows 0..<extent (of `stride`) whose cell at `offset` (window * stride + offset) lies
// inside 0..<size, as first...last (empty when first > last).
static inline __attribute__((always_inline)) void inside_range(ptrdiff_t offset,
                                                               ptrdiff_t stride, ptrdiff_t size,
                                                               ptrdiff_t extent,
                                                               ptrdiff_t *first,
                                                               ptrdiff_t *last) {
  *first = offset >= 0 ? 0 : (-offset + stride - 1) / stride;
  ptrdiff_t top = size - 1 - offset;
  *last = top < 0 ? -1 : (top / stride < extent - 1 ? top / stride : extent - 1);
}

#endif
