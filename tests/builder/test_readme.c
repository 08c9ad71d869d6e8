/*
 * The README's C example is examples/hello.c, byte for byte, so the code
 * users read is the code the build compiles; and that program, run, prints
 * what the README says it prints.  The README's text-format block is
 * checked the same way: it parses, prints back unchanged and runs.
 *
 * Usage: test_readme HELLO_EXE   (KILN_SOURCE_ROOT names the source tree)
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "kiln.h"

static const char *hello_exe;

/* The whole file as a NUL-terminated string (test_free it). */
static char *slurp(const char *rel)
{
    const char *root = getenv("KILN_SOURCE_ROOT");
    char path[4096];
    assert_non_null(root);
    snprintf(path, sizeof path, "%s/%s", root, rel);
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("cannot open %s", path);
    char *buf = test_malloc(1 << 20);
    size_t n = fread(buf, 1, (1 << 20) - 1, f);
    fclose(f);
    buf[n] = 0;
    return buf;
}

static void readme_block_is_hello_c(void **state)
{
    (void)state;
    char *readme = slurp("README.md");
    char *hello = slurp("examples/hello.c");
    const char *open = "\n```c\n";
    char *start = strstr(readme, open);
    if (!start)
        fail_msg("README.md has no ```c block");
    start += strlen(open);
    char *end = strstr(start, "\n```");
    assert_non_null(end);
    end[1] = 0; /* keep the block's last newline */
    if (strcmp(start, hello) != 0) {
        print_error("README.md's ```c block:\n%s\nexamples/hello.c:\n%s\n",
                    start, hello);
        fail_msg("they differ: copy examples/hello.c into README.md");
    }
    /* Exactly one C block: a second one would not be checked. */
    assert_null(strstr(end + 2, open));
    test_free(readme);
    test_free(hello);
}

/* The ```kiln block: the text form of hello.c's graph.  It must parse,
 * print back unchanged, and compute the same 14. */
static void readme_text_block_parses_and_runs(void **state)
{
    (void)state;
    char *readme = slurp("README.md");
    const char *open = "\n```kiln\n";
    char *start = strstr(readme, open);
    if (!start)
        fail_msg("README.md has no ```kiln block");
    start += strlen(open);
    char *end = strstr(start, "\n```");
    assert_non_null(end);
    end[1] = 0;
    char err[256] = "";
    kiln_graph *g = kiln_parse(start, strlen(start), "README.md", NULL, err,
                               sizeof err);
    if (!g)
        fail_msg("README.md's kiln block does not parse: %s", err);
    char *text = kiln_print(g);
    assert_non_null(text);
    assert_string_equal(text, start);
    kiln_text_free(g, text);
    kiln_program *p = kiln_compile(g, NULL);
    assert_non_null(p);
    float x[3] = {1, 2, 3}, y = 0;
    assert_int_equal(kiln_set_input(p, "x", x, sizeof x), KILN_OK);
    assert_int_equal(kiln_run(p), KILN_OK);
    assert_int_equal(kiln_get_output(p, "y", &y, sizeof y), KILN_OK);
    assert_float_equal(y, 14, 0);
    kiln_program_free(p);
    kiln_graph_free(g);
    test_free(readme);
}

static void hello_prints_fourteen(void **state)
{
    (void)state;
    char cmd[4200], out[256] = "";
    snprintf(cmd, sizeof cmd, "'%s'", hello_exe);
    FILE *f = popen(cmd, "r");
    assert_non_null(f);
    size_t n = fread(out, 1, sizeof out - 1, f);
    out[n] = 0;
    int status = pclose(f);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    /* 1*1 + 2*2 + 3*3 */
    assert_string_equal(out, "y = 14\n");
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s HELLO_EXE\n", argv[0]);
        return 2;
    }
    hello_exe = argv[1];
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(readme_block_is_hello_c),
        cmocka_unit_test(readme_text_block_parses_and_runs),
        cmocka_unit_test(hello_prints_fourteen),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
