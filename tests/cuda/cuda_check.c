/*
 * cuda_check.c — reference run, CUDA emission, NVRTC + ptxas, host
 * emulation (see cuda_check.h).
 */
#include "cuda_check.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "codegen_cuda/cuda_codegen.h"
#include "cuda_tools.h"
#include "emu/emu_host.h"
#include "passes/passes.h"

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

double cc_get(kiln_dtype t, const void *bytes, size_t i)
{
    switch (t) {
    case KILN_F32: return ((const float *)bytes)[i];
    case KILN_F64: return ((const double *)bytes)[i];
    case KILN_I32: return ((const int32_t *)bytes)[i];
    default: return ((const uint8_t *)bytes)[i];
    }
}

double cc_ulp(kiln_dtype t, double x)
{
    x = fabs(x);
    if (t == KILN_F32) {
        float f = (float)x;
        if (f < FLT_MIN)
            return ldexp(1, -149);
        return (double)nextafterf(f, INFINITY) - (double)f;
    }
    if (x < DBL_MIN)
        return ldexp(1, -1074);
    return nextafter(x, INFINITY) - x;
}

void cc_index_text(const kiln_binding *b, size_t i, char *buf, size_t len)
{
    int64_t idx[KILN_MAX_RANK];
    for (int d = b->rank - 1; d >= 0; d--) {
        idx[d] = (int64_t)i % b->dims[d];
        i /= (size_t)b->dims[d];
    }
    size_t n = (size_t)snprintf(buf, len, "[");
    for (int d = 0; d < b->rank && n < len; d++)
        n += (size_t)snprintf(buf + n, len - n, "%s%lld", d ? "," : "", (long long)idx[d]);
    if (n < len)
        snprintf(buf + n, len - n, "]");
}

void cc_values_free(cc_values *v)
{
    for (int i = 0; i < v->n; i++) {
        free(v->ref[i]);
        free(v->got[i]);
    }
    memset(v, 0, sizeof *v);
}

static size_t binding_bytes(const kiln_binding *b)
{
    size_t n = kiln_dtype_size(b->dtype);
    for (int d = 0; d < b->rank; d++)
        n *= (size_t)b->dims[d];
    return n;
}

/* The reference program: compiled, fed, params set; the values of every
 * param before the run go to `initial` (same order as v). */
static kiln_program *reference(kiln_graph *g, const cc_feed *feeds, int nfeeds,
                               cc_values *v, void **initial, char *msg, size_t len)
{
    kiln_program *p = kiln_compile(g, &(kiln_compile_options){.backend = KILN_BACKEND_REF});
    if (!p) {
        snprintf(msg, len, "reference: compile: %s", kiln_graph_error(g));
        return NULL;
    }
    kiln_status s = KILN_OK;
    for (int i = 0; i < nfeeds && s == KILN_OK; i++)
        s = feeds[i].kind == 'i'
                ? kiln_set_input(p, feeds[i].name, feeds[i].data, feeds[i].nbytes)
                : kiln_set_param(p, feeds[i].name, feeds[i].data, feeds[i].nbytes);
    int nb = kiln_program_binding_count(p);
    for (int i = 0; i < nb && s == KILN_OK; i++) {
        kiln_binding b;
        if (kiln_program_binding(p, i, &b) != KILN_OK || b.kind == 'i')
            continue;
        if (v->n == CC_MAX_VALUES) {
            snprintf(msg, len, "test: more than %d outputs and params", CC_MAX_VALUES);
            kiln_program_free(p);
            return NULL;
        }
        int k = v->n++;
        v->b[k] = b;
        snprintf(v->name[k], sizeof v->name[k], "%s", b.name);
        v->b[k].name = v->name[k];
        v->bytes[k] = binding_bytes(&b);
        v->ref[k] = calloc(1, v->bytes[k] + 1);
        v->got[k] = calloc(1, v->bytes[k] + 1);
        initial[k] = calloc(1, v->bytes[k] + 1);
        if (b.kind == 'p')
            s = kiln_get_param(p, b.name, initial[k], v->bytes[k]);
    }
    if (s == KILN_OK)
        s = kiln_run(p);
    for (int k = 0; k < v->n && s == KILN_OK; k++)
        s = v->b[k].kind == 'o' ? kiln_get_output(p, v->b[k].name, v->ref[k], v->bytes[k])
                                : kiln_get_param(p, v->b[k].name, v->ref[k], v->bytes[k]);
    if (s != KILN_OK) {
        snprintf(msg, len, "reference: %s", kiln_program_error(p));
        kiln_program_free(p);
        return NULL;
    }
    return p;
}

static const cc_feed *find_feed(const cc_feed *feeds, int nfeeds, char kind, const char *name)
{
    for (int i = 0; i < nfeeds; i++)
        if (feeds[i].kind == kind && strcmp(feeds[i].name, name) == 0)
            return &feeds[i];
    return NULL;
}

/* Inputs from the feeds, params from their values before the run. */
static bool fill_sources(const k_program *kp, emu_buffers *eb, const cc_feed *feeds,
                         int nfeeds, const cc_values *v, void *const *initial,
                         char *msg, size_t len)
{
    for (uint32_t b = 0; b < kp->nbuf; b++) {
        const k_buffer *kb = &kp->buf[b];
        if (kb->kind != KB_INPUT && kb->kind != KB_PARAM)
            continue;
        const char *name = kp->g->nodes[kb->node].name;
        size_t n = emu_buffer_bytes(kp, b);
        const void *data = NULL;
        if (kb->kind == KB_INPUT) {
            const cc_feed *f = find_feed(feeds, nfeeds, 'i', name);
            data = f && f->nbytes == n ? f->data : NULL;
        }
        for (int k = 0; k < v->n && kb->kind == KB_PARAM; k++)
            if (v->b[k].kind == 'p' && strcmp(v->b[k].name, name) == 0 && v->bytes[k] == n)
                data = initial[k];
        if (!data) {
            snprintf(msg, len, "test: no data of %zu bytes for %s '%s'", n,
                     kb->kind == KB_INPUT ? "input" : "param", name);
            return false;
        }
        memcpy(eb->kb[b], data, n);
    }
    return true;
}

/* The buffer holding output `name` or param `name` of kp. */
static int value_buffer(const k_program *kp, const kiln_binding *b)
{
    if (b->kind == 'o') {
        for (int o = 0; o < kp->noutputs; o++)
            if (strcmp(kp->outputs[o].name, b->name) == 0)
                return (int)kp->outputs[o].buf;
        return -1;
    }
    for (uint32_t i = 0; i < kp->nbuf; i++)
        if (kp->buf[i].kind == KB_PARAM && strcmp(kp->g->nodes[kp->buf[i].node].name, b->name) == 0)
            return (int)i;
    return -1;
}

static bool take(const k_program *kp, const emu_buffers *eb, cc_values *v, char kind,
                 char *msg, size_t len)
{
    for (int k = 0; k < v->n; k++) {
        if (v->b[k].kind != kind)
            continue;
        int b = value_buffer(kp, &v->b[k]);
        if (b < 0 || emu_buffer_bytes(kp, (unsigned)b) != v->bytes[k]) {
            snprintf(msg, len, "test: no buffer of the right size for '%s'", v->b[k].name);
            return false;
        }
        memcpy(v->got[k], eb->kb[b], v->bytes[k]);
    }
    return true;
}

static bool toolkit(const char *text, cc_stats *st, char *msg, size_t len)
{
#ifdef KILN_HAVE_CUDA
    ct_times t = {0, 0, 0};
    char err[6000];
    bool ok = ct_nvrtc_ptxas_timed(text, &t, err, sizeof err);
    st->nvrtc_ms += t.nvrtc_ms;
    st->ptxas_ms += t.ptxas_ms;
    if (!ok)
        snprintf(msg, len, "%s", err);
    return ok;
#else
    (void)text;
    (void)msg;
    (void)len;
    st->toolkit_skipped = true;
    return true;
#endif
}

static const char *variant(const cc_item *it) { return it->fuse ? "fused" : "unfused"; }

/* Reference values, lowering and emission of one item. */
static bool prepare(cc_item *it, cc_stats *st, char *msg, size_t len)
{
    memset(&it->v, 0, sizeof it->v);
    for (size_t i = 0; i < kiln_graph_node_count(it->g); i++)
        st->seen[it->g->nodes[i].op] = true;
    kiln_program *ref = reference(it->g, it->feeds, it->nfeeds, &it->v, it->initial, msg, len);
    if (!ref)
        return false;
    kiln_program_free(ref);
    char err[400];
    it->kp = pass_lower_program(it->g, it->fuse, err, sizeof err);
    if (!it->kp) {
        snprintf(msg, len, "lower (%s): %s", variant(it), err);
        return false;
    }
    cuda_source *cs = calloc(1, sizeof *cs);
    it->cs = cs;
    double t0 = now_ms();
    cuda_emit_options o = {90, 0};
    if (!cs || !cuda_emit(it->kp, &o, cs)) {
        snprintf(msg, len, "cuda_emit (%s): %s", variant(it), kiln_graph_error(it->kp->g));
        return false;
    }
    st->emit_ms += now_ms() - t0;
    st->kernels += it->kp->nk;
    st->programs++;
    return true;
}

static void release(cc_item *it)
{
    if (it->cs && it->kp)
        cuda_source_free(it->kp, it->cs);
    free(it->cs);
    k_program_free(it->kp);
    for (int k = 0; k < CC_MAX_VALUES; k++)
        free(it->initial[k]);
    memset(it->initial, 0, sizeof it->initial);
    it->cs = NULL;
    it->kp = NULL;
}

/* Run item j of a built module over fresh buffers; take its values. */
static bool emulate(emu_module *m, cc_item *it, int j, cc_stats *st, char *msg, size_t len)
{
    double t0 = now_ms();
    const k_program *kp = it->kp;
    emu_buffers eb;
    char err[2000];
    bool ok = emu_buffers_new(&eb, kp);
    if (!ok)
        snprintf(msg, len, "test: out of memory");
    ok = ok && fill_sources(kp, &eb, it->feeds, it->nfeeds, &it->v, it->initial, msg, len);
    if (ok && !emu_run_kernels(m, kp, it->cs, j, &eb, err, sizeof err)) {
        snprintf(msg, len, "%s (%s)", err, variant(it));
        ok = false;
    }
    ok = ok && take(kp, &eb, &it->v, 'o', msg, len);
    if (ok && !emu_apply_copies(kp, &eb, err, sizeof err)) {
        snprintf(msg, len, "%s", err);
        ok = false;
    }
    ok = ok && take(kp, &eb, &it->v, 'p', msg, len);
    emu_buffers_free(&eb);
    st->emu_ms += now_ms() - t0;
    return ok;
}

/* A stage failed on the whole batch: find the first program that fails
 * it alone, so the message names one graph. */
static void blame(cc_item *items, int n, bool host, char *msg, size_t len)
{
    for (int j = 0; j < n; j++) {
        char *text = NULL, err[6000];
        size_t tl = 0;
        cc_stats scratch;
        memset(&scratch, 0, sizeof scratch);
        const cuda_source *cs = items[j].cs;
        bool ok = emu_batch_source(&text, &tl, cs->text, j);
        emu_module m;
        ok = ok && (host ? emu_build(&m, text, err, sizeof err)
                         : toolkit(text, &scratch, err, sizeof err));
        if (host)
            emu_close(&m);
        if (!ok) {
            snprintf(msg, len, "program %d of the batch (%s): %s", j, variant(&items[j]), err);
            if (getenv("KILN_CUDA_SHOW_SOURCE"))
                printf("---- generated source ----\n%s\n----\n", text ? text : "");
            free(text);
            return;
        }
        free(text);
    }
}

bool cc_run_batch(cc_item *items, int n, cc_stats *st, char *msg, size_t len)
{
    bool ok = true;
    char *text = NULL;
    size_t tl = 0;
    for (int j = 0; j < n && ok; j++)
        ok = prepare(&items[j], st, msg, len) &&
             emu_batch_source(&text, &tl, ((cuda_source *)items[j].cs)->text, j);
    if (ok && !toolkit(text, st, msg, len)) {
        blame(items, n, false, msg, len);
        ok = false;
    }
    emu_module m;
    memset(&m, 0, sizeof m);
    char err[6000];
    if (ok && !emu_build(&m, text, err, sizeof err)) {
        snprintf(msg, len, "%s", err);
        blame(items, n, true, msg, len);
        ok = false;
    }
    st->host_cc_ms += m.compile_ms;
    for (int j = 0; j < n && ok; j++) {
        ok = emulate(&m, &items[j], j, st, msg, len);
        if (!ok && getenv("KILN_CUDA_SHOW_SOURCE"))
            printf("---- generated source ----\n%s\n----\n",
                   ((cuda_source *)items[j].cs)->text);
    }
    emu_close(&m);
    free(text);
    for (int j = 0; j < n; j++)
        release(&items[j]);
    return ok;
}

bool cc_run(kiln_graph *g, const cc_feed *feeds, int nfeeds, bool fuse, cc_stats *st,
            cc_values *v, char *msg, size_t len)
{
    cc_item it;
    memset(&it, 0, sizeof it);
    it.g = g;
    it.feeds = feeds;
    it.nfeeds = nfeeds;
    it.fuse = fuse;
    bool ok = cc_run_batch(&it, 1, st, msg, len);
    *v = it.v;
    for (int k = 0; k < v->n; k++)
        v->b[k].name = v->name[k]; /* it.v's names were its own */
    if (!ok)
        cc_values_free(v);
    return ok;
}

void cc_stats_print(const char *what, const cc_stats *st)
{
    printf("%s: %d programs, %d kernels; emit %.0f ms, NVRTC %.0f ms, ptxas %.0f ms, "
           "host c++ %.0f ms, emulation %.0f ms%s\n",
           what, st->programs, st->kernels, st->emit_ms, st->nvrtc_ms, st->ptxas_ms,
           st->host_cc_ms, st->emu_ms,
           st->toolkit_skipped ? "; NVRTC/ptxas SKIPPED (built without the CUDA toolkit)" : "");
    if (st->worst > 0)
        printf("%s: largest error / allowed: %.3g (%s)\n", what, st->worst, st->worst_where);
}
