/*
 * cuda_check.h — one graph through the reference evaluator (the oracle)
 * and through the CUDA code generator: lower (fused or not), emit CUDA C,
 * compile it with NVRTC for compute_90 and ptxas for sm_90 (with the
 * toolkit), compile it for the host with the emulation shim, run it over
 * host buffers, and hand back every output and param of both, for the
 * caller to compare with its tolerances.
 */
#ifndef KILN_TESTS_CUDA_CHECK_H
#define KILN_TESTS_CUDA_CHECK_H

#include <stdbool.h>
#include <stddef.h>

#include "kiln.h"
#include "ir/ir.h"

#define CC_MAX_VALUES 96

/* Bytes for input (kind 'i') or param (kind 'p', set before the run). */
typedef struct cc_feed {
    char kind;
    const char *name;
    const void *data;
    size_t nbytes;
} cc_feed;

/* Every output and param binding of the reference program, in binding
 * order: the reference's value and the emulated one. */
typedef struct cc_values {
    int n;
    kiln_binding b[CC_MAX_VALUES]; /* b[k].name points into name[k] */
    char name[CC_MAX_VALUES][KILN_MAX_NAME];
    size_t bytes[CC_MAX_VALUES];
    void *ref[CC_MAX_VALUES], *got[CC_MAX_VALUES];
} cc_values;

typedef struct cc_stats {
    int programs, kernels;
    double emit_ms, nvrtc_ms, ptxas_ms, host_cc_ms, emu_ms;
    bool toolkit_skipped;      /* NVRTC/ptxas parts skipped (no toolkit) */
    bool seen[IR_OP_COUNT];    /* ops of the graphs checked              */
    double worst;              /* largest |diff| / allowed seen          */
    char worst_where[160];
} cc_stats;

/* One program of a batch: the graph (verified, not modified), its feeds,
 * fused or not; v receives the values (free with cc_values_free). */
typedef struct cc_item {
    kiln_graph *g;
    const cc_feed *feeds;
    int nfeeds;
    bool fuse;
    cc_values v;
    /* private to cc_run_batch */
    void *initial[CC_MAX_VALUES];
    struct k_program *kp;
    void *cs;
} cc_item;

/* Run every item on the reference and through CUDA emulation, all
 * programs in one translation unit (one NVRTC, one ptxas and one host
 * compile for the batch).  Any stage's failure (emit, NVRTC, ptxas,
 * host compile, a kernel) returns false with the item, the stage and its
 * message in msg; with KILN_CUDA_SHOW_SOURCE set the failing source is
 * printed.  On success every item's v holds its values; free every v
 * with cc_values_free either way. */
bool cc_run_batch(cc_item *items, int n, cc_stats *st, char *msg, size_t len);
/* The same for one graph. */
bool cc_run(kiln_graph *g, const cc_feed *feeds, int nfeeds, bool fuse, cc_stats *st,
            cc_values *v, char *msg, size_t len);
void cc_values_free(cc_values *v);

/* Element i of typed bytes as a double (exact for every dtype). */
double cc_get(kiln_dtype t, const void *bytes, size_t i);
/* Spacing of t's values at |x| (the smallest subnormal at 0). */
double cc_ulp(kiln_dtype t, double x);
/* "[i0,i1,..]" for flat index i of binding b. */
void cc_index_text(const kiln_binding *b, size_t i, char *buf, size_t len);

/* Print the stats as the suite's report. */
void cc_stats_print(const char *what, const cc_stats *st);

#endif
