/*
 * nn_callbacks.c — what kiln_fit does at the end of every epoch: track
 * the best monitored value, keep a copy of its weights (early stopping
 * with restore_best), save the best model (checkpoint), append a CSV row,
 * call the user's function, and decide whether to stop.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn/nn_internal.h"

size_t nn_weights_bytes(const kiln_model *m)
{
    size_t n = 0;
    for (int i = 0; i < m->nweights; i++)
        n += m->weights[i].nbytes;
    return n;
}

kiln_status nn_weights_get(kiln_model *m, void *buf)
{
    char *p = buf;
    for (int i = 0; i < m->nweights; i++) {
        const nn_weight *w = &m->weights[i];
        kiln_status s = kiln_get_param(m->train.p, w->name, p, w->nbytes);
        if (s != KILN_OK)
            return nn_fail_prog(m, m->train.p, s, "reading weights");
        p += w->nbytes;
    }
    return KILN_OK;
}

kiln_status nn_weights_set(kiln_model *m, const void *buf)
{
    const char *p = buf;
    for (int i = 0; i < m->nweights; i++) {
        const nn_weight *w = &m->weights[i];
        kiln_status s = kiln_set_param(m->train.p, w->name, p, w->nbytes);
        if (s != KILN_OK)
            return nn_fail_prog(m, m->train.p, s, "writing weights");
        p += w->nbytes;
    }
    m->version++;
    return KILN_OK;
}

static void csv_header(FILE *f, const kiln_fit_options *o)
{
    fprintf(f, "epoch,loss");
    for (int i = 0; i < o->nmetrics; i++)
        fprintf(f, ",%s", nn_metric_name(o->metrics[i]));
    fprintf(f, ",val_loss");
    for (int i = 0; i < o->nmetrics; i++)
        fprintf(f, ",val_%s", nn_metric_name(o->metrics[i]));
    fprintf(f, ",seconds\n");
}

kiln_status nn_callbacks_begin(kiln_model *m, nn_callbacks *cb,
                               const kiln_fit_options *o, int have_val)
{
    memset(cb, 0, sizeof cb[0]);
    cb->o = o;
    cb->monitor_val = have_val && o->early_stopping.monitor_val;
    cb->best = INFINITY;
    if (o->early_stopping.enabled && o->early_stopping.restore_best) {
        cb->best_weights = malloc(nn_weights_bytes(m) + 1);
        if (!cb->best_weights)
            return nn_fail(m, KILN_ERR_OUT_OF_MEMORY, "fit: out of memory");
    }
    if (o->csv_log_path) {
        cb->csv = fopen(o->csv_log_path, "w");
        if (!cb->csv) {
            free(cb->best_weights);
            cb->best_weights = NULL;
            return nn_fail(m, KILN_ERR_IO, "fit: cannot write the CSV log '%s'",
                           o->csv_log_path);
        }
        csv_header(cb->csv, o);
    }
    return KILN_OK;
}

static void csv_row(FILE *f, const kiln_fit_options *o, const kiln_epoch_log *e)
{
    fprintf(f, "%d,%.9g", e->epoch, e->loss);
    for (int i = 0; i < o->nmetrics; i++)
        fprintf(f, ",%.9g", e->metric[i]);
    fprintf(f, ",%.9g", e->val_loss);
    for (int i = 0; i < o->nmetrics; i++)
        fprintf(f, ",%.9g", e->val_metric[i]);
    fprintf(f, ",%.3f\n", e->seconds);
    fflush(f);
}

/* A new best: remember its weights and write the checkpoint. */
static int on_best(kiln_model *m, nn_callbacks *cb, kiln_history *h)
{
    h->best_epoch = cb->best_epoch;
    if (cb->best_weights && nn_weights_get(m, cb->best_weights) != KILN_OK)
        return -1;
    if (cb->o->checkpoint_path) {
        char err[300];
        kiln_status s = kiln_save_params(m->train.p, cb->o->checkpoint_path,
                                         err, sizeof err);
        if (s != KILN_OK)
            return nn_fail(m, s, "fit: checkpoint: %s", err), -1;
    }
    return 0;
}

int nn_callbacks_epoch(kiln_model *m, nn_callbacks *cb, kiln_history *h)
{
    const kiln_epoch_log *e = &h->epochs[h->nepochs - 1];
    const kiln_early_stopping *es = &cb->o->early_stopping;
    if (cb->csv)
        csv_row(cb->csv, cb->o, e);
    double v = cb->monitor_val ? e->val_loss : e->loss;
    int stop = 0;
    if (isfinite(v) && v < cb->best - (es->enabled ? es->min_delta : 0)) {
        cb->best = v;
        cb->best_epoch = e->epoch;
        cb->wait = 0;
        if (on_best(m, cb, h) < 0)
            return -1;
    } else {
        stop = es->enabled && ++cb->wait >= es->patience;
    }
    if (cb->o->on_epoch && cb->o->on_epoch(m, e, cb->o->user))
        stop = 1;
    return stop;
}

kiln_status nn_callbacks_end(kiln_model *m, nn_callbacks *cb, kiln_history *h,
                             kiln_status status)
{
    int last = h && h->nepochs ? h->epochs[h->nepochs - 1].epoch : 0;
    if (status == KILN_OK && cb->best_weights && cb->best_epoch &&
        cb->best_epoch != last) {
        status = nn_weights_set(m, cb->best_weights);
        h->restored_best = status == KILN_OK;
    }
    if (cb->csv && fclose(cb->csv) != 0 && status == KILN_OK)
        status = nn_fail(m, KILN_ERR_IO, "fit: writing the CSV log failed");
    free(cb->best_weights);
    memset(cb, 0, sizeof cb[0]);
    return status;
}
