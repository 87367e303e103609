/* test_history.c: the seaql_migrations table: created with SeaORM's columns
 * plus ours, and a two-column table written by SeaORM recognised and upgraded
 * in place without losing a row; a damaged history (unknown state, bad time,
 * no version, SeaORM's columns missing) refused, naming the row. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "poblysh/migrations.h"
#include "testutil.h"

/* The table exactly as SeaORM's migrator creates it on SQLite. */
#define SEAORM_TABLE                                                                               \
    "CREATE TABLE \"seaql_migrations\" (\"version\" varchar NOT NULL PRIMARY KEY, "                \
    "\"applied_at\" bigint NOT NULL)"

static pm_engine *builtin_engine(pm_db *db)
{
    size_t count = 0;
    const pm_migration *const *set = pm_builtin_migrations(&count);
    pm_engine *engine = NULL;
    pm_error err = PM_ERROR_INIT;
    pm_test_ok(pm_engine_new(&engine, db, set, count, NULL, &err), &err);
    return engine;
}

static void test_history__created_with_seaorm_and_own_columns(void **state)
{
    (void)state;
    pm_db *db = pm_test_open("sqlite::memory:");
    pm_engine *engine = builtin_engine(db);
    pm_error err = PM_ERROR_INIT;
    pm_test_ok(pm_engine_up(engine, PM_ALL, NULL, &err), &err);
    assert_true(pm_test_has_column(db, "seaql_migrations", "version"));
    assert_true(pm_test_has_column(db, "seaql_migrations", "applied_at"));
    assert_true(pm_test_has_column(db, "seaql_migrations", "checksum"));
    assert_true(pm_test_has_column(db, "seaql_migrations", "execution_ms"));
    assert_int_equal(pm_test_int(db, "SELECT count(*) FROM pragma_table_info('seaql_migrations') "
                                     "WHERE pk = 1 AND name = 'version'"),
                     1);
    pm_engine_free(engine);
    pm_db_close(db);
}

static void test_history__seaorm_table_counts_as_up_to_date_and_is_upgraded(void **state)
{
    (void)state;
    pm_db *db = pm_test_open("sqlite::memory:");
    /* What the Rust Connectors API left behind. */
    pm_test_exec(db, SEAORM_TABLE);
    pm_test_exec(db, "CREATE TABLE tenants (id TEXT PRIMARY KEY NOT NULL, name TEXT NULL, "
                     "created_at TEXT NOT NULL)");
    pm_test_exec(db, "INSERT INTO seaql_migrations VALUES ('m2024_01_01_000001_create_tenants', "
                     "1704067200)");
    pm_engine *engine = builtin_engine(db);
    pm_error err = PM_ERROR_INIT;

    /* status reads the two-column table as is, without changing it */
    pm_status *st = NULL;
    pm_test_ok(pm_engine_status(engine, &st, &err), &err);
    assert_int_equal(pm_status_count_state(st, PM_STATE_APPLIED), 1);
    assert_int_equal(pm_status_count_state(st, PM_STATE_PENDING), 0);
    assert_int_equal(pm_status_entry_at(st, 0)->applied_at, 1704067200);
    assert_int_equal(pm_status_entry_at(st, 0)->execution_ms, -1);
    assert_null(pm_status_entry_at(st, 0)->checksum);
    pm_status_free(st);
    assert_false(pm_test_has_column(db, "seaql_migrations", "checksum"));

    /* up finds nothing to do and upgrades the table in place */
    size_t applied = 99;
    pm_test_ok(pm_engine_up(engine, PM_ALL, &applied, &err), &err);
    assert_int_equal(applied, 0);
    assert_true(pm_test_has_column(db, "seaql_migrations", "checksum"));
    assert_true(pm_test_has_column(db, "seaql_migrations", "execution_ms"));
    assert_int_equal(pm_test_history_count(db), 1);
    assert_int_equal(pm_test_int(db, "SELECT applied_at FROM seaql_migrations"), 1704067200);
    assert_int_equal(pm_test_int(db, "SELECT count(*) FROM seaql_migrations WHERE checksum IS NULL "
                                     "AND execution_ms IS NULL"),
                     1);

    /* and the SeaORM-made row can be reverted like any other */
    size_t reverted = 0;
    pm_test_ok(pm_engine_down(engine, 1, &reverted, &err), &err);
    assert_int_equal(reverted, 1);
    assert_false(pm_test_has_table(db, "tenants"));
    pm_engine_free(engine);
    pm_db_close(db);
}

static void test_history__half_upgraded_table_gets_the_missing_column(void **state)
{
    (void)state;
    pm_db *db = pm_test_open("sqlite::memory:");
    pm_test_exec(db, SEAORM_TABLE);
    pm_test_exec(db, "ALTER TABLE seaql_migrations ADD COLUMN checksum VARCHAR NULL");
    pm_engine *engine = builtin_engine(db);
    pm_error err = PM_ERROR_INIT;
    pm_test_ok(pm_engine_up(engine, PM_ALL, NULL, &err), &err);
    assert_true(pm_test_has_column(db, "seaql_migrations", "execution_ms"));
    assert_int_equal(pm_test_history_count(db), 1);
    pm_engine_free(engine);
    pm_db_close(db);
}

/* ==== Damaged histories: refused, naming the row, never guessed ==== */

#define FULL_TABLE                                                                                 \
    "CREATE TABLE seaql_migrations (version varchar NULL, applied_at bigint NULL, checksum "       \
    "varchar NULL, execution_ms bigint NULL, state varchar(16) NULL, error_message text NULL, "    \
    "error_statement text NULL, apply_order bigint NULL)"
#define TENANTS "m2024_01_01_000001_create_tenants"

/* status, up and down on db all refuse with PM_EHISTORY, and status's
 * message contains both needles; nothing is reverted or applied. */
static void assert_damaged(pm_db *db, const char *needle, const char *needle2)
{
    pm_engine *engine = builtin_engine(db);
    pm_error err = PM_ERROR_INIT;
    pm_status *st = NULL;
    int rows_before = pm_test_int(db, "SELECT count(*) FROM seaql_migrations");
    assert_int_equal(pm_engine_status(engine, &st, &err), PM_EHISTORY);
    assert_null(st);
    assert_non_null(err.message);
    assert_non_null(strstr(err.message, "the migration history is damaged"));
    assert_non_null(strstr(err.message, needle));
    assert_non_null(strstr(err.message, needle2));
    pm_error_clear(&err);
    size_t done = 99;
    assert_int_equal(pm_engine_down(engine, 1, &done, &err), PM_EHISTORY);
    assert_int_equal(done, 0);
    pm_error_clear(&err);
    assert_int_equal(pm_engine_up(engine, PM_ALL, &done, &err), PM_EHISTORY);
    assert_int_equal(done, 0);
    pm_error_clear(&err);
    assert_int_equal(pm_test_int(db, "SELECT count(*) FROM seaql_migrations"), rows_before);
    pm_engine_free(engine);
}

static pm_db *history_with(const char *insert)
{
    pm_db *db = pm_test_open("sqlite::memory:");
    pm_test_exec(db, FULL_TABLE);
    pm_test_exec(db, insert);
    return db;
}

static void test_history__unknown_state_is_damaged_not_applied(void **state)
{
    (void)state;
    pm_db *db =
        history_with("INSERT INTO seaql_migrations (version, applied_at, state) VALUES ('" TENANTS
                     "', 1704067200, 'done')");
    assert_damaged(db, TENANTS, "\"done\"");
    pm_db_close(db);
}

static void test_history__empty_state_is_damaged(void **state)
{
    (void)state;
    pm_db *db =
        history_with("INSERT INTO seaql_migrations (version, applied_at, state) VALUES ('" TENANTS
                     "', 1704067200, '')");
    assert_damaged(db, TENANTS, "state");
    pm_db_close(db);
}

static void test_history__non_numeric_applied_at_is_damaged_not_1970(void **state)
{
    (void)state;
    pm_db *db = history_with("INSERT INTO seaql_migrations (version, applied_at) VALUES ('" TENANTS
                             "', 'yesterday')");
    assert_damaged(db, TENANTS, "applied_at is not a whole number of seconds: \"yesterday\"");
    pm_db_close(db);
}

static void test_history__null_applied_at_is_damaged(void **state)
{
    (void)state;
    pm_db *db = history_with("INSERT INTO seaql_migrations (version, applied_at) VALUES ('" TENANTS
                             "', NULL)");
    assert_damaged(db, TENANTS, "applied_at is NULL");
    pm_db_close(db);
}

static void test_history__null_version_is_damaged_naming_its_row(void **state)
{
    (void)state;
    pm_db *db = history_with("INSERT INTO seaql_migrations (version, applied_at) VALUES ('" TENANTS
                             "', 1704067200), (NULL, 1704067201)");
    assert_damaged(db, "row 2", "version is NULL");
    pm_db_close(db);
}

static void test_history__empty_version_is_damaged_naming_its_row(void **state)
{
    (void)state;
    pm_db *db = history_with("INSERT INTO seaql_migrations (version, applied_at) VALUES ('', "
                             "1704067200)");
    assert_damaged(db, "row 1", "version is empty");
    pm_db_close(db);
}

static void test_history__non_numeric_apply_order_is_damaged(void **state)
{
    (void)state;
    pm_db *db = history_with("INSERT INTO seaql_migrations (version, applied_at, apply_order) "
                             "VALUES ('" TENANTS "', 1704067200, 'first')");
    assert_damaged(db, TENANTS, "apply_order");
    pm_db_close(db);
}

static void test_history__table_with_only_version_is_damaged(void **state)
{
    (void)state;
    pm_db *db = pm_test_open("sqlite::memory:");
    pm_test_exec(db, "CREATE TABLE seaql_migrations (version varchar NOT NULL PRIMARY KEY)");
    pm_test_exec(db, "INSERT INTO seaql_migrations VALUES ('a'), ('b'), ('c')");
    assert_damaged(db, "no column applied_at", "seaql_migrations");
    pm_db_close(db);
}

static int create_named_table(pm_schema *s, const void *data)
{
    char sql[128];
    snprintf(sql, sizeof(sql), "CREATE TABLE %s (id INTEGER)", (const char *)data);
    return pm_schema_exec(s, sql);
}

static int drop_named_table(pm_schema *s, const void *data)
{
    return pm_schema_drop_table(s, data, 0);
}

/* A SeaORM service whose migrations use both of SeaORM's name styles (its
 * generator's m20220101_000001_x and the long mYYYY_MM_DD_HHMMSS_x): its
 * history is taken over, nothing runs twice, and a newer migration of
 * either style is the only one applied. */
static void test_history__seaorm_rows_of_both_name_styles_are_taken_over(void **state)
{
    (void)state;
    pm_db *db = pm_test_open("sqlite::memory:");
    pm_test_exec(db, SEAORM_TABLE);
    pm_test_exec(db, "CREATE TABLE t_generated (id INTEGER)");
    pm_test_exec(db, "CREATE TABLE t_long (id INTEGER)");
    pm_test_exec(db, "INSERT INTO seaql_migrations VALUES ('m2022_01_15_000000_add_long', "
                     "1642000000), ('m20220301_000001_create_table', 1646000000)");
    /* In time order, which as text would be the other way round. */
    pm_migration a = {
        "m2022_01_15_000000_add_long", create_named_table, drop_named_table, 0, NULL, "t_long"};
    pm_migration b = {"m20220301_000001_create_table",
                      create_named_table,
                      drop_named_table,
                      0,
                      NULL,
                      "t_generated"};
    pm_migration c = {
        "m20230101_000000_newer", create_named_table, drop_named_table, 0, NULL, "t_newer"};
    const pm_migration *set[] = {&a, &b, &c};
    pm_engine *engine = NULL;
    pm_error err = PM_ERROR_INIT;
    pm_test_ok(pm_engine_new(&engine, db, set, 3, NULL, &err), &err);
    size_t applied = 0;
    pm_test_ok(pm_engine_up(engine, PM_ALL, &applied, &err), &err);
    assert_int_equal(applied, 1); /* only the newer one: t_generated and t_long exist already */
    assert_true(pm_test_has_table(db, "t_newer"));
    assert_int_equal(pm_test_history_count(db), 3);
    pm_engine_free(engine);
    pm_db_close(db);
}

static void test_history__seaorm_rows_with_null_state_stay_valid(void **state)
{
    (void)state;
    pm_db *db = history_with("INSERT INTO seaql_migrations (version, applied_at) VALUES ('" TENANTS
                             "', 1704067200)");
    pm_engine *engine = builtin_engine(db);
    pm_error err = PM_ERROR_INIT;
    pm_status *st = NULL;
    pm_test_ok(pm_engine_status(engine, &st, &err), &err);
    assert_int_equal(pm_status_count_state(st, PM_STATE_APPLIED), 1);
    pm_status_free(st);
    pm_engine_free(engine);
    pm_db_close(db);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_history__created_with_seaorm_and_own_columns),
        cmocka_unit_test(test_history__seaorm_table_counts_as_up_to_date_and_is_upgraded),
        cmocka_unit_test(test_history__half_upgraded_table_gets_the_missing_column),
        cmocka_unit_test(test_history__unknown_state_is_damaged_not_applied),
        cmocka_unit_test(test_history__empty_state_is_damaged),
        cmocka_unit_test(test_history__non_numeric_applied_at_is_damaged_not_1970),
        cmocka_unit_test(test_history__null_applied_at_is_damaged),
        cmocka_unit_test(test_history__null_version_is_damaged_naming_its_row),
        cmocka_unit_test(test_history__empty_version_is_damaged_naming_its_row),
        cmocka_unit_test(test_history__non_numeric_apply_order_is_damaged),
        cmocka_unit_test(test_history__table_with_only_version_is_damaged),
        cmocka_unit_test(test_history__seaorm_rows_with_null_state_stay_valid),
        cmocka_unit_test(test_history__seaorm_rows_of_both_name_styles_are_taken_over),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
