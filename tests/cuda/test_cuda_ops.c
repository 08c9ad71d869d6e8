/*
 * test_cuda_ops.c — every op of ops.def through the CUDA code generator
 * (NVRTC for compute_90 + ptxas for sm_90, and host emulation against the
 * reference), fused and unfused.  OC_GROUP selects the group this
 * executable runs; built with -DOC_COVERAGE it checks the table instead.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "cuda_ops_cases.h"
#include "cuda_tools.h"

#ifdef OC_COVERAGE
/* Every op of the table has a row (enumerated from the X-macro). */
static void test_every_op_has_a_case(void **state)
{
    (void)state;
    for (int op = 0; op < IR_OP_COUNT; op++) {
        bool found = false;
        for (const oc_case *k = oc_cases; k->name; k++)
            found |= k->op == op;
        if (!found)
            fail_msg("op '%s' has no CUDA test case (tests/cuda/cuda_ops_cases.c)",
                     ir_ops[op].name);
    }
}

/* The toolkit half of every CUDA test: NVRTC and ptxas work here, or
 * this build has no toolkit and those checks are skipped everywhere. */
static void test_toolkit(void **state)
{
    (void)state;
#ifdef KILN_HAVE_CUDA
    char err[4096];
    if (!ct_nvrtc_ptxas("extern \"C\" __global__ void kiln_k0(void *const *kb)\n"
                        "{ ((float *)kb[0])[threadIdx.x] = 1.0f; }\n", err, sizeof err))
        fail_msg("%s", err);
#else
    printf("built without the CUDA toolkit: the NVRTC and ptxas checks of the cuda "
           "suite are skipped; host emulation still runs\n");
    skip();
#endif
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_every_op_has_a_case),
                                       cmocka_unit_test(test_toolkit)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
#else
static cc_stats stats;

static void run_case(void **state)
{
    const oc_case *k = *state;
    memset(stats.seen, 0, sizeof stats.seen);
    k->fn(k, &stats);
    if (!stats.seen[k->op])
        fail_msg("case %s: no graph it checked contained op '%s'", k->name, ir_ops[k->op].name);
}

int main(void)
{
    struct CMUnitTest tests[IR_OP_COUNT + 1];
    int n = 0;
    for (const oc_case *k = oc_cases; k->name; k++) {
        if (k->group != OC_GROUP)
            continue;
        tests[n] = (struct CMUnitTest){k->name, run_case, NULL, NULL, (void *)k};
        n++;
    }
    int rc = _cmocka_run_group_tests("cuda_ops", tests, (size_t)n, NULL, NULL);
    cc_stats_print("cuda_ops", &stats);
    return rc;
}
#endif
