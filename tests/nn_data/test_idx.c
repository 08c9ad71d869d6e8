/* kiln_read_idx: small IDX files written here (plain and gzipped), the
 * header and size checks, and the real Fashion-MNIST test set when the
 * Debian package is installed. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifdef KILN_HAVE_ZLIB
#include <zlib.h>
#endif

#include "kiln_data.h"

static char dir[64];

static void be32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

static const char *path_of(const char *name)
{
    static char paths[4][128];
    static int next;
    char *p = paths[next++ % 4];
    snprintf(p, 128, "%s/%s", dir, name);
    return p;
}

static const char *put(const char *name, const unsigned char *data,
                       size_t len, int gz)
{
    const char *path = path_of(name);
#ifdef KILN_HAVE_ZLIB
    if (gz) {
        gzFile f = gzopen(path, "wb");
        assert_non_null(f);
        assert_int_equal(gzwrite(f, data, (unsigned)len), (int)len);
        gzclose(f);
        return path;
    }
#else
    assert_int_equal(gz, 0);
#endif
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    fclose(f);
    return path;
}

/* 3 images of 2 x 2 with pixel values 0, 51, ..., 255 cycling, labels
 * 7, 0, 255. */
static size_t images(unsigned char *b, uint32_t magic, uint32_t n)
{
    be32(b, magic);
    be32(b + 4, n);
    be32(b + 8, 2);
    be32(b + 12, 2);
    for (int i = 0; i < 12; i++)
        b[16 + i] = (unsigned char)(51 * (i % 6));
    return 28;
}

static size_t labels(unsigned char *b, uint32_t magic, uint32_t n)
{
    be32(b, magic);
    be32(b + 4, n);
    b[8] = 7;
    b[9] = 0;
    b[10] = 255;
    return 11;
}

static void check_small(const char *ip, const char *lp)
{
    char err[256] = "";
    kiln_dataset *d = kiln_read_idx(ip, lp, err, sizeof err);
    assert_non_null(d);
    int64_t dims[KILN_MAX_RANK];
    assert_int_equal(kiln_dataset_size(d), 3);
    assert_int_equal(kiln_dataset_x_shape(d, dims), 1);
    assert_int_equal(dims[0], 4);
    assert_int_equal(kiln_dataset_classes(d), 256);
    const float *x = kiln_dataset_x(d);
    for (int i = 0; i < 12; i++)
        assert_true(x[i] == (float)(51 * (i % 6)) * (1.0f / 255.0f));
    assert_true(x[5] == 1.0f);
    const int32_t *y = kiln_dataset_y(d);
    assert_int_equal(y[0], 7);
    assert_int_equal(y[1], 0);
    assert_int_equal(y[2], 255);
    kiln_dataset_free(d);
}

static void test_plain_and_gzip(void **state)
{
    (void)state;
    unsigned char ib[64], lb[16];
    size_t ni = images(ib, 0x803, 3), nl = labels(lb, 0x801, 3);
    check_small(put("i", ib, ni, 0), put("l", lb, nl, 0));
#ifdef KILN_HAVE_ZLIB
    check_small(put("i.gz", ib, ni, 1), put("l.gz", lb, nl, 1));
    check_small(put("i.gz", ib, ni, 1), put("l", lb, nl, 0));
#else
    char err[256];
    unsigned char gz[4] = {0x1f, 0x8b, 8, 0};
    const char *p = put("i.gz", gz, 4, 0);
    assert_null(kiln_read_idx(p, put("l", lb, nl, 0), err, sizeof err));
    assert_non_null(strstr(err, "built without zlib"));
#endif
}

/* Each corruption and the message it gets ("%s" the images path, then the
 * labels path where a message names both). */
static void expect(const unsigned char *ib, size_t ni, const unsigned char *lb,
                   size_t nl, int gz, const char *fmt, int which)
{
    const char *ip = put(gz ? "bad_i.gz" : "bad_i", ib, ni, gz);
    const char *lp = put("bad_l", lb, nl, 0);
    char err[256] = "", want[256];
    if (which == 0)
        snprintf(want, sizeof want, fmt, ip);
    else if (which == 1)
        snprintf(want, sizeof want, fmt, lp);
    else
        snprintf(want, sizeof want, fmt, ip, lp);
    assert_null(kiln_read_idx(ip, lp, err, sizeof err));
    assert_string_equal(err, want);
}

static void test_errors(void **state)
{
    (void)state;
    unsigned char ib[64], lb[16];
    size_t ni = images(ib, 0x803, 3), nl = labels(lb, 0x801, 3);
    expect(ib, ni, lb, nl - 1, 0, "%s: truncated: 2 of 3 data bytes", 1);
    expect(ib, ni - 2, lb, nl, 0, "%s: truncated: 10 of 12 data bytes", 0);
    expect(ib, 10, lb, nl, 0, "%s: truncated header (10 of 16 bytes)", 0);
    expect(ib, ni, lb, 3, 0, "%s: truncated header (3 of 8 bytes)", 1);
    expect(lb, nl, lb, nl, 0,
           "%s: bad magic 0x00000801, expected 0x00000803 (u8 images, 3 "
           "dims)", 0);
    expect(ib, ni, ib, ni, 0,
           "%s: bad magic 0x00000803, expected 0x00000801 (u8 labels, 1 "
           "dim)", 1);
    unsigned char big[64];
    memcpy(big, ib, ni);
    big[ni] = 9;
    expect(big, ni + 1, lb, nl, 0, "%s: unexpected bytes after 12 data bytes",
           0);
    unsigned char l4[16];
    size_t n4 = labels(l4, 0x801, 4);
    l4[n4++] = 1;
    expect(ib, ni, l4, n4, 0, "%s has 3 images but %s has 4 labels", 2);
    /* A header claiming 2^32 - 1 images of 4096 x 4096: refused by size. */
    unsigned char huge[64];
    size_t nh = images(huge, 0x803, 0xffffffffu);
    be32(huge + 8, 4096);
    be32(huge + 12, 4096);
    unsigned char lh[16];
    labels(lh, 0x801, 0xffffffffu);
    expect(huge, nh, lh, 11, 0, "%s: truncated: 3 of 4294967295 data bytes",
           1);
    /* 2^20 labels present, 2^20 images claimed but 12 bytes there. */
    unsigned char im[64];
    images(im, 0x803, 1u << 20);
    const char *ip = put("bad_i", im, 28, 0);
    unsigned char *lots = calloc((1u << 20) + 8, 1);
    labels(lots, 0x801, 1u << 20);
    const char *lp = put("bad_l", lots, (1u << 20) + 8, 0);
    free(lots);
    char err[256], want[256];
    snprintf(want, sizeof want, "%s: truncated: 12 of 4194304 data bytes",
             ip);
    assert_null(kiln_read_idx(ip, lp, err, sizeof err));
    assert_string_equal(err, want);
    be32(ib + 8, 0);
    expect(ib, ni, lb, nl, 0, "%s: dim 1 is 0", 0);
    const char *none = path_of("none");
    snprintf(want, sizeof want, "%s: cannot open: No such file or directory",
             none);
    assert_null(kiln_read_idx(none, none, err, sizeof err));
    assert_string_equal(err, want);
    assert_null(kiln_read_idx(NULL, none, err, sizeof err));
    assert_string_equal(err, "read_idx: NULL path");
}

#ifdef KILN_HAVE_ZLIB
/* A gzip member whose deflate data is garbage, and one cut short. */
static void test_bad_gzip(void **state)
{
    (void)state;
    unsigned char ib[64], lb[16];
    size_t ni = images(ib, 0x803, 3), nl = labels(lb, 0x801, 3);
    const char *gp = put("g.gz", ib, ni, 1);
    FILE *f = fopen(gp, "rb");
    unsigned char gz[256];
    size_t ng = fread(gz, 1, sizeof gz, f);
    fclose(f);
    const char *lp = put("l", lb, nl, 0);
    unsigned char bad[256];
    memcpy(bad, gz, ng);
    for (size_t i = 10; i < ng - 8; i++)
        bad[i] = 0xff;
    const char *bp = put("bad.gz", bad, ng, 0);
    char err[256] = "", want[256];
    assert_null(kiln_read_idx(bp, lp, err, sizeof err));
    snprintf(want, sizeof want, "%s: corrupt gzip data: ", bp);
    assert_memory_equal(err, want, strlen(want));
    bp = put("short.gz", gz, ng / 2, 0);
    assert_null(kiln_read_idx(bp, lp, err, sizeof err));
    snprintf(want, sizeof want, "%s: ", bp);
    assert_memory_equal(err, want, strlen(want));
    assert_true(strstr(err, "truncated") || strstr(err, "corrupt gzip"));
}
#endif

/* The Fashion-MNIST test set: 10000 images of 28 x 28, 1000 per class. */
static void test_fashion_mnist(void **state)
{
    (void)state;
    const char *ip = "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz";
    const char *lp = "/usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz";
#ifndef KILN_HAVE_ZLIB
    skip();
#endif
    if (access(ip, R_OK) != 0 || access(lp, R_OK) != 0)
        skip();
    char err[256] = "";
    kiln_dataset *d = kiln_read_idx(ip, lp, err, sizeof err);
    assert_non_null(d);
    int64_t dims[KILN_MAX_RANK];
    assert_int_equal(kiln_dataset_size(d), 10000);
    assert_int_equal(kiln_dataset_x_shape(d, dims), 1);
    assert_int_equal(dims[0], 784);
    assert_int_equal(kiln_dataset_classes(d), 10);
    int count[10] = {0};
    const int32_t *y = kiln_dataset_y(d);
    for (int i = 0; i < 10000; i++)
        count[y[i]]++;
    for (int c = 0; c < 10; c++)
        assert_int_equal(count[c], 1000);
    const float *x = kiln_dataset_x(d);
    float lo = 1, hi = 0;
    for (int64_t i = 0; i < 10000 * 784; i++) {
        lo = x[i] < lo ? x[i] : lo;
        hi = x[i] > hi ? x[i] : hi;
    }
    assert_true(lo == 0.0f && hi == 1.0f);
    kiln_dataset_free(d);
}

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/kiln_idx_XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    const char *names[] = {"i", "l", "i.gz", "l.gz", "bad_i", "bad_i.gz",
                           "bad_l", "g.gz", "bad.gz", "short.gz"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        remove(path_of(names[i]));
    return rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain_and_gzip),
        cmocka_unit_test(test_errors),
#ifdef KILN_HAVE_ZLIB
        cmocka_unit_test(test_bad_gzip),
#endif
        cmocka_unit_test(test_fashion_mnist),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
