/* cpu_ops.c — one elementwise op on scalars or vectors, with the reference
 * evaluator's semantics (see cpu_expr.c). */
#include <math.h>
#include <string.h>

#include "cpu_codegen.h"
#include "cpu_math.h"

static LLVMValueRef zero(cpu_fn *f, kiln_dtype t, int lanes)
{
    return cpu_const(f, t, 0, lanes);
}

/* NaN-propagating max/min; ties and signed zeros pick the second operand,
 * as the reference's `a > b ? a : b`. */
static LLVMValueRef extreme(cpu_fn *f, LLVMValueRef a, LLVMValueRef b,
                            kiln_dtype t, bool max, int lanes)
{
    if (t == KILN_I32)
        return LLVMBuildSelect(f->b,
                               LLVMBuildICmp(f->b, max ? LLVMIntSGT : LLVMIntSLT, a, b, ""),
                               a, b, "");
    LLVMValueRef pick = LLVMBuildSelect(
        f->b, LLVMBuildFCmp(f->b, max ? LLVMRealOGT : LLVMRealOLT, a, b, ""), a, b, "");
    LLVMValueRef nan = LLVMBuildFCmp(f->b, LLVMRealUNO, a, b, "");
    return LLVMBuildSelect(f->b, nan, cpu_const(f, t, NAN, lanes), pick, "");
}

/* i32 division truncating toward zero; x / 0 = 0; INT_MIN / -1 = INT_MIN. */
static LLVMValueRef idiv(cpu_fn *f, LLVMValueRef a, LLVMValueRef b, int lanes)
{
    LLVMValueRef z = zero(f, KILN_I32, lanes), one = cpu_const(f, KILN_I32, 1, lanes);
    LLVMValueRef by0 = LLVMBuildICmp(f->b, LLVMIntEQ, b, z, "");
    LLVMValueRef ovf = LLVMBuildAnd(
        f->b, LLVMBuildICmp(f->b, LLVMIntEQ, a, cpu_const(f, KILN_I32, -2147483648.0, lanes), ""),
        LLVMBuildICmp(f->b, LLVMIntEQ, b, cpu_const(f, KILN_I32, -1, lanes), ""), "");
    LLVMValueRef safe = LLVMBuildSelect(f->b, LLVMBuildOr(f->b, by0, ovf, ""), one, b, "");
    return LLVMBuildSelect(f->b, by0, z, LLVMBuildSDiv(f->b, a, safe, ""), "");
}

static LLVMValueRef compare(cpu_fn *f, ir_op op, kiln_dtype t, LLVMValueRef a,
                            LLVMValueRef b)
{
    static const LLVMRealPredicate fp[] = {LLVMRealOLT, LLVMRealOLE, LLVMRealOGT,
                                           LLVMRealOGE, LLVMRealOEQ, LLVMRealUNE};
    static const LLVMIntPredicate ip[] = {LLVMIntSLT, LLVMIntSLE, LLVMIntSGT,
                                          LLVMIntSGE, LLVMIntEQ, LLVMIntNE};
    int k = op - IR_OP_LT;
    if (ir_dtype_is_float(t))
        return LLVMBuildFCmp(f->b, fp[k], a, b, "");
    return LLVMBuildICmp(f->b, ip[k], a, b, "");
}

static LLVMValueRef cast(cpu_fn *f, LLVMValueRef x, kiln_dtype from,
                         kiln_dtype to, int lanes)
{
    LLVMTypeRef ty = cpu_vtype(f, to, lanes);
    if (from == to)
        return x;
    if (to == KILN_BOOL)
        return ir_dtype_is_float(from)
                   ? LLVMBuildFCmp(f->b, LLVMRealUNE, x, zero(f, from, lanes), "")
                   : LLVMBuildICmp(f->b, LLVMIntNE, x, zero(f, from, lanes), "");
    if (from == KILN_BOOL)
        return ir_dtype_is_float(to) ? LLVMBuildUIToFP(f->b, x, ty, "")
                                     : LLVMBuildZExt(f->b, x, ty, "");
    if (ir_dtype_is_float(from) && ir_dtype_is_float(to))
        return to == KILN_F64 ? LLVMBuildFPExt(f->b, x, ty, "")
                              : LLVMBuildFPTrunc(f->b, x, ty, "");
    if (ir_dtype_is_float(to)) /* i32 -> float */
        return LLVMBuildSIToFP(f->b, x, ty, "");
    /* float -> i32: saturating, NaN -> 0, like the reference */
    LLVMTypeRef over[2] = {ty, LLVMTypeOf(x)};
    const char *name = "llvm.fptosi.sat";
    unsigned id = LLVMLookupIntrinsicID(name, strlen(name));
    LLVMValueRef fn = LLVMGetIntrinsicDeclaration(f->mod, id, over, 2);
    return LLVMBuildCall2(f->b, LLVMIntrinsicGetType(f->ctx, id, over, 2), fn, &x, 1, "");
}

static LLVMValueRef unary(cpu_fn *f, ir_op op, kiln_dtype t, LLVMValueRef x,
                          int lanes)
{
    bool fl = ir_dtype_is_float(t);
    LLVMValueRef z = zero(f, t, lanes);
    switch (op) {
    case IR_OP_NEG: return fl ? LLVMBuildFNeg(f->b, x, "") : LLVMBuildSub(f->b, z, x, "");
    case IR_OP_ABS:
        if (fl)
            return cpu_intrinsic(f, "llvm.fabs", LLVMTypeOf(x), &x, 1);
        return LLVMBuildSelect(f->b, LLVMBuildICmp(f->b, LLVMIntSLT, x, z, ""),
                               LLVMBuildSub(f->b, z, x, ""), x, "");
    case IR_OP_SQUARE: return fl ? LLVMBuildFMul(f->b, x, x, "") : LLVMBuildMul(f->b, x, x, "");
    case IR_OP_RELU:
        return LLVMBuildSelect(f->b,
                               fl ? LLVMBuildFCmp(f->b, LLVMRealUGT, x, z, "")
                                  : LLVMBuildICmp(f->b, LLVMIntSGT, x, z, ""),
                               x, z, "");
    case IR_OP_SIGN: {
        LLVMValueRef one = cpu_const(f, t, 1, lanes), m1 = cpu_const(f, t, -1, lanes);
        LLVMValueRef pos = fl ? LLVMBuildFCmp(f->b, LLVMRealOGT, x, z, "")
                              : LLVMBuildICmp(f->b, LLVMIntSGT, x, z, "");
        LLVMValueRef neg = fl ? LLVMBuildFCmp(f->b, LLVMRealOLT, x, z, "")
                              : LLVMBuildICmp(f->b, LLVMIntSLT, x, z, "");
        return LLVMBuildSelect(f->b, pos, one, LLVMBuildSelect(f->b, neg, m1, x, ""), "");
    }
    case IR_OP_RECIPROCAL: return LLVMBuildFDiv(f->b, cpu_const(f, t, 1, lanes), x, "");
    case IR_OP_SQRT: return cpu_intrinsic(f, "llvm.sqrt", LLVMTypeOf(x), &x, 1);
    case IR_OP_RSQRT:
        return LLVMBuildFDiv(f->b, cpu_const(f, t, 1, lanes),
                             cpu_intrinsic(f, "llvm.sqrt", LLVMTypeOf(x), &x, 1), "");
    default: return cpu_math_unary(f->b, op, x);
    }
}

LLVMValueRef cpu_op(cpu_fn *f, ir_op op, kiln_dtype out, kiln_dtype in,
                    LLVMValueRef *a, int lanes)
{
    bool fl = ir_dtype_is_float(in);
    switch (op) {
    case IR_OP_ADD: return fl ? LLVMBuildFAdd(f->b, a[0], a[1], "") : LLVMBuildAdd(f->b, a[0], a[1], "");
    case IR_OP_SUB: return fl ? LLVMBuildFSub(f->b, a[0], a[1], "") : LLVMBuildSub(f->b, a[0], a[1], "");
    case IR_OP_MUL: return fl ? LLVMBuildFMul(f->b, a[0], a[1], "") : LLVMBuildMul(f->b, a[0], a[1], "");
    case IR_OP_DIV: return fl ? LLVMBuildFDiv(f->b, a[0], a[1], "") : idiv(f, a[0], a[1], lanes);
    case IR_OP_POW: return cpu_math_pow(f->b, a[0], a[1]);
    case IR_OP_MAXIMUM: return extreme(f, a[0], a[1], in, true, lanes);
    case IR_OP_MINIMUM: return extreme(f, a[0], a[1], in, false, lanes);
    case IR_OP_LT: case IR_OP_LE: case IR_OP_GT: case IR_OP_GE:
    case IR_OP_EQ: case IR_OP_NE:
        return compare(f, op, in, a[0], a[1]);
    case IR_OP_SELECT: return LLVMBuildSelect(f->b, a[0], a[1], a[2], "");
    case IR_OP_CAST: return cast(f, a[0], in, out, lanes);
    default: return unary(f, op, in, a[0], lanes);
    }
}
