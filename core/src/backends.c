/* backends.c: finding a backend by name in the build's registry (generated
 * backends/builtin_backends.c), and the helpers backends' catalog readers
 * share: rows fetched whole and the catalog's common spellings. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* ==== Registry ==== */

const pm_backend *const *pm_backends(void)
{
    return pm__builtin_backends();
}

const pm_backend *pm_backend_find(const char *name)
{
    const pm_backend *const *all = pm__builtin_backends();
    for (size_t i = 0; name && all[i]; i++)
        if (strcmp(all[i]->name, name) == 0)
            return all[i];
    return NULL;
}

/* ==== Rows fetched whole ==== */

static int keep_row(void *ctx, size_t ncols, const char *const *values)
{
    pm_rows *r = ctx;
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

void pm_rows_free(pm_rows *r)
{
    for (size_t i = 0; i < r->nrows * r->ncols; i++)
        free(r->cells[i]);
    free(r->cells);
    memset(r, 0, sizeof(*r));
}

const char *pm_rows_cell(const pm_rows *r, size_t row, size_t col)
{
    return row < r->nrows && col < r->ncols ? r->cells[row * r->ncols + col] : NULL;
}

int pm_rows_fetch(pm_conn *conn, const char *sql, const char *param, pm_rows *out, pm_error *err)
{
    memset(out, 0, sizeof(*out));
    const char *params[] = {param};
    int rc =
        conn->driver->query(conn, sql, param ? params : NULL, param ? 1 : 0, keep_row, out, err);
    if (rc == PM_ENOMEM && !(err && err->message))
        pm_error_set(err, PM_ENOMEM, "out of memory reading the schema");
    if (rc < 0)
        pm_rows_free(out);
    return rc;
}

char *pm_rows_join(const pm_rows *r, size_t first, size_t end, size_t col)
{
    pm_buf b = PM_BUF_INIT;
    for (size_t i = first; i < end && i < r->nrows; i++) {
        const char *v = pm_rows_cell(r, i, col);
        pm_buf_printf(&b, "%s%s", i > first ? ", " : "", v ? v : "?");
    }
    return pm_buf_detach(&b);
}

/* ==== Reading a schema ==== */

int pm_catalog_read(pm_conn *conn, pm_catalog *cat, const char *objects_sql,
                    int (*read_table)(pm_conn *conn, pm_catalog *cat, const char *table,
                                      pm_error *err),
                    pm_error *err)
{
    pm_rows objects;
    int rc = pm_rows_fetch(conn, objects_sql, NULL, &objects, err);
    for (size_t i = 0; rc == 0 && i < objects.nrows; i++) {
        const char *name = pm_rows_cell(&objects, i, 0), *kind = pm_rows_cell(&objects, i, 1);
        pm_catalog_object(cat, kind, name);
        if (strcmp(kind, "table") == 0)
            rc = read_table(conn, cat, name, err);
    }
    pm_rows_free(&objects);
    return rc;
}

/* ==== The catalog's common spellings ==== */

bool pm_catalog_truthy(const char *v)
{
    return v && (strcmp(v, "1") == 0 || strcmp(v, "t") == 0 || strcmp(v, "YES") == 0);
}

void pm_catalog_column(pm_catalog *cat, const char *table, const char *pos, const char *name,
                       const char *type, bool not_null, const char *def)
{
    if (def && strcmp(def, "NULL") == 0) /* MariaDB spells "no default" so */
        def = NULL;
    pm_catalog_entry(cat, table, PM_CATALOG_COLUMN, pos ? atol(pos) : 0, "column %s %s %s%s%s",
                     name, type && *type ? type : "ANY", not_null ? "NOT NULL" : "NULL",
                     def ? " DEFAULT " : "", def ? def : "");
}

const char *pm_catalog_on_delete(const char *action)
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
