/*
 * nn_csv.c — kiln_read_csv: numeric feature columns and one label column.
 *
 * The whole file is read into memory and scanned line by line.  Lines end
 * in "\n" or "\r\n"; blank lines are skipped; the last line may lack its
 * newline.  Fields are separated by ',' and trimmed of spaces and tabs.
 * Quoted fields are not supported and are rejected by name rather than
 * misread.  Every error says "file:line:col: what".
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn_data_internal.h"

#define CSV_MAX_FIELD 256
#define CSV_MAX_CLASSES 100000

typedef struct csv_line {
    const char *p, *end; /* without the line break                       */
    int64_t number;      /* 1-based                                      */
} csv_line;

/* String labels numbered in order of first appearance (open addressing). */
typedef struct label_table {
    char **names;   /* by class number                                 */
    int32_t *slots; /* class + 1, 0 = empty; cap slots                  */
    int32_t count, cap;
} label_table;

typedef struct csv_state {
    const char *path;
    char *err;
    size_t errlen;
    const kiln_csv_options *o;
    int ncols, label_col;
    int int_labels; /* -1 undecided, 1 integers, 0 names               */
    int64_t rows, rows_cap;
    float *x;
    int32_t *yl;
    float *yv;
    label_table names;
} csv_state;

static kiln_status at(csv_state *s, const csv_line *l, const char *where,
                      kiln_status st, const char *msg, const char *arg)
{
    long col = (long)(where - l->p) + 1;
    return nn_data_err(s->err, s->errlen, st, "%s:%lld:%ld: %s%s", s->path,
                       (long long)l->number, col, msg, arg ? arg : "");
}

static uint32_t hash_name(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

static int grow_table(label_table *t)
{
    int32_t ncap = t->cap ? t->cap * 2 : 64;
    int32_t *slots = calloc((size_t)ncap, sizeof *slots);
    char **names = realloc(t->names, (size_t)ncap * sizeof *names);
    if (!slots || !names) {
        free(slots);
        if (names)
            t->names = names;
        return -1;
    }
    t->names = names;
    for (int32_t c = 0; c < t->count; c++) {
        uint32_t h = hash_name(names[c]) & (uint32_t)(ncap - 1);
        while (slots[h])
            h = (h + 1) & (uint32_t)(ncap - 1);
        slots[h] = c + 1;
    }
    free(t->slots);
    t->slots = slots;
    t->cap = ncap;
    return 0;
}

/* The class of `name`, adding it when new; -1 when out of memory. */
static int32_t intern(label_table *t, const char *name)
{
    if (t->cap == 0 || (t->count + 1) * 2 > t->cap)
        if (grow_table(t) != 0)
            return -1;
    uint32_t mask = (uint32_t)t->cap - 1, h = hash_name(name) & mask;
    while (t->slots[h]) {
        int32_t c = t->slots[h] - 1;
        if (strcmp(t->names[c], name) == 0)
            return c;
        h = (h + 1) & mask;
    }
    char *copy = malloc(strlen(name) + 1);
    if (!copy)
        return -1;
    strcpy(copy, name);
    t->names[t->count] = copy;
    t->slots[h] = ++t->count;
    return t->count - 1;
}

static void free_table(label_table *t)
{
    for (int32_t c = 0; c < t->count; c++)
        free(t->names[c]);
    free(t->names);
    free(t->slots);
}

/* Next line of [*cur, end); 0 at the end of the buffer. */
static int next_line(const char **cur, const char *end, csv_line *l)
{
    if (*cur >= end)
        return 0;
    const char *p = *cur, *nl = memchr(p, '\n', (size_t)(end - p));
    const char *e = nl ? nl : end;
    *cur = nl ? nl + 1 : end;
    if (e > p && e[-1] == '\r')
        e--;
    l->p = p;
    l->end = e;
    l->number++;
    return 1;
}

static int is_blank(const csv_line *l)
{
    for (const char *q = l->p; q < l->end; q++)
        if (*q != ' ' && *q != '\t')
            return 0;
    return 1;
}

/* Field starting at *q: trimmed copy into buf; *q moves past the ','.
 * Returns where the field's text starts (for the column), NULL on error
 * (message set). */
static const char *take_field(csv_state *s, const csv_line *l,
                              const char **q, char *buf, kiln_status *st)
{
    const char *p = *q;
    while (p < l->end && (*p == ' ' || *p == '\t'))
        p++;
    const char *start = p;
    const char *comma = memchr(p, ',', (size_t)(l->end - p));
    const char *e = comma ? comma : l->end;
    *q = comma ? comma + 1 : l->end + 1;
    while (e > start && (e[-1] == ' ' || e[-1] == '\t'))
        e--;
    for (const char *c = start; c < e; c++) {
        if (*c == '"' || *c == '\'') {
            *st = at(s, l, c, KILN_ERR_PARSE,
                     "quoted fields are not supported", NULL);
            return NULL;
        }
        if (*c == '\0') {
            *st = at(s, l, c, KILN_ERR_PARSE, "NUL byte in a field", NULL);
            return NULL;
        }
    }
    if ((size_t)(e - start) >= CSV_MAX_FIELD) {
        *st = at(s, l, start, KILN_ERR_PARSE, "field longer than 255 bytes",
                 NULL);
        return NULL;
    }
    memcpy(buf, start, (size_t)(e - start));
    buf[e - start] = '\0';
    return start;
}

static int count_fields(const csv_line *l)
{
    int n = 1;
    for (const char *q = l->p; q < l->end; q++)
        n += *q == ',';
    return n;
}

/* A finite number filling the whole field. */
static int parse_number(const char *buf, double *v)
{
    if (!buf[0])
        return 0;
    char *end;
    errno = 0;
    *v = strtod(buf, &end);
    return *end == '\0' && isfinite(*v) && errno != ERANGE;
}

static int parse_int(const char *buf, long *v)
{
    if (!buf[0])
        return 0;
    char *end;
    errno = 0;
    *v = strtol(buf, &end, 10);
    return *end == '\0' && errno != ERANGE;
}

/* Header detection: the first line is a header when a feature field is
 * text that is not a number (an empty field is left to the data pass,
 * which reports it). */
static int looks_like_header(csv_state *s, const csv_line *l)
{
    const char *q = l->p;
    char buf[CSV_MAX_FIELD];
    kiln_status st;
    for (int c = 0; c < s->ncols; c++) {
        if (!take_field(s, l, &q, buf, &st))
            return 0; /* let the data pass report it */
        double v;
        if (c != s->label_col && buf[0] && !parse_number(buf, &v))
            return 1;
    }
    return 0;
}

static kiln_status grow_rows(csv_state *s)
{
    if (s->rows < s->rows_cap)
        return KILN_OK;
    int64_t cap = s->rows_cap ? s->rows_cap * 2 : 256;
    int nf = s->ncols - 1;
    float *x = realloc(s->x, (size_t)(cap * nf) * sizeof *x);
    if (x)
        s->x = x;
    int32_t *yl = realloc(s->yl, (size_t)cap * sizeof *yl);
    if (yl)
        s->yl = yl;
    float *yv = realloc(s->yv, (size_t)cap * sizeof *yv);
    if (yv)
        s->yv = yv;
    if (!x || !yl || !yv)
        return nn_data_err(s->err, s->errlen, KILN_ERR_OUT_OF_MEMORY,
                           "%s: out of memory at %lld rows", s->path,
                           (long long)s->rows);
    s->rows_cap = cap;
    return KILN_OK;
}

static kiln_status parse_label(csv_state *s, const csv_line *l,
                               const char *where, const char *buf)
{
    double v;
    long iv;
    if (!buf[0])
        return at(s, l, where, KILN_ERR_PARSE, "empty label", NULL);
    if (s->o->values) {
        if (!parse_number(buf, &v))
            return at(s, l, where, KILN_ERR_PARSE, "not a number: ", buf);
        s->yv[s->rows] = (float)v;
        return KILN_OK;
    }
    if (s->int_labels < 0)
        s->int_labels = parse_int(buf, &iv);
    if (s->int_labels) {
        if (!parse_int(buf, &iv))
            return at(s, l, where, KILN_ERR_PARSE,
                      "class label is not an integer like the ones before: ",
                      buf);
        if (iv < 0 || iv >= CSV_MAX_CLASSES)
            return at(s, l, where, KILN_ERR_PARSE,
                      "class label out of range [0, 100000): ", buf);
        s->yl[s->rows] = (int32_t)iv;
        return KILN_OK;
    }
    int32_t c = intern(&s->names, buf);
    if (c < 0)
        return nn_data_err(s->err, s->errlen, KILN_ERR_OUT_OF_MEMORY,
                           "%s: out of memory", s->path);
    if (c >= CSV_MAX_CLASSES)
        return at(s, l, where, KILN_ERR_PARSE,
                  "more than 100000 distinct class names at ", buf);
    s->yl[s->rows] = c;
    return KILN_OK;
}

static kiln_status parse_row(csv_state *s, const csv_line *l)
{
    int n = count_fields(l);
    if (n != s->ncols) {
        char msg[96];
        snprintf(msg, sizeof msg, "expected %d fields, found %d", s->ncols,
                 n);
        return at(s, l, l->p, KILN_ERR_PARSE, msg, NULL);
    }
    kiln_status st = grow_rows(s);
    if (st != KILN_OK)
        return st;
    const char *q = l->p;
    char buf[CSV_MAX_FIELD];
    float *row = s->x + s->rows * (s->ncols - 1);
    for (int c = 0, f = 0; c < s->ncols; c++) {
        const char *where = take_field(s, l, &q, buf, &st);
        if (!where)
            return st;
        if (c == s->label_col) {
            if ((st = parse_label(s, l, where, buf)) != KILN_OK)
                return st;
            continue;
        }
        double v;
        if (!buf[0])
            return at(s, l, where, KILN_ERR_PARSE, "empty field", NULL);
        if (!parse_number(buf, &v))
            return at(s, l, where, KILN_ERR_PARSE, "not a number: ", buf);
        row[f++] = (float)v;
    }
    s->rows++;
    return KILN_OK;
}

/* The first non-blank line fixes the column count and the label column. */
static kiln_status setup_columns(csv_state *s, const csv_line *l)
{
    s->ncols = count_fields(l);
    if (s->ncols < 2)
        return at(s, l, l->p, KILN_ERR_PARSE,
                  "need at least one feature column and a label column",
                  NULL);
    int lc = s->o->label_column;
    if (lc < -1 || lc >= s->ncols) {
        char msg[96];
        snprintf(msg, sizeof msg, "label column %d, but lines have %d fields",
                 lc, s->ncols);
        return at(s, l, l->p, KILN_ERR_INVALID_ARGUMENT, msg, NULL);
    }
    s->label_col = lc < 0 ? s->ncols - 1 : lc;
    return KILN_OK;
}

static kiln_status parse_all(csv_state *s, const char *text, size_t len)
{
    const char *cur = text, *end = text + len;
    csv_line l = {0};
    int first = 1;
    while (next_line(&cur, end, &l)) {
        if (is_blank(&l))
            continue;
        kiln_status st;
        if (first) {
            first = 0;
            if ((st = setup_columns(s, &l)) != KILN_OK)
                return st;
            int h = s->o->header;
            if (h == 1 || (h < 0 && looks_like_header(s, &l)))
                continue;
        }
        if ((st = parse_row(s, &l)) != KILN_OK)
            return st;
    }
    if (s->rows == 0)
        return nn_data_err(s->err, s->errlen, KILN_ERR_PARSE,
                           "%s: no data rows", s->path);
    return KILN_OK;
}

/* Reads the file into a NUL-terminated buffer. */
static char *slurp(const char *path, size_t *len, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        nn_data_err(err, errlen, KILN_ERR_IO, "%s: cannot open: %s", path,
                    strerror(errno));
        return NULL;
    }
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        n += fread(buf + n, 1, cap - n, f);
        if (n < cap)
            break;
        char *nb = realloc(buf, cap * 2);
        if (!nb) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = nb;
        cap *= 2;
    }
    int bad = ferror(f);
    fclose(f);
    if (!buf || bad) {
        free(buf);
        nn_data_err(err, errlen, buf ? KILN_ERR_IO : KILN_ERR_OUT_OF_MEMORY,
                    "%s: %s", path, buf ? "read error" : "out of memory");
        return NULL;
    }
    *len = n;
    return buf;
}

kiln_dataset *kiln_read_csv(const char *path, const kiln_csv_options *opts,
                            char *err, size_t errlen)
{
    static const kiln_csv_options defaults = {-1, -1, 0};
    if (!path) {
        nn_data_err(err, errlen, KILN_ERR_INVALID_ARGUMENT,
                    "read_csv: NULL path");
        return NULL;
    }
    size_t len = 0;
    char *text = slurp(path, &len, err, errlen);
    if (!text)
        return NULL;
    csv_state s = {.path = path, .err = err, .errlen = errlen,
                   .o = opts ? opts : &defaults, .int_labels = -1};
    kiln_status st = parse_all(&s, text, len);
    free(text);
    kiln_dataset *d = NULL;
    if (st == KILN_OK) {
        int64_t xd[1] = {s.ncols - 1}, yd[1] = {1};
        if (s.o->values) {
            d = nn_dataset_adopt(s.rows, 1, xd, s.x, KILN_F32, 1, yd, s.yv,
                                 err, errlen);
            s.yv = NULL;
        } else {
            d = nn_dataset_adopt(s.rows, 1, xd, s.x, KILN_I32, 0, NULL, s.yl,
                                 err, errlen);
            s.yl = NULL;
            /* Text labels: keep their names for kiln_dataset_class_name. */
            if (d && s.names.count > 0 &&
                kiln_dataset_set_class_names(d, s.names.count,
                                             (const char *const *)s.names.names,
                                             err, errlen) != KILN_OK) {
                kiln_dataset_free(d);
                d = NULL;
            }
        }
        s.x = NULL;
    }
    free_table(&s.names);
    free(s.x);
    free(s.yl);
    free(s.yv);
    return d;
}
