/*
 * test_cpu_ops.c — every op of ops.def through the CPU backend, compared
 * with the reference evaluator (tolerances: cpu_help.h), and CPU results
 * bitwise equal for 1 and 2 threads.
 *
 * Built once per group (-DCO_GROUP=name runs that group's table) and once
 * as the coverage check (-DCO_COVERAGE): the op list comes from the
 * X-macro of ops.def, so an op added to the table without a CPU case
 * fails the suite.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpu_ops.h"

#ifdef CO_COVERAGE

static const co_case *const groups[] = {
#define CO_TABLE(group) co_cases_##group,
    CO_GROUPS(CO_TABLE)
#undef CO_TABLE
};

static void test_every_op_has_a_cpu_case(void **state)
{
    (void)state;
    static const struct {
        int op;
        const char *text;
    } table[] = {
#define OP(id, text, arity, cat, attr, shape, vjp, flags) {IR_OP_##id, text},
#include "ir/ops.def"
#undef OP
    };
    size_t n = sizeof table / sizeof table[0], missing = 0;
    assert_int_equal(n, IR_OP_COUNT);
    for (size_t i = 0; i < n; i++) {
        int count = 0;
        for (size_t g = 0; g < sizeof groups / sizeof groups[0]; g++)
            for (const co_case *c = groups[g]; c->name; c++)
                count += c->op == table[i].op;
        if (count == 0) {
            print_error("op '%s' has no CPU test case in tests/cpu\n", table[i].text);
            missing++;
        }
    }
    assert_int_equal(missing, 0);
}

static void test_rows_are_well_formed(void **state)
{
    (void)state;
    for (size_t g = 0; g < sizeof groups / sizeof groups[0]; g++)
        for (const co_case *c = groups[g]; c->name; c++) {
            assert_non_null(c->fn);
            assert_true(c->op >= 0 && c->op < IR_OP_COUNT);
            for (const co_case *d = c + 1; d->name; d++)
                if (strcmp(c->name, d->name) == 0)
                    fail_msg("case name '%s' is repeated", c->name);
        }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_op_has_a_cpu_case),
        cmocka_unit_test(test_rows_are_well_formed),
    };
    return cmocka_run_group_tests_name("cpu_ops_coverage", tests, NULL, NULL);
}

#else /* one group */

#define CO_STR2(x) #x
#define CO_STR(x) CO_STR2(x)
#define CO_CAT2(a, b) a##b
#define CO_CAT(a, b) CO_CAT2(a, b)

static void run_case(void **state)
{
    co_env *e = *state;
    memset(e->seen, 0, sizeof e->seen);
    e->c->fn(e);
    if (!e->seen[e->c->op])
        fail_msg("case '%s' is filed under op '%s' but compiled no graph "
                 "containing it", e->c->name, ir_ops[e->c->op].name);
}

int main(void)
{
    const co_case *cases = CO_CAT(co_cases_, CO_GROUP);
    size_t n = 0;
    while (cases[n].name)
        n++;
    struct CMUnitTest *tests = calloc(n, sizeof *tests);
    co_env *envs = calloc(n, sizeof *envs);
    ch_stats stats;
    memset(&stats, 0, sizeof stats);
    if (!tests || !envs) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }
    for (size_t i = 0; i < n; i++) {
        envs[i].c = &cases[i];
        envs[i].stats = &stats;
        tests[i].name = cases[i].name;
        tests[i].test_func = run_case;
        tests[i].initial_state = &envs[i];
    }
    /* CPU_TEST_FILTER=name runs matching cases only (cmocka wildcards) */
    if (getenv("CPU_TEST_FILTER"))
        cmocka_set_test_filter(getenv("CPU_TEST_FILTER"));
    int failures = _cmocka_run_group_tests("cpu_ops_" CO_STR(CO_GROUP), tests, n,
                                           NULL, NULL);
    ch_stats_print("cpu_ops_" CO_STR(CO_GROUP), &stats);
    free(tests);
    free(envs);
    return failures;
}

#endif
