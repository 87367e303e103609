/* fleet.h: one command over many databases, or many schemas of one: the
 * targets (a list, a file, a control database's query), at most N of them
 * at once, canaries first, stopping at the first failure unless told to go
 * on, and one result per target for a report.
 *
 * Each target gets its own connection (one at most) and its own engine, so
 * its own migration lock: two fleets run over the same targets at once, or
 * a fleet beside a single `migrate up`, apply each migration once per
 * target. A target already up to date costs its start-up and one history
 * read, so running the same fleet again after a failure or an interrupt
 * resumes it.
 *
 * Threads: pm_fleet_run() runs the targets on worker threads of its own and
 * returns when all have ended. The progress callback is called from those
 * threads and from the calling one, one call at a time (the fleet
 * serialises them under a lock of its own, never the one its workers
 * schedule under, so a callback slow to write its output delays other
 * callbacks but never an interrupt): it needs no lock of its own but must
 * not call back into the fleet, except pm_fleet_interrupt(). Workers start
 * with every signal blocked, so SIGINT and SIGTERM reach the caller's
 * threads, whose handler may call pm_fleet_interrupt(). */
#ifndef POBLYSH_FLEET_H
#define POBLYSH_FLEET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db.h"
#include "engine.h"
#include "errors.h"
#include "migration.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct pm_fleet pm_fleet;

/* What pm_fleet_run() does on each target. */
typedef enum pm_fleet_action {
    /* pm_engine_up(), at most options.count migrations (0, PM_ALL: all);
     * a target whose every migration is APPLIED is only read (no lock) */
    PM_FLEET_UP,
    PM_FLEET_DOWN,   /* pm_engine_down() of options.count migrations (0 means 1) */
    PM_FLEET_STATUS, /* pm_engine_status(); the result holds the target's status */
    /* pm_engine_verify() in a scratch database of the target's server (an
     * in-memory SQLite database for SQLite targets); the target's own
     * database is only opened (PM_DB_OPEN_EXISTING: a missing one fails
     * that target, PM_ECONNECT) and never written. Targets on one server
     * are verified once: the others share that result. */
    PM_FLEET_VERIFY
} pm_fleet_action;

/* Where a target stands. */
typedef enum pm_fleet_outcome {
    PM_FLEET_WAITING,     /* not started yet */
    PM_FLEET_RUNNING,     /* started, not ended */
    PM_FLEET_OK,          /* done (up: also when there was nothing to apply) */
    PM_FLEET_FAILED,      /* ended with an error: result->error */
    PM_FLEET_INTERRUPTED, /* stopped by pm_fleet_interrupt(): result->error */
    /* After the run: never started, because scheduling stopped (a failure
     * without PM_FLEET_KEEP_GOING, a failed canary, an interrupt). */
    PM_FLEET_NOT_STARTED
} pm_fleet_outcome;

/* The static word for an outcome: "waiting", "running", "ok", "failed",
 * "interrupted", "not started". */
const char *pm_fleet_outcome_name(pm_fleet_outcome outcome);

/* One target and what happened to it. Owned by the fleet; valid until
 * pm_fleet_free(). Read it after the run, or from the progress callback:
 * the event's own result, and the result of any target whose
 * PM_FLEET_TARGET_FINISHED event the callback has already received (a
 * target's outcome, counts, times, error and status are published
 * together, before that event, and never change after). Another running
 * target's fields may be changing: do not read them from the callback. */
typedef struct pm_fleet_result {
    size_t index;       /* from 0, in the order the targets were added */
    const char *name;   /* as given, else made from the URL (see pm_fleet_add()) */
    const char *url;    /* redacted: no password, never a secret */
    const char *schema; /* the schema of a schema-per-tenant target, or NULL */
    const char *origin; /* where it was listed: "targets.txt:12", "query row 3", "added" */
    bool canary;        /* one of the first options.canary targets */
    pm_fleet_outcome outcome;
    /* up: migrations applied; down: reverted; status: applied ones. */
    size_t applied;
    /* up: pending before it ran; status: pending now; 0 otherwise. */
    size_t pending;
    int64_t elapsed_ms;    /* from its connection to its end; 0 when not started */
    const pm_error *error; /* FAILED or INTERRUPTED: why (code, message, migration...); else NULL */
    /* PM_FLEET_STATUS and OK: the target's status (read-only; names point
     * into the set), else NULL. */
    const pm_status *status;
    /* PM_FLEET_VERIFY: migrations that failed verification (the
     * pm_engine_verify() count); the target whose server was verified. */
    size_t problems;
    const char *verified_by;
} pm_fleet_result;

typedef enum pm_fleet_event_kind {
    PM_FLEET_TARGET_STARTED,  /* result is the target, now RUNNING */
    PM_FLEET_TARGET_FINISHED, /* result is the target, now OK, FAILED or INTERRUPTED */
    PM_FLEET_MIGRATION,       /* event is the engine's event for result's target */
    PM_FLEET_CANARIES_PASSED, /* every canary is OK: the other targets start now */
    /* scheduling stopped: no other target starts (result is the target that
     * made it stop, or NULL for an interrupt); running ones finish */
    PM_FLEET_STOPPING
} pm_fleet_event_kind;

typedef struct pm_fleet_event {
    pm_fleet_event_kind kind;
    const pm_fleet_result *result; /* NULL where said above */
    const pm_event *event;         /* PM_FLEET_MIGRATION only, else NULL */
    /* The fleet at this moment: targets OK, FAILED or INTERRUPTED, RUNNING,
     * WAITING; of total. */
    size_t ok, failed, running, waiting, total;
} pm_fleet_event;

typedef void (*pm_fleet_progress_fn)(const pm_fleet_event *event, void *ctx);

/* options.flags */
#define PM_FLEET_KEEP_GOING (1u << 0) /* a failed target does not stop scheduling */

/* How many targets run at once when options.jobs is 0, and the most allowed. */
#define PM_FLEET_DEFAULT_JOBS 4
#define PM_FLEET_MAX_JOBS 256

#define PM_FLEET_OPTIONS_VERSION 1

typedef struct pm_fleet_options {
    unsigned int version; /* PM_FLEET_OPTIONS_VERSION */
    /* At most this many targets at once, each with one connection (0:
     * PM_FLEET_DEFAULT_JOBS; more than PM_FLEET_MAX_JOBS is PM_EINVAL). */
    unsigned int jobs;
    /* The first canary targets run first, on their own (at most jobs at
     * once); the others start only when every canary is OK, whatever the
     * flags. 0: no canaries. */
    unsigned int canary;
    unsigned int flags; /* PM_FLEET_* */
    size_t count;       /* see pm_fleet_action */
    /* For every target's engine (its progress callback and dry run are
     * ignored: the fleet's progress receives the engine's events); NULL:
     * the defaults. */
    const pm_engine_options *engine;
    /* For opening every target (its interrupt flag is ignored: see
     * pm_fleet_interrupt()); NULL: the defaults. A target that names a
     * SQLite file that does not exist is refused (PM_ECONNECT) except by
     * PM_FLEET_UP, which creates it as a single `up` does; PM_FLEET_VERIFY
     * opens every target once so (its verification itself runs once per
     * server). Its waiting callback (wait_seconds > 0) is called like the
     * progress callback: one call at a time, under the same lock, with
     * why prefixed by the target's name ("tenant_7: connection refused"). */
    const pm_db_options *db;
    pm_fleet_progress_fn progress; /* may be NULL */
    void *progress_ctx;
} pm_fleet_options;

#define PM_FLEET_OPTIONS_INIT                                                                      \
    {                                                                                              \
        PM_FLEET_OPTIONS_VERSION, 0, 0, 0, 0, NULL, NULL, NULL, NULL                               \
    }

/* A fleet that will run the migrations of set (borrowed: it must outlive the
 * fleet and is shared, read-only, by every target). The set is checked as
 * pm_engine_new() checks it. opts is copied (the structs it points to are
 * borrowed until pm_fleet_free()); NULL means the defaults. */
int pm_fleet_new(pm_fleet **out, const pm_migration *const *set, size_t count,
                 const pm_fleet_options *opts, pm_error *err);

void pm_fleet_free(pm_fleet *fleet);

/* Adds one target: url (any URL pm_db_open() takes), name (NULL: made from
 * the URL: the schema, else the database's name, else the URL redacted;
 * made names that collide fall back to the redacted URL, with "#schema"),
 * schema (NULL, or the schema every object and the history live in, as
 * pm_db_use_schema() makes it). Refused with PM_EINVAL: a given name
 * already taken, the same URL and schema twice. Nothing is opened yet. */
int pm_fleet_add(pm_fleet *fleet, const char *url, const char *name, const char *schema,
                 pm_error *err);

/* Adds the targets of a targets file's text, one per line:
 *
 *     # comments and blank lines are skipped
 *     postgres://app@db1/tenant_acme
 *     postgres://app@db1/tenant_beta  name=beta
 *     postgres://app@db2/shared       name=gamma  schema=tenant_gamma
 *
 * A line is a URL then, separated by blanks, optional name=NAME and
 * schema=SCHEMA fields. A key=value connection string has blanks of its
 * own: write it as a postgres:// URL. An error names origin and the line
 * ("targets.txt:7: unknown field \"scheme=x\"") and adds nothing of the
 * text. An empty list (nothing but comments) is PM_EINVAL too. */
int pm_fleet_add_text(pm_fleet *fleet, const char *text, size_t length, const char *origin,
                      pm_error *err);

/* pm_fleet_add_text() of a file's contents; "-" reads standard input. */
int pm_fleet_add_file(pm_fleet *fleet, const char *path, pm_error *err);

/* Adds the rows of a query run on a control database: the first column is
 * the URL, the second (optional, NULL allowed) the name, the third
 * (optional, NULL allowed) the schema. The connection is closed before
 * returning. Errors name the row ("query row 4: ..."). */
int pm_fleet_add_query(pm_fleet *fleet, const char *url, const char *sql, pm_error *err);

size_t pm_fleet_size(const pm_fleet *fleet);

/* Runs action on every target, at most options.jobs at once, canaries
 * first, in the order the targets were added. Returns 0 when every target
 * is OK. Otherwise: PM_EINTERRUPTED after pm_fleet_interrupt(); the code
 * every FAILED target shares, when they share one; else PM_ERROR. err then
 * says how many failed and names the first ("2 of 100 targets failed;
 * first: tenant_7: ..."); each target's own error is in its result. A
 * fleet runs once: a second call is PM_EMISUSE. */
int pm_fleet_run(pm_fleet *fleet, pm_fleet_action action, pm_error *err);

/* Stops the run: no target starts any more, and every running one is
 * interrupted as pm_db_interrupt() interrupts a single run (the running
 * migration is rolled back where it runs in a transaction). Safe from a
 * signal handler and from any thread, before or during pm_fleet_run(). */
void pm_fleet_interrupt(pm_fleet *fleet);

/* The target at index (0 to pm_fleet_size() - 1), or NULL. */
const pm_fleet_result *pm_fleet_result_at(const pm_fleet *fleet, size_t index);

#ifdef __cplusplus
}
#endif
#endif
