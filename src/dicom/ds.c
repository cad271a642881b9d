// SPDX-License-Identifier: Apache-2.0
/* Dataset builder and Explicit VR Little Endian encoder; see dicom/ds.h.
 * Invariant: elems is sorted by tag with no duplicates; every stored value has even length. */
#include "dicom/ds.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct elem {
    uint32_t tag;
    char vr[3];
    uint8_t *value;      // encoded, even length; NULL for SQ
    uint32_t len;
    s2d_ds **items;      // SQ only
    size_t nitems;
} elem;

struct s2d_ds {
    elem *elems;
    size_t n, cap;
};

s2d_ds *s2d_ds_new(void)
{
    return calloc(1, sizeof(s2d_ds));
}

static void elem_clear(elem *e)
{
    free(e->value);
    for (size_t i = 0; i < e->nitems; i++) {
        s2d_ds_free(e->items[i]);
    }
    free(e->items);
    memset(e, 0, sizeof *e);
}

void s2d_ds_free(s2d_ds *ds)
{
    if (!ds) {
        return;
    }
    for (size_t i = 0; i < ds->n; i++) {
        elem_clear(&ds->elems[i]);
    }
    free(ds->elems);
    free(ds);
}

static size_t lower_bound(const s2d_ds *ds, uint32_t tag)
{
    size_t lo = 0, hi = ds->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (ds->elems[mid].tag < tag) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo;
}

static elem *find(const s2d_ds *ds, uint32_t tag)
{
    size_t i = lower_bound(ds, tag);
    return i < ds->n && ds->elems[i].tag == tag ? &ds->elems[i] : NULL;
}

bool s2d_ds_has(const s2d_ds *ds, uint32_t tag)
{
    return find(ds, tag) != NULL;
}

const char *s2d_ds_vr(const s2d_ds *ds, uint32_t tag)
{
    const elem *e = find(ds, tag);
    return e ? e->vr : NULL;
}

const uint8_t *s2d_ds_bytes(const s2d_ds *ds, uint32_t tag, size_t *len)
{
    const elem *e = find(ds, tag);
    *len = e && e->value ? e->len : 0;
    return *len ? e->value : NULL;
}

bool s2d_ds_get_str(const s2d_ds *ds, uint32_t tag, char *out, size_t n)
{
    const elem *e = find(ds, tag);
    size_t len = e && e->value ? e->len : 0;
    while (len && (e->value[len - 1] == ' ' || e->value[len - 1] == '\0')) {
        len--;
    }
    if (n) {
        out[0] = '\0';
    }
    if (!e || !e->value || len >= n) {
        return false;
    }
    memcpy(out, e->value, len);
    out[len] = '\0';
    return true;
}

size_t s2d_ds_count(const s2d_ds *ds)
{
    return ds->n;
}

uint32_t s2d_ds_tag_at(const s2d_ds *ds, size_t i)
{
    return i < ds->n ? ds->elems[i].tag : 0;
}

void s2d_ds_remove(s2d_ds *ds, uint32_t tag)
{
    size_t i = lower_bound(ds, tag);
    if (i < ds->n && ds->elems[i].tag == tag) {
        elem_clear(&ds->elems[i]);
        memmove(&ds->elems[i], &ds->elems[i + 1], (ds->n - i - 1) * sizeof(elem));
        ds->n--;
    }
}

// Returns the slot for tag, emptied, inserting one if needed.
static elem *slot(s2d_ds *ds, uint32_t tag, const char *vr, s2d_error *err)
{
    size_t i = lower_bound(ds, tag);
    if (i < ds->n && ds->elems[i].tag == tag) {
        elem_clear(&ds->elems[i]);
    } else {
        if (ds->n == ds->cap) {
            size_t cap = ds->cap ? ds->cap * 2 : 16;
            elem *p = realloc(ds->elems, cap * sizeof(elem));
            if (!p) {
                s2d_error_set(err, S2D_ERR_NOMEM, "out of memory building a dataset");
                return NULL;
            }
            ds->elems = p;
            ds->cap = cap;
        }
        memmove(&ds->elems[i + 1], &ds->elems[i], (ds->n - i) * sizeof(elem));
        memset(&ds->elems[i], 0, sizeof(elem));
        ds->n++;
    }
    elem *e = &ds->elems[i];
    e->tag = tag;
    memcpy(e->vr, vr, 2);
    e->vr[2] = '\0';
    return e;
}

bool s2d_vr_is_long(const char *vr)
{
    static const char *const long_vrs[] = {"OB", "OD", "OF", "OL", "OV", "OW", "SQ",
                                           "SV", "UC", "UN", "UR", "UT", "UV"};
    for (size_t i = 0; i < sizeof long_vrs / sizeof *long_vrs; i++) {
        if (memcmp(vr, long_vrs[i], 2) == 0) {
            return true;
        }
    }
    return false;
}

typedef struct text_rule {
    const char *vr;
    size_t max_chars;     // per value; 0 = only the element length limit
    bool multi;           // backslash separates values
    const char *allowed;  // NULL = any character except control characters
} text_rule;

static const text_rule text_rules[] = {
    {"AE", 16, true, NULL},
    {"AS", 4, true, "0123456789DWMY"},
    {"CS", 16, true, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_ "},
    {"DA", 8, true, "0123456789"},
    {"DS", 16, true, "0123456789+-.eE "},
    {"DT", 26, true, "0123456789+-. "},
    {"IS", 12, true, "0123456789+- "},
    {"LO", 64, true, NULL},
    {"LT", 10240, false, NULL},
    {"PN", 64 * 3 + 2, true, NULL},
    {"SH", 16, true, NULL},
    {"ST", 1024, false, NULL},
    {"TM", 14, true, "0123456789. "},
    {"UC", 0, true, NULL},
    {"UI", 64, true, "0123456789."},
    {"UR", 0, false, NULL},
    {"UT", 0, false, NULL},
};

static const text_rule *text_rule_for(const char *vr)
{
    for (size_t i = 0; i < sizeof text_rules / sizeof *text_rules; i++) {
        if (memcmp(vr, text_rules[i].vr, 2) == 0) {
            return &text_rules[i];
        }
    }
    return NULL;
}

// Characters, not bytes: the DICOM limits for LO, SH, PN... count characters.
static size_t utf8_chars(const char *s, size_t n)
{
    size_t count = 0;
    for (size_t i = 0; i < n; i++) {
        if (((unsigned char)s[i] & 0xC0) != 0x80) {
            count++;
        }
    }
    return count;
}

// Well-formed UTF-8 (our Specific Character Set is ISO_IR 192): no stray continuation
// bytes, no overlong forms, no surrogates, nothing above U+10FFFF.
size_t s2d_utf8_char_len(const unsigned char *s, size_t n)
{
    if (n == 0) {
        return 0;
    }
    unsigned c = s[0];
    size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (len == 0 || len > n) {
        return 0;
    }
    uint32_t cp = len == 1 ? c : c & (0x7F >> len);
    for (size_t k = 1; k < len; k++) {
        if ((s[k] & 0xC0) != 0x80) {
            return 0;
        }
        cp = cp << 6 | (s[k] & 0x3F);
    }
    static const uint32_t min_for_len[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < min_for_len[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
        return 0;
    }
    return len;
}

static bool valid_utf8(const unsigned char *s, size_t n)
{
    for (size_t i = 0, len; i < n; i += len) {
        if ((len = s2d_utf8_char_len(s + i, n - i)) == 0) {
            return false;
        }
    }
    return true;
}

// UID: components of digits separated by single dots, no leading zero in a component.
static bool valid_uid(const char *v, size_t n)
{
    size_t start = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i == n || v[i] == '.') {
            size_t len = i - start;
            if (len == 0 || (len > 1 && v[start] == '0')) {
                return false;
            }
            start = i + 1;
        }
    }
    return true;
}

// n digits at s, as a number; -1 when one is not a digit.
static int digits(const char *s, size_t n)
{
    int v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return -1;
        }
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

static bool valid_date(const char *v)   // YYYYMMDD, a day of the calendar
{
    static const int days[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int y = digits(v, 4), m = digits(v + 4, 2), d = digits(v + 6, 2);
    bool leap = y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
    return y >= 0 && m >= 1 && m <= 12 && d >= 1 && d <= days[m - 1] &&
           (m != 2 || d <= 28 || leap);
}

// HH[MM[SS[.F{1,6}]]] (PS3.5 table 6.2-1), n characters.
static bool valid_time(const char *v, size_t n)
{
    static const int max[] = {23, 59, 60};
    size_t i = 0;
    for (int part = 0; part < 3 && i < n && v[i] != '.'; part++, i += 2) {
        int x = i + 2 <= n ? digits(v + i, 2) : -1;
        if (x < 0 || x > max[part]) {
            return false;
        }
    }
    if (i == 0 || (i < n && (i != 6 || v[i] != '.' || n - i < 2 || n - i > 7))) {
        return false;
    }
    return i >= n || digits(v + i + 1, n - i - 1) >= 0;
}

// YYYY[MM[DD[HH[MM[SS[.F{1,6}]]]]]][&ZZXX], n characters.
static bool valid_datetime(const char *v, size_t n)
{
    const char *sign = memchr(v, '+', n);
    sign = sign ? sign : memchr(v, '-', n);
    size_t body = sign ? (size_t)(sign - v) : n;
    if (sign) {
        int hh = n - body == 5 ? digits(sign + 1, 2) : -1, mm = hh >= 0 ? digits(sign + 3, 2) : -1;
        if (hh < 0 || hh > 14 || mm < 0 || mm > 59) {
            return false;
        }
    }
    if (body < 4 || digits(v, 4) < 0) {
        return false;
    }
    char date[9] = "00000101";
    memcpy(date, v, body < 8 ? body : 8);
    if (body == 5 || body == 7 || !valid_date(date)) {
        return false;
    }
    return body <= 8 || valid_time(v + 8, body - 8);
}

static bool valid_age(const char *v, size_t n)   // nnnD, nnnW, nnnM or nnnY
{
    return n == 4 && digits(v, 3) >= 0 && strchr("DWMY", v[3]) && v[3];
}

// Whether one value of a dated or aged VR has its form; other VRs are not checked here.
static bool valid_form(const char *vr, const char *v, size_t n)
{
    while (n && v[n - 1] == ' ') {   // the padding a stored value may carry
        n--;
    }
    if (n == 0) {
        return true;
    }
    if (memcmp(vr, "DA", 2) == 0) {
        return n == 8 && valid_date(v);
    }
    if (memcmp(vr, "TM", 2) == 0) {
        return valid_time(v, n);
    }
    if (memcmp(vr, "DT", 2) == 0) {
        return valid_datetime(v, n);
    }
    if (memcmp(vr, "AS", 2) == 0) {
        return valid_age(v, n);
    }
    return true;
}

static bool check_text_value(const text_rule *rule, const char *v, size_t n, uint32_t tag,
                             s2d_error *err)
{
    // Messages never quote the value: it may be a patient's name or birth date.
    unsigned group = tag >> 16, element = tag & 0xFFFF;
    if (!valid_utf8((const unsigned char *)v, n)) {
        return s2d_error_set(err, S2D_ERR_INPUT, "(%04X,%04X) %s value is not valid UTF-8",
                             group, element, rule->vr);
    }
    if (rule->max_chars && utf8_chars(v, n) > rule->max_chars) {
        return s2d_error_set(err, S2D_ERR_INPUT,
                             "(%04X,%04X) %s value of %zu characters is longer than %zu",
                             group, element, rule->vr, utf8_chars(v, n), rule->max_chars);
    }
    // PS3.5 6.2: the text VRs allow ESC only; LT, ST and UT also allow CR, LF, TAB and FF.
    bool long_text = !rule->multi && memcmp(rule->vr, "UR", 2) != 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)v[i];
        bool ok;
        if (rule->allowed) {
            ok = c != 0 && strchr(rule->allowed, c) != NULL;
        } else if (c < 0x20 || c == 0x7F) {
            ok = c == 0x1B || (long_text && (c == '\n' || c == '\r' || c == '\t' || c == '\f'));
        } else {
            ok = true;
        }
        if (!ok) {
            return s2d_error_set(err, S2D_ERR_INPUT,
                                 "(%04X,%04X) %s value has a character %s does not allow "
                                 "(byte 0x%02X at %zu)",
                                 group, element, rule->vr, rule->vr, c, i + 1);
        }
    }
    if (memcmp(rule->vr, "DA", 2) == 0 && n != 0 && n != 8) {
        return s2d_error_set(err, S2D_ERR_INPUT, "(%04X,%04X) DA value of %zu characters is not "
                             "YYYYMMDD", group, element, n);
    }
    static const char *const forms[][2] = {{"DA", "a date YYYYMMDD"},
                                           {"TM", "a time HHMMSS.FFFFFF"},
                                           {"DT", "a date-time YYYYMMDDHHMMSS.FFFFFF&ZZXX"},
                                           {"AS", "an age nnnD, nnnW, nnnM or nnnY"}};
    for (size_t f = 0; f < sizeof forms / sizeof *forms; f++) {
        if (memcmp(rule->vr, forms[f][0], 2) != 0) {
            continue;
        }
        for (size_t start = 0, i = 0; i <= n; i++) {   // each value of a multi-valued one
            if (i == n || v[i] == '\\') {
                if (!valid_form(rule->vr, v + start, i - start)) {
                    return s2d_error_set(err, S2D_ERR_INPUT, "(%04X,%04X) %s value is not %s",
                                         group, element, rule->vr, forms[f][1]);
                }
                start = i + 1;
            }
        }
    }
    if (memcmp(rule->vr, "UI", 2) == 0 && n > 0 && !valid_uid(v, n)) {
        return s2d_error_set(err, S2D_ERR_INPUT, "(%04X,%04X) UI value is not a valid UID",
                             group, element);
    }
    return true;
}

static bool store_value(s2d_ds *ds, uint32_t tag, const char *vr, const void *data, size_t len,
                        uint8_t pad, s2d_error *err)
{
    size_t padded = len + (len & 1);
    size_t limit = s2d_vr_is_long(vr) ? 0xFFFFFFFEu : 0xFFFEu;
    if (padded > limit) {
        return s2d_error_set(err, S2D_ERR_INPUT, "(%04X,%04X) value of %zu bytes is too long for %s",
                             tag >> 16, tag & 0xFFFF, len, vr);
    }
    uint8_t *copy = NULL;
    if (padded) {
        copy = malloc(padded);
        if (!copy) {
            return s2d_error_set(err, S2D_ERR_NOMEM, "out of memory building a dataset");
        }
        memcpy(copy, data, len);
        if (padded != len) {
            copy[len] = pad;
        }
    }
    elem *e = slot(ds, tag, vr, err);
    if (!e) {
        free(copy);
        return false;
    }
    e->value = copy;
    e->len = (uint32_t)padded;
    return true;
}

bool s2d_ds_put_str(s2d_ds *ds, uint32_t tag, const char *vr, const char *value, s2d_error *err)
{
    const text_rule *rule = text_rule_for(vr);
    if (!rule) {
        return s2d_error_set(err, S2D_ERR_INTERNAL, "(%04X,%04X): %s is not a text VR",
                             tag >> 16, tag & 0xFFFF, vr);
    }
    if (!value) {
        value = "";
    }
    size_t len = strlen(value);
    const char *start = value;
    for (;;) {
        const char *sep = rule->multi ? strchr(start, '\\') : NULL;
        size_t n = sep ? (size_t)(sep - start) : strlen(start);
        if (!check_text_value(rule, start, n, tag, err)) {
            return false;
        }
        if (!sep) {
            break;
        }
        start = sep + 1;
    }
    // UI pads with NUL, every other text VR with a space (PS3.5 6.2).
    uint8_t pad = memcmp(vr, "UI", 2) == 0 ? 0 : ' ';
    return store_value(ds, tag, vr, value, len, pad, err);
}

bool s2d_ds_put_bytes(s2d_ds *ds, uint32_t tag, const char *vr, const void *data, size_t len,
                      s2d_error *err)
{
    return store_value(ds, tag, vr, data, len, 0, err);
}

void s2d_format_ds(double v, int max_chars, char out[17])
{
    // The %g form with the most precision that fits max_chars.
    for (int prec = max_chars; prec > 0; prec--) {
        int n = snprintf(out, 17, "%.*g", prec, v);
        if (n > 0 && n <= max_chars) {
            return;
        }
    }
    snprintf(out, 17, "0");
}

typedef struct number_rule {
    const char *vr;
    bool integer;
    double min, max;
} number_rule;

static const number_rule number_rules[] = {
    {"US", true, 0, 65535},
    {"SS", true, -32768, 32767},
    {"UL", true, 0, 4294967295.0},
    {"SL", true, -2147483648.0, 2147483647.0},
    {"IS", true, -2147483648.0, 2147483647.0},
    // Beyond 2^53 a double no longer holds every integer: larger 64-bit values are refused.
    {"UV", true, 0, 9007199254740992.0},
    {"SV", true, -9007199254740992.0, 9007199254740992.0},
    {"FL", false, -3.4028234663852886e38, 3.4028234663852886e38},
    {"FD", false, -1.7976931348623157e308, 1.7976931348623157e308},
    {"DS", false, -1.7976931348623157e308, 1.7976931348623157e308},
};

static bool check_numbers(uint32_t tag, const char *vr, const double *values, size_t n,
                          s2d_error *err)
{
    const number_rule *rule = NULL;
    for (size_t i = 0; i < sizeof number_rules / sizeof *number_rules; i++) {
        if (memcmp(vr, number_rules[i].vr, 2) == 0) {
            rule = &number_rules[i];
        }
    }
    if (!rule) {
        return s2d_error_set(err, S2D_ERR_INPUT, "(%04X,%04X): %s is not a numeric VR",
                             tag >> 16, tag & 0xFFFF, vr);
    }
    for (size_t i = 0; i < n; i++) {
        double v = values[i];
        if (!isfinite(v) || v < rule->min || v > rule->max || (rule->integer && v != floor(v))) {
            // The value itself is not quoted: it may be a patient's (weight, size).
            return s2d_error_set(err, S2D_ERR_INPUT,
                                 "(%04X,%04X): value %zu is out of range for %s%s", tag >> 16,
                                 tag & 0xFFFF, i + 1, rule->vr,
                                 rule->integer ? " or not an integer" : "");
        }
    }
    return true;
}

bool s2d_ds_put_numbers(s2d_ds *ds, uint32_t tag, const char *vr, const double *values, size_t n,
                        s2d_error *err)
{
    if (!check_numbers(tag, vr, values, n, err)) {
        return false;
    }
    if (memcmp(vr, "DS", 2) == 0 || memcmp(vr, "IS", 2) == 0) {
        s2d_buf text = {0};
        for (size_t i = 0; i < n; i++) {
            char num[32];
            if (vr[0] == 'D') {
                s2d_format_ds(values[i], 16, num);
            } else {
                snprintf(num, sizeof num, "%.0f", values[i]);
            }
            if (i) {
                s2d_buf_append_byte(&text, '\\');
            }
            s2d_buf_append(&text, num, strlen(num));
        }
        // A last value of 16 characters would become 17 bytes with the even-length pad;
        // some readers count the pad, so the last value gets one character less.
        if (text.len % 2 && n > 0 && vr[0] == 'D' && !text.failed) {
            char last[17];
            s2d_format_ds(values[n - 1], 15, last);
            size_t start = text.len;
            while (start > 0 && text.data[start - 1] != '\\') {
                start--;
            }
            text.len = start;
            s2d_buf_append(&text, last, strlen(last));
        }
        s2d_buf_append_byte(&text, 0);
        bool ok = !text.failed && s2d_ds_put_str(ds, tag, vr, (const char *)text.data, err);
        if (text.failed) {
            s2d_error_set(err, S2D_ERR_NOMEM, "out of memory");
        }
        s2d_buf_free(&text);
        return ok;
    }
    s2d_buf bin = {0};
    for (size_t i = 0; i < n; i++) {
        double v = values[i];
        if (memcmp(vr, "US", 2) == 0) {
            s2d_buf_append_u16le(&bin, (uint16_t)v);
        } else if (memcmp(vr, "SS", 2) == 0) {
            s2d_buf_append_u16le(&bin, (uint16_t)(int16_t)v);
        } else if (memcmp(vr, "UL", 2) == 0) {
            s2d_buf_append_u32le(&bin, (uint32_t)v);
        } else if (memcmp(vr, "SL", 2) == 0) {
            s2d_buf_append_u32le(&bin, (uint32_t)(int32_t)v);
        } else if (memcmp(vr, "UV", 2) == 0) {
            s2d_buf_append_u64le(&bin, (uint64_t)v);
        } else if (memcmp(vr, "SV", 2) == 0) {
            s2d_buf_append_u64le(&bin, (uint64_t)(int64_t)v);
        } else if (memcmp(vr, "FL", 2) == 0) {
            float f = (float)v;
            uint32_t u;
            memcpy(&u, &f, sizeof u);
            s2d_buf_append_u32le(&bin, u);
        } else if (memcmp(vr, "FD", 2) == 0) {
            uint64_t u;
            memcpy(&u, &v, sizeof u);
            s2d_buf_append_u64le(&bin, u);
        } else {
            s2d_buf_free(&bin);
            return s2d_error_set(err, S2D_ERR_INPUT, "(%04X,%04X): %s is not a numeric VR",
                                 tag >> 16, tag & 0xFFFF, vr);
        }
    }
    bool ok = !bin.failed && store_value(ds, tag, vr, bin.data, bin.len, 0, err);
    if (bin.failed) {
        s2d_error_set(err, S2D_ERR_NOMEM, "out of memory");
    }
    s2d_buf_free(&bin);
    return ok;
}

bool s2d_ds_put_number(s2d_ds *ds, uint32_t tag, const char *vr, double value, s2d_error *err)
{
    return s2d_ds_put_numbers(ds, tag, vr, &value, 1, err);
}

bool s2d_ds_put_empty_seq(s2d_ds *ds, uint32_t tag, s2d_error *err)
{
    const elem *e = find(ds, tag);
    if (e && memcmp(e->vr, "SQ", 2) == 0) {
        return true;
    }
    return slot(ds, tag, "SQ", err) != NULL;
}

s2d_ds *s2d_ds_seq_append(s2d_ds *ds, uint32_t tag, s2d_error *err)
{
    elem *e = find(ds, tag);
    // A value of another VR under this tag is replaced by the sequence.
    if ((!e || memcmp(e->vr, "SQ", 2) != 0) && !(e = slot(ds, tag, "SQ", err))) {
        return NULL;
    }
    s2d_ds **items = realloc(e->items, (e->nitems + 1) * sizeof *items);
    s2d_ds *item = s2d_ds_new();
    if (!items || !item) {
        if (items) {
            e->items = items;
        }
        free(item);
        s2d_error_set(err, S2D_ERR_NOMEM, "out of memory building a dataset");
        return NULL;
    }
    e->items = items;
    e->items[e->nitems++] = item;
    return item;
}

size_t s2d_ds_seq_count(const s2d_ds *ds, uint32_t tag)
{
    const elem *e = find(ds, tag);
    return e && memcmp(e->vr, "SQ", 2) == 0 ? e->nitems : 0;
}

s2d_ds *s2d_ds_seq_item(const s2d_ds *ds, uint32_t tag, size_t i)
{
    const elem *e = find(ds, tag);
    return i < s2d_ds_seq_count(ds, tag) ? e->items[i] : NULL;
}

bool s2d_ds_merge(s2d_ds *dst, const s2d_ds *src, s2d_error *err)
{
    for (size_t i = 0; i < src->n; i++) {
        const elem *s = &src->elems[i];
        if (memcmp(s->vr, "SQ", 2) != 0) {
            if (!store_value(dst, s->tag, s->vr, s->value, s->len, 0, err)) {
                return false;
            }
            continue;
        }
        s2d_ds_remove(dst, s->tag);
        if (!slot(dst, s->tag, "SQ", err)) {
            return false;
        }
        for (size_t k = 0; k < s->nitems; k++) {
            s2d_ds *item = s2d_ds_seq_append(dst, s->tag, err);
            if (!item || !s2d_ds_merge(item, s->items[k], err)) {
                return false;
            }
        }
    }
    return true;
}

static void encode_header(s2d_buf *out, uint32_t tag, const char *vr, uint32_t len)
{
    s2d_buf_append_u16le(out, (uint16_t)(tag >> 16));
    s2d_buf_append_u16le(out, (uint16_t)tag);
    s2d_buf_append(out, vr, 2);
    if (s2d_vr_is_long(vr)) {
        s2d_buf_append_u16le(out, 0);
        s2d_buf_append_u32le(out, len);
    } else {
        s2d_buf_append_u16le(out, (uint16_t)len);
    }
}

static bool encode_into(const s2d_ds *ds, s2d_buf *out, uint32_t patch_tag, size_t *patch_offset,
                        s2d_error *err)
{
    for (size_t i = 0; i < ds->n; i++) {
        const elem *e = &ds->elems[i];
        if (memcmp(e->vr, "SQ", 2) != 0) {
            encode_header(out, e->tag, e->vr, e->len);
            if (patch_tag && e->tag == patch_tag && patch_offset) {
                *patch_offset = out->len;
            }
            s2d_buf_append(out, e->value, e->len);
            continue;
        }
        s2d_buf body = {0};
        for (size_t k = 0; k < e->nitems; k++) {
            s2d_buf item = {0};
            if (!encode_into(e->items[k], &item, 0, NULL, err)) {
                s2d_buf_free(&item);
                s2d_buf_free(&body);
                return false;
            }
            s2d_buf_append_u16le(&body, 0xFFFE);
            s2d_buf_append_u16le(&body, 0xE000);
            s2d_buf_append_u32le(&body, (uint32_t)item.len);
            s2d_buf_append(&body, item.data, item.len);
            body.failed |= item.failed;
            s2d_buf_free(&item);
        }
        if (body.len > 0xFFFFFFFEu) {
            s2d_buf_free(&body);
            return s2d_error_set(err, S2D_ERR_INPUT, "sequence (%04X,%04X) is too long",
                                 e->tag >> 16, e->tag & 0xFFFF);
        }
        encode_header(out, e->tag, "SQ", (uint32_t)body.len);
        s2d_buf_append(out, body.data, body.len);
        out->failed |= body.failed;
        s2d_buf_free(&body);
    }
    if (out->failed) {
        return s2d_error_set(err, S2D_ERR_NOMEM, "out of memory encoding a dataset");
    }
    return true;
}

bool s2d_ds_encode(const s2d_ds *ds, s2d_buf *out, uint32_t patch_tag, size_t *patch_offset,
                   s2d_error *err)
{
    return encode_into(ds, out, patch_tag, patch_offset, err);
}
