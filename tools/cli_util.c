/* cli_util.c — messages, option parsing, files and graph loading for the
 * commands. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

int cli_fail(int code, const char *cmd, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "kiln%s%s: ", cmd ? " " : "", cmd ? cmd : "");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return code;
}

int cli_usage(const char *cmd, const char *usage, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "kiln %s: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nusage: %s\n", usage);
    return CLI_USAGE;
}

int cli_is_help(const char *arg)
{
    return strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0;
}

const char *cli_option(const char *opt, int argc, char **argv, int *i,
                       int *missing)
{
    size_t n = strlen(opt);
    if (strncmp(argv[*i], opt, n) != 0)
        return NULL;
    if (argv[*i][n] == '=')
        return argv[*i] + n + 1;
    if (argv[*i][n] != 0)
        return NULL;
    if (*i + 1 >= argc) {
        *missing = 1;
        return NULL;
    }
    return argv[++*i];
}

bool cli_parse_u64(const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (!*s || *end || errno || s[0] < '0' || s[0] > '9')
        return false;
    *out = v;
    return true;
}

bool cli_parse_int(const char *s, int lo, int hi, int *out)
{
    uint64_t v;
    if (!cli_parse_u64(s, &v) || v < (uint64_t)lo || v > (uint64_t)hi)
        return false;
    *out = (int)v;
    return true;
}

bool cli_parse_backend(const char *s, kiln_backend *out)
{
    static const struct {
        const char *name;
        kiln_backend b;
    } names[] = {{"ref", KILN_BACKEND_REF},
                 {"cpu", KILN_BACKEND_CPU},
                 {"cuda", KILN_BACKEND_CUDA}};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(s, names[i].name) == 0) {
            *out = names[i].b;
            return true;
        }
    return false;
}

static char *read_stream(FILE *f, size_t *len)
{
    size_t cap = 1 << 16, n = 0, got;
    char *buf = malloc(cap);
    while (buf && (got = fread(buf + n, 1, cap - n - 1, f)) > 0) {
        n += got;
        if (n + 1 == cap) {
            char *bigger = realloc(buf, cap * 2);
            if (!bigger) {
                free(buf);
                return NULL;
            }
            buf = bigger;
            cap *= 2;
        }
    }
    if (buf)
        buf[n] = 0;
    *len = n;
    return buf;
}

char *cli_read_file(const char *cmd, const char *path, size_t *len)
{
    int is_stdin = strcmp(path, "-") == 0;
    FILE *f = is_stdin ? stdin : fopen(path, "rb");
    if (!f) {
        cli_fail(CLI_USER, cmd, "cannot open %s: %s", path, strerror(errno));
        return NULL;
    }
    char *buf = read_stream(f, len);
    int bad = ferror(f);
    if (!is_stdin)
        fclose(f);
    if (!buf || bad) {
        free(buf);
        cli_fail(CLI_USER, cmd, "cannot read %s: %s", path,
                 buf ? "read error" : "out of memory");
        return NULL;
    }
    return buf;
}

kiln_graph *cli_load_graph(const char *cmd, const char *path)
{
    size_t len;
    char *text = cli_read_file(cmd, path, &len);
    if (!text)
        return NULL;
    char err[1024];
    kiln_graph *g = kiln_parse(text, len, strcmp(path, "-") ? path : "<stdin>",
                               NULL, err, sizeof err);
    free(text);
    if (!g)
        fprintf(stderr, "%s\n", err);
    return g;
}

const char *cli_one_file(const char *cmd, const char *usage, int argc,
                         char **argv)
{
    const char *file = NULL;
    for (int i = 0; i < argc; i++) {
        if (argv[i][0] == '-' && argv[i][1] != 0) {
            cli_fail(CLI_USAGE, cmd, "unknown option '%s'\nusage: %s",
                     argv[i], usage);
            return NULL;
        }
        if (file) {
            cli_fail(CLI_USAGE, cmd, "more than one FILE ('%s' and '%s')\n"
                                     "usage: %s",
                     file, argv[i], usage);
            return NULL;
        }
        file = argv[i];
    }
    if (!file)
        cli_fail(CLI_USAGE, cmd, "missing FILE\nusage: %s", usage);
    return file;
}

int cli_write_text(const char *cmd, const char *path, const char *text)
{
    int is_stdout = strcmp(path, "-") == 0;
    FILE *f = is_stdout ? stdout : fopen(path, "w");
    if (!f)
        return cli_fail(CLI_USER, cmd, "cannot write %s: %s", path,
                        strerror(errno));
    int bad = fputs(text, f) == EOF;
    bad |= is_stdout ? fflush(f) != 0 : fclose(f) != 0;
    return bad ? cli_fail(CLI_USER, cmd, "cannot write %s", path) : CLI_OK;
}
