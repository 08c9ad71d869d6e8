/*
 * nn_dataset.c — in-memory datasets: construction, accessors, shuffle,
 * slice, gather, (stratified) split and per-feature standardisation.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn_data_internal.h"

/* Caps one dataset at 2^40 floats, like a kiln tensor: the byte counts
 * below then never overflow size_t on a 64-bit host. */
#define NN_MAX_ELEMS (INT64_C(1) << 40)

struct kiln_dataset {
    int64_t n;
    int x_rank, y_rank;
    int64_t x_dims[KILN_MAX_RANK], y_dims[KILN_MAX_RANK];
    int64_t x_numel, y_numel; /* per sample                          */
    kiln_dtype y_dtype;
    int classes;
    float *x;
    void *y; /* int32_t or float, n * y_numel                        */
    char **names; /* class names (nnames of them), or NULL          */
    int nnames;
};

/* Elements per sample of a shape, or -1 if a dim is bad or it is too big. */
static int64_t sample_numel(int rank, const int64_t *dims)
{
    int64_t p = 1;
    for (int i = 0; i < rank; i++) {
        if (dims[i] < 1 || dims[i] > NN_MAX_ELEMS / p)
            return -1;
        p *= dims[i];
    }
    return p;
}

static kiln_status check_shapes(int64_t n, int x_rank, const int64_t *x_dims,
                                kiln_dtype y_dtype, int y_rank,
                                const int64_t *y_dims, int64_t *xn,
                                int64_t *yn, char *err, size_t errlen)
{
    if (n < 0)
        return nn_data_err(err, errlen, KILN_ERR_INVALID_ARGUMENT,
                           "dataset: negative sample count %lld",
                           (long long)n);
    if (x_rank < 1 || x_rank >= KILN_MAX_RANK || !x_dims)
        return nn_data_err(err, errlen, KILN_ERR_SHAPE,
                           "dataset: x sample rank %d is not in 1..%d",
                           x_rank, KILN_MAX_RANK - 1);
    if (y_dtype == KILN_I32 && y_rank != 0)
        return nn_data_err(err, errlen, KILN_ERR_SHAPE,
                           "dataset: class labels (i32) need y rank 0, "
                           "not %d", y_rank);
    if (y_dtype != KILN_I32 && y_dtype != KILN_F32)
        return nn_data_err(err, errlen, KILN_ERR_DTYPE,
                           "dataset: y dtype must be i32 (classes) or f32 "
                           "(values), not %s", kiln_dtype_name(y_dtype));
    if (y_rank < 0 || y_rank >= KILN_MAX_RANK || (y_rank > 0 && !y_dims))
        return nn_data_err(err, errlen, KILN_ERR_SHAPE,
                           "dataset: y sample rank %d is not in 0..%d",
                           y_rank, KILN_MAX_RANK - 1);
    *xn = sample_numel(x_rank, x_dims);
    *yn = sample_numel(y_rank, y_dims);
    if (*xn < 0 || *yn < 0 || (n > 0 && (*xn > NN_MAX_ELEMS / n ||
                                         *yn > NN_MAX_ELEMS / n)))
        return nn_data_err(err, errlen, KILN_ERR_SHAPE,
                           "dataset: a dim is < 1 or the data has more "
                           "than 2^40 elements");
    return KILN_OK;
}

static void fill_shape(kiln_dataset *d, int64_t n, int x_rank,
                       const int64_t *x_dims, kiln_dtype y_dtype, int y_rank,
                       const int64_t *y_dims, int64_t xn, int64_t yn)
{
    d->n = n;
    d->x_rank = x_rank;
    d->y_rank = y_rank;
    memcpy(d->x_dims, x_dims, (size_t)x_rank * sizeof *x_dims);
    if (y_rank > 0)
        memcpy(d->y_dims, y_dims, (size_t)y_rank * sizeof *y_dims);
    d->x_numel = xn;
    d->y_numel = yn;
    d->y_dtype = y_dtype;
}

/* Labels must be >= 0; classes = 1 + the largest. */
static kiln_status count_classes(kiln_dataset *d, char *err, size_t errlen)
{
    d->classes = 0;
    if (d->y_dtype != KILN_I32)
        return KILN_OK;
    const int32_t *y = d->y;
    int32_t top = -1;
    for (int64_t i = 0; i < d->n; i++) {
        if (y[i] < 0)
            return nn_data_err(err, errlen, KILN_ERR_INVALID_ARGUMENT,
                               "dataset: sample %lld has a negative label "
                               "%d", (long long)i, (int)y[i]);
        if (y[i] > top)
            top = y[i];
    }
    if (top == INT32_MAX)
        return nn_data_err(err, errlen, KILN_ERR_INVALID_ARGUMENT,
                           "dataset: label %d is too large", (int)top);
    d->classes = (int)top + 1;
    return KILN_OK;
}

kiln_dataset *nn_dataset_adopt(int64_t n, int x_rank, const int64_t *x_dims,
                               float *x, kiln_dtype y_dtype, int y_rank,
                               const int64_t *y_dims, void *y, char *err,
                               size_t errlen)
{
    int64_t xn = 0, yn = 0;
    kiln_dataset *d = NULL;
    if (check_shapes(n, x_rank, x_dims, y_dtype, y_rank, y_dims, &xn, &yn,
                     err, errlen) != KILN_OK)
        goto fail;
    if (n > 0 && (!x || !y)) {
        nn_data_err(err, errlen, KILN_ERR_INVALID_ARGUMENT,
                    "dataset: x or y is NULL");
        goto fail;
    }
    d = calloc(1, sizeof *d);
    if (!d) {
        nn_data_err(err, errlen, KILN_ERR_OUT_OF_MEMORY,
                    "dataset: out of memory");
        goto fail;
    }
    fill_shape(d, n, x_rank, x_dims, y_dtype, y_rank, y_dims, xn, yn);
    d->x = x;
    d->y = y;
    if (count_classes(d, err, errlen) != KILN_OK) {
        kiln_dataset_free(d);
        return NULL;
    }
    return d;
fail:
    free(x);
    free(y);
    return NULL;
}

kiln_dataset *kiln_dataset_new(int64_t n, int x_rank, const int64_t *x_dims,
                               const float *x, kiln_dtype y_dtype, int y_rank,
                               const int64_t *y_dims, const void *y,
                               char *err, size_t errlen)
{
    int64_t xn = 0, yn = 0;
    if (check_shapes(n, x_rank, x_dims, y_dtype, y_rank, y_dims, &xn, &yn,
                     err, errlen) != KILN_OK)
        return NULL;
    if (n > 0 && (!x || !y)) {
        nn_data_err(err, errlen, KILN_ERR_INVALID_ARGUMENT,
                    "dataset: x or y is NULL");
        return NULL;
    }
    /* +1: malloc(0) may return NULL, which would read as out of memory. */
    size_t xb = (size_t)(n * xn) * sizeof(float);
    size_t yb = (size_t)(n * yn) * 4;
    float *xc = malloc(xb + 1);
    void *yc = malloc(yb + 1);
    if (!xc || !yc) {
        free(xc);
        free(yc);
        nn_data_err(err, errlen, KILN_ERR_OUT_OF_MEMORY,
                    "dataset: out of memory for %lld samples", (long long)n);
        return NULL;
    }
    if (n > 0) {
        memcpy(xc, x, xb);
        memcpy(yc, y, yb);
    }
    return nn_dataset_adopt(n, x_rank, x_dims, xc, y_dtype, y_rank, y_dims,
                            yc, err, errlen);
}

void kiln_dataset_free(kiln_dataset *d)
{
    if (!d)
        return;
    free(d->x);
    free(d->y);
    for (int i = 0; i < d->nnames; i++)
        free(d->names[i]);
    free(d->names);
    free(d);
}

int64_t kiln_dataset_size(const kiln_dataset *d) { return d ? d->n : 0; }

int kiln_dataset_x_shape(const kiln_dataset *d, int64_t *dims)
{
    if (!d)
        return -1;
    if (dims)
        memcpy(dims, d->x_dims, (size_t)d->x_rank * sizeof *dims);
    return d->x_rank;
}

int kiln_dataset_y_shape(const kiln_dataset *d, int64_t *dims)
{
    if (!d)
        return -1;
    if (dims && d->y_rank > 0)
        memcpy(dims, d->y_dims, (size_t)d->y_rank * sizeof *dims);
    return d->y_rank;
}

kiln_dtype kiln_dataset_y_dtype(const kiln_dataset *d)
{
    return d ? d->y_dtype : KILN_F32;
}

int kiln_dataset_classes(const kiln_dataset *d) { return d ? d->classes : 0; }

const char *kiln_dataset_class_name(const kiln_dataset *d, int i)
{
    return d && i >= 0 && i < d->nnames ? d->names[i] : NULL;
}

kiln_status kiln_dataset_set_class_names(kiln_dataset *d, int n,
                                         const char *const *names, char *err,
                                         size_t errlen)
{
    if (!d || n < 0 || (n > 0 && !names))
        return nn_data_err(err, errlen, KILN_ERR_INVALID_ARGUMENT,
                           "class names: NULL dataset or names, or n < 0");
    if (n > 0 && d->y_dtype != KILN_I32)
        return nn_data_err(err, errlen, KILN_ERR_INVALID_ARGUMENT,
                           "class names: the targets are values, not classes");
    if (n > 0 && n < d->classes)
        return nn_data_err(err, errlen, KILN_ERR_INVALID_ARGUMENT,
                           "class names: %d names for %d classes", n,
                           d->classes);
    for (int i = 0; i < n; i++)
        if (!names[i])
            return nn_data_err(err, errlen, KILN_ERR_INVALID_ARGUMENT,
                               "class names: name %d is NULL", i);
    /* Copy everything first so a failure leaves d's names as they were. */
    char **copy = calloc((size_t)n + 1, sizeof *copy);
    int ok = copy != NULL;
    for (int i = 0; ok && i < n; i++) {
        size_t len = strlen(names[i]) + 1;
        copy[i] = malloc(len);
        ok = copy[i] != NULL;
        if (ok)
            memcpy(copy[i], names[i], len);
    }
    if (!ok) {
        for (int i = 0; copy && i < n; i++)
            free(copy[i]);
        free(copy);
        return nn_data_err(err, errlen, KILN_ERR_OUT_OF_MEMORY,
                           "class names: out of memory");
    }
    for (int i = 0; i < d->nnames; i++)
        free(d->names[i]);
    free(d->names);
    d->names = n > 0 ? copy : NULL;
    d->nnames = n;
    if (n == 0)
        free(copy);
    return KILN_OK;
}

/* A dataset made from d's samples gets d's class names (or is freed). */
static kiln_dataset *with_names(kiln_dataset *part, const kiln_dataset *d,
                                char *err, size_t errlen)
{
    if (!part || d->nnames == 0)
        return part;
    if (kiln_dataset_set_class_names(part, d->nnames,
                                     (const char *const *)d->names, err,
                                     errlen) != KILN_OK) {
        kiln_dataset_free(part);
        return NULL;
    }
    return part;
}
const float *kiln_dataset_x(const kiln_dataset *d) { return d ? d->x : NULL; }
const void *kiln_dataset_y(const kiln_dataset *d) { return d ? d->y : NULL; }

/* Swap element by element so the shuffle needs no memory (and so cannot
 * fail: it returns void). */
static void swap_samples(kiln_dataset *d, int64_t a, int64_t b)
{
    float *xa = d->x + a * d->x_numel, *xb = d->x + b * d->x_numel;
    for (int64_t k = 0; k < d->x_numel; k++) {
        float t = xa[k];
        xa[k] = xb[k];
        xb[k] = t;
    }
    uint32_t *y = d->y; /* i32 and f32 are both moved as 4-byte words */
    uint32_t *ya = y + a * d->y_numel, *yb = y + b * d->y_numel;
    for (int64_t k = 0; k < d->y_numel; k++) {
        uint32_t t = ya[k];
        ya[k] = yb[k];
        yb[k] = t;
    }
}

void kiln_dataset_shuffle(kiln_dataset *d, uint64_t seed)
{
    if (!d)
        return;
    uint64_t state = seed;
    for (int64_t i = d->n - 1; i > 0; i--) {
        int64_t j = (int64_t)nn_rng_below(&state, (uint64_t)i + 1);
        if (j != i)
            swap_samples(d, i, j);
    }
}

void kiln_dataset_gather(const kiln_dataset *d, const int64_t *idx,
                         int64_t count, float *x_out, void *y_out)
{
    if (!d || (!idx && count > 0))
        return;
    size_t xs = (size_t)d->x_numel * sizeof(float);
    size_t ys = (size_t)d->y_numel * 4;
    for (int64_t i = 0; i < count; i++) {
        /* An index out of range is the caller's bug; zeros, not a crash. */
        int ok = idx[i] >= 0 && idx[i] < d->n;
        if (x_out) {
            float *dst = x_out + i * d->x_numel;
            if (ok)
                memcpy(dst, d->x + idx[i] * d->x_numel, xs);
            else
                memset(dst, 0, xs);
        }
        if (y_out) {
            char *dst = (char *)y_out + (size_t)i * ys;
            if (ok)
                memcpy(dst, (const char *)d->y + (size_t)idx[i] * ys, ys);
            else
                memset(dst, 0, ys);
        }
    }
}

/* A new dataset of the samples idx[0..count) of d. */
static kiln_dataset *take(const kiln_dataset *d, const int64_t *idx,
                          int64_t count, char *err, size_t errlen)
{
    float *x = malloc((size_t)(count * d->x_numel) * sizeof(float) + 1);
    void *y = malloc((size_t)(count * d->y_numel) * 4 + 1);
    if (!x || !y) {
        free(x);
        free(y);
        nn_data_err(err, errlen, KILN_ERR_OUT_OF_MEMORY,
                    "dataset: out of memory");
        return NULL;
    }
    kiln_dataset_gather(d, idx, count, x, y);
    return with_names(nn_dataset_adopt(count, d->x_rank, d->x_dims, x,
                                       d->y_dtype, d->y_rank, d->y_dims, y,
                                       err, errlen),
                      d, err, errlen);
}

kiln_dataset *kiln_dataset_slice(const kiln_dataset *d, int64_t start,
                                 int64_t count, char *err, size_t errlen)
{
    if (!d) {
        nn_data_err(err, errlen, KILN_ERR_INVALID_ARGUMENT,
                    "dataset slice: NULL dataset");
        return NULL;
    }
    if (start < 0 || count < 0 || start > d->n || count > d->n - start) {
        nn_data_err(err, errlen, KILN_ERR_INVALID_ARGUMENT,
                    "dataset slice: [%lld, %lld) is outside [0, %lld)",
                    (long long)start, (long long)(start + count),
                    (long long)d->n);
        return NULL;
    }
    int64_t xn = d->x_numel, yn = d->y_numel;
    kiln_dataset *part =
        kiln_dataset_new(count, d->x_rank, d->x_dims, d->x + start * xn,
                         d->y_dtype, d->y_rank, d->y_dims,
                         (const uint32_t *)d->y + start * yn, err, errlen);
    return with_names(part, d, err, errlen);
}

/* ------------------------------------------------------------------------ */
/* Split                                                                    */
/* ------------------------------------------------------------------------ */

/* How many samples of each class go to the second part: per class the
 * floor of fraction * n_c, then the samples still missing to reach `total`
 * go one each to the classes with the largest remainders (Hamilton's
 * method), so every class is split in the same proportion as closely as
 * integers allow and the total is exactly the requested one. */
static void class_quotas(const int64_t *count, int classes, double fraction,
                         int64_t total, int64_t *quota)
{
    int64_t given = 0;
    for (int c = 0; c < classes; c++) {
        quota[c] = (int64_t)floor(fraction * (double)count[c]);
        if (quota[c] > count[c])
            quota[c] = count[c];
        given += quota[c];
    }
    while (given < total) {
        int best = -1;
        double best_rem = -1.0;
        for (int c = 0; c < classes; c++) {
            if (quota[c] >= count[c])
                continue;
            double rem = fraction * (double)count[c] - (double)quota[c];
            if (rem > best_rem) {
                best_rem = rem;
                best = c;
            }
        }
        if (best < 0)
            break;
        quota[best]++;
        given++;
    }
}

/* Sorts the shuffled order perm[0..n) into second (first `k` in perm order
 * satisfying the quotas) and first (the rest), both keeping perm order. */
static kiln_status stratified_order(const kiln_dataset *d, const int64_t *perm,
                                    double fraction, int64_t k, int64_t *out1,
                                    int64_t *out2, char *err, size_t errlen)
{
    int64_t *count = calloc((size_t)d->classes + 1, 2 * sizeof *count);
    if (!count)
        return nn_data_err(err, errlen, KILN_ERR_OUT_OF_MEMORY,
                           "dataset split: out of memory");
    int64_t *quota = count + d->classes + 1;
    const int32_t *y = d->y;
    for (int64_t i = 0; i < d->n; i++)
        count[y[i]]++;
    class_quotas(count, d->classes, fraction, k, quota);
    int64_t n1 = 0, n2 = 0;
    for (int64_t i = 0; i < d->n; i++) {
        int32_t c = y[perm[i]];
        if (quota[c] > 0) {
            quota[c]--;
            out2[n2++] = perm[i];
        } else {
            out1[n1++] = perm[i];
        }
    }
    free(count);
    return KILN_OK;
}

kiln_status kiln_dataset_split(const kiln_dataset *d, double fraction,
                               uint64_t seed, int stratify,
                               kiln_dataset **first, kiln_dataset **second,
                               char *err, size_t errlen)
{
    if (!d || !first || !second)
        return nn_data_err(err, errlen, KILN_ERR_INVALID_ARGUMENT,
                           "dataset split: NULL argument");
    *first = *second = NULL;
    if (!(fraction >= 0.0 && fraction <= 1.0))
        return nn_data_err(err, errlen, KILN_ERR_INVALID_ARGUMENT,
                           "dataset split: fraction %g is not in [0, 1]",
                           fraction);
    if (stratify && d->y_dtype != KILN_I32)
        return nn_data_err(err, errlen, KILN_ERR_INVALID_ARGUMENT,
                           "dataset split: stratify needs class labels");
    int64_t n = d->n;
    int64_t k = (int64_t)floor(fraction * (double)n + 0.5);
    if (fraction > 0.0 && k < 1 && n > 0)
        k = 1;
    if (k > n)
        k = n;
    int64_t *perm = malloc((size_t)n * 3 * sizeof *perm + 1);
    if (!perm)
        return nn_data_err(err, errlen, KILN_ERR_OUT_OF_MEMORY,
                           "dataset split: out of memory");
    int64_t *out1 = perm + n, *out2 = perm + 2 * n;
    uint64_t state = seed;
    for (int64_t i = 0; i < n; i++)
        perm[i] = i;
    for (int64_t i = n - 1; i > 0; i--) {
        int64_t j = (int64_t)nn_rng_below(&state, (uint64_t)i + 1);
        int64_t t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
    kiln_status s = KILN_OK;
    if (stratify) {
        s = stratified_order(d, perm, fraction, k, out1, out2, err, errlen);
    } else {
        memcpy(out2, perm, (size_t)k * sizeof *perm);
        memcpy(out1, perm + k, (size_t)(n - k) * sizeof *perm);
    }
    if (s == KILN_OK) {
        *first = take(d, out1, n - k, err, errlen);
        *second = take(d, out2, k, err, errlen);
        if (!*first || !*second) {
            kiln_dataset_free(*first);
            kiln_dataset_free(*second);
            *first = *second = NULL;
            s = KILN_ERR_OUT_OF_MEMORY;
        }
    }
    free(perm);
    return s;
}

/* ------------------------------------------------------------------------ */
/* Standardisation                                                          */
/* ------------------------------------------------------------------------ */

static int same_x_shape(const kiln_dataset *a, const kiln_dataset *b)
{
    return a->x_rank == b->x_rank &&
           memcmp(a->x_dims, b->x_dims, (size_t)a->x_rank * sizeof(int64_t))
               == 0;
}

static void apply_scale(kiln_dataset *d, const double *mean,
                        const double *inv_std)
{
    for (int64_t i = 0; i < d->n; i++) {
        float *row = d->x + i * d->x_numel;
        for (int64_t f = 0; f < d->x_numel; f++)
            row[f] = (float)(((double)row[f] - mean[f]) * inv_std[f]);
    }
}

kiln_status kiln_dataset_standardize(kiln_dataset *fit, int nothers,
                                     kiln_dataset *const *others, char *err,
                                     size_t errlen)
{
    if (!fit || nothers < 0 || (nothers > 0 && !others))
        return nn_data_err(err, errlen, KILN_ERR_INVALID_ARGUMENT,
                           "standardize: NULL argument");
    if (fit->n < 1)
        return nn_data_err(err, errlen, KILN_ERR_INVALID_ARGUMENT,
                           "standardize: the fit dataset is empty");
    for (int i = 0; i < nothers; i++)
        if (!others[i] || !same_x_shape(fit, others[i]))
            return nn_data_err(err, errlen, KILN_ERR_SHAPE,
                               "standardize: dataset %d is NULL or its "
                               "sample shape differs from fit's", i);
    int64_t m = fit->x_numel;
    double *mean = calloc((size_t)m * 2, sizeof *mean);
    if (!mean)
        return nn_data_err(err, errlen, KILN_ERR_OUT_OF_MEMORY,
                           "standardize: out of memory");
    double *inv_std = mean + m;
    for (int64_t i = 0; i < fit->n; i++)
        for (int64_t f = 0; f < m; f++)
            mean[f] += fit->x[i * m + f];
    for (int64_t f = 0; f < m; f++)
        mean[f] /= (double)fit->n;
    /* Two passes (mean first) so large offsets do not cancel. */
    for (int64_t i = 0; i < fit->n; i++)
        for (int64_t f = 0; f < m; f++) {
            double dv = fit->x[i * m + f] - mean[f];
            inv_std[f] += dv * dv;
        }
    for (int64_t f = 0; f < m; f++) {
        double sd = sqrt(inv_std[f] / (double)fit->n);
        inv_std[f] = sd > 0.0 ? 1.0 / sd : 1.0;
    }
    apply_scale(fit, mean, inv_std);
    for (int i = 0; i < nothers; i++)
        if (others[i] != fit)
            apply_scale(others[i], mean, inv_std);
    free(mean);
    return KILN_OK;
}
