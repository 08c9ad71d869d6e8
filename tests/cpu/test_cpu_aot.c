/*
 * test_cpu_aot.c — ahead-of-time compilation of a training step.
 *
 * The MLP step (cpu_mlp.h) with SGD and with Adam goes through
 * kiln_compile_aot into this build directory; aot_driver.c is compiled
 * against NAME.h and linked with NAME.o by plain `cc` ($CC when set), and:
 *   - `nm -u NAME.o` lists nothing but memcpy/memset (no libm, no kiln,
 *     no LLVM), and the object defines only NAME_* globals;
 *   - `ldd PROG` shows neither libkiln nor libLLVM;
 *   - ten steps of PROG give losses and final params BITWISE equal to the
 *     JIT (threads = 1) running the same graph, with params located
 *     through the NAME_PARAM_* offsets of the generated header;
 *   - NAME_run_parallel with a 2- and a 3-chunk parallel-for gives the
 *     same bits as NAME_run;
 *   - params assigned from other params (a 3-cycle sa <- sb <- sc <- sa,
 *     and lag <- ctr while ctr <- ctr + 1 is computed in the same step)
 *     read the values from before the step, in the JIT and in the object:
 *     after ten steps they hold the hand-computed values, bitwise the same
 *     in both.
 *   - on x86-64, y = x * 0.5 over f32[65536] compiled by default and with
 *     keep_denormals, run by aot_ftz_driver.c: the default object flushes
 *     a subnormal result and reads a subnormal input as 0, the other keeps
 *     both (2^-127, 2^-141), in NAME_run and in every NAME_task of
 *     NAME_run_parallel, and MXCSR's control bits are the caller's after
 *     every call and every task (also when the caller flushes already).
 * Skipped (cmocka skip) only when no C compiler runs (or, for the last, off
 * x86-64).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpu_help.h"
#include "cpu_mlp.h"

#ifndef CPU_AOT_DIR
#error "CPU_AOT_DIR (the build directory) must be defined"
#endif
#ifndef CPU_AOT_SOURCE
#error "CPU_AOT_SOURCE (tests/cpu) must be defined"
#endif

#define STEPS 10

static const char *cc_command(void)
{
    const char *cc = getenv("CC");
    return cc && *cc ? cc : "cc";
}

/* The whole stdout of a shell command (caller frees); NULL on failure. */
static char *capture(const char *cmd)
{
    FILE *f = popen(cmd, "r");
    if (!f)
        return NULL;
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    size_t got;
    while (buf && (got = fread(buf + len, 1, cap - len - 1, f)) > 0) {
        len += got;
        if (cap - len < 2) {
            char *more = realloc(buf, cap *= 2);
            if (!more) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = more;
        }
    }
    int rc = pclose(f);
    if (buf)
        buf[len] = 0;
    if (rc != 0) {
        free(buf);
        return NULL;
    }
    return buf;
}

static void *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    void *buf = malloc(size > 0 ? (size_t)size : 1);
    if (buf && size > 0 && fread(buf, (size_t)size, 1, f) != 1) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    *n = (size_t)size;
    return buf;
}

/* Every undefined symbol is memcpy or memset; every global the object
 * defines is NAME_something. */
static void check_symbols(const char *obj, const char *name)
{
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "nm -u '%s'", obj);
    char *out = capture(cmd);
    if (!out)
        fail_msg("cannot run: %s", cmd);
    for (char *line = strtok(out, "\n"); line; line = strtok(NULL, "\n")) {
        char sym[256] = "";
        if (sscanf(line, " U %255s", sym) != 1 && sscanf(line, " %255s", sym) != 1)
            continue;
        if (strcmp(sym, "memcpy") != 0 && strcmp(sym, "memset") != 0)
            fail_msg("%s needs '%s' (only memcpy/memset allowed)", obj, sym);
    }
    free(out);
    snprintf(cmd, sizeof cmd, "nm -g --defined-only '%s'", obj);
    out = capture(cmd);
    if (!out)
        fail_msg("cannot run: %s", cmd);
    int exported = 0;
    for (char *line = strtok(out, "\n"); line; line = strtok(NULL, "\n")) {
        char addr[64], kind[8], sym[256];
        if (sscanf(line, "%63s %7s %255s", addr, kind, sym) != 3)
            continue;
        if (strncmp(sym, name, strlen(name)) != 0 || sym[strlen(name)] != '_')
            fail_msg("%s exports '%s', outside the %s_ prefix", obj, sym, name);
        exported++;
    }
    free(out);
    assert_true(exported >= 5); /* run, run_parallel, init_params, two sizes */
}

static void check_ldd(const char *prog)
{
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "ldd '%s' 2>&1", prog);
    char *out = capture(cmd);
    if (!out)
        fail_msg("cannot run: %s", cmd);
    if (strstr(out, "libkiln") || strstr(out, "LLVM") || strstr(out, "llvm"))
        fail_msg("%s links kiln or LLVM:\n%s", prog, out);
    free(out);
}

/* The NAME_PARAM_<ident> offset of param `param` from the header text. */
static long param_offset(const char *header, const char *name, const char *param)
{
    char key[256];
    int n = snprintf(key, sizeof key, "#define ");
    for (const char *c = name; *c && n < 200; c++)
        key[n++] = (char)(*c >= 'a' && *c <= 'z' ? *c - 32 : *c);
    n += snprintf(key + n, sizeof key - (size_t)n, "_PARAM_");
    for (const char *c = param; *c && n < 250; c++)
        key[n++] = *c == '.' ? '_' : *c;
    key[n++] = ' ';
    key[n] = 0;
    const char *at = strstr(header, key);
    if (!at)
        fail_msg("header has no '%s'", key);
    return strtol(at + strlen(key), NULL, 10);
}

/* Ten JIT steps (threads = 1): losses and the program for its params. */
static kiln_program *jit_steps(kiln_graph *g, const float *x, const int32_t *labels,
                               float *losses, ch_stats *st)
{
    kiln_program *p = ch_compile(g, KILN_BACKEND_CPU, 1, st, "aot: jit");
    assert_int_equal(kiln_set_input(p, "x", x, CM_N * CM_D * sizeof *x), KILN_OK);
    assert_int_equal(kiln_set_input(p, "labels", labels, CM_N * sizeof *labels), KILN_OK);
    for (int s = 0; s < STEPS; s++) {
        ch_run(p);
        assert_int_equal(kiln_get_output(p, "loss", &losses[s], sizeof losses[s]), KILN_OK);
    }
    return p;
}

static void run_driver(const char *prog, const char *inputs, const char *out, int chunks)
{
    char cmd[1400];
    snprintf(cmd, sizeof cmd, "'%s' '%s' '%s' %d", prog, inputs, out, chunks);
    int rc = system(cmd);
    if (rc != 0)
        fail_msg("%s exited with %d", cmd, rc);
}

/* The driver's output (losses, then the params block) vs the JIT. */
static void compare_with_jit(const char *outfile, const char *header, const char *name,
                             kiln_program *p, const float *losses)
{
    size_t n = 0;
    unsigned char *got = slurp(outfile, &n);
    assert_non_null(got);
    assert_true(n >= sizeof(float) * STEPS);
    if (memcmp(got, losses, sizeof(float) * STEPS) != 0)
        fail_msg("%s: AOT losses differ from the JIT's", name);
    const unsigned char *params = got + sizeof(float) * STEPS;
    size_t psize = n - sizeof(float) * STEPS;
    ch_values v;
    ch_collect(p, 'p', &v);
    assert_true(v.n >= 4);
    for (int i = 0; i < v.n; i++) {
        long off = param_offset(header, name, v.name[i]);
        assert_true(off >= 0 && (size_t)off + v.nbytes[i] <= psize);
        if (memcmp(params + off, v.data[i], v.nbytes[i]) != 0)
            fail_msg("%s: param '%s' after %d steps differs from the JIT's", name,
                     v.name[i], STEPS);
    }
    ch_values_free(&v);
    free(got);
}

enum { PX = 3 }; /* elements of each extra param */

/* Params assigned from params (see the top comment). */
static void add_param_copies(kiln_graph *g)
{
    int64_t n = PX;
    kiln_node ctr = kiln_param(g, "ctr", KILN_F32, 1, &n, kiln_init_zeros());
    kiln_node lag = kiln_param(g, "lag", KILN_F32, 1, &n, kiln_init_constant(-1));
    kiln_node sa = kiln_param(g, "sa", KILN_F32, 1, &n, kiln_init_constant(1));
    kiln_node sb = kiln_param(g, "sb", KILN_F32, 1, &n, kiln_init_constant(2));
    kiln_node sc = kiln_param(g, "sc", KILN_F32, 1, &n, kiln_init_constant(3));
    kiln_assign(g, ctr, kiln_add(g, ctr, kiln_scalar(g, KILN_F32, 1)));
    kiln_assign(g, lag, ctr);
    kiln_assign(g, sa, sb);
    kiln_assign(g, sb, sc);
    kiln_assign(g, sc, sa);
    assert_int_equal(kiln_graph_status(g), KILN_OK);
}

/* After STEPS steps: ctr = STEPS, lag = STEPS - 1, and the cycle turned
 * STEPS times (10 = 1 mod 3: sa = 2, sb = 3, sc = 1). */
static void check_param_copies(kiln_program *p)
{
    static const struct { const char *name; float want; } v[] = {
        {"ctr", STEPS}, {"lag", STEPS - 1}, {"sa", 2}, {"sb", 3}, {"sc", 1}};
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        float got[PX];
        assert_int_equal(kiln_get_param(p, v[i].name, got, sizeof got), KILN_OK);
        for (int j = 0; j < PX; j++)
            if (got[j] != v[i].want)
                fail_msg("JIT: param '%s'[%d] is %g after %d steps, want %g", v[i].name, j,
                         got[j], STEPS, v[i].want);
    }
}

static void aot_case(ch_stats *st, cm_optimizer opt, bool copies, const char *name)
{
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "%s --version >/dev/null 2>&1", cc_command());
    if (system(cmd) != 0)
        skip();
    char path[1024], obj[1100], hdr[1100], prog[1100], in[1100], out1[1100], out2[1100];
    snprintf(path, sizeof path, "%s/%s", CPU_AOT_DIR, name);
    snprintf(obj, sizeof obj, "%s.o", path);
    snprintf(hdr, sizeof hdr, "%s.h", path);
    snprintf(prog, sizeof prog, "%s_prog", path);
    snprintf(in, sizeof in, "%s_inputs.bin", path);
    snprintf(out1, sizeof out1, "%s_out1.bin", path);
    snprintf(out2, sizeof out2, "%s_out2.bin", path);

    kiln_graph *g = kiln_graph_new();
    assert_non_null(g);
    cm_build(g, opt);
    if (copies)
        add_param_copies(g);
    kiln_aot_options o = {.name = name, .path = path};
    if (kiln_compile_aot(g, &o) != KILN_OK)
        fail_msg("compile_aot: %s", kiln_graph_error(g));
    check_symbols(obj, name);

    snprintf(cmd, sizeof cmd,
             "%s -std=c11 -Wall -Wextra -Werror -DAOT_NAME=%s '-DAOT_HEADER=\"%s.h\"' "
             "-I'%s' '%s/aot_driver.c' '%s' -o '%s'",
             cc_command(), name, name, CPU_AOT_DIR, CPU_AOT_SOURCE, obj, prog);
    if (system(cmd) != 0)
        fail_msg("cannot build the driver: %s", cmd);
    check_ldd(prog);

    static float x[CM_N * CM_D];
    static int32_t labels[CM_N];
    cm_data(x, labels);
    FILE *f = fopen(in, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(x, sizeof x, 1, f), 1);
    assert_int_equal(fwrite(labels, sizeof labels, 1, f), 1);
    assert_int_equal(fclose(f), 0);

    float losses[STEPS];
    kiln_program *p = jit_steps(g, x, labels, losses, st);
    if (copies)
        check_param_copies(p);
    size_t hn = 0;
    char *header = slurp(hdr, &hn);
    assert_non_null(header);
    header = realloc(header, hn + 1);
    assert_non_null(header);
    header[hn] = 0;

    run_driver(prog, in, out1, 1);
    compare_with_jit(out1, header, name, p, losses);
    for (int chunks = 2; chunks <= 3; chunks++) {
        run_driver(prog, in, out2, chunks);
        compare_with_jit(out2, header, name, p, losses);
    }
    free(header);
    kiln_program_free(p);
    kiln_graph_free(g);
}

#if defined(__x86_64__)
typedef struct ftz_line {
    char label[16];
    double y0, y1, ylast;
    int csr_kept, tasks, task_csr_kept;
} ftz_line;

/* Runs the ftz driver and parses its two lines (run, parallel). */
static void ftz_run(const char *prog, int caller_ftz, ftz_line out[2])
{
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "'%s' %d", prog, caller_ftz);
    char *text = capture(cmd);
    if (!text)
        fail_msg("cannot run: %s", cmd);
    const char *at = text;
    for (int i = 0; i < 2; i++) {
        char y[3][64];
        int used = 0;
        if (sscanf(at, "%15s %63s %63s %63s %d %d %d%n", out[i].label, y[0], y[1], y[2],
                   &out[i].csr_kept, &out[i].tasks, &out[i].task_csr_kept, &used) != 7)
            fail_msg("%s: unexpected output:\n%s", cmd, text);
        out[i].y0 = strtod(y[0], NULL);
        out[i].y1 = strtod(y[1], NULL);
        out[i].ylast = strtod(y[2], NULL);
        at += used;
    }
    assert_string_equal(out[0].label, "run");
    assert_string_equal(out[1].label, "parallel");
    free(text);
}

/* Builds the driver around y = x * 0.5 compiled with `keep` and checks
 * both kinds of call, with and without a caller that flushes already. */
static void ftz_case(int keep, const char *name)
{
    char path[1024], obj[1100], prog[1100], cmd[4096];
    snprintf(path, sizeof path, "%s/%s", CPU_AOT_DIR, name);
    snprintf(obj, sizeof obj, "%s.o", path);
    snprintf(prog, sizeof prog, "%s_prog", path);
    kiln_graph *g = kiln_graph_new();
    assert_non_null(g);
    kiln_node x = kiln_input(g, "x", KILN_F32, 1, (int64_t[]){65536});
    kiln_output(g, "y", kiln_mul(g, x, kiln_scalar(g, KILN_F32, 0.5)));
    kiln_aot_options o = {.name = name, .path = path, .keep_denormals = keep};
    if (kiln_compile_aot(g, &o) != KILN_OK)
        fail_msg("compile_aot: %s", kiln_graph_error(g));
    kiln_graph_free(g);
    check_symbols(obj, name);
    snprintf(cmd, sizeof cmd,
             "%s -std=c11 -Wall -Wextra -Werror -DAOT_NAME=%s '-DAOT_HEADER=\"%s.h\"' "
             "-I'%s' '%s/aot_ftz_driver.c' '%s' -o '%s'",
             cc_command(), name, name, CPU_AOT_DIR, CPU_AOT_SOURCE, obj, prog);
    if (system(cmd) != 0)
        fail_msg("cannot build the driver: %s", cmd);

    for (int caller_ftz = 0; caller_ftz <= 1; caller_ftz++) {
        ftz_line r[2];
        ftz_run(prog, caller_ftz, r);
        for (int i = 0; i < 2; i++) {
            if (!r[i].csr_kept || !r[i].task_csr_kept)
                fail_msg("%s %s (caller ftz %d): MXCSR control bits changed", name,
                         r[i].label, caller_ftz);
            assert_true(r[i].ylast == 0x1p-121);
            /* keep_denormals leaves each thread's mode alone: the caller's
             * FTZ|DAZ in NAME_run, none in the driver's tasks */
            bool flushed = !keep || (caller_ftz && i == 0);
            if (flushed) {
                if (r[i].y0 != 0 || r[i].y1 != 0)
                    fail_msg("%s %s (caller ftz %d): y0 %a, y1 %a, want 0 (flushed)", name,
                             r[i].label, caller_ftz, r[i].y0, r[i].y1);
            } else if (r[i].y0 != 0x1p-127 || r[i].y1 != 0x1p-141) {
                fail_msg("%s %s: y0 %a, y1 %a, want 0x1p-127, 0x1p-141 (kept)", name,
                         r[i].label, r[i].y0, r[i].y1);
            }
        }
        assert_int_equal(r[0].tasks, 0);
        assert_int_equal(r[1].tasks, 2); /* the flush inside NAME_task is tested */
    }
}
#endif

static void test_aot_denormals(void **state)
{
    (void)state;
#if defined(__x86_64__)
    char cmd[256];
    snprintf(cmd, sizeof cmd, "%s --version >/dev/null 2>&1", cc_command());
    if (system(cmd) != 0)
        skip();
    ftz_case(0, "kiln_aot_ftz");
    ftz_case(1, "kiln_aot_keep");
#else
    skip(); /* the driver reads MXCSR */
#endif
}

static void test_aot_mlp_sgd(void **state) { aot_case(*state, CM_SGD, false, "kiln_aot_sgd"); }
static void test_aot_mlp_adam(void **state) { aot_case(*state, CM_ADAM, false, "kiln_aot_adam"); }
static void test_aot_param_copies(void **state)
{
    aot_case(*state, CM_SGD, true, "kiln_aot_copies");
}

int main(void)
{
    ch_stats stats;
    memset(&stats, 0, sizeof stats);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_prestate(test_aot_mlp_sgd, &stats),
        cmocka_unit_test_prestate(test_aot_mlp_adam, &stats),
        cmocka_unit_test_prestate(test_aot_param_copies, &stats),
        cmocka_unit_test(test_aot_denormals),
    };
    int failures = cmocka_run_group_tests_name("cpu_aot", tests, NULL, NULL);
    ch_stats_print("cpu_aot", &stats);
    return failures;
}
