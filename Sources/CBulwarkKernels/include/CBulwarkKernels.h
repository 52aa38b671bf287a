#ifndef BULWARK_KERNELS_H
#define BULWARK_KERNELS_H

#include <stddef.h>

/// Returns 1 when this CPU runs the AVX2 + FMA kernels below, 0 otherwise (the caller then uses
/// its portable Swift kernel).
int bulwark_gemm_avx2_available(void);

/// C (m x n, row stride c_row_stride) += A (m x k, element (i, p) at
/// a[i * a_row_stride + p * a_column_stride]) times B (k x n, row stride b_row_stride), with AVX2
/// and fused multiply-add, packed and blocked for the caches. Every element of C takes its k
/// products in the order p = 0, 1, ..., k - 1, one fused multiply-add each, whatever m, n and k.
/// Returns 1 when done (or when there is nothing to do), 0 when its packing buffers could not be
/// allocated or the CPU lacks AVX2 and FMA (C is then unchanged).
int bulwark_gemm_avx2(ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, const float *a,
                      ptrdiff_t a_row_stride, ptrdiff_t a_column_stride, const float *b,
                      ptrdiff_t b_row_stride, float *c, ptrdiff_t c_row_stride);

/// Values A (m x k) takes packed by bulwark_gemm_pack.
ptrdiff_t bulwark_gemm_packed_size(ptrdiff_t m, ptrdiff_t k);

/// Packs A (m x k, strides as in bulwark_gemm_avx2) once, in the layout the AVX2 kernel reads,
/// into `packed` (bulwark_gemm_packed_size(m, k) values), for products that reuse it.
void bulwark_gemm_pack(ptrdiff_t m, ptrdiff_t k, const float *a, ptrdiff_t a_row_stride,
                       ptrdiff_t a_column_stride, float *packed);

/// bulwark_gemm_avx2 with A packed by bulwark_gemm_pack: the same results, without packing A
/// again. Returns as bulwark_gemm_avx2.
int bulwark_gemm_avx2_packed(ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, const float *packed_a,
                             const float *b, ptrdiff_t b_row_stride, float *c,
                             ptrdiff_t c_row_stride);

/// A convolution's geometry as its kernels read it: window (oy, ox) reads input rows
/// oy * stride_y - pad_top + ky * dilation_y and columns ox * stride_x - pad_left + kx * dilation_x
/// (cells outside the input are zeros).
struct bulwark_convolution {
  ptrdiff_t in_channels, in_height, in_width, out_height, out_width;
  ptrdiff_t kernel_height, kernel_width, stride_y, stride_x, pad_top, pad_left;
  ptrdiff_t dilation_y, dilation_x;
};

/// C (m x images * out_height * out_width, row stride c_row_stride) += A (packed by
/// bulwark_gemm_pack, m x in_channels * kernel_height * kernel_width) times the im2col matrix of
/// `images` consecutive CHW images: bulwark_im2col then bulwark_gemm_avx2_packed, the same bits,
/// without the im2col matrix (each block of it is gathered straight from the images into the
/// packed layout). Returns 1 when done, 0 (C unchanged) when its buffer could not be allocated,
/// the CPU lacks AVX2 and FMA, or the images' offsets (over 17 images) or the windows' rows and
/// columns do not fit 32 bits.
int bulwark_conv_gemm_avx2(const struct bulwark_convolution *conv, ptrdiff_t images,
                           const float *input, ptrdiff_t m, const float *packed_a, float *c,
                           ptrdiff_t c_row_stride);

/// The forward pass of a convolution with one channel group over `count` CHW images, with AVX2
/// and FMA, without im2col: each output is its bias plus, one fused multiply-add at a time, its
/// products in the order (input channel, kernel row, kernel column), the same bits as the
/// im2col + bulwark_gemm_avx2 path. `weight` is out_channels x in_channels x kernel_height x
/// kernel_width, which it packs itself unless `packed_weight` (nullable) holds it packed by
/// bulwark_conv_direct_pack; the trailing padding is implied by the output size. `rectify`
/// nonzero stores max(output, +0) (a ReLU after the convolution: +0 for NaN, zeros and negative
/// values). `pool` nonzero stores, instead of the outputs, their 2x2, stride 2 max pooling as
/// bulwark_max_pool_forward computes it (count x out_channels x out_height / 2 x out_width / 2
/// values; a last odd row or column is dropped). Call it only where
/// bulwark_gemm_avx2_available() says so. Returns 1 when done, 0 when its buffers could not be
/// allocated, stride_x is below 1 or the build has no AVX2 kernels (nothing written).
int bulwark_conv_direct_avx2(const struct bulwark_convolution *conv, ptrdiff_t count,
                             const float *input, const float *weight, const float *packed_weight,
                             const float *bias, ptrdiff_t out_channels, int rectify, int pool,
                             float *output);

/// `weight` (out_channels x in_channels x kernel_height x kernel_width) into `packed` (as many
/// values) in the order bulwark_conv_direct_avx2 reads it, for passes that reuse it.
void bulwark_conv_direct_pack(const struct bulwark_convolution *conv, ptrdiff_t out_channels,
                              const float *weight, float *packed);

/// The input gradient of a convolution with strides 1 and one channel group over `count` CHW
/// output gradients, with AVX2 and FMA, without col2im: each input pixel is +0 plus, per tap in
/// the order (kernel row, kernel column), that tap's products over the output channels summed
/// one fused multiply-add at a time from +0; the same bits as the weightᵀ x gradient product
/// (bulwark_gemm_avx2) and col2im. `weight` is out_channels x in_channels x kernel_height x
/// kernel_width; `input_gradient` (count x in_channels x height x width) is overwritten. Call it
/// only where bulwark_gemm_avx2_available() says so. Returns 1 when done, 0 when its buffer could
/// not be allocated, a padding is negative or the build has no AVX2 kernels (nothing written).
int bulwark_conv_input_gradient_direct_avx2(
    ptrdiff_t count, const float *output_gradient, ptrdiff_t out_channels, ptrdiff_t out_height,
    ptrdiff_t out_width, const float *weight, ptrdiff_t in_channels, ptrdiff_t height,
    ptrdiff_t width, ptrdiff_t kernel_height, ptrdiff_t kernel_width, ptrdiff_t pad_top,
    ptrdiff_t pad_left, ptrdiff_t dilation_y, ptrdiff_t dilation_x, float *input_gradient);

/// The im2col matrices of `images` consecutive CHW images, side by side: the value of row
/// (channel, ky, kx) at image n's position (oy, ox) goes to
/// col[row * column_stride + n * out_height * out_width + oy * out_width + ox]. `portable`
/// nonzero runs the baseline variant even where AVX2 is available (both write the same values).
void bulwark_im2col(const struct bulwark_convolution *conv, ptrdiff_t images,
                    const float *input, float *col, ptrdiff_t column_stride, int portable);

/// The inverse scatter of bulwark_im2col: zeroes the `images` CHW images of `input`, then adds
/// each value of `col` (laid out as bulwark_im2col writes it) to the input cell it was read
/// from, each cell taking its values in the order channel, ky, kx, oy, ox.
void bulwark_col2im(const struct bulwark_convolution *conv, ptrdiff_t images, const float *col,
                    ptrdiff_t column_stride, float *input);

/// Max pooling of `planes` planes of in_height x in_width into out_height x out_width: each output
/// is the first maximum of its window's cells inside the plane, in row-major order (a later cell
/// wins only when strictly greater, so NaN wins only as the first cell), or 0 for a window wholly
/// in the padding. Window (oy, ox) reads rows oy * stride_y - pad_top + ky * dilation_y and
/// columns ox * stride_x - pad_left + kx * dilation_x. A 2x2, stride 2 window without padding
/// takes its upper pair's first maximum, replaced by its lower pair's when that is strictly
/// greater: the same cell but where a NaN is a pair's first cell, and the cell
/// bulwark_max_pool_backward_2x2 routes to. `portable` nonzero runs the baseline variant even
/// where AVX2 is available (both give the same bits).
void bulwark_max_pool_forward(ptrdiff_t planes, ptrdiff_t in_height, ptrdiff_t in_width,
                              ptrdiff_t out_height, ptrdiff_t out_width, ptrdiff_t kernel_height,
                              ptrdiff_t kernel_width, ptrdiff_t stride_y, ptrdiff_t stride_x,
                              ptrdiff_t pad_top, ptrdiff_t pad_left, ptrdiff_t dilation_y,
                              ptrdiff_t dilation_x, const float *input, float *output,
                              int portable);

/// The backward pass of 2x2, stride 2 max pooling over `planes` planes of in_height x in_width:
/// each output gradient goes, as +0 + g, to the first maximum of its window (upper left, upper
/// right, lower left, lower right; a later cell wins only when strictly greater), and the
/// window's other cells get +0. Cells outside every window are not written. `portable` nonzero
/// runs the baseline variant even where AVX2 is available (both give the same bits).
void bulwark_max_pool_backward_2x2(ptrdiff_t planes, ptrdiff_t in_height, ptrdiff_t in_width,
                                   ptrdiff_t out_height, ptrdiff_t out_width, const float *input,
                                   const float *output_gradient, float *input_gradient,
                                   int portable);

/// ART's reverse sigmoid in float32 on `rows` x `columns` values (row-major): per value
/// q = clip(p - beta (sigmoid(gamma ln(pc / (1 - pc))) - 1/2), 0, 1) with pc = clip(p, 1e-9, 1),
/// then each row times 1 / its sum (a row summing to 0 stays 0, NaN spreads over its row).
/// `output` may be `input`. `portable` nonzero runs the baseline variant even where AVX2 + FMA is
/// available (both give the same bits).
void bulwark_reverse_sigmoid(const float *input, float *output, ptrdiff_t rows,
                             ptrdiff_t columns, float beta, float gamma, int portable);

/// NumPy's `around` in float32: rint(x * scale) / scale for `count` values, ties to even, the
/// quotient correctly rounded. `output` may be `input`. `portable` as above.
void bulwark_round_scaled(const float *input, float *output, ptrdiff_t count, float scale,
                          int portable);

#endif
