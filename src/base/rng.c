/* xoshiro256** seeded through splitmix64. All randomness in the library
 * flows from an explicit rw_rng. */
#include "base/base.h"

#include <math.h>

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

void rw_rng_seed(rw_rng *rng, uint64_t seed)
{
    uint64_t x = seed;
    for (int i = 0; i < 4; i++)
        rng->s[i] = splitmix64(&x);
}

static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t rw_rng_u64(rw_rng *rng)
{
    uint64_t *s = rng->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

uint64_t rw_rng_below(rw_rng *rng, uint64_t n)
{
    /* Lemire's nearly divisionless method would need 128-bit math; plain
     * rejection on the top of the range is simple and unbiased. */
    uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    uint64_t r;
    do {
        r = rw_rng_u64(rng);
    } while (r >= limit);
    return r % n;
}

double rw_rng_uniform(rw_rng *rng)
{
    return (double)(rw_rng_u64(rng) >> 11) * (1.0 / 9007199254740992.0);
}

double rw_rng_normal(rw_rng *rng)
{
    /* Box-Muller; one value per call keeps the state a plain struct. */
    double u1 = rw_rng_uniform(rng), u2 = rw_rng_uniform(rng);
    if (u1 < 1e-300)
        u1 = 1e-300;
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}
