/* eval_nn.c — reference matmul, softmax family, one_hot and random ops. */
#include <math.h>

#include "eval.h"

kiln_status eval_MATMUL(ir_eval *e, const ir_node *n, double *out)
{
    const ir_type *at = EVAL_TYPE(e, n, 0), *bt = EVAL_TYPE(e, n, 1);
    const double *a = EVAL_IN(e, n, 0), *b = EVAL_IN(e, n, 1);
    int64_t M = at->dims[at->rank - 2], K = at->dims[at->rank - 1],
            N = bt->dims[bt->rank - 1];
    /* Batch strides (in matrices) of a and b against the output batch. */
    ir_type ob = n->type, ab = *at, bb = *bt;
    ob.rank -= 2;
    ab.rank -= 2;
    bb.rank -= 2;
    int64_t sa[KILN_MAX_RANK], sb[KILN_MAX_RANK];
    ir_broadcast_strides(&ab, &ob, sa);
    ir_broadcast_strides(&bb, &ob, sb);
    int64_t batches = ir_numel(&ob);
    bool i32 = n->type.dtype == KILN_I32;
    for (int64_t t = 0; t < batches; t++) {
        const double *A = a + ir_offset(&ob, sa, t) * M * K;
        const double *B = b + ir_offset(&ob, sb, t) * K * N;
        double *C = out + t * M * N;
        for (int64_t i = 0; i < M; i++)
            for (int64_t j = 0; j < N; j++) {
                double acc = 0;
                /* unsigned: two i32 products near 2^62 already overflow
                 * int64; modulo 2^64 keeps the low 32 bits exact */
                uint64_t iacc = 0;
                for (int64_t k = 0; k < K; k++) {
                    if (i32)
                        iacc += (uint64_t)((int64_t)A[i * K + k] *
                                           (int64_t)B[k * N + j]);
                    else
                        acc += A[i * K + k] * B[k * N + j];
                }
                C[i * N + j] =
                    i32 ? ir_wrap_i32((int64_t)(iacc & 0xffffffffu)) : acc;
            }
    }
    return KILN_OK;
}

/* Rows along `axis`: element (o, k, i) lives at (o * len + k) * inner + i. */
typedef struct rows {
    int64_t outer, len, inner;
} rows;

static rows rows_of(const ir_type *t, int axis)
{
    rows r = {1, t->dims[axis], 1};
    for (int d = 0; d < axis; d++)
        r.outer *= t->dims[d];
    for (int d = axis + 1; d < t->rank; d++)
        r.inner *= t->dims[d];
    return r;
}

static kiln_status softmax_like(ir_eval *e, const ir_node *n, double *out,
                                bool log_form)
{
    rows r = rows_of(&n->type, n->attr.u.axis);
    const double *x = EVAL_IN(e, n, 0);
    for (int64_t o = 0; o < r.outer; o++)
        for (int64_t i = 0; i < r.inner; i++) {
            const double *xr = x + o * r.len * r.inner + i;
            double *yr = out + o * r.len * r.inner + i;
            double m = -INFINITY, sum = 0;
            for (int64_t k = 0; k < r.len; k++)
                m = fmax(m, xr[k * r.inner]);
            for (int64_t k = 0; k < r.len; k++)
                sum += exp(xr[k * r.inner] - m);
            for (int64_t k = 0; k < r.len; k++)
                yr[k * r.inner] = log_form ? xr[k * r.inner] - m - log(sum)
                                           : exp(xr[k * r.inner] - m) / sum;
        }
    return KILN_OK;
}

kiln_status eval_SOFTMAX(ir_eval *e, const ir_node *n, double *out)
{
    return softmax_like(e, n, out, false);
}

kiln_status eval_LOG_SOFTMAX(ir_eval *e, const ir_node *n, double *out)
{
    return softmax_like(e, n, out, true);
}

kiln_status eval_SOFTMAX_CE(ir_eval *e, const ir_node *n, double *out)
{
    const ir_type *xt = EVAL_TYPE(e, n, 0);
    const double *x = EVAL_IN(e, n, 0), *y = EVAL_IN(e, n, 1);
    int64_t N = xt->dims[0], C = xt->dims[1];
    double total = 0;
    for (int64_t r = 0; r < N; r++) {
        const double *row = x + r * C;
        if (y[r] < 0 || y[r] >= (double)C)
            return ir_eval_fail(e, n, "label %.0f of row %lld is outside [0, %lld)",
                                y[r], (long long)r, (long long)C);
        double m = -INFINITY, sum = 0;
        for (int64_t k = 0; k < C; k++)
            m = fmax(m, row[k]);
        for (int64_t k = 0; k < C; k++)
            sum += exp(row[k] - m);
        total += m + log(sum) - row[(int64_t)y[r]];
    }
    out[0] = total / (double)N;
    return KILN_OK;
}

kiln_status eval_ONE_HOT(ir_eval *e, const ir_node *n, double *out)
{
    const double *y = EVAL_IN(e, n, 0);
    int64_t depth = n->type.dims[n->type.rank - 1];
    int64_t count = ir_numel(EVAL_TYPE(e, n, 0));
    for (int64_t i = 0; i < count; i++)
        for (int64_t k = 0; k < depth; k++)
            out[i * depth + k] = y[i] == (double)k;
    return KILN_OK;
}

/* seed and offset are i32 scalars; their bit patterns key the stream. */
static void stream(ir_eval *e, const ir_node *n, uint32_t *seed,
                   uint32_t *offset)
{
    *seed = (uint32_t)(int32_t)EVAL_IN(e, n, 0)[0];
    *offset = (uint32_t)(int32_t)EVAL_IN(e, n, 1)[0];
}

kiln_status eval_RANDOM_UNIFORM(ir_eval *e, const ir_node *n, double *out)
{
    uint32_t seed, offset;
    stream(e, n, &seed, &offset);
    int64_t count = ir_numel(&n->type);
    for (int64_t i = 0; i < count; i++)
        out[i] = ir_random_unit(ir_random_bits(seed, offset, (uint64_t)i));
    return KILN_OK;
}

kiln_status eval_BERNOULLI(ir_eval *e, const ir_node *n, double *out)
{
    uint32_t seed, offset;
    stream(e, n, &seed, &offset);
    int64_t count = ir_numel(&n->type);
    uint32_t threshold = ir_bernoulli_threshold(n->attr.u.p);
    for (int64_t i = 0; i < count; i++)
        out[i] = (ir_random_bits(seed, offset, (uint64_t)i) >> 8) < threshold;
    return KILN_OK;
}
