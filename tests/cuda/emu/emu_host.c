/*
 * emu_host.c — compiling generated CUDA C for the host and running it
 * through cuda_emu.h (see emu_host.h).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "emu_host.h"

#include <ctype.h>
#include <dlfcn.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#ifndef EMU_DIR
#error "EMU_DIR (the directory of cuda_emu.h) must be defined by the build"
#endif
#ifndef EMU_CXX
#define EMU_CXX "c++"
#endif

#define EMU_GUARD 64
#define EMU_GUARD_BYTE 0xA5

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static bool write_file(const char *path, const char *text, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return false;
    bool ok = fwrite(text, 1, len, f) == len;
    return fclose(f) == 0 && ok;
}

static void read_tail(const char *path, char *out, size_t len)
{
    FILE *f = fopen(path, "rb");
    size_t n = 0;
    if (f) {
        n = fread(out, 1, len - 1, f);
        fclose(f);
    }
    out[n] = '\0';
}

/* Copy src, turning each dynamic shared array `extern __shared__ T
 * name[];` into a pointer to the shim's per-block buffer, `T *name =
 * (decltype(name))emu_dyn_smem;` (a static local cannot be extern; this
 * also works inside the namespaces of a batch). */
static char *rewrite_dynamic_shared(const char *src)
{
    static const char key[] = "extern __shared__";
    size_t n = strlen(src);
    char *out = malloc(2 * n + 1); /* each rewrite at most doubles its text */
    if (!out)
        return NULL;
    size_t o = 0;
    for (const char *p = src; *p;) {
        const char *br = strncmp(p, key, sizeof key - 1) == 0 ? strchr(p, '[') : NULL;
        const char *close = br ? strchr(br, ']') : NULL;
        if (!close) {
            out[o++] = *p++;
            continue;
        }
        const char *t = p + sizeof key - 1, *e = br;
        while (e > t && isspace((unsigned char)e[-1]))
            e--;
        const char *b = e;
        while (b > t && (isalnum((unsigned char)b[-1]) || b[-1] == '_'))
            b--;
        o += (size_t)sprintf(out + o, "%.*s*%.*s = (decltype(%.*s))emu_dyn_smem", (int)(b - t),
                             t, (int)(e - b), b, (int)(e - b), b);
        p = close + 1;
    }
    out[o] = '\0';
    return out;
}

bool emu_build(emu_module *m, const char *src, char *err, size_t errlen)
{
    memset(m, 0, sizeof *m);
    double t0 = now_ms();
    snprintf(m->dir, sizeof m->dir, "/tmp/kiln-emu-XXXXXX");
    if (!mkdtemp(m->dir)) {
        snprintf(err, errlen, "emu: cannot create a temp dir");
        m->dir[0] = '\0';
        return false;
    }
    char *text = rewrite_dynamic_shared(src);
    char path[128], so[128], log[128], cmd[1024];
    snprintf(path, sizeof path, "%s/k.cu", m->dir);
    snprintf(so, sizeof so, "%s/k.so", m->dir);
    snprintf(log, sizeof log, "%s/log", m->dir);
    if (!text || !write_file(path, text, strlen(text))) {
        free(text);
        snprintf(err, errlen, "emu: cannot write %s", path);
        return false;
    }
    free(text);
    /* -ffp-contract=off: the reference rounds every operation, and so
     * does the generated code's source; -w: the shim compiles CUDA idioms
     * the host compiler has opinions about. */
    snprintf(cmd, sizeof cmd,
             "%s -x c++ -std=gnu++17 -O1 -fPIC -shared -ffp-contract=off -w "
             "-I%s -include cuda_emu.h -o %s %s > %s 2>&1",
             EMU_CXX, EMU_DIR, so, path, log);
    if (system(cmd) != 0) {
        char out[1500];
        read_tail(log, out, sizeof out);
        snprintf(err, errlen, "emu: host compile failed (%s):\n%s", path, out);
        return false;
    }
    m->dl = dlopen(so, RTLD_NOW | RTLD_LOCAL);
    if (!m->dl) {
        snprintf(err, errlen, "emu: dlopen: %s", dlerror());
        return false;
    }
    *(void **)&m->launch = dlsym(m->dl, "emu_launch");
    *(void **)&m->release = dlsym(m->dl, "emu_release");
    if (!m->launch || !m->release) {
        snprintf(err, errlen, "emu: the module lacks emu_launch/emu_release");
        return false;
    }
    m->compile_ms = now_ms() - t0;
    return true;
}

void emu_close(emu_module *m)
{
    if (m->dl) {
        if (m->release)
            m->release();
        dlclose(m->dl);
    }
    if (m->dir[0]) {
        static const char *files[] = {"k.cu", "k.so", "log"};
        for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
            char p[128];
            snprintf(p, sizeof p, "%s/%s", m->dir, files[i]);
            unlink(p);
        }
        rmdir(m->dir);
    }
    memset(m, 0, sizeof *m);
}

bool emu_launch_named(emu_module *m, const cuda_kernel_info *ki, void *const *kb,
                      char *err, size_t errlen)
{
    void (*fn)(void *const *);
    *(void **)&fn = dlsym(m->dl, ki->name);
    if (!fn) {
        snprintf(err, errlen, "emu: no kernel '%s' in the module", ki->name);
        return false;
    }
    char why[256] = "";
    if (m->launch(fn, ki->grid, ki->block, ki->shared_bytes, kb, why, sizeof why)) {
        snprintf(err, errlen, "emu: %s<<<(%u,%u,%u), (%u,%u,%u), %u>>>: %s", ki->name,
                 ki->grid[0], ki->grid[1], ki->grid[2], ki->block[0], ki->block[1],
                 ki->block[2], ki->shared_bytes, why);
        return false;
    }
    return true;
}

/* ---- buffers ---------------------------------------------------------- */

size_t emu_buffer_bytes(const k_program *kp, unsigned b)
{
    return (size_t)kp->buf[b].numel * kiln_dtype_size(kp->buf[b].dtype);
}

static unsigned char *guarded(size_t bytes, int fill)
{
    /* 64-byte aligned like cudaMalloc's 256 (enough for float4 loads) */
    unsigned char *p = aligned_alloc(64, (bytes + EMU_GUARD + 63) / 64 * 64);
    if (p) {
        memset(p, fill, bytes);
        memset(p + bytes, EMU_GUARD_BYTE, EMU_GUARD);
    }
    return p;
}

bool emu_buffers_new(emu_buffers *eb, const k_program *kp)
{
    memset(eb, 0, sizeof *eb);
    eb->nbuf = (int)kp->nbuf;
    eb->kb = calloc(kp->nbuf + 1, sizeof *eb->kb);
    eb->raw = calloc(kp->nbuf + 1, sizeof *eb->raw);
    eb->bytes = calloc(kp->nbuf + 1, sizeof *eb->bytes);
    if (!eb->kb || !eb->raw || !eb->bytes)
        return false;
    eb->bytes[kp->nbuf] = (size_t)kp->arena_bytes;
    eb->raw[kp->nbuf] = guarded((size_t)kp->arena_bytes, 0xff);
    if (!eb->raw[kp->nbuf])
        return false;
    for (uint32_t b = 0; b < kp->nbuf; b++) {
        const k_buffer *kb = &kp->buf[b];
        if (kb->kind == KB_TEMP) {
            eb->kb[b] = eb->raw[kp->nbuf] + kb->offset;
            continue;
        }
        eb->bytes[b] = emu_buffer_bytes(kp, b);
        eb->raw[b] = guarded(eb->bytes[b], 0);
        if (!eb->raw[b])
            return false;
        if (kb->kind == KB_CONST && kb->data)
            memcpy(eb->raw[b], kb->data, eb->bytes[b]);
        eb->kb[b] = eb->raw[b];
    }
    return true;
}

void emu_buffers_free(emu_buffers *eb)
{
    if (eb->raw)
        for (int b = 0; b <= eb->nbuf; b++)
            free(eb->raw[b]);
    free(eb->raw);
    free(eb->kb);
    free(eb->bytes);
    memset(eb, 0, sizeof *eb);
}

/* The first buffer (nbuf: the arena) whose guard zone was written, or -1. */
static int broken_guard(const emu_buffers *eb)
{
    for (int b = 0; b <= eb->nbuf; b++) {
        if (!eb->raw[b])
            continue;
        for (int i = 0; i < EMU_GUARD; i++)
            if (eb->raw[b][eb->bytes[b] + i] != EMU_GUARD_BYTE)
                return b;
    }
    return -1;
}

bool emu_apply_copies(const k_program *kp, emu_buffers *eb, char *err, size_t errlen)
{
    size_t total = 1;
    for (int i = 0; i < kp->ncopies; i++) /* in_place: the kernel stored it */
        if (!kp->copies[i].in_place)
            total += emu_buffer_bytes(kp, kp->copies[i].src);
    unsigned char *stage = malloc(total), *s = stage;
    if (!stage) {
        snprintf(err, errlen, "emu: out of memory");
        return false;
    }
    for (int i = 0; i < kp->ncopies; i++) {
        if (kp->copies[i].in_place)
            continue;
        size_t n = emu_buffer_bytes(kp, kp->copies[i].src);
        memcpy(s, eb->kb[kp->copies[i].src], n);
        s += n;
    }
    s = stage;
    for (int i = 0; i < kp->ncopies; i++) {
        if (kp->copies[i].in_place)
            continue;
        size_t n = emu_buffer_bytes(kp, kp->copies[i].dst);
        memcpy(eb->kb[kp->copies[i].dst], s, n);
        s += n;
    }
    free(stage);
    return true;
}

bool emu_run_kernels(emu_module *m, const k_program *kp, const cuda_source *cs,
                     int prog, emu_buffers *eb, char *err, size_t errlen)
{
    if (cs->nk != kp->nk) {
        snprintf(err, errlen, "emu: the source has %d kernels, the program %d",
                 cs->nk, kp->nk);
        return false;
    }
    for (int i = 0; i < kp->nk; i++) {
        cuda_kernel_info ki = cs->k[i];
        if (prog >= 0)
            snprintf(ki.name, sizeof ki.name, "kiln_p%d_k%d", prog, i);
        if (!emu_launch_named(m, &ki, eb->kb, err, errlen))
            return false;
        int b = broken_guard(eb);
        if (b >= 0) {
            snprintf(err, errlen, "emu: %s wrote past the end of %s %d", cs->k[i].name,
                     b == eb->nbuf ? "the arena" : "buffer", b);
            return false;
        }
    }
    return true;
}

static bool append(char **text, size_t *len, size_t *cap, const char *s, size_t n)
{
    if (*len + n + 1 > *cap) {
        size_t c = (*len + n + 1) * 2;
        char *t = realloc(*text, c);
        if (!t)
            return false;
        *text = t;
        *cap = c;
    }
    memcpy(*text + *len, s, n);
    *len += n;
    (*text)[*len] = '\0';
    return true;
}

bool emu_batch_source(char **text, size_t *len, const char *src, int prog)
{
    size_t cap = *text ? *len + 1 : 0;
    char head[64];
    int n = snprintf(head, sizeof head, "namespace kiln_p%d {\n", prog);
    bool ok = append(text, len, &cap, head, (size_t)n);
    for (const char *p = src; ok && *p;) {
        /* kiln_k<digits> as a whole identifier: a kernel name */
        bool start = p == src || !(isalnum((unsigned char)p[-1]) || p[-1] == '_');
        if (start && strncmp(p, "kiln_k", 6) == 0 && isdigit((unsigned char)p[6])) {
            const char *e = p + 6;
            while (isdigit((unsigned char)*e))
                e++;
            if (!(isalnum((unsigned char)*e) || *e == '_')) {
                n = snprintf(head, sizeof head, "kiln_p%d_k%.*s", prog, (int)(e - p - 6), p + 6);
                ok = append(text, len, &cap, head, (size_t)n);
                p = e;
                continue;
            }
        }
        const char *q = p + 1;
        while (*q && *q != 'k')
            q++;
        ok = append(text, len, &cap, p, (size_t)(q - p));
        p = q;
    }
    n = snprintf(head, sizeof head, "\n} /* namespace kiln_p%d */\n", prog);
    return ok && append(text, len, &cap, head, (size_t)n);
}
