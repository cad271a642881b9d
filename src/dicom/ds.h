// SPDX-License-Identifier: Apache-2.0
/* In-memory DICOM dataset builder: elements kept sorted by tag, values stored already
 * encoded (Explicit VR Little Endian, padded to even length). Knows nothing of pixel data. */
#ifndef S2D_DS_H
#define S2D_DS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "slide2dcm/error.h"

#define S2D_TAG(g, e) ((uint32_t)(((uint32_t)(g) << 16) | (uint32_t)(e)))

typedef struct s2d_ds s2d_ds;

/** A new empty dataset, or NULL when out of memory. Owned by the caller, freed with
 *  s2d_ds_free. */
s2d_ds *s2d_ds_new(void);
/** Frees the dataset and its items; NULL is a no-op. */
void s2d_ds_free(s2d_ds *ds);

/** Sets a text element (AE AS CS DA DS DT IS LO LT PN SH ST TM UC UI UR UT). Values of a
 *  multi-valued element are separated by backslashes. Checks each value's length against
 *  its VR and the characters DA/TM/UI/CS allow. Replaces an existing element. */
bool s2d_ds_put_str(s2d_ds *ds, uint32_t tag, const char *vr, const char *value, s2d_error *err);

/** Sets a binary element (OB OD OF OL OV OW UN) from raw bytes, padded with 0 to even length. */
bool s2d_ds_put_bytes(s2d_ds *ds, uint32_t tag, const char *vr, const void *data, size_t len,
                      s2d_error *err);

/** Sets a numeric element (US SS UL SL FL FD SV UV as binary; DS IS as text) from n values. */
bool s2d_ds_put_numbers(s2d_ds *ds, uint32_t tag, const char *vr, const double *values, size_t n,
                        s2d_error *err);
bool s2d_ds_put_number(s2d_ds *ds, uint32_t tag, const char *vr, double value, s2d_error *err);

/** Makes tag an empty sequence if it is missing (Type 2 sequences). */
bool s2d_ds_put_empty_seq(s2d_ds *ds, uint32_t tag, s2d_error *err);

/** Appends an item to sequence tag (created if missing); the item belongs to ds.
 *  @return the new item, or NULL on allocation failure (err set). */
s2d_ds *s2d_ds_seq_append(s2d_ds *ds, uint32_t tag, s2d_error *err);

/** The items of sequence tag in ds (0 when ds lacks it or it is no sequence), and item i
 *  of them (it belongs to ds), or NULL. */
size_t s2d_ds_seq_count(const s2d_ds *ds, uint32_t tag);
s2d_ds *s2d_ds_seq_item(const s2d_ds *ds, uint32_t tag, size_t i);

/** Copies every element of src into dst, replacing elements with the same tag. */
bool s2d_ds_merge(s2d_ds *dst, const s2d_ds *src, s2d_error *err);

void s2d_ds_remove(s2d_ds *ds, uint32_t tag);
bool s2d_ds_has(const s2d_ds *ds, uint32_t tag);
/** The VR of the top-level element tag (storage inside ds, valid while it is there), or
 *  NULL when ds lacks it. */
const char *s2d_ds_vr(const s2d_ds *ds, uint32_t tag);
/** The stored bytes of the top-level element tag (inside ds, valid while it is there;
 *  *len: their even length), or NULL when ds lacks it or it is a sequence or empty. */
const uint8_t *s2d_ds_bytes(const s2d_ds *ds, uint32_t tag, size_t *len);
/** Copies the text value of a top-level element into out (n bytes, the caller's), without
 *  its padding (a trailing space or NUL). @return false, out empty, when ds lacks it, it is
 *  a sequence or the value does not fit. */
bool s2d_ds_get_str(const s2d_ds *ds, uint32_t tag, char *out, size_t n);
size_t s2d_ds_count(const s2d_ds *ds);
/** Tag of the i-th element in tag order. */
uint32_t s2d_ds_tag_at(const s2d_ds *ds, size_t i);

/** Encodes ds as Explicit VR Little Endian with defined lengths. When patch_tag is
 *  non-zero and present at top level, *patch_offset receives the offset of its value
 *  within the encoding (used to fill values known only after the frames are written). */
bool s2d_ds_encode(const s2d_ds *ds, s2d_buf *out, uint32_t patch_tag, size_t *patch_offset,
                   s2d_error *err);

/** Length in bytes of the well-formed UTF-8 character at s (no overlong forms, no
 *  surrogates, nothing above U+10FFFF), or 0 when there is none within n bytes. */
size_t s2d_utf8_char_len(const unsigned char *s, size_t n);

/** Formats a DS value in at most max_chars (1..16) characters. */
void s2d_format_ds(double v, int max_chars, char out[17]);

/** True for VRs with a 4-byte length in Explicit VR encoding. */
bool s2d_vr_is_long(const char *vr);

#endif
