/*
 * cpu_expr.c — kernel expressions to LLVM IR, scalar or `lanes` wide.
 *
 * The semantics are the reference evaluator's, bit for bit where the
 * reference is exact: i32 arithmetic wraps, x / 0 is 0 for i32, casts to
 * i32 saturate (NaN gives 0), maximum/minimum propagate NaN and pick the
 * second operand on ties, relu and sign keep NaN.  Basic float arithmetic
 * is correctly rounded in both, so it agrees exactly; transcendental
 * functions come from cpu_math.c with the accuracy stated there.
 */
#include <string.h>

#include "cpu_codegen.h"
#include "cpu_math.h"

LLVMTypeRef cpu_type(cpu_fn *f, kiln_dtype t)
{
    switch (t) {
    case KILN_F32: return LLVMFloatTypeInContext(f->ctx);
    case KILN_F64: return LLVMDoubleTypeInContext(f->ctx);
    case KILN_I32: return LLVMInt32TypeInContext(f->ctx);
    default: return LLVMInt1TypeInContext(f->ctx);
    }
}

LLVMTypeRef cpu_mem_type(cpu_fn *f, kiln_dtype t)
{
    return t == KILN_BOOL ? LLVMInt8TypeInContext(f->ctx) : cpu_type(f, t);
}

LLVMTypeRef cpu_vtype(cpu_fn *f, kiln_dtype t, int lanes)
{
    return lanes > 1 ? LLVMVectorType(cpu_type(f, t), (unsigned)lanes)
                     : cpu_type(f, t);
}

LLVMValueRef cpu_i64(cpu_fn *f, int64_t v)
{
    return LLVMConstInt(LLVMInt64TypeInContext(f->ctx), (unsigned long long)v, 1);
}

LLVMValueRef cpu_const(cpu_fn *f, kiln_dtype t, double v, int lanes)
{
    LLVMTypeRef ty = cpu_type(f, t);
    /* converted as the reference converts (a pad value 0.5 is a true bool) */
    LLVMValueRef c = ir_dtype_is_float(t)
                         ? LLVMConstReal(ty, v)
                         : LLVMConstInt(ty, (unsigned long long)(int64_t)ir_round_to(t, v), 1);
    if (lanes <= 1)
        return c;
    LLVMValueRef all[64];
    for (int i = 0; i < lanes; i++)
        all[i] = c;
    return LLVMConstVector(all, (unsigned)lanes);
}

LLVMValueRef cpu_splat(cpu_fn *f, LLVMValueRef v, int lanes)
{
    if (lanes <= 1)
        return v;
    LLVMTypeRef vt = LLVMVectorType(LLVMTypeOf(v), (unsigned)lanes);
    LLVMValueRef one = LLVMBuildInsertElement(
        f->b, LLVMGetUndef(vt), v, LLVMConstInt(LLVMInt32TypeInContext(f->ctx), 0, 0),
        "");
    LLVMValueRef mask = LLVMConstNull(
        LLVMVectorType(LLVMInt32TypeInContext(f->ctx), (unsigned)lanes));
    return LLVMBuildShuffleVector(f->b, one, LLVMGetUndef(vt), mask, "splat");
}

LLVMValueRef cpu_intrinsic(cpu_fn *f, const char *name, LLVMTypeRef overload,
                           LLVMValueRef *args, unsigned nargs)
{
    unsigned id = LLVMLookupIntrinsicID(name, strlen(name));
    LLVMTypeRef over[1] = {overload};
    LLVMValueRef fn = LLVMGetIntrinsicDeclaration(f->mod, id, over, 1);
    LLVMTypeRef fty = LLVMIntrinsicGetType(f->ctx, id, over, 1);
    return LLVMBuildCall2(f->b, fty, fn, args, nargs, "");
}

void cpu_memo_clear(cpu_fn *f)
{
    memset(f->memo, 0, (size_t)f->k->nexpr * sizeof *f->memo);
}

/* ---- addressing ------------------------------------------------------ */

static LLVMValueRef access_index(cpu_fn *f, const k_access *a)
{
    LLVMValueRef at = cpu_i64(f, a->offset);
    for (int d = 0; d < f->k->rank; d++)
        if (a->stride[d] != 0 && f->idx[d])
            at = LLVMBuildAdd(f->b, at,
                              LLVMBuildMul(f->b, f->idx[d], cpu_i64(f, a->stride[d]), ""),
                              "");
    return at;
}

/* The point (first lane) is inside a guarded access. */
static LLVMValueRef inside_scalar(cpu_fn *f, const k_access *a)
{
    LLVMValueRef in = LLVMConstInt(LLVMInt1TypeInContext(f->ctx), 1, 0);
    for (int d = 0; d < f->k->rank; d++) {
        LLVMValueRef i = f->idx[d] ? f->idx[d] : cpu_i64(f, 0);
        LLVMValueRef ge = LLVMBuildICmp(f->b, LLVMIntSGE, i, cpu_i64(f, a->lo[d]), "");
        LLVMValueRef lt = LLVMBuildICmp(f->b, LLVMIntSLT, i, cpu_i64(f, a->hi[d]), "");
        in = LLVMBuildAnd(f->b, in, LLVMBuildAnd(f->b, ge, lt, ""), "");
    }
    return in;
}

LLVMValueRef cpu_element_ptr(cpu_fn *f, int acc, kiln_dtype t)
{
    const k_access *a = &f->k->acc[acc];
    LLVMValueRef at = access_index(f, a);
    if (a->guarded) /* stay in bounds outside the guard: element 0 exists */
        at = LLVMBuildSelect(f->b, inside_scalar(f, a), at, cpu_i64(f, 0), "");
    return LLVMBuildGEP2(f->b, cpu_mem_type(f, t), f->base[acc], &at, 1, "");
}

static LLVMValueRef load_one(cpu_fn *f, LLVMValueRef ptr, kiln_dtype t)
{
    LLVMValueRef v = LLVMBuildLoad2(f->b, cpu_mem_type(f, t), ptr, "");
    if (t == KILN_BOOL)
        v = LLVMBuildICmp(f->b, LLVMIntNE, v,
                          LLVMConstInt(LLVMInt8TypeInContext(f->ctx), 0, 0), "");
    return v;
}

/* The lanes of a load along vec_axis: a vector load for unit stride, a
 * splat for stride 0, else element by element. */
static LLVMValueRef load(cpu_fn *f, int acc, kiln_dtype t)
{
    const k_access *a = &f->k->acc[acc];
    if (f->lanes <= 1)
        return load_one(f, cpu_element_ptr(f, acc, t), t);
    int64_t s = a->stride[f->vec_axis];
    if (s == 0 && !a->guarded)
        return cpu_splat(f, load_one(f, cpu_element_ptr(f, acc, t), t), f->lanes);
    if (s == 1 && !a->guarded && t != KILN_BOOL) {
        LLVMValueRef v = LLVMBuildLoad2(f->b, cpu_vtype(f, t, f->lanes),
                                        cpu_element_ptr(f, acc, t), "");
        LLVMSetAlignment(v, (unsigned)kiln_dtype_size(t));
        return v;
    }
    LLVMValueRef v = LLVMGetUndef(cpu_vtype(f, t, f->lanes));
    LLVMValueRef saved = f->idx[f->vec_axis];
    for (int l = 0; l < f->lanes; l++) {
        f->idx[f->vec_axis] = LLVMBuildAdd(f->b, saved, cpu_i64(f, l), "");
        v = LLVMBuildInsertElement(
            f->b, v, load_one(f, cpu_element_ptr(f, acc, t), t),
            LLVMConstInt(LLVMInt32TypeInContext(f->ctx), (unsigned)l, 0), "");
    }
    f->idx[f->vec_axis] = saved;
    return v;
}

void cpu_store(cpu_fn *f, int acc, kiln_dtype t, LLVMValueRef v)
{
    if (t == KILN_BOOL)
        v = LLVMBuildZExt(f->b, v, LLVMInt8TypeInContext(f->ctx), "");
    LLVMBuildStore(f->b, v, cpu_element_ptr(f, acc, t));
}

/* Lane offsets 0, 1, ..., lanes - 1 added to a scalar index. */
static LLVMValueRef lane_index(cpu_fn *f, LLVMValueRef first, LLVMTypeRef ty)
{
    if (f->lanes <= 1)
        return first;
    LLVMValueRef steps[64];
    for (int l = 0; l < f->lanes; l++)
        steps[l] = LLVMConstInt(ty, (unsigned long long)l, 0);
    return LLVMBuildAdd(f->b, cpu_splat(f, first, f->lanes),
                        LLVMConstVector(steps, (unsigned)f->lanes), "");
}

/* The loop index along axis, per lane, as i32 (narrow) or i64. */
static LLVMValueRef axis_index(cpu_fn *f, int axis, bool narrow)
{
    LLVMValueRef i = f->idx[axis] ? f->idx[axis] : cpu_i64(f, 0);
    LLVMTypeRef ty = narrow ? LLVMInt32TypeInContext(f->ctx)
                            : LLVMInt64TypeInContext(f->ctx);
    if (narrow)
        i = LLVMBuildTrunc(f->b, i, ty, "");
    if (axis == f->vec_axis)
        return lane_index(f, i, ty);
    return cpu_splat(f, i, f->lanes);
}

static LLVMValueRef inside(cpu_fn *f, int acc)
{
    const k_access *a = &f->k->acc[acc];
    if (f->lanes <= 1)
        return inside_scalar(f, a);
    LLVMValueRef in = cpu_const(f, KILN_BOOL, 1, f->lanes);
    for (int d = 0; d < f->k->rank; d++) {
        LLVMValueRef i = axis_index(f, d, false);
        LLVMValueRef lo = cpu_splat(f, cpu_i64(f, a->lo[d]), f->lanes);
        LLVMValueRef hi = cpu_splat(f, cpu_i64(f, a->hi[d]), f->lanes);
        in = LLVMBuildAnd(f->b, in,
                          LLVMBuildAnd(f->b, LLVMBuildICmp(f->b, LLVMIntSGE, i, lo, ""),
                                       LLVMBuildICmp(f->b, LLVMIntSLT, i, hi, ""), ""),
                          "");
    }
    return in;
}

/* Element index of a random stream: the access's map, per lane. */
static LLVMValueRef random_element(cpu_fn *f, int acc)
{
    const k_access *a = &f->k->acc[acc];
    LLVMValueRef at = access_index(f, a);
    if (f->lanes <= 1)
        return at;
    LLVMValueRef step = cpu_splat(f, cpu_i64(f, a->stride[f->vec_axis]), f->lanes);
    LLVMValueRef lanes = lane_index(f, cpu_i64(f, 0), LLVMInt64TypeInContext(f->ctx));
    return LLVMBuildAdd(f->b, cpu_splat(f, at, f->lanes),
                        LLVMBuildMul(f->b, lanes, step, ""), "");
}

static LLVMValueRef random_value(cpu_fn *f, const k_expr *e)
{
    LLVMValueRef seed = cpu_expr(f, e->args[0]), offset = cpu_expr(f, e->args[1]);
    LLVMValueRef bits = cpu_philox(f, seed, offset, random_element(f, e->acc));
    LLVMValueRef top = LLVMBuildLShr(
        f->b, bits, cpu_splat(f, LLVMConstInt(LLVMInt32TypeInContext(f->ctx), 8, 0),
                              f->lanes), "");
    if (e->value >= 0) { /* bernoulli: integer threshold, as the reference */
        LLVMValueRef t = LLVMConstInt(LLVMInt32TypeInContext(f->ctx),
                                      ir_bernoulli_threshold(e->value), 0);
        return LLVMBuildICmp(f->b, LLVMIntULT, top, cpu_splat(f, t, f->lanes), "");
    }
    LLVMValueRef u = LLVMBuildUIToFP(f->b, top, cpu_vtype(f, e->dtype, f->lanes), "");
    return LLVMBuildFMul(f->b, u, cpu_const(f, e->dtype, 0x1p-24, f->lanes), "");
}

LLVMValueRef cpu_expr(cpu_fn *f, int i)
{
    if (f->memo[i])
        return f->memo[i];
    const k_expr *e = &f->k->expr[i];
    LLVMValueRef v = NULL, args[3];
    switch (e->kind) {
    case KE_LOAD: v = load(f, e->acc, e->dtype); break;
    case KE_INSIDE: v = inside(f, e->acc); break;
    case KE_CONST: v = cpu_const(f, e->dtype, e->value, f->lanes); break;
    case KE_INDEX: v = axis_index(f, e->axis, true); break;
    case KE_RANDOM: v = random_value(f, e); break;
    case KE_ACC: v = cpu_splat(f, f->accs[e->axis], f->lanes); break;
    case KE_OP: {
        kiln_dtype in = f->k->expr[e->args[0]].dtype;
        if (e->op == IR_OP_SELECT)
            in = f->k->expr[e->args[1]].dtype;
        for (int j = 0; j < e->nargs; j++)
            args[j] = cpu_expr(f, e->args[j]);
        v = cpu_op(f, e->op, e->dtype, in, args, f->lanes);
        break;
    }
    }
    return f->memo[i] = v;
}
