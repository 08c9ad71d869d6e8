/* bench_report.c — `kiln bench`'s output: a table for people, JSON for
 * scripts, the same numbers in both. */
#include <stdio.h>

#include "bench.h"

static const char bytes_note[] =
    "every input, param and output binding once; intermediates are not "
    "counted, so this is a lower bound";

static double gb_per_s(double bytes, double ms)
{
    return ms > 0 ? bytes / (ms * 1e6) : 0;
}

static void row_table(const bench_variant *v, const char *name, int runs)
{
    double total = 0;
    printf("\nper kernel, %s (each kernel called alone on one thread, "
           "median of %d):\n",
           name, runs);
    printf("  %4s  %-6s  %-28s  %-20s  %12s  %10s  %8s  %8s\n", "k", "kind",
           "computes", "domain", "bytes", "time ms", "GB/s", "GFLOP/s");
    for (int i = 0; i < v->nrows; i++) {
        const bench_row *r = &v->rows[i];
        printf("  %4d  %-6s  %-28.28s  %-20.20s  %12lld  %10.4f  %8.2f  ", i,
               r->kind, r->computes, r->domain, (long long)r->bytes, r->ms,
               gb_per_s((double)r->bytes, r->ms));
        if (r->flops > 0 && r->ms > 0)
            printf("%8.2f\n", r->flops / (r->ms * 1e6));
        else
            printf("%8s\n", "-");
        total += r->ms;
    }
    printf("  sum of kernel times: %.4f ms\n", total);
}

void bench_print_table(const bench_report *r)
{
    const bench_variant *f = &r->v[0], *u = &r->v[1];
    char threads[32];
    if (r->threads)
        snprintf(threads, sizeof threads, "%d", r->threads);
    else
        snprintf(threads, sizeof threads, "one per core");
    printf("kiln bench %s: backend %s, threads %s, seed %llu, %d runs each "
           "after a warm-up, interleaved\n\n",
           r->file, r->backend, threads, (unsigned long long)r->seed, r->runs);
    printf("%-24s %14s %14s\n", "", "fused", "unfused");
    printf("%-24s %14.4f %14.4f\n", "median time per run ms", f->median_ms,
           u->median_ms);
    printf("%-24s %14d %14d\n", "kernels launched", f->stats.kernels,
           u->stats.kernels);
    printf("%-24s %14lld %14lld\n", "arena bytes",
           (long long)f->stats.arena_bytes, (long long)u->stats.arena_bytes);
    printf("%-24s %14zu %14zu\n", "bytes moved (estimate)", r->bytes_moved,
           r->bytes_moved);
    printf("%-24s %14.3f %14.3f\n", "GB/s", gb_per_s((double)r->bytes_moved,
                                                     f->median_ms),
           gb_per_s((double)r->bytes_moved, u->median_ms));
    if (r->flops > 0)
        printf("%-24s %14.3f %14.3f\n", "GFLOP/s (matmuls)",
               f->median_ms > 0 ? r->flops / (f->median_ms * 1e6) : 0,
               u->median_ms > 0 ? r->flops / (u->median_ms * 1e6) : 0);
    if (f->device_ms > 0) {
        printf("%-24s %14.4f %14.4f\n", "device ms (kernels)", f->device_ms,
               u->device_ms);
        printf("%-24s %14.3f %14.3f\n", "device GB/s",
               gb_per_s((double)r->bytes_moved, f->device_ms),
               gb_per_s((double)r->bytes_moved, u->device_ms));
    }
    printf("%-24s %14.3f %14.3f\n", "compile ms", f->stats.total_ms,
           u->stats.total_ms);
    printf("speed-up of fused: %.3fx (unfused median / fused median)\n",
           f->median_ms > 0 ? u->median_ms / f->median_ms : 0);
    printf("bytes moved: %s.\n", bytes_note);
    if (f->rows)
        row_table(f, "fused", r->runs);
    if (u->rows)
        row_table(u, "unfused", r->runs);
}

static void json_string(const char *s)
{
    putchar('"');
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            printf("\\%c", c);
        else if (c < 0x20)
            printf("\\u%04x", c);
        else
            putchar(c);
    }
    putchar('"');
}

static void json_rows(const bench_variant *v)
{
    printf(",\n    \"per_kernel\": [");
    for (int i = 0; i < v->nrows; i++) {
        const bench_row *r = &v->rows[i];
        printf("%s\n      {\"kernel\": %d, \"kind\": ", i ? "," : "", i);
        json_string(r->kind);
        printf(", \"computes\": ");
        json_string(r->computes);
        printf(", \"domain\": ");
        json_string(r->domain);
        printf(", \"bytes\": %lld, \"ms\": %.6g, \"gb_per_s\": %.6g, "
               "\"gflop_per_s\": %.6g}",
               (long long)r->bytes, r->ms, gb_per_s((double)r->bytes, r->ms),
               r->flops > 0 && r->ms > 0 ? r->flops / (r->ms * 1e6) : 0.0);
    }
    printf("\n    ]");
}

static void json_variant(const bench_report *r, const bench_variant *v)
{
    printf("{\n    \"median_ms\": %.6g,\n    \"times_ms\": [", v->median_ms);
    for (int i = 0; i < r->runs; i++)
        printf("%s%.6g", i ? ", " : "", v->times_ms[i]);
    printf("],\n    \"kernels\": %d,\n    \"arena_bytes\": %lld,\n"
           "    \"compile_ms\": %.6g,\n    \"gb_per_s\": %.6g,\n"
           "    \"gflop_per_s\": %.6g",
           v->stats.kernels, (long long)v->stats.arena_bytes,
           v->stats.total_ms, gb_per_s((double)r->bytes_moved, v->median_ms),
           v->median_ms > 0 ? r->flops / (v->median_ms * 1e6) : 0.0);
    if (v->device_ms > 0)
        printf(",\n    \"device_ms\": %.6g", v->device_ms);
    if (v->rows)
        json_rows(v);
    printf("\n  }");
}

void bench_print_json(const bench_report *r)
{
    const bench_variant *f = &r->v[0], *u = &r->v[1];
    printf("{\n  \"file\": ");
    json_string(r->file);
    printf(",\n  \"backend\": ");
    json_string(r->backend);
    printf(",\n  \"threads\": %d,\n  \"seed\": %llu,\n  \"runs\": %d,\n"
           "  \"matmul_flops\": %.17g,\n"
           "  \"bytes_moved\": %zu,\n  \"bytes_moved_note\": ",
           r->threads, (unsigned long long)r->seed, r->runs, r->flops,
           r->bytes_moved);
    json_string(bytes_note);
    printf(",\n  \"fused\": ");
    json_variant(r, f);
    printf(",\n  \"unfused\": ");
    json_variant(r, u);
    printf(",\n  \"speedup\": %.6g\n}\n",
           f->median_ms > 0 ? u->median_ms / f->median_ms : 0.0);
}
