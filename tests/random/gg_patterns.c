/*
 * gg_patterns.c — multi-op patterns that fusion treats specially:
 * reductions feeding elementwise ops, the softmax family, a layer-norm
 * shaped normalisation over the last axis, matmuls with transposed or
 * batched operands and a bias/activation epilogue, one_hot, and the
 * random ops.
 */
#include <string.h>

#include "gg_internal.h"

static const char *const red_name[R_COUNT] = {"sum", "mean", "max", "min", "argmax"};

/* Distinct random axes of a rank-r value, some counted from the end. */
static int random_axes(gg *s, int r, int *axes)
{
    int all[KILN_MAX_RANK], n = gg_range(s, 1, r);
    for (int d = 0; d < r; d++)
        all[d] = d;
    for (int i = 0; i < n; i++) {
        int j = i + gg_below(s, r - i), t = all[i];
        all[i] = all[j], all[j] = t;
        axes[i] = gg_chance(s, 0.3) ? all[i] - r : all[i];
    }
    return n;
}

/* r (reduced from a over axes, keepdims 0) reshaped to a's rank with the
 * reduced axes as size 1, so it broadcasts against a. */
static int kept_shape(gg *s, int a, int r, int naxes, const int *axes)
{
    const gg_val *v = &s->v[a];
    int64_t dims[KILN_MAX_RANK];
    memcpy(dims, v->dims, sizeof dims);
    for (int i = 0; i < (naxes ? naxes : v->rank); i++)
        dims[naxes ? (axes[i] + v->rank) % v->rank : i] = 1;
    return gg_reshape(s, r, v->rank, dims);
}

void gg_pattern_reduce(gg *s)
{
    int a = gg_pick(s, W_MAIN | (gg_chance(s, 0.9) ? W_RANK1 : 0));
    if (a < 0)
        return;
    gg_redop op = (gg_redop)gg_below(s, R_COUNT);
    if (op == R_MEAN && s->ints)
        op = R_SUM;
    if (op == R_ARGMAX && (!s->v[a].exact || s->v[a].rank == 0))
        op = R_MAX;
    if ((op == R_SUM || op == R_MEAN) && !s->ints && gg_chance(s, 0.4)) /* a producer to absorb */
        a = gg_unary(s, gg_rescale(s, a, 3), (gg_unop[]){U_EXP, U_SQUARE, U_ABS, U_TANH}[gg_below(s, 4)]);
    if (a < 0)
        return;
    int axes[KILN_MAX_RANK], naxes = 0, keep = gg_below(s, 2);
    if (op == R_ARGMAX)
        axes[0] = gg_below(s, s->v[a].rank) - (gg_chance(s, 0.3) ? s->v[a].rank : 0), naxes = 1;
    else if (s->v[a].rank > 0 && !gg_chance(s, 0.15))
        naxes = random_axes(s, s->v[a].rank, axes);
    gg_note(s, red_name[op]);
    int r = gg_reduce(s, a, op, naxes, naxes ? axes : NULL, keep);
    if (r < 0)
        return;
    if (op == R_ARGMAX) { /* an index used as a number */
        r = gg_cast(s, r, gg_main(s));
        if (!keep || !gg_chance(s, 0.5))
            return;
    }
    if (gg_chance(s, 0.3) && !s->ints) /* an epilogue on the folded value */
        r = gg_unary(s, gg_rescale(s, r, 3), (gg_unop[]){U_EXP, U_TANH, U_NEG, U_SQUARE}[gg_below(s, 4)]);
    if (r < 0 || !gg_chance(s, 0.75))
        return;
    if (!keep && naxes)
        r = kept_shape(s, a, r, naxes, axes);
    gg_binop use = (gg_binop[]){B_SUB, B_SUB, B_ADD, B_MUL, B_DIV}[gg_below(s, 5)];
    if (use == B_DIV && !s->ints)
        r = gg_positive(s, r, 0.5);
    if (use == B_MUL) {
        a = gg_rescale(s, a, 16);
        r = gg_rescale(s, r, 16);
    }
    gg_binary(s, a, r, use);
}

void gg_pattern_softmax(gg *s)
{
    int a = gg_pick(s, W_MAIN | W_RANK1);
    if (a < 0)
        return;
    const gg_val *v = &s->v[a];
    int roll = gg_below(s, 10);
    if (roll < 7) {
        int axis = gg_below(s, v->rank) - (gg_chance(s, 0.5) ? v->rank : 0);
        bool log_form = roll >= 4;
        gg_note(s, log_form ? "log_softmax" : "softmax");
        int y = gg_softmax(s, a, axis, log_form);
        if (y >= 0 && gg_chance(s, 0.4))
            gg_binary(s, y, a, log_form ? B_ADD : B_MUL);
        return;
    }
    gg_note(s, "softmax_cross_entropy");
    if (v->rank != 2) {
        int64_t dims[2] = {gg_numel(v) / v->dims[v->rank - 1], v->dims[v->rank - 1]};
        a = gg_reshape(s, a, 2, dims);
        if (a < 0)
            return;
    }
    v = &s->v[a];
    int labels;
    if (v->exact && gg_chance(s, 0.4)) {
        labels = gg_reduce(s, a, R_ARGMAX, 1, (int[]){1}, 0);
    } else {
        labels = gg_input(s, KILN_I32, 1, v->dims, 0, (double)(v->dims[1] - 1), 0);
    }
    gg_softmax_ce(s, a, labels);
}

void gg_pattern_layernorm(gg *s)
{
    int a = gg_pick(s, W_MAIN | W_RANK1);
    if (a < 0)
        return;
    gg_note(s, "layernorm");
    int last = -1;
    kiln_dtype t = s->ft;
    a = gg_rescale(s, a, 8);
    int mu = gg_reduce(s, a, R_MEAN, 1, &last, 1);
    int xc = gg_binary(s, a, mu, B_SUB);
    int var = gg_reduce(s, gg_unary(s, xc, U_SQUARE), R_MEAN, 1, &last, 1);
    double eps = (double[]){0.125, 0.5, 1}[gg_below(s, 3)];
    int inv = gg_unary(s, gg_binary(s, var, gg_scalar(s, t, eps), B_ADD), U_RSQRT);
    int y = gg_binary(s, xc, inv, B_MUL);
    if (y < 0 || !gg_chance(s, 0.6))
        return;
    int64_t d = s->v[y].dims[s->v[y].rank - 1];
    int gamma = s->training ? gg_param(s, 1, &d, 0.5, 1.5, 4)
                            : gg_input(s, t, 1, &d, 0.5, 1.5, 4);
    y = gg_binary(s, y, gamma, B_MUL);
    gg_binary(s, y, gg_input(s, t, 1, &d, -1, 1, 3), B_ADD);
}

/* The right operand of a matmul with a [.., M, K]: plain, transposed,
 * batched, a's own transpose, or (training) a param. */
static int matmul_rhs(gg *s, int a, int64_t N)
{
    const gg_val *v = &s->v[a];
    kiln_dtype t = v->t;
    int64_t K = v->dims[v->rank - 1], dims[KILN_MAX_RANK];
    double lo = t == KILN_I32 ? -3 : -1, hi = -lo;
    int r = s->training ? gg_below(s, 2) : gg_below(s, 5);
    if (s->training) {
        int64_t kn[2] = {K, N}, nk[2] = {N, K};
        if (r == 0)
            return gg_param(s, 2, kn, -1, 1, 4);
        return gg_transpose(s, gg_param(s, 2, nk, -1, 1, 4), (int[]){1, 0});
    }
    switch (r) {
    case 0: return gg_input(s, t, 2, (int64_t[]){K, N}, lo, hi, 4);
    case 1:
        gg_note(s, "T");
        return gg_transpose(s, gg_input(s, t, 2, (int64_t[]){N, K}, lo, hi, 4), (int[]){1, 0});
    case 2: {
        gg_note(s, "batched");
        int rank = v->rank >= 3 ? v->rank : 3;
        for (int d = 0; d < rank - 2; d++)
            dims[d] = v->rank >= 3 && !gg_chance(s, 0.3) ? v->dims[d] : (v->rank >= 3 ? 1 : 2);
        dims[rank - 2] = K, dims[rank - 1] = N;
        return gg_input(s, t, rank, dims, lo, hi, 4);
    }
    case 3: {
        if (v->rank != 2)
            return gg_input(s, t, 2, (int64_t[]){K, N}, lo, hi, 4);
        gg_note(s, "aT");
        return gg_transpose(s, a, (int[]){1, 0});
    }
    default: { /* a transposed param-like operand from a wider buffer */
        gg_note(s, "slicedT");
        int w = gg_input(s, t, 2, (int64_t[]){N + 2, K}, lo, hi, 4);
        w = gg_slice(s, w, (int64_t[]){1, 0}, (int64_t[]){N + 1, K}, NULL);
        return gg_transpose(s, w, (int[]){1, 0});
    }
    }
}

void gg_pattern_matmul(gg *s)
{
    int a = gg_chance(s, 0.8) ? gg_pick(s, W_MAIN) : -1;
    int64_t dims[KILN_MAX_RANK];
    if (a < 0) {
        dims[0] = gg_dim(s), dims[1] = gg_dim(s);
        a = gg_new_input(s, gg_main(s), 2, dims);
    }
    if (a < 0)
        return;
    if (s->v[a].rank < 2) {
        int64_t n = gg_numel(&s->v[a]);
        bool row = gg_chance(s, 0.5);
        a = gg_reshape(s, a, 2, (int64_t[]){row ? 1 : n, row ? n : 1});
    }
    a = gg_rescale(s, a, 4);
    if (a < 0)
        return;
    gg_note(s, "matmul");
    int64_t N = gg_chance(s, 0.15) ? gg_range(s, 13, 70) : gg_range(s, 1, 12);
    int h = gg_matmul(s, a, matmul_rhs(s, a, N));
    if (h < 0)
        return;
    s->cost += 6; /* a GEMM kernel takes as long to compile as several maps */
    if (gg_chance(s, 0.6)) {
        int64_t n = s->v[h].dims[s->v[h].rank - 1];
        int bias = s->training && gg_chance(s, 0.5) ? gg_param(s, 1, &n, -1, 1, 4)
                                                     : gg_input(s, s->v[h].t, 1, &n, -1, 1, 4);
        h = gg_binary(s, h, bias, B_ADD);
    }
    if (h >= 0 && gg_chance(s, 0.6)) {
        gg_unop act = s->ints ? U_RELU : (gg_unop[]){U_RELU, U_RELU, U_GELU, U_TANH, U_SIGMOID}[gg_below(s, 5)];
        gg_note(s, gg_unop_name[act]);
        gg_unary(s, act == U_RELU ? h : gg_rescale(s, h, 16), act);
    }
}

void gg_pattern_one_hot(gg *s)
{
    int depth = gg_range(s, 1, 12), labels = -1;
    int e = gg_pick(s, W_MAIN | W_EXACT | W_RANK1);
    gg_note(s, "one_hot");
    if (e >= 0 && gg_chance(s, 0.4)) {
        int axis = gg_below(s, s->v[e].rank);
        labels = gg_reduce(s, e, R_ARGMAX, 1, &axis, 0);
        depth = (int)s->v[e].dims[axis] + gg_below(s, 2) - gg_below(s, 2);
        depth = depth < 1 ? 1 : depth;
    } else {
        int64_t dims[2] = {gg_range(s, 1, 12), gg_range(s, 1, 6)};
        labels = gg_input(s, KILN_I32, gg_below(s, 3), dims, -1, depth, 0);
    }
    kiln_dtype t = gg_chance(s, 0.7) ? gg_main(s) : (kiln_dtype)gg_below(s, 3);
    int oh = gg_one_hot(s, labels, depth, t);
    if (oh < 0 || t != gg_main(s))
        return;
    int a = gg_pick(s, W_MAIN);
    if (a >= 0 && a != oh && gg_broadcasts(&s->v[a], &s->v[oh]))
        gg_binary(s, a, oh, B_MUL);
    else
        gg_reduce(s, oh, R_SUM, 1, (int[]){-1}, gg_below(s, 2));
}

void gg_pattern_random(gg *s)
{
    int a = gg_pick(s, W_MAIN);
    if (a < 0)
        return;
    const gg_val *v = &s->v[a];
    int roll = gg_below(s, s->ints ? 1 : 3);
    if (roll == 0) {
        gg_note(s, "bernoulli");
        double p = (double[]){0.1, 0.5, 0.9, 0.3}[gg_below(s, 4)];
        int b = gg_bernoulli(s, p, v->rank, v->dims);
        int z = gg_scalar(s, v->t, 0);
        gg_select(s, b, a, z);
    } else if (roll == 1) {
        gg_note(s, "random_uniform");
        int u = gg_random_uniform(s, v->t, v->rank, v->dims);
        gg_binary(s, a, u, gg_chance(s, 0.5) ? B_ADD : B_MUL);
    } else {
        gg_note(s, "dropout");
        gg_dropout(s, a, (double[]){0.5, 0.25, 0.1}[gg_below(s, 3)]);
    }
}
