/* test_optim.c — kiln_sgd and kiln_adam training steps against a
 * hand-written f64 reference (forward, backward and update by hand),
 * step by step for 5 steps.  Issue 3, acceptance 3. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <string.h>

#include "mlp.h"

#define NP ((int)(sizeof(mlp_params) / sizeof(double)))

typedef struct hand_opt {
    int adam; /* else sgd */
    double lr, momentum, beta1, beta2, eps, wd, clip;
    int nesterov, decoupled;
} hand_opt;

typedef struct hand_state {
    double m[NP], v[NP];
    int t;
} hand_state;

static void clip(double *g, double c)
{
    double sq = 0;
    for (int i = 0; i < NP; i++)
        sq += g[i] * g[i];
    double coef = c / (sqrt(sq) + 1e-6);
    if (coef < 1)
        for (int i = 0; i < NP; i++)
            g[i] *= coef;
}

/* torch.optim.SGD / Adam / AdamW, written out. */
static void hand_step(const hand_opt *o, hand_state *s, double *p, double *g)
{
    if (o->clip > 0)
        clip(g, o->clip);
    s->t++;
    for (int i = 0; i < NP; i++) {
        double gi = g[i];
        if (!o->adam) {
            gi += o->wd * p[i];
            double step = gi;
            if (o->momentum > 0) {
                s->m[i] = o->momentum * s->m[i] + gi;
                step = o->nesterov ? gi + o->momentum * s->m[i] : s->m[i];
            }
            p[i] -= o->lr * step;
            continue;
        }
        if (!o->decoupled)
            gi += o->wd * p[i];
        else
            p[i] *= 1 - o->lr * o->wd;
        s->m[i] = o->beta1 * s->m[i] + (1 - o->beta1) * gi;
        s->v[i] = o->beta2 * s->v[i] + (1 - o->beta2) * gi * gi;
        double bc1 = 1 - pow(o->beta1, s->t), bc2 = 1 - pow(o->beta2, s->t);
        double denom = sqrt(s->v[i]) / sqrt(bc2) + o->eps;
        p[i] -= o->lr / bc1 * s->m[i] / denom;
    }
}

static double relerr(double a, double b)
{
    return fabs(a - b) / fmax(fabs(b), 1e-12);
}

static void check_training(const hand_opt *o)
{
    kiln_graph *g = kiln_graph_new();
    kiln_node loss = mlp_build(g);
    if (o->adam)
        kiln_adam(g, loss,
                  &(kiln_adam_options){.lr = o->lr, .beta1 = o->beta1,
                                       .beta2 = o->beta2, .eps = o->eps,
                                       .weight_decay = o->wd,
                                       .decoupled = o->decoupled,
                                       .clip_norm = o->clip});
    else
        kiln_sgd(g, loss,
                 &(kiln_sgd_options){.lr = o->lr, .momentum = o->momentum,
                                     .nesterov = o->nesterov,
                                     .weight_decay = o->wd,
                                     .clip_norm = o->clip});
    assert_int_equal(kiln_graph_status(g), KILN_OK);
    kiln_program *prog = kiln_compile(g, NULL);
    assert_non_null(prog);
    mlp_data d;
    mlp_data_fill(&d);
    mlp_bind(prog, &d);
    mlp_params p, grad, got;
    hand_state s;
    memset(&s, 0, sizeof s);
    mlp_read(prog, &p);
    for (int step = 0; step < 5; step++) {
        double want = mlp_loss_and_grad(&p, &d, &grad), loss_out;
        hand_step(o, &s, (double *)&p, (double *)&grad);
        assert_int_equal(kiln_run(prog), KILN_OK);
        kiln_get_output(prog, "loss", &loss_out, sizeof loss_out);
        assert_true(relerr(loss_out, want) <= 1e-6);
        mlp_read(prog, &got);
        for (int i = 0; i < NP; i++) {
            double a = ((double *)&got)[i], b = ((double *)&p)[i];
            if (relerr(a, b) > 1e-6)
                fail_msg("step %d param %d: kiln %.17g, hand %.17g", step, i, a,
                         b);
        }
    }
    kiln_program_free(prog);
    kiln_graph_free(g);
}

static void adam_plain(void **state)
{
    (void)state;
    hand_opt o = {.adam = 1, .lr = 0.05, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8};
    check_training(&o);
}

static void adam_l2_and_clip(void **state)
{
    (void)state;
    hand_opt o = {.adam = 1, .lr = 0.02, .beta1 = 0.8, .beta2 = 0.99,
                  .eps = 1e-6, .wd = 0.1, .clip = 0.05};
    check_training(&o);
}

static void adamw(void **state)
{
    (void)state;
    hand_opt o = {.adam = 1, .lr = 0.03, .beta1 = 0.9, .beta2 = 0.999,
                  .eps = 1e-8, .wd = 0.2, .decoupled = 1};
    check_training(&o);
}

static void sgd_plain(void **state)
{
    (void)state;
    hand_opt o = {.lr = 0.3};
    check_training(&o);
}

static void sgd_momentum_decay(void **state)
{
    (void)state;
    hand_opt o = {.lr = 0.1, .momentum = 0.9, .wd = 0.01};
    check_training(&o);
}

static void sgd_nesterov_clip(void **state)
{
    (void)state;
    hand_opt o = {.lr = 0.1, .momentum = 0.8, .nesterov = 1, .clip = 0.1};
    check_training(&o);
}

static void adam_state_is_params(void **state)
{
    (void)state;
    kiln_graph *g = kiln_graph_new();
    kiln_node loss = mlp_build(g);
    assert_int_equal(kiln_adam(g, loss, NULL), KILN_OK);
    const char *names[] = {"w1.adam_m", "w1.adam_v", "b2.adam_m", "adam.step"};
    for (int i = 0; i < 4; i++)
        assert_true(kiln_node_valid(kiln_find(g, names[i])));
    kiln_program *prog = kiln_compile(g, NULL);
    mlp_data d;
    mlp_data_fill(&d);
    mlp_bind(prog, &d);
    for (int i = 0; i < 3; i++)
        assert_int_equal(kiln_run(prog), KILN_OK);
    int32_t step;
    assert_int_equal(kiln_get_param(prog, "adam.step", &step, sizeof step), KILN_OK);
    assert_int_equal(step, 3);
    kiln_program_free(prog);
    kiln_graph_free(g);
}

static void optimizer_errors(void **state)
{
    (void)state;
    kiln_graph *g = kiln_graph_new();
    kiln_node loss = mlp_build(g);
    assert_int_equal(kiln_sgd(g, loss, &(kiln_sgd_options){.lr = 0}),
                     KILN_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(kiln_graph_error(g), "sgd: need options with lr > 0"));
    kiln_graph_clear_error(g);
    assert_int_equal(kiln_sgd(g, loss, &(kiln_sgd_options){.lr = 1, .nesterov = 1}),
                     KILN_ERR_INVALID_ARGUMENT);
    kiln_graph_clear_error(g);
    kiln_node x = kiln_find(g, "x");
    assert_int_equal(kiln_adam(g, loss, &(kiln_adam_options){.nparams = 1, .params = &x}),
                     KILN_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(kiln_graph_error(g), "input #0 is not a param"));
    kiln_graph_clear_error(g);
    assert_int_equal(kiln_adam(g, x, NULL), KILN_ERR_SHAPE);
    assert_non_null(strstr(kiln_graph_error(g), "loss must be a floating scalar"));
    assert_int_equal(kiln_sgd(NULL, loss, NULL), KILN_ERR_INVALID_ARGUMENT);
    kiln_graph_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(adam_plain),
        cmocka_unit_test(adam_l2_and_clip),
        cmocka_unit_test(adamw),
        cmocka_unit_test(sgd_plain),
        cmocka_unit_test(sgd_momentum_decay),
        cmocka_unit_test(sgd_nesterov_clip),
        cmocka_unit_test(adam_state_is_params),
        cmocka_unit_test(optimizer_errors),
    };
    return cmocka_run_group_tests_name("optim", tests, NULL, NULL);
}
