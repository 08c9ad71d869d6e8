/*
 * assign_in_place.c — let the kernel that computes a param's new value
 * store it straight into the param.
 *
 * An assign is a copy after the run (param <- temp holding the new value),
 * so a training step writes every updated param, its Adam moments and so
 * on to a temp and copies it back: for the MLP of bench/fusion.c that is
 * three extra passes over 0.8 MB per weight matrix.  Worse, the temp
 * usually takes the arena slot of the gradient dying in the same kernel
 * (an in-place pair), so the codegen cannot mark the pointers noalias and
 * LLVM's run-time overlap check sends the loop to its scalar version.
 *
 * When k_assign_in_place_refusal (memcheck.c, where the rules live) finds
 * it legal — a map kernel reading the param only at the element it stores,
 * no later reader of the old value, no other reader of the new one — every
 * access of the temp becomes an access of the param, and the copy is kept
 * marked in_place: backends skip it, but still know the param changes.
 */
#include "ir/kernel.h"
#include "passes.h"

void pass_assign_in_place(k_program *p)
{
    for (int i = 0; i < p->ncopies; i++) {
        k_copy *c = &p->copies[i];
        if (c->in_place || p->buf[c->dst].kind != KB_PARAM ||
            p->buf[c->src].kind != KB_TEMP)
            continue;
        int t = k_sole_writer(p, c->src);
        if (t < 0 || k_assign_in_place_refusal(p, t, c->dst, c->src))
            continue;
        kernel *k = &p->k[t];
        for (int a = 0; a < k->nacc; a++)
            if (k->acc[a].buf == c->src)
                k->acc[a].buf = c->dst;
        for (uint32_t n = 0; n < p->g->count; n++)
            if (p->node_buf[n] == c->src)
                p->node_buf[n] = c->dst;
        c->in_place = true;
    }
}
