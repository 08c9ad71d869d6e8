/*
 * nn_model.c — the model object: layers, seed, backend, errors, and the
 * plumbing its programs share (compiling with a fallback, finding the
 * weights, copying params between programs by name).
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "nn/nn_internal.h"

kiln_model *kiln_model_new(int rank, const int64_t *dims)
{
    kiln_model *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->seed = 1;
    m->backend = KILN_BACKEND_CPU;
    m->opt = kiln_opt_adam(1e-3);
    m->sample = 1;
    m->out_rank = -1;
    /* A bad shape is reported by the first call that needs it, so that
     * kiln_model_new fails only for lack of memory as documented. */
    if (rank < 1 || rank > KILN_MAX_RANK - 1 || !dims) {
        nn_fail(m, KILN_ERR_SHAPE,
                "kiln_model_new: sample rank %d (want 1..%d with dims)", rank,
                KILN_MAX_RANK - 1);
        m->rank = -1;
        return m;
    }
    m->rank = rank;
    for (int i = 0; i < rank; i++) {
        m->dims[i] = dims[i];
        if (dims[i] < 1) {
            nn_fail(m, KILN_ERR_SHAPE, "kiln_model_new: dim %d is %lld", i,
                    (long long)dims[i]);
            m->rank = -1;
        }
        m->sample *= dims[i];
    }
    return m;
}

void nn_prog_free(nn_prog *prog)
{
    kiln_program_free(prog->p);
    free(prog->x);
    free(prog->y);
    free(prog->w);
    memset(prog, 0, sizeof *prog);
}

void kiln_model_free(kiln_model *m)
{
    if (!m)
        return;
    nn_prog_free(&m->train);
    nn_prog_free(&m->eval);
    nn_prog_free(&m->pred);
    kiln_program_free(m->holder);
    free(m->layers);
    free(m->prefix);
    free(m->weights);
    free(m->scratch);
    free(m);
}

const char *kiln_model_error(const kiln_model *m)
{
    return m ? m->err : "kiln_model_error: NULL model";
}

kiln_status nn_fail(kiln_model *m, kiln_status status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m->err, sizeof m->err, fmt, ap);
    va_end(ap);
    return status;
}

kiln_status nn_fail_graph(kiln_model *m, kiln_graph *g, const char *what)
{
    kiln_status s = g ? kiln_graph_status(g) : KILN_ERR_OUT_OF_MEMORY;
    if (s == KILN_OK)
        s = KILN_ERR_INVALID_ARGUMENT;
    return nn_fail(m, s, "%s: %s", what, g ? kiln_graph_error(g) : "out of memory");
}

kiln_status nn_fail_prog(kiln_model *m, kiln_program *p, kiln_status s,
                         const char *what)
{
    return nn_fail(m, s, "%s: %s", what, kiln_program_error(p));
}

static int valid_prefix(const char *s)
{
    size_t n = strlen(s);
    /* Room for the suffixes kiln adds: ".w", ".adam_m", ".momentum". */
    if (n == 0 || n > KILN_MAX_NAME - 24)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        int alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
        int digit = (c >= '0' && c <= '9') || c == '.';
        if (!alpha && !(i > 0 && digit))
            return 0;
    }
    return 1;
}

static kiln_status check_layer(kiln_model *m, const kiln_layer *l)
{
    switch (l->kind) {
    case KILN_LAYER_DENSE:
        if (l->units < 1)
            return nn_fail(m, KILN_ERR_INVALID_ARGUMENT,
                           "kiln_model_add: dense units %lld (want >= 1)",
                           (long long)l->units);
        break;
    case KILN_LAYER_DROPOUT:
        if (!(l->rate >= 0 && l->rate < 1))
            return nn_fail(m, KILN_ERR_INVALID_ARGUMENT,
                           "kiln_model_add: dropout rate %g is outside [0, 1)",
                           l->rate);
        break;
    case KILN_LAYER_CUSTOM:
        if (!l->fn)
            return nn_fail(m, KILN_ERR_INVALID_ARGUMENT,
                           "kiln_model_add: custom layer without a function");
        break;
    case KILN_LAYER_ACTIVATION:
    case KILN_LAYER_FLATTEN:
        break;
    default:
        return nn_fail(m, KILN_ERR_INVALID_ARGUMENT,
                       "kiln_model_add: unknown layer kind %d", (int)l->kind);
    }
    if ((l->kind == KILN_LAYER_DENSE || l->kind == KILN_LAYER_ACTIVATION) &&
        (l->act < KILN_ACT_NONE || l->act > KILN_ACT_SOFTMAX))
        return nn_fail(m, KILN_ERR_INVALID_ARGUMENT,
                       "kiln_model_add: unknown activation %d", (int)l->act);
    return KILN_OK;
}

static kiln_status set_prefix(kiln_model *m, int i, const char *name)
{
    if (name) {
        if (!valid_prefix(name))
            return nn_fail(m, KILN_ERR_NAME,
                           "kiln_model_add: layer name '%s' (want "
                           "[A-Za-z_][A-Za-z0-9_.]*, at most %d bytes)",
                           name, KILN_MAX_NAME - 24);
        for (int j = 0; j < i; j++)
            if (strcmp(m->prefix[j], name) == 0)
                return nn_fail(m, KILN_ERR_NAME,
                               "kiln_model_add: layer name '%s' is used twice",
                               name);
        strcpy(m->prefix[i], name);
        return KILN_OK;
    }
    /* A default name never clashes with a user name "lN" given earlier. */
    for (int k = i;; k++) {
        snprintf(m->prefix[i], KILN_MAX_NAME, "l%d", k);
        int used = 0;
        for (int j = 0; j < i; j++)
            used |= strcmp(m->prefix[j], m->prefix[i]) == 0;
        if (!used)
            return KILN_OK;
    }
}

kiln_status kiln_model_add(kiln_model *m, kiln_layer layer)
{
    if (!m)
        return KILN_ERR_INVALID_ARGUMENT;
    if (m->frozen)
        return nn_fail(m, KILN_ERR_INVALID_ARGUMENT,
                       "kiln_model_add: the model is compiled already (fit, "
                       "evaluate, predict, save or load ran); add layers "
                       "before that");
    kiln_status s = check_layer(m, &layer);
    if (s != KILN_OK)
        return s;
    if (m->nlayers == m->cap) {
        int cap = m->cap ? 2 * m->cap : 8;
        kiln_layer *l = realloc(m->layers, (size_t)cap * sizeof *l);
        if (!l)
            return nn_fail(m, KILN_ERR_OUT_OF_MEMORY, "kiln_model_add: out of memory");
        m->layers = l;
        char(*p)[KILN_MAX_NAME] = realloc(m->prefix, (size_t)cap * sizeof *p);
        if (!p)
            return nn_fail(m, KILN_ERR_OUT_OF_MEMORY, "kiln_model_add: out of memory");
        m->prefix = p;
        m->cap = cap;
    }
    s = set_prefix(m, m->nlayers, layer.name);
    if (s != KILN_OK)
        return s;
    layer.name = NULL; /* the caller's string is not kept */
    m->layers[m->nlayers++] = layer;
    return KILN_OK;
}

void kiln_model_seed(kiln_model *m, uint64_t seed)
{
    if (m)
        m->seed = seed;
}

void kiln_model_backend(kiln_model *m, kiln_backend b, int threads)
{
    if (m) {
        m->backend = b;
        m->threads = threads;
    }
}

kiln_node kiln_model_forward(kiln_model *m, kiln_graph *g, kiln_node x,
                             int training, kiln_node seed, kiln_node offset)
{
    kiln_node bad = {0};
    if (!m || !g || kiln_graph_status(g) != KILN_OK || !kiln_node_valid(x))
        return bad;
    if (m->rank < 0)
        return bad; /* the bad shape is in kiln_model_error(m) */
    int64_t batch = kiln_node_rank(g, x) > 0 ? 0 : 1;
    int64_t dims[KILN_MAX_RANK];
    if (kiln_node_shape(g, x, dims) > 0)
        batch = dims[0];
    for (int i = 0; i < m->nlayers && kiln_node_valid(x); i++)
        x = nn_layer_build(m, i, g, x, training, batch, seed, offset);
    return x;
}

kiln_program *nn_compile(kiln_model *m, kiln_graph *g)
{
    kiln_compile_options o;
    memset(&o, 0, sizeof o);
    o.backend = m->backend;
    o.threads = m->threads;
    kiln_program *p = kiln_compile(g, &o);
    if (!p && m->backend == KILN_BACKEND_CPU &&
        kiln_graph_status(g) == KILN_ERR_UNSUPPORTED) {
        kiln_graph_clear_error(g);
        o.backend = KILN_BACKEND_REF;
        p = kiln_compile(g, &o);
    }
    if (!p)
        nn_fail_graph(m, g, "compile");
    m->frozen = 1;
    return p;
}

size_t nn_target_bytes(const nn_target *t)
{
    return (size_t)nn_target_numel(t) * kiln_dtype_size(t->dtype);
}

int64_t nn_target_numel(const nn_target *t)
{
    int64_t n = 1;
    for (int i = 0; i < t->rank; i++)
        n *= t->dims[i];
    return n;
}

int nn_config_equal(const nn_config *a, const nn_config *b, int with_opt)
{
    if (a->batch != b->batch || a->loss != b->loss ||
        a->nmetrics != b->nmetrics || a->tgt.dtype != b->tgt.dtype ||
        a->tgt.rank != b->tgt.rank)
        return 0;
    for (int i = 0; i < a->tgt.rank; i++)
        if (a->tgt.dims[i] != b->tgt.dims[i])
            return 0;
    for (int i = 0; i < a->nmetrics; i++)
        if (a->metrics[i] != b->metrics[i])
            return 0;
    return !with_opt || memcmp(&a->opt, &b->opt, sizeof a->opt) == 0;
}

kiln_status nn_prog_buffers(kiln_model *m, nn_prog *prog)
{
    int64_t b = prog->cfg.batch;
    prog->xbytes = (size_t)(b * m->sample) * sizeof(float);
    prog->ybytes = (size_t)b * nn_target_bytes(&prog->cfg.tgt);
    prog->wbytes = (size_t)b * sizeof(float);
    prog->x = calloc(1, prog->xbytes);
    prog->y = calloc(1, prog->ybytes ? prog->ybytes : 1);
    prog->w = calloc(1, prog->wbytes);
    prog->wbound = -1;
    if (!prog->x || !prog->y || !prog->w)
        return nn_fail(m, KILN_ERR_OUT_OF_MEMORY, "out of memory");
    return KILN_OK;
}

/* The forward graph at batch 1 compiled by the reference backend (cheap:
 * no code generation), to read its params off the bindings. */
kiln_program *nn_forward_program(kiln_model *m, kiln_graph **gout)
{
    kiln_graph *g = kiln_graph_new();
    if (!g) {
        nn_fail(m, KILN_ERR_OUT_OF_MEMORY, "out of memory");
        return NULL;
    }
    int64_t dims[KILN_MAX_RANK] = {1};
    memcpy(dims + 1, m->dims, (size_t)m->rank * sizeof *dims);
    kiln_node x = kiln_input(g, NN_IN_X, KILN_F32, m->rank + 1, dims);
    kiln_node zero = kiln_scalar(g, KILN_I32, 0);
    kiln_output(g, NN_OUT_PRED, kiln_model_forward(m, g, x, 0, zero, zero));
    kiln_compile_options o;
    memset(&o, 0, sizeof o);
    kiln_program *p = kiln_compile(g, &o);
    if (!p)
        nn_fail_graph(m, g, "model");
    if (gout)
        *gout = g;
    else
        kiln_graph_free(g);
    return p;
}

int64_t nn_binding_numel(const kiln_binding *b)
{
    int64_t n = 1;
    for (int d = 0; d < b->rank; d++)
        n *= b->dims[d];
    return n;
}

/* The weights are the params of the forward graph, whatever layers
 * (custom ones too) created them. */
kiln_status nn_find_weights(kiln_model *m)
{
    if (m->rank < 0)
        return KILN_ERR_SHAPE; /* the message is in m->err already */
    if (m->weights)
        return KILN_OK;
    m->frozen = 1; /* the weights found now must stay the model's */
    kiln_program *p = nn_forward_program(m, NULL);
    if (!p)
        return KILN_ERR_SHAPE;
    int n = kiln_program_binding_count(p);
    m->weights = calloc((size_t)n + 1, sizeof *m->weights);
    for (int i = 0; m->weights && i < n; i++) {
        kiln_binding b;
        if (kiln_program_binding(p, i, &b) != KILN_OK || b.kind != 'p')
            continue;
        nn_weight *w = &m->weights[m->nweights++];
        snprintf(w->name, sizeof w->name, "%s", b.name);
        w->nbytes = (size_t)nn_binding_numel(&b) * kiln_dtype_size(b.dtype);
        w->dtype = b.dtype;
        w->rank = b.rank;
        memcpy(w->dims, b.dims, sizeof w->dims);
        if (w->nbytes > m->max_param_bytes)
            m->max_param_bytes = w->nbytes;
    }
    kiln_program_free(p);
    m->scratch = malloc(m->max_param_bytes ? m->max_param_bytes : 1);
    if (!m->weights || !m->scratch)
        return nn_fail(m, KILN_ERR_OUT_OF_MEMORY, "out of memory");
    return KILN_OK;
}

static kiln_status copy_one(kiln_model *m, kiln_program *from, kiln_program *to,
                            const char *name, void *buf, size_t nbytes)
{
    kiln_status s = kiln_get_param(from, name, buf, nbytes);
    if (s != KILN_OK)
        return nn_fail_prog(m, from, s, "copying params");
    s = kiln_set_param(to, name, buf, nbytes);
    if (s != KILN_OK)
        return nn_fail_prog(m, to, s, "copying params");
    return KILN_OK;
}

static int find_binding(const kiln_program *p, const kiln_binding *want)
{
    int n = kiln_program_binding_count(p);
    for (int i = 0; i < n; i++) {
        kiln_binding b;
        if (kiln_program_binding(p, i, &b) != KILN_OK || b.kind != 'p' ||
            strcmp(b.name, want->name) != 0)
            continue;
        if (b.dtype != want->dtype || b.rank != want->rank ||
            memcmp(b.dims, want->dims, (size_t)b.rank * sizeof *b.dims) != 0)
            return -1;
        return i;
    }
    return -1;
}

/* Every param `to` shares with `from` (same name, dtype and shape):
 * weights, and optimizer state when the optimizer stayed the same. */
static kiln_status copy_shared(kiln_model *m, kiln_program *from,
                               kiln_program *to)
{
    int n = kiln_program_binding_count(to);
    for (int i = 0; i < n; i++) {
        kiln_binding b;
        if (kiln_program_binding(to, i, &b) != KILN_OK || b.kind != 'p' ||
            find_binding(from, &b) < 0)
            continue;
        size_t nbytes = (size_t)nn_binding_numel(&b) * kiln_dtype_size(b.dtype);
        void *buf = malloc(nbytes ? nbytes : 1);
        if (!buf)
            return nn_fail(m, KILN_ERR_OUT_OF_MEMORY, "out of memory");
        kiln_status s = copy_one(m, from, to, b.name, buf, nbytes);
        free(buf);
        if (s != KILN_OK)
            return s;
    }
    return KILN_OK;
}

kiln_status nn_copy_params(kiln_model *m, kiln_program *from, kiln_program *to,
                           int all)
{
    if (all)
        return copy_shared(m, from, to);
    for (int i = 0; i < m->nweights; i++) {
        kiln_status s = copy_one(m, from, to, m->weights[i].name, m->scratch,
                                 m->weights[i].nbytes);
        if (s != KILN_OK)
            return s;
    }
    return KILN_OK;
}

kiln_program *nn_master(const kiln_model *m)
{
    return m->train.p ? m->train.p : m->holder;
}

kiln_status nn_sync(kiln_model *m, nn_prog *prog)
{
    kiln_program *from = nn_master(m);
    if (!from || prog->p == from || prog->synced == m->version)
        return KILN_OK;
    kiln_status s = nn_copy_params(m, from, prog->p, 0);
    if (s == KILN_OK)
        prog->synced = m->version;
    return s;
}
