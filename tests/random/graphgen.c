/*
 * graphgen.c — gg_generate: pick the graph's dtype family, grow it by
 * random steps until its compile cost reaches a random target, optionally
 * put a loss and an SGD or Adam step on top, and make every value nobody
 * reads an output (plus a few that are read: outputs in mid-graph).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gg_internal.h"

static void add_output(gg *s, int i)
{
    gg_case *c = s->c;
    if (c->nouts == GG_MAX_OUTS)
        return;
    gg_expect *e = &c->out[c->nouts];
    snprintf(e->name, sizeof e->name, "y%d", c->nouts);
    if (kiln_output(s->g, e->name, s->v[i].n) != KILN_OK)
        return;
    e->dtype = s->v[i].t;
    e->exact = s->v[i].exact || !gg_is_float(s->v[i].t);
    e->err = s->v[i].err;
    c->nouts++;
}

static void add_outputs(gg *s)
{
    for (int i = 0; i < s->nv; i++)
        if (!s->v[i].leaf && (s->v[i].uses == 0 || gg_chance(s, 0.08)))
            add_output(s, i);
    if (s->c->nouts == 0 && s->nv > 0) { /* nothing got built: one op at least */
        int a = gg_pick(s, W_MAIN);
        a = a >= 0 ? gg_unary(s, a, U_NEG) : -1;
        if (a >= 0)
            add_output(s, a);
    }
}

/* A scalar loss from value a: a mean of squares, an mse against a
 * target, a scaled sum, or a softmax cross-entropy. */
static int loss_of(gg *s, int a)
{
    const gg_val *v = &s->v[a];
    switch (gg_below(s, 4)) {
    case 0:
        gg_note(s, "loss=mse");
        return gg_mse(s, a, gg_input(s, s->ft, v->rank, v->dims, -1, 1, 4));
    case 1:
        if (v->rank == 2) {
            gg_note(s, "loss=sce");
            return gg_softmax_ce(s, a, gg_input(s, KILN_I32, 1, v->dims, 0,
                                                (double)(v->dims[1] - 1), 0));
        }
        /* fall through */
    case 2:
        gg_note(s, "loss=sum");
        return gg_binary(s, gg_reduce(s, a, R_SUM, 0, NULL, 0),
                         gg_scalar(s, s->ft, 0.125), B_MUL);
    default:
        gg_note(s, "loss=mean_sq");
        return gg_reduce(s, gg_unary(s, gg_rescale(s, a, 8), U_SQUARE), R_MEAN, 0, NULL, 0);
    }
}

/* Params stay exact through the forward pass (grid values, set before
 * the run), so relu masks and max ties cannot differ between backends.
 * Adam's eps is large (1e-3, 1e-2): the first step's update is
 * lr * g / (|g| + eps), and a tiny eps would turn a rounding-level g into
 * a full step of either sign. */
static bool train(gg *s, int loss)
{
    kiln_node params[GG_MAX_PARAMS];
    int n = 0;
    for (int i = 0; i < s->c->nparams; i++)
        if (s->v[loss].params & (1u << i))
            params[n++] = kiln_find(s->g, s->c->param[i].name);
    if (n == 0)
        return false;
    kiln_status st;
    if (gg_chance(s, 0.5)) {
        kiln_sgd_options o = {.lr = (double[]){0.1, 0.05, 0.01}[gg_below(s, 3)],
                              .nparams = n, .params = params};
        o.momentum = gg_chance(s, 0.5) ? 0.9 : 0;
        o.nesterov = o.momentum > 0 && gg_chance(s, 0.5);
        o.weight_decay = gg_chance(s, 0.3) ? 0.01 : 0;
        o.clip_norm = gg_chance(s, 0.3) ? 1.0 : 0;
        gg_note(s, o.momentum > 0 ? "sgd+momentum" : "sgd");
        st = kiln_sgd(s->g, s->v[loss].n, &o);
    } else {
        kiln_adam_options o = {.lr = gg_chance(s, 0.5) ? 0.01 : 0.001,
                               .eps = gg_chance(s, 0.5) ? 1e-3 : 1e-2,
                               .nparams = n, .params = params};
        o.weight_decay = gg_chance(s, 0.3) ? 0.01 : 0;
        o.decoupled = gg_chance(s, 0.5);
        o.clip_norm = gg_chance(s, 0.3) ? 1.0 : 0;
        gg_note(s, o.decoupled ? "adamw" : "adam");
        st = kiln_adam(s->g, s->v[loss].n, &o);
    }
    return st == KILN_OK;
}

/* x [B, K] -> matmul with a param, bias, activation, maybe a few random
 * steps, then a loss and an optimizer step. */
static void build_training(gg *s)
{
    int64_t dims[2] = {gg_range(s, 1, 8), gg_range(s, 1, 12)};
    int x = gg_input(s, KILN_F32, 2, dims, -1, 1, 4);
    gg_note(s, "train:");
    gg_pattern_matmul(s);
    int steps = gg_chance(s, 0.3) ? 1 : 0; /* gradient graphs compile slowly */
    for (int i = 0; i < steps; i++)
        gg_step(s);
    int a = -1;
    for (int i = s->nv - 1; i >= 0 && a < 0; i--)
        if (s->v[i].params && s->v[i].t == KILN_F32 && !s->v[i].leaf)
            a = i;
    if (a < 0) /* the matmul was not built: x times a param */
        a = gg_binary(s, x, gg_param(s, 1, &dims[1], -1, 1, 4), B_MUL);
    if (a < 0)
        return;
    int loss = loss_of(s, a);
    /* the loss is read by nothing in this table: add_outputs names it */
    if (loss >= 0 && s->v[loss].rank == 0 && train(s, loss))
        s->c->training = true;
}

static void build_plain(gg *s)
{
    int64_t dims[KILN_MAX_RANK];
    int rank = gg_shape(s, dims);
    gg_new_input(s, gg_main(s), rank, dims);
    if (gg_chance(s, 0.3)) {
        rank = gg_shape(s, dims);
        gg_new_input(s, gg_main(s), rank, dims);
    }
    int target = gg_range(s, 2, 6);
    for (int steps = 0; steps < 24 && s->cost < target; steps++)
        gg_step(s);
}

bool gg_generate(gg_case *c, uint64_t seed)
{
    memset(c, 0, sizeof *c);
    c->seed = seed;
    c->g = kiln_graph_new();
    gg *s = calloc(1, sizeof *s);
    if (!c->g || !s) {
        free(s);
        return false;
    }
    s->c = c;
    s->g = c->g;
    s->rng = seed * 0xD1B54A32D192ED03ull + 0x8BB84B93962EACC9ull;
    s->seed_in = s->offset_in = -1;
    int family = gg_below(s, 100);
    s->ints = family < 8;
    s->ft = family >= 8 && family < 22 ? KILN_F64 : KILN_F32;
    s->training = s->ft == KILN_F32 && !s->ints && gg_chance(s, 0.02);
    snprintf(s->summary, sizeof s->summary, "%s:", s->ints ? "i32" : kiln_dtype_name(s->ft));
    if (s->training)
        build_training(s);
    else
        build_plain(s);
    add_outputs(s);
    snprintf(c->summary, sizeof c->summary, "%s", s->summary);
    bool ok = kiln_graph_status(c->g) == KILN_OK && c->nouts > 0;
    free(s);
    return ok;
}

void gg_free(gg_case *c)
{
    kiln_graph_free(c->g);
    for (int i = 0; i < c->nfeeds; i++)
        free(c->feed[i].data);
    for (int i = 0; i < c->nparams; i++)
        free(c->param[i].data);
    memset(c, 0, sizeof *c);
}
