/* pipeline.c — the simplification pipeline: one flat, named list. */
#include "passes.h"

const pass_info pass_pipeline[] = {
    {"fold", pass_fold},
    {"algebra", pass_algebra},
    {"cse", pass_cse},
    {"dce", pass_dce},
    {NULL, NULL},
};

kiln_status pass_simplify(kiln_graph *g, pass_observer obs, void *user)
{
    for (const pass_info *p = pass_pipeline; p->name; p++) {
        if (p->run(g) != KILN_OK || ir_verify(g) != KILN_OK)
            return g->status;
        if (obs)
            obs(p->name, g, user);
    }
    return KILN_OK;
}
