/* ophelp.c — the group runner, graph running and value checks shared by
 * the op tests (see ophelp.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ophelp.h"

/* ---- the group runner ---------------------------------------------- */

static void run_case(void **state)
{
    oh_t *t = *state;
    t->c->fn(t);
    if (t->c->op != OH_NO_OP && !t->seen[t->c->op]) {
        print_error("case '%s' is filed under op '%s' but never evaluated "
                    "a graph containing it\n",
                    t->c->name, ir_ops[t->c->op].name);
        fail();
    }
}

int oh_run_group(const char *group, const oh_case *cases)
{
    size_t n = 0;
    while (cases[n].name)
        n++;
    struct CMUnitTest *tests = calloc(n ? n : 1, sizeof *tests);
    oh_t *recs = calloc(n ? n : 1, sizeof *recs);
    if (!tests || !recs) {
        free(tests);
        free(recs);
        fprintf(stderr, "%s: out of memory\n", group);
        return 1;
    }
    for (size_t i = 0; i < n; i++) {
        recs[i].c = &cases[i];
        tests[i].name = cases[i].name;
        tests[i].test_func = run_case;
        tests[i].initial_state = &recs[i];
    }
    int failures = _cmocka_run_group_tests(group, tests, n, NULL, NULL);
    free(tests);
    free(recs);
    return failures;
}

/* ---- building and running ------------------------------------------ */

void oh_begin(oh_ctx *c, oh_t *t)
{
    memset(c, 0, sizeof *c);
    c->t = t;
    c->g = kiln_graph_new();
    assert_non_null(c->g);
}

void oh_end(oh_ctx *c)
{
    for (int i = 0; i < c->nfeeds; i++)
        free(c->feed[i].bytes);
    kiln_graph_free(c->g);
    memset(c, 0, sizeof *c);
}

void oh_graph_ok(oh_ctx *c)
{
    if (kiln_graph_status(c->g) != KILN_OK) {
        print_error("graph error: %s\n", kiln_graph_error(c->g));
        fail();
    }
}

static void store(kiln_dtype t, void *bytes, int64_t i, double v)
{
    switch (t) {
    case KILN_F32: ((float *)bytes)[i] = (float)v; break;
    case KILN_F64: ((double *)bytes)[i] = v; break;
    case KILN_I32:
        assert_true(v == trunc(v) && v >= INT32_MIN && v <= INT32_MAX);
        ((int32_t *)bytes)[i] = (int32_t)v;
        break;
    case KILN_BOOL: ((uint8_t *)bytes)[i] = v != 0; break;
    default: fail_msg("bad dtype %d", (int)t);
    }
}

static double load(kiln_dtype t, const void *bytes, int64_t i)
{
    switch (t) {
    case KILN_F32: return ((const float *)bytes)[i];
    case KILN_F64: return ((const double *)bytes)[i];
    case KILN_I32: return ((const int32_t *)bytes)[i];
    case KILN_BOOL: {
        uint8_t b = ((const uint8_t *)bytes)[i];
        assert_true(b <= 1); /* bool outputs are exactly 0 or 1 */
        return b;
    }
    default: fail_msg("bad dtype %d", (int)t);
    }
    return 0;
}

kiln_node oh_in(oh_ctx *c, kiln_dtype t, int rank, const int64_t *dims,
                const double *vals)
{
    assert_true(c->nfeeds < OH_MAX_FEEDS);
    oh_feed *f = &c->feed[c->nfeeds];
    snprintf(f->name, sizeof f->name, "x%d", c->nfeeds);
    int64_t n = oh_numel(rank, dims);
    f->nbytes = (size_t)n * kiln_dtype_size(t);
    f->bytes = malloc(f->nbytes ? f->nbytes : 1);
    assert_non_null(f->bytes);
    c->nfeeds++;
    for (int64_t i = 0; i < n; i++)
        store(t, f->bytes, i, vals[i]);
    kiln_node x = kiln_input(c->g, f->name, t, rank, dims);
    oh_graph_ok(c);
    return x;
}

static void record_ops(oh_ctx *c)
{
    for (uint32_t i = 0; i < c->g->count; i++)
        c->t->seen[c->g->nodes[i].op] = true;
}

kiln_program *oh_compile(oh_ctx *c)
{
    oh_graph_ok(c);
    kiln_program *p = kiln_compile(c->g, NULL);
    if (!p)
        oh_graph_ok(c);
    assert_non_null(p);
    record_ops(c);
    for (int i = 0; i < c->nfeeds; i++)
        assert_int_equal(kiln_set_input(p, c->feed[i].name, c->feed[i].bytes,
                                        c->feed[i].nbytes),
                         KILN_OK);
    return p;
}

static kiln_program *compile_with_output(oh_ctx *c, kiln_node y)
{
    char name[16];
    snprintf(name, sizeof name, "out%d", c->nout++);
    oh_graph_ok(c);
    if (kiln_output(c->g, name, y) != KILN_OK)
        oh_graph_ok(c);
    return oh_compile(c);
}

kiln_status oh_try_eval(oh_ctx *c, kiln_node y, double *out, int64_t n,
                        char *msg, size_t msglen)
{
    kiln_program *p = compile_with_output(c, y);
    kiln_dtype t = kiln_node_dtype(c->g, y);
    assert_int_equal(kiln_node_numel(c->g, y), n);
    kiln_status s = kiln_run(p);
    if (msg && msglen)
        snprintf(msg, msglen, "%s", kiln_program_error(p));
    if (s == KILN_OK) {
        size_t nbytes = (size_t)n * kiln_dtype_size(t);
        void *bytes = malloc(nbytes ? nbytes : 1);
        assert_non_null(bytes);
        char name[16];
        snprintf(name, sizeof name, "out%d", c->nout - 1);
        s = kiln_get_output(p, name, bytes, nbytes);
        for (int64_t i = 0; s == KILN_OK && i < n; i++)
            out[i] = load(t, bytes, i);
        free(bytes);
    }
    kiln_program_free(p);
    return s;
}

void oh_eval(oh_ctx *c, kiln_node y, double *out, int64_t n)
{
    char msg[512];
    kiln_status s = oh_try_eval(c, y, out, n, msg, sizeof msg);
    if (s != KILN_OK) {
        print_error("run failed (%s): %s\n", kiln_status_string(s), msg);
        fail();
    }
}

/* ---- values -------------------------------------------------------- */

double oh_as(kiln_dtype t, double v)
{
    switch (t) {
    case KILN_F32: return (float)v;
    case KILN_BOOL: return v != 0;
    default: return v;
    }
}

double oh_uniform(uint64_t *state, double lo, double hi)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    return lo + (hi - lo) * ((double)(z >> 11) * 0x1p-53);
}

void oh_fill(uint64_t *state, kiln_dtype t, double lo, double hi, double *v,
             int64_t n)
{
    for (int64_t i = 0; i < n; i++) {
        double x = oh_uniform(state, lo, hi);
        if (t == KILN_BOOL)
            v[i] = x < (lo + hi) / 2 ? 0 : 1;
        else
            v[i] = t == KILN_I32 ? floor(x) : oh_as(t, x);
    }
}

static bool close_enough(double got, double want, double rtol, double atol)
{
    if (isnan(want) || isnan(got))
        return isnan(want) && isnan(got);
    if (isinf(want) || isinf(got))
        return got == want;
    return fabs(got - want) <= rtol * fabs(want) + atol;
}

void oh_check(const char *what, const double *got, const double *want,
              int64_t n, double rtol, double atol)
{
    for (int64_t i = 0; i < n; i++)
        if (!close_enough(got[i], want[i], rtol, atol)) {
            print_error("%s: element %lld: got %.17g, want %.17g "
                        "(rtol %g, atol %g)\n",
                        what, (long long)i, got[i], want[i], rtol, atol);
            fail();
        }
}

void oh_check_exact(const char *what, const double *got, const double *want,
                    int64_t n)
{
    oh_check(what, got, want, n, 0, 0);
}

int64_t oh_numel(int rank, const int64_t *dims)
{
    int64_t n = 1;
    for (int i = 0; i < rank; i++)
        n *= dims[i];
    return n;
}

void oh_unflatten(int rank, const int64_t *dims, int64_t i, int64_t *idx)
{
    for (int d = rank - 1; d >= 0; d--) {
        idx[d] = i % dims[d];
        i /= dims[d];
    }
}

int64_t oh_flatten(int rank, const int64_t *dims, const int64_t *idx)
{
    int64_t off = 0;
    for (int d = 0; d < rank; d++)
        off = off * dims[d] + idx[d];
    return off;
}

int64_t oh_bcast_index(int xr, const int64_t *xd, int or_,
                       const int64_t *idx)
{
    int64_t off = 0;
    for (int j = 0; j < xr; j++) {
        int64_t i = xd[j] == 1 ? 0 : idx[j + or_ - xr];
        off = off * xd[j] + i;
    }
    return off;
}

/* ---- Philox ---------------------------------------------------------- */

/* Written from the paper's definition, with the key schedule computed
 * per round (key + r * W) rather than bumped, so it shares no code or
 * structure with src/ir/philox.c. */
void oh_philox(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4])
{
    const uint32_t m0 = 0xD2511F53u, m1 = 0xCD9E8D57u;
    const uint32_t w0 = 0x9E3779B9u, w1 = 0xBB67AE85u;
    uint32_t x[4] = {ctr[0], ctr[1], ctr[2], ctr[3]};
    for (uint32_t r = 0; r < 10; r++) {
        uint32_t k0 = key[0] + r * w0, k1 = key[1] + r * w1;
        uint64_t p0 = (uint64_t)m0 * x[0], p1 = (uint64_t)m1 * x[2];
        uint32_t y[4] = {(uint32_t)(p1 >> 32) ^ x[1] ^ k0, (uint32_t)p1,
                         (uint32_t)(p0 >> 32) ^ x[3] ^ k1, (uint32_t)p0};
        memcpy(x, y, sizeof x);
    }
    memcpy(out, x, sizeof x);
}

uint32_t oh_stream_word(uint32_t seed, uint32_t offset, uint64_t e)
{
    uint64_t block = e / 4;
    uint32_t ctr[4] = {(uint32_t)(block & 0xffffffffu),
                       (uint32_t)(block >> 32), offset, 0};
    uint32_t key[2] = {seed, 0}, out[4];
    oh_philox(ctr, key, out);
    return out[e % 4];
}

int32_t oh_wrap(int64_t v)
{
    uint32_t u = (uint32_t)((uint64_t)v & 0xffffffffu);
    return u <= INT32_MAX ? (int32_t)u : (int32_t)(u - 0x80000000u) + INT32_MIN;
}
