/* Safetensors checkpoints: a bitwise round trip through a program with a
 * param of every dtype, a file laid out differently by hand, the
 * independent Python reader (bench/read_safetensors.py) on a kiln-written
 * file, and 30 corrupt or truncated files, each rejected with its own
 * message and leaving the params untouched. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kiln_data.h"

static char dir[64];

/* The values every test sets: awkward bits on purpose (-0, a NaN with a
 * payload, a subnormal, infinities). */
typedef struct values {
    float w[6];    /* F32 [2,3] */
    double d[3];   /* F64 [3]   */
    int32_t cnt;   /* I32 []    */
    uint8_t m[4];  /* BOOL [4]  */
} values;

static values fixed(void)
{
    values v;
    uint32_t nan_bits = 0x7fc12345u;
    float nanp;
    memcpy(&nanp, &nan_bits, 4);
    float w[6] = {1.5f, -0.0f, nanp, 1e-42f, INFINITY, -3.25e7f};
    memcpy(v.w, w, sizeof w);
    v.d[0] = 3.141592653589793;
    v.d[1] = 4.9e-322;
    v.d[2] = -INFINITY;
    v.cnt = -123456;
    uint8_t m[4] = {1, 0, 0, 1};
    memcpy(v.m, m, 4);
    return v;
}

static kiln_program *program(void)
{
    kiln_graph *g = kiln_graph_new();
    kiln_node w = kiln_param(g, "w", KILN_F32, 2, (int64_t[]){2, 3},
                             kiln_init_uniform(-1, 1, 3));
    kiln_node d = kiln_param(g, "d", KILN_F64, 1, (int64_t[]){3},
                             kiln_init_constant(2));
    kiln_node c = kiln_param(g, "cnt", KILN_I32, 0, NULL,
                             kiln_init_constant(7));
    kiln_node m = kiln_param(g, "m", KILN_BOOL, 1, (int64_t[]){4},
                             kiln_init_zeros());
    kiln_output(g, "ow", kiln_add(g, w, kiln_scalar(g, KILN_F32, 1)));
    kiln_output(g, "od", kiln_add(g, d, kiln_scalar(g, KILN_F64, 1)));
    kiln_output(g, "oc", kiln_add(g, c, kiln_scalar(g, KILN_I32, 1)));
    kiln_output(g, "om", m);
    assert_int_equal(kiln_graph_status(g), KILN_OK);
    kiln_program *p = kiln_compile(g, NULL);
    kiln_graph_free(g);
    assert_non_null(p);
    return p;
}

static void set_all(kiln_program *p, const values *v)
{
    assert_int_equal(kiln_set_param(p, "w", v->w, sizeof v->w), KILN_OK);
    assert_int_equal(kiln_set_param(p, "d", v->d, sizeof v->d), KILN_OK);
    assert_int_equal(kiln_set_param(p, "cnt", &v->cnt, 4), KILN_OK);
    assert_int_equal(kiln_set_param(p, "m", v->m, 4), KILN_OK);
}

static void get_all(kiln_program *p, values *v)
{
    memset(v, 0, sizeof *v);
    assert_int_equal(kiln_get_param(p, "w", v->w, sizeof v->w), KILN_OK);
    assert_int_equal(kiln_get_param(p, "d", v->d, sizeof v->d), KILN_OK);
    assert_int_equal(kiln_get_param(p, "cnt", &v->cnt, 4), KILN_OK);
    assert_int_equal(kiln_get_param(p, "m", v->m, 4), KILN_OK);
}

static void assert_same(const values *a, const values *b)
{
    assert_memory_equal(a->w, b->w, sizeof a->w);
    assert_memory_equal(a->d, b->d, sizeof a->d);
    assert_int_equal(a->cnt, b->cnt);
    assert_memory_equal(a->m, b->m, sizeof a->m);
}

static const char *path_of(const char *name)
{
    static char paths[4][128];
    static int next;
    char *p = paths[next++ % 4];
    snprintf(p, 128, "%s/%s", dir, name);
    return p;
}

/* The number of directory entries (to see no temporary file is left). */
static int entries(void)
{
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

static void test_round_trip(void **state)
{
    (void)state;
    values v = fixed(), got, fresh;
    kiln_program *a = program(), *b = program();
    set_all(a, &v);
    const char *path = path_of("rt.safetensors");
    char err[256] = "";
    assert_int_equal(kiln_save_params(a, path, err, sizeof err), KILN_OK);
    assert_int_equal(entries(), 1);
    /* Saving again replaces the file atomically (still one entry). */
    assert_int_equal(kiln_save_params(a, path, err, sizeof err), KILN_OK);
    assert_int_equal(entries(), 1);
    get_all(b, &fresh);
    assert_float_equal(fresh.d[0], 2.0, 0);
    assert_int_equal(kiln_load_params(b, path, err, sizeof err), KILN_OK);
    get_all(b, &got);
    assert_same(&v, &got);
    /* The program still runs on the loaded params: om = m. */
    assert_int_equal(kiln_run(b), KILN_OK);
    uint8_t om[4];
    assert_int_equal(kiln_get_output(b, "om", om, 4), KILN_OK);
    assert_memory_equal(om, v.m, 4);
    /* Layout: 8-byte length, a header padded to 8 bytes, 56 data bytes. */
    FILE *f = fopen(path, "rb");
    unsigned char len8[8];
    assert_int_equal(fread(len8, 1, 8, f), 8);
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fclose(f);
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--)
        hlen = hlen << 8 | len8[i];
    assert_int_equal(hlen % 8, 0);
    assert_int_equal((uint64_t)size, 8 + hlen + 56);
    /* Saving into a missing directory fails cleanly. */
    char bad[160];
    snprintf(bad, sizeof bad, "%s/no/such/x.st", dir);
    assert_int_equal(kiln_save_params(a, bad, err, sizeof err), KILN_ERR_IO);
    assert_non_null(strstr(err, "cannot create a temporary file"));
    /* A rename that fails (the target is a directory) leaves no
     * temporary file behind. */
    const char *target = path_of("target.st");
    assert_int_equal(mkdir(target, 0700), 0);
    int before = entries();
    assert_int_equal(kiln_save_params(a, target, err, sizeof err),
                     KILN_ERR_IO);
    char want[256];
    snprintf(want, sizeof want, "%s: rename failed: Is a directory", target);
    assert_string_equal(err, want);
    assert_int_equal(entries(), before);
    rmdir(target);
    kiln_program_free(a);
    kiln_program_free(b);
    remove(path);
}

/* Writes len8 + header + data (no padding unless the header has it). */
static const char *put_st(const char *name, const char *header,
                          const void *data, size_t ndata)
{
    const char *path = path_of(name);
    FILE *f = fopen(path, "wb");
    uint64_t h = strlen(header);
    unsigned char len8[8];
    for (int i = 0; i < 8; i++)
        len8[i] = (unsigned char)(h >> (8 * i));
    fwrite(len8, 1, 8, f);
    fwrite(header, 1, h, f);
    if (ndata)
        fwrite(data, 1, ndata, f);
    fclose(f);
    return path;
}

/* The data of `fixed` laid out as w, d, cnt, m (56 bytes). */
static void fixed_bytes(unsigned char *b)
{
    values v = fixed();
    memcpy(b, v.w, 24);
    memcpy(b + 24, v.d, 24);
    memcpy(b + 48, &v.cnt, 4);
    memcpy(b + 52, v.m, 4);
}

/* A file written by hand in another order, without padding, with extra
 * metadata, is read correctly. */
static void test_foreign_layout(void **state)
{
    (void)state;
    values v = fixed(), got;
    unsigned char b[56], r[56];
    fixed_bytes(b);
    /* Data order m, cnt, d, w. */
    memcpy(r, b + 52, 4);
    memcpy(r + 4, b + 48, 4);
    memcpy(r + 8, b + 24, 24);
    memcpy(r + 32, b, 24);
    const char *path = put_st(
        "foreign.st",
        "{ \"w\" : {\"shape\":[2, 3], \"dtype\":\"F32\", \"data_offsets\":[32,56]},"
        "\n \"__metadata__\": {\"format\":\"pt\", \"note\":\"caf\\u00e9 \\\"q\\\"\"},"
        "\"d\":{\"dtype\":\"F64\",\"shape\":[3],\"data_offsets\":[8,32]},"
        "\"m\":{\"dtype\":\"BOOL\",\"shape\":[4],\"data_offsets\":[0,4]},"
        "\"cnt\":{\"dtype\":\"I32\",\"shape\":[],\"data_offsets\":[4,8]}}",
        r, 56);
    kiln_program *p = program();
    char err[256] = "";
    assert_int_equal(kiln_load_params(p, path, err, sizeof err), KILN_OK);
    get_all(p, &got);
    assert_same(&v, &got);
    kiln_program_free(p);
    remove(path);
}

/* FNV-1a 32 of raw bytes, as the Python reader prints it. */
static uint32_t fnv1a(const void *data, size_t n)
{
    const unsigned char *p = data;
    uint32_t h = 0x811c9dc5u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 0x01000193u;
    return h;
}

static void test_python_reader(void **state)
{
    (void)state;
    const char *root = getenv("KILN_SOURCE_ROOT");
    if (!root || system("python3 -c 'import json, struct' 2>/dev/null") != 0)
        skip();
    values v = fixed();
    kiln_program *p = program();
    set_all(p, &v);
    const char *path = path_of("py.safetensors");
    char err[256] = "", cmd[512];
    assert_int_equal(kiln_save_params(p, path, err, sizeof err), KILN_OK);
    kiln_program_free(p);
    snprintf(cmd, sizeof cmd, "python3 %s/bench/read_safetensors.py %s",
             root, path);
    FILE *out = popen(cmd, "r");
    assert_non_null(out);
    char lines[6][512];
    int n = 0;
    while (n < 6 && fgets(lines[n], sizeof lines[n], out))
        n++;
    assert_int_equal(pclose(out), 0);
    remove(path);
    assert_int_equal(n, 5);
    assert_string_equal(lines[0], "metadata format=kiln\n");
    /* Sorted by name: cnt, d, m, w. */
    char want[256];
    snprintf(want, sizeof want, "cnt I32 [] fnv1a=0x%08x -123456\n",
             (unsigned)fnv1a(&v.cnt, 4));
    assert_string_equal(lines[1], want);
    snprintf(want, sizeof want, "m BOOL [4] fnv1a=0x%08x 1 0 0 1\n",
             (unsigned)fnv1a(v.m, 4));
    assert_string_equal(lines[3], want);
    /* Floats: parse Python's repr back (it round-trips exactly). */
    char prefix[64];
    snprintf(prefix, sizeof prefix, "d F64 [3] fnv1a=0x%08x ",
             (unsigned)fnv1a(v.d, 24));
    assert_memory_equal(lines[2], prefix, strlen(prefix));
    char *s = lines[2] + strlen(prefix);
    for (int i = 0; i < 3; i++) {
        double x = strtod(s, &s);
        assert_memory_equal(&x, &v.d[i], 8);
    }
    snprintf(prefix, sizeof prefix, "w F32 [2,3] fnv1a=0x%08x ",
             (unsigned)fnv1a(v.w, 24));
    assert_memory_equal(lines[4], prefix, strlen(prefix));
    s = lines[4] + strlen(prefix);
    for (int i = 0; i < 6; i++) {
        float x = (float)strtod(s, &s);
        if (isnan(v.w[i]))
            assert_true(isnan(x)); /* the payload is in the hash above */
        else
            assert_memory_equal(&x, &v.w[i], 4);
    }
}

/* Header entries of the good layout, to build variants from. */
#define T_W "\"w\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]}"
#define T_D "\"d\":{\"dtype\":\"F64\",\"shape\":[3],\"data_offsets\":[24,48]}"
#define T_C "\"cnt\":{\"dtype\":\"I32\",\"shape\":[],\"data_offsets\":[48,52]}"
#define T_M "\"m\":{\"dtype\":\"BOOL\",\"shape\":[4],\"data_offsets\":[52,56]}"
#define REST T_D "," T_C "," T_M

typedef struct bad_case {
    const char *header; /* NULL: raw bytes below                        */
    size_t ndata;       /* data bytes after the header (<= 64)          */
    const char *msg;    /* after "PATH: "                               */
} bad_case;

static const bad_case header_cases[] = {
    {"{\"w\":", 56, "bad JSON header: offset 5: unexpected end of input"},
    {"{" T_W "," REST ",}", 56,
     "bad JSON header: offset 224: expected a string key"},
    {"[1,2]", 56, "the header is not a JSON object"},
    {"{\"w\":{\"dtype\":\"F64\",\"shape\":[2,3],\"data_offsets\":[0,24]},"
     REST "}", 56, "tensor 'w': dtype F64, but the param is F32"},
    {"{\"w\":{\"dtype\":\"F16\",\"shape\":[2,3],\"data_offsets\":[0,24]},"
     REST "}", 56, "tensor 'w': unsupported dtype 'F16'"},
    {"{\"w\":{\"dtype\":\"F32\",\"shape\":[3,2],\"data_offsets\":[0,24]},"
     REST "}", 56, "tensor 'w': shape [3,2], but the param has shape [2,3]"},
    {"{\"w\":{\"dtype\":\"F32\",\"shape\":[6],\"data_offsets\":[0,24]},"
     REST "}", 56, "tensor 'w': shape [6], but the param has shape [2,3]"},
    {"{\"w\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,20]},"
     REST "}", 56, "tensor 'w': data_offsets [0,20] hold 20 bytes, but its "
     "shape and dtype need 24"},
    {"{" T_W ",\"d\":{\"dtype\":\"F64\",\"shape\":[3],\"data_offsets\":"
     "[20,44]}," T_C "," T_M "}", 56,
     "tensors 'w' and 'd' overlap (bytes 20 to 24)"},
    {"{" T_W "," T_D "," T_C ",\"m\":{\"dtype\":\"BOOL\",\"shape\":[4],"
     "\"data_offsets\":[100,104]}}", 56, "tensor 'm': data_offsets "
     "[100,104] run past the 56 data bytes of the file (truncated?)"},
    {"{" T_W ",\"d\":{\"dtype\":\"F64\",\"shape\":[3],\"data_offsets\":"
     "[28,52]},\"cnt\":{\"dtype\":\"I32\",\"shape\":[],\"data_offsets\":"
     "[52,56]},\"m\":{\"dtype\":\"BOOL\",\"shape\":[4],\"data_offsets\":"
     "[56,60]}}", 60, "unused data bytes 24 to 28 before tensor 'd'"},
    {"{" T_W "," T_D "," T_C "}", 52,
     "param 'm' is missing from the file"},
    {"{" T_W "," REST ",\"zz\":{\"dtype\":\"F32\",\"shape\":[1],"
     "\"data_offsets\":[56,60]}}", 60,
     "tensor 'zz' is not a param of the program"},
    {"{\"w\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[24,0]},"
     REST "}", 56, "tensor 'w': data_offsets [24,0] end before they begin"},
    {"{\"w\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[-1,23]},"
     REST "}", 56, "tensor 'w': \"data_offsets\" must be [begin, end] with "
     "non-negative integers"},
    {"{\"w\":{\"shape\":[2,3],\"data_offsets\":[0,24]}," REST "}", 56,
     "tensor 'w': \"dtype\" is missing or not a string"},
    {"{\"w\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24],"
     "\"extra\":1}," REST "}", 56, "tensor 'w': unknown field 'extra'"},
    {"{" T_W "," T_W "," REST "}", 56,
     "bad JSON header: offset 57: duplicate key"},
    {"{\"__metadata__\":[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]," T_W ","
     REST "}", 56, "bad JSON header: offset 31: nested too deeply"},
    {"{\"w\":{\"dtype\":\"F32\",\"shape\":[2.0,3],\"data_offsets\":[0,24]},"
     REST "}", 56, "bad JSON header: offset 30: only integers are supported"},
    {"{\"__metadata__\":{\"x\":1}," T_W "," REST "}", 56,
     "\"__metadata__\" value 'x' is not a string"},
    {"{\"__metadata__\":{\"x\":\"a\\qb\"}," T_W "," REST "}", 56,
     "bad JSON header: offset 24: bad escape in a string"},
    {"{\"w\":{\"dtype\":\"F32\",\"shape\":[2,-3],\"data_offsets\":[0,24]},"
     REST "}", 56, "tensor 'w': shape entries must be non-negative integers"},
    {"{\"w\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]},"
     REST "} x", 56, "bad JSON header: offset 225: unexpected text after "
     "the value"},
    {"{" T_W "," REST "}", 57,
     "the tensors end at data byte 56, but the file has 57 data bytes"},
    {"{" T_W "," REST "}", 53, "tensor 'm': data_offsets [52,56] run past "
     "the 53 data bytes of the file (truncated?)"},
    {"{}", 0, "param 'w' is missing from the file"},
    {"{\"w\":\"\x01\"}", 56,
     "bad JSON header: offset 6: control character in a string"},
};

static void snapshot_check(kiln_program *p, const values *sentinel)
{
    values now;
    get_all(p, &now);
    assert_same(sentinel, &now);
}

static void expect_bad(kiln_program *p, const values *sentinel,
                       const char *path, const char *msg)
{
    char err[512] = "", want[512];
    snprintf(want, sizeof want, "%s: %s", path, msg);
    kiln_status s = kiln_load_params(p, path, err, sizeof err);
    assert_int_not_equal(s, KILN_OK);
    assert_string_equal(err, want);
    snapshot_check(p, sentinel);
}

static void put_raw(const char *path, const void *b, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (n)
        fwrite(b, 1, n, f);
    fclose(f);
}

static void test_corrupt(void **state)
{
    (void)state;
    kiln_program *p = program();
    values sentinel;
    get_all(p, &sentinel);
    unsigned char data[64] = {0};
    fixed_bytes(data);
    int count = 0;
    for (size_t i = 0; i < sizeof header_cases / sizeof *header_cases; i++) {
        const bad_case *c = &header_cases[i];
        const char *path = put_st("bad.st", c->header, data, c->ndata);
        expect_bad(p, &sentinel, path, c->msg);
        count++;
    }
    /* Truncations of a good file at every class of place. */
    values v = fixed();
    kiln_program *a = program();
    set_all(a, &v);
    const char *good = path_of("good.st");
    char err[256];
    assert_int_equal(kiln_save_params(a, good, err, sizeof err), KILN_OK);
    kiln_program_free(a);
    FILE *f = fopen(good, "rb");
    unsigned char file[1024];
    size_t n = fread(file, 1, sizeof file, f);
    fclose(f);
    size_t hlen = file[0] | (size_t)file[1] << 8;
    const char *bad = path_of("bad.st");
    char msg[256];
    put_raw(bad, file, 0);
    expect_bad(p, &sentinel, bad, "truncated: 0 bytes, shorter than the "
               "8-byte header length");
    put_raw(bad, file, 5);
    expect_bad(p, &sentinel, bad, "truncated: 5 bytes, shorter than the "
               "8-byte header length");
    put_raw(bad, file, 8);
    snprintf(msg, sizeof msg, "truncated: the header needs %zu bytes, the "
             "file has 0 after the length", hlen);
    expect_bad(p, &sentinel, bad, msg);
    put_raw(bad, file, 8 + hlen - 5);
    snprintf(msg, sizeof msg, "truncated: the header needs %zu bytes, the "
             "file has %zu after the length", hlen, hlen - 5);
    expect_bad(p, &sentinel, bad, msg);
    put_raw(bad, file, 8 + hlen);
    expect_bad(p, &sentinel, bad, "tensor 'w': data_offsets [0,24] run past "
               "the 0 data bytes of the file (truncated?)");
    put_raw(bad, file, n - 1);
    expect_bad(p, &sentinel, bad, "tensor 'm': data_offsets [52,56] run past "
               "the 55 data bytes of the file (truncated?)");
    count += 6;
    /* Header lengths: absurd, zero, and a flipped high byte. */
    unsigned char hdr[16];
    memcpy(hdr, file, 16);
    memset(hdr, 0xff, 8);
    hdr[7] = 0x80;
    hdr[0] = 0;
    put_raw(bad, hdr, 16);
    expect_bad(p, &sentinel, bad, "header length 9295429630892703488 is over "
               "the limit of 100000000 bytes (corrupt file?)");
    memset(hdr, 0, 8);
    put_raw(bad, hdr, 16);
    expect_bad(p, &sentinel, bad,
               "header length 0 is too short for a JSON object");
    file[4] = 1; /* 2^32 + hlen */
    put_raw(bad, file, n);
    snprintf(msg, sizeof msg, "header length %llu is over the limit of "
             "100000000 bytes (corrupt file?)",
             (unsigned long long)((1ull << 32) + hlen));
    expect_bad(p, &sentinel, bad, msg);
    count += 3;
    /* Not a file at all, and a missing one. */
    expect_bad(p, &sentinel, dir, "not a regular file");
    char missing[128];
    snprintf(missing, sizeof missing, "%s/missing.st", dir);
    expect_bad(p, &sentinel, missing,
               "cannot open: No such file or directory");
    count += 2;
    print_message("%d corrupt files rejected\n", count);
    assert_true(count >= 30);
    remove(good);
    remove(bad);
    kiln_program_free(p);
}

/* Every prefix of a good file, and seeded random byte flips: never a
 * crash (run under ASan in CI), every failure says which file, and a
 * prefix loads only when it is the whole file. */
static void test_mutations(void **state)
{
    (void)state;
    values v = fixed();
    kiln_program *p = program();
    set_all(p, &v);
    const char *good = path_of("mut_good.st");
    char err[512];
    assert_int_equal(kiln_save_params(p, good, err, sizeof err), KILN_OK);
    FILE *f = fopen(good, "rb");
    unsigned char file[1024], m[1024];
    size_t n = fread(file, 1, sizeof file, f);
    fclose(f);
    const char *bad = path_of("mut_bad.st");
    for (size_t len = 0; len <= n; len++) {
        put_raw(bad, file, len);
        kiln_status s = kiln_load_params(p, bad, err, sizeof err);
        assert_int_equal(s == KILN_OK, len == n);
        if (s != KILN_OK)
            assert_memory_equal(err, bad, strlen(bad));
    }
    uint64_t rng = 12345;
    for (int trial = 0; trial < 500; trial++) {
        memcpy(m, file, n);
        int flips = 1 + trial % 3;
        for (int k = 0; k < flips; k++) {
            rng = rng * 6364136223846793005ull + 1442695040888963407ull;
            size_t at = (size_t)(rng >> 33) % n;
            m[at] = (unsigned char)(rng >> 20);
        }
        put_raw(bad, m, n);
        if (kiln_load_params(p, bad, err, sizeof err) != KILN_OK)
            assert_memory_equal(err, bad, strlen(bad));
    }
    remove(good);
    remove(bad);
    kiln_program_free(p);
}

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/kiln_ckpt_XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    return rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_foreign_layout),
        cmocka_unit_test(test_python_reader),
        cmocka_unit_test(test_corrupt),
        cmocka_unit_test(test_mutations),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
