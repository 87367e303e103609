/* history.c: the seaql_migrations history table. It stays compatible with
 * SeaORM (version VARCHAR PRIMARY KEY, applied_at BIGINT unix seconds) so a
 * database the Rust service migrated counts as up to date; our own nullable
 * columns (checksum, execution_ms, state, error_message, error_statement,
 * apply_order) are added to a SeaORM table in place. */
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

/* Ours, nullable, ignored by SeaORM, added to an older table in this order.
 * state is NULL or "applied" for an applied migration (SeaORM's rows have
 * NULL), "started" while a migration that runs without a transaction is
 * running (left behind if its process dies) and "failed" when it failed;
 * error_* say why; apply_order is the order migrations were applied in. */
static const pm_column own_columns[] = {
    {.name = "checksum", .type = PM_TYPE_STRING, .flags = PM_NULL},
    {.name = "execution_ms", .type = PM_TYPE_BIGINT, .flags = PM_NULL},
    {.name = "state", .type = PM_TYPE_STRING, .length = 16, .flags = PM_NULL},
    {.name = "error_message", .type = PM_TYPE_TEXT, .flags = PM_NULL},
    {.name = "error_statement", .type = PM_TYPE_TEXT, .flags = PM_NULL},
    {.name = "apply_order", .type = PM_TYPE_BIGINT, .flags = PM_NULL},
};
#define PM_LAST_OWN_COLUMN "apply_order"

/* ==== The table's name ==== */

/* seaql_migrations, qualified by the schema pinned when the session
 * started (pm__db_history_schema), so that what a migration does to the
 * session (SET search_path, USE, RESET ALL) cannot redirect the history. */
static void render_table(pm_buf *b, pm_db *db)
{
    const pm_dialect *d = pm__db_dialect(db);
    const char *schema = pm__db_history_schema(db);
    if (schema) {
        pm__render_ident(b, d, schema);
        pm_buf_appendc(b, '.');
    }
    pm__render_ident(b, d, PM_HISTORY_TABLE);
}

/* ==== Which of its columns the table has ==== */

/* The history table as the catalog describes it: whether it exists and
 * which of SeaORM's and our columns it has. */
typedef struct shape {
    bool exists;
    bool seaorm[PM_ARRAY_LEN(seaorm_columns)];
    bool own[PM_ARRAY_LEN(own_columns)];
} shape;

static void mark_column(bool *present, const pm_column *columns, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(columns[i].name, name) == 0)
            present[i] = true;
}

static int take_column(void *ctx, size_t ncolumns, const char *const *values)
{
    shape *s = ctx;
    s->exists = true;
    if (ncolumns && values[0]) {
        mark_column(s->seaorm, seaorm_columns, PM_ARRAY_LEN(seaorm_columns), values[0]);
        mark_column(s->own, own_columns, PM_ARRAY_LEN(own_columns), values[0]);
    }
    return 0;
}

/* The backend's one query for a table's columns (its pinned schema's when
 * there is one), or NULL. */
static const char *columns_query(pm_db *db, const char **schema)
{
    const pm_backend *b = pm__db_backend(db);
    *schema = pm__db_history_schema(db);
    return *schema ? PM__BACKEND_HAS(b, 8, table_columns_in) : PM__BACKEND_HAS(b, 8, table_columns);
}

/* Fills s in one round trip; returns 1 when the backend has no such query
 * (the caller then asks has_table/has_column one at a time). */
static int read_shape(pm_db *db, shape *s, pm_error *err)
{
    memset(s, 0, sizeof(*s));
    const char *schema = NULL;
    const char *sql = columns_query(db, &schema);
    if (!sql)
        return 1;
    const char *params[] = {schema, PM_HISTORY_TABLE};
    return schema ? pm__db_query(db, sql, params, 2, take_column, s, err)
                  : pm__db_query(db, sql, params + 1, 1, take_column, s, err);
}

/* The answers read_shape gave, or the driver's checks when it gave none. */
static int has_column(pm_db *db, bool known, const pm_column *columns, const bool *present,
                      size_t i, bool *out, pm_error *err)
{
    if (known) {
        *out = present[i];
        return 0;
    }
    return pm__db_has_column(db, PM_HISTORY_TABLE, columns[i].name, out, err);
}

/* ==== Creating and upgrading ==== */

static int create_table(pm_db *db, pm_error *err)
{
    pm_column columns[PM_ARRAY_LEN(seaorm_columns) + PM_ARRAY_LEN(own_columns)];
    memcpy(columns, seaorm_columns, sizeof(seaorm_columns));
    memcpy(columns + PM_ARRAY_LEN(seaorm_columns), own_columns, sizeof(own_columns));
    pm_table table = {
        .name = PM_HISTORY_TABLE, .columns = columns, .ncolumns = PM_ARRAY_LEN(columns)};
    char *sql = NULL;
    int rc = pm__render_create_table(&sql, pm__db_dialect(db), &table, PM_IF_NOT_EXISTS, err);
    if (rc == 0)
        rc = pm__db_exec(db, sql, err);
    free(sql);
    return rc;
}

static int add_missing_columns(pm_db *db, const shape *s, bool known, pm_error *err)
{
    for (size_t i = 0; i < PM_ARRAY_LEN(own_columns); i++) {
        bool present = false;
        int rc = has_column(db, known, own_columns, s->own, i, &present, err);
        if (rc < 0)
            return rc;
        if (present)
            continue;
        char *sql = NULL;
        rc =
            pm__render_add_column(&sql, pm__db_dialect(db), PM_HISTORY_TABLE, &own_columns[i], err);
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
    shape s;
    rc = read_shape(db, &s, err);
    bool known = rc == 0;
    if (rc == 1)
        rc = pm__db_has_table(db, PM_HISTORY_TABLE, &s.exists, err);
    if (rc == 0)
        rc = s.exists ? add_missing_columns(db, &s, known, err) : create_table(db, err);
    if (rc == 0)
        return pm__db_commit(db, err);
    pm__db_rollback(db, err);
    return rc;
}

/* ==== Reading ==== */

/* Whether s is a whole decimal number (an optional '-', then digits), put
 * in *out. Plain digits, what the history holds, are read without strtoll. */
static bool strict_int(const char *s, int64_t *out)
{
    size_t n = strspn(s, "0123456789");
    if (n > 0 && s[n] == '\0' && n <= 18) {
        int64_t v = 0;
        for (size_t i = 0; i < n; i++)
            v = v * 10 + (s[i] - '0');
        *out = v;
        return true;
    }
    if (s[0] != '-' || !s[1] || strspn(s + 1, "0123456789") != strlen(s + 1))
        return false;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || *end)
        return false;
    *out = (int64_t)v;
    return true;
}

/* The integer in s, or fallback for NULL or anything but an integer. */
static int64_t parse_int(const char *s, int64_t fallback)
{
    int64_t v;
    return s && strict_int(s, &v) ? v : fallback;
}

/* The text columns of a row: version, checksum, state, error_message,
 * error_statement (their places in the SELECT of pm__history_read). */
static const size_t text_columns[] = {0, 2, 4, 5, 6};
#define PM_TEXT_COLUMNS (sizeof(text_columns) / sizeof(text_columns[0]))

/* Copies the row's strings into one allocation, version first, so a row
 * costs one malloc and pm__history_free frees it through row->version. */
static int copy_strings(pm_history_row *row, size_t ncolumns, const char *const *values)
{
    size_t lengths[PM_TEXT_COLUMNS], total = 0;
    for (size_t k = 0; k < PM_TEXT_COLUMNS; k++) {
        size_t i = text_columns[k];
        lengths[k] = i < ncolumns && values[i] ? strlen(values[i]) + 1 : 0;
        total += lengths[k];
    }
    char *block = malloc(total), *p = block;
    if (!block)
        return PM_ENOMEM;
    char **fields[PM_TEXT_COLUMNS] = {&row->version, &row->checksum, &row->state,
                                      &row->error_message, &row->error_statement};
    for (size_t k = 0; k < PM_TEXT_COLUMNS; k++) {
        if (!lengths[k])
            continue;
        memcpy(p, values[text_columns[k]], lengths[k]);
        *fields[k] = p;
        p += lengths[k];
    }
    return 0;
}

static const char *column_value(size_t ncolumns, const char *const *values, size_t i)
{
    return i < ncolumns ? values[i] : NULL;
}

/* Sets err to "the history is damaged" for the row named by its version,
 * or by its place when it has none. */
#define PM_DAMAGED_HINT                                                                            \
    "the table " PM_HISTORY_TABLE " was edited by hand or by another tool; correct the row "       \
    "so that it says what was applied, then run the command again"

static int damaged(pm_error *err, const char *version, size_t rownum, const char *problem,
                   const char *value)
{
    char where[48];
    snprintf(where, sizeof(where), "row %zu", rownum);
    pm_error_set(err, PM_EHISTORY, "the migration history is damaged: %s%s: %s%s%.60s%s",
                 version ? "the row of " : "", version ? version : where, problem,
                 value ? " \"" : "", value ? value : "", value ? "\"" : "");
    pm_error_set_detail(err, NULL, PM_DAMAGED_HINT);
    if (version)
        pm__error_set_migration(err, version);
    return PM_EHISTORY;
}

/* Checks the values of one row: a version, applied_at a whole number, a
 * state poblysh writes (or NULL, as SeaORM leaves it), and whole numbers
 * (or NULL) for execution_ms and apply_order. */
static int check_row(size_t rownum, size_t ncolumns, const char *const *values, pm_error *err)
{
    const char *version = column_value(ncolumns, values, 0);
    const char *at = column_value(ncolumns, values, 1);
    const char *ms = column_value(ncolumns, values, 3);
    const char *state = column_value(ncolumns, values, 4);
    const char *order = column_value(ncolumns, values, 7);
    int64_t v;
    if (!version)
        return damaged(err, NULL, rownum, "its version is NULL", NULL);
    if (!*version)
        return damaged(err, NULL, rownum, "its version is empty", NULL);
    if (!at)
        return damaged(err, version, rownum, "applied_at is NULL", NULL);
    if (!strict_int(at, &v))
        return damaged(err, version, rownum, "applied_at is not a whole number of seconds:", at);
    if (ms && (!strict_int(ms, &v) || v < 0))
        return damaged(err, version, rownum,
                       "execution_ms is not a whole number of milliseconds:", ms);
    if (order && (!strict_int(order, &v) || v < 0))
        return damaged(err, version, rownum, "apply_order is not a whole number:", order);
    if (state && strcmp(state, "applied") != 0 && strcmp(state, "started") != 0 &&
        strcmp(state, "failed") != 0)
        return damaged(err, version, rownum, "its state is not applied, started or failed but",
                       state);
    return 0;
}

int pm__history_decode(pm_history_row *out, size_t rownum, size_t ncolumns,
                       const char *const *values, pm_error *err)
{
    memset(out, 0, sizeof(*out));
    int rc = check_row(rownum, ncolumns, values, err);
    if (rc < 0)
        return rc;
    if (copy_strings(out, ncolumns, values) < 0)
        return pm_error_set(err, PM_ENOMEM, "out of memory reading the migration history");
    out->applied_at = parse_int(column_value(ncolumns, values, 1), 0);
    out->execution_ms = parse_int(column_value(ncolumns, values, 3), -1);
    out->apply_order = parse_int(column_value(ncolumns, values, 7), -1);
    return 0;
}

typedef struct {
    pm_history *h;
    size_t cap;
    pm_error *err;
} reader;

static int read_row(void *ctx, size_t ncolumns, const char *const *values)
{
    reader *r = ctx;
    if (r->h->count == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 16;
        pm_history_row *rows = realloc(r->h->rows, cap * sizeof(*rows));
        if (!rows)
            return PM_ENOMEM;
        r->h->rows = rows;
        r->cap = cap;
    }
    int rc =
        pm__history_decode(&r->h->rows[r->h->count], r->h->count + 1, ncolumns, values, r->err);
    if (rc < 0)
        return rc;
    r->h->count++;
    return 0;
}

static int compare_rows(const void *a, const void *b)
{
    return pm_migration_name_cmp(((const pm_history_row *)a)->version,
                                 ((const pm_history_row *)b)->version);
}

/* Rows usually come back in version order already (SQLite returns them in
 * insertion order, which is version order for a history written by up):
 * checking costs one comparison per row, sorting n log n. */
static bool sorted_by_version(const pm_history *h)
{
    for (size_t i = 1; i < h->count; i++)
        if (pm_migration_name_cmp(h->rows[i - 1].version, h->rows[i].version) > 0)
            return false;
    return true;
}

/* SeaORM's two columns are the least a history has: without them a row
 * cannot say what was applied (and SQLite would read a double-quoted
 * missing column as a string). */
static int check_seaorm_columns(pm_db *db, const shape *s, bool known, pm_error *err)
{
    for (size_t i = 0; i < PM_ARRAY_LEN(seaorm_columns); i++) {
        bool present = false;
        int rc = has_column(db, known, seaorm_columns, s->seaorm, i, &present, err);
        if (rc < 0)
            return rc;
        if (!present) {
            pm_error_set(err, PM_EHISTORY,
                         "the migration history is damaged: the table " PM_HISTORY_TABLE
                         " has no column %s (SeaORM's table has version and applied_at)",
                         seaorm_columns[i].name);
            pm_error_set_detail(err, NULL,
                                "restore the table from a backup, or add the column back "
                                "(version VARCHAR primary key, applied_at BIGINT: unix seconds) "
                                "with the values it held");
            return PM_EHISTORY;
        }
    }
    return 0;
}

int pm__history_read(pm_db *db, pm_history *out, pm_error *err)
{
    out->rows = NULL;
    out->count = 0;
    bool upgraded = false;
    shape s;
    int rc = read_shape(db, &s, err);
    bool known = rc == 0;
    if (rc == 1)
        rc = pm__db_has_table(db, PM_HISTORY_TABLE, &s.exists, err);
    if (rc < 0 || !s.exists)
        return rc;
    rc = check_seaorm_columns(db, &s, known, err);
    /* Asked one by one: our columns are added in order, so when the last
     * is there, all are. */
    if (rc == 0 && !known)
        rc = pm__db_has_column(db, PM_HISTORY_TABLE, PM_LAST_OWN_COLUMN, &upgraded, err);
    if (rc < 0)
        return rc;
    const pm_dialect *d = pm__db_dialect(db);
    pm_buf sql = PM_BUF_INIT;
    pm_buf_append(&sql, "SELECT ");
    pm__render_ident(&sql, d, "version");
    pm_buf_append(&sql, ", ");
    pm__render_ident(&sql, d, "applied_at");
    /* An older table (read by status, which never upgrades): NULL for each
     * column it lacks, so read_row finds every value in its place. */
    for (size_t i = 0; i < PM_ARRAY_LEN(own_columns); i++) {
        bool present = known ? s.own[i] : upgraded;
        if (!known && !upgraded &&
            (rc = has_column(db, false, own_columns, s.own, i, &present, err)) < 0) {
            pm_buf_free(&sql);
            return rc;
        }
        pm_buf_append(&sql, ", ");
        if (present)
            pm__render_ident(&sql, d, own_columns[i].name);
        else
            pm_buf_append(&sql, "NULL");
    }
    pm_buf_append(&sql, " FROM ");
    render_table(&sql, db);
    if (sql.oom)
        return pm_error_set(err, PM_ENOMEM, "out of memory");
    reader r = {out, 0, err};
    rc = pm__db_query(db, pm_buf_cstr(&sql), NULL, 0, read_row, &r, err);
    pm_buf_free(&sql);
    if (rc == PM_ENOMEM && !(err && err->message))
        pm_error_set(err, PM_ENOMEM, "out of memory reading the migration history");
    if (rc < 0) {
        pm__history_free(out);
        return rc;
    }
    if (!sorted_by_version(out))
        qsort(out->rows, out->count, sizeof(*out->rows), compare_rows);
    return 0;
}

void pm__history_free(pm_history *h)
{
    for (size_t i = 0; i < h->count; i++)
        free(h->rows[i].version); /* the row's strings, in one block (copy_strings) */
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
            if (strcmp(ident, PM_HISTORY_TABLE) == 0)
                render_table(&b, db);
            else
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

/* Decimal text of v, or NULL for a negative v (SQL NULL). */
static const char *int_param(char buf[24], int64_t v)
{
    if (v < 0)
        return NULL;
    snprintf(buf, 24, "%" PRId64, v);
    return buf;
}

int pm__history_insert(pm_db *db, const pm_history_row *row, pm_error *err)
{
    char at[24], ms[24], order[24];
    const char *params[] = {
        row->version,      int_param(at, row->applied_at),     row->checksum,
        row->state,        int_param(order, row->apply_order), int_param(ms, row->execution_ms),
        row->error_message};
    /* An applied row's time is partly measured by the server when the driver
     * sends the migration at commit (the backend's elapsed_ms). */
    const char *server_elapsed = pm__db_backend(db)->elapsed_ms;
    bool use_server = server_elapsed && row->execution_ms >= 0;
    char *elapsed = use_server ? pm__format(server_elapsed, "$6") : pm__strdup("$6");
    char *fmt = elapsed ? pm__format("INSERT INTO @" PM_HISTORY_TABLE "@ (@version@, @applied_at@, "
                                     "@checksum@, @state@, @apply_order@, @execution_ms@, "
                                     "@error_message@) VALUES ($1, $2, $3, $4, $5, %s, $7)",
                                     elapsed)
                        : NULL;
    free(elapsed);
    if (!fmt)
        return pm_error_set(err, PM_ENOMEM, "out of memory");
    int rc = run_history(db, fmt, params, 7, NULL, NULL, err);
    free(fmt);
    return rc;
}

int pm__history_mark_applied(pm_db *db, const char *version, int64_t applied_at,
                             const char *checksum, int64_t execution_ms, pm_error *err)
{
    char at[24], ms[24];
    const char *params[] = {version, int_param(at, applied_at), checksum,
                            int_param(ms, execution_ms)};
    return run_history(db,
                       "UPDATE @" PM_HISTORY_TABLE "@ SET @state@ = 'applied', @applied_at@ = $2, "
                       "@checksum@ = $3, @execution_ms@ = $4, @error_message@ = NULL, "
                       "@error_statement@ = NULL WHERE @version@ = $1",
                       params, 4, NULL, NULL, err);
}

int pm__history_mark_failed(pm_db *db, const char *version, const char *message,
                            const char *statement, pm_error *err)
{
    const char *params[] = {version, message, statement};
    return run_history(db,
                       "UPDATE @" PM_HISTORY_TABLE
                       "@ SET @state@ = 'failed', @error_message@ = $2, "
                       "@error_statement@ = $3 WHERE @version@ = $1",
                       params, 3, NULL, NULL, err);
}

int pm__history_set_checksum(pm_db *db, const char *version, const char *checksum, pm_error *err)
{
    const char *params[] = {version, checksum};
    return run_history(db, "UPDATE @" PM_HISTORY_TABLE "@ SET @checksum@ = $2 WHERE @version@ = $1",
                       params, 2, NULL, NULL, err);
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

static int take_int(void *ctx, size_t ncolumns, const char *const *values)
{
    *(int64_t *)ctx = ncolumns ? parse_int(values[0], 0) : 0;
    return 0;
}

int pm__history_max_order(pm_db *db, int64_t *out, pm_error *err)
{
    *out = 0;
    return run_history(db, "SELECT COALESCE(MAX(@apply_order@), 0) FROM @" PM_HISTORY_TABLE "@",
                       NULL, 0, take_int, out, err);
}

/* Both answers of one row: whether version is there, and the largest
 * apply_order. */
typedef struct recheck {
    bool *present;
    int64_t *max_order;
} recheck;

static int take_recheck(void *ctx, size_t ncolumns, const char *const *values)
{
    recheck *r = ctx;
    *r->present = ncolumns >= 2 && parse_int(values[0], 0) > 0;
    *r->max_order = ncolumns >= 2 ? parse_int(values[1], 0) : 0;
    return 0;
}

int pm__history_recheck(pm_db *db, const char *version, bool *present, int64_t *max_order,
                        pm_error *err)
{
    const char *params[] = {version};
    recheck r = {present, max_order};
    *present = false;
    *max_order = 0;
    return run_history(db,
                       "SELECT (SELECT COUNT(*) FROM @" PM_HISTORY_TABLE "@ WHERE @version@ = $1), "
                       "(SELECT COALESCE(MAX(@apply_order@), 0) FROM @" PM_HISTORY_TABLE "@)",
                       params, 1, take_recheck, &r, err);
}

int pm__history_contains(pm_db *db, const char *version, bool *out, pm_error *err)
{
    const char *params[] = {version};
    *out = false;
    return run_history(db, "SELECT 1 FROM @" PM_HISTORY_TABLE "@ WHERE @version@ = $1", params, 1,
                       note_row, out, err);
}

/* Keeps the first row's two columns, malloc'd (NULL for SQL NULL). */
static int take_two(void *ctx, size_t ncolumns, const char *const *values)
{
    char **out = ctx;
    for (size_t i = 0; i < 2; i++) {
        free(out[i]);
        out[i] = i < ncolumns && values[i] ? pm__strdup(values[i]) : NULL;
        if (i < ncolumns && values[i] && !out[i])
            return PM_ENOMEM;
    }
    return 0;
}

int pm__history_state(pm_db *db, const char *version, char **state, char **message, pm_error *err)
{
    const char *params[] = {version};
    char *out[2] = {NULL, NULL};
    int rc = run_history(
        db, "SELECT @state@, @error_message@ FROM @" PM_HISTORY_TABLE "@ WHERE @version@ = $1",
        params, 1, take_two, out, err);
    if (rc == PM_ENOMEM)
        rc = pm_error_set(err, PM_ENOMEM, "out of memory");
    if (rc < 0) {
        free(out[0]);
        free(out[1]);
        out[0] = out[1] = NULL;
    }
    *state = out[0];
    *message = out[1];
    return rc;
}
