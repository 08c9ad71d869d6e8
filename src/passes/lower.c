/*
 * lower.c — graph IR to a planned kernel IR program: the stages every
 * backend runs before code generation.
 *
 * decompose (composite ops into primitives) -> simplify -> fuse.c (fused,
 * or one kernel per node when fusion is off: the same code path, so
 * "fused vs unfused" compares like with like and the decision log says
 * why each edge stayed a boundary) -> assigns in place -> memory plan,
 * proved in debug builds.
 */
#include <stdio.h>
#include <string.h>

#include "ir/kernel.h"
#include "passes.h"

k_program *pass_lower_program(const kiln_graph *g, bool fuse, char *err,
                              size_t errlen)
{
    kiln_graph *dg = pass_decompose(g, err, errlen);
    if (!dg)
        return NULL;
    if (pass_simplify(dg, NULL, NULL) != KILN_OK) {
        snprintf(err, errlen, "%s", dg->error);
        kiln_graph_free(dg);
        return NULL;
    }
    k_program *p = pass_fuse(dg, fuse);
    if (!p) {
        snprintf(err, errlen, "lower: out of memory");
        return NULL;
    }
    if (p->g->status != KILN_OK) {
        snprintf(err, errlen, "%s", p->g->error);
        k_program_free(p);
        return NULL;
    }
    pass_assign_in_place(p);
    k_plan_memory(p);
#ifndef NDEBUG
    /* every plan is proved before use in debug builds (and the tests) */
    if (k_check_plan(p, err, errlen) != KILN_OK) {
        k_program_free(p);
        return NULL;
    }
#endif
    return p;
}
