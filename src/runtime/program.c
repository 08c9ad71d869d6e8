/* program.c — bindings of a compiled program and the public run API.
 * Every byte count is checked against the binding's dtype and shape. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "program.h"

kiln_status rt_fail(kiln_program *p, kiln_status s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->error, sizeof p->error, fmt, ap);
    va_end(ap);
    return s;
}

kiln_program *rt_program_new(const kiln_allocator *a)
{
    kiln_program *p = a->malloc(sizeof *p, a->user);
    if (!p)
        return NULL;
    memset(p, 0, sizeof *p);
    p->alloc = *a;
    return p;
}

static void *rt_alloc(kiln_program *p, size_t n)
{
    return p->alloc.malloc(n ? n : 1, p->alloc.user);
}

bool rt_program_bind(kiln_program *p, char kind, const char *name,
                     kiln_dtype t, int rank, const int64_t *dims,
                     uint32_t node)
{
    rt_binding *b = p->alloc.realloc(p->binds, (size_t)(p->nbinds + 1) *
                                                   sizeof *b,
                                     p->alloc.user);
    if (!b)
        return false;
    p->binds = b;
    rt_binding *nb = &b[p->nbinds];
    memset(nb, 0, sizeof *nb);
    size_t numel = 1;
    for (int i = 0; i < rank; i++) {
        nb->dims[i] = dims[i];
        numel *= (size_t)dims[i];
    }
    nb->kind = kind;
    nb->dtype = t;
    nb->rank = rank;
    nb->node = node;
    nb->nbytes = numel * kiln_dtype_size(t);
    size_t len = strlen(name) + 1;
    nb->name = rt_alloc(p, len);
    nb->data = rt_alloc(p, nb->nbytes);
    if (!nb->name || !nb->data) {
        p->alloc.free(nb->name, p->alloc.user);
        p->alloc.free(nb->data, p->alloc.user);
        return false;
    }
    memcpy(nb->name, name, len);
    memset(nb->data, 0, nb->nbytes);
    p->nbinds++;
    return true;
}

rt_binding *rt_find(kiln_program *p, char kind, const char *name)
{
    for (int i = 0; i < p->nbinds; i++)
        if (p->binds[i].kind == kind && strcmp(p->binds[i].name, name) == 0)
            return &p->binds[i];
    return NULL;
}

void kiln_program_free(kiln_program *p)
{
    if (!p)
        return;
    if (p->backend && p->backend->destroy)
        p->backend->destroy(p);
    for (int i = 0; i < p->nbinds; i++) {
        p->alloc.free(p->binds[i].name, p->alloc.user);
        p->alloc.free(p->binds[i].data, p->alloc.user);
    }
    p->alloc.free(p->binds, p->alloc.user);
    p->alloc.free(p, p->alloc.user);
}

const char *kiln_program_error(const kiln_program *p)
{
    return p ? p->error : "program is NULL";
}

static const char *kind_name(char kind)
{
    return kind == 'i' ? "input" : kind == 'p' ? "param" : "output";
}

/* Look up a binding and check the caller's buffer against it. */
static rt_binding *checked(kiln_program *p, char kind, const char *name,
                           const void *data, size_t nbytes, kiln_status *s)
{
    *s = KILN_ERR_INVALID_ARGUMENT;
    if (!name || !data) {
        rt_fail(p, *s, "%s: name or data is NULL", kind_name(kind));
        return NULL;
    }
    rt_binding *b = rt_find(p, kind, name);
    if (!b) {
        *s = rt_fail(p, KILN_ERR_NAME, "no %s named '%.80s'", kind_name(kind),
                     name);
        return NULL;
    }
    if (nbytes != b->nbytes) {
        char dims[160] = "";
        size_t used = 0;
        for (int i = 0; i < b->rank && used < sizeof dims; i++)
            used += (size_t)snprintf(dims + used, sizeof dims - used, "%s%lld",
                                     i ? "," : "", (long long)b->dims[i]);
        *s = rt_fail(p, KILN_ERR_SHAPE,
                     "%s '%s' is %s[%s], %zu bytes; got %zu bytes",
                     kind_name(kind), name, kiln_dtype_name(b->dtype), dims,
                     b->nbytes, nbytes);
        return NULL;
    }
    *s = KILN_OK;
    return b;
}

kiln_status kiln_set_input(kiln_program *p, const char *name, const void *data,
                           size_t nbytes)
{
    kiln_status s;
    if (!p)
        return KILN_ERR_INVALID_ARGUMENT;
    rt_binding *b = checked(p, 'i', name, data, nbytes, &s);
    if (!b)
        return s;
    memcpy(b->data, data, nbytes);
    b->set = true;
    return KILN_OK;
}

kiln_status kiln_get_output(kiln_program *p, const char *name, void *data,
                            size_t nbytes)
{
    kiln_status s;
    if (!p)
        return KILN_ERR_INVALID_ARGUMENT;
    rt_binding *b = checked(p, 'o', name, data, nbytes, &s);
    if (!b)
        return s;
    memcpy(data, b->data, nbytes);
    return KILN_OK;
}

kiln_status kiln_get_param(kiln_program *p, const char *name, void *data,
                           size_t nbytes)
{
    kiln_status s;
    if (!p)
        return KILN_ERR_INVALID_ARGUMENT;
    rt_binding *b = checked(p, 'p', name, data, nbytes, &s);
    if (!b)
        return s;
    if (p->backend && p->backend->param_fetch &&
        (s = p->backend->param_fetch(p, b)) != KILN_OK)
        return s;
    memcpy(data, b->data, nbytes);
    return KILN_OK;
}

kiln_status kiln_set_param(kiln_program *p, const char *name, const void *data,
                           size_t nbytes)
{
    kiln_status s;
    if (!p)
        return KILN_ERR_INVALID_ARGUMENT;
    rt_binding *b = checked(p, 'p', name, data, nbytes, &s);
    if (!b)
        return s;
    memcpy(b->data, data, nbytes);
    if (p->backend && p->backend->param_changed)
        p->backend->param_changed(p, b);
    return KILN_OK;
}

kiln_status kiln_run(kiln_program *p)
{
    if (!p)
        return KILN_ERR_INVALID_ARGUMENT;
    p->error[0] = 0;
    for (int i = 0; i < p->nbinds; i++)
        if (p->binds[i].kind == 'i' && !p->binds[i].set)
            return rt_fail(p, KILN_ERR_INVALID_ARGUMENT,
                           "input '%s' was never set", p->binds[i].name);
    return p->backend->run(p);
}

int kiln_program_binding_count(const kiln_program *p)
{
    return p ? p->nbinds : 0;
}

kiln_status kiln_program_binding(const kiln_program *p, int index,
                                 kiln_binding *out)
{
    if (!p || !out || index < 0 || index >= p->nbinds)
        return KILN_ERR_INVALID_ARGUMENT;
    const rt_binding *b = &p->binds[index];
    memset(out, 0, sizeof *out);
    out->kind = b->kind;
    out->name = b->name;
    out->dtype = b->dtype;
    out->rank = b->rank;
    for (int i = 0; i < b->rank; i++)
        out->dims[i] = b->dims[i];
    return KILN_OK;
}

double rt_now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec * 1e-6;
}

kiln_status kiln_program_stats(const kiln_program *p, kiln_compile_stats *out)
{
    if (!p || !out)
        return KILN_ERR_INVALID_ARGUMENT;
    *out = p->stats;
    return KILN_OK;
}
