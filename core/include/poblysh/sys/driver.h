/* sys/driver.h: the interface between the core engine and a database driver,
 * for driver authors only (services include poblysh/poblysh.h).
 *
 * A driver is a const struct pm_driver of function pointers, versioned like
 * libgit2's git_odb_backend and SQLite's sqlite3_vfs: `version` comes first,
 * new members are only ever appended and marked with the version that added
 * them, and optional members may be NULL. Adding a driver is one folder under
 * drivers/ and one pm_add_driver() line in drivers/CMakeLists.txt. */
#ifndef POBLYSH_SYS_DRIVER_H
#define POBLYSH_SYS_DRIVER_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

#include "../errors.h"
#include "../schema.h"
#include "../url.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct pm_driver pm_driver;
typedef struct pm_dialect pm_dialect;
typedef struct pm_catalog pm_catalog;

/* ==== Dialect ==== */

/* 1: the first layout. 2: database_* and named_* (test databases) and
 * others_committed appended. */
#define PM_DIALECT_VERSION 2

/* How a backend spells portable DDL. Plain data: the core's renderer
 * (core/src/render.c) does the rest, so dialects are reused between drivers
 * that reach the same backend (libdbi's sqlite3 reuses SQLite's). */
struct pm_dialect {
    unsigned int version; /* PM_DIALECT_VERSION */
    const char *name;     /* "sqlite", "postgres", "mysql" */
    char quote;           /* identifier quote: '"' or '`' */
    /* Type names by pm_type. PM_TYPE_STRING's entry holds one "%u" for the
     * length; string_default is used when the length is 0. */
    const char *types[PM_TYPE__COUNT];
    const char *string_default;
    const char *now;     /* expression for PM_DEFAULT_NOW, parenthesised if needed */
    const char *bool_true;
    const char *bool_false;
    bool drop_index_on_table; /* DROP INDEX i ON t (MySQL) instead of DROP INDEX i */
    /* String literals treat '\\' as an escape (MySQL's default), so the
     * renderer doubles backslashes in them. */
    bool backslash_escapes;
    /* An expression for the milliseconds the current migration took, for
     * drivers that send its statements as one batch at commit (PostgreSQL):
     * its one "%s" is replaced by the parameter holding the client's
     * measurement of up(). NULL to use the client's measurement alone. */
    const char *elapsed_ms;
    /* Appended to each DROP when emptying a schema (" CASCADE"), or "". */
    const char *drop_suffix;
    /* Statements that turn foreign-key checks off and on again around
     * emptying a schema (SQLite, MySQL), or NULL. */
    const char *fk_checks_off;
    const char *fk_checks_on;
    /* For `verify` on a server: create and drop a scratch namespace and
     * switch the session to it; each "%s" is its (safe) name. NULL when the
     * backend has none (SQLite: verify uses a fresh in-memory database). */
    const char *scratch_create;
    const char *scratch_drop;
    /* ---- Added in version 2 (read only from dialects of version 2) ---- */
    /* For test databases (poblysh/testdb.h) on a server, or NULL when the
     * backend cannot copy a database. Each "%s" is a safe name.
     * database_create makes its first "%s" a copy of its second (the
     * template); database_rename renames its first to its second;
     * database_drop drops one even while others are connected to it.
     * database_exists is a query with $1, the name, that returns a row when
     * it exists. named_lock and named_unlock take and release a lock, $1 its
     * name, that every session of the server sees, waiting for it. */
    const char *database_create;
    const char *database_rename;
    const char *database_drop;
    const char *database_exists;
    const char *named_lock;
    const char *named_unlock;
    /* A query returning one number that changes exactly when another
     * connection has committed to the database since this one last looked
     * (SQLite's PRAGMA data_version), or NULL. With it, a session on a
     * PM_CONN_BEGIN_EXCLUDES connection re-reads the history before each
     * migration only when someone else has written. */
    const char *others_committed;
};

/* The dialects the core knows, for drivers to point their connections at
 * (core/src/dialects.c). */
extern const pm_dialect pm_dialect_sqlite;
extern const pm_dialect pm_dialect_postgres;
extern const pm_dialect pm_dialect_mysql;

/* ==== Connection ==== */

/* The core's part of every connection. A driver's connection struct embeds it
 * first: struct sqlite_conn { pm_conn base; sqlite3 *db; }; */
typedef struct pm_conn {
    const pm_driver *driver;
    const pm_dialect *dialect; /* set by open(); may depend on the URL */
    unsigned int flags;        /* PM_CONN_* capabilities, set by open() */
} pm_conn;

/* Called once per result row. values[i] is the column's text, NULL for SQL
 * NULL; borrowed for the call only. Return 0 to continue, or a negative
 * PM_E* code to stop the query, which then returns that code. */
typedef int (*pm_row_fn)(void *ctx, size_t ncolumns, const char *const *values);

/* Options the core passes to open(). */
typedef struct pm_connect_options {
    int wait_seconds; /* retry while the server is unreachable or starting */
} pm_connect_options;

/* ==== Driver ==== */

/* 1: the first interface. 2: cancel(). 3: capability flags moved from the
 * driver to the connection (pm_conn.flags), removing pm_driver.flags.
 * 4: read_schema(). 5: in_transaction(), image_save() and image_open(), for
 * test databases. */
#define PM_DRIVER_VERSION 5

/* Connection capability flags (pm_conn.flags): they depend on the backend
 * reached, which for libdbi is only known from the URL. */
/* DDL is transactional: a migration and its history row commit together. */
#define PM_CONN_TRANSACTIONAL_DDL (1u << 0)
/* begin() takes a write lock that excludes every other migrator until
 * commit/rollback, so the engine re-reads history inside each migration's
 * transaction (SQLite's BEGIN IMMEDIATE). */
#define PM_CONN_BEGIN_EXCLUDES (1u << 1)

struct pm_driver {
    /* PM_DRIVER_VERSION when the driver was built. The core refuses a driver
     * whose version it does not know. */
    unsigned int version;

    /* Short name for messages: "sqlite". */
    const char *name;

    /* NULL-terminated list of URL schemes this driver claims, lower case,
     * without the colon: { "sqlite", NULL }. */
    const char *const *schemes;

    /* Connects to url (already parsed; url->scheme is one of schemes). On
     * success stores a connection whose first member is a pm_conn with its
     * dialect and flags set (the core sets its driver), and returns 0. On failure returns PM_ECONNECT
     * or PM_EURL with err filled; the core scrubs the password from err. */
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
     * timeout given to lock()). */
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
     * exists. */
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
     * for `migrate schema`, `verify` and `fresh`. Usually one of the core's
     * pm_catalog_read_*(). Optional: without it those commands are
     * PM_EUNSUPPORTED. */
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
     * both or neither: without them clone mode needs the dialect's
     * database_* statements. */
    int (*image_save)(pm_conn *conn, void **image, size_t *size, pm_error *err);
    int (*image_open)(pm_conn **out, const void *image, size_t size, pm_error *err);
};

/* ==== Reading the catalog ==== */

/* pm_catalog: a schema snapshot being built (core/src/catalog.c). A
 * driver's read_schema() adds every object of the connection's current
 * schema and, for tables, their parts; the core sorts and prints them. */

enum { /* sections of a table, printed in this order */
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

/* The readers, one per backend, written once in the core
 * (core/src/catalog_read.c) and usable as read_schema() by every driver
 * that reaches that backend. They use only the driver's query(). */
int pm_catalog_read_sqlite(pm_conn *conn, pm_catalog *cat, pm_error *err);
int pm_catalog_read_postgres(pm_conn *conn, pm_catalog *cat, pm_error *err);
int pm_catalog_read_mysql(pm_conn *conn, pm_catalog *cat, pm_error *err);

/* ==== Helpers for drivers ==== */

/* Called by pm_sql_split() for each statement: its text (without the ';',
 * trimmed, not NUL-terminated), length, and byte offset in the input. Return
 * 0 to go on or a negative PM_E* code to stop. */
typedef int (*pm_sql_statement_fn)(void *ctx, const char *statement, size_t length,
                                   size_t offset);

/* Splits sql into statements at top-level ';' (core/src/sqlsplit.c),
 * skipping ones that hold only blanks and comments. An unterminated string,
 * quoted identifier, comment or dollar quote is PM_EINVAL naming its line
 * and column. */
int pm_sql_split(const char *sql, pm_sql_statement_fn fn, void *ctx, pm_error *err);

/* pm_sql_split() with a backend's lexical rules: PM_SQL_MYSQL for MySQL's
 * backslash escapes in '' and "" strings and its # comments. */
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
