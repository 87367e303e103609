/* error.c: the error object (pm_error) and the helpers drivers and the core
 * use to fill it. Every string in a pm_error is owned by it. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "poblysh/errors.h"
#include "poblysh/sys/driver.h"
#include "util.h"

const char *pm_strerror(int code)
{
    switch (code) {
    case PM_OK: return "success";
#define PM__ERRNO_NAME(name, value, text)                                                          \
    case PM_##name: return text;
        PM_ERRNO_MAP(PM__ERRNO_NAME)
#undef PM__ERRNO_NAME
    default: return "unknown error";
    }
}

void pm_error_clear(pm_error *err)
{
    if (!err)
        return;
    free(err->message);
    free(err->db_code);
    free(err->detail);
    free(err->hint);
    free(err->migration);
    free(err->statement);
    memset(err, 0, sizeof(*err));
}

int pm_error_set(pm_error *err, int code, const char *fmt, ...)
{
    if (!err)
        return code;
    pm_error_clear(err);
    err->code = code;
    va_list ap;
    va_start(ap, fmt);
    err->message = pm__vformat(fmt, ap);
    va_end(ap);
    return code;
}

static void replace_field(char **field, const char *value)
{
    if (!value)
        return;
    free(*field);
    *field = pm__strdup(value);
}

void pm_error_set_db(pm_error *err, const char *db_code, const char *statement)
{
    if (!err)
        return;
    replace_field(&err->db_code, db_code);
    replace_field(&err->statement, statement);
}

void pm_error_set_detail(pm_error *err, const char *detail, const char *hint)
{
    if (!err)
        return;
    replace_field(&err->detail, detail);
    replace_field(&err->hint, hint);
}

void pm__error_set_migration(pm_error *err, const char *migration)
{
    if (!err)
        return;
    replace_field(&err->migration, migration);
}

void pm__error_prefix(pm_error *err, const char *fmt, ...)
{
    if (!err || !err->message)
        return;
    va_list ap;
    va_start(ap, fmt);
    char *prefix = pm__vformat(fmt, ap);
    va_end(ap);
    char *message = prefix ? pm__format("%s: %s", prefix, err->message) : NULL;
    free(prefix);
    if (message) {
        free(err->message);
        err->message = message;
    }
}
