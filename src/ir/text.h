/*
 * text.h — internals of the text format (docs/text-format.md), shared by
 * the printer (print.c) and the parser (parse.c, text_*.c).  Numbers are
 * formatted and scanned by one pair of functions so that every printed
 * value parses back to the same bits.
 */
#ifndef KILN_IR_TEXT_H
#define KILN_IR_TEXT_H

#include "ir.h"

/* Limits of the parser, documented in docs/text-format.md.  They bound
 * what a hostile file can make kiln allocate; graphs built through the C
 * API may exceed them and then print text the parser refuses. */
#define TEXT_MAX_LINE ((size_t)16 << 20)           /* bytes per line      */
#define TEXT_MAX_CONST ((int64_t)1 << 24)           /* elements per const  */
#define TEXT_MAX_CONST_TOTAL ((int64_t)1 << 26)     /* const elements/file */
#define TEXT_MAX_INPUTS 1024                        /* inputs of one node  */
#define TEXT_MAX_TOKEN 400                          /* bytes of a number   */
#define TEXT_NUM_BUF 48                             /* formatted number    */

/* ---- text_num.c: numbers ------------------------------------------- */

/* Shortest decimal that scans back (text_scan_float) to exactly v; nan,
 * inf and -inf spelled so.  buf holds TEXT_NUM_BUF bytes. */
void text_fmt_f64(double v, char *buf);
void text_fmt_f32(float v, char *buf);

typedef enum text_num {
    TEXT_NUM_OK,
    TEXT_NUM_BAD,  /* not a number of the expected form */
    TEXT_NUM_RANGE /* well formed but too large for the target */
} text_num;

/* [+-]? (digits [. digits] | . digits) ([eE] [+-]? digits)?, or
 * [+-]? (inf | nan).  RANGE when a finite literal overflows a double. */
text_num text_scan_float(const char *s, size_t n, double *out);
/* [+-]? digits, within int64. */
text_num text_scan_int(const char *s, size_t n, int64_t *out);

/* ---- text_lex.c: lines and tokens ---------------------------------- */

typedef enum text_tok_kind {
    TOK_END,    /* end of line or start of a comment */
    TOK_VALUE,  /* %name or %N, the '%' included        */
    TOK_IDENT,  /* [A-Za-z_][A-Za-z0-9_.]*            */
    TOK_NUMBER, /* starts with a digit, sign or '.'   */
    TOK_PUNCT   /* one of = , : [ ] { } ( )           */
} text_tok_kind;

typedef struct text_tok {
    text_tok_kind kind;
    size_t pos; /* byte offset of the first character in the input */
    size_t len;
} text_tok;

/* One SSA name -> node index entry; keys are %name slices of the input. */
typedef struct text_sym {
    size_t pos, len;
    uint32_t node;
    uint32_t line; /* where it was defined, for messages */
} text_sym;

typedef struct text_parser {
    kiln_graph *g;
    const char *src;
    size_t len;
    size_t pos;        /* cursor, inside the current line */
    size_t line_start; /* offset of the current line */
    size_t line_end;   /* offset of its '\n' (or len) */
    uint32_t line;     /* 1-based */
    bool failed;
    uint32_t err_line;
    size_t err_col;
    char msg[600];
    text_sym *syms; /* open addressing, cap a power of two */
    uint32_t nsyms, symcap;
    int64_t const_total;
    uint32_t in[TEXT_MAX_INPUTS];
} text_parser;

/* Record the first error at byte offset pos of the current line. */
bool text_fail(text_parser *P, size_t pos, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Check the whole input: UTF-8, no NUL, no over-long line, non-ASCII
 * only inside comments.  Records the first problem. */
bool text_validate(text_parser *P);
/* Move to the line starting at offset `start`. */
void text_begin_line(text_parser *P, size_t start);
/* The next token of the current line; false (error recorded) on a
 * character that starts no token. */
bool text_next(text_parser *P, text_tok *t);
/* Peek without consuming. */
bool text_peek(text_parser *P, text_tok *t);
bool text_is_punct(const text_parser *P, const text_tok *t, char c);
bool text_is_ident(const text_parser *P, const text_tok *t, const char *word);
/* Consume punctuation c or fail with "expected 'c' <context>". */
bool text_expect(text_parser *P, char c, const char *context);
/* Describe a token for messages: "'foo'" or "end of line". */
const char *text_describe(const text_parser *P, const text_tok *t, char *buf,
                          size_t len);

/* ---- text_sym.c: SSA names ------------------------------------------ */
/* IR_NONE when not defined. */
uint32_t text_sym_find(const text_parser *P, size_t pos, size_t len,
                       uint32_t *line);
bool text_sym_add(text_parser *P, size_t pos, size_t len, uint32_t node);
void text_sym_free(text_parser *P);

/* ---- text_type.c: types, literals and lists ------------------------- */
bool text_parse_type(text_parser *P, ir_type *t);
/* An integer that fits [lo, hi]. */
bool text_parse_int(text_parser *P, int64_t lo, int64_t hi, int64_t *out);
bool text_parse_double(text_parser *P, double *out);
/* '[' int (',' int)* ']' or '[]', at most KILN_MAX_RANK entries. */
bool text_parse_int_list(text_parser *P, int64_t *v, int *n);
/* A literal of dtype t stored at element i of data (typed bytes). */
bool text_parse_literal(text_parser *P, kiln_dtype t, void *data, int64_t i);

/* ---- text_leaf.c / text_attr.c -------------------------------------- */
/* After "input"/"param"/"const": the rest of the line, into proto
 * (proto->data is allocated for const and owned by proto on success). */
bool text_parse_leaf(text_parser *P, ir_node *proto);
/* The optional {...} block of an op with inputs already in proto. */
bool text_parse_attrs(text_parser *P, ir_node *proto);

#endif
