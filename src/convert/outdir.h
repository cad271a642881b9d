/* The output directory as a transaction: each writer stages its files under temporary
 * names (dicom/part10.h); here they are renamed into place only when the whole conversion
 * succeeded, earlier files they replace (--overwrite) are moved aside first and put back on
 * failure, files of an earlier conversion that are not replaced are removed, and the
 * directory is flushed. */
#ifndef S2D_CONVERT_OUTDIR_H
#define S2D_CONVERT_OUTDIR_H

#include <stdbool.h>
#include <stddef.h>

#include "convert/output.h"
#include "core/diag.h"
#include "iod/iod.h"
#include "slide2dcm/slide2dcm.h"

/** Creates outdir (*created then true) or checks that it is a directory, and locks it for
 *  this conversion (*lock, a usage error naming the holder's pid when another conversion
 *  has it); without overwrite, refuses one that already holds files of iod's conversions
 *  (iod->is_output_name). *lock, -1 when not taken, is the caller's to give back with
 *  s2d_outdir_unlock whether or not this succeeds. */
bool s2d_outdir_prepare(const char *outdir, const s2d_iod *iod, bool overwrite, bool *created,
                        int *lock, s2d_error *err);

/** Releases the lock of s2d_outdir_prepare and removes its file (nothing when lock < 0):
 *  the last step of a conversion, once nothing else of it is left in outdir. */
void s2d_outdir_unlock(const char *outdir, int lock);

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

/** Puts every finished file under its final name, all or none, and flushes outdir.
 *  Warnings (a backup that cannot be removed or restored) go to diag. */
bool s2d_outdir_commit(const char *outdir, const s2d_output *outputs, int noutputs,
                       s2d_diag *diag, s2d_error *err);

/** After a successful --overwrite: removes the files of iod's conversions in outdir that are
 *  not among the outputs' (an earlier, larger conversion's); what fails is a warning. */
void s2d_outdir_remove_stale(const char *outdir, const s2d_iod *iod, const s2d_output *outputs,
                             int noutputs, s2d_diag *diag);

#endif
