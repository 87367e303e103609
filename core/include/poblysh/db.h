/* db.h: an open database connection, chosen by URL scheme.
 *
 * pm_db_open() parses the URL with the one parser, finds the driver that
 * claims its scheme, and connects; pm_db_adopt() wraps a connection the
 * program opened itself. The handle remembers the redacted URL for every
 * message that needs to name the database.
 *
 * Threads: a pm_db (and the pm_engine, pm_testdb or native handle using it)
 * is used by one thread at a time; different pm_db objects may be used from
 * different threads at once, as far as the database library allows (SQLite
 * built thread-safe, as distributions build it; libpq; libdbi). The
 * exceptions: pm_db_interrupt() may be called from any thread or a signal
 * handler while another thread uses db; and the libdbi driver's dbi:sqlite3
 * and dbi:pgsql connections, whose libdbi drivers print on their own, point
 * the process's stdout and stderr at /dev/null while any thread is inside
 * one of their libdbi calls, so meanwhile every thread's output to stdout
 * and stderr is lost (mysql: and mariadb: connections leave them alone).
 * Opening and adopting consult the driver registry under its lock
 * (sys/driver.h). */
#ifndef POBLYSH_DB_H
#define POBLYSH_DB_H

#include <signal.h>
#include <stdbool.h>

#include "errors.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct pm_db pm_db;

/* 1: wait_seconds. 2: flags and interrupt. 3: waiting and waiting_ctx.
 * pm_db_open() reads the fields of the version the caller gives (1 to 3)
 * and refuses any other with PM_EINVAL. */
#define PM_DB_OPTIONS_VERSION 3

/* pm_db_options.flags: open a database that exists, never create one. A
 * SQLite file that is not there is PM_ECONNECT "no such database file:
 * PATH" (even with ?mode=rwc in the URL: the caller's intent to only read
 * wins), instead of an empty file made by opening it; sqlite::memory: is
 * unaffected. Server databases are never created by opening them anyway.
 * For commands that only read or that have nothing to do without a
 * database (status, schema, down, dry runs). */
#define PM_DB_OPEN_EXISTING (1u << 0)

typedef struct pm_db_options {
    unsigned int version; /* PM_DB_OPTIONS_VERSION */
    /* Keep retrying for this many seconds while the server refuses
     * connections or is starting up (drivers that know the difference). */
    int wait_seconds;
    unsigned int flags; /* PM_DB_OPEN_* bits (version 2) */
    /* (2) A flag the caller's signal handler sets, or NULL. Once it is
     * non-zero, a connection being retried stops waiting and pm_db_open()
     * returns PM_EINTERRUPTED, having connected to nothing. Borrowed: it must
     * outlive the call. After the open, interrupt the pm_db itself
     * (pm_db_interrupt()). */
    const volatile sig_atomic_t *interrupt;
    /* (3) While waiting (wait_seconds > 0), called after each failed attempt
     * that will be retried: its number from 1, the seconds since the first
     * attempt, the wait allowed, and why it failed, without secrets
     * (borrowed for the call). The library prints nothing itself: the CLI
     * prints a line per attempt from here. NULL for none. Every driver that
     * waits calls it (PostgreSQL, MySQL/MariaDB); SQLite has nothing to wait
     * for. */
    void (*waiting)(void *ctx, int attempt, double elapsed, int wait_seconds, const char *why);
    void *waiting_ctx;
} pm_db_options;

#define PM_DB_OPTIONS_INIT                                                                         \
    {                                                                                              \
        PM_DB_OPTIONS_VERSION, 0, 0, NULL, NULL, NULL                                              \
    }

/* Connects to url. opts may be NULL. On an unknown scheme returns
 * PM_ENODRIVER with a message listing the schemes this build knows. The
 * caller frees *out with pm_db_close(). */
int pm_db_open(pm_db **out, const char *url, const pm_db_options *opts, pm_error *err);

/* Closes the connection; for an adopted one (pm_db_adopt()), releases only
 * poblysh's state and gives the native handle back open. pm_db_close(NULL)
 * does nothing. */
void pm_db_close(pm_db *db);

/* ==== Adopting a connection the program opened ==== */

/* Wraps native_handle, a connection the program opened itself with a
 * driver's library, in a pm_db that can be migrated (pm_startup_with()'s
 * db, pm_engine_new()) without opening a second connection. scheme picks the
 * driver as a URL's scheme does, lower case, without the colon: "sqlite"
 * takes a sqlite3 *, "postgres" a PGconn *. The caller frees *out with
 * pm_db_close(), which leaves native_handle open: the program still owns it,
 * closes it after pm_db_close(), and must not use it while poblysh runs a
 * command on it.
 *
 * The handle must be connected and outside a transaction (else PM_EINVAL);
 * a driver without adopt() is PM_EUNSUPPORTED and an unknown scheme
 * PM_ENODRIVER. pm_db_url() then names what the handle reaches, without a
 * password.
 *
 * What adopting does to the handle: the migration runs in the handle's own
 * session (its schema and search_path, its settings) and, while an engine
 * command runs, holds poblysh's migration lock there (PostgreSQL: a session
 * advisory lock, released before the command returns; SQLite: BEGIN
 * IMMEDIATE around each migration); what the migrations themselves change
 * in the session stays changed. SQLite: foreign keys are turned on and a
 * busy handler is installed until pm_db_close(), which restores
 * PRAGMA foreign_keys and the busy_timeout the handle had (a handler set with
 * sqlite3_busy_handler() reads as busy_timeout 0 and cannot be restored).
 * PostgreSQL: client_min_messages is set to warning until pm_db_close(),
 * which sets it back; the notice processor is left alone. The PGconn must
 * come from libpq.so.5, the library the driver loads (a service linking
 * libpq dynamically shares it); a statically linked libpq is not supported. */
int pm_db_adopt(pm_db **out, const char *scheme, void *native_handle, pm_error *err);

/* Typed forms of pm_db_adopt(out, "sqlite", handle, err) and
 * pm_db_adopt(out, "postgres", handle, err), declared with incomplete types
 * so this header needs neither sqlite3.h nor libpq-fe.h (PGconn is
 * `typedef struct pg_conn PGconn`). Defined when the build has that driver
 * (POBLYSH_WITH_SQLITE, POBLYSH_WITH_POSTGRES). */
struct sqlite3;
struct pg_conn;
int pm_db_adopt_sqlite(pm_db **out, struct sqlite3 *handle, pm_error *err);
int pm_db_adopt_postgres(pm_db **out, struct pg_conn *handle, pm_error *err);

/* The URL with its password replaced; borrowed, lives as long as db. */
const char *pm_db_url(const pm_db *db);

/* The driver's name ("sqlite"); static. */
const char *pm_db_driver_name(const pm_db *db);

/* Whether DDL on db is transactional (SQLite, PostgreSQL): a failed
 * migration then leaves nothing behind. MySQL/MariaDB commit DDL implicitly. */
bool pm_db_transactional_ddl(const pm_db *db);

/* What a connection can do, asked instead of matching URL schemes or
 * driver names (pm_db_capabilities()). */
/* DDL is transactional: a failed migration leaves nothing behind. */
#define PM_CAP_TRANSACTIONAL_DDL (1u << 0)
/* The database lives in the connection and is gone when it closes
 * (sqlite::memory:). */
#define PM_CAP_EPHEMERAL (1u << 1)
/* Test databases in clone mode, by copying the database's image in the
 * process (SQLite). */
#define PM_CAP_CLONE_IMAGE (1u << 2)
/* Test databases in clone mode, by copying a template database on the
 * server (PostgreSQL's CREATE DATABASE ... TEMPLATE). */
#define PM_CAP_CLONE_TEMPLATE (1u << 3)
/* Test databases in rollback mode: the driver tells whether a transaction
 * is open. */
#define PM_CAP_ROLLBACK_TESTDB (1u << 4)
/* `verify` can run in a scratch namespace on the server
 * (pm_db_scratch_begin()); without it, verify needs an ephemeral database. */
#define PM_CAP_SCRATCH_SCHEMA (1u << 5)
/* The schema can be read (pm_db_schema(), `fresh`, `verify`). */
#define PM_CAP_READ_SCHEMA (1u << 6)
/* `verify` can run in a scratch database of its own on the server
 * (pm_db_scratch_database_create()), leaving the URL's database alone. */
#define PM_CAP_SCRATCH_DATABASE (1u << 7)

/* The PM_CAP_* flags of db. */
unsigned int pm_db_capabilities(const pm_db *db);

/* The PM_CAP_* flags a connection to url would have, told without
 * connecting (nothing is created). PM_EUNSUPPORTED when the driver cannot
 * tell before connecting; PM_EURL or PM_ENODRIVER for a bad URL.
 * Thread-safe. */
int pm_url_capabilities(const char *url, unsigned int *caps, pm_error *err);

/* The name of the engine db reaches ("sqlite", "postgres", "mysql"), which
 * several drivers can share (libdbi's pgsql reaches "postgres"); static. */
const char *pm_db_backend_name(const pm_db *db);

/* The driver's own handle (sqlite3 *, PGconn *), so a service can keep using
 * the connection poblysh migrated, e.g. an in-memory SQLite database in
 * tests. Borrowed; do not close it (an adopted handle is the program's
 * anyway). Using it counts as using db: one thread at a time. */
void *pm_db_native_handle(pm_db *db);

/* Interrupts db from a signal handler (SIGINT, SIGTERM) or another thread:
 * the running statement or lock wait is cancelled, the engine rolls back the
 * migration it was running, releases the lock and returns PM_EINTERRUPTED,
 * and starts nothing new on db. Async-signal-safe. */
void pm_db_interrupt(pm_db *db);

/* Whether pm_db_interrupt() was called on db. */
bool pm_db_interrupted(const pm_db *db);

/* The database's schema (the connection's current schema) as normalised,
 * sorted, backend-neutral text: each table with its columns (type,
 * nullability, default), primary key, unique constraints, indexes and
 * foreign keys; views, sequences and types. poblysh's history table is left
 * out. The caller frees *out. PM_EUNSUPPORTED when the driver cannot read
 * its catalog. */
int pm_db_schema(pm_db *db, char **out, pm_error *err);

/* For `verify` on a server: creates a scratch schema (PostgreSQL) or
 * database (MySQL) with a unique name and switches db to it;
 * pm_db_scratch_end() drops it. SQLite has none: use sqlite::memory:. */
int pm_db_scratch_begin(pm_db *db, pm_error *err);
int pm_db_scratch_end(pm_db *db, pm_error *err);

/* For `verify` on a server (PM_CAP_SCRATCH_DATABASE): creates an empty
 * database named pm_verify_<16 hex digits> on the server admin reaches,
 * through admin, and returns its name and the URL to reach it, which is url
 * (admin's own URL, password included) naming that database instead; both
 * malloc'd, the caller frees them. Refused before creating anything when the
 * backend can tell that admin's role may not create databases (PM_EURL,
 * the message saying what to do instead); a CREATE that fails is PM_EDB
 * (with that advice as hint where the backend cannot ask first). pm_db_scratch_database_drop()
 * drops it (also while connections to it remain, on PostgreSQL); a NULL name is a no-op. Unlike
 * pm_db_scratch_begin(), nothing of admin's database is touched. */
int pm_db_scratch_database_create(pm_db *admin, const char *url, char **name, char **scratch_url,
                                  pm_error *err);
int pm_db_scratch_database_drop(pm_db *admin, const char *name, pm_error *err);

/* ==== The URL's own database: create, drop ==== */

/* The database url names, as `database create` reports it: the database's
 * name on a server, the file for SQLite. malloc'd, the caller frees it.
 * PM_EURL when url names none (a server URL without a database, a
 * key=value string: give a URL) and PM_EUNSUPPORTED for sqlite::memory:. */
int pm_database_name(const char *url, char **out, pm_error *err);

/* Creates the database url names when it does not exist: on a server
 * (PostgreSQL, MySQL/MariaDB) through a connection to the same server with
 * the backend's maintenance database (PostgreSQL's postgres, MySQL: none),
 * the name quoted as an identifier; for SQLite, the file. *created (may be
 * NULL) tells whether it was made (false: it existed). opts (may be NULL)
 * is used for that connection (wait_seconds, waiting, interrupt). A failed
 * connection is PM_ECONNECT, a refused CREATE PM_EDB; secrets are scrubbed
 * from err. */
int pm_database_create(const char *url, const pm_db_options *opts, bool *created, pm_error *err);

/* Drops the database url names when it exists, as pm_database_create()
 * reaches it: PostgreSQL's DROP DATABASE ... WITH (FORCE) ends the other
 * sessions on it; SQLite deletes the file and its -wal, -shm and -journal.
 * *dropped (may be NULL) tells whether there was one. */
int pm_database_drop(const char *url, const pm_db_options *opts, bool *dropped, pm_error *err);

/* Called for each statement a dry run would send: the migration it belongs
 * to (NULL for poblysh's own bookkeeping) and the SQL, parameters written
 * in as literals. */
typedef void (*pm_sql_fn)(const char *migration, const char *sql, void *ctx);

/* Makes schema (a name, quoted by poblysh) the schema of db's migrations and
 * of its history table: PostgreSQL's search_path is set to it for the
 * session, and again with SET LOCAL at the start of every transaction
 * poblysh opens, so it holds behind a pooler in transaction mode; the
 * history table is read, written and looked for in it, and the migration
 * lock is keyed on it (neither asks the server's current_schema(), which a
 * pooler may answer from another connection). Call it after opening, before
 * pm_engine_new(). PM_ENOTFOUND when the schema does not exist (nothing is
 * created: create it first), PM_EUNSUPPORTED when the engine has no schemas
 * apart from its databases (MySQL, SQLite: the message says what to do).
 * A migration that changes search_path itself changes it for its own
 * statements only; poblysh puts the chosen schema back after it. */
int pm_db_use_schema(pm_db *db, const char *schema, pm_error *err);
/* The schema pm_db_use_schema() chose, or NULL; borrowed from db. */
const char *pm_db_schema_name(const pm_db *db);

/* Runs SQL (one or more statements) on the connection, outside any
 * migration. */
int pm_db_exec(pm_db *db, const char *sql, pm_error *err);

/* The URL schemes this build knows, as "sqlite:, postgres:, ..."; a malloc'd
 * string the caller frees, or NULL when out of memory. Thread-safe. */
char *pm_db_known_schemes(void);

#ifdef __cplusplus
}
#endif
#endif
