#ifndef CJPEG_SHIM_H
#define CJPEG_SHIM_H

#include <stddef.h>

/// A decoded JPEG: 8-bit samples, `components` (1 grey or 3 RGB) interleaved per pixel.
typedef struct {
    unsigned char *pixels;   // malloc'd; free with cjpeg_free
    int width;
    int height;
    int components;
    char message[200];       // the library's error text when decoding fails
} cjpeg_image;

/// Decodes a JPEG held in memory. Returns 0 on success; on failure returns -1, leaves `pixels`
/// NULL and puts libjpeg's message in `out->message`. libjpeg reports fatal errors by longjmp,
/// which Swift cannot catch, so the setjmp lives here in C. An image of more than `max_samples`
/// samples (width x height x components) is refused before its buffer is allocated: a few
/// hundred bytes of JPEG can declare 65500 x 65500 pixels (found by fuzzing: a 12 GB malloc).
int cjpeg_decode(const unsigned char *data, size_t size, size_t max_samples, cjpeg_image *out);

/// As cjpeg_decode, saying what three components hold: `ycbcr` 1 = YCbCr (converted to RGB),
/// 0 = RGB (no conversion), -1 = libjpeg's guess from the JFIF/Adobe markers.
int cjpeg_decode_colour(const unsigned char *data, size_t size, int ycbcr, size_t max_samples, cjpeg_image *out);

void cjpeg_free(cjpeg_image *image);

#endif
