/* internal.h: the core's private structures (pm_db, pm_schema) and the
 * functions its files share. Not installed. */
#ifndef PM_INTERNAL_H
#define PM_INTERNAL_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "poblysh/poblysh.h"
#include "poblysh/source.h"
#include "poblysh/sys/driver.h"
#include "secrets.h"
#include "util.h"

struct pm_db {
    pm_conn *conn;
    const pm_driver *driver;
    char *url;                         /* redacted */
    pm_secrets secrets;                /* of the URL, scrubbed from every driver message */
    volatile sig_atomic_t interrupted; /* set by pm_db_interrupt() */
    /* Dry run: writes go to record() instead of the database. */
    pm_sql_fn record;
    void *record_ctx;
    const char *record_migration; /* the migration they belong to, or NULL */
    char *scratch;                /* the scratch namespace verify made, or NULL */
    char *scratch_home;           /* MySQL: the database to USE again afterwards */
    /* The schema a session's history lives in, pinned when it started
     * (pm__db_pin_schema), or NULL: history statements name it. */
    char *history_schema;
    char *session_state; /* the backend's session_state read then, or NULL */
    /* The schema pm_db_use_schema() chose, or NULL: the history lives there
     * and every transaction begins by choosing it again. */
    char *schema;
    /* While a migration runs: where pm_schema_set_timeouts() sets them
     * (PM__TIMEOUTS_*), and whether session-wide ones need a reset after. */
    int timeouts_scope;
    bool timeouts_set;
};

enum {
    PM__TIMEOUTS_NONE,        /* no migration is running */
    PM__TIMEOUTS_TRANSACTION, /* for the rest of the migration's transaction */
    PM__TIMEOUTS_SESSION      /* for the session, reset after the migration */
};

struct pm_schema {
    pm_db *db;
    pm_error *err; /* the engine's error object: failures are recorded here */
};

/* ==== migration.c: the version a migration name carries ==== */

typedef enum pm__version_kind {
    PM__VERSION_NUMBER,   /* dbmate, golang-migrate, goose, sqlx, diesel */
    PM__VERSION_DOTTED,   /* Flyway's V1.2.3 */
    PM__VERSION_TIMESTAMP /* mYYYY_MM_DD_HHMMSS, mYYYYMMDD_HHMMSS */
} pm__version_kind;

typedef struct pm__version {
    pm__version_kind kind;
    /* NUMBER: digits without leading zeros ("0" for zero); TIMESTAMP: 14
     * digits; DOTTED: parts without leading zeros, trailing .0 dropped. */
    char text[64];
    const char *description; /* points into the name; "" when none */
} pm__version;

/* Reads the version of a migration name. Returns NULL, or the rule the
 * name breaks (a static string for messages). */
const char *pm__version_parse(const char *name, pm__version *v);
/* Reads a bare version as another tool's history records it ("0042",
 * "20170101000000", "1.1"). Returns NULL or the problem. */
const char *pm__version_of_text(const char *text, pm__version_kind kind, pm__version *v);
/* Orders versions: kinds PM__VERSION_NUMBER < DOTTED < TIMESTAMP, then numerically. */
int pm__version_cmp(const pm__version *a, const pm__version *b);

/* ==== sqlsource.c: SQL migrations, for the folder reader (sqlfolder.c) ==== */

typedef struct pm__sql_file {
    const char *path; /* for messages */
    const char *text;
    size_t length;
} pm__sql_file;

/* One migration from an up file and an optional down file (NULL), each run
 * whole: golang-migrate's and sqlx's pairs, diesel's folders, Flyway's V and
 * U files. "-- no-transaction" as the up file's first line (sqlx) runs it
 * outside a transaction. */
int pm__source_add_pair(pm_source *src, const char *name, const pm__sql_file *up,
                        const pm__sql_file *down, pm_error *err);
/* How many migrations src holds, to undo what came after with
 * pm__source_rollback() when a folder turns out invalid. */
size_t pm__source_mark(const pm_source *src);
void pm__source_rollback(pm_source *src, size_t mark);
/* After m failed: when it is an SQL migration and err's statement is in the
 * section it ran, puts "file:line[:column]: " before err's message. */
void pm__sql_locate(const pm_migration *m, bool up, const char *dialect, pm_error *err);
/* Refuses two migrations of src with one version, naming dir. */
int pm__source_check_versions(const pm_source *src, const char *dir, pm_error *err);

/* ==== url.c ==== */

/* url (scheme://authority/db?query) with its database replaced by name,
 * reaching the same server the same way: malloc'd, NULL when out of memory
 * or when url has no authority. */
char *pm__url_with_database(const char *url, const char *name);

/* ==== db.c: driver calls that scrub the password from every error ==== */

/* Parses url and finds its driver and the backend it would reach, without
 * connecting (the driver's backend_of()). The caller frees *parsed. */
int pm__url_backend(const char *url, pm_url **parsed, const pm_driver **driver,
                    const pm_backend **backend, pm_error *err);

int pm__db_exec(pm_db *db, const char *sql, pm_error *err);
/* fmt with its one "%s" replaced by ident quoted as an identifier in db's
 * dialect, run. */
int pm__db_exec_ident(pm_db *db, const char *fmt, const char *ident, pm_error *err);
/* A pm__db_query() row callback setting the bool ctx points at: a row was
 * found. */
int pm__note_found(void *ctx, size_t n, const char *const *values);
int pm__db_query(pm_db *db, const char *sql, const char *const *params, size_t nparams,
                 pm_row_fn row, void *ctx, pm_error *err);
int pm__db_begin(pm_db *db, pm_error *err);
int pm__db_commit(pm_db *db, pm_error *err);
/* Rolls back, keeping err's first error when the rollback fails too. */
void pm__db_rollback(pm_db *db, pm_error *err);
int pm__db_lock(pm_db *db, int timeout_ms, pm_error *err);
/* Unlocks; when err already holds an error it is kept and 0 returned. */
int pm__db_unlock(pm_db *db, pm_error *err);
int pm__db_has_table(pm_db *db, const char *table, bool *out, pm_error *err);
int pm__db_has_column(pm_db *db, const char *table, const char *column, bool *out, pm_error *err);
const pm_dialect *pm__db_dialect(const pm_db *db);
/* Dry run: while on, exec, begin/commit and writing queries are handed to
 * fn instead of run; reads still run. */
void pm__db_record(pm_db *db, pm_sql_fn fn, void *ctx);
void pm__db_record_migration(pm_db *db, const char *migration);
bool pm__db_recording(const pm_db *db);
/* Reads the schema into a new catalog (caller frees with pm__catalog_free). */
int pm__db_read_catalog(pm_db *db, pm_catalog **out, pm_error *err);
unsigned int pm__db_flags(const pm_db *db);
/* Runs sql (no parameters) and keeps every row in out (pm_rows_free()). */
int pm__db_fetch_rows(pm_db *db, const char *sql, pm_rows *out, pm_error *err);

const pm_backend *pm__db_backend(const pm_db *db);
/* The backend's member added in its version, or NULL/0 when it is older. */
#define PM__BACKEND_HAS(b, since, member) ((b)->version >= (since) ? (b)->member : 0)

/* ==== db.c: the session a migration may change ==== */

/* Reads the backend's session_schema into db->history_schema and its
 * session_state (nothing without them), at the start of a session, before
 * any migration ran. */
int pm__db_pin_schema(pm_db *db, pm_error *err);
void pm__db_unpin_schema(pm_db *db);
/* The pinned schema, or NULL. Borrowed. */
const char *pm__db_history_schema(const pm_db *db);
/* Puts the session back as it was pinned: the backend's session_restore
 * and session_state_restore, if any (not in a dry run). */
int pm__db_restore_session(pm_db *db, pm_error *err);
/* Around one migration's statements: opens the scope of
 * pm_schema_set_timeouts() (in_transaction: SET LOCAL) and sets lock_ms
 * and statement_ms (negative: left as they are); then closes it, resetting
 * session-wide timeouts. Nothing on a backend without timeouts. */
int pm__db_timeouts_begin(pm_db *db, bool in_transaction, int lock_ms, int statement_ms,
                          pm_error *err);
int pm__db_timeouts_set(pm_db *db, int lock_ms, int statement_ms, pm_error *err);
int pm__db_timeouts_end(pm_db *db, pm_error *err);
/* Whether err is the backend's lock timeout (lock_timeout_code). */
bool pm__db_lock_timed_out(const pm_db *db, const pm_error *err);

/* A connection to a new private in-memory database holding a copy of image
 * (driver->image_open), for test databases. */
int pm__db_open_image(pm_db **out, const pm_driver *driver, const void *image, size_t size,
                      pm_error *err);
/* Whether the driver has the member added in its version. */
#define PM__DRIVER_HAS(driver, since, member) ((driver)->version >= (since) && (driver)->member)

/* ==== db.c: test databases ==== */

/* The whole database of db as bytes (driver->image_save): *image is
 * malloc'd, the caller frees it. PM_EUNSUPPORTED without PM_CAP_CLONE_IMAGE. */
int pm__db_image_save(pm_db *db, void **image, size_t *size, pm_error *err);
/* Whether the server holds a transaction open on db (false when the driver
 * cannot tell: without PM_CAP_ROLLBACK_TESTDB). */
bool pm__db_in_transaction(pm_db *db);
/* SAVEPOINT name and ROLLBACK TO SAVEPOINT name, run at once (never left in
 * a batching driver's queue). name is an identifier, used unquoted. */
int pm__db_savepoint(pm_db *db, const char *name, pm_error *err);
int pm__db_rollback_to(pm_db *db, const char *name, pm_error *err);

/* ==== registry.c: drivers by scheme ==== */

/* The driver claiming scheme: registered ones first (latest first), then
 * the compiled-in ones; NULL when none does. */
const pm_driver *pm__driver_find(const char *scheme);
/* Whether a driver claims scheme followed by a sub-scheme ("dbi:*" in its
 * schemes: dbi:pgsql://...). */
bool pm__scheme_takes_subscheme(const char *scheme);
/* The driver claiming scheme when it reads its connection strings itself
 * (conninfo(), version 9), else NULL. */
const pm_driver *pm__scheme_reader(const char *scheme);
/* The first driver (in search order) whose conninfo() accepts text, a
 * string that is not a URL, in *out; NULL when none does, with why saying
 * what the last driver asked found wrong. Returns 0 or PM_ENOMEM. */
int pm__conninfo_reader(const pm_driver **out, const char *text, pm_error *why);
/* 0 when the core can use d (version window, required members), else
 * PM_ENODRIVER naming it. */
int pm__driver_check(const pm_driver *d, pm_error *err);
/* Defined by the generated drivers/builtin.c: the drivers of this build. */
const pm_driver *const *pm__builtin_drivers(void);
/* Defined by the generated backends/builtin_backends.c. */
const pm_backend *const *pm__builtin_backends(void);

/* ==== render.c: portable DDL to SQL text (malloc'd *out) ==== */

int pm__render_create_table(char **out, const pm_dialect *d, const pm_table *t, unsigned int flags,
                            pm_error *err);
int pm__render_drop_table(char **out, const pm_dialect *d, const char *table, unsigned int flags,
                          pm_error *err);
int pm__render_add_column(char **out, const pm_dialect *d, const char *table, const pm_column *c,
                          pm_error *err);
int pm__render_drop_column(char **out, const pm_dialect *d, const char *table, const char *column,
                           pm_error *err);
int pm__render_rename_column(char **out, const pm_dialect *d, const char *table, const char *from,
                             const char *to, pm_error *err);
int pm__render_create_index(char **out, const pm_dialect *d, const pm_index *idx,
                            unsigned int flags, pm_error *err);
int pm__render_drop_index(char **out, const pm_dialect *d, const char *table, const char *index,
                          unsigned int flags, pm_error *err);
/* Checks that a driver's dialect has every member the renderer needs. */
int pm__dialect_check(const pm_dialect *d, pm_error *err);
/* Appends an identifier, quoted for the dialect. */
void pm__render_ident(pm_buf *b, const pm_dialect *d, const char *ident);

/* ==== catalog.c: schema snapshots ==== */

int pm__catalog_new(pm_catalog **out, pm_error *err);
void pm__catalog_free(pm_catalog *cat);
/* The normalised text (malloc'd). Sorts cat. */
int pm__catalog_text(pm_catalog *cat, char **out, pm_error *err);
/* Names of the objects of kind; returns how many there are (fills at most
 * max). Borrowed from cat. */
size_t pm__catalog_objects(const pm_catalog *cat, const char *kind, const char **names, size_t max);

/* ==== history.c: the seaql_migrations table ==== */

#define PM_HISTORY_TABLE "seaql_migrations"

typedef struct pm_history_row {
    char *version;
    int64_t applied_at;
    char *checksum;        /* NULL when not recorded (SeaORM's rows) */
    int64_t execution_ms;  /* -1 when not recorded */
    char *state;           /* NULL or "applied", "started", "failed" */
    char *error_message;   /* why it failed; while "started", who runs it */
    char *error_statement; /* the statement that failed, when known */
    int64_t apply_order;   /* -1 when not recorded */
} pm_history_row;

typedef struct pm_history {
    pm_history_row *rows; /* ordered by version */
    size_t count;
} pm_history;

/* Creates the table when absent, adds our columns to a SeaORM two-column
 * table. Runs in its own transaction. */
int pm__history_ensure(pm_db *db, pm_error *err);
/* Reads every row; an absent table reads as empty. */
int pm__history_read(pm_db *db, pm_history *out, pm_error *err);
void pm__history_free(pm_history *h);
/* Decodes one row of the SELECT pm__history_read runs (version,
 * applied_at, checksum, execution_ms, state, error_message,
 * error_statement, apply_order; missing trailing columns read as NULL).
 * A value poblysh and SeaORM never write (no version, an unknown state, a
 * time that is not a number) is PM_EHISTORY, naming the row by its version
 * or by rownum. On success out's strings are one block the caller frees
 * through out->version. */
int pm__history_decode(pm_history_row *out, size_t rownum, size_t ncolumns,
                       const char *const *values, pm_error *err);
/* The row for version, or NULL (binary search). */
const pm_history_row *pm__history_find(const pm_history *h, const char *version);
/* Writes row (version, applied_at, checksum, state, apply_order,
 * execution_ms and error_message; negative numbers are NULL). */
int pm__history_insert(pm_db *db, const pm_history_row *row, pm_error *err);
int pm__history_mark_applied(pm_db *db, const char *version, int64_t applied_at,
                             const char *checksum, int64_t execution_ms, pm_error *err);
int pm__history_mark_failed(pm_db *db, const char *version, const char *message,
                            const char *statement, pm_error *err);
int pm__history_set_checksum(pm_db *db, const char *version, const char *checksum, pm_error *err);
int pm__history_delete(pm_db *db, const char *version, pm_error *err);
/* The largest apply_order recorded, 0 when none. */
int pm__history_max_order(pm_db *db, int64_t *out, pm_error *err);
/* Whether version has a row, read inside the current transaction. */
int pm__history_contains(pm_db *db, const char *version, bool *out, pm_error *err);
/* pm__history_contains() and pm__history_max_order() in one round trip. */
int pm__history_recheck(pm_db *db, const char *version, bool *present, int64_t *max_order,
                        pm_error *err);
/* The state and error_message of version's row (malloc'd; NULL for none or
 * SQL NULL): a "started" row's message names the runner applying it. */
int pm__history_state(pm_db *db, const char *version, char **state, char **message, pm_error *err);

#endif
