#ifndef COPJ_SHIM_H
#define COPJ_SHIM_H

#include <stddef.h>
#include <stdint.h>

/// A decoded JPEG 2000 image: `components` planes of `width` x `height` samples, plane after plane.
typedef struct {
    int32_t *samples;   // malloc'd; free with copj_free
    int width;
    int height;
    int components;
    int precision;      // bits per sample of component 0
    int is_signed;      // whether component 0 is signed
    char message[256];  // OpenJPEG's error text when decoding fails
} copj_image;

/// Decodes a JPEG 2000 codestream (J2K, or a JP2 file) held in memory. Returns 0 on success; on
/// failure returns -1, leaves `samples` NULL and puts the reason in `out->message`. OpenJPEG
/// reads through callbacks and reports errors through a handler, both of which live here in C.
int copj_decode(const unsigned char *data, size_t size, copj_image *out);

void copj_free(copj_image *image);

#endif
