// libjpeg reports fatal errors by calling error_exit, whose default calls exit(). Here error_exit
// longjmps back into the shim function that called libjpeg, which returns -1 with the message.
// setjmp and longjmp never cross a Swift frame: every jump target lives in this file.
//
// C leaves the automatic variables of the function that called setjmp indeterminate after a
// longjmp if they changed in between. So each setjmp sits in a small run_* function that keeps
// no state of its own: libjpeg's structs and our buffers live in the caller's frame (reached
// through a pointer), and the caller cleans up after run_* returns, on both paths.
#include "CJPEGShims.h"

#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jpeglib.h>
#include <jerror.h>

_Static_assert(BULWARK_JPEG_MESSAGE_SIZE >= JMSG_LENGTH_MAX,
               "the message buffer must hold any libjpeg message");

struct shim_error_manager {
  struct jpeg_error_mgr base;
  jmp_buf jump;
  char *message;
};

static void shim_error_exit(j_common_ptr info) {
  struct shim_error_manager *manager = (struct shim_error_manager *)info->err;
  (*info->err->format_message)(info, manager->message);
  longjmp(manager->jump, 1);
}

// A corrupt-data warning (level -1) means libjpeg substituted data; treat it as fatal so that a
// damaged or truncated file is an error rather than a silently grey image. Trace messages
// (level >= 0) are dropped instead of printed to stderr.
static void shim_emit_message(j_common_ptr info, int level) {
  if (level < 0) {
    shim_error_exit(info);
  }
}

static void install_error_manager(struct shim_error_manager *manager, char *message) {
  jpeg_std_error(&manager->base);
  manager->base.error_exit = shim_error_exit;
  manager->base.emit_message = shim_emit_message;
  manager->message = message;
  message[0] = '\0';
}

static int check_geometry(int width, int height, int components, char *message) {
  if (width < 1 || height < 1 || width > JPEG_MAX_DIMENSION || height > JPEG_MAX_DIMENSION) {
    snprintf(message, BULWARK_JPEG_MESSAGE_SIZE, "image size %dx%d outside 1...%ld per side",
             width, height, (long)JPEG_MAX_DIMENSION);
    return -1;
  }
  if (components != 1 && components != 3) {
    snprintf(message, BULWARK_JPEG_MESSAGE_SIZE,
             "%d channels; a JPEG holds 1 (grey) or 3 (RGB)", components);
    return -1;
  }
  return 0;
}

// MARK: Encoding

// A growable in-memory destination that the shim owns, so that the error path can free it
// exactly once (libjpeg's jpeg_mem_dest reallocates behind the caller's back).
struct shim_destination {
  struct jpeg_destination_mgr base;
  unsigned char *buffer;
  size_t capacity;
};

static void shim_init_destination(j_compress_ptr info) {
  struct shim_destination *dest = (struct shim_destination *)info->dest;
  dest->base.next_output_byte = dest->buffer;
  dest->base.free_in_buffer = dest->capacity;
}

// Called only when the buffer is full, so the bytes written so far are exactly capacity.
static boolean shim_empty_output_buffer(j_compress_ptr info) {
  struct shim_destination *dest = (struct shim_destination *)info->dest;
  size_t grown = dest->capacity * 2;
  unsigned char *bigger = realloc(dest->buffer, grown);
  if (bigger == NULL) {
    ERREXIT1(info, JERR_OUT_OF_MEMORY, 10);
  }
  dest->base.next_output_byte = bigger + dest->capacity;
  dest->base.free_in_buffer = grown - dest->capacity;
  dest->buffer = bigger;
  dest->capacity = grown;
  return TRUE;
}

static void shim_term_destination(j_compress_ptr info) { (void)info; }

struct encoder {
  struct jpeg_compress_struct info;
  struct shim_error_manager errors;
  struct shim_destination destination;
};

static int run_encoder(struct encoder *encoder, const unsigned char *pixels, int width,
                       int height, int components, int quality) {
  if (setjmp(encoder->errors.jump)) {
    return -1;
  }
  j_compress_ptr info = &encoder->info;
  jpeg_create_compress(info);
  info->dest = &encoder->destination.base;
  info->image_width = (JDIMENSION)width;
  info->image_height = (JDIMENSION)height;
  info->input_components = components;
  info->in_color_space = components == 3 ? JCS_RGB : JCS_GRAYSCALE;
  jpeg_set_defaults(info);
  jpeg_set_quality(info, quality, TRUE);
  info->dct_method = JDCT_ISLOW;
  info->optimize_coding = FALSE;
  if (components == 3) {
    // 4:2:0: luma at full resolution, both chroma planes halved in each direction.
    info->comp_info[0].h_samp_factor = 2;
    info->comp_info[0].v_samp_factor = 2;
    info->comp_info[1].h_samp_factor = 1;
    info->comp_info[1].v_samp_factor = 1;
    info->comp_info[2].h_samp_factor = 1;
    info->comp_info[2].v_samp_factor = 1;
  }
  jpeg_start_compress(info, TRUE);
  size_t stride = (size_t)width * (size_t)components;
  while (info->next_scanline < info->image_height) {
    JSAMPROW row = (JSAMPROW)(pixels + (size_t)info->next_scanline * stride);
    jpeg_write_scanlines(info, &row, 1);
  }
  jpeg_finish_compress(info);
  return 0;
}

// Encodes into encoder->destination. On success the caller owns destination.buffer and the
// stream is its first `*size` bytes; on failure the buffer is already freed.
static int encode_into(struct encoder *encoder, const unsigned char *pixels, int width,
                       int height, int components, int quality, size_t *size, char *message) {
  message[0] = '\0';
  if (check_geometry(width, height, components, message) != 0) {
    return -1;
  }
  if (quality < 1 || quality > 100) {
    snprintf(message, BULWARK_JPEG_MESSAGE_SIZE, "quality %d outside 1...100", quality);
    return -1;
  }
  struct shim_destination *dest = &encoder->destination;
  dest->base.init_destination = shim_init_destination;
  dest->base.empty_output_buffer = shim_empty_output_buffer;
  dest->base.term_destination = shim_term_destination;
  dest->capacity = 4096 + (size_t)width * (size_t)height * (size_t)components / 4;
  dest->buffer = malloc(dest->capacity);
  if (dest->buffer == NULL) {
    snprintf(message, BULWARK_JPEG_MESSAGE_SIZE, "out of memory");
    return -1;
  }
  encoder->info.err = &encoder->errors.base;
  encoder->info.mem = NULL;  // so that jpeg_destroy_compress is safe whatever happens
  install_error_manager(&encoder->errors, message);
  int status = run_encoder(encoder, pixels, width, height, components, quality);
  if (status == 0) {
    *size = dest->capacity - dest->base.free_in_buffer;
  }
  jpeg_destroy_compress(&encoder->info);
  if (status != 0) {
    free(dest->buffer);
    dest->buffer = NULL;
  }
  return status;
}

int bulwark_jpeg_encode(const unsigned char *pixels, int width, int height, int components,
                        int quality, unsigned char **output, unsigned long *output_size,
                        char message[BULWARK_JPEG_MESSAGE_SIZE]) {
  struct encoder encoder;
  size_t size = 0;
  *output = NULL;
  *output_size = 0;
  if (encode_into(&encoder, pixels, width, height, components, quality, &size, message) != 0) {
    return -1;
  }
  *output = encoder.destination.buffer;
  *output_size = (unsigned long)size;
  return 0;
}

// MARK: Decoding

struct decoder {
  struct jpeg_decompress_struct info;
  struct shim_error_manager errors;
};

static void prepare_decoder(struct decoder *decoder, char *message) {
  decoder->info.err = &decoder->errors.base;
  decoder->info.mem = NULL;  // so that jpeg_destroy_decompress is safe whatever happens
  install_error_manager(&decoder->errors, message);
}

static int run_header_reader(struct decoder *decoder, const unsigned char *data,
                             unsigned long size, int *width, int *height, int *components) {
  if (setjmp(decoder->errors.jump)) {
    return -1;
  }
  j_decompress_ptr info = &decoder->info;
  jpeg_create_decompress(info);
  jpeg_mem_src(info, data, size);
  jpeg_read_header(info, TRUE);
  switch (info->jpeg_color_space) {
  case JCS_GRAYSCALE:
    *components = 1;
    break;
  case JCS_YCbCr:
  case JCS_RGB:
    *components = 3;
    break;
  default:
    snprintf(decoder->errors.message, BULWARK_JPEG_MESSAGE_SIZE,
             "unsupported colour space with %d components (CMYK or YCCK?); "
             "expected greyscale or colour",
             info->num_components);
    return -1;
  }
  *width = (int)info->image_width;
  *height = (int)info->image_height;
  return 0;
}

int bulwark_jpeg_read_header(const unsigned char *data, unsigned long size, int *width,
                             int *height, int *components,
                             char message[BULWARK_JPEG_MESSAGE_SIZE]) {
  struct decoder decoder;
  *width = 0;
  *height = 0;
  *components = 0;
  prepare_decoder(&decoder, message);
  int status = run_header_reader(&decoder, data, size, width, height, components);
  jpeg_destroy_decompress(&decoder.info);
  return status;
}

static int run_decoder(struct decoder *decoder, const unsigned char *data, unsigned long size,
                       unsigned char *pixels, int width, int height, int components) {
  if (setjmp(decoder->errors.jump)) {
    return -1;
  }
  j_decompress_ptr info = &decoder->info;
  jpeg_create_decompress(info);
  jpeg_mem_src(info, data, size);
  jpeg_read_header(info, TRUE);
  info->out_color_space = components == 3 ? JCS_RGB : JCS_GRAYSCALE;
  jpeg_start_decompress(info);
  if ((int)info->output_width != width || (int)info->output_height != height ||
      info->output_components != components) {
    snprintf(decoder->errors.message, BULWARK_JPEG_MESSAGE_SIZE,
             "decoded geometry %ux%ux%d differs from the expected %dx%dx%d",
             info->output_width, info->output_height, info->output_components, width, height,
             components);
    return -1;
  }
  size_t stride = (size_t)width * (size_t)components;
  while (info->output_scanline < info->output_height) {
    JSAMPROW row = (JSAMPROW)(pixels + (size_t)info->output_scanline * stride);
    jpeg_read_scanlines(info, &row, 1);
  }
  jpeg_finish_decompress(info);
  return 0;
}

static int decode_into(const unsigned char *data, unsigned long size, unsigned char *pixels,
                       int width, int height, int components, char *message) {
  message[0] = '\0';
  if (check_geometry(width, height, components, message) != 0) {
    return -1;
  }
  struct decoder decoder;
  prepare_decoder(&decoder, message);
  int status = run_decoder(&decoder, data, size, pixels, width, height, components);
  jpeg_destroy_decompress(&decoder.info);
  return status;
}

int bulwark_jpeg_decode(const unsigned char *data, unsigned long size, unsigned char *pixels,
                        int width, int height, int components,
                        char message[BULWARK_JPEG_MESSAGE_SIZE]) {
  return decode_into(data, size, pixels, width, height, components, message);
}

// MARK: Round trip

int bulwark_jpeg_round_trip(const unsigned char *pixels, int width, int height, int components,
                            int quality, unsigned char *output,
                            char message[BULWARK_JPEG_MESSAGE_SIZE]) {
  struct encoder encoder;
  size_t size = 0;
  if (encode_into(&encoder, pixels, width, height, components, quality, &size, message) != 0) {
    return -1;
  }
  unsigned char *stream = encoder.destination.buffer;
  int status = decode_into(stream, (unsigned long)size, output, width, height, components,
                           message);
  free(stream);
  return status;
}

void bulwark_jpeg_free(unsigned char *buffer) { free(buffer); }
