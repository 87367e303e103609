/* engine.c: the migration engine object, the one session runner, and up,
 * down and repair. A session takes the driver's migration lock and reads the
 * history; each migration then runs with its history row in one transaction,
 * or, for a migration that cannot run in one, with a "started" row written
 * first. Where DDL commits implicitly, a transactional migration is applied
 * with a "started" row written first too, so a crash never leaves its
 * tables without a trace in the history. Classification is in engine_status.c,
 * fresh/reset/refresh/verify in engine_tools.c. */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine_internal.h"

/* ==== The engine object ==== */

#define PM_DEFAULT_LOCK_TIMEOUT_S 60

int pm_duration_parse(const char *text, int *out_ms)
{
    static const struct {
        const char *suffix;
        long ms;
    } units[] = {{"ms", 1}, {"s", 1000}, {"", 1000}, {"min", 60000}, {"h", 3600000}};
    if (!text || !isdigit((unsigned char)text[0]))
        return PM_EINVAL;
    char *end;
    errno = 0;
    long long value = strtoll(text, &end, 10);
    for (size_t i = 0; i < PM_ARRAY_LEN(units); i++) {
        if (strcmp(end, units[i].suffix) != 0)
            continue;
        if (errno || value > 86400000LL / units[i].ms)
            return PM_EINVAL;
        *out_ms = (int)(value * units[i].ms);
        return 0;
    }
    return PM_EINVAL;
}

/* A timeout option in ms as the engine keeps it: -1 leaves the server's
 * setting, 0 is no limit; fallback stands for PM_TIMEOUT_DEFAULT. */
static int resolve_timeout(int option, int fallback)
{
    return option == PM_TIMEOUT_DEFAULT ? fallback : option < 0 ? 0 : option;
}

/* The timeouts and retries of opts (NULL: a version 1 struct, all defaults). */
static void set_timeouts(pm_engine *e, const pm_engine_options *opts)
{
    int default_ms = PM__BACKEND_HAS(pm__db_backend(e->db), 2, default_lock_timeout_ms);
    int lock = opts ? opts->ddl_lock_timeout_ms : PM_TIMEOUT_DEFAULT;
    e->ddl_lock_timeout_ms = resolve_timeout(lock, default_ms > 0 ? default_ms : -1);
    /* A migration without a transaction (CREATE INDEX CONCURRENTLY) may
     * rightly wait long for others' transactions, and is never retried:
     * only an explicit limit applies to it. */
    e->no_tx_lock_timeout_ms = resolve_timeout(lock, -1);
    e->statement_timeout_ms = resolve_timeout(opts ? opts->statement_timeout_ms : 0, -1);
    int retries = opts ? opts->ddl_retries : 0;
    e->ddl_retries = retries == 0 ? PM_DEFAULT_DDL_RETRIES : retries < 0 ? 0 : retries;
}

int pm_engine_new(pm_engine **out, pm_db *db, const pm_migration *const *set, size_t count,
                  const pm_engine_options *opts, pm_error *err)
{
    *out = NULL;
    if (!db)
        return pm_error_set(err, PM_EINVAL, "pm_engine_new: db is NULL");
    if (opts && (opts->version < 1 || opts->version > PM_ENGINE_OPTIONS_VERSION))
        return pm_error_set(err, PM_EINVAL,
                            "pm_engine_options version %u is unknown (expected 1 to %d)",
                            opts->version, PM_ENGINE_OPTIONS_VERSION);
    int rc = pm_migration_set_check(set, count, err);
    if (rc < 0)
        return rc;
    pm_engine *e = calloc(1, sizeof(*e));
    if (!e)
        return pm_error_set(err, PM_ENOMEM, "out of memory");
    e->db = db;
    e->set = set;
    e->count = count;
    int timeout_s = opts && opts->lock_timeout_seconds > 0 ? opts->lock_timeout_seconds
                                                           : PM_DEFAULT_LOCK_TIMEOUT_S;
    e->lock_timeout_ms = timeout_s > 2000000 ? 2000000000 : timeout_s * 1000;
    e->progress = opts ? opts->progress : NULL;
    e->progress_ctx = opts ? opts->progress_ctx : NULL;
    e->flags = opts ? opts->flags : 0;
    e->dry_run = opts ? opts->dry_run : NULL;
    e->dry_run_ctx = opts ? opts->dry_run_ctx : NULL;
    set_timeouts(e, opts && opts->version >= 2 ? opts : NULL);
    *out = e;
    return 0;
}

void pm_engine_free(pm_engine *engine)
{
    free(engine);
}

void pm_engine__report(const pm_engine *e, pm_event_kind kind, const char *migration, int64_t ms)
{
    if (e->progress) {
        bool counted = kind == PM_EVENT_APPLYING || kind == PM_EVENT_APPLIED ||
                       kind == PM_EVENT_REVERTING || kind == PM_EVENT_REVERTED ||
                       kind == PM_EVENT_SKIPPED || kind == PM_EVENT_FAILED;
        pm_event ev = {kind,
                       migration,
                       ms,
                       0,
                       0,
                       NULL,
                       counted ? e->run_position : 0,
                       counted ? e->run_total : 0};
        e->progress(&ev, e->progress_ctx);
    }
}

/* ==== Interrupts ==== */

/* Where a run was when pm_db_interrupt() stopped it. */
typedef enum stop_point {
    STOP_BEFORE_SESSION, /* waiting for the lock or reading the history */
    STOP_BETWEEN,        /* before the next migration started */
    STOP_IN_TRANSACTION, /* during a migration, rolled back with its transaction */
    STOP_NO_TRANSACTION  /* during a migration that runs without one */
} stop_point;

/* The one interrupt path: once pm_db_interrupt() was called, err becomes
 * PM_EINTERRUPTED saying where the run stopped, keeping the statement and
 * hint of a cancelled one. Without an interrupt, rc is returned as it is. */
static int interrupted(pm_engine *e, int rc, stop_point where, const pm_migration *m, bool applying,
                       pm_error *err)
{
    if (!pm_db_interrupted(e->db))
        return rc;
    if (where == STOP_BEFORE_SESSION && rc == PM_EINTERRUPTED && err && err->message)
        return rc; /* says where it waited: "while waiting for the migration lock" */
    if (where == STOP_BEFORE_SESSION)
        return pm_error_set(err, PM_EINTERRUPTED, "interrupted before any migration was started");
    if (where == STOP_BETWEEN)
        return pm_error_set(err, PM_EINTERRUPTED, "interrupted: no further migration was started");
    char *statement = err && err->statement ? pm__strdup(err->statement) : NULL;
    char *hint = err && err->hint ? pm__strdup(err->hint) : NULL;
    const char *direction = applying ? "up" : "down";
    if (where == STOP_IN_TRANSACTION && (pm__db_flags(e->db) & PM_CONN_TRANSACTIONAL_DDL))
        pm_error_set(err, PM_EINTERRUPTED,
                     "interrupted during %s() of %s: it was rolled back and nothing of it was "
                     "applied",
                     direction, m->name);
    else /* the hint says what may have been applied */
        pm_error_set(err, PM_EINTERRUPTED, "interrupted during %s() of %s", direction, m->name);
    pm_error_set_db(err, NULL, statement);
    pm_error_set_detail(err, NULL, hint);
    pm__error_set_migration(err, m->name);
    free(statement);
    free(hint);
    return PM_EINTERRUPTED;
}

/* A signal that came while a migration ran to its end (a driver that cannot
 * cancel its statement lets it finish; or it came after the commit): last,
 * the one that finished, is committed and recorded, and the run still stops
 * as interrupted. last NULL: none had run. Without an interrupt, 0. */
static int interrupted_after(pm_engine *e, const pm_migration *last, bool applying, pm_error *err)
{
    if (!pm_db_interrupted(e->db))
        return 0;
    if (!last)
        return pm_error_set(err, PM_EINTERRUPTED, "interrupted before any migration was started");
    return pm_error_set(err, PM_EINTERRUPTED,
                        "interrupted after %s was %s: it is committed and recorded as %s; no "
                        "further migration was started",
                        last->name, applying ? "applied" : "reverted",
                        applying ? "applied" : "reverted (its history row deleted)");
}

/* ==== Running one migration ==== */

/* Calls up() or down(), timing it; a failure that did not go through
 * pm_schema still gets a message. */
static int call_migration(pm_engine *e, const pm_migration *m, bool applying, int64_t *elapsed,
                          pm_error *err)
{
    const char *direction = applying ? "up" : "down";
    pm_engine__report(e, applying ? PM_EVENT_APPLYING : PM_EVENT_REVERTING, m->name, 0);
    int64_t started = pm__now_ms();
    pm_schema schema = {e->db, err};
    int rc = (applying ? m->up : m->down)(&schema, m->data);
    *elapsed = pm__now_ms() - started;
    if (rc > 0)
        rc = PM_EMIGRATION; /* a positive return is a failure too */
    if (rc < 0 && err && !err->message)
        pm_error_set(err, rc, "%s() returned %d (%s)", direction, rc, pm_strerror(rc));
    return rc;
}

/* ==== Others' writes between our transactions ==== */

static int take_int64(void *ctx, size_t ncolumns, const char *const *values)
{
    *(int64_t *)ctx = ncolumns && values[0] ? strtoll(values[0], NULL, 10) : -1;
    return 0;
}

/* The dialect's others_committed counter (SQLite: PRAGMA data_version): it
 * changes exactly when another connection has committed since this one last
 * read it (never for its own commits). -1 when the dialect has none, and in
 * a dry run. */
static int data_version(pm_engine *e, int64_t *out, pm_error *err)
{
    *out = -1;
    const char *sql = pm__db_backend(e->db)->others_committed;
    if (!sql || !(pm__db_flags(e->db) & PM_CONN_BEGIN_EXCLUDES) || pm__db_recording(e->db))
        return 0;
    return pm__db_query(e->db, sql, NULL, 0, take_int64, out, err);
}

/* With begin() excluding other writers (SQLite), others can still write
 * between our transactions: each migration re-reads whether it was applied
 * or reverted meanwhile (*present) and, when applying, the largest
 * apply_order, so *order (the apply_order it gets) stays above every row.
 * That read scans the whole history (O(n) per migration, O(n^2) per up: 36 s
 * of CPU over 10,000 migrations in bench case 7), so it is skipped while no
 * other connection has committed since just before this session read the
 * history: what the session knows is then still the whole truth, and
 * *present and *order are left as the caller has them. Once another
 * connection has committed, every later migration re-reads. */
static int recheck_history(pm_engine *e, const pm_migration *m, bool applying, bool *present,
                           int64_t *order, pm_error *err)
{
    int64_t now = -1;
    int rc = data_version(e, &now, err);
    if (rc < 0 || (now >= 0 && now == e->history_version))
        return rc;
    int64_t max_order = 0;
    rc = pm__history_recheck(e->db, m->name, present, &max_order, err);
    if (rc == 0 && applying)
        *order = max_order + 1;
    return rc;
}

static pm_history_row applied_row(const pm_migration *m, const char *state, int64_t order,
                                  int64_t execution_ms)
{
    pm_history_row row = {(char *)m->name,
                          (int64_t)time(NULL),
                          (char *)m->checksum,
                          execution_ms,
                          (char *)state,
                          NULL,
                          NULL,
                          order};
    return row;
}

#define PM_RUNNER_POLL_MS 50

static void pause_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* The wait's outcome for m's row as read now: 0 when it is done (applied,
 * or gone), 1 to wait on, or a failure. */
static int finished_or_failed(pm_engine *e, const pm_migration *m, int64_t deadline, pm_error *err)
{
    char *state = NULL, *runner = NULL;
    int rc = pm__history_state(e->db, m->name, &state, &runner, err);
    pm_history_row row = {(char *)m->name, 0, NULL, -1, state, runner, NULL, -1};
    bool running = pm_engine__row_running(&row) || pm_engine__row_elsewhere(&row);
    if (rc < 0)
        ;
    else if (!running && pm_engine__row_failed(&row))
        rc = pm_error_set(err, PM_EFAILED,
                          "%s was being applied by another runner, which did not finish it (it "
                          "reads as failed); this run stops before the migrations after it",
                          m->name);
    else if (running && pm__now_ms() >= deadline)
        rc = pm_error_set(err, PM_ELOCKED,
                          "%s is still being applied by another runner (%s) after %d s", m->name,
                          runner, e->lock_timeout_ms / 1000);
    else
        rc = running ? 1 : 0;
    free(state);
    free(runner);
    return rc;
}

/* m was found recorded by another runner: when its row is "started" by a
 * runner still at work on it (a migration without a transaction runs
 * outside the lock), waits until it is applied, so that no later migration
 * runs before it is done. Polls outside any transaction, for at most the
 * lock timeout (a runner on another host cannot be asked whether it is
 * alive, so its row is waited for). A row its runner left unfinished stops
 * the run: what follows it must wait until it is repaired. */
static int wait_until_finished(pm_engine *e, const pm_migration *m, pm_error *err)
{
    int64_t deadline = pm__now_ms() + e->lock_timeout_ms;
    int rc;
    while ((rc = finished_or_failed(e, m, deadline, err)) == 1) {
        if (pm_db_interrupted(e->db))
            return pm_error_set(err, PM_EINTERRUPTED,
                                "interrupted while waiting for another runner to finish %s",
                                m->name);
        pause_ms(PM_RUNNER_POLL_MS);
    }
    if (rc < 0)
        pm__error_set_migration(err, m->name);
    return rc;
}

/* After begin(): whether another runner applied (or reverted) m meanwhile,
 * which only a connection whose begin() excludes other writers can tell; if
 * so the transaction is rolled back and *skipped set. Not checked in a dry
 * run: nothing was written, so there may be no history table to look in. */
static int skip_if_done(pm_engine *e, const pm_migration *m, bool applying, bool *skipped,
                        int64_t *order, pm_error *err)
{
    if (!(pm__db_flags(e->db) & PM_CONN_BEGIN_EXCLUDES) || pm__db_recording(e->db))
        return 0;
    bool present = !applying;
    int rc = recheck_history(e, m, applying, &present, order, err);
    if (rc == 0 && present == applying) {
        pm__db_rollback(e->db, err);
        *skipped = true;
        if (applying)
            rc = wait_until_finished(e, m, err);
    }
    return rc;
}

/* Runs one small transaction of history bookkeeping. */
static int bookkeeping(pm_db *db, int rc, pm_error *err)
{
    if (rc == 0)
        rc = pm__db_commit(db, err);
    if (rc < 0)
        pm__db_rollback(db, err);
    return rc;
}

/* Writes m's row as "started", in a transaction of its own, before any of
 * its statements runs: from then on a failure, a crash or kill -9 leaves a
 * row that status reports as failed. *skipped is set (and nothing written)
 * when another runner applied m meanwhile. */
static int record_started(pm_engine *e, const pm_migration *m, bool *skipped, int64_t *order,
                          pm_error *err)
{
    int rc = pm__db_begin(e->db, err);
    if (rc == 0)
        rc = skip_if_done(e, m, true, skipped, order, err);
    if (*skipped)
        return rc;
    char runner[PM_RUNNER_MAX];
    pm_engine__runner(runner, sizeof(runner));
    pm_history_row row = applied_row(m, "started", *order, -1);
    row.error_message = runner; /* so a racer can tell it is being applied */
    if (rc == 0)
        rc = pm__history_insert(e->db, &row, err);
    rc = bookkeeping(e->db, rc, err);
    if (rc < 0)
        pm__error_set_migration(err, m->name);
    return rc;
}

/* After a failure that left the database answering: the "started" row of a
 * migration whose transaction was rolled back is removed again, so the
 * failure reads as before (no history row, and the hint saying what DDL may
 * have been committed). When the connection is gone the row stays, and
 * status reports the migration as failed. */
static void forget_started(pm_engine *e, const pm_migration *m)
{
    pm_error ignored = PM_ERROR_INIT;
    int rc = pm__db_begin(e->db, &ignored);
    if (rc == 0)
        rc = pm__history_delete(e->db, m->name, &ignored);
    bookkeeping(e->db, rc, &ignored);
    pm_error_clear(&ignored);
}

/* Whether applying m in a transaction still needs a "started" row first:
 * where DDL commits implicitly (no PM_CONN_TRANSACTIONAL_DDL), a crash can
 * leave its tables committed, and without the row the history would call
 * it pending. */
static bool needs_started_row(const pm_engine *e, bool applying)
{
    return applying && !(pm__db_flags(e->db) & PM_CONN_TRANSACTIONAL_DDL);
}

/* Whether a failure rc of the migration running now is a lock timeout that
 * gets another attempt (never once the run was interrupted). */
static bool will_retry(const pm_engine *e, int rc, const pm_error *err)
{
    return rc == PM_EDB && e->attempt <= e->ddl_retries && !pm_db_interrupted(e->db) &&
           pm__db_lock_timed_out(e->db, err);
}

/* Runs one direction of m and its history change in one transaction.
 * *skipped is set when, with a connection whose begin() excludes others,
 * another runner got there first. *order is the apply_order the next applied
 * migration gets. On failure everything is rolled back and err names the
 * migration. */
static int run_in_transaction(pm_engine *e, const pm_migration *m, bool applying, bool *skipped,
                              int64_t *order, pm_error *err)
{
    pm_db *db = e->db;
    int64_t elapsed = 0, started = pm__now_ms();
    bool guarded = needs_started_row(e, applying);
    *skipped = false;
    int rc = guarded ? record_started(e, m, skipped, order, err) : 0;
    if (rc < 0 || *skipped)
        return rc;
    rc = pm__db_begin(db, err);
    /* A driver may send begin() with the re-read (PostgreSQL: BEGIN, the
     * migration lock and the re-read in one round trip), so a failure of
     * either is the transaction's start failing, not the migration. */
    if (rc == 0 && !guarded)
        rc = skip_if_done(e, m, applying, skipped, order, err);
    if (*skipped) /* rolled back; rc < 0 when the other runner left it unfinished */
        return rc;
    if (rc < 0) {
        pm__db_rollback(db, err);
        pm__error_set_migration(err, m->name);
        if (guarded)
            forget_started(e, m);
        return rc;
    }
    rc = pm__db_timeouts_begin(db, true, e->ddl_lock_timeout_ms, e->statement_timeout_ms, err);
    if (rc == 0)
        rc = call_migration(e, m, applying, &elapsed, err);
    int end_rc = pm__db_timeouts_end(db, err);
    rc = rc < 0 ? rc : end_rc;
    if (rc == 0) /* what the migration did to the session must not touch the history write */
        rc = pm__db_restore_session(db, err);
    if (rc < 0)
        goto fail;
    if (guarded) {
        rc = pm__history_mark_applied(db, m->name, (int64_t)time(NULL), m->checksum, elapsed, err);
    } else if (applying) {
        pm_history_row row = applied_row(m, "applied", *order, elapsed);
        rc = pm__history_insert(db, &row, err);
    } else {
        rc = pm__history_delete(db, m->name, err);
    }
    if (rc == 0)
        rc = pm__db_commit(db, err);
    elapsed = pm__now_ms() - started; /* a batching driver did the work at commit */
    if (rc < 0)
        goto fail;
    *order += applying;
    pm_engine__report(e, applying ? PM_EVENT_APPLIED : PM_EVENT_REVERTED, m->name, elapsed);
    return 0;
fail:
    pm__sql_locate(m, applying, pm__db_backend(db)->name, err);
    pm__error_set_migration(err, m->name);
    pm__db_rollback(db, err);
    if (guarded)
        forget_started(e, m);
    if (will_retry(e, rc, err))
        return rc; /* reported by run_with_retries() */
    if (!(pm__db_flags(db) & PM_CONN_TRANSACTIONAL_DDL) && err && !err->hint)
        pm_error_set_detail(err, NULL,
                            applying ? "this database commits DDL implicitly, so statements of "
                                       "this migration before the failing one may have been "
                                       "applied and were not rolled back; no history row was "
                                       "written. Check them, undo them by hand, then run up again"
                                     : "this database commits DDL implicitly, so statements of "
                                       "down() before the failing one may have been applied; the "
                                       "history row stays. Check them, finish or undo them by "
                                       "hand, then run down again");
    pm_engine__report(e, PM_EVENT_FAILED, m->name, elapsed);
    return interrupted(e, rc, STOP_IN_TRANSACTION, m, applying, err);
}

/* Records m as failed, keeping err (the failure) as it is. */
static void record_failure(pm_engine *e, const pm_migration *m, const char *prefix, pm_error *err)
{
    pm_error ignored = PM_ERROR_INIT;
    char *message = pm__format("%s%s", prefix, err && err->message ? err->message : "failed");
    int rc = pm__db_begin(e->db, &ignored);
    if (rc == 0)
        rc =
            pm__history_mark_failed(e->db, m->name, message, err ? err->statement : NULL, &ignored);
    bookkeeping(e->db, rc, &ignored);
    free(message);
    pm_error_clear(&ignored);
}

/* After a migration without a transaction ran to its end and its history
 * change failed: its work is in the database (or, for down(), gone) but the
 * history does not say so. err says exactly that, keeping the real cause,
 * and the row is marked failed with it, for `repair`. */
static int recording_failed(pm_engine *e, const pm_migration *m, bool applying, int rc,
                            pm_error *err)
{
    char *cause = pm__strdup(err && err->message ? err->message : pm_strerror(rc));
    if (applying)
        pm_error_set(err, rc,
                     "%s: its statements ran and succeeded, but recording it in the history "
                     "failed: %s; the database has its changes; record it with poblysh migrate "
                     "repair --applied %s",
                     m->name, cause ? cause : "out of memory", m->name);
    else
        pm_error_set(err, rc,
                     "%s: its down() ran and succeeded, but removing it from the history "
                     "failed: %s; the database no longer has its changes; record that with "
                     "poblysh migrate repair --rollback %s",
                     m->name, cause ? cause : "out of memory", m->name);
    free(cause);
    pm__error_set_migration(err, m->name);
    record_failure(e, m, "", err);
    pm_engine__report(e, PM_EVENT_FAILED, m->name, 0);
    return rc;
}

/* A migration that cannot run in a transaction: its row is written as
 * "started" first, in a transaction of its own, so a failure, a crash or
 * kill -9 leaves a trace that status reports as failed. */
static int run_without_transaction(pm_engine *e, const pm_migration *m, bool applying,
                                   bool *skipped, int64_t *order, pm_error *err)
{
    pm_db *db = e->db;
    int64_t elapsed = 0;
    *skipped = false;
    int rc = 0;
    if (applying) {
        rc = record_started(e, m, skipped, order, err);
        if (rc < 0 || *skipped)
            return rc;
        *order += 1;
    }
    rc = pm__db_timeouts_begin(db, false, e->no_tx_lock_timeout_ms, e->statement_timeout_ms, err);
    if (rc == 0)
        rc = call_migration(e, m, applying, &elapsed, err);
    pm_error ignored = PM_ERROR_INIT; /* the session is put back whatever happened */
    int restore_rc = pm__db_timeouts_end(db, rc < 0 ? &ignored : err);
    if (restore_rc == 0)
        restore_rc = pm__db_restore_session(db, rc < 0 ? &ignored : err);
    pm_error_clear(&ignored);
    if (rc < 0) {
        pm__sql_locate(m, applying, pm__db_backend(db)->name, err);
        pm__error_set_migration(err, m->name);
        record_failure(e, m, applying ? "" : "down() failed: ", err);
        pm_engine__report(e, PM_EVENT_FAILED, m->name, elapsed);
        rc = interrupted(e, rc, STOP_NO_TRANSACTION, m, applying, err);
        pm_error_set_detail(err, NULL,
                            "it runs without a transaction, so its work may be partly done; it is "
                            "marked failed until that work is finished or undone by hand and the "
                            "history repaired");
        return rc;
    }
    rc = restore_rc;
    if (rc == 0)
        rc = pm__db_begin(db, err);
    if (rc == 0)
        rc = applying ? pm__history_mark_applied(db, m->name, (int64_t)time(NULL), m->checksum,
                                                 elapsed, err)
                      : pm__history_delete(db, m->name, err);
    rc = bookkeeping(db, rc, err);
    if (rc < 0)
        return recording_failed(e, m, applying, rc, err);
    pm_engine__report(e, applying ? PM_EVENT_APPLIED : PM_EVENT_REVERTED, m->name, elapsed);
    return 0;
}

/* ==== Retrying after a lock timeout ==== */

/* The pause before retry number n (from 1): 1 s, 2 s, 4 s, ... capped. */
static int retry_pause_ms(int n)
{
    long ms = 1000L << (n - 1 < 15 ? n - 1 : 15);
    return ms > PM_MAX_RETRY_PAUSE_MS ? PM_MAX_RETRY_PAUSE_MS : (int)ms;
}

/* Sleeps ms, in short steps so that pm_db_interrupt() ends it soon. */
static void pause_interruptibly(pm_engine *e, int ms)
{
    int64_t until = pm__now_ms() + ms;
    for (int64_t left = ms; left > 0 && !pm_db_interrupted(e->db); left = until - pm__now_ms()) {
        long step = left < 100 ? (long)left : 100;
        struct timespec ts = {0, step * 1000000L};
        nanosleep(&ts, NULL);
    }
}

static void report_retry(const pm_engine *e, const pm_migration *m, int retry, int pause_ms,
                         const pm_error *err)
{
    if (!e->progress)
        return;
    pm_event ev = {PM_EVENT_RETRYING,           m->name, pause_ms, retry, e->ddl_retries,
                   err ? err->statement : NULL, 0,       0};
    e->progress(&ev, e->progress_ctx);
}

/* A transactional migration, run again while a statement of it waits
 * longer than the lock timeout: each time it is rolled back whole, so
 * running it again is safe. Once the retries are used up the lock timeout
 * is the failure, with a hint saying how often it was tried. */
static int run_with_retries(pm_engine *e, const pm_migration *m, bool applying, bool *skipped,
                            int64_t *order, pm_error *err)
{
    for (e->attempt = 1;; e->attempt++) {
        int rc = run_in_transaction(e, m, applying, skipped, order, err);
        if (rc == 0 || !will_retry(e, rc, err)) {
            if (rc == PM_EDB && e->attempt > 1 && pm__db_lock_timed_out(e->db, err))
                pm_error_set_detail(err, NULL,
                                    "another session held a lock it needs for longer than the "
                                    "lock timeout on every attempt; it was rolled back each time "
                                    "and nothing of it was applied. Find the session holding the "
                                    "lock, or raise --ddl-lock-timeout or --ddl-retries");
            return rc;
        }
        int pause = retry_pause_ms(e->attempt);
        report_retry(e, m, e->attempt, pause, err);
        pm_error_clear(err);
        pause_interruptibly(e, pause);
        if (pm_db_interrupted(e->db)) /* it was rolled back before the pause */
            return interrupted(e, PM_EINTERRUPTED, STOP_IN_TRANSACTION, m, applying, err);
    }
}

int pm_engine__run_one(pm_engine *e, const pm_migration *m, bool applying, bool *skipped,
                       int64_t *order, pm_error *err)
{
    int rc = interrupted(e, 0, STOP_BETWEEN, m, applying, err);
    if (rc < 0)
        return rc;
    pm__db_record_migration(e->db, m->name);
    if (m->options & PM_MIGRATION_NO_TRANSACTION)
        rc = run_without_transaction(e, m, applying, skipped, order, err);
    else
        rc = run_with_retries(e, m, applying, skipped, order, err);
    pm__db_record_migration(e->db, NULL);
    return rc;
}

/* ==== Sessions: lock, history, job, unlock ==== */

/* Takes the lock, makes sure the history table exists and reads it. The
 * history is read after the lock, so a runner that waited sees what the
 * previous one applied. On failure nothing is held. */
static int begin_session(pm_engine *e, pm_history *h, pm_error *err)
{
    h->rows = NULL;
    h->count = 0;
    if (e->dry_run)
        pm__db_record(e->db, e->dry_run, e->dry_run_ctx);
    int rc = pm__db_lock(e->db, e->lock_timeout_ms, err);
    if (rc < 0)
        return rc;
    /* Before any migration can change the session: history statements name it. */
    rc = pm__db_pin_schema(e->db, err);
    /* Before the history table is made: another tool's history is adopted first. */
    if (rc == 0)
        rc = pm_engine__refuse_foreign(e, err);
    if (rc == 0)
        rc = pm__history_ensure(e->db, err);
    if (rc == 0) /* before the read: a commit between the two only costs a re-read */
        rc = data_version(e, &e->history_version, err);
    if (rc == 0)
        rc = pm__history_read(e->db, h, err);
    if (rc < 0) {
        pm__db_unpin_schema(e->db);
        pm__db_unlock(e->db, err);
        pm__db_record(e->db, NULL, NULL);
    }
    return rc < 0 ? interrupted(e, rc, STOP_BEFORE_SESSION, NULL, true, err) : 0;
}

/* Frees the history and releases the lock; returns rc, or the unlock's
 * failure when everything else succeeded. */
static int end_session(pm_engine *e, pm_history *h, int rc, pm_error *err)
{
    pm__history_free(h);
    pm__db_unpin_schema(e->db);
    pm__db_record(e->db, NULL, NULL);
    int unlock_rc = pm__db_unlock(e->db, err);
    return rc < 0 ? rc : unlock_rc;
}

int pm_engine__session(pm_engine *e, pm_engine__job_fn job, void *ctx, pm_error *err)
{
    pm_history h;
    int rc = begin_session(e, &h, err);
    return rc < 0 ? rc : end_session(e, &h, job(e, &h, ctx, err), err);
}

/* ==== up ==== */

/* What up and down were asked for (at most limit) and did (done). */
typedef struct limit_job {
    size_t limit;
    size_t done;
} limit_job;

static int64_t max_order(const pm_history *h)
{
    int64_t max = 0;
    for (size_t i = 0; i < h->count; i++)
        max = h->rows[i].apply_order > max ? h->rows[i].apply_order : max;
    return max;
}

/* The first row of h that a live runner is applying, or NULL. A runner on
 * another host cannot be asked whether it is alive, so its row counts as
 * live (and is waited for up to the lock timeout). */
static const pm_history_row *running_row(const pm_history *h)
{
    for (size_t i = 0; i < h->count; i++)
        if (pm_engine__row_running(&h->rows[i]) || pm_engine__row_elsewhere(&h->rows[i]))
            return &h->rows[i];
    return NULL;
}

/* Where begin() is the only lock (SQLite; PostgreSQL's lock per
 * transaction), a migration that runs without a
 * transaction is applied outside any lock, so the session may find its
 * "started" row while its runner is still at work: that is not a failure.
 * Waits, re-reading the history into *fresh (*reread set), until no live
 * runner's row is left, for at most the lock timeout. A row whose runner
 * is gone stays "started" and is reported as failed. */
static int wait_for_runners(pm_engine *e, const pm_history *h, pm_history *fresh, bool *reread,
                            pm_error *err)
{
    *reread = false;
    if (!(pm__db_flags(e->db) & PM_CONN_BEGIN_EXCLUDES) || pm__db_recording(e->db))
        return 0;
    int64_t deadline = pm__now_ms() + e->lock_timeout_ms;
    const pm_history_row *row = running_row(h);
    while (row) {
        if (pm_db_interrupted(e->db))
            return interrupted(e, PM_EINTERRUPTED, STOP_BEFORE_SESSION, NULL, true, err);
        if (pm__now_ms() >= deadline)
            return pm_error_set(err, PM_ELOCKED,
                                "%s is still being applied by another runner (%s) after %d s",
                                row->version, row->error_message, e->lock_timeout_ms / 1000);
        pause_ms(PM_RUNNER_POLL_MS);
        if (*reread)
            pm__history_free(fresh);
        *reread = false;
        int rc = data_version(e, &e->history_version, err);
        if (rc == 0)
            rc = pm__history_read(e->db, fresh, err);
        if (rc < 0)
            return rc;
        *reread = true;
        row = running_row(fresh);
    }
    return 0;
}

/* How many of entries up will run: the pending ones, at most limit. */
static size_t count_to_apply(const pm_status_entry *entries, size_t n, size_t limit)
{
    size_t total = 0;
    for (size_t i = 0; i < n && total < limit; i++)
        if (entries[i].state == PM_STATE_PENDING || entries[i].state == PM_STATE_OUT_OF_ORDER)
            total++;
    return total;
}

/* Applies what is pending in h, once the history allows it. */
static int apply_to(pm_engine *e, const pm_history *h, void *ctx, pm_error *err)
{
    limit_job *job = ctx;
    pm_status_entry *entries = calloc(e->count + h->count + 1, sizeof(*entries));
    if (!entries)
        return pm_error_set(err, PM_ENOMEM, "out of memory");
    size_t n = pm_engine__classify(e, h, entries);
    int rc = pm_engine__check_history(e, entries, n, err);
    int64_t order = max_order(h) + 1;
    const pm_migration *last = NULL;
    e->run_total = count_to_apply(entries, n, job->limit);
    e->run_position = 0;
    for (size_t i = 0; rc == 0 && i < n && job->done < job->limit; i++) {
        if (entries[i].state != PM_STATE_PENDING && entries[i].state != PM_STATE_OUT_OF_ORDER)
            continue;
        const pm_migration *m = pm_engine__find(e, entries[i].name);
        bool skipped = false;
        e->run_position++;
        rc = pm_engine__run_one(e, m, true, &skipped, &order, err);
        if (rc == 0 && skipped)
            pm_engine__report(e, PM_EVENT_SKIPPED, m->name, 0);
        else if (rc == 0) {
            job->done++;
            last = m;
        }
        if (rc == 0)
            rc = interrupted_after(e, last, true, err);
    }
    free(entries);
    e->run_total = e->run_position = 0;
    return rc == 0 ? interrupted_after(e, last, true, err) : rc;
}

static int apply_pending(pm_engine *e, const pm_history *session_history, void *ctx, pm_error *err)
{
    pm_history fresh = {NULL, 0};
    bool reread = false;
    int rc = wait_for_runners(e, session_history, &fresh, &reread, err);
    if (rc == 0)
        rc = apply_to(e, reread ? &fresh : session_history, ctx, err);
    if (reread)
        pm__history_free(&fresh);
    return rc;
}

int pm_engine_up(pm_engine *e, size_t max, size_t *applied, pm_error *err)
{
    pm_error_clear(err);
    limit_job job = {max, 0};
    int rc = pm_engine__session(e, apply_pending, &job, err);
    if (applied)
        *applied = job.done;
    return rc;
}

/* ==== down ==== */

/* Last applied first: rows SeaORM wrote (no apply_order) are older than
 * ours; among equals, applied_at, then version. */
static int last_applied_first(const void *a, const void *b)
{
    const pm_history_row *x = *(const pm_history_row *const *)a;
    const pm_history_row *y = *(const pm_history_row *const *)b;
    if (x->apply_order != y->apply_order)
        return x->apply_order < y->apply_order ? 1 : -1;
    if (x->applied_at != y->applied_at)
        return x->applied_at < y->applied_at ? 1 : -1;
    return -pm_migration_name_cmp(x->version, y->version);
}

/* Picks the n migrations to revert, checking every one is known and not
 * failed before any runs, so a problem stops the command before it changes
 * anything. */
static int plan_down(pm_engine *e, const pm_history *h, size_t n, const pm_migration ***out,
                     size_t *count, pm_error *err)
{
    *out = NULL;
    *count = 0;
    if (n > h->count)
        n = h->count;
    if (n == 0)
        return 0;
    const pm_history_row **order = malloc(h->count * sizeof(*order));
    const pm_migration **plan = malloc(n * sizeof(*plan));
    if (!order || !plan) {
        free(order);
        free(plan);
        return pm_error_set(err, PM_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < h->count; i++)
        order[i] = &h->rows[i];
    qsort(order, h->count, sizeof(*order), last_applied_first);
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        plan[i] = pm_engine__find(e, order[i]->version);
        if (!plan[i])
            rc = pm_error_set(err, PM_ENOTFOUND,
                              "cannot revert %s: it is recorded as applied but is not in this "
                              "migration set (was it removed, or is this build older than the "
                              "database?); nothing was reverted",
                              order[i]->version);
        else if (pm_engine__row_failed(order[i]))
            rc = pm_error_set(err, PM_EFAILED,
                              "cannot revert %s: it is marked failed; nothing was reverted",
                              order[i]->version);
        if (rc < 0)
            pm__error_set_migration(err, order[i]->version);
    }
    free(order);
    if (rc < 0) {
        free(plan);
        return rc;
    }
    *out = plan;
    *count = n;
    return 0;
}

static int revert_last(pm_engine *e, const pm_history *h, void *ctx, pm_error *err)
{
    limit_job *job = ctx;
    const pm_migration **plan = NULL;
    size_t count = 0;
    int64_t order = 0;
    int rc = plan_down(e, h, job->limit, &plan, &count, err);
    const pm_migration *last = NULL;
    e->run_total = count;
    for (size_t i = 0; rc == 0 && i < count; i++) {
        bool skipped = false;
        e->run_position = i + 1;
        rc = pm_engine__run_one(e, plan[i], false, &skipped, &order, err);
        if (rc == 0 && skipped)
            pm_engine__report(e, PM_EVENT_SKIPPED, plan[i]->name, 0);
        else if (rc == 0) {
            job->done++;
            last = plan[i];
        }
        if (rc == 0)
            rc = interrupted_after(e, last, false, err);
    }
    free(plan);
    e->run_total = e->run_position = 0;
    return rc == 0 ? interrupted_after(e, last, false, err) : rc;
}

int pm_engine_down(pm_engine *e, size_t n, size_t *reverted, pm_error *err)
{
    pm_error_clear(err);
    limit_job job = {n, 0};
    int rc = pm_engine__session(e, revert_last, &job, err);
    if (reverted)
        *reverted = job.done;
    return rc;
}

/* ==== repair ==== */

typedef struct repair_job {
    pm_repair action;
    const char *name;
} repair_job;

/* Whether action may edit row (of m, NULL when not in this build). */
static int check_repair(pm_repair action, const char *name, const pm_history_row *row,
                        const pm_migration *m, pm_error *err)
{
    if (!row)
        return pm_error_set(err, PM_ENOTFOUND, "%s has no history row: nothing to repair", name);
    bool failed = pm_engine__row_failed(row);
    switch (action) {
    case PM_REPAIR_ACCEPT:
        if (failed)
            return pm_error_set(err, PM_EFAILED,
                                "%s is marked failed: its checksum cannot be accepted until the "
                                "failure is cleared",
                                name);
        if (!m || !m->checksum)
            return pm_error_set(err, PM_ENOTFOUND,
                                "%s is not in this build (or has no checksum): there is no "
                                "checksum to accept",
                                name);
        return 0;
    case PM_REPAIR_APPLIED:
    case PM_REPAIR_ROLLBACK:
        if (!failed)
            return pm_error_set(err, PM_EINVAL,
                                "%s is not marked failed: there is no failure to "
                                "clear",
                                name);
        return 0;
    default: return pm_error_set(err, PM_EINVAL, "unknown repair action %d", (int)action);
    }
}

static int repair_row(pm_engine *e, const pm_history *h, void *ctx, pm_error *err)
{
    const repair_job *job = ctx;
    const char *name = job->name;
    const pm_history_row *row = pm__history_find(h, name);
    const pm_migration *m = pm_engine__find(e, name);
    int rc = check_repair(job->action, name, row, m, err);
    if (rc < 0)
        return rc;
    rc = pm__db_begin(e->db, err);
    if (rc == 0 && job->action == PM_REPAIR_ACCEPT)
        rc = pm__history_set_checksum(e->db, name, m->checksum, err);
    else if (rc == 0 && job->action == PM_REPAIR_APPLIED)
        rc = pm__history_mark_applied(e->db, name, row->applied_at, m ? m->checksum : row->checksum,
                                      row->execution_ms, err);
    else if (rc == 0)
        rc = pm__history_delete(e->db, name, err);
    return bookkeeping(e->db, rc, err);
}

int pm_engine_repair(pm_engine *e, pm_repair action, const char *name, pm_error *err)
{
    pm_error_clear(err);
    if (!name || !*name)
        return pm_error_set(err, PM_EINVAL, "repair needs the name of a migration");
    repair_job job = {action, name};
    return pm_engine__session(e, repair_row, &job, err);
}
