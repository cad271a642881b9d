// SPDX-License-Identifier: Apache-2.0
/* The codec table; see codec/codec.h. */
#include "codec/codec.h"

#include <string.h>

// The one list of codecs.
static const s2d_codec *const codecs[] = {
    &s2d_codec_jpeg_baseline,
    &s2d_codec_jpeg2000,
    &s2d_codec_native,
    &s2d_codec_deflated,
    &s2d_codec_rle,
    &s2d_codec_jpeg_ls,
    &s2d_codec_jpeg2000_lossless,
};

const s2d_codec *s2d_codec_at(size_t i)
{
    return i < sizeof codecs / sizeof *codecs ? codecs[i] : NULL;
}

const s2d_codec *s2d_codec_find(const char *transfer_syntax_uid)
{
    for (size_t i = 0; i < sizeof codecs / sizeof *codecs; i++) {
        if (strcmp(codecs[i]->transfer_syntax_uid, transfer_syntax_uid) == 0) {
            return codecs[i];
        }
    }
    return NULL;
}

// --codec's names; the encoders a user may choose.
static const struct {
    const char *option;
    const s2d_codec *codec;
} named[] = {
    {"native", &s2d_codec_native},   {"deflate", &s2d_codec_deflated},
    {"rle", &s2d_codec_rle},         {"jpeg-ls", &s2d_codec_jpeg_ls},
    {"j2k", &s2d_codec_jpeg2000_lossless}, {"jpeg", &s2d_codec_jpeg_baseline},
};

const s2d_codec *s2d_codec_named(const char *option)
{
    for (size_t i = 0; i < sizeof named / sizeof *named; i++) {
        if (strcmp(named[i].option, option) == 0) {
            return named[i].codec;
        }
    }
    return NULL;
}
