/* sys/backend.h: what poblysh knows about one database engine, for driver
 * and backend authors only (services include poblysh/poblysh.h).
 *
 * A backend is the engine a connection reaches (SQLite, PostgreSQL,
 * MySQL/MariaDB); a driver is the library that reaches it (libsqlite3,
 * libpq, libdbi). Several drivers can reach one backend, so everything about
 * the engine lives once, in one const struct pm_backend per engine under
 * backends/<name>/: its DDL spelling (pm_dialect), its catalog SQL and
 * reader, its lock, namespace, scratch-schema and test-database SQL, and its
 * lexical rules. The core never compares backend or driver names: it reads
 * these members, and a NULL member means "this engine cannot".
 *
 * Versioned like struct pm_driver: `version` first, members only appended
 * and marked with the version that added them.
 *
 * Threads: backends are const data, read by every connection to the engine
 * at once; pm_backends() and pm_backend_find() only read the build's list
 * and may be called from any thread. A read_schema() is called with a
 * connection, one thread at a time per connection (sys/driver.h), and must
 * keep no state between calls. The pm_rows_* and pm_catalog_* helpers work
 * only on the objects they are given. */
#ifndef POBLYSH_SYS_BACKEND_H
#define POBLYSH_SYS_BACKEND_H

#include <stdbool.h>
#include <stddef.h>

#include "../errors.h"
#include "../schema.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct pm_backend pm_backend;
typedef struct pm_dialect pm_dialect;
typedef struct pm_catalog pm_catalog;
typedef struct pm_conn pm_conn;

/* ==== Dialect: DDL spelling ==== */

/* 1, 2: the first layouts, which also held test-database, scratch and lock
 * SQL. 3: DDL spelling only; the rest moved to struct pm_backend. */
#define PM_DIALECT_VERSION 3

/* How a backend spells portable DDL. Plain data: the core's renderer
 * (core/src/render.c) does the rest. */
struct pm_dialect {
    unsigned int version; /* PM_DIALECT_VERSION */
    const char *name;     /* for messages: "sqlite" */
    char quote;           /* identifier quote: '"' or '`' */
    /* Type names by pm_type. PM_TYPE_STRING's entry holds one "%u" for the
     * length; string_default is used when the length is 0. */
    const char *types[PM_TYPE__COUNT];
    const char *string_default;
    const char *now; /* expression for PM_DEFAULT_NOW, parenthesised if needed */
    const char *bool_true;
    const char *bool_false;
    bool drop_index_on_table; /* DROP INDEX i ON t (MySQL) instead of DROP INDEX i */
    /* String literals treat '\\' as an escape (MySQL's default), so the
     * renderer doubles backslashes in them. */
    bool backslash_escapes;
};

/* ==== Backend ==== */

/* 1: the first layout. 2: the session's schema and its restoration
 * (session_schema, session_restore) and the timeouts of a migration's
 * statements (lock_timeout_*, statement_timeout_*, timeouts_reset,
 * lock_timeout_code, default_lock_timeout_ms). 3: lock_transaction and
 * lock_transaction_timeout, the migration lock taken per transaction.
 * 4: scratch_database_* (verify's own database) and fresh_objects (what
 * fresh drops). 5: database_maintenance and database_files, for creating
 * and dropping the URL's own database (pm_database_create()). 6: schema_exists,
 * schema_use and schema_use_local, the schema chosen with pm_db_use_schema().
 * 7: schema_create, a fleet's schema-per-tenant target made on its first `up`.
 * 8: table_columns and table_columns_in, a table's columns in one query.
 * The core reads the members of a version only from a backend that says it
 * has them. */
#define PM_BACKEND_VERSION 8

struct pm_backend {
    unsigned int version; /* PM_BACKEND_VERSION */

    /* The engine's name: "sqlite", "postgres", "mysql". It is what
     * pm_schema_dialect() returns to a migration and what an SQL file's
     * "-- migrate:up dialect=NAME" section names. */
    const char *name;

    /* How it spells DDL. Required. */
    const pm_dialect *dialect;

    /* PM_CONN_* flags every connection to it has (sys/driver.h):
     * transactional DDL, a begin() that excludes other writers. A driver
     * copies them into pm_conn.flags and may add its own. */
    unsigned int conn_flags;

    /* ---- Splitting its SQL ---- */

    /* PM_SQL_* rules for pm_sql_split_flags() (MySQL's backslash escapes and
     * # comments). */
    unsigned int lexer_flags;
    /* Its drivers hand whole scripts to the engine's own parser (SQLite's
     * sqlite3_prepare), so the core does not pre-check an SQL file's section
     * written for it with pm_sql_split(). */
    bool parses_scripts;

    /* ---- A session ---- */

    /* Statements a driver that does not set the session up itself (libdbi)
     * runs after connecting, or NULL. */
    const char *session_setup;
    /* The statement that begins a migration's transaction ("BEGIN",
     * "BEGIN IMMEDIATE", "START TRANSACTION"). */
    const char *begin;

    /* ---- The catalog ---- */

    /* Queries returning a row when table $1 (in the connection's current
     * schema) exists, and when it has column $2. */
    const char *has_table;
    const char *has_column;
    /* Describes the current schema into cat (pm_catalog_*), talking to the
     * database only through conn->driver->query(). Optional: without it
     * `schema`, `verify` and `fresh` are PM_EUNSUPPORTED. */
    int (*read_schema)(pm_conn *conn, pm_catalog *cat, pm_error *err);

    /* ---- The migration lock, polled by pm_driver_lock() ---- */

    /* One row: the namespace (schema, database) the history table lives
     * in; the lock is per namespace. NULL when the backend has no session
     * lock (SQLite: PM_CONN_BEGIN_EXCLUDES is the lock). */
    const char *lock_namespace;
    /* The message when lock_namespace returns no or an empty row. */
    const char *lock_no_namespace;
    /* One row: the lock's key, from $1 the namespace. */
    const char *lock_key;
    /* One row, lock_granted when the lock with key $1 was taken without
     * waiting. */
    const char *lock_try;
    const char *lock_granted;
    /* Releases the lock with key $1. */
    const char *lock_release;
    /* One row naming the session holding the lock with key $1 and how to
     * look at it, or no row; NULL when the backend cannot tell. */
    const char *lock_holder;
    /* Backends without a session lock: how long a begin() waits for
     * another writer, its one "%d" in milliseconds, and the statement that
     * restores the default wait. NULL when the driver does it natively. */
    const char *lock_wait;
    const char *lock_wait_reset;

    /* ---- The history ---- */

    /* An expression for the milliseconds the current migration took, for
     * drivers that send its statements as one batch at commit (PostgreSQL):
     * its one "%s" is replaced by the parameter holding the client's
     * measurement of up(). NULL to use the client's measurement alone. */
    const char *elapsed_ms;
    /* A query returning one number that changes exactly when another
     * connection has committed since this one last looked (SQLite's PRAGMA
     * data_version), or NULL. With it, a session on a PM_CONN_BEGIN_EXCLUDES
     * connection re-reads the history only when someone else has written. */
    const char *others_committed;

    /* ---- Emptying a schema (`fresh`) ---- */

    /* Appended to each DROP (" CASCADE"), or "". */
    const char *drop_suffix;
    /* Statements that turn foreign-key checks off and on around it, or NULL. */
    const char *fk_checks_off;
    const char *fk_checks_on;

    /* ---- A scratch namespace for `verify` on a server ---- */

    /* Create and drop a scratch namespace and switch the session to it
     * (scratch_drop switches back); each "%s" is its (safe) name. NULL when
     * the backend has none (SQLite: verify uses sqlite::memory:). */
    const char *scratch_create;
    const char *scratch_drop;
    /* One row: the namespace to return to after scratch_drop, which then
     * runs scratch_return with it as "%s" (MySQL's USE); both NULL when
     * scratch_drop returns by itself. */
    const char *scratch_home;
    const char *scratch_return;
    /* Without scratch_create: where `verify` can run instead, for the
     * message ("verify SQLite migrations on sqlite::memory:"), or NULL. */
    const char *scratch_elsewhere;

    /* ---- Test databases on a server (poblysh/testdb.h) ---- */

    /* NULL when the backend cannot copy a database. Each "%s" is a safe
     * name. database_create makes its first "%s" a copy of its second;
     * database_blank is the empty database to copy for a new template
     * (PostgreSQL's template1); database_rename renames its first to its
     * second; database_drop drops one even while others are connected to
     * it; database_exists returns a row when $1 exists. named_lock and
     * named_unlock take (waiting) and release a server-wide lock named $1. */
    const char *database_create;
    const char *database_blank;
    const char *database_rename;
    const char *database_drop;
    const char *database_exists;
    const char *named_lock;
    const char *named_unlock;

    /* ---- Added in version 2: the session a migration may change ---- */

    /* One row: the schema (database) the session reaches when a session of
     * the engine starts, before any migration ran. Every history read and
     * write of that session names it, so a migration's SET search_path,
     * USE or RESET ALL cannot redirect the history. NULL: names are left
     * unqualified. */
    const char *session_schema;
    /* What a migration may change in the session and later statements
     * depend on, put back after each migration's own statements and before
     * its history write (inside its transaction, or after it when it has
     * none), so every migration starts from the session as the run began:
     * session_restore runs as is (PostgreSQL: RESET ROLE, which RESET ALL
     * leaves alone); session_state is one row read when the session starts
     * (the search_path) and session_state_restore sets it again from $1.
     * Each NULL when there is nothing to put back. */
    const char *session_restore;
    const char *session_state;
    const char *session_state_restore;

    /* ---- Added in version 2: timeouts of a migration's statements ---- */

    /* Set the longest wait for a lock and the longest statement, their one
     * "%d" in milliseconds (0: no limit): _local for the rest of the
     * migration's transaction, _session for a migration that runs without
     * one, undone by timeouts_reset after it. NULL: the engine has no such
     * setting (pm_schema_set_timeouts() then does nothing). */
    const char *lock_timeout_local;
    const char *lock_timeout_session;
    const char *statement_timeout_local;
    const char *statement_timeout_session;
    const char *timeouts_reset;
    /* The database's code (SQLSTATE) for a statement stopped by the lock
     * timeout: a transactional migration failing with it is rolled back and
     * retried. NULL: never retried. */
    const char *lock_timeout_code;
    /* The lock timeout of a transactional migration when neither the run
     * nor the migration sets one, in milliseconds; 0 leaves the server's. */
    int default_lock_timeout_ms;
    /* ---- Added in version 3: the migration lock per transaction ---- */

    /* Statements that take the migration lock inside the transaction begin()
     * has just opened, held until it ends (PostgreSQL's
     * pg_advisory_xact_lock), waiting for it: their "%d" is the wait in
     * milliseconds, their "%s" the key lock_key returned (a number). With
     * it no lock is held by the session, only by each migration's
     * transaction, which works behind a pooler that hands every
     * transaction to another server connection, and dies with the
     * transaction (a runner killed with SIGKILL holds nothing). The
     * backend's conn_flags then hold PM_CONN_BEGIN_EXCLUDES, and drivers of
     * version 8 and later run these in begin() (sys/driver.h); NULL when
     * the backend has no such lock. */
    const char *lock_transaction;
    /* The database's code (SQLSTATE) of a lock_transaction that waited its
     * whole wait ("55P03"), so it is reported as the lock timeout. */
    const char *lock_transaction_timeout;

    /* ---- Added in version 4 ---- */

    /* A scratch database for `verify` (pm_db_scratch_database_create()):
     * create makes an empty database, drop drops it even while connections
     * to it remain; each "%s" is its (safe) name. NULL when the backend has
     * none. allowed, or NULL when the backend cannot tell beforehand, returns
     * one row, true (pm_catalog_truthy) when the session's role may create
     * databases; refused is the message when it may not, saying what to do. */
    const char *scratch_database_create;
    const char *scratch_database_drop;
    const char *scratch_database_allowed;
    const char *scratch_database_refused;

    /* What `fresh` drops, or NULL to drop the catalog's tables, views,
     * sequences and types: rows (kind, name, statement), in the order the
     * statements must run, covering every object in the connection's schema
     * and the other namespaces migrations made. The history table is left
     * out (the core drops it last). */
    const char *fresh_objects;

    /* ---- Added in version 5: the URL's own database (pm_database_*()) ---- */

    /* For a server: the database to connect to while creating or dropping
     * another (PostgreSQL's "postgres"), "" to connect naming none (MySQL),
     * or NULL when the engine's databases are not made on a server. The
     * statements are database_exists ($1, the name) and
     * scratch_database_create/_drop (each "%s" the quoted name). */
    const char *database_maintenance;
    /* For an engine whose database is a file (the driver's database_file()):
     * the suffixes of the files that go with it and are deleted with it
     * ("-wal", "-shm", "-journal"), NULL-terminated; or NULL. */
    const char *const *database_files;

    /* ---- Added in version 6: a schema chosen by name (pm_db_use_schema()) ---- */

    /* schema_exists returns a row when the schema $1 exists; schema_use
     * makes it the session's schema for the rest of the session, and
     * schema_use_local for the rest of the current transaction (run right
     * after each begin(), so a pooler that hands a transaction to another
     * server connection still sees it); their "%s" is the name quoted as an
     * identifier by the dialect. All NULL when the engine has no schemas
     * apart from its databases; schemas_elsewhere then says what to do
     * instead, for the message ("name the database in the URL"), or NULL. */
    const char *schema_exists;
    const char *schema_use;
    const char *schema_use_local;
    const char *schemas_elsewhere;
    /* has_table and has_column naming the schema: rows when table $2 of
     * schema $1 exists, and when it has column $3. Used instead of the
     * driver's has_table()/has_column() once a schema is chosen, since a
     * check outside a transaction may reach a server connection that never
     * saw schema_use. */
    const char *has_table_in;
    const char *has_column_in;

    /* ---- Added in version 7: a schema made when missing (fleet.h) ---- */

    /* Creates the schema "%s" (quoted as an identifier by the dialect) when
     * it does not exist, doing nothing when it does: a fleet's `up` runs it
     * before pm_db_use_schema() on a schema-per-tenant target. NULL when the
     * engine has no schemas apart from its databases. */
    const char *schema_create;

    /* ---- Added in version 8: a table's columns in one query ---- */

    /* Rows describing table $1 of the connection's current schema (a base
     * table, as has_table finds): one per column, its name (lower-cased
     * where the engine compares column names without case), or one row
     * with NULL when the table has no column; no row when there is no
     * such table. table_columns_in: the same for table $2 of schema $1,
     * used for the history's pinned schema (session_schema, or the one
     * chosen with pm_db_use_schema()) when there is one. With them the core
     * learns whether the history table exists and which of its columns are
     * there in one round trip instead of one query per column; NULL: the
     * core asks has_table and has_column one at a time. */
    const char *table_columns;
    const char *table_columns_in;
};

/* The backends poblysh ships (backends/<name>/), for drivers to point their
 * connections at. */
extern const pm_backend pm_backend_sqlite;
extern const pm_backend pm_backend_postgres;
extern const pm_backend pm_backend_mysql;

/* The backend called name, or NULL; iterates the build's backends. */
const pm_backend *pm_backend_find(const char *name);
/* The build's backends, NULL-terminated, in registry order. */
const pm_backend *const *pm_backends(void);

/* ==== Helpers for backends' catalog readers ==== */

/* Rows fetched whole: cells row-major, NULL for SQL NULL. */
typedef struct pm_rows {
    char **cells;
    size_t nrows, ncols, cap;
    int oom;
} pm_rows;

/* Runs sql with at most one parameter (param may be NULL) through
 * conn->driver->query() and keeps every row in out (freed with
 * pm_rows_free(), also on failure). */
int pm_rows_fetch(pm_conn *conn, const char *sql, const char *param, pm_rows *out, pm_error *err);
/* The cell's text, NULL for SQL NULL or a column out of range. */
const char *pm_rows_cell(const pm_rows *r, size_t row, size_t col);
void pm_rows_free(pm_rows *r);
/* Column col of rows first..end-1 joined with ", ", SQL NULL as "?":
 * malloc'd, NULL when out of memory. */
char *pm_rows_join(const pm_rows *r, size_t first, size_t end, size_t col);

/* Reads a schema: objects_sql returns (name, kind) rows, kind "table",
 * "view", "sequence" or "type"; each is added to cat, and read_table()
 * adds each table's parts. The loop every backend's read_schema() needs. */
int pm_catalog_read(pm_conn *conn, pm_catalog *cat, const char *objects_sql,
                    int (*read_table)(pm_conn *conn, pm_catalog *cat, const char *table,
                                      pm_error *err),
                    pm_error *err);
/* Whether a catalog flag reads as true ("1", "t", "YES"). */
bool pm_catalog_truthy(const char *value);
/* Adds "column NAME TYPE NOT NULL|NULL [DEFAULT x]" at position pos. */
void pm_catalog_column(pm_catalog *cat, const char *table, const char *pos, const char *name,
                       const char *type, bool not_null, const char *def);
/* " on delete cascade" etc. for a referential action as PostgreSQL ("c")
 * or information_schema ("CASCADE") spells it; "" for no action. */
const char *pm_catalog_on_delete(const char *action);

#ifdef __cplusplus
}
#endif
#endif
