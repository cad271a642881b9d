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

bool s2d_report_write(const char *path, const char *slide, const char *outdir, bool ok,
                      const s2d_convert_report *report, const s2d_error *err, void *sent)
{
    json_t *root = json_object();
    json_t *files = json_array();
    json_object_set_new(root, "slide", json_string(slide));
    json_object_set_new(root, "outdir", json_string(outdir));
    json_object_set_new(root, "ok", json_boolean(ok));
    if (!ok) {
        json_object_set_new(root, "error", json_string(err->message));
    }
    json_object_set_new(root, "seconds", json_real(report->seconds));
    json_object_set_new(root, "warnings", json_integer(report->warnings));
    if (report->kind[0]) {
        json_object_set_new(root, "kind", json_string(report->kind));
        json_object_set_new(root, "kind_reason", json_string(report->kind_reason));
    }
    for (int i = 0; i < report->nfiles; i++) {
        const s2d_file_report *f = &report->files[i];
        json_t *o = json_object();
        json_object_set_new(o, "name", json_string(f->name));
        json_object_set_new(o, "flavor", json_string(f->flavor));
        json_object_set_new(o, "sop_class_uid", json_string(f->sop_class_uid));
        json_object_set_new(o, "width", json_integer(f->width));
        json_object_set_new(o, "height", json_integer(f->height));
        json_object_set_new(o, "tiles", json_integer((json_int_t)f->frames));
        json_object_set_new(o, "bytes", json_integer((json_int_t)f->bytes));
        json_object_set_new(o, "seconds", json_real(f->seconds));
        if (f->first_frame_s >= 0) {
            json_object_set_new(o, "first_frame_s", json_real(f->first_frame_s));
        }
        json_object_set_new(o, "mode", json_string(f->mode));
        json_object_set_new(o, "transfer_syntax", json_string(f->transfer_syntax));
        json_object_set_new(o, "photometric", json_string(f->photometric));
        json_object_set_new(o, "replaced_tiles", json_integer((json_int_t)f->replaced_tiles));
        json_object_set_new(o, "tiles_per_second",
                            f->seconds > 0 ? json_real((double)f->frames / f->seconds) : json_null());
        if (f->in_concatenation_number) {
            // A part of a level split by --max-instance-size (replaced_tiles: the level's).
            json_t *c = json_object();
            json_object_set_new(c, "level", json_string(f->level_name));
            json_object_set_new(c, "uid", json_string(f->concatenation_uid));
            json_object_set_new(c, "number", json_integer(f->in_concatenation_number));
            json_object_set_new(c, "total", json_integer(f->in_concatenation_total));
            json_object_set_new(c, "frame_offset", json_integer((json_int_t)f->frame_offset));
            json_object_set_new(o, "concatenation", c);
        }
        json_array_append_new(files, o);
    }
    json_object_set_new(root, "files", files);
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
    if (s >= 3600) {
        snprintf(out, size, "%ldh%02ldm", s / 3600, s / 60 % 60);
    } else {
        snprintf(out, size, "%ldm%02lds", s / 60, s % 60);
    }
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
