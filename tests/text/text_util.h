/*
 * text_util.h — helpers shared by the text-format tests: files under
 * KILN_SOURCE_ROOT, the round-trip check, a seeded comparison of two
 * graphs on the reference backend, and a fault-injecting allocator.
 */
#ifndef KILN_TEST_TEXT_UTIL_H
#define KILN_TEST_TEXT_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kiln.h"

/* KILN_SOURCE_ROOT "/" rel, malloc'd; fails the test when unset. */
char *tu_source_path(const char *rel);
/* The whole file, NUL-terminated, malloc'd; *len without the NUL. */
char *tu_read_file(const char *path, size_t *len);

/* Parse text (failing the test with the message if it does not parse),
 * print it, parse the print, print again, and assert both prints are
 * equal.  Returns the first graph; *printed (if not NULL) gets a
 * malloc'd copy of the canonical text. */
kiln_graph *tu_roundtrip(const char *text, size_t len, const char *name,
                         char **printed);

/* Compile a and b with the reference backend, bind the same seeded
 * inputs (floating: [-1, 1), i32: [0, 4), bool: 0/1), run `runs` times
 * and assert every output and param is bitwise equal. */
void tu_assert_same_eval(kiln_graph *a, kiln_graph *b, uint64_t seed,
                         int runs);

/* An allocator that fails the Nth malloc/realloc (0: never) and counts
 * live blocks, so leaks show without ASan. */
typedef struct tu_faulty {
    long calls, fail_at, live;
} tu_faulty;
kiln_allocator tu_faulty_allocator(tu_faulty *f);

#endif
