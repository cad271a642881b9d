// SPDX-License-Identifier: Apache-2.0
/* JSON report of a conversion, written with jansson; see cli/report.h. */
#include "cli/report.h"

#include <charls/charls.h>
#include <jansson.h>
#include <openjpeg.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <tiffio.h>
#include <unistd.h>
#include <zlib.h>
// After stdio.h, as libjpeg requires.
#include <jpeglib.h>

#include "convert/media.h"
#include "convert/report.h"

bool s2d_report_write(const char *path, const char *slide, const char *outdir, bool ok,
                      const s2d_convert_report *report, const s2d_error *err, void *sent)
{
    json_t *root = s2d_report_json(report);
    if (!root) {
        return false;
    }
    json_object_set_new(root, "slide", json_string(slide));
    json_object_set_new(root, "outdir", json_string(outdir));
    json_object_set_new(root, "ok", json_boolean(ok));
    if (!ok) {
        json_object_set_new(root, "error", json_string(err->message));
    }
    if (sent) {
        json_object_set_new(root, "sent", (json_t *)sent);
    }
    bool written = s2d_cli_json_write(root, path);
    json_decref(root);
    return written;
}

bool s2d_cli_json_write(void *json, const char *path)
{
    const size_t flags = JSON_INDENT(2) | JSON_SORT_KEYS;
    if (strcmp(path, "-") == 0) {
        return json_dumpf(json, stdout, flags) == 0 && fputc('\n', stdout) != EOF &&
               fflush(stdout) == 0;
    }
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s.partial", path) >= (int)sizeof tmp) {
        return false;
    }
    bool written = json_dump_file(json, tmp, flags) == 0 && rename(tmp, path) == 0;
    if (!written) {
        unlink(tmp);
    }
    return written;
}

// LIBJPEG_TURBO_VERSION is bare tokens (2.1.5), made a string in two steps.
#define TOKENS_AS_STRING(x) #x
#define MACRO_AS_STRING(x) TOKENS_AS_STRING(x)

void s2d_cli_print_version(FILE *out)
{
    // TIFFGetVersion() is "LIBTIFF, Version 4.5.0" and then a copyright notice.
    const char *tiff = TIFFGetVersion(), *number = strstr(tiff, "Version ");
    number = number ? number + 8 : tiff;
    fprintf(out, "slide2dcm %s\n", S2D_VERSION);
    fprintf(out, "built with libtiff %.*s, libjpeg-turbo %s, OpenJPEG %s, CharLS %s, jansson %s, "
            "zlib %s\n", (int)strcspn(number, "\n"), number, MACRO_AS_STRING(LIBJPEG_TURBO_VERSION),
            opj_version(), charls_get_version_string(), jansson_version_str(), zlibVersion());
    fprintf(out, "loads when needed: %s (slides TIFF readers cannot open), %s (sending by "
            "STOW-RS)\n", OPENSLIDE_SONAME, LIBCURL_SONAME);
}

void s2d_cli_format_duration(double seconds, char *out, size_t size)
{
    long s = seconds > 0 && seconds < 1e9 ? (long)(seconds + 0.5) : 0;
    snprintf(out, size, "%ld:%02ld:%02ld", s / 3600, s / 60 % 60, s % 60);
}

int s2d_cli_make_media(const char *media, const char *const *dirs, size_t n, bool quiet)
{
    s2d_media_report rep;
    s2d_error err = {0};
    if (!s2d_media_make(media, dirs, n, &rep, &err)) {
        fprintf(stderr, "slide2dcm: %s\n", err.message);
        return s2d_cli_exit_status(err.code);
    }
    if (!quiet) {
        fprintf(stderr, "slide2dcm: %s: DICOM media folder, %zu files in its DICOMDIR (%zu "
                "copied, %zu hard links)\n", media, rep.files, rep.copied, rep.files - rep.copied);
        if (rep.invented) {
            fprintf(stderr, "slide2dcm: %s: %d directory keys the files leave empty (Patient "
                    "ID, Study ID ...) were made up for the DICOMDIR\n", media, rep.invented);
        }
    }
    return S2D_EXIT_OK;
}

int s2d_cli_usage_error(const char *command, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "slide2dcm: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n(slide2dcm %s%s--help lists the options)\n", command, *command ? " " : "");
    va_end(ap);
    return S2D_EXIT_USAGE;
}

int s2d_cli_exit_status(s2d_error_code code)
{
    switch (code) {
    case S2D_OK:
        return S2D_EXIT_OK;
    case S2D_ERR_USAGE:
        return S2D_EXIT_USAGE;
    case S2D_ERR_IO:
    case S2D_ERR_NOMEM:
        return S2D_EXIT_IO;
    case S2D_ERR_NOT_STORED:
        return S2D_EXIT_NOT_STORED;
    case S2D_ERR_CANCELLED:
        return S2D_EXIT_INTERRUPTED;
    default:
        return S2D_EXIT_FAILED;
    }
}
