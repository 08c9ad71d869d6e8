/*
 * cpu_gemm.c — GEMM as LLVM IR: packing, cache blocking and a register-
 * tiled vector micro-kernel (the BLIS/Goto structure, in row-major terms).
 *
 * Vectors run along N (C and B rows are contiguous), so the micro-kernel
 * keeps an MR x NR tile of C in NV = 2 vector registers per row, loads NR
 * packed B values as vectors and broadcasts one packed A value per row:
 * per k step NV vector loads, MR broadcasts and MR*NV vector fmuladds.
 *
 *   for i0 in M step MC            A block MC x KC  (L3; packed once per k0)
 *     for k0 in K step KC          pack A rows into MR-row micro-panels
 *       for j0 in N step NC        B block KC x NC  (L2; packed per j0)
 *         for ir in MC step MR     A micro-panel MR x KC stays in L1
 *           for jr in NC step NR   B micro-panels stream from L2
 *             micro-kernel: C tile = (k0 ? C tile : 0) + A panel * B panel
 *
 * This is BLIS's loop order with the roles of A and B swapped (BLIS keeps
 * the broadcast operand's micro-panel in L1 and streams the vector operand
 * from an L2-resident block).  Block sizes, for a Sapphire Rapids core
 * (48 KiB L1d, 2 MiB L2) and f32 with AVX-512 (MR 12, NR 32):
 *   KC 384: the A micro-panel MR*KC*4 = 18 KiB, 3/8 of L1, leaves room
 *           for the B micro-panel streaming through; long KC amortises the
 *           C tile's load/store (24 vectors) over 384 * 24 fmas;
 *   NC 672: the B block KC*NC*4 = 1008 KiB, half of L2, is re-read from
 *           L2 for every A micro-panel; the other half is left to the A
 *           panel on its way to L1, the C tiles and prefetch slack;
 *   MC 960: the A block MC*KC*4 = 1.4 MiB, re-read from L3 once per j0;
 *           MC >= M for most matrices means B is packed once per k0.
 * MR 12 x NR 32 (24 zmm accumulators) measured the same as 14 x 32;
 * KC 256 and 512 and NC 1024 measured no better (bench/gemm.c).
 * The same byte budgets give the sizes for f64 and narrower vectors.
 *
 * Edges: panels are packed with zero padding to MR/NR, the micro-kernel
 * always runs a full tile, and a partial tile goes through a stack buffer
 * from which only the valid part is written: the arithmetic of every C
 * element is the same whether its tile is full or not, which is what makes
 * an M (or N) split across threads bitwise reproducible.
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "codegen_cpu/cpu_gemm.h"

enum { GEMM_MAX_ACC = 64, GEMM_UNROLL = 4 };

/* Budgets (bytes) the block sizes are derived from; see the top comment. */
enum {
    GEMM_L1_PANEL = 18 * 1024,
    GEMM_L2_BLOCK = 1008 * 1024,
    GEMM_L3_BLOCK = 1440 * 1024
};

typedef struct gemm_emit {
    LLVMContextRef ctx;
    LLVMModuleRef mod;
    LLVMBuilderRef b;
    const cpu_target *tgt;
    cpu_gemm_blocking bk;
    const char *tname;         /* "f32" / "f64"                        */
    unsigned esize;            /* bytes per element                    */
    LLVMTypeRef el, vec, ptr, vptr, i64, i32, i1, vd;
    LLVMTypeRef fma_ty;
    LLVMValueRef fma;          /* llvm.fmuladd on vec                  */
    LLVMValueRef fn;           /* function being emitted               */
} gemm_emit;

typedef struct gemm_loop {
    LLVMBasicBlockRef head, body, exit;
    LLVMValueRef iv, step;
} gemm_loop;

/* The largest multiple of m not above x, but at least m. */
static int multiple_below(int x, int m)
{
    return x / m * m < m ? m : x / m * m;
}

int cpu_gemm_blocking_for(kiln_dtype t, const cpu_target *tgt,
                          cpu_gemm_blocking *out)
{
    int esize = t == KILN_F32 ? 4 : t == KILN_F64 ? 8 : 0;
    if (!esize || !tgt || !out)
        return -1;
    int bits = tgt->vector_bits >= 512 ? 512 : tgt->vector_bits >= 256 ? 256
                                                                        : 128;
    cpu_gemm_blocking k;
    k.vec = bits / 8 / esize;
    k.nr = 2 * k.vec;
    /* Accumulators MR * 2 plus 2 B vectors and a broadcast within the
     * register file: 32 zmm hold 24 + 3; 16 ymm hold 12 + 3; SSE has no
     * fma, and mul + add needs a temporary, so 8 + 4 of 16 xmm. */
    k.mr = bits == 512 ? 12 : bits == 256 ? 6 : 4;
    k.kc = multiple_below(GEMM_L1_PANEL / (k.mr * esize), 16);
    if (k.kc > 512)
        k.kc = 512;
    k.nc = multiple_below(GEMM_L2_BLOCK / (k.kc * esize), k.nr);
    k.mc = multiple_below(GEMM_L3_BLOCK / (k.kc * esize), k.mr);
    *out = k;
    return 0;
}

size_t cpu_gemm_work_bytes(kiln_dtype t, const cpu_target *tgt)
{
    cpu_gemm_blocking k;
    if (cpu_gemm_blocking_for(t, tgt, &k) < 0)
        return 0;
    size_t esize = t == KILN_F32 ? 4 : 8;
    return ((size_t)k.mc + (size_t)k.nc) * (size_t)k.kc * esize;
}

/* ---- small IR helpers ---------------------------------------------------- */

static LLVMValueRef c64(gemm_emit *g, long long v)
{
    return LLVMConstInt(g->i64, (unsigned long long)v, 1);
}

static LLVMValueRef gep(gemm_emit *g, LLVMValueRef p, LLVMValueRef idx)
{
    return LLVMBuildGEP2(g->b, g->el, p, &idx, 1, "");
}

static LLVMValueRef load_el(gemm_emit *g, LLVMValueRef p)
{
    return LLVMBuildLoad2(g->b, g->el, p, "");
}

/* Vector access at element pointer p, assuming only element alignment:
 * C rows are anywhere, and unaligned loads of aligned data cost nothing on
 * the targets that matter, so work's alignment is not relied on. */
static LLVMValueRef load_vec(gemm_emit *g, LLVMValueRef p)
{
    LLVMValueRef vp = LLVMBuildPointerCast(g->b, p, g->vptr, "");
    LLVMValueRef v = LLVMBuildLoad2(g->b, g->vec, vp, "");
    LLVMSetAlignment(v, g->esize);
    return v;
}

static void store_vec(gemm_emit *g, LLVMValueRef v, LLVMValueRef p)
{
    LLVMValueRef vp = LLVMBuildPointerCast(g->b, p, g->vptr, "");
    LLVMSetAlignment(LLVMBuildStore(g->b, v, vp), g->esize);
}

static LLVMValueRef smin(gemm_emit *g, LLVMValueRef a, LLVMValueRef b)
{
    LLVMValueRef lt = LLVMBuildICmp(g->b, LLVMIntSLT, a, b, "");
    return LLVMBuildSelect(g->b, lt, a, b, "");
}

static LLVMBasicBlockRef block(gemm_emit *g, const char *name)
{
    return LLVMAppendBasicBlockInContext(g->ctx, g->fn, name);
}

/* for (iv = start; iv < end; iv += step): leaves the builder in the body. */
static void loop_begin(gemm_emit *g, gemm_loop *l, LLVMValueRef start,
                       LLVMValueRef end, LLVMValueRef step)
{
    LLVMBasicBlockRef pre = LLVMGetInsertBlock(g->b);
    l->head = block(g, "loop");
    l->body = block(g, "body");
    l->exit = block(g, "exit");
    l->step = step;
    LLVMBuildBr(g->b, l->head);
    LLVMPositionBuilderAtEnd(g->b, l->head);
    l->iv = LLVMBuildPhi(g->b, g->i64, "i");
    LLVMAddIncoming(l->iv, &start, &pre, 1);
    LLVMValueRef more = LLVMBuildICmp(g->b, LLVMIntSLT, l->iv, end, "");
    LLVMBuildCondBr(g->b, more, l->body, l->exit);
    LLVMPositionBuilderAtEnd(g->b, l->body);
}

static void loop_end(gemm_emit *g, gemm_loop *l)
{
    LLVMBasicBlockRef latch = LLVMGetInsertBlock(g->b);
    LLVMValueRef next = LLVMBuildNSWAdd(g->b, l->iv, l->step, "");
    LLVMBuildBr(g->b, l->head);
    LLVMAddIncoming(l->iv, &next, &latch, 1);
    LLVMPositionBuilderAtEnd(g->b, l->exit);
}

static void add_attr(gemm_emit *g, LLVMValueRef fn, unsigned idx,
                     const char *name)
{
    unsigned kind = LLVMGetEnumAttributeKindForName(name, strlen(name));
    LLVMAddAttributeAtIndex(fn, idx, LLVMCreateEnumAttribute(g->ctx, kind, 0));
}

/* A function without a body; params listed in noalias_mask (bit i =
 * param i) get noalias nocapture, those in readonly_mask also readonly. */
static LLVMValueRef declare_function(gemm_emit *g, const char *suffix,
                                     LLVMTypeRef *params, unsigned n,
                                     unsigned noalias_mask,
                                     unsigned readonly_mask)
{
    char name[64];
    snprintf(name, sizeof name, "kiln_gemm_%s%s", g->tname, suffix);
    LLVMTypeRef ty = LLVMFunctionType(g->vd, params, n, 0);
    LLVMValueRef fn = LLVMAddFunction(g->mod, name, ty);
    add_attr(g, fn, LLVMAttributeFunctionIndex, "nounwind");
    for (unsigned i = 0; i < n; i++) {
        if (noalias_mask & (1u << i)) {
            add_attr(g, fn, i + 1, "noalias");
            add_attr(g, fn, i + 1, "nocapture");
        }
        if (readonly_mask & (1u << i))
            add_attr(g, fn, i + 1, "readonly");
    }
    return fn;
}

/* An internal function, positioned at its entry block. */
static LLVMValueRef begin_function(gemm_emit *g, const char *suffix,
                                   LLVMTypeRef *params, unsigned n,
                                   unsigned noalias_mask,
                                   unsigned readonly_mask)
{
    LLVMValueRef fn = declare_function(g, suffix, params, n, noalias_mask,
                                       readonly_mask);
    LLVMSetLinkage(fn, LLVMInternalLinkage);
    cpu_target_attrs(g->tgt, fn);
    g->fn = fn;
    LLVMPositionBuilderAtEnd(g->b, block(g, "entry"));
    return fn;
}

static LLVMValueRef mul(gemm_emit *g, LLVMValueRef a, LLVMValueRef b)
{
    return LLVMBuildNSWMul(g->b, a, b, "");
}

static LLVMValueRef add(gemm_emit *g, LLVMValueRef a, LLVMValueRef b)
{
    return LLVMBuildNSWAdd(g->b, a, b, "");
}

/* ---- packing --------------------------------------------------------------
 * kiln_gemm_T_pack<W>(src, ls, ds, lines, kc, dst) copies lines x kc
 * elements src[l*ls + k*ds] into panels of W lines, panel p at dst + p*W*kc
 * holding dst[k*W + w]; the last panel is zero-padded to W lines.  A is
 * packed with W = MR (lines = rows), B with W = NR (lines = columns). */

/* A full panel, W loads per k unrolled so that a unit line stride (B in
 * row-major, A transposed) becomes vector copies after SLP. */
static void pack_full(gemm_emit *g, int w, LLVMValueRef src, LLVMValueRef ls,
                      LLVMValueRef ds, LLVMValueRef kc, LLVMValueRef dst)
{
    gemm_loop k;
    loop_begin(g, &k, c64(g, 0), kc, c64(g, 1));
    LLVMValueRef row = gep(g, src, mul(g, k.iv, ds));
    LLVMValueRef out = gep(g, dst, mul(g, k.iv, c64(g, w)));
    for (int i = 0; i < w; i++) {
        LLVMValueRef v = load_el(g, gep(g, row, mul(g, c64(g, i), ls)));
        LLVMBuildStore(g->b, v, gep(g, out, c64(g, i)));
    }
    loop_end(g, &k);
}

/* The last, partial panel: valid lines copied, the rest zero. */
static void pack_edge(gemm_emit *g, int w, LLVMValueRef src, LLVMValueRef ls,
                      LLVMValueRef ds, LLVMValueRef kc, LLVMValueRef valid,
                      LLVMValueRef dst)
{
    gemm_loop k, i, z;
    loop_begin(g, &k, c64(g, 0), kc, c64(g, 1));
    LLVMValueRef row = gep(g, src, mul(g, k.iv, ds));
    LLVMValueRef out = gep(g, dst, mul(g, k.iv, c64(g, w)));
    loop_begin(g, &i, c64(g, 0), valid, c64(g, 1));
    LLVMValueRef v = load_el(g, gep(g, row, mul(g, i.iv, ls)));
    LLVMBuildStore(g->b, v, gep(g, out, i.iv));
    loop_end(g, &i);
    loop_begin(g, &z, valid, c64(g, w), c64(g, 1));
    LLVMBuildStore(g->b, LLVMConstNull(g->el), gep(g, out, z.iv));
    loop_end(g, &z);
    loop_end(g, &k);
}

static LLVMValueRef emit_pack(gemm_emit *g, int w, const char *suffix)
{
    LLVMTypeRef ps[] = {g->ptr, g->i64, g->i64, g->i64, g->i64, g->ptr};
    LLVMValueRef fn = begin_function(g, suffix, ps, 6, 1u | 1u << 5, 1u);
    LLVMValueRef src = LLVMGetParam(fn, 0), ls = LLVMGetParam(fn, 1);
    LLVMValueRef ds = LLVMGetParam(fn, 2), lines = LLVMGetParam(fn, 3);
    LLVMValueRef kc = LLVMGetParam(fn, 4), dst = LLVMGetParam(fn, 5);
    gemm_loop p;
    loop_begin(g, &p, c64(g, 0), lines, c64(g, w));
    LLVMValueRef valid = smin(g, c64(g, w), LLVMBuildNSWSub(g->b, lines,
                                                              p.iv, ""));
    LLVMValueRef panel = gep(g, dst, mul(g, p.iv, kc));
    LLVMValueRef base = gep(g, src, mul(g, p.iv, ls));
    LLVMBasicBlockRef full = block(g, "full"), unit = block(g, "unit"),
                      strided = block(g, "strided"), edge = block(g, "edge"),
                      join = block(g, "join");
    LLVMBuildCondBr(g->b, LLVMBuildICmp(g->b, LLVMIntEQ, valid, c64(g, w), ""),
                    full, edge);
    LLVMPositionBuilderAtEnd(g->b, full);
    LLVMBuildCondBr(g->b, LLVMBuildICmp(g->b, LLVMIntEQ, ls, c64(g, 1), ""),
                    unit, strided);
    LLVMPositionBuilderAtEnd(g->b, unit);
    pack_full(g, w, base, c64(g, 1), ds, kc, panel);
    LLVMBuildBr(g->b, join);
    LLVMPositionBuilderAtEnd(g->b, strided);
    pack_full(g, w, base, ls, ds, kc, panel);
    LLVMBuildBr(g->b, join);
    LLVMPositionBuilderAtEnd(g->b, edge);
    pack_edge(g, w, base, ls, ds, kc, valid, panel);
    LLVMBuildBr(g->b, join);
    LLVMPositionBuilderAtEnd(g->b, join);
    loop_end(g, &p);
    LLVMBuildRetVoid(g->b);
    return fn;
}

/* ---- micro-kernel ---------------------------------------------------------
 * kiln_gemm_T_micro(a, b, kc, c, ldc, mr, nr, accumulate): the MR x NR tile
 * sum_k a[k*MR + r] * b[k*NR + j] is written (or, if accumulate, added) to
 * c[r*ldc + j] for r < mr, j < nr. */

static LLVMValueRef splat(gemm_emit *g, LLVMValueRef s)
{
    LLVMValueRef v = LLVMBuildInsertElement(g->b, LLVMGetUndef(g->vec), s,
                                            LLVMConstInt(g->i32, 0, 0), "");
    LLVMValueRef mask = LLVMConstNull(LLVMVectorType(g->i32,
                                                     (unsigned)g->bk.vec));
    return LLVMBuildShuffleVector(g->b, v, LLVMGetUndef(g->vec), mask, "");
}

/* One k step: acc[r*NV + v] = fmuladd(a[k][r], b[k][v], acc[r*NV + v]). */
static void kstep(gemm_emit *g, LLVMValueRef a, LLVMValueRef b, LLVMValueRef k,
                  LLVMValueRef *acc)
{
    int mr = g->bk.mr, vec = g->bk.vec, nv = g->bk.nr / vec;
    LLVMValueRef bv[8];
    LLVMValueRef brow = gep(g, b, mul(g, k, c64(g, g->bk.nr)));
    for (int v = 0; v < nv; v++)
        bv[v] = load_vec(g, gep(g, brow, c64(g, v * vec)));
    LLVMValueRef arow = gep(g, a, mul(g, k, c64(g, mr)));
    for (int r = 0; r < mr; r++) {
        LLVMValueRef s = splat(g, load_el(g, gep(g, arow, c64(g, r))));
        for (int v = 0; v < nv; v++) {
            LLVMValueRef args[] = {s, bv[v], acc[r * nv + v]};
            acc[r * nv + v] = LLVMBuildCall2(g->b, g->fma_ty, g->fma, args, 3,
                                             "");
        }
    }
}

/* while (k + unroll <= kc) { unroll k steps }, from k = k0 with
 * accumulators acc (updated to the values at exit); returns the final k. */
static LLVMValueRef kloop(gemm_emit *g, LLVMValueRef a, LLVMValueRef b,
                          LLVMValueRef k0, LLVMValueRef kc, int unroll,
                          LLVMValueRef *acc, int nacc)
{
    LLVMBasicBlockRef entry = LLVMGetInsertBlock(g->b), head = block(g, "k"),
                      body = block(g, "kbody"), done = block(g, "kdone");
    LLVMValueRef ph[GEMM_MAX_ACC], cur[GEMM_MAX_ACC];
    LLVMBuildBr(g->b, head);
    LLVMPositionBuilderAtEnd(g->b, head);
    LLVMValueRef k = LLVMBuildPhi(g->b, g->i64, "k");
    LLVMAddIncoming(k, &k0, &entry, 1);
    for (int i = 0; i < nacc; i++) {
        ph[i] = LLVMBuildPhi(g->b, g->vec, "acc");
        LLVMAddIncoming(ph[i], &acc[i], &entry, 1);
    }
    LLVMValueRef kend = add(g, k, c64(g, unroll));
    LLVMBuildCondBr(g->b, LLVMBuildICmp(g->b, LLVMIntSLE, kend, kc, ""), body,
                    done);
    LLVMPositionBuilderAtEnd(g->b, body);
    memcpy(cur, ph, sizeof(LLVMValueRef) * (size_t)nacc);
    for (int u = 0; u < unroll; u++)
        kstep(g, a, b, add(g, k, c64(g, u)), cur);
    LLVMAddIncoming(k, &kend, &body, 1);
    for (int i = 0; i < nacc; i++)
        LLVMAddIncoming(ph[i], &cur[i], &body, 1);
    LLVMBuildBr(g->b, head);
    LLVMPositionBuilderAtEnd(g->b, done);
    memcpy(acc, ph, sizeof(LLVMValueRef) * (size_t)nacc);
    return k;
}

/* A full tile straight to C, in vectors. */
static void tile_full(gemm_emit *g, LLVMValueRef c, LLVMValueRef ldc,
                      LLVMValueRef *acc, int accumulate)
{
    int vec = g->bk.vec, nv = g->bk.nr / vec;
    for (int r = 0; r < g->bk.mr; r++) {
        LLVMValueRef row = gep(g, c, mul(g, c64(g, r), ldc));
        for (int v = 0; v < nv; v++) {
            LLVMValueRef p = gep(g, row, c64(g, v * vec)), x = acc[r * nv + v];
            if (accumulate)
                x = LLVMBuildFAdd(g->b, load_vec(g, p), x, "");
            store_vec(g, x, p);
        }
    }
}

/* A partial tile from the stack buffer, element by element: the same
 * C + tile (or tile) as tile_full, so edge elements round identically. */
static void tile_edge(gemm_emit *g, LLVMValueRef c, LLVMValueRef ldc,
                      LLVMValueRef tile, LLVMValueRef mr, LLVMValueRef nr,
                      int accumulate)
{
    gemm_loop r, j;
    loop_begin(g, &r, c64(g, 0), mr, c64(g, 1));
    LLVMValueRef row = gep(g, c, mul(g, r.iv, ldc));
    LLVMValueRef trow = gep(g, tile, mul(g, r.iv, c64(g, g->bk.nr)));
    loop_begin(g, &j, c64(g, 0), nr, c64(g, 1));
    LLVMValueRef p = gep(g, row, j.iv);
    LLVMValueRef x = load_el(g, gep(g, trow, j.iv));
    if (accumulate)
        x = LLVMBuildFAdd(g->b, load_el(g, p), x, "");
    LLVMBuildStore(g->b, x, p);
    loop_end(g, &j);
    loop_end(g, &r);
}

static void write_tile(gemm_emit *g, LLVMValueRef *acc, LLVMValueRef tile)
{
    LLVMValueRef c = LLVMGetParam(g->fn, 3), ldc = LLVMGetParam(g->fn, 4);
    LLVMValueRef mr = LLVMGetParam(g->fn, 5), nr = LLVMGetParam(g->fn, 6);
    LLVMValueRef accf = LLVMGetParam(g->fn, 7);
    int vec = g->bk.vec, nacc = g->bk.mr * (g->bk.nr / vec);
    LLVMBasicBlockRef bb[6];
    const char *names[] = {"full", "full_add", "full_set", "edge",
                           "edge_add", "edge_set"};
    for (int i = 0; i < 6; i++)
        bb[i] = block(g, names[i]);
    LLVMBasicBlockRef ret = block(g, "ret");
    LLVMValueRef full = LLVMBuildAnd(g->b,
        LLVMBuildICmp(g->b, LLVMIntEQ, mr, c64(g, g->bk.mr), ""),
        LLVMBuildICmp(g->b, LLVMIntEQ, nr, c64(g, g->bk.nr), ""), "");
    LLVMBuildCondBr(g->b, full, bb[0], bb[3]);
    LLVMPositionBuilderAtEnd(g->b, bb[0]);
    LLVMBuildCondBr(g->b, accf, bb[1], bb[2]);
    LLVMPositionBuilderAtEnd(g->b, bb[3]);
    for (int i = 0; i < nacc; i++)
        store_vec(g, acc[i], gep(g, tile, c64(g, i * vec)));
    LLVMBuildCondBr(g->b, accf, bb[4], bb[5]);
    for (int add_c = 1; add_c >= 0; add_c--) {
        LLVMPositionBuilderAtEnd(g->b, bb[add_c ? 1 : 2]);
        tile_full(g, c, ldc, acc, add_c);
        LLVMBuildBr(g->b, ret);
        LLVMPositionBuilderAtEnd(g->b, bb[add_c ? 4 : 5]);
        tile_edge(g, c, ldc, tile, mr, nr, add_c);
        LLVMBuildBr(g->b, ret);
    }
    LLVMPositionBuilderAtEnd(g->b, ret);
    LLVMBuildRetVoid(g->b);
}

static LLVMValueRef emit_micro(gemm_emit *g)
{
    LLVMTypeRef ps[] = {g->ptr, g->ptr, g->i64, g->ptr, g->i64, g->i64,
                        g->i64, g->i1};
    LLVMValueRef fn = begin_function(g, "_micro", ps, 8,
                                     1u | 1u << 1 | 1u << 3, 1u | 1u << 1);
    add_attr(g, fn, LLVMAttributeFunctionIndex, "noinline");
    int nacc = g->bk.mr * (g->bk.nr / g->bk.vec);
    LLVMTypeRef tile_ty = LLVMArrayType(g->el, (unsigned)(g->bk.mr * g->bk.nr));
    LLVMValueRef tile_mem = LLVMBuildAlloca(g->b, tile_ty, "tile");
    LLVMSetAlignment(tile_mem, 64);
    LLVMValueRef idx[] = {c64(g, 0), c64(g, 0)};
    LLVMValueRef tile = LLVMBuildGEP2(g->b, tile_ty, tile_mem, idx, 2, "");
    LLVMValueRef acc[GEMM_MAX_ACC];
    for (int i = 0; i < nacc; i++)
        acc[i] = LLVMConstNull(g->vec);
    LLVMValueRef a = LLVMGetParam(fn, 0), b = LLVMGetParam(fn, 1);
    LLVMValueRef kc = LLVMGetParam(fn, 2);
    LLVMValueRef k = kloop(g, a, b, c64(g, 0), kc, GEMM_UNROLL, acc, nacc);
    kloop(g, a, b, k, kc, 1, acc, nacc);
    write_tile(g, acc, tile);
    return fn;
}

/* ---- the driver ---------------------------------------------------------- */

static LLVMValueRef call(gemm_emit *g, LLVMValueRef fn, LLVMValueRef *args,
                         unsigned n)
{
    return LLVMBuildCall2(g->b, LLVMGlobalGetValueType(fn), fn, args, n, "");
}

/* K < 1: the empty sum, C = 0. */
static void zero_c(gemm_emit *g, LLVMValueRef c, LLVMValueRef ldc,
                   LLVMValueRef m, LLVMValueRef n)
{
    gemm_loop i, j;
    loop_begin(g, &i, c64(g, 0), m, c64(g, 1));
    LLVMValueRef row = gep(g, c, mul(g, i.iv, ldc));
    loop_begin(g, &j, c64(g, 0), n, c64(g, 1));
    LLVMBuildStore(g->b, LLVMConstNull(g->el), gep(g, row, j.iv));
    loop_end(g, &j);
    loop_end(g, &i);
}

/* The two innermost loops over one packed A block x packed B block. */
static void tiles(gemm_emit *g, LLVMValueRef micro, LLVMValueRef apack,
                  LLVMValueRef bpack, LLVMValueRef mc, LLVMValueRef nc,
                  LLVMValueRef kc, LLVMValueRef c, LLVMValueRef accf)
{
    LLVMValueRef ldc = LLVMGetParam(g->fn, 7);
    gemm_loop ir, jr;
    loop_begin(g, &ir, c64(g, 0), mc, c64(g, g->bk.mr));
    LLVMValueRef ap = gep(g, apack, mul(g, ir.iv, kc));
    LLVMValueRef mr = smin(g, c64(g, g->bk.mr),
                           LLVMBuildNSWSub(g->b, mc, ir.iv, ""));
    LLVMValueRef crow = gep(g, c, mul(g, ir.iv, ldc));
    loop_begin(g, &jr, c64(g, 0), nc, c64(g, g->bk.nr));
    LLVMValueRef nr = smin(g, c64(g, g->bk.nr),
                           LLVMBuildNSWSub(g->b, nc, jr.iv, ""));
    LLVMValueRef args[] = {ap, gep(g, bpack, mul(g, jr.iv, kc)), kc,
                           gep(g, crow, jr.iv), ldc, mr, nr, accf};
    call(g, micro, args, 8);
    loop_end(g, &jr);
    loop_end(g, &ir);
}

/* for j0: pack the B block, run the tiles (inside the i0 and k0 loops). */
static void j_blocks(gemm_emit *g, LLVMValueRef *fns, LLVMValueRef apack,
                     LLVMValueRef bpack, LLVMValueRef mc, LLVMValueRef k0,
                     LLVMValueRef kc, LLVMValueRef crow)
{
    LLVMValueRef B = LLVMGetParam(g->fn, 3), b_rs = LLVMGetParam(g->fn, 4);
    LLVMValueRef b_cs = LLVMGetParam(g->fn, 5), N = LLVMGetParam(g->fn, 9);
    LLVMValueRef accf = LLVMBuildICmp(g->b, LLVMIntNE, k0, c64(g, 0), "");
    gemm_loop j0;
    loop_begin(g, &j0, c64(g, 0), N, c64(g, g->bk.nc));
    LLVMValueRef nc = smin(g, c64(g, g->bk.nc),
                           LLVMBuildNSWSub(g->b, N, j0.iv, ""));
    LLVMValueRef src = gep(g, B, add(g, mul(g, k0, b_rs), mul(g, j0.iv, b_cs)));
    LLVMValueRef args[] = {src, b_cs, b_rs, nc, kc, bpack};
    call(g, fns[1], args, 6);
    tiles(g, fns[2], apack, bpack, mc, nc, kc, gep(g, crow, j0.iv), accf);
    loop_end(g, &j0);
}

/* fns: pack_a, pack_b, micro. */
static void blocks(gemm_emit *g, LLVMValueRef *fns)
{
    LLVMValueRef A = LLVMGetParam(g->fn, 0), a_rs = LLVMGetParam(g->fn, 1);
    LLVMValueRef a_cs = LLVMGetParam(g->fn, 2), C = LLVMGetParam(g->fn, 6);
    LLVMValueRef ldc = LLVMGetParam(g->fn, 7), M = LLVMGetParam(g->fn, 8);
    LLVMValueRef K = LLVMGetParam(g->fn, 10), apack = LLVMGetParam(g->fn, 11);
    LLVMValueRef bpack = gep(g, apack, c64(g, (long long)g->bk.mc * g->bk.kc));
    gemm_loop i0, k0;
    loop_begin(g, &i0, c64(g, 0), M, c64(g, g->bk.mc));
    LLVMValueRef mc = smin(g, c64(g, g->bk.mc),
                           LLVMBuildNSWSub(g->b, M, i0.iv, ""));
    LLVMValueRef crow = gep(g, C, mul(g, i0.iv, ldc));
    loop_begin(g, &k0, c64(g, 0), K, c64(g, g->bk.kc));
    LLVMValueRef kc = smin(g, c64(g, g->bk.kc),
                           LLVMBuildNSWSub(g->b, K, k0.iv, ""));
    LLVMValueRef src = gep(g, A, add(g, mul(g, i0.iv, a_rs),
                                     mul(g, k0.iv, a_cs)));
    LLVMValueRef args[] = {src, a_rs, a_cs, mc, kc, apack};
    call(g, fns[0], args, 6);
    j_blocks(g, fns, apack, bpack, mc, k0.iv, kc, crow);
    loop_end(g, &k0);
    loop_end(g, &i0);
}

/* ---- direct path for small products ------------------------------------
 * Packing, blocking and full-tile edges cost more than the arithmetic when
 * the whole product is a few thousand fmas (a 120x4 @ 4x16 layer): the
 * edge tiles alone waste most of a 12x32 tile on N = 16 or 3.  With
 * K <= KC and N <= NC only B is packed (K x N, zero-padded to NR panels),
 * and each row of C is computed a vector at a time straight from A's own
 * strides.  The arithmetic of every element is the packed path's, an
 * fmuladd chain over k in order from 0 written without adding C, so
 * which path runs never changes a bit. */
enum { GEMM_DIRECT_WORK = 1 << 16 }; /* M * N * K fmas, at most */

/* One width of the direct path: W lanes of type vt, fmuladd fma. */
typedef struct direct_width {
    int w;
    LLVMTypeRef vt, fma_ty, mask_ty;
    LLVMValueRef fma, store;
} direct_width;

static direct_width direct_width_for(gemm_emit *g, int w)
{
    direct_width d = {.w = w, .vt = LLVMVectorType(g->el, (unsigned)w)};
    const char *fma = "llvm.fmuladd", *st = "llvm.masked.store";
    unsigned id = LLVMLookupIntrinsicID(fma, strlen(fma));
    d.fma = LLVMGetIntrinsicDeclaration(g->mod, id, &d.vt, 1);
    d.fma_ty = LLVMIntrinsicGetType(g->ctx, id, &d.vt, 1);
    LLVMTypeRef over[2] = {d.vt, LLVMPointerType(d.vt, 0)};
    id = LLVMLookupIntrinsicID(st, strlen(st));
    d.store = LLVMGetIntrinsicDeclaration(g->mod, id, over, 2);
    d.mask_ty = LLVMIntrinsicGetType(g->ctx, id, over, 2);
    return d;
}

/* p as a pointer to d's vectors (a no-op with LLVM's opaque pointers). */
static LLVMValueRef vec_ptr(gemm_emit *g, const direct_width *d, LLVMValueRef p)
{
    return LLVMBuildPointerCast(g->b, p, LLVMPointerType(d->vt, 0), "");
}

static LLVMValueRef splat_as(gemm_emit *g, LLVMTypeRef vt, int w, LLVMValueRef s)
{
    LLVMValueRef v = LLVMBuildInsertElement(g->b, LLVMGetUndef(vt), s,
                                            LLVMConstInt(g->i32, 0, 0), "");
    LLVMValueRef mask = LLVMConstNull(LLVMVectorType(g->i32, (unsigned)w));
    return LLVMBuildShuffleVector(g->b, v, LLVMGetUndef(vt), mask, "");
}

/* B (K x N, any strides) to dst[k*np + j], columns N..np zero. */
static void direct_pack(gemm_emit *g, LLVMValueRef np, LLVMValueRef dst)
{
    LLVMValueRef B = LLVMGetParam(g->fn, 3), b_rs = LLVMGetParam(g->fn, 4);
    LLVMValueRef b_cs = LLVMGetParam(g->fn, 5), N = LLVMGetParam(g->fn, 9);
    gemm_loop k, j, z;
    loop_begin(g, &k, c64(g, 0), LLVMGetParam(g->fn, 10), c64(g, 1));
    LLVMValueRef row = gep(g, B, mul(g, k.iv, b_rs)), out = gep(g, dst, mul(g, k.iv, np));
    loop_begin(g, &j, c64(g, 0), N, c64(g, 1));
    LLVMBuildStore(g->b, load_el(g, gep(g, row, mul(g, j.iv, b_cs))), gep(g, out, j.iv));
    loop_end(g, &j);
    loop_begin(g, &z, N, np, c64(g, 1));
    LLVMBuildStore(g->b, LLVMConstNull(g->el), gep(g, out, z.iv));
    loop_end(g, &z);
    loop_end(g, &k);
}

enum { DIRECT_ROWS = 8 }; /* rows at once: independent fmuladd chains */

/* out[r] = sum_k a[r*a_rs + k*a_cs] * bp[k*np + lane] for K k's and
 * r < rows, as vectors. */
static void direct_dot(gemm_emit *g, const direct_width *d, int rows, LLVMValueRef arow,
                       LLVMValueRef bp, LLVMValueRef np, LLVMValueRef *out)
{
    LLVMValueRef a_rs = LLVMGetParam(g->fn, 1), a_cs = LLVMGetParam(g->fn, 2);
    LLVMBasicBlockRef entry = LLVMGetInsertBlock(g->b), head = block(g, "dk"),
                      body = block(g, "dkbody"), done = block(g, "dkdone");
    LLVMValueRef zero = LLVMConstNull(d->vt), k0 = c64(g, 0), next[DIRECT_ROWS];
    LLVMBuildBr(g->b, head);
    LLVMPositionBuilderAtEnd(g->b, head);
    LLVMValueRef k = LLVMBuildPhi(g->b, g->i64, "k");
    LLVMAddIncoming(k, &k0, &entry, 1);
    for (int r = 0; r < rows; r++) {
        out[r] = LLVMBuildPhi(g->b, d->vt, "acc");
        LLVMAddIncoming(out[r], &zero, &entry, 1);
    }
    LLVMValueRef K = LLVMGetParam(g->fn, 10);
    LLVMBuildCondBr(g->b, LLVMBuildICmp(g->b, LLVMIntSLT, k, K, ""), body, done);
    LLVMPositionBuilderAtEnd(g->b, body);
    LLVMValueRef bv = LLVMBuildLoad2(g->b, d->vt, vec_ptr(g, d, gep(g, bp, mul(g, k, np))), "");
    LLVMSetAlignment(bv, g->esize);
    LLVMValueRef acol = gep(g, arow, mul(g, k, a_cs));
    for (int r = 0; r < rows; r++) {
        LLVMValueRef x = load_el(g, gep(g, acol, mul(g, c64(g, r), a_rs)));
        LLVMValueRef args[] = {splat_as(g, d->vt, d->w, x), bv, out[r]};
        next[r] = LLVMBuildCall2(g->b, d->fma_ty, d->fma, args, 3, "");
        LLVMAddIncoming(out[r], &next[r], &body, 1);
    }
    LLVMValueRef k1 = add(g, k, c64(g, 1));
    LLVMAddIncoming(k, &k1, &body, 1);
    LLVMBuildBr(g->b, head);
    LLVMPositionBuilderAtEnd(g->b, done);
}

/* Lanes [0, left) of v to p (left < W): a masked store. */
static void direct_store_part(gemm_emit *g, const direct_width *d, LLVMValueRef v,
                              LLVMValueRef p, LLVMValueRef left)
{
    LLVMValueRef lanes[64];
    for (int i = 0; i < d->w; i++)
        lanes[i] = c64(g, i);
    LLVMTypeRef iv = LLVMVectorType(g->i64, (unsigned)d->w);
    LLVMValueRef n = LLVMBuildInsertElement(g->b, LLVMGetUndef(iv), left,
                                            LLVMConstInt(g->i32, 0, 0), "");
    n = LLVMBuildShuffleVector(g->b, n, LLVMGetUndef(iv),
                               LLVMConstNull(LLVMVectorType(g->i32, (unsigned)d->w)), "");
    LLVMValueRef mask = LLVMBuildICmp(g->b, LLVMIntSLT, LLVMConstVector(lanes, (unsigned)d->w),
                                      n, "");
    LLVMValueRef args[] = {v, vec_ptr(g, d, p), LLVMConstInt(g->i32, g->esize, 0), mask};
    LLVMBuildCall2(g->b, d->mask_ty, d->store, args, 4, "");
}

/* Rows [i, i + rows) of C, all columns, from the packed B. */
static void direct_rows(gemm_emit *g, const direct_width *d, int rows, LLVMValueRef i,
                        LLVMValueRef bpack, LLVMValueRef np)
{
    LLVMValueRef A = LLVMGetParam(g->fn, 0), a_rs = LLVMGetParam(g->fn, 1);
    LLVMValueRef C = LLVMGetParam(g->fn, 6), ldc = LLVMGetParam(g->fn, 7);
    LLVMValueRef N = LLVMGetParam(g->fn, 9), v[DIRECT_ROWS];
    LLVMValueRef arow = gep(g, A, mul(g, i, a_rs)), crow = gep(g, C, mul(g, i, ldc));
    gemm_loop j;
    loop_begin(g, &j, c64(g, 0), N, c64(g, d->w));
    direct_dot(g, d, rows, arow, gep(g, bpack, j.iv), np, v);
    LLVMValueRef left = LLVMBuildNSWSub(g->b, N, j.iv, "");
    LLVMBasicBlockRef full = block(g, "dfull"), part = block(g, "dpart"),
                      join = block(g, "djoin");
    LLVMBuildCondBr(g->b, LLVMBuildICmp(g->b, LLVMIntSGE, left, c64(g, d->w), ""),
                    full, part);
    for (int pass = 0; pass < 2; pass++) {
        LLVMPositionBuilderAtEnd(g->b, pass ? part : full);
        for (int r = 0; r < rows; r++) {
            LLVMValueRef p = gep(g, gep(g, crow, mul(g, c64(g, r), ldc)), j.iv);
            if (pass)
                direct_store_part(g, d, v[r], p, left);
            else
                LLVMSetAlignment(LLVMBuildStore(g->b, v[r], vec_ptr(g, d, p)), g->esize);
        }
        LLVMBuildBr(g->b, join);
    }
    LLVMPositionBuilderAtEnd(g->b, join);
    loop_end(g, &j);
}

/* C = A x B through B packed K x np, np = N rounded up to W: DIRECT_ROWS
 * rows at a time, then the rest by halves (a short M with a long K is
 * latency-bound on a single chain). */
static void direct(gemm_emit *g, const direct_width *d)
{
    LLVMValueRef M = LLVMGetParam(g->fn, 8), N = LLVMGetParam(g->fn, 9);
    LLVMValueRef bpack = LLVMGetParam(g->fn, 11);
    LLVMValueRef np = LLVMBuildAnd(g->b, add(g, N, c64(g, d->w - 1)), c64(g, -(long long)d->w), "");
    direct_pack(g, np, bpack);
    LLVMValueRef from = c64(g, 0);
    for (int rows = DIRECT_ROWS; rows >= 1; rows /= 2) {
        /* rows [from, to): the whole multiples of `rows` left */
        LLVMValueRef to = LLVMBuildSub(g->b, M, LLVMBuildSRem(g->b,
            LLVMBuildSub(g->b, M, from, ""), c64(g, rows), ""), "");
        gemm_loop i;
        loop_begin(g, &i, from, to, c64(g, rows));
        direct_rows(g, d, rows, i.iv, bpack, np);
        loop_end(g, &i);
        from = to;
    }
}

/* Full vectors when N fills one, 4 lanes (less waste) when it does not. */
static void direct_paths(gemm_emit *g)
{
    direct_width wide = direct_width_for(g, g->bk.vec);
    if (g->bk.vec <= 4) {
        direct(g, &wide);
        return;
    }
    direct_width narrow = direct_width_for(g, 4);
    LLVMBasicBlockRef w = block(g, "dwide"), n = block(g, "dnarrow");
    LLVMValueRef N = LLVMGetParam(g->fn, 9);
    LLVMBuildCondBr(g->b, LLVMBuildICmp(g->b, LLVMIntSGE, N, c64(g, g->bk.vec), ""), w, n);
    LLVMPositionBuilderAtEnd(g->b, w);
    direct(g, &wide);
    LLVMBuildRetVoid(g->b);
    LLVMPositionBuilderAtEnd(g->b, n);
    direct(g, &narrow);
}

/* M > 0 (M = 0 reads nothing), K <= KC, N <= NC and at most
 * GEMM_DIRECT_WORK fmas. */
static LLVMValueRef direct_fits(gemm_emit *g)
{
    LLVMValueRef M = LLVMGetParam(g->fn, 8), N = LLVMGetParam(g->fn, 9);
    LLVMValueRef K = LLVMGetParam(g->fn, 10);
    LLVMValueRef k_ok = LLVMBuildICmp(g->b, LLVMIntSLE, K, c64(g, g->bk.kc), "");
    LLVMValueRef n_ok = LLVMBuildICmp(g->b, LLVMIntSLE, N, c64(g, g->bk.nc), "");
    /* K <= KC and N <= NC bound N * K, so only M can overflow: divide
     * (by at least 1: N may be 0) */
    LLVMValueRef nk = mul(g, N, K);
    nk = LLVMBuildSelect(g->b, LLVMBuildICmp(g->b, LLVMIntSGT, nk, c64(g, 1), ""), nk,
                         c64(g, 1), "");
    LLVMValueRef m_ok = LLVMBuildICmp(g->b, LLVMIntSLE, M,
        LLVMBuildSDiv(g->b, c64(g, GEMM_DIRECT_WORK), nk, ""), "");
    LLVMValueRef nk_ok = LLVMBuildAnd(g->b, k_ok, n_ok, "");
    m_ok = LLVMBuildAnd(g->b, m_ok, LLVMBuildICmp(g->b, LLVMIntSGT, M, c64(g, 0), ""), "");
    return LLVMBuildAnd(g->b, nk_ok, m_ok, "");
}

/* The driver's signature and parameter attributes (cpu_gemm.h). */
#define GEMM_DRIVER_NOALIAS (1u | 1u << 3 | 1u << 6 | 1u << 11)
#define GEMM_DRIVER_READONLY (1u | 1u << 3)

static void driver_params(gemm_emit *g, LLVMTypeRef ps[12])
{
    LLVMTypeRef i = g->i64, p = g->ptr;
    LLVMTypeRef all[12] = {p, i, i, p, i, i, p, i, i, i, i, p};
    memcpy(ps, all, sizeof all);
}

/* The direct path as its own function, with the driver's parameters
 * (its loads kept out of the driver: LLVM 14's argument promotion
 * crashed on them there). */
static LLVMValueRef emit_direct(gemm_emit *g)
{
    LLVMTypeRef ps[12];
    driver_params(g, ps);
    LLVMValueRef fn = begin_function(g, "_direct", ps, 12, GEMM_DRIVER_NOALIAS,
                                     GEMM_DRIVER_READONLY);
    add_attr(g, fn, LLVMAttributeFunctionIndex, "noinline");
    direct_paths(g);
    LLVMBuildRetVoid(g->b);
    return fn;
}

static LLVMValueRef emit_driver(gemm_emit *g, LLVMValueRef *fns)
{
    LLVMValueRef dfn = emit_direct(g);
    LLVMTypeRef ps[12];
    driver_params(g, ps);
    LLVMValueRef fn = begin_function(g, "", ps, 12, GEMM_DRIVER_NOALIAS,
                                     GEMM_DRIVER_READONLY);
    LLVMBasicBlockRef empty = block(g, "empty"), work = block(g, "work");
    LLVMValueRef K = LLVMGetParam(fn, 10);
    LLVMBuildCondBr(g->b, LLVMBuildICmp(g->b, LLVMIntSGT, K, c64(g, 0), ""),
                    work, empty);
    LLVMPositionBuilderAtEnd(g->b, empty);
    zero_c(g, LLVMGetParam(fn, 6), LLVMGetParam(fn, 7), LLVMGetParam(fn, 8),
           LLVMGetParam(fn, 9));
    LLVMBuildRetVoid(g->b);
    LLVMPositionBuilderAtEnd(g->b, work);
    LLVMBasicBlockRef small = block(g, "direct"), big = block(g, "blocked");
    LLVMBuildCondBr(g->b, direct_fits(g), small, big);
    LLVMPositionBuilderAtEnd(g->b, small);
    LLVMValueRef args[12];
    for (unsigned i = 0; i < 12; i++)
        args[i] = LLVMGetParam(fn, i);
    call(g, dfn, args, 12);
    LLVMBuildRetVoid(g->b);
    LLVMPositionBuilderAtEnd(g->b, big);
    blocks(g, fns);
    LLVMBuildRetVoid(g->b);
    return fn;
}

/* ---- entry point --------------------------------------------------------- */

static void init_types(gemm_emit *g, kiln_dtype t)
{
    g->el = t == KILN_F32 ? LLVMFloatTypeInContext(g->ctx)
                          : LLVMDoubleTypeInContext(g->ctx);
    g->esize = t == KILN_F32 ? 4 : 8;
    g->tname = t == KILN_F32 ? "f32" : "f64";
    g->vec = LLVMVectorType(g->el, (unsigned)g->bk.vec);
    /* Typed pointers in LLVM 14 (hence the casts to vptr), opaque in 19. */
    g->ptr = LLVMPointerType(g->el, 0);
    g->vptr = LLVMPointerType(g->vec, 0);
    g->i64 = LLVMInt64TypeInContext(g->ctx);
    g->i32 = LLVMInt32TypeInContext(g->ctx);
    g->i1 = LLVMInt1TypeInContext(g->ctx);
    g->vd = LLVMVoidTypeInContext(g->ctx);
    const char *fma = "llvm.fmuladd";
    unsigned id = LLVMLookupIntrinsicID(fma, strlen(fma));
    g->fma = LLVMGetIntrinsicDeclaration(g->mod, id, &g->vec, 1);
    g->fma_ty = LLVMIntrinsicGetType(g->ctx, id, &g->vec, 1);
}

/* Set g up for kiln_gemm_<t> in m.  Returns false when there is nothing
 * to emit: *have is then the existing function, or NULL on bad input. */
static bool gemm_setup(gemm_emit *g, LLVMModuleRef m, kiln_dtype t,
                       const cpu_target *tgt, LLVMValueRef *have)
{
    memset(g, 0, sizeof *g);
    *have = NULL;
    if (!m || cpu_gemm_blocking_for(t, tgt, &g->bk) < 0)
        return false;
    char name[32];
    snprintf(name, sizeof name, "kiln_gemm_%s", t == KILN_F32 ? "f32" : "f64");
    if ((*have = LLVMGetNamedFunction(m, name)))
        return false;
    g->mod = m;
    g->tgt = tgt;
    g->ctx = LLVMGetModuleContext(m);
    init_types(g, t);
    return true;
}

LLVMValueRef cpu_gemm_declare(LLVMModuleRef m, kiln_dtype t,
                              const cpu_target *tgt)
{
    gemm_emit g;
    LLVMValueRef have;
    if (!gemm_setup(&g, m, t, tgt, &have))
        return have;
    LLVMTypeRef ps[12];
    driver_params(&g, ps);
    return declare_function(&g, "", ps, 12, GEMM_DRIVER_NOALIAS,
                            GEMM_DRIVER_READONLY);
}

LLVMValueRef cpu_gemm_function(LLVMModuleRef m, kiln_dtype t,
                               const cpu_target *tgt)
{
    gemm_emit g;
    LLVMValueRef have;
    if (!gemm_setup(&g, m, t, tgt, &have))
        return have;
    g.b = LLVMCreateBuilderInContext(g.ctx);
    LLVMValueRef fns[3];
    fns[0] = emit_pack(&g, g.bk.mr, "_pack_a");
    fns[1] = emit_pack(&g, g.bk.nr, "_pack_b");
    fns[2] = emit_micro(&g);
    LLVMValueRef fn = emit_driver(&g, fns);
    LLVMDisposeBuilder(g.b);
    return fn;
}
