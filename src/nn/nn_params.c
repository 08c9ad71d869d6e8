/*
 * nn_params.c — a model's weights by name (kiln_model_param_count,
 * kiln_model_param, kiln_model_get_param, kiln_model_set_param).
 *
 * They read and write the master program (nn_internal.h).  Before the
 * first train program exists the master is a "holder": the forward graph
 * compiled by the reference backend (no code generation), which starts
 * from the same seeded initialisers as every other program.  The next
 * train program copies its weights from the holder, so values set before
 * fit are where fit starts.
 */
#include <string.h>

#include "nn/nn_internal.h"

int kiln_model_param_count(kiln_model *m)
{
    if (!m)
        return -1;
    return nn_find_weights(m) == KILN_OK ? m->nweights : -1;
}

kiln_status kiln_model_param(kiln_model *m, int index, kiln_binding *out)
{
    if (!m)
        return KILN_ERR_INVALID_ARGUMENT;
    if (!out)
        return nn_fail(m, KILN_ERR_INVALID_ARGUMENT, "param: NULL binding");
    kiln_status s = nn_find_weights(m);
    if (s != KILN_OK)
        return s;
    if (index < 0 || index >= m->nweights)
        return nn_fail(m, KILN_ERR_INVALID_ARGUMENT,
                       "param: index %d is outside [0, %d)", index,
                       m->nweights);
    const nn_weight *w = &m->weights[index];
    memset(out, 0, sizeof *out);
    out->kind = 'p';
    out->name = w->name;
    out->dtype = w->dtype;
    out->rank = w->rank;
    memcpy(out->dims, w->dims, sizeof out->dims);
    return KILN_OK;
}

/* "f32[4,16]" into buf. */
static void shape_text(const nn_weight *w, char *buf, size_t len)
{
    size_t used = (size_t)snprintf(buf, len, "%s[", kiln_dtype_name(w->dtype));
    for (int i = 0; i < w->rank && used < len; i++)
        used += (size_t)snprintf(buf + used, len - used, "%s%lld", i ? "," : "",
                                 (long long)w->dims[i]);
    if (used < len)
        snprintf(buf + used, len - used, "]");
}

/* The weight called name with nbytes checked, or NULL with the error. */
static const nn_weight *lookup(kiln_model *m, const char *what,
                               const char *name, const void *data,
                               size_t nbytes, kiln_status *s)
{
    *s = nn_find_weights(m);
    if (*s != KILN_OK)
        return NULL;
    if (!name || !data) {
        *s = nn_fail(m, KILN_ERR_INVALID_ARGUMENT, "%s: NULL name or data",
                     what);
        return NULL;
    }
    for (int i = 0; i < m->nweights; i++) {
        const nn_weight *w = &m->weights[i];
        if (strcmp(w->name, name) != 0)
            continue;
        if (w->nbytes != nbytes) {
            char shape[160];
            shape_text(w, shape, sizeof shape);
            *s = nn_fail(m, KILN_ERR_SHAPE,
                         "%s: param '%s' is %s, %zu bytes; got %zu bytes",
                         what, name, shape, w->nbytes, nbytes);
            return NULL;
        }
        return w;
    }
    *s = nn_fail(m, KILN_ERR_NAME,
                 "%s: the model has no param '%.80s' (kiln_model_param "
                 "lists them%s%s)", what, name, m->nweights ? ", e.g. " : "",
                 m->nweights ? m->weights[0].name : "");
    return NULL;
}

/* The master program, making the holder when there is none yet. */
static kiln_program *master(kiln_model *m)
{
    if (!nn_master(m))
        m->holder = nn_forward_program(m, NULL);
    return nn_master(m);
}

kiln_status kiln_model_get_param(kiln_model *m, const char *name, void *data,
                                 size_t nbytes)
{
    if (!m)
        return KILN_ERR_INVALID_ARGUMENT;
    kiln_status s;
    const nn_weight *w = lookup(m, "get_param", name, data, nbytes, &s);
    kiln_program *p = w ? master(m) : NULL;
    if (!w)
        return s;
    if (!p)
        return KILN_ERR_SHAPE; /* the forward graph's error is in m */
    s = kiln_get_param(p, w->name, data, nbytes);
    return s == KILN_OK ? s : nn_fail_prog(m, p, s, "get_param");
}

kiln_status kiln_model_set_param(kiln_model *m, const char *name,
                                 const void *data, size_t nbytes)
{
    if (!m)
        return KILN_ERR_INVALID_ARGUMENT;
    kiln_status s;
    const nn_weight *w = lookup(m, "set_param", name, data, nbytes, &s);
    kiln_program *p = w ? master(m) : NULL;
    if (!w)
        return s;
    if (!p)
        return KILN_ERR_SHAPE;
    s = kiln_set_param(p, w->name, data, nbytes);
    if (s != KILN_OK)
        return nn_fail_prog(m, p, s, "set_param");
    m->version++; /* eval and predict copy the new value before they run */
    return KILN_OK;
}
