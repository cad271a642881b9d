// SPDX-License-Identifier: Apache-2.0
/* Pieces of batch runs and deterministic UIDs that can be checked without converting:
 * SHA-256 against FIPS 180-4 vectors, UID derivation, output names, the CSV manifest,
 * the journal's handling of a torn last line, slide file sets and fingerprints.
 * argv[1]: a scratch directory; argv[2]: ../shared/testdata. */
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "batch/journal.h"
#include "batch/manifest.h"
#include "batch/plan.h"
#include "core/fingerprint.h"
#include "core/sha256.h"
#include "dicom/uid.h"
#include "harness.h"
#include "source/fileset.h"

static const char *work, *testdata;

static void sha256_hex(const void *data, size_t len, char out[65])
{
    s2d_sha256 h;
    uint8_t d[32];
    s2d_sha256_init(&h);
    s2d_sha256_update(&h, data, len);
    s2d_sha256_final(&h, d);
    s2d_hex(d, 32, out);
}

static void test_sha256_vectors(void)
{
    char hex[65];
    sha256_hex("abc", 3, hex);
    CHECK(strcmp(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad") == 0);
    sha256_hex("", 0, hex);
    CHECK(strcmp(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855") == 0);
    const char *two_blocks = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    sha256_hex(two_blocks, strlen(two_blocks), hex);
    CHECK(strcmp(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1") == 0);
    // One million 'a', fed in uneven pieces to exercise the block buffering.
    s2d_sha256 h;
    uint8_t d[32], a[1024];
    memset(a, 'a', sizeof a);
    s2d_sha256_init(&h);
    size_t left = 1000000;
    for (size_t piece = 1; left > 0; piece = piece % 997 + 13) {
        size_t n = piece < left ? piece : left;
        s2d_sha256_update(&h, a, n);
        left -= n;
    }
    s2d_sha256_final(&h, d);
    s2d_hex(d, 32, hex);
    CHECK(strcmp(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0") == 0);
}

static void test_uid_derive(void)
{
    char a[S2D_UID_MAX], b[S2D_UID_MAX], c[S2D_UID_MAX];
    s2d_uid_derive("2.25", "fingerprint-1", "study", a);
    s2d_uid_derive("2.25", "fingerprint-1", "study", b);
    s2d_uid_derive("2.25", "fingerprint-2", "study", c);
    CHECK(strcmp(a, b) == 0);
    CHECK(strcmp(a, c) != 0);
    s2d_uid_derive("2.25", "fingerprint-1", "series", c);
    CHECK(strcmp(a, c) != 0);
    CHECK(strncmp(a, "2.25.", 5) == 0 && strlen(a) <= 64);
    // A UUID: version nibble 8, variant bits 10 (RFC 9562), read back from the decimal.
    unsigned __int128 v = 0;
    for (const char *p = a + 5; *p; p++) {
        v = v * 10 + (unsigned)(*p - '0');
    }
    CHECK((unsigned)(v >> 76 & 0xF) == 8);
    CHECK((unsigned)(v >> 62 & 0x3) == 2);
    const char *root = "1.2.826.0.1.3680043.10.999.1234567890123";   // 40 characters
    s2d_uid_derive(root, "fingerprint-1", "study", b);
    CHECK(strlen(b) == 64 && strncmp(b, root, strlen(root)) == 0 && b[strlen(root)] == '.');
    CHECK(b[strlen(root) + 1] != '0');
    s2d_error err = {0};
    CHECK(s2d_uid_root_check("2.25", &err));
    CHECK(s2d_uid_root_check(root, &err));
    CHECK(!s2d_uid_root_check("1.02.3", &err) && err.code == S2D_ERR_USAGE);
    err = (s2d_error){0};
    CHECK(!s2d_uid_root_check("1.2.", &err));
    err = (s2d_error){0};
    CHECK(!s2d_uid_root_check("1..2", &err));
    err = (s2d_error){0};
    CHECK(!s2d_uid_root_check("1.2.826.0.1.3680043.10.999.12345678901234", &err));   // 41
}

static bool name_is_safe(const char *name)
{
    return name[0] != '.' && name[0] != '-' &&
           strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._+-") ==
               strlen(name);
}

static void test_output_names(void)
{
    char a[S2D_BATCH_NAME_MAX], b[S2D_BATCH_NAME_MAX];
    s2d_batch_output_name("test3-DAPI 2 (387) .ndpi", a);
    CHECK(strncmp(a, "test3-DAPI_2__387__-", 20) == 0 && strlen(a) == 30 && name_is_safe(a));
    s2d_batch_output_name("hamamatsu/test3-DAPI 2 (387) .ndpi", a);   // docs/batch.md's example
    CHECK(strcmp(a, "test3-DAPI_2__387__-80a636e02a") == 0);
    s2d_batch_output_name("x/slide.svs", a);
    s2d_batch_output_name("y/slide.svs", b);
    CHECK(strncmp(a, "slide-", 6) == 0 && strcmp(a, b) != 0);
    s2d_batch_output_name("x/slide.svs", b);
    CHECK(strcmp(a, b) == 0);
    const char *hostile[] = {"../../etc/passwd", "/etc/..", "..", ".", "", "-rf", ".hidden.svs",
                             "a/b/\xff\xfe.svs", "dir/with\nnewline.tif"};
    for (size_t i = 0; i < sizeof hostile / sizeof *hostile; i++) {
        s2d_batch_output_name(hostile[i], a);
        CHECK(name_is_safe(a) && strcmp(a, "..") != 0 && !strchr(a, '/'));
    }
    char longkey[300];
    memset(longkey, 'x', sizeof longkey - 1);
    longkey[sizeof longkey - 1] = '\0';
    s2d_batch_output_name(longkey, a);
    CHECK(strlen(a) == 60 + 11);
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL);
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

static void test_manifest(void)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/manifest.csv", work);
    write_file(path, "\xEF\xBB\xBFpath,PatientID,PatientName\r\n"
                     "\"slides/a, b.svs\",P1,\"Doe^Jane \"\"JJ\"\"\"\r\n"
                     "\r\n"
                     "c.svs,,\"multi\nline\"\n"
                     "d.svs,P3,");
    s2d_manifest m;
    s2d_error err = {0};
    CHECK(s2d_manifest_read(path, &m, &err));
    CHECK(m.n == 3);
    if (m.n == 3) {
        CHECK(strcmp(m.rows[0].path, "slides/a, b.svs") == 0 && m.rows[0].line == 2);
        json_t *pid = json_object_get(m.rows[0].metadata, "00100020");
        CHECK(strcmp(json_string_value(json_object_get(pid, "vr")), "LO") == 0);
        CHECK(strcmp(json_string_value(json_array_get(json_object_get(pid, "Value"), 0)), "P1") == 0);
        json_t *pn = json_array_get(json_object_get(json_object_get(m.rows[0].metadata, "00100010"),
                                                    "Value"), 0);
        CHECK(strcmp(json_string_value(json_object_get(pn, "Alphabetic")), "Doe^Jane \"JJ\"") == 0);
        CHECK(json_object_get(m.rows[1].metadata, "00100020") == NULL);   // empty cell
        CHECK(m.rows[1].line == 4 && m.rows[2].line == 6);
        CHECK(strcmp(m.rows[2].path, "d.svs") == 0);
    }
    s2d_manifest_free(&m);

    const char *bad[] = {"file,PatientID\na.svs,1\n", "path,PatientID\na.svs\n",
                         "path\n\"unclosed\n", "path\n", "path,PatientID\n\"a.svs\"x,1\n"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        write_file(path, bad[i]);
        err = (s2d_error){0};
        CHECK(!s2d_manifest_read(path, &m, &err) && err.code == S2D_ERR_USAGE);
        CHECK(strstr(err.message, "manifest.csv") != NULL);
    }

    // No header at all: an error that says so (it used to be a failure with no message,
    // which the command line turned into exit 0).
    const char *empty[] = {"", "\xEF\xBB\xBF"};
    for (size_t i = 0; i < sizeof empty / sizeof *empty; i++) {
        write_file(path, empty[i]);
        err = (s2d_error){0};
        CHECK(!s2d_manifest_read(path, &m, &err) && err.code == S2D_ERR_USAGE);
        CHECK(strstr(err.message, "manifest.csv: empty") != NULL);
    }
}

// The option columns become the row's convert options, checked, in column order.
static void test_manifest_option_columns(void)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/manifest.csv", work);
    write_file(path, "path,kind,PatientID,Modality,DocumentTitle\n"
                     "ct.tif,,P1,CT,\n"
                     "letter.tif,document,P2,,\"Referral, page 1\"\n"
                     "photo.tif,,,,\n");
    s2d_manifest m;
    s2d_error err = {0};
    CHECK(s2d_manifest_read(path, &m, &err));
    CHECK(m.n == 3);
    if (m.n == 3) {
        CHECK(m.rows[0].nconvert_args == 2 &&
              strcmp(m.rows[0].convert_args[0], "--modality") == 0 &&
              strcmp(m.rows[0].convert_args[1], "CT") == 0);
        CHECK(json_object_get(m.rows[0].metadata, "00080060") == NULL);   // not an attribute
        CHECK(json_object_get(m.rows[0].metadata, "00100020") != NULL);
        CHECK(m.rows[1].nconvert_args == 4 && strcmp(m.rows[1].convert_args[0], "--kind") == 0 &&
              strcmp(m.rows[1].convert_args[1], "document") == 0 &&
              strcmp(m.rows[1].convert_args[2], "--document-title") == 0 &&
              strcmp(m.rows[1].convert_args[3], "Referral, page 1") == 0);
        CHECK(m.rows[2].nconvert_args == 0 && m.rows[2].convert_args == NULL);
    }
    s2d_manifest_free(&m);

    const struct {
        const char *text, *says;
    } bad[] = {
        {"path,kind\na.tif,photo\nb.tif,xray\n", "manifest.csv line 3, column kind: \"xray\""},
        {"path,kind\na.tif,Photo\n", "manifest.csv line 2, column kind: "},
        {"path,Modality\na.tif,ct\n", "manifest.csv line 2, column Modality: \"ct\""},
        {"path,Modality\na.tif,CT-1\n", "manifest.csv line 2, column Modality: "},
        {"path,MODALITY\na.tif,ABCDEFGHIJKLMNOPQ\n", "manifest.csv line 2, column MODALITY: "},
        {"path,DocumentTitle\na.tif,\xff\n", "manifest.csv line 2, column DocumentTitle: it is"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        write_file(path, bad[i].text);
        err = (s2d_error){0};
        CHECK(!s2d_manifest_read(path, &m, &err) && err.code == S2D_ERR_USAGE);
        CHECK(strstr(err.message, bad[i].says) != NULL);
    }
}

// What LIS and spreadsheet exports write: ';' or tab separated, a byte order mark, CRLF,
// quoted cells holding the separator, headers in any case with spaces around them, columns
// of their own, rows of empty cells. Each unknown column is listed once; a cell its VR
// refuses fails its row only, naming the file, line and column; the option columns match
// in any case too.
static void test_manifest_lis_exports(void)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/manifest.csv", work);
    write_file(path, "\xEF\xBB\xBF Path ;PATIENTID;\"Case No\";seriesinstanceuid;Kind;case no\r\n"
                     "\"a;1.svs\";\"P\"\"1\";C-7;1.2.826.0.1.3;photo;x\r\n"
                     ";;;;;\r\n"
                     "b.svs;P2;\"C;8\";;;\r\n");
    s2d_manifest m;
    s2d_error err = {0};
    CHECK(s2d_manifest_read(path, &m, &err));
    CHECK(m.n == 2);
    CHECK(m.nignored_columns == 2);
    if (m.nignored_columns == 2) {
        CHECK(strcmp(m.ignored_columns[0], "Case No") == 0);
        CHECK(strcmp(m.ignored_columns[1], "case no") == 0);
    }
    if (m.n == 2) {
        CHECK(strcmp(m.rows[0].path, "a;1.svs") == 0 && m.rows[1].line == 4);
        json_t *pid = json_object_get(m.rows[0].metadata, "00100020");
        CHECK(strcmp(json_string_value(json_array_get(json_object_get(pid, "Value"), 0)),
                     "P\"1") == 0);
        json_t *series = json_object_get(m.rows[0].metadata, "0020000E");
        CHECK(strcmp(json_string_value(json_object_get(series, "vr")), "UI") == 0);
        CHECK(strcmp(json_string_value(json_array_get(json_object_get(series, "Value"), 0)),
                     "1.2.826.0.1.3") == 0);
        CHECK(m.rows[0].nconvert_args == 2 && strcmp(m.rows[0].convert_args[0], "--kind") == 0);
        CHECK(json_object_size(m.rows[1].metadata) == 1);   // the case number is not there
        CHECK(m.rows[0].error == NULL && m.rows[1].error == NULL);
    }
    s2d_manifest_free(&m);

    // SpecimenIdentifier lands in the one item of a Specimen Description Sequence, and
    // merges into the item of --metadata's one-item sequence, leaving the rest to it.
    write_file(path, "path,specimenidentifier\na.svs,S-1 A\n");
    CHECK(s2d_manifest_read(path, &m, &err));
    if (m.n == 1) {
        json_t *sq = json_object_get(m.rows[0].metadata, "00400560");
        json_t *item = json_array_get(json_object_get(sq, "Value"), 0);
        json_t *id = json_object_get(item, "00400551");
        CHECK(strcmp(json_string_value(json_object_get(sq, "vr")), "SQ") == 0);
        CHECK(json_object_size(item) == 1 && strcmp(json_string_value(json_object_get(id, "vr")),
                                                     "LO") == 0);
        CHECK(strcmp(json_string_value(json_array_get(json_object_get(id, "Value"), 0)),
                     "S-1 A") == 0);
        s2d_batch_slide slide = {.metadata = m.rows[0].metadata};
        json_error_t jerr;
        json_t *batch_meta = json_loads("{\"00400560\": {\"vr\": \"SQ\", \"Value\": [{"
                                        "\"00400551\": {\"vr\": \"LO\", \"Value\": [\"old\"]},"
                                        "\"00400600\": {\"vr\": \"LO\", \"Value\": [\"H&E\"]}}]},"
                                        "\"00100020\": {\"vr\": \"LO\", \"Value\": [\"P\"]}}",
                                        0, &jerr);
        json_t *merged = s2d_batch_slide_metadata(batch_meta, &slide);
        json_t *merged_item = json_array_get(json_object_get(json_object_get(merged, "00400560"),
                                                             "Value"), 0);
        CHECK(json_object_size(merged_item) == 2 && json_object_get(merged, "00100020"));
        CHECK(strcmp(json_string_value(json_array_get(json_object_get(json_object_get(
                         merged_item, "00400551"), "Value"), 0)), "S-1 A") == 0);
        CHECK(json_object_get(merged_item, "00400600") != NULL);
        // Neither input changed.
        CHECK(json_object_size(item) == 1);
        CHECK(strcmp(json_string_value(json_array_get(json_object_get(json_object_get(
                         json_array_get(json_object_get(json_object_get(batch_meta, "00400560"),
                                                        "Value"), 0), "00400551"), "Value"), 0)),
                     "old") == 0);
        json_decref(merged);
        json_decref(batch_meta);
    }
    s2d_manifest_free(&m);

    // Tabs, and a header of one column.
    write_file(path, "path\tPatientName\n\"a.svs\"\tDoe^Jane, M.\n");
    CHECK(s2d_manifest_read(path, &m, &err));
    CHECK(m.n == 1 && m.nignored_columns == 0);
    if (m.n == 1) {
        json_t *pn = json_array_get(json_object_get(json_object_get(m.rows[0].metadata,
                                                                    "00100010"), "Value"), 0);
        CHECK(strcmp(json_string_value(json_object_get(pn, "Alphabetic")), "Doe^Jane, M.") == 0);
    }
    s2d_manifest_free(&m);
    write_file(path, "path\na.svs\n");
    CHECK(s2d_manifest_read(path, &m, &err) && m.n == 1);
    s2d_manifest_free(&m);

    // A bad cell: its row's error, the other rows as they are.
    write_file(path, "path,StudyDate,SeriesInstanceUID\na.svs,20240101,\nb.svs,2024-01-01,\n"
                     "c.svs,,1.2.x\n");
    CHECK(s2d_manifest_read(path, &m, &err));
    CHECK(m.n == 3);
    if (m.n == 3) {
        CHECK(m.rows[0].error == NULL && json_object_get(m.rows[0].metadata, "00080020"));
        CHECK(m.rows[1].error &&
              strstr(m.rows[1].error, "/manifest.csv line 3, column StudyDate: DA value"));
        CHECK(m.rows[1].error && !strstr(m.rows[1].error, "2024-01-01"));   // never the value
        CHECK(m.rows[2].error &&
              strstr(m.rows[2].error, "/manifest.csv line 4, column SeriesInstanceUID: UI value"));
    }
    s2d_manifest_free(&m);

    // The plan: a bad cell becomes its slide's error; unknown columns are listed, or
    // refused with strict_manifest.
    write_file(path, "path;LIS_Block;StudyDate\na.svs;B1;19991399x\n");
    s2d_batch_plan plan;
    err = (s2d_error){0};
    CHECK(s2d_batch_plan_make(path, NULL, false, &plan, &err));
    CHECK(plan.n == 1 && plan.nignored_columns == 1);
    if (plan.n == 1 && plan.nignored_columns == 1) {
        CHECK(strcmp(plan.ignored_columns[0], "LIS_Block") == 0);
        CHECK(plan.slides[0].error && strstr(plan.slides[0].error, "line 2, column StudyDate"));
        s2d_batch_plan_free(&plan);
    }
    err = (s2d_error){0};
    CHECK(!s2d_batch_plan_make(path, NULL, true, &plan, &err) && err.code == S2D_ERR_USAGE);
    CHECK(strstr(err.message, "manifest.csv line 1, column LIS_Block: not a column") != NULL);
}

static void test_journal_torn_line(void)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/journal.jsonl", work);
    unlink(path);
    s2d_error err = {0};
    s2d_journal *j = s2d_journal_open(path, &err);
    CHECK(j != NULL);
    if (!j) {
        return;
    }
    json_t *r1 = json_pack("{s:s, s:s}", "name", "a", "event", "started");
    json_t *r2 = json_pack("{s:s, s:s}", "name", "a", "event", "done");
    CHECK(s2d_journal_append(j, r1, &err) && s2d_journal_append(j, r2, &err));
    s2d_journal_close(j);
    // A run killed in the middle of a write: half a record, no newline.
    int fd = open(path, O_WRONLY | O_APPEND);
    CHECK(fd >= 0 && write(fd, "{\"name\":\"b\",\"ev", 15) == 15);
    close(fd);
    j = s2d_journal_open(path, &err);
    CHECK(j && s2d_journal_damaged_lines(j) == 1);
    CHECK(j && strcmp(json_string_value(json_object_get(s2d_journal_last(j, "a"), "event")),
                      "done") == 0);
    CHECK(j && s2d_journal_last(j, "b") == NULL);
    json_t *r3 = json_pack("{s:s, s:s}", "name", "b", "event", "failed");
    CHECK(j && s2d_journal_append(j, r3, &err));
    s2d_journal_close(j);
    // The record after the torn line is whole: the torn line was ended first.
    j = s2d_journal_open(path, &err);
    CHECK(j && s2d_journal_damaged_lines(j) == 1);
    CHECK(j && strcmp(json_string_value(json_object_get(s2d_journal_last(j, "b"), "event")),
                      "failed") == 0);
    s2d_journal_close(j);
    json_decref(r1);
    json_decref(r2);
    json_decref(r3);
}

static void copy_file(const char *from, const char *to)
{
    FILE *in = fopen(from, "rb"), *out = fopen(to, "wb");
    CHECK(in && out);
    char buf[65536];
    size_t n;
    while (in && out && (n = fread(buf, 1, sizeof buf, in)) > 0) {
        CHECK(fwrite(buf, 1, n, out) == n);
    }
    if (in) {
        fclose(in);
    }
    if (out) {
        fclose(out);
    }
}

static void test_slide_files(void)
{
    char path[4096];
    s2d_slide_files files;
    s2d_error err = {0};
    snprintf(path, sizeof path, "%s/stubs-metadata-only/Mirax2-Fluorescence-1.mrxs", testdata);
    CHECK(s2d_slide_files_list(path, &files, &err));
    CHECK(files.n == 6);   // the .mrxs, Data0000-0002.dat, Index.dat, Slidedat.ini
    if (files.n == 6) {
        CHECK(strstr(files.files[5].path, "Mirax2-Fluorescence-1/Slidedat.ini") != NULL);
    }
    s2d_slide_files_free(&files);
    snprintf(path, sizeof path,
             "%s/stubs-metadata-only/Hamamatsu-VMS/CMU-1-40x - 2010-01-12 13.24.05.vms", testdata);
    CHECK(s2d_slide_files_list(path, &files, &err));
    CHECK(files.n == 8);   // the .vms, 4 image tiles, map, optimisation, macro
    s2d_slide_files_free(&files);

    // A copy under another name and time: same fingerprint, different change key; a
    // changed byte in the middle of a sampled block: a different fingerprint.
    char copy[4096], orig[4096];
    snprintf(orig, sizeof orig, "%s/aperio/CMU-1-Small-Region.svs", testdata);
    snprintf(copy, sizeof copy, "%s/renamed copy.svs", work);
    copy_file(orig, copy);
    s2d_slide_files a, b;
    char fa[65], fb[65], ka[65], kb[65];
    CHECK(s2d_slide_files_list(orig, &a, &err) && s2d_slide_files_list(copy, &b, &err));
    CHECK(s2d_slide_fingerprint(&a, fa, &err) && s2d_slide_fingerprint(&b, fb, &err));
    s2d_slide_change_key(&a, ka);
    s2d_slide_change_key(&b, kb);
    CHECK(strcmp(fa, fb) == 0 && strcmp(ka, kb) != 0);
    s2d_slide_files_free(&b);
    int fd = open(copy, O_WRONLY);
    CHECK(fd >= 0 && pwrite(fd, "X", 1, 1000000) == 1);
    close(fd);
    CHECK(s2d_slide_files_list(copy, &b, &err) && s2d_slide_fingerprint(&b, fb, &err));
    CHECK(strcmp(fa, fb) != 0);
    s2d_slide_files_free(&a);
    s2d_slide_files_free(&b);

    err = (s2d_error){0};
    snprintf(path, sizeof path, "%s/missing.svs", work);
    CHECK(!s2d_slide_files_list(path, &files, &err) && strstr(err.message, "missing.svs"));
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: test_batch WORKDIR TESTDATA\n");
        return 2;
    }
    work = argv[1];
    testdata = argv[2];
    mkdir(work, 0777);
    RUN(test_sha256_vectors);
    RUN(test_uid_derive);
    RUN(test_output_names);
    RUN(test_manifest);
    RUN(test_manifest_option_columns);
    RUN(test_manifest_lis_exports);
    RUN(test_journal_torn_line);
    RUN(test_slide_files);
    return harness_failures != 0;
}
