/* db.c: opening a database by URL through the driver registry (or adopting
 * a connection the program opened), and the thin wrappers through which the
 * core calls a driver. The wrappers scrub the URL's secrets (found and
 * scrubbed by url.c) from every error a driver reports, because database
 * libraries echo connection details in their messages. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

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
static int take_connection(pm_db *db, int rc, pm_db **out)
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

/* PM_ENODRIVER for scheme, listing the schemes this build knows; where
 * names the URL or says what else was asked. */
static int no_driver(const char *scheme, const char *where, pm_error *err)
{
    char *known = pm_db_known_schemes();
    int rc = pm_error_set(err, PM_ENODRIVER,
                          "no driver for URL scheme \"%s:\" in %s; this build knows: %s", scheme,
                          where, known ? known : "(none)");
    free(known);
    return rc;
}

/* The driver for url's scheme, or PM_ENODRIVER listing the known ones. */
static int find_driver(const pm_driver **out, const pm_url *parsed, const char *url, pm_error *err)
{
    *out = pm__driver_find(parsed->scheme);
    if (*out)
        return 0;
    char *shown = pm_url_redact(url);
    int rc = no_driver(parsed->scheme, shown ? shown : "the URL", err);
    free(shown);
    return rc;
}

/* A connection a driver made must name a backend the core can use. */
static int check_backend(const pm_db *db, pm_error *err)
{
    const pm_backend *b = db->conn->backend;
    if (!b || b->version < 1 || b->version > PM_BACKEND_VERSION || !b->name || !b->begin ||
        !b->has_table || !b->has_column)
        return pm_error_set(err, PM_ENODRIVER,
                            "driver %s connected to a backend this build cannot use (version %u; "
                            "this build knows 1 to %d)",
                            db->driver->name, b ? b->version : 0, PM_BACKEND_VERSION);
    return pm__dialect_check(b->dialect, err);
}

/* The caller's interrupt flag, when its options are new enough to have one. */
static const volatile sig_atomic_t *interrupt_flag(const pm_db_options *opts)
{
    return opts && opts->version >= 2 ? opts->interrupt : NULL;
}

/* What a driver reports while it waits, passed on to the caller's
 * waiting() with the URL's secrets scrubbed from the reason. */
typedef struct waiting_relay {
    const pm_db *db;
    const pm_db_options *opts; /* NULL when the caller's options have no waiting */
} waiting_relay;

static void relay_waiting(void *ctx, int attempt, double elapsed, const char *why)
{
    const waiting_relay *r = ctx;
    if (!r->opts || !r->opts->waiting)
        return;
    pm_error scrubbed = PM_ERROR_INIT;
    pm_error_set(&scrubbed, PM_ECONNECT, "%s", why && *why ? why : "no answer");
    pm__secrets_scrub(&r->db->secrets, &scrubbed);
    r->opts->waiting(r->opts->waiting_ctx, attempt, elapsed, r->opts->wait_seconds,
                     scrubbed.message ? scrubbed.message : "no answer");
    pm_error_clear(&scrubbed);
}

int pm_db_open(pm_db **out, const char *url, const pm_db_options *opts, pm_error *err)
{
    if (!out)
        return pm_error_set(err, PM_EINVAL, "pm_db_open: out is NULL");
    *out = NULL;
    if (opts && (opts->version < 1 || opts->version > PM_DB_OPTIONS_VERSION))
        return pm_error_set(err, PM_EINVAL,
                            "pm_db_open: pm_db_options version %u (this build knows 1 to %d)",
                            opts->version, PM_DB_OPTIONS_VERSION);
    pm_url *parsed = NULL;
    int rc = pm_url_parse(&parsed, url, err);
    const pm_driver *driver = NULL;
    if (rc == 0)
        rc = find_driver(&driver, parsed, url, err);
    if (rc == 0)
        rc = pm__driver_check(driver, err);
    pm_db *db = rc == 0 ? calloc(1, sizeof(*db)) : NULL;
    if (rc == 0 && !db)
        rc = pm_error_set(err, PM_ENOMEM, "out of memory");
    if (rc < 0) {
        pm_url_free(parsed);
        return rc;
    }
    db->driver = driver;
    db->url = pm_url_redact(url);
    if (!db->url || pm__secrets_find(&db->secrets, url) < 0) {
        pm_url_free(parsed);
        pm_db_close(db);
        return pm_error_set(err, PM_ENOMEM, "out of memory");
    }
    waiting_relay relay = {db, opts && opts->version >= 3 ? opts : NULL};
    pm_connect_options copts = {opts ? opts->wait_seconds : 0,
                                opts && opts->version >= 2 ? opts->flags : 0, interrupt_flag(opts),
                                relay_waiting, &relay};
    rc = scrub(db, driver->open(&db->conn, parsed, &copts, err), err);
    pm_url_free(parsed);
    if (rc < 0 && copts.cancelled && *copts.cancelled)
        rc = pm_error_set(err, PM_EINTERRUPTED,
                          "interrupted while connecting to %s: nothing was changed", db->url);
    if (rc == 0)
        db->conn->driver = driver;
    if (rc == 0 && (rc = check_backend(db, err)) < 0) {
        pm_db_close(db);
        return rc;
    }
    return take_connection(db, rc, out);
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
    return take_connection(db, driver->image_open(&db->conn, image, size, err), out);
}

/* ==== Adopting the program's connection ==== */

/* The driver that adopts handles of scheme ("NAME", or "NAME:", any case). */
static int adopting_driver(const pm_driver **out, const char *scheme, pm_error *err)
{
    char lower[64];
    size_t n = strlen(scheme);
    if (n && scheme[n - 1] == ':')
        n--;
    if (n == 0 || n >= sizeof(lower))
        return pm_error_set(err, PM_EINVAL, "pm_db_adopt: \"%s\" is not a URL scheme", scheme);
    for (size_t i = 0; i < n; i++)
        lower[i] = (char)(scheme[i] >= 'A' && scheme[i] <= 'Z' ? scheme[i] - 'A' + 'a' : scheme[i]);
    lower[n] = '\0';
    *out = pm__driver_find(lower);
    if (!*out)
        return no_driver(lower, "pm_db_adopt()", err);
    int rc = pm__driver_check(*out, err);
    if (rc == 0 && !PM__DRIVER_HAS(*out, 7, adopt))
        rc = pm_error_set(err, PM_EUNSUPPORTED,
                          "the %s driver cannot adopt a connection the program opened (it has no "
                          "adopt(), added in driver interface version 7; it has version %u)",
                          (*out)->name, (*out)->version);
    return rc;
}

int pm_db_adopt(pm_db **out, const char *scheme, void *native_handle, pm_error *err)
{
    if (!out)
        return pm_error_set(err, PM_EINVAL, "pm_db_adopt: out is NULL");
    *out = NULL;
    if (!scheme || !native_handle)
        return pm_error_set(err, PM_EINVAL, "pm_db_adopt: %s is NULL",
                            scheme ? "native_handle" : "scheme");
    const pm_driver *driver = NULL;
    int rc = adopting_driver(&driver, scheme, err);
    if (rc < 0)
        return rc;
    pm_db *db = calloc(1, sizeof(*db));
    if (!db)
        return pm_error_set(err, PM_ENOMEM, "out of memory");
    db->driver = driver;
    char *described = NULL;
    rc = driver->adopt(&db->conn, native_handle, &described, err);
    if (rc == 0) {
        db->conn->driver = driver;
        db->url = described ? pm_url_redact(described)
                            : pm__format("(a %s connection the program opened)", driver->name);
        if (!db->url)
            rc = pm_error_set(err, PM_ENOMEM, "out of memory");
    }
    free(described);
    if (rc == 0)
        rc = check_backend(db, err);
    if (rc < 0 && db->conn) {
        pm_db_close(db);
        return rc;
    }
    return take_connection(db, rc, out);
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
    free(db->history_schema);
    free(db->session_state);
    free(db->schema);
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

/* The driver's own reader, else its backend's, else NULL. */
static int (*schema_reader(const pm_db *db))(pm_conn *, pm_catalog *, pm_error *)
{
    if (db->driver->read_schema)
        return db->driver->read_schema;
    return db->conn->backend->read_schema;
}

int pm__db_read_catalog(pm_db *db, pm_catalog **out, pm_error *err)
{
    *out = NULL;
    int (*reader)(pm_conn *, pm_catalog *, pm_error *) = schema_reader(db);
    if (!reader)
        return pm_error_set(err, PM_EUNSUPPORTED, "the %s driver cannot read the schema",
                            db->driver->name);
    int rc = pm__catalog_new(out, err);
    if (rc == 0)
        rc = scrub(db, reader(db->conn, *out, err), err);
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

static int check_writable(const pm_db *db, pm_error *err);

int pm_db_scratch_begin(pm_db *db, pm_error *err)
{
    if (check_writable(db, err) < 0) /* verify's scratch schema is a write too */
        return PM_EREADONLY;
    const pm_backend *b = pm__db_backend(db);
    if (!b->scratch_create)
        return pm_error_set(err, PM_EUNSUPPORTED, "%s has no scratch schema%s%s", b->name,
                            b->scratch_elsewhere ? ": " : "",
                            b->scratch_elsewhere ? b->scratch_elsewhere : "");
    if (db->scratch)
        return pm_error_set(err, PM_EINVAL, "a scratch schema is already in use");
    free(db->scratch_home);
    db->scratch_home = NULL;
    if (b->scratch_home) {
        int hrc = pm__db_query(db, b->scratch_home, NULL, 0, take_home, db, err);
        if (hrc < 0)
            return hrc;
    }
    db->scratch = pm__format("poblysh_verify_%ld_%ld", (long)getpid(), (long)time(NULL));
    if (!db->scratch)
        return pm_error_set(err, PM_ENOMEM, "out of memory");
    int rc = run_format(db, b->scratch_create, db->scratch, err);
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
    const pm_backend *b = pm__db_backend(db);
    int rc = run_format(db, b->scratch_drop, db->scratch, err);
    free(db->scratch);
    db->scratch = NULL;
    if (rc == 0 && db->scratch_home && b->scratch_return)
        rc = run_format(db, b->scratch_return, db->scratch_home, err);
    free(db->scratch_home);
    db->scratch_home = NULL;
    return rc;
}

/* ==== The session a migration may change ==== */

static int take_schema(void *ctx, size_t n, const char *const *values)
{
    pm_db *db = ctx;
    if (n && values[0] && *values[0] && !db->history_schema)
        db->history_schema = pm__strdup(values[0]);
    return 0;
}

static int take_state(void *ctx, size_t n, const char *const *values)
{
    pm_db *db = ctx;
    if (n && values[0] && !db->session_state)
        db->session_state = pm__strdup(values[0]);
    return 0;
}

int pm__db_pin_schema(pm_db *db, pm_error *err)
{
    pm__db_unpin_schema(db);
    const pm_backend *b = pm__db_backend(db);
    const char *schema = PM__BACKEND_HAS(b, 2, session_schema);
    const char *state = PM__BACKEND_HAS(b, 2, session_state);
    int rc = 0;
    if (db->schema) { /* chosen by name: no need to ask, and no pooler can mislead */
        if (!(db->history_schema = pm__strdup(db->schema)))
            rc = pm_error_set(err, PM_ENOMEM, "out of memory");
    } else if (schema) {
        rc = pm__db_query(db, schema, NULL, 0, take_schema, db, err);
    }
    if (rc == 0 && state)
        rc = pm__db_query(db, state, NULL, 0, take_state, db, err);
    return rc;
}

void pm__db_unpin_schema(pm_db *db)
{
    free(db->history_schema);
    db->history_schema = NULL;
    free(db->session_state);
    db->session_state = NULL;
}

const char *pm__db_history_schema(const pm_db *db)
{
    return db->history_schema;
}

int pm__db_restore_session(pm_db *db, pm_error *err)
{
    const pm_backend *b = pm__db_backend(db);
    const char *sql = PM__BACKEND_HAS(b, 2, session_restore);
    const char *state_sql = PM__BACKEND_HAS(b, 2, session_state_restore);
    if (pm__db_recording(db))
        return 0;
    int rc = sql ? pm__db_exec(db, sql, err) : 0;
    if (rc == 0 && state_sql && db->session_state) {
        const char *params[] = {db->session_state};
        rc = pm__db_query(db, state_sql, params, 1, NULL, NULL, err);
    }
    return rc;
}

/* ==== A schema chosen by name ==== */

int pm__note_found(void *ctx, size_t n, const char *const *values)
{
    (void)n;
    (void)values;
    *(bool *)ctx = true;
    return 0;
}

int pm__db_exec_ident(pm_db *db, const char *fmt, const char *schema, pm_error *err)
{
    pm_buf quoted = PM_BUF_INIT;
    pm__render_ident(&quoted, pm__db_dialect(db), schema);
    char *sql = quoted.oom ? NULL : pm__format(fmt, pm_buf_cstr(&quoted));
    pm_buf_free(&quoted);
    if (!sql)
        return pm_error_set(err, PM_ENOMEM, "out of memory");
    int rc = pm__db_exec(db, sql, err);
    free(sql);
    return rc;
}

int pm_db_use_schema(pm_db *db, const char *schema, pm_error *err)
{
    if (!db || !schema || !*schema)
        return pm_error_set(err, PM_EINVAL, "pm_db_use_schema: %s",
                            !db ? "db is NULL" : "the schema's name is empty");
    const pm_backend *b = pm__db_backend(db);
    const char *exists = PM__BACKEND_HAS(b, 6, schema_exists);
    const char *use = PM__BACKEND_HAS(b, 6, schema_use);
    if (!exists || !use) {
        const char *why = PM__BACKEND_HAS(b, 6, schemas_elsewhere);
        return pm_error_set(err, PM_EUNSUPPORTED, "cannot use schema \"%s\": %s%s", schema,
                            why ? why : b->name, why ? "" : " has no schemas");
    }
    bool found = false;
    const char *params[] = {schema};
    int rc = pm__db_query(db, exists, params, 1, pm__note_found, &found, err);
    if (rc == 0 && !found) {
        pm_buf quoted = PM_BUF_INIT;
        pm__render_ident(&quoted, pm__db_dialect(db), schema);
        rc = pm_error_set(err, PM_ENOTFOUND,
                          "schema \"%s\" does not exist: create it first (CREATE SCHEMA %s)",
                          schema, quoted.oom ? "..." : pm_buf_cstr(&quoted));
        pm_buf_free(&quoted);
    }
    char *copy = rc == 0 ? pm__strdup(schema) : NULL;
    if (rc == 0 && !copy)
        rc = pm_error_set(err, PM_ENOMEM, "out of memory");
    if (rc == 0)
        rc = pm__db_exec_ident(db, use, schema, err);
    if (rc < 0) {
        free(copy);
        return rc;
    }
    free(db->schema);
    db->schema = copy;
    if (db->driver->version >= 11)
        db->conn->schema = db->schema;
    return 0;
}

const char *pm_db_schema_name(const pm_db *db)
{
    return db->schema;
}

/* After a begin(): the chosen schema again, for this transaction only, in
 * case the session-wide choice was made on another server connection (a
 * pooler in transaction mode). */
static int use_schema_in_transaction(pm_db *db, pm_error *err)
{
    const char *local =
        db->schema ? PM__BACKEND_HAS(pm__db_backend(db), 6, schema_use_local) : NULL;
    return local ? pm__db_exec_ident(db, local, db->schema, err) : 0;
}

/* Runs fmt with its one %d replaced by ms. */
static int run_ms(pm_db *db, const char *fmt, int ms, pm_error *err)
{
    char *sql = pm__format(fmt, ms);
    if (!sql)
        return pm_error_set(err, PM_ENOMEM, "out of memory");
    int rc = pm__db_exec(db, sql, err);
    free(sql);
    return rc;
}

int pm__db_timeouts_set(pm_db *db, int lock_ms, int statement_ms, pm_error *err)
{
    const pm_backend *b = pm__db_backend(db);
    if (db->timeouts_scope == PM__TIMEOUTS_NONE)
        return pm_error_set(err, PM_EMISUSE,
                            "pm_schema_set_timeouts() is for a migration's up() or down()");
    if (!PM__BACKEND_HAS(b, 2, lock_timeout_local))
        return 0; /* the engine has no such setting: nothing to protect */
    bool local = db->timeouts_scope == PM__TIMEOUTS_TRANSACTION;
    int rc = 0;
    if (lock_ms >= 0)
        rc = run_ms(db, local ? b->lock_timeout_local : b->lock_timeout_session, lock_ms, err);
    if (rc == 0 && statement_ms >= 0)
        rc = run_ms(db, local ? b->statement_timeout_local : b->statement_timeout_session,
                    statement_ms, err);
    db->timeouts_set |= !local && (lock_ms >= 0 || statement_ms >= 0);
    return rc;
}

int pm__db_timeouts_begin(pm_db *db, bool in_transaction, int lock_ms, int statement_ms,
                          pm_error *err)
{
    db->timeouts_scope = in_transaction ? PM__TIMEOUTS_TRANSACTION : PM__TIMEOUTS_SESSION;
    db->timeouts_set = false;
    return pm__db_timeouts_set(db, lock_ms, statement_ms, err);
}

int pm__db_timeouts_end(pm_db *db, pm_error *err)
{
    bool reset = db->timeouts_set;
    db->timeouts_scope = PM__TIMEOUTS_NONE;
    db->timeouts_set = false;
    const char *sql = PM__BACKEND_HAS(pm__db_backend(db), 2, timeouts_reset);
    return reset && sql ? pm__db_exec(db, sql, err) : 0;
}

bool pm__db_lock_timed_out(const pm_db *db, const pm_error *err)
{
    const char *code = PM__BACKEND_HAS(pm__db_backend(db), 2, lock_timeout_code);
    return code && err && err->db_code && strcmp(err->db_code, code) == 0;
}

/* ==== A scratch database (verify) ==== */

/* pm_verify_ and 16 hex digits no other run will pick. */
static char *scratch_database_name(void)
{
    uint64_t x = 0;
    FILE *f = fopen("/dev/urandom", "rb");
    if (!f || fread(&x, sizeof(x), 1, f) != 1) {
        struct timespec now;
        clock_gettime(CLOCK_REALTIME, &now);
        x = (uint64_t)now.tv_nsec ^ ((uint64_t)now.tv_sec << 20) ^ ((uint64_t)getpid() << 40);
    }
    if (f)
        fclose(f);
    return pm__format("pm_verify_%016llx", (unsigned long long)x);
}

static int note_truthy(void *ctx, size_t n, const char *const *values)
{
    *(bool *)ctx = n && pm_catalog_truthy(values[0]);
    return 0;
}

/* Whether admin's role may create a database, asked before trying. */
static int may_create_database(pm_db *admin, pm_error *err)
{
    const pm_backend *b = pm__db_backend(admin);
    if (!b->scratch_database_allowed)
        return 0;
    bool allowed = false;
    int rc = pm__db_query(admin, b->scratch_database_allowed, NULL, 0, note_truthy, &allowed, err);
    if (rc == 0 && !allowed)
        rc = pm_error_set(err, PM_EURL, "cannot verify on %s: %s", admin->url,
                          b->scratch_database_refused ? b->scratch_database_refused
                                                      : "its role may not create databases");
    return rc;
}

int pm_db_scratch_database_create(pm_db *admin, const char *url, char **name, char **scratch_url,
                                  pm_error *err)
{
    *name = *scratch_url = NULL;
    const pm_backend *b = pm__db_backend(admin);
    if (!PM__BACKEND_HAS(b, 4, scratch_database_create) || !b->scratch_database_drop)
        return pm_error_set(err, PM_EUNSUPPORTED, "%s has no scratch database%s%s", b->name,
                            b->scratch_elsewhere ? ": " : "",
                            b->scratch_elsewhere ? b->scratch_elsewhere : "");
    if (check_writable(admin, err) < 0) /* a standby cannot create one */
        return PM_EREADONLY;
    int rc = may_create_database(admin, err);
    if (rc < 0)
        return rc;
    *name = scratch_database_name();
    *scratch_url = *name ? pm__url_with_database(url, *name) : NULL;
    if (!*scratch_url) {
        free(*name);
        *name = NULL;
        return pm_error_set(err, PM_EURL, "cannot name another database on the server of %s",
                            admin->url);
    }
    rc = run_format(admin, b->scratch_database_create, *name, err);
    if (rc < 0) {
        pm__error_prefix(err, "cannot create the scratch database %s", *name);
        if (!b->scratch_database_allowed) /* not asked first: it may be the privilege */
            pm_error_set_detail(err, NULL, b->scratch_database_refused);
        free(*name);
        free(*scratch_url);
        *name = *scratch_url = NULL;
    }
    return rc;
}

int pm_db_scratch_database_drop(pm_db *admin, const char *name, pm_error *err)
{
    const pm_backend *b = pm__db_backend(admin);
    if (!name)
        return 0;
    if (!PM__BACKEND_HAS(b, 4, scratch_database_drop))
        return pm_error_set(err, PM_EUNSUPPORTED, "%s has no scratch database", b->name);
    return run_format(admin, b->scratch_database_drop, name, err);
}

/* ==== Rows fetched whole ==== */

int pm__db_fetch_rows(pm_db *db, const char *sql, pm_rows *out, pm_error *err)
{
    return scrub(db, pm_rows_fetch(db->conn, sql, NULL, out, err), err);
}

/* ==== Connection facts, public ==== */

bool pm_db_transactional_ddl(const pm_db *db)
{
    return (db->conn->flags & PM_CONN_TRANSACTIONAL_DDL) != 0;
}

/* The PM_CAP_* flags of a connection through d to b with conn flags. */
static unsigned int capabilities(const pm_driver *d, const pm_backend *b, unsigned int flags)
{
    unsigned int caps = 0;
    if (flags & PM_CONN_TRANSACTIONAL_DDL)
        caps |= PM_CAP_TRANSACTIONAL_DDL;
    if (flags & PM_CONN_EPHEMERAL)
        caps |= PM_CAP_EPHEMERAL;
    if (d->image_save && d->image_open)
        caps |= PM_CAP_CLONE_IMAGE;
    if (b->database_create && b->database_blank && b->database_rename && b->database_drop &&
        b->database_exists && b->named_lock && b->named_unlock)
        caps |= PM_CAP_CLONE_TEMPLATE;
    if (d->in_transaction)
        caps |= PM_CAP_ROLLBACK_TESTDB;
    if (b->scratch_create && b->scratch_drop)
        caps |= PM_CAP_SCRATCH_SCHEMA;
    if (d->read_schema || b->read_schema)
        caps |= PM_CAP_READ_SCHEMA;
    if (PM__BACKEND_HAS(b, 4, scratch_database_create) && b->scratch_database_drop)
        caps |= PM_CAP_SCRATCH_DATABASE;
    return caps;
}

unsigned int pm_db_capabilities(const pm_db *db)
{
    return capabilities(db->driver, db->conn->backend, db->conn->flags);
}

int pm_url_capabilities(const char *url, unsigned int *caps, pm_error *err)
{
    *caps = 0;
    pm_url *parsed = NULL;
    const pm_driver *driver = NULL;
    int rc = pm_url_parse(&parsed, url, err);
    if (rc == 0)
        rc = find_driver(&driver, parsed, url, err);
    if (rc == 0)
        rc = pm__driver_check(driver, err);
    unsigned int flags = 0;
    const pm_backend *b = rc == 0 && driver->backend_of ? driver->backend_of(parsed, &flags) : NULL;
    if (rc == 0 && !b)
        rc = pm_error_set(err, PM_EUNSUPPORTED,
                          "the %s driver cannot tell what a URL reaches without connecting",
                          driver->name);
    if (rc == 0)
        *caps = capabilities(driver, b, flags);
    pm_url_free(parsed);
    return rc;
}

int pm__url_backend(const char *url, pm_url **parsed, const pm_driver **driver,
                    const pm_backend **backend, pm_error *err)
{
    *driver = NULL;
    *backend = NULL;
    int rc = pm_url_parse(parsed, url, err);
    if (rc == 0)
        rc = find_driver(driver, *parsed, url, err);
    if (rc == 0)
        rc = pm__driver_check(*driver, err);
    unsigned int flags = 0;
    if (rc == 0 && (*driver)->backend_of)
        *backend = (*driver)->backend_of(*parsed, &flags);
    if (rc == 0 && !*backend)
        rc = pm_error_set(err, PM_EUNSUPPORTED,
                          "the %s driver cannot tell what a URL reaches without connecting",
                          (*driver)->name);
    if (rc < 0) {
        pm_url_free(*parsed);
        *parsed = NULL;
    }
    return rc;
}

const char *pm_db_backend_name(const pm_db *db)
{
    return db->conn->backend->name;
}

void *pm_db_native_handle(pm_db *db)
{
    return db->driver->native_handle ? db->driver->native_handle(db->conn) : NULL;
}

void pm_db_interrupt(pm_db *db)
{
    db->interrupted = 1;
    if (db->driver->cancel && db->conn)
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
    return db->conn->backend->dialect;
}

const pm_backend *pm__db_backend(const pm_db *db)
{
    return db->conn->backend;
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

static int record(pm_db *db, const char *sql)
{
    db->record(db->record_migration, sql, db->record_ctx);
    return 0;
}

static int record_statement(void *ctx, const char *statement, size_t length, size_t offset)
{
    (void)offset;
    pm_db *db = ctx;
    char *copy = pm__strndup(statement, length);
    if (!copy)
        return PM_ENOMEM;
    record(db, copy);
    free(copy);
    return 0;
}

/* A script as exec() would send it: whole, or (PM_CONN_SPLITS_SCRIPTS) one
 * statement at a time, split by the backend's rules, so a dry run shows
 * what the run sends. */
static int record_script(pm_db *db, const char *sql, pm_error *err)
{
    if (!(db->conn->flags & PM_CONN_SPLITS_SCRIPTS))
        return record(db, sql);
    int rc = pm_sql_split_flags(sql, db->conn->backend->lexer_flags, record_statement, db, err);
    if (rc == PM_ENOMEM && !(err && err->code))
        rc = pm_error_set(err, PM_ENOMEM, "out of memory");
    return rc;
}

/* ==== Driver calls ==== */

int pm__db_exec(pm_db *db, const char *sql, pm_error *err)
{
    if (db->record)
        return record_script(db, sql, err);
    return scrub(db, db->driver->exec(db->conn, sql, err), err);
}

int pm__db_query(pm_db *db, const char *sql, const char *const *params, size_t nparams,
                 pm_row_fn row, void *ctx, pm_error *err)
{
    if (db->record && !row) { /* a write: shown, not run */
        char *shown = pm_sql_inline_params(sql, params, nparams, NULL, NULL);
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
    int rc = db->record ? record(db, "BEGIN") : scrub(db, db->driver->begin(db->conn, err), err);
    if (rc == 0 && (rc = use_schema_in_transaction(db, err)) < 0)
        pm__db_rollback(db, err);
    return rc;
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

/* Every command that writes takes the migration lock first, so refusing a
 * read-only server here stops each of them before anything runs. A dry
 * run writes nothing and may go on. */
static int check_writable(const pm_db *db, pm_error *err)
{
    if (!(db->conn->flags & PM_CONN_READ_ONLY) || db->record)
        return 0;
    return pm_error_set(err, PM_EREADONLY,
                        "%s is a read-only standby (or a read-only session): nothing was run. "
                        "Point the URL at the primary, or list every server of the cluster in "
                        "it and ask for the writable one (docs/postgres.md, \"Connection "
                        "strings, failover and standbys\"); reading commands such as status "
                        "work here",
                        db->url);
}

int pm__db_lock(pm_db *db, int timeout_ms, pm_error *err)
{
    int rc = check_writable(db, err);
    if (rc < 0)
        return rc;
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

/* The backend's check naming the chosen schema, or NULL to ask the driver. */
static const char *check_in_schema(const pm_db *db, bool column)
{
    const pm_backend *b = pm__db_backend(db);
    if (!db->schema)
        return NULL;
    return column ? PM__BACKEND_HAS(b, 6, has_column_in) : PM__BACKEND_HAS(b, 6, has_table_in);
}

int pm__db_has_table(pm_db *db, const char *table, bool *out, pm_error *err)
{
    const char *sql = check_in_schema(db, false);
    *out = false;
    if (sql) {
        const char *params[] = {db->schema, table};
        return pm__db_query(db, sql, params, 2, pm__note_found, out, err);
    }
    return scrub(db, db->driver->has_table(db->conn, table, out, err), err);
}

int pm__db_has_column(pm_db *db, const char *table, const char *column, bool *out, pm_error *err)
{
    const char *sql = check_in_schema(db, true);
    *out = false;
    if (sql) {
        const char *params[] = {db->schema, table, column};
        return pm__db_query(db, sql, params, 3, pm__note_found, out, err);
    }
    return scrub(db, db->driver->has_column(db->conn, table, column, out, err), err);
}

/* ==== Test databases ==== */

int pm__db_image_save(pm_db *db, void **image, size_t *size, pm_error *err)
{
    *image = NULL;
    *size = 0;
    if (!db->driver->image_save)
        return pm_error_set(err, PM_EUNSUPPORTED, "driver %s cannot copy a database in memory",
                            db->driver->name);
    return scrub(db, db->driver->image_save(db->conn, image, size, err), err);
}

bool pm__db_in_transaction(pm_db *db)
{
    return db->driver->in_transaction && db->driver->in_transaction(db->conn);
}

static int discard_row(void *ctx, size_t ncolumns, const char *const *values)
{
    (void)ctx;
    (void)ncolumns;
    (void)values;
    return 0;
}

/* Runs fmt with name in it now. Through query() with a row callback, which
 * every driver runs at once: a driver that batches a transaction's statements
 * (PostgreSQL) sends what it queued first, so the transaction is open on the
 * server when this returns. */
static int run_now(pm_db *db, const char *fmt, const char *name, pm_error *err)
{
    char *sql = pm__format(fmt, name);
    if (!sql)
        return pm_error_set(err, PM_ENOMEM, "out of memory");
    int rc = db->record ? record(db, sql) : pm__db_query(db, sql, NULL, 0, discard_row, NULL, err);
    free(sql);
    return rc;
}

int pm__db_savepoint(pm_db *db, const char *name, pm_error *err)
{
    return run_now(db, "SAVEPOINT %s", name, err);
}

int pm__db_rollback_to(pm_db *db, const char *name, pm_error *err)
{
    return run_now(db, "ROLLBACK TO SAVEPOINT %s", name, err);
}
