/* Bounded blocking queue: a ring buffer under one mutex with two condition variables. */
#include "pipeline/queue.h"

#include <pthread.h>
#include <stdlib.h>

struct s2d_queue {
    pthread_mutex_t lock;
    pthread_cond_t not_full, not_empty;
    void **ring;
    size_t cap, head, count;
    bool closed;
};

s2d_queue *s2d_queue_new(size_t capacity)
{
    s2d_queue *q = calloc(1, sizeof *q);
    if (!q || capacity == 0 || !(q->ring = calloc(capacity, sizeof *q->ring))) {
        free(q);
        return NULL;
    }
    q->cap = capacity;
    pthread_mutex_init(&q->lock, NULL);
    pthread_cond_init(&q->not_full, NULL);
    pthread_cond_init(&q->not_empty, NULL);
    return q;
}

void s2d_queue_free(s2d_queue *q)
{
    if (!q) {
        return;
    }
    pthread_mutex_destroy(&q->lock);
    pthread_cond_destroy(&q->not_full);
    pthread_cond_destroy(&q->not_empty);
    free(q->ring);
    free(q);
}

bool s2d_queue_push(s2d_queue *q, void *item)
{
    pthread_mutex_lock(&q->lock);
    while (q->count == q->cap && !q->closed) {
        pthread_cond_wait(&q->not_full, &q->lock);
    }
    bool ok = !q->closed;
    if (ok) {
        q->ring[(q->head + q->count) % q->cap] = item;
        q->count++;
        pthread_cond_signal(&q->not_empty);
    }
    pthread_mutex_unlock(&q->lock);
    return ok;
}

bool s2d_queue_pop(s2d_queue *q, void **item)
{
    pthread_mutex_lock(&q->lock);
    while (q->count == 0 && !q->closed) {
        pthread_cond_wait(&q->not_empty, &q->lock);
    }
    bool ok = q->count > 0;
    if (ok) {
        *item = q->ring[q->head];
        q->head = (q->head + 1) % q->cap;
        q->count--;
        pthread_cond_signal(&q->not_full);
    }
    pthread_mutex_unlock(&q->lock);
    return ok;
}

void s2d_queue_close(s2d_queue *q)
{
    pthread_mutex_lock(&q->lock);
    q->closed = true;
    pthread_cond_broadcast(&q->not_full);
    pthread_cond_broadcast(&q->not_empty);
    pthread_mutex_unlock(&q->lock);
}
