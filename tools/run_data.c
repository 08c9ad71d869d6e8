/* run_data.c — the data side of `kiln run` and `kiln bench`: seeded
 * inputs, byte order, output summaries and checksums, timing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"

size_t cli_numel(const kiln_binding *b)
{
    size_t n = 1;
    for (int i = 0; i < b->rank; i++)
        n *= (size_t)b->dims[i];
    return n;
}

uint64_t cli_fnv1a64(const void *data, size_t n)
{
    const unsigned char *p = data;
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 0x100000001b3ull;
    return h;
}

static uint64_t splitmix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

void cli_random_fill(const kiln_binding *b, uint64_t seed, void *data)
{
    /* Mixing in the name keeps an input's values independent of the
     * order and number of the other inputs. */
    uint64_t s = seed ^ cli_fnv1a64(b->name, strlen(b->name));
    size_t n = cli_numel(b);
    for (size_t i = 0; i < n; i++) {
        uint64_t r = splitmix64(&s);
        double u = (double)(r >> 11) * 0x1p-53; /* [0, 1) */
        switch (b->dtype) {
        case KILN_F32: ((float *)data)[i] = (float)(2 * u - 1); break;
        case KILN_F64: ((double *)data)[i] = 2 * u - 1; break;
        case KILN_I32: ((int32_t *)data)[i] = (int32_t)(r >> 62); break;
        default: ((uint8_t *)data)[i] = (uint8_t)(r >> 63); break;
        }
    }
}

static int host_is_little_endian(void)
{
    const uint16_t one = 1;
    return *(const unsigned char *)&one == 1;
}

void cli_to_little_endian(const kiln_binding *b, void *data)
{
    size_t size = kiln_dtype_size(b->dtype), n = cli_numel(b);
    if (host_is_little_endian() || size == 1)
        return;
    unsigned char *p = data;
    for (size_t i = 0; i < n; i++, p += size)
        for (size_t j = 0; j < size / 2; j++) {
            unsigned char t = p[j];
            p[j] = p[size - 1 - j];
            p[size - 1 - j] = t;
        }
}

static double value_at(const kiln_binding *b, const void *data, size_t i)
{
    switch (b->dtype) {
    case KILN_F32: return ((const float *)data)[i];
    case KILN_F64: return ((const double *)data)[i];
    case KILN_I32: return ((const int32_t *)data)[i];
    default: return ((const uint8_t *)data)[i] != 0;
    }
}

#define SHOWN 8

/* FNV-1a-64 of the little-endian bytes, whatever the host's order. */
static uint64_t hash_le(const kiln_binding *b, const void *data)
{
    const kiln_binding scalar = {.dtype = b->dtype};
    size_t size = kiln_dtype_size(b->dtype), n = cli_numel(b);
    uint64_t h = 0xcbf29ce484222325ull;
    unsigned char tmp[8];
    for (size_t i = 0; i < n; i++) {
        memcpy(tmp, (const unsigned char *)data + i * size, size);
        cli_to_little_endian(&scalar, tmp);
        for (size_t j = 0; j < size; j++)
            h = (h ^ tmp[j]) * 0x100000001b3ull;
    }
    return h;
}

void cli_print_summary(const kiln_binding *b, const void *data)
{
    size_t n = cli_numel(b);
    double sum = 0;
    printf("%s: %s[", b->name, kiln_dtype_name(b->dtype));
    for (int i = 0; i < b->rank; i++)
        printf("%s%lld", i ? "," : "", (long long)b->dims[i]);
    printf("] [");
    for (size_t i = 0; i < n; i++) {
        double v = value_at(b, data, i);
        sum += v;
        if (i >= SHOWN)
            continue;
        if (b->dtype == KILN_BOOL)
            printf("%s%s", i ? ", " : "", v ? "true" : "false");
        else
            printf("%s%.9g", i ? ", " : "", v);
    }
    printf("%s] sum=%.17g fnv1a64=%016llx\n", n > SHOWN ? ", ..." : "", sum,
           (unsigned long long)hash_le(b, data));
}

double cli_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec * 1e-6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double cli_median(double *v, int n)
{
    if (n <= 0)
        return 0;
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}
