/* Bounded blocking queue of pointers, many producers and consumers. Push blocks while the
 * queue is full, pop while it is empty; after close, pop drains what is left then fails. */
#ifndef S2D_QUEUE_H
#define S2D_QUEUE_H

#include <stdbool.h>
#include <stddef.h>

typedef struct s2d_queue s2d_queue;

s2d_queue *s2d_queue_new(size_t capacity);
void s2d_queue_free(s2d_queue *q);
/** @return false when the queue was closed (the item was not queued). */
bool s2d_queue_push(s2d_queue *q, void *item);
/** @return false when the queue is closed and empty. */
bool s2d_queue_pop(s2d_queue *q, void **item);
/** Wakes every waiter; later pushes fail. */
void s2d_queue_close(s2d_queue *q);

#endif
