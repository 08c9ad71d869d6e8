/* Datasets: construction checks, accessors, gather, slice, shuffle,
 * (stratified) split and standardisation, against hand-computed values. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kiln_data.h"

/* n samples of 2 features (x = [i, 10 i]) and label i % classes, or, with
 * classes == 0, f32 targets [i + 0.5]. */
static kiln_dataset *make(int64_t n, int classes)
{
    float *x = malloc((size_t)n * 2 * sizeof *x);
    int32_t *yl = malloc((size_t)n * sizeof *yl);
    float *yv = malloc((size_t)n * sizeof *yv);
    for (int64_t i = 0; i < n; i++) {
        x[2 * i] = (float)i;
        x[2 * i + 1] = (float)(10 * i);
        yl[i] = classes ? (int32_t)(i % classes) : 0;
        yv[i] = (float)i + 0.5f;
    }
    char err[256] = "";
    kiln_dataset *d =
        classes ? kiln_dataset_new(n, 1, (int64_t[]){2}, x, KILN_I32, 0, NULL,
                                   yl, err, sizeof err)
                : kiln_dataset_new(n, 1, (int64_t[]){2}, x, KILN_F32, 1,
                                   (int64_t[]){1}, yv, err, sizeof err);
    free(x);
    free(yl);
    free(yv);
    assert_non_null(d);
    return d;
}

static void test_new_and_accessors(void **state)
{
    (void)state;
    kiln_dataset *d = make(7, 3);
    int64_t dims[KILN_MAX_RANK];
    assert_int_equal(kiln_dataset_size(d), 7);
    assert_int_equal(kiln_dataset_x_shape(d, dims), 1);
    assert_int_equal(dims[0], 2);
    assert_int_equal(kiln_dataset_y_shape(d, dims), 0);
    assert_int_equal(kiln_dataset_y_dtype(d), KILN_I32);
    assert_int_equal(kiln_dataset_classes(d), 3);
    assert_true(kiln_dataset_x(d)[13] == 60.0f);
    assert_int_equal(((const int32_t *)kiln_dataset_y(d))[5], 2);
    kiln_dataset_free(d);
    d = make(4, 0);
    assert_int_equal(kiln_dataset_classes(d), 0);
    assert_int_equal(kiln_dataset_y_shape(d, dims), 1);
    assert_int_equal(dims[0], 1);
    kiln_dataset_free(d);
    kiln_dataset_free(NULL);
}

static void test_new_errors(void **state)
{
    (void)state;
    char err[256];
    float x[4] = {0};
    int32_t y[2] = {1, -1};
    assert_null(kiln_dataset_new(2, 1, (int64_t[]){2}, x, KILN_I32, 0, NULL,
                                 y, err, sizeof err));
    assert_string_equal(err, "dataset: sample 1 has a negative label -1");
    assert_null(kiln_dataset_new(2, 0, (int64_t[]){2}, x, KILN_I32, 0, NULL,
                                 y, err, sizeof err));
    assert_string_equal(err, "dataset: x sample rank 0 is not in 1..7");
    assert_null(kiln_dataset_new(2, 1, (int64_t[]){0}, x, KILN_I32, 0, NULL,
                                 y, err, sizeof err));
    assert_null(kiln_dataset_new(2, 1, (int64_t[]){2}, x, KILN_I32, 1,
                                 (int64_t[]){1}, y, err, sizeof err));
    assert_string_equal(err,
                        "dataset: class labels (i32) need y rank 0, not 1");
    assert_null(kiln_dataset_new(2, 1, (int64_t[]){2}, x, KILN_F64, 0, NULL,
                                 y, err, sizeof err));
    assert_null(kiln_dataset_new(-1, 1, (int64_t[]){2}, x, KILN_I32, 0, NULL,
                                 y, NULL, 0));
    assert_null(kiln_dataset_new(INT64_C(1) << 40, 1, (int64_t[]){2}, x,
                                 KILN_I32, 0, NULL, y, err, sizeof err));
}

static void test_gather_slice(void **state)
{
    (void)state;
    kiln_dataset *d = make(6, 4);
    float x[6];
    int32_t y[3];
    kiln_dataset_gather(d, (int64_t[]){5, 0, 3}, 3, x, y);
    float ex[6] = {5, 50, 0, 0, 3, 30};
    assert_memory_equal(x, ex, sizeof ex);
    assert_int_equal(y[0], 1);
    assert_int_equal(y[1], 0);
    assert_int_equal(y[2], 3);
    char err[256];
    kiln_dataset *s = kiln_dataset_slice(d, 2, 3, err, sizeof err);
    assert_non_null(s);
    assert_int_equal(kiln_dataset_size(s), 3);
    assert_true(kiln_dataset_x(s)[0] == 2.0f);
    assert_int_equal(((const int32_t *)kiln_dataset_y(s))[2], 0);
    kiln_dataset_free(s);
    assert_null(kiln_dataset_slice(d, 4, 3, err, sizeof err));
    assert_string_equal(err, "dataset slice: [4, 7) is outside [0, 6)");
    kiln_dataset_free(d);
}

/* Every sample is still there exactly once (x and y moved together), the
 * order changed, and the same seed gives the same order. */
static void test_shuffle(void **state)
{
    (void)state;
    kiln_dataset *a = make(50, 5), *b = make(50, 5), *c = make(50, 5);
    kiln_dataset_shuffle(a, 42);
    kiln_dataset_shuffle(b, 42);
    kiln_dataset_shuffle(c, 43);
    assert_memory_equal(kiln_dataset_x(a), kiln_dataset_x(b), 100 * 4);
    assert_memory_not_equal(kiln_dataset_x(a), kiln_dataset_x(c), 100 * 4);
    int seen[50] = {0}, moved = 0;
    const float *x = kiln_dataset_x(a);
    const int32_t *y = kiln_dataset_y(a);
    for (int i = 0; i < 50; i++) {
        int orig = (int)x[2 * i];
        assert_true(x[2 * i + 1] == 10.0f * (float)orig);
        assert_int_equal(y[i], orig % 5);
        seen[orig]++;
        moved += orig != i;
    }
    for (int i = 0; i < 50; i++)
        assert_int_equal(seen[i], 1);
    assert_true(moved > 40);
    kiln_dataset_free(a);
    kiln_dataset_free(b);
    kiln_dataset_free(c);
}

/* Class counts of the 150-sample Iris layout (50 per class, sorted by
 * class): a stratified 20 % split takes exactly 10 of each. */
static void test_split_stratified(void **state)
{
    (void)state;
    float x[150 * 2];
    int32_t y[150];
    for (int i = 0; i < 150; i++) {
        x[2 * i] = (float)i;
        x[2 * i + 1] = 0;
        y[i] = i / 50;
    }
    char err[256];
    kiln_dataset *d = kiln_dataset_new(150, 1, (int64_t[]){2}, x, KILN_I32, 0,
                                       NULL, y, err, sizeof err);
    kiln_dataset *tr, *va;
    assert_int_equal(kiln_dataset_split(d, 0.2, 7, 1, &tr, &va, err,
                                        sizeof err), KILN_OK);
    assert_int_equal(kiln_dataset_size(tr), 120);
    assert_int_equal(kiln_dataset_size(va), 30);
    int cnt[3] = {0}, seen[150] = {0};
    const int32_t *vy = kiln_dataset_y(va);
    for (int i = 0; i < 30; i++)
        cnt[vy[i]]++;
    for (int c = 0; c < 3; c++)
        assert_int_equal(cnt[c], 10);
    /* The validation part is shuffled: not sorted by class. */
    int sorted = 1;
    for (int i = 1; i < 30; i++)
        sorted &= vy[i - 1] <= vy[i];
    assert_false(sorted);
    for (int i = 0; i < 30; i++)
        seen[(int)kiln_dataset_x(va)[2 * i]]++;
    for (int i = 0; i < 120; i++)
        seen[(int)kiln_dataset_x(tr)[2 * i]]++;
    for (int i = 0; i < 150; i++)
        assert_int_equal(seen[i], 1);
    /* Same seed, same split; the source is unchanged. */
    kiln_dataset *tr2, *va2;
    assert_int_equal(kiln_dataset_split(d, 0.2, 7, 1, &tr2, &va2, err,
                                        sizeof err), KILN_OK);
    assert_memory_equal(kiln_dataset_x(va), kiln_dataset_x(va2), 30 * 8);
    assert_memory_equal(kiln_dataset_x(d), x, sizeof x);
    kiln_dataset_free(tr);
    kiln_dataset_free(va);
    kiln_dataset_free(tr2);
    kiln_dataset_free(va2);
    kiln_dataset_free(d);
}

/* Uneven classes: 7, 5 and 1 samples, fraction 0.3 of 13 = 3.9 -> 4.
 * Ideal shares 2.1, 1.5, 0.3: floors 2, 1, 0, then the largest remainder
 * (class 1, 0.5) gets the fourth. */
static void test_split_uneven(void **state)
{
    (void)state;
    int32_t y[13] = {0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 2};
    float x[13] = {0};
    char err[256];
    kiln_dataset *d = kiln_dataset_new(13, 1, (int64_t[]){1}, x, KILN_I32, 0,
                                       NULL, y, err, sizeof err);
    for (uint64_t seed = 0; seed < 5; seed++) {
        kiln_dataset *tr, *va;
        assert_int_equal(kiln_dataset_split(d, 0.3, seed, 1, &tr, &va, err,
                                            sizeof err), KILN_OK);
        int cnt[3] = {0};
        const int32_t *vy = kiln_dataset_y(va);
        assert_int_equal(kiln_dataset_size(va), 4);
        for (int i = 0; i < 4; i++)
            cnt[vy[i]]++;
        assert_int_equal(cnt[0], 2);
        assert_int_equal(cnt[1], 2);
        assert_int_equal(cnt[2], 0);
        kiln_dataset_free(tr);
        kiln_dataset_free(va);
    }
    /* Unstratified, tiny fraction: at least one sample. */
    kiln_dataset *tr, *va;
    assert_int_equal(kiln_dataset_split(d, 0.01, 1, 0, &tr, &va, err,
                                        sizeof err), KILN_OK);
    assert_int_equal(kiln_dataset_size(va), 1);
    assert_int_equal(kiln_dataset_size(tr), 12);
    kiln_dataset_free(tr);
    kiln_dataset_free(va);
    assert_int_equal(kiln_dataset_split(d, 1.5, 1, 0, &tr, &va, err,
                                        sizeof err),
                     KILN_ERR_INVALID_ARGUMENT);
    assert_string_equal(err, "dataset split: fraction 1.5 is not in [0, 1]");
    kiln_dataset_free(d);
    kiln_dataset *v = make(10, 0);
    assert_int_equal(kiln_dataset_split(v, 0.5, 1, 1, &tr, &va, err,
                                        sizeof err),
                     KILN_ERR_INVALID_ARGUMENT);
    assert_string_equal(err, "dataset split: stratify needs class labels");
    assert_int_equal(kiln_dataset_split(v, 0.5, 1, 0, &tr, &va, err,
                                        sizeof err), KILN_OK);
    assert_int_equal(kiln_dataset_size(va), 5);
    kiln_dataset_free(tr);
    kiln_dataset_free(va);
    kiln_dataset_free(v);
}

/* fit: features [0..3] and [0,10,20,30] -> mean 1.5 / 15, population std
 * sqrt(1.25) / 10 sqrt(1.25); a constant column keeps scale 1. */
static void test_standardize(void **state)
{
    (void)state;
    kiln_dataset *fit = make(4, 2), *other = make(2, 2);
    char err[256];
    kiln_dataset *others[1] = {other};
    assert_int_equal(kiln_dataset_standardize(fit, 1, others, err,
                                               sizeof err), KILN_OK);
    double sd = sqrt(1.25);
    const float *x = kiln_dataset_x(fit);
    for (int i = 0; i < 4; i++) {
        assert_true(fabs(x[2 * i] - (i - 1.5) / sd) < 1e-6);
        assert_true(fabs(x[2 * i + 1] - (i - 1.5) / sd) < 1e-6);
    }
    assert_true(fabs(kiln_dataset_x(other)[2] - (1 - 1.5) / sd) < 1e-6);
    kiln_dataset_free(fit);
    float cx[3] = {5, 5, 5};
    int32_t cy[3] = {0, 0, 0};
    fit = kiln_dataset_new(3, 1, (int64_t[]){1}, cx, KILN_I32, 0, NULL, cy,
                           err, sizeof err);
    assert_int_equal(kiln_dataset_standardize(fit, 0, NULL, err, sizeof err),
                     KILN_OK);
    assert_true(kiln_dataset_x(fit)[1] == 0.0f);
    assert_int_equal(kiln_dataset_standardize(fit, 1, others, err,
                                              sizeof err), KILN_ERR_SHAPE);
    kiln_dataset_free(fit);
    kiln_dataset_free(other);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_new_and_accessors),
        cmocka_unit_test(test_new_errors),
        cmocka_unit_test(test_gather_slice),
        cmocka_unit_test(test_shuffle),
        cmocka_unit_test(test_split_stratified),
        cmocka_unit_test(test_split_uneven),
        cmocka_unit_test(test_standardize),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
