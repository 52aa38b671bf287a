#ifndef BULWARK_CJPEGSHIMS_H
#define BULWARK_CJPEGSHIMS_H

#include <stddef.h>

/// Size of the buffer that receives libjpeg's error message (libjpeg's JMSG_LENGTH_MAX).
#define BULWARK_JPEG_MESSAGE_SIZE 200

/// Encodes 8-bit interleaved pixels (1 or 3 components) as a baseline JPEG in memory.
///
/// Settings follow ART's JpegCompression through Pillow: standard Huffman tables, quality tables
/// from jpeg_set_quality(quality, TRUE), integer slow DCT, 4:2:0 chroma subsampling for 3
/// components. Width and height must lie in 1...65500, quality in 1...100. On success returns 0
/// and stores a malloc'ed buffer in *output (free it with bulwark_jpeg_free). On failure returns
/// -1, leaves *output NULL and writes a message into message.
int bulwark_jpeg_encode(const unsigned char *pixels, int width, int height, int components,
                        int quality, unsigned char **output, unsigned long *output_size,
                        char message[BULWARK_JPEG_MESSAGE_SIZE]);

/// Reads a JPEG header: width, height and the number of output components (1 for greyscale,
/// 3 for YCbCr or RGB; CMYK and YCCK files are refused). Returns 0 on success, -1 with message on
/// failure.
int bulwark_jpeg_read_header(const unsigned char *data, unsigned long size, int *width,
                             int *height, int *components,
                             char message[BULWARK_JPEG_MESSAGE_SIZE]);

/// Decodes a JPEG in memory into pixels, a caller buffer of width * height * components bytes,
/// with libjpeg's default decoder settings (integer IDCT, fancy upsampling). The geometry must be
/// what bulwark_jpeg_read_header reported; a different one is an error. Corrupt-data warnings
/// (such as a truncated stream that libjpeg would pad with grey) are errors here. Returns 0 on
/// success, -1 with message on failure (pixels may then be partly written).
int bulwark_jpeg_decode(const unsigned char *data, unsigned long size, unsigned char *pixels,
                        int width, int height, int components,
                        char message[BULWARK_JPEG_MESSAGE_SIZE]);

/// Encodes pixels as bulwark_jpeg_encode does and decodes the result into output (a caller
/// buffer of width * height * components bytes, which may be pixels itself), without handing the
/// compressed bytes to the caller. Returns 0 on success, -1 with message on failure.
int bulwark_jpeg_round_trip(const unsigned char *pixels, int width, int height, int components,
                            int quality, unsigned char *output,
                            char message[BULWARK_JPEG_MESSAGE_SIZE]);

/// Frees a buffer returned by bulwark_jpeg_encode.
void bulwark_jpeg_free(unsigned char *buffer);

#endif
