/* engine_status.c: where each migration stands. Classification merges the
 * migration set with the history (applied, pending, modified, missing,
 * out-of-order, failed); up() refuses on it and pm_engine_status() reports
 * it. Messages here say what the state is; what to do about it, naming
 * commands and flags, is the CLI's to add. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include "engine_internal.h"

/* ==== Classification ==== */

static const char *const state_names[PM_STATE__COUNT] = {
    "applied", "pending", "modified", "missing", "out-of-order", "failed",
};

const char *pm_state_name(pm_state state)
{
    return (unsigned)state < PM_STATE__COUNT ? state_names[state] : "?";
}

#define PM_NEVER_FINISHED                                                                          \
    "it was started and never finished: the process running it stopped (a crash, kill -9, a "      \
    "lost connection) before it completed, so its work may be partly done"

bool pm_engine__row_failed(const pm_history_row *row)
{
    return row->state && (strcmp(row->state, "failed") == 0 || strcmp(row->state, "started") == 0);
}

/* ==== Who is running a migration ==== */

#define PM_RUNNER_FORMAT "running: process %ld on %s"

/* This host's name, or "" when it cannot be read. */
static void host_name(char *buf, size_t size)
{
    if (gethostname(buf, size) != 0)
        buf[0] = '\0';
    buf[size - 1] = '\0';
}

void pm_engine__runner(char *buf, size_t size)
{
    char host[PM_RUNNER_HOST_MAX];
    host_name(host, sizeof(host));
    snprintf(buf, size, PM_RUNNER_FORMAT, (long)getpid(), host);
}

/* The host a "started" row's runner is on (into there), or false when the
 * row is not a runner's. */
static bool runner_host(const pm_history_row *row, long *pid, char *there, size_t size)
{
    if (!row->state || strcmp(row->state, "started") != 0 || !row->error_message)
        return false;
    const char *rest = row->error_message;
    if (strncmp(rest, "running: process ", 17) != 0)
        return false;
    char *end;
    errno = 0;
    *pid = strtol(rest + 17, &end, 10);
    if (errno || *pid <= 0 || strncmp(end, " on ", 4) != 0)
        return false;
    snprintf(there, size, "%s", end + 4);
    return true;
}

bool pm_engine__row_elsewhere(const pm_history_row *row)
{
    char here[PM_RUNNER_HOST_MAX], there[PM_RUNNER_HOST_MAX];
    long pid = 0;
    if (!runner_host(row, &pid, there, sizeof(there)))
        return false;
    host_name(here, sizeof(here));
    return !here[0] || strcmp(here, there) != 0;
}

bool pm_engine__row_running(const pm_history_row *row)
{
    char here[PM_RUNNER_HOST_MAX], there[PM_RUNNER_HOST_MAX];
    long pid = 0;
    if (!runner_host(row, &pid, there, sizeof(there)))
        return false;
    host_name(here, sizeof(here));
    if (!here[0] || strcmp(here, there) != 0)
        return false; /* another host's process cannot be asked */
    return kill((pid_t)pid, 0) == 0 || errno == EPERM;
}

static void classify_applied(pm_status_entry *entry, const pm_migration *m,
                             const pm_history_row *row)
{
    entry->applied_at = row->applied_at;
    entry->checksum = row->checksum;
    entry->execution_ms = row->execution_ms;
    if (pm_engine__row_failed(row)) {
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

size_t pm_engine__classify(const pm_engine *e, const pm_history *h, pm_status_entry *entries)
{
    const char *newest = h->count ? h->rows[h->count - 1].version : NULL;
    size_t i = 0, j = 0, n = 0;
    while (i < e->count || j < h->count) {
        int cmp = i == e->count   ? 1
                  : j == h->count ? -1
                                  : pm_migration_name_cmp(e->set[i]->name, h->rows[j].version);
        pm_status_entry *entry = &entries[n++];
        memset(entry, 0, sizeof(*entry));
        entry->execution_ms = -1;
        if (cmp < 0) {
            const pm_migration *m = e->set[i++];
            entry->name = m->name;
            entry->expected = m->checksum;
            entry->state = newest && pm_migration_name_cmp(m->name, newest) < 0
                               ? PM_STATE_OUT_OF_ORDER
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

const pm_migration *pm_engine__find(const pm_engine *e, const char *name)
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

/* ==== Refusals ==== */

/* Appends "label: name, name; " for the entries in state, at most
 * PM_LIST_MAX names; returns how many. */
static size_t add_problem(pm_buf *msg, const pm_status_entry *entries, size_t n, pm_state state,
                          const char *label)
{
    size_t found = 0;
    for (size_t i = 0; i < n; i++) {
        if (entries[i].state != state)
            continue;
        if (!found)
            pm_buf_append(msg, label);
        pm__list_add(msg, found++, entries[i].name);
    }
    pm__list_end(msg, found, ": run `poblysh migrate status`");
    if (found)
        pm_buf_append(msg, "; ");
    return found;
}

/* Appends one clause per modified entry, with both checksums. */
static size_t add_modified(pm_buf *msg, const pm_status_entry *entries, size_t n)
{
    size_t found = 0;
    for (size_t i = 0; i < n; i++) {
        if (entries[i].state != PM_STATE_MODIFIED)
            continue;
        if (found++ < PM_LIST_MAX)
            pm_buf_printf(msg, "modified since applied: %s (recorded %s, now %s); ",
                          entries[i].name, entries[i].checksum, entries[i].expected);
    }
    if (found > PM_LIST_MAX) {
        pm_buf_append(msg, "modified since applied: ...");
        pm__list_end(msg, found, ": run `poblysh migrate status`; ");
    }
    return found;
}

/* The message lists every problem by state; the first found sets the code. */
int pm_engine__check_history(const pm_engine *e, const pm_status_entry *entries, size_t n,
                             pm_error *err)
{
    pm_buf msg = PM_BUF_INIT;
    int code = 0;
    if (add_problem(&msg, entries, n, PM_STATE_FAILED, "failed (its work may be partly done): "))
        code = PM_EFAILED;
    if (!(e->flags & PM_ENGINE_IGNORE_MODIFIED) && add_modified(&msg, entries, n))
        code = code ? code : PM_ECHECKSUM;
    if (!(e->flags & PM_ENGINE_ALLOW_MISSING) &&
        add_problem(&msg, entries, n, PM_STATE_MISSING,
                    "missing (applied in the database, not in this build): "))
        code = code ? code : PM_EDRIFT;
    if (!(e->flags & PM_ENGINE_ALLOW_OUT_OF_ORDER) &&
        add_problem(&msg, entries, n, PM_STATE_OUT_OF_ORDER,
                    "out of order (pending, but older than the newest applied migration): "))
        code = code ? code : PM_EDRIFT;
    if (code) {
        if (msg.len >= 2)
            msg.ptr[msg.len -= 2] = '\0'; /* the trailing "; " */
        pm_error_set(err, code, "nothing was applied: %s",
                     msg.oom ? "(out of memory)" : pm_buf_cstr(&msg));
    }
    pm_buf_free(&msg);
    return code;
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
    if (rc == 0 && st->history.count == 0)
        rc = pm_engine__refuse_foreign(e, err);
    if (rc < 0) {
        pm__history_free(&st->history);
        free(st);
        return rc;
    }
    st->entries = calloc(e->count + st->history.count + 1, sizeof(*st->entries));
    if (!st->entries) {
        pm_status_free(st);
        return pm_error_set(err, PM_ENOMEM, "out of memory");
    }
    st->count = pm_engine__classify(e, &st->history, st->entries);
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
