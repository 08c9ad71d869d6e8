/*
 * test_examples.c — runs one of the course examples (examples/NAME.c) with
 * small settings and checks what it prints on its "summary:" lines
 * against the lab's expectations.
 *
 *   test_examples NAME PATH-TO-EXAMPLE
 *
 * The thresholds are the lessons' claims, not the examples' own numbers:
 * Iris is learnable (>= 0.89 held-out accuracy on every split: at most 3
 * of 30 wrong; >= 0.93 on average, the lab's acceptance),
 * a large net overfits, a 7-parameter polynomial interpolates 5 points and
 * generalises worse than a line, one epoch on 10k Fashion-MNIST images
 * gives >= 0.80 test accuracy, early stopping restores the best weights.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

typedef struct run {
    int status;  /* exit status of the example, -1 if it did not exit */
    char *out;   /* stdout and stderr                                 */
} run;

typedef struct example {
    const char *name, *path;
    char dir[64]; /* a private output directory */
} example;

static run run_example(const example *ex, const char *args)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "'%s' %s 2>&1", ex->path, args);
    printf("running: %s\n", cmd);
    run r = {-1, NULL};
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t len = 0, cap = 1 << 16;
    r.out = malloc(cap);
    assert_non_null(r.out);
    for (size_t got; (got = fread(r.out + len, 1, cap - len - 1, p)) > 0;) {
        len += got;
        if (cap - len < 1024) {
            r.out = realloc(r.out, cap *= 2);
            assert_non_null(r.out);
        }
    }
    r.out[len] = '\0';
    int st = pclose(p);
    r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    fputs(r.out, stdout);
    return r;
}

/* The value of key=... on a "summary:" line; fails the test if absent. */
static double value(const run *r, const char *key)
{
    char pat[128];
    snprintf(pat, sizeof pat, " %s=", key);
    for (const char *s = strstr(r->out, "summary:"); s; s = strstr(s + 1, "summary:")) {
        const char *eol = strchr(s, '\n'), *at = strstr(s, pat);
        if (at && (!eol || at < eol))
            return strtod(at + strlen(pat), NULL);
    }
    fail_msg("no %s= on a summary line", key);
    return 0;
}

static int file_has(const char *path, const char *text)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return 0;
    char buf[4096];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    return strstr(buf, text) != NULL;
}

static void test_iris(void **state)
{
    const example *ex = *state;
    char args[256], plot[128];
    snprintf(args, sizeof args, "--epochs 100 --seeds 2 --out %s", ex->dir);
    run r = run_example(ex, args);
    assert_int_equal(r.status, 0);
    assert_true(value(&r, "overfit") == 1);
    assert_true(value(&r, "final_val_loss") > value(&r, "best_val_loss"));
    assert_true(value(&r, "min_test_accuracy") >= 0.89);
    /* Acceptance 1 of the lab: the 2-layer net's mean over the splits. */
    assert_true(value(&r, "mean_test_accuracy") >= 0.93);
    /* Per-class results are labelled with the CSV file's class names. */
    assert_non_null(strstr(r.out, "versicolor"));
    snprintf(plot, sizeof plot, "%s/iris_overfit_loss.svg", ex->dir);
    assert_true(file_has(plot, "<svg"));
    free(r.out);
}

static void test_overfit(void **state)
{
    const example *ex = *state;
    char args[256], svg[128];
    snprintf(args, sizeof args, "--out %s", ex->dir);
    run r = run_example(ex, args);
    assert_int_equal(r.status, 0);
    assert_true(value(&r, "poly_train") < 1e-2);
    assert_true(value(&r, "poly_train") < value(&r, "linear_train"));
    assert_true(value(&r, "poly_val") > 3 * value(&r, "linear_val"));
    snprintf(svg, sizeof svg, "%s/overfit.svg", ex->dir);
    assert_true(file_has(svg, "<polyline"));
    free(r.out);
}

static void test_low_level(void **state)
{
    run r = run_example(*state, "--epochs 60");
    /* low_level itself fails when the model's kiln_evaluate disagrees
     * with the hand-written classifier. */
    assert_int_equal(r.status, 0);
    assert_true(value(&r, "hand_val_accuracy") >= 0.85);
    assert_true(value(&r, "model_val_accuracy") >= 0.85);
    free(r.out);
}

static void test_custom_layer(void **state)
{
    const example *ex = *state;
    char args[256];
    snprintf(args, sizeof args, "--epochs 60 --out %s", ex->dir);
    run r = run_example(ex, args);
    assert_int_equal(r.status, 0);
    assert_true(value(&r, "slopes_changed") >= 8); /* the custom param learns */
    assert_true(value(&r, "val_accuracy") >= 0.85);
    free(r.out);
}

static const char *mnist_dir(void)
{
    const char *d = "/usr/share/datasets/fashion-mnist";
    char path[256];
    snprintf(path, sizeof path, "%s/t10k-labels-idx1-ubyte.gz", d);
    struct stat st;
    return stat(path, &st) == 0 ? d : NULL;
}

static void test_mnist(void **state)
{
    const char *dir = mnist_dir();
    if (!dir)
        skip(); /* apt-get install dataset-fashion-mnist */
    char args[512];
    snprintf(args, sizeof args, "%s --limit 10000 --epochs 1 --batch 32 --threads 2", dir);
    run r = run_example(*state, args);
    assert_int_equal(r.status, 0);
    assert_true(value(&r, "test_accuracy") >= 0.80);
    free(r.out);
}

static void test_mnist_early_stopping(void **state)
{
    const char *dir = mnist_dir();
    if (!dir)
        skip();
    char args[512];
    /* 5000 images overfit within a few epochs at this learning rate. */
    snprintf(args, sizeof args,
             "%s --limit 5000 --epochs 40 --lr 3e-3 --early-stopping 2 --threads 2", dir);
    run r = run_example(*state, args);
    assert_int_equal(r.status, 0);
    assert_true(value(&r, "stopped_early") == 1);
    assert_true(value(&r, "epochs") < 40);
    assert_true(value(&r, "best_epoch") <= value(&r, "epochs") - 2);
    assert_true(value(&r, "equal") == 1);
    free(r.out);
}

static int setup(void **state)
{
    example *ex = *state;
    snprintf(ex->dir, sizeof ex->dir, "/tmp/kiln_examples_XXXXXX");
    return mkdtemp(ex->dir) ? 0 : -1;
}

static int teardown(void **state)
{
    example *ex = *state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", ex->dir);
    return system(cmd) == 0 ? 0 : -1;
}

int main(int argc, char **argv)
{
    static const struct { const char *name; CMUnitTestFunction fn; } all[] = {
        {"iris", test_iris},           {"overfit", test_overfit},
        {"low_level", test_low_level}, {"custom_layer", test_custom_layer},
        {"mnist", test_mnist},         {"mnist_early_stopping", test_mnist_early_stopping},
    };
    if (argc != 3) {
        fprintf(stderr, "usage: test_examples NAME PATH-TO-EXAMPLE\n");
        return 2;
    }
    example ex = {argv[1], argv[2], ""};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        if (strcmp(all[i].name, argv[1]))
            continue;
        const struct CMUnitTest tests[] = {
            cmocka_unit_test_prestate_setup_teardown(all[i].fn, setup, teardown, &ex)};
        return cmocka_run_group_tests_name(all[i].name, tests, NULL, NULL);
    }
    fprintf(stderr, "test_examples: no test named %s\n", argv[1]);
    return 2;
}
