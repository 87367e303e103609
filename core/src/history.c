/* history.c: the seaql_migrations history table. It stays compatible with
 * SeaORM (version VARCHAR PRIMARY KEY, applied_at BIGINT unix seconds) so a
 * database the Rust service migrated counts as up to date; our own nullable
 * columns (checksum, execution_ms) are added to a SeaORM table in place. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static const pm_column seaorm_columns[] = {
    {.name = "version", .type = PM_TYPE_STRING, .flags = PM_PRIMARY_KEY | PM_NOT_NULL},
    {.name = "applied_at", .type = PM_TYPE_BIGINT, .flags = PM_NOT_NULL},
};

/* Ours, nullable, ignored by SeaORM. Order matters: added in this order. */
static const pm_column own_columns[] = {
    {.name = "checksum", .type = PM_TYPE_STRING, .flags = PM_NULL},
    {.name = "execution_ms", .type = PM_TYPE_BIGINT, .flags = PM_NULL},
};

/* ==== Creating and upgrading ==== */

static int create_table(pm_db *db, pm_error *err)
{
    pm_column columns[PM_ARRAY_LEN(seaorm_columns) + PM_ARRAY_LEN(own_columns)];
    memcpy(columns, seaorm_columns, sizeof(seaorm_columns));
    memcpy(columns + PM_ARRAY_LEN(seaorm_columns), own_columns, sizeof(own_columns));
    pm_table table = {.name = PM_HISTORY_TABLE, .columns = columns, .ncolumns = PM_ARRAY_LEN(columns)};
    char *sql = NULL;
    int rc = pm__render_create_table(&sql, pm__db_dialect(db), &table, PM_IF_NOT_EXISTS, err);
    if (rc == 0)
        rc = pm__db_exec(db, sql, err);
    free(sql);
    return rc;
}

static int add_missing_columns(pm_db *db, pm_error *err)
{
    for (size_t i = 0; i < PM_ARRAY_LEN(own_columns); i++) {
        bool present = false;
        int rc = pm__db_has_column(db, PM_HISTORY_TABLE, own_columns[i].name, &present, err);
        if (rc < 0)
            return rc;
        if (present)
            continue;
        char *sql = NULL;
        rc = pm__render_add_column(&sql, pm__db_dialect(db), PM_HISTORY_TABLE, &own_columns[i], err);
        if (rc == 0)
            rc = pm__db_exec(db, sql, err);
        free(sql);
        if (rc < 0)
            return rc;
    }
    return 0;
}

int pm__history_ensure(pm_db *db, pm_error *err)
{
    int rc = pm__db_begin(db, err);
    if (rc < 0)
        return rc;
    bool exists = false;
    rc = pm__db_has_table(db, PM_HISTORY_TABLE, &exists, err);
    if (rc == 0)
        rc = exists ? add_missing_columns(db, err) : create_table(db, err);
    if (rc == 0)
        return pm__db_commit(db, err);
    pm__db_rollback(db, err);
    return rc;
}

/* ==== Reading ==== */

typedef struct {
    pm_history *h;
    size_t cap;
} reader;

static int64_t parse_int(const char *s, int64_t fallback)
{
    if (!s || !*s)
        return fallback;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    return errno || *end ? fallback : (int64_t)v;
}

static int read_row(void *ctx, size_t ncolumns, const char *const *values)
{
    reader *r = ctx;
    if (!values[0])
        return 0; /* version is the primary key: cannot be NULL */
    if (r->h->count == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 16;
        pm_history_row *rows = realloc(r->h->rows, cap * sizeof(*rows));
        if (!rows)
            return PM_ENOMEM;
        r->h->rows = rows;
        r->cap = cap;
    }
    pm_history_row *row = &r->h->rows[r->h->count];
    row->version = pm__strdup(values[0]);
    row->applied_at = parse_int(values[1], 0);
    row->checksum = ncolumns > 2 ? pm__strdup(values[2]) : NULL;
    row->execution_ms = ncolumns > 3 ? parse_int(values[3], -1) : -1;
    if (!row->version || (ncolumns > 2 && values[2] && !row->checksum)) {
        free(row->version);
        free(row->checksum);
        return PM_ENOMEM;
    }
    r->h->count++;
    return 0;
}

static int compare_rows(const void *a, const void *b)
{
    return strcmp(((const pm_history_row *)a)->version, ((const pm_history_row *)b)->version);
}

int pm__history_read(pm_db *db, pm_history *out, pm_error *err)
{
    out->rows = NULL;
    out->count = 0;
    bool exists = false, upgraded = false;
    int rc = pm__db_has_table(db, PM_HISTORY_TABLE, &exists, err);
    if (rc < 0 || !exists)
        return rc;
    rc = pm__db_has_column(db, PM_HISTORY_TABLE, "execution_ms", &upgraded, err);
    if (rc < 0)
        return rc;
    const pm_dialect *d = pm__db_dialect(db);
    pm_buf sql = PM_BUF_INIT;
    pm_buf_append(&sql, "SELECT ");
    pm__render_ident(&sql, d, "version");
    pm_buf_append(&sql, ", ");
    pm__render_ident(&sql, d, "applied_at");
    for (size_t i = 0; upgraded && i < PM_ARRAY_LEN(own_columns); i++) {
        pm_buf_append(&sql, ", ");
        pm__render_ident(&sql, d, own_columns[i].name);
    }
    pm_buf_append(&sql, " FROM ");
    pm__render_ident(&sql, d, PM_HISTORY_TABLE);
    if (sql.oom)
        return pm_error_set(err, PM_ENOMEM, "out of memory");
    reader r = {out, 0};
    rc = pm__db_query(db, pm_buf_cstr(&sql), NULL, 0, read_row, &r, err);
    pm_buf_free(&sql);
    if (rc == PM_ENOMEM && !(err && err->message))
        pm_error_set(err, PM_ENOMEM, "out of memory reading the migration history");
    if (rc < 0) {
        pm__history_free(out);
        return rc;
    }
    if (out->count > 1)
        qsort(out->rows, out->count, sizeof(*out->rows), compare_rows);
    return 0;
}

void pm__history_free(pm_history *h)
{
    for (size_t i = 0; i < h->count; i++) {
        free(h->rows[i].version);
        free(h->rows[i].checksum);
    }
    free(h->rows);
    h->rows = NULL;
    h->count = 0;
}

const pm_history_row *pm__history_find(const pm_history *h, const char *version)
{
    pm_history_row key = {.version = (char *)version};
    if (!h->count)
        return NULL;
    return bsearch(&key, h->rows, h->count, sizeof(*h->rows), compare_rows);
}

/* ==== Writing ==== */

/* Renders the fixed-shape statements: the table and column names are ours. */
static char *history_sql(pm_db *db, const char *fmt)
{
    const pm_dialect *d = pm__db_dialect(db);
    pm_buf b = PM_BUF_INIT;
    for (const char *p = fmt; *p; p++) {
        if (*p == '@') { /* @name@ is a quoted identifier */
            const char *end = strchr(p + 1, '@');
            char *ident = pm__strndup(p + 1, (size_t)(end - p - 1));
            if (!ident) {
                pm_buf_free(&b);
                return NULL;
            }
            pm__render_ident(&b, d, ident);
            free(ident);
            p = end;
        } else {
            pm_buf_appendc(&b, *p);
        }
    }
    return pm_buf_detach(&b);
}

static int run_history(pm_db *db, const char *fmt, const char *const *params, size_t nparams,
                       pm_row_fn row, void *ctx, pm_error *err)
{
    char *sql = history_sql(db, fmt);
    if (!sql)
        return pm_error_set(err, PM_ENOMEM, "out of memory");
    int rc = pm__db_query(db, sql, params, nparams, row, ctx, err);
    free(sql);
    return rc;
}

int pm__history_insert(pm_db *db, const char *version, int64_t applied_at, const char *checksum,
                       int64_t execution_ms, pm_error *err)
{
    char at[24], ms[24];
    snprintf(at, sizeof(at), "%" PRId64, applied_at);
    snprintf(ms, sizeof(ms), "%" PRId64, execution_ms);
    const char *params[] = {version, at, checksum, ms};
    const char *server_elapsed = pm__db_dialect(db)->elapsed_ms;
    char *elapsed = server_elapsed ? pm__format(server_elapsed, "$4") : pm__strdup("$4");
    char *fmt = elapsed ? pm__format("INSERT INTO @" PM_HISTORY_TABLE "@ (@version@, @applied_at@, "
                                     "@checksum@, @execution_ms@) VALUES ($1, $2, $3, %s)",
                                     elapsed)
                        : NULL;
    free(elapsed);
    if (!fmt)
        return pm_error_set(err, PM_ENOMEM, "out of memory");
    int rc = run_history(db, fmt, params, 4, NULL, NULL, err);
    free(fmt);
    return rc;
}

int pm__history_delete(pm_db *db, const char *version, pm_error *err)
{
    const char *params[] = {version};
    return run_history(db, "DELETE FROM @" PM_HISTORY_TABLE "@ WHERE @version@ = $1", params, 1,
                       NULL, NULL, err);
}

static int note_row(void *ctx, size_t ncolumns, const char *const *values)
{
    (void)ncolumns;
    (void)values;
    *(bool *)ctx = true;
    return 0;
}

int pm__history_contains(pm_db *db, const char *version, bool *out, pm_error *err)
{
    const char *params[] = {version};
    *out = false;
    return run_history(db, "SELECT 1 FROM @" PM_HISTORY_TABLE "@ WHERE @version@ = $1", params, 1,
                       note_row, out, err);
}
