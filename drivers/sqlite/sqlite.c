/* sqlite.c: the SQLite driver, the embedded default. URLs: sqlite::memory:,
 * sqlite:path.db, sqlite://relative/path.db, sqlite:///absolute/path.db, with
 * ?mode=ro|rw|rwc (default rwc), or a sqlite3 * the program opened
 * (pm_db_adopt_sqlite()). Foreign keys are on; BEGIN IMMEDIATE around each
 * migration is the lock that excludes other processes on the file. */
#include <errno.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "poblysh/db.h"
#include "poblysh/sys/driver.h"

#define SQLITE_DEFAULT_BUSY_MS 5000

typedef struct sqlite_conn {
    pm_conn base;
    sqlite3 *db;
    char *filename;
    int lock_timeout_ms; /* how long a busy database is waited for */
    volatile sig_atomic_t cancelled;
    struct timespec busy_since;
    /* Adopted: db is the program's, so close() gives it back as found. */
    bool adopted;
    bool touched;           /* adopted, and its settings changed */
    int saved_busy_ms;      /* its PRAGMA busy_timeout before */
    int saved_foreign_keys; /* its PRAGMA foreign_keys before */
} sqlite_conn;

/* ==== Errors ==== */

static const char *result_name(int code)
{
    switch (code & 0xff) {
    case SQLITE_ERROR: return "SQLITE_ERROR";
    case SQLITE_INTERNAL: return "SQLITE_INTERNAL";
    case SQLITE_PERM: return "SQLITE_PERM";
    case SQLITE_ABORT: return "SQLITE_ABORT";
    case SQLITE_BUSY: return "SQLITE_BUSY";
    case SQLITE_LOCKED: return "SQLITE_LOCKED";
    case SQLITE_NOMEM: return "SQLITE_NOMEM";
    case SQLITE_READONLY: return "SQLITE_READONLY";
    case SQLITE_INTERRUPT: return "SQLITE_INTERRUPT";
    case SQLITE_IOERR: return "SQLITE_IOERR";
    case SQLITE_CORRUPT: return "SQLITE_CORRUPT";
    case SQLITE_FULL: return "SQLITE_FULL";
    case SQLITE_CANTOPEN: return "SQLITE_CANTOPEN";
    case SQLITE_CONSTRAINT: return "SQLITE_CONSTRAINT";
    case SQLITE_MISMATCH: return "SQLITE_MISMATCH";
    case SQLITE_TOOBIG: return "SQLITE_TOOBIG";
    case SQLITE_RANGE: return "SQLITE_RANGE";
    case SQLITE_NOTADB: return "SQLITE_NOTADB";
    case SQLITE_AUTH: return "SQLITE_AUTH";
    default: return "SQLITE_UNKNOWN";
    }
}

/* Fills err from the connection's last error; returns the PM_E* code. */
static int fail(sqlite_conn *c, int code, const char *statement, pm_error *err)
{
    int pm_code = (code & 0xff) == SQLITE_BUSY ? PM_ELOCKED : PM_EDB;
    const char *message = c->db ? sqlite3_errmsg(c->db) : sqlite3_errstr(code);
    if (pm_code == PM_ELOCKED)
        pm_error_set(err, pm_code,
                     "%s: another process is writing to %s and did not finish within %d ms",
                     message, c->filename, c->lock_timeout_ms);
    else
        pm_error_set(err, pm_code, "%s", message);
    char db_code[48];
    snprintf(db_code, sizeof(db_code), "%s (%d)", result_name(code), code);
    pm_error_set_db(err, db_code, statement);
    return pm_code;
}

/* ==== Waiting for a busy database ==== */

/* Our busy handler instead of sqlite3_busy_timeout(): the same wait, but a
 * cancel() (Ctrl-C) ends it at once. */
static int wait_while_busy(void *arg, int attempt)
{
    sqlite_conn *c = arg;
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (attempt == 0)
        c->busy_since = now;
    double waited_ms = (double)(now.tv_sec - c->busy_since.tv_sec) * 1e3 +
                       (double)(now.tv_nsec - c->busy_since.tv_nsec) / 1e6;
    if (c->cancelled || waited_ms >= c->lock_timeout_ms)
        return 0;
    sqlite3_sleep(attempt < 10 ? 1 : 10);
    return 1;
}

static void set_busy_wait(sqlite_conn *c, int timeout_ms)
{
    c->lock_timeout_ms = timeout_ms;
    sqlite3_busy_handler(c->db, wait_while_busy, c);
}

/* ==== Opening ==== */

/* The file a URL names: sqlite:path and sqlite::memory: use the opaque path;
 * sqlite://relative/path and sqlite:///absolute/path join host and path. */
static char *url_filename(const pm_url *url)
{
    const char *host = url->host ? url->host : "";
    const char *path = url->path ? url->path : "";
    if (!url->has_authority)
        return strdup(path);
    size_t n = strlen(host) + strlen(path) + 1;
    char *name = malloc(n);
    if (name)
        snprintf(name, n, "%s%s", host, path);
    return name;
}

/* synchronous=VALUE: SQLite's PRAGMA synchronous for this connection, the
 * durability of each commit. Unset: SQLite's default, FULL, as the sqlite3
 * shell has it (with the rollback journal: the journal synced twice, its
 * folder once, the database once per commit). NORMAL syncs the journal once
 * (what dbmate's driver, mattn/go-sqlite3, sets): faster, and SQLite's
 * documentation says a power loss at the wrong moment may then corrupt a
 * database in rollback-journal mode on an older file system. OFF is not
 * offered: a crash of the machine could lose or corrupt migrations. */
static const char *const sync_values[] = {"normal", "full", "extra"};
static const char *const sync_pragmas[] = {
    "PRAGMA synchronous = NORMAL", "PRAGMA synchronous = FULL", "PRAGMA synchronous = EXTRA"};

static int sync_param(const char *value, const char **pragma, pm_error *err)
{
    for (size_t i = 0; i < sizeof(sync_values) / sizeof(sync_values[0]); i++)
        if (strcmp(value, sync_values[i]) == 0) {
            *pragma = sync_pragmas[i];
            return 0;
        }
    return pm_error_set(err, PM_EURL,
                        "sqlite URL: synchronous \"%s\" is not one of full, normal, extra "
                        "(OFF is not offered: a crash could lose migrations)",
                        value);
}

static int mode_param(const char *value, int *flags, pm_error *err)
{
    if (strcmp(value, "ro") == 0)
        *flags = SQLITE_OPEN_READONLY;
    else if (strcmp(value, "rw") == 0)
        *flags = SQLITE_OPEN_READWRITE;
    else if (strcmp(value, "rwc") == 0)
        *flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
    else
        return pm_error_set(err, PM_EURL, "sqlite URL: mode \"%s\" is not one of ro, rw, rwc",
                            value);
    return 0;
}

/* The URL's parameters: mode= into *flags, synchronous= into *sync_pragma
 * (NULL: SQLite's default). */
static int url_params(const pm_url *url, int *flags, const char **sync_pragma, pm_error *err)
{
    *flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
    *sync_pragma = NULL;
    int rc = 0;
    for (size_t i = 0; i < url->nparams && rc == 0; i++) {
        const char *key = url->params[i].key, *value = url->params[i].value;
        if (strcmp(key, "mode") == 0)
            rc = mode_param(value, flags, err);
        else if (strcmp(key, "synchronous") == 0)
            rc = sync_param(value, sync_pragma, err);
        else
            rc = pm_error_set(err, PM_EURL,
                              "sqlite URL: unknown parameter \"%s\" (known: mode=ro|rw|rwc, "
                              "synchronous=full|normal|extra)",
                              key);
    }
    return rc;
}

static int check_url(const pm_url *url, pm_error *err)
{
    if (url->user || url->password || url->port)
        return pm_error_set(err, PM_EURL,
                            "sqlite URL takes no user, password or port: use sqlite:path.db, "
                            "sqlite://relative/path.db or sqlite:///absolute/path.db");
    return 0;
}

/* An adopted handle as the program gave it: sqlite3_busy_timeout() also
 * removes our busy handler, which points at the connection being freed. */
static void give_back(sqlite_conn *c)
{
    if (!c->touched)
        return;
    sqlite3_busy_timeout(c->db, c->saved_busy_ms);
    if (!c->saved_foreign_keys)
        sqlite3_exec(c->db, "PRAGMA foreign_keys = OFF", NULL, NULL, NULL);
}

static void sqlite_close(pm_conn *conn)
{
    sqlite_conn *c = (sqlite_conn *)conn;
    if (c->adopted)
        give_back(c);
    else
        sqlite3_close(c->db);
    free(c->filename);
    free(c);
}

/* A connection not yet open, on filename (taken over). */
static sqlite_conn *new_conn(char *filename)
{
    sqlite_conn *c = filename ? calloc(1, sizeof(*c)) : NULL;
    if (!c) {
        free(filename);
        return NULL;
    }
    c->filename = filename;
    c->base.backend = &pm_backend_sqlite;
    c->base.flags = pm_backend_sqlite.conn_flags;
    if (strcmp(filename, ":memory:") == 0)
        c->base.flags |= PM_CONN_EPHEMERAL;
    c->lock_timeout_ms = SQLITE_DEFAULT_BUSY_MS;
    return c;
}

/* Opens c->filename; on failure fills err and frees c. */
static int connect_file(sqlite_conn *c, int flags, pm_error *err)
{
    /* A pm_db is used by one thread at a time (db.h), so the connection
     * needs no mutex of its own: without it SQLite skips a lock and unlock
     * around every call (7% of the instructions of a status of 1,000).
     * sqlite3_interrupt(), pm_db_interrupt()'s, takes no mutex anyway. */
    flags |= SQLITE_OPEN_NOMUTEX;
    int src = sqlite3_open_v2(c->filename, &c->db, flags, NULL);
    if (src == SQLITE_OK) /* before the first read: another process may be writing */
        set_busy_wait(c, SQLITE_DEFAULT_BUSY_MS);
    /* Touch the schema so a file that is not a database fails here, not in
     * the middle of a migration. */
    if (src == SQLITE_OK)
        src = sqlite3_exec(c->db, "PRAGMA foreign_keys = ON; SELECT count(*) FROM sqlite_master",
                           NULL, NULL, NULL);
    if (src != SQLITE_OK) {
        /* Busy past the timeout: another process holds the file. */
        int code = (src & 0xff) == SQLITE_BUSY ? PM_ELOCKED : PM_ECONNECT;
        pm_error_set(err, code, "cannot open SQLite database \"%s\": %s", c->filename,
                     c->db ? sqlite3_errmsg(c->db) : sqlite3_errstr(src));
        char db_code[48];
        snprintf(db_code, sizeof(db_code), "%s (%d)", result_name(src), src);
        pm_error_set_db(err, db_code, NULL);
        sqlite_close(&c->base);
        return code;
    }
    return 0;
}

/* PM_DB_OPEN_EXISTING: a command that only reads must not leave an empty
 * file behind for a misspelt name. */
static int check_exists(const char *filename, pm_error *err)
{
    struct stat st;
    if (stat(filename, &st) == 0 || errno != ENOENT)
        return 0; /* anything else, SQLite reports when it opens it */
    return pm_error_set(err, PM_ECONNECT, "no such database file: %s", filename);
}

static int sqlite_open(pm_conn **out, const pm_url *url, const pm_connect_options *opts,
                       pm_error *err)
{
    /* opts->wait_seconds: a local file has nothing to wait for */
    int flags = 0;
    const char *sync_pragma = NULL;
    int rc = check_url(url, err);
    if (rc == 0)
        rc = url_params(url, &flags, &sync_pragma, err);
    if (rc < 0)
        return rc;
    sqlite_conn *c = new_conn(url_filename(url));
    if (!c)
        return pm_error_set(err, PM_ENOMEM, "out of memory");
    if (!*c->filename) {
        sqlite_close(&c->base);
        return pm_error_set(err, PM_EURL,
                            "sqlite URL names no file: use sqlite:path.db or sqlite::memory:");
    }
    if (opts && (opts->flags & PM_DB_OPEN_EXISTING) && !(c->base.flags & PM_CONN_EPHEMERAL)) {
        if ((rc = check_exists(c->filename, err)) < 0) {
            sqlite_close(&c->base);
            return rc;
        }
        flags &= ~SQLITE_OPEN_CREATE; /* should it vanish after the check */
    }
    if ((rc = connect_file(c, flags, err)) < 0)
        return rc;
    if (sync_pragma && sqlite3_exec(c->db, sync_pragma, NULL, NULL, NULL) != SQLITE_OK) {
        rc = pm_error_set(err, PM_ECONNECT, "cannot set %s on \"%s\": %s", sync_pragma, c->filename,
                          sqlite3_errmsg(c->db));
        sqlite_close(&c->base);
        return rc;
    }
    *out = &c->base;
    return 0;
}

/* ==== Adopting the program's handle ==== */

/* The integer a one-row PRAGMA returns. */
static int pragma_int(sqlite3 *db, const char *sql, int *out)
{
    sqlite3_stmt *stmt = NULL;
    int rc = sqlite3_prepare_v2(db, sql, -1, &stmt, NULL);
    if (rc == SQLITE_OK && (rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        *out = sqlite3_column_int(stmt, 0);
        rc = SQLITE_OK;
    }
    sqlite3_finalize(stmt);
    return rc;
}

/* The URL of the database the handle reaches: its main file, or
 * sqlite::memory: for an in-memory or temporary one. */
static char *describe(const sqlite_conn *c)
{
    if (c->base.flags & PM_CONN_EPHEMERAL)
        return strdup("sqlite::memory:");
    size_t n = strlen(c->filename) + sizeof("sqlite://");
    char *url = malloc(n);
    if (url)
        snprintf(url, n, "%s%s", c->filename[0] == '/' ? "sqlite://" : "sqlite:", c->filename);
    return url;
}

/* Remembers what adopting changes, then sets up as connect_file() does. */
static int take_handle(sqlite_conn *c, pm_error *err)
{
    int src = pragma_int(c->db, "PRAGMA busy_timeout", &c->saved_busy_ms);
    if (src == SQLITE_OK)
        src = pragma_int(c->db, "PRAGMA foreign_keys", &c->saved_foreign_keys);
    if (src == SQLITE_OK) {
        c->touched = true; /* from here on close() restores */
        set_busy_wait(c, SQLITE_DEFAULT_BUSY_MS);
        src = sqlite3_exec(c->db, "PRAGMA foreign_keys = ON; SELECT count(*) FROM sqlite_master",
                           NULL, NULL, NULL);
    }
    if (src == SQLITE_OK)
        return 0;
    pm_error_set(err, PM_EINVAL, "cannot use the adopted SQLite database \"%s\": %s", c->filename,
                 sqlite3_errmsg(c->db));
    char db_code[48];
    snprintf(db_code, sizeof(db_code), "%s (%d)", result_name(src), src);
    pm_error_set_db(err, db_code, NULL);
    return PM_EINVAL;
}

static int sqlite_adopt(pm_conn **out, void *native, char **described, pm_error *err)
{
    sqlite3 *db = native;
    *described = NULL;
    if (!sqlite3_get_autocommit(db))
        return pm_error_set(err, PM_EINVAL,
                            "cannot adopt the sqlite3 handle: it has a transaction open (commit "
                            "or roll it back first)");
    const char *file = sqlite3_db_filename(db, "main");
    sqlite_conn *c = new_conn(strdup(file && *file ? file : ":memory:"));
    if (!c)
        return pm_error_set(err, PM_ENOMEM, "out of memory");
    c->db = db;
    c->adopted = true; /* close() never closes db */
    int rc = take_handle(c, err);
    if (rc == 0 && !(*described = describe(c)))
        rc = pm_error_set(err, PM_ENOMEM, "out of memory");
    if (rc < 0) {
        sqlite_close(&c->base); /* restores, never closes db */
        return rc;
    }
    *out = &c->base;
    return 0;
}

int pm_db_adopt_sqlite(pm_db **out, struct sqlite3 *handle, pm_error *err)
{
    return pm_db_adopt(out, "sqlite", handle, err);
}

/* ==== Statements ==== */

/* The statement text in [start, end), without surrounding blanks. */
static char *statement_text(const char *start, const char *end)
{
    while (start < end && (*start == ' ' || *start == '\n' || *start == '\t' || *start == '\r'))
        start++;
    while (end > start && (end[-1] == ' ' || end[-1] == '\n' || end[-1] == '\t' || end[-1] == '\r'))
        end--;
    size_t n = (size_t)(end - start);
    char *s = malloc(n + 1);
    if (s) {
        memcpy(s, start, n);
        s[n] = '\0';
    }
    return s;
}

static int take_end(void *ctx, const char *statement, size_t length, size_t offset)
{
    (void)offset;
    *(const char **)ctx = statement + length;
    return PM_ERROR; /* the first statement is enough */
}

/* Where the statement at start ends, by the project's lexer. */
static const char *statement_end(const char *start)
{
    const char *end = NULL;
    pm_sql_split(start, take_end, &end, NULL);
    return end;
}

static int fail_at(sqlite_conn *c, int code, const char *start, const char *end, pm_error *err)
{
    char *text = statement_text(start, end ? end : start + strlen(start));
    int rc = fail(c, code, text, err);
    free(text);
    return rc;
}

/* Binds text parameters named $1..$n wherever they appear. */
static int bind_params(sqlite3_stmt *stmt, const char *const *params, size_t nparams)
{
    int count = sqlite3_bind_parameter_count(stmt);
    for (int i = 1; i <= count; i++) {
        const char *name = sqlite3_bind_parameter_name(stmt, i);
        long k = name && name[0] == '$' ? strtol(name + 1, NULL, 10) : 0;
        if (k < 1 || (size_t)k > nparams)
            return SQLITE_RANGE;
        const char *value = params[k - 1];
        int rc = value ? sqlite3_bind_text(stmt, i, value, -1, SQLITE_STATIC)
                       : sqlite3_bind_null(stmt, i);
        if (rc != SQLITE_OK)
            return rc;
    }
    return SQLITE_OK;
}

/* Steps stmt to the end, handing rows to row (which may be NULL). */
static int step_rows(sqlite3_stmt *stmt, pm_row_fn row, void *ctx, int *stopped)
{
    int ncols = sqlite3_column_count(stmt);
    const char *stack_values[16];
    const char **values = ncols <= 16 ? stack_values : malloc((size_t)ncols * sizeof(*values));
    if (!values)
        return SQLITE_NOMEM;
    int rc;
    *stopped = 0;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        if (!row)
            continue;
        for (int i = 0; i < ncols; i++)
            values[i] = (const char *)sqlite3_column_text(stmt, i);
        int user = row(ctx, (size_t)ncols, values);
        if (user < 0) {
            *stopped = user;
            rc = SQLITE_DONE;
            break;
        }
    }
    if (values != stack_values)
        free(values);
    return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

static int run(sqlite_conn *c, const char *sql, const char *const *params, size_t nparams,
               pm_row_fn row, void *ctx, pm_error *err)
{
    const char *next = sql;
    while (next && *next) {
        const char *start = next;
        sqlite3_stmt *stmt = NULL;
        int rc = sqlite3_prepare_v2(c->db, start, -1, &stmt, &next);
        if (rc != SQLITE_OK) /* SQLite's tail is unreliable after an error: find the end */
            return fail_at(c, rc, start, statement_end(start), err);
        if (!stmt)
            continue; /* only blanks or a comment */
        int stopped = 0;
        rc = bind_params(stmt, params, nparams);
        if (rc == SQLITE_OK)
            rc = step_rows(stmt, row, ctx, &stopped);
        sqlite3_finalize(stmt);
        if (rc != SQLITE_OK)
            return fail_at(c, rc, start, next, err);
        if (stopped)
            return stopped;
    }
    return 0;
}

static int sqlite_exec(pm_conn *conn, const char *sql, pm_error *err)
{
    return run((sqlite_conn *)conn, sql, NULL, 0, NULL, NULL, err);
}

static int sqlite_query(pm_conn *conn, const char *sql, const char *const *params, size_t nparams,
                        pm_row_fn row, void *ctx, pm_error *err)
{
    return run((sqlite_conn *)conn, sql, params, nparams, row, ctx, err);
}

/* ==== Transactions and the lock ==== */

static int sqlite_begin(pm_conn *conn, pm_error *err)
{
    /* IMMEDIATE takes the write lock now, waiting up to the busy timeout,
     * so two migrators on one file take turns. */
    return sqlite_exec(conn, "BEGIN IMMEDIATE", err);
}

static int sqlite_commit(pm_conn *conn, pm_error *err)
{
    return sqlite_exec(conn, "COMMIT", err);
}

static int sqlite_rollback(pm_conn *conn, pm_error *err)
{
    sqlite_conn *c = (sqlite_conn *)conn;
    if (sqlite3_get_autocommit(c->db))
        return 0; /* SQLite already rolled back (e.g. after SQLITE_FULL) */
    return sqlite_exec(conn, "ROLLBACK", err);
}

/* The lock is BEGIN IMMEDIATE per migration (PM_CONN_BEGIN_EXCLUDES);
 * here we only make begin() wait as long as the caller allows. */
static int sqlite_lock(pm_conn *conn, int timeout_ms, pm_error *err)
{
    (void)err;
    set_busy_wait((sqlite_conn *)conn, timeout_ms);
    return 0;
}

static int sqlite_unlock(pm_conn *conn, pm_error *err)
{
    (void)err;
    set_busy_wait((sqlite_conn *)conn, SQLITE_DEFAULT_BUSY_MS);
    return 0;
}

/* ==== Catalog ==== */

static int sqlite_has_table(pm_conn *conn, const char *table, bool *out, pm_error *err)
{
    const char *params[] = {table};
    return pm_driver_row_exists(conn, pm_backend_sqlite.has_table, params, 1, out, err);
}

static int sqlite_has_column(pm_conn *conn, const char *table, const char *column, bool *out,
                             pm_error *err)
{
    const char *params[] = {table, column};
    return pm_driver_row_exists(conn, pm_backend_sqlite.has_column, params, 2, out, err);
}

static void *sqlite_native_handle(pm_conn *conn)
{
    return ((sqlite_conn *)conn)->db;
}

/* From a signal handler: sqlite3_interrupt only sets a flag. */
static void sqlite_cancel(pm_conn *conn)
{
    sqlite_conn *c = (sqlite_conn *)conn;
    c->cancelled = 1; /* ends a wait for a busy database */
    sqlite3_interrupt(c->db);
}

/* ==== Test databases: the whole database as bytes ==== */

static bool sqlite_in_transaction(pm_conn *conn)
{
    return !sqlite3_get_autocommit(((sqlite_conn *)conn)->db);
}

static int sqlite_image_save(pm_conn *conn, void **image, size_t *size, pm_error *err)
{
    sqlite_conn *c = (sqlite_conn *)conn;
    sqlite3_int64 n = 0;
    unsigned char *bytes = sqlite3_serialize(c->db, "main", &n, 0);
    *image = bytes ? malloc((size_t)n ? (size_t)n : 1) : NULL;
    if (!*image) {
        sqlite3_free(bytes);
        return pm_error_set(err, PM_ENOMEM, "cannot copy SQLite database \"%s\": out of memory",
                            c->filename);
    }
    memcpy(*image, bytes, (size_t)n);
    *size = (size_t)n;
    /* A WAL file's header says so (bytes 18 and 19 are 2); an in-memory
     * database cannot use WAL, so the copy says rollback journal (1). */
    if (n >= 20) {
        ((unsigned char *)*image)[18] = 1;
        ((unsigned char *)*image)[19] = 1;
    }
    sqlite3_free(bytes);
    return 0;
}

/* A private in-memory database holding a copy of image. SQLite takes over
 * the copy (FREEONCLOSE) and may grow it (RESIZEABLE). */
static int sqlite_image_open(pm_conn **out, const void *image, size_t size, pm_error *err)
{
    sqlite_conn *c = new_conn(strdup(":memory:"));
    if (!c)
        return pm_error_set(err, PM_ENOMEM, "out of memory");
    int rc = connect_file(c, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, err);
    if (rc < 0)
        return rc;
    unsigned char *copy = sqlite3_malloc64(size ? size : 1);
    if (!copy) {
        sqlite_close(&c->base);
        return pm_error_set(err, PM_ENOMEM, "out of memory");
    }
    memcpy(copy, image, size);
    int src = sqlite3_deserialize(c->db, "main", copy, (sqlite3_int64)size, (sqlite3_int64)size,
                                  SQLITE_DESERIALIZE_FREEONCLOSE | SQLITE_DESERIALIZE_RESIZEABLE);
    if (src != SQLITE_OK) {
        rc = fail(c, src, NULL, err);
        sqlite_close(&c->base);
        return rc;
    }
    *out = &c->base;
    return 0;
}

/* Known from the URL: the file, or :memory:, which goes with the
 * connection. */
static const pm_backend *sqlite_backend_of(const pm_url *url, unsigned int *conn_flags)
{
    char *filename = url_filename(url);
    *conn_flags = pm_backend_sqlite.conn_flags;
    if (filename && strcmp(filename, ":memory:") == 0)
        *conn_flags |= PM_CONN_EPHEMERAL;
    free(filename);
    return &pm_backend_sqlite;
}

/* The file a URL's database is, for `database create|drop`; none for
 * :memory:. */
static char *sqlite_database_file(const pm_url *url)
{
    char *filename = url_filename(url);
    if (filename && (!*filename || strcmp(filename, ":memory:") == 0)) {
        free(filename);
        return NULL;
    }
    return filename;
}

/* sqlite3: golang-migrate's spelling (sqlite3://path), an alias. */
static const char *const sqlite_schemes[] = {"sqlite", "sqlite3", NULL};

const pm_driver pm_driver_sqlite = {
    .version = PM_DRIVER_VERSION,
    .name = "sqlite",
    .schemes = sqlite_schemes,
    .open = sqlite_open,
    .close = sqlite_close,
    .exec = sqlite_exec,
    .query = sqlite_query,
    .begin = sqlite_begin,
    .commit = sqlite_commit,
    .rollback = sqlite_rollback,
    .lock = sqlite_lock,
    .unlock = sqlite_unlock,
    .has_table = sqlite_has_table,
    .has_column = sqlite_has_column,
    .native_handle = sqlite_native_handle,
    .cancel = sqlite_cancel,
    .in_transaction = sqlite_in_transaction,
    .image_save = sqlite_image_save,
    .image_open = sqlite_image_open,
    .backend_of = sqlite_backend_of,
    .adopt = sqlite_adopt,
    .database_file = sqlite_database_file,
};
