/* sqlsplit.c: the SQL lexer that splits text into statements, for drivers
 * that must send statements one at a time or need to know where each one
 * starts. It understands '' strings (with E'' backslash escapes), "" and ``
 * identifiers, -- and nested block comments, $$ / $tag$ dollar quotes, and
 * the BEGIN ... END body of a CREATE TRIGGER (SQLite), so a ';' inside any of
 * them never splits. Under MySQL's rules it also keeps whole the compound
 * body of a stored program (CREATE PROCEDURE, FUNCTION, TRIGGER, EVENT) and
 * follows the mysql client's DELIMITER lines. */
#include <ctype.h>
#include <stdio.h>
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

/* ==== Compound bodies ==== */

/* The blocks of a MySQL stored program's body, innermost last. A CASE at the
 * start of a statement is a CASE statement; elsewhere it is an expression,
 * whose THEN and ELSE are followed by expressions, not statements. */
enum block_kind { B_BEGIN, B_CASE_STMT, B_CASE_EXPR, B_IF, B_LOOP, B_WHILE, B_REPEAT };
#define MAX_KINDS 64 /* deeper blocks are remembered as BEGIN blocks */

/* Keywords that matter for compound bodies. */
typedef struct words {
    int count;   /* words seen in this statement */
    int create;  /* its first word is CREATE */
    int trigger; /* ... and TRIGGER followed (rules other than MySQL's) */
    int depth;   /* open blocks inside the body */
    int skip;    /* words to ignore (the CASE of END CASE, NOT ATOMIC) */
    /* MySQL's rules */
    int header;   /* still reading CREATE [OR REPLACE] [DEFINER = u] ... */
    int definer;  /* words of the DEFINER's value read so far, plus one */
    int program;  /* a stored program: the blocks of its body are counted */
    int at_start; /* the next word starts a statement of the body */
    unsigned char kinds[MAX_KINDS];
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

/* SQLite's CREATE TRIGGER ... BEGIN ... END (and MySQL's, before the MySQL
 * rules knew stored programs): BEGIN and CASE are counted. */
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

static int kind_of_end(const char *w, size_t n)
{
    if (word_is(w, n, "IF"))
        return B_IF;
    if (word_is(w, n, "CASE"))
        return B_CASE_STMT;
    if (word_is(w, n, "LOOP"))
        return B_LOOP;
    if (word_is(w, n, "WHILE"))
        return B_WHILE;
    if (word_is(w, n, "REPEAT"))
        return B_REPEAT;
    return -1;
}

static int innermost(const words *st)
{
    return st->depth > MAX_KINDS ? B_BEGIN : st->kinds[st->depth - 1];
}

static void open_block(words *st, int kind)
{
    if (st->depth < MAX_KINDS)
        st->kinds[st->depth] = (unsigned char)kind;
    st->depth++;
}

/* END, END <label>, END IF, END CASE, END LOOP ...: closes the innermost
 * block. END IF inside a BEGIN block closes an IF that was not counted (one
 * that did not start a statement as far as this lexer saw): it is skipped,
 * as the rules other than MySQL's always did. */
static void see_end(words *st, const char *rest)
{
    const char *next;
    size_t nn = next_word(rest, &next);
    int kind = kind_of_end(next, nn);
    if (kind < 0) {
        st->depth--;
        return;
    }
    st->skip = 1;
    int open = innermost(st);
    if (open == kind || (kind == B_CASE_STMT && open == B_CASE_EXPR))
        st->depth--;
}

/* CREATE [OR REPLACE] [DEFINER = user] [AGGREGATE] PROCEDURE | FUNCTION |
 * TRIGGER | EVENT: the words before the kind of program. */
static void see_header_word(words *st, const char *w, size_t n)
{
    if (word_is(w, n, "PROCEDURE") || word_is(w, n, "FUNCTION") || word_is(w, n, "TRIGGER") ||
        word_is(w, n, "EVENT")) {
        st->program = 1;
        st->header = 0;
    } else if (word_is(w, n, "DEFINER")) {
        st->definer = 1;
    } else if (!word_is(w, n, "OR") && !word_is(w, n, "REPLACE") && !word_is(w, n, "AGGREGATE") &&
               !(st->definer && st->definer++ <= 2)) { /* user, host, CURRENT_USER */
        st->header = 0;
    }
}

/* The first word of a statement under MySQL's rules. MariaDB's BEGIN NOT
 * ATOMIC ... END is a compound statement of its own; BEGIN alone, BEGIN;
 * and BEGIN WORK start a transaction. */
static void see_first_mysql_word(words *st, const char *w, size_t n, const char *rest)
{
    st->header = word_is(w, n, "CREATE");
    if (!word_is(w, n, "BEGIN"))
        return;
    const char *next;
    size_t nn = next_word(rest, &next);
    if (!word_is(next, nn, "NOT"))
        return;
    nn = next_word(next + nn, &next);
    if (word_is(next, nn, "ATOMIC")) {
        st->program = 1;
        st->skip = 2;
        st->at_start = 1;
        open_block(st, B_BEGIN);
    }
}

/* A word of a stored program under MySQL's rules. IF, LOOP, WHILE and REPEAT
 * open a block only where a statement starts (IF() and REPEAT() are also
 * functions, IF EXISTS a clause); BEGIN always does, CASE does anywhere. */
static void see_program_word(words *st, const char *w, size_t n, const char *rest, int at_start)
{
    if (st->depth && word_is(w, n, "END")) {
        see_end(st, rest);
        return;
    }
    if (word_is(w, n, "BEGIN")) {
        open_block(st, B_BEGIN);
        st->at_start = 1;
    } else if (word_is(w, n, "CASE")) {
        open_block(st, at_start ? B_CASE_STMT : B_CASE_EXPR);
    } else if (at_start && (word_is(w, n, "IF") || word_is(w, n, "WHILE"))) {
        open_block(st, word_is(w, n, "IF") ? B_IF : B_WHILE);
    } else if (at_start && (word_is(w, n, "LOOP") || word_is(w, n, "REPEAT"))) {
        open_block(st, word_is(w, n, "LOOP") ? B_LOOP : B_REPEAT);
        st->at_start = 1;
    } else if (word_is(w, n, "THEN") || word_is(w, n, "ELSE")) {
        st->at_start = !st->depth || innermost(st) != B_CASE_EXPR;
    } else if (word_is(w, n, "DO") || word_is(w, n, "ROW")) { /* WHILE, EVENT; TRIGGER */
        st->at_start = 1;
    }
}

static void see_mysql_word(words *st, const char *w, size_t n, const char *rest)
{
    int at_start = st->at_start;
    st->at_start = 0;
    if (st->skip) {
        st->skip--;
        return;
    }
    if (st->count++ == 0)
        see_first_mysql_word(st, w, n, rest);
    else if (st->header)
        see_header_word(st, w, n);
    else if (st->program)
        see_program_word(st, w, n, rest, at_start);
}

/* A character outside words, quotes and comments under MySQL's rules: a ';'
 * inside a body or a label's ':' is followed by a statement. */
static void see_mysql_char(words *st, const char *p)
{
    if (st->program && ((*p == ';' && st->depth) || (*p == ':' && p[1] != '=')))
        st->at_start = 1;
}

/* ==== Splitting ==== */

typedef struct splitter {
    lexer lx;
    bool mysql;
    pm_sql_statement_fn fn;
    void *ctx;
    const char *start; /* of the statement being read */
    const char *first; /* its first character that is not blank */
    int has_content;   /* it holds more than blanks and comments */
    words st;
    char delimiter[17]; /* set by a DELIMITER line; "" while ';' ends statements */
    size_t delimiter_len;
} splitter;

/* Hands one statement to fn unless it holds only blanks and comments. */
static int emit(splitter *sp, const char *end)
{
    const char *start = sp->start;
    while (start < end && isspace((unsigned char)*start))
        start++;
    while (end > start && isspace((unsigned char)end[-1]))
        end--;
    if (!sp->has_content)
        return 0;
    return sp->fn(sp->ctx, start, (size_t)(end - start), (size_t)(start - sp->lx.sql));
}

static void next_statement(splitter *sp, const char *start)
{
    sp->start = start;
    sp->first = NULL;
    sp->has_content = 0;
    memset(&sp->st, 0, sizeof(sp->st));
}

/* The statement ends at end, where a terminator of length n stands. */
static int end_statement(splitter *sp, const char *end, size_t n)
{
    int rc = emit(sp, end);
    sp->lx.p = end + n;
    next_statement(sp, sp->lx.p);
    return rc;
}

static void mark_content(splitter *sp, const char *at)
{
    if (!sp->has_content)
        sp->first = at;
    sp->has_content = 1;
}

/* ==== The mysql client's DELIMITER lines ==== */

/* DELIMITER begins a line of its own (blanks before it) and a statement,
 * and a blank follows it. */
static bool is_delimiter_line(const splitter *sp, const char *w, size_t n)
{
    if (!sp->mysql || sp->has_content || !word_is(w, n, "DELIMITER") ||
        (w[n] != ' ' && w[n] != '\t'))
        return false;
    for (const char *q = w; q > sp->lx.sql && q[-1] != '\n'; q--) {
        if (q[-1] != ' ' && q[-1] != '\t' && q[-1] != '\r')
            return false;
    }
    return true;
}

/* DELIMITER $$: statements end at $$ (and ';' is text) until the next
 * DELIMITER line; DELIMITER ; restores ';'. The line itself is never sent;
 * what follows the delimiter on it is ignored, as the mysql client does. */
static int delimiter_line(splitter *sp, const char *w, const char *end)
{
    const char *d = end;
    while (*d == ' ' || *d == '\t')
        d++;
    size_t n = strcspn(d, " \t\r\n");
    if (n == 0 || n >= sizeof(sp->delimiter)) {
        int line, column;
        position(&sp->lx, w, &line, &column);
        return pm_error_set(sp->lx.err, PM_EINVAL,
                            "DELIMITER at line %d, column %d names %s delimiter", line, column,
                            n ? "a too long (over 16 characters)" : "no");
    }
    sp->delimiter_len = n == 1 && *d == ';' ? 0 : n;
    memcpy(sp->delimiter, d, sp->delimiter_len);
    sp->delimiter[sp->delimiter_len] = '\0';
    sp->lx.p = d + n + strcspn(d + n, "\n");
    next_statement(sp, sp->lx.p);
    return 0;
}

/* ==== The lexer's loop ==== */

static const char *const block_names[] = {
    [B_BEGIN] = "BEGIN ... END",          [B_CASE_STMT] = "CASE ... END CASE",
    [B_CASE_EXPR] = "CASE ... END",       [B_IF] = "IF ... END IF",
    [B_LOOP] = "LOOP ... END LOOP",       [B_WHILE] = "WHILE ... END WHILE",
    [B_REPEAT] = "REPEAT ... END REPEAT",
};

/* The end of the input with a stored program's body still open (MySQL's
 * rules with ';' ending statements): an error naming where it starts. */
static int check_body_closed(splitter *sp)
{
    if (!sp->mysql || sp->delimiter_len || !sp->st.program || sp->st.depth == 0)
        return 0;
    char what[64];
    snprintf(what, sizeof(what), "%s block in the statement", block_names[sp->st.kinds[0]]);
    return unterminated(&sp->lx, sp->first ? sp->first : sp->start, what);
}

/* A word at lx.p: a DELIMITER line, or one the block counting sees. */
static int take_word(splitter *sp)
{
    lexer *lx = &sp->lx;
    const char *w = lx->p;
    while (is_ident_char(*lx->p))
        lx->p++;
    size_t n = (size_t)(lx->p - w);
    if (is_delimiter_line(sp, w, n))
        return delimiter_line(sp, w, lx->p);
    if (sp->mysql)
        see_mysql_word(&sp->st, w, n, lx->p);
    else
        see_word(&sp->st, w, n, lx->p);
    mark_content(sp, w);
    return 0;
}

/* Quotes, dollar quotes and any other character at lx.p. */
static int take_other(splitter *sp)
{
    lexer *lx = &sp->lx;
    const char *sql = lx->sql;
    char c = *lx->p;
    size_t tag;
    if (!isspace((unsigned char)c))
        mark_content(sp, lx->p);
    if (c == '\'') {
        int escapes = lx->p > sql && (lx->p[-1] == 'E' || lx->p[-1] == 'e') &&
                      (lx->p - 1 == sql || !is_ident_char(lx->p[-2]));
        return skip_quoted(lx, '\'', escapes || sp->mysql, "string");
    }
    if (c == '"')
        return skip_quoted(lx, '"', sp->mysql, sp->mysql ? "string" : "quoted identifier");
    if (c == '`')
        return skip_quoted(lx, '`', 0, "quoted identifier");
    if (c == '$' && (lx->p == sql || !is_ident_char(lx->p[-1])) &&
        (tag = dollar_tag_length(lx->p)) > 0)
        return skip_dollar_quoted(lx, tag);
    if (sp->mysql)
        see_mysql_char(&sp->st, lx->p);
    lx->p++;
    return 0;
}

static bool at_word(const splitter *sp)
{
    const char *p = sp->lx.p;
    if (!(isalpha((unsigned char)*p) || *p == '_') || (p != sp->lx.sql && is_ident_char(p[-1])))
        return false;
    /* E'...' is a string with escapes, not a word */
    return !((*p == 'E' || *p == 'e') && p[1] == '\'');
}

int pm_sql_split(const char *sql, pm_sql_statement_fn fn, void *ctx, pm_error *err)
{
    return pm_sql_split_flags(sql, 0, fn, ctx, err);
}

int pm_sql_split_flags(const char *sql, unsigned int flags, pm_sql_statement_fn fn, void *ctx,
                       pm_error *err)
{
    splitter sp;
    memset(&sp, 0, sizeof(sp));
    sp.lx = (lexer){sql, sql, err};
    sp.mysql = (flags & PM_SQL_MYSQL) != 0;
    sp.fn = fn;
    sp.ctx = ctx;
    next_statement(&sp, sql);
    lexer *lx = &sp.lx;
    int rc = 0;
    while (*lx->p && rc == 0) {
        char c = *lx->p;
        if ((c == '-' && lx->p[1] == '-') || (sp.mysql && c == '#'))
            lx->p += strcspn(lx->p, "\n");
        else if (c == '/' && lx->p[1] == '*')
            rc = skip_block_comment(lx);
        else if (sp.delimiter_len && strncmp(lx->p, sp.delimiter, sp.delimiter_len) == 0)
            rc = end_statement(&sp, lx->p, sp.delimiter_len);
        else if (!sp.delimiter_len && c == ';' && sp.st.depth == 0)
            rc = end_statement(&sp, lx->p, 1);
        else if (at_word(&sp))
            rc = take_word(&sp);
        else
            rc = take_other(&sp);
    }
    if (rc == 0)
        rc = check_body_closed(&sp);
    if (rc == 0)
        rc = emit(&sp, lx->p);
    return rc;
}
