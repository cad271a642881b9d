/* The vendor told without OpenSlide (s2d_tiff_info_known_vendor) is OpenSlide's own on every
 * file under the test data and the synthetic slides given, and it is told for every Aperio
 * file and every NDPI (a Hamamatsu TIFF): a wrong shortcut would send a slide down the
 * wrong reader. Files it leaves to OpenSlide are fine whatever they are. */
#define _XOPEN_SOURCE 700
#include <ftw.h>
#include <stdlib.h>

#include "harness.h"
#include "reader/reader_impl.h"

static int told, tiff_slides;

static int check_file(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)st, (void)ftw;
    if (type != FTW_F) {
        return 0;
    }
    const char *fast = s2d_tiff_info_known_vendor(path);
    const char *vendor = NULL;
    s2d_error err = {0};
    CHECK(s2d_openslide_vendor(path, &vendor, &err));
    bool expected = vendor && (strcmp(vendor, "aperio") == 0 ||
                               (strcmp(vendor, "hamamatsu") == 0 && s2d_is_tiff(path)));
    tiff_slides += expected;
    if (fast) {
        told++;
        if (!vendor || strcmp(fast, vendor) != 0) {
            fprintf(stderr, "%s: told %s, OpenSlide says %s\n", path, fast,
                    vendor ? vendor : "none");
            CHECK(!"the vendor told without OpenSlide is OpenSlide's");
        }
    } else if (expected) {
        fprintf(stderr, "%s: a %s TIFF left to OpenSlide\n", path, vendor);
        CHECK(!"every Aperio and NDPI file is told without OpenSlide");
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: test_vendor DIR-OR-FILE...\n");
        return 2;
    }
    for (int i = 1; i < argc; i++) {
        CHECK(nftw(argv[i], check_file, 16, FTW_PHYS) == 0);
    }
    fprintf(stderr, "%d file(s) told without OpenSlide, %d Aperio or NDPI per OpenSlide\n",
            told, tiff_slides);
    CHECK(told >= 5 && told == tiff_slides);
    return harness_failures != 0;
}
