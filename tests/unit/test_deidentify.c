// SPDX-License-Identifier: Apache-2.0
/* The --deidentify filter on datasets built here: rows applied at every depth, the user's
 * values kept item by item, private elements removed, an unknown date made a dummy, the
 * staining step's identifier following the specimen's, the pseudonym generated or the
 * user's, and the method attributes added. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "convert/deidentify.h"
#include "dicom/dict.h"
#include "dicom/icc.h"
#include "dicom/modules/modules.h"
#include "harness.h"

#define TAG(kw) (s2d_dict_entry_of(S2D_KW_##kw)->tag)

static const char *value(const s2d_ds *ds, uint32_t tag)
{
    static char out[257];
    return s2d_ds_get_str(ds, tag, out, sizeof out) ? out : NULL;
}

// What a source and slide2dcm put in a WSM dataset, with a specimen item and a staining
// step repeating its identifier.
static s2d_ds *slide_dataset(void)
{
    s2d_error err = {0};
    s2d_ds *ds = s2d_ds_new();
    CHECK(s2d_put_str(ds, S2D_KW_StudyDate, "20190713", &err));
    CHECK(s2d_put_str(ds, S2D_KW_AcquisitionDateTime, "20190713135742", &err));
    CHECK(s2d_put_str(ds, S2D_KW_PatientID, "", &err));
    CHECK(s2d_put_str(ds, S2D_KW_ContainerIdentifier, "BARCODE-1", &err));
    CHECK(s2d_put_str(ds, S2D_KW_PyramidLabel, "BARCODE-1", &err));
    CHECK(s2d_put_str(ds, S2D_KW_DeviceSerialNumber, "SS1234", &err));
    CHECK(s2d_put_str(ds, S2D_KW_Manufacturer, "Aperio", &err));
    // A date the table does not name, and a private element.
    CHECK(s2d_ds_put_str(ds, 0x00181202, "DA", "20190101", &err));
    CHECK(s2d_ds_put_str(ds, 0x00090010, "LO", "SCANNER PRIVATE", &err));
    s2d_ds *specimen = s2d_put_item(ds, S2D_KW_SpecimenDescriptionSequence, &err);
    CHECK(specimen && s2d_put_str(specimen, S2D_KW_SpecimenIdentifier, "BARCODE-1", &err));
    s2d_ds *step = specimen ? s2d_put_item(specimen, S2D_KW_SpecimenPreparationSequence, &err)
                            : NULL;
    s2d_ds *item = step ? s2d_put_item(step, S2D_KW_SpecimenPreparationStepContentItemSequence,
                                       &err) : NULL;
    CHECK(item && s2d_put_code(item, S2D_KW_ConceptNameCodeSequence, "121041", "DCM",
                               "Specimen Identifier", &err) &&
          s2d_put_str(item, S2D_KW_TextValue, "BARCODE-1", &err));
    return ds;
}

static const s2d_ds *specimen_of(const s2d_ds *ds)
{
    return s2d_ds_seq_item(ds, TAG(SpecimenDescriptionSequence), 0);
}

static const char *step_text(const s2d_ds *ds)
{
    const s2d_ds *step = s2d_ds_seq_item(specimen_of(ds), TAG(SpecimenPreparationSequence), 0);
    const s2d_ds *item = s2d_ds_seq_item(step, TAG(SpecimenPreparationStepContentItemSequence), 0);
    return item ? value(item, TAG(TextValue)) : NULL;
}

static void test_source_values_replaced(void)
{
    s2d_convert_options o;
    s2d_convert_options_init(&o);
    s2d_error err = {0};
    s2d_deid d;
    CHECK(s2d_deid_init(&d, NULL, &o, NULL, &err));
    CHECK(d.generated && strncmp(d.container_id, "DEID-", 5) == 0 &&
          strlen(d.container_id) == 21);
    s2d_ds *ds = slide_dataset();
    CHECK(s2d_deid_apply(&d, ds, &err));
    CHECK(s2d_ds_has(ds, TAG(StudyDate)) && !value(ds, TAG(StudyDate)));   // empty
    CHECK(!strcmp(value(ds, TAG(AcquisitionDateTime)), "19000101000000"));
    CHECK(!strcmp(value(ds, TAG(ContainerIdentifier)), d.container_id));
    CHECK(!strcmp(value(ds, TAG(PyramidLabel)), d.container_id));
    CHECK(!strcmp(value(specimen_of(ds), TAG(SpecimenIdentifier)), d.container_id));
    CHECK(step_text(ds) && !strcmp(step_text(ds), d.container_id));
    CHECK(!strcmp(value(ds, TAG(DeviceSerialNumber)), "DEIDENTIFIED"));
    CHECK(!strcmp(value(ds, TAG(Manufacturer)), "Aperio"));   // kept by the profile
    CHECK(!strcmp(value(ds, 0x00181202), "19000101"));
    CHECK(!s2d_ds_has(ds, 0x00090010));
    CHECK(!strcmp(value(ds, TAG(PatientIdentityRemoved)), "YES"));
    CHECK(!strcmp(value(ds, TAG(LongitudinalTemporalInformationModified)), "REMOVED"));
    const s2d_ds *code = s2d_ds_seq_item(ds, TAG(DeidentificationMethodCodeSequence), 0);
    CHECK(code && !strcmp(value(code, TAG(CodeValue)), "113100") &&
          s2d_ds_seq_count(ds, TAG(DeidentificationMethodCodeSequence)) == 1);
    // Twice is the same: the method's code is not repeated.
    CHECK(s2d_deid_apply(&d, ds, &err));
    CHECK(s2d_ds_seq_count(ds, TAG(DeidentificationMethodCodeSequence)) == 1);
    s2d_ds_free(ds);
    s2d_deid_free(&d);
}

static void test_user_values_kept(void)
{
    s2d_convert_options o;
    s2d_convert_options_init(&o);
    s2d_error err = {0};
    s2d_ds *user = s2d_ds_new();
    CHECK(s2d_put_str(user, S2D_KW_ContainerIdentifier, "CASE-17", &err));
    CHECK(s2d_put_str(user, S2D_KW_PatientID, "PSEUDO-1", &err));
    CHECK(s2d_put_str(user, S2D_KW_StudyDate, "20200101", &err));
    s2d_ds *specimen = s2d_put_item(user, S2D_KW_SpecimenDescriptionSequence, &err);
    CHECK(specimen && s2d_put_str(specimen, S2D_KW_SpecimenIdentifier, "SPEC-3", &err));
    s2d_deid d;
    CHECK(s2d_deid_init(&d, user, &o, NULL, &err));
    CHECK(!d.generated && !strcmp(d.container_id, "CASE-17"));
    s2d_ds *ds = slide_dataset();
    // As the IOD merges them: the user's values over the source's.
    CHECK(s2d_put_str(ds, S2D_KW_ContainerIdentifier, "CASE-17", &err));
    CHECK(s2d_put_str(ds, S2D_KW_PatientID, "PSEUDO-1", &err));
    CHECK(s2d_put_str(ds, S2D_KW_StudyDate, "20200101", &err));
    CHECK(s2d_put_str(s2d_ds_seq_item(ds, TAG(SpecimenDescriptionSequence), 0),
                      S2D_KW_SpecimenIdentifier, "SPEC-3", &err));
    CHECK(s2d_deid_apply(&d, ds, &err));
    CHECK(!strcmp(value(ds, TAG(ContainerIdentifier)), "CASE-17"));
    CHECK(!strcmp(value(ds, TAG(PyramidLabel)), "CASE-17"));
    CHECK(!strcmp(value(ds, TAG(PatientID)), "PSEUDO-1"));
    CHECK(!strcmp(value(ds, TAG(StudyDate)), "20200101"));
    CHECK(!strcmp(value(specimen_of(ds), TAG(SpecimenIdentifier)), "SPEC-3"));
    CHECK(step_text(ds) && !strcmp(step_text(ds), "SPEC-3"));   // follows the specimen's
    s2d_ds_free(ds);
    s2d_ds_free(user);
    s2d_deid_free(&d);
}

// value as an optical path's ICC Profile, through the --deidentify filter: the dataset,
// which the caller frees (s2d_ds_free), and in *out and *len the value it holds now.
static s2d_ds *deidentified_icc(const void *value, size_t n, const uint8_t **out, size_t *len)
{
    s2d_convert_options o;
    s2d_convert_options_init(&o);
    s2d_error err = {0};
    s2d_ds *ds = s2d_ds_new();
    s2d_ds *path = s2d_put_item(ds, S2D_KW_OpticalPathSequence, &err);
    CHECK(path && s2d_put_bytes(path, S2D_KW_ICCProfile, value, n, &err));
    s2d_deid d;
    CHECK(s2d_deid_init(&d, NULL, &o, NULL, &err) && s2d_deid_apply(&d, ds, &err));
    s2d_deid_free(&d);
    *out = s2d_ds_bytes(s2d_ds_seq_item(ds, TAG(OpticalPathSequence), 0), TAG(ICCProfile), len);
    return ds;
}

// The source's ICC profile in an optical path: its creation date, Profile ID and reserved
// bytes go, the rest (no tag here holds text; what the colours depend on) stays byte for
// byte.
static void test_icc_profile_date(void)
{
    uint8_t icc[160];
    for (size_t i = 0; i < sizeof icc; i++) {
        icc[i] = (uint8_t)(i * 7 + 1);
    }
    memcpy(icc + 36, "acsp", 4);
    memset(icc + 128, 0, 4);   // no tags: the bytes after the table are kept as they are
    static const uint8_t scanner_date[12] = {0x07, 0xE3, 0, 7, 0, 13, 0, 13, 0, 57, 0, 42};
    memcpy(icc + 24, scanner_date, sizeof scanner_date);
    const uint8_t *out;
    size_t len;
    s2d_ds *ds = deidentified_icc(icc, sizeof icc, &out, &len);
    static const uint8_t fixed_date[12] = {0x07, 0xD0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0};
    static const uint8_t no_id[16] = {0};
    CHECK(out && len == sizeof icc);
    CHECK(out && !memcmp(out + 24, fixed_date, 12) && !memcmp(out + 84, no_id, 16));
    static const uint8_t reserved[28] = {0};
    CHECK(out && !memcmp(out, icc, 24) && !memcmp(out + 36, icc + 36, 84 - 36) &&
          !memcmp(out + 100, reserved, 28) && !memcmp(out + 128, icc + 128, sizeof icc - 128));
    s2d_ds_free(ds);
}

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

// Text tags a hostile source may write (counts and offsets past their data, a size past
// the profile, a record pointing into its own table): their text goes all the same, and a
// curve tag beside them (the transform's) stays byte for byte.
static void test_icc_profile_broken_texts(void)
{
    enum { LEN = 512, NTAGS = 6 };
    uint8_t icc[LEN] = {0};
    put_be32(icc, LEN);
    memcpy(icc + 36, "acsp", 4);
    put_be32(icc + 128, NTAGS);
    static const char marker[] = "MKSERIAL";
    const uint32_t at[NTAGS] = {208, 256, 304, 352, 400, 448}, size[NTAGS] = {40, 40, 40, 40,
                                                                              40, 400};
    const char *types[NTAGS] = {"desc", "mluc", "dict", "pseq", "curv", "text"};
    for (int i = 0; i < NTAGS; i++) {
        uint8_t *entry = icc + 132 + 12 * i;
        memcpy(entry, types[i], 4);   // the signature does not matter, the type does
        put_be32(entry + 4, at[i]);
        put_be32(entry + 8, size[i]);
        memcpy(icc + at[i], types[i], 4);
        memcpy(icc + at[i] + 32, marker, 8);   // past every count and offset below
    }
    put_be32(icc + 208 + 8, 0xFFFFFFF0u);   // desc: an ASCII count past everything
    put_be32(icc + 256 + 8, 1);             // mluc: one record ...
    put_be32(icc + 256 + 12, 12);
    put_be32(icc + 256 + 20, 8);            // ... whose string is its own table
    put_be32(icc + 256 + 24, 4);
    put_be32(icc + 304 + 8, 0x20000000u);   // dict: more records than bytes
    put_be32(icc + 304 + 12, 16);
    put_be32(icc + 352 + 8, 3);             // pseq: three profiles in 40 bytes
    uint8_t curve[40];
    memcpy(curve, icc + 400, sizeof curve);   // text: size 400, past the end (512)
    s2d_icc_deidentify(icc, LEN);
    for (size_t i = 0; i + 8 <= LEN; i++) {
        CHECK(memcmp(icc + i, marker, 8) != 0 || i == 400 + 32);
    }
    CHECK(!memcmp(icc + 400, curve, sizeof curve));
    for (int i = 0; i < NTAGS; i++) {
        CHECK(!memcmp(icc + at[i], types[i], 4));   // every type signature stays
    }
}

// A tag table longer than the profile (a count of 1000 in 512 bytes) and a description with
// text in its slack past the ScriptCode: neither keeps its text.
static void test_icc_profile_hidden_texts(void)
{
    enum { LEN = 512 };
    static const char marker[] = "MKSERIAL";
    uint8_t icc[LEN] = {0};
    put_be32(icc, LEN);
    memcpy(icc + 36, "acsp", 4);
    put_be32(icc + 128, 1000);
    memcpy(icc + 300, marker, 8);
    s2d_icc_deidentify(icc, LEN);
    for (size_t i = 0; i + 8 <= LEN; i++) {
        CHECK(memcmp(icc + i, marker, 8) != 0);
    }

    memset(icc, 0, LEN);
    put_be32(icc, LEN);
    memcpy(icc + 36, "acsp", 4);
    put_be32(icc + 128, 1);
    memcpy(icc + 132, "desc", 4);
    put_be32(icc + 136, 144);
    put_be32(icc + 140, 200);   // 4 + 4 + 4 + 2 ASCII + 8 + 70 = 92 used, 108 of slack
    memcpy(icc + 144, "desc", 4);
    put_be32(icc + 152, 2);
    memcpy(icc + 144 + 150, marker, 8);
    s2d_icc_deidentify(icc, LEN);
    for (size_t i = 0; i + 8 <= LEN; i++) {
        CHECK(memcmp(icc + i, marker, 8) != 0);
    }
    CHECK(!memcmp(icc + 144, "desc", 4));
}

// A value that is not an ICC profile says nothing of the colours: zeroed, its length kept.
static void test_icc_not_a_profile(void)
{
    static const char junk[] = "MKSERIAL, not a profile";
    const uint8_t *out;
    size_t len;
    s2d_ds *ds = deidentified_icc(junk, sizeof junk, &out, &len);
    static const uint8_t zeros[sizeof junk] = {0};
    CHECK(out && len >= sizeof junk && !memcmp(out, zeros, sizeof junk));
    s2d_ds_free(ds);
}

static void test_derived_pseudonym(void)
{
    s2d_convert_options o;
    s2d_convert_options_init(&o);
    s2d_error err = {0};
    const char *seed = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    s2d_deid a, b, c;
    CHECK(s2d_deid_init(&a, NULL, &o, seed, &err) && s2d_deid_init(&b, NULL, &o, seed, &err));
    CHECK(!strcmp(a.container_id, b.container_id));
    CHECK(s2d_deid_init(&c, NULL, &o, "f", &err) && strcmp(a.container_id, c.container_id));
    CHECK(!strstr(a.container_id, "0123456789"));   // derived, not the seed itself
    s2d_deid_free(&a);
    s2d_deid_free(&b);
    s2d_deid_free(&c);
}

int main(void)
{
    RUN(test_source_values_replaced);
    RUN(test_user_values_kept);
    RUN(test_icc_profile_date);
    RUN(test_icc_profile_broken_texts);
    RUN(test_icc_profile_hidden_texts);
    RUN(test_icc_not_a_profile);
    RUN(test_derived_pseudonym);
    return harness_failures != 0;
}
