/* What the reader backends share: the reader object, the backend operations and the
 * property list from which slide metadata is derived (OpenSlide's property names, which
 * the TIFF backend produces too, so one function interprets them for both). */
#ifndef S2D_READER_IMPL_H
#define S2D_READER_IMPL_H

#include "reader/reader.h"

typedef struct s2d_props {
    char **keys, **values;
    size_t n, cap;
} s2d_props;

bool s2d_props_set(s2d_props *p, const char *key, const char *value);
const char *s2d_props_get(const s2d_props *p, const char *key);   // NULL when absent or empty
void s2d_props_free(s2d_props *p);

typedef struct s2d_reader_ops {
    void (*close)(s2d_reader *r);
    void *(*ctx_new)(s2d_reader *r, int max_w, int max_h);
    void (*ctx_free)(void *ctx);
    bool (*read_region)(s2d_reader *r, void *ctx, int level, int64_t x, int64_t y, int64_t w,
                        int64_t h, uint8_t *rgb, size_t stride, int *bad_tiles, s2d_error *err);
    bool (*read_frame)(s2d_reader *r, void *ctx, int level, uint32_t col, uint32_t row,
                       int frame_w, int frame_h, s2d_buf *out, s2d_error *err);
    bool (*has_associated)(const s2d_reader *r, const char *name);
    bool (*read_associated)(s2d_reader *r, const char *name, uint8_t **rgb, int64_t *w,
                            int64_t *h, s2d_error *err);
    // NULL when the backend never has one to copy.
    bool (*associated_jpeg)(s2d_reader *r, const char *name, s2d_buf *out, int64_t *w,
                            int64_t *h, char photometric[16]);
} s2d_reader_ops;

struct s2d_reader {
    const s2d_reader_ops *ops;
    void *impl;
    char *path;
    int nlevels;
    s2d_level_info *levels;
    s2d_props props;
    s2d_slide_meta meta;
};

/** Backends: fill r (levels, props, ops, impl) or fail with err. vendor is OpenSlide's name
 *  for the file's format (NULL: OpenSlide does not know it), detected once by the caller.
 *  The TIFF backend fails with err untouched when the layout is not one it copies from. */
bool s2d_tiff_backend_open(s2d_reader *r, const char *vendor, s2d_error *err);
bool s2d_openslide_backend_open(s2d_reader *r, const char *vendor, s2d_error *err);

/** TIFFOpen without libtiff's messages on stderr (we report problems ourselves), and with
 *  tile and strip arrays loaded only when asked for. */
struct tiff;
struct tiff *s2d_tiff_open_quiet(const char *path);

/** Whether the file starts like a TIFF. */
bool s2d_is_tiff(const char *path);

/** *vendor: OpenSlide's name for the file's format, or NULL when OpenSlide does not know
 *  it. Fails only when OpenSlide cannot be loaded. */
bool s2d_openslide_vendor(const char *path, const char **vendor, s2d_error *err);

/** OpenSlide's name for the TIFF formats the TIFF backend reads, told without loading
 *  OpenSlide by OpenSlide's own tests: "hamamatsu" for a TIFF with the NDPI tag 65420;
 *  "aperio" for a tiled TIFF whose first ImageDescription starts with "Aperio" and that has
 *  no mark of the TIFF formats OpenSlide 3.4.1 tries before it (NDPI, Trestle's "MedScan"
 *  Software tag). Ventana's XMP, tried after Aperio, is refused too, out of caution.
 *  NULL: OpenSlide must be asked. */
const char *s2d_tiff_info_known_vendor(const char *path);

#endif
