/*
 * nn_loss.c — losses and metrics as weighted per-sample sums.
 *
 * Every loss and metric is sum_i(w_i * v_i) with a per-sample weight w
 * (1 for real rows, 0 for the padding of a last partial batch); the step
 * also returns sum(w), so averages over an epoch are exact and the
 * gradient of sum(w l) / sum(w) is that of the unpadded batch.
 */
#include <stdio.h>

#include "nn/nn_internal.h"

const char *nn_loss_name(kiln_loss k)
{
    switch (k) {
    case KILN_LOSS_SOFTMAX_CE: return "softmax_ce";
    case KILN_LOSS_BCE_LOGITS: return "bce_logits";
    case KILN_LOSS_MSE: return "mse";
    }
    return "?";
}

const char *nn_metric_name(kiln_metric k)
{
    switch (k) {
    case KILN_METRIC_ACCURACY: return "accuracy";
    case KILN_METRIC_MAE: return "mae";
    }
    return "?";
}

const char *nn_metric_output(int i)
{
    static const char *const names[KILN_MAX_METRICS] = {
        "metric0_sum", "metric1_sum", "metric2_sum", "metric3_sum"};
    return i >= 0 && i < KILN_MAX_METRICS ? names[i] : "?";
}

static void shape_text(char *buf, size_t len, int rank, const int64_t *dims)
{
    size_t n = (size_t)snprintf(buf, len, "[");
    for (int i = 0; i < rank && n < len; i++)
        n += (size_t)snprintf(buf + n, len - n, "%s%lld", i ? ", " : "",
                              (long long)dims[i]);
    if (n < len)
        snprintf(buf + n, len - n, "]");
}

static int same_shape(int ra, const int64_t *a, int rb, const int64_t *b)
{
    if (ra != rb)
        return 0;
    for (int i = 0; i < ra; i++)
        if (a[i] != b[i])
            return 0;
    return 1;
}

static kiln_status check_targets(kiln_model *m, kiln_loss loss, int out_rank,
                                 const int64_t *out_dims, const nn_target *t)
{
    char os[128], ts[128];
    shape_text(os, sizeof os, out_rank, out_dims);
    shape_text(ts, sizeof ts, t->rank, t->dims);
    const char *ln = nn_loss_name(loss);
    if (loss == KILN_LOSS_SOFTMAX_CE) {
        if (out_rank != 1)
            return nn_fail(m, KILN_ERR_SHAPE,
                           "loss softmax_ce: the model outputs %s per sample; "
                           "it needs logits [classes]", os);
        if (t->dtype == KILN_I32 && t->rank == 0)
            return KILN_OK;
        if (t->dtype == KILN_F32 && same_shape(t->rank, t->dims, 1, out_dims))
            return KILN_OK;
        return nn_fail(m, KILN_ERR_SHAPE,
                       "loss softmax_ce: targets are %s %s per sample; it "
                       "needs i32 class labels or f32 targets %s like the "
                       "model output", kiln_dtype_name(t->dtype), ts, os);
    }
    if (t->dtype != KILN_F32)
        return nn_fail(m, KILN_ERR_DTYPE,
                       "loss %s: targets are %s class labels; it needs f32 "
                       "targets %s like the model output (use softmax_ce for "
                       "class labels)", ln, kiln_dtype_name(t->dtype), os);
    if (!same_shape(t->rank, t->dims, out_rank, out_dims))
        return nn_fail(m, KILN_ERR_SHAPE,
                       "loss %s: targets are %s per sample but the model "
                       "outputs %s", ln, ts, os);
    return KILN_OK;
}

kiln_status nn_check_loss(kiln_model *m, kiln_loss loss, int nmetrics,
                          const kiln_metric *metrics, int out_rank,
                          const int64_t *out_dims, const nn_target *tgt)
{
    if (loss < KILN_LOSS_SOFTMAX_CE || loss > KILN_LOSS_MSE)
        return nn_fail(m, KILN_ERR_INVALID_ARGUMENT,
                       "fit: loss %d is not a kiln_loss (choose "
                       "KILN_LOSS_SOFTMAX_CE, _BCE_LOGITS or _MSE)", (int)loss);
    if (nmetrics < 0 || nmetrics > KILN_MAX_METRICS)
        return nn_fail(m, KILN_ERR_INVALID_ARGUMENT,
                       "fit: nmetrics %d (want 0..%d)", nmetrics, KILN_MAX_METRICS);
    for (int i = 0; i < nmetrics; i++) {
        kiln_metric k = metrics[i];
        int ok = (k == KILN_METRIC_ACCURACY && loss != KILN_LOSS_MSE) ||
                 (k == KILN_METRIC_MAE && loss == KILN_LOSS_MSE);
        if (k != KILN_METRIC_ACCURACY && k != KILN_METRIC_MAE)
            return nn_fail(m, KILN_ERR_INVALID_ARGUMENT,
                           "fit: metric %d is not a kiln_metric", (int)k);
        if (!ok)
            return nn_fail(m, KILN_ERR_INVALID_ARGUMENT,
                           "fit: metric %s does not go with loss %s "
                           "(accuracy needs softmax_ce or bce_logits, mae "
                           "needs mse)", nn_metric_name(k), nn_loss_name(loss));
    }
    return check_targets(m, loss, out_rank, out_dims, tgt);
}

/* Mean over every axis but the batch axis: [B, ...] -> [B]. */
static kiln_node per_sample(kiln_graph *g, kiln_node e)
{
    int rank = kiln_node_rank(g, e);
    if (rank <= 1)
        return e;
    int axes[KILN_MAX_RANK];
    for (int i = 1; i < rank; i++)
        axes[i - 1] = i;
    return kiln_mean(g, e, rank - 1, axes, 0);
}

/* Stable BCE with logits: max(x, 0) - x y + log1p(exp(-|x|)). */
static kiln_node bce(kiln_graph *g, kiln_node x, kiln_node y)
{
    kiln_node zero = kiln_scalar(g, KILN_F32, 0);
    kiln_node lin = kiln_sub(g, kiln_maximum(g, x, zero), kiln_mul(g, x, y));
    return kiln_add(g, lin, kiln_log1p(g, kiln_exp(g, kiln_neg(g, kiln_abs(g, x)))));
}

static kiln_node per_sample_loss(kiln_graph *g, kiln_node out, kiln_node y,
                                 kiln_loss loss)
{
    switch (loss) {
    case KILN_LOSS_SOFTMAX_CE: {
        kiln_node t = y;
        if (kiln_node_dtype(g, y) == KILN_I32) {
            int64_t dims[KILN_MAX_RANK];
            kiln_node_shape(g, out, dims);
            t = kiln_one_hot(g, y, (int)dims[1], KILN_F32);
        }
        kiln_node lp = kiln_mul(g, t, kiln_log_softmax(g, out, -1));
        return kiln_neg(g, kiln_sum(g, lp, 1, (int[]){-1}, 0));
    }
    case KILN_LOSS_BCE_LOGITS: return per_sample(g, bce(g, out, y));
    case KILN_LOSS_MSE: return per_sample(g, kiln_square(g, kiln_sub(g, out, y)));
    }
    return (kiln_node){0};
}

static kiln_node per_sample_metric(kiln_graph *g, kiln_node out, kiln_node y,
                                   kiln_loss loss, kiln_metric k)
{
    if (k == KILN_METRIC_MAE)
        return per_sample(g, kiln_abs(g, kiln_sub(g, out, y)));
    if (loss == KILN_LOSS_BCE_LOGITS) {
        kiln_node zero = kiln_scalar(g, KILN_F32, 0);
        kiln_node half = kiln_scalar(g, KILN_F32, 0.5);
        kiln_node hit = kiln_eq(g, kiln_gt(g, out, zero), kiln_gt(g, y, half));
        return per_sample(g, kiln_cast(g, hit, KILN_F32));
    }
    kiln_node label = y;
    if (kiln_node_dtype(g, y) != KILN_I32)
        label = kiln_argmax(g, y, 1, 0);
    kiln_node hit = kiln_eq(g, kiln_argmax(g, out, 1, 0), label);
    return kiln_cast(g, hit, KILN_F32);
}

static kiln_node weighted_sum(kiln_graph *g, kiln_node v, kiln_node w)
{
    return kiln_sum(g, kiln_mul(g, v, w), 0, NULL, 0);
}

kiln_node nn_loss_build(kiln_graph *g, kiln_node out, kiln_node y, kiln_node w,
                        kiln_loss loss, int nmetrics,
                        const kiln_metric *metrics)
{
    kiln_node lsum = weighted_sum(g, per_sample_loss(g, out, y, loss), w);
    kiln_node wsum = kiln_sum(g, w, 0, NULL, 0);
    kiln_output(g, NN_OUT_LOSS, lsum);
    kiln_output(g, NN_OUT_WSUM, wsum);
    for (int i = 0; i < nmetrics; i++) {
        kiln_node v = per_sample_metric(g, out, y, loss, metrics[i]);
        kiln_output(g, nn_metric_output(i), weighted_sum(g, v, w));
    }
    return kiln_div(g, lsum, wsum);
}
