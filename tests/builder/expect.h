/*
 * expect.h — the assertion every builder-misuse test makes: the call
 * returned the invalid node, the graph holds the expected status, and the
 * message contains each given fragment (op, node, types).  On a mismatch
 * the whole message is printed, so a failing case explains itself.
 *
 * Include after <cmocka.h>.
 */
#ifndef KILN_TEST_EXPECT_H
#define KILN_TEST_EXPECT_H

#include <stdio.h>
#include <string.h>

#include "kiln.h"

static inline void expect_msg_(const char *msg, const char *const *frags,
                               const char *file, int line)
{
    for (int i = 0; frags[i]; i++)
        if (!strstr(msg, frags[i])) {
            print_error("message \"%s\"\n  lacks \"%s\"\n", msg, frags[i]);
            _fail(file, line);
        }
}

static inline void expect_status_(kiln_graph *g, kiln_status want,
                                  const char *const *frags, const char *file,
                                  int line)
{
    kiln_status got = kiln_graph_status(g);
    if (got != want) {
        print_error("status %s (%d), want %s (%d); message \"%s\"\n",
                    kiln_status_string(got), (int)got,
                    kiln_status_string(want), (int)want, kiln_graph_error(g));
        _fail(file, line);
    }
    expect_msg_(kiln_graph_error(g), frags, file, line);
}

/* The builder call `node` failed with `status` and a message holding
 * every fragment; the error is then cleared so the graph can be reused. */
static inline void expect_fail_(kiln_graph *g, kiln_node node,
                                kiln_status want, const char *const *frags,
                                const char *file, int line)
{
    if (kiln_node_valid(node)) {
        print_error("call returned a valid node %#x; graph status %s\n",
                    (unsigned)node.id, kiln_status_string(kiln_graph_status(g)));
        _fail(file, line);
    }
    expect_status_(g, want, frags, file, line);
    kiln_graph_clear_error(g);
}

#define EXPECT_FAIL(g, node, status, ...)                                     \
    expect_fail_((g), (node), (status), (const char *const[]){__VA_ARGS__, NULL}, \
                 __FILE__, __LINE__)

/* Same, for a call that returns a status (kiln_output). */
#define EXPECT_STATUS_FAIL(g, call, status, ...)                              \
    do {                                                                      \
        kiln_status s_ = (call);                                              \
        assert_int_equal(s_, (status));                                       \
        expect_status_((g), (status), (const char *const[]){__VA_ARGS__, NULL}, \
                       __FILE__, __LINE__);                                   \
        kiln_graph_clear_error(g);                                            \
    } while (0)

#define EXPECT_MSG(msg, ...)                                                  \
    expect_msg_((msg), (const char *const[]){__VA_ARGS__, NULL}, __FILE__,    \
                __LINE__)

/* A call that must succeed: a valid node and a clean graph. */
#define EXPECT_OK(g, node)                                                    \
    do {                                                                      \
        if (!kiln_node_valid(node) || kiln_graph_status(g) != KILN_OK) {      \
            print_error("unexpected failure: %s\n", kiln_graph_error(g));     \
            _fail(__FILE__, __LINE__);                                        \
        }                                                                     \
    } while (0)

/* "#N", the name shape errors give the node about to be created. */
static inline const char *next_id(kiln_graph *g, char *buf, size_t len)
{
    snprintf(buf, len, "#%zu", kiln_graph_node_count(g));
    return buf;
}

#endif
