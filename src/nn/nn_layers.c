/*
 * nn_layers.c — the layers: their constructors, how each appends itself
 * to a graph, and the model summary (which builds the forward graph once
 * to read the shapes and params off it).
 */
#include <string.h>

#include "nn/nn_internal.h"

kiln_layer kiln_dense(int64_t units, kiln_activation act)
{
    kiln_layer l;
    memset(&l, 0, sizeof l);
    l.kind = KILN_LAYER_DENSE;
    l.units = units;
    l.act = act;
    l.use_bias = 1;
    return l;
}

kiln_layer kiln_activation_layer(kiln_activation act)
{
    kiln_layer l;
    memset(&l, 0, sizeof l);
    l.kind = KILN_LAYER_ACTIVATION;
    l.act = act;
    return l;
}

kiln_layer kiln_dropout_layer(double rate)
{
    kiln_layer l;
    memset(&l, 0, sizeof l);
    l.kind = KILN_LAYER_DROPOUT;
    l.rate = rate;
    return l;
}

kiln_layer kiln_flatten(void)
{
    kiln_layer l;
    memset(&l, 0, sizeof l);
    l.kind = KILN_LAYER_FLATTEN;
    return l;
}

kiln_layer kiln_custom(kiln_layer_fn fn, void *user)
{
    kiln_layer l;
    memset(&l, 0, sizeof l);
    l.kind = KILN_LAYER_CUSTOM;
    l.fn = fn;
    l.user = user;
    return l;
}

static kiln_node activate(kiln_graph *g, kiln_node x, kiln_activation act)
{
    switch (act) {
    case KILN_ACT_NONE: return x;
    case KILN_ACT_RELU: return kiln_relu(g, x);
    case KILN_ACT_SIGMOID: return kiln_sigmoid(g, x);
    case KILN_ACT_TANH: return kiln_tanh(g, x);
    case KILN_ACT_GELU: return kiln_gelu(g, x);
    case KILN_ACT_SOFTMAX: return kiln_softmax(g, x, -1);
    }
    return x;
}

/* Mixes the model seed with the layer index so every layer (and every
 * model seed) gets its own stream of initial weights. */
static uint32_t layer_seed(uint64_t seed, int i)
{
    uint64_t z = seed + 0x9e3779b97f4a7c15ull * (uint64_t)(i + 1);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return (uint32_t)(z ^ (z >> 31));
}

static kiln_node dense(kiln_model *m, int i, kiln_graph *g, kiln_node x)
{
    const kiln_layer *l = &m->layers[i];
    int64_t dims[KILN_MAX_RANK];
    int rank = kiln_node_shape(g, x, dims);
    if (rank < 2) /* matmul records the shape error on g */
        return kiln_matmul(g, x, x);
    char name[KILN_MAX_NAME];
    kiln_init init = l->init;
    if (init.kind == KILN_INIT_ZEROS)
        init = kiln_init_glorot(layer_seed(m->seed, i));
    snprintf(name, sizeof name, "%s.w", m->prefix[i]);
    kiln_node w = kiln_param(g, name, KILN_F32, 2,
                             (int64_t[]){dims[rank - 1], l->units}, init);
    kiln_node y = kiln_matmul(g, x, w);
    if (l->use_bias) {
        snprintf(name, sizeof name, "%s.b", m->prefix[i]);
        kiln_node b = kiln_param(g, name, KILN_F32, 1, &l->units,
                                 kiln_init_zeros());
        y = kiln_add(g, y, b);
    }
    return activate(g, y, l->act);
}

static kiln_node flatten(kiln_graph *g, kiln_node x)
{
    int64_t dims[KILN_MAX_RANK];
    int rank = kiln_node_shape(g, x, dims);
    if (rank == 2)
        return x;
    int64_t rest = 1;
    for (int i = 1; i < rank; i++)
        rest *= dims[i];
    return kiln_reshape(g, x, 2, (int64_t[]){dims[0], rest});
}

kiln_node nn_layer_build(kiln_model *m, int i, kiln_graph *g, kiln_node x,
                         int training, int64_t batch, kiln_node seed,
                         kiln_node offset)
{
    const kiln_layer *l = &m->layers[i];
    kiln_layer_ctx ctx = {m->prefix[i], training, batch, seed, offset, i + 1};
    /* Each layer draws from offset + its stream: fit advances offset by
     * more than the number of layers per step, so no two (step, layer)
     * pairs share Philox counters. */
    switch (l->kind) {
    case KILN_LAYER_DENSE: return dense(m, i, g, x);
    case KILN_LAYER_ACTIVATION: return activate(g, x, l->act);
    case KILN_LAYER_FLATTEN: return flatten(g, x);
    case KILN_LAYER_DROPOUT:
        if (!training || l->rate == 0)
            return x;
        return kiln_dropout(g, x, l->rate, seed,
                            kiln_add(g, offset, kiln_scalar(g, KILN_I32, i + 1)));
    case KILN_LAYER_CUSTOM: return l->fn(g, x, &ctx, l->user);
    }
    return x;
}

const char *nn_layer_kind_name(const kiln_layer *l)
{
    static const char *const act[] = {"linear", "relu", "sigmoid", "tanh",
                                      "gelu", "softmax"};
    switch (l->kind) {
    case KILN_LAYER_DENSE: return "dense";
    case KILN_LAYER_ACTIVATION: return act[l->act];
    case KILN_LAYER_DROPOUT: return "dropout";
    case KILN_LAYER_FLATTEN: return "flatten";
    case KILN_LAYER_CUSTOM: return "custom";
    }
    return "?";
}

int nn_needs_rng(const kiln_model *m)
{
    for (int i = 0; i < m->nlayers; i++)
        if ((m->layers[i].kind == KILN_LAYER_DROPOUT && m->layers[i].rate > 0) ||
            m->layers[i].kind == KILN_LAYER_CUSTOM)
            return 1;
    return 0;
}

/* Elements of the params named "<prefix>.*" (custom layers are asked to
 * name theirs so). */
static int64_t layer_params(const kiln_program *p, const char *prefix)
{
    size_t len = strlen(prefix);
    int64_t n = 0;
    for (int i = 0; i < kiln_program_binding_count(p); i++) {
        kiln_binding b;
        if (kiln_program_binding(p, i, &b) == KILN_OK && b.kind == 'p' &&
            strncmp(b.name, prefix, len) == 0 && b.name[len] == '.')
            n += nn_binding_numel(&b);
    }
    return n;
}

static void print_shape(FILE *f, const int64_t *dims, int rank)
{
    char buf[96] = "[";
    size_t len = 1;
    for (int i = 1; i < rank && len < sizeof buf - 24; i++)
        len += (size_t)snprintf(buf + len, sizeof buf - len, "%s%lld",
                                i > 1 ? ", " : "", (long long)dims[i]);
    snprintf(buf + len, sizeof buf - len, "]");
    fprintf(f, "%-14s", buf);
}

/* The shapes come from a second forward graph built layer by layer; the
 * params from the compiled one. */
void kiln_model_summary(kiln_model *m, FILE *f)
{
    if (!m || !f)
        return;
    kiln_graph *g = NULL;
    kiln_program *p = m->rank < 0 ? NULL : nn_forward_program(m, &g);
    if (!p) {
        fprintf(f, "model: %s\n", m->err);
        kiln_graph_free(g);
        return;
    }
    kiln_graph_free(g);
    g = kiln_graph_new();
    int64_t dims[KILN_MAX_RANK] = {1};
    memcpy(dims + 1, m->dims, (size_t)m->rank * sizeof *dims);
    kiln_node x = kiln_input(g, NN_IN_X, KILN_F32, m->rank + 1, dims);
    kiln_node zero = kiln_scalar(g, KILN_I32, 0);
    fprintf(f, "%-12s %-10s %-14s %s\n", "layer", "kind", "output", "params");
    fprintf(f, "%-12s %-10s ", "input", "");
    print_shape(f, dims, m->rank + 1);
    fprintf(f, " 0\n");
    int64_t total = 0;
    for (int i = 0; i < m->nlayers; i++) {
        x = nn_layer_build(m, i, g, x, 0, 1, zero, zero);
        int64_t np = layer_params(p, m->prefix[i]);
        total += np;
        fprintf(f, "%-12s %-10s ", m->prefix[i], nn_layer_kind_name(&m->layers[i]));
        print_shape(f, dims, kiln_node_shape(g, x, dims));
        fprintf(f, " %lld\n", (long long)np);
    }
    fprintf(f, "total params: %lld\n", (long long)total);
    kiln_program_free(p);
    kiln_graph_free(g);
}
