/* check.h: the counting CHECK of the C unit tests (spec/c/test_*.c). A
 * failed check prints where and why and the test goes on; each test ends by
 * printing "name: N passed, N failed" from the two counters. */
#ifndef SPEC_C_CHECK_H
#define SPEC_C_CHECK_H

#include <stdio.h>

static int passed, failed;

#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        if (cond) {                                                                                \
            passed++;                                                                              \
        } else {                                                                                   \
            failed++;                                                                              \
            fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);                        \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fputc('\n', stderr);                                                                   \
        }                                                                                          \
    } while (0)

#endif
