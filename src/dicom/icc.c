// SPDX-License-Identifier: Apache-2.0
/* ICC profiles: the fixed date and the de-identification (see icc.h). The profile comes
 * from the source file: every offset and count in it is checked against the bytes there
 * are, and text is only ever overwritten in place, so that no tag moves. */
#include "dicom/icc.h"

#include <string.h>

enum { HEADER_BYTES = 128, TAG_TABLE = 128, TAG_ENTRY_BYTES = 12 };

// 2000-01-01 00:00:00 as ICC's dateTimeNumber: six big-endian uint16.
static const uint8_t fixed_date[12] = {0x07, 0xD0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0};

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

bool s2d_icc_is_profile(const uint8_t *profile, size_t len)
{
    return profile && len >= HEADER_BYTES && memcmp(profile + 36, "acsp", 4) == 0;
}

void s2d_icc_fix_date(uint8_t *profile)
{
    memcpy(profile + 24, fixed_date, sizeof fixed_date);
}

// One tag's data (or a structure embedded in it): n bytes at p, all inside the profile.
typedef struct span {
    uint8_t *p;
    size_t n;
} span;

static bool type_is(span s, const char *signature)
{
    return s.n >= 4 && memcmp(s.p, signature, 4) == 0;
}

static void zero_from(span s, size_t from)
{
    if (from < s.n) {
        memset(s.p + from, 0, s.n - from);
    }
}

// Zeroes len bytes at offset at of s, when they lie in s past its first `after` bytes (a
// structure's own header and records, which must stay readable). @return whether they did.
static bool zero_inside(span s, size_t after, uint64_t at, uint64_t len)
{
    if (at < after || at > s.n || len > s.n - at) {
        return false;
    }
    memset(s.p + at, 0, (size_t)len);
    return true;
}

// multiLocalizedUnicodeType: every record's string zeroed (language, country and lengths
// kept). *used: how far into s it reaches, for the types that embed one.
static bool clean_mluc(span s, size_t *used)
{
    if (!type_is(s, "mluc") || s.n < 16) {
        return false;
    }
    uint64_t count = be32(s.p + 8), record_bytes = be32(s.p + 12);
    if (record_bytes < 12 || count > (s.n - 16) / record_bytes) {
        return false;
    }
    uint64_t records_end = 16 + count * record_bytes, end = records_end;
    for (uint64_t i = 0; i < count; i++) {
        const uint8_t *record = s.p + 16 + i * record_bytes;
        uint64_t len = be32(record + 4), at = be32(record + 8);
        if (len == 0) {
            continue;
        }
        if (!zero_inside(s, records_end, at, len)) {
            return false;
        }
        end = at + len > end ? at + len : end;
    }
    *used = (size_t)end;
    return true;
}

// textDescriptionType (version 2): the ASCII, Unicode and ScriptCode descriptions zeroed,
// their counts and codes kept. A description that stops early (readers accept one that
// ends after its ASCII) has what follows zeroed. *used: how far into s it reaches.
static bool clean_desc(span s, size_t *used)
{
    if (!type_is(s, "desc") || s.n < 12) {
        return false;
    }
    uint64_t ascii = be32(s.p + 8);
    if (!zero_inside(s, 12, 12, ascii)) {
        return false;
    }
    size_t at = 12 + (size_t)ascii;
    *used = s.n;
    if (s.n - at < 8) {
        zero_from(s, at);
        return true;
    }
    uint64_t unicode = be32(s.p + at + 4);   // after the 4-byte language code
    at += 8;
    if (unicode > (s.n - at) / 2) {
        return false;
    }
    memset(s.p + at, 0, (size_t)unicode * 2);
    at += (size_t)unicode * 2;
    if (s.n - at < 70) {   // ScriptCode: 2-byte code, 1-byte count, 67 bytes
        zero_from(s, at);
        return true;
    }
    memset(s.p + at + 3, 0, 67);
    *used = at + 70;
    return true;
}

// dictType (the metadata tag): the records' names and values (UTF-16) zeroed, and the
// texts of their display names and values (multiLocalizedUnicodeType).
static bool clean_dict(span s)
{
    if (s.n < 16) {
        return false;
    }
    uint64_t count = be32(s.p + 8), record_bytes = be32(s.p + 12);
    if ((record_bytes != 16 && record_bytes != 24 && record_bytes != 32) ||
        count > (s.n - 16) / record_bytes) {
        return false;
    }
    uint64_t records_end = 16 + count * record_bytes;
    for (uint64_t i = 0; i < count; i++) {
        const uint8_t *record = s.p + 16 + i * record_bytes;
        for (uint64_t k = 0; k < record_bytes / 8; k++) {
            uint64_t at = be32(record + 8 * k), len = be32(record + 8 * k + 4);
            if (len == 0) {
                continue;   // absent, or an empty string
            }
            size_t used;
            bool ok = k < 2 ? zero_inside(s, records_end, at, len)
                            : at >= records_end && at <= s.n && len <= s.n - at &&
                                  clean_mluc((span){s.p + at, (size_t)len}, &used);
            if (!ok) {
                return false;
            }
        }
    }
    return true;
}

// profileSequenceDescType: each profile's manufacturer and model descriptions, embedded
// one after the other (textDescriptionType or multiLocalizedUnicodeType).
static bool clean_pseq(span s)
{
    if (s.n < 12) {
        return false;
    }
    uint64_t count = be32(s.p + 8);
    size_t at = 12;
    for (uint64_t i = 0; i < count; i++) {
        if (s.n - at < 20) {   // manufacturer, model, attributes, technology
            return false;
        }
        at += 20;
        for (int k = 0; k < 2; k++) {
            span text = {s.p + at, s.n - at};
            size_t used = 0;
            if (!clean_desc(text, &used) && !clean_mluc(text, &used)) {
                return false;
            }
            at += used;
        }
    }
    return true;
}

// profileSequenceIdentifierType: each profile's ID (kept) and description.
static bool clean_psid(span s)
{
    if (s.n < 12) {
        return false;
    }
    uint64_t count = be32(s.p + 8);
    if (count > (s.n - 12) / 8) {
        return false;
    }
    uint64_t table_end = 12 + 8 * count;
    for (uint64_t i = 0; i < count; i++) {
        uint64_t at = be32(s.p + 12 + 8 * i), len = be32(s.p + 16 + 8 * i);
        size_t used;
        if (at < table_end || at > s.n || len > s.n - at || len < 16 ||
            !clean_mluc((span){s.p + at + 16, (size_t)len - 16}, &used)) {
            return false;
        }
    }
    return true;
}

// One tag's data, by its type: what holds text loses it; anything else is the colour
// transform's, or says nothing, and stays to the byte.
static void clean_tag(span s)
{
    size_t used;
    bool ok;
    // A tag's bytes past what its structure uses (slack a writer may have filled, gaps
    // between strings) hold nothing of the transform: zeroed with the text.
    if (type_is(s, "desc")) {
        ok = clean_desc(s, &used);
        if (ok) {
            zero_from(s, used);
        }
    } else if (type_is(s, "mluc")) {
        ok = clean_mluc(s, &used);
        if (ok) {   // everything after the records is string storage
            zero_from(s, 16 + (size_t)be32(s.p + 8) * be32(s.p + 12));
        }
    } else if (type_is(s, "dict")) {
        ok = clean_dict(s);
    } else if (type_is(s, "pseq")) {
        ok = clean_pseq(s);
    } else if (type_is(s, "psid")) {
        ok = clean_psid(s);
    } else if (type_is(s, "dtim")) {
        ok = s.n >= 20;
        if (ok) {
            memcpy(s.p + 8, fixed_date, sizeof fixed_date);
        }
    } else if (type_is(s, "text") || type_is(s, "utf8") || type_is(s, "ut16") ||
               type_is(s, "zut8") || type_is(s, "zxml")) {
        ok = false;   // text to the end (iccMAX's zipped ones included)
    } else {
        return;
    }
    zero_from((span){s.p, s.n < 8 ? s.n : 8}, 4);   // reserved: zero by ICC.1, nothing else
    if (!ok) {
        zero_from(s, 4);   // text that does not parse: all of it
    }
}

void s2d_icc_deidentify(uint8_t *profile, size_t len)
{
    s2d_icc_fix_date(profile);
    memset(profile + 84, 0, 16);    // Profile ID
    memset(profile + 100, 0, 28);   // reserved
    if (len < TAG_TABLE + 4) {
        return;
    }
    uint64_t count = be32(profile + TAG_TABLE);
    if (count > (len - TAG_TABLE - 4) / TAG_ENTRY_BYTES) {
        // A table longer than the profile: no reader takes its transform, and no tag can
        // be told from another's text, so nothing past the header stays.
        memset(profile + TAG_TABLE, 0, len - TAG_TABLE);
        return;
    }
    uint64_t table_end = TAG_TABLE + 4 + count * TAG_ENTRY_BYTES;
    for (uint64_t i = 0; i < count; i++) {
        const uint8_t *entry = profile + TAG_TABLE + 4 + i * TAG_ENTRY_BYTES;
        uint64_t at = be32(entry + 4), size = be32(entry + 8);
        // Data in the header or the table is no tag's; past the end, only what is there.
        if (at >= table_end && at < len) {
            clean_tag((span){profile + at, (size_t)(size < len - at ? size : len - at)});
        }
    }
}
