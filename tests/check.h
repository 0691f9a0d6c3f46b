/* Minimal test helpers: each CHECK failure prints where and what, and the
 * test exits non-zero at the end. */
#ifndef RW_TEST_CHECK_H
#define RW_TEST_CHECK_H
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

static int rw_test_failures = 0;

#define CHECK(cond)                                                          \
    do {                                                                     \
        if (!(cond)) {                                                       \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, \
                    #cond);                                                  \
            rw_test_failures++;                                              \
        }                                                                    \
    } while (0)

#define CHECK_MSG(cond, ...)                                                 \
    do {                                                                     \
        if (!(cond)) {                                                       \
            fprintf(stderr, "%s:%d: CHECK failed: %s: ", __FILE__, __LINE__, \
                    #cond);                                                  \
            fprintf(stderr, __VA_ARGS__);                                    \
            fputc('\n', stderr);                                             \
            rw_test_failures++;                                              \
        }                                                                    \
    } while (0)

/* |a-b| <= atol + rtol*|b| */
#define CHECK_CLOSE(a, b, atol, rtol)                                         \
    do {                                                                      \
        double ca_ = (double)(a), cb_ = (double)(b);                          \
        if (!(fabs(ca_ - cb_) <= (atol) + (rtol)*fabs(cb_))) {                \
            fprintf(stderr, "%s:%d: CHECK_CLOSE failed: %s=%.9g vs %s=%.9g\n", \
                    __FILE__, __LINE__, #a, ca_, #b, cb_);                    \
            rw_test_failures++;                                               \
        }                                                                     \
    } while (0)

#define CHECK_OK(expr, errp)                                                 \
    do {                                                                     \
        rw_status st_ = (expr);                                              \
        if (st_ != RW_OK) {                                                  \
            fprintf(stderr, "%s:%d: %s failed: %s\n", __FILE__, __LINE__,    \
                    #expr, (errp)->msg);                                     \
            rw_test_failures++;                                              \
        }                                                                    \
    } while (0)

#define TEST_MAIN_END()                                                      \
    do {                                                                     \
        if (rw_test_failures) {                                              \
            fprintf(stderr, "%d check(s) failed\n", rw_test_failures);       \
            return 1;                                                        \
        }                                                                    \
        printf("all checks passed\n");                                       \
        return 0;                                                            \
    } while (0)

#endif
