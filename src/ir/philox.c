/* philox.c — Philox-4x32-10 (Salmon et al., SC'11), the counter-based
 * generator behind every random number in kiln: a value depends only on
 * (key, counter), so every backend produces the same bits. */
#include "ir.h"

#define PHILOX_M0 0xD2511F53u
#define PHILOX_M1 0xCD9E8D57u
#define PHILOX_W0 0x9E3779B9u
#define PHILOX_W1 0xBB67AE85u

static void mulhilo(uint32_t a, uint32_t b, uint32_t *hi, uint32_t *lo)
{
    uint64_t p = (uint64_t)a * b;
    *hi = (uint32_t)(p >> 32);
    *lo = (uint32_t)p;
}

void ir_philox4x32_10(const uint32_t ctr[4], const uint32_t key[2],
                      uint32_t out[4])
{
    uint32_t c0 = ctr[0], c1 = ctr[1], c2 = ctr[2], c3 = ctr[3];
    uint32_t k0 = key[0], k1 = key[1];
    for (int round = 0; round < 10; round++) {
        uint32_t hi0, lo0, hi1, lo1;
        mulhilo(PHILOX_M0, c0, &hi0, &lo0);
        mulhilo(PHILOX_M1, c2, &hi1, &lo1);
        uint32_t n0 = hi1 ^ c1 ^ k0, n2 = hi0 ^ c3 ^ k1;
        c0 = n0;
        c1 = lo1;
        c2 = n2;
        c3 = lo0;
        k0 += PHILOX_W0;
        k1 += PHILOX_W1;
    }
    out[0] = c0;
    out[1] = c1;
    out[2] = c2;
    out[3] = c3;
}

uint32_t ir_random_bits(uint32_t seed, uint32_t offset, uint64_t e)
{
    uint64_t block = e >> 2;
    uint32_t ctr[4] = {(uint32_t)block, (uint32_t)(block >> 32), offset, 0};
    uint32_t key[2] = {seed, 0};
    uint32_t out[4];
    ir_philox4x32_10(ctr, key, out);
    return out[e & 3];
}

double ir_random_unit(uint32_t bits) { return (double)(bits >> 8) * 0x1p-24; }

uint32_t ir_bernoulli_threshold(double p)
{
    return (uint32_t)(p * 16777216.0); /* floor(p * 2^24), p in [0, 1] */
}
