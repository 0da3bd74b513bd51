#include "copj_shim.h"

#include <openjpeg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The codestream OpenJPEG reads from: memory, with a cursor. */
struct source {
    const unsigned char *data;
    size_t size;
    size_t position;
};

static OPJ_SIZE_T source_read(void *buffer, OPJ_SIZE_T n, void *user) {
    struct source *s = user;
    size_t left = s->size - s->position;
    if (left == 0) return (OPJ_SIZE_T)-1;  /* OpenJPEG's end-of-stream signal */
    if (n > left) n = left;
    memcpy(buffer, s->data + s->position, n);
    s->position += n;
    return n;
}

static OPJ_OFF_T source_skip(OPJ_OFF_T n, void *user) {
    struct source *s = user;
    if (n < 0) {
        if ((size_t)(-n) > s->position) n = -(OPJ_OFF_T)s->position;
    } else if ((size_t)n > s->size - s->position) {
        n = (OPJ_OFF_T)(s->size - s->position);
    }
    s->position = (size_t)((OPJ_OFF_T)s->position + n);
    return n;
}

static OPJ_BOOL source_seek(OPJ_OFF_T n, void *user) {
    struct source *s = user;
    if (n < 0 || (size_t)n > s->size) return OPJ_FALSE;
    s->position = (size_t)n;
    return OPJ_TRUE;
}

/* Keeps the first error OpenJPEG reports (later ones are usually consequences). */
static void on_error(const char *msg, void *user) {
    char *message = user;
    if (message[0] == 0) {
        snprintf(message, 256, "%s", msg);
        size_t len = strlen(message);
        while (len > 0 && (message[len - 1] == '\n' || message[len - 1] == '\r')) message[--len] = 0;
    }
}

static void on_quiet(const char *msg, void *user) { (void)msg; (void)user; }

static int fail(copj_image *out, const char *what) {
    if (out->message[0] == 0) snprintf(out->message, sizeof(out->message), "%s", what);
    else {
        char reason[256];
        snprintf(reason, sizeof(reason), "%s", out->message);
        snprintf(out->message, sizeof(out->message), "%s: %s", what, reason);
    }
    return -1;
}

int copj_decode(const unsigned char *data, size_t size, int expected_width, int expected_height, copj_image *out) {
    memset(out, 0, sizeof(*out));
    static const unsigned char jp2_signature[] = {0, 0, 0, 0x0C, 'j', 'P', ' ', ' '};
    OPJ_CODEC_FORMAT format;
    if (size >= 4 && data[0] == 0xFF && data[1] == 0x4F && data[2] == 0xFF && data[3] == 0x51) format = OPJ_CODEC_J2K;
    else if (size >= 8 && memcmp(data, jp2_signature, 8) == 0) format = OPJ_CODEC_JP2;
    else return fail(out, "not a JPEG 2000 codestream (no SOC marker FF4FFF51 or JP2 signature)");

    struct source src = {data, size, 0};
    opj_stream_t *stream = opj_stream_default_create(OPJ_TRUE);
    opj_codec_t *codec = opj_create_decompress(format);
    opj_image_t *image = NULL;
    int status = -1;
    if (stream == NULL || codec == NULL) { fail(out, "out of memory"); goto done; }
    opj_stream_set_user_data(stream, &src, NULL);
    opj_stream_set_user_data_length(stream, size);
    opj_stream_set_read_function(stream, source_read);
    opj_stream_set_skip_function(stream, source_skip);
    opj_stream_set_seek_function(stream, source_seek);
    opj_set_error_handler(codec, on_error, out->message);
    opj_set_warning_handler(codec, on_quiet, NULL);
    opj_set_info_handler(codec, on_quiet, NULL);

    opj_dparameters_t parameters;
    opj_set_default_decoder_parameters(&parameters);
    if (!opj_setup_decoder(codec, &parameters)) { fail(out, "opj_setup_decoder failed"); goto done; }
    if (!opj_read_header(stream, codec, &image) || image == NULL) { fail(out, "opj_read_header failed"); goto done; }
    if ((long)image->x1 - (long)image->x0 != expected_width || (long)image->y1 - (long)image->y0 != expected_height) {
        snprintf(out->message, sizeof(out->message), "JPEG 2000 image header says %ldx%ld; Columns x Rows say %dx%d",
                 (long)image->x1 - (long)image->x0, (long)image->y1 - (long)image->y0, expected_width, expected_height);
        out->size_mismatch = 1;
        goto done;
    }
    if (!opj_decode(codec, stream, image)) { fail(out, "opj_decode failed"); goto done; }
    if (!opj_end_decompress(codec, stream)) { fail(out, "opj_end_decompress failed"); goto done; }
    if (image->numcomps < 1) { fail(out, "image has no components"); goto done; }

    int w = (int)image->comps[0].w, h = (int)image->comps[0].h;
    for (OPJ_UINT32 c = 0; c < image->numcomps; c++) {
        opj_image_comp_t *comp = &image->comps[c];
        if ((int)comp->w != w || (int)comp->h != h || comp->dx != 1 || comp->dy != 1 || comp->data == NULL) {
            fail(out, "components differ in size or are subsampled");
            goto done;
        }
    }
    size_t plane = (size_t)w * (size_t)h;
    out->samples = malloc(plane * image->numcomps * sizeof(int32_t));
    if (out->samples == NULL) { fail(out, "out of memory"); goto done; }
    for (OPJ_UINT32 c = 0; c < image->numcomps; c++) memcpy(out->samples + c * plane, image->comps[c].data, plane * sizeof(int32_t));
    out->width = w;
    out->height = h;
    out->components = (int)image->numcomps;
    out->precision = (int)image->comps[0].prec;
    out->is_signed = (int)image->comps[0].sgnd;
    out->message[0] = 0;
    status = 0;
done:
    if (image) opj_image_destroy(image);
    if (codec) opj_destroy_codec(codec);
    if (stream) opj_stream_destroy(stream);
    return status;
}

void copj_free(copj_image *image) {
    free(image->samples);
    image->samples = NULL;
}
