/* test_engine.c: the engine's behaviour on in-memory SQLite: order, history,
 * limits, rollback of a failing migration, status, progress events; and, on
 * a SQLite file, racing processes over a migration that runs without a
 * transaction. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"

static const pm_migration m1 = PM_TEST_MIGRATION("m2024_01_01_000001_one", "t_one");
static const pm_migration m2 = PM_TEST_MIGRATION("m2024_01_02_000001_two", "t_two");
static const pm_migration m3 = PM_TEST_MIGRATION("m2024_01_03_000001_three", "t_three");
static const pm_migration bad = PM_TEST_FAILING_MIGRATION("m2024_01_02_120000_bad", "t_bad");

static const pm_migration *const set3[] = {&m1, &m2, &m3};
static const pm_migration *const set_with_bad[] = {&m1, &bad, &m3};

typedef struct fixture {
    pm_db *db;
    pm_engine *engine;
    pm_error err;
    char events[512]; /* "A:name;D:name;..." from the progress callback */
    char counts[256]; /* "A1/2;D1/2;..." likewise: position and total */
} fixture;

static void record(const pm_event *ev, void *ctx)
{
    fixture *f = ctx;
    static const char *const kinds[] = {"A", "D", "R", "V", "S", "F"};
    size_t len = strlen(f->events);
    snprintf(f->events + len, sizeof(f->events) - len, "%s:%s;", kinds[ev->kind], ev->migration);
    len = strlen(f->counts);
    snprintf(f->counts + len, sizeof(f->counts) - len, "%s%zu/%zu;", kinds[ev->kind], ev->position,
             ev->total);
}

static fixture *fixture_new(const pm_migration *const *set, size_t count)
{
    fixture *f = calloc(1, sizeof(*f));
    f->db = pm_test_open("sqlite::memory:");
    pm_engine_options opts = PM_ENGINE_OPTIONS_INIT;
    opts.progress = record;
    opts.progress_ctx = f;
    pm_test_ok(pm_engine_new(&f->engine, f->db, set, count, &opts, &f->err), &f->err);
    return f;
}

static int setup3(void **state)
{
    *state = fixture_new(set3, 3);
    return 0;
}

static int setup_bad(void **state)
{
    *state = fixture_new(set_with_bad, 3);
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    pm_engine_free(f->engine);
    pm_db_close(f->db);
    pm_error_clear(&f->err);
    free(f);
    return 0;
}

static void test_engine__up_applies_all_in_order_and_records_history(void **state)
{
    fixture *f = *state;
    size_t applied = 0;
    pm_test_ok(pm_engine_up(f->engine, PM_ALL, &applied, &f->err), &f->err);
    assert_int_equal(applied, 3);
    assert_true(pm_test_has_table(f->db, "t_one"));
    assert_true(pm_test_has_table(f->db, "t_two"));
    assert_true(pm_test_has_table(f->db, "t_three"));
    assert_int_equal(pm_test_history_count(f->db), 3);
    assert_string_equal(f->events, "A:m2024_01_01_000001_one;D:m2024_01_01_000001_one;"
                                   "A:m2024_01_02_000001_two;D:m2024_01_02_000001_two;"
                                   "A:m2024_01_03_000001_three;D:m2024_01_03_000001_three;");
    int64_t now = (int64_t)time(NULL);
    int64_t at = pm_test_int(f->db, "SELECT applied_at FROM seaql_migrations WHERE version = "
                                    "'m2024_01_02_000001_two'");
    assert_true(at > now - 60 && at <= now);
    assert_true(
        pm_test_int(f->db, "SELECT count(*) FROM seaql_migrations WHERE execution_ms >= 0") == 3);
}

static void test_engine__events_count_position_of_total_this_run(void **state)
{
    fixture *f = *state;
    size_t done = 0;
    pm_test_ok(pm_engine_up(f->engine, 2, &done, &f->err), &f->err);
    assert_string_equal(f->counts, "A1/2;D1/2;A2/2;D2/2;");
    f->counts[0] = '\0';
    pm_test_ok(pm_engine_up(f->engine, PM_ALL, &done, &f->err), &f->err);
    assert_string_equal(f->counts, "A1/1;D1/1;");
    f->counts[0] = '\0';
    pm_test_ok(pm_engine_down(f->engine, 3, &done, &f->err), &f->err);
    assert_string_equal(f->counts, "R1/3;V1/3;R2/3;V2/3;R3/3;V3/3;");
}

static void test_engine__second_up_does_nothing(void **state)
{
    fixture *f = *state;
    size_t applied = 99;
    pm_test_ok(pm_engine_up(f->engine, PM_ALL, &applied, &f->err), &f->err);
    f->events[0] = '\0';
    pm_test_ok(pm_engine_up(f->engine, PM_ALL, &applied, &f->err), &f->err);
    assert_int_equal(applied, 0);
    assert_string_equal(f->events, "");
    assert_int_equal(pm_test_history_count(f->db), 3);
}

static void test_engine__up_n_applies_at_most_n(void **state)
{
    fixture *f = *state;
    size_t applied = 0;
    pm_test_ok(pm_engine_up(f->engine, 2, &applied, &f->err), &f->err);
    assert_int_equal(applied, 2);
    assert_true(pm_test_has_table(f->db, "t_two"));
    assert_false(pm_test_has_table(f->db, "t_three"));
    pm_test_ok(pm_engine_up(f->engine, 2, &applied, &f->err), &f->err);
    assert_int_equal(applied, 1);
    assert_true(pm_test_has_table(f->db, "t_three"));
}

static void test_engine__down_reverts_last_applied_only(void **state)
{
    fixture *f = *state;
    size_t n = 0;
    pm_test_ok(pm_engine_up(f->engine, PM_ALL, NULL, &f->err), &f->err);
    pm_test_ok(pm_engine_down(f->engine, 1, &n, &f->err), &f->err);
    assert_int_equal(n, 1);
    assert_false(pm_test_has_table(f->db, "t_three"));
    assert_true(pm_test_has_table(f->db, "t_two"));
    assert_int_equal(pm_test_history_count(f->db), 2);
    assert_int_equal(pm_test_int(f->db, "SELECT count(*) FROM seaql_migrations WHERE version = "
                                        "'m2024_01_03_000001_three'"),
                     0);
}

static void test_engine__down_n_reverts_newest_first(void **state)
{
    fixture *f = *state;
    size_t n = 0;
    pm_test_ok(pm_engine_up(f->engine, PM_ALL, NULL, &f->err), &f->err);
    f->events[0] = '\0';
    pm_test_ok(pm_engine_down(f->engine, 2, &n, &f->err), &f->err);
    assert_int_equal(n, 2);
    assert_string_equal(f->events, "R:m2024_01_03_000001_three;V:m2024_01_03_000001_three;"
                                   "R:m2024_01_02_000001_two;V:m2024_01_02_000001_two;");
    assert_true(pm_test_has_table(f->db, "t_one"));
    assert_int_equal(pm_test_history_count(f->db), 1);
    /* More than are applied reverts what there is. */
    pm_test_ok(pm_engine_down(f->engine, 10, &n, &f->err), &f->err);
    assert_int_equal(n, 1);
    assert_int_equal(pm_test_history_count(f->db), 0);
    assert_false(pm_test_has_table(f->db, "t_one"));
}

static void test_engine__down_on_empty_database_reverts_nothing(void **state)
{
    fixture *f = *state;
    size_t n = 99;
    pm_test_ok(pm_engine_down(f->engine, 1, &n, &f->err), &f->err);
    assert_int_equal(n, 0);
}

static void test_engine__failing_migration_leaves_no_table_and_no_history_row(void **state)
{
    fixture *f = *state;
    size_t applied = 0;
    int rc = pm_engine_up(f->engine, PM_ALL, &applied, &f->err);
    assert_int_equal(rc, PM_EDB);
    assert_int_equal(applied, 1);
    assert_non_null(f->err.migration);
    assert_string_equal(f->err.migration, "m2024_01_02_120000_bad");
    assert_non_null(f->err.statement);
    assert_string_equal(f->err.statement, PM_TEST_BAD_STATEMENT);
    assert_non_null(strstr(f->err.message, "no_such_table_xyz"));
    assert_non_null(f->err.db_code);
    /* Its own table is rolled back with it; the one before stays; the one
     * after never ran. */
    assert_true(pm_test_has_table(f->db, "t_one"));
    assert_false(pm_test_has_table(f->db, "t_bad"));
    assert_false(pm_test_has_table(f->db, "t_three"));
    assert_int_equal(pm_test_history_count(f->db), 1);
    assert_non_null(strstr(f->events, "F:m2024_01_02_120000_bad;"));
}

static void test_engine__status_reports_applied_pending_and_unknown(void **state)
{
    fixture *f = *state;
    pm_test_ok(pm_engine_up(f->engine, 1, NULL, &f->err), &f->err);
    pm_test_exec(f->db, "INSERT INTO seaql_migrations (version, applied_at) "
                        "VALUES ('m2024_01_01_500000_from_elsewhere', 1700000000)");
    pm_status *st = NULL;
    pm_test_ok(pm_engine_status(f->engine, &st, &f->err), &f->err);
    assert_int_equal(pm_status_count(st), 4);
    const pm_status_entry *e0 = pm_status_entry_at(st, 0);
    const pm_status_entry *e1 = pm_status_entry_at(st, 1);
    const pm_status_entry *e2 = pm_status_entry_at(st, 2);
    assert_string_equal(e0->name, "m2024_01_01_000001_one");
    assert_int_equal(e0->state, PM_STATE_APPLIED);
    assert_true(e0->applied_at > 0);
    assert_string_equal(e1->name, "m2024_01_01_500000_from_elsewhere");
    assert_int_equal(e1->state, PM_STATE_MISSING);
    assert_int_equal(e1->applied_at, 1700000000);
    assert_string_equal(e2->name, "m2024_01_02_000001_two");
    assert_int_equal(e2->state, PM_STATE_PENDING);
    assert_int_equal(e2->applied_at, 0);
    assert_int_equal(pm_status_count_state(st, PM_STATE_PENDING), 2);
    assert_int_equal(pm_status_count_state(st, PM_STATE_MISSING), 1);
    assert_null(pm_status_entry_at(st, 4));
    pm_status_free(st);
}

static void test_engine__status_on_fresh_database_creates_nothing(void **state)
{
    fixture *f = *state;
    pm_status *st = NULL;
    pm_test_ok(pm_engine_status(f->engine, &st, &f->err), &f->err);
    assert_int_equal(pm_status_count_state(st, PM_STATE_PENDING), 3);
    assert_false(pm_test_has_table(f->db, "seaql_migrations"));
    pm_status_free(st);
}

static void test_engine__down_refuses_unknown_applied_version_before_changing_anything(void **state)
{
    fixture *f = *state;
    pm_test_ok(pm_engine_up(f->engine, PM_ALL, NULL, &f->err), &f->err);
    /* Applied last (apply_order 99) by a build that had it. */
    pm_test_exec(f->db, "INSERT INTO seaql_migrations (version, applied_at, apply_order) "
                        "VALUES ('m2099_01_01_000000_future', 4102444800, 99)");
    size_t n = 99;
    int rc = pm_engine_down(f->engine, 2, &n, &f->err);
    assert_int_equal(rc, PM_ENOTFOUND);
    assert_int_equal(n, 0);
    assert_string_equal(f->err.migration, "m2099_01_01_000000_future");
    assert_non_null(strstr(f->err.message, "not in this migration set"));
    assert_int_equal(pm_test_history_count(f->db), 4);
    assert_true(pm_test_has_table(f->db, "t_three"));
}

static int up_returns_code(pm_schema *s, const void *data)
{
    (void)s;
    (void)data;
    return PM_EMIGRATION;
}

static void test_engine__migration_returning_error_without_sql_is_named(void **state)
{
    (void)state;
    static const pm_migration odd = {
        "m2024_05_05_000000_odd", up_returns_code, pm_test_down_drop, 0, NULL, "x"};
    static const pm_migration *const set[] = {&odd};
    pm_db *db = pm_test_open("sqlite::memory:");
    pm_engine *engine = NULL;
    pm_error err = PM_ERROR_INIT;
    pm_test_ok(pm_engine_new(&engine, db, set, 1, NULL, &err), &err);
    assert_int_equal(pm_engine_up(engine, PM_ALL, NULL, &err), PM_EMIGRATION);
    assert_string_equal(err.migration, "m2024_05_05_000000_odd");
    assert_non_null(strstr(err.message, "up() returned"));
    assert_int_equal(pm_test_history_count(db), 0);
    pm_error_clear(&err);
    pm_engine_free(engine);
    pm_db_close(db);
}

static void test_engine__checksum_is_recorded_when_the_migration_has_one(void **state)
{
    (void)state;
    static const pm_migration with_sum = {
        "m2024_06_06_000000_sum", pm_test_up_create, pm_test_down_drop, 0, "sha256:abc", "t_sum"};
    static const pm_migration *const set[] = {&with_sum};
    pm_db *db = pm_test_open("sqlite::memory:");
    pm_engine *engine = NULL;
    pm_error err = PM_ERROR_INIT;
    pm_test_ok(pm_engine_new(&engine, db, set, 1, NULL, &err), &err);
    pm_test_ok(pm_engine_up(engine, PM_ALL, NULL, &err), &err);
    char *sum = pm_test_text(db, "SELECT checksum FROM seaql_migrations");
    assert_string_equal(sum, "sha256:abc");
    free(sum);
    pm_engine_free(engine);
    pm_db_close(db);
}

/* ==== Racers over a migration that runs without a transaction ==== */

#define RACERS 8
#define SLOW_NAME "m2024_07_07_000000_slow"

static int up_slow(pm_schema *s, const void *data)
{
    (void)data;
    int rc = pm_schema_exec(s, "CREATE TABLE t_slow (id INTEGER)");
    struct timespec pause = {0, 400 * 1000000L}; /* others read the history meanwhile */
    nanosleep(&pause, NULL);
    return rc == 0 ? pm_schema_exec(s, "INSERT INTO t_slow VALUES (1)") : rc;
}

static const pm_migration slow = {
    SLOW_NAME, up_slow, pm_test_down_drop, PM_MIGRATION_NO_TRANSACTION, NULL, "t_slow"};
static const pm_migration *const slow_set[] = {&m1, &slow};

/* A racer: waits for the start signal (EOF on go), runs up, exits with 0
 * or the negated error code. */
static void racer(const char *url, int go)
{
    char c;
    while (read(go, &c, 1) > 0)
        ;
    pm_db *db = NULL;
    pm_engine *engine = NULL;
    pm_error err = PM_ERROR_INIT;
    pm_engine_options opts = PM_ENGINE_OPTIONS_INIT;
    opts.lock_timeout_seconds = 30;
    int rc = pm_db_open(&db, url, NULL, &err);
    if (rc == 0)
        rc = pm_engine_new(&engine, db, slow_set, 2, &opts, &err);
    if (rc == 0)
        rc = pm_engine_up(engine, PM_ALL, NULL, &err);
    if (rc < 0)
        fprintf(stderr, "racer %ld: %s\n", (long)getpid(), err.message ? err.message : "?");
    pm_engine_free(engine);
    pm_db_close(db);
    _exit(rc < 0 ? -rc : 0);
}

static char *temp_db_url(char *dir, size_t size)
{
    snprintf(dir, size, "/tmp/pm-racers-XXXXXX");
    assert_non_null(mkdtemp(dir));
    size_t n = strlen(dir) + 32;
    char *url = malloc(n);
    assert_non_null(url);
    snprintf(url, n, "sqlite://%s/x.db", dir);
    return url;
}

static void remove_temp_db(const char *dir)
{
    static const char *const files[] = {"x.db", "x.db-journal", "x.db-wal", "x.db-shm"};
    char path[256];
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
        unlink(path);
    }
    rmdir(dir);
}

static void
test_engine__racers_wait_for_a_live_runner_of_a_non_transactional_migration(void **state)
{
    (void)state;
    char dir[64];
    char *url = temp_db_url(dir, sizeof(dir));
    int go[2];
    assert_int_equal(pipe(go), 0);
    pid_t pids[RACERS];
    for (int i = 0; i < RACERS; i++) {
        pids[i] = fork();
        assert_true(pids[i] >= 0);
        if (pids[i] == 0) {
            close(go[1]);
            racer(url, go[0]);
        }
    }
    close(go[0]);
    close(go[1]); /* all start at once */
    int failed = 0;
    for (int i = 0; i < RACERS; i++) {
        int ws = 0;
        assert_int_equal(waitpid(pids[i], &ws, 0), pids[i]);
        if (!WIFEXITED(ws) || WEXITSTATUS(ws) != 0) {
            fprintf(stderr, "racer %d ended with status %d (error -%d)\n", i, ws,
                    WIFEXITED(ws) ? WEXITSTATUS(ws) : -1);
            failed++;
        }
    }
    assert_int_equal(failed, 0);
    pm_db *db = pm_test_open(url);
    assert_int_equal(pm_test_history_count(db), 2);
    assert_int_equal(pm_test_int(db,
                                 "SELECT count(*) FROM seaql_migrations WHERE version = '" SLOW_NAME
                                 "' AND state = 'applied'"),
                     1);
    assert_int_equal(pm_test_int(db, "SELECT count(*) FROM t_slow"), 1); /* applied once */
    pm_db_close(db);
    remove_temp_db(dir);
    free(url);
}

static void test_engine__started_row_of_a_dead_runner_is_failed(void **state)
{
    (void)state;
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0)
        _exit(0);
    assert_int_equal(waitpid(child, NULL, 0), child); /* its process is gone */
    char host[256] = "";
    gethostname(host, sizeof(host));
    host[sizeof(host) - 1] = '\0';
    char sql[512];
    pm_db *db = pm_test_open("sqlite::memory:");
    pm_engine *engine = NULL;
    pm_error err = PM_ERROR_INIT;
    pm_test_ok(pm_engine_new(&engine, db, slow_set, 2, NULL, &err), &err);
    pm_test_ok(pm_engine_up(engine, 1, NULL, &err), &err);
    snprintf(sql, sizeof(sql),
             "INSERT INTO seaql_migrations (version, applied_at, state, error_message) VALUES "
             "('" SLOW_NAME "', 1704067200, 'started', 'running: process %ld on %s')",
             (long)child, host);
    pm_test_exec(db, sql);
    assert_int_equal(pm_engine_up(engine, PM_ALL, NULL, &err), PM_EFAILED);
    assert_non_null(strstr(err.message, SLOW_NAME));
    pm_error_clear(&err);
    pm_engine_free(engine);
    pm_db_close(db);
}

/* A "started" row of a runner on another host cannot be checked: it is
 * waited for (up to the lock timeout), then up stops with PM_ELOCKED naming
 * that runner, applying nothing after it. */
static void test_engine__started_row_of_another_host_is_waited_for_then_locked(void **state)
{
    (void)state;
    pm_db *db = pm_test_open("sqlite::memory:");
    pm_engine *engine = NULL;
    pm_error err = PM_ERROR_INIT;
    pm_engine_options opts = PM_ENGINE_OPTIONS_INIT;
    opts.lock_timeout_seconds = 1;
    pm_test_ok(pm_engine_new(&engine, db, slow_set, 2, &opts, &err), &err);
    pm_test_ok(pm_engine_up(engine, 1, NULL, &err), &err);
    pm_test_exec(db, "INSERT INTO seaql_migrations (version, applied_at, state, error_message) "
                     "VALUES ('" SLOW_NAME "', 1704067200, 'started', 'running: process 4242 on "
                     "no-such-host.invalid')");
    struct timespec start, end;
    clock_gettime(CLOCK_MONOTONIC, &start);
    assert_int_equal(pm_engine_up(engine, PM_ALL, NULL, &err), PM_ELOCKED);
    clock_gettime(CLOCK_MONOTONIC, &end);
    double waited =
        (double)(end.tv_sec - start.tv_sec) + (double)(end.tv_nsec - start.tv_nsec) / 1e9;
    assert_true(waited >= 0.9);
    assert_non_null(strstr(err.message, SLOW_NAME));
    assert_non_null(strstr(err.message, "running: process 4242 on no-such-host.invalid"));
    assert_int_equal(pm_test_int(db, "SELECT count(*) FROM seaql_migrations WHERE state = "
                                     "'started'"),
                     1);
    pm_error_clear(&err);
    pm_engine_free(engine);
    pm_db_close(db);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_engine__up_applies_all_in_order_and_records_history,
                                        setup3, teardown),
        cmocka_unit_test_setup_teardown(test_engine__second_up_does_nothing, setup3, teardown),
        cmocka_unit_test_setup_teardown(test_engine__events_count_position_of_total_this_run,
                                        setup3, teardown),
        cmocka_unit_test_setup_teardown(test_engine__up_n_applies_at_most_n, setup3, teardown),
        cmocka_unit_test_setup_teardown(test_engine__down_reverts_last_applied_only, setup3,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_engine__down_n_reverts_newest_first, setup3, teardown),
        cmocka_unit_test_setup_teardown(test_engine__down_on_empty_database_reverts_nothing, setup3,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            test_engine__failing_migration_leaves_no_table_and_no_history_row, setup_bad, teardown),
        cmocka_unit_test_setup_teardown(test_engine__status_reports_applied_pending_and_unknown,
                                        setup3, teardown),
        cmocka_unit_test_setup_teardown(test_engine__status_on_fresh_database_creates_nothing,
                                        setup3, teardown),
        cmocka_unit_test_setup_teardown(
            test_engine__down_refuses_unknown_applied_version_before_changing_anything, setup3,
            teardown),
        cmocka_unit_test(test_engine__migration_returning_error_without_sql_is_named),
        cmocka_unit_test(test_engine__checksum_is_recorded_when_the_migration_has_one),
        cmocka_unit_test(
            test_engine__racers_wait_for_a_live_runner_of_a_non_transactional_migration),
        cmocka_unit_test(test_engine__started_row_of_a_dead_runner_is_failed),
        cmocka_unit_test(test_engine__started_row_of_another_host_is_waited_for_then_locked),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
