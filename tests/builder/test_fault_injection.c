/*
 * Fault injection: an allocator hook that fails the Nth allocation.  For
 * N = 1, 2, ... a graph of more than 50 nodes is built, printed, compiled
 * and run until a pass completes with no failure.  Every pass must end in
 * success or a clean KILN_ERR_OUT_OF_MEMORY, and the hook's count of live
 * blocks must be zero after freeing (a leak check that does not depend on
 * ASan).  Two modes: only the Nth call fails (recovery must leave things
 * usable), or every call from the Nth on fails.
 *
 * Successful passes are checked against values computed by hand in the
 * comments below.
 */
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <setjmp.h>
#include <cmocka.h>

#include "expect.h"

typedef struct faulty {
    long calls;   /* malloc and realloc calls so far                */
    long fail_at; /* the call that fails first; 0: none            */
    bool sticky;  /* every call from fail_at on fails              */
    long failed;  /* calls that failed                             */
    long live;    /* blocks handed out and not yet freed           */
} faulty;

static bool should_fail(faulty *f)
{
    f->calls++;
    bool fail = f->fail_at &&
                (f->sticky ? f->calls >= f->fail_at : f->calls == f->fail_at);
    f->failed += fail;
    return fail;
}

static void *f_malloc(size_t n, void *user)
{
    faulty *f = user;
    if (should_fail(f))
        return NULL;
    void *p = malloc(n);
    f->live += p != NULL;
    return p;
}

static void *f_realloc(void *old, size_t n, void *user)
{
    faulty *f = user;
    if (should_fail(f))
        return NULL;
    void *p = realloc(old, n);
    f->live += p != NULL && old == NULL;
    return p;
}

static void f_free(void *p, void *user)
{
    faulty *f = user;
    if (p) {
        f->live--;
        free(p);
    }
}

static const float X[6] = {1, 2, 3, 4, 5, 6};
static const int32_t LABELS[2] = {1, 0};

/* The graph: inputs x f32[2,3], labels i32[2], seed and offset i32[];
 * params w f32[3,2] (0.5), b f32[2] (0), step i32[] (0); a mix of every
 * op family; ten outputs and two assigns. */
static void build(kiln_graph *g)
{
    const int64_t d23[] = {2, 3};
    kiln_node x = kiln_input(g, "x", KILN_F32, 2, d23);
    kiln_node labels = kiln_input(g, "labels", KILN_I32, 1, (int64_t[]){2});
    kiln_node seed = kiln_input(g, "seed", KILN_I32, 0, NULL);
    kiln_node offset = kiln_input(g, "offset", KILN_I32, 0, NULL);
    kiln_node w = kiln_param(g, "w", KILN_F32, 2, (int64_t[]){3, 2},
                             kiln_init_constant(0.5));
    kiln_node b = kiln_param(g, "b", KILN_F32, 1, (int64_t[]){2},
                             kiln_init_zeros());
    kiln_node step = kiln_param(g, "step", KILN_I32, 0, NULL,
                                kiln_init_zeros());
    kiln_node c = kiln_constant(g, KILN_F32, 1, (int64_t[]){3},
                                (float[]){1, -2, 3});

    kiln_node lin = kiln_name(g, kiln_add(g, kiln_matmul(g, x, w), b), "lin");
    kiln_output(g, "lin", lin);
    kiln_output(g, "act", kiln_sum(g, kiln_relu(g, kiln_mul(g, x, c)), 0,
                                   NULL, 0));
    kiln_output(g, "ce", kiln_softmax_cross_entropy(g, lin, labels));
    kiln_node padded = kiln_pad(g, x, (int64_t[]){0, 1}, (int64_t[]){0, 1}, 9);
    kiln_node sl = kiln_slice(g, padded, (int64_t[]){0, 0}, (int64_t[]){2, 5},
                              (int64_t[]){1, 2});
    kiln_output(g, "pad_slice", kiln_sum(g, sl, 0, NULL, 0));
    kiln_node xt = kiln_transpose(g, kiln_reshape(g, x, 2, (int64_t[]){3, 2}),
                                  (int[]){1, 0});
    kiln_node cat = kiln_name(g, kiln_concat(g, 2, (kiln_node[]){x, xt}, 0),
                              "cat");
    kiln_output(g, "cat_mean", kiln_mean(g, cat, 1, (int[]){0}, 0));
    kiln_node big = kiln_gt(g, x, kiln_scalar(g, KILN_F32, 3.5));
    kiln_node sel = kiln_select(g, big, x, kiln_neg(g, x));
    kiln_output(g, "cmp", kiln_sum(g, kiln_cast(g, sel, KILN_I32), 0, NULL, 0));
    kiln_output(g, "logsm", kiln_log_softmax(g, x, -1));
    kiln_output(g, "oh", kiln_one_hot(g, labels, 3, KILN_F32));
    kiln_output(g, "drop", kiln_dropout(g, x, 0.5, seed, offset));
    kiln_output(g, "u", kiln_random_uniform(g, KILN_F64, 1, (int64_t[]){8},
                                            seed, offset));
    kiln_node bb = kiln_broadcast_to(g, b, 2, (int64_t[]){2, 2});
    kiln_output(g, "mse", kiln_mse(g, lin, bb));
    kiln_node s = kiln_sqrt(g, kiln_square(g, x));
    kiln_output(g, "elem", kiln_sum(g, kiln_exp(g, kiln_log(g, s)), 0, NULL, 0));
    kiln_node colsum = kiln_sum(g, x, 1, (int[]){0}, 0);
    kiln_node grad = kiln_broadcast_to(
        g, kiln_reshape(g, colsum, 2, (int64_t[]){3, 1}), 2, (int64_t[]){3, 2});
    kiln_assign(g, w, kiln_sub(g, w, kiln_mul(g, kiln_scalar(g, KILN_F32, 0.125),
                                              grad)));
    kiln_assign(g, step, kiln_add(g, step, kiln_scalar(g, KILN_I32, 1)));
    kiln_output(g, "am", kiln_argmax(g, cat, 1, 0));
}

static void bind(kiln_program *p)
{
    int32_t seed = 7, offset = 3;
    assert_int_equal(kiln_set_input(p, "x", X, sizeof X), KILN_OK);
    assert_int_equal(kiln_set_input(p, "labels", LABELS, sizeof LABELS),
                     KILN_OK);
    assert_int_equal(kiln_set_input(p, "seed", &seed, sizeof seed), KILN_OK);
    assert_int_equal(kiln_set_input(p, "offset", &offset, sizeof offset),
                     KILN_OK);
}

static float out1(kiln_program *p, const char *name)
{
    float v = NAN;
    assert_int_equal(kiln_get_output(p, name, &v, sizeof v), KILN_OK);
    return v;
}

/* The values a completed run must produce, worked out by hand. */
static void check_results(kiln_program *p)
{
    float lin[4], cat_mean[3], logsm[6], oh[6], drop[6], w[6];
    double u[8];
    int32_t cmp, step, am[4];
    assert_int_equal(kiln_get_output(p, "lin", lin, sizeof lin), KILN_OK);
    /* row sums 6 and 15, times 0.5 */
    for (int i = 0; i < 4; i++)
        assert_float_equal(lin[i], i < 2 ? 3.0f : 7.5f, 0);
    /* relu([1,-4,9; 4,-10,18]) sums to 32 */
    assert_float_equal(out1(p, "act"), 32, 0);
    /* equal logits per row: log 2 */
    assert_float_equal(out1(p, "ce"), log(2.0), 1e-6);
    /* [9,2,9; 9,5,9] */
    assert_float_equal(out1(p, "pad_slice"), 43, 0);
    assert_int_equal(kiln_get_output(p, "cat_mean", cat_mean, sizeof cat_mean),
                     KILN_OK);
    /* rows [1,2,3] [4,5,6] [1,3,5] [2,4,6] */
    assert_float_equal(cat_mean[0], 2.0f, 0);
    assert_float_equal(cat_mean[1], 3.5f, 0);
    assert_float_equal(cat_mean[2], 5.0f, 0);
    assert_int_equal(kiln_get_output(p, "am", am, sizeof am), KILN_OK);
    for (int i = 0; i < 4; i++)
        assert_int_equal(am[i], 2);
    assert_int_equal(kiln_get_output(p, "cmp", &cmp, sizeof cmp), KILN_OK);
    assert_int_equal(cmp, -1 - 2 - 3 + 4 + 5 + 6);
    assert_int_equal(kiln_get_output(p, "logsm", logsm, sizeof logsm), KILN_OK);
    double lse = log(exp(1.0) + exp(2.0) + exp(3.0)) - 1; /* shift-free form */
    for (int i = 0; i < 6; i++)
        assert_float_equal(logsm[i], (i % 3) - lse, 1e-6);
    assert_int_equal(kiln_get_output(p, "oh", oh, sizeof oh), KILN_OK);
    for (int i = 0; i < 6; i++)
        assert_float_equal(oh[i], i == 1 || i == 3 ? 1.0f : 0.0f, 0);
    assert_int_equal(kiln_get_output(p, "drop", drop, sizeof drop), KILN_OK);
    for (int i = 0; i < 6; i++)
        assert_true(drop[i] == 0 || drop[i] == 2 * X[i]);
    assert_int_equal(kiln_get_output(p, "u", u, sizeof u), KILN_OK);
    for (int i = 0; i < 8; i++)
        assert_true(u[i] >= 0 && u[i] < 1);
    /* lin^2 = 9, 9, 56.25, 56.25 */
    assert_float_equal(out1(p, "mse"), 32.625f, 0);
    /* exp(log(sqrt(x^2))) is x up to rounding; the sum is 21 */
    assert_float_equal(out1(p, "elem"), 21, 1e-4);
    /* w - 0.125 * [5;7;9]: exact in binary */
    assert_int_equal(kiln_get_param(p, "w", w, sizeof w), KILN_OK);
    for (int i = 0; i < 6; i++)
        assert_float_equal(w[i], 0.5f - 0.125f * (5 + 2 * (i / 2)), 0);
    assert_int_equal(kiln_get_param(p, "step", &step, sizeof step), KILN_OK);
    assert_int_equal(step, 1);
}

static void expect_oom(kiln_status s, const char *msg)
{
    if (s != KILN_ERR_OUT_OF_MEMORY) {
        print_error("want out of memory, got %s: %s\n", kiln_status_string(s),
                    msg);
        fail();
    }
    EXPECT_MSG(msg, "out of memory");
}

/* One pass; returns true when every stage succeeded. */
static bool one_pass(faulty *f)
{
    kiln_allocator a = {f_malloc, f_realloc, f_free, f};
    kiln_graph *g = kiln_graph_new_with_allocator(&a);
    if (!g) {
        assert_int_equal(f->failed, 1);
        assert_int_equal(f->live, 0);
        return false;
    }
    build(g);
    bool done = false;
    kiln_program *p = NULL;
    if (kiln_graph_status(g) != KILN_OK) {
        expect_oom(kiln_graph_status(g), kiln_graph_error(g));
        goto out;
    }
    assert_true(kiln_graph_node_count(g) >= 50);
    char *text = kiln_print(g);
    if (!text) {
        expect_oom(kiln_graph_status(g), kiln_graph_error(g));
        goto out;
    }
    kiln_text_free(g, text);
    p = kiln_compile(g, NULL);
    if (!p) {
        expect_oom(kiln_graph_status(g), kiln_graph_error(g));
        goto out;
    }
    /* The graph is not needed to run: free it first to prove that. */
    kiln_graph_free(g);
    g = NULL;
    bind(p);
    kiln_status s = kiln_run(p);
    if (s != KILN_OK) {
        expect_oom(s, kiln_program_error(p));
        if (f->sticky)
            goto out;
        /* The one failure is past: the same program runs now, and the
         * failed run left no half-applied param update behind (the
         * checks below see exactly one step). */
        assert_int_equal(kiln_run(p), KILN_OK);
    }
    check_results(p);
    done = true;
out:
    kiln_program_free(p);
    kiln_graph_free(g);
    assert_int_equal(f->live, 0);
    return done;
}

static void fail_each_allocation(bool sticky)
{
    faulty clean = {0};
    assert_true(one_pass(&clean));
    long needed = clean.calls;
    assert_true(needed > 50);
    print_message("a clean pass makes %ld allocation calls; failing each "
                  "in turn (%s)\n",
                  needed, sticky ? "and every later one" : "alone");
    for (long n = 1;; n++) {
        faulty f = {.fail_at = n, .sticky = sticky};
        bool ok = one_pass(&f);
        if (f.failed == 0) {
            /* n lies past the last allocation: the pass must be whole. */
            assert_true(ok);
            assert_true(n > needed);
            break;
        }
        /* Allocation is deterministic: the failing call was one of the
         * clean pass's calls.  (A pass may still succeed if kiln absorbed
         * the failure; one_pass checked that it ended cleanly either way.) */
        assert_true(n <= needed);
    }
}

static void fail_nth_allocation_only(void **state)
{
    (void)state;
    fail_each_allocation(false);
}

static void fail_from_nth_allocation_on(void **state)
{
    (void)state;
    fail_each_allocation(true);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(fail_nth_allocation_only),
        cmocka_unit_test(fail_from_nth_allocation_on),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
