// SPDX-License-Identifier: Apache-2.0
/* The output directory, all or nothing. A conversion is written whole into a hidden
 * sibling of -o (".NAME.staging-XXXXXX"), its files under temporary names renamed within
 * it once all are complete (dicom/part10.h); then that folder becomes -o in one step: a
 * rename(2) when -o does not exist, an atomic exchange (renameat2 RENAME_EXCHANGE) when it
 * does, after which the earlier folder is removed. A kill at any moment leaves -o as it was
 * or complete, never a mix; what a killed run leaves beside -o is removed by the next run
 * on the same -o. The lock (".NAME.slide2dcm.lock") sits beside -o too, since -o itself is
 * replaced. */
#ifndef S2D_CONVERT_OUTDIR_H
#define S2D_CONVERT_OUTDIR_H

#include <stdbool.h>
#include <stddef.h>

#include "convert/output.h"
#include "core/diag.h"
#include "iod/iod.h"
#include "slide2dcm/slide2dcm.h"

typedef struct s2d_outdir {
    const char *given;       // -o as the caller wrote it, for messages; the caller's
    char target[4096];       // where the conversion appears (a link to a folder: its target)
    char staging[4096];      // the hidden sibling every file is written into; "" when none
    char lock_path[4096];
    int lock;                // -1 when not held
} s2d_outdir;

/** Locks -o (a usage error naming the holder's pid when another conversion has it), removes
 *  what killed runs on it left (staging folders beside it, hidden temporary files and
 *  backups inside it), checks that it is new, empty, or (with overwrite) an earlier
 *  conversion, and creates the staging folder. A folder holding other files is refused
 *  even with overwrite, since replacing it would delete them. od is the caller's to close
 *  with s2d_outdir_close whether or not this succeeds. */
bool s2d_outdir_prepare(s2d_outdir *od, const char *outdir, const s2d_iod *iod, bool overwrite,
                        s2d_error *err);

/** Makes the staging folder, complete and flushed by the caller's writers, -o in one step,
 *  removes the earlier folder it replaced (failing that, a warning: the next run removes
 *  it) and flushes the parent folder. */
bool s2d_outdir_publish(s2d_outdir *od, s2d_diag *diag, s2d_error *err);

/** Removes the staging folder if still there (a failed conversion) and releases the lock;
 *  the last step, once no writer has a file open in it. */
void s2d_outdir_close(s2d_outdir *od);

/** outdir/name into out (n bytes); a usage error when it does not fit. */
bool s2d_outdir_path(const char *outdir, const char *name, char *out, size_t n, s2d_error *err);

/** The part of path after its last '/' (a pointer into path). */
const char *s2d_base_name(const char *path);

// Every file of the conversion, the parts of concatenations included, in output order.
typedef struct s2d_output_file {
    s2d_part10_file info;
    int output;                       // index into the outputs
} s2d_output_file;

/** The files of the finished writers of outputs[0..noutputs).
 *  @return a malloc'd array of *count entries the caller frees, or NULL when out of memory. */
s2d_output_file *s2d_outdir_files(const s2d_output *outputs, int noutputs, size_t *count);

/** Renames every finished file to its final name inside the staging folder (each writer
 *  all or none) and flushes that folder. */
bool s2d_outdir_commit(const s2d_outdir *od, const s2d_output *outputs, int noutputs,
                       s2d_error *err);

#endif
