/*
 * nn_idx.c — kiln_read_idx: MNIST-format IDX files (u8 images [n, rows,
 * cols] and u8 labels [n]), plain or gzip-compressed.
 *
 * With zlib, gzopen/gzread read both plain and compressed files.  Without
 * it a compressed file is recognised by its magic and refused with
 * KILN_ERR_UNSUPPORTED.  Buffers grow as data actually arrives, so a
 * header claiming billions of images in a tiny file gives "truncated",
 * not a giant allocation.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#ifdef KILN_HAVE_ZLIB
#include <zlib.h>
#endif

#include "nn_data_internal.h"

#define IDX_IMAGES_MAGIC 0x00000803u
#define IDX_LABELS_MAGIC 0x00000801u
#define IDX_CHUNK (1u << 20)

typedef struct idx_file {
    const char *path;
#ifdef KILN_HAVE_ZLIB
    gzFile gz;
#else
    FILE *f;
#endif
} idx_file;

static kiln_status idx_open(idx_file *r, const char *path, char *err,
                            size_t errlen)
{
    r->path = path;
#ifdef KILN_HAVE_ZLIB
    r->gz = gzopen(path, "rb");
    if (!r->gz)
        return nn_data_err(err, errlen, KILN_ERR_IO, "%s: cannot open: %s",
                           path, errno ? strerror(errno) : "out of memory");
    return KILN_OK;
#else
    r->f = fopen(path, "rb");
    if (!r->f)
        return nn_data_err(err, errlen, KILN_ERR_IO, "%s: cannot open: %s",
                           path, strerror(errno));
    unsigned char m[2];
    size_t got = fread(m, 1, 2, r->f);
    if (got == 2 && m[0] == 0x1f && m[1] == 0x8b) {
        fclose(r->f);
        r->f = NULL;
        return nn_data_err(err, errlen, KILN_ERR_UNSUPPORTED,
                           "%s: gzip-compressed, but kiln was built without "
                           "zlib (gunzip it first)", path);
    }
    rewind(r->f);
    return KILN_OK;
#endif
}

static void idx_close(idx_file *r)
{
#ifdef KILN_HAVE_ZLIB
    if (r->gz)
        gzclose(r->gz);
    r->gz = NULL;
#else
    if (r->f)
        fclose(r->f);
    r->f = NULL;
#endif
}

/* Up to n bytes; the count read, or -1 on a read or decompression error
 * (message set). */
static int64_t idx_read(idx_file *r, void *buf, size_t n, char *err,
                        size_t errlen)
{
#ifdef KILN_HAVE_ZLIB
    int64_t total = 0;
    while (n > 0) {
        unsigned part = n > IDX_CHUNK ? IDX_CHUNK : (unsigned)n;
        int got = gzread(r->gz, (char *)buf + total, part);
        if (got < 0) {
            int code;
            const char *msg = gzerror(r->gz, &code);
            nn_data_err(err, errlen, KILN_ERR_IO, "%s: corrupt gzip data: %s",
                        r->path, msg);
            return -1;
        }
        if (got == 0)
            break;
        total += got;
        n -= (size_t)got;
    }
    return total;
#else
    size_t got = fread(buf, 1, n, r->f);
    if (got < n && ferror(r->f)) {
        nn_data_err(err, errlen, KILN_ERR_IO, "%s: read error", r->path);
        return -1;
    }
    return (int64_t)got;
#endif
}

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
           (uint32_t)p[3];
}

/* Reads the header: magic (checked first, so a wrong kind of file is
 * named as such even when it is short), then ndims big-endian u32 dims. */
static kiln_status read_header(idx_file *r, uint32_t magic, int ndims,
                               uint32_t *dims, char *err, size_t errlen)
{
    unsigned char h[16];
    size_t want = 4 + 4 * (size_t)ndims;
    int64_t got = idx_read(r, h, 4, err, errlen);
    if (got == 4 && be32(h) != magic)
        return nn_data_err(err, errlen, KILN_ERR_PARSE,
                           "%s: bad magic 0x%08x, expected 0x%08x (%s)",
                           r->path, (unsigned)be32(h), (unsigned)magic,
                           magic == IDX_IMAGES_MAGIC ? "u8 images, 3 dims"
                                                     : "u8 labels, 1 dim");
    if (got == 4) {
        int64_t more = idx_read(r, h + 4, want - 4, err, errlen);
        got = more < 0 ? -1 : 4 + more;
    }
    if (got < 0)
        return KILN_ERR_IO;
    if ((size_t)got < want)
        return nn_data_err(err, errlen, KILN_ERR_PARSE,
                           "%s: truncated header (%lld of %zu bytes)",
                           r->path, (long long)got, want);
    for (int i = 0; i < ndims; i++) {
        dims[i] = be32(h + 4 + 4 * i);
        if (dims[i] == 0)
            return nn_data_err(err, errlen, KILN_ERR_PARSE,
                               "%s: dim %d is 0", r->path, i);
    }
    return KILN_OK;
}

/* Exactly `want` bytes of u8 data and then the end of the file; the bytes
 * are stored via the callback in chunks (so pixels become floats without
 * a second full-size buffer). */
typedef kiln_status (*idx_sink)(void *ctx, const unsigned char *p, size_t n,
                                int64_t at);

static kiln_status read_body(idx_file *r, int64_t want, idx_sink sink,
                             void *ctx, char *err, size_t errlen)
{
    unsigned char *buf = malloc(IDX_CHUNK);
    if (!buf)
        return nn_data_err(err, errlen, KILN_ERR_OUT_OF_MEMORY,
                           "%s: out of memory", r->path);
    kiln_status s = KILN_OK;
    int64_t done = 0;
    while (s == KILN_OK && done < want) {
        size_t part = want - done > IDX_CHUNK ? IDX_CHUNK
                                              : (size_t)(want - done);
        int64_t got = idx_read(r, buf, part, err, errlen);
        if (got < 0) {
            s = KILN_ERR_IO;
        } else if (got == 0) {
            s = nn_data_err(err, errlen, KILN_ERR_PARSE,
                            "%s: truncated: %lld of %lld data bytes",
                            r->path, (long long)done, (long long)want);
        } else {
            s = sink(ctx, buf, (size_t)got, done);
            done += got;
        }
    }
    if (s == KILN_OK) {
        int64_t extra = idx_read(r, buf, 1, err, errlen);
        if (extra < 0)
            s = KILN_ERR_IO;
        else if (extra > 0)
            s = nn_data_err(err, errlen, KILN_ERR_PARSE,
                            "%s: unexpected bytes after %lld data bytes",
                            r->path, (long long)want);
    }
    free(buf);
    return s;
}

typedef struct grow_buf {
    void *data;
    int64_t cap, elem; /* cap in elements; elem = bytes per element */
    int64_t want;
} grow_buf;

static kiln_status ensure(grow_buf *g, int64_t need)
{
    if (need <= g->cap)
        return KILN_OK;
    int64_t cap = g->cap ? g->cap : (int64_t)IDX_CHUNK;
    while (cap < need)
        cap *= 2;
    if (cap > g->want)
        cap = g->want;
    void *p = realloc(g->data, (size_t)(cap * g->elem));
    if (!p)
        return KILN_ERR_OUT_OF_MEMORY;
    g->data = p;
    g->cap = cap;
    return KILN_OK;
}

static kiln_status pixel_sink(void *ctx, const unsigned char *p, size_t n,
                              int64_t at)
{
    grow_buf *g = ctx;
    if (ensure(g, at + (int64_t)n) != KILN_OK)
        return KILN_ERR_OUT_OF_MEMORY;
    float *x = (float *)g->data + at;
    for (size_t i = 0; i < n; i++)
        x[i] = (float)p[i] * (1.0f / 255.0f);
    return KILN_OK;
}

static kiln_status label_sink(void *ctx, const unsigned char *p, size_t n,
                              int64_t at)
{
    grow_buf *g = ctx;
    if (ensure(g, at + (int64_t)n) != KILN_OK)
        return KILN_ERR_OUT_OF_MEMORY;
    int32_t *y = (int32_t *)g->data + at;
    for (size_t i = 0; i < n; i++)
        y[i] = p[i];
    return KILN_OK;
}

/* Images: at most 2^24 pixels each and 2^40 in all, like any kiln tensor. */
static kiln_status check_image_dims(const char *path, const uint32_t *d,
                                    char *err, size_t errlen)
{
    int64_t per = (int64_t)d[1] * d[2];
    if (per > (INT64_C(1) << 24) || (int64_t)d[0] > (INT64_C(1) << 40) / per)
        return nn_data_err(err, errlen, KILN_ERR_PARSE,
                           "%s: %u x %u x %u images is too large", path,
                           (unsigned)d[0], (unsigned)d[1], (unsigned)d[2]);
    return KILN_OK;
}

/* Opens, checks the header (and, when count is not 0, that dim 0 equals
 * it, before any data is read) and reads the whole body of one file. */
static kiln_status read_file(const char *path, uint32_t magic, int ndims,
                             uint32_t count, const char *count_path,
                             uint32_t *dims, grow_buf *g, idx_sink sink,
                             char *err, size_t errlen)
{
    idx_file r;
    kiln_status s = idx_open(&r, path, err, errlen);
    if (s != KILN_OK)
        return s;
    s = read_header(&r, magic, ndims, dims, err, errlen);
    if (s == KILN_OK && count != 0 && dims[0] != count)
        s = nn_data_err(err, errlen, KILN_ERR_SHAPE,
                        "%s has %u images but %s has %u labels", path,
                        (unsigned)dims[0], count_path, (unsigned)count);
    if (s == KILN_OK && ndims == 3)
        s = check_image_dims(path, dims, err, errlen);
    if (s == KILN_OK) {
        g->want = ndims == 3 ? (int64_t)dims[0] * dims[1] * dims[2] : dims[0];
        s = read_body(&r, g->want, sink, g, err, errlen);
        if (s == KILN_ERR_OUT_OF_MEMORY)
            nn_data_err(err, errlen, s, "%s: out of memory", path);
    }
    idx_close(&r);
    return s;
}

kiln_dataset *kiln_read_idx(const char *images_path, const char *labels_path,
                            char *err, size_t errlen)
{
    if (!images_path || !labels_path) {
        nn_data_err(err, errlen, KILN_ERR_INVALID_ARGUMENT,
                    "read_idx: NULL path");
        return NULL;
    }
    uint32_t ld[1], id[3];
    grow_buf labels = {NULL, 0, 4, 0}, pixels = {NULL, 0, 4, 0};
    if (read_file(labels_path, IDX_LABELS_MAGIC, 1, 0, NULL, ld, &labels,
                  label_sink, err, errlen) != KILN_OK)
        goto fail;
    if (read_file(images_path, IDX_IMAGES_MAGIC, 3, ld[0], labels_path, id,
                  &pixels, pixel_sink, err, errlen) != KILN_OK)
        goto fail;
    int64_t xd[1] = {(int64_t)id[1] * id[2]};
    return nn_dataset_adopt(id[0], 1, xd, pixels.data, KILN_I32, 0, NULL,
                            labels.data, err, errlen);
fail:
    free(labels.data);
    free(pixels.data);
    return NULL;
}
