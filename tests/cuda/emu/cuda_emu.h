/*
 * cuda_emu.h — runs kiln's generated CUDA C on the host, for tests.
 *
 * The test compiles one generated translation unit as C++ with
 *     c++ -O1 -shared -fPIC -include cuda_emu.h kernels.cu
 * and calls emu_launch() through dlsym.  The emulation:
 *   - one fibre per CUDA thread, switched cooperatively on one OS thread;
 *     a block runs to completion before the next starts, so `__shared__`
 *     (defined as `static`) behaves as the block's shared memory;
 *   - threads run up to their next barrier in increasing or decreasing
 *     order (alternating), so a missing barrier shows as stale reads;
 *   - __syncthreads waits for every live thread of the block, warp
 *     exchanges (shuffles, votes, __syncwarp) for the lanes of the mask
 *     that are still alive; threads waiting at different barriers are
 *     reported as a deadlock (a real GPU would hang or misbehave);
 *   - dynamic shared memory (`extern __shared__ T name[]`, rewritten by
 *     the test into a pointer to emu_dyn_smem) is filled with a NaN
 *     pattern before each block, so reading it before writing shows;
 *   - math maps to libm, bit casts to memcpy; atomics are plain
 *     read-modify-writes (fibres switch only at barriers).
 * No C++ standard headers: compiling a kernel file stays fast.  Fibre
 * stacks (64 KiB) sit above a PROT_NONE page: an overflow crashes at
 * once instead of corrupting a neighbour.
 * The fibre switch is a few instructions of x86-64 assembly (saving the
 * callee-saved registers), ucontext elsewhere.
 */
#ifndef KILN_CUDA_EMU_H
#define KILN_CUDA_EMU_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <stdio.h>

/* <stdlib.h> is not included: in C++ it drags in overloads of abs that
 * would clash with the CUDA ones below. */
#define EMU_PAGE 4096
#include <sys/mman.h>

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline __attribute__((always_inline))
#define __noinline__ __attribute__((noinline))
#define __shared__ static
#define __constant__ static
#define __align__(n) __attribute__((aligned(n)))
#define __launch_bounds__(...)
#define __CUDACC__EMU 1

/* ---- vector types ------------------------------------------------------- */

struct uint3 { unsigned x, y, z; };
struct dim3 {
    unsigned x, y, z;
    dim3(unsigned a = 1, unsigned b = 1, unsigned c = 1) : x(a), y(b), z(c) {}
};
#define EMU_VEC2(T, N, A) struct __attribute__((aligned(A))) N { T x, y; }; \
    static inline N make_##N(T x, T y) { N v; v.x = x; v.y = y; return v; }
#define EMU_VEC4(T, N, A) struct __attribute__((aligned(A))) N { T x, y, z, w; }; \
    static inline N make_##N(T x, T y, T z, T w) { N v; v.x = x; v.y = y; v.z = z; v.w = w; return v; }
EMU_VEC2(float, float2, 8)
EMU_VEC4(float, float4, 16)
EMU_VEC2(double, double2, 16)
EMU_VEC2(int, int2, 8)
EMU_VEC4(int, int4, 16)
EMU_VEC2(unsigned, uint2, 8)
EMU_VEC4(unsigned, uint4, 16)
EMU_VEC4(unsigned char, uchar4, 4)
EMU_VEC4(signed char, char4, 4)
#undef EMU_VEC2
#undef EMU_VEC4

/* ---- fibres and the block scheduler ------------------------------------ */

enum { EMU_RUNNABLE, EMU_WAIT_BLOCK, EMU_WAIT_WARP, EMU_DONE };
#define EMU_STACK (64 * 1024)
#define EMU_MAX_THREADS 1024
#define EMU_DYN_SMEM (228 * 1024)

struct emu_fibre {
    void *sp;            /* saved stack pointer while switched out */
    unsigned char *stack;
    uint3 tid;
    unsigned linear, lane, warp;
    int state;
    unsigned wait_mask;  /* lanes a warp exchange waits for */
};

struct emu_warp {
    unsigned alive;      /* lanes not finished */
    unsigned arrived;    /* lanes waiting at the current exchange */
    unsigned want;       /* union of the masks of those lanes */
    uint64_t slot[32];   /* shuffle / vote values, by lane */
};

struct emu_state {
    struct emu_fibre f[EMU_MAX_THREADS];
    struct emu_warp w[EMU_MAX_THREADS / 32];
    unsigned nfibres;    /* fibres with stacks (kept across launches) */
    unsigned nthreads, live, at_block;
    unsigned blocks_run;  /* blocks so far: alternates the schedule order */
    void *sched_sp;
    struct emu_fibre *cur;
    void (*kernel)(void *const *);
    void *const *kb;
    uint3 block_idx;
    dim3 block_dim, grid_dim;
    char err[256];
};

static struct emu_state emu;

static __attribute__((aligned(64))) unsigned char emu_dyn_smem[EMU_DYN_SMEM];

#if defined(__x86_64__)
/* Save the callee-saved registers on the current stack, store its pointer
 * in *save, switch to `to` and restore the registers saved there. */
asm(".text\n"
    ".type emu_switch, @function\n"
    "emu_switch:\n"
    "  pushq %rbp\n  pushq %rbx\n  pushq %r12\n  pushq %r13\n  pushq %r14\n  pushq %r15\n"
    "  movq %rsp, (%rdi)\n"
    "  movq %rsi, %rsp\n"
    "  popq %r15\n  popq %r14\n  popq %r13\n  popq %r12\n  popq %rbx\n  popq %rbp\n"
    "  ret\n"
    ".size emu_switch, .-emu_switch\n");
extern "C" void emu_switch(void **save, void *to);

static void emu_fibre_main(void);

/* A fresh stack whose first switch "returns" into emu_fibre_main with the
 * ABI's alignment (rsp = 8 mod 16 at function entry). */
static void emu_fibre_prime(struct emu_fibre *f)
{
    uintptr_t top = ((uintptr_t)(f->stack + EMU_STACK)) & ~(uintptr_t)15;
    void **sp = (void **)(top - 64);
    for (int i = 0; i < 6; i++)
        sp[i] = 0;
    sp[6] = (void *)&emu_fibre_main;
    sp[7] = 0;
    f->sp = sp;
}
#define EMU_TO_FIBRE(f) emu_switch(&emu.sched_sp, (f)->sp)
#define EMU_TO_SCHED(f) emu_switch(&(f)->sp, emu.sched_sp)
#else
#include <ucontext.h>
static ucontext_t emu_sched_uc, emu_uc[EMU_MAX_THREADS];
static void emu_fibre_main(void);
static void emu_fibre_prime(struct emu_fibre *f)
{
    ucontext_t *u = &emu_uc[f - emu.f];
    getcontext(u);
    u->uc_stack.ss_sp = f->stack;
    u->uc_stack.ss_size = EMU_STACK;
    u->uc_link = NULL;
    makecontext(u, emu_fibre_main, 0);
}
#define EMU_TO_FIBRE(f) swapcontext(&emu_sched_uc, &emu_uc[(f) - emu.f])
#define EMU_TO_SCHED(f) swapcontext(&emu_uc[(f) - emu.f], &emu_sched_uc)
#endif

static inline struct emu_fibre *emu_self(void) { return emu.cur; }

#define threadIdx (emu_self()->tid)
#define blockIdx (emu.block_idx)
#define blockDim (emu.block_dim)
#define gridDim (emu.grid_dim)
#define warpSize 32

static void emu_release_block(void)
{
    for (unsigned i = 0; i < emu.nthreads; i++)
        if (emu.f[i].state == EMU_WAIT_BLOCK)
            emu.f[i].state = EMU_RUNNABLE;
    emu.at_block = 0;
}

/* A warp exchange completes when every lane of the union of the arrived
 * lanes' masks that is still alive has arrived. */
static bool emu_warp_ready(struct emu_warp *w)
{
    unsigned need = w->want & w->alive;
    return w->arrived != 0 && (w->arrived & need) == need;
}

static void emu_release_warp(unsigned wi)
{
    struct emu_warp *w = &emu.w[wi];
    for (unsigned l = 0; l < 32; l++) {
        unsigned i = wi * 32 + l;
        if (i < emu.nthreads && emu.f[i].state == EMU_WAIT_WARP &&
            (w->arrived >> l & 1))
            emu.f[i].state = EMU_RUNNABLE;
    }
    w->arrived = w->want = 0;
}

static void emu_fibre_main(void)
{
    for (;;) {
        struct emu_fibre *f = emu.cur;
        emu.kernel(emu.kb);
        f = emu.cur;
        f->state = EMU_DONE;
        emu.live--;
        struct emu_warp *w = &emu.w[f->warp];
        w->alive &= ~(1u << f->lane);
        if (emu_warp_ready(w))
            emu_release_warp(f->warp);
        if (emu.at_block && emu.at_block == emu.live)
            emu_release_block();
        EMU_TO_SCHED(f);
    }
}

static inline void __syncthreads(void)
{
    struct emu_fibre *f = emu.cur;
    f->state = EMU_WAIT_BLOCK;
    if (++emu.at_block == emu.live)
        emu_release_block();
    EMU_TO_SCHED(f);
}

/* Wait until the lanes of mask have all arrived here. */
static void emu_warp_barrier(unsigned mask)
{
    struct emu_fibre *f = emu.cur;
    struct emu_warp *w = &emu.w[f->warp];
    f->state = EMU_WAIT_WARP;
    w->arrived |= 1u << f->lane;
    w->want |= mask | (1u << f->lane);
    if (emu_warp_ready(w))
        emu_release_warp(f->warp);
    EMU_TO_SCHED(f);
}

static inline void __syncwarp(unsigned mask = 0xffffffffu) { emu_warp_barrier(mask); }
static inline void __threadfence(void) {}
static inline void __threadfence_block(void) {}

/* Publish v, wait for the warp, read lane `src` (v itself when src is
 * outside the warp or the block), wait again so no lane overwrites its
 * slot before every lane has read. */
static uint64_t emu_exchange(unsigned mask, uint64_t v, int src)
{
    struct emu_fibre *f = emu.cur;
    struct emu_warp *w = &emu.w[f->warp];
    w->slot[f->lane] = v;
    emu_warp_barrier(mask);
    uint64_t r = v;
    if (src >= 0 && src < 32 && f->warp * 32 + (unsigned)src < emu.nthreads)
        r = w->slot[src];
    emu_warp_barrier(mask);
    return r;
}

template <typename T> static T emu_shfl(unsigned mask, T v, int src)
{
    static_assert(sizeof(T) <= 8, "shuffle of a type wider than 8 bytes");
    uint64_t bits = 0;
    memcpy(&bits, &v, sizeof v);
    bits = emu_exchange(mask, bits, src);
    T r;
    memcpy(&r, &bits, sizeof r);
    return r;
}

template <typename T> static T __shfl_sync(unsigned mask, T v, int src, int width = 32)
{
    int lane = (int)emu.cur->lane;
    return emu_shfl(mask, v, (lane & ~(width - 1)) + (src & (width - 1)));
}
template <typename T> static T __shfl_down_sync(unsigned mask, T v, unsigned d, int width = 32)
{
    int lane = (int)emu.cur->lane;
    int seg = lane & ~(width - 1);
    int src = lane + (int)d;
    return emu_shfl(mask, v, src < seg + width ? src : lane);
}
template <typename T> static T __shfl_up_sync(unsigned mask, T v, unsigned d, int width = 32)
{
    int lane = (int)emu.cur->lane;
    int seg = lane & ~(width - 1);
    int src = lane - (int)d;
    return emu_shfl(mask, v, src >= seg ? src : lane);
}
template <typename T> static T __shfl_xor_sync(unsigned mask, T v, int m, int width = 32)
{
    int lane = (int)emu.cur->lane;
    int seg = lane & ~(width - 1);
    int src = lane ^ m;
    return emu_shfl(mask, v, src < seg + width ? src : lane);
}

static unsigned __ballot_sync(unsigned mask, int pred)
{
    struct emu_fibre *f = emu.cur;
    struct emu_warp *w = &emu.w[f->warp];
    w->slot[f->lane] = pred != 0;
    emu_warp_barrier(mask);
    unsigned r = 0;
    for (unsigned l = 0; l < 32; l++)
        if ((mask >> l & 1) && f->warp * 32 + l < emu.nthreads && w->slot[l])
            r |= 1u << l;
    emu_warp_barrier(mask);
    return r;
}
static inline int __any_sync(unsigned mask, int p) { return __ballot_sync(mask, p) != 0; }
static inline int __all_sync(unsigned mask, int p)
{
    return __ballot_sync(mask, p) == (__ballot_sync(mask, 1));
}
static inline unsigned __activemask(void) { return emu.w[emu.cur->warp].alive; }

/* ---- launching ----------------------------------------------------------- */

static bool emu_fail(char *err, size_t len, const char *msg, unsigned a, unsigned b)
{
    snprintf(err, len, msg, a, b);
    return false;
}

static bool emu_check_dims(const unsigned g[3], const unsigned b[3], unsigned shared,
                           char *err, size_t len)
{
    unsigned long long nt = (unsigned long long)b[0] * b[1] * b[2];
    if (nt == 0 || nt > EMU_MAX_THREADS || b[0] > 1024 || b[1] > 1024 || b[2] > 64)
        return emu_fail(err, len, "block of %u x %u (x ...) threads is not launchable",
                        b[0], b[1]);
    if (g[0] == 0 || g[1] == 0 || g[2] == 0 || g[0] > 0x7fffffffu || g[1] > 65535 ||
        g[2] > 65535)
        return emu_fail(err, len, "grid of %u x %u (x ...) blocks is not launchable",
                        g[0], g[1]);
    if (shared > EMU_DYN_SMEM)
        return emu_fail(err, len, "%u bytes of dynamic shared memory (sm_90 max %u)",
                        shared, EMU_DYN_SMEM);
    return true;
}

static bool emu_ensure_fibres(unsigned n, char *err, size_t len)
{
    for (; emu.nfibres < n; emu.nfibres++) {
        void *p = mmap(NULL, EMU_STACK + EMU_PAGE, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED || mprotect(p, EMU_PAGE, PROT_NONE) != 0)
            return emu_fail(err, len, "out of memory for %u fibre stacks", n, 0);
        emu.f[emu.nfibres].stack = (unsigned char *)p + EMU_PAGE;
        emu.f[emu.nfibres].state = EMU_DONE;
        emu_fibre_prime(&emu.f[emu.nfibres]);
    }
    return true;
}

/* Run one block: every fibre until it waits or finishes, round robin,
 * until all are done. */
static bool emu_run_block(unsigned shared, char *err, size_t len)
{
    unsigned n = emu.nthreads;
    memset(emu_dyn_smem, 0xff, shared); /* NaN pattern: reads before writes show */
    for (unsigned i = 0; i < n; i++)
        emu.f[i].state = EMU_RUNNABLE;
    for (unsigned w = 0; w * 32 < n; w++) {
        emu.w[w].alive = n - w * 32 >= 32 ? 0xffffffffu : (1u << (n - w * 32)) - 1;
        emu.w[w].arrived = emu.w[w].want = 0;
    }
    emu.live = n;
    emu.at_block = 0;
    /* Each pass runs every runnable fibre up to its next barrier, in
     * increasing thread order or decreasing (alternating with the block
     * and the pass), so a read of another thread's write that lacks a
     * barrier sees stale data in one of the two orders. */
    for (unsigned pass = emu.blocks_run++; emu.live; pass++) {
        bool progress = false;
        for (unsigned j = 0; j < n; j++) {
            unsigned i = pass % 2 ? n - 1 - j : j;
            if (emu.f[i].state != EMU_RUNNABLE)
                continue;
            progress = true;
            emu.cur = &emu.f[i];
            EMU_TO_FIBRE(&emu.f[i]);
        }
        if (!progress) {
            /* The fibres stay parked mid-kernel: restart them all. */
            for (unsigned i = 0; i < emu.nfibres; i++)
                emu_fibre_prime(&emu.f[i]);
            return emu_fail(err, len, "deadlock in block: %u threads wait at "
                            "different barriers (%u at __syncthreads)",
                            emu.live, emu.at_block);
        }
    }
    return true;
}

/* Launch `kernel` like kernel<<<grid, block, shared>>>(kb) and wait for
 * it.  Returns 0, or -1 with the reason in err. */
extern "C" __attribute__((visibility("default"))) int
emu_launch(void (*kernel)(void *const *), const unsigned grid[3],
           const unsigned block[3], unsigned shared, void *const *kb, char *err,
           size_t errlen)
{
    if (!emu_check_dims(grid, block, shared, err, errlen))
        return -1;
    unsigned n = block[0] * block[1] * block[2];
    if (!emu_ensure_fibres(n, err, errlen))
        return -1;
    emu.kernel = kernel;
    emu.kb = kb;
    emu.nthreads = n;
    emu.block_dim = dim3(block[0], block[1], block[2]);
    emu.grid_dim = dim3(grid[0], grid[1], grid[2]);
    for (unsigned i = 0; i < n; i++) {
        struct emu_fibre *f = &emu.f[i];
        f->linear = i;
        f->lane = i % 32;
        f->warp = i / 32;
        f->tid.x = i % block[0];
        f->tid.y = i / block[0] % block[1];
        f->tid.z = i / (block[0] * block[1]);
    }
    for (unsigned z = 0; z < grid[2]; z++)
        for (unsigned y = 0; y < grid[1]; y++)
            for (unsigned x = 0; x < grid[0]; x++) {
                emu.block_idx.x = x;
                emu.block_idx.y = y;
                emu.block_idx.z = z;
                if (!emu_run_block(shared, err, errlen))
                    return -1;
            }
    return 0;
}

/* Free the fibre stacks (before dlclose). */
extern "C" __attribute__((visibility("default"))) void emu_release(void)
{
    for (unsigned i = 0; i < emu.nfibres; i++)
        munmap(emu.f[i].stack - EMU_PAGE, EMU_STACK + EMU_PAGE);
    emu.nfibres = 0;
}

#include "cuda_emu_math.h"

#endif
