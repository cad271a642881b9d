// SPDX-License-Identifier: Apache-2.0
/* Part 10 writer, native Pixel Data and deferred values: writes 8-bit grey, 16-bit grey
 * (12 stored) and 1-bit instances through the native codec into OUTDIR, each beside
 * NAME.raw holding the pixels given (one sample a byte, or a little-endian word);
 * tests/unit/check_native.py reads them back with pydicom, dcmdump and dcm2pnm and
 * compares. Here: the byte layout, deferred Window Center / Width (in one file and in a
 * concatenation's parts), and what is refused. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "codec/codec.h"
#include "dicom/part10.h"
#include "dicom/uid.h"
#include "harness.h"

#define NATIVE_TS "1.2.840.10008.1.2.1"
#define WINDOW_CENTER S2D_TAG(0x0028, 0x1050)
#define WINDOW_WIDTH S2D_TAG(0x0028, 0x1051)

static const char *outdir;

// What the instance is: a Secondary Capture-like dataset, enough for readers to decode.
typedef struct instance {
    const char *name, *sop_class;
    s2d_pixdesc desc;
    uint32_t nframes;
    bool window;   // Window Center / Width deferred and given after the frames
} instance;

static s2d_ds *dataset(const instance *in, s2d_error *err)
{
    const s2d_pixdesc *d = &in->desc;
    s2d_ds *ds = s2d_ds_new();
    bool ok = ds && s2d_ds_put_str(ds, S2D_TAG(0x0008, 0x0016), "UI", in->sop_class, err) &&
              s2d_ds_put_str(ds, S2D_TAG(0x0008, 0x0060), "CS", "OT", err) &&
              s2d_ds_put_number(ds, S2D_TAG(0x0028, 0x0002), "US", d->samples, err) &&
              s2d_ds_put_str(ds, S2D_TAG(0x0028, 0x0004), "CS",
                             d->colour == S2D_COLOUR_MONO_MIN_IS_WHITE ? "MONOCHROME1"
                                                                       : "MONOCHROME2",
                             err) &&
              s2d_ds_put_number(ds, S2D_TAG(0x0028, 0x0008), "IS", in->nframes, err) &&
              s2d_ds_put_number(ds, S2D_TAG(0x0028, 0x0010), "US", d->height, err) &&
              s2d_ds_put_number(ds, S2D_TAG(0x0028, 0x0011), "US", d->width, err) &&
              s2d_ds_put_number(ds, S2D_TAG(0x0028, 0x0100), "US", d->bits_allocated, err) &&
              s2d_ds_put_number(ds, S2D_TAG(0x0028, 0x0101), "US", d->bits_stored, err) &&
              s2d_ds_put_number(ds, S2D_TAG(0x0028, 0x0102), "US", d->bits_stored - 1, err) &&
              s2d_ds_put_number(ds, S2D_TAG(0x0028, 0x0103), "US", d->is_signed, err);
    if (ok && in->window) {
        // Reserved: 16 spaces each, filled once every frame is written.
        ok = s2d_ds_put_str(ds, WINDOW_CENTER, "DS", "                ", err) &&
             s2d_ds_put_str(ds, WINDOW_WIDTH, "DS", "                ", err);
    }
    if (!ok) {
        s2d_ds_free(ds);
        return NULL;
    }
    return ds;
}

// Pixel value of sample (x, y) of frame f: different in every frame, the full range used.
static uint32_t value_at(const s2d_pixdesc *d, uint32_t f, uint32_t x, uint32_t y)
{
    if (d->bits_allocated == 1) {
        return (x * 7 + y * 3 + f) % 5 < 2;
    }
    uint32_t maxval = (1u << d->bits_stored) - 1;
    return (x * 2654435761u ^ (y + 1) * 40503u ^ f * 97u) % (maxval + 1);
}

static void write_instance(const instance *in)
{
    const s2d_pixdesc *d = &in->desc;
    const s2d_codec *native = s2d_codec_find(NATIVE_TS);
    char path[4096], raw_path[4096], uid[S2D_UID_MAX];
    snprintf(path, sizeof path, "%s/%s.dcm", outdir, in->name);
    snprintf(raw_path, sizeof raw_path, "%s/%s.raw", outdir, in->name);
    s2d_error err = {0};
    s2d_uid_new(uid, &err);
    s2d_ds *ds = dataset(in, &err);
    CHECK(ds && native && native->accepts(d));
    static const s2d_part10_deferred window[] = {{WINDOW_CENTER, 16}, {WINDOW_WIDTH, 16}};
    s2d_part10_params p = {.final_path = path, .sop_class_uid = in->sop_class,
                           .sop_instance_uid = uid, .transfer_syntax_uid = NATIVE_TS,
                           .dataset = ds, .nframes = in->nframes,
                           .native_frame_bits = s2d_pixdesc_frame_bits(d),
                           .native_words = d->bits_allocated == 16,
                           .deferred = in->window ? window : NULL,
                           .ndeferred = in->window ? 2 : 0};
    s2d_part10 *w = ds ? s2d_part10_open(&p, &err) : NULL;
    void *enc = native->enc_new(d, NULL, &err);
    size_t row = s2d_pixdesc_row_bytes(d);
    uint8_t *pixels = calloc(d->height, row);
    FILE *raw = fopen(raw_path, "wb");
    CHECK(w && enc && pixels && raw);
    uint32_t lo = UINT32_MAX, hi = 0;
    for (uint32_t f = 0; w && enc && pixels && raw && f < in->nframes; f++) {
        for (uint32_t y = 0; y < d->height; y++) {
            for (uint32_t x = 0; x < d->width; x++) {
                uint32_t v = value_at(d, f, x, y);
                lo = v < lo ? v : lo;
                hi = v > hi ? v : hi;
                if (d->bits_allocated == 16) {
                    uint16_t word = (uint16_t)v;
                    memcpy(pixels + y * row + 2 * x, &word, 2);
                    uint8_t le[2] = {(uint8_t)v, (uint8_t)(v >> 8)};
                    fwrite(le, 1, 2, raw);
                } else {
                    pixels[y * row + x] = (uint8_t)v;
                    fputc((int)v, raw);
                }
            }
        }
        const uint8_t *out;
        size_t len;
        CHECK(native->encode(enc, pixels, row, &out, &len, &err));
        CHECK(s2d_part10_add_frame(w, out, len, &err));
    }
    if (in->window && w) {
        // Known only now: the window over every frame.
        char centre[17], width[17];
        snprintf(centre, sizeof centre, "%g", (lo + hi) / 2.0);
        snprintf(width, sizeof width, "%u", hi - lo + 1);
        CHECK(s2d_part10_set_deferred(w, WINDOW_CENTER, centre, strlen(centre), &err));
        CHECK(s2d_part10_set_deferred(w, WINDOW_WIDTH, width, strlen(width), &err));
    }
    CHECK(w && s2d_part10_finish(w, &err) && s2d_part10_commit(w, &err));
    if (err.code) {
        fprintf(stderr, "  %s: %s\n", in->name, err.message);
    }
    if (raw) {
        fclose(raw);
    }
    free(pixels);
    native->enc_free(enc);
    s2d_part10_free(w);
    s2d_ds_free(ds);
}

// The file's last bytes: Pixel Data's value, its length even and as announced.
static void check_layout(const char *name, uint64_t pixel_bytes, const char vr[3])
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s.dcm", outdir, name);
    FILE *f = fopen(path, "rb");
    uint8_t *data = NULL;
    long size = 0;
    if (f && fseek(f, 0, SEEK_END) == 0 && (size = ftell(f)) > 0 && fseek(f, 0, SEEK_SET) == 0) {
        data = malloc((size_t)size);
        CHECK(data && fread(data, 1, (size_t)size, f) == (size_t)size);
    }
    if (f) {
        fclose(f);
    }
    uint64_t padded = pixel_bytes + (pixel_bytes & 1);
    CHECK(data && size % 2 == 0 && (uint64_t)size > padded + 12);
    if (data && (uint64_t)size > padded + 12) {
        const uint8_t *h = data + size - (long)padded - 12;
        uint32_t len = (uint32_t)(h[8] | h[9] << 8 | h[10] << 16 | (uint32_t)h[11] << 24);
        CHECK(memcmp(h, "\xE0\x7F\x10\x00", 4) == 0 && memcmp(h + 4, vr, 2) == 0 &&
              len == padded);
    }
    free(data);
}

static const instance grey8 = {"grey8", "1.2.840.10008.5.1.4.1.1.7.2",
                               {13, 11, 1, 8, 8, false, S2D_COLOUR_MONO_MIN_IS_BLACK, false, false, 0}, 7,
                               false};
static const instance grey16 = {"grey16", "1.2.840.10008.5.1.4.1.1.7.3",
                                {17, 9, 1, 16, 12, false, S2D_COLOUR_MONO_MIN_IS_BLACK, false, false, 0},
                                3, true};
static const instance bits = {"bits", "1.2.840.10008.5.1.4.1.1.7.1",
                              {13, 7, 1, 1, 1, false, S2D_COLOUR_MONO_MIN_IS_BLACK, false, false, 0}, 5,
                              false};

static void test_native_instances(void)
{
    write_instance(&grey8);
    write_instance(&grey16);
    write_instance(&bits);
    check_layout("grey8", 7 * 13 * 11, "OB");    // 1001 bytes: padded
    check_layout("grey16", 3 * 17 * 9 * 2, "OW");
    check_layout("bits", (5 * 13 * 7 + 7) / 8, "OB");   // 455 bits across byte boundaries
}

// A 1-bit frame of 91 pixels leaves the next frame starting at bit 3 of a byte.
static void test_bits_run_on(void)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/bits.dcm", outdir);
    FILE *f = fopen(path, "rb");
    uint8_t data[64];
    CHECK(f && fseek(f, -58, SEEK_END) == 0 && fread(data, 1, 58, f) == 58);
    if (f) {
        fclose(f);
    }
    // Bit k of the stream is pixel k % 91 of frame k / 91.
    int wrong = 0;
    for (uint32_t k = 0; k < 5 * 91; k++) {
        uint32_t frame = k / 91, i = k % 91;
        uint32_t want = value_at(&bits.desc, frame, i % 13, i / 13);
        wrong += (uint32_t)(data[k / 8] >> (k % 8) & 1) != want;
    }
    CHECK(wrong == 0);
    CHECK(data[57] == 0);   // the pad byte; 455 bits take 57 bytes
}

static void test_refusals(void)
{
    char path[4096], uid[S2D_UID_MAX];
    snprintf(path, sizeof path, "%s/refused.dcm", outdir);
    s2d_error err = {0};
    s2d_uid_new(uid, &err);
    s2d_ds *ds = dataset(&grey16, &err);
    static const s2d_part10_deferred window[] = {{WINDOW_CENTER, 16}, {WINDOW_WIDTH, 16}};
    s2d_part10_params p = {.final_path = path, .sop_class_uid = grey16.sop_class,
                           .sop_instance_uid = uid, .transfer_syntax_uid = NATIVE_TS,
                           .dataset = ds, .nframes = 1, .native_frame_bits = 17 * 9 * 16,
                           .native_words = true, .deferred = window, .ndeferred = 2};
    uint8_t frame[17 * 9 * 2] = {0};
    // A size cap splits encapsulated instances only.
    s2d_part10_split split = {.max_file_bytes = 1 << 20, .concatenation_uid = uid};
    s2d_part10_params capped = p;
    capped.split = &split;
    s2d_error e1 = {0};
    CHECK(s2d_part10_open(&capped, &e1) == NULL && e1.code == S2D_ERR_USAGE);
    // A deferred attribute the dataset lacks, or has without room.
    static const s2d_part10_deferred absent[] = {{S2D_TAG(0x0028, 0x1052), 16}};
    s2d_part10_params missing = p;
    missing.deferred = absent;
    missing.ndeferred = 1;
    s2d_error e2 = {0};
    CHECK(s2d_part10_open(&missing, &e2) == NULL && e2.code == S2D_ERR_INTERNAL);
    static const s2d_part10_deferred wide[] = {{WINDOW_CENTER, 18}};
    missing.deferred = wide;
    s2d_error e3 = {0};
    CHECK(s2d_part10_open(&missing, &e3) == NULL && e3.code == S2D_ERR_INTERNAL);
    // Frames of another size; a value too long, or of an attribute not deferred; finishing
    // without the values.
    s2d_part10 *w = s2d_part10_open(&p, &err);
    s2d_error e4 = {0}, e5 = {0}, e6 = {0}, e7 = {0};
    CHECK(w && !s2d_part10_add_frame(w, frame, sizeof frame - 1, &e4));
    CHECK(w && s2d_part10_add_frame(w, frame, sizeof frame, &err));
    CHECK(w && !s2d_part10_set_deferred(w, WINDOW_CENTER, "12345678901234567", 17, &e5));
    CHECK(w && !s2d_part10_set_deferred(w, S2D_TAG(0x0028, 0x0010), "1", 1, &e6));
    CHECK(w && s2d_part10_set_deferred(w, WINDOW_CENTER, "1", 1, &err));
    CHECK(w && !s2d_part10_finish(w, &e7) && e7.code == S2D_ERR_INTERNAL);
    CHECK(e4.code && e5.code && e6.code);
    s2d_part10_free(w);
    s2d_ds_free(ds);
    CHECK(access(path, F_OK) != 0);
}

// The value of a top-level short-VR text attribute in the file at path, read from its
// bytes ("" when absent).
static void value_in_file(const char *path, uint32_t tag, char *out, size_t cap)
{
    out[0] = 0;
    FILE *f = fopen(path, "rb");
    static uint8_t data[1 << 16];
    size_t n = f ? fread(data, 1, sizeof data, f) : 0;
    if (f) {
        fclose(f);
    }
    const uint8_t key[4] = {(uint8_t)(tag >> 16), (uint8_t)(tag >> 24), (uint8_t)tag,
                            (uint8_t)(tag >> 8)};
    for (size_t i = 132; i + 8 < n; i++) {
        if (memcmp(data + i, key, 4) == 0) {
            size_t len = (size_t)(data[i + 6] | data[i + 7] << 8);
            len = len < cap - 1 ? len : cap - 1;
            memcpy(out, data + i + 8, len);
            out[len] = 0;
            return;
        }
    }
}

// A capped instance split into parts: every part gets the deferred values given to the
// whole, with In-concatenation Total Number; one that fits gets them too.
static void test_deferred_in_concatenation(void)
{
    static const s2d_part10_deferred window[] = {{WINDOW_CENTER, 16}, {WINDOW_WIDTH, 16}};
    for (int capped = 0; capped < 2; capped++) {
        char path[4096], uid[S2D_UID_MAX], cuid[S2D_UID_MAX];
        snprintf(path, sizeof path, "%s/split-%d.dcm", outdir, capped);
        s2d_error err = {0};
        s2d_uid_new(uid, &err);
        s2d_uid_new(cuid, &err);
        instance in = grey8;
        in.window = true;
        in.nframes = 6;
        s2d_ds *ds = dataset(&in, &err);
        // Frames of 3000 bytes: a 9000-byte cap holds two of them a part.
        s2d_part10_split split = {.max_file_bytes = capped ? 9000 : 1u << 20,
                                  .frames_bound = capped ? 1u << 20 : 6 * 3008,
                                  .concatenation_uid = cuid};
        s2d_part10_params p = {.final_path = path, .sop_class_uid = in.sop_class,
                               .sop_instance_uid = uid,
                               .transfer_syntax_uid = s2d_codec_jpeg_baseline.transfer_syntax_uid,
                               .dataset = ds, .nframes = in.nframes, .split = &split,
                               .deferred = window, .ndeferred = 2};
        s2d_part10 *w = ds ? s2d_part10_open(&p, &err) : NULL;
        static uint8_t frame[3000];
        for (uint32_t f = 0; w && f < in.nframes; f++) {
            memset(frame, (int)f, sizeof frame);
            CHECK(s2d_part10_add_frame(w, frame, sizeof frame, &err));
        }
        CHECK(w && s2d_part10_set_deferred(w, WINDOW_CENTER, "127.5", 5, &err) &&
              s2d_part10_set_deferred(w, WINDOW_WIDTH, "256", 3, &err));
        CHECK(w && s2d_part10_finish(w, &err) && s2d_part10_commit(w, &err));
        size_t files = w ? s2d_part10_file_count(w) : 0;
        CHECK(files == (capped ? 3u : 1u));
        for (size_t i = 0; i < files; i++) {
            s2d_part10_file file;
            s2d_part10_file_at(w, i, &file);
            char centre[32], width[32];
            value_in_file(file.final_path, WINDOW_CENTER, centre, sizeof centre);
            value_in_file(file.final_path, WINDOW_WIDTH, width, sizeof width);
            CHECK(strcmp(centre, "127.5           ") == 0 &&
                  strcmp(width, "256             ") == 0);
            CHECK(file.in_concatenation_total == (capped ? 3u : 0u));
        }
        if (err.code) {
            fprintf(stderr, "  split: %s\n", err.message);
        }
        s2d_part10_free(w);
        s2d_ds_free(ds);
    }
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: test_part10_native OUTDIR\n");
        return 2;
    }
    outdir = argv[1];
    mkdir(outdir, 0777);
    DIR *d = opendir(outdir);
    struct dirent *de;
    char path[4096];
    while (d && (de = readdir(d))) {
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) {
            snprintf(path, sizeof path, "%s/%s", outdir, de->d_name);
            unlink(path);
        }
    }
    if (d) {
        closedir(d);
    }
    RUN(test_native_instances);
    RUN(test_bits_run_on);
    RUN(test_refusals);
    RUN(test_deferred_in_concatenation);
    return harness_failures != 0;
}
