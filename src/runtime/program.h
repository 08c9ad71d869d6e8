/*
 * program.h — a compiled program as the runtime sees it: named bindings
 * (inputs, params, outputs) holding host bytes, and a backend that runs.
 * No compiler part and no LLVM here: the runtime only moves bytes and
 * calls the backend.
 */
#ifndef KILN_RUNTIME_PROGRAM_H
#define KILN_RUNTIME_PROGRAM_H

#include <stdbool.h>

#include "kiln.h"

typedef struct rt_binding {
    char kind;     /* 'i' input, 'p' param, 'o' output */
    char *name;
    kiln_dtype dtype;
    int rank;
    int64_t dims[KILN_MAX_RANK];
    uint32_t node; /* index of the node in the backend's graph */
    void *data;    /* host bytes, nbytes long */
    size_t nbytes;
    bool set;      /* inputs: bound since creation */
    bool direct;   /* outputs: the backend writes data itself (no copy) */
} rt_binding;

typedef struct rt_backend {
    const char *name;
    kiln_status (*run)(kiln_program *p);
    void (*destroy)(kiln_program *p);
    /* Optional, for a backend whose params live away from their bindings
     * (the GPU): make binding b's bytes current before kiln_get_param
     * reads them, and hear that kiln_set_param overwrote them. */
    kiln_status (*param_fetch)(kiln_program *p, rt_binding *b);
    void (*param_changed)(kiln_program *p, rt_binding *b);
} rt_backend;

struct kiln_program {
    kiln_allocator alloc;
    char error[512];
    rt_binding *binds;
    int nbinds;
    const rt_backend *backend;
    void *impl;
    kiln_compile_stats stats; /* filled by the driver and the backend */
};

kiln_program *rt_program_new(const kiln_allocator *a);
/* Append a binding with a zeroed buffer; false when out of memory. */
bool rt_program_bind(kiln_program *p, char kind, const char *name,
                     kiln_dtype t, int rank, const int64_t *dims,
                     uint32_t node);
rt_binding *rt_find(kiln_program *p, char kind, const char *name);
/* Milliseconds on a monotonic clock, for compile statistics. */
double rt_now_ms(void);
kiln_status rt_fail(kiln_program *p, kiln_status s, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
