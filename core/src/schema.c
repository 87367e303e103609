/* schema.c: the schema manager a migration's up() and down() receive. Each
 * call renders portable DDL with the connection's dialect and runs it; a
 * failure is recorded in the engine's error object with the statement. */
#include <stdlib.h>

#include "internal.h"

/* Runs rendered SQL (or passes on a render failure) and frees it. */
static int run(pm_schema *s, int rc, char *sql)
{
    if (rc == 0)
        rc = pm__db_exec(s->db, sql, s->err);
    free(sql);
    return rc;
}

static const pm_dialect *dialect(const pm_schema *s)
{
    return pm__db_dialect(s->db);
}

int pm_schema_create_table(pm_schema *s, const pm_table *table, unsigned int flags)
{
    char *sql = NULL;
    int rc = pm__render_create_table(&sql, dialect(s), table, flags, s->err);
    return run(s, rc, sql);
}

int pm_schema_drop_table(pm_schema *s, const char *table, unsigned int flags)
{
    char *sql = NULL;
    int rc = pm__render_drop_table(&sql, dialect(s), table, flags, s->err);
    return run(s, rc, sql);
}

int pm_schema_add_column(pm_schema *s, const char *table, const pm_column *column)
{
    char *sql = NULL;
    int rc = pm__render_add_column(&sql, dialect(s), table, column, s->err);
    return run(s, rc, sql);
}

int pm_schema_drop_column(pm_schema *s, const char *table, const char *column)
{
    char *sql = NULL;
    int rc = pm__render_drop_column(&sql, dialect(s), table, column, s->err);
    return run(s, rc, sql);
}

int pm_schema_rename_column(pm_schema *s, const char *table, const char *from, const char *to)
{
    char *sql = NULL;
    int rc = pm__render_rename_column(&sql, dialect(s), table, from, to, s->err);
    return run(s, rc, sql);
}

int pm_schema_create_index(pm_schema *s, const pm_index *index, unsigned int flags)
{
    char *sql = NULL;
    int rc = pm__render_create_index(&sql, dialect(s), index, flags, s->err);
    return run(s, rc, sql);
}

int pm_schema_drop_index(pm_schema *s, const char *table, const char *index, unsigned int flags)
{
    char *sql = NULL;
    int rc = pm__render_drop_index(&sql, dialect(s), table, index, flags, s->err);
    return run(s, rc, sql);
}

int pm_schema_exec(pm_schema *s, const char *sql)
{
    if (!sql)
        return pm_error_set(s->err, PM_EINVAL, "pm_schema_exec: sql is NULL");
    return pm__db_exec(s->db, sql, s->err);
}

int pm_schema_has_table(pm_schema *s, const char *table, bool *out)
{
    return pm__db_has_table(s->db, table, out, s->err);
}

int pm_schema_has_column(pm_schema *s, const char *table, const char *column, bool *out)
{
    return pm__db_has_column(s->db, table, column, out, s->err);
}

const char *pm_schema_dialect(const pm_schema *s)
{
    return pm__db_backend(s->db)->name;
}

int pm_schema_set_timeouts(pm_schema *s, int lock_timeout_ms, int statement_timeout_ms)
{
    return pm__db_timeouts_set(s->db, lock_timeout_ms, statement_timeout_ms, s->err);
}
