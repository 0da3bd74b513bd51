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
    int size_mismatch;  // set when decoding stopped because the header's size was not the expected one
    char message[256];  // OpenJPEG's error text when decoding fails
} copj_image;

/// Decodes a JPEG 2000 codestream (J2K, or a JP2 file) held in memory. Returns 0 on success; on
/// failure returns -1, leaves `samples` NULL and puts the reason in `out->message`. OpenJPEG
/// reads through callbacks and reports errors through a handler, both of which live here in C.
/// An image whose header is not `expected_width` x `expected_height` is refused before decoding,
/// so a hostile header cannot make OpenJPEG allocate for a huge image.
int copj_decode(const unsigned char *data, size_t size, int expected_width, int expected_height, copj_image *out);

void copj_free(copj_image *image);

#endif
