/* sys/driver.h: the interface between the core engine and a database driver,
 * for driver authors only (services include poblysh/poblysh.h).
 *
 * A driver is a const struct pm_driver of function pointers, versioned like
 * libgit2's git_odb_backend and SQLite's sqlite3_vfs: `version` comes first,
 * new members are only ever appended and marked with the version that added
 * them, and optional members may be NULL. A driver is compiled in (one folder
 * under drivers/ and one pm_add_driver() line in drivers/CMakeLists.txt) or
 * registered by the program at run time with pm_driver_register(). What a
 * driver knows about the engine it reaches is not here: its connections
 * point at that engine's struct pm_backend (sys/backend.h).
 *
 * Threads: the core calls a connection's members from one thread at a time
 * (whichever thread is using its pm_db), except cancel(), which may come
 * from a signal handler or any other thread while another member runs.
 * Different connections are used from different threads at once, so a
 * driver's state shared by its connections (a loaded library, a process-wide
 * instance) must be made once under pthread_once() or a lock, as the
 * PostgreSQL driver loads libpq. The helpers below keep no state of their
 * own and may be called from any thread. */
#ifndef POBLYSH_SYS_DRIVER_H
#define POBLYSH_SYS_DRIVER_H

#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

#include "../errors.h"
#include "../schema.h"
#include "../url.h"
#include "backend.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct pm_driver pm_driver;

/* ==== Connection ==== */

/* The core's part of every connection. A driver's connection struct embeds it
 * first: struct sqlite_conn { pm_conn base; sqlite3 *db; }; */
struct pm_conn {
    const pm_driver *driver;   /* set by the core after open() */
    const pm_backend *backend; /* the engine reached; set by open(), may depend on the URL */
    unsigned int flags;        /* PM_CONN_* capabilities, set by open() */
    /* (11) The schema pm_db_use_schema() chose, or NULL; set by the core,
     * borrowed from it. Queries outside a transaction may reach a server
     * connection that never saw its SET (a pooler in transaction mode), so
     * what must not depend on that (the lock's key) names it instead. */
    const char *schema;
};

/* Called once per result row. values[i] is the column's text, NULL for SQL
 * NULL; borrowed for the call only. Return 0 to continue, or a negative
 * PM_E* code to stop the query, which then returns that code. */
typedef int (*pm_row_fn)(void *ctx, size_t ncolumns, const char *const *values);

/* Options the core passes to open(). */
typedef struct pm_connect_options {
    int wait_seconds; /* retry while the server is unreachable or starting */
    /* PM_DB_OPEN_EXISTING (db.h): a driver whose open() can create a
     * database (SQLite's file) must not, and fails with PM_ECONNECT "no such
     * database file: NAME". Drivers built before it ignore it. */
    unsigned int flags;
    /* Non-NULL and non-zero (set from a signal handler): stop retrying at
     * once and fail; the core then reports PM_EINTERRUPTED. A driver that
     * waits checks it between attempts and should not sleep long without
     * looking (a signal also ends nanosleep early). */
    const volatile sig_atomic_t *cancelled;
    /* (10) Called by a driver that waits (wait_seconds > 0) after each
     * failed attempt it will retry: the attempt's number from 1, the seconds
     * since the first, and why it failed (the library's message; the core
     * scrubs secrets from it before anyone sees it). Never NULL in a
     * version 10 core; ctx is waiting_ctx. */
    void (*waiting)(void *ctx, int attempt, double elapsed, const char *why);
    void *waiting_ctx;
} pm_connect_options;

/* ==== Driver ==== */

/* 1: the first interface. 2: cancel(). 3: capability flags moved from the
 * driver to the connection (pm_conn.flags), removing pm_driver.flags.
 * 4: read_schema(). 5: in_transaction(), image_save() and image_open(), for
 * test databases. 6: pm_conn.dialect replaced by pm_conn.backend (the engine's
 * one struct pm_backend), PM_CONN_EPHEMERAL; drivers can be registered at run
 * time. 7: adopt(), for pm_db_adopt(). 8: no new member, a duty: on a
 * backend with lock_transaction (sys/backend.h), pm_driver_lock() only
 * finds the key and begin() takes the lock in each transaction
 * (pm_driver_lock_transaction_sql()); for drivers of version 6 and 7 it
 * stays the session lock. 9: conninfo(), for connection strings the
 * driver's library reads itself, and PM_CONN_READ_ONLY. The core accepts
 * drivers of PM_DRIVER_VERSION_MIN..PM_DRIVER_VERSION; a version 6 driver
 * simply has no adopt() (its struct ends before it, so the core never reads
 * it). 10: database_file(), and pm_connect_options.waiting, the callback a
 * driver calls before each new attempt while it waits. 11: pm_conn.schema,
 * the schema pm_db_use_schema() chose, which pm_driver_lock() keys the
 * migration lock on (the core sets it only on connections of drivers of
 * version 11 and later, whose pm_conn has the member). */
#define PM_DRIVER_VERSION 11
#define PM_DRIVER_VERSION_MIN 6

/* Connection capability flags (pm_conn.flags): they depend on the backend
 * reached, which for libdbi is only known from the URL. */
/* DDL is transactional: a migration and its history row commit together. */
#define PM_CONN_TRANSACTIONAL_DDL (1u << 0)
/* begin() takes a write lock that excludes every other migrator until
 * commit/rollback, so the engine re-reads history inside each migration's
 * transaction (SQLite's BEGIN IMMEDIATE; PostgreSQL's transaction-level
 * advisory lock, the backend's lock_transaction, once lock() has found
 * its key). */
#define PM_CONN_BEGIN_EXCLUDES (1u << 1)
/* The database lives in the connection and is gone when it closes
 * (sqlite::memory:). */
#define PM_CONN_EPHEMERAL (1u << 2)
/* exec() splits a script with pm_sql_split_flags() and the backend's
 * lexer_flags and sends its statements one at a time (libdbi), so a dry run
 * records them one at a time too, as they would be sent. */
#define PM_CONN_SPLITS_SCRIPTS (1u << 3)
/* The server reached accepts no writes (a standby replaying the primary's
 * log, a session that is read-only by default): every command that writes
 * is refused before it runs, with PM_EREADONLY; reading ones still work.
 * Added in version 9. */
#define PM_CONN_READ_ONLY (1u << 4)

/* Called by conninfo() for each secret value of a connection string
 * (borrowed for the call). Returns 0, or PM_ENOMEM to stop. */
typedef int (*pm_secret_fn)(void *ctx, const char *value);

struct pm_driver {
    /* PM_DRIVER_VERSION when the driver was built. The core refuses a driver
     * whose version it does not know. */
    unsigned int version;

    /* Short name for messages: "sqlite". */
    const char *name;

    /* NULL-terminated list of URL schemes this driver claims, lower case,
     * without the colon: { "sqlite", NULL }. "NAME:*" claims NAME followed
     * by a sub-scheme, as libdbi's "dbi:*" claims dbi:pgsql://...: the
     * parsed URL's subscheme then holds "pgsql". */
    const char *const *schemes;

    /* Connects to url (already parsed; url->scheme is one of schemes). On
     * success stores a connection whose first member is a pm_conn with its
     * backend and flags set (the core sets its driver), and returns 0. On failure returns
     * PM_ECONNECT or PM_EURL with err filled; the core scrubs the password from err. */
    int (*open)(pm_conn **out, const pm_url *url, const pm_connect_options *opts, pm_error *err);

    /* Closes and frees conn. Called once per successful open(). */
    void (*close)(pm_conn *conn);

    /* Runs sql, which may hold several statements separated by ';', and
     * discards any result. Returns 0 or PM_EDB with err's message, db_code and
     * statement set. */
    int (*exec)(pm_conn *conn, const char *sql, pm_error *err);

    /* Runs one statement with text parameters written $1..$n in sql (a NULL
     * parameter is SQL NULL), calling row for each result row; row may be
     * NULL to discard rows. nparams may be 0 (params NULL). */
    int (*query)(pm_conn *conn, const char *sql, const char *const *params, size_t nparams,
                 pm_row_fn row, void *ctx, pm_error *err);

    /* Transaction control around one migration and its history row. With
     * PM_CONN_BEGIN_EXCLUDES, begin() must not return before it holds a
     * write lock that excludes other migrators (waiting up to the lock
     * timeout given to lock()): on a backend with lock_transaction, between
     * lock() and unlock(), it runs pm_driver_lock_transaction_sql() after
     * BEGIN and reports its failure through
     * pm_driver_lock_transaction_failed(). A driver that batches may
     * instead queue BEGIN and those statements and send them with the
     * transaction's first query() or batch, so that the server takes the
     * lock before anything else of the transaction runs; their failure is
     * then reported (the same way) by the call that sent them, and the core
     * treats a failure of the first query after begin() as begin()'s. */
    int (*begin)(pm_conn *conn, pm_error *err);
    int (*commit)(pm_conn *conn, pm_error *err);
    int (*rollback)(pm_conn *conn, pm_error *err);

    /* Takes the migration lock for the session, waiting at most timeout_ms,
     * on a connection with no open transaction. Returns PM_ELOCKED when it
     * could not, with a message naming the holder when known. unlock() is
     * called on every path after a successful lock(). */
    int (*lock)(pm_conn *conn, int timeout_ms, pm_error *err);
    int (*unlock)(pm_conn *conn, pm_error *err);

    /* Whether a table (in the connection's current schema) or a column of it
     * exists. Usually pm_driver_row_exists() with the backend's has_table and
     * has_column queries. */
    int (*has_table)(pm_conn *conn, const char *table, bool *out, pm_error *err);
    int (*has_column)(pm_conn *conn, const char *table, const char *column, bool *out,
                      pm_error *err);

    /* The library's own handle (sqlite3 *, PGconn *), or NULL. Optional. */
    void *(*native_handle)(pm_conn *conn);

    /* ---- Added in version 2 ---- */

    /* Stops whatever the connection is running (a statement, a lock wait),
     * called from a signal handler or another thread: it must be
     * async-signal-safe (PQcancel, sqlite3_interrupt) and allocate nothing.
     * What was running then fails and the engine rolls back. Optional. */
    void (*cancel)(pm_conn *conn);

    /* ---- Added in version 4 ---- */

    /* Describes the connection's current schema into cat (pm_catalog_*),
     * for `migrate schema`, `verify` and `fresh`. Optional: without it the
     * core uses the backend's read_schema(), and without that those
     * commands are PM_EUNSUPPORTED. */
    int (*read_schema)(pm_conn *conn, pm_catalog *cat, pm_error *err);

    /* ---- Added in version 5: test databases (poblysh/testdb.h) ---- */

    /* Whether conn has a transaction open (sqlite3_get_autocommit,
     * PQtransactionStatus). Rollback mode checks it after each test, to
     * catch a test that committed. Optional: without it rollback mode is
     * PM_EUNSUPPORTED. */
    bool (*in_transaction)(pm_conn *conn);

    /* For backends whose databases live in the process (SQLite):
     * image_save() stores the whole database of conn as bytes in *image
     * (malloc'd, the caller frees it) and its size in *size; image_open()
     * connects to a new private in-memory database holding a copy of such
     * bytes. Clone mode copies the migrated template this way. Optional,
     * both or neither: without them clone mode needs the backend's
     * database_* statements. */
    int (*image_save)(pm_conn *conn, void **image, size_t *size, pm_error *err);
    int (*image_open)(pm_conn **out, const void *image, size_t size, pm_error *err);

    /* ---- Added in version 6 ---- */

    /* The backend a connection to url would reach and the PM_CONN_* flags
     * it would have, told without connecting (pm_url_capabilities(), so
     * `verify` can refuse a URL before creating its database). Returns NULL
     * when url cannot be told apart without connecting. Optional. */
    const pm_backend *(*backend_of)(const pm_url *url, unsigned int *conn_flags);

    /* ---- Added in version 7 ---- */

    /* Wraps a connection the program opened itself with the driver's
     * library (a sqlite3 *, a PGconn *), for pm_db_adopt(). native is never
     * NULL. On success stores a connection as open() does (backend and
     * flags set; the core sets its driver) and, in *described, a malloc'd
     * URL naming the database the handle reaches, without its password (the
     * core redacts it again), or NULL when it cannot tell; returns 0. The
     * connection borrows native: close() must release only what adopt()
     * made, restore what it changed on the handle (session settings, busy
     * handlers, notice processing) and leave it open and usable by the
     * program; cancel() may interrupt it. A handle the driver cannot use (not
     * connected, inside a transaction) is PM_EINVAL with err saying why; a
     * client library that cannot be loaded is PM_ECONNECT. Optional: without
     * it pm_db_adopt() is PM_EUNSUPPORTED. Called on the program's thread;
     * the handle must not be used elsewhere meanwhile. */
    int (*adopt)(pm_conn **out, void *native, char **described, pm_error *err);

    /* ---- Added in version 9 ---- */

    /* Reads text as the driver's own client library reads connection
     * strings, for a driver whose library parses them itself (libpq:
     * multi-host URLs, "host=h dbname=app" key=value strings). text is
     * either a URL of one of the driver's schemes or a string that does not
     * start with "scheme:" and holds a '='. Returns 1 when the library
     * accepts text: secret (when not NULL) is called with each value the
     * library counts as a secret (passwords), and for a string that is not
     * a URL *shown (when shown is not NULL) gets a malloc'd printable form
     * of it with each secret as "***". Returns 0 when the library refuses
     * text, with why (when not NULL) saying why without quoting a secret;
     * a negative PM_E* code on failure (PM_ENOMEM). When present, the core
     * hands such strings to open() whole (pm_url.text) and accepts several
     * comma-separated hosts in the driver's URLs; the core finds secrets with
     * it too, so the redaction of every printed URL uses the library's
     * reading. Optional; called without a connection, from any thread,
     * never under the registry's lock. */
    int (*conninfo)(const char *text, pm_secret_fn secret, void *ctx, char **shown, pm_error *why);

    /* ---- Added in version 10 ---- */

    /* For a driver whose databases are files (SQLite): the file url names,
     * malloc'd, or NULL when it names none (sqlite::memory:) or is out of
     * memory. pm_database_create() opens url to create it and
     * pm_database_drop() deletes it with the backend's database_files.
     * Optional; called without a connection. */
    char *(*database_file)(const pm_url *url);
};

/* ==== Reading the catalog ==== */

/* pm_catalog: a schema snapshot being built (core/src/catalog.c). A
 * driver's read_schema() adds every object of the connection's current
 * schema and, for tables, their parts; the core sorts and prints them. */

enum {                         /* sections of a table, printed in this order */
       PM_CATALOG_COLUMN,      /* "column NAME TYPE NOT NULL|NULL [DEFAULT x]", by position */
       PM_CATALOG_PRIMARY_KEY, /* "primary key (a, b)" */
       PM_CATALOG_UNIQUE,      /* "unique (a)" */
       PM_CATALOG_INDEX,       /* "index NAME (a)", "unique index NAME (a)" */
       PM_CATALOG_FOREIGN_KEY  /* "foreign key (a) references T (b) [on delete cascade]" */
};

/* Adds an object: kind is "table", "view", "sequence" or "type". */
void pm_catalog_object(pm_catalog *cat, const char *kind, const char *name);
/* Adds a line to table's block. position orders columns. */
void pm_catalog_entry(pm_catalog *cat, const char *table, int section, long position,
                      const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 5, 6)))
#endif
    ;

/* ==== Registering a driver ==== */

/* Adds driver to the drivers pm_db_open() chooses from by URL scheme, as
 * sqlite3_vfs_register() adds a VFS: registered drivers are searched before
 * the compiled-in ones, the latest first, so a program can also take over a
 * scheme. driver must stay valid until it is unregistered. A driver whose
 * version is outside PM_DRIVER_VERSION_MIN..PM_DRIVER_VERSION, or that lacks
 * a name, schemes or a required member, is refused with PM_ENODRIVER naming
 * it. Registering the same driver twice is a no-op. Call it before opening
 * connections.
 *
 * Threads: the list of registered drivers is guarded by one mutex
 * (core/src/registry.c), so registering, unregistering, pm_db_open(),
 * pm_db_adopt(), pm_url_capabilities() and pm_db_known_schemes() may run
 * in several threads at once. The mutex guards the list only, not the
 * driver: a connection keeps using the driver it was opened with, so
 * unregister a driver (and free it) only once no pm_db opened through it
 * is left and no other thread is opening one. */
int pm_driver_register(const pm_driver *driver, pm_error *err);
/* Removes a registered driver; 0, or PM_EINVAL when it was not registered.
 * Thread-safe as pm_driver_register() is, with the same caveat. */
int pm_driver_unregister(const pm_driver *driver);

/* ==== Helpers for drivers ==== */

/* Whether sql (with params $1..$n) returns at least one row, through
 * conn->driver->query(): has_table() and has_column() with the backend's
 * queries. */
int pm_driver_row_exists(pm_conn *conn, const char *sql, const char *const *params, size_t nparams,
                         bool *out, pm_error *err);

/* The literal for value (malloc'd), or NULL when out of memory. */
typedef char *(*pm_sql_literal_fn)(void *ctx, const char *value);
/* sql with each $1..$n replaced by the literal for that parameter (NULL
 * parameters by NULL), for drivers that cannot send parameters. literal
 * may be NULL for standard SQL quoting ('' doubled). Only the core's own
 * statements take parameters, and they hold no '$' inside strings. Returns
 * a malloc'd string, or NULL when out of memory. */
char *pm_sql_inline_params(const char *sql, const char *const *params, size_t nparams,
                           pm_sql_literal_fn literal, void *ctx);

/* The migration lock with the backend's lock_* SQL (sys/backend.h), through
 * conn->driver->query(): finds the namespace and the key (kept in key, of
 * keysize bytes), then polls lock_try every 100 ms until granted, timeout_ms
 * passes (PM_ELOCKED naming the holder when lock_holder can) or *cancelled
 * becomes non-zero (PM_EINTERRUPTED). For a backend without a session lock
 * it runs lock_wait with timeout_ms, if any. key is "" after a failure. */
int pm_driver_lock(pm_conn *conn, int timeout_ms, char *key, size_t keysize,
                   const volatile sig_atomic_t *cancelled, pm_error *err);
/* Releases what pm_driver_lock() took (key "" is a no-op) and clears key. */
int pm_driver_unlock(pm_conn *conn, char *key, pm_error *err);

/* Whether conn takes the migration lock per transaction: its backend has
 * lock_transaction and its driver is of version 8 or later. Then
 * pm_driver_lock() only finds the key (no lock is held by the session),
 * pm_driver_unlock() only clears it, and begin() takes the lock. */
bool pm_driver_locks_per_transaction(const pm_conn *conn);
/* The backend's lock_transaction for key (as pm_driver_lock() left it),
 * waiting at most timeout_ms: malloc'd, or NULL when out of memory or key
 * is not a number. */
char *pm_driver_lock_transaction_sql(const pm_conn *conn, const char *key, int timeout_ms);
/* After those statements failed with rc and the driver rolled the
 * transaction back: PM_EINTERRUPTED when *cancelled is set, PM_ELOCKED
 * naming the holder when the wait ran out (the backend's
 * lock_transaction_timeout code), otherwise rc with err as it is. */
int pm_driver_lock_transaction_failed(pm_conn *conn, const char *key, int timeout_ms,
                                      const volatile sig_atomic_t *cancelled, int rc,
                                      pm_error *err);

/* Called by pm_sql_split() for each statement: its text (without the ';',
 * trimmed, not NUL-terminated), length, and byte offset in the input. Return
 * 0 to go on or a negative PM_E* code to stop. */
typedef int (*pm_sql_statement_fn)(void *ctx, const char *statement, size_t length, size_t offset);

/* Splits sql into statements at top-level ';' (core/src/sqlsplit.c),
 * skipping ones that hold only blanks and comments. An unterminated string,
 * quoted identifier, comment or dollar quote is PM_EINVAL naming its line
 * and column. */
int pm_sql_split(const char *sql, pm_sql_statement_fn fn, void *ctx, pm_error *err);

/* pm_sql_split() with a backend's lexical rules: PM_SQL_MYSQL for MySQL's
 * backslash escapes in '' and "" strings, its # comments, the compound body
 * of a stored program (CREATE PROCEDURE, FUNCTION, TRIGGER, EVENT) kept
 * whole, and the mysql client's DELIMITER lines, which set the terminator
 * and are never handed to fn. Under it a body still open at the end is
 * PM_EINVAL naming where its statement starts. */
#define PM_SQL_MYSQL (1u << 0)
int pm_sql_split_flags(const char *sql, unsigned int flags, pm_sql_statement_fn fn, void *ctx,
                       pm_error *err);

/* Error helpers (core/src/error.c). */

/* Replaces err's contents: code, a printf-style message, and optionally the
 * database's code and the statement. Any argument may be NULL except fmt.
 * Returns code, so a driver can write `return pm_error_set(...)`. */
int pm_error_set(pm_error *err, int code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* Sets the database's own code and the statement on err (copied). */
void pm_error_set_db(pm_error *err, const char *db_code, const char *statement);

/* Sets detail and hint (copied; NULL leaves the field unchanged). */
void pm_error_set_detail(pm_error *err, const char *detail, const char *hint);

#ifdef __cplusplus
}
#endif
#endif
