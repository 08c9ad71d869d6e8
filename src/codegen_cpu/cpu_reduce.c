/*
 * cpu_reduce.c — reduction kernels.
 *
 * The parallel range is the outermost kept axis, so each output element
 * is folded by one thread in one fixed order: results do not depend on the
 * thread count.  Three passes over the chunk: the outputs are set to the
 * combiner's identity, the domain is folded into them, then the epilogue
 * (if any) rewrites them.  When the innermost axis is reduced, its run is
 * folded in registers with a fixed vector split (VECTORS registers of the
 * target's width, combined pairwise in a fixed tree), which is what makes
 * float sums fast without letting LLVM reassociate freely.  argmax keeps
 * (value, index) pairs and walks its axis innermost, in order.
 */
#include <math.h>
#include <string.h>

#include "cpu_codegen.h"

#define VECTORS 4

int cpu_reduce_parallel_axis(const kernel *k)
{
    for (int d = 0; d < k->rank; d++)
        if (!(k->reduce_mask & (1u << d)))
            return d;
    return -1;
}

static bool reduced(const kernel *k, int d) { return k->reduce_mask & (1u << d); }

static kiln_dtype out_dtype(cpu_fn *f) { return f->prog->g->nodes[f->k->node].type.dtype; }
static kiln_dtype value_dtype(cpu_fn *f) { return f->k->expr[f->fold_value].dtype; }

static double identity(ir_op combiner, kiln_dtype t)
{
    bool fl = ir_dtype_is_float(t);
    switch (combiner) {
    case IR_OP_MAX: return fl ? -INFINITY : -2147483648.0;
    case IR_OP_MIN: return fl ? INFINITY : 2147483647.0;
    default: return 0;
    }
}

/* combine(acc, x): sum, or max/min keeping acc on ties, NaN sticky. */
static LLVMValueRef combine(cpu_fn *f, LLVMValueRef acc, LLVMValueRef x,
                            int lanes)
{
    kiln_dtype t = value_dtype(f);
    LLVMValueRef args[2] = {x, acc};
    switch (f->fold_combiner) {
    case IR_OP_MAX: return cpu_op(f, IR_OP_MAXIMUM, t, t, args, lanes);
    case IR_OP_MIN: return cpu_op(f, IR_OP_MINIMUM, t, t, args, lanes);
    default: return cpu_op(f, IR_OP_ADD, t, t, args, lanes);
    }
}

/* Loops over the kept axes of the chunk; reduced axes read as 0. */
static int open_kept(cpu_fn *f, cpu_loop *loops, LLVMValueRef begin,
                     LLVMValueRef end)
{
    const kernel *k = f->k;
    int p = cpu_reduce_parallel_axis(k), n = 0;
    for (int d = 0; d < k->rank; d++) {
        f->idx[d] = NULL;
        if (reduced(k, d))
            continue;
        cpu_loop_begin(f, &loops[n], d == p ? begin : cpu_i64(f, 0),
                       d == p ? end : cpu_i64(f, k->dims[d]), 1);
        f->idx[d] = loops[n++].index;
    }
    return n;
}

static void close_loops(cpu_fn *f, cpu_loop *loops, int n)
{
    while (n-- > 0)
        cpu_loop_end(f, &loops[n]);
}

static void emit_init(cpu_fn *f, LLVMValueRef begin, LLVMValueRef end)
{
    cpu_loop loops[KILN_MAX_RANK];
    int n = open_kept(f, loops, begin, end);
    kiln_dtype t = out_dtype(f);
    cpu_store(f, f->k->out, t, cpu_const(f, t, identity(f->k->combiner, t), 1));
    close_loops(f, loops, n);
}

static void emit_epilogue(cpu_fn *f, LLVMValueRef begin, LLVMValueRef end)
{
    cpu_loop loops[KILN_MAX_RANK];
    int n = open_kept(f, loops, begin, end);
    kiln_dtype t = out_dtype(f);
    f->accs[0] = LLVMBuildLoad2(f->b, cpu_mem_type(f, t), cpu_element_ptr(f, f->k->out, t), "");
    cpu_memo_clear(f);
    cpu_store(f, f->k->out, t, cpu_expr(f, f->k->epilogue));
    close_loops(f, loops, n);
}

/* Fold a vector into one value: halves combined down to two lanes, then
 * those two as scalars (a one-lane vector is not a scalar to LLVM). */
static LLVMValueRef horizontal(cpu_fn *f, LLVMValueRef v, int lanes)
{
    LLVMTypeRef i32 = LLVMInt32TypeInContext(f->ctx);
    while (lanes > 2) {
        int half = lanes / 2;
        LLVMValueRef lo[32], hi[32];
        for (int i = 0; i < half; i++) {
            lo[i] = LLVMConstInt(i32, (unsigned)i, 0);
            hi[i] = LLVMConstInt(i32, (unsigned)(i + half), 0);
        }
        LLVMValueRef a = LLVMBuildShuffleVector(f->b, v, LLVMGetUndef(LLVMTypeOf(v)),
                                                LLVMConstVector(lo, (unsigned)half), "");
        LLVMValueRef b = LLVMBuildShuffleVector(f->b, v, LLVMGetUndef(LLVMTypeOf(v)),
                                                LLVMConstVector(hi, (unsigned)half), "");
        v = combine(f, a, b, half);
        lanes = half;
    }
    LLVMValueRef first = LLVMBuildExtractElement(f->b, v, LLVMConstInt(i32, 0, 0), "");
    if (lanes == 1)
        return first;
    return combine(f, first, LLVMBuildExtractElement(f->b, v, LLVMConstInt(i32, 1, 0), ""), 1);
}

static int lanes_for(cpu_fn *f, kiln_dtype t)
{
    int bits = f->tgt->vector_bits ? f->tgt->vector_bits : 128;
    int lanes = bits / 8 / (int)kiln_dtype_size(t) * VECTORS;
    return lanes > 64 ? 64 : lanes;
}

/* The innermost (reduced) axis folded in registers; returns its value. */
static LLVMValueRef fold_inner(cpu_fn *f)
{
    const kernel *k = f->k;
    int d = k->rank - 1, W = lanes_for(f, value_dtype(f));
    kiln_dtype t = value_dtype(f);
    LLVMValueRef n = cpu_i64(f, k->dims[d]);
    LLVMValueRef acc = cpu_const(f, t, identity(f->fold_combiner, t), 1);
    if (k->dims[d] >= W) {
        cpu_loop vl;
        cpu_loop_begin(f, &vl, cpu_i64(f, 0), n, W);
        LLVMValueRef vacc = cpu_loop_carry(f, &vl, cpu_const(f, t, identity(f->fold_combiner, t), W));
        f->idx[d] = vl.index;
        f->vec_axis = d;
        f->lanes = W;
        cpu_memo_clear(f);
        vl.carry_next[0] = combine(f, vacc, cpu_expr(f, f->fold_value), W);
        f->lanes = 1;
        f->vec_axis = -1;
        cpu_loop_end(f, &vl);
        acc = horizontal(f, vacc, W);
        cpu_loop tail;
        cpu_loop_begin(f, &tail, vl.index, n, 1);
        LLVMValueRef sacc = cpu_loop_carry(f, &tail, acc);
        f->idx[d] = tail.index;
        cpu_memo_clear(f);
        tail.carry_next[0] = combine(f, sacc, cpu_expr(f, f->fold_value), 1);
        cpu_loop_end(f, &tail);
        return sacc;
    }
    cpu_loop sl;
    cpu_loop_begin(f, &sl, cpu_i64(f, 0), n, 1);
    LLVMValueRef sacc = cpu_loop_carry(f, &sl, acc);
    f->idx[d] = sl.index;
    cpu_memo_clear(f);
    sl.carry_next[0] = combine(f, sacc, cpu_expr(f, f->fold_value), 1);
    cpu_loop_end(f, &sl);
    return sacc;
}

static void emit_fold(cpu_fn *f, LLVMValueRef begin, LLVMValueRef end)
{
    const kernel *k = f->k;
    int p = cpu_reduce_parallel_axis(k);
    bool inner = k->rank > 0 && reduced(k, k->rank - 1);
    int outer = inner ? k->rank - 1 : k->rank;
    cpu_loop loops[KILN_MAX_RANK];
    for (int d = 0; d < outer; d++) {
        cpu_loop_begin(f, &loops[d], d == p ? begin : cpu_i64(f, 0),
                       d == p ? end : cpu_i64(f, k->dims[d]), 1);
        f->idx[d] = loops[d].index;
    }
    LLVMValueRef v;
    if (inner) {
        v = fold_inner(f);
        f->idx[k->rank - 1] = NULL; /* the output is indexed by kept axes */
    } else {
        cpu_memo_clear(f);
        v = cpu_expr(f, k->value);
    }
    kiln_dtype t = value_dtype(f);
    LLVMValueRef ptr = cpu_element_ptr(f, k->out, t);
    LLVMValueRef old = LLVMBuildLoad2(f->b, cpu_mem_type(f, t), ptr, "");
    LLVMBuildStore(f->b, combine(f, old, v, 1), ptr);
    for (int d = outer - 1; d >= 0; d--)
        cpu_loop_end(f, &loops[d]);
}

/* argmax: kept axes outside, the reduced axis inside, first maximum wins,
 * the first NaN counts as the maximum (as numpy and the reference). */
static void emit_argmax(cpu_fn *f, LLVMValueRef begin, LLVMValueRef end)
{
    const kernel *k = f->k;
    cpu_loop loops[KILN_MAX_RANK];
    int n = open_kept(f, loops, begin, end), axis = 0;
    while (!reduced(k, axis))
        axis++;
    kiln_dtype t = value_dtype(f);
    bool fl = ir_dtype_is_float(t);
    cpu_loop r;
    cpu_loop_begin(f, &r, cpu_i64(f, 0), cpu_i64(f, k->dims[axis]), 1);
    LLVMValueRef best = cpu_loop_carry(f, &r, cpu_const(f, t, identity(IR_OP_MAX, t), 1));
    LLVMValueRef at = cpu_loop_carry(f, &r, cpu_i64(f, -1));
    f->idx[axis] = r.index;
    cpu_memo_clear(f);
    LLVMValueRef x = cpu_expr(f, k->value);
    LLVMValueRef first = LLVMBuildICmp(f->b, LLVMIntSLT, at, cpu_i64(f, 0), "");
    LLVMValueRef better;
    if (fl) {
        LLVMValueRef best_ok = LLVMBuildFCmp(f->b, LLVMRealORD, best, best, "");
        LLVMValueRef x_nan = LLVMBuildFCmp(f->b, LLVMRealUNO, x, x, "");
        LLVMValueRef gt = LLVMBuildFCmp(f->b, LLVMRealOGT, x, best, "");
        better = LLVMBuildAnd(f->b, best_ok, LLVMBuildOr(f->b, x_nan, gt, ""), "");
    } else {
        better = LLVMBuildICmp(f->b, LLVMIntSGT, x, best, "");
    }
    LLVMValueRef take = LLVMBuildOr(f->b, first, better, "");
    r.carry_next[0] = LLVMBuildSelect(f->b, take, x, best, "");
    r.carry_next[1] = LLVMBuildSelect(f->b, take, r.index, at, "");
    cpu_loop_end(f, &r);
    f->idx[axis] = NULL;
    LLVMValueRef index = LLVMBuildTrunc(f->b, at, LLVMInt32TypeInContext(f->ctx), "");
    cpu_store(f, k->out, KILN_I32, index);
    close_loops(f, loops, n);
}

void cpu_emit_reduce(cpu_fn *f, LLVMValueRef begin, LLVMValueRef end)
{
    f->fold_value = f->k->value;
    f->fold_combiner = f->k->combiner;
    if (f->k->combiner == IR_OP_ARGMAX) {
        emit_argmax(f, begin, end);
        return;
    }
    /* A full reduction has one chunk: [0, 1). */
    LLVMBasicBlockRef run = LLVMAppendBasicBlockInContext(f->ctx, f->fn, "run");
    LLVMBasicBlockRef done = LLVMAppendBasicBlockInContext(f->ctx, f->fn, "skip");
    LLVMBuildCondBr(f->b, LLVMBuildICmp(f->b, LLVMIntSLT, begin, end, ""), run, done);
    LLVMPositionBuilderAtEnd(f->b, run);
    emit_init(f, begin, end);
    emit_fold(f, begin, end);
    if (f->k->epilogue >= 0)
        emit_epilogue(f, begin, end);
    LLVMBuildBr(f->b, done);
    LLVMPositionBuilderAtEnd(f->b, done);
}

/* A row kernel: for each row of the last axis, its folds in order (each
 * may read the earlier ones), then the outputs along the row. */
void cpu_emit_row(cpu_fn *f, LLVMValueRef begin, LLVMValueRef end)
{
    const kernel *k = f->k;
    int last = k->rank - 1;
    LLVMBasicBlockRef run = LLVMAppendBasicBlockInContext(f->ctx, f->fn, "rows");
    LLVMBasicBlockRef done = LLVMAppendBasicBlockInContext(f->ctx, f->fn, "rows_done");
    LLVMBuildCondBr(f->b, LLVMBuildICmp(f->b, LLVMIntSLT, begin, end, ""), run, done);
    LLVMPositionBuilderAtEnd(f->b, run);
    cpu_loop loops[KILN_MAX_RANK];
    for (int d = 0; d < last; d++) {
        cpu_loop_begin(f, &loops[d], d == 0 ? begin : cpu_i64(f, 0),
                       d == 0 ? end : cpu_i64(f, k->dims[d]), 1);
        f->idx[d] = loops[d].index;
    }
    for (int j = 0; j < k->nrow; j++) {
        f->fold_value = k->row_value[j];
        f->fold_combiner = k->row_combiner[j];
        f->accs[j] = fold_inner(f);
    }
    cpu_loop row;
    cpu_loop_begin(f, &row, cpu_i64(f, 0), cpu_i64(f, k->dims[last]), 1);
    f->idx[last] = row.index;
    cpu_memo_clear(f);
    cpu_store(f, k->out, out_dtype(f), cpu_expr(f, k->value));
    for (int i = 0; i < k->nextra; i++)
        cpu_store(f, k->extra_out[i], k->expr[k->extra_value[i]].dtype,
                  cpu_expr(f, k->extra_value[i]));
    cpu_loop_end(f, &row);
    for (int d = last - 1; d >= 0; d--)
        cpu_loop_end(f, &loops[d]);
    LLVMBuildBr(f->b, done);
    LLVMPositionBuilderAtEnd(f->b, done);
}
