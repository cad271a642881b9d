// SPDX-License-Identifier: Apache-2.0
/* DICOM JSON metadata (src/dicom/json_meta.c): any bytes as the --metadata-json document,
 * with the WSM IOD's owned attributes refused as convert refuses them. */
#include "dicom/ds.h"
#include "dicom/json_meta.h"
#include "fuzz.h"
#include "iod/iod.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const s2d_iod *wsm = s2d_iod_find("WSM");
    s2d_error err = {0};
    s2d_ds *ds = s2d_json_meta_parse((const char *)data, size, "metadata.json", wsm->owned,
                                     wsm->nowned, &err);
    s2d_ds_free(ds);
    return 0;
}
