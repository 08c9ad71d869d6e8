/*
 * test_cuda_masks.c — random streams across backends: dropout masks,
 * bernoulli and random_uniform of the emulated CUDA code must equal the
 * CPU backend's bit for bit (both implement kiln.h's Philox-4x32-10
 * contract), fused and unfused, for seeds and offsets at the i32
 * extremes, odd sizes (elements that use words 1..3 of a Philox block)
 * and a transposed dropout input.  Also against the reference evaluator
 * (an independent third implementation).  Needs the CPU backend (LLVM);
 * skipped without it.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cuda_check.h"

typedef struct mask_graph {
    kiln_graph *g;
    cc_feed feed[8];
    int nfeeds;
    int32_t scalars[4];
    float *x;
    double *xt;
} mask_graph;

static kiln_node scalar(mask_graph *m, const char *name, int32_t v)
{
    int k = m->nfeeds;
    m->scalars[k] = v;
    m->feed[m->nfeeds++] = (cc_feed){'i', name, &m->scalars[k], sizeof(int32_t)};
    return kiln_input(m->g, name, KILN_I32, 0, NULL);
}

static void build(mask_graph *m, int32_t seed_v, int32_t off_v)
{
    memset(m, 0, sizeof *m);
    m->g = kiln_graph_new();
    kiln_graph *g = m->g;
    kiln_node seed = scalar(m, "seed", seed_v), off = scalar(m, "off", off_v);
    m->x = malloc(33 * 65 * sizeof *m->x);
    m->xt = malloc(65 * 33 * sizeof *m->xt);
    for (int i = 0; i < 33 * 65; i++) {
        m->x[i] = (float)(i % 17) - 8.5f;
        m->xt[i] = (double)(i % 13) * 0.25 + 1;
    }
    m->feed[m->nfeeds++] = (cc_feed){'i', "x", m->x, 33 * 65 * sizeof *m->x};
    m->feed[m->nfeeds++] = (cc_feed){'i', "xt", m->xt, 65 * 33 * sizeof *m->xt};
    kiln_node x = kiln_input(g, "x", KILN_F32, 2, (int64_t[]){33, 65});
    kiln_node xt = kiln_transpose(g, kiln_input(g, "xt", KILN_F64, 2, (int64_t[]){65, 33}),
                                  (int[]){1, 0});
    kiln_output(g, "drop_half", kiln_dropout(g, x, 0.5, seed, off));
    kiln_output(g, "drop_most", kiln_dropout(g, x, 0.9, off, seed));
    kiln_output(g, "drop_t", kiln_dropout(g, xt, 0.3, seed, off));
    /* a dropout feeding more work, so fusion has something to fuse */
    kiln_output(g, "drop_relu_sum",
                kiln_sum(g, kiln_relu(g, kiln_dropout(g, x, 0.25, seed, off)), 1, (int[]){1}, 0));
    kiln_output(g, "bern", kiln_bernoulli(g, 0.3, 1, (int64_t[]){1001}, seed, off));
    kiln_output(g, "bern_2d", kiln_bernoulli(g, 0.75, 2, (int64_t[]){7, 13}, off, seed));
    kiln_output(g, "unif", kiln_random_uniform(g, KILN_F32, 1, (int64_t[]){1003}, seed, off));
    kiln_output(g, "unif64", kiln_random_uniform(g, KILN_F64, 3, (int64_t[]){3, 5, 7}, seed, off));
    kiln_output(g, "unif_0", kiln_random_uniform(g, KILN_F32, 0, NULL, off, seed));
    if (kiln_graph_status(g) != KILN_OK)
        fail_msg("building: %s", kiln_graph_error(g));
}

static void free_graph(mask_graph *m)
{
    kiln_graph_free(m->g);
    free(m->x);
    free(m->xt);
}

/* The CPU backend's outputs of m (fused or not), bitwise against v.got
 * and the reference's. */
static void against_cpu(mask_graph *m, const cc_values *v, bool fuse, const char *what)
{
    kiln_program *p = kiln_compile(m->g, &(kiln_compile_options){
        .backend = KILN_BACKEND_CPU, .threads = 1, .no_fuse = !fuse});
    if (!p)
        fail_msg("%s: CPU compile: %s", what, kiln_graph_error(m->g));
    for (int i = 0; i < m->nfeeds; i++)
        if (kiln_set_input(p, m->feed[i].name, m->feed[i].data, m->feed[i].nbytes) != KILN_OK)
            fail_msg("%s: CPU: %s", what, kiln_program_error(p));
    if (kiln_run(p) != KILN_OK)
        fail_msg("%s: CPU run: %s", what, kiln_program_error(p));
    int masks = 0;
    for (int k = 0; k < v->n; k++) {
        if (v->b[k].kind != 'o')
            continue;
        void *cpu = malloc(v->bytes[k] + 1);
        if (kiln_get_output(p, v->b[k].name, cpu, v->bytes[k]) != KILN_OK)
            fail_msg("%s: CPU output '%s': %s", what, v->b[k].name, kiln_program_error(p));
        bool sum = strcmp(v->b[k].name, "drop_relu_sum") == 0;
        /* the row sums may round differently per backend: compared with the
         * reference by the op tests; the masks themselves must be exact */
        if (!sum) {
            if (memcmp(cpu, v->got[k], v->bytes[k]) != 0)
                fail_msg("%s: output '%s': emulated CUDA differs from the CPU backend",
                         what, v->b[k].name);
            if (memcmp(v->ref[k], v->got[k], v->bytes[k]) != 0)
                fail_msg("%s: output '%s': emulated CUDA differs from the reference",
                         what, v->b[k].name);
            masks++;
        }
        free(cpu);
    }
    assert_int_equal(masks, 8);
    kiln_program_free(p);
}

static void test_masks_equal_cpu(void **state)
{
    (void)state;
#ifndef KILN_HAVE_LLVM
    skip(); /* no CPU backend in this build: nothing to compare with */
#else
    static const int32_t seeds[][2] = {{77, 5}, {-2147483647 - 1, 2147483647}, {0, -1}};
    cc_stats st;
    memset(&st, 0, sizeof st);
    for (int s = 0; s < 3; s++) {
        mask_graph m;
        build(&m, seeds[s][0], seeds[s][1]);
        for (int fuse = 0; fuse < 2; fuse++) {
            char msg[8192], what[96];
            snprintf(what, sizeof what, "seed %d offset %d, %s", seeds[s][0], seeds[s][1],
                     fuse ? "fused" : "unfused");
            cc_values v;
            if (!cc_run(m.g, m.feed, m.nfeeds, fuse, &st, &v, msg, sizeof msg))
                fail_msg("%s: %s", what, msg);
            against_cpu(&m, &v, fuse, what);
            cc_values_free(&v);
        }
        free_graph(&m);
    }
    cc_stats_print("cuda masks", &st);
#endif
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_masks_equal_cpu)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
