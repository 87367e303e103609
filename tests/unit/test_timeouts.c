/* test_timeouts.c: the parts of the migration timeouts that need no server:
 * durations as options and section headers write them, the errors a bad
 * one gives (naming the file and line), engine options of version 1 still
 * accepted, and pm_schema_set_timeouts() on SQLite, which has no such
 * settings: it does nothing and the migration runs. The timeouts
 * themselves are tested on PostgreSQL (tests/postgres/test_pg_session.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "poblysh/source.h"
#include "testutil.h"

typedef struct fixture {
    pm_source *src;
    pm_db *db;
    pm_engine *engine;
    pm_error err;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    if (!f || pm_source_new(&f->src, &f->err) < 0) {
        free(f);
        return -1;
    }
    f->db = pm_test_open("sqlite::memory:");
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    pm_engine_free(f->engine);
    pm_source_free(f->src);
    pm_db_close(f->db);
    pm_error_clear(&f->err);
    free(f);
    return 0;
}

static int add_sql(fixture *f, const char *name, const char *text)
{
    return pm_source_add_sql(f->src, name, text, strlen(text), "inline/x.sql", &f->err);
}

/* ==== Durations ==== */

static void test_timeouts__durations_read_every_unit(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        int ms;
    } good[] = {{"0", 0},          {"5", 5000},     {"5s", 5000},     {"500ms", 500},
                {"10min", 600000}, {"2h", 7200000}, {"24h", 86400000}};
    for (size_t i = 0; i < PM_ARRAY_LEN(good); i++) {
        int ms = -1;
        if (pm_duration_parse(good[i].text, &ms) != 0 || ms != good[i].ms)
            fail_msg("\"%s\": got %d, expected %d", good[i].text, ms, good[i].ms);
    }
}

static void test_timeouts__bad_durations_are_refused(void **state)
{
    (void)state;
    static const char *const bad[] = {"",     "s",   "-1s", "5 s", "5sec",
                                      "1.5s", "25h", "5m",  "ms5", "99999999999999999999"};
    for (size_t i = 0; i < PM_ARRAY_LEN(bad); i++) {
        int ms = 42;
        if (pm_duration_parse(bad[i], &ms) != PM_EINVAL || ms != 42)
            fail_msg("\"%s\" was accepted as %d ms", bad[i], ms);
    }
}

/* ==== Section headers ==== */

static void test_timeouts__section_header_takes_both_timeouts(void **state)
{
    fixture *f = *state;
    pm_test_ok(add_sql(f, "1_t",
                       "-- migrate:up lock_timeout=5s statement_timeout:10min transaction:false\n"
                       "CREATE TABLE t (a INTEGER);\n"
                       "-- migrate:down\nDROP TABLE t;\n"),
               &f->err);
    size_t count = 0;
    const pm_migration *const *set = pm_source_migrations(f->src, &count);
    assert_int_equal(count, 1);
    assert_true(set[0]->options & PM_MIGRATION_NO_TRANSACTION);
    /* SQLite has no such settings: the migration runs all the same */
    pm_test_ok(pm_engine_new(&f->engine, f->db, set, count, NULL, &f->err), &f->err);
    pm_test_ok(pm_engine_up(f->engine, PM_ALL, NULL, &f->err), &f->err);
    assert_true(pm_test_has_table(f->db, "t"));
}

static void test_timeouts__bad_section_timeout_names_file_and_line(void **state)
{
    fixture *f = *state;
    assert_int_equal(add_sql(f, "1_t", "-- migrate:up lock_timeout=soon\nSELECT 1;\n"), PM_ESET);
    assert_string_equal(f->err.message,
                        "inline/x.sql:1: lock_timeout=\"soon\" is not a duration (a whole number "
                        "with ms, s, min or h: 5s, 500ms, 10min; 0 for no limit)");
    pm_error_clear(&f->err);
    assert_int_equal(
        add_sql(f, "2_t", "-- migrate:up statement_timeout=1s statement_timeout=2s\nSELECT 1;\n"),
        PM_ESET);
    assert_string_equal(f->err.message,
                        "inline/x.sql:1: the section option statement_timeout is given twice");
    size_t count = 9;
    pm_source_migrations(f->src, &count);
    assert_int_equal(count, 0);
}

/* ==== C migrations ==== */

static int up_with_timeouts(pm_schema *s, const void *data)
{
    (void)data;
    int rc = pm_schema_set_timeouts(s, 200, 1000);
    return rc < 0 ? rc : pm_schema_exec(s, "CREATE TABLE c_t (a INTEGER)");
}

static int down_c(pm_schema *s, const void *data)
{
    (void)data;
    return pm_schema_exec(s, "DROP TABLE c_t");
}

static const pm_migration c_migration = {
    "m2024_01_01_000001_c_t", up_with_timeouts, down_c, PM_MIGRATION_DEFAULT, NULL, NULL};

static void test_timeouts__c_migration_timeouts_do_nothing_where_unsupported(void **state)
{
    fixture *f = *state;
    const pm_migration *set[] = {&c_migration};
    pm_test_ok(pm_engine_new(&f->engine, f->db, set, 1, NULL, &f->err), &f->err);
    pm_test_ok(pm_engine_up(f->engine, PM_ALL, NULL, &f->err), &f->err);
    assert_true(pm_test_has_table(f->db, "c_t"));
}

static void test_timeouts__engine_options_of_version_1_are_still_accepted(void **state)
{
    fixture *f = *state;
    pm_engine_options v1 = PM_ENGINE_OPTIONS_INIT;
    v1.version = 1; /* a program built against the first layout */
    const pm_migration *set[] = {&c_migration};
    pm_test_ok(pm_engine_new(&f->engine, f->db, set, 1, &v1, &f->err), &f->err);
    pm_engine_free(f->engine);
    f->engine = NULL;
    v1.version = 3;
    assert_int_equal(pm_engine_new(&f->engine, f->db, set, 1, &v1, &f->err), PM_EINVAL);
    assert_string_equal(f->err.message, "pm_engine_options version 3 is unknown (expected 1 to 2)");
}

#define TEST(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        TEST(test_timeouts__durations_read_every_unit),
        TEST(test_timeouts__bad_durations_are_refused),
        TEST(test_timeouts__section_header_takes_both_timeouts),
        TEST(test_timeouts__bad_section_timeout_names_file_and_line),
        TEST(test_timeouts__c_migration_timeouts_do_nothing_where_unsupported),
        TEST(test_timeouts__engine_options_of_version_1_are_still_accepted),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
