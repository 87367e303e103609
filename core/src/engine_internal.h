/* engine_internal.h: what the engine's files share: the engine object,
 * the one session runner, running one migration (engine.c), classification
 * (engine_status.c), and the refusal while another tool's history waits to
 * be adopted (adopt.c). Private to engine*.c and adopt.c; not installed. */
#ifndef PM_ENGINE_INTERNAL_H
#define PM_ENGINE_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "internal.h"

struct pm_engine {
    pm_db *db;
    const pm_migration *const *set;
    size_t count;
    int lock_timeout_ms;
    pm_progress_fn progress;
    void *progress_ctx;
    unsigned int flags; /* PM_ENGINE_* */
    pm_sql_fn dry_run;  /* non-NULL: record instead of run */
    void *dry_run_ctx;
    /* The dialect's others_committed counter just before this session read
     * the history, or -1 (see recheck_history in engine.c). */
    int64_t history_version;
    /* Timeouts of a migration's statements, in ms: -1 leaves the server's
     * setting, 0 is no limit (resolved from pm_engine_options). */
    int ddl_lock_timeout_ms;   /* for migrations that run in a transaction */
    int no_tx_lock_timeout_ms; /* for those that run without one */
    int statement_timeout_ms;
    int ddl_retries; /* retries after a lock timeout; 0: none */
    int attempt;     /* of the migration running now, from 1 */
    /* The running migration's number (from 1) of how many this up or down
     * runs, for pm_event; 0 and 0 outside them. */
    size_t run_position;
    size_t run_total;
};

/* ==== engine.c ==== */

/* Work done inside a session, on the history read under the lock. */
typedef int (*pm_engine__job_fn)(pm_engine *e, const pm_history *h, void *ctx, pm_error *err);

/* The one session runner: takes the migration lock, makes sure the history
 * table exists and reads it, runs job, then frees the history and unlocks.
 * Returns job's result, or the failure to begin or end the session. */
int pm_engine__session(pm_engine *e, pm_engine__job_fn job, void *ctx, pm_error *err);

/* Runs up() (applying) or down() of m with its history change, stopping
 * first if the run was interrupted. *skipped is set when another runner got
 * there first; *order is the apply_order the next applied migration gets. */
int pm_engine__run_one(pm_engine *e, const pm_migration *m, bool applying, bool *skipped,
                       int64_t *order, pm_error *err);

/* Hands one event to the progress callback, if there is one. */
void pm_engine__report(const pm_engine *e, pm_event_kind kind, const char *migration, int64_t ms);

/* ==== adopt.c ==== */

/* PM_EFOREIGN, naming the tool, its table and what it records, when the
 * database holds another tool's history with a version in it and
 * seaql_migrations is absent or empty; 0 otherwise. Only reads. */
int pm_engine__refuse_foreign(pm_engine *e, pm_error *err);

/* ==== engine_status.c ==== */

/* Whether row records a migration that failed or never finished. */
bool pm_engine__row_failed(const pm_history_row *row);

/* Who runs a migration, as a "started" row records it in error_message:
 * "running: process PID on HOST". */
#define PM_RUNNER_HOST_MAX 256
#define PM_RUNNER_MAX (PM_RUNNER_HOST_MAX + 48)
void pm_engine__runner(char *buf, size_t size);

/* Whether row is "started" by a process of this host that is still alive:
 * a runner applying it right now, not a failure. */
bool pm_engine__row_running(const pm_history_row *row);

/* Whether row is "started" by a process of another host, which cannot be
 * asked whether it is alive. */
bool pm_engine__row_elsewhere(const pm_history_row *row);

/* The migration of the set named name, or NULL (the set is sorted). */
const pm_migration *pm_engine__find(const pm_engine *e, const char *name);

/* Merges the sorted set with the sorted history into entries, which has
 * room for e->count + h->count; returns how many it filled. */
size_t pm_engine__classify(const pm_engine *e, const pm_history *h, pm_status_entry *entries);

/* Refuses up() (PM_EFAILED, PM_ECHECKSUM or PM_EDRIFT) while the history
 * needs attention the engine's flags do not excuse; 0 otherwise. */
int pm_engine__check_history(const pm_engine *e, const pm_status_entry *entries, size_t n,
                             pm_error *err);

#endif
