/*
 * mp_help.h — shared machinery of the memory planner tests: programs
 * lowered one kernel per node (so node order is kernel order), programs
 * built kernel by kernel, and checks of k_check_plan's verdict.
 */
#ifndef KILN_TESTS_MP_HELP_H
#define KILN_TESTS_MP_HELP_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "kiln.h"
#include "ir/kernel.h"

/* pass_fuse without fusion (one kernel per node, no decompose or simplify, so handles
 * of g stay valid as p->g) then k_plan_memory.  Takes ownership of g. */
k_program *mp_lower(kiln_graph *g);
/* An empty program over g (owned) to fill with k_add_buffer/kernel. */
k_program *mp_new(kiln_graph *g);
/* The buffer holding node n's value. */
uint32_t mp_buf(const k_program *p, kiln_node n);
/* The kernel that first stores buffer b (fails the test if none). */
int mp_writer(const k_program *p, uint32_t b);
/* Row-major access of buffer b over a rank-1 domain of n elements. */
k_access mp_flat(uint32_t b);
/* k_check_plan must accept p (prints the message otherwise). */
void mp_expect_ok(const k_program *p);
/* k_check_plan must reject p with a message containing every needle
 * (NULL-terminated); the message is printed for the record. */
void mp_expect_reject(const k_program *p, ...);
/* Bytes of buffer b. */
int64_t mp_bytes(const k_program *p, uint32_t b);
/* "buf<b> (" — how the checker names a buffer. */
const char *mp_name(uint32_t b, char *s, size_t len);

#endif
