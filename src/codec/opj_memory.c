// SPDX-License-Identifier: Apache-2.0
/* OpenJPEG input from memory; see opj_memory.h. */
#include "codec/opj_memory.h"

#include <string.h>

static OPJ_SIZE_T input_read(void *buf, OPJ_SIZE_T n, void *user)
{
    s2d_opj_input *in = user;
    if (in->pos >= in->len) {
        return (OPJ_SIZE_T)-1;
    }
    size_t k = in->len - in->pos < n ? in->len - in->pos : n;
    memcpy(buf, in->data + in->pos, k);
    in->pos += k;
    return k;
}

static OPJ_OFF_T input_skip(OPJ_OFF_T n, void *user)
{
    s2d_opj_input *in = user;
    if (n < 0 || (uint64_t)n > in->len - in->pos) {
        n = (OPJ_OFF_T)(in->len - in->pos);
    }
    in->pos += (size_t)n;
    return n;
}

static OPJ_BOOL input_seek(OPJ_OFF_T n, void *user)
{
    s2d_opj_input *in = user;
    if (n < 0 || (uint64_t)n > in->len) {
        return OPJ_FALSE;
    }
    in->pos = (size_t)n;
    return OPJ_TRUE;
}

opj_stream_t *s2d_opj_input_stream(s2d_opj_input *in)
{
    opj_stream_t *stream = opj_stream_create(64 * 1024, OPJ_TRUE);
    if (stream) {
        opj_stream_set_user_data(stream, in, NULL);
        opj_stream_set_user_data_length(stream, in->len);
        opj_stream_set_read_function(stream, input_read);
        opj_stream_set_skip_function(stream, input_skip);
        opj_stream_set_seek_function(stream, input_seek);
    }
    return stream;
}

static void quiet(const char *msg, void *user)
{
    (void)msg;
    (void)user;
}

void s2d_opj_silence(opj_codec_t *codec)
{
    opj_set_error_handler(codec, quiet, NULL);
    opj_set_warning_handler(codec, quiet, NULL);
    opj_set_info_handler(codec, quiet, NULL);
}
