/*
 * Plans with reuse and in-place updates, run: programs whose plans share
 * arena bytes (asserted from the plan itself) are compiled for the CPU
 * backend, fused and unfused, on one and two threads, and their outputs
 * and params compared with the reference evaluator.  A slot reused too
 * early shows up as wrong values here.
 */
#include "mp_help.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir/ir.h"
#include "passes/passes.h"

/* How many temps of g's fused or unfused plan share bytes with a temp
 * that is live at the same kernel (legal in-place pairs), and how many
 * reuse bytes of one that died earlier. */
static void count_sharing(const kiln_graph *g, bool fuse, int *inplace, int *reused)
{
    char err[512];
    k_program *p = pass_lower_program(g, fuse, err, sizeof err);
    if (!p)
        fail_msg("%s", err);
    mp_expect_ok(p);
    k_live *live = test_malloc(p->nbuf * sizeof *live);
    k_live_ranges(p, live);
    *inplace = *reused = 0;
    for (uint32_t a = 0; a < p->nbuf; a++)
        for (uint32_t b = 0; b < p->nbuf; b++) {
            if (a == b || live[a].write < 0 || live[b].write < 0 ||
                !k_buffers_share(p, a, b) || live[a].last > live[b].write)
                continue;
            if (live[a].last == live[b].write)
                (*inplace)++;
            else
                (*reused)++;
        }
    test_free(live);
    k_program_free(p);
}

typedef struct feed {
    const char *name;
    const void *data;
    size_t bytes;
} feed;

static kiln_program *compile(kiln_graph *g, kiln_backend be, int threads, int no_fuse,
                             const feed *feeds, int nfeeds)
{
    kiln_compile_options o = {.backend = be, .threads = threads, .no_fuse = no_fuse};
    kiln_program *p = kiln_compile(g, &o);
    if (!p)
        fail_msg("compile: %s", kiln_graph_error(g));
    for (int i = 0; i < nfeeds; i++)
        assert_int_equal(kiln_set_input(p, feeds[i].name, feeds[i].data, feeds[i].bytes),
                         KILN_OK);
    return p;
}

/* |cpu - ref| <= rel * max |ref| over the tensor, + 1e-30: f32 kernels
 * against an f64-accumulating reference (rel states the ops involved). */
static void compare(const char *what, const float *cpu, const float *ref, size_t n, double rel)
{
    double big = 0;
    for (size_t i = 0; i < n; i++)
        big = fmax(big, fabs(ref[i]));
    for (size_t i = 0; i < n; i++)
        if (!(fabs((double)cpu[i] - ref[i]) <= rel * big + 1e-30))
            fail_msg("%s[%zu]: cpu %.9g, reference %.9g (tensor max %.3g)", what, i,
                     cpu[i], ref[i], big);
}

typedef struct check {
    const char *name;
    size_t numel;
    bool param;
    double rel;
} check;

/* Run g `runs` times on ref and on every CPU variant; compare the named
 * outputs and params. */
static void run_and_compare(kiln_graph *g, const feed *feeds, int nfeeds, const check *c,
                            int nc, int runs)
{
    kiln_program *ref = compile(g, KILN_BACKEND_REF, 1, 0, feeds, nfeeds);
    for (int r = 0; r < runs; r++)
        assert_int_equal(kiln_run(ref), KILN_OK);
    for (int variant = 0; variant < 4; variant++) {
        int threads = 1 + variant % 2, no_fuse = variant / 2;
        kiln_program *cpu = compile(g, KILN_BACKEND_CPU, threads, no_fuse, feeds, nfeeds);
        for (int r = 0; r < runs; r++)
            assert_int_equal(kiln_run(cpu), KILN_OK);
        for (int i = 0; i < nc; i++) {
            size_t bytes = c[i].numel * sizeof(float);
            float *a = test_malloc(bytes), *b = test_malloc(bytes);
            kiln_status (*get)(kiln_program *, const char *, void *, size_t) =
                c[i].param ? kiln_get_param : kiln_get_output;
            assert_int_equal(get(cpu, c[i].name, a, bytes), KILN_OK);
            assert_int_equal(get(ref, c[i].name, b, bytes), KILN_OK);
            char what[128];
            snprintf(what, sizeof what, "%s (%s, %d thread%s)", c[i].name,
                     no_fuse ? "unfused" : "fused", threads, threads > 1 ? "s" : "");
            compare(what, a, b, c[i].numel, c[i].rel);
            test_free(a);
            test_free(b);
        }
        kiln_program_free(cpu);
    }
    kiln_program_free(ref);
}

static void fill(float *v, size_t n, double scale, unsigned seed)
{
    for (size_t i = 0; i < n; i++)
        v[i] = (float)(scale * sin(0.37 * (double)i + seed));
}

/* Elementwise chains (in place), transposes (not in place, slots
 * reused), a multi-use value and a reduction, over odd sizes. */
static void test_chains_run(void **state)
{
    (void)state;
    enum { R = 33, C = 17 };
    static float x[R * C];
    fill(x, R * C, 2.0, 1);
    kiln_graph *g = kiln_graph_new();
    static const int perm[2] = {1, 0};
    kiln_node in = kiln_input(g, "x", KILN_F32, 2, (int64_t[]){R, C});
    kiln_node a = kiln_exp(g, kiln_mul(g, in, kiln_scalar(g, KILN_F32, 0.5)));
    kiln_node b = kiln_tanh(g, a);
    kiln_node c = kiln_add(g, a, b);
    kiln_node d = kiln_neg(g, c);
    kiln_node t = kiln_transpose(g, d, perm);
    kiln_node u = kiln_sigmoid(g, kiln_transpose(g, kiln_exp(g, t), perm));
    kiln_node s = kiln_sum(g, kiln_mul(g, u, d), 1, (int[]){1}, true);
    kiln_output(g, "u", kiln_add(g, u, s));
    kiln_output(g, "t", t);
    assert_int_equal(kiln_graph_status(g), KILN_OK);
    int inplace, reused;
    count_sharing(g, false, &inplace, &reused);
    print_message("unfused plan: %d in-place pairs, %d pairs reusing dead bytes\n",
                  inplace, reused);
    assert_true(inplace >= 2);
    assert_true(reused >= 1);
    feed f[1] = {{"x", x, sizeof x}};
    /* against the tensor's max: exp, tanh, sigmoid cost a few f32 ulps
     * each and the 17-term row sum a few more (2.2e-7 seen); t is
     * -(a + tanh a) (1.3e-7 seen) */
    check cs[2] = {{"u", R * C, false, 2e-6}, {"t", R * C, false, 1e-6}};
    run_and_compare(g, f, 1, cs, 2, 2);
    kiln_graph_free(g);
}

/* The MLP Adam step at batch 32, three steps.  eps = 1e-3 keeps each
 * Adam step a smooth function of the gradient (|d step / d g| <= lr /
 * eps = 1), so f32 rounding in the gradients cannot flip a step's sign
 * the way it can when eps is tiny and g is near 0. */
static void test_mlp_adam_run(void **state)
{
    (void)state;
    enum { B = 32 };
    static const int64_t widths[4] = {784, 256, 128, 10};
    static float x[B * 784];
    static int32_t y[B];
    fill(x, B * 784, 1.0, 2);
    for (int i = 0; i < B; i++)
        y[i] = (i * 7) % 10;
    kiln_graph *g = kiln_graph_new();
    kiln_node h = kiln_input(g, "x", KILN_F32, 2, (int64_t[]){B, 784});
    kiln_node labels = kiln_input(g, "y", KILN_I32, 1, (int64_t[]){B});
    check cs[1 + 3 * 6];
    char names[3 * 6][24];
    int nc = 0;
    cs[nc++] = (check){"loss", 1, false, 1e-6}; /* 1.5e-7 seen */
    for (int l = 0; l < 3; l++) {
        snprintf(names[6 * l], 24, "w%d", l + 1);
        snprintf(names[6 * l + 1], 24, "b%d", l + 1);
        kiln_node w = kiln_param(g, names[6 * l], KILN_F32, 2,
                                 (int64_t[]){widths[l], widths[l + 1]},
                                 kiln_init_glorot((uint32_t)l + 1));
        kiln_node b = kiln_param(g, names[6 * l + 1], KILN_F32, 1, &widths[l + 1],
                                 kiln_init_zeros());
        h = kiln_add(g, kiln_matmul(g, h, w), b);
        if (l < 2)
            h = kiln_relu(g, h);
        for (int j = 0; j < 6; j++) {
            if (j >= 2)
                snprintf(names[6 * l + j], 24, "%s.adam_%c", names[6 * l + j % 2],
                         j < 4 ? 'm' : 'v');
            size_t n = j % 2 ? (size_t)widths[l + 1] : (size_t)(widths[l] * widths[l + 1]);
            /* params and moments: built from gradients that are f32
             * sums over the batch and over 784-long dot products, three
             * steps (2.7e-6 of the tensor's max seen) */
            cs[nc++] = (check){names[6 * l + j], n, true, 2e-5};
        }
    }
    kiln_node loss = kiln_softmax_cross_entropy(g, h, labels);
    kiln_adam(g, loss, &(kiln_adam_options){.lr = 1e-2, .eps = 1e-3});
    kiln_output(g, "loss", loss);
    assert_int_equal(kiln_graph_status(g), KILN_OK);
    int inplace, reused;
    for (int fuse = 0; fuse < 2; fuse++) {
        count_sharing(g, fuse, &inplace, &reused);
        print_message("%s plan: %d in-place pairs, %d pairs reusing dead bytes\n",
                      fuse ? "fused" : "unfused", inplace, reused);
        assert_true(inplace + reused >= 1);
    }
    feed f[2] = {{"x", x, sizeof x}, {"y", y, sizeof y}};
    run_and_compare(g, f, 2, cs, nc, 3);
    kiln_graph_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chains_run),
        cmocka_unit_test(test_mlp_adam_run),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
