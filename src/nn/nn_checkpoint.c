/*
 * nn_checkpoint.c — kiln_save_params / kiln_load_params in the safetensors
 * format: an 8-byte little-endian header length N, N bytes of JSON, then
 * the raw little-endian tensor data; "data_offsets" are relative to the
 * start of the data.
 *
 * Saving writes a temporary file next to the target, fsyncs it and renames
 * it over the target, so a crash leaves the old checkpoint or the new one,
 * never half of one.  Loading checks everything (header, names, dtypes,
 * shapes, offsets, file size) before the first kiln_set_param, so a bad
 * file leaves the program untouched.
 */

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nn_data_internal.h"

/* The reference implementation's limit; a larger length is corruption. */
#define ST_MAX_HEADER 100000000u

static const char *const st_dtype[] = {"F32", "F64", "I32", "BOOL"};

static int host_is_big_endian(void)
{
    const uint16_t one = 1;
    return *(const unsigned char *)&one == 0;
}

/* Safetensors data is little-endian: swap each element on a big-endian
 * host (a no-op on the usual ones). */
static void to_little_endian(void *data, size_t nbytes, size_t elem)
{
    if (elem < 2 || !host_is_big_endian())
        return;
    unsigned char *p = data;
    for (size_t i = 0; i + elem <= nbytes; i += elem)
        for (size_t a = 0, b = elem - 1; a < b; a++, b--) {
            unsigned char t = p[i + a];
            p[i + a] = p[i + b];
            p[i + b] = t;
        }
}

static int64_t binding_numel(const kiln_binding *b)
{
    int64_t n = 1;
    for (int i = 0; i < b->rank; i++)
        n *= b->dims[i];
    return n;
}

/* ------------------------------------------------------------------------ */
/* Saving                                                                   */
/* ------------------------------------------------------------------------ */

typedef struct st_text {
    char *s;
    size_t len, cap;
    int oom;
} st_text;

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static void appendf(st_text *t, const char *fmt, ...)
{
    if (t->oom)
        return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(t->s + t->len, t->cap - t->len, fmt, ap);
        va_end(ap);
        if (n < 0) {
            t->oom = 1;
            return;
        }
        if ((size_t)n < t->cap - t->len) {
            t->len += (size_t)n;
            return;
        }
        size_t cap = (t->cap + (size_t)n) * 2;
        char *s = realloc(t->s, cap);
        if (!s) {
            t->oom = 1;
            return;
        }
        t->s = s;
        t->cap = cap;
    }
}

/* The JSON header, padded with spaces to a multiple of 8 bytes so the data
 * starts 8-byte aligned.  *max_bytes gets the largest param's size. */
static kiln_status build_header(kiln_program *p, st_text *t,
                                size_t *max_bytes, char *err, size_t errlen)
{
    t->cap = 256;
    t->s = malloc(t->cap);
    if (!t->s)
        return nn_data_err(err, errlen, KILN_ERR_OUT_OF_MEMORY,
                           "save_params: out of memory");
    t->s[0] = '\0';
    appendf(t, "{\"__metadata__\":{\"format\":\"kiln\"}");
    uint64_t offset = 0;
    *max_bytes = 0;
    int n = kiln_program_binding_count(p);
    for (int i = 0; i < n; i++) {
        kiln_binding b;
        if (kiln_program_binding(p, i, &b) != KILN_OK || b.kind != 'p')
            continue;
        size_t bytes = (size_t)binding_numel(&b) * kiln_dtype_size(b.dtype);
        /* Names are [A-Za-z_][A-Za-z0-9_.]*: nothing to escape. */
        appendf(t, ",\"%s\":{\"dtype\":\"%s\",\"shape\":[", b.name,
                st_dtype[b.dtype]);
        for (int d = 0; d < b.rank; d++)
            appendf(t, "%s%lld", d ? "," : "", (long long)b.dims[d]);
        appendf(t, "],\"data_offsets\":[%llu,%llu]}",
                (unsigned long long)offset,
                (unsigned long long)(offset + bytes));
        offset += bytes;
        if (bytes > *max_bytes)
            *max_bytes = bytes;
    }
    appendf(t, "}");
    while (!t->oom && t->len % 8 != 0)
        appendf(t, " ");
    if (t->oom)
        return nn_data_err(err, errlen, KILN_ERR_OUT_OF_MEMORY,
                           "save_params: out of memory");
    return KILN_OK;
}

static kiln_status write_all(FILE *f, const void *data, size_t n,
                             const char *tmp, char *err, size_t errlen)
{
    if (n > 0 && fwrite(data, 1, n, f) != n)
        return nn_data_err(err, errlen, KILN_ERR_IO, "%s: write failed: %s",
                           tmp, strerror(errno));
    return KILN_OK;
}

/* Header length, header, then each param's bytes in header order. */
static kiln_status write_body(kiln_program *p, FILE *f, const st_text *hdr,
                              size_t max_bytes, const char *tmp, char *err,
                              size_t errlen)
{
    unsigned char len8[8];
    for (int i = 0; i < 8; i++)
        len8[i] = (unsigned char)((uint64_t)hdr->len >> (8 * i));
    kiln_status s = write_all(f, len8, 8, tmp, err, errlen);
    if (s == KILN_OK)
        s = write_all(f, hdr->s, hdr->len, tmp, err, errlen);
    unsigned char *buf = malloc(max_bytes + 1);
    if (!buf && s == KILN_OK)
        s = nn_data_err(err, errlen, KILN_ERR_OUT_OF_MEMORY,
                        "save_params: out of memory");
    int n = kiln_program_binding_count(p);
    for (int i = 0; i < n && s == KILN_OK; i++) {
        kiln_binding b;
        if (kiln_program_binding(p, i, &b) != KILN_OK || b.kind != 'p')
            continue;
        size_t el = kiln_dtype_size(b.dtype);
        size_t bytes = (size_t)binding_numel(&b) * el;
        s = kiln_get_param(p, b.name, buf, bytes);
        if (s != KILN_OK) {
            nn_data_err(err, errlen, s, "save_params: param '%s': %s",
                        b.name, kiln_program_error(p));
            break;
        }
        to_little_endian(buf, bytes, el);
        s = write_all(f, buf, bytes, tmp, err, errlen);
    }
    free(buf);
    return s;
}

/* fsync the directory so the rename itself survives a crash; best effort
 * (some file systems refuse to fsync directories). */
static void sync_dir(const char *path)
{
    const char *slash = strrchr(path, '/');
    char dir[4096];
    if (!slash) {
        strcpy(dir, ".");
    } else {
        size_t n = (size_t)(slash - path);
        if (n >= sizeof dir)
            return;
        memcpy(dir, path, n);
        dir[n ? n : 1] = '\0';
        if (n == 0)
            dir[0] = '/';
    }
    int fd = open(dir, O_RDONLY);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

static kiln_status write_temp(kiln_program *p, const char *tmp, int fd,
                              char *err, size_t errlen)
{
    st_text hdr = {0};
    size_t max_bytes = 0;
    kiln_status s = build_header(p, &hdr, &max_bytes, err, errlen);
    FILE *f = fdopen(fd, "wb");
    if (!f) {
        close(fd);
        free(hdr.s);
        return nn_data_err(err, errlen, KILN_ERR_IO, "%s: %s", tmp,
                           strerror(errno));
    }
    if (s == KILN_OK)
        s = write_body(p, f, &hdr, max_bytes, tmp, err, errlen);
    free(hdr.s);
    if (s == KILN_OK && (fflush(f) != 0 || fsync(fileno(f)) != 0))
        s = nn_data_err(err, errlen, KILN_ERR_IO, "%s: flush failed: %s",
                        tmp, strerror(errno));
    if (fclose(f) != 0 && s == KILN_OK)
        s = nn_data_err(err, errlen, KILN_ERR_IO, "%s: close failed: %s",
                        tmp, strerror(errno));
    return s;
}

/* A new temporary file next to path: "<path>.tmp.<pid>.<k>", created
 * exclusively with mode 0666 less the umask (mkstemp would make every
 * checkpoint 0600).  Returns the descriptor or -1 with errno set. */
static int create_temp(const char *path, char *tmp, size_t size)
{
    for (int k = 0; k < 100; k++) {
        snprintf(tmp, size, "%s.tmp.%ld.%d", path, (long)getpid(), k);
        int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL, 0666);
        if (fd >= 0 || errno != EEXIST)
            return fd;
    }
    return -1;
}

kiln_status kiln_save_params(kiln_program *p, const char *path, char *err,
                             size_t errlen)
{
    if (!p || !path)
        return nn_data_err(err, errlen, KILN_ERR_INVALID_ARGUMENT,
                           "save_params: NULL argument");
    size_t size = strlen(path) + 48;
    char *tmp = malloc(size);
    if (!tmp)
        return nn_data_err(err, errlen, KILN_ERR_OUT_OF_MEMORY,
                           "save_params: out of memory");
    int fd = create_temp(path, tmp, size);
    if (fd < 0) {
        kiln_status s = nn_data_err(err, errlen, KILN_ERR_IO,
                                    "%s: cannot create a temporary file: %s",
                                    tmp, strerror(errno));
        free(tmp);
        return s;
    }
    kiln_status s = write_temp(p, tmp, fd, err, errlen);
    if (s == KILN_OK && rename(tmp, path) != 0)
        s = nn_data_err(err, errlen, KILN_ERR_IO, "%s: rename failed: %s",
                        path, strerror(errno));
    if (s != KILN_OK)
        remove(tmp);
    else
        sync_dir(path);
    free(tmp);
    return s;
}

/* ------------------------------------------------------------------------ */
/* Loading                                                                  */
/* ------------------------------------------------------------------------ */

/* One tensor of the file, matched to a param. */
typedef struct st_entry {
    const char *name;
    kiln_dtype dtype;
    uint64_t begin, end;
} st_entry;

typedef struct st_load {
    const char *path;
    char *err;
    size_t errlen;
    kiln_program *p;
    uint64_t data_size;
    st_entry *entries;
    size_t count;
} st_load;

#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static kiln_status bad(st_load *l, kiln_status s, const char *fmt, ...)
{
    char msg[384];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return nn_data_err(l->err, l->errlen, s, "%s: %s", l->path, msg);
}

static int find_param(kiln_program *p, const char *name, kiln_binding *out)
{
    int n = kiln_program_binding_count(p);
    for (int i = 0; i < n; i++)
        if (kiln_program_binding(p, i, out) == KILN_OK && out->kind == 'p' &&
            strcmp(out->name, name) == 0)
            return 1;
    return 0;
}

static void shape_text(char *buf, size_t n, int rank, const int64_t *dims)
{
    size_t at = (size_t)snprintf(buf, n, "[");
    for (int i = 0; i < rank && at < n; i++)
        at += (size_t)snprintf(buf + at, n - at, "%s%lld", i ? "," : "",
                               (long long)dims[i]);
    if (at < n)
        snprintf(buf + at, n - at, "]");
}

/* dtype string -> kiln dtype; -1 when not one kiln has. */
static int parse_dtype(const char *s)
{
    for (int t = 0; t < KILN_DTYPE_COUNT; t++)
        if (strcmp(s, st_dtype[t]) == 0)
            return t;
    return -1;
}

static kiln_status check_shape(st_load *l, const char *name,
                               const nn_json *shape, const kiln_binding *b)
{
    int64_t dims[KILN_MAX_RANK];
    char want[160], got[160];
    shape_text(want, sizeof want, b->rank, b->dims);
    if (!shape || shape->kind != NN_JSON_ARRAY)
        return bad(l, KILN_ERR_PARSE, "tensor '%s': \"shape\" is missing "
                   "or not an array", name);
    for (size_t i = 0; i < shape->len; i++)
        if (shape->items[i]->kind != NN_JSON_INT || shape->items[i]->ival < 0)
            return bad(l, KILN_ERR_PARSE, "tensor '%s': shape entries must "
                       "be non-negative integers", name);
    int same = shape->len == (size_t)b->rank;
    for (size_t i = 0; same && i < shape->len; i++) {
        dims[i] = shape->items[i]->ival;
        same = dims[i] == b->dims[i];
    }
    if (same)
        return KILN_OK;
    size_t shown = shape->len < KILN_MAX_RANK ? shape->len : KILN_MAX_RANK;
    for (size_t i = 0; i < shown; i++)
        dims[i] = shape->items[i]->ival;
    shape_text(got, sizeof got, (int)shown, dims);
    return bad(l, KILN_ERR_SHAPE, "tensor '%s': shape %s%s, but the param "
               "has shape %s", name, got, shown < shape->len ? "..." : "",
               want);
}

static kiln_status check_offsets(st_load *l, const char *name,
                                 const nn_json *off, const kiln_binding *b,
                                 st_entry *e)
{
    if (!off || off->kind != NN_JSON_ARRAY || off->len != 2 ||
        off->items[0]->kind != NN_JSON_INT ||
        off->items[1]->kind != NN_JSON_INT || off->items[0]->ival < 0 ||
        off->items[1]->ival < 0)
        return bad(l, KILN_ERR_PARSE, "tensor '%s': \"data_offsets\" must "
                   "be [begin, end] with non-negative integers", name);
    e->begin = (uint64_t)off->items[0]->ival;
    e->end = (uint64_t)off->items[1]->ival;
    uint64_t need = (uint64_t)binding_numel(b) * kiln_dtype_size(b->dtype);
    if (e->end < e->begin)
        return bad(l, KILN_ERR_PARSE, "tensor '%s': data_offsets [%llu,%llu] "
                   "end before they begin", name,
                   (unsigned long long)e->begin, (unsigned long long)e->end);
    if (e->end - e->begin != need)
        return bad(l, KILN_ERR_SHAPE, "tensor '%s': data_offsets [%llu,%llu] "
                   "hold %llu bytes, but its shape and dtype need %llu",
                   name, (unsigned long long)e->begin,
                   (unsigned long long)e->end,
                   (unsigned long long)(e->end - e->begin),
                   (unsigned long long)need);
    if (e->end > l->data_size)
        return bad(l, KILN_ERR_PARSE, "tensor '%s': data_offsets [%llu,%llu] "
                   "run past the %llu data bytes of the file (truncated?)",
                   name, (unsigned long long)e->begin,
                   (unsigned long long)e->end,
                   (unsigned long long)l->data_size);
    return KILN_OK;
}

static kiln_status check_metadata(st_load *l, const nn_json *m)
{
    if (m->kind != NN_JSON_OBJECT)
        return bad(l, KILN_ERR_PARSE, "\"__metadata__\" is not an object");
    for (size_t i = 0; i < m->len; i++)
        if (m->items[i]->kind != NN_JSON_STRING)
            return bad(l, KILN_ERR_PARSE, "\"__metadata__\" value '%s' is "
                       "not a string", m->keys[i]);
    return KILN_OK;
}

/* One header entry: an object of exactly dtype, shape and data_offsets
 * that matches the param of the same name. */
static kiln_status check_entry(st_load *l, const char *name,
                               const nn_json *v, st_entry *e)
{
    kiln_binding b;
    if (v->kind != NN_JSON_OBJECT)
        return bad(l, KILN_ERR_PARSE, "tensor '%s' is not an object", name);
    if (!find_param(l->p, name, &b))
        return bad(l, KILN_ERR_NAME, "tensor '%s' is not a param of the "
                   "program", name);
    for (size_t i = 0; i < v->len; i++)
        if (strcmp(v->keys[i], "dtype") && strcmp(v->keys[i], "shape") &&
            strcmp(v->keys[i], "data_offsets"))
            return bad(l, KILN_ERR_PARSE, "tensor '%s': unknown field '%s'",
                       name, v->keys[i]);
    const nn_json *dt = nn_json_get(v, "dtype");
    if (!dt || dt->kind != NN_JSON_STRING)
        return bad(l, KILN_ERR_PARSE, "tensor '%s': \"dtype\" is missing or "
                   "not a string", name);
    int t = parse_dtype(dt->str);
    if (t < 0)
        return bad(l, KILN_ERR_DTYPE, "tensor '%s': unsupported dtype '%s'",
                   name, dt->str);
    if ((kiln_dtype)t != b.dtype)
        return bad(l, KILN_ERR_DTYPE, "tensor '%s': dtype %s, but the param "
                   "is %s", name, dt->str, st_dtype[b.dtype]);
    kiln_status s = check_shape(l, name, nn_json_get(v, "shape"), &b);
    if (s != KILN_OK)
        return s;
    e->name = name;
    e->dtype = b.dtype;
    return check_offsets(l, name, nn_json_get(v, "data_offsets"), &b, e);
}

static int by_begin(const void *a, const void *b)
{
    const st_entry *x = a, *y = b;
    return x->begin < y->begin ? -1 : x->begin > y->begin;
}

/* The tensors must tile the data section exactly: from 0, no overlap, no
 * gap, ending at the end of the file. */
static kiln_status check_layout(st_load *l)
{
    qsort(l->entries, l->count, sizeof *l->entries, by_begin);
    uint64_t at = 0;
    for (size_t i = 0; i < l->count; i++) {
        const st_entry *e = &l->entries[i];
        if (e->begin < at)
            return bad(l, KILN_ERR_PARSE, "tensors '%s' and '%s' overlap "
                       "(bytes %llu to %llu)", l->entries[i - 1].name,
                       e->name, (unsigned long long)e->begin,
                       (unsigned long long)at);
        if (e->begin > at)
            return bad(l, KILN_ERR_PARSE, "unused data bytes %llu to %llu "
                       "before tensor '%s'", (unsigned long long)at,
                       (unsigned long long)e->begin, e->name);
        at = e->end;
    }
    if (at != l->data_size)
        return bad(l, KILN_ERR_PARSE, "the tensors end at data byte %llu, "
                   "but the file has %llu data bytes", (unsigned long long)at,
                   (unsigned long long)l->data_size);
    return KILN_OK;
}

/* Every param of the program must be in the file. */
static kiln_status check_all_present(st_load *l, const nn_json *hdr)
{
    int n = kiln_program_binding_count(l->p);
    for (int i = 0; i < n; i++) {
        kiln_binding b;
        if (kiln_program_binding(l->p, i, &b) == KILN_OK && b.kind == 'p' &&
            !nn_json_get(hdr, b.name))
            return bad(l, KILN_ERR_NAME, "param '%s' is missing from the "
                       "file", b.name);
    }
    return KILN_OK;
}

static kiln_status check_header(st_load *l, const nn_json *hdr)
{
    if (hdr->kind != NN_JSON_OBJECT)
        return bad(l, KILN_ERR_PARSE, "the header is not a JSON object");
    l->entries = calloc(hdr->len + 1, sizeof *l->entries);
    if (!l->entries)
        return bad(l, KILN_ERR_OUT_OF_MEMORY, "out of memory");
    kiln_status s = KILN_OK;
    for (size_t i = 0; i < hdr->len && s == KILN_OK; i++) {
        if (strcmp(hdr->keys[i], "__metadata__") == 0)
            s = check_metadata(l, hdr->items[i]);
        else
            s = check_entry(l, hdr->keys[i], hdr->items[i],
                            &l->entries[l->count++]);
    }
    if (s == KILN_OK)
        s = check_all_present(l, hdr);
    if (s == KILN_OK)
        s = check_layout(l);
    return s;
}

/* Reads exactly n bytes or says why not. */
static kiln_status read_exact(st_load *l, FILE *f, void *buf, uint64_t n,
                              const char *what)
{
    size_t got = fread(buf, 1, (size_t)n, f);
    if (got != n)
        return bad(l, ferror(f) ? KILN_ERR_IO : KILN_ERR_PARSE,
                   "truncated: %s has %zu of %llu bytes", what, got,
                   (unsigned long long)n);
    return KILN_OK;
}

/* The 8-byte length and the JSON header, checked against the file size. */
static kiln_status read_header(st_load *l, FILE *f, uint64_t file_size,
                               nn_json **out)
{
    unsigned char len8[8];
    if (file_size < 8)
        return bad(l, KILN_ERR_PARSE, "truncated: %llu bytes, shorter than "
                   "the 8-byte header length", (unsigned long long)file_size);
    kiln_status s = read_exact(l, f, len8, 8, "the header length");
    if (s != KILN_OK)
        return s;
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--)
        hlen = hlen << 8 | len8[i];
    if (hlen > ST_MAX_HEADER)
        return bad(l, KILN_ERR_PARSE, "header length %llu is over the limit "
                   "of %u bytes (corrupt file?)", (unsigned long long)hlen,
                   ST_MAX_HEADER);
    if (hlen < 2)
        return bad(l, KILN_ERR_PARSE, "header length %llu is too short for "
                   "a JSON object", (unsigned long long)hlen);
    if (hlen > file_size - 8)
        return bad(l, KILN_ERR_PARSE, "truncated: the header needs %llu "
                   "bytes, the file has %llu after the length",
                   (unsigned long long)hlen,
                   (unsigned long long)(file_size - 8));
    char *text = malloc((size_t)hlen);
    if (!text)
        return bad(l, KILN_ERR_OUT_OF_MEMORY, "out of memory");
    s = read_exact(l, f, text, hlen, "the header");
    char jerr[160] = "";
    *out = s == KILN_OK ? nn_json_parse(text, (size_t)hlen, jerr, sizeof jerr)
                        : NULL;
    free(text);
    if (s == KILN_OK && !*out)
        s = bad(l, KILN_ERR_PARSE, "bad JSON header: %s", jerr);
    l->data_size = file_size - 8 - hlen;
    return s;
}

/* All checks passed: read the data and set every param. */
static kiln_status apply(st_load *l, FILE *f)
{
    unsigned char *data = malloc((size_t)l->data_size + 1);
    if (!data)
        return bad(l, KILN_ERR_OUT_OF_MEMORY, "out of memory for %llu bytes",
                   (unsigned long long)l->data_size);
    kiln_status s = read_exact(l, f, data, l->data_size, "the data");
    for (size_t i = 0; i < l->count && s == KILN_OK; i++) {
        const st_entry *e = &l->entries[i];
        size_t n = (size_t)(e->end - e->begin);
        to_little_endian(data + e->begin, n, kiln_dtype_size(e->dtype));
        s = kiln_set_param(l->p, e->name, data + e->begin, n);
        if (s != KILN_OK)
            bad(l, s, "param '%s': %s", e->name, kiln_program_error(l->p));
    }
    free(data);
    return s;
}

kiln_status kiln_load_params(kiln_program *p, const char *path, char *err,
                             size_t errlen)
{
    if (!p || !path)
        return nn_data_err(err, errlen, KILN_ERR_INVALID_ARGUMENT,
                           "load_params: NULL argument");
    st_load l = {.path = path, .err = err, .errlen = errlen, .p = p};
    FILE *f = fopen(path, "rb");
    if (!f)
        return bad(&l, KILN_ERR_IO, "cannot open: %s", strerror(errno));
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        fclose(f);
        return bad(&l, KILN_ERR_IO, "not a regular file");
    }
    nn_json *hdr = NULL;
    kiln_status s = read_header(&l, f, (uint64_t)st.st_size, &hdr);
    if (s == KILN_OK)
        s = check_header(&l, hdr);
    if (s == KILN_OK)
        s = apply(&l, f);
    nn_json_free(hdr);
    free(l.entries);
    fclose(f);
    return s;
}
