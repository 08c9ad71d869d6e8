/*
 * math_ref.h — the oracle for test_math.c: libm in the next wider
 * precision (double for f32 results, long double for f64 results), and
 * ulp distances between floating values.
 */
#ifndef KILN_TEST_MATH_REF_H
#define KILN_TEST_MATH_REF_H

#include <stdint.h>

#include "ir/ir.h"

/* op(x) in long double through libm; gelu and sigmoid through
 * cancellation-free identities (see math_ref.c). */
long double ref_unary(ir_op op, long double x);
/* The f32 oracle: op(x) in double. */
double ref_unary_d(ir_op op, double x);

/* Steps between two floats / doubles in the ordered bit patterns (+0 and
 * -0 count as equal); 0 when both are NaN, infinite when one is. */
double ulp_dist_f32(float got, float want);
double ulp_dist_f64(double got, double want);

/* splitmix64: a seeded, repeatable stream of 64-bit values. */
uint64_t ref_rand(uint64_t *state);
/* A uniform double in [lo, hi]. */
double ref_uniform(uint64_t *state, double lo, double hi);

#endif
