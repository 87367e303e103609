/* test_interrupt.c: pm_db_interrupt() at the points a signal can land where
 * nothing is left to cancel, on in-memory SQLite: while a migration runs to
 * its end (as libdbi's statements do), during verify, and while a connection
 * is being opened. Each must end as PM_EINTERRUPTED, saying what state the
 * database is in; a signal must never be lost. The CLI's side (exit 130) is
 * in tests/crash/. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

/* The database the migrations below interrupt, as a signal handler would. */
static pm_db *interrupt_me;

/* Creates its table, then is "signalled" with no statement left running. */
static int up_then_signalled(pm_schema *s, const void *data)
{
    int rc = pm_test_up_create(s, data);
    if (interrupt_me)
        pm_db_interrupt(interrupt_me);
    return rc;
}

static int down_then_signalled(pm_schema *s, const void *data)
{
    int rc = pm_test_down_drop(s, data);
    if (interrupt_me)
        pm_db_interrupt(interrupt_me);
    return rc;
}

static const pm_migration first = PM_TEST_MIGRATION("m2024_01_01_000001_first", "t_first");
static const pm_migration signalled = {"m2024_01_02_000001_signalled",
                                       up_then_signalled,
                                       down_then_signalled,
                                       PM_MIGRATION_DEFAULT,
                                       NULL,
                                       "t_signalled"};
static const pm_migration after = PM_TEST_MIGRATION("m2024_01_03_000001_after", "t_after");

typedef struct fixture {
    pm_db *db;
    pm_engine *engine;
    pm_error err;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    if (!f)
        return -1;
    f->db = pm_test_open("sqlite::memory:");
    interrupt_me = f->db;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    pm_engine_free(f->engine);
    pm_db_close(f->db);
    pm_error_clear(&f->err);
    interrupt_me = NULL;
    free(f);
    return 0;
}

static void new_engine(fixture *f, const pm_migration *const *set, size_t n)
{
    pm_test_ok(pm_engine_new(&f->engine, f->db, set, n, NULL, &f->err), &f->err);
}

static void test_interrupt__during_the_last_migration_is_reported_not_lost(void **state)
{
    fixture *f = *state;
    static const pm_migration *const set[] = {&first, &signalled};
    new_engine(f, set, 2);
    size_t applied = 0;
    assert_int_equal(pm_engine_up(f->engine, PM_ALL, &applied, &f->err), PM_EINTERRUPTED);
    assert_int_equal(applied, 2);
    assert_int_equal(pm_test_history_count(f->db), 2);
    assert_true(pm_test_has_table(f->db, "t_signalled"));
    assert_non_null(strstr(f->err.message, "interrupted after m2024_01_02_000001_signalled was "
                                           "applied: it is committed and recorded"));
}

static void test_interrupt__during_a_migration_stops_before_the_next_one(void **state)
{
    fixture *f = *state;
    static const pm_migration *const set[] = {&first, &signalled, &after};
    new_engine(f, set, 3);
    size_t applied = 0;
    assert_int_equal(pm_engine_up(f->engine, PM_ALL, &applied, &f->err), PM_EINTERRUPTED);
    assert_int_equal(applied, 2);
    assert_int_equal(pm_test_history_count(f->db), 2);
    assert_false(pm_test_has_table(f->db, "t_after"));
    assert_non_null(strstr(f->err.message, "m2024_01_02_000001_signalled was applied"));
}

static void test_interrupt__during_the_last_down_is_reported_not_lost(void **state)
{
    fixture *f = *state;
    static const pm_migration *const set[] = {&first, &signalled};
    new_engine(f, set, 2);
    interrupt_me = NULL; /* applied without a signal */
    pm_test_ok(pm_engine_up(f->engine, PM_ALL, NULL, &f->err), &f->err);
    interrupt_me = f->db;
    size_t reverted = 0;
    assert_int_equal(pm_engine_down(f->engine, 1, &reverted, &f->err), PM_EINTERRUPTED);
    assert_int_equal(reverted, 1);
    assert_int_equal(pm_test_history_count(f->db), 1);
    assert_false(pm_test_has_table(f->db, "t_signalled"));
    assert_non_null(strstr(f->err.message, "interrupted after m2024_01_02_000001_signalled was "
                                           "reverted"));
}

static void count_verified(const char *migration, pm_verify_result result, const char *detail,
                           void *ctx)
{
    (void)migration;
    (void)detail;
    if (result != PM_VERIFY_OK)
        (*(int *)ctx)++;
}

static void test_interrupt__during_verify_is_not_counted_as_a_failed_migration(void **state)
{
    fixture *f = *state;
    static const pm_migration *const set[] = {&first, &signalled, &after};
    new_engine(f, set, 3);
    size_t problems = 99;
    int reported = 0;
    int rc = pm_engine_verify(f->engine, count_verified, &reported, &problems, &f->err);
    assert_int_equal(rc, PM_EINTERRUPTED);
    assert_int_equal(problems, 0);
    assert_int_equal(reported, 0);
}

static void test_interrupt__while_opening_turns_the_failure_into_an_interrupt(void **state)
{
    (void)state;
    volatile sig_atomic_t flag = 1;
    pm_db_options opts = PM_DB_OPTIONS_INIT;
    opts.interrupt = &flag;
    pm_db *db = NULL;
    pm_error err = PM_ERROR_INIT;
    int rc = pm_db_open(&db, "sqlite:///nonexistent-dir-for-poblysh/x.db", &opts, &err);
    assert_int_equal(rc, PM_EINTERRUPTED);
    assert_null(db);
    assert_non_null(strstr(err.message, "interrupted while connecting"));
    pm_error_clear(&err);
    flag = 0; /* without the flag the same open is an ordinary connection error */
    rc = pm_db_open(&db, "sqlite:///nonexistent-dir-for-poblysh/x.db", &opts, &err);
    assert_int_equal(rc, PM_ECONNECT);
    pm_error_clear(&err);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_interrupt__during_the_last_migration_is_reported_not_lost),
        T(test_interrupt__during_a_migration_stops_before_the_next_one),
        T(test_interrupt__during_the_last_down_is_reported_not_lost),
        T(test_interrupt__during_verify_is_not_counted_as_a_failed_migration),
        T(test_interrupt__while_opening_turns_the_failure_into_an_interrupt),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
