/* Bounded queue: FIFO order, blocking when full, close semantics, and many producers and
 * consumers moving every item exactly once (run under TSan in CI). */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "harness.h"
#include "pipeline/queue.h"

static void test_fifo_and_close(void)
{
    s2d_queue *q = s2d_queue_new(3);
    CHECK(q != NULL);
    int items[3] = {1, 2, 3};
    for (int i = 0; i < 3; i++) {
        CHECK(s2d_queue_push(q, &items[i]));
    }
    void *got;
    CHECK(s2d_queue_pop(q, &got) && got == &items[0]);
    s2d_queue_close(q);
    CHECK(!s2d_queue_push(q, &items[0]));
    // Close drains what is left, then reports the end.
    CHECK(s2d_queue_pop(q, &got) && got == &items[1]);
    CHECK(s2d_queue_pop(q, &got) && got == &items[2]);
    CHECK(!s2d_queue_pop(q, &got));
    s2d_queue_free(q);
    CHECK(s2d_queue_new(0) == NULL);
}

typedef struct blocked {
    s2d_queue *q;
    atomic_int pushed;
} blocked;

static void *push_two(void *arg)
{
    blocked *b = arg;
    static int x;
    s2d_queue_push(b->q, &x);
    atomic_fetch_add(&b->pushed, 1);
    s2d_queue_push(b->q, &x);   // blocks: capacity 1
    atomic_fetch_add(&b->pushed, 1);
    return NULL;
}

static void test_push_blocks_when_full(void)
{
    blocked b = {.q = s2d_queue_new(1)};
    pthread_t t;
    pthread_create(&t, NULL, push_two, &b);
    usleep(100 * 1000);
    CHECK(atomic_load(&b.pushed) == 1);   // the second push is waiting for room
    void *got;
    CHECK(s2d_queue_pop(b.q, &got));
    pthread_join(t, NULL);
    CHECK(atomic_load(&b.pushed) == 2);
    s2d_queue_free(b.q);
}

enum { PRODUCERS = 4, CONSUMERS = 4, PER_PRODUCER = 20000 };

typedef struct shared {
    s2d_queue *q;
    atomic_long sum;
    atomic_long count;
} shared;

static void *producer(void *arg)
{
    shared *s = arg;
    for (intptr_t i = 1; i <= PER_PRODUCER; i++) {
        s2d_queue_push(s->q, (void *)i);
    }
    return NULL;
}

static void *consumer(void *arg)
{
    shared *s = arg;
    void *item;
    while (s2d_queue_pop(s->q, &item)) {
        atomic_fetch_add(&s->sum, (long)(intptr_t)item);
        atomic_fetch_add(&s->count, 1);
    }
    return NULL;
}

static void test_many_threads(void)
{
    shared s = {.q = s2d_queue_new(8)};
    pthread_t p[PRODUCERS], c[CONSUMERS];
    for (int i = 0; i < CONSUMERS; i++) {
        pthread_create(&c[i], NULL, consumer, &s);
    }
    for (int i = 0; i < PRODUCERS; i++) {
        pthread_create(&p[i], NULL, producer, &s);
    }
    for (int i = 0; i < PRODUCERS; i++) {
        pthread_join(p[i], NULL);
    }
    s2d_queue_close(s.q);
    for (int i = 0; i < CONSUMERS; i++) {
        pthread_join(c[i], NULL);
    }
    long n = PER_PRODUCER;
    CHECK(atomic_load(&s.count) == PRODUCERS * n);
    CHECK(atomic_load(&s.sum) == PRODUCERS * n * (n + 1) / 2);
    s2d_queue_free(s.q);
}

int main(void)
{
    RUN(test_fifo_and_close);
    RUN(test_push_blocks_when_full);
    RUN(test_many_threads);
    return harness_failures != 0;
}
