// SPDX-License-Identifier: Apache-2.0
/* Status block on a terminal; see cli/term.h. */
#include "cli/term.h"

#include <stdarg.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

void s2d_cli_term_init(s2d_cli_term *term, FILE *out)
{
    memset(term, 0, sizeof *term);
    term->out = out;
    term->tty = isatty(fileno(out)) != 0;
}

static int columns(const s2d_cli_term *term)
{
    struct winsize ws;
    if (ioctl(fileno(term->out), TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) {
        return ws.ws_col;
    }
    return 80;
}

// Moves to the start of the block's first line and clears to the end of the screen.
static void erase(s2d_cli_term *term)
{
    if (term->lines == 0) {
        return;
    }
    fputc('\r', term->out);
    if (term->lines > 1) {
        fprintf(term->out, "\033[%dA", term->lines - 1);
    }
    fputs("\033[J", term->out);
    term->lines = 0;
}

// Writes text, each line cut to one column less than the terminal's width (the
// last column would move the cursor on some terminals), never inside a UTF-8 character.
static void show(s2d_cli_term *term, const char *text)
{
    size_t room = (size_t)columns(term) - 1;
    const char *line = text;
    while (*line || term->lines == 0) {
        size_t len = strcspn(line, "\n");
        size_t cut = len;
        if (cut > room) {
            cut = room;
            while (cut > 0 && ((unsigned char)line[cut] & 0xC0) == 0x80) {
                cut--;
            }
        }
        if (term->lines > 0) {
            fputc('\n', term->out);
        }
        fwrite(line, 1, cut, term->out);
        term->lines++;
        if (!line[len]) {
            break;
        }
        line += len + 1;
    }
    fflush(term->out);
}

void s2d_cli_term_draw(s2d_cli_term *term, const char *text)
{
    if (!term->tty) {
        return;
    }
    erase(term);
    show(term, text);
}

void s2d_cli_term_say(s2d_cli_term *term, const char *fmt, ...)
{
    erase(term);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(term->out, fmt, ap);
    va_end(ap);
    fputc('\n', term->out);
    fflush(term->out);
}

void s2d_cli_progress_file(const char *path, const char *fmt, ...)
{
    char tmp[4200];
    if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp) {
        return;
    }
    FILE *f = fopen(tmp, "w");
    if (!f) {
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    bool written = vfprintf(f, fmt, ap) > 0 && fputc('\n', f) != EOF;
    va_end(ap);
    if (fclose(f) != 0 || !written || rename(tmp, path) != 0) {
        unlink(tmp);
    }
}

void s2d_cli_term_end(s2d_cli_term *term, bool keep)
{
    if (term->lines == 0) {
        return;
    }
    if (keep) {
        fputc('\n', term->out);
        term->lines = 0;
    } else {
        erase(term);
    }
    fflush(term->out);
}
