// SPDX-License-Identifier: Apache-2.0
/* The batch journal (src/batch/journal.c): any bytes as batch-journal.jsonl, read back
 * record by record as a resumed batch reads it. */
#include "batch/journal.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    s2d_error err = {0};
    s2d_journal *j = s2d_journal_open(s2d_fuzz_file("batch-journal.jsonl", data, size), &err);
    if (j) {
        json_t *last = s2d_journal_last(j, "slide");
        (void)json_string_value(json_object_get(last, "status"));
        (void)s2d_journal_damaged_lines(j);
        s2d_journal_close(j);
    }
    return 0;
}
