/*
 * kiln_nn.h — kiln's high-level API: a model as a sequence of layers,
 * trained with kiln_fit.  Built only on the public kiln.h (and
 * kiln_data.h), so everything here can be done by hand with the low-level
 * graph API too — and mixed with it through custom layers.
 *
 *   kiln_model *m = kiln_model_new(1, (int64_t[]){4});      4 features
 *   kiln_model_add(m, kiln_dense(16, KILN_ACT_RELU));
 *   kiln_model_add(m, kiln_dense(3, KILN_ACT_NONE));        logits
 *   kiln_fit_options o = kiln_fit_defaults();
 *   o.loss = KILN_LOSS_SOFTMAX_CE;  o.epochs = 100;
 *   kiln_history *h = kiln_fit(m, train, val, &o);
 *
 * How a step runs: kiln_fit builds one graph per batch size B (forward,
 * loss, gradients and the optimizer update) and compiles it once; the
 * evaluation graph (forward, loss, metrics, no dropout) is compiled once
 * too.  A last partial batch is padded to B and the padded rows get
 * weight 0 in the loss and metrics (an input "weight" of the step), so
 * the gradient equals that of the smaller batch and nothing recompiles.
 *
 * Errors: calls return a kiln_status, NULL or -1 and leave a message in
 * kiln_model_error(m).  Nothing aborts on bad input.
 */
#ifndef KILN_NN_H
#define KILN_NN_H

#include <stdio.h>

#include "kiln.h"
#include "kiln_data.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------ */
/* Layers                                                                   */
/* ------------------------------------------------------------------------ */

typedef enum kiln_activation {
    KILN_ACT_NONE = 0,
    KILN_ACT_RELU,
    KILN_ACT_SIGMOID,
    KILN_ACT_TANH,
    KILN_ACT_GELU,
    KILN_ACT_SOFTMAX /* over the last axis */
} kiln_activation;

typedef enum kiln_layer_kind {
    KILN_LAYER_DENSE = 1,
    KILN_LAYER_ACTIVATION,
    KILN_LAYER_DROPOUT,
    KILN_LAYER_FLATTEN,
    KILN_LAYER_CUSTOM
} kiln_layer_kind;

/* What a custom layer sees.  `prefix` is the layer's unique name ("l3"):
 * name its params "<prefix>.<something>" so checkpoints are stable.
 * `training` is 1 in the training graph and 0 in evaluation/prediction.
 * seed and offset are the model's rank-0 i32 RNG nodes (the params
 * "rng.seed" and "rng.offset" in the training graph, constants elsewhere);
 * fit advances offset by (number of layers + 1) every step, so offset +
 * `rng_stream` (distinct per layer, 1..number of layers) never repeats
 * across layers and steps: draw with that for kiln_dropout and friends. */
typedef struct kiln_layer_ctx {
    const char *prefix;
    int training;
    int64_t batch;
    kiln_node seed, offset;
    int rng_stream;
} kiln_layer_ctx;

/* Build the layer: return its output node for input x (the whole batch,
 * [batch, ...]) using any kiln_* builder on g, or the invalid node with
 * the error left in g.  Called once per compiled graph. */
typedef kiln_node (*kiln_layer_fn)(kiln_graph *g, kiln_node x,
                                   const kiln_layer_ctx *ctx, void *user);

typedef struct kiln_layer {
    kiln_layer_kind kind;
    int64_t units;         /* dense: output features                  */
    kiln_activation act;   /* dense (applied after), activation       */
    kiln_init init;        /* dense weights; kind 0 (zeros) means
                            * Glorot uniform seeded by the model      */
    int use_bias;          /* dense: 1 by default (the helpers)       */
    double rate;           /* dropout: fraction dropped, [0, 1)       */
    kiln_layer_fn fn;      /* custom                                  */
    void *user;            /* custom: passed back to fn               */
    const char *name;      /* optional prefix instead of "l<index>"   */
} kiln_layer;

/* Dense: x [batch, in] @ W [in, units] + b [units], then act (on a
 * higher-rank input [batch, ..., in] it applies to the last axis).
 * Params "<prefix>.w" and "<prefix>.b".  The default init is Glorot
 * uniform seeded from the model seed and the layer's index. */
KILN_API kiln_layer kiln_dense(int64_t units, kiln_activation act);
KILN_API kiln_layer kiln_activation_layer(kiln_activation act);
/* Inverted dropout in training, identity in evaluation. */
KILN_API kiln_layer kiln_dropout_layer(double rate);
/* [batch, d1, d2, ...] -> [batch, d1 * d2 * ...]. */
KILN_API kiln_layer kiln_flatten(void);
KILN_API kiln_layer kiln_custom(kiln_layer_fn fn, void *user);

/* ------------------------------------------------------------------------ */
/* Models                                                                   */
/* ------------------------------------------------------------------------ */

typedef struct kiln_model kiln_model;

/* A sequential model taking samples of shape dims[0..rank) (without the
 * batch axis).  NULL only when out of memory. */
KILN_API kiln_model *kiln_model_new(int rank, const int64_t *dims);
KILN_API void kiln_model_free(kiln_model *m);
KILN_API const char *kiln_model_error(const kiln_model *m);
/* Append a layer (copied; its name string is copied too).  Layers cannot
 * be added after the first fit, evaluate, predict, save, load or param
 * access (kiln_model_param and friends). */
KILN_API kiln_status kiln_model_add(kiln_model *m, kiln_layer layer);
/* Seed of weight initialisation, shuffling and dropout (default 1). */
KILN_API void kiln_model_seed(kiln_model *m, uint64_t seed);
/* Backend and threads used to compile (default: CPU when built, else
 * REF; threads 0 = one per core). */
KILN_API void kiln_model_backend(kiln_model *m, kiln_backend b, int threads);

/* Build the forward graph by hand: append the model's layers to g on input
 * x ([batch, sample dims...]) and return the output node; params are
 * created in g under the layers' prefixes (the same names fit uses, with
 * the same seeded initial values, not the model's current ones: copy those
 * by name with kiln_model_get_param and kiln_set_param), so a low-level
 * training loop can train the same model.  training selects dropout;
 * seed/offset may be invalid nodes when no layer needs them.  The invalid
 * node on error (the message in g, or in kiln_model_error for a bad
 * model). */
KILN_API kiln_node kiln_model_forward(kiln_model *m, kiln_graph *g, kiln_node x,
                                      int training, kiln_node seed,
                                      kiln_node offset);

/* A text summary (one line per layer: name, output shape, params) to f. */
KILN_API void kiln_model_summary(kiln_model *m, FILE *f);

/* ------------------------------------------------------------------------ */
/* Params by name                                                           */
/* ------------------------------------------------------------------------ */

/* The model's params are the weights its layers create ("<prefix>.w" and
 * "<prefix>.b" of a dense layer, whatever a custom layer names), not the
 * optimizer state (that is in checkpoints only).  Like kiln_get_param and
 * kiln_set_param for a program:
 *
 *   float w[4 * 16];                                  dense 4 -> 16, "l0"
 *   kiln_model_get_param(m, "l0.w", w, sizeof w);     [in, units] row-major
 *   kiln_model_set_param(m, "l0.w", w, sizeof w);
 *
 * Any time is fine: before the first fit a param holds its seeded initial
 * value (the one fit would start from) and a value set then is where the
 * next fit, evaluate or predict starts (nothing re-initialises it); after a
 * fit it holds the trained value (the restored best one after early
 * stopping with restore_best), and a value set then is used by the next
 * evaluate and predict, and the next fit continues from it.  The first of
 * these calls fixes the layers, like a fit (kiln_model_add fails after).
 *
 * Errors (with kiln_model_error): KILN_ERR_NAME for a name that is not a
 * param of the model, KILN_ERR_SHAPE when nbytes is not numel * dtype size
 * (the message gives the param's dtype, shape and size),
 * KILN_ERR_INVALID_ARGUMENT for NULL pointers or an index out of range, or
 * the error of a bad model (its layers do not fit its input).  A failed
 * call changes nothing. */

/* Number of params, -1 on error. */
KILN_API int kiln_model_param_count(kiln_model *m);
/* Param `index` (0-based, in the order the layers create them) as a
 * binding of kind 'p': name (owned by m, valid until kiln_model_free),
 * dtype, rank and dims. */
KILN_API kiln_status kiln_model_param(kiln_model *m, int index,
                                      kiln_binding *out);
/* Copy a param's current value into data (nbytes must match exactly). */
KILN_API kiln_status kiln_model_get_param(kiln_model *m, const char *name,
                                          void *data, size_t nbytes);
/* Overwrite a param's value with data (nbytes must match exactly). */
KILN_API kiln_status kiln_model_set_param(kiln_model *m, const char *name,
                                          const void *data, size_t nbytes);

/* ------------------------------------------------------------------------ */
/* Losses, metrics, optimizers                                              */
/* ------------------------------------------------------------------------ */

typedef enum kiln_loss {
    KILN_LOSS_SOFTMAX_CE = 1, /* logits [B, C]; class labels i32, or
                               * one-hot / probability targets f32 [C]  */
    KILN_LOSS_BCE_LOGITS,     /* logits [B, k]; targets f32 [k] in [0,1] */
    KILN_LOSS_MSE             /* outputs [B, ...]; targets same shape   */
} kiln_loss;

typedef enum kiln_metric {
    KILN_METRIC_ACCURACY = 1, /* argmax (or logit > 0 for BCE) vs label  */
    KILN_METRIC_MAE           /* mean absolute error                     */
} kiln_metric;
#define KILN_MAX_METRICS 4

typedef enum kiln_optimizer_kind {
    KILN_OPT_SGD = 1,
    KILN_OPT_ADAM
} kiln_optimizer_kind;

typedef struct kiln_optimizer {
    kiln_optimizer_kind kind;
    kiln_sgd_options sgd;   /* nparams/params ignored: all params      */
    kiln_adam_options adam;
} kiln_optimizer;

static inline kiln_optimizer kiln_opt_sgd(double lr, double momentum)
{
    kiln_optimizer o = {KILN_OPT_SGD, {lr, momentum, 0, 0, 0, 0, NULL},
                        {0, 0, 0, 0, 0, 0, 0, 0, NULL}};
    return o;
}
static inline kiln_optimizer kiln_opt_adam(double lr)
{
    kiln_optimizer o = {KILN_OPT_ADAM, {0, 0, 0, 0, 0, 0, NULL},
                        {lr, 0, 0, 0, 0, 0, 0, 0, NULL}};
    return o;
}

/* ------------------------------------------------------------------------ */
/* Training                                                                 */
/* ------------------------------------------------------------------------ */

/* One row per epoch.  NaN where there is no value (no validation data). */
typedef struct kiln_epoch_log {
    int epoch;                          /* 1-based                        */
    double loss, val_loss;
    double metric[KILN_MAX_METRICS], val_metric[KILN_MAX_METRICS];
    double seconds;
} kiln_epoch_log;

typedef struct kiln_history {
    int nepochs;
    kiln_epoch_log *epochs;
    int nmetrics;
    kiln_metric metrics[KILN_MAX_METRICS];
    int best_epoch;     /* 1-based epoch of the lowest monitored value   */
    int stopped_early;  /* early stopping or a callback ended fit        */
    int restored_best;  /* the best epoch's weights were restored        */
    int nan_stop;       /* stopped because the loss became NaN or inf    */
} kiln_history;
KILN_API void kiln_history_free(kiln_history *h);

/* Called after every epoch; return nonzero to stop training. */
typedef int (*kiln_epoch_fn)(kiln_model *m, const kiln_epoch_log *log,
                             void *user);

typedef struct kiln_early_stopping {
    int enabled;
    int monitor_val;    /* 1 (default): val_loss; 0: training loss      */
    int patience;       /* epochs without improvement before stopping   */
    double min_delta;   /* an improvement must be larger than this      */
    int restore_best;   /* copy the best epoch's params back at the end */
} kiln_early_stopping;

typedef struct kiln_fit_options {
    int epochs;                 /* default 10                             */
    int64_t batch_size;         /* default 32                             */
    kiln_loss loss;             /* required                               */
    int nmetrics;
    kiln_metric metrics[KILN_MAX_METRICS];
    kiln_optimizer optimizer;   /* default Adam 1e-3                      */
    double validation_split;    /* used when val is NULL: fraction held
                                 * out (seeded shuffle first, stratified
                                 * for class labels)                      */
    int shuffle;                /* shuffle every epoch (default 1)        */
    kiln_early_stopping early_stopping;
    const char *checkpoint_path; /* save the best model here (safetensors) */
    const char *csv_log_path;    /* one row per epoch                     */
    int terminate_on_nan;        /* default 1                             */
    int verbose;                 /* 0 silent, 1 progress (bar on a tty,
                                  * one line per epoch otherwise), 2 one
                                  * line per epoch                        */
    kiln_epoch_fn on_epoch;
    void *user;
} kiln_fit_options;

/* Sensible defaults for every field (loss still has to be chosen). */
KILN_API kiln_fit_options kiln_fit_defaults(void);

/* Train.  `val` may be NULL (then validation_split applies, or no
 * validation).  Options are checked (loss against the targets' dtype and
 * shape, metrics against the loss) before anything compiles.  Returns the
 * history (free with kiln_history_free), NULL on error. */
KILN_API kiln_history *kiln_fit(kiln_model *m, const kiln_dataset *train,
                                const kiln_dataset *val,
                                const kiln_fit_options *opts);

/* Loss and metrics of the current weights over a whole dataset, with the
 * loss and metrics of the last fit (or of opts when given; only loss,
 * nmetrics and metrics are read).  metrics receives nmetrics values (may
 * be NULL when there are none).  The evaluation program is compiled once
 * and reused while the loss, metrics and target shape stay the same. */
KILN_API kiln_status kiln_evaluate(kiln_model *m, const kiln_dataset *d,
                                   const kiln_fit_options *opts, double *loss,
                                   double *metrics);
/* Model outputs for n samples x (n * sample size floats) into out
 * (n * output size floats; out_floats must be at least that).  Runs in
 * batches of up to 256, the last one padded. */
KILN_API kiln_status kiln_predict(kiln_model *m, int64_t n, const float *x,
                                  float *out, size_t out_floats);

/* Save / load every param (weights, optimizer state, the dropout RNG
 * offset) of the training program as safetensors.  Before the first fit
 * that program is made for the optimizer set by kiln_model_optimizer
 * (default Adam), so a file saved after fitting with SGD loads into a
 * fresh model only after kiln_model_optimizer(m, kiln_opt_sgd(...)).  A
 * file whose names, dtypes or shapes differ from the model's params is
 * rejected and changes nothing. */
KILN_API kiln_status kiln_model_save(kiln_model *m, const char *path);
KILN_API kiln_status kiln_model_load(kiln_model *m, const char *path);
/* The optimizer whose state save/load expect before the first fit (fit
 * replaces it with the one in its options). */
KILN_API void kiln_model_optimizer(kiln_model *m, kiln_optimizer opt);

/* Loss and (when there is one) first-metric curves, train and
 * validation, with the best epoch marked: <path_prefix>_loss.svg and
 * <path_prefix>_<metric>.svg, plus .png when gnuplot is installed (its
 * absence is not an error).  KILN_ERR_INVALID_ARGUMENT for an empty
 * history, or the status of the failed write. */
KILN_API kiln_status kiln_history_plot(const kiln_history *h,
                                       const char *path_prefix);

#ifdef __cplusplus
}
#endif
#endif /* KILN_NN_H */
