/* The background flusher: requests while a file grows, many requests at once, stopping
 * with a request pending, and an fdatasync that fails (a descriptor that is not a file's),
 * asked for just before stop, reported by stop: the final fsync would no longer see it.
 * Runs under TSan too. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <unistd.h>

#include "core/flusher.h"
#include "harness.h"

static const char *path;

static void flushes_while_writing(void)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    CHECK(fd >= 0);
    s2d_flusher *f = s2d_flusher_start(fd);
    CHECK(f != NULL);
    static uint8_t block[1 << 20];
    memset(block, 0x5a, sizeof block);
    for (int i = 0; f && i < 24; i++) {
        CHECK(write(fd, block, sizeof block) == (ssize_t)sizeof block);
        s2d_flusher_request(f);
        if (i % 5 == 0) {
            s2d_flusher_request(f);   // coalesced with the one before
        }
    }
    if (f) {
        s2d_flusher_request(f);   // may still be pending at stop: it runs first
        CHECK(s2d_flusher_stop(f) == 0);
    }
    CHECK(fsync(fd) == 0);
    CHECK(lseek(fd, 0, SEEK_END) == 24 << 20);
    close(fd);
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
    RUN(flushes_while_writing);
    RUN(reports_a_failed_flush);
    return harness_failures != 0;
}
