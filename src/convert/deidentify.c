// SPDX-License-Identifier: Apache-2.0
/* The de-identification filter (see deidentify.h). */
#include "convert/deidentify.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "core/sha256.h"
#include "dicom/dict.h"
#include "dicom/icc.h"
#include "dicom/modules/modules.h"

// What becomes of an attribute nobody but the source or slide2dcm gave. The letters are
// PS3.15 Table E.1-1's: where the profile leaves a choice by Type (Z/D, X/Z/D ...), the
// action is the one that keeps every IOD slide2dcm writes valid, since one row serves them
// all (WSM needs Content Date and Acquisition DateTime, Type 1; SC does not).
typedef enum deid_action {
    DEID_EMPTY,       // Z: a zero-length value
    DEID_REMOVE,      // X
    DEID_DUMMY,       // D: a dummy value of the VR
    DEID_PSEUDONYM,   // D: the slide's pseudonym (identifiers the source's name or barcode gave)
    DEID_CLEAN,       // C: a value of ours kept, any other replaced by a neutral one
    DEID_CONTENT_TEXT,   // C: a content item's text (a preparation step's Specimen
                         // Identifier item: the specimen's identifier as filtered)
    DEID_ICC,         // C: an ICC profile without its texts and dates (icc.h)
} deid_action;

typedef struct deid_row {
    uint32_t tag;
    deid_action action;
} deid_row;

#define TAG(group, element) (((uint32_t)(group) << 16) | (element))

// In tag order. Rows for attributes slide2dcm does not write yet are here on purpose:
// the filter cleans what other modules add without knowing them.
static const deid_row rows[] = {
    {TAG(0x0008, 0x0012), DEID_REMOVE},     // Instance Creation Date (X/D)
    {TAG(0x0008, 0x0013), DEID_REMOVE},     // Instance Creation Time (X/Z/D)
    {TAG(0x0008, 0x0020), DEID_EMPTY},      // Study Date (Z)
    {TAG(0x0008, 0x0021), DEID_REMOVE},     // Series Date (X/D)
    {TAG(0x0008, 0x0022), DEID_REMOVE},     // Acquisition Date (X/Z)
    {TAG(0x0008, 0x0023), DEID_DUMMY},      // Content Date (Z/D): WSM Type 1
    {TAG(0x0008, 0x002A), DEID_DUMMY},      // Acquisition DateTime (X/D): WSM Type 1
    {TAG(0x0008, 0x0030), DEID_EMPTY},      // Study Time (Z)
    {TAG(0x0008, 0x0031), DEID_REMOVE},     // Series Time (X/D)
    {TAG(0x0008, 0x0032), DEID_REMOVE},     // Acquisition Time (X/Z)
    {TAG(0x0008, 0x0033), DEID_DUMMY},      // Content Time (Z/D): WSM Type 1
    {TAG(0x0008, 0x0050), DEID_EMPTY},      // Accession Number (Z)
    {TAG(0x0008, 0x0080), DEID_REMOVE},     // Institution Name (X/Z/D)
    {TAG(0x0008, 0x0081), DEID_REMOVE},     // Institution Address (X)
    {TAG(0x0008, 0x0090), DEID_EMPTY},      // Referring Physician's Name (Z)
    {TAG(0x0008, 0x1010), DEID_REMOVE},     // Station Name (X/Z/D)
    {TAG(0x0008, 0x1030), DEID_REMOVE},     // Study Description (X)
    {TAG(0x0008, 0x103E), DEID_REMOVE},     // Series Description (X)
    {TAG(0x0008, 0x1040), DEID_REMOVE},     // Institutional Department Name (X)
    {TAG(0x0008, 0x1050), DEID_REMOVE},     // Performing Physician's Name (X)
    {TAG(0x0008, 0x1070), DEID_REMOVE},     // Operators' Name (X/Z/D)
    {TAG(0x0008, 0x1088), DEID_REMOVE},     // Pyramid Description (free text)
    {TAG(0x0008, 0x2111), DEID_REMOVE},     // Derivation Description (X)
    {TAG(0x0010, 0x0010), DEID_EMPTY},      // Patient's Name (Z)
    {TAG(0x0010, 0x0020), DEID_EMPTY},      // Patient ID (Z)
    {TAG(0x0010, 0x0030), DEID_EMPTY},      // Patient's Birth Date (Z)
    {TAG(0x0010, 0x0040), DEID_EMPTY},      // Patient's Sex (Z)
    {TAG(0x0018, 0x1000), DEID_DUMMY},      // Device Serial Number (X/Z/D): WSM Type 1
    {TAG(0x0018, 0x1002), DEID_REMOVE},     // Device UID (U; Type 3 where it may appear)
    {TAG(0x0018, 0x1008), DEID_REMOVE},     // Gantry ID (X/Z/D)
    {TAG(0x0018, 0x1012), DEID_REMOVE},     // Date of Secondary Capture (X)
    {TAG(0x0018, 0x1014), DEID_REMOVE},     // Time of Secondary Capture (X)
    {TAG(0x0018, 0x1200), DEID_REMOVE},     // Date of Last Calibration (X)
    {TAG(0x0018, 0x1201), DEID_REMOVE},     // Time of Last Calibration (X)
    {TAG(0x0018, 0xA002), DEID_REMOVE},     // Contribution DateTime (X/D; Type 3)
    {TAG(0x0018, 0xA003), DEID_REMOVE},     // Contribution Description (X)
    {TAG(0x0020, 0x0010), DEID_EMPTY},      // Study ID (Z)
    {TAG(0x0020, 0x0027), DEID_PSEUDONYM},  // Pyramid Label: the Container Identifier
    {TAG(0x0020, 0x4000), DEID_REMOVE},     // Image Comments (X)
    {TAG(0x0040, 0x050A), DEID_REMOVE},     // Specimen Accession Number (X)
    {TAG(0x0040, 0x0512), DEID_PSEUDONYM},  // Container Identifier (D)
    {TAG(0x0040, 0x051A), DEID_REMOVE},     // Container Description (X)
    {TAG(0x0040, 0x0551), DEID_PSEUDONYM},  // Specimen Identifier (D): one slide, one name
    {TAG(0x0040, 0x0600), DEID_REMOVE},     // Specimen Short Description (X)
    {TAG(0x0040, 0x0602), DEID_REMOVE},     // Specimen Detailed Description (X)
    {TAG(0x0040, 0xA160), DEID_CONTENT_TEXT},   // Text Value (of a content item)
    {TAG(0x0048, 0x0107), DEID_CLEAN},      // Optical Path Description: channel names
    {TAG(0x0028, 0x2000), DEID_ICC},        // ICC Profile: its texts and dates
    {TAG(0x2200, 0x0002), DEID_EMPTY},      // Label Text (X; Type 2 on a WSM label)
    {TAG(0x2200, 0x0005), DEID_EMPTY},      // Barcode Value (X; Type 2 on a WSM label)
};

static const deid_row *row_of(uint32_t tag)
{
    for (size_t i = 0; i < sizeof rows / sizeof *rows; i++) {
        if (rows[i].tag == tag) {
            return &rows[i];
        }
    }
    return NULL;
}

static bool is_text_vr(const char *vr)
{
    static const char *const text[] = {"AE", "AS", "CS", "DA", "DS", "DT", "IS", "LO", "LT",
                                       "PN", "SH", "ST", "TM", "UC", "UI", "UR", "UT"};
    for (size_t i = 0; i < sizeof text / sizeof *text; i++) {
        if (!strcmp(vr, text[i])) {
            return true;
        }
    }
    return false;
}

static bool is_date_vr(const char *vr)
{
    return !strcmp(vr, "DA") || !strcmp(vr, "DT") || !strcmp(vr, "TM");
}

// A dummy of the VR: a date that says nothing (1 January 1900, midnight), or a word.
static const char *dummy_of(const char *vr)
{
    return !strcmp(vr, "DA") ? "19000101"
           : !strcmp(vr, "TM") ? "000000"
           : !strcmp(vr, "DT") ? "19000101000000"
                               : "DEIDENTIFIED";
}

// Optical Path Description: ours ("Brightfield", "Epifluorescence...") stays; a channel's
// name from the source (OME-XML, ImageJ) becomes "Optical path " and the path's identifier.
static bool clean_path_description(s2d_ds *ds, uint32_t tag, const char *vr, s2d_error *err)
{
    char value[80];
    if (s2d_ds_get_str(ds, tag, value, sizeof value) &&
        (!strcmp(value, "Brightfield") || !strncmp(value, "Epifluorescence", 15))) {
        return true;
    }
    char id[20] = "", neutral[40];
    s2d_ds_get_str(ds, s2d_dict_entry_of(S2D_KW_OpticalPathIdentifier)->tag, id, sizeof id);
    snprintf(neutral, sizeof neutral, "Optical path %s", id);
    return s2d_ds_put_str(ds, tag, vr, neutral, err);
}

// A content item's Text Value: the Specimen Identifier item (121041, DCM) of a
// preparation step repeats its specimen's identifier, which is specimen_id once filtered;
// any other text from the source says what nobody checked, and becomes a dummy.
static bool clean_content_text(s2d_ds *ds, uint32_t tag, const char *vr,
                               const char *specimen_id, s2d_error *err)
{
    const s2d_ds *name = s2d_ds_seq_item(ds, s2d_dict_entry_of(S2D_KW_ConceptNameCodeSequence)->tag,
                                         0);
    char code[20] = "", scheme[20] = "";
    if (name) {
        s2d_ds_get_str(name, s2d_dict_entry_of(S2D_KW_CodeValue)->tag, code, sizeof code);
        s2d_ds_get_str(name, s2d_dict_entry_of(S2D_KW_CodingSchemeDesignator)->tag, scheme,
                       sizeof scheme);
    }
    bool identifier = !strcmp(code, "121041") && !strcmp(scheme, "DCM");
    return s2d_ds_put_str(ds, tag, vr, identifier ? specimen_id : dummy_of(vr), err);
}

// The source's ICC profile stays (the colours depend on it), but not what it says of the
// scanner: its header's creation date (the calibration's, which tells one scanner from
// another), its descriptions, copyright and other texts (a serial number, a site's name),
// all overwritten in place by icc.h, every byte of the colour transform kept.
static bool clean_icc(s2d_ds *ds, uint32_t tag, const char *vr, s2d_error *err)
{
    size_t len;
    const uint8_t *value = s2d_ds_bytes(ds, tag, &len);
    if (!value || len == 0) {
        return true;
    }
    uint8_t *copy = malloc(len);
    if (!copy) {
        return s2d_error_set(err, S2D_ERR_NOMEM, "out of memory");
    }
    memcpy(copy, value, len);
    if (s2d_icc_is_profile(value, len)) {
        s2d_icc_deidentify(copy, len);
    } else {
        memset(copy, 0, len);   // not a profile: no reader's colours depend on it
    }
    bool ok = s2d_ds_put_bytes(ds, tag, vr, copy, len, err);
    free(copy);
    return ok;
}

static bool apply_action(const s2d_deid *d, s2d_ds *ds, uint32_t tag, deid_action action,
                         const char *specimen_id, s2d_error *err)
{
    char vr[3];
    snprintf(vr, sizeof vr, "%s", s2d_ds_vr(ds, tag));
    if (action == DEID_ICC) {
        return clean_icc(ds, tag, vr, err);
    }
    if (action == DEID_REMOVE || !is_text_vr(vr)) {
        s2d_ds_remove(ds, tag);
        return true;
    }
    switch (action) {
    case DEID_EMPTY:
        return s2d_ds_put_str(ds, tag, vr, "", err);
    case DEID_DUMMY:
        return s2d_ds_put_str(ds, tag, vr, dummy_of(vr), err);
    case DEID_PSEUDONYM:
        return s2d_ds_put_str(ds, tag, vr, d->container_id, err);
    case DEID_CLEAN:
        return clean_path_description(ds, tag, vr, err);
    case DEID_CONTENT_TEXT:
        return clean_content_text(ds, tag, vr, specimen_id, err);
    case DEID_REMOVE:
    case DEID_ICC:
        break;
    }
    return true;
}

// Cleans ds against user, the same place in what the user gave (NULL: nothing there).
// specimen_id: the Specimen Identifier in force (the nearest enclosing one, filtered);
// this level's own, which sorts before the sequences that repeat it, takes over.
static bool clean(const s2d_deid *d, s2d_ds *ds, const s2d_ds *user, const char *specimen_id,
                  s2d_error *err)
{
    char own_id[257];
    size_t n = s2d_ds_count(ds);
    uint32_t *tags = malloc((n ? n : 1) * sizeof *tags);
    if (!tags) {
        return s2d_error_set(err, S2D_ERR_NOMEM, "out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        tags[i] = s2d_ds_tag_at(ds, i);   // the loop below removes elements
    }
    bool ok = true;
    for (size_t i = 0; ok && i < n; i++) {
        uint32_t tag = tags[i];
        const char *vr = s2d_ds_vr(ds, tag);
        bool sequence = !strcmp(vr, "SQ");
        if (user && s2d_ds_has(user, tag) && !sequence) {
            continue;   // the user's value: a pseudonym
        }
        const deid_row *row = row_of(tag);
        bool users_items = sequence && user && s2d_ds_has(user, tag);
        if (row && !users_items) {
            ok = apply_action(d, ds, tag, row->action, specimen_id, err);
        } else if (((tag >> 16) & 1) && !users_items) {
            s2d_ds_remove(ds, tag);   // private: no Retain Safe Private Option
        } else if (is_date_vr(vr)) {
            ok = apply_action(d, ds, tag, DEID_DUMMY, specimen_id, err);   // E.1-1's note
        } else if (sequence) {
            if (s2d_ds_get_str(ds, s2d_dict_entry_of(S2D_KW_SpecimenIdentifier)->tag, own_id,
                               sizeof own_id)) {
                specimen_id = own_id;
            }
            size_t items = s2d_ds_seq_count(ds, tag);
            for (size_t k = 0; ok && k < items; k++) {
                ok = clean(d, s2d_ds_seq_item(ds, tag, k),
                           user ? s2d_ds_seq_item(user, tag, k) : NULL, specimen_id, err);
            }
        }
    }
    free(tags);
    return ok;
}

bool s2d_deid_apply(const s2d_deid *d, s2d_ds *ds, s2d_error *err)
{
    if (!clean(d, ds, d->kept, d->container_id, err)) {
        return false;
    }
    // Only the Basic Profile: none of its options (Clean Pixel Data, Retain ... Dates,
    // Retain Device Identity ...) is implemented, so none is claimed.
    s2d_ds_remove(ds, s2d_dict_entry_of(S2D_KW_DeidentificationMethodCodeSequence)->tag);
    return s2d_put_str(ds, S2D_KW_PatientIdentityRemoved, "YES", err) &&
           s2d_put_str(ds, S2D_KW_DeidentificationMethod,
                       "PS3.15 Basic Application Confidentiality Profile; slide2dcm", err) &&
           s2d_put_code(ds, S2D_KW_DeidentificationMethodCodeSequence, "113100", "DCM",
                        "Basic Application Confidentiality Profile", err) &&
           // The dates left are dummies: the temporal information is gone, not shifted.
           s2d_put_str(ds, S2D_KW_LongitudinalTemporalInformationModified, "REMOVED", err);
}

bool s2d_deid_init(s2d_deid *d, const s2d_ds *overrides, const s2d_convert_options *o,
                   const char *seed, s2d_error *err)
{
    memset(d, 0, sizeof *d);
    d->kept = s2d_ds_new();
    if (!d->kept || (overrides && !s2d_ds_merge(d->kept, overrides, err))) {
        return s2d_error_set(err, S2D_ERR_NOMEM, "out of memory");   // no-op if already set
    }
    // --document-title is the user's: the page IODs write it as Document Title and Series
    // Description, outside the overrides.
    if (o->document_title &&
        !(s2d_put_str(d->kept, S2D_KW_DocumentTitle, "", err) &&
          s2d_put_str(d->kept, S2D_KW_SeriesDescription, "", err))) {
        return false;
    }
    if (s2d_ds_get_str(d->kept, s2d_dict_entry_of(S2D_KW_ContainerIdentifier)->tag,
                       d->container_id, sizeof d->container_id)) {
        return true;
    }
    uint8_t bits[32];
    if (seed) {
        // Derived, not the fingerprint itself: the pseudonym says nothing of the file.
        s2d_sha256 h;
        s2d_sha256_init(&h);
        s2d_sha256_update(&h, "container-pseudonym/", 20);
        s2d_sha256_update(&h, seed, strlen(seed));
        s2d_sha256_final(&h, bits);
    } else if (getrandom(bits, 8, 0) != 8) {
        return s2d_error_set(err, S2D_ERR_IO, "no random bytes for a pseudonym");
    }
    char hex[17];
    s2d_hex(bits, 8, hex);
    for (char *c = hex; *c; c++) {
        *c = (char)(*c >= 'a' ? *c - 'a' + 'A' : *c);
    }
    snprintf(d->container_id, sizeof d->container_id, "DEID-%s", hex);
    d->generated = true;
    return true;
}

void s2d_deid_free(s2d_deid *d)
{
    s2d_ds_free(d->kept);
    d->kept = NULL;
}
