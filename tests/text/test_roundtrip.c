/*
 * Round trips: print(parse(print(g))) == print(g) over every example
 * graph, every ```kiln block of docs/text-format.md and graphs built with
 * the C API — one of which uses every op of ops.def, checked by
 * enumerating the table.  Parsed copies of C-API graphs must evaluate
 * bit for bit like the originals on the reference backend.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <float.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "text_util.h"

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

static void test_examples(void **state)
{
    (void)state;
    char *dir = tu_source_path("examples/graphs");
    DIR *d = opendir(dir);
    assert_non_null(d);
    int count = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (!ends_with(e->d_name, ".kiln"))
            continue;
        char path[4096];
        size_t len;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        char *text = tu_read_file(path, &len);
        kiln_graph *g = tu_roundtrip(text, len, path, NULL);
        assert_true(kiln_graph_node_count(g) > 0);
        kiln_graph_free(g);
        free(text);
        count++;
    }
    closedir(d);
    free(dir);
    assert_true(count >= 6);
}

static const char *const op_names[] = {
#define OP(id, name, arity, cat, attr, shape, vjp, flags) name,
#include "ir/ops.def"
#undef OP
};
enum { NOPS = sizeof op_names / sizeof op_names[0] };

/* Each ```kiln block of the doc, in order; together they must show
 * every op of ops.def. */
static void test_doc_blocks(void **state)
{
    (void)state;
    char *path = tu_source_path("docs/text-format.md");
    size_t len;
    char *doc = tu_read_file(path, &len);
    int blocks = 0;
    bool shown[NOPS] = {false};
    const char *p = doc;
    while ((p = strstr(p, "```kiln\n")) != NULL) {
        const char *body = p + 8;
        const char *end = strstr(body, "\n```");
        assert_non_null(end);
        char name[64];
        snprintf(name, sizeof name, "text-format.md block %d", ++blocks);
        char *canon;
        kiln_graph *g = tu_roundtrip(body, (size_t)(end - body + 1), name,
                                     &canon);
        for (int i = 0; i < NOPS; i++) {
            char needle[64];
            snprintf(needle, sizeof needle, " = %s ", op_names[i]);
            shown[i] = shown[i] || strstr(canon, needle);
        }
        free(canon);
        kiln_graph_free(g);
        p = end;
    }
    assert_true(blocks >= 8);
    for (int i = 0; i < NOPS; i++)
        if (!shown[i])
            fail_msg("docs/text-format.md shows no example of op '%s'",
                     op_names[i]);
    free(doc);
    free(path);
}

/* ---- a graph with every op ------------------------------------------- */

#define D(...) ((int64_t[]){__VA_ARGS__})

typedef struct outs {
    kiln_graph *g;
    int n;
} outs;

static kiln_node out(outs *o, kiln_node v)
{
    char name[16];
    snprintf(name, sizeof name, "o%d", o->n++);
    assert_int_equal(kiln_output(o->g, name, v), KILN_OK);
    return v;
}

static void build_unary(outs *o, kiln_node x)
{
    kiln_graph *g = o->g;
    kiln_node ax = kiln_abs(g, x), e = kiln_exp(g, x);
    out(o, kiln_log(g, e));
    out(o, kiln_log1p(g, ax));
    out(o, kiln_sqrt(g, ax));
    out(o, kiln_rsqrt(g, e));
    out(o, kiln_reciprocal(g, e));
    out(o, kiln_name(g, kiln_tanh(g, x), "th"));
    out(o, kiln_sigmoid(g, x));
    out(o, kiln_gelu(g, x));
    out(o, kiln_sin(g, x));
    out(o, kiln_cos(g, x));
    out(o, kiln_neg(g, x));
    out(o, kiln_square(g, x));
    out(o, kiln_relu(g, x));
    out(o, kiln_sign(g, x));
}

static void build_binary(outs *o, kiln_node x, kiln_node c)
{
    kiln_graph *g = o->g;
    kiln_node e = kiln_exp(g, x);
    out(o, kiln_add(g, x, c));
    out(o, kiln_sub(g, c, x));
    out(o, kiln_mul(g, x, c));
    out(o, kiln_div(g, x, e));
    out(o, kiln_pow(g, e, x));
    out(o, kiln_maximum(g, x, c));
    out(o, kiln_minimum(g, x, c));
    kiln_node lt = out(o, kiln_lt(g, x, c));
    out(o, kiln_le(g, x, c));
    out(o, kiln_gt(g, x, c));
    out(o, kiln_ge(g, x, c));
    out(o, kiln_eq(g, lt, kiln_gt(g, c, x)));
    out(o, kiln_ne(g, x, c));
    out(o, kiln_select(g, lt, x, c));
    out(o, kiln_cast(g, x, KILN_F64));
    out(o, kiln_cast(g, x, KILN_I32));
}

static void build_layout(outs *o, kiln_node x, kiln_node c)
{
    kiln_graph *g = o->g;
    kiln_node xs[3] = {x, x, kiln_broadcast_to(g, c, 2, D(3, 4))};
    out(o, kiln_reshape(g, x, 3, D(2, -1, 3)));
    out(o, kiln_transpose(g, x, (int[]){1, 0}));
    out(o, xs[2]);
    out(o, kiln_slice(g, x, D(0, 1), D(3, 4), D(2, 2)));
    out(o, kiln_concat(g, 3, xs, -2));
    out(o, kiln_pad(g, x, D(1, 0), D(0, 2), -1.5));
}

static void build_reduce(outs *o, kiln_node x, kiln_node w)
{
    kiln_graph *g = o->g;
    out(o, kiln_sum(g, x, 1, (int[]){1}, 1));
    out(o, kiln_mean(g, x, 0, NULL, 0));
    out(o, kiln_max(g, x, 1, (int[]){0}, 0));
    out(o, kiln_min(g, x, 2, (int[]){-1, 0}, 1));
    out(o, kiln_argmax(g, x, 1, 0));
    out(o, kiln_matmul(g, x, w));
}

static kiln_graph *every_op_graph(void)
{
    kiln_graph *g = kiln_graph_new();
    outs o = {g, 0};
    kiln_node x = kiln_input(g, "x", KILN_F32, 2, D(3, 4));
    kiln_node y = kiln_input(g, "labels", KILN_I32, 1, D(3));
    kiln_node seed = kiln_input(g, "seed", KILN_I32, 0, NULL);
    kiln_node w = kiln_param(g, "w", KILN_F32, 2, D(4, 4), kiln_init_glorot(3));
    kiln_node step = kiln_param(g, "step", KILN_I32, 0, NULL,
                                kiln_init_constant(5));
    kiln_node c = kiln_constant(g, KILN_F32, 1, D(4),
                                (float[]){0.1f, -0.0f, 1e-45f, 3.4e38f});
    build_unary(&o, x);
    build_binary(&o, x, c);
    build_layout(&o, x, c);
    build_reduce(&o, x, w);
    out(&o, kiln_softmax(g, x, 1));
    out(&o, kiln_log_softmax(g, x, -1));
    out(&o, kiln_softmax_cross_entropy(g, x, y));
    out(&o, kiln_one_hot(g, y, 4, KILN_F32));
    out(&o, kiln_random_uniform(g, KILN_F32, 2, D(2, 3), seed, step));
    out(&o, kiln_bernoulli(g, 0.3, 1, D(5), seed, step));
    kiln_assign(g, w, kiln_mul(g, w, kiln_scalar(g, KILN_F32, 0.5)));
    kiln_assign(g, step, kiln_add(g, step, kiln_scalar(g, KILN_I32, 1)));
    if (kiln_graph_status(g) != KILN_OK)
        fail_msg("building the every-op graph: %s", kiln_graph_error(g));
    return g;
}

static void test_every_op(void **state)
{
    (void)state;
    kiln_graph *g = every_op_graph();
    char *text = kiln_print(g);
    assert_non_null(text);
    /* Enumerate ops.def: a new op must show up in the printed text. */
    for (int i = 0; i < NOPS; i++) {
        char needle[64];
        snprintf(needle, sizeof needle, " = %s ", op_names[i]);
        if (!strstr(text, needle))
            fail_msg("op '%s' of ops.def is missing from the printed "
                     "every-op graph:\n%s", op_names[i], text);
    }
    char *canon = NULL;
    kiln_graph *back = tu_roundtrip(text, strlen(text), "every-op", &canon);
    assert_string_equal(text, canon);
    tu_assert_same_eval(g, back, 42, 3);
    free(canon);
    kiln_text_free(g, text);
    kiln_graph_free(back);
    kiln_graph_free(g);
}

/* Values that stress the number format, and every initialiser. */
static kiln_graph *awkward_graph(void)
{
    kiln_graph *g = kiln_graph_new();
    kiln_node x = kiln_input(g, "x", KILN_F64, 1, D(6));
    kiln_node f = kiln_constant(g, KILN_F32, 1, D(6), (float[]){
        FLT_MAX, -FLT_MIN, FLT_TRUE_MIN, 1.0f / 3, 16777217.0f, -0.0f});
    kiln_node d = kiln_constant(g, KILN_F64, 1, D(6), (double[]){
        DBL_MAX, DBL_TRUE_MIN, 0.1, 1.0 / 3, -0.0, 1e22});
    kiln_node i = kiln_constant(g, KILN_I32, 1, D(6), (int32_t[]){
        INT32_MIN, INT32_MAX, 0, -1, 7, 1});
    kiln_node b = kiln_constant(g, KILN_BOOL, 1, D(6),
                                (uint8_t[]){1, 0, 0, 1, 1, 0});
    kiln_node p1 = kiln_param(g, "p_uniform", KILN_F64, 1, D(6),
                              kiln_init_uniform(-0.1, 1e-300, 4000000000u));
    kiln_node p2 = kiln_param(g, "p_normal", KILN_F64, 1, D(6),
                              kiln_init_normal(0.3, 1.0 / 7, 1));
    kiln_node p3 = kiln_param(g, "p_he", KILN_F32, 2, D(3, 2), kiln_init_he(9));
    kiln_node p4 = kiln_param(g, "p_const", KILN_I32, 1, D(6),
                              kiln_init_constant(-3));
    kiln_node p5 = kiln_param(g, "p_zero", KILN_BOOL, 1, D(6),
                              kiln_init_zeros());
    kiln_node sum = kiln_add(g, kiln_add(g, x, d), kiln_cast(g, f, KILN_F64));
    kiln_node all = kiln_select(g, kiln_ne(g, b, kiln_cast(g, p5, KILN_BOOL)),
                                kiln_add(g, sum, p1),
                                kiln_cast(g, kiln_add(g, i, p4), KILN_F64));
    kiln_output(g, "all", kiln_mul(g, all, p2));
    kiln_output(g, "he", p3);
    kiln_output(g, "f", f);
    kiln_output(g, "f_again", f); /* two outputs of one node */
    if (kiln_graph_status(g) != KILN_OK)
        fail_msg("building: %s", kiln_graph_error(g));
    return g;
}

static void test_awkward_values(void **state)
{
    (void)state;
    kiln_graph *g = awkward_graph();
    char *text = kiln_print(g);
    assert_non_null(text);
    kiln_graph *back = tu_roundtrip(text, strlen(text), "awkward", NULL);
    tu_assert_same_eval(g, back, 7, 1);
    kiln_text_free(g, text);
    kiln_graph_free(back);
    kiln_graph_free(g);
}

/* A training step made by the optimizer passes (gradients, Adam state
 * params such as "w1.adam_m", assigns): the text carries all of it. */
static void test_training_graph(void **state)
{
    (void)state;
    kiln_graph *g = kiln_graph_new();
    kiln_node x = kiln_input(g, "x", KILN_F32, 2, D(5, 4));
    kiln_node y = kiln_input(g, "y", KILN_I32, 1, D(5));
    kiln_node w1 = kiln_param(g, "w1", KILN_F32, 2, D(4, 6),
                              kiln_init_glorot(1));
    kiln_node b1 = kiln_param(g, "b1", KILN_F32, 1, D(6), kiln_init_zeros());
    kiln_node w2 = kiln_param(g, "w2", KILN_F32, 2, D(6, 4), kiln_init_he(2));
    kiln_node h = kiln_tanh(g, kiln_add(g, kiln_matmul(g, x, w1), b1));
    kiln_node loss = kiln_softmax_cross_entropy(g, kiln_matmul(g, h, w2), y);
    kiln_output(g, "loss", loss);
    kiln_adam_options opt = {.lr = 0.01, .clip_norm = 1};
    if (kiln_adam(g, loss, &opt) != KILN_OK)
        fail_msg("adam: %s", kiln_graph_error(g));
    char *text = kiln_print(g);
    assert_non_null(text);
    assert_non_null(strstr(text, "%w1.adam_m = param f32[4,6] zeros\n"));
    assert_non_null(strstr(text, " = assign %w1, "));
    kiln_graph *back = tu_roundtrip(text, strlen(text), "adam step", NULL);
    tu_assert_same_eval(g, back, 99, 3);
    kiln_text_free(g, text);
    kiln_graph_free(back);
    kiln_graph_free(g);
}

/* A parsed example against its own print: the same values. */
static void test_example_eval(void **state)
{
    (void)state;
    const char *files[] = {"examples/graphs/mlp.kiln",
                           "examples/graphs/dropout.kiln",
                           "examples/graphs/train_step.kiln"};
    for (size_t k = 0; k < 3; k++) {
        char *path = tu_source_path(files[k]), *canon;
        size_t len;
        char *text = tu_read_file(path, &len);
        kiln_graph *a = tu_roundtrip(text, len, path, &canon);
        char err[800];
        kiln_graph *b = kiln_parse(canon, strlen(canon), "canon", NULL, err,
                                   sizeof err);
        assert_non_null(b);
        tu_assert_same_eval(a, b, 1000 + k, 2);
        kiln_graph_free(a);
        kiln_graph_free(b);
        free(canon);
        free(text);
        free(path);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_examples),
        cmocka_unit_test(test_doc_blocks),
        cmocka_unit_test(test_every_op),
        cmocka_unit_test(test_awkward_values),
        cmocka_unit_test(test_training_graph),
        cmocka_unit_test(test_example_eval),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
