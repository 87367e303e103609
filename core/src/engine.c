/* engine.c: the migration engine. It compares a migration set with the
 * history table, classifies every migration (applied, pending, modified,
 * missing, out-of-order, failed), refuses to make a drifted history worse,
 * and applies, reverts, repairs or reports under the driver's migration
 * lock: each migration with its history row in one transaction, or, for a
 * migration that cannot run in one, with a "started" row written first. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

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
     * the history, or -1 (see recheck_history). */
    int64_t history_version;
};

#define PM_DEFAULT_LOCK_TIMEOUT_S 60

int pm_engine_new(pm_engine **out, pm_db *db, const pm_migration *const *set, size_t count,
                  const pm_engine_options *opts, pm_error *err)
{
    *out = NULL;
    if (!db)
        return pm_error_set(err, PM_EINVAL, "pm_engine_new: db is NULL");
    if (opts && opts->version != PM_ENGINE_OPTIONS_VERSION)
        return pm_error_set(err, PM_EINVAL, "pm_engine_options version %u is unknown (expected %d)",
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
    *out = e;
    return 0;
}

void pm_engine_free(pm_engine *engine)
{
    free(engine);
}

static void report(const pm_engine *e, pm_event_kind kind, const char *migration, int64_t ms)
{
    if (e->progress) {
        pm_event ev = {kind, migration, ms};
        e->progress(&ev, e->progress_ctx);
    }
}

/* ==== Running one migration ==== */

/* ==== Classification ==== */

static const char *const state_names[PM_STATE__COUNT] = {
    "applied", "pending", "modified", "missing", "out-of-order", "failed",
};

const char *pm_state_name(pm_state state)
{
    return (unsigned)state < PM_STATE__COUNT ? state_names[state] : "?";
}

#define PM_NEVER_FINISHED                                                                          \
    "it was started and never finished: the process running it stopped (a crash, kill -9, a "     \
    "lost connection) before it completed, so its work may be partly done"

static bool row_failed(const pm_history_row *row)
{
    return row->state && (strcmp(row->state, "failed") == 0 || strcmp(row->state, "started") == 0);
}

static void classify_applied(pm_status_entry *entry, const pm_migration *m, const pm_history_row *row)
{
    entry->applied_at = row->applied_at;
    entry->checksum = row->checksum;
    entry->execution_ms = row->execution_ms;
    if (row_failed(row)) {
        entry->state = PM_STATE_FAILED;
        bool started = strcmp(row->state, "started") == 0;
        entry->error = started ? PM_NEVER_FINISHED : row->error_message;
        entry->statement = row->error_statement;
    } else if (m && row->checksum && m->checksum && strcmp(row->checksum, m->checksum) != 0) {
        entry->state = PM_STATE_MODIFIED;
    } else {
        entry->state = m ? PM_STATE_APPLIED : PM_STATE_MISSING;
    }
}

/* Merges the sorted set with the sorted history into entries (room for
 * count + h->count). */
static size_t classify(const pm_engine *e, const pm_history *h, pm_status_entry *entries)
{
    const char *newest = h->count ? h->rows[h->count - 1].version : NULL;
    size_t i = 0, j = 0, n = 0;
    while (i < e->count || j < h->count) {
        int cmp = i == e->count ? 1 : j == h->count ? -1 : pm_migration_name_cmp(e->set[i]->name, h->rows[j].version);
        pm_status_entry *entry = &entries[n++];
        memset(entry, 0, sizeof(*entry));
        entry->execution_ms = -1;
        if (cmp < 0) {
            const pm_migration *m = e->set[i++];
            entry->name = m->name;
            entry->expected = m->checksum;
            entry->state = newest && pm_migration_name_cmp(m->name, newest) < 0 ? PM_STATE_OUT_OF_ORDER
                                                                 : PM_STATE_PENDING;
        } else if (cmp == 0) {
            const pm_migration *m = e->set[i++];
            entry->name = m->name;
            entry->expected = m->checksum;
            classify_applied(entry, m, &h->rows[j++]);
        } else {
            entry->name = h->rows[j].version;
            classify_applied(entry, NULL, &h->rows[j++]);
            if (entry->state != PM_STATE_FAILED)
                entry->state = PM_STATE_MISSING;
        }
    }
    return n;
}

/* ==== Refusals ==== */

/* Appends "name, name" of the entries in state to b; returns how many. */
static size_t list_state(pm_buf *b, const pm_status_entry *entries, size_t n, pm_state state)
{
    size_t found = 0;
    for (size_t i = 0; i < n; i++)
        if (entries[i].state == state)
            pm_buf_printf(b, "%s%s", found++ ? ", " : "", entries[i].name);
    return found;
}

/* Refuses up() while the history needs attention the flags do not excuse.
 * The message lists every problem and what to do about each. */
static int check_history(const pm_engine *e, const pm_status_entry *entries, size_t n, pm_error *err)
{
    pm_buf msg = PM_BUF_INIT, names = PM_BUF_INIT;
    int code = 0;
    if (list_state(&names, entries, n, PM_STATE_FAILED)) {
        pm_buf_printf(&msg, "failed: %s; finish or undo its work by hand, then run `poblysh "
                            "migrate repair --applied NAME` (finished) or `--rollback NAME` "
                            "(undone). ",
                      pm_buf_cstr(&names));
        code = PM_EFAILED;
    }
    pm_buf_free(&names);
    if (!(e->flags & PM_ENGINE_IGNORE_MODIFIED)) {
        for (size_t i = 0; i < n; i++) {
            if (entries[i].state != PM_STATE_MODIFIED)
                continue;
            pm_buf_printf(&msg, "modified since applied: %s (recorded %s, now %s); if the edit is "
                                "intended run `poblysh migrate repair --accept %s`, or pass "
                                "--ignore-modified. ",
                          entries[i].name, entries[i].checksum, entries[i].expected,
                          entries[i].name);
            code = code ? code : PM_ECHECKSUM;
        }
    }
    if (!(e->flags & PM_ENGINE_ALLOW_MISSING) && list_state(&names, entries, n, PM_STATE_MISSING)) {
        pm_buf_printf(&msg, "missing (applied in the database, not in this build): %s; run the "
                            "build that has them, or pass --allow-missing. ",
                      pm_buf_cstr(&names));
        code = code ? code : PM_EDRIFT;
    }
    pm_buf_free(&names);
    if (!(e->flags & PM_ENGINE_ALLOW_OUT_OF_ORDER) &&
        list_state(&names, entries, n, PM_STATE_OUT_OF_ORDER)) {
        pm_buf_printf(&msg, "out of order (pending, but older than the newest applied "
                            "migration): %s; pass --allow-out-of-order to apply them. ",
                      pm_buf_cstr(&names));
        code = code ? code : PM_EDRIFT;
    }
    pm_buf_free(&names);
    if (code) {
        if (msg.len)
            msg.ptr[--msg.len] = '\0'; /* the trailing space */
        pm_error_set(err, code, "nothing was applied: %s", msg.oom ? "(out of memory)" : pm_buf_cstr(&msg));
    }
    pm_buf_free(&msg);
    return code;
}

/* ==== Running one migration ==== */

/* Turns the failure of a cancelled statement into PM_EINTERRUPTED, keeping
 * the statement that was running. */
static int interrupted(pm_db *db, pm_error *err, const char *migration, const char *direction)
{
    char *statement = err && err->statement ? pm__strdup(err->statement) : NULL;
    char *hint = err && err->hint ? pm__strdup(err->hint) : NULL;
    if (pm__db_flags(db) & PM_CONN_TRANSACTIONAL_DDL)
        pm_error_set(err, PM_EINTERRUPTED,
                     "interrupted during %s() of %s: it was rolled back and nothing of it was "
                     "applied",
                     direction, migration);
    else /* the hint says what may have been applied */
        pm_error_set(err, PM_EINTERRUPTED, "interrupted during %s() of %s", direction, migration);
    pm_error_set_db(err, NULL, statement);
    pm_error_set_detail(err, NULL, hint);
    free(hint);
    pm__error_set_migration(err, migration);
    free(statement);
    return PM_EINTERRUPTED;
}

/* Stops a run between migrations once pm_db_interrupt() was called. */
static int check_interrupt(pm_engine *e, pm_error *err)
{
    if (!pm_db_interrupted(e->db))
        return 0;
    return pm_error_set(err, PM_EINTERRUPTED, "interrupted: no further migration was started");
}

/* Calls up() or down(), timing it; a failure that did not go through
 * pm_schema still gets a message. */
static int call_migration(pm_engine *e, const pm_migration *m, bool applying, int64_t *elapsed,
                          pm_error *err)
{
    const char *direction = applying ? "up" : "down";
    report(e, applying ? PM_EVENT_APPLYING : PM_EVENT_REVERTING, m->name, 0);
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
    rc = pm__history_contains(e->db, m->name, present, err);
    if (rc == 0 && applying) {
        rc = pm__history_max_order(e->db, order, err);
        *order += 1;
    }
    return rc;
}

static pm_history_row applied_row(const pm_migration *m, const char *state, int64_t order,
                                  int64_t execution_ms)
{
    pm_history_row row = {(char *)m->name, (int64_t)time(NULL), (char *)m->checksum, execution_ms,
                          (char *)state, NULL, NULL, order};
    return row;
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
    *skipped = false;
    int rc = pm__db_begin(db, err);
    if (rc < 0) {
        pm__error_set_migration(err, m->name);
        return rc;
    }
    /* Others may have run meanwhile (not checked in a dry run: nothing
     * was written, so there may be no history table to look in). */
    if ((pm__db_flags(db) & PM_CONN_BEGIN_EXCLUDES) && !pm__db_recording(db)) {
        bool present = !applying;
        rc = recheck_history(e, m, applying, &present, order, err);
        if (rc < 0)
            goto fail;
        if (present == applying) {
            pm__db_rollback(db, err);
            *skipped = true;
            return 0;
        }
    }
    rc = call_migration(e, m, applying, &elapsed, err);
    if (rc < 0)
        goto fail;
    if (applying) {
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
    report(e, applying ? PM_EVENT_APPLIED : PM_EVENT_REVERTED, m->name, elapsed);
    return 0;
fail:
    pm__error_set_migration(err, m->name);
    pm__db_rollback(db, err);
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
    report(e, PM_EVENT_FAILED, m->name, elapsed);
    return pm_db_interrupted(db) ? interrupted(db, err, m->name, applying ? "up" : "down") : rc;
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

/* Records m as failed, keeping err (the failure) as it is. */
static void record_failure(pm_engine *e, const pm_migration *m, const char *prefix, pm_error *err)
{
    pm_error ignored = PM_ERROR_INIT;
    char *message = pm__format("%s%s", prefix, err && err->message ? err->message : "failed");
    int rc = pm__db_begin(e->db, &ignored);
    if (rc == 0)
        rc = pm__history_mark_failed(e->db, m->name, message, err ? err->statement : NULL, &ignored);
    bookkeeping(e->db, rc, &ignored);
    free(message);
    pm_error_clear(&ignored);
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
        rc = pm__db_begin(db, err);
        if (rc == 0 && (pm__db_flags(db) & PM_CONN_BEGIN_EXCLUDES) && !pm__db_recording(db)) {
            bool present = false;
            rc = recheck_history(e, m, true, &present, order, err);
            if (rc == 0 && present) {
                pm__db_rollback(db, err);
                *skipped = true;
                return 0;
            }
        }
        pm_history_row row = applied_row(m, "started", *order, -1);
        if (rc == 0)
            rc = pm__history_insert(db, &row, err);
        rc = bookkeeping(db, rc, err);
        if (rc < 0) {
            pm__error_set_migration(err, m->name);
            return rc;
        }
        *order += 1;
    }
    rc = call_migration(e, m, applying, &elapsed, err);
    if (rc < 0) {
        pm__error_set_migration(err, m->name);
        record_failure(e, m, applying ? "" : "down() failed: ", err);
        report(e, PM_EVENT_FAILED, m->name, elapsed);
        if (pm_db_interrupted(db)) {
            char *statement = err && err->statement ? pm__strdup(err->statement) : NULL;
            rc = pm_error_set(err, PM_EINTERRUPTED, "interrupted during %s() of %s",
                              applying ? "up" : "down", m->name);
            pm_error_set_db(err, NULL, statement);
            pm__error_set_migration(err, m->name);
            free(statement);
        }
        pm_error_set_detail(err, NULL,
                            "it runs without a transaction, so its work may be partly done; it is "
                            "marked failed: see `poblysh migrate status`, then `poblysh migrate "
                            "repair --applied` or `--rollback` once the database is right");
        return rc;
    }
    rc = pm__db_begin(db, err);
    if (rc == 0)
        rc = applying ? pm__history_mark_applied(db, m->name, (int64_t)time(NULL), m->checksum,
                                                 elapsed, err)
                      : pm__history_delete(db, m->name, err);
    rc = bookkeeping(db, rc, err);
    if (rc < 0) {
        pm__error_set_migration(err, m->name);
        return rc;
    }
    report(e, applying ? PM_EVENT_APPLIED : PM_EVENT_REVERTED, m->name, elapsed);
    return 0;
}

static int run_one(pm_engine *e, const pm_migration *m, bool applying, bool *skipped,
                   int64_t *order, pm_error *err)
{
    int rc = check_interrupt(e, err);
    if (rc < 0)
        return rc;
    pm__db_record_migration(e->db, m->name);
    if (m->options & PM_MIGRATION_NO_TRANSACTION)
        rc = run_without_transaction(e, m, applying, skipped, order, err);
    else
        rc = run_in_transaction(e, m, applying, skipped, order, err);
    pm__db_record_migration(e->db, NULL);
    return rc;
}

/* ==== Sessions: lock, history, work, unlock ==== */

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
    rc = pm__history_ensure(e->db, err);
    if (rc == 0) /* before the read: a commit between the two only costs a re-read */
        rc = data_version(e, &e->history_version, err);
    if (rc == 0)
        rc = pm__history_read(e->db, h, err);
    if (rc < 0) {
        pm__db_unlock(e->db, err);
        pm__db_record(e->db, NULL, NULL);
    }
    if (rc < 0 && pm_db_interrupted(e->db))
        rc = pm_error_set(err, PM_EINTERRUPTED, "interrupted before any migration was started");
    return rc;
}

/* Frees the history and releases the lock; returns rc, or the unlock's
 * failure when everything else succeeded. */
static int end_session(pm_engine *e, pm_history *h, int rc, pm_error *err)
{
    pm__history_free(h);
    pm__db_record(e->db, NULL, NULL);
    int unlock_rc = pm__db_unlock(e->db, err);
    return rc < 0 ? rc : unlock_rc;
}

static int64_t max_order(const pm_history *h)
{
    int64_t max = 0;
    for (size_t i = 0; i < h->count; i++)
        max = h->rows[i].apply_order > max ? h->rows[i].apply_order : max;
    return max;
}

/* The migration of the set named name, or NULL (the set is sorted). */
static const pm_migration *find_migration(const pm_engine *e, const char *name)
{
    size_t lo = 0, hi = e->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int cmp = pm_migration_name_cmp(e->set[mid]->name, name);
        if (cmp == 0)
            return e->set[mid];
        if (cmp < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

static int apply_pending(pm_engine *e, const pm_history *h, size_t max, size_t *done, pm_error *err)
{
    pm_status_entry *entries = calloc(e->count + h->count + 1, sizeof(*entries));
    if (!entries)
        return pm_error_set(err, PM_ENOMEM, "out of memory");
    size_t n = classify(e, h, entries);
    int rc = check_history(e, entries, n, err);
    int64_t order = max_order(h) + 1;
    for (size_t i = 0; rc == 0 && i < n && *done < max; i++) {
        if (entries[i].state != PM_STATE_PENDING && entries[i].state != PM_STATE_OUT_OF_ORDER)
            continue;
        const pm_migration *m = find_migration(e, entries[i].name);
        bool skipped = false;
        rc = run_one(e, m, true, &skipped, &order, err);
        if (rc == 0 && skipped)
            report(e, PM_EVENT_SKIPPED, m->name, 0);
        else if (rc == 0)
            (*done)++;
    }
    free(entries);
    return rc;
}

int pm_engine_up(pm_engine *e, size_t max, size_t *applied, pm_error *err)
{
    pm_error_clear(err);
    size_t done = 0;
    pm_history h;
    int rc = begin_session(e, &h, err);
    if (rc == 0)
        rc = end_session(e, &h, apply_pending(e, &h, max, &done, err), err);
    if (applied)
        *applied = done;
    return rc;
}

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
        plan[i] = find_migration(e, order[i]->version);
        if (!plan[i])
            rc = pm_error_set(err, PM_ENOTFOUND,
                              "cannot revert %s: it is recorded as applied but is not in this "
                              "migration set (was it removed, or is this build older than the "
                              "database?); nothing was reverted",
                              order[i]->version);
        else if (row_failed(order[i]))
            rc = pm_error_set(err, PM_EFAILED,
                              "cannot revert %s: it is marked failed; clear it first with "
                              "`poblysh migrate repair --applied %s` or `--rollback %s`; nothing "
                              "was reverted",
                              order[i]->version, order[i]->version, order[i]->version);
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

static int revert_last(pm_engine *e, const pm_history *h, size_t n, size_t *done, pm_error *err)
{
    const pm_migration **plan = NULL;
    size_t count = 0;
    int64_t order = 0;
    int rc = plan_down(e, h, n, &plan, &count, err);
    for (size_t i = 0; rc == 0 && i < count; i++) {
        bool skipped = false;
        rc = run_one(e, plan[i], false, &skipped, &order, err);
        if (rc == 0 && skipped)
            report(e, PM_EVENT_SKIPPED, plan[i]->name, 0);
        else if (rc == 0)
            (*done)++;
    }
    free(plan);
    return rc;
}

int pm_engine_down(pm_engine *e, size_t n, size_t *reverted, pm_error *err)
{
    pm_error_clear(err);
    size_t done = 0;
    pm_history h;
    int rc = begin_session(e, &h, err);
    if (rc == 0)
        rc = end_session(e, &h, revert_last(e, &h, n, &done, err), err);
    if (reverted)
        *reverted = done;
    return rc;
}

/* ==== fresh, reset, refresh ==== */

static int drop_kind(pm_engine *e, const pm_catalog *cat, const char *kind, const char *sql_kind,
                     pm_error *err)
{
    size_t n = pm__catalog_objects(cat, kind, NULL, 0);
    const char **names = n ? calloc(n, sizeof(*names)) : NULL;
    if (n && !names)
        return pm_error_set(err, PM_ENOMEM, "out of memory");
    pm__catalog_objects(cat, kind, names, n);
    const pm_backend *b = pm__db_backend(e->db);
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        pm_buf sql = PM_BUF_INIT;
        pm_buf_printf(&sql, "DROP %s IF EXISTS ", sql_kind);
        pm__render_ident(&sql, b->dialect, names[i]);
        pm_buf_append(&sql, b->drop_suffix ? b->drop_suffix : "");
        rc = sql.oom ? pm_error_set(err, PM_ENOMEM, "out of memory")
                     : pm__db_exec(e->db, pm_buf_cstr(&sql), err);
        pm_buf_free(&sql);
        if (rc == 0) {
            char *what = pm__format("%s %s", kind, names[i]);
            report(e, PM_EVENT_DROPPED, what ? what : names[i], 0);
            free(what);
        }
    }
    free(names);
    return rc;
}

/* Drops every object of the current schema, foreign-key checks off. */
static int drop_everything(pm_engine *e, pm_error *err)
{
    pm_catalog *cat = NULL;
    int rc = pm__db_read_catalog(e->db, &cat, err);
    const pm_backend *b = pm__db_backend(e->db);
    if (rc == 0 && b->fk_checks_off)
        rc = pm__db_exec(e->db, b->fk_checks_off, err);
    if (rc == 0)
        rc = drop_kind(e, cat, "view", "VIEW", err);
    if (rc == 0)
        rc = drop_kind(e, cat, "table", "TABLE", err);
    if (rc == 0)
        rc = drop_kind(e, cat, "sequence", "SEQUENCE", err);
    if (rc == 0)
        rc = drop_kind(e, cat, "type", "TYPE", err);
    if (rc == 0) {
        pm_buf sql = PM_BUF_INIT;
        pm_buf_append(&sql, "DROP TABLE IF EXISTS ");
        pm__render_ident(&sql, b->dialect, PM_HISTORY_TABLE);
        rc = pm__db_exec(e->db, pm_buf_cstr(&sql), err);
        pm_buf_free(&sql);
    }
    if (b->fk_checks_on) {
        pm_error ignored = PM_ERROR_INIT;
        int on = pm__db_exec(e->db, b->fk_checks_on, rc < 0 ? &ignored : err);
        pm_error_clear(&ignored);
        rc = rc < 0 ? rc : on;
    }
    pm__catalog_free(cat);
    return rc;
}

int pm_engine_fresh(pm_engine *e, size_t *applied, pm_error *err)
{
    pm_error_clear(err);
    if (applied)
        *applied = 0;
    if (e->dry_run)
        return pm_error_set(err, PM_EINVAL, "fresh has no dry run: it would drop everything");
    int rc = pm__db_lock(e->db, e->lock_timeout_ms, err);
    if (rc < 0)
        return rc;
    rc = drop_everything(e, err);
    int unlock_rc = pm__db_unlock(e->db, err);
    rc = rc < 0 ? rc : unlock_rc;
    return rc < 0 ? rc : pm_engine_up(e, PM_ALL, applied, err);
}

int pm_engine_reset(pm_engine *e, size_t *reverted, pm_error *err)
{
    return pm_engine_down(e, PM_ALL, reverted, err);
}

int pm_engine_refresh(pm_engine *e, size_t *reverted, size_t *applied, pm_error *err)
{
    if (applied)
        *applied = 0;
    int rc = pm_engine_reset(e, reverted, err);
    return rc < 0 ? rc : pm_engine_up(e, PM_ALL, applied, err);
}

/* ==== verify ==== */

/* Lines of a that b lacks, each prefixed, appended to out. */
static void missing_lines(pm_buf *out, const char *a, const char *b, const char *prefix)
{
    for (const char *line = a; *line;) {
        size_t len = strcspn(line, "\n");
        bool found = false;
        for (const char *other = b; *other && !found;) {
            size_t olen = strcspn(other, "\n");
            found = olen == len && strncmp(line, other, len) == 0;
            other += olen + (other[olen] == '\n');
        }
        if (!found) {
            pm_buf_append(out, prefix);
            pm_buf_appendn(out, line, len);
            pm_buf_appendc(out, '\n');
        }
        line += len + (line[len] == '\n');
    }
}

static int verify_one(pm_engine *e, const pm_migration *m, pm_verify_fn fn, void *ctx,
                      size_t *problems, int64_t *order, pm_error *err)
{
    char *before = NULL, *after = NULL;
    bool skipped;
    int rc = pm_db_schema(e->db, &before, err);
    if (rc == 0 && (rc = run_one(e, m, true, &skipped, order, err)) < 0) {
        fn(m->name, PM_VERIFY_UP_FAILED, err && err->message ? err->message : "up() failed", ctx);
        (*problems)++;
    } else if (rc == 0 && (rc = run_one(e, m, false, &skipped, order, err)) < 0) {
        fn(m->name, PM_VERIFY_DOWN_FAILED, err && err->message ? err->message : "down() failed",
           ctx);
        (*problems)++;
    } else if (rc == 0 && (rc = pm_db_schema(e->db, &after, err)) == 0) {
        if (strcmp(before, after) == 0) {
            fn(m->name, PM_VERIFY_OK, NULL, ctx);
        } else {
            pm_buf diff = PM_BUF_INIT;
            missing_lines(&diff, before, after, "- ");
            missing_lines(&diff, after, before, "+ ");
            if (diff.len == 0) /* the same lines, in another order */
                pm_buf_printf(&diff, "  the same items in another order; before:\n%s  after:\n%s",
                              before, after);
            fn(m->name, PM_VERIFY_NOT_RESTORED, pm_buf_cstr(&diff), ctx);
            pm_buf_free(&diff);
            (*problems)++;
        }
        /* On to the next one; up() may fail now on what down() left behind. */
        if ((rc = run_one(e, m, true, &skipped, order, err)) < 0) {
            fn(m->name, PM_VERIFY_UP_FAILED,
               err && err->message ? err->message : "up() failed after down()", ctx);
            (*problems)++;
        }
    }
    free(before);
    free(after);
    return rc;
}

int pm_engine_verify(pm_engine *e, pm_verify_fn fn, void *ctx, size_t *problems, pm_error *err)
{
    pm_error_clear(err);
    *problems = 0;
    pm_history h;
    int rc = begin_session(e, &h, err);
    if (rc < 0)
        return rc;
    if (h.count)
        rc = pm_error_set(err, PM_EINVAL,
                          "verify needs a scratch database with no migration applied; this one "
                          "has %zu",
                          h.count);
    int64_t order = 1;
    for (size_t i = 0; rc == 0 && i < e->count; i++)
        rc = verify_one(e, e->set[i], fn, ctx, problems, &order, err);
    /* A failed up or down is a finding, reported through fn, not an error. */
    if (rc < 0 && *problems && err && err->migration) {
        pm_error_clear(err);
        rc = 0;
    }
    return end_session(e, &h, rc, err);
}

/* ==== Repair ==== */

static int repair_row(pm_engine *e, const pm_history *h, pm_repair action, const char *name,
                      pm_error *err)
{
    const pm_history_row *row = pm__history_find(h, name);
    const pm_migration *m = find_migration(e, name);
    if (!row)
        return pm_error_set(err, PM_ENOTFOUND, "%s has no history row: nothing to repair", name);
    bool failed = row_failed(row);
    switch (action) {
    case PM_REPAIR_ACCEPT:
        if (failed)
            return pm_error_set(err, PM_EFAILED,
                                "%s is marked failed: use --applied or --rollback, not --accept",
                                name);
        if (!m || !m->checksum)
            return pm_error_set(err, PM_ENOTFOUND,
                                "%s is not in this build (or has no checksum): there is no "
                                "checksum to accept",
                                name);
        break;
    case PM_REPAIR_APPLIED:
    case PM_REPAIR_ROLLBACK:
        if (!failed)
            return pm_error_set(err, PM_EINVAL,
                                "%s is not marked failed: --applied and --rollback only clear a "
                                "failed migration",
                                name);
        break;
    default:
        return pm_error_set(err, PM_EINVAL, "unknown repair action %d", (int)action);
    }
    int rc = pm__db_begin(e->db, err);
    if (rc == 0 && action == PM_REPAIR_ACCEPT)
        rc = pm__history_set_checksum(e->db, name, m->checksum, err);
    else if (rc == 0 && action == PM_REPAIR_APPLIED)
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
    pm_history h;
    int rc = begin_session(e, &h, err);
    if (rc == 0)
        rc = end_session(e, &h, repair_row(e, &h, action, name, err), err);
    return rc;
}

/* ==== Status ==== */

struct pm_status {
    pm_status_entry *entries;
    size_t count;
    pm_history history; /* owns the strings the entries point into */
};

int pm_engine_status(pm_engine *e, pm_status **out, pm_error *err)
{
    pm_error_clear(err);
    *out = NULL;
    pm_status *st = calloc(1, sizeof(*st));
    if (!st)
        return pm_error_set(err, PM_ENOMEM, "out of memory");
    int rc = pm__history_read(e->db, &st->history, err);
    if (rc < 0) {
        free(st);
        return rc;
    }
    st->entries = calloc(e->count + st->history.count + 1, sizeof(*st->entries));
    if (!st->entries) {
        pm_status_free(st);
        return pm_error_set(err, PM_ENOMEM, "out of memory");
    }
    st->count = classify(e, &st->history, st->entries);
    *out = st;
    return 0;
}

size_t pm_status_count(const pm_status *status)
{
    return status->count;
}

const pm_status_entry *pm_status_entry_at(const pm_status *status, size_t i)
{
    return i < status->count ? &status->entries[i] : NULL;
}

size_t pm_status_count_state(const pm_status *status, pm_state state)
{
    size_t n = 0;
    for (size_t i = 0; i < status->count; i++)
        n += status->entries[i].state == state;
    return n;
}

void pm_status_free(pm_status *status)
{
    if (!status)
        return;
    pm__history_free(&status->history);
    free(status->entries);
    free(status);
}
