/* sqlsplit.c: the SQL lexer that splits text into statements, for drivers
 * that must send statements one at a time or need to know where each one
 * starts. It understands '' strings (with E'' backslash escapes), "" and ``
 * identifiers, -- and nested block comments, $$ / $tag$ dollar quotes, and
 * the BEGIN ... END body of a CREATE TRIGGER (SQLite, MySQL), so a ';'
 * inside any of them never splits. */
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "internal.h"

typedef struct lexer {
    const char *sql;
    const char *p;
    pm_error *err;
} lexer;

static void position(const lexer *lx, const char *at, int *line, int *column)
{
    *line = 1;
    *column = 1;
    for (const char *q = lx->sql; q < at; q++) {
        if (*q == '\n') {
            (*line)++;
            *column = 1;
        } else {
            (*column)++;
        }
    }
}

static int unterminated(lexer *lx, const char *start, const char *what)
{
    int line, column;
    position(lx, start, &line, &column);
    return pm_error_set(lx->err, PM_EINVAL, "unterminated %s starting at line %d, column %d", what,
                        line, column);
}

static int is_ident_char(char c)
{
    return isalnum((unsigned char)c) || c == '_' || (unsigned char)c >= 0x80;
}

/* Skips a quoted run that starts at lx->p (the opening quote). doubled: a
 * doubled quote is an escaped quote; backslash: \x escapes any x. */
static int skip_quoted(lexer *lx, char quote, int backslash, const char *what)
{
    const char *start = lx->p++;
    for (; *lx->p; lx->p++) {
        if (backslash && *lx->p == '\\' && lx->p[1]) {
            lx->p++;
        } else if (*lx->p == quote) {
            if (lx->p[1] == quote) {
                lx->p++;
                continue;
            }
            lx->p++;
            return 0;
        }
    }
    return unterminated(lx, start, what);
}

static int skip_block_comment(lexer *lx)
{
    const char *start = lx->p;
    int depth = 0;
    while (*lx->p) {
        if (lx->p[0] == '/' && lx->p[1] == '*') {
            depth++;
            lx->p += 2;
        } else if (lx->p[0] == '*' && lx->p[1] == '/') {
            lx->p += 2;
            if (--depth == 0)
                return 0;
        } else {
            lx->p++;
        }
    }
    return unterminated(lx, start, "comment");
}

/* The length of the $tag$ opening at p, or 0 when p is not a dollar quote
 * ($1 is a parameter, not a quote). */
static size_t dollar_tag_length(const char *p)
{
    size_t n = 1;
    if (isdigit((unsigned char)p[1]))
        return 0;
    while (is_ident_char(p[n]))
        n++;
    return p[n] == '$' ? n + 1 : 0;
}

static int skip_dollar_quoted(lexer *lx, size_t tag_len)
{
    const char *start = lx->p;
    const char *body = lx->p + tag_len;
    for (const char *q = body; *q; q++) {
        if (*q == '$' && strncmp(q, start, tag_len) == 0) {
            lx->p = q + tag_len;
            return 0;
        }
    }
    return unterminated(lx, start, "dollar-quoted string");
}

/* Keywords that matter for trigger bodies. */
typedef struct words {
    int count;   /* words seen in this statement */
    int create;  /* its first word is CREATE */
    int trigger; /* ... and TRIGGER followed */
    int depth;   /* open BEGIN/CASE blocks inside the trigger body */
    int skip;    /* ignore the next word (the CASE of END CASE) */
} words;

static int word_is(const char *w, size_t n, const char *kw)
{
    return strlen(kw) == n && strncasecmp(w, kw, n) == 0;
}

/* The word after p (blanks skipped), for END IF / END CASE. */
static size_t next_word(const char *p, const char **w)
{
    while (isspace((unsigned char)*p))
        p++;
    *w = p;
    while (is_ident_char(*p))
        p++;
    return (size_t)(p - *w);
}

static void see_word(words *st, const char *w, size_t n, const char *rest)
{
    if (st->skip) {
        st->skip = 0;
        return;
    }
    if (st->depth && word_is(w, n, "END")) {
        const char *next;
        size_t nn = next_word(rest, &next);
        /* MySQL closes IF, LOOP, WHILE, REPEAT blocks with END <kind>: they
         * were not counted. END CASE closes a counted CASE. */
        if (word_is(next, nn, "IF") || word_is(next, nn, "LOOP") || word_is(next, nn, "WHILE") ||
            word_is(next, nn, "REPEAT"))
            return;
        st->skip = word_is(next, nn, "CASE");
        st->depth--;
        return;
    }
    if (st->count++ == 0)
        st->create = word_is(w, n, "CREATE");
    else if (st->create && !st->trigger && word_is(w, n, "TRIGGER"))
        st->trigger = 1;
    else if (st->trigger && (word_is(w, n, "BEGIN") || (st->depth && word_is(w, n, "CASE"))))
        st->depth++;
}

/* Hands one statement to fn unless it holds only blanks and comments. */
static int emit(lexer *lx, const char *start, const char *end, int has_content,
                pm_sql_statement_fn fn, void *ctx)
{
    while (start < end && isspace((unsigned char)*start))
        start++;
    while (end > start && isspace((unsigned char)end[-1]))
        end--;
    if (!has_content)
        return 0;
    return fn(ctx, start, (size_t)(end - start), (size_t)(start - lx->sql));
}

int pm_sql_split(const char *sql, pm_sql_statement_fn fn, void *ctx, pm_error *err)
{
    return pm_sql_split_flags(sql, 0, fn, ctx, err);
}

int pm_sql_split_flags(const char *sql, unsigned int flags, pm_sql_statement_fn fn, void *ctx,
                       pm_error *err)
{
    bool mysql = (flags & PM_SQL_MYSQL) != 0;
    lexer lx = {sql, sql, err};
    const char *start = sql;
    int has_content = 0, rc = 0;
    words st = {0, 0, 0, 0, 0};
    while (*lx.p && rc == 0) {
        char c = *lx.p;
        size_t tag;
        if ((c == '-' && lx.p[1] == '-') || (mysql && c == '#')) {
            lx.p += strcspn(lx.p, "\n");
            continue;
        }
        if (c == '/' && lx.p[1] == '*') {
            rc = skip_block_comment(&lx);
            continue;
        }
        if (c == ';' && st.depth == 0) {
            rc = emit(&lx, start, lx.p, has_content, fn, ctx);
            start = ++lx.p;
            has_content = 0;
            memset(&st, 0, sizeof(st));
            continue;
        }
        if ((isalpha((unsigned char)c) || c == '_') && (lx.p == sql || !is_ident_char(lx.p[-1]))) {
            const char *w = lx.p;
            while (is_ident_char(*lx.p))
                lx.p++;
            if (!(lx.p - w == 1 && (c == 'E' || c == 'e') && *lx.p == '\'')) { /* E'...' */
                see_word(&st, w, (size_t)(lx.p - w), lx.p);
                has_content = 1;
                continue;
            }
            lx.p = w;
        }
        if (!isspace((unsigned char)c))
            has_content = 1;
        if (c == '\'') {
            int escapes = lx.p > sql && (lx.p[-1] == 'E' || lx.p[-1] == 'e') &&
                          (lx.p - 1 == sql || !is_ident_char(lx.p[-2]));
            rc = skip_quoted(&lx, '\'', escapes || mysql, "string");
        } else if (c == '"') {
            rc = skip_quoted(&lx, '"', mysql, mysql ? "string" : "quoted identifier");
        } else if (c == '`') {
            rc = skip_quoted(&lx, '`', 0, "quoted identifier");
        } else if (c == '$' && (lx.p == sql || !is_ident_char(lx.p[-1])) &&
                   (tag = dollar_tag_length(lx.p)) > 0) {
            rc = skip_dollar_quoted(&lx, tag);
        } else {
            lx.p++;
        }
    }
    if (rc == 0)
        rc = emit(&lx, start, lx.p, has_content, fn, ctx);
    return rc;
}
