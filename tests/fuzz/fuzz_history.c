/* fuzz_history.c: decoding one row of the seaql_migrations history
 * (pm__history_decode). The input is split on '\x1f' into up to eight
 * columns (version, applied_at, checksum, execution_ms, state,
 * error_message, error_statement, apply_order); a column that is exactly
 * "\x00N" is SQL NULL. Oracle: no sanitizer report, and decoding either
 * gives a row with a non-empty version and a known state, or fails with
 * PM_EHISTORY (or PM_ENOMEM) and a message. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define PM_FUZZ_COLUMNS 8

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool known_state(const char *state)
{
    return !state || strcmp(state, "applied") == 0 || strcmp(state, "started") == 0 ||
           strcmp(state, "failed") == 0;
}

static void check_decoded(int rc, const pm_history_row *row, const pm_error *err)
{
    if (rc == 0) {
        if (!row->version || !*row->version || !known_state(row->state) || row->execution_ms < -1 ||
            row->apply_order < -1)
            abort();
    } else if ((rc != PM_EHISTORY && rc != PM_ENOMEM) || !err->message || !*err->message) {
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    const char *values[PM_FUZZ_COLUMNS] = {0};
    size_t ncolumns = 0;
    char *p = text, *end = text + size;
    while (ncolumns < PM_FUZZ_COLUMNS && p <= end) {
        char *sep = memchr(p, 0x1f, (size_t)(end - p));
        /* a column starting with NUL is SQL NULL; others end at their NUL */
        bool is_null = p < end && p != sep && *p == '\0';
        if (sep)
            *sep = '\0';
        values[ncolumns++] = is_null ? NULL : p;
        if (!sep)
            break;
        p = sep + 1;
    }
    pm_history_row row;
    pm_error err = PM_ERROR_INIT;
    int rc = pm__history_decode(&row, 1, ncolumns, values, &err);
    check_decoded(rc, &row, &err);
    if (rc == 0)
        free(row.version);
    pm_error_clear(&err);
    free(text);
    return 0;
}
