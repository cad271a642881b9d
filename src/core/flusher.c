// SPDX-License-Identifier: Apache-2.0
/* See core/flusher.h. */
#include "core/flusher.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <unistd.h>

struct s2d_flusher {
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    int fd;
    bool requested, stopping;
    int error;   // errno of the first failed fdatasync
};

static void *flusher_main(void *arg)
{
    s2d_flusher *f = arg;
    pthread_mutex_lock(&f->lock);
    for (;;) {
        if (f->requested) {
            f->requested = false;
            pthread_mutex_unlock(&f->lock);
            int failed = fdatasync(f->fd) != 0 ? errno : 0;
            pthread_mutex_lock(&f->lock);
            if (failed && !f->error) {
                f->error = failed;
            }
        } else if (f->stopping) {
            break;
        } else {
            pthread_cond_wait(&f->wake, &f->lock);
        }
    }
    pthread_mutex_unlock(&f->lock);
    return NULL;
}

s2d_flusher *s2d_flusher_start(int fd)
{
    s2d_flusher *f = calloc(1, sizeof *f);
    if (!f) {
        return NULL;
    }
    f->fd = fd;
    pthread_mutex_init(&f->lock, NULL);
    pthread_cond_init(&f->wake, NULL);
    if (pthread_create(&f->thread, NULL, flusher_main, f) != 0) {
        pthread_mutex_destroy(&f->lock);
        pthread_cond_destroy(&f->wake);
        free(f);
        return NULL;
    }
    return f;
}

void s2d_flusher_request(s2d_flusher *f)
{
    pthread_mutex_lock(&f->lock);
    f->requested = true;
    pthread_cond_signal(&f->wake);
    pthread_mutex_unlock(&f->lock);
}

int s2d_flusher_stop(s2d_flusher *f)
{
    // A request still pending runs first (so a failure in it is reported, whatever the
    // timing); the caller's fsync then has nothing left to write.
    pthread_mutex_lock(&f->lock);
    f->stopping = true;
    pthread_cond_signal(&f->wake);
    pthread_mutex_unlock(&f->lock);
    pthread_join(f->thread, NULL);
    int error = f->error;
    pthread_mutex_destroy(&f->lock);
    pthread_cond_destroy(&f->wake);
    free(f);
    return error;
}
