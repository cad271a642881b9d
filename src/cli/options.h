// SPDX-License-Identifier: Apache-2.0
/* The options of `slide2dcm convert` and `slide2dcm batch` in one table. From it come the
 * getopt_long tables of both commands, the options batch passes on to every slide's
 * conversion, the usage texts and the statement of which options change the pixel data
 * (checked against s2d_convert_pixel_settings(), the seed of deterministic UIDs, by
 * tests/unit/test_options.c). An option is named in this table and nowhere else in src/cli/;
 * the sending options shared with `slide2dcm send` come from cli/send.h. */
#ifndef S2D_CLI_OPTIONS_H
#define S2D_CLI_OPTIONS_H

#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "cli/send.h"
#include "slide2dcm/slide2dcm.h"

/** What the options of a command line set, before the command acts on them. */
typedef struct s2d_cli_args {
    const char *command;          // "" for convert, "batch": names the --help of usage errors
    s2d_convert_options opts;
    char *output;                 // -o: convert's OUTDIR or batch's OUTROOT (points into argv)
    const char *report_path;      // --json-report
    const char *progress_path;    // --progress-file (hidden: a batch's child)
    const char *dicomdir;         // --dicomdir: the media folder to make
    const char *uid_root;         // --uid-root, checked against deterministic_uids afterwards
    bool deterministic_uids;
    bool quiet;
    bool help, version;           // print that and stop
    int jobs;                     // batch: slides at once
    bool force, list;             // batch: convert again / print the plan
    bool strict_manifest;         // batch: an unknown manifest column is an error
    s2d_cli_send send;            // --send-stow, --send-cstore and their options
} s2d_cli_args;

/** Defaults of every field; command is "" (convert), "batch" or "send", kept by pointer. Free the
 *  sending part with s2d_cli_send_free(&args->send). */
void s2d_cli_args_init(s2d_cli_args *args, const char *command);

enum {
    S2D_OPT_CONVERT = 1u << 0,   // convert takes it
    S2D_OPT_BATCH = 1u << 1,     // batch takes it and acts on it itself (its batch_help)
    S2D_OPT_FORWARD = 1u << 2,   // batch takes it and passes it on to every slide's convert
    S2D_OPT_PIXELS = 1u << 3,    // it changes the pixel data (s2d_convert_pixel_settings)
    S2D_OPT_DESTINATION = 1u << 4,   // a sending destination: the usage texts list the
                                     // sending options of cli/send.h after it
    S2D_OPT_SEND = 1u << 5,      // send takes it (send's usage text is its own)
    S2D_OPT_HIDDEN = 1u << 6,    // a test hook or the batch's channel to its children:
                                 // taken, but in no usage text, README or man page
};

typedef struct s2d_cli_option s2d_cli_option;

/** Applies one occurrence of the option; arg is its value (NULL for a flag), kept by
 *  pointer. @return 0, or 2 after printing the usage error. */
typedef int (*s2d_cli_apply_fn)(const s2d_cli_option *opt, s2d_cli_args *args, char *arg);

struct s2d_cli_option {
    const char *name;          // long name without "--"
    char short_name;           // 0 = none
    const char *arg;           // the value's name in the usage text; NULL for a flag
    const char *section;       // heading in convert --help before this option, or NULL
    const char *help;          // convert --help; lines separated by '\n'
    const char *batch_help;    // batch --help for an S2D_OPT_BATCH option
    s2d_cli_apply_fn apply;
    size_t field;              // offset in s2d_cli_args of what a generic apply sets
    unsigned flags;            // S2D_OPT_*
    const char *batch_arg;     // batch's name for the value, when not arg's
};

/** The table, s2d_cli_noptions rows. Static storage. */
extern const s2d_cli_option s2d_cli_options[];
extern const size_t s2d_cli_noptions;

/** getopt_long's val for an option: its short name, else a number past the characters. */
int s2d_cli_option_val(const s2d_cli_option *opt);

/** The option getopt_long returned as val, or NULL. Points into the table. */
const s2d_cli_option *s2d_cli_option_of_val(int val);

/** The getopt_long table of a command: the options with any bit of command_flags in their
 *  flags, then the sending options of cli/send.h, then the terminator; shortopts receives
 *  the matching optstring (leading ':', as our messages need). @return a malloc'd table
 *  the caller frees, or NULL when out of memory. */
struct option *s2d_cli_getopt_table(unsigned command_flags, char shortopts[16]);

/** convert's usage text (also the top-level one). */
void s2d_cli_print_convert_usage(FILE *out);

/** batch's usage text. */
void s2d_cli_print_batch_usage(FILE *out);

#endif
