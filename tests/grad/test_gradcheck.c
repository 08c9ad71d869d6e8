/*
 * test_gradcheck.c — every differentiable op of ops.def against central
 * finite differences in f64 (gc.c), one cmocka test per case row; and,
 * unless the op is listed in first_order_only(), its Hessian-vector
 * product, so every VJP rule is shown to be differentiable itself.
 *
 * The first test walks ops.def: an op flagged IR_F_DIFF with fewer than
 * GC_MIN_CASES rows fails the suite, so a new op cannot ship without a
 * gradient check.  Each row must also really contain its op.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gc_cases.h"

static const gc_case *const tables[] = {gc_cases_elementwise, gc_cases_layout,
                                        gc_cases_reduce};
#define NTABLES (sizeof tables / sizeof *tables)

static const char *const op_names[IR_OP_COUNT] = {
#define OP(id, text, arity, cat, attr, shape, vjp, flags) [IR_OP_##id] = text,
#include "ir/ops.def"
#undef OP
};

static const unsigned op_flags[IR_OP_COUNT] = {
#define OP(id, text, arity, cat, attr, shape, vjp, flags) [IR_OP_##id] = flags,
#include "ir/ops.def"
#undef OP
};

static void count_rows(int *rows)
{
    memset(rows, 0, IR_OP_COUNT * sizeof *rows);
    for (size_t t = 0; t < NTABLES; t++)
        for (const gc_case *k = tables[t]; k->what; k++) {
            assert_true(k->op >= 0 && k->op < IR_OP_COUNT);
            rows[k->op]++;
        }
}

static void test_every_differentiable_op_has_cases(void **state)
{
    (void)state;
    int rows[IR_OP_COUNT], missing = 0;
    count_rows(rows);
    for (int op = 0; op < IR_OP_COUNT; op++) {
        bool diff = op_flags[op] & IR_F_DIFF;
        if (diff && rows[op] < GC_MIN_CASES) {
            print_error("op %s is differentiable but has %d gradient-check "
                        "cases (want >= %d)\n",
                        op_names[op], rows[op], GC_MIN_CASES);
            missing++;
        }
        if (!diff && rows[op] > 0) {
            print_error("op %s has gradient-check cases but is not "
                        "IR_F_DIFF\n", op_names[op]);
            missing++;
        }
    }
    assert_int_equal(missing, 0);
}

/* Ops whose first derivative depends on x only through a comparison
 * (relu's x > 0, maximum's a >= b, max's x == max): the gradient graph
 * reaches x only through a non-differentiable op, so kiln_grad rejects a
 * second derivative by contract (kiln.h) although it is 0 almost
 * everywhere.  Their Hessian-vector products are not checked. */
static bool first_order_only(int op)
{
    return op == IR_OP_RELU || op == IR_OP_MAXIMUM || op == IR_OP_MINIMUM ||
           op == IR_OP_MAX || op == IR_OP_MIN;
}

typedef struct slot {
    const gc_case *k;
    char name[96];
    gc c;
} slot;

static void run_case(void **state)
{
    slot *s = *state;
    gc_begin(&s->c, gc_hash(s->name));
    s->c.second_order = !first_order_only(s->k->op);
    s->k->fn(&s->c, s->k);
    assert_int_equal(s->c.checks, 1);
    if (!s->c.seen[s->k->op])
        fail_msg("case '%s' never built a %s node", s->name,
                 op_names[s->k->op]);
    if (s->c.second_order)
        print_message("%-44s relative error %.1e, Hv %.1e\n", s->name,
                      s->c.worst1, s->c.worst);
    else
        print_message("%-44s relative error %.1e, Hv not checked\n",
                      s->name, s->c.worst1);
}

static int release(void **state)
{
    slot *s = *state;
    gc_end(&s->c);
    return 0;
}

int main(void)
{
    size_t n = 1;
    for (size_t t = 0; t < NTABLES; t++)
        for (const gc_case *k = tables[t]; k->what; k++)
            n++;
    struct CMUnitTest *tests = calloc(n, sizeof *tests);
    slot *slots = calloc(n, sizeof *slots);
    if (!tests || !slots)
        return 1;
    tests[0] = (struct CMUnitTest)cmocka_unit_test(
        test_every_differentiable_op_has_cases);
    size_t i = 1;
    for (size_t t = 0; t < NTABLES; t++)
        for (const gc_case *k = tables[t]; k->what; k++, i++) {
            slot *s = &slots[i];
            s->k = k;
            snprintf(s->name, sizeof s->name, "%s %s", op_names[k->op],
                     k->what);
            tests[i] = (struct CMUnitTest){s->name, run_case, NULL, release,
                                           s};
        }
    int failed = _cmocka_run_group_tests("gradcheck", tests, n, NULL, NULL);
    free(tests);
    free(slots);
    return failed ? 1 : 0;
}
