// SPDX-License-Identifier: Apache-2.0
/* The stains a lab names most, as CID 8112 codes them; see stains.h. A stain the table
 * lacks goes in --metadata as a whole Specimen Preparation Sequence. */
#include "dicom/stains.h"

#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

static const s2d_stain_substance hematoxylin = {"12710003", "hematoxylin stain"},
                                 eosin = {"36879007", "water soluble eosin stain"},
                                 pas = {"255808002", "periodic acid Schiff stain"},
                                 trichrome = {"406989007", "trichrome stain"},
                                 giemsa = {"373646006", "giemsa stain"},
                                 congo_red = {"45106005", "Congo red stain"},
                                 ziehl_neelsen = {"255813003", "Ziehl-Neelsen stain"},
                                 gram = {"385484003", "gram stain"},
                                 alcian_blue = {"4656000", "alcian blue 8GX stain"},
                                 prussian_blue = {"255809005", "Prussian blue stain"},
                                 van_gieson = {"406957003", "Van Gieson stain"},
                                 verhoeff = {"406992006", "verhoeff's hematoxylin stain"},
                                 luxol_fast_blue = {"406958008", "luxol fast blue stain"},
                                 toluidine_blue = {"29522004", "toluidine blue stain"},
                                 silver = {"406951002", "silver stain"},
                                 oil_red_o = {"40808006", "oil red O stain"},
                                 sudan_black_b = {"36572009", "Sudan black B stain"},
                                 mucicarmine = {"406964001", "mucicarmine stain"},
                                 wright = {"373682001", "wright stain"},
                                 may_grunwald_giemsa = {"255803006", "may-Grunwald giemsa stain"},
                                 methylene_blue = {"6725000", "methylene blue stain"},
                                 orcein = {"406966004", "orcein stain"},
                                 safranin = {"406988004", "safranin stain"},
                                 nuclear_fast_red = {"78869007", "nuclear fast red stain"},
                                 methyl_green = {"22021002", "methyl green stain"},
                                 feulgen = {"255797007", "Feulgen reaction stain"};

typedef struct stain_row {
    const char *name;         // as help shows it
    const char *aliases;      // '|'-separated, in the form normalise() gives
    const s2d_stain_substance *substances[3];
} stain_row;

static const stain_row stains[] = {
    {"H&E", "hande|he|hne|hematoxylinandeosin|haematoxylinandeosin|hematoxylineosin|"
            "haematoxylineosin", {&hematoxylin, &eosin}},
    {"hematoxylin", "hematoxylin|haematoxylin", {&hematoxylin}},
    {"eosin", "eosin|eosiny|watersolubleeosin", {&eosin}},
    {"PAS", "pas|periodicacidschiff", {&pas}},
    {"Masson trichrome", "trichrome|massontrichrome|massonstrichrome", {&trichrome}},
    {"EVG", "evg|elasticvangieson|verhoeffvangieson", {&verhoeff, &van_gieson}},
    {"Van Gieson", "vangieson|vg", {&van_gieson}},
    {"Verhoeff", "verhoeff|verhoeffhematoxylin|verhoeffshematoxylin", {&verhoeff}},
    {"Giemsa", "giemsa", {&giemsa}},
    {"May-Grunwald Giemsa", "maygrunwaldgiemsa|maygruenwaldgiemsa|mgg", {&may_grunwald_giemsa}},
    {"Wright", "wright", {&wright}},
    {"Congo red", "congored", {&congo_red}},
    {"Ziehl-Neelsen", "ziehlneelsen|zn", {&ziehl_neelsen}},
    {"Gram", "gram", {&gram}},
    {"alcian blue", "alcianblue|alcianblue8gx", {&alcian_blue}},
    {"Prussian blue", "prussianblue|perls|perlsprussianblue", {&prussian_blue}},
    {"luxol fast blue", "luxolfastblue|lfb", {&luxol_fast_blue}},
    {"toluidine blue", "toluidineblue", {&toluidine_blue}},
    {"silver", "silver", {&silver}},
    {"oil red O", "oilredo|oro", {&oil_red_o}},
    {"Sudan black B", "sudanblackb|sbb", {&sudan_black_b}},
    {"mucicarmine", "mucicarmine", {&mucicarmine}},
    {"methylene blue", "methyleneblue", {&methylene_blue}},
    {"orcein", "orcein", {&orcein}},
    {"safranin", "safranin|safranino", {&safranin}},
    {"nuclear fast red", "nuclearfastred|kernechtrot", {&nuclear_fast_red}},
    {"methyl green", "methylgreen", {&methyl_green}},
    {"Feulgen", "feulgen", {&feulgen}},
};

// Lower-case ASCII letters and digits of in[0..len), with '&' and '+' read as "and" and a
// trailing "stain" dropped: "H & E", "h+e" and "Congo red stain" become "hande", "hande"
// and "congored". Everything else (spaces, hyphens, apostrophes, accents) is left out.
static void normalise(const char *in, size_t len, char *out, size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; i < len && n + 4 < cap; i++) {
        unsigned char c = (unsigned char)in[i];
        if (c == '&' || c == '+') {
            memcpy(out + n, "and", 3);
            n += 3;
        } else if (c < 0x80 && isalnum(c)) {
            out[n++] = (char)tolower(c);
        }
    }
    out[n] = '\0';
    if (n > 5 && strcmp(out + n - 5, "stain") == 0) {
        out[n - 5] = '\0';
    }
}

static bool alias_matches(const char *aliases, const char *key)
{
    size_t k = strlen(key);
    for (const char *a = aliases; *a;) {
        size_t n = strcspn(a, "|");
        if (n == k && strncmp(a, key, n) == 0) {
            return true;
        }
        a += n + (a[n] == '|');
    }
    return false;
}

static const stain_row *find(const char *text, size_t len)
{
    char key[128];
    normalise(text, len, key, sizeof key);
    for (size_t i = 0; key[0] && i < sizeof stains / sizeof *stains; i++) {
        if (alias_matches(stains[i].aliases, key)) {
            return &stains[i];
        }
    }
    return NULL;
}

static bool add_row(s2d_staining *out, const stain_row *row, const char *text, s2d_error *err)
{
    for (int i = 0; i < 3 && row->substances[i]; i++) {
        if (out->n == S2D_STAIN_MAX_SUBSTANCES) {
            return s2d_error_set(err, S2D_ERR_USAGE, "--stain \"%s\": more than %d substances",
                                 text, S2D_STAIN_MAX_SUBSTANCES);
        }
        out->substances[out->n++] = row->substances[i];
    }
    return true;
}

bool s2d_staining_parse(const char *text, s2d_staining *out, s2d_error *err)
{
    *out = (s2d_staining){0};
    // The whole text first: "H+E" is one stain, not the parts "H" and "E".
    const stain_row *whole = find(text, strlen(text));
    if (whole) {
        return add_row(out, whole, text, err);
    }
    for (const char *part = text;;) {
        size_t len = strcspn(part, "+");
        const stain_row *row = find(part, len);
        if (!row) {
            return s2d_error_set(err, S2D_ERR_USAGE,
                                 "--stain \"%s\": \"%.*s\" is not a stain slide2dcm knows "
                                 "(slide2dcm convert --help lists them); describe others in "
                                 "--metadata as a SpecimenPreparationSequence",
                                 text, (int)len, part);
        }
        if (!add_row(out, row, text, err)) {
            return false;
        }
        if (!part[len]) {
            return true;
        }
        part += len + 1;
    }
}

static char names[512];

static void list_names(void)
{
    size_t n = 0;
    for (size_t i = 0; i < sizeof stains / sizeof *stains && n < sizeof names; i++) {
        n += (size_t)snprintf(names + n, sizeof names - n, "%s%s", i ? ", " : "", stains[i].name);
    }
}

const char *s2d_stain_names(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, list_names);
    return names;
}
