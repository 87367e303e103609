/* sqlite_backend.c: everything poblysh knows about SQLite as an engine, for
 * every driver that reaches it (drivers/sqlite, libdbi's sqlite3): its DDL
 * spelling, its catalog (sqlite_master and the table-valued PRAGMAs), its
 * lock and its lexical rules. Talks to the database only through the
 * driver's query(). */
#include <stdlib.h>
#include <string.h>

#include "poblysh/sys/driver.h"

/* Storage choices are documented in docs/migrations.md: uuid, timestamptz,
 * date and json are TEXT (timestamps as RFC 3339 UTC with milliseconds),
 * booleans 0/1. */
static const pm_dialect sqlite_dialect = {
    .version = PM_DIALECT_VERSION,
    .name = "sqlite",
    .quote = '"',
    .types =
        {
            [PM_TYPE_UUID] = "TEXT",
            [PM_TYPE_TEXT] = "TEXT",
            [PM_TYPE_STRING] = "VARCHAR(%u)",
            [PM_TYPE_INTEGER] = "INTEGER",
            [PM_TYPE_BIGINT] = "BIGINT",
            [PM_TYPE_BOOLEAN] = "BOOLEAN",
            [PM_TYPE_DOUBLE] = "REAL",
            [PM_TYPE_TIMESTAMPTZ] = "TEXT",
            [PM_TYPE_DATE] = "TEXT",
            [PM_TYPE_JSON] = "TEXT",
            [PM_TYPE_BINARY] = "BLOB",
        },
    .string_default = "VARCHAR",
    .now = "(strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))",
    .bool_true = "1",
    .bool_false = "0",
    .drop_index_on_table = false,
};

/* ==== Catalog ==== */

static char *upper(const char *s)
{
    char *u = strdup(s ? s : "");
    for (char *p = u; p && *p; p++)
        if (*p >= 'a' && *p <= 'z')
            *p = (char)(*p - 'a' + 'A');
    return u;
}

/* The one-line text of a query's first column, joined; NULL on failure. */
static int joined(pm_conn *c, const char *sql, const char *param, char **out, pm_error *err)
{
    pm_rows r;
    int rc = pm_rows_fetch(c, sql, param, &r, err);
    if (rc == 0 && !(*out = pm_rows_join(&r, 0, r.nrows, 0)))
        rc = pm_error_set(err, PM_ENOMEM, "out of memory reading the schema");
    pm_rows_free(&r);
    return rc;
}

static int table_columns(pm_conn *c, pm_catalog *cat, const char *t, pm_error *err)
{
    pm_rows r;
    int rc = pm_rows_fetch(
        c, "SELECT cid, name, type, \"notnull\", dflt_value, pk FROM pragma_table_info($1)", t, &r,
        err);
    for (size_t i = 0; rc == 0 && i < r.nrows; i++) {
        const char *pk = pm_rows_cell(&r, i, 5);
        char *type = upper(pm_rows_cell(&r, i, 2));
        bool not_null = pm_catalog_truthy(pm_rows_cell(&r, i, 3)) || (pk && atol(pk) > 0);
        pm_catalog_column(cat, t, pm_rows_cell(&r, i, 0), pm_rows_cell(&r, i, 1), type, not_null,
                          pm_rows_cell(&r, i, 4));
        free(type);
    }
    pm_rows_free(&r);
    char *pk = NULL;
    if (rc == 0)
        rc = joined(c, "SELECT name FROM pragma_table_info($1) WHERE pk > 0 ORDER BY pk", t, &pk,
                    err);
    if (rc == 0 && *pk)
        pm_catalog_entry(cat, t, PM_CATALOG_PRIMARY_KEY, 0, "primary key (%s)", pk);
    free(pk);
    return rc;
}

static int table_indexes(pm_conn *c, pm_catalog *cat, const char *t, pm_error *err)
{
    pm_rows r;
    int rc =
        pm_rows_fetch(c, "SELECT name, \"unique\", origin FROM pragma_index_list($1)", t, &r, err);
    for (size_t i = 0; rc == 0 && i < r.nrows; i++) {
        const char *name = pm_rows_cell(&r, i, 0), *origin = pm_rows_cell(&r, i, 2);
        if (!name || !origin || strcmp(origin, "pk") == 0)
            continue;
        char *cols = NULL;
        rc = joined(c, "SELECT name FROM pragma_index_info($1) ORDER BY seqno", name, &cols, err);
        if (rc == 0 && strcmp(origin, "u") == 0)
            pm_catalog_entry(cat, t, PM_CATALOG_UNIQUE, 0, "unique (%s)", cols);
        else if (rc == 0)
            pm_catalog_entry(cat, t, PM_CATALOG_INDEX, 0, "%sindex %s (%s)",
                             pm_catalog_truthy(pm_rows_cell(&r, i, 1)) ? "unique " : "", name,
                             cols);
        free(cols);
    }
    pm_rows_free(&r);
    return rc;
}

static int table_foreign_keys(pm_conn *c, pm_catalog *cat, const char *t, pm_error *err)
{
    pm_rows r;
    int rc =
        pm_rows_fetch(c, "SELECT * FROM pragma_foreign_key_list($1) ORDER BY id, seq", t, &r, err);
    for (size_t i = 0, j; rc == 0 && i < r.nrows; i = j) {
        for (j = i; j < r.nrows && strcmp(pm_rows_cell(&r, j, 0), pm_rows_cell(&r, i, 0)) == 0; j++)
            ;
        char *from = pm_rows_join(&r, i, j, 3), *to = pm_rows_join(&r, i, j, 4);
        const char *ref = pm_rows_cell(&r, i, 2);
        if (!from || !to)
            rc = pm_error_set(err, PM_ENOMEM, "out of memory reading the schema");
        else
            pm_catalog_entry(cat, t, PM_CATALOG_FOREIGN_KEY, 0,
                             "foreign key (%s) references %s (%s)%s", from, ref ? ref : "?", to,
                             pm_catalog_on_delete(pm_rows_cell(&r, i, 6)));
        free(from);
        free(to);
    }
    pm_rows_free(&r);
    return rc;
}

static int read_table(pm_conn *c, pm_catalog *cat, const char *name, pm_error *err)
{
    int rc = table_columns(c, cat, name, err);
    if (rc == 0)
        rc = table_indexes(c, cat, name, err);
    return rc == 0 ? table_foreign_keys(c, cat, name, err) : rc;
}

static int read_schema(pm_conn *c, pm_catalog *cat, pm_error *err)
{
    return pm_catalog_read(c, cat,
                           "SELECT name, type FROM sqlite_master WHERE type IN ('table', 'view') "
                           "AND name NOT LIKE 'sqlite_%' ORDER BY name",
                           read_table, err);
}

/* ==== The backend ==== */

#define SQLITE_BUSY_DEFAULT_MS "5000"

/* What SQLite keeps beside the database file while it is in use. */
static const char *const sqlite_companion_files[] = {"-wal", "-shm", "-journal", NULL};

const pm_backend pm_backend_sqlite = {
    .version = PM_BACKEND_VERSION,
    .name = "sqlite",
    .dialect = &sqlite_dialect,
    .conn_flags = PM_CONN_TRANSACTIONAL_DDL | PM_CONN_BEGIN_EXCLUDES,
    .parses_scripts = true,
    .session_setup = "PRAGMA foreign_keys = ON; PRAGMA busy_timeout = " SQLITE_BUSY_DEFAULT_MS,
    /* BEGIN IMMEDIATE takes the write lock at once: it is the migration
     * lock, so there is no session lock to poll. */
    .begin = "BEGIN IMMEDIATE",
    .has_table = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = $1",
    .has_column = "SELECT 1 FROM pragma_table_info($1) WHERE name = $2",
    .read_schema = read_schema,
    .lock_wait = "PRAGMA busy_timeout = %d",
    .lock_wait_reset = "PRAGMA busy_timeout = " SQLITE_BUSY_DEFAULT_MS,
    .others_committed = "PRAGMA data_version",
    .drop_suffix = "",
    .fk_checks_off = "PRAGMA foreign_keys = OFF",
    .fk_checks_on = "PRAGMA foreign_keys = ON",
    .scratch_elsewhere = "verify SQLite migrations on sqlite::memory:",
    .database_files = sqlite_companion_files,
    .schemas_elsewhere =
        "sqlite has no schemas: each database is a file, so name the file in the URL",
};
