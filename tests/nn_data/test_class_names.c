/* Class names: kiln_read_csv numbers text labels in order of first
 * appearance and gives the names back; slice and split keep them (with
 * every label still naming the same text as in the file), shuffle and
 * standardize leave them; kiln_dataset_set_class_names and its errors. */
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

static const char *write_csv(const char *name, const char *text)
{
    static char path[128];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, strlen(text), f), strlen(text));
    fclose(f);
    return path;
}

/* Feature 0 of row i is i, so every row says which file line it was. */
static const char flowers[] =
    "f0,f1,species\n"
    "0,1.5,virginica\n"
    "1,2.5,setosa\n"
    "2,0.5,virginica\n"
    "3,1.0,versicolor\n"
    "4,2.0,setosa\n"
    "5,3.0,versicolor\n"
    "6,1.0,setosa\n"
    "7,0.0,virginica\n";
static const char *const row_name[] = {"virginica", "setosa", "virginica",
                                       "versicolor", "setosa", "versicolor",
                                       "setosa", "virginica"};

/* Every sample's label names the text its file line had. */
static void expect_rows_named(const kiln_dataset *d)
{
    const float *x = kiln_dataset_x(d);
    const int32_t *y = kiln_dataset_y(d);
    for (int64_t i = 0; i < kiln_dataset_size(d); i++) {
        int row = (int)x[2 * i];
        const char *name = kiln_dataset_class_name(d, y[i]);
        assert_non_null(name);
        assert_string_equal(name, row_name[row]);
    }
}

static void test_csv_names(void **state)
{
    (void)state;
    char err[256] = "";
    kiln_dataset *d = kiln_read_csv(write_csv("f.csv", flowers), NULL, err,
                                    sizeof err);
    assert_non_null(d);
    assert_int_equal(kiln_dataset_classes(d), 3);
    assert_string_equal(kiln_dataset_class_name(d, 0), "virginica");
    assert_string_equal(kiln_dataset_class_name(d, 1), "setosa");
    assert_string_equal(kiln_dataset_class_name(d, 2), "versicolor");
    assert_null(kiln_dataset_class_name(d, 3));
    assert_null(kiln_dataset_class_name(d, -1));
    assert_null(kiln_dataset_class_name(NULL, 0));
    expect_rows_named(d);
    kiln_dataset_free(d);

    /* Integer labels and value targets have no names. */
    d = kiln_read_csv(write_csv("i.csv", "1,2,0\n3,4,1\n"), NULL, err, sizeof err);
    assert_non_null(d);
    assert_null(kiln_dataset_class_name(d, 0));
    kiln_dataset_free(d);
    kiln_csv_options vo = {-1, -1, 1};
    d = kiln_read_csv(write_csv("v.csv", "1,2,0.5\n3,4,1.5\n"), &vo, err,
                      sizeof err);
    assert_non_null(d);
    assert_null(kiln_dataset_class_name(d, 0));
    kiln_dataset_free(d);
}

static void test_names_survive(void **state)
{
    (void)state;
    char err[256] = "";
    kiln_dataset *d = kiln_read_csv(write_csv("f.csv", flowers), NULL, err,
                                    sizeof err);
    assert_non_null(d);
    kiln_dataset_shuffle(d, 3);
    expect_rows_named(d);
    assert_int_equal(kiln_dataset_standardize(d, 0, NULL, err, sizeof err),
                     KILN_OK);
    assert_string_equal(kiln_dataset_class_name(d, 2), "versicolor");
    kiln_dataset_free(d);

    d = kiln_read_csv(write_csv("f.csv", flowers), NULL, err, sizeof err);
    /* Rows 0..1 hold classes 0 and 1 only; the slice keeps all 3 names. */
    kiln_dataset *s = kiln_dataset_slice(d, 0, 2, err, sizeof err);
    assert_non_null(s);
    assert_int_equal(kiln_dataset_classes(s), 2);
    assert_string_equal(kiln_dataset_class_name(s, 2), "versicolor");
    expect_rows_named(s);
    kiln_dataset_free(s);
    kiln_dataset *a, *b;
    for (int strat = 0; strat <= 1; strat++) {
        assert_int_equal(kiln_dataset_split(d, 0.4, 9, strat, &a, &b, err,
                                            sizeof err), KILN_OK);
        expect_rows_named(a);
        expect_rows_named(b);
        assert_string_equal(kiln_dataset_class_name(b, 1), "setosa");
        kiln_dataset_free(a);
        kiln_dataset_free(b);
    }
    kiln_dataset_free(d);
}

static void test_set_names(void **state)
{
    (void)state;
    char err[256] = "";
    const float x[3] = {0, 1, 2};
    const int32_t y[3] = {0, 2, 1};
    kiln_dataset *d = kiln_dataset_new(3, 1, (int64_t[]){1}, x, KILN_I32, 0,
                                       NULL, y, err, sizeof err);
    assert_non_null(d);
    assert_null(kiln_dataset_class_name(d, 0));
    char cat[] = "cat";
    const char *names[] = {cat, "dog", "eel", "fox"};
    assert_int_equal(kiln_dataset_set_class_names(d, 4, names, err, sizeof err),
                     KILN_OK);
    cat[0] = 'b'; /* the names were copied */
    assert_string_equal(kiln_dataset_class_name(d, 0), "cat");
    assert_string_equal(kiln_dataset_class_name(d, 3), "fox");
    assert_null(kiln_dataset_class_name(d, 4));

    /* Errors leave the names as they were. */
    assert_int_equal(kiln_dataset_set_class_names(d, 2, names, err, sizeof err),
                     KILN_ERR_INVALID_ARGUMENT);
    assert_string_equal(err, "class names: 2 names for 3 classes");
    const char *with_null[] = {"a", NULL, "c"};
    assert_int_equal(kiln_dataset_set_class_names(d, 3, with_null, err,
                                                  sizeof err),
                     KILN_ERR_INVALID_ARGUMENT);
    assert_int_equal(kiln_dataset_set_class_names(d, -1, names, err, sizeof err),
                     KILN_ERR_INVALID_ARGUMENT);
    assert_string_equal(kiln_dataset_class_name(d, 1), "dog");

    /* Replace, then remove. */
    const char *other[] = {"x", "y", "z"};
    assert_int_equal(kiln_dataset_set_class_names(d, 3, other, err, sizeof err),
                     KILN_OK);
    assert_string_equal(kiln_dataset_class_name(d, 2), "z");
    assert_null(kiln_dataset_class_name(d, 3));
    assert_int_equal(kiln_dataset_set_class_names(d, 0, NULL, err, sizeof err),
                     KILN_OK);
    assert_null(kiln_dataset_class_name(d, 0));
    kiln_dataset_free(d);

    /* Value targets cannot have class names. */
    const float v[3] = {0.5f, 1, 2};
    d = kiln_dataset_new(3, 1, (int64_t[]){1}, x, KILN_F32, 1, (int64_t[]){1},
                         v, err, sizeof err);
    assert_non_null(d);
    assert_int_equal(kiln_dataset_set_class_names(d, 3, other, err, sizeof err),
                     KILN_ERR_INVALID_ARGUMENT);
    kiln_dataset_free(d);
}

/* The shipped Iris file names its classes in file order. */
static void test_iris_names(void **state)
{
    (void)state;
    const char *root = getenv("KILN_SOURCE_ROOT");
    char path[512], err[256] = "";
    snprintf(path, sizeof path, "%s/examples/data/iris.csv", root ? root : ".");
    kiln_dataset *d = kiln_read_csv(path, NULL, err, sizeof err);
    assert_non_null(d);
    assert_string_equal(kiln_dataset_class_name(d, 0), "setosa");
    assert_string_equal(kiln_dataset_class_name(d, 1), "versicolor");
    assert_string_equal(kiln_dataset_class_name(d, 2), "virginica");
    kiln_dataset_free(d);
}

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/kiln_names_XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    const char *names[] = {"f.csv", "i.csv", "v.csv"};
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
        cmocka_unit_test(test_csv_names),
        cmocka_unit_test(test_names_survive),
        cmocka_unit_test(test_set_names),
        cmocka_unit_test(test_iris_names),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
