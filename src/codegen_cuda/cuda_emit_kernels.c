/*
 * cuda_emit_kernels.c — one __global__ function per kernel and its launch
 * shape.
 *
 *   K_MAP     grid-stride loop over the flat domain (groups of 4 along the
 *             last axis, float4 loads/stores, where that axis is long and
 *             aligned enough); index decomposition by constant dims.
 *   K_REDUCE  per output element: one thread (few reduced elements, or
 *             many outputs along a kept innermost axis: coalesced), one
 *             warp (up to 1024 reduced elements) or one block; warp
 *             shuffles, then shared memory across warps.
 *   K_ROW     one block per row: each fold is a block fold whose result
 *             every thread holds, then the map along the row.
 *   K_MATMUL  64x64 output tiles per 16x16-thread block, a 4x4 block of
 *             outputs per thread (rows 4 ty + i, columns 4 tx + j), K in
 *             steps of 16 through shared memory (rows padded to 68: tile
 *             stores have at most 2-way bank conflicts and f32 rows stay
 *             16-byte aligned for float4 reads), loads coalesced along
 *             whichever of m/k (A) or k/n (B) is contiguous, batches on
 *             grid.z; the epilogue runs on the registers before the store.
 *
 * Accumulation: f32 and f64 sums (reductions, row folds) accumulate in
 * double, so long rows stay within 1e-5 of the reference's f64 sums; i32
 * sums in unsigned (wrapping, hence exact in any order); max/min in the
 * value's type.  f32 matmul accumulates in f32 (as the CPU's GEMM).  The
 * order of every fold is fixed by the launch shape: results are
 * deterministic.
 */
#include <stdio.h>
#include <string.h>

#include "cuda_emit_internal.h"

/* At most 256 threads per block: without __launch_bounds__ the compiler
 * may give a thread up to 255 registers, and 256 x 255 still fits an SM's
 * register file, so no launch can fail for want of registers. */
#define BLOCK 256
#define GRID_CAP 8192u /* blocks of a grid-stride loop: plenty per SM */
#define TILE 64
#define TILE_K 16

static int64_t domain_size(const kernel *k)
{
    int64_t n = 1;
    for (int d = 0; d < k->rank; d++)
        n *= k->dims[d];
    return n;
}

static unsigned blocks_for(int64_t work, int64_t per_block, unsigned cap)
{
    int64_t b = (work + per_block - 1) / per_block;
    if (b < 1)
        b = 1;
    return b > cap ? cap : (unsigned)b;
}

static const char *lit_suffix(const cuda_fn *f) { return f->itype[0] == 'l' ? "LL" : ""; }

/* ---- signature ------------------------------------------------------------ */

static bool writes(const kernel *k, uint32_t b)
{
    if (k->acc[k->out].buf == b)
        return true;
    for (int i = 0; i < k->nextra; i++)
        if (k->acc[k->extra_out[i]].buf == b)
            return true;
    return false;
}

/* Is access a the first one of the kernel on its buffer? */
static bool first_use(const kernel *k, int a)
{
    if (k->acc[a].buf == K_NO_BUFFER)
        return false;
    for (int j = 0; j < a; j++)
        if (k->acc[j].buf == k->acc[a].buf)
            return false;
    return true;
}

/* One typed pointer per buffer the kernel touches. */
static void signature(cuda_fn *f, int index)
{
    const kernel *k = f->k;
    cuda_printf(f->out, "/* kernel %d: %s (node %u) */\n", index,
                ir_ops[f->p->g->nodes[k->node].op].name, (unsigned)k->node);
    cuda_printf(f->out, "extern \"C\" __global__ void kiln_k%d(void *const *__restrict__ kb)\n{\n",
                index);
    for (int a = 0; a < k->nacc; a++) {
        if (!first_use(k, a))
            continue;
        uint32_t b = k->acc[a].buf;
        /* an in-place pair (memplan.c) shares bytes: no __restrict__ */
        bool shared = false;
        for (int j = 0; j < k->nacc && !shared; j++)
            shared = k->acc[j].buf != b && k->acc[j].buf != K_NO_BUFFER &&
                     k_buffers_share(f->p, b, k->acc[j].buf);
        const char *c = writes(k, b) ? "" : "const ";
        const char *t = cuda_memtype(f->p->buf[b].dtype);
        cuda_line(f, "%s%s *%sb%u = (%s%s *)kb[%u];", c, t, shared ? "" : "__restrict__ ",
                  (unsigned)b, c, t, (unsigned)b);
    }
}

/* Write `const IT i<d> = ...;` for the axes in mask from the flat index
 * `flat` (last axis fastest; extent[d] per axis) and point idx[d] at them.
 * An axis of extent 1 reads as 0. */
static void decompose(cuda_fn *f, const char *flat, uint32_t mask,
                      const int64_t *extent, int64_t scale_last)
{
    int64_t stride = 1;
    int first = -1;
    for (int d = 0; d < f->k->rank; d++)
        if ((mask & (1u << d)) && extent[d] > 1 && first < 0)
            first = d;
    for (int d = f->k->rank - 1; d >= 0; d--) {
        if (!(mask & (1u << d)))
            continue;
        f->idx[d][0] = '\0';
        if (extent[d] <= 1)
            continue;
        char e[200];
        const char *sfx = lit_suffix(f);
        long long st = (long long)stride, ex = (long long)extent[d];
        if (d == first)
            snprintf(e, sizeof e, stride == 1 ? "%s" : "%s / %lld%s", flat, st, sfx);
        else if (stride == 1)
            snprintf(e, sizeof e, "%s %% %lld%s", flat, ex, sfx);
        else
            snprintf(e, sizeof e, "(%s / %lld%s) %% %lld%s", flat, st, sfx, ex, sfx);
        if (d == f->k->rank - 1 && scale_last > 1)
            cuda_line(f, "const %s i%d = (%s) * %lld;", f->itype, d, e, (long long)scale_last);
        else
            cuda_line(f, "const %s i%d = %s;", f->itype, d, e);
        snprintf(f->idx[d], CUDA_IDX_LEN, "i%d", d);
        stride *= extent[d];
    }
}

static void open_grid_loop(cuda_fn *f, const char *var, int64_t count, bool by_warp)
{
    const char *t = f->itype;
    if (by_warp)
        cuda_line(f, "for (%s %s = (%s)blockIdx.x * %d + (threadIdx.x >> 5); %s < %lld%s; "
                     "%s += (%s)gridDim.x * %d) {",
                  t, var, t, BLOCK / 32, var, (long long)count, lit_suffix(f), var, t,
                  BLOCK / 32);
    else
        cuda_line(f, "for (%s %s = (%s)blockIdx.x * blockDim.x + threadIdx.x; %s < %lld%s; "
                     "%s += (%s)gridDim.x * blockDim.x) {",
                  t, var, t, var, (long long)count, lit_suffix(f), var, t);
    f->indent++;
}

static void close_block(cuda_fn *f)
{
    f->indent--;
    cuda_line(f, "}");
}

/* ---- K_MAP ------------------------------------------------------------------ */

/* Can access a be read or written as float4 at lane-0 points? */
static bool vector_access(const cuda_fn *f, int a)
{
    const kernel *k = f->k;
    const k_access *x = &k->acc[a];
    int last = k->rank - 1;
    if (x->buf == K_NO_BUFFER || x->guarded || x->stride[last] != 1 || x->offset % 4)
        return false;
    const k_buffer *b = &f->p->buf[x->buf];
    if (b->dtype != KILN_F32 || (b->kind == KB_TEMP && b->offset % 16))
        return false;
    for (int d = 0; d < last; d++)
        if (x->stride[d] % 4)
            return false;
    return true;
}

static bool choose_vector(cuda_fn *f)
{
    const kernel *k = f->k;
    if (k->rank < 1 || k->dims[k->rank - 1] % CUDA_VEC || k->dims[k->rank - 1] == 0)
        return false;
    memset(f->vec_acc, 0, (size_t)k->nacc * sizeof *f->vec_acc);
    for (int i = 0; i < k->nexpr; i++)
        if (k->expr[i].kind == KE_LOAD)
            f->vec_acc[k->expr[i].acc] = vector_access(f, k->expr[i].acc);
    f->vec_acc[k->out] = vector_access(f, k->out);
    for (int i = 0; i < k->nextra; i++)
        f->vec_acc[k->extra_out[i]] = vector_access(f, k->extra_out[i]);
    return f->vec_acc[k->out];
}

static void map_scalar(cuda_fn *f)
{
    const kernel *k = f->k;
    char names[K_MAX_EXTRA + 1][48];
    cuda_memo_clear(f);
    cuda_expr(f, k->value, names[0], sizeof names[0]);
    for (int i = 0; i < k->nextra; i++)
        cuda_expr(f, k->extra_value[i], names[i + 1], sizeof names[i + 1]);
    /* every load of the point before any store: in-place pairs stay safe */
    cuda_store(f, k->out, cuda_out_dtype(f), names[0]);
    for (int i = 0; i < k->nextra; i++)
        cuda_store(f, k->extra_out[i], k->expr[k->extra_value[i]].dtype, names[i + 1]);
}

static void store_lanes(cuda_fn *f, int acc, kiln_dtype t, char (*lanes)[48])
{
    int last = f->k->rank - 1;
    if (f->vec_acc[acc]) {
        char at[512], name[16];
        snprintf(f->idx[last], CUDA_IDX_LEN, "%s", f->vec_base);
        cuda_access_index(f, acc, at, sizeof at);
        cuda_buf_name(f->k->acc[acc].buf, name, sizeof name);
        cuda_line(f, "*(float4 *)(%s + %s) = make_float4(%s, %s, %s, %s);", name, at,
                  lanes[0], lanes[1], lanes[2], lanes[3]);
        return;
    }
    for (int l = 0; l < CUDA_VEC; l++) {
        snprintf(f->idx[last], CUDA_IDX_LEN, l ? "(%s + %d)" : "%s", f->vec_base, l);
        cuda_store(f, acc, t, lanes[l]);
    }
}

static void map_vector(cuda_fn *f)
{
    const kernel *k = f->k;
    int last = k->rank - 1, nout = k->nextra + 1;
    char names[K_MAX_EXTRA + 1][CUDA_VEC][48];
    snprintf(f->vec_base, sizeof f->vec_base, "%s", f->idx[last][0] ? f->idx[last] : "0");
    memset(f->vec_loaded, 0, (size_t)k->nacc * sizeof *f->vec_loaded);
    for (int l = 0; l < CUDA_VEC; l++) {
        f->lane = l;
        snprintf(f->idx[last], CUDA_IDX_LEN, l ? "(%s + %d)" : "%s", f->vec_base, l);
        cuda_memo_clear(f);
        for (int o = 0; o < nout; o++)
            cuda_expr(f, o ? k->extra_value[o - 1] : k->value, names[o][l], sizeof names[o][l]);
    }
    f->lane = -1;
    store_lanes(f, k->out, cuda_out_dtype(f), names[0]);
    for (int i = 0; i < k->nextra; i++)
        store_lanes(f, k->extra_out[i], k->expr[k->extra_value[i]].dtype, names[i + 1]);
}

static void emit_map(cuda_fn *f, cuda_kernel_info *info)
{
    const kernel *k = f->k;
    int64_t total = domain_size(k), extent[KILN_MAX_RANK];
    bool vec = choose_vector(f);
    for (int d = 0; d < k->rank; d++)
        extent[d] = k->dims[d];
    if (vec) {
        extent[k->rank - 1] /= CUDA_VEC;
        total /= CUDA_VEC;
        cuda_line(f, "/* %d elements per thread: float4 along the last axis */", CUDA_VEC);
    }
    open_grid_loop(f, "t", total, false);
    decompose(f, "t", (1u << k->rank) - 1, extent, vec ? CUDA_VEC : 1);
    if (vec)
        map_vector(f);
    else
        map_scalar(f);
    close_block(f);
    info->block[0] = BLOCK;
    info->grid[0] = blocks_for(total, BLOCK, GRID_CAP);
}

/* ---- folds: the combiner's accumulator ------------------------------------- */

typedef struct fold {
    ir_op comb;
    kiln_dtype t;      /* the value's dtype */
    const char *acc_t; /* the accumulator's C type */
    char helper[16];   /* kiln_warp_/kiln_block_ suffix */
} fold;

static bool fold_init(cuda_fn *f, ir_op comb, kiln_dtype t, fold *r)
{
    r->comb = comb;
    r->t = t;
    if (t == KILN_BOOL || t >= KILN_DTYPE_COUNT) {
        f->failed = true;
        return ir_error(f->p->g, KILN_ERR_UNSUPPORTED, "cuda codegen: %s over %s",
                        ir_ops[comb].name, kiln_dtype_name(t));
    }
    if (comb == IR_OP_SUM) {
        r->acc_t = t == KILN_I32 ? "unsigned" : "double";
        snprintf(r->helper, sizeof r->helper, "sum_%s", t == KILN_I32 ? "u" : "d");
    } else {
        r->acc_t = cuda_ctype(t);
        snprintf(r->helper, sizeof r->helper, "%s_%s",
                 comb == IR_OP_MIN ? "min" : comb == IR_OP_ARGMAX ? "argmax" : "max",
                 cuda_suffix(t));
    }
    return true;
}

static const char *fold_identity(const fold *r)
{
    bool f32 = r->t == KILN_F32, i32 = r->t == KILN_I32;
    switch (r->comb) {
    case IR_OP_SUM: return i32 ? "0u" : "0.0";
    case IR_OP_MIN: return i32 ? "2147483647" : f32 ? "KILN_INF_F" : "KILN_INF_D";
    default: return i32 ? "KILN_INT_MIN" : f32 ? "(-KILN_INF_F)" : "(-KILN_INF_D)";
    }
}

/* acc = combine(acc, x), the CPU's order: maximum(x, acc) keeps acc on ties. */
static void fold_step(cuda_fn *f, const fold *r, const char *acc, const char *x)
{
    if (r->comb == IR_OP_SUM)
        cuda_line(f, "%s += (%s)%s;", acc, r->acc_t, x);
    else
        cuda_line(f, "%s = kiln_%s_%s(%s, %s);", acc, r->comb == IR_OP_MIN ? "min" : "max",
                  cuda_suffix(r->t), x, acc);
}

/* The folded value in the value's dtype. */
static void fold_result(const fold *r, const char *acc, char *buf, size_t len)
{
    if (r->comb == IR_OP_SUM)
        snprintf(buf, len, "(%s)%s", cuda_ctype(r->t), acc);
    else
        snprintf(buf, len, "%s", acc);
}

/* ---- K_REDUCE -------------------------------------------------------------- */

/* BY_COLUMN: a block of 32 x COLUMN_SPLIT threads per 32 consecutive
 * outputs along a kept innermost axis, so reads are coalesced across x;
 * the COLUMN_SPLIT partials of an output are combined in order of y. */
typedef enum { BY_THREAD, BY_WARP, BY_BLOCK, BY_COLUMN } reduce_mode;
#define COLUMN_SPLIT 8

static reduce_mode pick_mode(const kernel *k, int64_t outs, int64_t folded)
{
    bool inner_kept = k->rank > 0 && !(k->reduce_mask & (1u << (k->rank - 1)));
    if (folded < 32 || (inner_kept && outs >= 32768))
        return BY_THREAD;
    if (inner_kept)
        return BY_COLUMN;
    return folded <= 1024 ? BY_WARP : BY_BLOCK;
}

typedef struct reduce_shape {
    reduce_mode mode;
    int64_t outs, folded;
    uint32_t red; /* reduced axes */
    int axis;     /* argmax: the reduced axis */
    bool arg;
} reduce_shape;

/* Fold the value over reduced flat indices [start, R) step `step`. */
static void reduce_loop(cuda_fn *f, const fold *r, int64_t folded, const char *start,
                        const char *step, int axis)
{
    const kernel *k = f->k;
    uint32_t red = k->reduce_mask & ((1u << k->rank) - 1);
    char x[48];
    cuda_line(f, "for (%s r = %s; r < %lld%s; r += %s) {", f->itype, start,
              (long long)folded, lit_suffix(f), step);
    f->indent++;
    decompose(f, "r", red, k->dims, 1);
    cuda_memo_clear(f);
    cuda_expr(f, k->value, x, sizeof x);
    if (r->comb == IR_OP_ARGMAX) {
        char at[CUDA_IDX_LEN + 8];
        snprintf(at, sizeof at, "(int)(%s)", f->idx[axis][0] ? f->idx[axis] : "0");
        cuda_line(f, "if (kiln_argbetter_%s(%s, %s, best, at)) {", cuda_suffix(r->t), x, at);
        cuda_line(f, "    best = %s;", x);
        cuda_line(f, "    at = %s;", at);
        cuda_line(f, "}");
    } else {
        fold_step(f, r, "acc", x);
    }
    close_block(f);
    for (int d = 0; d < k->rank; d++) /* the output is indexed by kept axes */
        if (red & (1u << d))
            f->idx[d][0] = '\0';
}

static void reduce_store(cuda_fn *f, const fold *r)
{
    const kernel *k = f->k;
    char v[64], name[48];
    if (r->comb == IR_OP_ARGMAX)
        snprintf(v, sizeof v, "at");
    else
        fold_result(r, "acc", v, sizeof v);
    cuda_line(f, "const %s acc0 = %s;", r->comb == IR_OP_ARGMAX ? "int" : cuda_ctype(r->t), v);
    snprintf(f->acc_name[0], sizeof f->acc_name[0], "acc0");
    f->nacc_names = 1;
    cuda_memo_clear(f);
    if (k->epilogue >= 0)
        cuda_expr(f, k->epilogue, name, sizeof name);
    else
        snprintf(name, sizeof name, "acc0");
    cuda_store(f, k->out, cuda_out_dtype(f), name);
}

/* The per-thread state: acc, or (best, at) for argmax. */
static void reduce_state(cuda_fn *f, const fold *r, bool arg)
{
    if (arg) {
        cuda_line(f, "%s best = %s;", cuda_ctype(r->t), fold_identity(r));
        cuda_line(f, "int at = -1;");
    } else {
        cuda_line(f, "%s acc = %s;", r->acc_t, fold_identity(r));
    }
}

/* Per-thread partials -> the block's or warp's result in thread 0 / lane 0. */
static void reduce_across(cuda_fn *f, const fold *r, const reduce_shape *sh)
{
    const char *s = cuda_suffix(r->t);
    if (sh->mode == BY_WARP && sh->arg)
        cuda_line(f, "kiln_warp_argmax_%s(&best, &at);", s);
    else if (sh->mode == BY_WARP)
        cuda_line(f, "acc = kiln_warp_%s(acc);", r->helper);
    else if (sh->mode == BY_BLOCK && sh->arg)
        cuda_line(f, "at = kiln_block_argmax_%s(best, at, smv, smi);", s);
    else if (sh->mode == BY_BLOCK)
        cuda_line(f, "acc = kiln_block_%s(acc, sm);", r->helper);
}

static void reduce_rows(cuda_fn *f, const fold *r, const reduce_shape *sh)
{
    const kernel *k = f->k;
    reduce_mode mode = sh->mode;
    if (mode == BY_BLOCK && sh->arg) {
        cuda_line(f, "__shared__ %s smv[32];", cuda_ctype(r->t));
        cuda_line(f, "__shared__ int smi[32];");
    } else if (mode == BY_BLOCK) {
        cuda_line(f, "__shared__ %s sm[32];", r->acc_t);
    }
    if (mode == BY_BLOCK) {
        cuda_line(f, "for (%s o = blockIdx.x; o < %lld%s; o += gridDim.x) {", f->itype,
                  (long long)sh->outs, lit_suffix(f));
        f->indent++;
    } else {
        open_grid_loop(f, "o", sh->outs, mode == BY_WARP);
    }
    decompose(f, "o", ((1u << k->rank) - 1) & ~sh->red, k->dims, 1);
    reduce_state(f, r, sh->arg);
    const char *start = mode == BY_THREAD ? "0" : mode == BY_WARP ? "(threadIdx.x & 31)"
                                                                  : "threadIdx.x";
    const char *step = mode == BY_THREAD ? "1" : mode == BY_WARP ? "32" : "blockDim.x";
    reduce_loop(f, r, sh->folded, start, step, sh->axis);
    reduce_across(f, r, sh);
    if (mode != BY_THREAD) {
        cuda_line(f, "if (%s == 0) {", mode == BY_WARP ? "(threadIdx.x & 31)" : "threadIdx.x");
        f->indent++;
    }
    reduce_store(f, r);
    if (mode != BY_THREAD)
        close_block(f);
    close_block(f);
}

static void reduce_columns(cuda_fn *f, const fold *r, const reduce_shape *sh)
{
    const kernel *k = f->k;
    const char *it = f->itype, *s = lit_suffix(f);
    if (sh->arg) {
        cuda_line(f, "__shared__ %s smv[%d][32];", cuda_ctype(r->t), COLUMN_SPLIT);
        cuda_line(f, "__shared__ int smi[%d][32];", COLUMN_SPLIT);
    } else {
        cuda_line(f, "__shared__ %s sm[%d][32];", r->acc_t, COLUMN_SPLIT);
    }
    cuda_line(f, "for (%s ob = (%s)blockIdx.x * 32; ob < %lld%s; ob += (%s)gridDim.x * 32) {",
              it, it, (long long)sh->outs, s, it);
    f->indent++;
    cuda_line(f, "const %s o = ob + threadIdx.x;", it);
    decompose(f, "o", ((1u << k->rank) - 1) & ~sh->red, k->dims, 1);
    reduce_state(f, r, sh->arg);
    cuda_line(f, "if (o < %lld%s) {", (long long)sh->outs, s);
    f->indent++;
    char kept[KILN_MAX_RANK][CUDA_IDX_LEN];
    memcpy(kept, f->idx, sizeof kept);
    reduce_loop(f, r, sh->folded, "threadIdx.y", "blockDim.y", sh->axis);
    close_block(f);
    cuda_line(f, "__syncthreads(); /* the previous round's partials are read */");
    if (sh->arg) {
        cuda_line(f, "smv[threadIdx.y][threadIdx.x] = best;");
        cuda_line(f, "smi[threadIdx.y][threadIdx.x] = at;");
    } else {
        cuda_line(f, "sm[threadIdx.y][threadIdx.x] = acc;");
    }
    cuda_line(f, "__syncthreads();");
    cuda_line(f, "if (threadIdx.y == 0 && o < %lld%s) {", (long long)sh->outs, s);
    f->indent++;
    cuda_line(f, "for (int y = 1; y < %d; y++) {", COLUMN_SPLIT);
    if (sh->arg) {
        cuda_line(f, "    if (kiln_argbetter_%s(smv[y][threadIdx.x], smi[y][threadIdx.x], best, at)) {",
                  cuda_suffix(r->t));
        cuda_line(f, "        best = smv[y][threadIdx.x];");
        cuda_line(f, "        at = smi[y][threadIdx.x];");
        cuda_line(f, "    }");
    } else {
        f->indent++;
        fold_step(f, r, "acc", "sm[y][threadIdx.x]");
        f->indent--;
    }
    cuda_line(f, "}");
    memcpy(f->idx, kept, sizeof kept);
    reduce_store(f, r);
    close_block(f);
    close_block(f);
}

static void emit_reduce(cuda_fn *f, cuda_kernel_info *info)
{
    const kernel *k = f->k;
    reduce_shape sh = {.outs = 1, .folded = 1};
    sh.red = k->reduce_mask & ((1u << k->rank) - 1);
    for (int d = 0; d < k->rank; d++)
        *(sh.red & (1u << d) ? &sh.folded : &sh.outs) *= k->dims[d];
    while (sh.axis < k->rank && !(sh.red & (1u << sh.axis)))
        sh.axis++;
    fold r;
    if (!fold_init(f, k->combiner, k->expr[k->value].dtype, &r))
        return;
    sh.arg = k->combiner == IR_OP_ARGMAX;
    sh.mode = pick_mode(k, sh.outs, sh.folded);
    static const char *const names[] = {"one thread per output", "one warp per output",
                                        "one block per output",
                                        "a 32 x 8 block per 32 adjacent outputs"};
    cuda_line(f, "/* %s; %lld outputs, %lld folded each */", names[sh.mode],
              (long long)sh.outs, (long long)sh.folded);
    if (sh.mode == BY_COLUMN)
        reduce_columns(f, &r, &sh);
    else
        reduce_rows(f, &r, &sh);
    info->block[0] = sh.mode == BY_COLUMN ? 32 : BLOCK;
    info->block[1] = sh.mode == BY_COLUMN ? COLUMN_SPLIT : 1;
    info->grid[0] = sh.mode == BY_BLOCK    ? blocks_for(sh.outs, 1, 65535u)
                    : sh.mode == BY_WARP   ? blocks_for(sh.outs, BLOCK / 32, GRID_CAP)
                    : sh.mode == BY_COLUMN ? blocks_for(sh.outs, 32, GRID_CAP)
                                           : blocks_for(sh.outs, BLOCK, GRID_CAP);
}

/* ---- K_ROW ----------------------------------------------------------------- */

static void row_fold(cuda_fn *f, int j, int64_t len)
{
    const kernel *k = f->k;
    int last = k->rank - 1;
    fold r;
    char acc[16], x[48], v[128];
    if (!fold_init(f, k->row_combiner[j], k->expr[k->row_value[j]].dtype, &r))
        return;
    snprintf(acc, sizeof acc, "s%d", j);
    cuda_line(f, "%s %s = %s;", r.acc_t, acc, fold_identity(&r));
    cuda_line(f, "for (%s c = threadIdx.x; c < %lld%s; c += blockDim.x) {", f->itype,
              (long long)len, lit_suffix(f));
    f->indent++;
    snprintf(f->idx[last], CUDA_IDX_LEN, "c");
    cuda_memo_clear(f);
    cuda_expr(f, k->row_value[j], x, sizeof x);
    fold_step(f, &r, acc, x);
    close_block(f);
    char folded[64];
    snprintf(folded, sizeof folded, "kiln_block_%s(%s, sm%d)", r.helper, acc, j);
    fold_result(&r, folded, v, sizeof v);
    cuda_line(f, "const %s acc%d = %s;", cuda_ctype(r.t), j, v);
    snprintf(f->acc_name[j], sizeof f->acc_name[j], "acc%d", j);
    f->nacc_names = j + 1;
}

static void emit_row(cuda_fn *f, cuda_kernel_info *info)
{
    const kernel *k = f->k;
    int last = k->rank - 1;
    if (k->rank < 1 || k->nrow > K_MAX_ROW) {
        f->failed = true;
        ir_error(f->p->g, KILN_ERR_UNSUPPORTED, "cuda codegen: row kernel of rank %d", k->rank);
        return;
    }
    int64_t len = k->dims[last], rows = len ? domain_size(k) / len : 0;
    unsigned block = len <= 32 ? 32 : len <= 128 ? 64 : len <= 512 ? 128 : BLOCK;
    cuda_line(f, "/* one block per row of %lld; %u threads */", (long long)len, block);
    for (int j = 0; j < k->nrow; j++) {
        fold r;
        if (!fold_init(f, k->row_combiner[j], k->expr[k->row_value[j]].dtype, &r))
            return;
        cuda_line(f, "__shared__ %s sm%d[32];", r.acc_t, j);
    }
    cuda_line(f, "for (%s row = blockIdx.x; row < %lld%s; row += gridDim.x) {", f->itype,
              (long long)rows, lit_suffix(f));
    f->indent++;
    decompose(f, "row", ((1u << k->rank) - 1) & ~(1u << last), k->dims, 1);
    for (int j = 0; j < k->nrow && !f->failed; j++)
        row_fold(f, j, len);
    cuda_line(f, "for (%s c = threadIdx.x; c < %lld%s; c += blockDim.x) {", f->itype,
              (long long)len, lit_suffix(f));
    f->indent++;
    snprintf(f->idx[last], CUDA_IDX_LEN, "c");
    map_scalar(f);
    close_block(f);
    close_block(f);
    info->block[0] = block;
    info->grid[0] = blocks_for(rows, 1, 65535u);
}

/* ---- K_MATMUL -------------------------------------------------------------- */

#define TILE_PAD 68 /* shared row length: TILE + 4 */

static void tile_load(cuda_fn *f, const char *tile, bool first_fast, int rows, int cols,
                      const char *ri, const char *ci, const char *cond, const char *src)
{
    cuda_line(f, "for (int q = 0; q < %d; q++) { /* %s tile, %s-contiguous in memory */",
              TILE * TILE_K / BLOCK, tile, first_fast ? ri : ci);
    cuda_line(f, "    const int l = tid + %d * q, %s = l %s %d, %s = l %s %d;", BLOCK, ri,
              first_fast ? "%" : "/", first_fast ? rows : cols, ci, first_fast ? "/" : "%",
              first_fast ? rows : cols);
    cuda_line(f, "    %s", cond);
    cuda_line(f, "    %s", src);
    cuda_line(f, "}");
}

static void matmul_tiles(cuda_fn *f)
{
    const kernel *k = f->k;
    int r = k->rank;
    const k_access *A = &k->acc[k->a], *B = &k->acc[k->b];
    const char *s = lit_suffix(f), *it = f->itype;
    long long M = k->dims[r - 2], N = k->dims[r - 1], K = k->k_len;
    char an[16], bn[16], line[2][400];
    cuda_buf_name(A->buf, an, sizeof an);
    cuda_buf_name(B->buf, bn, sizeof bn);
    cuda_line(f, "for (%s k0 = 0; k0 < %lld%s; k0 += %d) {", it, K, s, TILE_K);
    f->indent++;
    /* A[m][k] -> As[k][m] */
    snprintf(line[0], sizeof line[0], "const %s m = m0 + mi, kk = k0 + ki;", it);
    snprintf(line[1], sizeof line[1],
             "As[ki][mi] = m < %lld%s && kk < %lld%s ? %s[abase + m * %lld%s + kk * %lld%s] : 0;",
             M, s, K, s, an, (long long)A->stride[r - 2], s, (long long)k->a_kstride, s);
    tile_load(f, "A", k->a_kstride != 1 && A->stride[r - 2] == 1, TILE, TILE_K, "mi", "ki",
              line[0], line[1]);
    /* B[k][n] -> Bs[k][n] */
    snprintf(line[0], sizeof line[0], "const %s n = n0 + ni, kk = k0 + ki;", it);
    snprintf(line[1], sizeof line[1],
             "Bs[ki][ni] = kk < %lld%s && n < %lld%s ? %s[bbase + kk * %lld%s + n * %lld%s] : 0;",
             K, s, N, s, bn, (long long)k->b_kstride, s, (long long)B->stride[r - 1], s);
    tile_load(f, "B", B->stride[r - 1] == 1 || k->b_kstride != 1, TILE, TILE_K, "ni", "ki",
              line[0], line[1]);
    cuda_line(f, "__syncthreads();");
    cuda_line(f, "for (int kk = 0; kk < %d; kk++) {", TILE_K);
    f->indent++;
    kiln_dtype t = cuda_out_dtype(f);
    if (t == KILN_F32) {
        cuda_line(f, "const float4 a4 = *(const float4 *)&As[kk][4 * ty];");
        cuda_line(f, "const float4 b4 = *(const float4 *)&Bs[kk][4 * tx];");
        cuda_line(f, "const float a[4] = {a4.x, a4.y, a4.z, a4.w};");
        cuda_line(f, "const float b[4] = {b4.x, b4.y, b4.z, b4.w};");
    } else {
        const char *ct = cuda_ctype(t);
        cuda_line(f, "const %s a[4] = {As[kk][4 * ty], As[kk][4 * ty + 1], As[kk][4 * ty + 2], "
                     "As[kk][4 * ty + 3]};", ct);
        cuda_line(f, "const %s b[4] = {Bs[kk][4 * tx], Bs[kk][4 * tx + 1], Bs[kk][4 * tx + 2], "
                     "Bs[kk][4 * tx + 3]};", ct);
    }
    cuda_line(f, "for (int i = 0; i < 4; i++)");
    cuda_line(f, "    for (int j = 0; j < 4; j++)");
    if (t == KILN_I32) /* wrapping */
        cuda_line(f, "        acc[i][j] += (unsigned)a[i] * (unsigned)b[j];");
    else
        cuda_line(f, "        acc[i][j] += a[i] * b[j];");
    close_block(f);
    cuda_line(f, "__syncthreads();");
    close_block(f);
}

static void matmul_epilogue(cuda_fn *f)
{
    const kernel *k = f->k;
    int r = k->rank;
    kiln_dtype t = cuda_out_dtype(f);
    char name[48];
    cuda_line(f, "for (int i = 0; i < 4; i++) {");
    cuda_line(f, "    for (int j = 0; j < 4; j++) {");
    f->indent += 2;
    cuda_line(f, "const %s m = m0 + 4 * ty + i, n = n0 + 4 * tx + j;", f->itype);
    cuda_line(f, "if (m >= %lld%s || n >= %lld%s) continue;", (long long)k->dims[r - 2],
              lit_suffix(f), (long long)k->dims[r - 1], lit_suffix(f));
    cuda_line(f, "const %s acc0 = (%s)acc[i][j];", cuda_ctype(t), cuda_ctype(t));
    snprintf(f->idx[r - 2], CUDA_IDX_LEN, "m");
    snprintf(f->idx[r - 1], CUDA_IDX_LEN, "n");
    snprintf(f->acc_name[0], sizeof f->acc_name[0], "acc0");
    f->nacc_names = 1;
    cuda_memo_clear(f);
    if (k->epilogue >= 0)
        cuda_expr(f, k->epilogue, name, sizeof name);
    else
        snprintf(name, sizeof name, "acc0");
    cuda_store(f, k->out, t, name);
    f->indent -= 2;
    cuda_line(f, "    }");
    cuda_line(f, "}");
}

/* Shared tiles; f32 ones are declared as float4 so that rows are 16-byte
 * aligned for the float4 reads, and used through a float view. */
static void matmul_shared(cuda_fn *f, kiln_dtype t)
{
    if (t == KILN_F32) {
        cuda_line(f, "__shared__ float4 As4[%d][%d], Bs4[%d][%d];", TILE_K, TILE_PAD / 4,
                  TILE_K, TILE_PAD / 4);
        cuda_line(f, "float (*const As)[%d] = (float (*)[%d])As4;", TILE_PAD, TILE_PAD);
        cuda_line(f, "float (*const Bs)[%d] = (float (*)[%d])Bs4;", TILE_PAD, TILE_PAD);
    } else {
        cuda_line(f, "__shared__ %s As[%d][%d], Bs[%d][%d];", cuda_ctype(t), TILE_K, TILE_PAD,
                  TILE_K, TILE_PAD);
    }
}

static void emit_matmul(cuda_fn *f, const cuda_emit_options *o, cuda_kernel_info *info)
{
    const kernel *k = f->k;
    int r = k->rank;
    kiln_dtype t = cuda_out_dtype(f);
    (void)o; /* tensor cores (o->tensor_cores): not implemented; SIMT tiles */
    if (r < 2 || t == KILN_BOOL) {
        f->failed = true;
        ir_error(f->p->g, KILN_ERR_UNSUPPORTED, "cuda codegen: matmul of rank %d over %s", r,
                 kiln_dtype_name(t));
        return;
    }
    int64_t M = k->dims[r - 2], N = k->dims[r - 1], batch = 1, extent[KILN_MAX_RANK];
    for (int d = 0; d < r - 2; d++)
        batch *= k->dims[d];
    int64_t mt = (M + TILE - 1) / TILE;
    const char *it = f->itype, *s = lit_suffix(f);
    cuda_line(f, "/* %dx%d tile per block, 4x4 per thread; C[%lld x %lld] over k = %lld, %lld "
                 "batch(es) */", TILE, TILE, (long long)M, (long long)N, (long long)k->k_len,
              (long long)batch);
    matmul_shared(f, t);
    cuda_line(f, "const int tx = threadIdx.x, ty = threadIdx.y, tid = ty * 16 + tx;");
    cuda_line(f, "const %s n0 = (%s)blockIdx.x * %d;", it, it, TILE);
    cuda_line(f, "for (%s bz = blockIdx.z; bz < %lld%s; bz += gridDim.z) {", it,
              (long long)batch, s);
    cuda_line(f, "for (%s by = blockIdx.y; by < %lld%s; by += gridDim.y) {", it, (long long)mt, s);
    f->indent++;
    for (int d = 0; d < r; d++)
        extent[d] = d < r - 2 ? k->dims[d] : 1;
    decompose(f, "bz", (1u << (r - 2)) - 1, extent, 1);
    f->idx[r - 2][0] = f->idx[r - 1][0] = '\0';
    char abase[512], bbase[512];
    cuda_access_index(f, k->a, abase, sizeof abase);
    cuda_access_index(f, k->b, bbase, sizeof bbase);
    cuda_line(f, "const %s m0 = by * %d;", it, TILE);
    cuda_line(f, "const %s abase = %s, bbase = %s;", it, abase, bbase);
    cuda_line(f, "%s acc[4][4];", t == KILN_I32 ? "unsigned" : cuda_ctype(t));
    cuda_line(f, "for (int i = 0; i < 4; i++) for (int j = 0; j < 4; j++) acc[i][j] = 0;");
    matmul_tiles(f);
    matmul_epilogue(f);
    f->indent--;
    cuda_line(f, "}");
    cuda_line(f, "}");
    info->block[0] = 16;
    info->block[1] = 16;
    info->grid[0] = blocks_for(N, TILE, 0x7fffffffu);
    info->grid[1] = blocks_for(mt, 1, 65535u);
    info->grid[2] = blocks_for(batch, 1, 65535u);
}

/* ---- driver -------------------------------------------------------------- */

static bool fn_init(cuda_fn *f, cuda_text *t, const k_program *p, int i)
{
    memset(f, 0, sizeof *f);
    f->out = t;
    f->p = p;
    f->k = &p->k[i];
    f->lane = -1;
    f->indent = 1;
    f->itype = cuda_needs_wide_index(f->k) ? "long long" : "int";
    size_t n = (size_t)f->k->nexpr + 1, a = (size_t)f->k->nacc + 1;
    f->memo = ir_alloc(p->g, n * sizeof *f->memo);
    f->vec_acc = ir_alloc(p->g, a * sizeof *f->vec_acc);
    f->vec_loaded = ir_alloc(p->g, a * sizeof *f->vec_loaded);
    f->acc_name = ir_alloc(p->g, K_MAX_ROW * sizeof *f->acc_name);
    if (!f->memo || !f->vec_acc || !f->vec_loaded || !f->acc_name)
        return false;
    memset(f->memo, 0, n * sizeof *f->memo);
    memset(f->vec_acc, 0, a * sizeof *f->vec_acc);
    memset(f->vec_loaded, 0, a * sizeof *f->vec_loaded);
    return true;
}

static void fn_free(cuda_fn *f)
{
    ir_free(f->p->g, f->memo);
    ir_free(f->p->g, f->vec_acc);
    ir_free(f->p->g, f->vec_loaded);
    ir_free(f->p->g, f->acc_name);
}

bool cuda_emit_kernel(cuda_text *t, const k_program *p, int i,
                      const cuda_emit_options *o, cuda_kernel_info *info)
{
    cuda_fn f;
    memset(info, 0, sizeof *info);
    snprintf(info->name, sizeof info->name, "kiln_k%d", i);
    for (int d = 0; d < 3; d++)
        info->grid[d] = info->block[d] = 1;
    if (!fn_init(&f, t, p, i)) {
        fn_free(&f);
        return ir_error(p->g, KILN_ERR_OUT_OF_MEMORY, "cuda codegen: out of memory");
    }
    signature(&f, i);
    switch (f.k->kind) {
    case K_MAP: emit_map(&f, info); break;
    case K_REDUCE: emit_reduce(&f, info); break;
    case K_ROW: emit_row(&f, info); break;
    case K_MATMUL: emit_matmul(&f, o, info); break;
    }
    cuda_put(t, "}\n\n");
    fn_free(&f);
    return !f.failed;
}
