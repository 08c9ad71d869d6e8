/*
 * optim.c — optimizers as graph transformations.
 *
 * Requires: a valid graph and a floating scalar loss.  Appends: the
 * gradients of the trained params, optional global-norm clipping, the
 * update rule (PyTorch's SGD / Adam / AdamW), new params for optimizer
 * state, and one assign per updated param or state tensor.  A run of the
 * compiled program is then one whole training step.
 */
#include <stdio.h>
#include <string.h>

#include "passes.h"

/* The params to train: the given ones, or every floating param the loss
 * depends on.  Returns the count, or -1 with an error recorded. */
static int collect(kiln_graph *g, kiln_node loss, int n, const kiln_node *given,
                   kiln_node **out)
{
    uint32_t L = ir_use(g, loss, "optimizer");
    if (L == IR_NONE)
        return -1;
    if (n < 0 || (n > 0 && !given))
        return ir_error(g, KILN_ERR_INVALID_ARGUMENT,
                        "optimizer: bad params list (n = %d)", n),
               -1;
    size_t cap = n > 0 ? (size_t)n : L + 1;
    *out = ir_alloc(g, cap * sizeof **out);
    bool *reach = ir_alloc(g, (L + 1) * sizeof *reach);
    if (!*out || !reach) {
        ir_free(g, reach);
        return ir_error(g, KILN_ERR_OUT_OF_MEMORY, "optimizer: out of memory"),
               -1;
    }
    int count = 0;
    if (n > 0) {
        for (int j = 0; j < n; j++) {
            uint32_t p = ir_use(g, given[j], "optimizer");
            if (p != IR_NONE && g->nodes[p].op != IR_OP_PARAM)
                ir_error(g, KILN_ERR_INVALID_ARGUMENT,
                         "optimizer: %s #%u is not a param",
                         ir_ops[g->nodes[p].op].name, (unsigned)p);
            (*out)[count++] = given[j];
        }
    } else {
        memset(reach, 0, (L + 1) * sizeof *reach);
        reach[L] = true;
        for (uint32_t i = L + 1; i-- > 0;)
            if (reach[i])
                for (int k = 0; k < g->nodes[i].nin; k++)
                    reach[g->nodes[i].in[k]] = true;
        for (uint32_t i = 0; i <= L; i++)
            if (reach[i] && g->nodes[i].op == IR_OP_PARAM &&
                ir_dtype_is_float(g->nodes[i].type.dtype))
                (*out)[count++] = ir_handle(g, i);
    }
    ir_free(g, reach);
    return g->status == KILN_OK ? count : -1;
}

/* A zero-initialised state param named "<param name><suffix>". */
static kiln_node state(kiln_graph *g, kiln_node p, const char *suffix)
{
    char name[KILN_MAX_NAME + 16];
    const char *base = kiln_node_name(g, p);
    snprintf(name, sizeof name, "%s%s", base ? base : "param", suffix);
    int64_t dims[KILN_MAX_RANK];
    int rank = kiln_node_shape(g, p, dims);
    return kiln_param(g, name, kiln_node_dtype(g, p), rank, dims,
                      kiln_init_zeros());
}

static kiln_node scalar_like(kiln_graph *g, kiln_node like, double v)
{
    return kiln_scalar(g, kiln_node_dtype(g, like), v);
}

/* g_i *= min(1, clip / (||g|| + 1e-6)), ||g|| over all gradients (f64). */
static void clip_global_norm(kiln_graph *g, int n, kiln_node *grads,
                             double clip)
{
    kiln_node total = kiln_scalar(g, KILN_F64, 0);
    for (int j = 0; j < n; j++) {
        kiln_node sq = kiln_sum(g, kiln_square(g, grads[j]), 0, NULL, 0);
        total = kiln_add(g, total, kiln_cast(g, sq, KILN_F64));
    }
    kiln_node norm = kiln_add(g, kiln_sqrt(g, total), kiln_scalar(g, KILN_F64, 1e-6));
    kiln_node coef = kiln_minimum(g, kiln_scalar(g, KILN_F64, 1),
                                  kiln_div(g, kiln_scalar(g, KILN_F64, clip), norm));
    for (int j = 0; j < n; j++)
        grads[j] = kiln_mul(g, grads[j],
                            kiln_cast(g, coef, kiln_node_dtype(g, grads[j])));
}

/* Gradients of the params, clipped when asked.  Returns them (count n) or
 * NULL with an error recorded. */
static kiln_node *gradients(kiln_graph *g, kiln_node loss, int n,
                            const kiln_node *params, double clip)
{
    kiln_node *grads = ir_alloc(g, (size_t)(n ? n : 1) * sizeof *grads);
    if (!grads) {
        ir_error(g, KILN_ERR_OUT_OF_MEMORY, "optimizer: out of memory");
        return NULL;
    }
    if (kiln_grad(g, loss, n, params, grads, KILN_GRAD_ZEROS_FOR_UNUSED) ==
            KILN_OK &&
        clip > 0)
        clip_global_norm(g, n, grads, clip);
    if (g->status != KILN_OK) {
        ir_free(g, grads);
        return NULL;
    }
    return grads;
}

static void sgd_update(kiln_graph *g, kiln_node w, kiln_node grad,
                       const kiln_sgd_options *o)
{
    kiln_node step = grad;
    if (o->weight_decay != 0)
        step = kiln_add(g, step, kiln_mul(g, w, scalar_like(g, w, o->weight_decay)));
    if (o->momentum != 0) {
        kiln_node v = state(g, w, ".momentum");
        kiln_node v_new = kiln_add(g, kiln_mul(g, v, scalar_like(g, w, o->momentum)),
                                   step);
        kiln_assign(g, v, v_new);
        step = o->nesterov ? kiln_add(g, step, kiln_mul(g, v_new,
                                                        scalar_like(g, w, o->momentum)))
                           : v_new;
    }
    kiln_assign(g, w, kiln_sub(g, w, kiln_mul(g, step, scalar_like(g, w, o->lr))));
}

kiln_status kiln_sgd(kiln_graph *g, kiln_node loss, const kiln_sgd_options *o)
{
    if (!g)
        return KILN_ERR_INVALID_ARGUMENT;
    if (g->status != KILN_OK)
        return g->status;
    if (!o || !(o->lr > 0) || o->momentum < 0 || (o->nesterov && !(o->momentum > 0)))
        return ir_error(g, KILN_ERR_INVALID_ARGUMENT,
                        "sgd: need options with lr > 0, momentum >= 0, and "
                        "momentum > 0 for nesterov"),
               g->status;
    kiln_node *params = NULL;
    int n = collect(g, loss, o->nparams, o->params, &params);
    kiln_node *grads = n >= 0 ? gradients(g, loss, n, params, o->clip_norm) : NULL;
    for (int j = 0; grads && j < n && g->status == KILN_OK; j++)
        sgd_update(g, params[j], grads[j], o);
    ir_free(g, grads);
    ir_free(g, params);
    return g->status;
}

typedef struct adam_step {
    kiln_node t; /* the step number after this run, f64 */
    kiln_adam_options o;
} adam_step;

static void adam_update(kiln_graph *g, kiln_node w, kiln_node grad,
                        const adam_step *s)
{
    const kiln_adam_options *o = &s->o;
    kiln_dtype dt = kiln_node_dtype(g, w);
    kiln_node t = kiln_cast(g, s->t, dt);
    if (o->weight_decay != 0 && !o->decoupled)
        grad = kiln_add(g, grad, kiln_mul(g, w, scalar_like(g, w, o->weight_decay)));
    kiln_node m = state(g, w, ".adam_m"), v = state(g, w, ".adam_v");
    kiln_node m_new = kiln_add(g, kiln_mul(g, m, scalar_like(g, w, o->beta1)),
                               kiln_mul(g, grad, scalar_like(g, w, 1 - o->beta1)));
    kiln_node v_new = kiln_add(g, kiln_mul(g, v, scalar_like(g, w, o->beta2)),
                               kiln_mul(g, kiln_square(g, grad),
                                        scalar_like(g, w, 1 - o->beta2)));
    kiln_assign(g, m, m_new);
    kiln_assign(g, v, v_new);
    /* PyTorch: denom = sqrt(v) / sqrt(1 - b2^t) + eps; w -= lr / (1 - b1^t) * m / denom */
    kiln_node one = scalar_like(g, w, 1);
    kiln_node bc1 = kiln_sub(g, one, kiln_pow(g, scalar_like(g, w, o->beta1), t));
    kiln_node bc2 = kiln_sub(g, one, kiln_pow(g, scalar_like(g, w, o->beta2), t));
    kiln_node denom = kiln_add(g, kiln_div(g, kiln_sqrt(g, v_new), kiln_sqrt(g, bc2)),
                               scalar_like(g, w, o->eps));
    kiln_node step = kiln_div(g, kiln_mul(g, scalar_like(g, w, o->lr), m_new),
                              kiln_mul(g, bc1, denom));
    kiln_node base = w;
    if (o->weight_decay != 0 && o->decoupled)
        base = kiln_mul(g, w, scalar_like(g, w, 1 - o->lr * o->weight_decay));
    kiln_assign(g, w, kiln_sub(g, base, step));
}

kiln_status kiln_adam(kiln_graph *g, kiln_node loss, const kiln_adam_options *opts)
{
    if (!g)
        return KILN_ERR_INVALID_ARGUMENT;
    if (g->status != KILN_OK)
        return g->status;
    adam_step s;
    memset(&s, 0, sizeof s);
    if (opts)
        s.o = *opts;
    if (s.o.lr == 0)
        s.o.lr = 1e-3;
    if (s.o.beta1 == 0)
        s.o.beta1 = 0.9;
    if (s.o.beta2 == 0)
        s.o.beta2 = 0.999;
    if (s.o.eps == 0)
        s.o.eps = 1e-8;
    if (!(s.o.lr > 0) || !(s.o.beta1 > 0 && s.o.beta1 < 1) ||
        !(s.o.beta2 > 0 && s.o.beta2 < 1) || !(s.o.eps > 0))
        return ir_error(g, KILN_ERR_INVALID_ARGUMENT,
                        "adam: need lr > 0, 0 < beta1, beta2 < 1 and eps > 0"),
               g->status;
    kiln_node *params = NULL;
    int n = collect(g, loss, s.o.nparams, s.o.params, &params);
    kiln_node *grads = n >= 0 ? gradients(g, loss, n, params, s.o.clip_norm) : NULL;
    if (grads) {
        kiln_node step = kiln_param(g, "adam.step", KILN_I32, 0, NULL,
                                    kiln_init_zeros());
        kiln_node next = kiln_add(g, step, kiln_scalar(g, KILN_I32, 1));
        kiln_assign(g, step, next);
        s.t = kiln_cast(g, next, KILN_F64);
    }
    for (int j = 0; grads && j < n && g->status == KILN_OK; j++)
        adam_update(g, params[j], grads[j], &s);
    ir_free(g, grads);
    ir_free(g, params);
    return g->status;
}
