#include "cjpeg_shim.h"

#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jpeglib.h>
#include <jerror.h>

struct shim_error {
    struct jpeg_error_mgr base;
    jmp_buf jump;
    char *message;
};

static void shim_error_exit(j_common_ptr cinfo) {
    struct shim_error *err = (struct shim_error *)cinfo->err;
    char text[JMSG_LENGTH_MAX];
    (*cinfo->err->format_message)(cinfo, text);
    snprintf(err->message, 200, "%s", text);
    longjmp(err->jump, 1);
}

/* Warnings are not fatal; keep quiet rather than print. */
static void shim_output_message(j_common_ptr cinfo) { (void)cinfo; }

/* But data that ends before the last scanline is: libjpeg would fill the rest of the image with
   grey and return it as decoded (a wrong image, and for a 121-byte file declaring a 2^28-sample
   image, seconds of work). The Huffman decoder reads ahead, so a file that only lacks its EOI
   marker meets the end while its last row of MCUs is decoded: that stays a warning. */
static void shim_emit_message(j_common_ptr cinfo, int msg_level) {
    if (msg_level < 0 && cinfo->err->msg_code == JWRN_JPEG_EOF && cinfo->is_decompressor) {
        j_decompress_ptr d = (j_decompress_ptr)cinfo;
        unsigned int last_row = (unsigned int)(d->max_v_samp_factor * d->min_DCT_scaled_size);
        if (d->output_height > 0 && d->output_scanline + last_row < d->output_height) {
            cinfo->err->msg_code = JERR_INPUT_EOF;
            (*cinfo->err->error_exit)(cinfo);
        }
    }
    if (msg_level < 0) cinfo->err->num_warnings++;
}

int cjpeg_decode(const unsigned char *data, size_t size, size_t max_samples, cjpeg_image *out) {
    return cjpeg_decode_colour(data, size, -1, max_samples, out);
}

int cjpeg_decode_colour(const unsigned char *data, size_t size, int ycbcr, size_t max_samples, cjpeg_image *out) {
    struct jpeg_decompress_struct cinfo;
    struct shim_error err;
    memset(out, 0, sizeof(*out));
    cinfo.err = jpeg_std_error(&err.base);
    err.base.error_exit = shim_error_exit;
    err.base.output_message = shim_output_message;
    err.base.emit_message = shim_emit_message;
    err.message = out->message;
    /* volatile: modified between setjmp and a possible longjmp. */
    unsigned char *volatile pixels = NULL;
    if (setjmp(err.jump)) {
        jpeg_destroy_decompress(&cinfo);
        free(pixels);
        out->pixels = NULL;
        return -1;
    }
    jpeg_create_decompress(&cinfo);
    jpeg_mem_src(&cinfo, data, (unsigned long)size);
    jpeg_read_header(&cinfo, TRUE);
    /* Three components: the caller may know better than libjpeg's guess from JFIF/Adobe markers
       whether they hold YCbCr (converted to RGB) or RGB already (DICOM's photometric says). */
    if (cinfo.num_components == 3 && ycbcr >= 0) cinfo.jpeg_color_space = ycbcr ? JCS_YCbCr : JCS_RGB;
    cinfo.out_color_space = cinfo.num_components == 1 ? JCS_GRAYSCALE : JCS_RGB;
    /* Checked before jpeg_start_decompress, which for a progressive file allocates coefficient
       buffers for the whole declared image. */
    if ((size_t)cinfo.image_width * (size_t)cinfo.image_height * (size_t)cinfo.num_components > max_samples) {
        snprintf(out->message, sizeof(out->message), "image of %ux%u pixels x %d components exceeds the limit of %zu samples",
                 cinfo.image_width, cinfo.image_height, cinfo.num_components, max_samples);
        jpeg_destroy_decompress(&cinfo);
        return -1;
    }
    jpeg_start_decompress(&cinfo);
    size_t stride = (size_t)cinfo.output_width * (size_t)cinfo.output_components;
    pixels = malloc(stride * cinfo.output_height);
    if (pixels == NULL) {
        snprintf(out->message, sizeof(out->message), "out of memory for %ux%u pixels",
                 cinfo.output_width, cinfo.output_height);
        jpeg_destroy_decompress(&cinfo);
        return -1;
    }
    while (cinfo.output_scanline < cinfo.output_height) {
        JSAMPROW row = pixels + stride * cinfo.output_scanline;
        jpeg_read_scanlines(&cinfo, &row, 1);
    }
    jpeg_finish_decompress(&cinfo);
    out->pixels = pixels;
    out->width = (int)cinfo.output_width;
    out->height = (int)cinfo.output_height;
    out->components = cinfo.output_components;
    jpeg_destroy_decompress(&cinfo);
    return 0;
}

void cjpeg_free(cjpeg_image *image) {
    free(image->pixels);
    image->pixels = NULL;
}
