/* cpu_random.c — Philox-4x32-10 in LLVM IR, scalar or vector, producing
 * exactly the reference's ir_random_bits: word e % 4 of
 * Philox(key = {seed, 0}, counter = {e / 4 low, e / 4 high, offset, 0}). */
#include "cpu_codegen.h"

static LLVMValueRef k32(cpu_fn *f, uint32_t v, int lanes)
{
    return cpu_splat(f, LLVMConstInt(LLVMInt32TypeInContext(f->ctx), v, 0), lanes);
}

/* hi and lo words of the 64-bit product a * b. */
static void mulhilo(cpu_fn *f, uint32_t a, LLVMValueRef b, int lanes,
                    LLVMValueRef *hi, LLVMValueRef *lo)
{
    LLVMTypeRef t64 = lanes > 1 ? LLVMVectorType(LLVMInt64TypeInContext(f->ctx), (unsigned)lanes)
                                : LLVMInt64TypeInContext(f->ctx);
    LLVMTypeRef t32 = LLVMTypeOf(b);
    LLVMValueRef p = LLVMBuildMul(f->b, LLVMBuildZExt(f->b, b, t64, ""),
                                  cpu_splat(f, LLVMConstInt(LLVMInt64TypeInContext(f->ctx), a, 0), lanes),
                                  "");
    *lo = LLVMBuildTrunc(f->b, p, t32, "");
    *hi = LLVMBuildTrunc(f->b, LLVMBuildLShr(f->b, p, cpu_splat(f, LLVMConstInt(LLVMInt64TypeInContext(f->ctx), 32, 0), lanes), ""),
                         t32, "");
}

LLVMValueRef cpu_philox(cpu_fn *f, LLVMValueRef seed, LLVMValueRef offset,
                        LLVMValueRef element)
{
    int lanes = f->lanes;
    LLVMTypeRef t32 = cpu_vtype(f, KILN_I32, lanes);
    LLVMValueRef two = cpu_splat(f, LLVMConstInt(LLVMInt64TypeInContext(f->ctx), 2, 0), lanes);
    LLVMValueRef block = LLVMBuildLShr(f->b, element, two, "");
    LLVMValueRef c0 = LLVMBuildTrunc(f->b, block, t32, "");
    LLVMValueRef c1 = LLVMBuildTrunc(
        f->b, LLVMBuildLShr(f->b, block, cpu_splat(f, LLVMConstInt(LLVMInt64TypeInContext(f->ctx), 32, 0), lanes), ""),
        t32, "");
    LLVMValueRef c2 = offset, c3 = k32(f, 0, lanes);
    LLVMValueRef k0 = seed, k1 = k32(f, 0, lanes);
    for (int round = 0; round < 10; round++) {
        LLVMValueRef hi0, lo0, hi1, lo1;
        mulhilo(f, 0xD2511F53u, c0, lanes, &hi0, &lo0);
        mulhilo(f, 0xCD9E8D57u, c2, lanes, &hi1, &lo1);
        c0 = LLVMBuildXor(f->b, LLVMBuildXor(f->b, hi1, c1, ""), k0, "");
        c1 = lo1;
        c2 = LLVMBuildXor(f->b, LLVMBuildXor(f->b, hi0, c3, ""), k1, "");
        c3 = lo0;
        k0 = LLVMBuildAdd(f->b, k0, k32(f, 0x9E3779B9u, lanes), "");
        k1 = LLVMBuildAdd(f->b, k1, k32(f, 0xBB67AE85u, lanes), "");
    }
    LLVMValueRef word = LLVMBuildTrunc(
        f->b, LLVMBuildAnd(f->b, element, cpu_splat(f, LLVMConstInt(LLVMInt64TypeInContext(f->ctx), 3, 0), lanes), ""),
        t32, "");
    LLVMValueRef r = LLVMBuildSelect(f->b, LLVMBuildICmp(f->b, LLVMIntEQ, word, k32(f, 1, lanes), ""), c1, c0, "");
    r = LLVMBuildSelect(f->b, LLVMBuildICmp(f->b, LLVMIntEQ, word, k32(f, 2, lanes), ""), c2, r, "");
    return LLVMBuildSelect(f->b, LLVMBuildICmp(f->b, LLVMIntEQ, word, k32(f, 3, lanes), ""), c3, r, "");
}
