/* harness.c — see harness.h. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

const char *kiln_bin, *cc_cmd;
int cpu_built;
char dir[256];

static void slurp(const char *path, char *buf, size_t cap)
{
    FILE *f = fopen(path, "rb");
    size_t n = f ? fread(buf, 1, cap - 1, f) : 0;
    buf[n] = 0;
    if (f)
        fclose(f);
}

void kiln(result *r, const char *fmt, ...)
{
    char args[4096], cmd[8192], out[300], err[300];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    snprintf(out, sizeof out, "%s/stdout", dir);
    snprintf(err, sizeof err, "%s/stderr", dir);
    snprintf(cmd, sizeof cmd, "'%s' %s >'%s' 2>'%s'", kiln_bin, args, out,
             err);
    int status = system(cmd);
    assert_true(WIFEXITED(status));
    r->code = WEXITSTATUS(status);
    slurp(out, r->out, sizeof r->out);
    slurp(err, r->err, sizeof r->err);
}

int shell(const char *fmt, ...)
{
    char cmd[8192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    int status = system(cmd);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

void write_file(const char *name, const void *data, size_t n)
{
    char path[300];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, n, f), n);
    fclose(f);
}

void write_text(const char *name, const char *text)
{
    write_file(name, text, strlen(text));
}

void read_text(const char *name, char *buf, size_t cap)
{
    char path[300];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    slurp(path, buf, cap);
}

void expect(const result *r, int code, const char *in_out,
            const char *in_err)
{
    if (r->code != code || (in_out && !strstr(r->out, in_out)) ||
        (in_err && !strstr(r->err, in_err)))
        fail_msg("wanted exit %d, stdout with '%s', stderr with '%s'; got "
                 "exit %d\nstdout: %s\nstderr: %s",
                 code, in_out ? in_out : "", in_err ? in_err : "", r->code,
                 r->out, r->err);
}

int count(const char *haystack, const char *needle)
{
    int n = 0;
    for (const char *s = haystack; (s = strstr(s, needle)); s += strlen(needle))
        n++;
    return n;
}

uint64_t fnv(const void *p, size_t n)
{
    uint64_t h = 14695981039346656037ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ ((const unsigned char *)p)[i]) * 1099511628211ull;
    return h;
}

static void le(const void *values, int n, int size, unsigned char *out)
{
    for (int i = 0; i < n; i++) {
        uint64_t v = 0;
        if (size == 4) {
            uint32_t w;
            memcpy(&w, (const char *)values + 4 * i, 4);
            v = w;
        } else
            memcpy(&v, (const char *)values + 8 * i, 8);
        for (int j = 0; j < size; j++)
            out[size * i + j] = (unsigned char)(v >> (8 * j));
    }
}

void le32(const void *values, int n, unsigned char *out)
{
    le(values, n, 4, out);
}

void le64(const void *values, int n, unsigned char *out)
{
    le(values, n, 8, out);
}

int make_dir(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/kiln-cli-XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

int remove_dir(void **state)
{
    (void)state;
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

int harness_args(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: %s PATH-TO-kiln CPU-BUILT(0|1) CC\n",
                argv[0]);
        return 2;
    }
    kiln_bin = argv[1];
    cpu_built = strcmp(argv[2], "1") == 0;
    cc_cmd = argv[3];
    /* Where CUDA is built in, point the driver at nothing, so the "no
     * driver" path is tested the same way on machines with a GPU. */
    setenv("KILN_CUDA_DRIVER", "/nonexistent/libcuda.so.1", 1);
    return 0;
}
