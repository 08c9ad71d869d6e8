/*
 * nn_internal.h — what the files of kiln_nn.h share: the model object, the
 * compiled programs it keeps (train, eval, predict) and the helpers that
 * build their graphs.  Uses only the public headers.
 *
 * Who holds the weights (the "master"): the train program once it exists
 * (fit, save or load); before that the param holder once
 * kiln_model_get/set_param made one; before that nobody, and every
 * program starts from the same seeded initialisers, so they agree.  The
 * eval and predict programs copy the weights from the master by name
 * before they run whenever it has changed since their last copy
 * (m->version counts the changes).
 */
#ifndef KILN_NN_INTERNAL_H
#define KILN_NN_INTERNAL_H

#include <stdint.h>
#include <stdio.h>

#include "kiln.h"
#include "kiln_data.h"
#include "kiln_nn.h"

/* Graph names every step program uses. */
#define NN_IN_X "x"
#define NN_IN_Y "y"
#define NN_IN_W "weight"
#define NN_OUT_LOSS "loss_sum"
#define NN_OUT_WSUM "weight_sum"
#define NN_OUT_PRED "out"
#define NN_RNG_SEED "rng.seed"
#define NN_RNG_OFFSET "rng.offset"

/* The targets a step is built for: i32 class labels (rank 0) or f32
 * values of a sample shape. */
typedef struct nn_target {
    kiln_dtype dtype;
    int rank;
    int64_t dims[KILN_MAX_RANK];
} nn_target;

/* What a compiled step program was built for; a program is rebuilt when
 * a later call asks for something else. */
typedef struct nn_config {
    int64_t batch;
    nn_target tgt;
    kiln_loss loss;
    int nmetrics;
    kiln_metric metrics[KILN_MAX_METRICS];
    kiln_optimizer opt; /* train only */
} nn_config;

/* A compiled program with its staging buffers (one batch each) and the
 * output names of its metrics, so a step allocates nothing. */
typedef struct nn_prog {
    kiln_program *p;
    nn_config cfg;
    uint64_t synced; /* m->version whose weights this program holds */
    float *x;        /* batch * sample floats                        */
    void *y;         /* batch targets                                */
    float *w;        /* batch weights                                */
    size_t xbytes, ybytes, wbytes;
    int64_t wbound; /* rows of weight 1 bound now; -1 before the first */
} nn_prog;

/* One model weight: a param of the forward graph. */
typedef struct nn_weight {
    char name[KILN_MAX_NAME];
    size_t nbytes;
    kiln_dtype dtype;
    int rank;
    int64_t dims[KILN_MAX_RANK];
} nn_weight;

struct kiln_model {
    int rank;
    int64_t dims[KILN_MAX_RANK];
    int64_t sample; /* prod(dims) */
    kiln_layer *layers;
    char (*prefix)[KILN_MAX_NAME];
    int nlayers, cap;
    uint64_t seed;
    kiln_backend backend;
    int threads;
    int frozen; /* no more layers after the first compile */
    kiln_optimizer opt; /* of the last fit; builds a train program to load */
    int have_fit;       /* fit options below are those of the last fit */
    kiln_fit_options last;
    nn_prog train, eval, pred;
    /* Holds the weights read or written by kiln_model_get/set_param while
     * no train program exists (the forward graph on the reference
     * backend); the next train program starts from it, then it is freed. */
    kiln_program *holder;
    uint64_t version; /* bumped whenever the master's weights change */
    nn_weight *weights;
    int nweights;
    int out_rank; /* output sample shape, once known (-1 before) */
    int64_t out_dims[KILN_MAX_RANK];
    size_t max_param_bytes;
    void *scratch; /* max_param_bytes, for param copies */
    char err[512];
};

/* ---- nn_model.c ---------------------------------------------------- */

/* Record a formatted error in m and return status. */
kiln_status nn_fail(kiln_model *m, kiln_status status, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
/* The error of a graph or program into m, prefixed with what was tried. */
kiln_status nn_fail_graph(kiln_model *m, kiln_graph *g, const char *what);
kiln_status nn_fail_prog(kiln_model *m, kiln_program *p, kiln_status s,
                         const char *what);
/* Compile with m's backend; a CPU request falls back to the reference
 * backend only when the CPU backend reports it is not built. */
kiln_program *nn_compile(kiln_model *m, kiln_graph *g);
/* The forward graph at batch 1 compiled by the reference backend; the
 * graph too when gout is not NULL.  NULL with the error in m. */
kiln_program *nn_forward_program(kiln_model *m, kiln_graph **gout);
int64_t nn_binding_numel(const kiln_binding *b);
/* Find the model's weights (the params of its forward graph) once. */
kiln_status nn_find_weights(kiln_model *m);
/* Copy params from one program to another by name: only the model's
 * weights, or (all) every param the two programs share. */
kiln_status nn_copy_params(kiln_model *m, kiln_program *from, kiln_program *to,
                           int all);
/* The program holding the current weights (see the top), or NULL. */
kiln_program *nn_master(const kiln_model *m);
/* Make prog hold the current weights (from the master). */
kiln_status nn_sync(kiln_model *m, nn_prog *prog);
void nn_prog_free(nn_prog *prog);
/* Allocate prog's staging buffers for cfg. */
kiln_status nn_prog_buffers(kiln_model *m, nn_prog *prog);
int nn_config_equal(const nn_config *a, const nn_config *b, int with_opt);
size_t nn_target_bytes(const nn_target *t);
int64_t nn_target_numel(const nn_target *t);

/* ---- nn_layers.c --------------------------------------------------- */

/* Build layer i on x; the model's prefix for it is m->prefix[i]. */
kiln_node nn_layer_build(kiln_model *m, int i, kiln_graph *g, kiln_node x,
                         int training, int64_t batch, kiln_node seed,
                         kiln_node offset);
const char *nn_layer_kind_name(const kiln_layer *l);
/* Does any layer draw random numbers in training (dropout, custom)? */
int nn_needs_rng(const kiln_model *m);

/* ---- nn_loss.c ----------------------------------------------------- */

/* Check the loss against the model output's sample shape and the targets,
 * and the metrics against the loss.  A message in m on failure. */
kiln_status nn_check_loss(kiln_model *m, kiln_loss loss, int nmetrics,
                          const kiln_metric *metrics, int out_rank,
                          const int64_t *out_dims, const nn_target *tgt);
/* Append the weighted loss and metric sums for outputs `out` [B, ...]
 * against inputs y and w; marks the outputs NN_OUT_LOSS, NN_OUT_WSUM and
 * nn_metric_output(i).  Returns the mean loss sum(w l) / sum(w) (the node
 * to differentiate). */
kiln_node nn_loss_build(kiln_graph *g, kiln_node out, kiln_node y, kiln_node w,
                        kiln_loss loss, int nmetrics,
                        const kiln_metric *metrics);
const char *nn_metric_output(int i);
const char *nn_metric_name(kiln_metric k);
const char *nn_loss_name(kiln_loss k);

/* ---- nn_fit.c / nn_eval.c ------------------------------------------ */

/* Build the forward graph's inputs (x, y, weight) at cfg's batch. */
kiln_node nn_inputs(kiln_model *m, kiln_graph *g, const nn_config *cfg,
                    kiln_node *y, kiln_node *w);
/* The output sample shape of the model (forward graph at batch 1). */
int nn_output_shape(kiln_model *m, int64_t *dims);
/* (Re)build the train program for cfg, keeping the weights and optimizer
 * state of the previous one. */
kiln_status nn_train_prepare(kiln_model *m, const nn_config *cfg);
/* Run prog on rows [0, count) staged in prog->x / prog->y (the rest is
 * padded with weight 0) and add the loss and metric sums. */
kiln_status nn_step_run(kiln_model *m, nn_prog *prog, int64_t count,
                        double *loss, double *metrics);
/* (Re)build the eval program for cfg. */
kiln_status nn_eval_prepare(kiln_model *m, const nn_config *cfg);
/* Loss and metrics of the eval program over d (already prepared). */
kiln_status nn_eval_run(kiln_model *m, const kiln_dataset *d, double *loss,
                        double *metrics);

/* ---- nn_callbacks.c ------------------------------------------------ */

/* Early stopping, best weights, checkpoint, CSV log for one fit. */
typedef struct nn_callbacks {
    const kiln_fit_options *o;
    int monitor_val; /* the monitored value is val_loss */
    double best;
    int best_epoch;
    int wait;
    void *best_weights; /* concatenated weights of the best epoch */
    FILE *csv;
} nn_callbacks;

kiln_status nn_callbacks_begin(kiln_model *m, nn_callbacks *cb,
                               const kiln_fit_options *o, int have_val);
/* After each epoch: returns 1 to stop, 0 to go on, -1 on error. */
int nn_callbacks_epoch(kiln_model *m, nn_callbacks *cb, kiln_history *h);
/* At the end: restore the best weights when asked; frees cb's state. */
kiln_status nn_callbacks_end(kiln_model *m, nn_callbacks *cb, kiln_history *h,
                             kiln_status status);
/* Read all weights of the train program into buf / write them back. */
kiln_status nn_weights_get(kiln_model *m, void *buf);
kiln_status nn_weights_set(kiln_model *m, const void *buf);
size_t nn_weights_bytes(const kiln_model *m);

/* ---- nn_progress.c ------------------------------------------------- */

typedef struct nn_progress {
    int verbose;
    int tty;
    int epochs;
    int64_t steps;
    double t0;
    double last_draw;
} nn_progress;

double nn_now(void);
void nn_progress_begin(nn_progress *p, int verbose, int epochs, int64_t steps);
void nn_progress_epoch_start(nn_progress *p, int epoch);
/* After step `step` (1-based) with the running averages so far. */
void nn_progress_step(nn_progress *p, int64_t step, double loss,
                      const kiln_history *h, const double *metrics);
void nn_progress_epoch_end(nn_progress *p, const kiln_history *h,
                           const kiln_epoch_log *e);

#endif /* KILN_NN_INTERNAL_H */
