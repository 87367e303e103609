/* engine.c: the migration engine. It compares a migration set with the
 * history table and applies, reverts or reports, each migration together
 * with its history row in one transaction, under the driver's migration
 * lock. */
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

/* Turns the failure of a cancelled statement into PM_EINTERRUPTED, keeping
 * the statement that was running. */
static int interrupted(pm_error *err, const char *migration, const char *direction)
{
    char *statement = err && err->statement ? pm__strdup(err->statement) : NULL;
    pm_error_set(err, PM_EINTERRUPTED,
                 "interrupted during %s() of %s: it was rolled back and nothing of it was applied",
                 direction, migration);
    pm_error_set_db(err, NULL, statement);
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

/* Runs one direction of m and its history change in one transaction.
 * *skipped is set when, with a driver whose begin() excludes others, another
 * runner got there first. On failure everything is rolled back and err names
 * the migration. */
static int run_one(pm_engine *e, const pm_migration *m, bool applying, bool *skipped, pm_error *err)
{
    pm_db *db = e->db;
    const char *direction = applying ? "up" : "down";
    int64_t elapsed = 0;
    *skipped = false;
    int rc = pm__db_begin(db, err);
    if (rc < 0) {
        pm__error_set_migration(err, m->name);
        return rc;
    }
    if (pm__db_flags(db) & PM_CONN_BEGIN_EXCLUDES) {
        bool present = false;
        rc = pm__history_contains(db, m->name, &present, err);
        if (rc < 0)
            goto fail;
        if (present == applying) {
            pm__db_rollback(db, err);
            *skipped = true;
            return 0;
        }
    }
    report(e, applying ? PM_EVENT_APPLYING : PM_EVENT_REVERTING, m->name, 0);
    int64_t started = pm__now_ms();
    pm_schema schema = {db, err};
    rc = (applying ? m->up : m->down)(&schema, m->data);
    elapsed = pm__now_ms() - started;
    if (rc > 0)
        rc = PM_EMIGRATION; /* a positive return is a failure too */
    if (rc < 0) {
        if (err && !err->message) /* failed without going through pm_schema */
            pm_error_set(err, rc, "%s() returned %d (%s)", direction, rc, pm_strerror(rc));
        goto fail;
    }
    rc = applying ? pm__history_insert(db, m->name, (int64_t)time(NULL), m->checksum, elapsed, err)
                  : pm__history_delete(db, m->name, err);
    if (rc == 0)
        rc = pm__db_commit(db, err);
    elapsed = pm__now_ms() - started; /* a batching driver did the work at commit */
    if (rc < 0)
        goto fail;
    report(e, applying ? PM_EVENT_APPLIED : PM_EVENT_REVERTED, m->name, elapsed);
    return 0;
fail:
    pm__error_set_migration(err, m->name);
    pm__db_rollback(db, err);
    if (!(pm__db_flags(db) & PM_CONN_TRANSACTIONAL_DDL) && err && !err->hint)
        pm_error_set_detail(err, NULL,
                            "this database commits DDL implicitly, so statements of this migration "
                            "before the failing one may have been applied and were not rolled "
                            "back; no history row was written. Check them, undo them by hand, "
                            "then run up again");
    report(e, PM_EVENT_FAILED, m->name, elapsed);
    return pm_db_interrupted(db) ? interrupted(err, m->name, direction) : rc;
}

/* ==== Sessions: lock, history, work, unlock ==== */

/* Takes the lock, makes sure the history table exists and reads it. The
 * history is read after the lock, so a runner that waited sees what the
 * previous one applied. On failure nothing is held. */
static int begin_session(pm_engine *e, pm_history *h, pm_error *err)
{
    h->rows = NULL;
    h->count = 0;
    int rc = pm__db_lock(e->db, e->lock_timeout_ms, err);
    if (rc < 0)
        return rc;
    rc = pm__history_ensure(e->db, err);
    if (rc == 0)
        rc = pm__history_read(e->db, h, err);
    if (rc < 0)
        pm__db_unlock(e->db, err);
    if (rc < 0 && pm_db_interrupted(e->db))
        rc = pm_error_set(err, PM_EINTERRUPTED, "interrupted before any migration was started");
    return rc;
}

/* Frees the history and releases the lock; returns rc, or the unlock's
 * failure when everything else succeeded. */
static int end_session(pm_engine *e, pm_history *h, int rc, pm_error *err)
{
    pm__history_free(h);
    int unlock_rc = pm__db_unlock(e->db, err);
    return rc < 0 ? rc : unlock_rc;
}

int pm_engine_up(pm_engine *e, size_t max, size_t *applied, pm_error *err)
{
    pm_error_clear(err);
    size_t done = 0;
    pm_history h;
    int rc = begin_session(e, &h, err);
    if (rc == 0) {
        for (size_t i = 0; rc == 0 && i < e->count && done < max; i++) {
            const pm_migration *m = e->set[i];
            bool skipped = false;
            if (pm__history_find(&h, m->name))
                continue;
            rc = check_interrupt(e, err);
            if (rc == 0)
                rc = run_one(e, m, true, &skipped, err);
            if (rc == 0 && skipped)
                report(e, PM_EVENT_SKIPPED, m->name, 0);
            else if (rc == 0)
                done++;
        }
        rc = end_session(e, &h, rc, err);
    }
    if (applied)
        *applied = done;
    return rc;
}

/* The migration of the set named name, or NULL (the set is sorted). */
static const pm_migration *find_migration(const pm_engine *e, const char *name)
{
    size_t lo = 0, hi = e->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int cmp = strcmp(e->set[mid]->name, name);
        if (cmp == 0)
            return e->set[mid];
        if (cmp < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

/* Newest application first: applied_at, then version, both descending. */
static int newest_first(const void *a, const void *b)
{
    const pm_history_row *x = *(const pm_history_row *const *)a;
    const pm_history_row *y = *(const pm_history_row *const *)b;
    if (x->applied_at != y->applied_at)
        return x->applied_at < y->applied_at ? 1 : -1;
    return -strcmp(x->version, y->version);
}

/* Picks the n migrations to revert, checking every one is known before any
 * runs, so an unknown version stops the command before it changes anything. */
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
    qsort(order, h->count, sizeof(*order), newest_first);
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        plan[i] = find_migration(e, order[i]->version);
        if (!plan[i]) {
            rc = pm_error_set(err, PM_ENOTFOUND,
                              "cannot revert %s: it is recorded as applied but is not in this "
                              "migration set (was it removed, or is this build older than the "
                              "database?); nothing was reverted",
                              order[i]->version);
            pm__error_set_migration(err, order[i]->version);
        }
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

int pm_engine_down(pm_engine *e, size_t n, size_t *reverted, pm_error *err)
{
    pm_error_clear(err);
    size_t done = 0;
    pm_history h;
    int rc = begin_session(e, &h, err);
    if (rc == 0) {
        const pm_migration **plan = NULL;
        size_t count = 0;
        rc = plan_down(e, &h, n, &plan, &count, err);
        for (size_t i = 0; rc == 0 && i < count; i++) {
            bool skipped = false;
            rc = check_interrupt(e, err);
            if (rc == 0)
                rc = run_one(e, plan[i], false, &skipped, err);
            if (rc == 0 && skipped)
                report(e, PM_EVENT_SKIPPED, plan[i]->name, 0);
            else if (rc == 0)
                done++;
        }
        free(plan);
        rc = end_session(e, &h, rc, err);
    }
    if (reverted)
        *reverted = done;
    return rc;
}

/* ==== Status ==== */

struct pm_status {
    pm_status_entry *entries;
    size_t count;
    pm_history history; /* owns the strings of unknown entries and checksums */
};

const char *pm_state_name(pm_state state)
{
    switch (state) {
    case PM_STATE_APPLIED:
        return "applied";
    case PM_STATE_PENDING:
        return "pending";
    case PM_STATE_UNKNOWN:
        return "unknown";
    }
    return "?";
}

static void add_entry(pm_status *st, const char *name, const pm_history_row *row)
{
    pm_status_entry *entry = &st->entries[st->count++];
    entry->name = name;
    entry->state = row ? PM_STATE_APPLIED : PM_STATE_PENDING;
    entry->applied_at = row ? row->applied_at : 0;
    entry->checksum = row ? row->checksum : NULL;
    entry->execution_ms = row ? row->execution_ms : -1;
}

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
    const pm_history *h = &st->history;
    st->entries = calloc(e->count + h->count + 1, sizeof(*st->entries));
    if (!st->entries) {
        pm_status_free(st);
        return pm_error_set(err, PM_ENOMEM, "out of memory");
    }
    /* Merge the sorted set with the sorted history. */
    size_t i = 0, j = 0;
    while (i < e->count || j < h->count) {
        int cmp = i == e->count ? 1 : j == h->count ? -1 : strcmp(e->set[i]->name, h->rows[j].version);
        if (cmp < 0) {
            add_entry(st, e->set[i++]->name, NULL);
        } else if (cmp == 0) {
            add_entry(st, e->set[i++]->name, &h->rows[j++]);
        } else {
            add_entry(st, h->rows[j].version, &h->rows[j]);
            st->entries[st->count - 1].state = PM_STATE_UNKNOWN;
            j++;
        }
    }
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
