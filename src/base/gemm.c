/* The one place that calls the GEMM library (oneDNN's dnnl_sgemm): it picks
 * its JIT kernel for the CPU at run time and runs on the OpenMP pool that
 * the rest of the library uses, so no second thread pool competes. */
#include "base/base.h"

#include <omp.h>
#include <oneapi/dnnl/dnnl.h>
#include <stdio.h>

void rw_sgemm(char trans_a, char trans_b, size_t M, size_t N, size_t K,
              float alpha, const float *A, size_t lda, const float *B,
              size_t ldb, float beta, float *C, size_t ldc)
{
    if (M == 0 || N == 0)
        return;
    if (K == 0) {
        for (size_t i = 0; i < M; i++)
            for (size_t j = 0; j < N; j++)
                C[i * ldc + j] = beta == 0.0f ? 0.0f : beta * C[i * ldc + j];
        return;
    }
    int threads = omp_get_max_threads();
    /* A product below rw_par_min_work() multiply-adds runs on the calling
     * thread: waking the pool costs more than it saves, and on a busy
     * machine much more (base.h). */
    bool small = threads > 1 &&
                 (double)M * (double)N * (double)K < (double)rw_par_min_work();
    if (small)
        omp_set_num_threads(1);
    dnnl_sgemm(trans_a, trans_b, (dnnl_dim_t)M, (dnnl_dim_t)N, (dnnl_dim_t)K,
               alpha, A, (dnnl_dim_t)lda, B, (dnnl_dim_t)ldb, beta, C,
               (dnnl_dim_t)ldc);
    if (small)
        omp_set_num_threads(threads);
}

void rw_sgemm_ref(char trans_a, char trans_b, size_t M, size_t N, size_t K,
                  float alpha, const float *A, size_t lda, const float *B,
                  size_t ldb, float beta, float *C, size_t ldc)
{
    for (size_t i = 0; i < M; i++)
        for (size_t j = 0; j < N; j++) {
            double s = 0.0;
            for (size_t k = 0; k < K; k++) {
                float a = trans_a == 'T' ? A[k * lda + i] : A[i * lda + k];
                float b = trans_b == 'T' ? B[j * ldb + k] : B[k * ldb + j];
                s += (double)a * b;
            }
            float c = beta == 0.0f ? 0.0f : beta * C[i * ldc + j];
            C[i * ldc + j] = c + alpha * (float)s;
        }
}

static const char *isa_name(dnnl_cpu_isa_t isa)
{
    switch (isa) {
    case dnnl_cpu_isa_sse41: return "sse41";
    case dnnl_cpu_isa_avx: return "avx";
    case dnnl_cpu_isa_avx2: return "avx2";
    case dnnl_cpu_isa_avx2_vnni: return "avx2_vnni";
    case dnnl_cpu_isa_avx512_mic: return "avx512_mic";
    case dnnl_cpu_isa_avx512_mic_4ops: return "avx512_mic_4ops";
    case dnnl_cpu_isa_avx512_core: return "avx512_core";
    case dnnl_cpu_isa_avx512_core_vnni: return "avx512_core_vnni";
    case dnnl_cpu_isa_avx512_core_bf16: return "avx512_core_bf16";
    case dnnl_cpu_isa_avx512_core_amx: return "avx512_core_amx";
    default: return "generic";
    }
}

const char *rw_gemm_info(void)
{
    static char buf[96];
    const dnnl_version_t *v = dnnl_version();
    snprintf(buf, sizeof buf, "oneDNN %d.%d.%d sgemm (%s JIT kernels)",
             v->major, v->minor, v->patch,
             isa_name(dnnl_get_effective_cpu_isa()));
    return buf;
}
