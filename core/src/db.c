/* db.c: opening a database by URL through the driver registry, and the thin
 * wrappers through which the core calls a driver. The wrappers scrub the
 * URL's secrets (found and scrubbed by url.c) from every error a driver
 * reports, because database libraries echo connection details in their
 * messages. */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

/* ==== Registry ==== */

static const pm_driver *find_driver(const pm_driver *const *drivers, const char *scheme)
{
    for (size_t i = 0; drivers[i]; i++)
        for (const char *const *s = drivers[i]->schemes; *s; s++)
            if (strcmp(*s, scheme) == 0)
                return drivers[i];
    return NULL;
}

static char *schemes_of(const pm_driver *const *drivers)
{
    pm_buf b = PM_BUF_INIT;
    for (size_t i = 0; drivers[i]; i++)
        for (const char *const *s = drivers[i]->schemes; *s; s++)
            pm_buf_printf(&b, "%s%s:", b.len ? ", " : "", *s);
    return pm_buf_detach(&b);
}

char *pm_db_known_schemes(void)
{
    return schemes_of(pm__builtin_drivers());
}

/* ==== Scrubbing ==== */

static int scrub(const pm_db *db, int rc, pm_error *err)
{
    if (rc < 0)
        pm__secrets_scrub(&db->secrets, err);
    return rc;
}

/* ==== Open and close ==== */

/* Ends an open: on success db takes the driver's connection and goes to
 * *out; on failure (rc < 0, no connection made) db is freed. */
static int adopt_connection(pm_db *db, int rc, pm_db **out)
{
    if (rc < 0) {
        db->conn = NULL;
        pm_db_close(db);
        return rc;
    }
    db->conn->driver = db->driver;
    *out = db;
    return 0;
}

int pm__db_open_with(pm_db **out, const pm_driver *const *drivers, const char *url,
                     const pm_db_options *opts, pm_error *err)
{
    *out = NULL;
    pm_url *parsed = NULL;
    int rc = pm_url_parse(&parsed, url, err);
    if (rc < 0)
        return rc;
    const pm_driver *driver = find_driver(drivers, parsed->scheme);
    if (!driver) {
        char *known = schemes_of(drivers);
        char *shown = pm_url_redact(url);
        rc = pm_error_set(err, PM_ENODRIVER,
                          "no driver for URL scheme \"%s:\" in %s; this build knows: %s",
                          parsed->scheme, shown ? shown : "the URL", known ? known : "(none)");
        free(known);
        free(shown);
        pm_url_free(parsed);
        return rc;
    }
    if (driver->version < 4 || driver->version > PM_DRIVER_VERSION) {
        rc = pm_error_set(err, PM_ENODRIVER, "driver %s has version %u; this build knows 4..%d",
                          driver->name, driver->version, PM_DRIVER_VERSION);
        pm_url_free(parsed);
        return rc;
    }
    pm_db *db = calloc(1, sizeof(*db));
    if (!db) {
        pm_url_free(parsed);
        return pm_error_set(err, PM_ENOMEM, "out of memory");
    }
    db->driver = driver;
    db->url = pm_url_redact(url);
    if (!db->url || pm__secrets_find(&db->secrets, url) < 0) {
        pm_url_free(parsed);
        pm_db_close(db);
        return pm_error_set(err, PM_ENOMEM, "out of memory");
    }
    pm_connect_options copts = {opts ? opts->wait_seconds : 0};
    rc = scrub(db, driver->open(&db->conn, parsed, &copts, err), err);
    pm_url_free(parsed);
    if (rc == 0 && (rc = pm__dialect_check(db->conn->dialect, err)) < 0) {
        pm_db_close(db);
        return rc;
    }
    return adopt_connection(db, rc, out);
}

int pm__db_open_image(pm_db **out, const pm_driver *driver, const void *image, size_t size,
                      pm_error *err)
{
    *out = NULL;
    if (!PM__DRIVER_HAS(driver, 5, image_open))
        return pm_error_set(err, PM_EUNSUPPORTED, "driver %s cannot copy a database in memory",
                            driver->name);
    pm_db *db = calloc(1, sizeof(*db));
    if (!db || !(db->url = pm__format("%s::memory:", driver->schemes[0]))) {
        free(db);
        return pm_error_set(err, PM_ENOMEM, "out of memory");
    }
    db->driver = driver;
    return adopt_connection(db, driver->image_open(&db->conn, image, size, err), out);
}

int pm_db_open(pm_db **out, const char *url, const pm_db_options *opts, pm_error *err)
{
    if (!out)
        return pm_error_set(err, PM_EINVAL, "pm_db_open: out is NULL");
    return pm__db_open_with(out, pm__builtin_drivers(), url, opts, err);
}

void pm_db_close(pm_db *db)
{
    if (!db)
        return;
    if (db->conn)
        db->driver->close(db->conn);
    free(db->url);
    pm__secrets_clear(&db->secrets);
    free(db->scratch);
    free(db->scratch_home);
    free(db);
}

const char *pm_db_url(const pm_db *db)
{
    return db->url;
}

const char *pm_db_driver_name(const pm_db *db)
{
    return db->driver->name;
}

/* ==== Schema ==== */

int pm__db_read_catalog(pm_db *db, pm_catalog **out, pm_error *err)
{
    *out = NULL;
    if (!db->driver->read_schema)
        return pm_error_set(err, PM_EUNSUPPORTED, "the %s driver cannot read the schema",
                            db->driver->name);
    int rc = pm__catalog_new(out, err);
    if (rc == 0)
        rc = scrub(db, db->driver->read_schema(db->conn, *out, err), err);
    if (rc < 0) {
        pm__catalog_free(*out);
        *out = NULL;
    }
    return rc;
}

int pm_db_schema(pm_db *db, char **out, pm_error *err)
{
    *out = NULL;
    pm_catalog *cat = NULL;
    int rc = pm__db_read_catalog(db, &cat, err);
    if (rc == 0)
        rc = pm__catalog_text(cat, out, err);
    pm__catalog_free(cat);
    return rc;
}

static int run_format(pm_db *db, const char *fmt, const char *name, pm_error *err)
{
    char *sql = pm__format(fmt, name, name);
    if (!sql)
        return pm_error_set(err, PM_ENOMEM, "out of memory");
    int rc = pm__db_exec(db, sql, err);
    free(sql);
    return rc;
}

static int take_home(void *ctx, size_t n, const char *const *values)
{
    pm_db *db = ctx;
    if (n && values[0] && !db->scratch_home)
        db->scratch_home = pm__strdup(values[0]);
    return 0;
}

int pm_db_scratch_begin(pm_db *db, pm_error *err)
{
    const pm_dialect *d = pm__db_dialect(db);
    if (!d->scratch_create)
        return pm_error_set(err, PM_EUNSUPPORTED,
                            "%s has no scratch schema: verify SQLite migrations on sqlite::memory:",
                            d->name);
    if (db->scratch)
        return pm_error_set(err, PM_EINVAL, "a scratch schema is already in use");
    if (strcmp(d->name, "mysql") == 0) {
        free(db->scratch_home);
        db->scratch_home = NULL;
        int hrc = db->driver->query(db->conn, "SELECT DATABASE()", NULL, 0, take_home, db, err);
        if (hrc < 0)
            return scrub(db, hrc, err);
    }
    db->scratch = pm__format("poblysh_verify_%ld_%ld", (long)getpid(), (long)time(NULL));
    if (!db->scratch)
        return pm_error_set(err, PM_ENOMEM, "out of memory");
    int rc = run_format(db, d->scratch_create, db->scratch, err);
    if (rc < 0) {
        free(db->scratch);
        db->scratch = NULL;
    }
    return rc;
}

int pm_db_scratch_end(pm_db *db, pm_error *err)
{
    if (!db->scratch)
        return 0;
    int rc = run_format(db, pm__db_dialect(db)->scratch_drop, db->scratch, err);
    free(db->scratch);
    db->scratch = NULL;
    if (rc == 0 && db->scratch_home)
        rc = run_format(db, "USE `%s`", db->scratch_home, err);
    free(db->scratch_home);
    db->scratch_home = NULL;
    return rc;
}

/* ==== Connection facts, public ==== */

bool pm_db_transactional_ddl(const pm_db *db)
{
    return (db->conn->flags & PM_CONN_TRANSACTIONAL_DDL) != 0;
}

void *pm_db_native_handle(pm_db *db)
{
    return db->driver->native_handle ? db->driver->native_handle(db->conn) : NULL;
}

void pm_db_interrupt(pm_db *db)
{
    db->interrupted = 1;
    if (db->driver->version >= 2 && db->driver->cancel && db->conn)
        db->driver->cancel(db->conn);
}

bool pm_db_interrupted(const pm_db *db)
{
    return db->interrupted != 0;
}

int pm_db_exec(pm_db *db, const char *sql, pm_error *err)
{
    return pm__db_exec(db, sql, err);
}

/* ==== Connection facts ==== */

const pm_dialect *pm__db_dialect(const pm_db *db)
{
    return db->conn->dialect;
}

unsigned int pm__db_flags(const pm_db *db)
{
    return db->conn->flags;
}

/* ==== Dry run ==== */

void pm__db_record(pm_db *db, pm_sql_fn fn, void *ctx)
{
    db->record = fn;
    db->record_ctx = ctx;
    db->record_migration = NULL;
}

void pm__db_record_migration(pm_db *db, const char *migration)
{
    db->record_migration = migration;
}

bool pm__db_recording(const pm_db *db)
{
    return db->record != NULL;
}

/* sql with $1..$n written in as string literals, for a dry run's output. */
static char *with_literals(const char *sql, const char *const *params, size_t nparams)
{
    pm_buf b = PM_BUF_INIT;
    for (const char *p = sql; *p;) {
        char *end;
        long k = p[0] == '$' ? strtol(p + 1, &end, 10) : 0;
        if (k >= 1 && (size_t)k <= nparams) {
            if (!params[k - 1]) {
                pm_buf_append(&b, "NULL");
            } else {
                pm_buf_appendc(&b, '\'');
                for (const char *v = params[k - 1]; *v; v++) {
                    if (*v == '\'')
                        pm_buf_appendc(&b, '\'');
                    pm_buf_appendc(&b, *v);
                }
                pm_buf_appendc(&b, '\'');
            }
            p = end;
        } else {
            pm_buf_appendc(&b, *p++);
        }
    }
    return pm_buf_detach(&b);
}

static int record(pm_db *db, const char *sql)
{
    db->record(db->record_migration, sql, db->record_ctx);
    return 0;
}

/* ==== Driver calls ==== */

int pm__db_exec(pm_db *db, const char *sql, pm_error *err)
{
    if (db->record)
        return record(db, sql);
    return scrub(db, db->driver->exec(db->conn, sql, err), err);
}

int pm__db_query(pm_db *db, const char *sql, const char *const *params, size_t nparams,
                 pm_row_fn row, void *ctx, pm_error *err)
{
    if (db->record && !row) { /* a write: shown, not run */
        char *shown = with_literals(sql, params, nparams);
        if (!shown)
            return pm_error_set(err, PM_ENOMEM, "out of memory");
        record(db, shown);
        free(shown);
        return 0;
    }
    return scrub(db, db->driver->query(db->conn, sql, params, nparams, row, ctx, err), err);
}

int pm__db_begin(pm_db *db, pm_error *err)
{
    if (db->record)
        return record(db, "BEGIN");
    return scrub(db, db->driver->begin(db->conn, err), err);
}

int pm__db_commit(pm_db *db, pm_error *err)
{
    if (db->record)
        return record(db, "COMMIT");
    return scrub(db, db->driver->commit(db->conn, err), err);
}

void pm__db_rollback(pm_db *db, pm_error *err)
{
    if (db->record)
        return;
    pm_error ignored = PM_ERROR_INIT;
    if (db->driver->rollback(db->conn, err && err->code ? &ignored : err) < 0)
        scrub(db, -1, err);
    pm_error_clear(&ignored);
}

int pm__db_lock(pm_db *db, int timeout_ms, pm_error *err)
{
    if (!db->driver->lock)
        return 0;
    return scrub(db, db->driver->lock(db->conn, timeout_ms, err), err);
}

int pm__db_unlock(pm_db *db, pm_error *err)
{
    if (!db->driver->unlock)
        return 0;
    bool had_error = err && err->code;
    pm_error ignored = PM_ERROR_INIT;
    int rc = db->driver->unlock(db->conn, had_error ? &ignored : err);
    pm_error_clear(&ignored);
    return had_error ? 0 : scrub(db, rc, err);
}

int pm__db_has_table(pm_db *db, const char *table, bool *out, pm_error *err)
{
    return scrub(db, db->driver->has_table(db->conn, table, out, err), err);
}

int pm__db_has_column(pm_db *db, const char *table, const char *column, bool *out, pm_error *err)
{
    return scrub(db, db->driver->has_column(db->conn, table, column, out, err), err);
}
