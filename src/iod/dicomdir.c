// SPDX-License-Identifier: Apache-2.0
/* The Basic Directory IOD; see iod/dicomdir.h. */
#include "iod/dicomdir.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/sha256.h"
#include "dicom/dict.h"
#include "dicom/part10.h"
#include "dicom/uid.h"

#define MEDIA_STORAGE_DIRECTORY "1.2.840.10008.1.3.10"
#define EXPLICIT_VR_LITTLE_ENDIAN "1.2.840.10008.1.2.1"
#define ENCAPSULATED_PDF "1.2.840.10008.5.1.4.1.1.104.1"
// The File-set ID (CS, at most 16 characters).
#define FILE_SET_ID "SLIDE2DCM"

static const s2d_kw value_keywords[S2D_DIR_NVALUES] = {
    [S2D_DIR_CHARSET] = S2D_KW_SpecificCharacterSet,
    [S2D_DIR_STUDY_DATE] = S2D_KW_StudyDate,
    [S2D_DIR_CONTENT_DATE] = S2D_KW_ContentDate,
    [S2D_DIR_STUDY_TIME] = S2D_KW_StudyTime,
    [S2D_DIR_CONTENT_TIME] = S2D_KW_ContentTime,
    [S2D_DIR_ACCESSION] = S2D_KW_AccessionNumber,
    [S2D_DIR_MODALITY] = S2D_KW_Modality,
    [S2D_DIR_STUDY_DESCRIPTION] = S2D_KW_StudyDescription,
    [S2D_DIR_PATIENT_NAME] = S2D_KW_PatientName,
    [S2D_DIR_PATIENT_ID] = S2D_KW_PatientID,
    [S2D_DIR_STUDY_UID] = S2D_KW_StudyInstanceUID,
    [S2D_DIR_SERIES_UID] = S2D_KW_SeriesInstanceUID,
    [S2D_DIR_STUDY_ID] = S2D_KW_StudyID,
    [S2D_DIR_SERIES_NUMBER] = S2D_KW_SeriesNumber,
    [S2D_DIR_INSTANCE_NUMBER] = S2D_KW_InstanceNumber,
    [S2D_DIR_DOCUMENT_TITLE] = S2D_KW_DocumentTitle,
    [S2D_DIR_MIME_TYPE] = S2D_KW_MIMETypeOfEncapsulatedDocument,
};

const uint32_t *s2d_dicomdir_tags(void)
{
    static uint32_t tags[S2D_DIR_NVALUES];
    if (!tags[0]) {
        for (int i = 0; i < S2D_DIR_NVALUES; i++) {
            tags[i] = s2d_dict_entry_of(value_keywords[i])->tag;
        }
    }
    return tags;
}

typedef enum record_kind { PATIENT, STUDY, SERIES, LEAF } record_kind;

typedef struct node {
    record_kind kind;
    int first_child, last_child, next;   // node indices, -1: none
    int children;
    const s2d_dir_instance *from;        // the first instance under the node: its keys
    char patient_id[65];                 // PATIENT: the ID its record holds
    s2d_ds *item;                        // its record, in the sequence
} node;

static const char *value(const s2d_dir_instance *in, int which)
{
    const char *v = in->values[which];
    return v ? v : "";
}

// "PREFIX" and the first hex digits of SHA-256 of text, in capitals: a key made up for a
// record whose file leaves it empty, the same for every file of the study.
static void made_up(const char *prefix, const char *text, int digits, char *out, size_t size)
{
    s2d_sha256 h;
    uint8_t digest[32];
    char hex[65];
    s2d_sha256_init(&h);
    s2d_sha256_update(&h, text, strlen(text));
    s2d_sha256_final(&h, digest);
    s2d_hex(digest, sizeof digest, hex);
    for (char *c = hex; *c; c++) {
        *c = *c >= 'a' && *c <= 'f' ? (char)(*c - 'a' + 'A') : *c;
    }
    snprintf(out, size, "%s%.*s", prefix, digits, hex);
}

typedef struct tree {
    node *nodes;
    int n, first_patient, last_patient;
} tree;

static void adopt(tree *t, int parent, int child)
{
    int *first = parent < 0 ? &t->first_patient : &t->nodes[parent].first_child;
    int *last = parent < 0 ? &t->last_patient : &t->nodes[parent].last_child;
    if (*first < 0) {
        *first = child;
    } else {
        t->nodes[*last].next = child;
    }
    *last = child;
    if (parent >= 0) {
        t->nodes[parent].children++;
    }
}

static int add_node(tree *t, int parent, record_kind kind, const s2d_dir_instance *in)
{
    node *nd = &t->nodes[t->n];
    memset(nd, 0, sizeof *nd);
    nd->kind = kind;
    nd->first_child = nd->last_child = nd->next = -1;
    nd->from = in;
    adopt(t, parent, t->n);
    return t->n++;
}

// The child of parent (or the patient, parent -1) whose value `which` is key, or -1.
static int find_child(const tree *t, int parent, int which, const char *key, const char *name)
{
    int c = parent < 0 ? t->first_patient : t->nodes[parent].first_child;
    for (; c >= 0; c = t->nodes[c].next) {
        const node *nd = &t->nodes[c];
        const char *have = parent < 0 ? nd->patient_id : value(nd->from, which);
        if (strcmp(have, key) == 0 &&
            (!name || strcmp(value(nd->from, S2D_DIR_PATIENT_NAME), name) == 0)) {
            return c;
        }
    }
    return -1;
}

static bool put(s2d_ds *ds, s2d_kw kw, const char *text, s2d_error *err)
{
    return s2d_put_str(ds, kw, text, err);
}

// The record's own keys (PS3.3 F.5), with made-up type 1 values counted in *invented.
static bool put_keys(const node *nd, int position, s2d_ds *r, int *invented, s2d_error *err)
{
    const s2d_dir_instance *in = nd->from;
    const char *charset = value(in, S2D_DIR_CHARSET);
    bool ok = true;
    char made[80];
    switch (nd->kind) {
    case PATIENT:
        ok = (!*charset || put(r, S2D_KW_SpecificCharacterSet, charset, err)) &&
             put(r, S2D_KW_PatientName, value(in, S2D_DIR_PATIENT_NAME), err) &&
             put(r, S2D_KW_PatientID, nd->patient_id, err);
        break;
    case STUDY: {
        // Study Date and Time are type 1 here, type 2 in the images: the content's, else
        // the directory's own.
        char today[9], now[7];
        time_t clock = time(NULL);
        struct tm tm;
        gmtime_r(&clock, &tm);
        strftime(today, sizeof today, "%Y%m%d", &tm);
        strftime(now, sizeof now, "%H%M%S", &tm);
        const char *date = value(in, S2D_DIR_STUDY_DATE), *tod = value(in, S2D_DIR_STUDY_TIME);
        if (!*date) {
            date = *value(in, S2D_DIR_CONTENT_DATE) ? value(in, S2D_DIR_CONTENT_DATE) : today;
            ++*invented;
        }
        if (!*tod) {
            tod = *value(in, S2D_DIR_CONTENT_TIME) ? value(in, S2D_DIR_CONTENT_TIME) : now;
            ++*invented;
        }
        const char *study_id = value(in, S2D_DIR_STUDY_ID);
        if (!*study_id) {
            made_up("S2D", value(in, S2D_DIR_STUDY_UID), 8, made, sizeof made);
            study_id = made;
            ++*invented;
        }
        ok = (!*charset || put(r, S2D_KW_SpecificCharacterSet, charset, err)) &&
             put(r, S2D_KW_StudyDate, date, err) && put(r, S2D_KW_StudyTime, tod, err) &&
             put(r, S2D_KW_AccessionNumber, value(in, S2D_DIR_ACCESSION), err) &&
             put(r, S2D_KW_StudyDescription, value(in, S2D_DIR_STUDY_DESCRIPTION), err) &&
             put(r, S2D_KW_StudyInstanceUID, value(in, S2D_DIR_STUDY_UID), err) &&
             put(r, S2D_KW_StudyID, study_id, err);
        break;
    }
    case SERIES: {
        const char *number = value(in, S2D_DIR_SERIES_NUMBER);
        if (!*number) {
            snprintf(made, sizeof made, "%d", position);
            number = made;
            ++*invented;
        }
        ok = put(r, S2D_KW_Modality, value(in, S2D_DIR_MODALITY), err) &&
             put(r, S2D_KW_SeriesInstanceUID, value(in, S2D_DIR_SERIES_UID), err) &&
             put(r, S2D_KW_SeriesNumber, number, err);
        break;
    }
    case LEAF: {
        const char *number = value(in, S2D_DIR_INSTANCE_NUMBER);
        if (!*number) {
            snprintf(made, sizeof made, "%d", position);
            number = made;
            ++*invented;
        }
        ok = put(r, S2D_KW_ReferencedFileID, in->file_id, err) &&
             put(r, S2D_KW_ReferencedSOPClassUIDInFile, in->sop_class_uid, err) &&
             put(r, S2D_KW_ReferencedSOPInstanceUIDInFile, in->sop_instance_uid, err) &&
             put(r, S2D_KW_ReferencedTransferSyntaxUIDInFile, in->transfer_syntax_uid, err) &&
             put(r, S2D_KW_InstanceNumber, number, err);
        if (ok && strcmp(in->sop_class_uid, ENCAPSULATED_PDF) == 0) {
            const char *mime = value(in, S2D_DIR_MIME_TYPE);
            ok = (!*charset || put(r, S2D_KW_SpecificCharacterSet, charset, err)) &&
                 put(r, S2D_KW_ContentDate, value(in, S2D_DIR_CONTENT_DATE), err) &&
                 put(r, S2D_KW_ContentTime, value(in, S2D_DIR_CONTENT_TIME), err) &&
                 put(r, S2D_KW_DocumentTitle, value(in, S2D_DIR_DOCUMENT_TITLE), err) &&
                 s2d_put_empty_seq(r, S2D_KW_ConceptNameCodeSequence, err) &&
                 put(r, S2D_KW_MIMETypeOfEncapsulatedDocument, *mime ? mime : "application/pdf",
                     err);
        }
        break;
    }
    }
    return ok;
}

static const char *kind_name(const node *nd)
{
    static const char *const names[] = {"PATIENT", "STUDY", "SERIES", "IMAGE"};
    if (nd->kind == LEAF && strcmp(nd->from->sop_class_uid, ENCAPSULATED_PDF) == 0) {
        return "ENCAP DOC";
    }
    return names[nd->kind];
}

// Appends the records of node c and its siblings after it, each followed by its children
// (the order of the sequence), to seq; order[] gets the nodes in that order.
static bool add_records(tree *t, s2d_ds *root, int c, int *order, int *norder, int *invented,
                        s2d_error *err)
{
    for (int position = 1; c >= 0; c = t->nodes[c].next, position++) {
        node *nd = &t->nodes[c];
        s2d_ds *r = s2d_put_item(root, S2D_KW_DirectoryRecordSequence, err);
        // Offsets are patched once every record's size is known: 0 holds their place.
        bool ok = r && s2d_put_number(r, S2D_KW_OffsetOfTheNextDirectoryRecord, 0, err) &&
                  s2d_put_number(r, S2D_KW_RecordInUseFlag, 0xFFFF, err) &&
                  s2d_put_number(r, S2D_KW_OffsetOfReferencedLowerLevelDirectoryEntity, 0, err) &&
                  put(r, S2D_KW_DirectoryRecordType, kind_name(nd), err) &&
                  put_keys(nd, position, r, invented, err);
        if (!ok) {
            return false;
        }
        nd->item = r;
        order[(*norder)++] = c;
        if (nd->first_child >= 0 &&
            !add_records(t, root, nd->first_child, order, norder, invented, err)) {
            return false;
        }
    }
    return true;
}

// Builds the tree of records: patients, their studies, series and instances.
static bool build_tree(tree *t, const s2d_dir_instance *instances, size_t n, int *invented)
{
    t->nodes = calloc(4 * n + 1, sizeof *t->nodes);
    if (!t->nodes) {
        return false;
    }
    t->first_patient = t->last_patient = -1;
    for (size_t i = 0; i < n; i++) {
        const s2d_dir_instance *in = &instances[i];
        // Patient ID is type 1 in the record, type 2 in the images: a file without one
        // gets an ID made from its study, so that its study stays apart from others.
        char id[65];
        const char *given = value(in, S2D_DIR_PATIENT_ID);
        if (*given) {
            snprintf(id, sizeof id, "%s", given);
        } else {
            made_up("S2D", value(in, S2D_DIR_STUDY_UID), 13, id, sizeof id);
        }
        int p = find_child(t, -1, S2D_DIR_PATIENT_ID, id, value(in, S2D_DIR_PATIENT_NAME));
        if (p < 0) {
            p = add_node(t, -1, PATIENT, in);
            snprintf(t->nodes[p].patient_id, sizeof t->nodes[p].patient_id, "%s", id);
            *invented += !*given;
        }
        int s = find_child(t, p, S2D_DIR_STUDY_UID, value(in, S2D_DIR_STUDY_UID), NULL);
        if (s < 0) {
            s = add_node(t, p, STUDY, in);
        }
        int se = find_child(t, s, S2D_DIR_SERIES_UID, value(in, S2D_DIR_SERIES_UID), NULL);
        if (se < 0) {
            se = add_node(t, s, SERIES, in);
        }
        add_node(t, se, LEAF, in);
    }
    return true;
}

bool s2d_dicomdir_encode(const s2d_dir_instance *instances, size_t n, s2d_buf *out,
                         int *invented, s2d_error *err)
{
    *invented = 0;
    tree t = {0};
    s2d_ds *root = s2d_ds_new();
    int *order = calloc(4 * n + 1, sizeof *order);
    size_t *lengths = calloc(4 * n + 1, sizeof *lengths);
    s2d_buf meta = {0}, body = {0}, item = {0};
    char uid[S2D_UID_MAX];
    int norder = 0;
    bool ok = root && order && lengths && build_tree(&t, instances, n, invented);
    if (!ok) {
        s2d_error_set(err, S2D_ERR_NOMEM, "out of memory");
    }
    ok = ok && s2d_uid_new(uid, err) &&
         s2d_part10_file_meta(MEDIA_STORAGE_DIRECTORY, uid, EXPLICIT_VR_LITTLE_ENDIAN, &meta,
                              err) &&
         put(root, S2D_KW_FileSetID, FILE_SET_ID, err) &&
         s2d_put_number(root, S2D_KW_OffsetOfTheFirstDirectoryRecordOfTheRootDirectoryEntity, 0,
                        err) &&
         s2d_put_number(root, S2D_KW_OffsetOfTheLastDirectoryRecordOfTheRootDirectoryEntity, 0,
                        err) &&
         s2d_put_number(root, S2D_KW_FileSetConsistencyFlag, 0, err) &&
         s2d_put_empty_seq(root, S2D_KW_DirectoryRecordSequence, err) &&
         add_records(&t, root, t.first_patient, order, &norder, invented, err);
    // Offsets count from the file's first byte (PS3.10 7.1); each record is an item: an
    // 8-byte header, then its elements. The sequence is the last element of the dataset.
    size_t records = 0;
    for (int i = 0; ok && i < norder; i++) {
        item.len = 0;
        ok = s2d_ds_encode(t.nodes[order[i]].item, &item, 0, NULL, err);
        lengths[order[i]] = 8 + item.len;
        records += 8 + item.len;
    }
    ok = ok && s2d_ds_encode(root, &body, 0, NULL, err);
    if (ok) {
        size_t at = meta.len + body.len - records;
        uint32_t *offset = calloc(4 * n + 1, sizeof *offset);
        for (int i = 0; offset && i < norder; i++) {
            offset[order[i]] = (uint32_t)at;
            at += lengths[order[i]];
        }
        ok = offset && at <= UINT32_MAX;
        for (int i = 0; ok && i < norder; i++) {
            const node *nd = &t.nodes[order[i]];
            ok = s2d_put_number(nd->item, S2D_KW_OffsetOfTheNextDirectoryRecord,
                                nd->next >= 0 ? offset[nd->next] : 0, err) &&
                 s2d_put_number(nd->item, S2D_KW_OffsetOfReferencedLowerLevelDirectoryEntity,
                                nd->first_child >= 0 ? offset[nd->first_child] : 0, err);
        }
        ok = ok && t.first_patient >= 0 &&
             s2d_put_number(root, S2D_KW_OffsetOfTheFirstDirectoryRecordOfTheRootDirectoryEntity,
                            offset[t.first_patient], err) &&
             s2d_put_number(root, S2D_KW_OffsetOfTheLastDirectoryRecordOfTheRootDirectoryEntity,
                            offset[t.last_patient], err);
        if (!offset || at > UINT32_MAX || t.first_patient < 0) {
            s2d_error_set(err, S2D_ERR_USAGE, "%s", !offset ? "out of memory"
                                                   : t.first_patient < 0
                                                       ? "no instance for a DICOMDIR"
                                                       : "too many instances for one DICOMDIR");
        }
        free(offset);
        body.len = 0;
        ok = ok && s2d_ds_encode(root, &body, 0, NULL, err);
    }
    if (ok) {
        s2d_buf_append(out, meta.data, meta.len);
        s2d_buf_append(out, body.data, body.len);
        ok = !out->failed || s2d_error_set(err, S2D_ERR_NOMEM, "out of memory");
    }
    s2d_buf_free(&meta);
    s2d_buf_free(&body);
    s2d_buf_free(&item);
    s2d_ds_free(root);
    free(t.nodes);
    free(order);
    free(lengths);
    return ok;
}
