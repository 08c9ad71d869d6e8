/*
 * fuzz_parse.c — libFuzzer target for the text format.  Every input must
 * either parse, or fail with a "fuzz:LINE:COL: message" error; whatever
 * parses must verify, print, and re-parse to a graph that prints the
 * same text (print is a fixed point after one round).  Any violation
 * aborts, which libFuzzer reports as a finding.  Leaks and memory errors
 * are found by the sanitizers run.sh builds with.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir/ir.h"
#include "kiln.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void die(const char *why, const char *a, const char *b)
{
    fprintf(stderr, "fuzz_parse: %s\n--- first\n%s\n--- second\n%s\n", why,
            a ? a : "", b ? b : "");
    abort();
}

static void check_error(const char *err)
{
    unsigned line, col;
    char colon;
    if (sscanf(err, "fuzz:%u:%u%c", &line, &col, &colon) != 3 ||
        colon != ':' || line == 0 || col == 0 || strlen(err) < 12)
        die("malformed error message", err, NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[700], err2[700];
    kiln_graph *g = kiln_parse((const char *)data, size, "fuzz", NULL, err,
                               sizeof err);
    if (!g) {
        check_error(err);
        return 0;
    }
    if (ir_verify(g) != KILN_OK)
        die("parsed graph does not verify", kiln_graph_error(g), NULL);
    char *t1 = kiln_print(g);
    if (!t1)
        die("print failed", kiln_graph_error(g), NULL);
    kiln_graph *g2 = kiln_parse(t1, strlen(t1), "printed", NULL, err2,
                                sizeof err2);
    if (!g2)
        die("printed text does not parse", err2, t1);
    char *t2 = kiln_print(g2);
    if (!t2 || strcmp(t1, t2) != 0)
        die("print(parse(print(g))) != print(g)", t1, t2);
    if (kiln_graph_node_count(g) != kiln_graph_node_count(g2))
        die("node count changed", t1, t2);
    kiln_text_free(g2, t2);
    kiln_text_free(g, t1);
    kiln_graph_free(g2);
    kiln_graph_free(g);
    return 0;
}
