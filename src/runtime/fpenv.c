/* fpenv.c — see fpenv.h. */
#include "fpenv.h"

#if defined(__x86_64__) || defined(__i386__)
#include <xmmintrin.h>

#define FTZ_DAZ 0x8040u /* MXCSR bit 15 flush-to-zero, bit 6 denormals-are-zero */

void rt_fpenv_flush(rt_fpenv *save)
{
    unsigned csr = _mm_getcsr();
    save->saved = csr;
    if ((csr & FTZ_DAZ) != FTZ_DAZ)
        _mm_setcsr(csr | FTZ_DAZ);
}

void rt_fpenv_restore(const rt_fpenv *save)
{
    if (_mm_getcsr() != (unsigned)save->saved)
        _mm_setcsr((unsigned)save->saved);
}

bool rt_fpenv_flushing(void)
{
    return (_mm_getcsr() & FTZ_DAZ) == FTZ_DAZ;
}

#elif defined(__aarch64__)

#define FPCR_FZ (1ull << 24)

static unsigned long long get_fpcr(void)
{
    unsigned long long v;
    __asm__ volatile("mrs %0, fpcr" : "=r"(v));
    return v;
}

static void set_fpcr(unsigned long long v)
{
    __asm__ volatile("msr fpcr, %0" : : "r"(v));
}

void rt_fpenv_flush(rt_fpenv *save)
{
    save->saved = get_fpcr();
    if (!(save->saved & FPCR_FZ))
        set_fpcr(save->saved | FPCR_FZ);
}

void rt_fpenv_restore(const rt_fpenv *save)
{
    if (get_fpcr() != save->saved)
        set_fpcr(save->saved);
}

bool rt_fpenv_flushing(void)
{
    return (get_fpcr() & FPCR_FZ) != 0;
}

#else

void rt_fpenv_flush(rt_fpenv *save) { save->saved = 0; }
void rt_fpenv_restore(const rt_fpenv *save) { (void)save; }
bool rt_fpenv_flushing(void) { return false; }

#endif
