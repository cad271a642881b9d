// SPDX-License-Identifier: Apache-2.0
/* The background flusher: requests while a file grows, many requests at once, stopping
 * with a request pending, and an fdatasync that fails (a descriptor that is not a file's),
 * asked for just before stop, reported by stop: the final fsync would no longer see it.
 * This file's fdatasync stands in for libc's (the executable's definition wins), so the
 * test sees each flush: a request is flushed without waiting for stop, by a thread other
 * than the writer's, and the last flush covers the whole file. Runs under TSan too. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "core/flusher.h"
#include "harness.h"

static const char *path;
static pthread_t writer_thread;
static atomic_int flushes;             // fdatasync calls
static atomic_int flushes_by_writer;   // of them, made by the thread that writes the file
static atomic_llong size_at_flush;     // the file's size when the latest one started

int fdatasync(int fd)
{
    struct stat st;
    atomic_store(&size_at_flush, fstat(fd, &st) == 0 ? (long long)st.st_size : -1);
    atomic_fetch_add(&flushes, 1);
    if (pthread_equal(pthread_self(), writer_thread)) {
        atomic_fetch_add(&flushes_by_writer, 1);
    }
    return (int)syscall(SYS_fdatasync, fd);
}

// Waits up to 10 s for at least n flushes; whether they came.
static bool wait_for_flushes(int n)
{
    for (int i = 0; i < 10000 && atomic_load(&flushes) < n; i++) {
        nanosleep(&(struct timespec){.tv_nsec = 1000000}, NULL);
    }
    return atomic_load(&flushes) >= n;
}

static void flushes_while_writing(void)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    CHECK(fd >= 0);
    s2d_flusher *f = s2d_flusher_start(fd);
    CHECK(f != NULL);
    static uint8_t block[1 << 20];
    memset(block, 0x5a, sizeof block);
    atomic_store(&flushes, 0);
    atomic_store(&flushes_by_writer, 0);
    for (int i = 0; f && i < 24; i++) {
        CHECK(write(fd, block, sizeof block) == (ssize_t)sizeof block);
        s2d_flusher_request(f);
        if (i == 0) {
            // The first request is flushed while the writer goes on, not at stop.
            CHECK(wait_for_flushes(1));
        }
        if (i % 5 == 0) {
            s2d_flusher_request(f);   // coalesced with the one before
        }
    }
    if (f) {
        s2d_flusher_request(f);   // may still be pending at stop: it runs first
        CHECK(s2d_flusher_stop(f) == 0);
    }
    CHECK(atomic_load(&flushes) >= 1 && atomic_load(&flushes_by_writer) == 0);
    CHECK(atomic_load(&size_at_flush) == 24 << 20);   // the last request covered it all
    CHECK(fsync(fd) == 0);
    CHECK(lseek(fd, 0, SEEK_END) == 24 << 20);
    close(fd);
    // What was written is what the file holds.
    fd = open(path, O_RDONLY);
    CHECK(fd >= 0);
    size_t same = 0;
    for (ssize_t n; fd >= 0 && (n = read(fd, block, sizeof block)) > 0;) {
        for (ssize_t k = 0; k < n; k++) {
            same += block[k] == 0x5a;
        }
    }
    CHECK(same == (size_t)24 << 20);
    if (fd >= 0) {
        close(fd);
    }
    unlink(path);
}

static void reports_a_failed_flush(void)
{
    int pipefd[2];
    CHECK(pipe(pipefd) == 0);
    s2d_flusher *f = s2d_flusher_start(pipefd[1]);
    CHECK(f != NULL);
    if (f) {
        s2d_flusher_request(f);
        CHECK(s2d_flusher_stop(f) == EINVAL);
    }
    close(pipefd[0]);
    close(pipefd[1]);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: test_flusher SCRATCH-FILE\n");
        return 2;
    }
    path = argv[1];
    writer_thread = pthread_self();
    RUN(flushes_while_writing);
    RUN(reports_a_failed_flush);
    return harness_failures != 0;
}
