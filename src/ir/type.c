/* type.c — dtypes and shapes: sizes, element counts, broadcasting, text. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "ir.h"

static const char *const dtype_names[KILN_DTYPE_COUNT] = {"f32", "f64", "i32",
                                                          "bool"};
static const size_t dtype_sizes[KILN_DTYPE_COUNT] = {4, 8, 4, 1};

bool ir_dtype_valid(kiln_dtype t) { return (unsigned)t < KILN_DTYPE_COUNT; }

const char *kiln_dtype_name(kiln_dtype t)
{
    return ir_dtype_valid(t) ? dtype_names[t] : "?";
}

size_t kiln_dtype_size(kiln_dtype t)
{
    return ir_dtype_valid(t) ? dtype_sizes[t] : 0;
}

bool ir_dtype_is_float(kiln_dtype t) { return t == KILN_F32 || t == KILN_F64; }

bool ir_dtype_is_numeric(kiln_dtype t)
{
    return t == KILN_F32 || t == KILN_F64 || t == KILN_I32;
}

int64_t ir_numel(const ir_type *t)
{
    int64_t n = 1;
    for (int i = 0; i < t->rank; i++)
        n *= t->dims[i];
    return n;
}

bool ir_type_equal(const ir_type *a, const ir_type *b)
{
    if (a->dtype != b->dtype || a->rank != b->rank)
        return false;
    for (int i = 0; i < a->rank; i++)
        if (a->dims[i] != b->dims[i])
            return false;
    return true;
}

char *ir_type_str(const ir_type *t, char *buf, size_t len)
{
    size_t used = 0;
    int k = snprintf(buf, len, "%s[", kiln_dtype_name(t->dtype));
    used = k > 0 ? (size_t)k : 0;
    for (int i = 0; i < t->rank && used < len; i++) {
        k = snprintf(buf + used, len - used, "%s%lld", i ? "," : "",
                     (long long)t->dims[i]);
        used += k > 0 ? (size_t)k : 0;
    }
    if (used < len)
        snprintf(buf + used, len - used, "]");
    return buf;
}

bool ir_check_shape(kiln_graph *g, const char *what, int rank,
                    const int64_t *dims)
{
    if (rank < 0 || rank > KILN_MAX_RANK)
        return ir_error(g, KILN_ERR_SHAPE, "%s: rank %d is out of range 0..%d",
                        what, rank, KILN_MAX_RANK);
    if (rank > 0 && !dims)
        return ir_error(g, KILN_ERR_INVALID_ARGUMENT, "%s: dims is NULL",
                        what);
    int64_t n = 1;
    for (int i = 0; i < rank; i++) {
        if (dims[i] < 1)
            return ir_error(g, KILN_ERR_SHAPE,
                            "%s: dim %d is %lld; dims must be >= 1", what, i,
                            (long long)dims[i]);
        if (dims[i] > IR_MAX_NUMEL || n > IR_MAX_NUMEL / dims[i])
            return ir_error(g, KILN_ERR_SHAPE,
                            "%s: too many elements (more than 2^40)", what);
        n *= dims[i];
    }
    return true;
}

bool ir_broadcast_shapes(const ir_type *a, const ir_type *b, ir_type *out)
{
    int r = a->rank > b->rank ? a->rank : b->rank;
    ir_type o = {a->dtype, r, {0}};
    for (int i = 0; i < r; i++) {
        int ia = i - (r - a->rank), ib = i - (r - b->rank);
        int64_t da = ia >= 0 ? a->dims[ia] : 1;
        int64_t db = ib >= 0 ? b->dims[ib] : 1;
        if (da != db && da != 1 && db != 1)
            return false;
        o.dims[i] = da == 1 ? db : da;
    }
    *out = o;
    return true;
}

double ir_round_to(kiln_dtype t, double v)
{
    switch (t) {
    case KILN_F32: return (double)(float)v;
    case KILN_F64: return v;
    case KILN_I32: {
        /* Conversions into i32: truncate toward zero, saturate, NaN -> 0. */
        if (isnan(v))
            return 0;
        if (v >= 2147483647.0)
            return 2147483647.0;
        if (v <= -2147483648.0)
            return -2147483648.0;
        return trunc(v);
    }
    case KILN_BOOL: return v != 0 ? 1 : 0;
    default: return v;
    }
}
