/*
 * cpu_math.h — vectorisable math functions emitted as LLVM IR.
 *
 * Without a vector math library LLVM scalarises calls to exp, tanh, ...,
 * so kiln emits its own approximations.  The emitted code is straight-line
 * (no branches, no libm calls): fadd/fmul/fdiv, llvm.fmuladd, llvm.fma,
 * llvm.sqrt, llvm.fabs, llvm.copysign, integer bit manipulation and
 * selects.  It therefore gives the same bits in the JIT and in an
 * ahead-of-time object for the same target CPU, and a loop calling it
 * vectorises.  llvm.fma (used for exact products in f64 gelu and pow) is
 * an instruction on every x86-64-v3 or newer CPU; on older targets LLVM
 * lowers it to a call of fma(), which is correctly rounded, so the bits
 * still agree.
 *
 * Each function is emitted once per (op, type) into the builder's module
 * as an internal alwaysinline helper named kiln.math.OP.TYPE that copies
 * the calling function's "target-cpu" / "target-features" attributes.
 *
 * Accuracy, in ulp of the correctly rounded result (f32: the double libm
 * value rounded to float; f64: the long double libm value rounded to
 * double).  tests/codegen_cpu/test_math.c asserts the bound over every
 * 251st float bit pattern, dense sweeps, random doubles and specials;
 * "measured" is the worst case it found (AVX-512 host, LLVM 14 and 19):
 *
 *   op       bound    measured f32   measured f64
 *   exp      4        1              1
 *   log      4        1              1
 *   log1p    4        1              1
 *   tanh     4        2              2
 *   sigmoid  4        2              2
 *   gelu     4        0              3      (f32 is computed in double)
 *   sin/cos  4        2              2      for |x| <= 3.2e6
 *   pow      1 / 3    0              2      (f32 / f64 bound)
 *   sqrt     0        0              0      (llvm.sqrt)
 *   rsqrt    1        1              1      (1 / sqrt, two roundings)
 *
 * Special values: NaN in gives NaN out.  exp(+inf) = inf, exp(-inf) = 0;
 * exp overflows to inf and underflows gradually: results in the
 * subnormal range are subnormals (one rounding), below half the smallest
 * subnormal they are 0.  log(0) = -inf, log(x < 0) = NaN, log(inf) = inf;
 * log1p(-1) = -inf, log1p(x < -1) = NaN, log1p(-0) = -0.  tanh(+-inf) =
 * +-1, sigmoid(+inf) = 1, sigmoid(-inf) = 0 (no overflow for any x).
 * gelu is the tanh form 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))),
 * evaluated as x / (1 + exp(-2 sqrt(2/pi) (x + 0.044715 x^3))) so the
 * negative tail keeps full relative accuracy; gelu(+inf) = inf,
 * gelu(-inf) = -0 (the limit).  sin/cos(+-inf) = NaN.
 *
 * sin/cos reduce x by pi/2 in double precision (a four-part Cody-Waite
 * split of pi/2, exact products for |x| < 3.2e6), for f32 and f64 alike.
 * Beyond 3.2e6 the reduction loses accuracy gradually: measured absolute
 * error about |x| * 1e-16 (1e-7 at 1e9, 1e-3 at 1e13), so results mean
 * nothing past about 1e15 (no Payne-Hanek reduction); they always stay
 * within [-1, 1] and are never NaN for finite x.
 *
 * pow follows C99 Annex F: pow(x, +-0) = 1 and pow(1, y) = 1 even for NaN,
 * pow(-1, +-inf) = 1, a negative finite base with a non-integral finite
 * exponent gives NaN, a negative base with an odd integral exponent gives
 * a negative result, pow(+-0, y < 0) = +-inf, and so on.  It is computed
 * as exp(y * log|x|) in double with log|x| and the product carried as
 * double-words (log|x| to about 2^-63 relative), so the error stays small
 * up to the overflow threshold; f32 pow runs the f64 code and rounds
 * once (at most 1 ulp where that double rounding bites).
 */
#ifndef KILN_CPU_MATH_H
#define KILN_CPU_MATH_H

#include <llvm-c/Core.h>

#include "ir/ir.h"

/* Emit f(x) at the builder's position.  x is float or double, scalar or a
 * vector of them; the result has x's type.  op is one of IR_OP_EXP, LOG,
 * LOG1P, TANH, SIGMOID, GELU, SIN, COS, SQRT, RSQRT.  Returns NULL for any
 * other op, for another type, or when the builder has no insert block. */
LLVMValueRef cpu_math_unary(LLVMBuilderRef b, ir_op op, LLVMValueRef x);

/* Emit a^y with C pow semantics (see above).  a and y must have the same
 * float/double (vector) type; otherwise returns NULL. */
LLVMValueRef cpu_math_pow(LLVMBuilderRef b, LLVMValueRef a, LLVMValueRef y);

#endif
