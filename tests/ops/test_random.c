/* test_random.c — Philox-4x32-10 known answers, kiln.h's element ->
 * (counter, word) rule, random_uniform and bernoulli against that rule
 * and their statistics, and stream identity by (seed, offset). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "ophelp.h"

/* Random123's kat_vectors for philox4x32_10. */
static const struct {
    uint32_t ctr[4], key[2], out[4];
} kat[] = {
    {{0, 0, 0, 0}, {0, 0},
     {0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u}},
    {{0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu},
     {0xffffffffu, 0xffffffffu},
     {0x408f276du, 0x41c83b0eu, 0xa20bc7c6u, 0x6d5451fdu}},
    {{0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u},
     {0xa4093822u, 0x299f31d0u},
     {0xd16cfe09u, 0x94fdccebu, 0x5001e420u, 0x24126ea1u}},
};

static void philox_known_answers(oh_t *t)
{
    (void)t;
    for (size_t i = 0; i < sizeof kat / sizeof kat[0]; i++) {
        uint32_t out[4], mine[4];
        ir_philox4x32_10(kat[i].ctr, kat[i].key, out);
        oh_philox(kat[i].ctr, kat[i].key, mine);
        for (int w = 0; w < 4; w++) {
            if (out[w] != kat[i].out[w] || mine[w] != kat[i].out[w])
                fail_msg("vector %zu word %d: kiln %08x, test's own %08x, "
                         "published %08x",
                         i, w, out[w], mine[w], kat[i].out[w]);
        }
    }
}

/* Element e uses word e % 4 of Philox(key {seed, 0}, counter {e/4 low,
 * e/4 high, offset, 0}), including indices past 2^34 where the counter's
 * high word is used. */
static void stream_element_mapping(oh_t *t)
{
    (void)t;
    static const uint64_t es[] = {0, 1, 2, 3, 4, 5, 7, 8, 11, 1001,
                                  (1ull << 34) + 5, (1ull << 36) + 2,
                                  0xfffffffffull, 0x123456789abull};
    static const uint32_t seeds[] = {0, 1, 0xdeadbeefu, 0xffffffffu};
    static const uint32_t offsets[] = {0, 7, 0x80000000u};
    for (size_t s = 0; s < 4; s++)
        for (size_t o = 0; o < 3; o++)
            for (size_t i = 0; i < sizeof es / sizeof es[0]; i++) {
                uint64_t e = es[i], block = e / 4;
                uint32_t ctr[4] = {(uint32_t)(block & 0xffffffffu),
                                   (uint32_t)(block >> 32), offsets[o], 0};
                uint32_t key[2] = {seeds[s], 0}, words[4];
                ir_philox4x32_10(ctr, key, words);
                uint32_t got = ir_random_bits(seeds[s], offsets[o], e);
                assert_int_equal(got, words[e % 4]);
                assert_int_equal(got, oh_stream_word(seeds[s], offsets[o], e));
            }
}

/* Build random_uniform(t, shape) from i32 inputs seed and offset and
 * return its values. */
static void uniform(oh_t *t, kiln_dtype dt, int rank, const int64_t *dims,
                    double seed, double offset, double *out)
{
    oh_ctx c;
    oh_begin(&c, t);
    kiln_node s = oh_in(&c, KILN_I32, 0, NULL, &seed);
    kiln_node o = oh_in(&c, KILN_I32, 0, NULL, &offset);
    kiln_node y = kiln_random_uniform(c.g, dt, rank, dims, s, o);
    oh_graph_ok(&c);
    assert_int_equal(kiln_node_dtype(c.g, y), dt);
    oh_eval(&c, y, out, oh_numel(rank, dims));
    oh_end(&c);
}

static void uniform_matches_stream(oh_t *t)
{
    static const struct {
        kiln_dtype t;
        int rank;
        int64_t dims[3];
        double seed, offset;
    } rows[] = {
        {KILN_F32, 1, {10}, 42, 0},
        {KILN_F64, 3, {3, 1, 5}, -1, 9},
        {KILN_F32, 0, {0}, 7, -2147483648.0},
        {KILN_F64, 2, {17, 7}, 2147483647.0, 1},
    };
    for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++) {
        int64_t n = oh_numel(rows[r].rank, rows[r].dims);
        double got[128], want[128];
        for (int64_t e = 0; e < n; e++)
            want[e] = (double)(oh_stream_word((uint32_t)(int32_t)rows[r].seed,
                                              (uint32_t)(int32_t)rows[r].offset,
                                              (uint64_t)e) >>
                               8) /
                      16777216.0;
        uniform(t, rows[r].t, rows[r].rank, rows[r].dims, rows[r].seed,
                rows[r].offset, got);
        char what[32];
        snprintf(what, sizeof what, "uniform row %zu", r);
        oh_check_exact(what, got, want, n);
    }
}

/* 1e5 draws: the mean of U[0,1) has sd sqrt(1/12 / 1e5) = 9.1e-4 and the
 * sample variance sd sqrt((1/80 - 1/144) / 1e5) = 2.4e-4; each of 10
 * histogram bins holds 1e4 +- 95.  The bounds are 5 sd: a false failure
 * has probability below 1e-6 (and the data are fixed by the seed). */
static void uniform_statistics(oh_t *t)
{
    enum { N = 100000 };
    const int64_t n = N;
    double *x = malloc(N * sizeof *x);
    assert_non_null(x);
    for (int k = 0; k < 2; k++) {
        uniform(t, k ? KILN_F64 : KILN_F32, 1, &n, 2024 + k, 3, x);
        double sum = 0, sq = 0, lo = 1, hi = 0;
        int64_t bins[10] = {0};
        for (int64_t i = 0; i < N; i++) {
            sum += x[i];
            lo = fmin(lo, x[i]);
            hi = fmax(hi, x[i]);
            bins[(int)(x[i] * 10)]++;
        }
        double mean = sum / N;
        for (int64_t i = 0; i < N; i++)
            sq += (x[i] - mean) * (x[i] - mean);
        double var = sq / (N - 1);
        assert_true(lo >= 0 && hi < 1);
        if (fabs(mean - 0.5) > 5 * 9.13e-4 ||
            fabs(var - 1.0 / 12) > 5 * 2.36e-4)
            fail_msg("mean %g var %g", mean, var);
        for (int b = 0; b < 10; b++)
            if (llabs(bins[b] - 10000) > 5 * 95)
                fail_msg("bin %d holds %lld", b, (long long)bins[b]);
    }
    free(x);
}

static void bernoulli(oh_t *t, double p, int rank, const int64_t *dims,
                      double seed, double offset, double *out)
{
    oh_ctx c;
    oh_begin(&c, t);
    kiln_node y = kiln_bernoulli(c.g, p, rank, dims,
                                 oh_in(&c, KILN_I32, 0, NULL, &seed),
                                 oh_in(&c, KILN_I32, 0, NULL, &offset));
    oh_graph_ok(&c);
    assert_int_equal(kiln_node_dtype(c.g, y), KILN_BOOL);
    oh_eval(&c, y, out, oh_numel(rank, dims));
    oh_end(&c);
}

/* true iff (word >> 8) < floor(p * 2^24). */
static void bernoulli_matches_rule(oh_t *t)
{
    static const double ps[] = {0, 1, 0.3, 0.5, 1.0 / 3, 0x1p-24, 1 - 0x1p-24};
    const int64_t dims[2] = {7, 17};
    double got[119], want[119];
    for (size_t i = 0; i < sizeof ps / sizeof ps[0]; i++) {
        uint32_t threshold = (uint32_t)floor(ps[i] * 16777216.0);
        for (int64_t e = 0; e < 119; e++)
            want[e] = (oh_stream_word(99, 5, (uint64_t)e) >> 8) < threshold;
        bernoulli(t, ps[i], 2, dims, 99, 5, got);
        char what[32];
        snprintf(what, sizeof what, "bernoulli p=%g", ps[i]);
        oh_check_exact(what, got, want, 119);
        if (ps[i] == 0 || ps[i] == 1)
            for (int e = 0; e < 119; e++)
                assert_true(got[e] == ps[i]);
    }
}

/* The threshold itself, where a graph would need ~2^24 draws to see an
 * off-by-one: floor(p * 2^24), by hand. */
static void bernoulli_threshold_values(oh_t *t)
{
    (void)t;
    static const struct {
        double p;
        uint32_t want;
    } rows[] = {
        {0, 0},           {1, 16777216},    {0.5, 8388608},
        {0.3, 5033164},   {0.7, 11744051},  {0x1p-24, 1},
        {0x1p-25, 0},     {1 - 0x1p-24, 16777215},
        {0.999999999, 16777215},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        if (ir_bernoulli_threshold(rows[i].p) != rows[i].want)
            fail_msg("p %.17g: threshold %u, want %u", rows[i].p,
                     ir_bernoulli_threshold(rows[i].p), rows[i].want);
}

/* 1e5 draws: the kept fraction has sd sqrt(p(1-p)/1e5); 5 sd bounds. */
static void bernoulli_rate(oh_t *t)
{
    enum { N = 100000 };
    static const double ps[] = {0.3, 0.9, 0.01};
    const int64_t n = N;
    double *x = malloc(N * sizeof *x);
    assert_non_null(x);
    for (size_t i = 0; i < 3; i++) {
        bernoulli(t, ps[i], 1, &n, 11, (double)i, x);
        double sum = 0;
        for (int64_t e = 0; e < N; e++)
            sum += x[e];
        double rate = sum / N, sd = sqrt(ps[i] * (1 - ps[i]) / N);
        if (fabs(rate - ps[i]) > 5 * sd)
            fail_msg("p %g: rate %g", ps[i], rate);
    }
    free(x);
}

static int64_t count_equal(const double *a, const double *b, int64_t n)
{
    int64_t k = 0;
    for (int64_t i = 0; i < n; i++)
        k += a[i] == b[i];
    return k;
}

/* Same (seed, offset): the same values, in another program and on a
 * second run.  Another seed or offset: a different stream (two streams
 * agree on an f64 value with probability 2^-24, so of 1000 at most a
 * handful may coincide). */
static void streams_by_seed_and_offset(oh_t *t)
{
    const int64_t n = 1000;
    double base[1000], again[1000], other[1000];
    uniform(t, KILN_F64, 1, &n, 5, 6, base);
    uniform(t, KILN_F64, 1, &n, 5, 6, again);
    assert_int_equal(count_equal(base, again, n), n);
    uniform(t, KILN_F64, 1, &n, 5, 7, other);
    assert_true(count_equal(base, other, n) < 5);
    uniform(t, KILN_F64, 1, &n, 6, 6, other);
    assert_true(count_equal(base, other, n) < 5);
    uniform(t, KILN_F64, 1, &n, -5, 6, other);
    assert_true(count_equal(base, other, n) < 5);

    /* a program run twice with the same inputs repeats itself */
    oh_ctx c;
    double seed = 5, offset = 6;
    oh_begin(&c, t);
    kiln_node y = kiln_random_uniform(c.g, KILN_F64, 1, &n,
                                      oh_in(&c, KILN_I32, 0, NULL, &seed),
                                      oh_in(&c, KILN_I32, 0, NULL, &offset));
    assert_int_equal(kiln_output(c.g, "u", y), KILN_OK);
    kiln_program *p = oh_compile(&c);
    for (int run = 0; run < 2; run++) {
        assert_int_equal(kiln_run(p), KILN_OK);
        assert_int_equal(kiln_get_output(p, "u", again, sizeof again), KILN_OK);
        assert_int_equal(count_equal(base, again, n), n);
    }
    kiln_program_free(p);
    oh_end(&c);
}

const oh_case oh_cases_random[] = {
    {"philox_known_answers", OH_NO_OP, philox_known_answers},
    {"stream_element_mapping", OH_NO_OP, stream_element_mapping},
    {"uniform_matches_stream", IR_OP_RANDOM_UNIFORM, uniform_matches_stream},
    {"uniform_statistics", IR_OP_RANDOM_UNIFORM, uniform_statistics},
    {"bernoulli_matches_rule", IR_OP_BERNOULLI, bernoulli_matches_rule},
    {"bernoulli_threshold_values", OH_NO_OP, bernoulli_threshold_values},
    {"bernoulli_rate", IR_OP_BERNOULLI, bernoulli_rate},
    {"streams_by_seed_and_offset", IR_OP_RANDOM_UNIFORM,
     streams_by_seed_and_offset},
    {NULL, 0, NULL},
};
