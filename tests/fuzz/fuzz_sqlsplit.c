/* fuzz_sqlsplit.c: the SQL statement splitter under every lexer flag
 * combination (the first input byte is the flags, so PM_SQL_MYSQL and bits no
 * backend uses yet are all reached). Oracles besides the sanitizers: each
 * statement is a non-empty, trimmed span of the input, spans come in order
 * without overlapping (a ';' at least between two), an error is PM_EINVAL
 * with a message naming a line, and splitting is deterministic. */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "poblysh/poblysh.h"
#include "poblysh/sys/driver.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct spans {
    const char *sql;
    size_t size;
    size_t next; /* where the next statement may start */
    size_t count;
    uint64_t hash; /* of every (offset, length), for the determinism check */
} spans;

static int on_statement(void *ctx, const char *statement, size_t length, size_t offset)
{
    spans *s = ctx;
    if (statement != s->sql + offset || offset < s->next || offset + length > s->size)
        abort(); /* not a span of the input, or overlapping the previous one */
    if (length == 0 || isspace((unsigned char)statement[0]) ||
        isspace((unsigned char)statement[length - 1]))
        abort();                   /* empty or untrimmed */
    s->next = offset + length + 1; /* the separating ';' at least */
    s->count++;
    s->hash = (s->hash * 1000003u) ^ (offset * 31u + length);
    return 0;
}

static int split(const char *sql, size_t size, unsigned int flags, spans *s, pm_error *err)
{
    memset(s, 0, sizeof(*s));
    s->sql = sql;
    s->size = size;
    return pm_sql_split_flags(sql, flags, on_statement, s, err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    unsigned int flags = data[0];
    char *sql = malloc(size);
    if (!sql)
        return 0;
    memcpy(sql, data + 1, size - 1);
    sql[size - 1] = '\0';
    size_t length = strlen(sql); /* the splitter reads a C string */
    pm_error err = PM_ERROR_INIT, again = PM_ERROR_INIT;
    spans first, second;
    int rc = split(sql, length, flags, &first, &err);
    if (rc != 0 && (rc != PM_EINVAL || !err.message || !strstr(err.message, "line ")))
        abort(); /* the only failure is an unterminated token, named by line */
    int rc2 = split(sql, length, flags, &second, &again);
    if (rc2 != rc || second.count != first.count || second.hash != first.hash)
        abort();
    pm_error_clear(&err);
    pm_error_clear(&again);
    free(sql);
    return 0;
}
