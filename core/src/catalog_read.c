/* catalog_read.c: reading a database's catalog into a pm_catalog, once per
 * backend (SQLite's sqlite_master and PRAGMAs, PostgreSQL's pg_catalog,
 * MySQL's information_schema). Drivers point read_schema() at the reader of
 * the backend they reach, so libdbi's backends share them too. Readers talk
 * to the database only through the driver's query(). */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* ==== Fetching rows ==== */

typedef struct rows {
    char **cells; /* row-major, ncols per row; NULL for SQL NULL */
    size_t nrows, ncols, cap;
    int oom;
} rows;

static int collect_row(void *ctx, size_t ncols, const char *const *values)
{
    rows *r = ctx;
    r->ncols = ncols;
    if ((r->nrows + 1) * ncols > r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 64;
        while (cap < (r->nrows + 1) * ncols)
            cap *= 2;
        char **cells = realloc(r->cells, cap * sizeof(*cells));
        if (!cells)
            return PM_ENOMEM;
        r->cells = cells;
        r->cap = cap;
    }
    for (size_t i = 0; i < ncols; i++) {
        char *copy = values[i] ? pm__strdup(values[i]) : NULL;
        if (values[i] && !copy)
            r->oom = 1;
        r->cells[r->nrows * ncols + i] = copy;
    }
    r->nrows++;
    return r->oom ? PM_ENOMEM : 0;
}

static void rows_free(rows *r)
{
    for (size_t i = 0; i < r->nrows * r->ncols; i++)
        free(r->cells[i]);
    free(r->cells);
    memset(r, 0, sizeof(*r));
}

static const char *cell(const rows *r, size_t row, size_t col)
{
    return col < r->ncols ? r->cells[row * r->ncols + col] : NULL;
}

static int fetch(pm_conn *c, const char *sql, const char *param, rows *out, pm_error *err)
{
    memset(out, 0, sizeof(*out));
    const char *params[] = {param};
    int rc = c->driver->query(c, sql, param ? params : NULL, param ? 1 : 0, collect_row, out, err);
    if (rc == PM_ENOMEM && !(err && err->message))
        pm_error_set(err, PM_ENOMEM, "out of memory reading the schema");
    if (rc < 0)
        rows_free(out);
    return rc;
}

static bool truthy(const char *v)
{
    return v && (strcmp(v, "1") == 0 || strcmp(v, "t") == 0 || strcmp(v, "YES") == 0);
}

static void add_column(pm_catalog *cat, const char *table, const char *pos, const char *name,
                       const char *type, bool not_null, const char *def)
{
    if (def && strcmp(def, "NULL") == 0) /* MariaDB spells "no default" so */
        def = NULL;
    pm_catalog_entry(cat, table, PM_CATALOG_COLUMN, pos ? atol(pos) : 0, "column %s %s %s%s%s",
                     name, type && *type ? type : "ANY", not_null ? "NOT NULL" : "NULL",
                     def ? " DEFAULT " : "", def ? def : "");
}

static const char *on_delete(const char *action)
{
    if (!action)
        return "";
    if (!strcmp(action, "c") || !strcmp(action, "CASCADE"))
        return " on delete cascade";
    if (!strcmp(action, "n") || !strcmp(action, "SET NULL"))
        return " on delete set null";
    if (!strcmp(action, "r") || !strcmp(action, "RESTRICT"))
        return " on delete restrict";
    if (!strcmp(action, "d") || !strcmp(action, "SET DEFAULT"))
        return " on delete set default";
    return ""; /* no action, the default */
}

/* ==== SQLite ==== */

static char *upper(const char *s)
{
    char *u = pm__strdup(s ? s : "");
    for (char *p = u; p && *p; p++)
        if (*p >= 'a' && *p <= 'z')
            *p = (char)(*p - 'a' + 'A');
    return u;
}

static int sqlite_index_columns(pm_conn *c, const char *index, pm_buf *cols, pm_error *err)
{
    rows r;
    int rc = fetch(c, "SELECT name FROM pragma_index_info($1) ORDER BY seqno", index, &r, err);
    for (size_t i = 0; rc == 0 && i < r.nrows; i++)
        pm_buf_printf(cols, "%s%s", i ? ", " : "", cell(&r, i, 0) ? cell(&r, i, 0) : "?");
    rows_free(&r);
    return rc;
}

static int sqlite_table(pm_conn *c, pm_catalog *cat, const char *t, pm_error *err)
{
    rows r;
    int rc = fetch(c, "SELECT cid, name, type, \"notnull\", dflt_value, pk FROM pragma_table_info($1)",
                   t, &r, err);
    pm_buf pk = PM_BUF_INIT;
    for (long want = 1; rc == 0; want++) { /* the primary key, in key order */
        size_t before = pk.len;
        for (size_t i = 0; i < r.nrows; i++)
            if (cell(&r, i, 5) && atol(cell(&r, i, 5)) == want)
                pm_buf_printf(&pk, "%s%s", pk.len ? ", " : "", cell(&r, i, 1));
        if (pk.len == before)
            break;
    }
    for (size_t i = 0; rc == 0 && i < r.nrows; i++) {
        char *type = upper(cell(&r, i, 2));
        bool not_null = truthy(cell(&r, i, 3)) || (cell(&r, i, 5) && atol(cell(&r, i, 5)) > 0);
        add_column(cat, t, cell(&r, i, 0), cell(&r, i, 1), type, not_null, cell(&r, i, 4));
        free(type);
    }
    if (pk.len)
        pm_catalog_entry(cat, t, PM_CATALOG_PRIMARY_KEY, 0, "primary key (%s)", pm_buf_cstr(&pk));
    pm_buf_free(&pk);
    rows_free(&r);
    if (rc == 0)
        rc = fetch(c, "SELECT name, \"unique\", origin FROM pragma_index_list($1)", t, &r, err);
    for (size_t i = 0; rc == 0 && i < r.nrows; i++) {
        const char *name = cell(&r, i, 0), *origin = cell(&r, i, 2);
        if (!name || !origin || strcmp(origin, "pk") == 0)
            continue;
        pm_buf cols = PM_BUF_INIT;
        rc = sqlite_index_columns(c, name, &cols, err);
        if (rc == 0 && strcmp(origin, "u") == 0)
            pm_catalog_entry(cat, t, PM_CATALOG_UNIQUE, 0, "unique (%s)", pm_buf_cstr(&cols));
        else if (rc == 0)
            pm_catalog_entry(cat, t, PM_CATALOG_INDEX, 0, "%sindex %s (%s)",
                             truthy(cell(&r, i, 1)) ? "unique " : "", name, pm_buf_cstr(&cols));
        pm_buf_free(&cols);
    }
    rows_free(&r);
    if (rc == 0)
        rc = fetch(c, "SELECT * FROM pragma_foreign_key_list($1) ORDER BY id, seq", t, &r, err);
    for (size_t i = 0; rc == 0 && i < r.nrows;) {
        pm_buf from = PM_BUF_INIT, to = PM_BUF_INIT;
        size_t j = i;
        for (; j < r.nrows && strcmp(cell(&r, j, 0), cell(&r, i, 0)) == 0; j++) {
            pm_buf_printf(&from, "%s%s", j > i ? ", " : "", cell(&r, j, 3));
            pm_buf_printf(&to, "%s%s", j > i ? ", " : "", cell(&r, j, 4) ? cell(&r, j, 4) : "?");
        }
        pm_catalog_entry(cat, t, PM_CATALOG_FOREIGN_KEY, 0, "foreign key (%s) references %s (%s)%s",
                         pm_buf_cstr(&from), cell(&r, i, 2) ? cell(&r, i, 2) : "?", pm_buf_cstr(&to),
                         on_delete(cell(&r, i, 6)));
        pm_buf_free(&from);
        pm_buf_free(&to);
        i = j;
    }
    rows_free(&r);
    return rc;
}

int pm_catalog_read_sqlite(pm_conn *c, pm_catalog *cat, pm_error *err)
{
    rows objects;
    int rc = fetch(c, "SELECT name, type FROM sqlite_master WHERE type IN ('table', 'view') AND "
                      "name NOT LIKE 'sqlite_%' ORDER BY name",
                   NULL, &objects, err);
    for (size_t i = 0; rc == 0 && i < objects.nrows; i++) {
        const char *name = cell(&objects, i, 0), *type = cell(&objects, i, 1);
        pm_catalog_object(cat, type, name);
        if (strcmp(type, "table") == 0)
            rc = sqlite_table(c, cat, name, err);
    }
    rows_free(&objects);
    return rc;
}

/* ==== PostgreSQL ==== */

#define PG_REGCLASS "(quote_ident(current_schema()) || '.' || quote_ident($1))::regclass"
#define PG_COLUMN_NAMES(keys, rel)                                                                 \
    "(SELECT string_agg(a.attname, ', ' ORDER BY k.ord) FROM unnest(" keys ") WITH ORDINALITY "    \
    "AS k(attnum, ord) JOIN pg_attribute a ON a.attrelid = " rel " AND a.attnum = k.attnum)"

static int pg_table(pm_conn *c, pm_catalog *cat, const char *t, pm_error *err)
{
    rows r;
    int rc = fetch(c,
                   "SELECT a.attnum, a.attname, upper(format_type(a.atttypid, a.atttypmod)), "
                   "a.attnotnull, pg_get_expr(d.adbin, d.adrelid) FROM pg_attribute a LEFT JOIN "
                   "pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum WHERE a.attrelid "
                   "= " PG_REGCLASS " AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum",
                   t, &r, err);
    for (size_t i = 0; rc == 0 && i < r.nrows; i++)
        add_column(cat, t, cell(&r, i, 0), cell(&r, i, 1), cell(&r, i, 2), truthy(cell(&r, i, 3)),
                   cell(&r, i, 4));
    rows_free(&r);
    if (rc == 0)
        rc = fetch(c,
                   "SELECT c.contype::text, " PG_COLUMN_NAMES("c.conkey", "c.conrelid") ", cf.relname, "
                   PG_COLUMN_NAMES("c.confkey", "c.confrelid") ", c.confdeltype::text FROM pg_constraint "
                   "c LEFT JOIN pg_class cf ON cf.oid = c.confrelid WHERE c.conrelid = " PG_REGCLASS
                   " AND c.contype IN ('p', 'u', 'f')",
                   t, &r, err);
    for (size_t i = 0; rc == 0 && i < r.nrows; i++) {
        const char *type = cell(&r, i, 0), *cols = cell(&r, i, 1) ? cell(&r, i, 1) : "?";
        if (strcmp(type, "p") == 0)
            pm_catalog_entry(cat, t, PM_CATALOG_PRIMARY_KEY, 0, "primary key (%s)", cols);
        else if (strcmp(type, "u") == 0)
            pm_catalog_entry(cat, t, PM_CATALOG_UNIQUE, 0, "unique (%s)", cols);
        else
            pm_catalog_entry(cat, t, PM_CATALOG_FOREIGN_KEY, 0,
                             "foreign key (%s) references %s (%s)%s", cols, cell(&r, i, 2),
                             cell(&r, i, 3) ? cell(&r, i, 3) : "?", on_delete(cell(&r, i, 4)));
    }
    rows_free(&r);
    if (rc == 0)
        rc = fetch(c,
                   "SELECT i.relname, ix.indisunique, " PG_COLUMN_NAMES("ix.indkey::int2[]",
                                                                       "ix.indrelid")
                   " FROM pg_index ix JOIN pg_class i ON i.oid = ix.indexrelid WHERE ix.indrelid = "
                   PG_REGCLASS " AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = "
                   "ix.indexrelid)",
                   t, &r, err);
    for (size_t i = 0; rc == 0 && i < r.nrows; i++)
        pm_catalog_entry(cat, t, PM_CATALOG_INDEX, 0, "%sindex %s (%s)",
                         truthy(cell(&r, i, 1)) ? "unique " : "", cell(&r, i, 0),
                         cell(&r, i, 2) ? cell(&r, i, 2) : "expression");
    rows_free(&r);
    return rc;
}

int pm_catalog_read_postgres(pm_conn *c, pm_catalog *cat, pm_error *err)
{
    rows objects;
    int rc = fetch(c,
                   "SELECT c.relname, CASE WHEN c.relkind IN ('r', 'p') THEN 'table' WHEN "
                   "c.relkind IN ('v', 'm') THEN 'view' ELSE 'sequence' END FROM pg_class c JOIN "
                   "pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = current_schema() "
                   "AND c.relkind IN ('r', 'p', 'v', 'm', 'S') UNION ALL SELECT t.typname, 'type' "
                   "FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace WHERE n.nspname "
                   "= current_schema() AND t.typtype IN ('e', 'd', 'r') ORDER BY 1",
                   NULL, &objects, err);
    for (size_t i = 0; rc == 0 && i < objects.nrows; i++) {
        const char *name = cell(&objects, i, 0), *kind = cell(&objects, i, 1);
        pm_catalog_object(cat, kind, name);
        if (strcmp(kind, "table") == 0)
            rc = pg_table(c, cat, name, err);
    }
    rows_free(&objects);
    return rc;
}

/* ==== MySQL / MariaDB ==== */

static int mysql_table(pm_conn *c, pm_catalog *cat, const char *t, pm_error *err)
{
    rows r, fk;
    int rc = fetch(c,
                   "SELECT ORDINAL_POSITION, COLUMN_NAME, UPPER(COLUMN_TYPE), IS_NULLABLE, "
                   "COLUMN_DEFAULT FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() "
                   "AND TABLE_NAME = $1 ORDER BY ORDINAL_POSITION",
                   t, &r, err);
    for (size_t i = 0; rc == 0 && i < r.nrows; i++)
        add_column(cat, t, cell(&r, i, 0), cell(&r, i, 1), cell(&r, i, 2),
                   !truthy(cell(&r, i, 3)), cell(&r, i, 4));
    rows_free(&r);
    memset(&fk, 0, sizeof(fk));
    if (rc == 0)
        rc = fetch(c,
                   "SELECT GROUP_CONCAT(k.COLUMN_NAME ORDER BY k.ORDINAL_POSITION SEPARATOR ', '), "
                   "k.REFERENCED_TABLE_NAME, GROUP_CONCAT(k.REFERENCED_COLUMN_NAME ORDER BY "
                   "k.ORDINAL_POSITION SEPARATOR ', '), r.DELETE_RULE FROM "
                   "information_schema.KEY_COLUMN_USAGE k JOIN "
                   "information_schema.REFERENTIAL_CONSTRAINTS r ON r.CONSTRAINT_SCHEMA = "
                   "k.CONSTRAINT_SCHEMA AND r.CONSTRAINT_NAME = k.CONSTRAINT_NAME WHERE "
                   "k.TABLE_SCHEMA = DATABASE() AND k.TABLE_NAME = $1 AND k.REFERENCED_TABLE_NAME "
                   "IS NOT NULL GROUP BY k.CONSTRAINT_NAME, k.REFERENCED_TABLE_NAME, r.DELETE_RULE",
                   t, &fk, err);
    for (size_t i = 0; rc == 0 && i < fk.nrows; i++)
        pm_catalog_entry(cat, t, PM_CATALOG_FOREIGN_KEY, 0, "foreign key (%s) references %s (%s)%s",
                         cell(&fk, i, 0), cell(&fk, i, 1), cell(&fk, i, 2), on_delete(cell(&fk, i, 3)));
    if (rc == 0) /* indexes, except those MySQL made for a foreign key */
        rc = fetch(c,
                   "SELECT s.INDEX_NAME, MIN(s.NON_UNIQUE), GROUP_CONCAT(s.COLUMN_NAME ORDER BY "
                   "s.SEQ_IN_INDEX SEPARATOR ', ') FROM information_schema.STATISTICS s WHERE "
                   "s.TABLE_SCHEMA = DATABASE() AND s.TABLE_NAME = $1 AND s.INDEX_NAME NOT IN "
                   "(SELECT CONSTRAINT_NAME FROM information_schema.REFERENTIAL_CONSTRAINTS WHERE "
                   "CONSTRAINT_SCHEMA = DATABASE() AND TABLE_NAME = s.TABLE_NAME) GROUP BY "
                   "s.INDEX_NAME",
                   t, &r, err);
    for (size_t i = 0; rc == 0 && i < r.nrows; i++) {
        const char *name = cell(&r, i, 0);
        bool implicit = false;
        for (size_t k = 0; truthy(cell(&r, i, 1)) && k < fk.nrows && !implicit; k++)
            implicit = cell(&fk, k, 0) && cell(&r, i, 2) && strcmp(cell(&fk, k, 0), cell(&r, i, 2)) == 0;
        if (implicit)
            continue;
        if (strcmp(name, "PRIMARY") == 0)
            pm_catalog_entry(cat, t, PM_CATALOG_PRIMARY_KEY, 0, "primary key (%s)", cell(&r, i, 2));
        else
            pm_catalog_entry(cat, t, PM_CATALOG_INDEX, 0, "%sindex %s (%s)",
                             truthy(cell(&r, i, 1)) ? "" : "unique ", name, cell(&r, i, 2));
    }
    rows_free(&r);
    rows_free(&fk);
    return rc;
}

int pm_catalog_read_mysql(pm_conn *c, pm_catalog *cat, pm_error *err)
{
    rows objects;
    int rc = fetch(c,
                   "SELECT TABLE_NAME, CASE WHEN TABLE_TYPE = 'VIEW' THEN 'view' ELSE 'table' END "
                   "FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() ORDER BY "
                   "TABLE_NAME",
                   NULL, &objects, err);
    for (size_t i = 0; rc == 0 && i < objects.nrows; i++) {
        const char *name = cell(&objects, i, 0), *kind = cell(&objects, i, 1);
        pm_catalog_object(cat, kind, name);
        if (strcmp(kind, "table") == 0)
            rc = mysql_table(c, cat, name, err);
    }
    rows_free(&objects);
    return rc;
}
