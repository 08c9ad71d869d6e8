/*
 * cuda_emit_expr.c — kernel expressions as straight-line CUDA C: one
 * `const T v<i> = ...;` per expression, written on first use, loads and
 * stores through the accesses' affine maps with constant strides.
 *
 * In the float4 path (f->lane >= 0) the DAG is written once per lane with
 * the last axis's index set to base + lane; accesses marked in vec_acc are
 * read once as a float4 ("q<a>") and each lane takes its component.
 */
#include <stdio.h>
#include <string.h>

#include "cuda_emit_internal.h"

const char *cuda_ctype(kiln_dtype t)
{
    switch (t) {
    case KILN_F32: return "float";
    case KILN_F64: return "double";
    case KILN_I32: return "int";
    default: return "bool";
    }
}

const char *cuda_memtype(kiln_dtype t)
{
    return t == KILN_BOOL ? "unsigned char" : cuda_ctype(t);
}

const char *cuda_suffix(kiln_dtype t)
{
    switch (t) {
    case KILN_F32: return "f";
    case KILN_F64: return "d";
    case KILN_I32: return "i";
    default: return "b";
    }
}

kiln_dtype cuda_out_dtype(const cuda_fn *f)
{
    return f->p->g->nodes[f->k->node].type.dtype;
}

void cuda_line(cuda_fn *f, const char *fmt, ...)
{
    char buf[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    for (int i = 0; i < f->indent; i++)
        cuda_put(f->out, "    ");
    cuda_put(f->out, buf);
    cuda_put(f->out, "\n");
}

void cuda_memo_clear(cuda_fn *f)
{
    memset(f->memo, 0, (size_t)f->k->nexpr * sizeof *f->memo);
}

void cuda_buf_name(uint32_t b, char *buf, size_t len)
{
    snprintf(buf, len, "b%u", (unsigned)b);
}

/* ---- constants ------------------------------------------------------- */

void cuda_literal(kiln_dtype t, double v, char *buf, size_t len)
{
    double r = ir_round_to(t, v);
    if (t == KILN_BOOL) {
        snprintf(buf, len, "%s", r != 0 ? "true" : "false");
        return;
    }
    if (t == KILN_I32) {
        if (r == -2147483648.0)
            snprintf(buf, len, "KILN_INT_MIN");
        else
            snprintf(buf, len, "%d", (int)r);
        return;
    }
    bool d = t == KILN_F64;
    if (r != r) {
        snprintf(buf, len, "%s", d ? "KILN_NAN_D" : "KILN_NAN_F");
        return;
    }
    if (r == 1.0 / 0.0 || r == -1.0 / 0.0) {
        snprintf(buf, len, "%s%s", r < 0 ? "-" : "", d ? "KILN_INF_D" : "KILN_INF_F");
        return;
    }
    char num[64];
    snprintf(num, sizeof num, d ? "%.17g" : "%.9g", r);
    /* "1" is an integer literal: make it a floating one */
    if (!strpbrk(num, ".e"))
        strcat(num, ".0");
    snprintf(buf, len, "%s%s%s", r < 0 || (r == 0 && 1 / r < 0) ? "(" : "", num,
             d ? "" : "f");
    if (num[0] == '-')
        strncat(buf, ")", len - strlen(buf) - 1);
}

/* ---- addressing ------------------------------------------------------- */

static bool has_idx(const cuda_fn *f, int d) { return f->idx[d][0] != '\0'; }

void cuda_access_index(const cuda_fn *f, int a, char *buf, size_t len)
{
    const k_access *x = &f->k->acc[a];
    bool wide = f->itype[0] == 'l';
    size_t n = (size_t)snprintf(buf, len, "%lld%s", (long long)x->offset, wide ? "LL" : "");
    bool zero = x->offset == 0;
    for (int d = 0; d < f->k->rank && n < len; d++) {
        if (x->stride[d] == 0 || !has_idx(f, d))
            continue;
        if (zero)
            n = 0;
        if (x->stride[d] == 1)
            n += (size_t)snprintf(buf + n, len - n, "%s%s", zero ? "" : " + ", f->idx[d]);
        else
            n += (size_t)snprintf(buf + n, len - n, "%s%s * %lld%s", zero ? "" : " + ",
                                  f->idx[d], (long long)x->stride[d], wide ? "LL" : "");
        zero = false;
    }
}

void cuda_access_inside(const cuda_fn *f, int a, char *buf, size_t len)
{
    const k_access *x = &f->k->acc[a];
    size_t n = 0;
    buf[0] = '\0';
    if (!x->guarded)
        return;
    for (int d = 0; d < f->k->rank && n < len; d++) {
        if (!has_idx(f, d)) { /* index 0: decided here */
            if (x->lo[d] > 0 || x->hi[d] <= 0) {
                snprintf(buf, len, "false");
                return;
            }
            continue;
        }
        if (x->lo[d] > 0)
            n += (size_t)snprintf(buf + n, len - n, "%s%s >= %lld", n ? " && " : "",
                                  f->idx[d], (long long)x->lo[d]);
        if (x->hi[d] < f->k->dims[d])
            n += (size_t)snprintf(buf + n, len - n, "%s%s < %lld", n ? " && " : "",
                                  f->idx[d], (long long)x->hi[d]);
    }
}

bool cuda_needs_wide_index(const kernel *k)
{
    const int64_t limit = (int64_t)1 << 30;
    int64_t total = 1;
    for (int d = 0; d < k->rank; d++)
        total *= k->dims[d];
    if (total >= limit)
        return true;
    for (int a = 0; a < k->nacc; a++) {
        const k_access *x = &k->acc[a];
        int64_t reach = x->offset < 0 ? -x->offset : x->offset;
        for (int d = 0; d < k->rank; d++) {
            int64_t s = x->stride[d] < 0 ? -x->stride[d] : x->stride[d];
            reach += s * (k->dims[d] > 0 ? k->dims[d] - 1 : 0);
        }
        if (k->kind == K_MATMUL && (a == k->a || a == k->b)) {
            int64_t s = a == k->a ? k->a_kstride : k->b_kstride;
            reach += (s < 0 ? -s : s) * (k->k_len > 0 ? k->k_len - 1 : 0);
        }
        if (reach >= limit)
            return true;
    }
    return false;
}

/* ---- loads and stores ---------------------------------------------------- */

static void element(const cuda_fn *f, int a, char *buf, size_t len)
{
    char at[512], in[512], name[16];
    cuda_access_index(f, a, at, sizeof at);
    cuda_access_inside(f, a, in, sizeof in);
    cuda_buf_name(f->k->acc[a].buf, name, sizeof name);
    /* outside the guard read element 0, which exists: the value is unused */
    if (in[0])
        snprintf(buf, len, "%s[(%s) ? %s : 0]", name, in, at);
    else
        snprintf(buf, len, "%s[%s]", name, at);
}

static void load(cuda_fn *f, int a, kiln_dtype t, char *buf, size_t len)
{
    if (f->lane >= 0 && f->vec_acc[a]) {
        if (!f->vec_loaded[a]) {
            char saved[CUDA_IDX_LEN], at[512], name[16];
            int last = f->k->rank - 1;
            memcpy(saved, f->idx[last], sizeof saved);
            memcpy(f->idx[last], f->vec_base, sizeof saved);
            cuda_access_index(f, a, at, sizeof at);
            memcpy(f->idx[last], saved, sizeof saved);
            cuda_buf_name(f->k->acc[a].buf, name, sizeof name);
            cuda_line(f, "const float4 q%d = *(const float4 *)(%s + %s);", a, name, at);
            f->vec_loaded[a] = true;
        }
        snprintf(buf, len, "q%d.%c", a, "xyzw"[f->lane]);
        return;
    }
    char e[1200];
    element(f, a, e, sizeof e);
    if (t == KILN_BOOL)
        snprintf(buf, len, "(%s != 0)", e);
    else
        snprintf(buf, len, "%s", e);
}

void cuda_store(cuda_fn *f, int a, kiln_dtype t, const char *v)
{
    char at[512], in[512], name[16];
    cuda_access_index(f, a, at, sizeof at);
    cuda_access_inside(f, a, in, sizeof in);
    cuda_buf_name(f->k->acc[a].buf, name, sizeof name);
    if (in[0])
        cuda_line(f, "if (%s) %s[%s] = %s%s;", in, name, at,
                  t == KILN_BOOL ? "(unsigned char)" : "", v);
    else
        cuda_line(f, "%s[%s] = %s%s;", name, at, t == KILN_BOOL ? "(unsigned char)" : "", v);
}

/* ---- expressions --------------------------------------------------------- */

static void local_name(const cuda_fn *f, int i, char *buf, size_t len)
{
    if (f->lane >= 0)
        snprintf(buf, len, "v%d_%d", i, f->lane);
    else
        snprintf(buf, len, "v%d", i);
}

static void random_text(cuda_fn *f, const k_expr *e, const char *name,
                        char *buf, size_t len)
{
    char seed[48], off[48], at[512];
    cuda_expr(f, e->args[0], seed, sizeof seed);
    cuda_expr(f, e->args[1], off, sizeof off);
    cuda_access_index(f, e->acc, at, sizeof at);
    cuda_line(f, "const unsigned %s_bits = kiln_philox((unsigned)%s, (unsigned)%s, "
                 "(unsigned long long)(%s));", name, seed, off, at);
    if (e->value >= 0) /* bernoulli: the integer threshold, as the reference */
        snprintf(buf, len, "((%s_bits >> 8) < %uu)", name,
                 (unsigned)ir_bernoulli_threshold(e->value));
    else if (e->dtype == KILN_F64)
        snprintf(buf, len, "((double)(%s_bits >> 8) * 5.9604644775390625e-08)", name);
    else
        snprintf(buf, len, "((float)(%s_bits >> 8) * 5.9604644775390625e-08f)", name);
}

static void index_text(const cuda_fn *f, int axis, char *buf, size_t len)
{
    if (axis < f->k->rank && has_idx(f, axis))
        snprintf(buf, len, "(int)(%s)", f->idx[axis]);
    else
        snprintf(buf, len, "0");
}

static void inside_text(const cuda_fn *f, int a, char *buf, size_t len)
{
    char in[512];
    cuda_access_inside(f, a, in, sizeof in);
    snprintf(buf, len, "%s%s%s", in[0] ? "(" : "", in[0] ? in : "true", in[0] ? ")" : "");
}

static void op_text(cuda_fn *f, int i, const k_expr *e, char *buf, size_t len)
{
    char a[3][48];
    kiln_dtype in = f->k->expr[e->args[0]].dtype;
    if (e->op == IR_OP_SELECT)
        in = f->k->expr[e->args[1]].dtype;
    for (int j = 0; j < e->nargs && j < 3; j++)
        cuda_expr(f, e->args[j], a[j], sizeof a[j]);
    if (!cuda_op_text(e->op, e->dtype, in, a, e->nargs, buf, len)) {
        ir_error(f->p->g, KILN_ERR_UNSUPPORTED,
                 "cuda codegen: op %s on %s in expression %d", ir_ops[e->op].name,
                 kiln_dtype_name(in), i);
        f->failed = true;
        snprintf(buf, len, "0");
    }
}

void cuda_expr(cuda_fn *f, int i, char *name, size_t len)
{
    const k_expr *e = &f->k->expr[i];
    if (e->kind == KE_ACC) { /* already a named value */
        snprintf(name, len, "%s", e->axis < f->nacc_names ? f->acc_name[e->axis] : "0");
        return;
    }
    local_name(f, i, name, len);
    if (f->memo[i])
        return;
    char v[1400];
    switch (e->kind) {
    case KE_LOAD: load(f, e->acc, e->dtype, v, sizeof v); break;
    case KE_INSIDE: inside_text(f, e->acc, v, sizeof v); break;
    case KE_CONST: cuda_literal(e->dtype, e->value, v, sizeof v); break;
    case KE_INDEX: index_text(f, e->axis, v, sizeof v); break;
    case KE_RANDOM: random_text(f, e, name, v, sizeof v); break;
    case KE_OP: op_text(f, i, e, v, sizeof v); break;
    default: snprintf(v, sizeof v, "0"); break;
    }
    cuda_line(f, "const %s %s = %s;", cuda_ctype(e->dtype), name, v);
    f->memo[i] = true;
}
