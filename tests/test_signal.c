/* Signals handled while the GEMM runs: with rw_signal_stack and handlers
 * on the alternate stack (SA_ONSTACK), a dense layer's forward and backward
 * passes give the same bits with a signal every 100 us as without any.
 * On the main stack, oneDNN 2.6's JIT kernels lose the data they keep
 * below the stack pointer: this test then aborts (heap corruption) or
 * differs. */
#define _XOPEN_SOURCE 700
#include "check.h"
#include "internal.h"

#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t handled;
static volatile int stop_sender;

static void on_usr1(int sig)
{
    (void)sig;
    handled = handled + 1;
}

static void *sender(void *arg)
{
    (void)arg;
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, &s, NULL); /* the main thread takes them */
    struct timespec ts = {0, 100000};
    while (!stop_sender) {
        kill(getpid(), SIGUSR1);
        nanosleep(&ts, NULL);
    }
    return NULL;
}

/* passes forward and backward passes of L; the outputs, input errors and
 * weight gradients of the last, concatenated into out. */
static void run(rw_layer *L, const float *x, float *dx, size_t B, int passes,
                float *out)
{
    for (int p = 0; p < passes; p++) {
        rw_dense_forward(L, x, B, false);
        for (size_t i = 0; i < L->out * B; i++)
            L->d[i] = L->a[i] * 1e-3f;
        rw_dense_backward(L, x, dx, B, false, RW_ACT_IDENTITY);
    }
    memcpy(out, L->a, L->out * B * sizeof(float));
    memcpy(out + L->out * B, dx, L->in * B * sizeof(float));
    memcpy(out + (L->out + L->in) * B, L->gw, L->nw * sizeof(float));
}

int main(void)
{
    const size_t I = 784, O = 512, B = 128;
    const int passes = 300;
    rw_set_threads(1);
    rw_error err;
    rw_rng rng;
    rw_rng_seed(&rng, 9);
    rw_layer L;
    CHECK(rw_layer_init_dense(&L, I, O, RW_ACT_RELU, &err) == RW_OK);
    for (size_t k = 0; k < L.nw; k++)
        L.w[k] = (float)(rw_rng_normal(&rng) * 0.05);
    L.a = rw_alloc(O * B, sizeof(float), "a", &err);
    L.d = rw_alloc(O * B, sizeof(float), "d", &err);
    float *x = rw_alloc(I * B, sizeof(float), "x", &err);
    float *dx = rw_alloc(I * B, sizeof(float), "dx", &err);
    size_t n = (O + I) * B + L.nw;
    float *quiet = rw_alloc(n, sizeof(float), "quiet", &err);
    float *noisy = rw_alloc(n, sizeof(float), "noisy", &err);
    CHECK(L.a && L.d && x && dx && quiet && noisy);
    for (size_t i = 0; i < I * B; i++)
        x[i] = (float)rw_rng_uniform(&rng);
    run(&L, x, dx, B, passes, quiet);

    CHECK(rw_signal_stack(&err) == RW_OK);
    CHECK(rw_signal_stack(&err) == RW_OK); /* a second call keeps the stack */
    /* Its own 64 KiB, or one the thread had (AddressSanitizer sets up
     * one of its own for every thread). */
    stack_t ss;
    CHECK(sigaltstack(NULL, &ss) == 0 && !(ss.ss_flags & SS_DISABLE) &&
          ss.ss_size >= (size_t)MINSIGSTKSZ);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1;
    sa.sa_flags = SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    CHECK(sigaction(SIGUSR1, &sa, NULL) == 0);
    pthread_t th;
    CHECK(pthread_create(&th, NULL, sender, NULL) == 0);
    run(&L, x, dx, B, passes, noisy);
    stop_sender = 1;
    pthread_join(th, NULL);
    CHECK_MSG(handled > 200, "only %d signals were handled", (int)handled);
    CHECK_MSG(memcmp(quiet, noisy, n * sizeof(float)) == 0,
              "results differ with signals (%d handled)", (int)handled);
    printf("%d signals handled during %d passes; results identical\n",
           (int)handled, passes);
    rw_free(quiet);
    rw_free(noisy);
    rw_free(x);
    rw_free(dx);
    rw_layer_free(&L);
    return rw_test_failures ? 1 : 0;
}
