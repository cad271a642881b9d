// SPDX-License-Identifier: Apache-2.0
/* The Basic Directory IOD (PS3.3 F.3, PS3.10 8.6): a DICOMDIR of PATIENT, STUDY, SERIES and
 * IMAGE (or ENCAP DOC) records over the instances of a file-set. The only file that knows
 * the Media Storage Directory SOP class and the directory records' keys (PS3.3 F.5). */
#ifndef S2D_IOD_DICOMDIR_H
#define S2D_IOD_DICOMDIR_H

#include <stdbool.h>
#include <stddef.h>

#include "core/buf.h"
#include "slide2dcm/error.h"

/** What the records take from each file, in the order of s2d_dicomdir_tags(). */
enum {
    S2D_DIR_CHARSET,
    S2D_DIR_STUDY_DATE,
    S2D_DIR_CONTENT_DATE,
    S2D_DIR_STUDY_TIME,
    S2D_DIR_CONTENT_TIME,
    S2D_DIR_ACCESSION,
    S2D_DIR_MODALITY,
    S2D_DIR_STUDY_DESCRIPTION,
    S2D_DIR_PATIENT_NAME,
    S2D_DIR_PATIENT_ID,
    S2D_DIR_STUDY_UID,
    S2D_DIR_SERIES_UID,
    S2D_DIR_STUDY_ID,
    S2D_DIR_SERIES_NUMBER,
    S2D_DIR_INSTANCE_NUMBER,
    S2D_DIR_DOCUMENT_TITLE,
    S2D_DIR_MIME_TYPE,
    S2D_DIR_NVALUES
};

/** The tags of those values, ascending (for dicom/scan.h). Static storage. */
const uint32_t *s2d_dicomdir_tags(void);

/** One instance of the file-set. */
typedef struct s2d_dir_instance {
    char file_id[64];             // its path in the file-set, components joined by '\'
    const char *sop_class_uid, *sop_instance_uid, *transfer_syntax_uid;
    char *values[S2D_DIR_NVALUES];   // NULL or "" when the file has none
} s2d_dir_instance;

/** Encodes the DICOMDIR of instances[0..n) (Part 10, Explicit VR Little Endian) into out:
 *  a PATIENT record per Patient ID and Name, a STUDY per Study Instance UID, a SERIES per
 *  Series Instance UID, and per instance an IMAGE record (an ENCAP DOC for an Encapsulated
 *  PDF), in the order the instances come. Keys the records need (type 1) that a file leaves
 *  empty are made up, as docs/media.md says; *invented counts the records given one. */
bool s2d_dicomdir_encode(const s2d_dir_instance *instances, size_t n, s2d_buf *out,
                         int *invented, s2d_error *err);

#endif
