/* dotenv.c: the .env reader (dotenv.h): one line at a time, KEY=VALUE with
 * an optional "export " and single or double quotes. Kept tiny on purpose:
 * a fuzz target (tests/fuzz/fuzz_dotenv.c) checks it never misreads. */
#include "dotenv.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

typedef struct cursor {
    const char *p, *end;
    const char *name;
    int line;
} cursor;

static bool is_blank(char c)
{
    return c == ' ' || c == '\t';
}

static bool is_key_start(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}

static bool is_key_char(char c)
{
    return is_key_start(c) || (c >= '0' && c <= '9');
}

static void skip_blanks(cursor *c)
{
    while (c->p < c->end && is_blank(*c->p))
        c->p++;
}

static int fail(const cursor *c, pm_error *err, const char *what)
{
    return pm_error_set(err, PM_EINVAL, "%s:%d: %s", c->name, c->line, what);
}

/* After a value: only blanks, then a comment or the end of the line. */
static int expect_line_end(cursor *c, pm_error *err)
{
    skip_blanks(c);
    if (c->p < c->end && *c->p != '#')
        return fail(c, err, "unexpected text after the closing quote");
    return 0;
}

static int read_single_quoted(cursor *c, pm_buf *value, pm_error *err)
{
    const char *close = memchr(c->p, '\'', (size_t)(c->end - c->p));
    if (!close)
        return fail(c, err, "no closing ' on this line (values cannot span lines)");
    pm_buf_appendn(value, c->p, (size_t)(close - c->p));
    c->p = close + 1;
    return expect_line_end(c, err);
}

static int read_double_quoted(cursor *c, pm_buf *value, pm_error *err)
{
    for (; c->p < c->end; c->p++) {
        char ch = *c->p;
        if (ch == '"') {
            c->p++;
            return expect_line_end(c, err);
        }
        if (ch == '\\' && c->p + 1 < c->end) {
            char next = *++c->p;
            ch = next == 'n' ? '\n' : next == 't' ? '\t' : next;
            if (next != 'n' && next != 't' && next != '"' && next != '\\')
                pm_buf_appendc(value, '\\'); /* unknown escapes stay as written */
        }
        pm_buf_appendc(value, ch);
    }
    return fail(c, err, "no closing \" on this line (values cannot span lines)");
}

/* Unquoted: up to a '#' that follows a blank, trailing blanks dropped. */
static void read_bare(cursor *c, pm_buf *value)
{
    const char *start = c->p, *stop = c->p;
    for (; c->p < c->end; c->p++) {
        if (*c->p == '#' && c->p > start && is_blank(c->p[-1]))
            break;
        if (!is_blank(*c->p))
            stop = c->p + 1;
    }
    pm_buf_appendn(value, start, (size_t)(stop - start));
}

static int parse_line(cursor *c, pm__dotenv_fn fn, void *ctx, pm_error *err)
{
    skip_blanks(c);
    if (c->p == c->end || *c->p == '#')
        return 0;
    if ((size_t)(c->end - c->p) > 7 && memcmp(c->p, "export", 6) == 0 && is_blank(c->p[6])) {
        c->p += 7;
        skip_blanks(c);
    }
    const char *key = c->p;
    if (c->p == c->end || !is_key_start(*c->p))
        return fail(c, err, "expected KEY=VALUE (a key of letters, digits and _)");
    while (c->p < c->end && is_key_char(*c->p))
        c->p++;
    size_t key_len = (size_t)(c->p - key);
    skip_blanks(c);
    if (c->p == c->end || *c->p != '=')
        return fail(c, err, "expected '=' after the key");
    c->p++;
    skip_blanks(c);
    pm_buf value = PM_BUF_INIT;
    int rc = 0;
    if (c->p < c->end && *c->p == '\'') {
        c->p++;
        rc = read_single_quoted(c, &value, err);
    } else if (c->p < c->end && *c->p == '"') {
        c->p++;
        rc = read_double_quoted(c, &value, err);
    } else {
        read_bare(c, &value);
    }
    char *name = pm__format("%.*s", (int)key_len, key);
    const char *text = pm_buf_cstr(&value);
    if (rc == 0 && (!name || value.oom))
        rc = pm_error_set(err, PM_ENOMEM, "out of memory");
    if (rc == 0)
        rc = fn(ctx, name, text, c->line);
    free(name);
    pm_buf_free(&value);
    return rc;
}

/* The length of the line at p, up to its '\n' or the end. */
static size_t line_length(const char *p, size_t left)
{
    size_t len = 0;
    while (len < left && p[len] != '\n')
        len++;
    return len;
}

static bool has_nul(const char *p, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (p[i] == '\0')
            return true;
    return false;
}

int pm__dotenv_parse(const char *text, size_t len, const char *name, pm__dotenv_fn fn, void *ctx,
                     pm_error *err)
{
    cursor c = {text, text, name ? name : ".env", 0};
    size_t at = 0;
    while (at < len) {
        size_t line_len = line_length(text + at, len - at);
        size_t next = at + line_len + 1; /* past the '\n', or past the end */
        c.line++;
        c.p = text + at;
        if (line_len && c.p[line_len - 1] == '\r')
            line_len--;
        c.end = c.p + line_len;
        if (has_nul(c.p, line_len))
            return fail(&c, err, "a NUL byte (this is not a text file)");
        int rc = parse_line(&c, fn, ctx, err);
        if (rc < 0)
            return rc;
        at = next;
    }
    return 0;
}
