/*
 * nn_eval.c — the programs besides training: evaluation (forward with
 * training 0, weighted loss and metric sums, no assigns), prediction,
 * save/load of the model's params, and the history plots.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn/nn_internal.h"

/* A program made now holds the seeded initial weights; it needs a copy
 * when a master exists (which may have moved on). */
static void mark_fresh(kiln_model *m, nn_prog *prog)
{
    prog->synced = nn_master(m) ? ~(uint64_t)0 : m->version;
}

static kiln_status finish_prog(kiln_model *m, nn_prog *prog, kiln_graph *g,
                               const nn_config *cfg, const char *what)
{
    nn_prog next;
    memset(&next, 0, sizeof next);
    next.cfg = *cfg;
    kiln_status s = KILN_OK;
    if (kiln_graph_status(g) != KILN_OK)
        s = nn_fail_graph(m, g, what);
    else if (!(next.p = nn_compile(m, g)))
        s = kiln_graph_status(g);
    if (s == KILN_OK)
        s = nn_prog_buffers(m, &next);
    if (s != KILN_OK) {
        nn_prog_free(&next);
        return s;
    }
    nn_prog_free(prog);
    *prog = next;
    mark_fresh(m, prog);
    return KILN_OK;
}

kiln_status nn_eval_prepare(kiln_model *m, const nn_config *cfg)
{
    if (m->eval.p && nn_config_equal(&m->eval.cfg, cfg, 0))
        return KILN_OK;
    kiln_graph *g = kiln_graph_new();
    if (!g)
        return nn_fail(m, KILN_ERR_OUT_OF_MEMORY, "out of memory");
    kiln_node y, w;
    kiln_node x = nn_inputs(m, g, cfg, &y, &w);
    kiln_node zero = kiln_scalar(g, KILN_I32, 0);
    kiln_node out = kiln_model_forward(m, g, x, 0, zero, zero);
    nn_loss_build(g, out, y, w, cfg->loss, cfg->nmetrics, cfg->metrics);
    kiln_status s = finish_prog(m, &m->eval, g, cfg, "evaluation step");
    kiln_graph_free(g);
    return s;
}

kiln_status nn_eval_run(kiln_model *m, const kiln_dataset *d, double *loss,
                        double *metrics)
{
    nn_prog *P = &m->eval;
    int64_t n = kiln_dataset_size(d), b = P->cfg.batch;
    size_t xrow = P->xbytes / (size_t)b, yrow = P->ybytes / (size_t)b;
    const char *xs = (const char *)kiln_dataset_x(d);
    const char *ys = kiln_dataset_y(d);
    double l = 0, met[KILN_MAX_METRICS] = {0};
    for (int64_t i = 0; i < n; i += b) {
        int64_t count = n - i < b ? n - i : b;
        memcpy(P->x, xs + (size_t)i * xrow, (size_t)count * xrow);
        memcpy(P->y, ys + (size_t)i * yrow, (size_t)count * yrow);
        kiln_status s = nn_step_run(m, P, count, &l, met);
        if (s != KILN_OK)
            return s;
    }
    *loss = l / (double)n;
    for (int i = 0; i < P->cfg.nmetrics; i++)
        metrics[i] = met[i] / (double)n;
    return KILN_OK;
}

kiln_status kiln_evaluate(kiln_model *m, const kiln_dataset *d,
                          const kiln_fit_options *opts, double *loss,
                          double *metrics)
{
    if (!m)
        return KILN_ERR_INVALID_ARGUMENT;
    if (!d || !loss)
        return nn_fail(m, KILN_ERR_INVALID_ARGUMENT,
                       "evaluate: NULL dataset or loss");
    if (!opts && !m->have_fit)
        return nn_fail(m, KILN_ERR_INVALID_ARGUMENT,
                       "evaluate: no options and no fit ran yet: pass the "
                       "loss and metrics in opts");
    const kiln_fit_options *o = opts ? opts : &m->last;
    if (o->nmetrics > 0 && !metrics)
        return nn_fail(m, KILN_ERR_INVALID_ARGUMENT,
                       "evaluate: NULL metrics for %d metrics", o->nmetrics);
    nn_config cfg;
    memset(&cfg, 0, sizeof cfg);
    int64_t od[KILN_MAX_RANK], n = kiln_dataset_size(d);
    int orank = nn_output_shape(m, od);
    if (orank < 0)
        return KILN_ERR_SHAPE;
    if (n <= 0)
        return nn_fail(m, KILN_ERR_INVALID_ARGUMENT, "evaluate: empty dataset");
    cfg.tgt.dtype = kiln_dataset_y_dtype(d);
    cfg.tgt.rank = kiln_dataset_y_shape(d, cfg.tgt.dims);
    kiln_status s = nn_check_loss(m, o->loss, o->nmetrics, o->metrics, orank,
                                  od, &cfg.tgt);
    if (s != KILN_OK)
        return s;
    cfg.loss = o->loss;
    cfg.nmetrics = o->nmetrics;
    memcpy(cfg.metrics, o->metrics, sizeof cfg.metrics);
    /* Reuse the eval program of any batch size; build one only when the
     * loss, metrics or targets change. */
    cfg.batch = m->eval.p ? m->eval.cfg.batch : (n < 256 ? n : 256);
    s = nn_eval_prepare(m, &cfg);
    if (s == KILN_OK)
        s = nn_sync(m, &m->eval);
    double met[KILN_MAX_METRICS];
    if (s == KILN_OK)
        s = nn_eval_run(m, d, loss, met);
    if (s == KILN_OK && o->nmetrics > 0)
        memcpy(metrics, met, (size_t)o->nmetrics * sizeof *met);
    return s;
}

/* The staging area for outputs is y: a target of the output's shape. */
static kiln_status pred_prepare(kiln_model *m, int64_t n, int orank,
                                const int64_t *od)
{
    int64_t b = n < 256 ? n : 256;
    if (m->pred.p && m->pred.cfg.batch >= b)
        return KILN_OK;
    nn_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.batch = b;
    cfg.tgt.dtype = KILN_F32;
    cfg.tgt.rank = orank;
    memcpy(cfg.tgt.dims, od, (size_t)orank * sizeof *od);
    kiln_graph *g = kiln_graph_new();
    if (!g)
        return nn_fail(m, KILN_ERR_OUT_OF_MEMORY, "out of memory");
    int64_t dims[KILN_MAX_RANK] = {b};
    memcpy(dims + 1, m->dims, (size_t)m->rank * sizeof *dims);
    kiln_node x = kiln_input(g, NN_IN_X, KILN_F32, m->rank + 1, dims);
    kiln_node zero = kiln_scalar(g, KILN_I32, 0);
    kiln_node out = kiln_model_forward(m, g, x, 0, zero, zero);
    if (kiln_node_valid(out) && kiln_node_dtype(g, out) != KILN_F32)
        out = kiln_cast(g, out, KILN_F32);
    kiln_output(g, NN_OUT_PRED, out);
    kiln_status s = finish_prog(m, &m->pred, g, &cfg, "prediction");
    kiln_graph_free(g);
    return s;
}

kiln_status kiln_predict(kiln_model *m, int64_t n, const float *x, float *out,
                         size_t out_floats)
{
    if (!m)
        return KILN_ERR_INVALID_ARGUMENT;
    int64_t od[KILN_MAX_RANK], osz = 1;
    int orank = nn_output_shape(m, od);
    if (orank < 0)
        return KILN_ERR_SHAPE;
    for (int i = 0; i < orank; i++)
        osz *= od[i];
    if (n <= 0 || !x || !out)
        return nn_fail(m, KILN_ERR_INVALID_ARGUMENT,
                       "predict: n is %lld, x or out NULL", (long long)n);
    if (out_floats < (size_t)(n * osz))
        return nn_fail(m, KILN_ERR_INVALID_ARGUMENT,
                       "predict: out holds %zu floats; %lld samples of %lld "
                       "outputs need %lld", out_floats, (long long)n,
                       (long long)osz, (long long)(n * osz));
    kiln_status s = pred_prepare(m, n, orank, od);
    if (s == KILN_OK)
        s = nn_sync(m, &m->pred);
    nn_prog *P = &m->pred;
    int64_t b = P->cfg.batch;
    for (int64_t i = 0; s == KILN_OK && i < n; i += b) {
        int64_t count = n - i < b ? n - i : b;
        memcpy(P->x, x + i * m->sample, (size_t)(count * m->sample) * sizeof *x);
        memset(P->x + count * m->sample, 0,
               (size_t)((b - count) * m->sample) * sizeof *x);
        s = kiln_set_input(P->p, NN_IN_X, P->x, P->xbytes);
        if (s == KILN_OK)
            s = kiln_run(P->p);
        /* A full batch goes straight to the caller's buffer, a partial
         * one through the staging area. */
        float *dst = count == b ? out + i * osz : (float *)P->y;
        if (s == KILN_OK)
            s = kiln_get_output(P->p, NN_OUT_PRED, dst,
                                (size_t)(b * osz) * sizeof *dst);
        if (s == KILN_OK && dst != out + i * osz)
            memcpy(out + i * osz, dst, (size_t)(count * osz) * sizeof *dst);
        if (s != KILN_OK)
            return nn_fail_prog(m, P->p, s, "predict");
    }
    return s;
}

/* Save and load need the train program (it holds the optimizer state
 * too); before the first fit one is built for the optimizer of the last
 * fit or of kiln_model_optimizer, with a stand-in loss (params do not
 * depend on the loss). */
static kiln_status ensure_train(kiln_model *m)
{
    if (m->train.p)
        return KILN_OK;
    nn_config cfg;
    memset(&cfg, 0, sizeof cfg);
    int orank = nn_output_shape(m, cfg.tgt.dims);
    if (orank < 0)
        return KILN_ERR_SHAPE;
    cfg.batch = 1;
    cfg.tgt.dtype = KILN_F32;
    cfg.tgt.rank = orank;
    cfg.loss = KILN_LOSS_MSE;
    cfg.opt = m->opt;
    return nn_train_prepare(m, &cfg);
}

kiln_status kiln_model_save(kiln_model *m, const char *path)
{
    if (!m)
        return KILN_ERR_INVALID_ARGUMENT;
    if (!path)
        return nn_fail(m, KILN_ERR_INVALID_ARGUMENT, "save: NULL path");
    kiln_status s = ensure_train(m);
    char err[300];
    if (s == KILN_OK && (s = kiln_save_params(m->train.p, path, err,
                                              sizeof err)) != KILN_OK)
        nn_fail(m, s, "save: %s", err);
    return s;
}

kiln_status kiln_model_load(kiln_model *m, const char *path)
{
    if (!m)
        return KILN_ERR_INVALID_ARGUMENT;
    if (!path)
        return nn_fail(m, KILN_ERR_INVALID_ARGUMENT, "load: NULL path");
    kiln_status s = ensure_train(m);
    char err[300];
    if (s == KILN_OK && (s = kiln_load_params(m->train.p, path, err,
                                              sizeof err)) != KILN_OK)
        return nn_fail(m, s, "load: %s", err);
    m->version++;
    return s;
}

void kiln_model_optimizer(kiln_model *m, kiln_optimizer opt)
{
    if (m)
        m->opt = opt;
}

static kiln_status plot(const char *prefix, const char *what, const char *title,
                        const kiln_curve *c, int nc, int best)
{
    char path[4096], err[256];
    snprintf(path, sizeof path, "%s_%s.svg", prefix, what);
    kiln_status s = kiln_plot_svg(path, title, what, nc, c, best, err, sizeof err);
    if (s != KILN_OK)
        return s;
    snprintf(path, sizeof path, "%s_%s.png", prefix, what);
    s = kiln_plot_png(path, title, what, nc, c, best, err, sizeof err);
    return s == KILN_ERR_UNSUPPORTED ? KILN_OK : s; /* no gnuplot: SVG only */
}

static int has_values(const double *v, int n)
{
    for (int i = 0; i < n; i++)
        if (!isnan(v[i]))
            return 1;
    return 0;
}

/* Curves (train, validation) of one column of the history. */
static kiln_status plot_column(const kiln_history *h, const char *prefix,
                               const char *what, int metric)
{
    int n = h->nepochs;
    double *v = malloc(2 * (size_t)(n ? n : 1) * sizeof *v);
    if (!v)
        return KILN_ERR_OUT_OF_MEMORY;
    for (int i = 0; i < n; i++) {
        const kiln_epoch_log *e = &h->epochs[i];
        v[i] = metric < 0 ? e->loss : e->metric[metric];
        v[n + i] = metric < 0 ? e->val_loss : e->val_metric[metric];
    }
    kiln_curve c[2] = {{"train", v, n}, {"validation", v + n, n}};
    char title[128];
    snprintf(title, sizeof title, "%s per epoch", what);
    kiln_status s = plot(prefix, what, title, c, has_values(v + n, n) ? 2 : 1,
                         h->best_epoch);
    free(v);
    return s;
}

kiln_status kiln_history_plot(const kiln_history *h, const char *path_prefix)
{
    if (!h || !path_prefix || h->nepochs <= 0)
        return KILN_ERR_INVALID_ARGUMENT;
    kiln_status s = plot_column(h, path_prefix, "loss", -1);
    if (s == KILN_OK && h->nmetrics > 0)
        s = plot_column(h, path_prefix, nn_metric_name(h->metrics[0]), 0);
    return s;
}
