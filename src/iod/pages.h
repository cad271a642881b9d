// SPDX-License-Identifier: Apache-2.0
/* What the IODs of plain TIFF pages share (the Secondary Capture family, iod/sc.c, the
 * VL photographs, iod/vl_photo.c, and the Encapsulated PDF, iod/pdf.c): file names,
 * owned attributes, the common modules, and the planning of pages into instances
 * (iod/page_plan.c). */
#ifndef S2D_IOD_PAGES_H
#define S2D_IOD_PAGES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "codec/codec.h"
#include "codec/pixdesc.h"

#include "iod/iod.h"

/** Most frames (pages) in one instance: the Page Number Vector must fit a short value. */
#define S2D_PAGE_RUN_MAX 4096

/** image-001.dcm, image-002.dcm ... and document.dcm (the PDF's): the names of every page
 *  IOD's instances. */
bool s2d_iod_is_page_name(const char *name);

/** What follows from the pixels or identifies one instance. The windows have their own
 *  option (--window); Modality, Conversion Type and Burned In Annotation have flags too,
 *  but may also come from --metadata or a manifest. */
#define S2D_IOD_PAGE_NOWNED 28
extern const s2d_kw s2d_iod_page_owned[S2D_IOD_PAGE_NOWNED];

/** Patient, study, series (no frame of reference), General Image, the history of lossy
 *  steps, body part, derivation and document title: what every page IOD writes. */
bool s2d_iod_pages_common(s2d_ds *ds, const s2d_iod *iod, const s2d_iod_shared *s,
                          const s2d_iod_instance *in, const char *image_type,
                          const char *sop_instance_uid, s2d_error *err);

/** What a plain TIFF is taken for (docs/plain-tiff.md): it decides the IODs. */
typedef enum s2d_page_kind {
    S2D_PAGES_RADIOLOGY,
    S2D_PAGES_DOCUMENT,
    S2D_PAGES_PHOTO,
} s2d_page_kind;

/** One page as it will be written. */
typedef struct s2d_page_desc {
    uint32_t page;             // 0-based in the file
    s2d_pixdesc pixels;        // the written frame (after the pixel mapping, or the JPEG's)
    bool copied;               // its JPEG is copied as it is (codec: JPEG baseline)
    uint64_t copied_bytes;     // then at most this many bytes
} s2d_page_desc;

typedef struct s2d_plan s2d_plan;   // iod/plan.h

/** The instances of a plain TIFF's pages: one per run of consecutive pages that share the
 *  IOD, the pixel description and the coding (one per page with o->pages_as_instances, and
 *  for the single-frame IODs), at most S2D_PAGE_RUN_MAX frames and, under
 *  o->max_instance_bytes, at most that size each with header_bytes for all but the
 *  frames. codec: the frames' codec when not copied.
 *  Names image-001.dcm ... in page order; modality ES makes photographs endoscopic.
 *  @return false with err set (S2D_ERR_INPUT: a page the kind's IOD or the codec cannot
 *  take, naming what would; S2D_ERR_USAGE: one page larger than --max-instance-size). */
bool s2d_plan_pages(const s2d_page_desc *pages, size_t npages, s2d_page_kind kind,
                    const char *modality, const s2d_codec *codec, uint64_t header_bytes,
                    const s2d_convert_options *o, s2d_plan *plan, s2d_error *err);

#endif
