/*
 * fpenv.h — flushing subnormal floats to zero while kernels run.
 *
 * x86 computes with subnormal operands or results through a microcode
 * assist, about a hundred times slower than with normal numbers, and a
 * training step drifts into them: gradients and Adam's second moments
 * shrink towards 0 as the loss falls (the Fashion-MNIST MLP step of
 * bench/nn_train.c slows down 1.8x by its third epoch).  Flush-to-zero
 * and denormals-are-zero (MXCSR FTZ|DAZ on x86, FPCR.FZ on AArch64) make
 * those values 0 instead; elsewhere these calls do nothing.
 */
#ifndef KILN_RUNTIME_FPENV_H
#define KILN_RUNTIME_FPENV_H

#include <stdbool.h>

typedef struct rt_fpenv {
    unsigned long long saved;
} rt_fpenv;

/* Save this thread's floating-point control state in *save and turn
 * flushing on. */
void rt_fpenv_flush(rt_fpenv *save);
/* Put back what rt_fpenv_flush saved. */
void rt_fpenv_restore(const rt_fpenv *save);
/* Is flushing on for this thread (always false where unsupported)? */
bool rt_fpenv_flushing(void);

#endif
