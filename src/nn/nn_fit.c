/*
 * nn_fit.c — kiln_fit: check the options, split off validation data,
 * build and compile the training step once, then run epochs of seeded
 * shuffled batches (the last partial one padded with weight-0 rows).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn/nn_internal.h"

kiln_fit_options kiln_fit_defaults(void)
{
    kiln_fit_options o;
    memset(&o, 0, sizeof o);
    o.epochs = 10;
    o.batch_size = 32;
    o.optimizer = kiln_opt_adam(1e-3);
    o.shuffle = 1;
    o.early_stopping.monitor_val = 1;
    o.early_stopping.patience = 5;
    o.early_stopping.restore_best = 1;
    o.terminate_on_nan = 1;
    o.verbose = 1;
    return o;
}

void kiln_history_free(kiln_history *h)
{
    if (h) {
        free(h->epochs);
        free(h);
    }
}

kiln_node nn_inputs(kiln_model *m, kiln_graph *g, const nn_config *cfg,
                    kiln_node *y, kiln_node *w)
{
    int64_t dims[KILN_MAX_RANK] = {cfg->batch};
    memcpy(dims + 1, m->dims, (size_t)m->rank * sizeof *dims);
    kiln_node x = kiln_input(g, NN_IN_X, KILN_F32, m->rank + 1, dims);
    memcpy(dims + 1, cfg->tgt.dims, (size_t)cfg->tgt.rank * sizeof *dims);
    *y = kiln_input(g, NN_IN_Y, cfg->tgt.dtype, cfg->tgt.rank + 1, dims);
    *w = kiln_input(g, NN_IN_W, KILN_F32, 1, dims);
    return x;
}

int nn_output_shape(kiln_model *m, int64_t *dims)
{
    if (nn_find_weights(m) != KILN_OK)
        return -1;
    if (m->out_rank >= 0) { /* layers are fixed by now */
        memcpy(dims, m->out_dims, (size_t)m->out_rank * sizeof *dims);
        return m->out_rank;
    }
    kiln_graph *g = kiln_graph_new();
    if (!g)
        return nn_fail(m, KILN_ERR_OUT_OF_MEMORY, "out of memory"), -1;
    int64_t in[KILN_MAX_RANK] = {1};
    memcpy(in + 1, m->dims, (size_t)m->rank * sizeof *in);
    kiln_node x = kiln_input(g, NN_IN_X, KILN_F32, m->rank + 1, in);
    kiln_node zero = kiln_scalar(g, KILN_I32, 0);
    kiln_node out = kiln_model_forward(m, g, x, 0, zero, zero);
    int64_t od[KILN_MAX_RANK];
    int rank = kiln_node_shape(g, out, od);
    if (rank < 1) {
        if (rank == 0)
            nn_fail(m, KILN_ERR_SHAPE, "model: the output has no batch axis");
        else
            nn_fail_graph(m, g, "model");
        kiln_graph_free(g);
        return -1;
    }
    memcpy(dims, od + 1, (size_t)(rank - 1) * sizeof *dims);
    memcpy(m->out_dims, od + 1, (size_t)(rank - 1) * sizeof *dims);
    m->out_rank = rank - 1;
    kiln_graph_free(g);
    return rank - 1;
}

static kiln_status add_optimizer(kiln_graph *g, kiln_node loss,
                                 const kiln_optimizer *opt)
{
    if (opt->kind == KILN_OPT_SGD) {
        kiln_sgd_options o = opt->sgd;
        o.nparams = 0;
        o.params = NULL;
        return kiln_sgd(g, loss, &o);
    }
    kiln_adam_options o = opt->adam;
    o.nparams = 0;
    o.params = NULL;
    return kiln_adam(g, loss, &o);
}

static kiln_graph *train_graph(kiln_model *m, const nn_config *cfg)
{
    kiln_graph *g = kiln_graph_new();
    if (!g)
        return NULL;
    kiln_node y, w, seed = {0}, offset = {0};
    kiln_node x = nn_inputs(m, g, cfg, &y, &w);
    int rng = nn_needs_rng(m);
    if (rng) {
        int32_t s32 = (int32_t)(uint32_t)(m->seed ^ (m->seed >> 32));
        seed = kiln_param(g, NN_RNG_SEED, KILN_I32, 0, NULL,
                          kiln_init_constant(s32));
        offset = kiln_param(g, NN_RNG_OFFSET, KILN_I32, 0, NULL,
                            kiln_init_zeros());
    }
    kiln_node out = kiln_model_forward(m, g, x, 1, seed, offset);
    kiln_node loss = nn_loss_build(g, out, y, w, cfg->loss, cfg->nmetrics,
                                   cfg->metrics);
    if (kiln_graph_status(g) == KILN_OK)
        add_optimizer(g, loss, &cfg->opt);
    if (rng) /* each layer draws from offset + its index: step past them */
        kiln_assign(g, offset, kiln_add(g, offset,
                                        kiln_scalar(g, KILN_I32, m->nlayers + 1)));
    return g;
}

kiln_status nn_train_prepare(kiln_model *m, const nn_config *cfg)
{
    if (m->train.p && nn_config_equal(&m->train.cfg, cfg, 1))
        return KILN_OK;
    kiln_status s = nn_find_weights(m);
    if (s != KILN_OK)
        return s;
    kiln_graph *g = train_graph(m, cfg);
    if (!g)
        return nn_fail(m, KILN_ERR_OUT_OF_MEMORY, "out of memory");
    nn_prog next;
    memset(&next, 0, sizeof next);
    next.cfg = *cfg;
    if (kiln_graph_status(g) != KILN_OK)
        s = nn_fail_graph(m, g, "training step");
    else if (!(next.p = nn_compile(m, g)))
        s = kiln_graph_status(g); /* the message is in m->err */
    kiln_graph_free(g);
    if (s == KILN_OK)
        s = nn_prog_buffers(m, &next);
    /* Keep the weights (and the optimizer state when it fits) of the
     * previous train program, or the ones set before the first. */
    if (s == KILN_OK && m->train.p)
        s = nn_copy_params(m, m->train.p, next.p, 1);
    else if (s == KILN_OK && m->holder)
        s = nn_copy_params(m, m->holder, next.p, 0);
    if (s != KILN_OK) {
        nn_prog_free(&next);
        return s;
    }
    nn_prog_free(&m->train);
    m->train = next;
    kiln_program_free(m->holder);
    m->holder = NULL;
    return KILN_OK;
}

kiln_status nn_step_run(kiln_model *m, nn_prog *P, int64_t count, double *loss,
                        double *metrics)
{
    int64_t b = P->cfg.batch;
    if (count < b) { /* padding rows: zeros with weight 0 */
        size_t xrow = P->xbytes / (size_t)b, yrow = P->ybytes / (size_t)b;
        memset((char *)P->x + (size_t)count * xrow, 0, (size_t)(b - count) * xrow);
        memset((char *)P->y + (size_t)count * yrow, 0, (size_t)(b - count) * yrow);
    }
    kiln_program *p = P->p;
    kiln_status s = KILN_OK;
    if (P->wbound != count) { /* inputs keep their value across runs */
        for (int64_t i = 0; i < b; i++)
            P->w[i] = i < count ? 1.0f : 0.0f;
        s = kiln_set_input(p, NN_IN_W, P->w, P->wbytes);
        P->wbound = s == KILN_OK ? count : -1;
    }
    if (s == KILN_OK)
        s = kiln_set_input(p, NN_IN_X, P->x, P->xbytes);
    if (s == KILN_OK)
        s = kiln_set_input(p, NN_IN_Y, P->y, P->ybytes);
    if (s == KILN_OK)
        s = kiln_run(p);
    float v = 0;
    if (s == KILN_OK)
        s = kiln_get_output(p, NN_OUT_LOSS, &v, sizeof v);
    *loss += v;
    for (int i = 0; s == KILN_OK && i < P->cfg.nmetrics; i++) {
        s = kiln_get_output(p, nn_metric_output(i), &v, sizeof v);
        metrics[i] += s == KILN_OK ? v : 0;
    }
    return s == KILN_OK ? KILN_OK : nn_fail_prog(m, p, s, "step");
}

/* ---- option and data checks ------------------------------------------ */

static kiln_status check_options(kiln_model *m, const kiln_fit_options *o)
{
    if (o->epochs <= 0)
        return nn_fail(m, KILN_ERR_INVALID_ARGUMENT,
                       "fit: epochs is %d; want 1 or more", o->epochs);
    if (o->batch_size <= 0)
        return nn_fail(m, KILN_ERR_INVALID_ARGUMENT,
                       "fit: batch_size is %lld; want 1 or more",
                       (long long)o->batch_size);
    if (!(o->validation_split >= 0 && o->validation_split < 1))
        return nn_fail(m, KILN_ERR_INVALID_ARGUMENT,
                       "fit: validation_split is %g; want [0, 1)",
                       o->validation_split);
    const kiln_optimizer *op = &o->optimizer;
    if (op->kind != KILN_OPT_SGD && op->kind != KILN_OPT_ADAM)
        return nn_fail(m, KILN_ERR_INVALID_ARGUMENT,
                       "fit: optimizer kind %d (use kiln_opt_sgd or "
                       "kiln_opt_adam)", (int)op->kind);
    if (op->kind == KILN_OPT_SGD && !(op->sgd.lr > 0))
        return nn_fail(m, KILN_ERR_INVALID_ARGUMENT,
                       "fit: SGD learning rate is %g; want > 0", op->sgd.lr);
    if (o->early_stopping.enabled && o->early_stopping.patience < 0)
        return nn_fail(m, KILN_ERR_INVALID_ARGUMENT,
                       "fit: early stopping patience is %d; want >= 0",
                       o->early_stopping.patience);
    return KILN_OK;
}

static nn_target target_of(const kiln_dataset *d)
{
    nn_target t;
    memset(&t, 0, sizeof t);
    t.dtype = kiln_dataset_y_dtype(d);
    t.rank = kiln_dataset_y_shape(d, t.dims);
    return t;
}

static kiln_status check_data(kiln_model *m, const kiln_dataset *d,
                              const char *what, int out_rank,
                              const int64_t *out_dims)
{
    if (kiln_dataset_size(d) <= 0)
        return nn_fail(m, KILN_ERR_INVALID_ARGUMENT, "fit: the %s data is empty",
                       what);
    int64_t dims[KILN_MAX_RANK];
    int rank = kiln_dataset_x_shape(d, dims);
    int same = rank == m->rank;
    for (int i = 0; same && i < rank; i++)
        same = dims[i] == m->dims[i];
    if (!same)
        return nn_fail(m, KILN_ERR_SHAPE,
                       "fit: the %s samples have shape [%lld%s] but the model "
                       "takes [%lld%s]", what, (long long)dims[0],
                       rank > 1 ? ", ..." : "", (long long)m->dims[0],
                       m->rank > 1 ? ", ..." : "");
    nn_target t = target_of(d);
    if (t.dtype == KILN_I32 && out_rank == 1 &&
        kiln_dataset_classes(d) > out_dims[0])
        return nn_fail(m, KILN_ERR_SHAPE,
                       "fit: the %s labels go up to %d but the model outputs "
                       "%lld classes", what, kiln_dataset_classes(d) - 1,
                       (long long)out_dims[0]);
    return KILN_OK;
}

/* Everything fit checks before it compiles anything; fills cfg. */
static kiln_status nn_fit_check(kiln_model *m, const kiln_dataset *train,
                                const kiln_dataset *val,
                                const kiln_fit_options *o,
                                nn_config *cfg)
{
    kiln_status s = check_options(m, o);
    int64_t od[KILN_MAX_RANK];
    int orank = s == KILN_OK ? nn_output_shape(m, od) : 0;
    if (s != KILN_OK || orank < 0)
        return s != KILN_OK ? s : KILN_ERR_SHAPE;
    memset(cfg, 0, sizeof *cfg);
    cfg->tgt = target_of(train);
    s = nn_check_loss(m, o->loss, o->nmetrics, o->metrics, orank, od, &cfg->tgt);
    if (s == KILN_OK)
        s = check_data(m, train, "training", orank, od);
    if (s == KILN_OK && val)
        s = check_data(m, val, "validation", orank, od);
    if (s == KILN_OK && val) {
        nn_target vt = target_of(val);
        nn_config a = *cfg, b = *cfg;
        b.tgt = vt;
        if (!nn_config_equal(&a, &b, 0))
            s = nn_fail(m, KILN_ERR_SHAPE, "fit: the validation targets differ "
                        "in dtype or shape from the training targets");
    }
    cfg->loss = o->loss;
    cfg->nmetrics = o->nmetrics;
    memcpy(cfg->metrics, o->metrics, sizeof cfg->metrics);
    cfg->opt = o->optimizer;
    cfg->batch = o->batch_size;
    return s;
}

/* ---- the epoch loop ---------------------------------------------------- */

static uint64_t splitmix(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static void permute(int64_t *idx, int64_t n, uint64_t seed, int epoch,
                    int shuffle)
{
    for (int64_t i = 0; i < n; i++)
        idx[i] = i;
    uint64_t s = seed * 0x2545f4914f6cdd1dull + (uint64_t)epoch;
    for (int64_t i = n - 1; shuffle && i > 0; i--) {
        int64_t j = (int64_t)(splitmix(&s) % (uint64_t)(i + 1));
        int64_t t = idx[i];
        idx[i] = idx[j];
        idx[j] = t;
    }
}

typedef struct fit_run {
    const kiln_fit_options *o;
    const kiln_dataset *train, *val;
    int64_t *idx;
    nn_progress prog;
    kiln_history *h;
} fit_run;

/* One pass over the training data; e gets the averages. */
static kiln_status run_epoch(kiln_model *m, fit_run *r, kiln_epoch_log *e)
{
    nn_prog *P = &m->train;
    int64_t n = kiln_dataset_size(r->train), b = P->cfg.batch;
    int64_t steps = (n + b - 1) / b;
    double loss = 0, met[KILN_MAX_METRICS] = {0}, avg[KILN_MAX_METRICS];
    permute(r->idx, n, m->seed, e->epoch, r->o->shuffle);
    for (int64_t st = 0; st < steps; st++) {
        int64_t count = n - st * b < b ? n - st * b : b;
        kiln_dataset_gather(r->train, r->idx + st * b, count, P->x, P->y);
        kiln_status s = nn_step_run(m, P, count, &loss, met);
        m->version++;
        if (s != KILN_OK)
            return s;
        double seen = (double)(st * b + count);
        for (int i = 0; i < P->cfg.nmetrics; i++)
            avg[i] = met[i] / seen;
        nn_progress_step(&r->prog, st + 1, loss / seen, r->h, avg);
        if (r->o->terminate_on_nan && !isfinite(loss)) {
            r->h->nan_stop = 1;
            break;
        }
    }
    e->loss = loss / (double)n;
    for (int i = 0; i < P->cfg.nmetrics; i++)
        e->metric[i] = met[i] / (double)n;
    return KILN_OK;
}

static kiln_status validate(kiln_model *m, fit_run *r, kiln_epoch_log *e)
{
    if (!r->val)
        return KILN_OK;
    kiln_status s = nn_sync(m, &m->eval);
    if (s == KILN_OK)
        s = nn_eval_run(m, r->val, &e->val_loss, e->val_metric);
    return s;
}

static kiln_status run_epochs(kiln_model *m, fit_run *r, nn_callbacks *cb)
{
    kiln_history *h = r->h;
    for (int ep = 1; ep <= r->o->epochs; ep++) {
        kiln_epoch_log *e = &h->epochs[h->nepochs];
        e->epoch = ep;
        e->val_loss = NAN;
        for (int i = 0; i < KILN_MAX_METRICS; i++)
            e->metric[i] = e->val_metric[i] = NAN;
        double t0 = nn_now();
        nn_progress_epoch_start(&r->prog, ep);
        kiln_status s = run_epoch(m, r, e);
        if (s == KILN_OK && !h->nan_stop)
            s = validate(m, r, e);
        if (s != KILN_OK)
            return s;
        e->seconds = nn_now() - t0;
        h->nepochs++;
        nn_progress_epoch_end(&r->prog, h, e);
        int stop = nn_callbacks_epoch(m, cb, h);
        if (stop < 0)
            return KILN_ERR_IO;
        if (stop || h->nan_stop) {
            h->stopped_early = 1;
            break;
        }
    }
    return KILN_OK;
}

static kiln_history *history_new(const kiln_fit_options *o)
{
    kiln_history *h = calloc(1, sizeof *h);
    if (!h)
        return NULL;
    h->epochs = calloc((size_t)o->epochs, sizeof *h->epochs);
    if (!h->epochs) {
        free(h);
        return NULL;
    }
    h->nmetrics = o->nmetrics;
    memcpy(h->metrics, o->metrics, sizeof h->metrics);
    return h;
}

/* Held-out data: the caller's, or a seeded (stratified) split. */
static kiln_status split_off(kiln_model *m, const kiln_dataset *train,
                             const kiln_fit_options *o, kiln_dataset **tr,
                             kiln_dataset **va)
{
    *tr = *va = NULL;
    if (o->validation_split <= 0)
        return KILN_OK;
    char err[256];
    int stratify = kiln_dataset_y_dtype(train) == KILN_I32;
    kiln_status s = kiln_dataset_split(train, o->validation_split, m->seed,
                                       stratify, tr, va, err, sizeof err);
    if (s != KILN_OK)
        return nn_fail(m, s, "fit: validation_split: %s", err);
    if (kiln_dataset_size(*tr) <= 0)
        return nn_fail(m, KILN_ERR_INVALID_ARGUMENT,
                       "fit: validation_split %g leaves no training data",
                       o->validation_split);
    return KILN_OK;
}

static kiln_status fit_prepare(kiln_model *m, fit_run *r, nn_config cfg)
{
    int64_t n = kiln_dataset_size(r->train);
    cfg.batch = cfg.batch < n ? cfg.batch : n;
    kiln_status s = nn_train_prepare(m, &cfg);
    if (s == KILN_OK && r->val) {
        int64_t nv = kiln_dataset_size(r->val);
        cfg.batch = cfg.batch > 256 ? cfg.batch : 256;
        cfg.batch = cfg.batch < nv ? cfg.batch : nv;
        s = nn_eval_prepare(m, &cfg);
    }
    r->idx = malloc((size_t)n * sizeof *r->idx);
    r->h = history_new(r->o);
    if (s == KILN_OK && (!r->idx || !r->h))
        s = nn_fail(m, KILN_ERR_OUT_OF_MEMORY, "fit: out of memory");
    return s;
}

kiln_history *kiln_fit(kiln_model *m, const kiln_dataset *train,
                       const kiln_dataset *val, const kiln_fit_options *opts)
{
    if (!m)
        return NULL;
    if (!train || !opts)
        return nn_fail(m, KILN_ERR_INVALID_ARGUMENT,
                       "fit: NULL training data or options"), NULL;
    nn_config cfg;
    kiln_dataset *tr = NULL, *va = NULL;
    kiln_status s = nn_fit_check(m, train, val, opts, &cfg);
    if (s == KILN_OK && !val)
        s = split_off(m, train, opts, &tr, &va);
    fit_run r = {opts, tr ? tr : train, val ? val : va, NULL, {0}, NULL};
    if (s == KILN_OK)
        s = fit_prepare(m, &r, cfg);
    nn_callbacks cb;
    memset(&cb, 0, sizeof cb);
    if (s == KILN_OK)
        s = nn_callbacks_begin(m, &cb, opts, r.val != NULL);
    if (s == KILN_OK) {
        int64_t n = kiln_dataset_size(r.train), b = m->train.cfg.batch;
        nn_progress_begin(&r.prog, opts->verbose, opts->epochs, (n + b - 1) / b);
        s = run_epochs(m, &r, &cb);
        s = nn_callbacks_end(m, &cb, r.h, s);
    }
    if (s == KILN_OK) {
        m->last = *opts;
        m->have_fit = 1;
        m->opt = opts->optimizer;
    }
    free(r.idx);
    kiln_dataset_free(tr);
    kiln_dataset_free(va);
    if (s != KILN_OK) {
        kiln_history_free(r.h);
        return NULL;
    }
    return r.h;
}
