// libjpeg reports fatal errors by calling error_exit, whose default calls exit(). Here error_exit
// longjmps back into the shim function that called libjpeg, which returns -1 with the message.
// setjmp and longjmp never cross a Swift frame: every jump target lives in this file.
#include "CJPEGShims.h"

#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jpeglib.h>
#include <jerror.h>

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
// damaged or truncated file is an error rather than a silently grey image.
static void shim_emit_message(j_common_ptr info, int level) {
  if (level < 0) {
    shim_error_exit(info);
  }
}

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

static void install_error_manager(struct shim_error_manager *manager, char *message) {
  jpeg_std_error(&manager->base);
  manager->base.error_exit = shim_error_exit;
  manager->base.emit_message = shim_emit_message;
  manager->message = message;
  message[0] = '\0';
}

int bulwark_jpeg_encode(const unsigned char *pixels, int width, int height, int components,
                        int quality, unsigned char **output, unsigned long *output_size,
                        char message[BULWARK_JPEG_MESSAGE_SIZE]) {
  struct jpeg_compress_struct info;
  struct shim_error_manager manager;
  struct shim_destination dest;
  *output = NULL;
  *output_size = 0;
  dest.capacity = 4096 + (size_t)width * (size_t)height * (size_t)components / 4;
  dest.buffer = malloc(dest.capacity);
  if (dest.buffer == NULL) {
    snprintf(message, BULWARK_JPEG_MESSAGE_SIZE, "out of memory");
    return -1;
  }
  info.err = &manager.base;
  install_error_manager(&manager, message);
  if (setjmp(manager.jump)) {
    jpeg_destroy_compress(&info);
    free(dest.buffer);
    return -1;
  }
  jpeg_create_compress(&info);
  dest.base.init_destination = shim_init_destination;
  dest.base.empty_output_buffer = shim_empty_output_buffer;
  dest.base.term_destination = shim_term_destination;
  info.dest = &dest.base;
  info.image_width = (JDIMENSION)width;
  info.image_height = (JDIMENSION)height;
  info.input_components = components;
  info.in_color_space = components == 3 ? JCS_RGB : JCS_GRAYSCALE;
  jpeg_set_defaults(&info);
  jpeg_set_quality(&info, quality, TRUE);
  info.dct_method = JDCT_ISLOW;
  info.optimize_coding = FALSE;
  if (components == 3) {
    // 4:2:0: luma at full resolution, both chroma planes halved in each direction.
    info.comp_info[0].h_samp_factor = 2;
    info.comp_info[0].v_samp_factor = 2;
    info.comp_info[1].h_samp_factor = 1;
    info.comp_info[1].v_samp_factor = 1;
    info.comp_info[2].h_samp_factor = 1;
    info.comp_info[2].v_samp_factor = 1;
  }
  jpeg_start_compress(&info, TRUE);
  size_t stride = (size_t)width * (size_t)components;
  while (info.next_scanline < info.image_height) {
    JSAMPROW row = (JSAMPROW)(pixels + (size_t)info.next_scanline * stride);
    jpeg_write_scanlines(&info, &row, 1);
  }
  jpeg_finish_compress(&info);
  size_t written = dest.capacity - dest.base.free_in_buffer;
  jpeg_destroy_compress(&info);
  *output = dest.buffer;
  *output_size = (unsigned long)written;
  return 0;
}

int bulwark_jpeg_read_header(const unsigned char *data, unsigned long size, int *width,
                             int *height, int *components,
                             char message[BULWARK_JPEG_MESSAGE_SIZE]) {
  struct jpeg_decompress_struct info;
  struct shim_error_manager manager;
  info.err = &manager.base;
  install_error_manager(&manager, message);
  if (setjmp(manager.jump)) {
    jpeg_destroy_decompress(&info);
    return -1;
  }
  jpeg_create_decompress(&info);
  jpeg_mem_src(&info, data, size);
  jpeg_read_header(&info, TRUE);
  *width = (int)info.image_width;
  *height = (int)info.image_height;
  *components = info.num_components == 1 ? 1 : 3;
  jpeg_destroy_decompress(&info);
  return 0;
}

int bulwark_jpeg_decode(const unsigned char *data, unsigned long size, unsigned char *pixels,
                        int width, int height, int components,
                        char message[BULWARK_JPEG_MESSAGE_SIZE]) {
  struct jpeg_decompress_struct info;
  struct shim_error_manager manager;
  info.err = &manager.base;
  install_error_manager(&manager, message);
  if (setjmp(manager.jump)) {
    jpeg_destroy_decompress(&info);
    return -1;
  }
  jpeg_create_decompress(&info);
  jpeg_mem_src(&info, data, size);
  jpeg_read_header(&info, TRUE);
  info.out_color_space = components == 3 ? JCS_RGB : JCS_GRAYSCALE;
  jpeg_start_decompress(&info);
  if ((int)info.output_width != width || (int)info.output_height != height ||
      info.output_components != components) {
    snprintf(message, BULWARK_JPEG_MESSAGE_SIZE,
             "decoded geometry %ux%ux%d differs from the expected %dx%dx%d",
             info.output_width, info.output_height, info.output_components, width, height,
             components);
    jpeg_destroy_decompress(&info);
    return -1;
  }
  size_t stride = (size_t)width * (size_t)components;
  while (info.output_scanline < info.output_height) {
    JSAMPROW row = (JSAMPROW)(pixels + (size_t)info.output_scanline * stride);
    jpeg_read_scanlines(&info, &row, 1);
  }
  jpeg_finish_decompress(&info);
  jpeg_destroy_decompress(&info);
  return 0;
}

void bulwark_jpeg_free(unsigned char *buffer) { free(buffer); }
