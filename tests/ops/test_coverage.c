/* test_coverage.c — every op of ops.def has at least one test case.  The
 * list of ops comes from the op table itself, so adding a row to ops.def
 * without a case in some group table fails this test. */
#include <stdio.h>
#include <string.h>

#include "ophelp.h"

static const oh_case *const groups[] = {
#define OH_TABLE(group) oh_cases_##group,
    OH_GROUPS(OH_TABLE)
#undef OH_TABLE
};
static const char *const group_names[] = {
#define OH_NAME(group) #group,
    OH_GROUPS(OH_NAME)
#undef OH_NAME
};
#define NGROUPS (sizeof groups / sizeof groups[0])

static int cases_for(int op)
{
    int count = 0;
    for (size_t g = 0; g < NGROUPS; g++)
        for (const oh_case *c = groups[g]; c->name; c++)
            count += c->op == op;
    return count;
}

static void test_every_op_has_a_case(void **state)
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
        int count = cases_for(table[i].op);
        if (count == 0) {
            print_error("op '%s' has no test case in tests/ops\n",
                        table[i].text);
            missing++;
        }
    }
    assert_int_equal(missing, 0);
}

/* Rows name a real op (or none) and names are unique within a group. */
static void test_rows_are_well_formed(void **state)
{
    (void)state;
    for (size_t g = 0; g < NGROUPS; g++) {
        assert_non_null(groups[g][0].name); /* no empty group */
        for (const oh_case *c = groups[g]; c->name; c++) {
            assert_non_null(c->fn);
            if (c->op < 0 || c->op > OH_NO_OP)
                fail_msg("%s/%s: op %d is out of range", group_names[g],
                         c->name, c->op);
            for (const oh_case *d = c + 1; d->name; d++)
                if (strcmp(c->name, d->name) == 0)
                    fail_msg("%s: case name '%s' is repeated", group_names[g],
                             c->name);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_op_has_a_case),
        cmocka_unit_test(test_rows_are_well_formed),
    };
    return cmocka_run_group_tests_name("ops_coverage", tests, NULL, NULL);
}
