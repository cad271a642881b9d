/* Reads a DICOM JSON object (PS3.18 F.2) into a dataset: attributes a user supplies. */
#ifndef S2D_JSON_META_H
#define S2D_JSON_META_H

#include "dicom/ds.h"

/** Parses path into a new dataset. Rejects attributes slide2dcm must own (file meta,
 *  pixel description, per-instance UIDs), naming the attribute and the file.
 *  @return the dataset (caller frees) or NULL with err set. */
s2d_ds *s2d_json_meta_load(const char *path, s2d_error *err);

#endif
