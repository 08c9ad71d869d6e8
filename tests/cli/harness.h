/*
 * harness.h — running the `kiln` tool as a program from cmocka tests:
 * its exit code and output, scratch files in a temporary directory.
 * Include after <cmocka.h>.
 *
 * Every test program takes: PATH-TO-kiln CPU-BUILT(0|1) CC
 */
#ifndef KILN_TESTS_CLI_HARNESS_H
#define KILN_TESTS_CLI_HARNESS_H

#include <stddef.h>
#include <stdint.h>

extern const char *kiln_bin; /* the tool under test */
/* What `kiln run --backend cuda` says on a machine without a driver. */
#ifdef KILN_TEST_HAVE_CUDA
#define CUDA_MISSING "no CUDA driver found (/nonexistent/libcuda.so.1"
#else
#define CUDA_MISSING "backend 'cuda' is not built into this kiln"
#endif
extern int cpu_built;        /* 1: the CPU backend (LLVM) is built in */
extern const char *cc_cmd;   /* a C compiler for AOT tests */
extern char dir[256];        /* scratch directory of this program */

typedef struct result {
    int code;
    char out[1 << 16], err[1 << 16];
} result;

/* Run `kiln ARGS` (a shell fragment) and collect exit code and output. */
void kiln(result *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Run a shell command; its exit code. */
int shell(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void write_file(const char *name, const void *data, size_t n);
void write_text(const char *name, const char *text);
/* The contents of dir/name into buf (NUL-terminated). */
void read_text(const char *name, char *buf, size_t cap);
/* Fail unless exit code matches and stdout/stderr contain the strings
 * (NULL: anything). */
void expect(const result *r, int code, const char *in_out,
            const char *in_err);
/* Occurrences of needle in haystack. */
int count(const char *haystack, const char *needle);
/* FNV-1a 64, written out independently of the tool's. */
uint64_t fnv(const void *p, size_t n);
/* 32-bit and 64-bit values as little-endian bytes. */
void le32(const void *values, int n, unsigned char *out);
void le64(const void *values, int n, unsigned char *out);

/* cmocka group setup/teardown: make and remove dir. */
int make_dir(void **state);
int remove_dir(void **state);
/* Parse argv; 0, or 2 after a usage message. */
int harness_args(int argc, char **argv);

#endif
