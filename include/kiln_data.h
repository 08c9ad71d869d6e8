/*
 * kiln_data.h — datasets, checkpoints and plots for kiln's high-level API
 * (kiln_nn.h).  Everything here is built on the public kiln.h only.
 *
 * Errors: functions returning a pointer return NULL on failure and copy a
 * message into err (errlen bytes, may be NULL/0); functions returning a
 * kiln_status do the same with a non-KILN_OK status.  Nothing aborts on bad
 * input or bad files.
 */
#ifndef KILN_DATA_H
#define KILN_DATA_H

#include "kiln.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------ */
/* In-memory datasets                                                       */
/* ------------------------------------------------------------------------ */

/* n samples.  Features x are f32, each sample of shape x_dims[0..x_rank)
 * (the sample shape, without n; x_rank 1..7).  Targets y are either class
 * labels (y_dtype KILN_I32, y_rank 0: one label per sample, >= 0) or
 * values (y_dtype KILN_F32, each sample of shape y_dims[0..y_rank)). */
typedef struct kiln_dataset kiln_dataset;

/* Copies x (n * prod(x_dims) floats) and y.  NULL with err on bad shapes,
 * a negative label, or out of memory.  n may be 0 (x and y may then be
 * NULL); at most 2^40 elements in x and in y. */
KILN_API kiln_dataset *kiln_dataset_new(int64_t n, int x_rank,
                                        const int64_t *x_dims, const float *x,
                                        kiln_dtype y_dtype, int y_rank,
                                        const int64_t *y_dims, const void *y,
                                        char *err, size_t errlen);
KILN_API void kiln_dataset_free(kiln_dataset *d);

KILN_API int64_t kiln_dataset_size(const kiln_dataset *d);
/* Sample shape of x into dims (KILN_MAX_RANK long); returns x_rank. */
KILN_API int kiln_dataset_x_shape(const kiln_dataset *d, int64_t *dims);
/* Sample shape of y into dims; returns y_rank (0 for class labels). */
KILN_API int kiln_dataset_y_shape(const kiln_dataset *d, int64_t *dims);
KILN_API kiln_dtype kiln_dataset_y_dtype(const kiln_dataset *d);
/* Class labels: 1 + the largest label; 0 for value targets. */
KILN_API int kiln_dataset_classes(const kiln_dataset *d);
/* The name of class i ("setosa"), or NULL when the dataset has no class
 * names or i is outside [0, number of names).  kiln_read_csv names the
 * classes of a text label column; kiln_dataset_set_class_names names them
 * by hand.  Names are kept by kiln_dataset_slice and kiln_dataset_split
 * (all of them, also in a part that lacks some classes, since they name
 * the label coding) and by shuffle and standardize (which change d in
 * place); the string is owned by d. */
KILN_API const char *kiln_dataset_class_name(const kiln_dataset *d, int i);
/* Give classes 0..n-1 the names names[0..n) (copied; n >= 1, none NULL,
 * at least as many names as kiln_dataset_classes), replacing any names
 * d had; n 0 removes them.  Class labels only. */
KILN_API kiln_status kiln_dataset_set_class_names(kiln_dataset *d, int n,
                                                  const char *const *names,
                                                  char *err, size_t errlen);
/* Row-major storage: x is size * prod(x_dims) floats, y likewise. */
KILN_API const float *kiln_dataset_x(const kiln_dataset *d);
KILN_API const void *kiln_dataset_y(const kiln_dataset *d);

/* Permute the samples in place with a seeded Fisher-Yates shuffle. */
KILN_API void kiln_dataset_shuffle(kiln_dataset *d, uint64_t seed);
/* A copy of samples [start, start + count). */
KILN_API kiln_dataset *kiln_dataset_slice(const kiln_dataset *d, int64_t start,
                                          int64_t count, char *err,
                                          size_t errlen);
/* Split into *first (1 - fraction of the samples) and *second (fraction,
 * rounded to nearest, at least 1 when fraction > 0; fraction in [0, 1]).
 * The samples are shuffled with `seed` BEFORE the split; with `stratify`
 * (class labels only) each class is split in the same proportion: class c
 * gives floor(fraction * n_c) samples, and the few still missing to reach
 * the rounded total come one each from the classes with the largest
 * remainders.  Both parts keep the shuffled order.  d is unchanged. */
KILN_API kiln_status kiln_dataset_split(const kiln_dataset *d, double fraction,
                                        uint64_t seed, int stratify,
                                        kiln_dataset **first,
                                        kiln_dataset **second, char *err,
                                        size_t errlen);
/* Copy the samples idx[0..count) into x_out (count * prod(x_dims) floats)
 * and y_out (count labels or target samples); either may be NULL.  An
 * index outside [0, size) yields zeros. */
KILN_API void kiln_dataset_gather(const kiln_dataset *d, const int64_t *idx,
                                  int64_t count, float *x_out, void *y_out);
/* Per-feature standardisation: compute mean and (population) standard
 * deviation over `fit` and apply (x - mean) / std (std 0 treated as 1) to
 * fit and to each of others[0..nothers).  Every dataset must have fit's
 * sample shape; fit must not be empty. */
KILN_API kiln_status kiln_dataset_standardize(kiln_dataset *fit, int nothers,
                                              kiln_dataset *const *others,
                                              char *err, size_t errlen);

/* ------------------------------------------------------------------------ */
/* Readers                                                                  */
/* ------------------------------------------------------------------------ */

typedef struct kiln_csv_options {
    int label_column; /* column of the target; -1 means the last          */
    int header;       /* 1: skip the first line; 0: none; -1: detect
                       * (skipped when it has a non-numeric feature field) */
    int values;       /* 0: the label is a class (integers, or strings
                       * numbered in order of first appearance); 1: a
                       * numeric f32 target value                         */
} kiln_csv_options;

/* A CSV file of numeric feature columns and one label column, ',' separated.
 * opts may be NULL (last column, detect header, classes).  Lines end in
 * "\n" or "\r\n" (the last may have none); blank lines are skipped; fields
 * are trimmed of spaces and tabs; quoted fields are rejected.  Features
 * must be finite numbers.  x has sample shape [columns - 1]; class labels
 * are i32 (integer labels as written, 0 <= label < 100000; otherwise names
 * numbered 0, 1, ... in order of first appearance, decided by the first
 * data row, and kiln_dataset_class_name gives the names back); value
 * targets are f32 with sample shape [1].  Errors read
 * "file:line:col: what" ("file: no data rows" for an empty file). */
KILN_API kiln_dataset *kiln_read_csv(const char *path,
                                     const kiln_csv_options *opts, char *err,
                                     size_t errlen);

/* MNIST-format IDX files: images (u8, [n, rows, cols], magic 0x00000803)
 * and labels (u8, [n], magic 0x00000801); gzip-compressed files are
 * inflated with zlib (KILN_ERR_UNSUPPORTED when kiln was built without
 * it).  Pixels are scaled to [0, 1].  x has sample shape [rows * cols].
 * Checked: both magics, no zero dim, equal counts, the exact data size
 * (a short file is "truncated", trailing bytes are an error), corrupt gzip
 * data; messages start with the file's path. */
KILN_API kiln_dataset *kiln_read_idx(const char *images_path,
                                     const char *labels_path, char *err,
                                     size_t errlen);

/* ------------------------------------------------------------------------ */
/* Checkpoints (safetensors)                                                */
/* ------------------------------------------------------------------------ */

/* Write every param of p (weights and optimizer state) to `path` in the
 * safetensors format: an 8-byte little-endian header length, a JSON header
 * {"name": {"dtype": "F32"|"F64"|"I32"|"BOOL", "shape": [...],
 * "data_offsets": [begin, end]}, ..., "__metadata__": {"format": "kiln"}},
 * then the raw little-endian data.  Written atomically: a temporary file
 * in the same directory, fsync, rename. */
KILN_API kiln_status kiln_save_params(kiln_program *p, const char *path,
                                      char *err, size_t errlen);
/* Read a file written by kiln_save_params (or any safetensors file holding
 * exactly p's params, in any order, padded or not): the header (at most
 * 100 MB of strict JSON, nesting depth 16, integers only, no duplicate
 * keys), each tensor's name (a param of p; every param present), dtype,
 * shape and data_offsets (the size numel * dtype size, the tensors tiling
 * the data section with no gap or overlap up to the end of the file) are
 * all checked before any param changes.  A truncated or corrupt file is
 * rejected with "path: what is wrong" and p keeps its values. */
KILN_API kiln_status kiln_load_params(kiln_program *p, const char *path,
                                      char *err, size_t errlen);

/* ------------------------------------------------------------------------ */
/* Plots                                                                    */
/* ------------------------------------------------------------------------ */

typedef struct kiln_curve {
    const char *name;  /* legend text                                  */
    const double *y;   /* y[0..n): one value per epoch (NaN: no point) */
    int n;
} kiln_curve;

/* Line plot of the curves against epoch 1..n as an SVG file; mark_epoch
 * (1-based; 0 for none) gets a dashed vertical marker labelled
 * "best (epoch N)".  Non-finite values are gaps (a lone point between
 * gaps is drawn as a dot).  Axes with "nice" ticks, a grid and a legend;
 * text is XML-escaped.  Self-contained SVG, no external tool. */
KILN_API kiln_status kiln_plot_svg(const char *path, const char *title,
                                   const char *ylabel, int ncurves,
                                   const kiln_curve *curves, int mark_epoch,
                                   char *err, size_t errlen);
/* The same as PNG through gnuplot when it is installed;
 * KILN_ERR_UNSUPPORTED (and a message) when it is not. */
KILN_API kiln_status kiln_plot_png(const char *path, const char *title,
                                   const char *ylabel, int ncurves,
                                   const kiln_curve *curves, int mark_epoch,
                                   char *err, size_t errlen);

#ifdef __cplusplus
}
#endif
#endif /* KILN_DATA_H */
