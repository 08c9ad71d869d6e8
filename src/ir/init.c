/* init.c — param initialisers (zeros, constant, uniform, normal, Glorot,
 * He), reproducible from their seed through Philox. */
#include <math.h>

#include "ir.h"

/* Random draws for initialisers use this Philox offset, apart from any
 * offset a graph's own random ops are likely to use. */
#define INIT_OFFSET 0x1417u

static void fans(const ir_type *t, double *fan_in, double *fan_out)
{
    double n = (double)ir_numel(t);
    if (t->rank <= 1) {
        *fan_in = *fan_out = n;
        return;
    }
    *fan_out = (double)t->dims[t->rank - 1];
    *fan_in = n / *fan_out;
}

static double uniform_at(uint32_t seed, int64_t i)
{
    return ir_random_unit(ir_random_bits(seed, INIT_OFFSET, (uint64_t)i));
}

/* Box-Muller on two draws per element; u1 is kept away from 0. */
static double normal_at(uint32_t seed, int64_t i)
{
    uint64_t e = 2 * (uint64_t)i;
    double u1 = ((ir_random_bits(seed, INIT_OFFSET, e) >> 8) + 0.5) * 0x1p-24;
    double u2 = ir_random_unit(ir_random_bits(seed, INIT_OFFSET, e + 1));
    return sqrt(-2 * log(u1)) * cos(2 * 3.14159265358979323846 * u2);
}

void ir_init_fill(const kiln_init *init, const ir_type *t, double *out)
{
    int64_t n = ir_numel(t);
    double fi, fo;
    fans(t, &fi, &fo);
    for (int64_t i = 0; i < n; i++) {
        double v = 0;
        switch (init->kind) {
        case KILN_INIT_ZEROS: v = 0; break;
        case KILN_INIT_CONSTANT: v = init->a; break;
        case KILN_INIT_UNIFORM:
            v = init->a + (init->b - init->a) * uniform_at(init->seed, i);
            break;
        case KILN_INIT_NORMAL:
            v = init->a + init->b * normal_at(init->seed, i);
            break;
        case KILN_INIT_GLOROT: {
            double l = sqrt(6 / (fi + fo));
            v = -l + 2 * l * uniform_at(init->seed, i);
            break;
        }
        case KILN_INIT_HE: v = sqrt(2 / fi) * normal_at(init->seed, i); break;
        }
        out[i] = ir_round_to(t->dtype, v);
    }
}

bool ir_init_valid(kiln_graph *g, const kiln_init *init, kiln_dtype t)
{
    if ((unsigned)init->kind > KILN_INIT_HE)
        return ir_error(g, KILN_ERR_INVALID_ARGUMENT,
                        "param: unknown initialiser kind %d", (int)init->kind);
    if (!isfinite(init->a) || !isfinite(init->b))
        return ir_error(g, KILN_ERR_INVALID_ARGUMENT,
                        "param: initialiser arguments must be finite");
    if (!ir_dtype_is_float(t) && init->kind != KILN_INIT_ZEROS &&
        init->kind != KILN_INIT_CONSTANT)
        return ir_error(g, KILN_ERR_DTYPE,
                        "param: a %s param takes only zeros or constant "
                        "initialisers",
                        kiln_dtype_name(t));
    if (init->kind == KILN_INIT_UNIFORM && !(init->a <= init->b))
        return ir_error(g, KILN_ERR_INVALID_ARGUMENT,
                        "param: uniform(%g, %g) needs low <= high", init->a,
                        init->b);
    if (init->kind == KILN_INIT_NORMAL && init->b < 0)
        return ir_error(g, KILN_ERR_INVALID_ARGUMENT,
                        "param: normal std %g is negative", init->b);
    return true;
}
