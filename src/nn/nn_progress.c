/*
 * nn_progress.c — what fit prints.  On a terminal (verbose 1) a
 * Keras-like line redrawn with '\r' (bar, step/steps, ETA, loss,
 * metrics), throttled so drawing never costs a measurable part of a
 * step; otherwise (or verbose 2) one plain line per epoch.
 */
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "nn/nn_internal.h"

double nn_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void nn_progress_begin(nn_progress *p, int verbose, int epochs, int64_t steps)
{
    p->verbose = verbose;
    p->tty = verbose == 1 && isatty(fileno(stdout));
    p->epochs = epochs;
    p->steps = steps;
    p->t0 = p->last_draw = 0;
}

void nn_progress_epoch_start(nn_progress *p, int epoch)
{
    p->t0 = nn_now();
    p->last_draw = 0;
    if (p->tty)
        printf("Epoch %d/%d\n", epoch, p->epochs);
}

static void print_metrics(const char *pre, int n, const kiln_metric *k,
                          const double *v)
{
    for (int i = 0; i < n; i++)
        printf(" - %s%s: %.4f", pre, nn_metric_name(k[i]), v[i]);
}

void nn_progress_step(nn_progress *p, int64_t step, double loss,
                      const kiln_history *h, const double *metrics)
{
    if (!p->tty)
        return;
    double now = nn_now();
    if (step < p->steps && now - p->last_draw < 0.05)
        return;
    p->last_draw = now;
    enum { WIDTH = 30 };
    char bar[WIDTH + 1];
    int fill = (int)(WIDTH * step / p->steps);
    for (int i = 0; i < WIDTH; i++)
        bar[i] = i < fill ? '=' : i == fill ? '>' : '.';
    bar[WIDTH] = 0;
    double eta = (now - p->t0) / (double)step * (double)(p->steps - step);
    int w = snprintf(NULL, 0, "%lld", (long long)p->steps);
    printf("\r%*lld/%lld [%s] - ETA: %.0fs - loss: %.4f", w, (long long)step,
           (long long)p->steps, bar, eta, loss);
    print_metrics("", h->nmetrics, h->metrics, metrics);
    printf("\033[K"); /* clear what a longer previous line left */
    fflush(stdout);
}

void nn_progress_epoch_end(nn_progress *p, const kiln_history *h,
                           const kiln_epoch_log *e)
{
    if (p->verbose <= 0)
        return;
    if (p->tty)
        printf("\r%lld/%lld [==============================]",
               (long long)p->steps, (long long)p->steps);
    else
        printf("Epoch %d/%d", e->epoch, p->epochs);
    if (e->seconds < 1)
        printf(" - %.0fms - loss: %.4f", e->seconds * 1e3, e->loss);
    else
        printf(" - %.1fs - loss: %.4f", e->seconds, e->loss);
    print_metrics("", h->nmetrics, h->metrics, e->metric);
    if (e->val_loss == e->val_loss) {
        printf(" - val_loss: %.4f", e->val_loss);
        print_metrics("val_", h->nmetrics, h->metrics, e->val_metric);
    }
    printf(p->tty ? "\033[K\n" : "\n");
    fflush(stdout);
}
