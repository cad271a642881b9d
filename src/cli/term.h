// SPDX-License-Identifier: Apache-2.0
/* Progress on standard error: on a terminal, a block of status lines rewritten in place
 * (convert's and send's one line, batch's slides in progress and its totals) with the
 * lines that stay (warnings, a finished slide) printed above it; off a terminal, only the
 * lines that stay. Not for use from more than one thread. */
#ifndef S2D_CLI_TERM_H
#define S2D_CLI_TERM_H

#include <stdbool.h>
#include <stdio.h>

/** Longest status block worth drawing, in bytes. */
#define S2D_TERM_BLOCK_MAX 4096

typedef struct s2d_cli_term {
    FILE *out;
    bool tty;                      // out is a terminal: the block is shown
    int lines;                     // lines of the block on the screen now (0: none)
} s2d_cli_term;

/** Prepares term for out; the block is shown only when out is a terminal. */
void s2d_cli_term_init(s2d_cli_term *term, FILE *out);

/** Replaces the block with text (lines separated by '\n', no final one). Each line is cut
 *  to the terminal's width, so that none wraps and the block can be erased exactly. Does
 *  nothing off a terminal. */
void s2d_cli_term_draw(s2d_cli_term *term, const char *text);

/** Prints one line that stays (no '\n' needed) where the block was; the next draw puts
 *  the block under it. */
void s2d_cli_term_say(s2d_cli_term *term, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/** Ends the block: keep=true leaves it on the screen as ordinary lines, false erases it.
 *  Later output starts on a fresh line either way. */
void s2d_cli_term_end(s2d_cli_term *term, bool keep);

/** Replaces the file at path with one line (fmt and a '\n'), by writing path.tmp and
 *  renaming it, so that a reader never sees half a line: how a batch's children report
 *  their progress (docs/batch.md). A file that cannot be written is let go: it costs the
 *  batch its view of one child. */
void s2d_cli_progress_file(const char *path, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
