// SPDX-License-Identifier: Apache-2.0
/* Minimal unit test harness: CHECK records a failure and continues; main returns the count. */
#ifndef S2D_TEST_HARNESS_H
#define S2D_TEST_HARNESS_H

#include <stdio.h>
#include <string.h>

static int harness_failures;

#define CHECK(cond)                                                                      \
    do {                                                                                 \
        if (!(cond)) {                                                                   \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);     \
            harness_failures++;                                                          \
        }                                                                                \
    } while (0)

#define CHECK_MEM(a, b, n) CHECK(memcmp((a), (b), (n)) == 0)

#define RUN(test)                                                                        \
    do {                                                                                 \
        int before_ = harness_failures;                                                  \
        test();                                                                          \
        fprintf(stderr, "%s %s\n", harness_failures == before_ ? "ok  " : "FAIL", #test); \
    } while (0)

#endif
