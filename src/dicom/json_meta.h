// SPDX-License-Identifier: Apache-2.0
/* Reads a DICOM JSON object (PS3.18 F.2) into a dataset: attributes a user supplies. */
#ifndef S2D_JSON_META_H
#define S2D_JSON_META_H

#include "dicom/dict.h"

/** Parses path into a new dataset. Rejects what no dataset holds (file meta, Pixel Data
 *  and after) and, at top level, the nowned attributes of owned (the IOD's: pixel
 *  description, per-instance UIDs), naming the attribute and the file.
 *  @return the dataset (caller frees) or NULL with err set. */
s2d_ds *s2d_json_meta_load(const char *path, const s2d_kw *owned, size_t nowned,
                           s2d_error *err);

/** The same from len bytes of text (a document read elsewhere), which name stands for in
 *  messages. text stays the caller's. */
s2d_ds *s2d_json_meta_parse(const char *text, size_t len, const char *name, const s2d_kw *owned,
                            size_t nowned, s2d_error *err);
/** Cuts a JSON parser's reason (jansson's json_error_t text, modified in place) before the
 *  " near '...'" it may end with: that quotes the file's text, which can be a patient's
 *  value. The line and column say where the error is. */
void s2d_json_meta_unquote_reason(char *text);

#endif
