/* test_fleet.c: the fleet (fleet.h) on SQLite files in a private folder,
 * with the 20-migration fixture folder tests/fixtures/sql/fleet: many
 * targets at once, targets lists and their errors, names, stopping at a
 * failure or going on, canaries, interrupts and resuming, two fleets at
 * once, status and verify, and no password anywhere. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"

static const char *fixture_dir; /* tests/fixtures/sql/fleet */

#define NMIGRATIONS 20

typedef struct fixture {
    char dir[64];
    pm_source *src;
    const pm_migration *const *set;
    size_t count;
    pm_fleet *fleet;
    pm_error err;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    if (!f)
        return -1;
    strcpy(f->dir, "/tmp/pm_test_fleet.XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    pm_error err = PM_ERROR_INIT;
    if (pm_source_new(&f->src, &err) < 0 || pm_source_add_dir(f->src, fixture_dir, &err) < 0) {
        fprintf(stderr, "cannot read %s: %s\n", fixture_dir, err.message ? err.message : "?");
        pm_error_clear(&err);
        return -1;
    }
    f->set = pm_source_migrations(f->src, &f->count);
    *state = f;
    return f->set && f->count == NMIGRATIONS ? 0 : -1;
}

static int teardown(void **state)
{
    fixture *f = *state;
    pm_fleet_free(f->fleet);
    pm_source_free(f->src);
    pm_error_clear(&f->err);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", f->dir);
    free(f);
    return 0;
}

/* ==== Helpers ==== */

/* The URL of tenant i's file (one buffer per thread: two fleets list them at once). */
static char *tenant_url(const fixture *f, size_t i)
{
    static _Thread_local char url[128];
    snprintf(url, sizeof(url), "sqlite:%s/tenant_%zu.db", f->dir, i);
    return url;
}

/* A targets text listing tenants 1..n, one a line. */
static char *tenants_text(const fixture *f, size_t n)
{
    size_t size = n * 128 + 1;
    char *text = malloc(size);
    assert_non_null(text);
    size_t len = 0;
    text[0] = '\0';
    for (size_t i = 1; i <= n; i++)
        len += (size_t)snprintf(text + len, size - len, "%s\n", tenant_url(f, i));
    return text;
}

/* Counts what the progress callback saw, checking each event's counts. */
typedef struct seen {
    size_t started, finished, migrations, canaries_passed, stopping, bad_sums;
    const pm_fleet_result *stopped_by;
    size_t interrupt_after; /* pm_fleet_interrupt() once this many finished (0: never) */
    pm_fleet *fleet;
} seen;

static void on_progress(const pm_fleet_event *ev, void *ctx)
{
    seen *s = ctx;
    if (ev->ok + ev->failed + ev->running + ev->waiting != ev->total)
        s->bad_sums++;
    switch (ev->kind) {
    case PM_FLEET_TARGET_STARTED: s->started++; break;
    case PM_FLEET_TARGET_FINISHED:
        s->finished++;
        if (s->interrupt_after && s->finished == s->interrupt_after)
            pm_fleet_interrupt(s->fleet);
        break;
    case PM_FLEET_MIGRATION: s->migrations++; break;
    case PM_FLEET_CANARIES_PASSED: s->canaries_passed++; break;
    case PM_FLEET_STOPPING:
        s->stopping++;
        s->stopped_by = ev->result;
        break;
    }
}

static void new_fleet(fixture *f, pm_fleet_options *opts)
{
    pm_test_ok(pm_fleet_new(&f->fleet, f->set, f->count, opts, &f->err), &f->err);
}

static void add_tenants(fixture *f, size_t n)
{
    char *text = tenants_text(f, n);
    pm_test_ok(pm_fleet_add_text(f->fleet, text, strlen(text), "targets.txt", &f->err), &f->err);
    free(text);
}

/* The history rows of tenant i's file. */
static int64_t history_of(const fixture *f, size_t i)
{
    pm_db *db = pm_test_open(tenant_url(f, i));
    int64_t n = pm_test_history_count(db);
    pm_db_close(db);
    return n;
}

/* Makes tenant i's file hold table fleet_t03 already, so migration 3 fails. */
static void break_tenant(const fixture *f, size_t i)
{
    pm_db *db = pm_test_open(tenant_url(f, i));
    pm_test_exec(db, "CREATE TABLE fleet_t03 (x INTEGER)");
    pm_db_close(db);
}

static bool file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* The size of tenant i's file, -1 when there is none. */
static long long tenant_file_size(const fixture *f, size_t i)
{
    char path[128];
    snprintf(path, sizeof(path), "%s/tenant_%zu.db", f->dir, i);
    struct stat st;
    return stat(path, &st) == 0 ? (long long)st.st_size : -1;
}

/* Makes tenants 1..n empty files (empty SQLite databases). */
static void make_empty_tenants(const fixture *f, size_t n)
{
    for (size_t i = 1; i <= n; i++) {
        char path[128];
        snprintf(path, sizeof(path), "%s/tenant_%zu.db", f->dir, i);
        FILE *file = fopen(path, "w");
        assert_non_null(file);
        fclose(file);
    }
}

static const pm_fleet_result *result(const fixture *f, size_t i)
{
    const pm_fleet_result *r = pm_fleet_result_at(f->fleet, i);
    assert_non_null(r);
    return r;
}

static size_t count_outcome(const fixture *f, pm_fleet_outcome outcome)
{
    size_t n = 0;
    for (size_t i = 0; i < pm_fleet_size(f->fleet); i++)
        n += result(f, i)->outcome == outcome;
    return n;
}

/* ==== Running ==== */

static void test_fleet__hundred_targets_eight_at_a_time_all_migrated(void **state)
{
    fixture *f = *state;
    seen s = {0};
    pm_fleet_options opts = PM_FLEET_OPTIONS_INIT;
    opts.jobs = 8;
    opts.progress = on_progress;
    opts.progress_ctx = &s;
    new_fleet(f, &opts);
    add_tenants(f, 100);
    assert_int_equal(pm_fleet_size(f->fleet), 100);
    pm_test_ok(pm_fleet_run(f->fleet, PM_FLEET_UP, &f->err), &f->err);
    for (size_t i = 0; i < 100; i++) {
        const pm_fleet_result *r = result(f, i);
        assert_int_equal(r->index, i);
        assert_int_equal(r->outcome, PM_FLEET_OK);
        assert_int_equal(r->applied, NMIGRATIONS);
        assert_int_equal(r->pending, NMIGRATIONS);
        assert_null(r->error);
        assert_false(r->canary);
        assert_int_equal(history_of(f, i + 1), NMIGRATIONS);
    }
    assert_int_equal(s.started, 100);
    assert_int_equal(s.finished, 100);
    /* APPLYING and APPLIED for each migration of each target */
    assert_int_equal(s.migrations, 100 * NMIGRATIONS * 2);
    assert_int_equal(s.bad_sums, 0);
    assert_int_equal(s.stopping, 0);
    /* a fleet runs once */
    assert_int_equal(pm_fleet_run(f->fleet, PM_FLEET_UP, &f->err), PM_EMISUSE);
}

static void test_fleet__status_reports_each_target(void **state)
{
    fixture *f = *state;
    pm_fleet_options opts = PM_FLEET_OPTIONS_INIT;
    opts.count = 5;
    new_fleet(f, &opts);
    add_tenants(f, 3);
    pm_test_ok(pm_fleet_run(f->fleet, PM_FLEET_UP, &f->err), &f->err);
    assert_int_equal(result(f, 0)->applied, 5);
    assert_int_equal(result(f, 0)->pending, 5);
    pm_fleet_free(f->fleet);
    f->fleet = NULL;

    opts.count = 0;
    new_fleet(f, &opts);
    add_tenants(f, 4); /* tenant 4 has no file: status does not create one */
    int rc = pm_fleet_run(f->fleet, PM_FLEET_STATUS, &f->err);
    assert_int_equal(rc, PM_ECONNECT);
    assert_non_null(strstr(f->err.message, "1 of 4 targets failed; first: tenant_4: "));
    for (size_t i = 0; i < 3; i++) {
        const pm_fleet_result *r = result(f, i);
        assert_int_equal(r->outcome, PM_FLEET_OK);
        assert_int_equal(r->applied, 5);
        assert_int_equal(r->pending, NMIGRATIONS - 5);
        assert_non_null(r->status);
        assert_int_equal(pm_status_count(r->status), NMIGRATIONS);
        assert_int_equal(pm_status_count_state(r->status, PM_STATE_APPLIED), 5);
    }
    assert_int_equal(result(f, 3)->outcome, PM_FLEET_FAILED);
    assert_null(result(f, 3)->status);
    assert_int_equal(result(f, 3)->error->code, PM_ECONNECT);
    char path[128];
    snprintf(path, sizeof(path), "%s/tenant_4.db", f->dir);
    assert_false(file_exists(path));
}

static void test_fleet__down_reverts_count_on_each_target(void **state)
{
    fixture *f = *state;
    new_fleet(f, NULL);
    add_tenants(f, 3);
    pm_test_ok(pm_fleet_run(f->fleet, PM_FLEET_UP, &f->err), &f->err);
    pm_fleet_free(f->fleet);
    f->fleet = NULL;
    pm_fleet_options opts = PM_FLEET_OPTIONS_INIT;
    opts.count = 2;
    new_fleet(f, &opts);
    add_tenants(f, 3);
    pm_test_ok(pm_fleet_run(f->fleet, PM_FLEET_DOWN, &f->err), &f->err);
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(result(f, i)->applied, 2);
        assert_int_equal(history_of(f, i + 1), NMIGRATIONS - 2);
    }
}

static void test_fleet__verify_once_for_every_sqlite_target(void **state)
{
    fixture *f = *state;
    pm_fleet_options opts = PM_FLEET_OPTIONS_INIT;
    opts.jobs = 3;
    new_fleet(f, &opts);
    add_tenants(f, 5);
    make_empty_tenants(f, 5);
    pm_test_ok(pm_fleet_run(f->fleet, PM_FLEET_VERIFY, &f->err), &f->err);
    const char *by = result(f, 0)->verified_by;
    assert_non_null(by);
    for (size_t i = 0; i < 5; i++) {
        assert_int_equal(result(f, i)->outcome, PM_FLEET_OK);
        assert_int_equal(result(f, i)->problems, 0);
        assert_string_equal(result(f, i)->verified_by, by);
        /* the targets' own files are opened, never written */
        assert_int_equal(tenant_file_size(f, i + 1), 0);
    }
}

/* Every target is opened: a missing SQLite file fails its own verify
 * (PM_ECONNECT), though another target verifies the server. */
static void test_fleet__verify_fails_a_target_that_does_not_exist(void **state)
{
    fixture *f = *state;
    pm_fleet_options opts = PM_FLEET_OPTIONS_INIT;
    opts.jobs = 2;
    opts.flags = PM_FLEET_KEEP_GOING;
    new_fleet(f, &opts);
    add_tenants(f, 4);
    make_empty_tenants(f, 4);
    char path[128];
    snprintf(path, sizeof(path), "%s/tenant_3.db", f->dir);
    assert_int_equal(unlink(path), 0);
    assert_int_equal(pm_fleet_run(f->fleet, PM_FLEET_VERIFY, &f->err), PM_ECONNECT);
    for (size_t i = 0; i < 4; i++) {
        const pm_fleet_result *r = result(f, i);
        if (i == 2) {
            assert_int_equal(r->outcome, PM_FLEET_FAILED);
            assert_int_equal(r->error->code, PM_ECONNECT);
            assert_non_null(strstr(r->error->message, "tenant_3.db"));
        } else {
            assert_int_equal(r->outcome, PM_FLEET_OK);
        }
    }
    assert_false(file_exists(path)); /* and it is not made by the check */
}

/* A down() that leaves its table behind: verify counts it as a problem. */
static int down_forgets(pm_schema *s, const void *data)
{
    (void)s, (void)data;
    return 0;
}

static const pm_migration kept = PM_TEST_MIGRATION("m2024_01_01_000001_kept", "t_kept");
static const pm_migration forgetful = {"m2024_01_02_000001_forgetful",
                                       pm_test_up_create,
                                       down_forgets,
                                       PM_MIGRATION_DEFAULT,
                                       NULL,
                                       "t_forgetful"};

static void test_fleet__verify_problems_fail_every_target_of_the_server(void **state)
{
    fixture *f = *state;
    static const pm_migration *const set[] = {&kept, &forgetful};
    pm_fleet_options opts = PM_FLEET_OPTIONS_INIT;
    opts.flags = PM_FLEET_KEEP_GOING;
    pm_test_ok(pm_fleet_new(&f->fleet, set, 2, &opts, &f->err), &f->err);
    add_tenants(f, 3);
    make_empty_tenants(f, 3);
    assert_int_equal(pm_fleet_run(f->fleet, PM_FLEET_VERIFY, &f->err), PM_EMIGRATION);
    for (size_t i = 0; i < 3; i++) {
        const pm_fleet_result *r = result(f, i);
        assert_int_equal(r->outcome, PM_FLEET_FAILED);
        /* its down() left the table, then its second up() failed on it */
        assert_int_equal(r->problems, 2);
        assert_non_null(strstr(r->error->message, "2 migrations failed verification"));
    }
}

/* ==== Stopping ==== */

static void test_fleet__a_broken_target_stops_scheduling(void **state)
{
    fixture *f = *state;
    seen s = {0};
    pm_fleet_options opts = PM_FLEET_OPTIONS_INIT;
    opts.jobs = 1; /* one at a time: which ones ran is certain */
    opts.progress = on_progress;
    opts.progress_ctx = &s;
    new_fleet(f, &opts);
    add_tenants(f, 10);
    break_tenant(f, 4);
    int rc = pm_fleet_run(f->fleet, PM_FLEET_UP, &f->err);
    assert_true(rc < 0);
    const pm_fleet_result *broken = result(f, 3);
    assert_int_equal(broken->outcome, PM_FLEET_FAILED);
    assert_int_equal(rc, broken->error->code);
    assert_non_null(strstr(broken->error->message, "fleet_t03"));
    assert_string_equal(broken->error->migration, "20240101000003_create_fleet_t03");
    assert_int_equal(broken->applied, 2);
    assert_non_null(strstr(f->err.message, "1 of 10 targets failed; first: tenant_4: "));
    for (size_t i = 0; i < 3; i++)
        assert_int_equal(result(f, i)->outcome, PM_FLEET_OK);
    for (size_t i = 4; i < 10; i++) {
        assert_int_equal(result(f, i)->outcome, PM_FLEET_NOT_STARTED);
        assert_int_equal(result(f, i)->elapsed_ms, 0);
        assert_null(result(f, i)->error);
    }
    assert_int_equal(s.stopping, 1);
    assert_ptr_equal(s.stopped_by, broken);
    assert_int_equal(s.bad_sums, 0);
}

static void test_fleet__keep_going_migrates_every_other_target(void **state)
{
    fixture *f = *state;
    pm_fleet_options opts = PM_FLEET_OPTIONS_INIT;
    opts.jobs = 4;
    opts.flags = PM_FLEET_KEEP_GOING;
    new_fleet(f, &opts);
    add_tenants(f, 20);
    break_tenant(f, 2);
    char missing[160]; /* a file in a folder that does not exist */
    snprintf(missing, sizeof(missing), "sqlite:%s/no/such/folder/x.db", f->dir);
    pm_test_ok(pm_fleet_add(f->fleet, missing, "lost", NULL, &f->err), &f->err);
    int rc = pm_fleet_run(f->fleet, PM_FLEET_UP, &f->err);
    assert_int_equal(rc, PM_ERROR); /* two failures with two codes */
    assert_non_null(strstr(f->err.message, "2 of 21 targets failed; first: tenant_2: "));
    assert_int_equal(result(f, 1)->outcome, PM_FLEET_FAILED);
    assert_int_equal(result(f, 20)->outcome, PM_FLEET_FAILED);
    assert_string_equal(result(f, 20)->name, "lost");
    assert_int_equal(count_outcome(f, PM_FLEET_OK), 19);
    for (size_t i = 1; i <= 20; i++)
        assert_int_equal(history_of(f, i), i == 2 ? 2 : NMIGRATIONS);
}

static void test_fleet__a_failed_canary_starts_nothing_else(void **state)
{
    fixture *f = *state;
    seen s = {0};
    pm_fleet_options opts = PM_FLEET_OPTIONS_INIT;
    opts.jobs = 4;
    opts.canary = 2;
    opts.flags = PM_FLEET_KEEP_GOING; /* a canary stops the run all the same */
    opts.progress = on_progress;
    opts.progress_ctx = &s;
    new_fleet(f, &opts);
    add_tenants(f, 10);
    break_tenant(f, 2);
    assert_true(pm_fleet_run(f->fleet, PM_FLEET_UP, &f->err) < 0);
    assert_true(result(f, 0)->canary);
    assert_true(result(f, 1)->canary);
    assert_false(result(f, 2)->canary);
    assert_int_equal(result(f, 0)->outcome, PM_FLEET_OK);
    assert_int_equal(result(f, 1)->outcome, PM_FLEET_FAILED);
    for (size_t i = 2; i < 10; i++) {
        assert_int_equal(result(f, i)->outcome, PM_FLEET_NOT_STARTED);
        char path[128];
        snprintf(path, sizeof(path), "%s/tenant_%zu.db", f->dir, i + 1);
        assert_false(file_exists(path));
    }
    assert_int_equal(s.canaries_passed, 0);
    assert_int_equal(s.started, 2);
    assert_ptr_equal(s.stopped_by, result(f, 1));
}

static void test_fleet__canaries_first_then_the_rest(void **state)
{
    fixture *f = *state;
    seen s = {0};
    pm_fleet_options opts = PM_FLEET_OPTIONS_INIT;
    opts.jobs = 8;
    opts.canary = 3;
    opts.progress = on_progress;
    opts.progress_ctx = &s;
    new_fleet(f, &opts);
    add_tenants(f, 12);
    pm_test_ok(pm_fleet_run(f->fleet, PM_FLEET_UP, &f->err), &f->err);
    assert_int_equal(s.canaries_passed, 1);
    assert_int_equal(count_outcome(f, PM_FLEET_OK), 12);
    assert_int_equal(s.bad_sums, 0);
}

/* ==== Interrupts and resuming ==== */

static void test_fleet__interrupt_then_resume_completes(void **state)
{
    fixture *f = *state;
    seen s = {0};
    pm_fleet_options opts = PM_FLEET_OPTIONS_INIT;
    opts.jobs = 2;
    opts.progress = on_progress;
    opts.progress_ctx = &s;
    new_fleet(f, &opts);
    s.fleet = f->fleet;
    s.interrupt_after = 5;
    add_tenants(f, 20);
    int rc = pm_fleet_run(f->fleet, PM_FLEET_UP, &f->err);
    assert_int_equal(rc, PM_EINTERRUPTED);
    assert_non_null(strstr(f->err.message, "interrupted"));
    size_t done = count_outcome(f, PM_FLEET_OK);
    assert_true(done >= 5 && done <= 7);
    assert_true(count_outcome(f, PM_FLEET_NOT_STARTED) >= 13);
    assert_int_equal(result(f, 19)->outcome, PM_FLEET_NOT_STARTED);
    assert_int_equal(s.stopping, 1);
    assert_null(s.stopped_by);
    bool finished[20];
    for (size_t i = 0; i < 20; i++)
        finished[i] = result(f, i)->outcome == PM_FLEET_OK;
    pm_fleet_free(f->fleet);
    f->fleet = NULL;

    opts.progress = NULL;
    new_fleet(f, &opts);
    add_tenants(f, 20);
    pm_test_ok(pm_fleet_run(f->fleet, PM_FLEET_UP, &f->err), &f->err);
    for (size_t i = 0; i < 20; i++) {
        assert_int_equal(result(f, i)->outcome, PM_FLEET_OK);
        if (finished[i])
            assert_int_equal(result(f, i)->applied, 0);
        assert_int_equal(history_of(f, i + 1), NMIGRATIONS);
    }
}

/* A target up to date is only read: up never takes its migration lock, so
 * a write transaction held on it meanwhile does not make it wait or fail,
 * and no migration event comes. */
static void test_fleet__an_up_to_date_target_is_only_read(void **state)
{
    fixture *f = *state;
    new_fleet(f, NULL);
    add_tenants(f, 3);
    pm_test_ok(pm_fleet_run(f->fleet, PM_FLEET_UP, &f->err), &f->err);
    pm_fleet_free(f->fleet);
    f->fleet = NULL;

    pm_db *holder = pm_test_open(tenant_url(f, 2));
    pm_test_exec(holder, "BEGIN IMMEDIATE");
    seen s = {0};
    pm_engine_options engine = PM_ENGINE_OPTIONS_INIT;
    engine.lock_timeout_seconds = 1;
    pm_fleet_options opts = PM_FLEET_OPTIONS_INIT;
    opts.engine = &engine;
    opts.progress = on_progress;
    opts.progress_ctx = &s;
    new_fleet(f, &opts);
    add_tenants(f, 3);
    int rc = pm_fleet_run(f->fleet, PM_FLEET_UP, &f->err);
    pm_test_exec(holder, "ROLLBACK");
    pm_db_close(holder);
    pm_test_ok(rc, &f->err);
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(result(f, i)->outcome, PM_FLEET_OK);
        assert_int_equal(result(f, i)->applied, 0);
        assert_int_equal(result(f, i)->pending, 0);
    }
    assert_int_equal(s.migrations, 0);
    assert_int_equal(s.finished, 3);
}

/* A target with a failed migration is not up to date (nothing is pending,
 * yet not every migration is APPLIED): up still runs on it and refuses as
 * a single run does. */
static void test_fleet__a_modified_migration_still_goes_through_up(void **state)
{
    fixture *f = *state;
    new_fleet(f, NULL);
    add_tenants(f, 2);
    pm_test_ok(pm_fleet_run(f->fleet, PM_FLEET_UP, &f->err), &f->err);
    pm_fleet_free(f->fleet);
    f->fleet = NULL;
    pm_db *db = pm_test_open(tenant_url(f, 2));
    pm_test_exec(db, "UPDATE seaql_migrations SET state = 'failed' WHERE version = "
                     "(SELECT MAX(version) FROM seaql_migrations)");
    pm_db_close(db);
    new_fleet(f, NULL);
    add_tenants(f, 2);
    int rc = pm_fleet_run(f->fleet, PM_FLEET_UP, &f->err);
    assert_true(rc < 0);
    assert_int_equal(result(f, 0)->outcome, PM_FLEET_OK);
    assert_int_equal(result(f, 1)->outcome, PM_FLEET_FAILED);
}

/* Which TARGET_STARTED events came from a thread that could take SIGINT
 * or SIGTERM (they come from the workers). */
static void on_started_check_mask(const pm_fleet_event *ev, void *ctx)
{
    size_t *open_to_signals = ctx;
    sigset_t mask;
    if (ev->kind == PM_FLEET_TARGET_STARTED &&
        (pthread_sigmask(SIG_BLOCK, NULL, &mask) != 0 || !sigismember(&mask, SIGINT) ||
         !sigismember(&mask, SIGTERM)))
        (*open_to_signals)++;
}

/* Workers start with every signal blocked, so a Ctrl-C reaches the
 * caller's thread (whose handler calls pm_fleet_interrupt()), never a
 * worker inside a driver call; the caller's own mask is left as it was. */
static void test_fleet__workers_never_take_signals(void **state)
{
    fixture *f = *state;
    size_t open_to_signals = 0;
    pm_fleet_options opts = PM_FLEET_OPTIONS_INIT;
    opts.jobs = 3;
    opts.count = 1;
    opts.progress = on_started_check_mask;
    opts.progress_ctx = &open_to_signals;
    new_fleet(f, &opts);
    add_tenants(f, 6);
    sigset_t before, after;
    assert_int_equal(pthread_sigmask(SIG_BLOCK, NULL, &before), 0);
    assert_false(sigismember(&before, SIGINT));
    pm_test_ok(pm_fleet_run(f->fleet, PM_FLEET_UP, &f->err), &f->err);
    assert_int_equal(open_to_signals, 0);
    assert_int_equal(pthread_sigmask(SIG_BLOCK, NULL, &after), 0);
    assert_false(sigismember(&after, SIGINT));
}

static void test_fleet__interrupted_before_the_run_starts_nothing(void **state)
{
    fixture *f = *state;
    new_fleet(f, NULL);
    add_tenants(f, 3);
    pm_fleet_interrupt(f->fleet);
    assert_int_equal(pm_fleet_run(f->fleet, PM_FLEET_UP, &f->err), PM_EINTERRUPTED);
    assert_int_equal(count_outcome(f, PM_FLEET_NOT_STARTED), 3);
}

typedef struct side_run {
    fixture *f;
    int rc;
    pm_error err;
    size_t applied;
} side_run;

static void *run_side(void *arg)
{
    side_run *r = arg;
    pm_fleet_options opts = PM_FLEET_OPTIONS_INIT;
    opts.jobs = 4;
    pm_fleet *fleet = NULL;
    r->rc = pm_fleet_new(&fleet, r->f->set, r->f->count, &opts, &r->err);
    char *text = tenants_text(r->f, 20);
    if (r->rc == 0)
        r->rc = pm_fleet_add_text(fleet, text, strlen(text), "side", &r->err);
    free(text);
    if (r->rc == 0)
        r->rc = pm_fleet_run(fleet, PM_FLEET_UP, &r->err);
    for (size_t i = 0; r->rc == 0 && i < 20; i++)
        r->applied += pm_fleet_result_at(fleet, i)->applied;
    pm_fleet_free(fleet);
    return NULL;
}

static void test_fleet__two_fleets_at_once_apply_each_migration_once(void **state)
{
    fixture *f = *state;
    side_run a = {f, 0, PM_ERROR_INIT, 0}, b = {f, 0, PM_ERROR_INIT, 0};
    pthread_t ta, tb;
    assert_int_equal(pthread_create(&ta, NULL, run_side, &a), 0);
    assert_int_equal(pthread_create(&tb, NULL, run_side, &b), 0);
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    pm_test_ok(a.rc, &a.err);
    pm_test_ok(b.rc, &b.err);
    assert_int_equal(a.applied + b.applied, 20 * NMIGRATIONS);
    for (size_t i = 1; i <= 20; i++)
        assert_int_equal(history_of(f, i), NMIGRATIONS);
}

#ifdef PM_TEST_WITH_DBI
/* libdbi connections from several threads at once: opened, used and closed
 * in parallel, and stdout (pointed at /dev/null around each libdbi call)
 * is the terminal's or file's it was once all have ended. */
static void test_fleet__libdbi_targets_run_in_parallel(void **state)
{
    fixture *f = *state;
    struct stat before, after;
    assert_int_equal(fstat(STDOUT_FILENO, &before), 0);
    pm_fleet_options opts = PM_FLEET_OPTIONS_INIT;
    opts.jobs = 8;
    new_fleet(f, &opts);
    for (size_t i = 1; i <= 16; i++) {
        char url[160];
        snprintf(url, sizeof(url), "dbi:sqlite3://%s/dbi_%zu.db", f->dir, i);
        pm_test_ok(pm_fleet_add(f->fleet, url, NULL, NULL, &f->err), &f->err);
    }
    pm_test_ok(pm_fleet_run(f->fleet, PM_FLEET_UP, &f->err), &f->err);
    for (size_t i = 0; i < 16; i++)
        assert_int_equal(result(f, i)->applied, NMIGRATIONS);
    assert_int_equal(fstat(STDOUT_FILENO, &after), 0);
    assert_true(before.st_dev == after.st_dev && before.st_ino == after.st_ino);
}

/* What the waiting callback saw: every why starts with a target's name,
 * and no two calls overlap. */
typedef struct waits {
    size_t calls, unnamed, overlapping;
    int inside;
} waits;

static void on_waiting(void *ctx, int attempt, double elapsed, int wait_seconds, const char *why)
{
    (void)attempt, (void)elapsed, (void)wait_seconds;
    waits *w = ctx;
    if (__atomic_fetch_add(&w->inside, 1, __ATOMIC_SEQ_CST) != 0)
        w->overlapping++;
    w->calls++;
    if (!why || (strncmp(why, "left: ", 6) != 0 && strncmp(why, "right: ", 7) != 0))
        w->unnamed++;
    /* long enough for another worker's call to overlap, were it not serialised */
    struct timespec pause = {0, 20000000L};
    nanosleep(&pause, NULL);
    __atomic_fetch_sub(&w->inside, 1, __ATOMIC_SEQ_CST);
}

/* The caller's waiting callback (--wait) is called one at a time, its why
 * prefixed by the target's name: two dbi:sqlite3 targets in a folder that
 * does not exist fail to connect and are retried for a second. */
static void test_fleet__waiting_is_serialised_and_named(void **state)
{
    fixture *f = *state;
    waits w = {0};
    pm_db_options db = PM_DB_OPTIONS_INIT;
    db.wait_seconds = 1;
    db.waiting = on_waiting;
    db.waiting_ctx = &w;
    pm_fleet_options opts = PM_FLEET_OPTIONS_INIT;
    opts.jobs = 2;
    opts.flags = PM_FLEET_KEEP_GOING;
    opts.db = &db;
    new_fleet(f, &opts);
    char url[160];
    snprintf(url, sizeof(url), "dbi:sqlite3://%s/no/such/folder/l.db", f->dir);
    pm_test_ok(pm_fleet_add(f->fleet, url, "left", NULL, &f->err), &f->err);
    snprintf(url, sizeof(url), "dbi:sqlite3://%s/no/such/folder/r.db", f->dir);
    pm_test_ok(pm_fleet_add(f->fleet, url, "right", NULL, &f->err), &f->err);
    assert_int_equal(pm_fleet_run(f->fleet, PM_FLEET_STATUS, &f->err), PM_ECONNECT);
    assert_true(w.calls >= 2);
    assert_int_equal(w.unnamed, 0);
    assert_int_equal(w.overlapping, 0);
}
#endif

/* ==== Targets lists ==== */

/* pm_fleet_add_text() of text must fail with a message containing want,
 * adding nothing. */
static void expect_refused(fixture *f, const char *text, const char *want)
{
    size_t before = pm_fleet_size(f->fleet);
    pm_error_clear(&f->err);
    int rc = pm_fleet_add_text(f->fleet, text, strlen(text), "t.txt", &f->err);
    if (rc >= 0)
        fail_msg("\"%s\" gave %d (%s)", text, rc, f->err.message ? f->err.message : "");
    if (!strstr(f->err.message, want))
        fail_msg("expected \"%s\" in \"%s\"", want, f->err.message);
    assert_null(strstr(f->err.message, "s3cret"));
    assert_int_equal(pm_fleet_size(f->fleet), before);
}

static void test_fleet__targets_text_comments_fields_and_crlf(void **state)
{
    fixture *f = *state;
    new_fleet(f, NULL);
    const char *text = "# tenants\r\n"
                       "\r\n"
                       "sqlite:/srv/a.db   name=alpha # the first\r\n"
                       "\tsqlite:/srv/b1.db\tschema=s1\n"
                       "  # indented comment\n"
                       "sqlite:/srv/c.db";
    pm_test_ok(pm_fleet_add_text(f->fleet, text, strlen(text), "t.txt", &f->err), &f->err);
    assert_int_equal(pm_fleet_size(f->fleet), 3);
    assert_string_equal(result(f, 0)->name, "alpha");
    assert_string_equal(result(f, 0)->origin, "t.txt:3");
    assert_string_equal(result(f, 0)->url, "sqlite:/srv/a.db");
    assert_null(result(f, 0)->schema);
    assert_string_equal(result(f, 1)->url, "sqlite:/srv/b1.db");
    assert_string_equal(result(f, 1)->schema, "s1");
    assert_string_equal(result(f, 1)->name, "s1");
    assert_string_equal(result(f, 1)->origin, "t.txt:4");
    assert_string_equal(result(f, 2)->name, "c");
    assert_string_equal(result(f, 2)->origin, "t.txt:6");
    assert_int_equal(result(f, 2)->outcome, PM_FLEET_WAITING);
}

static void test_fleet__targets_text_errors_name_origin_and_line(void **state)
{
    fixture *f = *state;
    new_fleet(f, NULL);
    expect_refused(f, "sqlite:/a.db\nsqlite:/b.db scheme=x\n",
                   "t.txt:2: field 2 (\"scheme=...\") is unknown: a line is URL [name=NAME] "
                   "[schema=SCHEMA]");
    expect_refused(f, "sqlite:/a.db password=s3cret\n",
                   "t.txt:1: field 2 (\"password=...\") is unknown");
    expect_refused(f, "sqlite:/a.db name=\n", "t.txt:1: name= has no value");
    expect_refused(f, "sqlite:/a.db name=x name=y\n", "t.txt:1: name= given twice");
    expect_refused(f, "sqlite:/a.db postgres://u:s3cret@h/db\n", "t.txt:1: field 2 is unknown");
    expect_refused(f, "sqlite:/a.db\n\nnosuchscheme://x/y\n",
                   "t.txt:3: no driver for URL scheme \"nosuchscheme:\"");
    expect_refused(f, "# nothing\n\n   \n", "t.txt lists no targets");
    expect_refused(f, "", "t.txt lists no targets");
    expect_refused(f, "host=db1 dbname=app password=s3cret\n",
                   "t.txt:1: a key=value connection string is not a target");
    assert_int_equal(pm_fleet_size(f->fleet), 0);
}

/* A password with a blank splits its URL in two fields: no piece of it is
 * ever echoed, whether the piece looks like key=value or not. */
static void test_fleet__a_password_with_a_blank_is_never_echoed(void **state)
{
    fixture *f = *state;
    new_fleet(f, NULL);
    static const char *const lines[] = {
        "postgres://app:abc def=ghi@db/x\n",
        "postgres://app:abc defghi@db/x\n",
        "postgres://app:abc@db/x def=ghi@x\n",
    };
    for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
        pm_error_clear(&f->err);
        assert_true(pm_fleet_add_text(f->fleet, lines[i], strlen(lines[i]), "t.txt", &f->err) < 0);
        assert_non_null(strstr(f->err.message, "t.txt:1: field 2"));
        assert_non_null(strstr(f->err.message, "%20"));
        assert_null(strstr(f->err.message, "def"));
        assert_null(strstr(f->err.message, "ghi"));
        assert_null(strstr(f->err.message, "abc"));
    }
    assert_int_equal(pm_fleet_size(f->fleet), 0);
}

/* 10,000 targets: names are settled once (one sort), duplicates found by
 * hashing, so this ends well inside the test's timeout; names are right. */
static void test_fleet__ten_thousand_targets_are_named(void **state)
{
    fixture *f = *state;
    new_fleet(f, NULL);
    enum { N = 10000 };
    for (size_t i = 0; i < N; i++) {
        char url[128];
        /* tenants 0..N-2 by file; the last two share the stem "clash" */
        if (i < N - 2)
            snprintf(url, sizeof(url), "sqlite:%s/t_%zu.db", f->dir, i);
        else
            snprintf(url, sizeof(url), "sqlite:%s/d%zu/clash.db", f->dir, i);
        pm_test_ok(pm_fleet_add(f->fleet, url, i == 5 ? "five" : NULL, NULL, &f->err), &f->err);
    }
    assert_int_equal(pm_fleet_size(f->fleet), N);
    assert_string_equal(result(f, 0)->name, "t_0");
    assert_string_equal(result(f, 5)->name, "five");
    assert_string_equal(result(f, 9997)->name, "t_9997");
    char want[160];
    snprintf(want, sizeof(want), "sqlite:%s/d%d/clash.db", f->dir, N - 1);
    assert_string_equal(result(f, N - 1)->name, want);
    /* a duplicate of the first and of a given name are still refused */
    char url[128];
    snprintf(url, sizeof(url), "sqlite:%s/t_0.db", f->dir);
    assert_int_equal(pm_fleet_add(f->fleet, url, NULL, NULL, &f->err), PM_EINVAL);
    assert_non_null(strstr(f->err.message, "is listed twice (also at added)"));
    assert_int_equal(pm_fleet_add(f->fleet, "sqlite:/elsewhere.db", "five", NULL, &f->err),
                     PM_EINVAL);
    /* a name made from the URL that equals a given one falls back too */
    pm_test_ok(pm_fleet_add(f->fleet, "sqlite:/srv/five.db", NULL, NULL, &f->err), &f->err);
    assert_string_equal(result(f, N)->name, "sqlite:/srv/five.db");
    assert_string_equal(result(f, 5)->name, "five");
}

static void test_fleet__duplicates_are_refused_naming_both_lines(void **state)
{
    fixture *f = *state;
    new_fleet(f, NULL);
    expect_refused(f, "sqlite:/a.db\nsqlite:/b.db\nsqlite:/a.db\n",
                   "t.txt:3: sqlite:/a.db is listed twice (also at t.txt:1)");
    expect_refused(f, "sqlite:/a.db name=x\nsqlite:/b.db name=x\n",
                   "t.txt:2: name \"x\" is taken twice (also at t.txt:1)");
    expect_refused(f, "postgres://u:one@h/db\npostgres://u:s3cret@h/db\n",
                   "t.txt:2: postgres://u:");
    /* the same URL in two schemas is two targets */
    const char *ok = "postgres://u@h/db schema=a\npostgres://u@h/db schema=b\n";
    pm_test_ok(pm_fleet_add_text(f->fleet, ok, strlen(ok), "t.txt", &f->err), &f->err);
    /* and a list refused later adds nothing, nor does pm_fleet_add twice */
    expect_refused(f, "sqlite:/z.db\npostgres://u@h/db schema=a\n", "t.txt:2: ");
    assert_int_equal(pm_fleet_add(f->fleet, "postgres://u@h/db", NULL, "a", &f->err), PM_EINVAL);
    assert_non_null(strstr(f->err.message, "(also at t.txt:1)"));
    assert_int_equal(pm_fleet_size(f->fleet), 2);
}

static void test_fleet__names_are_made_from_the_url(void **state)
{
    fixture *f = *state;
    new_fleet(f, NULL);
    const char *text = "postgres://app@db1/tenant_acme\n"
                       "postgres://app@db1/shared schema=tenant_beta\n"
                       "sqlite:/srv/one/tenant_x.db\n"
                       "sqlite:/srv/two/tenant_x.sqlite3\n"
                       "postgres://app:pw@db2/tenant_y name=tenant_acme2\n"
                       "sqlite::memory:\n";
    pm_test_ok(pm_fleet_add_text(f->fleet, text, strlen(text), "t.txt", &f->err), &f->err);
    assert_string_equal(result(f, 0)->name, "tenant_acme");
    assert_string_equal(result(f, 1)->name, "tenant_beta");
    /* two made names collide: both fall back to their URL */
    assert_string_equal(result(f, 2)->name, "sqlite:/srv/one/tenant_x.db");
    assert_string_equal(result(f, 3)->name, "sqlite:/srv/two/tenant_x.sqlite3");
    assert_string_equal(result(f, 4)->name, "tenant_acme2");
    assert_null(strstr(result(f, 4)->url, "pw"));
    assert_string_equal(result(f, 5)->name, "sqlite::memory:");
    /* a schema made name colliding with a given one falls back with #schema */
    pm_test_ok(pm_fleet_add(f->fleet, "postgres://app@db3/x", NULL, "tenant_acme2", &f->err),
               &f->err);
    assert_string_equal(result(f, 6)->name, "postgres://app@db3/x#tenant_acme2");
    assert_string_equal(result(f, 6)->origin, "added");
}

static void test_fleet__targets_file_and_missing_file(void **state)
{
    fixture *f = *state;
    new_fleet(f, NULL);
    char path[128];
    snprintf(path, sizeof(path), "%s/targets.txt", f->dir);
    FILE *out = fopen(path, "w");
    assert_non_null(out);
    fprintf(out, "# two\n%s name=one\n", tenant_url(f, 1));
    fprintf(out, "%s\n", tenant_url(f, 2));
    fclose(out);
    pm_test_ok(pm_fleet_add_file(f->fleet, path, &f->err), &f->err);
    assert_int_equal(pm_fleet_size(f->fleet), 2);
    char origin[160];
    snprintf(origin, sizeof(origin), "%s:3", path);
    assert_string_equal(result(f, 1)->origin, origin);
    assert_string_equal(result(f, 1)->name, "tenant_2");
    snprintf(path, sizeof(path), "%s/none.txt", f->dir);
    assert_int_equal(pm_fleet_add_file(f->fleet, path, &f->err), PM_ENOTFOUND);
    assert_non_null(strstr(f->err.message, "none.txt"));
    assert_int_equal(pm_fleet_size(f->fleet), 2);
}

static void test_fleet__targets_query_on_a_control_database(void **state)
{
    fixture *f = *state;
    char control[128];
    snprintf(control, sizeof(control), "sqlite:%s/control.db", f->dir);
    pm_db *db = pm_test_open(control);
    pm_test_exec(db, "CREATE TABLE tenants (id INTEGER, url TEXT, name TEXT, active INTEGER)");
    for (size_t i = 1; i <= 3; i++) {
        char sql[256];
        snprintf(sql, sizeof(sql), "INSERT INTO tenants VALUES (%zu, '%s', %s, %d)", i,
                 tenant_url(f, i), i == 2 ? "'second'" : "NULL", i != 3);
        pm_test_exec(db, sql);
    }
    pm_test_exec(db, "INSERT INTO tenants VALUES (4, NULL, 'broken', 0)");
    pm_db_close(db);
    new_fleet(f, NULL);
    pm_test_ok(pm_fleet_add_query(f->fleet, control,
                                  "SELECT url, name FROM tenants WHERE active = 1 ORDER BY id",
                                  &f->err),
               &f->err);
    assert_int_equal(pm_fleet_size(f->fleet), 2);
    assert_string_equal(result(f, 0)->name, "tenant_1");
    assert_string_equal(result(f, 0)->origin, "query row 1");
    assert_string_equal(result(f, 1)->name, "second");
    /* a row without a URL: nothing of the query is added */
    assert_int_equal(pm_fleet_add_query(f->fleet, control,
                                        "SELECT url, name FROM tenants ORDER BY id DESC", &f->err),
                     PM_EINVAL);
    if (!strstr(f->err.message, "query row 1: the first column (the URL) is"))
        fail_msg("unexpected: %s", f->err.message);
    assert_int_equal(pm_fleet_size(f->fleet), 2);
    /* a row repeating a target names both */
    assert_int_equal(pm_fleet_add_query(f->fleet, control,
                                        "SELECT url FROM tenants WHERE id = 3 UNION ALL "
                                        "SELECT url FROM tenants WHERE id = 1",
                                        &f->err),
                     PM_EINVAL);
    assert_non_null(strstr(f->err.message, "query row 2: "));
    assert_non_null(strstr(f->err.message, "(also at query row 1)"));
    assert_int_equal(pm_fleet_size(f->fleet), 2);
    assert_int_equal(
        pm_fleet_add_query(f->fleet, control, "SELECT url FROM tenants WHERE 0", &f->err),
        PM_EINVAL);
    pm_test_ok(pm_fleet_run(f->fleet, PM_FLEET_UP, &f->err), &f->err);
}

/* ==== Schemas, secrets ==== */

static void test_fleet__schema_on_sqlite_fails_that_target(void **state)
{
    fixture *f = *state;
    pm_fleet_options opts = PM_FLEET_OPTIONS_INIT;
    opts.flags = PM_FLEET_KEEP_GOING;
    new_fleet(f, &opts);
    add_tenants(f, 2);
    pm_test_ok(pm_fleet_add(f->fleet, tenant_url(f, 3), NULL, "tenant_3", &f->err), &f->err);
    assert_int_equal(pm_fleet_run(f->fleet, PM_FLEET_UP, &f->err), PM_EUNSUPPORTED);
    assert_int_equal(result(f, 2)->outcome, PM_FLEET_FAILED);
    assert_int_equal(result(f, 2)->error->code, PM_EUNSUPPORTED);
    assert_int_equal(count_outcome(f, PM_FLEET_OK), 2);
}

static void assert_no_secret(const char *text)
{
    if (text && strstr(text, "s3cret"))
        fail_msg("a password in \"%s\"", text);
}

static void test_fleet__a_password_never_shows(void **state)
{
    fixture *f = *state;
    pm_fleet_options opts = PM_FLEET_OPTIONS_INIT;
    opts.flags = PM_FLEET_KEEP_GOING;
    new_fleet(f, &opts);
    pm_test_ok(pm_fleet_add(f->fleet, "postgres://u:s3cret@127.0.0.1:1/x", NULL, NULL, &f->err),
               &f->err);
    pm_test_ok(pm_fleet_add(f->fleet, "postgres://u:s3cret@127.0.0.1:1/y", NULL, "s", &f->err),
               &f->err);
    pm_test_ok(pm_fleet_add(f->fleet, "postgres://u:s3cret@127.0.0.1:1/z", "zed", NULL, &f->err),
               &f->err);
    pm_test_ok(pm_fleet_add(f->fleet, "postgres://u:s3cret@127.0.0.1:1/q", NULL, "s2", &f->err),
               &f->err);
    pm_test_ok(pm_fleet_add(f->fleet, "postgres://u:s3cret@127.0.0.1:1/r", NULL, "s2x", &f->err),
               &f->err);
    assert_int_equal(
        pm_fleet_add(f->fleet, "postgres://u:s3cret@127.0.0.1:1/x", NULL, NULL, &f->err),
        PM_EINVAL);
    assert_no_secret(f->err.message);
    assert_int_equal(pm_fleet_run(f->fleet, PM_FLEET_UP, &f->err), PM_ECONNECT);
    assert_no_secret(f->err.message);
    for (size_t i = 0; i < pm_fleet_size(f->fleet); i++) {
        const pm_fleet_result *r = result(f, i);
        assert_int_equal(r->outcome, PM_FLEET_FAILED);
        assert_no_secret(r->name);
        assert_no_secret(r->url);
        assert_no_secret(r->origin);
        assert_no_secret(r->error->message);
        assert_no_secret(r->error->detail);
        assert_no_secret(r->error->hint);
        assert_no_secret(r->error->statement);
    }
    assert_string_equal(result(f, 0)->name, "x");
}

static void test_fleet__options_are_checked(void **state)
{
    fixture *f = *state;
    pm_fleet_options opts = PM_FLEET_OPTIONS_INIT;
    opts.jobs = PM_FLEET_MAX_JOBS + 1;
    assert_int_equal(pm_fleet_new(&f->fleet, f->set, f->count, &opts, &f->err), PM_EINVAL);
    assert_null(f->fleet);
    opts.jobs = 0;
    opts.version = 99;
    assert_int_equal(pm_fleet_new(&f->fleet, f->set, f->count, &opts, &f->err), PM_EINVAL);
    new_fleet(f, NULL);
    assert_int_equal(pm_fleet_run(f->fleet, PM_FLEET_UP, &f->err), PM_EINVAL);
    assert_null(pm_fleet_result_at(f->fleet, 0));
    assert_string_equal(pm_fleet_outcome_name(PM_FLEET_NOT_STARTED), "not started");
}

#define TEST(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: test_fleet <tests/fixtures/sql/fleet>\n");
        return 2;
    }
    fixture_dir = argv[1];
    const struct CMUnitTest tests[] = {
        TEST(test_fleet__hundred_targets_eight_at_a_time_all_migrated),
        TEST(test_fleet__status_reports_each_target),
        TEST(test_fleet__down_reverts_count_on_each_target),
        TEST(test_fleet__verify_once_for_every_sqlite_target),
        TEST(test_fleet__verify_fails_a_target_that_does_not_exist),
        TEST(test_fleet__verify_problems_fail_every_target_of_the_server),
        TEST(test_fleet__a_broken_target_stops_scheduling),
        TEST(test_fleet__keep_going_migrates_every_other_target),
        TEST(test_fleet__a_failed_canary_starts_nothing_else),
        TEST(test_fleet__canaries_first_then_the_rest),
        TEST(test_fleet__interrupt_then_resume_completes),
        TEST(test_fleet__an_up_to_date_target_is_only_read),
        TEST(test_fleet__a_modified_migration_still_goes_through_up),
        TEST(test_fleet__workers_never_take_signals),
        TEST(test_fleet__interrupted_before_the_run_starts_nothing),
        TEST(test_fleet__two_fleets_at_once_apply_each_migration_once),
#ifdef PM_TEST_WITH_DBI
        TEST(test_fleet__libdbi_targets_run_in_parallel),
        TEST(test_fleet__waiting_is_serialised_and_named),
#endif
        TEST(test_fleet__targets_text_comments_fields_and_crlf),
        TEST(test_fleet__targets_text_errors_name_origin_and_line),
        TEST(test_fleet__a_password_with_a_blank_is_never_echoed),
        TEST(test_fleet__ten_thousand_targets_are_named),
        TEST(test_fleet__duplicates_are_refused_naming_both_lines),
        TEST(test_fleet__names_are_made_from_the_url),
        TEST(test_fleet__targets_file_and_missing_file),
        TEST(test_fleet__targets_query_on_a_control_database),
        TEST(test_fleet__schema_on_sqlite_fails_that_target),
        TEST(test_fleet__a_password_never_shows),
        TEST(test_fleet__options_are_checked),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
