/* Compares the GEMM libraries available on this machine on the shapes a
 * 784-1000-1000-1000-10 network trains with (batch 128), float32, in one
 * run. rewire uses oneDNN (linked); OpenBLAS and BLIS are loaded with
 * dlopen when installed, so the comparison needs no rebuild.
 *
 *   bench_gemm [threads]     (default: all cores)
 */
#include "internal.h"

#include <dlfcn.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>

typedef void (*cblas_sgemm_fn)(int, int, int, int, int, int, float,
                               const float *, int, const float *, int, float,
                               float *, int);
enum { RowMajor = 101, NoTrans = 111, Trans = 112 };

typedef struct shape {
    const char *what;
    char ta, tb;
    size_t M, N, K;
} shape;

static const shape shapes[] = {
    {"128x1000x1000 (issue figure)", 'N', 'N', 128, 1000, 1000},
    {"fwd  W(1000x1000)*X(1000x128)", 'N', 'N', 1000, 128, 1000},
    {"gW   dZ(1000x128)*X^T", 'N', 'T', 1000, 1000, 128},
    {"dX   W^T*dZ(1000x128)", 'T', 'N', 1000, 128, 1000},
};

static double run(cblas_sgemm_fn cb, const shape *s, float *A, float *B,
                  float *C, int reps)
{
    size_t lda = s->ta == 'T' ? s->M : s->K;
    size_t ldb = s->tb == 'T' ? s->K : s->N;
    double best = 1e30;
    for (int r = 0; r < reps; r++) {
        double t0 = rw_now();
        for (int k = 0; k < 10; k++) {
            if (cb)
                cb(RowMajor, s->ta == 'T' ? Trans : NoTrans,
                   s->tb == 'T' ? Trans : NoTrans, (int)s->M, (int)s->N,
                   (int)s->K, 1.0f, A, (int)lda, B, (int)ldb, 0.0f, C,
                   (int)s->N);
            else
                rw_sgemm(s->ta, s->tb, s->M, s->N, s->K, 1.0f, A, lda, B,
                         ldb, 0.0f, C, s->N);
        }
        double t = (rw_now() - t0) / 10;
        if (t < best)
            best = t;
    }
    return 2.0 * (double)s->M * (double)s->N * (double)s->K / best / 1e9;
}

int main(int argc, char **argv)
{
    int threads = rw_set_threads(argc > 1 ? atoi(argv[1]) : 0);
    size_t n = 1000 * 1000;
    float *A = malloc(n * 4), *B = malloc(n * 4), *C = malloc(n * 4);
    for (size_t i = 0; i < n; i++) {
        A[i] = (float)(i % 17) * 0.01f;
        B[i] = (float)(i % 13) * 0.02f;
    }
    struct lib {
        const char *name, *path;
        cblas_sgemm_fn fn;
    } libs[] = {
        {"oneDNN (rewire)", NULL, NULL},
        {"OpenBLAS", "libopenblas.so.0", NULL},
        {"BLIS", "libblis.so.4", NULL},
    };
    printf("threads: %d\nrewire GEMM: %s\nOPENBLAS_CORETYPE=%s\n\n", threads,
           rw_gemm_info(),
           getenv("OPENBLAS_CORETYPE") ? getenv("OPENBLAS_CORETYPE") : "(unset)");
    printf("%-32s", "shape (GFLOP/s)");
    int nlibs = 0;
    for (int l = 0; l < 3; l++) {
        if (libs[l].path) {
            void *h = dlopen(libs[l].path, RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND);
            if (!h)
                continue;
            libs[l].fn = (cblas_sgemm_fn)(uintptr_t)dlsym(h, "cblas_sgemm");
            if (!libs[l].fn)
                continue;
        }
        libs[nlibs++] = libs[l];
    }
    for (int l = 0; l < nlibs; l++)
        printf(" %16s", libs[l].name);
    printf("\n");
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        printf("%-32s", shapes[s].what);
        for (int l = 0; l < nlibs; l++)
            printf(" %16.1f", run(libs[l].fn, &shapes[s], A, B, C, 5));
        printf("\n");
    }
    free(A);
    free(B);
    free(C);
    return 0;
}
