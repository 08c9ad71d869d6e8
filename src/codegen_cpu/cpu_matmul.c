/*
 * cpu_matmul.c — contraction kernels.
 *
 * The parallel range is the batch * M output rows.  A chunk is cut at batch
 * boundaries into row blocks, each handed to the packed GEMM of
 * cpu_gemm.c (floating types) with the operands' own strides, so
 * transposed and broadcast operands are never copied; the epilogue then
 * runs over the block while it is still in cache.  i32 uses a plain
 * loop nest (exact, wrapping).
 */
#include "cpu_codegen.h"
#include "cpu_gemm.h"

static kiln_dtype mm_dtype(cpu_fn *f) { return f->prog->g->nodes[f->k->node].type.dtype; }

/* Element offset of batch number `b` (i64 value) under an access. */
static LLVMValueRef batch_offset(cpu_fn *f, const k_access *a, LLVMValueRef b)
{
    const kernel *k = f->k;
    LLVMValueRef off = cpu_i64(f, a->offset);
    for (int d = k->rank - 3; d >= 0; d--) {
        LLVMValueRef dim = cpu_i64(f, k->dims[d]);
        LLVMValueRef i = LLVMBuildSRem(f->b, b, dim, "");
        b = LLVMBuildSDiv(f->b, b, dim, "");
        if (a->stride[d])
            off = LLVMBuildAdd(f->b, off, LLVMBuildMul(f->b, i, cpu_i64(f, a->stride[d]), ""), "");
    }
    return off;
}

static LLVMValueRef gep(cpu_fn *f, kiln_dtype t, LLVMValueRef base, LLVMValueRef at)
{
    return LLVMBuildGEP2(f->b, cpu_mem_type(f, t), base, &at, 1, "");
}

/* Run the epilogue over rows [m0, m0 + rows) x N of batch b, in place. */
static void epilogue(cpu_fn *f, LLVMValueRef b, LLVMValueRef m0, LLVMValueRef rows)
{
    const kernel *k = f->k;
    int r = k->rank;
    kiln_dtype t = mm_dtype(f);
    /* batch indices for accesses the epilogue may read */
    LLVMValueRef rest = b;
    for (int d = r - 3; d >= 0; d--) {
        LLVMValueRef dim = cpu_i64(f, k->dims[d]);
        f->idx[d] = LLVMBuildSRem(f->b, rest, dim, "");
        rest = LLVMBuildSDiv(f->b, rest, dim, "");
    }
    cpu_loop lm, ln;
    cpu_loop_begin(f, &lm, m0, LLVMBuildAdd(f->b, m0, rows, ""), 1);
    f->idx[r - 2] = lm.index;
    cpu_loop_begin(f, &ln, cpu_i64(f, 0), cpu_i64(f, k->dims[r - 1]), 1);
    f->idx[r - 1] = ln.index;
    LLVMValueRef ptr = cpu_element_ptr(f, k->out, t);
    f->accs[0] = LLVMBuildLoad2(f->b, cpu_mem_type(f, t), ptr, "");
    cpu_memo_clear(f);
    LLVMBuildStore(f->b, cpu_expr(f, k->epilogue), ptr);
    cpu_loop_end(f, &ln);
    cpu_loop_end(f, &lm);
}

/* C block = A block x B by the packed GEMM. */
static void gemm_block(cpu_fn *f, LLVMValueRef gemm, LLVMValueRef b,
                       LLVMValueRef m0, LLVMValueRef rows)
{
    const kernel *k = f->k;
    int r = k->rank;
    kiln_dtype t = mm_dtype(f);
    const k_access *A = &k->acc[k->a], *B = &k->acc[k->b], *C = &k->acc[k->out];
    LLVMValueRef a_at = LLVMBuildAdd(f->b, batch_offset(f, A, b),
                                     LLVMBuildMul(f->b, m0, cpu_i64(f, A->stride[r - 2]), ""), "");
    LLVMValueRef c_at = LLVMBuildAdd(f->b, batch_offset(f, C, b),
                                     LLVMBuildMul(f->b, m0, cpu_i64(f, C->stride[r - 2]), ""), "");
    LLVMValueRef args[12] = {
        gep(f, t, f->base[k->a], a_at), cpu_i64(f, A->stride[r - 2]), cpu_i64(f, k->a_kstride),
        gep(f, t, f->base[k->b], batch_offset(f, B, b)), cpu_i64(f, k->b_kstride),
        cpu_i64(f, B->stride[r - 1]),
        gep(f, t, f->base[k->out], c_at), cpu_i64(f, C->stride[r - 2]),
        rows, cpu_i64(f, k->dims[r - 1]), cpu_i64(f, k->k_len), f->scratch};
    LLVMBuildCall2(f->b, LLVMGlobalGetValueType(gemm), gemm, args, 12, "");
}

/* C block by a plain loop nest (i32, or no GEMM for the type). */
static void naive_block(cpu_fn *f, LLVMValueRef b, LLVMValueRef m0, LLVMValueRef rows)
{
    const kernel *k = f->k;
    int r = k->rank;
    kiln_dtype t = mm_dtype(f);
    const k_access *A = &k->acc[k->a], *B = &k->acc[k->b], *C = &k->acc[k->out];
    LLVMValueRef ab = batch_offset(f, A, b), bb = batch_offset(f, B, b),
                 cb = batch_offset(f, C, b);
    cpu_loop lm, ln, lk;
    cpu_loop_begin(f, &lm, m0, LLVMBuildAdd(f->b, m0, rows, ""), 1);
    cpu_loop_begin(f, &ln, cpu_i64(f, 0), cpu_i64(f, k->dims[r - 1]), 1);
    cpu_loop_begin(f, &lk, cpu_i64(f, 0), cpu_i64(f, k->k_len), 1);
    LLVMValueRef acc = cpu_loop_carry(f, &lk, cpu_const(f, t, 0, 1));
    LLVMValueRef ai = LLVMBuildAdd(f->b, ab, LLVMBuildAdd(
        f->b, LLVMBuildMul(f->b, lm.index, cpu_i64(f, A->stride[r - 2]), ""),
        LLVMBuildMul(f->b, lk.index, cpu_i64(f, k->a_kstride), ""), ""), "");
    LLVMValueRef bi = LLVMBuildAdd(f->b, bb, LLVMBuildAdd(
        f->b, LLVMBuildMul(f->b, lk.index, cpu_i64(f, k->b_kstride), ""),
        LLVMBuildMul(f->b, ln.index, cpu_i64(f, B->stride[r - 1]), ""), ""), "");
    LLVMValueRef x = LLVMBuildLoad2(f->b, cpu_type(f, t), gep(f, t, f->base[k->a], ai), "");
    LLVMValueRef y = LLVMBuildLoad2(f->b, cpu_type(f, t), gep(f, t, f->base[k->b], bi), "");
    LLVMValueRef prod[2] = {acc, NULL};
    LLVMValueRef xy[2] = {x, y};
    prod[1] = cpu_op(f, IR_OP_MUL, t, t, xy, 1);
    lk.carry_next[0] = cpu_op(f, IR_OP_ADD, t, t, prod, 1);
    cpu_loop_end(f, &lk);
    LLVMValueRef ci = LLVMBuildAdd(f->b, cb, LLVMBuildAdd(
        f->b, LLVMBuildMul(f->b, lm.index, cpu_i64(f, C->stride[r - 2]), ""),
        LLVMBuildMul(f->b, ln.index, cpu_i64(f, C->stride[r - 1]), ""), ""), "");
    LLVMBuildStore(f->b, acc, gep(f, t, f->base[k->out], ci));
    cpu_loop_end(f, &ln);
    cpu_loop_end(f, &lm);
}

void cpu_emit_matmul(cpu_fn *f, LLVMValueRef begin, LLVMValueRef end)
{
    const kernel *k = f->k;
    int r = k->rank;
    kiln_dtype t = mm_dtype(f);
    LLVMValueRef gemm = !ir_dtype_is_float(t) ? NULL
                        : f->gemm_extern  ? cpu_gemm_declare(f->mod, t, f->tgt)
                                          : cpu_gemm_function(f->mod, t, f->tgt);
    LLVMValueRef M = cpu_i64(f, k->dims[r - 2]);
    /* for (row = begin; row < end; row += rows) one block within a batch */
    LLVMBasicBlockRef from = LLVMGetInsertBlock(f->b);
    LLVMBasicBlockRef head = LLVMAppendBasicBlockInContext(f->ctx, f->fn, "rows");
    LLVMBasicBlockRef body = LLVMAppendBasicBlockInContext(f->ctx, f->fn, "block");
    LLVMBasicBlockRef done = LLVMAppendBasicBlockInContext(f->ctx, f->fn, "rows_done");
    LLVMBuildBr(f->b, head);
    LLVMPositionBuilderAtEnd(f->b, head);
    LLVMValueRef row = LLVMBuildPhi(f->b, LLVMInt64TypeInContext(f->ctx), "row");
    LLVMAddIncoming(row, &begin, &from, 1);
    LLVMBuildCondBr(f->b, LLVMBuildICmp(f->b, LLVMIntSLT, row, end, ""), body, done);
    LLVMPositionBuilderAtEnd(f->b, body);
    LLVMValueRef b = LLVMBuildSDiv(f->b, row, M, "");
    LLVMValueRef m0 = LLVMBuildSRem(f->b, row, M, "");
    LLVMValueRef left = LLVMBuildSub(f->b, M, m0, "");
    LLVMValueRef want = LLVMBuildSub(f->b, end, row, "");
    LLVMValueRef rows = LLVMBuildSelect(f->b, LLVMBuildICmp(f->b, LLVMIntSLT, want, left, ""),
                                        want, left, "");
    /* the GEMM writes rows of unit-stride columns */
    if (gemm && k->acc[k->out].stride[r - 1] == 1)
        gemm_block(f, gemm, b, m0, rows);
    else
        naive_block(f, b, m0, rows);
    if (k->epilogue >= 0)
        epilogue(f, b, m0, rows);
    LLVMValueRef next = LLVMBuildAdd(f->b, row, rows, "");
    LLVMBasicBlockRef latch = LLVMGetInsertBlock(f->b);
    LLVMBuildBr(f->b, head);
    LLVMAddIncoming(row, &next, &latch, 1);
    LLVMPositionBuilderAtEnd(f->b, done);
}
