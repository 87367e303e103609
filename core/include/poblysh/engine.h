/* engine.h: the migration engine. It orders, applies, rolls back and reports
 * the migrations of one set against one open database.
 *
 * History lives in seaql_migrations (version, applied_at in unix seconds),
 * compatible with SeaORM, plus nullable columns of our own (checksum,
 * execution_ms, state, error_message, error_statement, apply_order) that
 * SeaORM ignores.
 *
 * Threads: a pm_engine belongs to its pm_db and is used, like it, by one
 * thread at a time; engines on different pm_db objects may run in different
 * threads at once (and in different processes: they take turns through the
 * migration lock). To stop a running command from another thread or a
 * signal handler, call pm_db_interrupt() on its db. The progress and verify
 * callbacks are called on the thread running the command. A pm_status is
 * read-only once made: it may be read from several threads at once, and
 * outlives its engine and db (its names point into the set, which must
 * outlive it). */
#ifndef POBLYSH_ENGINE_H
#define POBLYSH_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#include "db.h"
#include "errors.h"
#include "migration.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct pm_engine pm_engine;

/* "No limit" for pm_engine_up() and pm_engine_down(). */
#define PM_ALL ((size_t)-1)

typedef enum pm_event_kind {
    PM_EVENT_APPLYING,  /* up() of event->migration is about to run */
    PM_EVENT_APPLIED,   /* it committed; elapsed_ms is set */
    PM_EVENT_REVERTING, /* down() is about to run */
    PM_EVENT_REVERTED,  /* it committed; elapsed_ms is set */
    PM_EVENT_SKIPPED,   /* another runner applied or reverted it first */
    PM_EVENT_FAILED,    /* it was rolled back; the error follows */
    PM_EVENT_DROPPED,   /* fresh dropped event->migration: "table tenants" */
    PM_EVENT_ADOPTED,   /* adopt recorded event->migration (in a dry run: would record it) */
    /* A statement of it waited longer than the lock timeout: it was rolled
     * back and runs again after elapsed_ms (the pause), as attempt number
     * attempt + 1 of attempts + 1; detail is the statement. */
    PM_EVENT_RETRYING,
    /* fresh will drop event->migration ("function utils.slug(text)"): every
     * object is reported so before the first is dropped */
    PM_EVENT_WILL_DROP
} pm_event_kind;

typedef struct pm_event {
    pm_event_kind kind;
    const char *migration;
    int64_t elapsed_ms;
    /* Set for PM_EVENT_RETRYING only (0 and NULL otherwise): the retry
     * about to be made (1 for the first) of how many may be. */
    int retry;
    int retries;
    const char *detail;
    /* Appended after the first layout (callbacks written before still work:
     * the engine builds every event). For APPLYING, APPLIED, REVERTING,
     * REVERTED, SKIPPED and FAILED during up and down: this migration is
     * number position (from 1) of the total this run will apply or revert
     * (up: the pending ones, at most -n; down: the ones planned). 0 and 0
     * for the other events. */
    size_t position;
    size_t total;
} pm_event;

typedef void (*pm_progress_fn)(const pm_event *event, void *ctx);

/* 1: the first layout. 2: ddl_lock_timeout_ms, statement_timeout_ms and
 * ddl_retries appended; a version 1 struct is still accepted. */
#define PM_ENGINE_OPTIONS_VERSION 2

/* Timeouts of pm_engine_options: the engine's default, or no limit. */
#define PM_TIMEOUT_DEFAULT 0
#define PM_TIMEOUT_NONE (-1)
/* The default of ddl_retries, and how long the pause before a retry may grow. */
#define PM_DEFAULT_DDL_RETRIES 3
#define PM_MAX_RETRY_PAUSE_MS 30000

/* pm_engine_options.flags: what up() may do despite the history. */
#define PM_ENGINE_IGNORE_MODIFIED (1u << 0)    /* applied migrations edited since */
#define PM_ENGINE_ALLOW_MISSING (1u << 1)      /* applied versions this set lacks */
#define PM_ENGINE_ALLOW_OUT_OF_ORDER (1u << 2) /* pending ones older than the newest applied */

typedef struct pm_engine_options {
    unsigned int version;     /* PM_ENGINE_OPTIONS_VERSION */
    int lock_timeout_seconds; /* waiting for another runner; 0 means 60 */
    pm_progress_fn progress;  /* may be NULL */
    void *progress_ctx;
    unsigned int flags; /* PM_ENGINE_* */
    /* Dry run: when set, up and down change nothing and hand every statement
     * they would send (history bookkeeping included) to this function. */
    pm_sql_fn dry_run;
    void *dry_run_ctx;
    /* ---- Added in version 2: protecting live traffic ---- */
    /* The longest a migration's statement waits for a table lock, in ms,
     * where the database has such a setting (PostgreSQL's lock_timeout):
     * PM_TIMEOUT_DEFAULT is the backend's default for a migration that runs
     * in a transaction (PostgreSQL: 5 s) and the server's own setting for
     * one that runs without; PM_TIMEOUT_NONE is no limit. A migration may
     * set its own (pm_schema_set_timeouts()). */
    int ddl_lock_timeout_ms;
    /* The longest a migration's statement runs, in ms (PostgreSQL's
     * statement_timeout): PM_TIMEOUT_DEFAULT leaves the server's setting,
     * PM_TIMEOUT_NONE is no limit. */
    int statement_timeout_ms;
    /* How many times a migration that runs in a transaction is rolled back
     * and run again after a statement waited longer than the lock timeout,
     * pausing 1 s, 2 s, 4 s, ... (at most PM_MAX_RETRY_PAUSE_MS) between
     * attempts; 0 means PM_DEFAULT_DDL_RETRIES, negative means never. */
    int ddl_retries;
} pm_engine_options;

#define PM_ENGINE_OPTIONS_INIT                                                                     \
    {                                                                                              \
        PM_ENGINE_OPTIONS_VERSION, 0, NULL, NULL, 0, NULL, NULL, 0, 0, 0                           \
    }

/* Reads a duration: a whole number followed by ms, s, min or h ("500ms",
 * "5s", "10min"); a bare number is seconds. Stores milliseconds in *out_ms
 * (at most 24 h). Returns 0, or PM_EINVAL when text is not one. */
int pm_duration_parse(const char *text, int *out_ms);

/* Validates the set (pm_migration_set_check) and binds it to db. Both db and
 * set are borrowed and must outlive the engine. opts may be NULL. */
int pm_engine_new(pm_engine **out, pm_db *db, const pm_migration *const *set, size_t count,
                  const pm_engine_options *opts, pm_error *err);

void pm_engine_free(pm_engine *engine);

/* Applies pending migrations in set order, at most max (PM_ALL: every one).
 * Refuses with PM_EFOREIGN, before anything is created or run, while the
 * database holds another tool's history and poblysh has recorded none (see
 * pm_engine_adopt(); down, reset, refresh, repair, verify and status refuse
 * alike).
 * Each migration and its history row commit in one transaction; a failure
 * rolls both back, stops, and names the migration and statement in err.
 * Refuses to start, changing nothing, while the history needs attention: a
 * failed migration (PM_EFAILED), a modified one (PM_ECHECKSUM), a missing or
 * out-of-order one (PM_EDRIFT), unless the engine's flags allow it.
 * *applied (may be NULL) receives how many were applied. */
int pm_engine_up(pm_engine *engine, size_t max, size_t *applied, pm_error *err);

/* Reverts the last n applied migrations, last applied first (by the order
 * they were applied in, not by name). An applied version the set does not
 * know, or a failed one, cannot be reverted: that is an error naming it. */
int pm_engine_down(pm_engine *engine, size_t n, size_t *reverted, pm_error *err);

/* Empties what the migrations made, then applies every migration. What it
 * drops is the backend's to say (sys/backend.h, fresh_objects): on
 * PostgreSQL every table, view, materialized view, sequence, function,
 * procedure, aggregate, type and domain of the current schema, the other
 * schemas the session's role owns (taken for schemas the migrations made)
 * and the event triggers whose function is in one of them; on MySQL every
 * table, view, sequence, routine and event of the database; elsewhere every
 * table, view, sequence and type. Triggers go with their tables; the
 * history table goes last. Each object is reported (PM_EVENT_WILL_DROP)
 * before the first is dropped, then as dropped (PM_EVENT_DROPPED).
 * Refuses (PM_EFOREIGN), dropping nothing, a database whose history another
 * tool keeps and poblysh has not adopted. *applied counts the migrations
 * applied, also when one then fails. */
int pm_engine_fresh(pm_engine *engine, size_t *applied, pm_error *err);

/* Reverts every applied migration, last applied first. */
int pm_engine_reset(pm_engine *engine, size_t *reverted, pm_error *err);

/* pm_engine_reset(), then pm_engine_up() of every migration. */
int pm_engine_refresh(pm_engine *engine, size_t *reverted, size_t *applied, pm_error *err);

/* A difference is shown as a diff of the objects that differ only: per
 * object, its line ("  table t") then "- " lines only before and "+ " lines
 * only after; an object only on one side is all "- " or all "+ " lines. */
typedef enum pm_verify_result {
    PM_VERIFY_OK,           /* down() restored the schema exactly */
    PM_VERIFY_NOT_RESTORED, /* detail: the difference */
    PM_VERIFY_DOWN_FAILED,  /* detail: the error */
    PM_VERIFY_UP_FAILED,    /* detail: the error */
    /* down() restored every object, but some table's columns in another
     * order (a dropped column added back at the end): a warning, not
     * counted in *problems. detail: each such table with its column order
     * before ("- ") and after ("+ "). */
    PM_VERIFY_COLUMN_ORDER
} pm_verify_result;

typedef void (*pm_verify_fn)(const char *migration, pm_verify_result result, const char *detail,
                             void *ctx);

/* Checks every down() on a scratch database (the engine's, which must have
 * no history): for each migration in order, snapshot the schema, apply up,
 * apply down, compare with the first snapshot, apply up again. Each outcome
 * goes to fn; *problems counts those neither PM_VERIFY_OK nor
 * PM_VERIFY_COLUMN_ORDER. A failed up or down is reported and the next
 * migration checked all the same (it may then fail because of the first);
 * only an interrupt (PM_EINTERRUPTED) or a lost connection ends it early. */
int pm_engine_verify(pm_engine *engine, pm_verify_fn fn, void *ctx, size_t *problems,
                     pm_error *err);

typedef enum pm_repair {
    PM_REPAIR_ACCEPT,  /* record the current checksum of an applied migration */
    PM_REPAIR_APPLIED, /* a failed migration was finished by hand: mark it applied */
    PM_REPAIR_ROLLBACK /* a failed migration was undone by hand: forget its row */
} pm_repair;

/* Edits the history row of migration name, and nothing else. */
int pm_engine_repair(pm_engine *engine, pm_repair action, const char *name, pm_error *err);

/* ==== Adopting another tool's history ==== */

/* pm_engine_adopt() flags. */
#define PM_ADOPT_ALLOW_UNMATCHED (1u << 0) /* leave out versions this set lacks */
#define PM_ADOPT_ALLOW_FAILED (1u << 1)    /* record a dirty or failed version as failed */
#define PM_ADOPT_DRY_RUN (1u << 2)         /* write nothing: report what would be recorded */

typedef struct pm_adopt_report {
    const char *tool;  /* "golang-migrate"; static */
    const char *table; /* "schema_migrations"; static */
    size_t covered;    /* migrations of this set the tool's history says were run */
    size_t recorded;   /* rows written (dry run: that would be), failed ones included */
    size_t failed;     /* of them, recorded as failed (PM_ADOPT_ALLOW_FAILED) */
    size_t already;    /* already in seaql_migrations: left as they are */
    size_t unmatched;  /* versions the tool records that this set lacks: left out */
    size_t pending;    /* migrations of this set it does not cover: left pending */
} pm_adopt_report;

/* The tools pm_engine_adopt() knows, NULL-terminated: "dbmate",
 * "golang-migrate", "goose", "sqlx", "diesel", "flyway". Static. */
const char *const *pm_adopt_tools(void);

/* Records in seaql_migrations, as applied, the migrations of this set that
 * another tool's history table says were run, so up() runs only what is
 * new. tool is one of pm_adopt_tools() (any case), or NULL when the
 * database holds exactly one such table (two: PM_EFOREIGN naming both;
 * none: PM_ENOTFOUND). Versions match by value (pm_migration_name_check's
 * versions: numbers for every tool but Flyway, whose versions are dotted).
 * Refused, writing nothing: versions the tool records that this set lacks
 * (PM_EDRIFT) unless PM_ADOPT_ALLOW_UNMATCHED leaves them out; a dirty
 * (golang-migrate) or failed (sqlx, Flyway) version (PM_EFAILED) unless
 * PM_ADOPT_ALLOW_FAILED records it as failed, for `repair`. Versions
 * already in seaql_migrations are left as they are, so adopting twice
 * changes nothing; the other tool's table is only read. Rows are written in
 * one transaction, applied_at taken from the tool's table where it records
 * a time. Each recorded migration goes to the progress callback as
 * PM_EVENT_ADOPTED. PM_ADOPT_DRY_RUN (or the engine's dry_run option)
 * writes nothing. out (may be NULL) receives the counts, also on failure. */
int pm_engine_adopt(pm_engine *engine, const char *tool, unsigned int flags, pm_adopt_report *out,
                    pm_error *err);

typedef enum pm_state {
    PM_STATE_APPLIED,
    PM_STATE_PENDING,
    PM_STATE_MODIFIED,     /* applied, but its checksum has changed since */
    PM_STATE_MISSING,      /* recorded as applied, but not in this set */
    PM_STATE_OUT_OF_ORDER, /* pending, but older than the newest applied one */
    PM_STATE_FAILED        /* ran without a transaction and failed or never finished */
} pm_state;

#define PM_STATE__COUNT 6

/* "applied", "pending", "modified", "missing", "out-of-order", "failed";
 * static. */
const char *pm_state_name(pm_state state);

typedef struct pm_status_entry {
    const char *name;
    pm_state state;
    int64_t applied_at;    /* unix seconds; 0 when pending */
    const char *checksum;  /* stored checksum, NULL when none (rows SeaORM wrote) */
    const char *expected;  /* this set's checksum, NULL when missing or unknown */
    int64_t execution_ms;  /* -1 when unknown */
    const char *error;     /* failed: what went wrong */
    const char *statement; /* failed: the statement, when known */
} pm_status_entry;

typedef struct pm_status pm_status;

/* Every migration of the set and every missing version, ordered by
 * version. The caller frees *out with pm_status_free(). */
int pm_engine_status(pm_engine *engine, pm_status **out, pm_error *err);

size_t pm_status_count(const pm_status *status);
/* Borrowed; lives as long as status. */
const pm_status_entry *pm_status_entry_at(const pm_status *status, size_t i);
size_t pm_status_count_state(const pm_status *status, pm_state state);
void pm_status_free(pm_status *status);

#ifdef __cplusplus
}
#endif
#endif
