/* cmd_migrate.c: `poblysh migrate up|down|status`. Each command opens the
 * database the profile and flags name, runs one engine call on the
 * compiled-in migration set, and prints what it did. No SQL here. */
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "poblysh/migrations.h"

/* ==== Errors ==== */

int cli_report_error(const pm_error *err, const pm_db *db)
{
    fflush(stdout); /* keep the order of what was printed when both go to one log */
    const char *message = err->message ? err->message : pm_strerror(err->code);
    if (err->migration && !strstr(message, err->migration))
        fprintf(stderr, "poblysh: error: migration %s failed: %s\n", err->migration, message);
    else
        fprintf(stderr, "poblysh: error: %s\n", message);
    if (err->detail)
        fprintf(stderr, "  detail: %s\n", err->detail);
    if (err->hint)
        fprintf(stderr, "  hint: %s\n", err->hint);
    if (err->statement)
        fprintf(stderr, "  statement: %s\n", err->statement);
    if (err->db_code)
        fprintf(stderr, "  database code: %s\n", err->db_code);
    if (err->migration && err->code != PM_ESET && err->code != PM_ENOTFOUND &&
        err->code != PM_EINTERRUPTED && (!db || pm_db_transactional_ddl(db)))
        fprintf(stderr, "  the migration was rolled back; nothing of it was applied\n");
    switch (err->code) {
    case PM_ECONNECT:
        return PM_EXIT_CONNECT;
    case PM_EINTERRUPTED:
        return PM_EXIT_INTERRUPTED;
    case PM_EURL:
    case PM_ENODRIVER:
    case PM_EPROFILE:
        return PM_EXIT_USAGE;
    case PM_ELOCKED:
        return PM_EXIT_LOCKED;
    default:
        return PM_EXIT_FAILURE;
    }
}

/* ==== Ctrl-C ==== */

/* The database a signal interrupts. The first SIGINT/SIGTERM cancels the
 * running statement; the engine rolls back, unlocks and reports. A second
 * one ends the process at once (SA_RESETHAND). */
static pm_db *volatile interrupt_target;

static void on_signal(int sig)
{
    pm_db *db = interrupt_target;
    if (!db) {
        signal(sig, SIG_DFL);
        raise(sig);
        return;
    }
    pm_db_interrupt(db);
}

static void watch_signals(pm_db *db)
{
    interrupt_target = db;
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = db ? on_signal : SIG_DFL;
    sa.sa_flags = SA_RESETHAND;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

/* ==== Opening ==== */

typedef struct session {
    pm_db *db;
    pm_engine *engine;
    const char *profile;
} session;

static void on_progress(const pm_event *ev, void *ctx)
{
    (void)ctx;
    switch (ev->kind) {
    case PM_EVENT_APPLYING:
        printf("Applying %s ... ", ev->migration);
        break;
    case PM_EVENT_REVERTING:
        printf("Reverting %s ... ", ev->migration);
        break;
    case PM_EVENT_APPLIED:
    case PM_EVENT_REVERTED:
        printf("done (%" PRId64 " ms)\n", ev->elapsed_ms);
        break;
    case PM_EVENT_SKIPPED:
        printf("Skipping %s: another runner got there first\n", ev->migration);
        break;
    case PM_EVENT_FAILED:
        printf("FAILED\n");
        break;
    }
    fflush(stdout);
}

static int session_open(session *s, const cli_options *opts, pm_error *err)
{
    memset(s, 0, sizeof(*s));
    s->profile = pm_profile_current();
    char *url = NULL;
    int rc = pm_profile_database_url(&url, s->profile, opts->database_url, err);
    if (rc < 0)
        return rc;
    if (opts->verbose) {
        char *shown = pm_url_redact(url);
        fprintf(stderr, "poblysh: profile %s, database URL %s\n", s->profile, shown ? shown : "?");
        free(shown);
    }
    pm_db_options dopts = PM_DB_OPTIONS_INIT;
    dopts.wait_seconds = opts->wait;
    rc = pm_db_open(&s->db, url, &dopts, err);
    free(url);
    if (rc < 0)
        return rc;
    watch_signals(s->db);
    if (opts->verbose)
        fprintf(stderr, "poblysh: connected with the %s driver\n", pm_db_driver_name(s->db));
    printf("Database: %s (%s, profile %s)\n", pm_db_url(s->db), pm_db_driver_name(s->db), s->profile);
    size_t count = 0;
    const pm_migration *const *set = pm_builtin_migrations(&count);
    if (opts->verbose)
        fprintf(stderr, "poblysh: %zu migration(s) compiled in\n", count);
    pm_engine_options eopts = PM_ENGINE_OPTIONS_INIT;
    eopts.lock_timeout_seconds = opts->lock_timeout;
    eopts.progress = on_progress;
    return pm_engine_new(&s->engine, s->db, set, count, &eopts, err);
}

static void session_close(session *s)
{
    watch_signals(NULL);
    pm_engine_free(s->engine);
    pm_db_close(s->db);
}

/* Runs body on an open session and turns the outcome into an exit code. */
static int with_session(const cli_options *opts, int (*body)(session *, const cli_options *, pm_error *))
{
    session s;
    pm_error err = PM_ERROR_INIT;
    int rc = session_open(&s, opts, &err);
    if (rc == 0)
        rc = body(&s, opts, &err);
    int code = rc < 0 ? cli_report_error(&err, s.db) : PM_EXIT_OK;
    session_close(&s);
    pm_error_clear(&err);
    return code;
}

static const char *plural(size_t n)
{
    return n == 1 ? "" : "s";
}

/* ==== up ==== */

static int up_body(session *s, const cli_options *opts, pm_error *err)
{
    size_t applied = 0;
    int rc = pm_engine_up(s->engine, opts->count_given ? opts->count : PM_ALL, &applied, err);
    if (rc < 0) {
        if (applied)
            printf("Applied %zu migration%s before the failure; %s applied.\n", applied,
                   plural(applied), applied == 1 ? "it stays" : "they stay");
        return rc;
    }
    if (applied)
        printf("Applied %zu migration%s.\n", applied, plural(applied));
    else
        printf("Nothing to apply: the database is up to date.\n");
    return 0;
}

static int cmd_up(const cli_options *opts)
{
    return with_session(opts, up_body);
}

/* ==== down ==== */

static int down_body(session *s, const cli_options *opts, pm_error *err)
{
    size_t reverted = 0;
    int rc = pm_engine_down(s->engine, opts->count_given ? opts->count : 1, &reverted, err);
    if (rc < 0) {
        if (reverted)
            printf("Reverted %zu migration%s before the failure.\n", reverted, plural(reverted));
        return rc;
    }
    if (reverted)
        printf("Reverted %zu migration%s.\n", reverted, plural(reverted));
    else
        printf("Nothing to revert: no migration is applied.\n");
    return 0;
}

static int cmd_down(const cli_options *opts)
{
    return with_session(opts, down_body);
}

/* ==== status ==== */

static void format_time(int64_t unix_seconds, char *buf, size_t size)
{
    time_t t = (time_t)unix_seconds;
    struct tm tm;
    if (gmtime_r(&t, &tm))
        strftime(buf, size, "%Y-%m-%d %H:%M:%S", &tm);
    else
        snprintf(buf, size, "%" PRId64, unix_seconds);
}

static int status_body(session *s, const cli_options *opts, pm_error *err)
{
    (void)opts;
    pm_status *st = NULL;
    int rc = pm_engine_status(s->engine, &st, err);
    if (rc < 0)
        return rc;
    size_t width = strlen("Migration");
    for (size_t i = 0; i < pm_status_count(st); i++) {
        size_t n = strlen(pm_status_entry_at(st, i)->name);
        width = n > width ? n : width;
    }
    printf("%-*s  %-8s  %s\n", (int)width, "Migration", "State", "Applied at (UTC)");
    for (size_t i = 0; i < pm_status_count(st); i++) {
        const pm_status_entry *e = pm_status_entry_at(st, i);
        char when[32] = "";
        if (e->state != PM_STATE_PENDING)
            format_time(e->applied_at, when, sizeof(when));
        if (e->state == PM_STATE_PENDING)
            printf("%-*s  %s\n", (int)width, e->name, pm_state_name(e->state));
        else
            printf("%-*s  %-8s  %s%s\n", (int)width, e->name, pm_state_name(e->state), when,
                   e->state == PM_STATE_UNKNOWN ? "  (applied, but not in this build)" : "");
    }
    size_t unknown = pm_status_count_state(st, PM_STATE_UNKNOWN);
    printf("%zu applied, %zu pending", pm_status_count_state(st, PM_STATE_APPLIED),
           pm_status_count_state(st, PM_STATE_PENDING));
    if (unknown)
        printf(", %zu unknown (recorded in the database but not in this build)", unknown);
    printf(".\n");
    pm_status_free(st);
    return 0;
}

static int cmd_status(const cli_options *opts)
{
    return with_session(opts, status_body);
}

/* ==== Command table ==== */

const cli_command cli_migrate_commands[] = {
    {"up", cmd_up, "Apply pending migrations",
     "Usage: poblysh migrate up [-n N] [--database-url URL] [--lock-timeout SECS]\n"
     "\n"
     "Applies pending migrations in order, each with its history row in one transaction.\n"
     "A failing migration is rolled back and stops the run; earlier ones stay applied.\n"
     "\n"
     "  -n, --num N   apply at most N migrations (default: all pending)\n",
     1},
    {"down", cmd_down, "Revert the last applied migration(s)",
     "Usage: poblysh migrate down [-n N] [--database-url URL] [--lock-timeout SECS]\n"
     "\n"
     "Reverts the last N applied migrations, newest first, each in one transaction.\n"
     "\n"
     "  -n, --num N   revert N migrations (default: 1)\n",
     1},
    {"status", cmd_status, "Show every migration: applied (with time), pending, unknown",
     "Usage: poblysh migrate status [--database-url URL]\n"
     "\n"
     "Lists every migration of this build as applied (with its time, UTC) or pending,\n"
     "and every version the database records that this build does not know as unknown.\n",
     0},
    {NULL, NULL, NULL, NULL, 0},
};
