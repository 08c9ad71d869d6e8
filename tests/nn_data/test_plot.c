/* Plots: the SVG is well-formed XML (a minimal checker below), has one
 * polyline per unbroken run of values, escapes text, puts points and the
 * best-epoch marker where the axes say (hand-computed); the PNG path works
 * through gnuplot when it is installed and says so when it is not. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kiln_data.h"

static char dir[64];

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    rewind(f);
    char *s = malloc((size_t)n + 1);
    assert_int_equal(fread(s, 1, (size_t)n, f), (size_t)n);
    s[n] = '\0';
    fclose(f);
    return s;
}

/* Balanced tags, quoted attributes, only known entities in text; returns
 * the number of elements and checks the root is <svg>. */
static int check_xml(const char *s)
{
    char stack[32][32];
    int depth = 0, elements = 0, seen_root = 0;
    while (*s) {
        if (*s == '&') {
            const char *ents[] = {"&amp;", "&lt;", "&gt;", "&quot;",
                                  "&apos;"};
            int ok = 0;
            for (int i = 0; i < 5; i++)
                ok |= strncmp(s, ents[i], strlen(ents[i])) == 0;
            assert_true(ok);
            s++;
            continue;
        }
        if (*s != '<') {
            assert_true(*s != '>');
            s++;
            continue;
        }
        const char *end = strchr(s, '>');
        assert_non_null(end);
        int quotes = 0;
        for (const char *q = s; q < end; q++) {
            assert_true(*q != '<' || q == s);
            quotes += *q == '"';
        }
        assert_int_equal(quotes % 2, 0);
        if (s[1] == '?') {
            assert_true(end[-1] == '?');
        } else if (s[1] == '/') {
            assert_true(depth > 0);
            depth--;
            size_t n = strlen(stack[depth]);
            assert_memory_equal(s + 2, stack[depth], n);
            assert_true(s[2 + n] == '>');
        } else {
            char name[32];
            size_t n = strcspn(s + 1, " />");
            assert_true(n > 0 && n < sizeof name);
            memcpy(name, s + 1, n);
            name[n] = '\0';
            if (!seen_root) {
                assert_string_equal(name, "svg");
                seen_root = 1;
            } else {
                assert_true(depth > 0); /* one root */
            }
            elements++;
            if (end[-1] != '/') {
                assert_true(depth < 32);
                strcpy(stack[depth++], name);
            }
        }
        s = end + 1;
    }
    assert_int_equal(depth, 0);
    assert_true(seen_root);
    return elements;
}

static int count(const char *s, const char *needle)
{
    int n = 0;
    for (const char *p = s; (p = strstr(p, needle)); p++)
        n++;
    return n;
}

static void test_svg(void **state)
{
    (void)state;
    double train[5] = {1.0, 0.8, 0.6, 0.5, 0.45};
    double val[5] = {1.1, NAN, 0.7, 0.75, 0.8};
    kiln_curve c[2] = {{"train <loss>", train, 5}, {"val & \"co\"", val, 5}};
    char path[128], err[256] = "";
    snprintf(path, sizeof path, "%s/p.svg", dir);
    assert_int_equal(kiln_plot_svg(path, "Loss: a < b", "loss", 2, c, 3, err,
                                   sizeof err), KILN_OK);
    char *s = slurp(path);
    assert_true(check_xml(s) > 10);
    /* train: one run; val: a lone point (a dot) then a run of three. */
    assert_int_equal(count(s, "<polyline"), 2);
    assert_int_equal(count(s, "<circle"), 1);
    assert_non_null(strstr(s, "train &lt;loss&gt;"));
    assert_non_null(strstr(s, "val &amp; &quot;co&quot;"));
    assert_non_null(strstr(s, "Loss: a &lt; b"));
    /* x: epochs 1..5 in steps of 1 over 480 px from x = 70; y: ticks 0.4
     * to 1.2 in steps of 0.2 over 330 px from y = 40.  Epoch 1 of train
     * (1.0) is at (70, 40 + 330 * (1 - 0.6 / 0.8)) = (70, 122.5); the
     * lone val point (epoch 1, 1.1) at y = 40 + 330 * 0.1 / 0.8 = 81.25;
     * the marker at epoch 3 is x = 310. */
    assert_non_null(strstr(s, "points=\"70.00,122.50 "));
    assert_non_null(strstr(s, "cx=\"70.00\" cy=\"81.25\""));
    assert_non_null(strstr(s, "x1=\"310.00\" y1=\"40.00\" x2=\"310.00\" "
                              "y2=\"370.00\" stroke=\"black\""));
    assert_non_null(strstr(s, "best (epoch 3)"));
    assert_non_null(strstr(s, ">0.4</text>"));
    assert_non_null(strstr(s, ">1.2</text>"));
    free(s);
    /* All NaN, no marker, one epoch: still a valid, empty plot. */
    double nan1[1] = {NAN};
    kiln_curve e = {"nothing", nan1, 1};
    assert_int_equal(kiln_plot_svg(path, NULL, NULL, 1, &e, 0, err,
                                   sizeof err), KILN_OK);
    s = slurp(path);
    check_xml(s);
    assert_int_equal(count(s, "<polyline"), 0);
    assert_null(strstr(s, "best"));
    free(s);
    /* Ranges that defeat nice ticks still give a finite, valid plot. */
    static const double hard[][2] = {{1e10, 1e10 + 1e-6}, {-1e308, 1e308},
                                     {1e-320, 2e-320}, {5, 5}, {-0.0, 0.0}};
    for (size_t i = 0; i < sizeof hard / sizeof *hard; i++) {
        kiln_curve h = {"h", hard[i], 2};
        assert_int_equal(kiln_plot_svg(path, "t", "y", 1, &h, 2, err,
                                       sizeof err), KILN_OK);
        s = slurp(path);
        check_xml(s);
        assert_int_equal(count(s, "<polyline"), 1);
        assert_null(strstr(s, "nan"));
        assert_null(strstr(s, "inf"));
        free(s);
    }
    remove(path);
    assert_int_equal(kiln_plot_svg(path, "t", "y", 0, c, 0, err, sizeof err),
                     KILN_ERR_INVALID_ARGUMENT);
    assert_string_equal(err, "plot: need a path and at least one curve");
    char bad[160];
    snprintf(bad, sizeof bad, "%s/no/such.svg", dir);
    assert_int_equal(kiln_plot_svg(bad, "t", "y", 2, c, 0, err, sizeof err),
                     KILN_ERR_IO);
}

static void test_png(void **state)
{
    (void)state;
    double y[4] = {3, 2, NAN, 1};
    kiln_curve c = {"it's", y, 4};
    char path[128], err[256] = "";
    snprintf(path, sizeof path, "%s/p.png", dir);
    kiln_status s = kiln_plot_png(path, "t", "y", 1, &c, 2, err, sizeof err);
    if (s == KILN_OK) {
        FILE *f = fopen(path, "rb");
        unsigned char magic[8];
        assert_int_equal(fread(magic, 1, 8, f), 8);
        fclose(f);
        assert_memory_equal(magic, "\x89PNG\r\n\x1a\n", 8);
        remove(path);
    } else {
        assert_int_equal(s, KILN_ERR_UNSUPPORTED);
    }
    /* Without gnuplot on PATH: unsupported, with a message. */
    char *old = getenv("PATH") ? strdup(getenv("PATH")) : NULL;
    setenv("PATH", dir, 1);
    s = kiln_plot_png(path, "t", "y", 1, &c, 2, err, sizeof err);
    if (old) {
        setenv("PATH", old, 1);
        free(old);
    }
    assert_int_equal(s, KILN_ERR_UNSUPPORTED);
    assert_string_equal(err, "plot: gnuplot is not on PATH, so no PNG (the "
                             "SVG plot needs no tool)");
}

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/kiln_plot_XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    return rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_svg),
        cmocka_unit_test(test_png),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
