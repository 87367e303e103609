/* test_history.c: the seaql_migrations table: created with SeaORM's columns
 * plus ours, and a two-column table written by SeaORM recognised and upgraded
 * in place without losing a row. */
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_history__created_with_seaorm_and_own_columns),
        cmocka_unit_test(test_history__seaorm_table_counts_as_up_to_date_and_is_upgraded),
        cmocka_unit_test(test_history__half_upgraded_table_gets_the_missing_column),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
