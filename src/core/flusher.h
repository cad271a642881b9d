// SPDX-License-Identifier: Apache-2.0
/* A thread that flushes a file to disk while the file is still being written. On the
 * machines measured (docs/benchmarks.md) an fsync costs ~0.45 ms per MB written since the
 * previous one, whether or not the pages were handed to the disk early with
 * sync_file_range: flushing each stretch as it is written, beside the writer, leaves the
 * final fsync only the tail instead of the whole file. */
#ifndef S2D_FLUSHER_H
#define S2D_FLUSHER_H

typedef struct s2d_flusher s2d_flusher;

/** Starts the thread for `fd` (borrowed: it must stay open until s2d_flusher_stop); NULL
 *  when it cannot (the final fsync then does it all). The caller owns the flusher:
 *  s2d_flusher_stop ends and frees it. */
s2d_flusher *s2d_flusher_start(int fd);

/** Asks for an fdatasync of what has been written to fd so far. Returns at once; requests
 *  made while one runs become one more. */
void s2d_flusher_request(s2d_flusher *f);

/** Runs the flush asked for, if any, ends the thread and frees f. Returns the errno of the
 *  first fdatasync that failed, else 0: the caller must report it, since the failed
 *  fdatasync consumed the error the final fsync would otherwise have seen. */
int s2d_flusher_stop(s2d_flusher *f);

#endif
