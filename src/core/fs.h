// SPDX-License-Identifier: Apache-2.0
/* File-system steps the converter, the batch and the senders share. They are thin: each
 * fails with errno set, and the caller, who knows what the file is, words the error. */
#ifndef S2D_FS_H
#define S2D_FS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/** fsyncs directory dir, making the creations, renames and removals in it durable.
 *  false with errno set when it cannot be opened or flushed. */
bool s2d_fsync_dir(const char *dir);

/** What a file that is not regular is, for an error message ("a named pipe", "a socket"...).
 *  @return a static string, owned by nobody. */
const char *s2d_special_file_kind(mode_t mode);

/** Creates path and its missing parents (mkdir -p, mode 0777 before the umask). true when
 *  path is a directory or was made one; false with errno set. */
bool s2d_mkdirs(const char *path);

/** Writes all len bytes of buf to fd, resuming after short writes and signals.
 *  false with errno set (EIO when write makes no progress). */
bool s2d_write_all(int fd, const void *buf, size_t len);

/** Writes all len bytes of buf at offset, resuming after short writes and signals.
 *  false with errno set (EIO when pwrite makes no progress). */
bool s2d_pwrite_all(int fd, const void *buf, size_t len, uint64_t offset);

/** Reads len bytes at offset into buf, resuming after short reads and signals. Returns the
 *  bytes read, fewer than len only at the end of the file, or -1 with errno set. */
ssize_t s2d_pread_full(int fd, void *buf, size_t len, uint64_t offset);

/** Takes the exclusive lock of the file at path (created if missing, mode 0666 before the
 *  umask) without waiting, and writes this process's id into it so that a refused run can
 *  name the holder. The kernel drops the lock when the holder ends, however it ends: a lock
 *  file left by a killed run blocks nobody.
 *  @return a close-on-exec descriptor holding the lock, owned by the caller, who releases
 *  it by closing it or with s2d_lock_release; or -1 with errno set, EWOULDBLOCK when another
 *  process holds the lock, *holder then its id (0 when it has not written it yet). */
int s2d_lock_take(const char *path, pid_t *holder);

/** Removes path, the lock file of descriptor lock (s2d_lock_take), then closes lock; a
 *  negative lock does nothing. Removing before closing lets no other run lock the
 *  removed file (s2d_lock_take checks that what it locked is still at path). */
void s2d_lock_release(int lock, const char *path);

/** rm -rf that never follows a link (a link is removed, not its target). true when
 *  nothing is left at path; false with errno set. */
bool s2d_remove_tree(const char *path);

/** Puts the directory from at to: one rename when nothing is at to (*exchanged false);
 *  else one atomic exchange (renameat2 RENAME_EXCHANGE, *exchanged true), after which from
 *  holds what to held, for the caller to remove. Where the file system has no exchange,
 *  three renames leave to missing for a moment. false with errno set. */
bool s2d_put_dir(const char *from, const char *to, bool *exchanged);

#endif
