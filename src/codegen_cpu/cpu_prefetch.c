/*
 * cpu_prefetch.c — software prefetches for the vectorised loops of
 * kernels, added after optimisation.
 *
 * A fused elementwise kernel with transcendental functions is a long
 * dependency chain per vector (the 8-op chain of bench/fusion.c: ~70
 * operations ~40 deep), so the out-of-order window holds only a couple of
 * iterations and issues the loads of the next cache lines too late to
 * hide memory latency: time becomes compute + memory instead of their
 * maximum (tanh over 16M floats: 14.4 ms where a plain copy takes 12.4).
 * A prefetch PREFETCH_AHEAD bytes in front of every vector load (and a
 * write prefetch in front of every vector store) keeps the lines coming:
 * tanh 11.1 ms, the chain 19.3 -> 17.1 ms, no change to copy-like or
 * GEMM-bound kernels.  Prefetches never fault and change no value, so a
 * prefetch past the end of a buffer is harmless.
 *
 * Done on the optimised module because the loop vectoriser would
 * replicate a prefetch written into the scalar loop once per lane.  The
 * GEMM (kiln_gemm_*) packs its own panels and is left alone.
 */
#include <string.h>

#include "cpu_codegen.h"

#define PREFETCH_AHEAD 2048 /* bytes: 32 cache lines */

/* A load or store of a vector of at least 256 bits: the body of a
 * vectorised loop (LLVM emits no other vector memory access here). */
static int vector_access(LLVMValueRef in, LLVMTargetDataRef layout)
{
    LLVMOpcode op = LLVMGetInstructionOpcode(in);
    if (op != LLVMLoad && op != LLVMStore)
        return 0;
    LLVMTypeRef t = LLVMTypeOf(op == LLVMLoad ? in : LLVMGetOperand(in, 0));
    if (LLVMGetTypeKind(t) != LLVMVectorTypeKind || LLVMSizeOfTypeInBits(layout, t) < 256)
        return 0;
    return op == LLVMLoad ? 1 : 2;
}

void cpu_add_prefetches(LLVMModuleRef m)
{
    LLVMContextRef ctx = LLVMGetModuleContext(m);
    LLVMTargetDataRef layout = LLVMGetModuleDataLayout(m);
    LLVMTypeRef ptr = LLVMPointerTypeInContext(ctx, 0), i32 = LLVMInt32TypeInContext(ctx);
    LLVMTypeRef params[4] = {ptr, i32, i32, i32};
    LLVMTypeRef fty = LLVMFunctionType(LLVMVoidTypeInContext(ctx), params, 4, 0);
    LLVMValueRef prefetch = NULL;
    LLVMValueRef ahead = LLVMConstInt(LLVMInt64TypeInContext(ctx), PREFETCH_AHEAD, 0);
    LLVMBuilderRef b = LLVMCreateBuilderInContext(ctx);
    for (LLVMValueRef fn = LLVMGetFirstFunction(m); fn; fn = LLVMGetNextFunction(fn)) {
        size_t len;
        const char *name = LLVMGetValueName2(fn, &len);
        if (strncmp(name, "kiln_gemm", 9) == 0)
            continue;
        for (LLVMBasicBlockRef bb = LLVMGetFirstBasicBlock(fn); bb; bb = LLVMGetNextBasicBlock(bb))
            for (LLVMValueRef in = LLVMGetFirstInstruction(bb); in; in = LLVMGetNextInstruction(in)) {
                int kind = vector_access(in, layout);
                if (!kind)
                    continue;
                if (!prefetch && !(prefetch = LLVMGetNamedFunction(m, "llvm.prefetch.p0")))
                    prefetch = LLVMAddFunction(m, "llvm.prefetch.p0", fty);
                LLVMPositionBuilderBefore(b, in);
                LLVMValueRef at = LLVMBuildGEP2(b, LLVMInt8TypeInContext(ctx),
                                                LLVMGetOperand(in, kind == 1 ? 0 : 1), &ahead, 1, "");
                /* (address, write?, locality 3: keep in all levels, data cache) */
                LLVMValueRef args[4] = {at, LLVMConstInt(i32, kind == 2, 0),
                                        LLVMConstInt(i32, 3, 0), LLVMConstInt(i32, 1, 0)};
                LLVMBuildCall2(b, fty, prefetch, args, 4, "");
            }
    }
    LLVMDisposeBuilder(b);
}
