/* bench.h — `kiln bench`'s parts: per-kernel rows (bench_kernels.c) and
 * the report (bench_report.c). */
#ifndef KILN_TOOLS_BENCH_H
#define KILN_TOOLS_BENCH_H

#include "cli.h"

/* One kernel of a lowered program, timed alone. */
typedef struct bench_row {
    const char *kind;      /* map, reduce, matmul, row */
    char computes[96];     /* the node it computes: "op 'name'" or "op #i" */
    char domain[96];       /* loop domain "[a,b]" */
    int64_t bytes;         /* every buffer it touches, once */
    double flops;          /* matmul: 2 * M * N * K * batch; else 0 */
    double ms;             /* median time of one call */
} bench_row;

/* Lower g as the CPU backend does (fused or not), JIT the kernels and
 * call each one directly on one thread, `runs` times after a warm-up,
 * over seeded inputs and initialised params.  *rows (malloc'd, *n of
 * them) on CLI_OK; else CLI_USER with a message. */
int bench_kernel_rows(const char *cmd, const kiln_graph *g, bool fuse,
                      int runs, uint64_t seed, bench_row **rows, int *n);

/* What one variant (fused or unfused) measured. */
typedef struct bench_variant {
    double *times_ms; /* runs entries, in the order run */
    double median_ms;
    double device_ms; /* cuda: the kernels alone, on device events; else 0 */
    kiln_compile_stats stats;
    bench_row *rows;  /* --per-kernel, else NULL */
    int nrows;
} bench_variant;

typedef struct bench_report {
    const char *file, *backend;
    int threads, runs;
    uint64_t seed;
    size_t bytes_moved; /* inputs + params + outputs, each once */
    double flops;       /* of the matmuls: 2 * M * N * K * batch each */
    bench_variant v[2]; /* [0] fused, [1] unfused */
} bench_report;

void bench_print_table(const bench_report *r);
void bench_print_json(const bench_report *r);

#endif
