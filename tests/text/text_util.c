/* text_util.c — see text_util.h. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "text_util.h"

char *tu_source_path(const char *rel)
{
    const char *root = getenv("KILN_SOURCE_ROOT");
    if (!root)
        fail_msg("KILN_SOURCE_ROOT is not set (run through meson test)");
    size_t n = strlen(root) + strlen(rel) + 2;
    char *p = malloc(n);
    assert_non_null(p);
    snprintf(p, n, "%s/%s", root, rel);
    return p;
}

char *tu_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("cannot open %s", path);
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    assert_non_null(buf);
    size_t got;
    while ((got = fread(buf + n, 1, cap - n - 1, f)) > 0) {
        n += got;
        if (cap - n - 1 == 0) {
            cap *= 2;
            buf = realloc(buf, cap);
            assert_non_null(buf);
        }
    }
    fclose(f);
    buf[n] = 0;
    *len = n;
    return buf;
}

kiln_graph *tu_roundtrip(const char *text, size_t len, const char *name,
                         char **printed)
{
    char err[800];
    kiln_graph *g = kiln_parse(text, len, name, NULL, err, sizeof err);
    if (!g)
        fail_msg("%s does not parse: %s", name, err);
    char *t1 = kiln_print(g);
    assert_non_null(t1);
    kiln_graph *g2 = kiln_parse(t1, strlen(t1), "printed", NULL, err,
                                sizeof err);
    if (!g2)
        fail_msg("the print of %s does not parse: %s\n%s", name, err, t1);
    char *t2 = kiln_print(g2);
    assert_non_null(t2);
    assert_string_equal(t1, t2);
    assert_int_equal(kiln_graph_node_count(g), kiln_graph_node_count(g2));
    if (printed) {
        *printed = strdup(t1);
        assert_non_null(*printed);
    }
    kiln_text_free(g2, t2);
    kiln_text_free(g, t1);
    kiln_graph_free(g2);
    return g;
}

static uint64_t splitmix(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static void *random_data(const kiln_binding *b, uint64_t *s, size_t *nbytes)
{
    size_t numel = 1;
    for (int i = 0; i < b->rank; i++)
        numel *= (size_t)b->dims[i];
    *nbytes = numel * kiln_dtype_size(b->dtype);
    char *d = malloc(*nbytes ? *nbytes : 1);
    assert_non_null(d);
    for (size_t i = 0; i < numel; i++) {
        uint64_t r = splitmix(s);
        double u = (double)(r >> 11) * 0x1p-53 * 2 - 1;
        switch (b->dtype) {
        case KILN_F32: ((float *)d)[i] = (float)u; break;
        case KILN_F64: ((double *)d)[i] = u; break;
        case KILN_I32: ((int32_t *)d)[i] = (int32_t)(r % 4); break;
        default: ((uint8_t *)d)[i] = (uint8_t)(r & 1); break;
        }
    }
    return d;
}

static kiln_program *compile_or_fail(kiln_graph *g)
{
    kiln_program *p = kiln_compile(g, NULL);
    if (!p)
        fail_msg("compile: %s", kiln_graph_error(g));
    return p;
}

/* Fetch binding b's value from both programs and compare bytes. */
static void compare_binding(kiln_program *pa, kiln_program *pb,
                            const kiln_binding *b)
{
    size_t numel = 1;
    for (int i = 0; i < b->rank; i++)
        numel *= (size_t)b->dims[i];
    size_t n = numel * kiln_dtype_size(b->dtype);
    char *va = malloc(n ? n : 1), *vb = malloc(n ? n : 1);
    assert_true(va && vb);
    kiln_status (*get)(kiln_program *, const char *, void *, size_t) =
        b->kind == 'o' ? kiln_get_output : kiln_get_param;
    assert_int_equal(get(pa, b->name, va, n), KILN_OK);
    assert_int_equal(get(pb, b->name, vb, n), KILN_OK);
    if (memcmp(va, vb, n) != 0)
        fail_msg("%c '%s' differs between the graphs", b->kind, b->name);
    free(va);
    free(vb);
}

void tu_assert_same_eval(kiln_graph *a, kiln_graph *b, uint64_t seed, int runs)
{
    kiln_program *pa = compile_or_fail(a), *pb = compile_or_fail(b);
    int n = kiln_program_binding_count(pa);
    assert_int_equal(n, kiln_program_binding_count(pb));
    for (int run = 0; run < runs; run++) {
        for (int i = 0; i < n; i++) {
            kiln_binding ba;
            assert_int_equal(kiln_program_binding(pa, i, &ba), KILN_OK);
            if (ba.kind != 'i')
                continue;
            size_t nbytes;
            void *d = random_data(&ba, &seed, &nbytes);
            assert_int_equal(kiln_set_input(pa, ba.name, d, nbytes), KILN_OK);
            assert_int_equal(kiln_set_input(pb, ba.name, d, nbytes), KILN_OK);
            free(d);
        }
        if (kiln_run(pa) != KILN_OK)
            fail_msg("run: %s", kiln_program_error(pa));
        assert_int_equal(kiln_run(pb), KILN_OK);
        for (int i = 0; i < n; i++) {
            kiln_binding ba;
            assert_int_equal(kiln_program_binding(pa, i, &ba), KILN_OK);
            if (ba.kind != 'i')
                compare_binding(pa, pb, &ba);
        }
    }
    kiln_program_free(pa);
    kiln_program_free(pb);
}

static void *f_malloc(size_t n, void *user)
{
    tu_faulty *f = user;
    if (++f->calls == f->fail_at)
        return NULL;
    void *p = malloc(n);
    f->live += p != NULL;
    return p;
}

static void *f_realloc(void *old, size_t n, void *user)
{
    tu_faulty *f = user;
    if (++f->calls == f->fail_at)
        return NULL;
    void *p = realloc(old, n);
    f->live += p != NULL && old == NULL;
    return p;
}

static void f_free(void *p, void *user)
{
    tu_faulty *f = user;
    if (p) {
        f->live--;
        free(p);
    }
}

kiln_allocator tu_faulty_allocator(tu_faulty *f)
{
    kiln_allocator a = {f_malloc, f_realloc, f_free, f};
    return a;
}
