/* chain_ref.c — workload (a) written by hand, the yardstick for fused code:
 * built with gcc -O3 -march=native -ffast-math (see bench/meson.build). */
#include <math.h>
#include <stddef.h>

#include "chain_ref.h"

void chain_ref(const float *x, float *y, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        float v = x[i];
        float s = 1.0f / (1.0f + expf(-v));
        float r = v - 0.2f > 0 ? v - 0.2f : 0;
        y[i] = tanhf(v * 0.5f + 0.1f) * s + r;
    }
}
