// How the GEMM and direct-convolution kernels split rows (or output channels) into register
// blocks, shared so that both take the same edges.
#ifndef BULWARK_BLOCKING_H
#define BULWARK_BLOCKING_H

#include <stddef.h>

// The size of the block that starts `first` into `count`, in blocks of `block`: `block`, or what
// is left when fewer are; but when a block and one or two more are left, half of them, rounded
// up (for blocks of 6, a last 7 or 8 as 4 + 3 or 4 + 4: a block of one or two keeps too few sums
// in flight for the FMA units' latency).
static inline ptrdiff_t block_size(ptrdiff_t first, ptrdiff_t count, ptrdiff_t block) {
  ptrdiff_t left = count - first;
  if (left > block && left <= block + 2) return (left + 1) / 2;
  return left < block ? left : block;
}

#endif
