// SPDX-License-Identifier: Apache-2.0
/* The batch journal, OUTROOT/batch-journal.jsonl: one JSON object per line, only ever
 * appended, each line flushed to disk (fdatasync) before the batch goes on. A run killed
 * in the middle of a line leaves a torn last line: reading skips lines that are not whole
 * JSON objects, and the next append first ends that line, so it cannot swallow a record.
 * The latest record of a slide (by output name) tells what happened to it last. */
#ifndef S2D_BATCH_JOURNAL_H
#define S2D_BATCH_JOURNAL_H

#include <jansson.h>
#include <stdbool.h>

#include "slide2dcm/error.h"

typedef struct s2d_journal s2d_journal;

/** Opens (creating) the journal and reads the latest record of each slide. The caller owns
 *  the journal: s2d_journal_close frees it. NULL with err on failure. */
s2d_journal *s2d_journal_open(const char *path, s2d_error *err);
/** Closes and frees j (NULL does nothing). */
void s2d_journal_close(s2d_journal *j);

/** The latest record for this output name, or NULL. Borrowed from the journal: valid until
 *  the next append for that name or the close; json_incref it to keep it longer. */
json_t *s2d_journal_last(const s2d_journal *j, const char *name);

/** Lines that were not whole records when the journal was read (a torn last line). */
int s2d_journal_damaged_lines(const s2d_journal *j);

/** Appends one record (it must have a "name") and waits until it is on disk. */
bool s2d_journal_append(s2d_journal *j, json_t *record, s2d_error *err);

#endif
