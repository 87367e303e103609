/* dbi.c: the libdbi driver. mysql:// and mariadb:// reach MySQL/MariaDB
 * through libdbi's mysql driver; dbi:<driver>://... reaches any installed
 * libdbi driver, with query parameters passed to dbi_conn_set_option. Each
 * libdbi driver reaches one backend (backends/<name>/), shared with the
 * native SQLite and PostgreSQL drivers: its dialect, session set-up,
 * transactions, lock and catalog come from there, not from this file.
 *
 * Some libdbi drivers print to stdout and stderr on their own (the sqlite3
 * one prints "No tables in statement !", the pgsql one lets libpq print
 * notices), so their calls run with both file descriptors pointed at
 * /dev/null; the mysql driver prints nothing (libdbi's own messages are
 * turned off), so MySQL/MariaDB connections leave them alone and other
 * threads' output is never lost to them. */
#include <dbi/dbi.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "poblysh/sys/driver.h"

typedef struct dbi_pm_conn dbi_pm_conn;

/* ==== Backends ==== */

/* The backend each libdbi driver reaches, by name. */
static const struct {
    const char *libdbi_driver;
    const char *backend;
    /* It prints to stdout or stderr on its own (the sqlite3 driver's "No
     * tables in statement !", libpq's notices): its calls run quiet. */
    bool prints;
} reaches[] = {
    {"mysql", "mysql", false},
    {"pgsql", "postgres", true},
    {"sqlite3", "sqlite", true},
};

/* Whether the libdbi driver called name prints on its own (unknown ones
 * are taken to). */
static bool prints_on_its_own(const char *name)
{
    for (size_t i = 0; i < sizeof(reaches) / sizeof(reaches[0]); i++)
        if (name && strcmp(reaches[i].libdbi_driver, name) == 0)
            return reaches[i].prints;
    return true;
}

struct dbi_pm_conn {
    pm_conn base;
    dbi_inst inst;
    dbi_conn conn;
    const pm_backend *backend;
    const char *libdbi_driver; /* "mysql", "pgsql", "sqlite3": static */
    bool quiet;                /* its libdbi calls run quiet (prints_on_its_own()) */
    bool in_transaction;
    volatile sig_atomic_t cancelled;
    char lock_key[96];   /* "" when not locked */
    int lock_timeout_ms; /* how long begin() waits for a lock per transaction */
};

/* ==== Quiet calls ==== */

/* Points stdout and stderr at /dev/null for the length of a libdbi call.
 * The saved copies live above fd 2, and a descriptor that was closed is
 * closed again afterwards, so a process started with stdout closed still
 * gets its errors on stderr.
 *
 * Threads: the descriptors are the process's, so the first thread into a
 * libdbi call points them away and the last one out puts them back (a count
 * under a lock): connections used from several threads at once (a fleet)
 * never leave them at /dev/null, but while any thread is inside a libdbi
 * call every thread's output to stdout and stderr is lost. */
typedef struct quiet {
    int saved_out, saved_err;
    bool out_closed, err_closed;
} quiet;

static pthread_mutex_t quiet_lock = PTHREAD_MUTEX_INITIALIZER;
static size_t quiet_depth; /* threads inside a libdbi call */
static quiet quiet_saved;  /* the descriptors to put back */

static int save_fd(int fd, bool *closed)
{
    int saved = fcntl(fd, F_DUPFD_CLOEXEC, STDERR_FILENO + 1);
    *closed = saved < 0 && errno == EBADF;
    return saved;
}

static void restore_fd(int fd, int saved, bool closed)
{
    if (saved >= 0) {
        dup2(saved, fd);
        close(saved);
    } else if (closed) {
        close(fd);
    }
}

static void silence(quiet *q)
{
    fflush(stdout);
    fflush(stderr);
    q->saved_out = save_fd(STDOUT_FILENO, &q->out_closed);
    q->saved_err = save_fd(STDERR_FILENO, &q->err_closed);
    int devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (devnull >= 0 && devnull <= STDERR_FILENO) {
        int high = fcntl(devnull, F_DUPFD_CLOEXEC, STDERR_FILENO + 1);
        close(devnull);
        devnull = high;
    }
    if (devnull >= 0) {
        dup2(devnull, STDOUT_FILENO);
        dup2(devnull, STDERR_FILENO);
        close(devnull);
    }
}

static void unsilence(quiet *q)
{
    fflush(stdout);
    fflush(stderr);
    restore_fd(STDOUT_FILENO, q->saved_out, q->out_closed);
    restore_fd(STDERR_FILENO, q->saved_err, q->err_closed);
}

static void quiet_begin(bool needed)
{
    if (!needed)
        return;
    pthread_mutex_lock(&quiet_lock);
    if (quiet_depth++ == 0)
        silence(&quiet_saved);
    pthread_mutex_unlock(&quiet_lock);
}

static void quiet_end(bool needed)
{
    if (!needed)
        return;
    pthread_mutex_lock(&quiet_lock);
    if (--quiet_depth == 0)
        unsilence(&quiet_saved);
    pthread_mutex_unlock(&quiet_lock);
}

/* libdbi keeps each instance's connections in a list that dbi_conn_new_r()
 * and dbi_conn_close() change without a lock: those calls take this lock,
 * so connections may be opened and closed from several threads at once.
 * A client library may set itself up on its first connect without a lock
 * (the MySQL client's mysql_library_init()): each libdbi driver's connects
 * also run under it until one has succeeded, then in parallel
 * (drivers_connected says which got there). Statements on different
 * connections need no lock. */
static pthread_mutex_t instance_lock = PTHREAD_MUTEX_INITIALIZER;

#define MAX_DRIVERS_SEEN 16

static struct {
    char name[32];
} drivers_connected[MAX_DRIVERS_SEEN];
static size_t nconnected;

/* Whether a connection through driver_name has succeeded already; the
 * caller holds instance_lock. */
static bool has_connected(const char *driver_name)
{
    for (size_t i = 0; i < nconnected; i++)
        if (strcmp(drivers_connected[i].name, driver_name) == 0)
            return true;
    return false;
}

/* Notes that a connection through driver_name succeeded; the caller holds
 * instance_lock. A driver not noted (the table full, a long name) keeps
 * connecting under the lock, which is only slower. */
static void note_connected(const char *driver_name)
{
    if (has_connected(driver_name) || nconnected == MAX_DRIVERS_SEEN ||
        strlen(driver_name) >= sizeof(drivers_connected[0].name))
        return;
    strcpy(drivers_connected[nconnected++].name, driver_name);
}

/* dbi_conn_connect(), under instance_lock only while driver_name has never
 * connected. */
static int connect_once(dbi_conn conn, const char *driver_name)
{
    pthread_mutex_lock(&instance_lock);
    if (has_connected(driver_name)) {
        pthread_mutex_unlock(&instance_lock);
        return dbi_conn_connect(conn);
    }
    int connected_rc = dbi_conn_connect(conn);
    if (connected_rc >= 0)
        note_connected(driver_name);
    pthread_mutex_unlock(&instance_lock);
    return connected_rc;
}

/* ==== Errors ==== */

static int fail(dbi_pm_conn *c, int code, const char *statement, pm_error *err)
{
    const char *message = NULL;
    int number = c->conn ? dbi_conn_error(c->conn, &message) : 0;
    pm_error_set(err, code, "%s", message && *message ? message : "libdbi error");
    char db_code[32];
    snprintf(db_code, sizeof(db_code), "%d", number);
    pm_error_set_db(err, number ? db_code : NULL, statement);
    return code;
}

/* ==== Statements ==== */

/* Runs one statement; rows (every value as text) go to row, which may be
 * NULL. */
static int run(dbi_pm_conn *c, const char *sql, pm_row_fn row, void *ctx, pm_error *err)
{
    quiet_begin(c->quiet);
    dbi_result res = dbi_conn_query(c->conn, sql);
    quiet_end(c->quiet);
    if (!res)
        return fail(c, PM_EDB, sql, err);
    int rc = 0;
    unsigned int ncols = dbi_result_get_numfields(res);
    if (row && ncols != DBI_FIELD_ERROR && ncols > 0) {
        char **values = calloc(ncols, sizeof(*values));
        if (!values)
            rc = pm_error_set(err, PM_ENOMEM, "out of memory");
        while (rc == 0 && dbi_result_next_row(res)) {
            for (unsigned int i = 0; i < ncols && rc == 0; i++) {
                values[i] = dbi_result_field_is_null_idx(res, i + 1)
                                ? NULL
                                : dbi_result_get_as_string_copy_idx(res, i + 1);
            }
            rc = row(ctx, ncols, (const char *const *)values);
            for (unsigned int i = 0; i < ncols; i++) {
                free(values[i]);
                values[i] = NULL;
            }
        }
        free(values);
    }
    quiet_begin(c->quiet);
    dbi_result_free(res);
    quiet_end(c->quiet);
    return rc;
}

/* A literal quoted by the libdbi driver, malloc'd. */
static char *dbi_literal(void *ctx, const char *value)
{
    char *quoted = NULL;
    dbi_conn_quote_string_copy(((dbi_pm_conn *)ctx)->conn, value, &quoted);
    return quoted;
}

static int dbi_query(pm_conn *conn, const char *sql, const char *const *params, size_t nparams,
                     pm_row_fn row, void *ctx, pm_error *err)
{
    dbi_pm_conn *c = (dbi_pm_conn *)conn;
    char *text = pm_sql_inline_params(sql, params, nparams, dbi_literal, c);
    if (!text)
        return pm_error_set(err, PM_ENOMEM, "out of memory");
    int rc = run(c, text, row, ctx, err);
    free(text);
    return rc;
}

typedef struct exec_ctx {
    dbi_pm_conn *c;
    pm_error *err;
} exec_ctx;

static int exec_statement(void *ctx, const char *statement, size_t length, size_t offset)
{
    (void)offset;
    exec_ctx *x = ctx;
    char *text = malloc(length + 1);
    if (!text)
        return pm_error_set(x->err, PM_ENOMEM, "out of memory");
    memcpy(text, statement, length);
    text[length] = '\0';
    int rc = run(x->c, text, NULL, NULL, x->err);
    free(text);
    return rc;
}

static int no_statement(void *ctx, const char *statement, size_t length, size_t offset)
{
    (void)ctx;
    (void)statement;
    (void)length;
    (void)offset;
    return 0;
}

/* libdbi sends one statement per call: split, then send each. The whole
 * script is lexed first, so an unterminated string or body at its end is
 * found before any of its statements runs (MySQL's DDL cannot be rolled
 * back). */
static int dbi_exec(pm_conn *conn, const char *sql, pm_error *err)
{
    exec_ctx x = {(dbi_pm_conn *)conn, err};
    unsigned int rules = ((dbi_pm_conn *)conn)->backend->lexer_flags;
    int rc = pm_sql_split_flags(sql, rules, no_statement, NULL, err);
    return rc < 0 ? rc : pm_sql_split_flags(sql, rules, exec_statement, &x, err);
}

/* ==== Transactions ==== */

static int dbi_rollback(pm_conn *conn, pm_error *err);

/* On a backend that takes the migration lock per transaction (PostgreSQL),
 * takes it right after BEGIN, between lock() and unlock(). */
static int take_transaction_lock(dbi_pm_conn *c, pm_error *err)
{
    if (!*c->lock_key || !pm_driver_locks_per_transaction(&c->base))
        return 0;
    char *sql = pm_driver_lock_transaction_sql(&c->base, c->lock_key, c->lock_timeout_ms);
    int rc = sql ? dbi_exec(&c->base, sql, err) : pm_error_set(err, PM_ENOMEM, "out of memory");
    free(sql);
    if (rc == 0)
        return 0;
    pm_error ignored = PM_ERROR_INIT;
    dbi_rollback(&c->base, &ignored);
    pm_error_clear(&ignored);
    return pm_driver_lock_transaction_failed(&c->base, c->lock_key, c->lock_timeout_ms,
                                             &c->cancelled, rc, err);
}

static int dbi_begin(pm_conn *conn, pm_error *err)
{
    dbi_pm_conn *c = (dbi_pm_conn *)conn;
    int rc = run(c, c->backend->begin, NULL, NULL, err);
    c->in_transaction = rc == 0;
    return rc < 0 ? rc : take_transaction_lock(c, err);
}

static int dbi_commit(pm_conn *conn, pm_error *err)
{
    dbi_pm_conn *c = (dbi_pm_conn *)conn;
    int rc = run(c, "COMMIT", NULL, NULL, err);
    if (rc == 0)
        c->in_transaction = false;
    return rc;
}

static int dbi_rollback(pm_conn *conn, pm_error *err)
{
    dbi_pm_conn *c = (dbi_pm_conn *)conn;
    if (!c->in_transaction)
        return 0;
    c->in_transaction = false;
    return run(c, "ROLLBACK", NULL, NULL, err);
}

/* ==== Opening ==== */

/* "mysql, pgsql, sqlite3": the libdbi drivers installed here. */
static void installed_drivers(dbi_inst inst, char *buf, size_t size)
{
    buf[0] = '\0';
    for (dbi_driver d = dbi_driver_list_r(NULL, inst); d; d = dbi_driver_list_r(d, inst)) {
        size_t len = strlen(buf);
        snprintf(buf + len, size - len, "%s%s", len ? ", " : "", dbi_driver_get_name(d));
    }
    if (!*buf)
        snprintf(buf, size, "none (install libdbd-mysql, libdbd-pgsql or libdbd-sqlite3)");
}

static const char *libdbi_driver_of(const pm_url *url)
{
    if (strcmp(url->scheme, "mysql") == 0 || strcmp(url->scheme, "mariadb") == 0)
        return "mysql";
    return url->subscheme;
}

/* libdbi options are typed; its drivers read only these as numbers. A
 * password, user or database name made of digits stays text. */
static bool numeric_option(const char *key)
{
    return strcmp(key, "port") == 0 || strcmp(key, "timeout") == 0 ||
           strcmp(key, "sqlite3_timeout") == 0 || strncmp(key, "mysql_client_", 13) == 0 ||
           strcmp(key, "mysql_include_trailing_null") == 0;
}

static int set_option(dbi_pm_conn *c, const char *key, const char *value, pm_error *err)
{
    if (!value)
        return 0;
    size_t n = strlen(value);
    bool numeric = numeric_option(key);
    if (numeric && (n == 0 || n > 9 || strspn(value, "0123456789") != n))
        return pm_error_set(err, PM_EURL, "dbi URL: option \"%s\" must be a number", key);
    int rc = numeric ? dbi_conn_set_option_numeric(c->conn, key, atoi(value))
                     : dbi_conn_set_option(c->conn, key, value);
    return rc < 0 ? pm_error_set(err, PM_EURL, "libdbi refused the option \"%s\"", key) : 0;
}

/* SQLite files: libdbi's sqlite3 driver takes a directory and a file name. */
static int set_sqlite3_file(dbi_pm_conn *c, const pm_url *url, pm_error *err)
{
    const char *host = url->host ? url->host : "";
    const char *path = url->path ? url->path : "";
    char file[4096];
    snprintf(file, sizeof(file), "%s%s", url->has_authority ? host : "", path);
    if (!*file)
        return pm_error_set(err, PM_EURL,
                            "dbi:sqlite3 URL names no file: use dbi:sqlite3:///abs/path.db");
    char *slash = strrchr(file, '/');
    const char *dir = ".", *name = file;
    if (slash == file) {
        dir = "/";
        name = file + 1;
    } else if (slash) {
        *slash = '\0';
        dir = file;
        name = slash + 1;
    }
    int rc = set_option(c, "sqlite3_dbdir", dir, err);
    return rc == 0 ? set_option(c, "dbname", name, err) : rc;
}

static int set_url_options(dbi_pm_conn *c, const pm_url *url, pm_error *err)
{
    int rc = 0;
    if (strcmp(c->libdbi_driver, "sqlite3") == 0) {
        rc = set_sqlite3_file(c, url, err);
    } else {
        char port[8] = "";
        if (url->port)
            snprintf(port, sizeof(port), "%d", url->port);
        rc = set_option(c, "host", url->host, err);
        if (rc == 0 && *port)
            rc = set_option(c, "port", port, err);
        if (rc == 0)
            rc = set_option(c, "username", url->user, err);
        if (rc == 0)
            rc = set_option(c, "password", url->password, err);
        if (rc == 0 && url->path && url->path[0] == '/' && url->path[1])
            rc = set_option(c, "dbname", url->path + 1, err);
        if (rc == 0 && strcmp(c->libdbi_driver, "mysql") == 0 && !pm_url_param_get(url, "encoding"))
            rc = set_option(c, "encoding", "utf8mb4", err); /* UTF-8 maps to 3-byte utf8 */
        if (rc == 0 && !pm_url_param_get(url, "timeout"))
            rc = set_option(c, "timeout", "10", err);
    }
    for (size_t i = 0; rc == 0 && i < url->nparams; i++)
        rc = set_option(c, url->params[i].key, url->params[i].value, err);
    return rc;
}

static void dbi_close(pm_conn *conn)
{
    dbi_pm_conn *c = (dbi_pm_conn *)conn;
    quiet_begin(c->quiet);
    if (c->conn) {
        pthread_mutex_lock(&instance_lock);
        dbi_conn_close(c->conn);
        pthread_mutex_unlock(&instance_lock);
    }
    quiet_end(c->quiet);
    free(c);
}

/* Points c at the backend its libdbi driver reaches; NULL when none. */
static const pm_backend *find_backend(dbi_pm_conn *c, const char *libdbi_driver)
{
    for (size_t i = 0; i < sizeof(reaches) / sizeof(reaches[0]); i++) {
        if (strcmp(reaches[i].libdbi_driver, libdbi_driver) == 0) {
            c->libdbi_driver = reaches[i].libdbi_driver;
            return pm_backend_find(reaches[i].backend);
        }
    }
    return NULL;
}

/* One libdbi instance for the process, made on first use and never shut
 * down. An instance per connection loaded every libdbi driver module (and
 * libpq or the MySQL client library with it) at each open and unloaded them
 * at each close, and what those libraries allocate when loaded was lost at
 * every cycle. */
static dbi_inst process_inst;
static int process_ndrivers;
static pthread_once_t process_once = PTHREAD_ONCE_INIT;

static void initialize_process_instance(void)
{
    quiet_begin(true);
    process_ndrivers = dbi_initialize_r(NULL, &process_inst);
    if (process_ndrivers >= 0)
        dbi_set_verbosity_r(0, process_inst); /* libdbi's own messages: we report errors */
    quiet_end(true);
}

/* Creates the libdbi connection for driver_name, or explains why not. */
static int new_connection(dbi_pm_conn *c, const char *driver_name, pm_error *err)
{
    pthread_once(&process_once, initialize_process_instance);
    int ndrivers = process_ndrivers;
    c->inst = process_inst;
    c->quiet = prints_on_its_own(driver_name);
    quiet_begin(c->quiet);
    pthread_mutex_lock(&instance_lock);
    c->conn = ndrivers > 0 ? dbi_conn_new_r(driver_name, c->inst) : NULL;
    pthread_mutex_unlock(&instance_lock);
    quiet_end(c->quiet);
    if (c->conn)
        return 0;
    if (ndrivers <= 0)
        return pm_error_set(err, PM_ENODRIVER,
                            "libdbi found no drivers: install libdbd-mysql, libdbd-pgsql or "
                            "libdbd-sqlite3");
    char installed[256];
    installed_drivers(c->inst, installed, sizeof(installed));
    return pm_error_set(err, PM_ENODRIVER,
                        "libdbi has no driver \"%s\"; installed libdbi drivers: %s", driver_name,
                        installed);
}

/* ==== Connecting, and waiting for the server ==== */

/* Whether a failed connection is worth another try while waiting: the
 * server did not answer or went away (the MySQL client's CR_CONNECTION_ERROR
 * 2002, CR_CONN_HOST_ERROR 2003, CR_SERVER_GONE_ERROR 2006, CR_SERVER_LOST
 * 2013) or is shutting down or starting (ER_SERVER_SHUTDOWN 1053). A server
 * that answers and refuses (a password, an unknown database) fails at once.
 * Other libdbi drivers report no such numbers: every failure is retried. */
static bool worth_retrying(const char *driver_name, int code)
{
    if (strcmp(driver_name, "mysql") != 0)
        return true;
    return code == 2002 || code == 2003 || code == 2006 || code == 2013 || code == 1053;
}

static double seconds_since(const struct timespec *start)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - start->tv_sec) + (double)(now.tv_nsec - start->tv_nsec) / 1e9;
}

#define DBI_WAIT_POLL_MS 500

/* Connects, retrying for up to opts->wait_seconds while the server does not
 * answer, reporting each failed attempt through opts->waiting; stops at once
 * when *opts->cancelled is set. */
static int connect_with_wait(dbi_pm_conn *c, const char *driver_name,
                             const pm_connect_options *opts, pm_error *err)
{
    int wait_seconds = opts ? opts->wait_seconds : 0;
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (int attempt = 1;; attempt++) {
        quiet_begin(c->quiet);
        int connected = connect_once(c->conn, driver_name);
        quiet_end(c->quiet);
        if (connected >= 0)
            return 0;
        const char *message = NULL;
        int code = dbi_conn_error(c->conn, &message);
        const char *why = message && *message ? message : "unknown error";
        bool again = wait_seconds > 0 && worth_retrying(driver_name, code) &&
                     seconds_since(&start) < wait_seconds && !(opts->cancelled && *opts->cancelled);
        if (!again)
            return pm_error_set(err, PM_ECONNECT, "cannot connect through libdbi's %s driver: %s%s",
                                driver_name, why, attempt > 1 ? " (gave up after --wait)" : "");
        if (opts->waiting)
            opts->waiting(opts->waiting_ctx, attempt, seconds_since(&start), why);
        struct timespec pause = {0, DBI_WAIT_POLL_MS * 1000000L};
        nanosleep(&pause, NULL); /* a signal ends it early */
    }
}

static int dbi_open(pm_conn **out, const pm_url *url, const pm_connect_options *opts, pm_error *err)
{
    const char *driver_name = libdbi_driver_of(url);
    if (!driver_name || !*driver_name)
        return pm_error_set(err, PM_EURL, "dbi URL names no libdbi driver: use dbi:<driver>://...");
    dbi_pm_conn *c = calloc(1, sizeof(*c));
    if (!c)
        return pm_error_set(err, PM_ENOMEM, "out of memory");
    int rc = new_connection(c, driver_name, err);
    if (rc == 0 && !(c->backend = find_backend(c, driver_name)))
        rc = pm_error_set(err, PM_ENODRIVER,
                          "libdbi driver \"%s\" is installed, but poblysh has no dialect for it "
                          "(it knows mysql, pgsql and sqlite3)",
                          driver_name);
    if (rc == 0)
        rc = set_url_options(c, url, err);
    if (rc == 0)
        rc = connect_with_wait(c, driver_name, opts, err);
    if (rc == 0 && c->backend->session_setup)
        rc = dbi_exec(&c->base, c->backend->session_setup, err);
    if (rc < 0) {
        dbi_close(&c->base);
        return rc;
    }
    c->base.backend = c->backend;
    c->base.flags = c->backend->conn_flags | PM_CONN_SPLITS_SCRIPTS;
    *out = &c->base;
    return 0;
}

/* ==== The vtable ==== */

static int dbi_lock(pm_conn *conn, int timeout_ms, pm_error *err)
{
    dbi_pm_conn *c = (dbi_pm_conn *)conn;
    c->lock_timeout_ms = timeout_ms;
    return pm_driver_lock(conn, timeout_ms, c->lock_key, sizeof(c->lock_key), &c->cancelled, err);
}

static int dbi_unlock(pm_conn *conn, pm_error *err)
{
    dbi_pm_conn *c = (dbi_pm_conn *)conn;
    int rc = dbi_rollback(conn, err); /* never unlock inside an open transaction */
    if (rc == 0)
        rc = pm_driver_unlock(conn, c->lock_key, err);
    c->lock_key[0] = '\0';
    return rc;
}

static int dbi_has_table(pm_conn *conn, const char *table, bool *out, pm_error *err)
{
    const char *params[] = {table};
    return pm_driver_row_exists(conn, ((dbi_pm_conn *)conn)->backend->has_table, params, 1, out,
                                err);
}

static int dbi_has_column(pm_conn *conn, const char *table, const char *column, bool *out,
                          pm_error *err)
{
    const char *params[] = {table, column};
    return pm_driver_row_exists(conn, ((dbi_pm_conn *)conn)->backend->has_column, params, 2, out,
                                err);
}

static void *dbi_native_handle(pm_conn *conn)
{
    return ((dbi_pm_conn *)conn)->conn;
}

/* libdbi cannot cancel a running statement; a signal stops lock waits and
 * keeps the engine from starting the next migration. */
static void dbi_cancel(pm_conn *conn)
{
    ((dbi_pm_conn *)conn)->cancelled = 1;
}

static const pm_backend *dbi_backend_of(const pm_url *url, unsigned int *conn_flags)
{
    dbi_pm_conn probe = {0};
    const char *libdbi_driver = libdbi_driver_of(url);
    const pm_backend *b = libdbi_driver ? find_backend(&probe, libdbi_driver) : NULL;
    *conn_flags = b ? b->conn_flags | PM_CONN_SPLITS_SCRIPTS : 0;
    return b;
}

static const char *const dbi_schemes[] = {"mysql", "mariadb", "dbi:*", NULL};

const pm_driver pm_driver_dbi = {
    .version = PM_DRIVER_VERSION,
    .name = "dbi",
    .schemes = dbi_schemes,
    .open = dbi_open,
    .close = dbi_close,
    .exec = dbi_exec,
    .query = dbi_query,
    .begin = dbi_begin,
    .commit = dbi_commit,
    .rollback = dbi_rollback,
    .lock = dbi_lock,
    .unlock = dbi_unlock,
    .has_table = dbi_has_table,
    .has_column = dbi_has_column,
    .native_handle = dbi_native_handle,
    .cancel = dbi_cancel,
    .backend_of = dbi_backend_of,
};
