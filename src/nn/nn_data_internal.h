/*
 * nn_data_internal.h — helpers shared by the kiln_data.h files (datasets,
 * readers, checkpoints, plots).  Not part of the public API.
 */
#ifndef NN_DATA_INTERNAL_H
#define NN_DATA_INTERNAL_H

#include <stdarg.h>
#include <stdio.h>

#include "kiln_data.h"

/* Format a message into err (when there is room) and return s, so an error
 * path is one line: `return nn_data_err(err, errlen, KILN_ERR_IO, ...)`. */
#if defined(__GNUC__)
__attribute__((format(printf, 4, 5)))
#endif
static inline kiln_status nn_data_err(char *err, size_t errlen, kiln_status s,
                                      const char *fmt, ...)
{
    if (err && errlen > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return s;
}

/* A dataset taking ownership of x and y (malloc'ed; freed on failure too),
 * so readers of large files do not copy their buffers.  Checks as
 * kiln_dataset_new does. */
kiln_dataset *nn_dataset_adopt(int64_t n, int x_rank, const int64_t *x_dims,
                               float *x, kiln_dtype y_dtype, int y_rank,
                               const int64_t *y_dims, void *y, char *err,
                               size_t errlen);

/* splitmix64: a tiny seeded generator; shuffles only need it to be
 * deterministic per seed and well mixed. */
static inline uint64_t nn_rng_next(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Uniform in [0, bound) without modulo bias (rejection of the short top
 * range).  bound >= 1. */
static inline uint64_t nn_rng_below(uint64_t *state, uint64_t bound)
{
    uint64_t limit = UINT64_MAX - UINT64_MAX % bound;
    uint64_t r;
    do {
        r = nn_rng_next(state);
    } while (r >= limit);
    return r % bound;
}

/* JSON subset for safetensors headers (nn_json.c). */
typedef enum nn_json_kind {
    NN_JSON_NULL,
    NN_JSON_BOOL,
    NN_JSON_INT,
    NN_JSON_STRING,
    NN_JSON_ARRAY,
    NN_JSON_OBJECT
} nn_json_kind;

typedef struct nn_json nn_json;
struct nn_json {
    nn_json_kind kind;
    int64_t ival;     /* INT, BOOL                                   */
    char *str;        /* STRING: NUL-terminated (no NUL inside)      */
    size_t len;       /* STRING: bytes; ARRAY/OBJECT: members        */
    char **keys;      /* OBJECT: member names                        */
    nn_json **items;  /* ARRAY/OBJECT: members                       */
};

#define NN_JSON_MAX_DEPTH 16

/* Parse exactly `len` bytes (trailing spaces allowed) into a tree; NULL with
 * "offset N: ..." in err on malformed input.  Numbers must be integers
 * (safetensors needs no others); duplicate object keys are rejected. */
nn_json *nn_json_parse(const char *text, size_t len, char *err, size_t errlen);
void nn_json_free(nn_json *v);
/* The member named key of an object, or NULL. */
const nn_json *nn_json_get(const nn_json *obj, const char *key);

#endif /* NN_DATA_INTERNAL_H */
