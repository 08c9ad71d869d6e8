/*
 * cli.h — the `kiln` command-line tool: one file per command family
 * (cmd_text.c: check, print; cmd_run.c: run; cmd_grad.c: grad;
 * cmd_aot.c: compile; cmd_fusion.c: explain, dot; cmd_bench.c: bench),
 * shared helpers in cli_util.c (messages, files, options), run_data.c
 * (input data, summaries), dump.c (--dump-after), bind.c (binding a
 * program's inputs) and bench_kernels.c (per-kernel timing).
 *
 * Exit codes: CLI_OK, CLI_USER (bad input: a message on stderr, parse
 * errors as file:line:col), CLI_USAGE (unknown command or flag, missing
 * argument).
 */
#ifndef KILN_TOOLS_CLI_H
#define KILN_TOOLS_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kiln.h"

enum { CLI_OK = 0, CLI_USER = 1, CLI_USAGE = 2 };

/* A command gets argv after its name. */
int cli_check(int argc, char **argv);
int cli_print(int argc, char **argv);
int cli_run(int argc, char **argv);
int cli_grad(int argc, char **argv);
int cli_compile(int argc, char **argv);
int cli_explain(int argc, char **argv);
int cli_dot(int argc, char **argv);
int cli_bench(int argc, char **argv);

/* Help texts, printed to stdout by `kiln help` and `kiln CMD --help`. */
extern const char cli_check_help[], cli_print_help[], cli_run_help[],
    cli_grad_help[], cli_compile_help[], cli_explain_help[], cli_dot_help[],
    cli_bench_help[];

/* ---- cli_util.c ---------------------------------------------------- */
/* "kiln CMD: message" on stderr; returns code. */
int cli_fail(int code, const char *cmd, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* "kiln CMD: message\nusage: USAGE" on stderr; returns CLI_USAGE. */
int cli_usage(const char *cmd, const char *usage, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int cli_is_help(const char *arg);

/* "--opt VALUE" or "--opt=VALUE" at argv[*i]: the value, advancing *i
 * past a separate value; NULL if argv[*i] is not opt.  *missing is set
 * when opt is there but its value is not. */
const char *cli_option(const char *opt, int argc, char **argv, int *i,
                       int *missing);
/* Decimal integers without sign, in [lo, hi]; false if not one. */
bool cli_parse_u64(const char *s, uint64_t *out);
bool cli_parse_int(const char *s, int lo, int hi, int *out);
/* "ref", "cpu" or "cuda"; false for anything else. */
bool cli_parse_backend(const char *s, kiln_backend *out);

/* The whole file ("-": stdin), NUL-terminated; NULL with a message on
 * stderr. */
char *cli_read_file(const char *cmd, const char *path, size_t *len);
/* Parse a file; NULL after printing "file:line:col: message". */
kiln_graph *cli_load_graph(const char *cmd, const char *path);
/* The single FILE argument of a command taking no flags, or NULL after
 * a usage message. */
const char *cli_one_file(const char *cmd, const char *usage, int argc,
                         char **argv);
/* Write text to path ("-": stdout); CLI_OK or CLI_USER with a message. */
int cli_write_text(const char *cmd, const char *path, const char *text);

/* ---- dump.c: --dump-after=PASS[,PASS...]|all ---------------------- */
/* Is spec a valid list?  Else a usage message for cmd. */
int cli_dump_check(const char *cmd, const char *usage, const char *spec);
/* Run the compiler's graph pipeline on a copy of g (decompose, then
 * every simplification pass; kernel lowering when asked) and print the
 * IR after each pass named in spec to stderr.  spec NULL: nothing.
 * CLI_OK, or CLI_USER when a pass fails. */
int cli_dump_after(const char *cmd, const kiln_graph *g, const char *spec,
                   bool fuse);

/* ---- bind.c: a program's inputs ------------------------------------ */
/* At most this many --input NAME=FILE options. */
#define CLI_MAX_INPUT_FILES 256
/* Bind "NAME=FILE" specs (raw little-endian values, exact size), then
 * seeded random values (cli_random_fill) for every other input.
 * CLI_OK or CLI_USER with a message for cmd. */
int cli_bind_inputs(const char *cmd, kiln_program *p, char **specs, int n,
                    uint64_t seed);
/* Sum of the bytes of every binding of kind ('i', 'p', 'o'). */
size_t cli_binding_bytes(const kiln_program *p, char kind);

/* ---- run_data.c ---------------------------------------------------- */
size_t cli_numel(const kiln_binding *b);
/* Seeded values for an input: floating uniform [-1, 1), i32 uniform in
 * [0, 4), bool 0/1.  The stream depends on (seed, input name) only. */
void cli_random_fill(const kiln_binding *b, uint64_t seed, void *data);
/* Native <-> little-endian byte order, in place. */
void cli_to_little_endian(const kiln_binding *b, void *data);
/* "name: f32[2,3] [v0, v1, ...] sum=S fnv1a64=H" for an output in native
 * order; the hash is over its little-endian bytes. */
void cli_print_summary(const kiln_binding *b, const void *data);
uint64_t cli_fnv1a64(const void *data, size_t n);
/* Milliseconds on a monotonic clock. */
double cli_now_ms(void);
/* Median of n values (sorts them in place); 0 for n == 0. */
double cli_median(double *v, int n);

#endif
