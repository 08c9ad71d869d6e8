/* text_num.c — numbers of the text format.  The printer picks the
 * shortest decimal that text_scan_float maps back to the same value, so
 * print -> parse is exact for every f32 and f64 and the text stays
 * readable (0.1, not 0.100000001). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "text.h"

static bool is_digit(char c) { return c >= '0' && c <= '9'; }

static bool special(double v, char *buf)
{
    if (isnan(v))
        strcpy(buf, "nan");
    else if (isinf(v))
        strcpy(buf, v > 0 ? "inf" : "-inf");
    else
        return false;
    return true;
}

void text_fmt_f64(double v, char *buf)
{
    if (special(v, buf))
        return;
    for (int prec = 1; prec <= 17; prec++) {
        double back;
        snprintf(buf, TEXT_NUM_BUF, "%.*g", prec, v);
        if (text_scan_float(buf, strlen(buf), &back) == TEXT_NUM_OK &&
            back == v)
            return;
    }
}

void text_fmt_f32(float v, char *buf)
{
    if (special(v, buf))
        return;
    for (int prec = 1; prec <= 9; prec++) {
        double back;
        snprintf(buf, TEXT_NUM_BUF, "%.*g", prec, (double)v);
        if (text_scan_float(buf, strlen(buf), &back) == TEXT_NUM_OK &&
            (float)back == v)
            return;
    }
}

/* Is s[0..n) exactly one decimal literal?  (strtod alone would also take
 * hex floats, "infinity" and leading spaces.) */
static bool decimal_form(const char *s, size_t n)
{
    size_t i = 0, digits = 0;
    if (i < n && (s[i] == '+' || s[i] == '-'))
        i++;
    while (i < n && is_digit(s[i]))
        i++, digits++;
    if (i < n && s[i] == '.') {
        i++;
        while (i < n && is_digit(s[i]))
            i++, digits++;
    }
    if (digits == 0)
        return false;
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        size_t exp_digits = 0;
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-'))
            i++;
        while (i < n && is_digit(s[i]))
            i++, exp_digits++;
        if (exp_digits == 0)
            return false;
    }
    return i == n;
}

static bool word_is(const char *s, size_t n, const char *w)
{
    return strlen(w) == n && memcmp(s, w, n) == 0;
}

text_num text_scan_float(const char *s, size_t n, double *out)
{
    if (word_is(s, n, "nan")) {
        *out = NAN;
        return TEXT_NUM_OK;
    }
    if (word_is(s, n, "inf") || word_is(s, n, "+inf") ||
        word_is(s, n, "-inf")) {
        *out = s[0] == '-' ? -INFINITY : INFINITY;
        return TEXT_NUM_OK;
    }
    if (n == 0 || n > TEXT_MAX_TOKEN || !decimal_form(s, n))
        return TEXT_NUM_BAD;
    char buf[TEXT_MAX_TOKEN + 1];
    memcpy(buf, s, n);
    buf[n] = 0;
    errno = 0;
    double v = strtod(buf, NULL);
    if (errno == ERANGE && isinf(v))
        return TEXT_NUM_RANGE;
    *out = v;
    return TEXT_NUM_OK;
}

text_num text_scan_int(const char *s, size_t n, int64_t *out)
{
    size_t i = 0;
    bool neg = false;
    if (i < n && (s[i] == '+' || s[i] == '-'))
        neg = s[i++] == '-';
    if (i == n)
        return TEXT_NUM_BAD;
    /* Accumulate negatively so INT64_MIN fits. */
    int64_t v = 0;
    for (; i < n; i++) {
        if (!is_digit(s[i]))
            return TEXT_NUM_BAD;
        int d = s[i] - '0';
        if (v < (INT64_MIN + d) / 10)
            return TEXT_NUM_RANGE;
        v = v * 10 - d;
    }
    if (!neg && v == INT64_MIN)
        return TEXT_NUM_RANGE;
    *out = neg ? v : -v;
    return TEXT_NUM_OK;
}
