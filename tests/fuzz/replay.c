/*
 * replay.c — the fuzz target as a plain test: runs fuzz_parse.c's
 * LLVMFuzzerTestOneInput on every example graph, every file in
 * tests/fuzz/regress/ (inputs that once found a bug) and every prefix of
 * each, so the target's invariants (parse or clean error; print is a
 * fixed point) are checked on each build even where libFuzzer is absent.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 1 << 16, n = 0, got;
    char *buf = malloc(cap);
    assert_non_null(buf);
    while ((got = fread(buf + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap) {
            buf = realloc(buf, cap *= 2);
            assert_non_null(buf);
        }
    }
    fclose(f);
    *len = n;
    return buf;
}

/* Runs every file of dir (and its prefixes); returns the file count. */
static int replay_dir(const char *dir)
{
    DIR *d = opendir(dir);
    int files = 0;
    struct dirent *e;
    if (!d)
        return 0;
    while ((e = readdir(d)) != NULL) {
        char path[4096];
        size_t len;
        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        char *data = read_all(path, &len);
        if (!data)
            continue;
        for (size_t k = 0; k <= len; k++)
            LLVMFuzzerTestOneInput((const uint8_t *)data, k);
        free(data);
        files++;
    }
    closedir(d);
    return files;
}

static void test_replay(void **state)
{
    (void)state;
    const char *root = getenv("KILN_SOURCE_ROOT");
    assert_non_null(root);
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/examples/graphs", root);
    assert_true(replay_dir(dir) >= 6);
    snprintf(dir, sizeof dir, "%s/tests/fuzz/regress", root);
    replay_dir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_replay)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
