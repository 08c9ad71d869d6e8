/* kiln_read_csv: the shipped Iris file, line-ending and spacing variants,
 * label kinds, and malformed files with their exact messages. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kiln_data.h"

static char dir[64];

/* Writes text to dir/name and returns the path (static buffer). */
static const char *put(const char *name, const char *text, size_t len)
{
    static char path[128];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, len, f), len);
    fclose(f);
    return path;
}

static const char *puts_(const char *name, const char *text)
{
    return put(name, text, strlen(text));
}

static void test_iris(void **state)
{
    (void)state;
    const char *root = getenv("KILN_SOURCE_ROOT");
    char path[512], err[256] = "";
    snprintf(path, sizeof path, "%s/examples/data/iris.csv",
             root ? root : ".");
    kiln_dataset *d = kiln_read_csv(path, NULL, err, sizeof err);
    assert_non_null(d);
    int64_t dims[KILN_MAX_RANK];
    assert_int_equal(kiln_dataset_size(d), 150);
    assert_int_equal(kiln_dataset_x_shape(d, dims), 1);
    assert_int_equal(dims[0], 4);
    assert_int_equal(kiln_dataset_classes(d), 3);
    const float *x = kiln_dataset_x(d);
    const int32_t *y = kiln_dataset_y(d);
    /* First and last rows of the file, and the class blocks of 50. */
    assert_true(x[0] == 5.1f && x[1] == 3.5f && x[2] == 1.4f && x[3] == 0.2f);
    assert_true(x[596] == 5.9f && x[597] == 3.0f && x[599] == 1.8f);
    for (int i = 0; i < 150; i++)
        assert_int_equal(y[i], i / 50);
    kiln_dataset_free(d);
}

/* The same two rows written five ways read identically. */
static void test_variants(void **state)
{
    (void)state;
    const char *texts[] = {
        "a,b,label\n1.5,2,cat\n-3,4e1,dog\n",
        "a,b,label\r\n1.5,2,cat\r\n-3,4e1,dog\r\n",
        "\n\na,b,label\n\n1.5,2,cat\n  \n-3,4e1,dog",
        "1.5 , 2,\tcat\n-3,40,dog\r\n\r\n",
        "a,b,label\r\n1.5,2,cat\r\n-3,4e1,dog",
    };
    for (size_t i = 0; i < sizeof texts / sizeof *texts; i++) {
        char err[256] = "";
        kiln_dataset *d =
            kiln_read_csv(puts_("v.csv", texts[i]), NULL, err, sizeof err);
        assert_non_null(d);
        assert_int_equal(kiln_dataset_size(d), 2);
        const float *x = kiln_dataset_x(d);
        float ex[4] = {1.5f, 2.0f, -3.0f, 40.0f};
        assert_memory_equal(x, ex, sizeof ex);
        const int32_t *y = kiln_dataset_y(d);
        assert_int_equal(y[0], 0);
        assert_int_equal(y[1], 1);
        kiln_dataset_free(d);
    }
}

static void test_label_kinds(void **state)
{
    (void)state;
    char err[256] = "";
    /* Integer labels keep their values; classes = 1 + max. */
    kiln_dataset *d = kiln_read_csv(puts_("i.csv", "1,2,5\n3,4,0\n"), NULL,
                                    err, sizeof err);
    assert_non_null(d);
    assert_int_equal(kiln_dataset_classes(d), 6);
    assert_int_equal(((const int32_t *)kiln_dataset_y(d))[0], 5);
    kiln_dataset_free(d);
    /* Names in order of first appearance, label in column 0. */
    kiln_csv_options o = {.label_column = 0, .header = 0, .values = 0};
    d = kiln_read_csv(puts_("n.csv", "b,1\na,2\nb,3\nc,4\n"), &o, err,
                      sizeof err);
    assert_non_null(d);
    const int32_t *y = kiln_dataset_y(d);
    assert_int_equal(y[0], 0);
    assert_int_equal(y[1], 1);
    assert_int_equal(y[2], 0);
    assert_int_equal(y[3], 2);
    assert_true(kiln_dataset_x(d)[3] == 4.0f);
    kiln_dataset_free(d);
    /* Numeric targets, explicit header line skipped even if numeric. */
    o = (kiln_csv_options){.label_column = 1, .header = 1, .values = 1};
    d = kiln_read_csv(puts_("r.csv", "9,9,9\n1,0.25,2\n3,-1.5,4\n"), &o, err,
                      sizeof err);
    assert_non_null(d);
    int64_t dims[KILN_MAX_RANK];
    assert_int_equal(kiln_dataset_y_dtype(d), KILN_F32);
    assert_int_equal(kiln_dataset_y_shape(d, dims), 1);
    assert_int_equal(dims[0], 1);
    assert_int_equal(kiln_dataset_size(d), 2);
    const float *yv = kiln_dataset_y(d);
    assert_true(yv[0] == 0.25f && yv[1] == -1.5f);
    assert_true(kiln_dataset_x(d)[2] == 3.0f && kiln_dataset_x(d)[3] == 4.0f);
    kiln_dataset_free(d);
}

/* Each bad file and the exact message it gets ("%s" is the path). */
static void test_errors(void **state)
{
    (void)state;
    static const struct {
        const char *text, *msg;
        int label_column, header, values;
    } cases[] = {
        {"1,2,a\n1,x,b\n", "%s:2:3: not a number: x", -1, -1, 0},
        {"1,2,a\n\n1,2\n", "%s:3:1: expected 3 fields, found 2", -1, -1, 0},
        {"1,2,a\n3,4,5,b\n", "%s:2:1: expected 3 fields, found 4", -1, -1, 0},
        {"1,\"2\",a\n", "%s:1:3: quoted fields are not supported", -1, -1, 0},
        {"1,,a\n", "%s:1:3: empty field", -1, -1, 0},
        {"1,2,\n", "%s:1:5: empty label", -1, -1, 0},
        {"1,0\n2,cat\n",
         "%s:2:3: class label is not an integer like the ones before: cat",
         -1, -1, 0},
        {"1,-1\n", "%s:1:3: class label out of range [0, 100000): -1", -1, -1,
         0},
        {"1,2\n3,x\n", "%s:2:3: not a number: x", -1, -1, 1},
        {"a,b,c\n", "%s: no data rows", -1, -1, 0},
        {"", "%s: no data rows", -1, -1, 0},
        {"\r\n\n", "%s: no data rows", -1, -1, 0},
        {"1\n2\n", "%s:1:1: need at least one feature column and a label "
                   "column", -1, -1, 0},
        {"1,2,3\n", "%s:1:1: label column 5, but lines have 3 fields", 5, -1,
         0},
        {"1,2,a\n1,inf,a\n", "%s:2:3: not a number: inf", -1, -1, 0},
        {"1,2,a\n1,1e999,a\n", "%s:2:3: not a number: 1e999", -1, -1, 0},
        {"1,2,a\n1,2x,a\n", "%s:2:3: not a number: 2x", -1, 0, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        const char *path = puts_("bad.csv", cases[i].text);
        kiln_csv_options o = {cases[i].label_column, cases[i].header,
                              cases[i].values};
        char err[256] = "", want[256];
        snprintf(want, sizeof want, cases[i].msg, path);
        assert_null(kiln_read_csv(path, &o, err, sizeof err));
        assert_string_equal(err, want);
    }
    /* A NUL byte inside a field. */
    const char *path = put("nul.csv", "1,2\0,a\n", 7);
    char err[256], want[256];
    snprintf(want, sizeof want, "%s:1:4: NUL byte in a field", path);
    assert_null(kiln_read_csv(path, NULL, err, sizeof err));
    assert_string_equal(err, want);
    snprintf(want, sizeof want,
             "%s/missing.csv: cannot open: No such file or directory", dir);
    char mp[128];
    snprintf(mp, sizeof mp, "%s/missing.csv", dir);
    assert_null(kiln_read_csv(mp, NULL, err, sizeof err));
    assert_string_equal(err, want);
    assert_null(kiln_read_csv(NULL, NULL, NULL, 0));
}

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/kiln_csv_XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    const char *names[] = {"v.csv", "i.csv", "n.csv", "r.csv", "bad.csv",
                           "nul.csv"};
    char path[128];
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        remove(path);
    }
    return rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_iris),
        cmocka_unit_test(test_variants),
        cmocka_unit_test(test_label_kinds),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
