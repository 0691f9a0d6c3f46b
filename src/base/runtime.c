/* Threads, signal stacks, version, time and CRC helpers. */
/* sigaltstack is XSI. */
#ifndef _XOPEN_SOURCE
#define _XOPEN_SOURCE 700
#endif
#include "base/base.h"

#include <errno.h>
#include <omp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

int rw_set_threads(int n)
{
    if (n <= 0)
        n = omp_get_num_procs();
    /* More threads than this only fail to start (libgomp aborts, or
     * crashes, once thread creation fails). */
    if (n > RW_MAX_THREADS)
        n = RW_MAX_THREADS;
    omp_set_num_threads(n);
    return n;
}

int rw_get_threads(void) { return omp_get_max_threads(); }

/* The stacks given out, kept for the threads' lives: a stack in use may
 * not be freed, and a pointer kept here is one that leak checkers (and
 * readers) can follow. */
#define MAX_SIGNAL_STACKS 4096
/* volatile: never read, so the compiler would drop the stores. */
static void *volatile signal_stacks[MAX_SIGNAL_STACKS];
static _Atomic size_t signal_stack_count;

/* An alternate signal stack for the calling thread, unless it has one: a
 * signal handler then runs there, not below the stack pointer of the code
 * it interrupts. */
static int own_signal_stack(void)
{
    stack_t old;
    if (sigaltstack(NULL, &old) != 0)
        return 0;
    if (!(old.ss_flags & SS_DISABLE))
        return 1;
    size_t size = (size_t)1 << 16;
    if (size < (size_t)SIGSTKSZ)
        size = (size_t)SIGSTKSZ;
    size_t slot = atomic_fetch_add(&signal_stack_count, 1);
    if (slot >= MAX_SIGNAL_STACKS) {
        errno = ENOMEM;
        return 0;
    }
    void *mem = malloc(size);
    if (!mem)
        return 0;
    stack_t ss = {.ss_sp = mem, .ss_size = size, .ss_flags = 0};
    if (sigaltstack(&ss, NULL) != 0) {
        free(mem);
        return 0;
    }
    signal_stacks[slot] = mem;
    return 1;
}

rw_status rw_signal_stack(rw_error *err)
{
    int ok = 1;
    /* The team includes the calling thread. */
#pragma omp parallel reduction(&& : ok)
    ok = own_signal_stack();
    return ok ? RW_OK
              : rw_fail(err, RW_ERR_NOMEM,
                        "cannot set up an alternate signal stack: %s",
                        strerror(errno));
}

/* Set before any pass runs (tests), read by every pass. */
static size_t par_min_work = RW_PAR_MIN_WORK;

size_t rw_par_min_work(void) { return par_min_work; }

void rw_set_par_min_work(size_t work) { par_min_work = work; }

const char *rw_version(void) { return RW_VERSION_STRING; }

double rw_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

uint32_t rw_crc32(uint32_t crc, const void *buf, size_t len)
{
    const unsigned char *p = buf;
    uLong c = crc;
    while (len > 0) {
        uInt chunk = len > (1u << 30) ? (1u << 30) : (uInt)len;
        c = crc32(c, p, chunk);
        p += chunk;
        len -= chunk;
    }
    return (uint32_t)c;
}
