/* test_adopt.c: taking over another tool's history on in-memory SQLite.
 * Each tool's table is created and filled as that tool does on SQLite
 * (dbmate, golang-migrate's sqlite3 driver, goose, sqlx, diesel, Flyway);
 * up, down and status refuse before creating anything, adopt records the
 * versions as applied, and up then runs only what is new. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "testutil.h"

/* Numbered migrations (dbmate, golang-migrate, goose, sqlx), with checksums. */
#define NUMBERED(name, table)                                                                      \
    {                                                                                              \
        name, pm_test_up_create, pm_test_down_drop, PM_MIGRATION_DEFAULT, "sha256:" name, table    \
    }
static const pm_migration n1 = NUMBERED("001_one", "t_one");
static const pm_migration n2 = NUMBERED("002_two", "t_two");
static const pm_migration n3 = NUMBERED("003_three", "t_three");
static const pm_migration *const numbered[] = {&n1, &n2, &n3};

/* diesel's folders: version = the digits of the part before '_'. */
static const pm_migration d1 = NUMBERED("2017-01-01-000000_create_users", "t_users");
static const pm_migration d2 = NUMBERED("2017-02-01-120000_create_posts", "t_posts");
static const pm_migration *const diesel_set[] = {&d1, &d2};

/* Flyway's dotted versions. */
static const pm_migration f1 = NUMBERED("V1__init", "t_init");
static const pm_migration f2 = NUMBERED("V1.1__more", "t_more");
static const pm_migration f3 = NUMBERED("V1.10__later", "t_later");
static const pm_migration *const flyway_set[] = {&f1, &f2, &f3};

/* ==== Each tool's table, as it writes it on SQLite ==== */

static const char dbmate_table[] =
    "CREATE TABLE IF NOT EXISTS \"schema_migrations\" (version varchar(128) primary key)";
static const char golang_table[] = "CREATE TABLE IF NOT EXISTS schema_migrations (version "
                                   "uint64,dirty bool)";
static const char golang_index[] = "CREATE UNIQUE INDEX IF NOT EXISTS version_unique ON "
                                   "schema_migrations (version)";
static const char goose_table[] = "CREATE TABLE goose_db_version (id INTEGER PRIMARY KEY "
                                  "AUTOINCREMENT, version_id INTEGER NOT NULL, is_applied "
                                  "INTEGER NOT NULL, tstamp TIMESTAMP DEFAULT (datetime('now')))";
static const char sqlx_table[] =
    "CREATE TABLE IF NOT EXISTS _sqlx_migrations (version BIGINT PRIMARY KEY, description TEXT "
    "NOT NULL, installed_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP, success BOOLEAN NOT "
    "NULL, checksum BLOB NOT NULL, execution_time BIGINT NOT NULL)";
static const char diesel_table[] =
    "CREATE TABLE IF NOT EXISTS __diesel_schema_migrations (version VARCHAR(50) PRIMARY KEY NOT "
    "NULL, run_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP)";
static const char flyway_table[] =
    "CREATE TABLE \"flyway_schema_history\" (\"installed_rank\" INT NOT NULL PRIMARY KEY, "
    "\"version\" VARCHAR(50), \"description\" VARCHAR(200) NOT NULL, \"type\" VARCHAR(20) NOT "
    "NULL, \"script\" VARCHAR(1000) NOT NULL, \"checksum\" INT, \"installed_by\" VARCHAR(100) NOT "
    "NULL, \"installed_on\" TEXT NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f','now')), "
    "\"execution_time\" INT NOT NULL, \"success\" BOOLEAN NOT NULL)";

static void flyway_row(pm_db *db, int rank, const char *version, const char *type,
                       const char *script, int success)
{
    char sql[512];
    char quoted[64];
    snprintf(quoted, sizeof(quoted), version ? "'%s'" : "NULL", version ? version : "");
    snprintf(sql, sizeof(sql),
             "INSERT INTO flyway_schema_history (installed_rank, version, description, type, "
             "script, checksum, installed_by, installed_on, execution_time, success) VALUES (%d, "
             "%s, 'd', '%s', '%s', 12345, 'flyway', '2022-03-04 05:06:07.123', 7, %d)",
             rank, quoted, type, script, success);
    pm_test_exec(db, sql);
}

/* ==== Fixture ==== */

typedef struct fixture {
    pm_db *db;
    pm_engine *engine;
    pm_error err;
    pm_adopt_report report;
    char events[1024]; /* "name;name;" of PM_EVENT_ADOPTED */
} fixture;

static void record(const pm_event *ev, void *ctx)
{
    fixture *f = ctx;
    if (ev->kind != PM_EVENT_ADOPTED)
        return;
    size_t len = strlen(f->events);
    snprintf(f->events + len, sizeof(f->events) - len, "%s;", ev->migration);
}

static void use_set(fixture *f, const pm_migration *const *set, size_t count)
{
    pm_engine_free(f->engine);
    pm_engine_options opts = PM_ENGINE_OPTIONS_INIT;
    opts.progress = record;
    opts.progress_ctx = f;
    pm_test_ok(pm_engine_new(&f->engine, f->db, set, count, &opts, &f->err), &f->err);
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    f->db = pm_test_open("sqlite::memory:");
    use_set(f, numbered, 3);
    *state = f;
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

static void assert_contains(const char *text, const char *part)
{
    if (!text || !strstr(text, part))
        fail_msg("\"%s\" does not contain \"%s\"", text ? text : "(null)", part);
}

static void dbmate_history(pm_db *db)
{
    pm_test_exec(db, dbmate_table);
    pm_test_exec(db, "INSERT INTO schema_migrations (version) VALUES ('001')");
    pm_test_exec(db, "INSERT INTO schema_migrations (version) VALUES ('002')");
    pm_test_exec(db, "CREATE TABLE t_one (id INTEGER PRIMARY KEY, name TEXT)");
    pm_test_exec(db, "CREATE TABLE t_two (id INTEGER PRIMARY KEY, name TEXT)");
}

static void golang_history(pm_db *db, int version, int dirty)
{
    char sql[128];
    pm_test_exec(db, golang_table);
    pm_test_exec(db, golang_index);
    snprintf(sql, sizeof(sql), "INSERT INTO schema_migrations (version, dirty) VALUES (%d, %d)",
             version, dirty);
    pm_test_exec(db, sql);
    pm_test_exec(db, "CREATE TABLE t_one (id INTEGER PRIMARY KEY, name TEXT)");
    pm_test_exec(db, "CREATE TABLE t_two (id INTEGER PRIMARY KEY, name TEXT)");
}

/* up and status on a database another tool migrated: nothing was created. */
static void assert_nothing_created(fixture *f)
{
    assert_false(pm_test_has_table(f->db, "seaql_migrations"));
    assert_false(pm_test_has_table(f->db, "t_three"));
}

/* ==== Refusals ==== */

static void test_adopt__up_refuses_dbmate_history_before_creating_anything(void **state)
{
    fixture *f = *state;
    dbmate_history(f->db);
    size_t applied = 99;
    assert_int_equal(pm_engine_up(f->engine, PM_ALL, &applied, &f->err), PM_EFOREIGN);
    assert_int_equal(applied, 0);
    assert_contains(f->err.message, "dbmate's history (schema_migrations: 2 versions), 2 "
                                    "migrations of this set; poblysh has recorded none");
    assert_contains(f->err.hint, "poblysh migrate adopt dbmate");
    assert_nothing_created(f);
}

static void test_adopt__status_down_and_dry_run_up_refuse_too(void **state)
{
    fixture *f = *state;
    golang_history(f->db, 2, 0);
    pm_status *st = NULL;
    assert_int_equal(pm_engine_status(f->engine, &st, &f->err), PM_EFOREIGN);
    assert_null(st);
    assert_contains(f->err.message,
                    "golang-migrate's history (schema_migrations: version 2, clean), 2 migrations");
    assert_contains(f->err.hint, "poblysh migrate adopt golang-migrate");
    size_t n = 0;
    assert_int_equal(pm_engine_down(f->engine, 1, &n, &f->err), PM_EFOREIGN);
    assert_int_equal(pm_engine_reset(f->engine, &n, &f->err), PM_EFOREIGN);
    assert_nothing_created(f);
}

static void test_adopt__tool_table_without_versions_is_no_reason_to_refuse(void **state)
{
    fixture *f = *state;
    pm_test_exec(f->db, goose_table);
    pm_test_exec(f->db, "INSERT INTO goose_db_version (version_id, is_applied) VALUES (0, 1)");
    size_t applied = 0;
    pm_test_ok(pm_engine_up(f->engine, PM_ALL, &applied, &f->err), &f->err);
    assert_int_equal(applied, 3);
}

/* ==== Each tool ==== */

static void test_adopt__dbmate_versions_are_recorded_then_up_runs_only_new(void **state)
{
    fixture *f = *state;
    dbmate_history(f->db);
    pm_test_ok(pm_engine_adopt(f->engine, NULL, 0, &f->report, &f->err), &f->err);
    assert_string_equal(f->report.tool, "dbmate");
    assert_string_equal(f->report.table, "schema_migrations");
    assert_int_equal(f->report.recorded, 2);
    assert_int_equal(f->report.pending, 1);
    assert_string_equal(f->events, "001_one;002_two;");
    char *checksum =
        pm_test_text(f->db, "SELECT checksum FROM seaql_migrations WHERE version = '002_two'");
    assert_string_equal(checksum, "sha256:002_two");
    free(checksum);
    assert_int_equal(pm_test_int(f->db, "SELECT count(*) FROM seaql_migrations WHERE state = "
                                        "'applied' AND apply_order IS NOT NULL"),
                     2);
    size_t applied = 0;
    pm_test_ok(pm_engine_up(f->engine, PM_ALL, &applied, &f->err), &f->err);
    assert_int_equal(applied, 1);
    assert_true(pm_test_has_table(f->db, "t_three"));
    assert_int_equal(pm_test_int(f->db, "SELECT count(*) FROM schema_migrations"), 2);
}

static void test_adopt__golang_migrate_covers_every_version_up_to_its_one(void **state)
{
    fixture *f = *state;
    golang_history(f->db, 2, 0);
    pm_test_ok(pm_engine_adopt(f->engine, "golang-migrate", 0, &f->report, &f->err), &f->err);
    assert_int_equal(f->report.recorded, 2);
    assert_string_equal(f->events, "001_one;002_two;");
    size_t applied = 0;
    pm_test_ok(pm_engine_up(f->engine, PM_ALL, &applied, &f->err), &f->err);
    assert_int_equal(applied, 1);
    assert_int_equal(pm_test_int(f->db, "SELECT count(*) FROM schema_migrations WHERE version = 2 "
                                        "AND dirty = 0"),
                     1);
}

static void test_adopt__golang_migrate_dirty_is_refused_or_recorded_failed(void **state)
{
    fixture *f = *state;
    golang_history(f->db, 2, 1);
    size_t applied = 0;
    assert_int_equal(pm_engine_up(f->engine, PM_ALL, &applied, &f->err), PM_EFOREIGN);
    assert_contains(f->err.message, "version 2, dirty");
    assert_int_equal(pm_engine_adopt(f->engine, NULL, 0, &f->report, &f->err), PM_EFAILED);
    assert_contains(f->err.message, "nothing was recorded: schema_migrations records one "
                                    "migration as dirty (failed midway): 002_two");
    assert_false(pm_test_has_table(f->db, "seaql_migrations"));
    pm_test_ok(pm_engine_adopt(f->engine, NULL, PM_ADOPT_ALLOW_FAILED, &f->report, &f->err),
               &f->err);
    assert_int_equal(f->report.recorded, 2);
    assert_int_equal(f->report.failed, 1);
    char *state_of =
        pm_test_text(f->db, "SELECT state FROM seaql_migrations WHERE version = '002_two'");
    assert_string_equal(state_of, "failed");
    free(state_of);
    /* poblysh's own rules take over: a failed migration blocks up until repaired */
    assert_int_equal(pm_engine_up(f->engine, PM_ALL, &applied, &f->err), PM_EFAILED);
}

static void test_adopt__goose_last_row_of_each_version_decides(void **state)
{
    fixture *f = *state;
    pm_test_exec(f->db, goose_table);
    pm_test_exec(f->db, "INSERT INTO goose_db_version (version_id, is_applied) VALUES (0, 1)");
    pm_test_exec(f->db, "INSERT INTO goose_db_version (version_id, is_applied, tstamp) VALUES "
                        "(1, 1, '2023-05-06 07:08:09')");
    pm_test_exec(f->db, "INSERT INTO goose_db_version (version_id, is_applied) VALUES (2, 1)");
    pm_test_exec(f->db, "INSERT INTO goose_db_version (version_id, is_applied) VALUES (3, 1)");
    pm_test_exec(f->db, "INSERT INTO goose_db_version (version_id, is_applied) VALUES (3, 0)");
    pm_test_exec(f->db, "CREATE TABLE t_one (id INTEGER PRIMARY KEY, name TEXT)");
    pm_test_exec(f->db, "CREATE TABLE t_two (id INTEGER PRIMARY KEY, name TEXT)");
    pm_test_ok(pm_engine_adopt(f->engine, "goose", 0, &f->report, &f->err), &f->err);
    assert_string_equal(f->events, "001_one;002_two;");
    assert_int_equal(pm_test_int(f->db, "SELECT applied_at FROM seaql_migrations WHERE version = "
                                        "'001_one'"),
                     1683356889); /* 2023-05-06 07:08:09 UTC */
    size_t applied = 0;
    pm_test_ok(pm_engine_up(f->engine, PM_ALL, &applied, &f->err), &f->err);
    assert_int_equal(applied, 1);
    assert_int_equal(pm_test_int(f->db, "SELECT count(*) FROM goose_db_version"), 5);
}

static void sqlx_history(pm_db *db, int second_success)
{
    char sql[300];
    pm_test_exec(db, sqlx_table);
    pm_test_exec(db, "INSERT INTO _sqlx_migrations (version, description, installed_on, success, "
                     "checksum, execution_time) VALUES (1, 'one', '2024-02-03 04:05:06', 1, "
                     "X'0102', 1000)");
    snprintf(sql, sizeof(sql),
             "INSERT INTO _sqlx_migrations (version, description, success, checksum, "
             "execution_time) VALUES (2, 'two', %d, X'0304', 2000)",
             second_success);
    pm_test_exec(db, sql);
}

static void test_adopt__sqlx_versions_are_recorded_with_their_time(void **state)
{
    fixture *f = *state;
    sqlx_history(f->db, 1);
    pm_test_ok(pm_engine_adopt(f->engine, NULL, 0, &f->report, &f->err), &f->err);
    assert_string_equal(f->report.tool, "sqlx");
    assert_int_equal(f->report.recorded, 2);
    assert_int_equal(pm_test_int(f->db, "SELECT applied_at FROM seaql_migrations WHERE version = "
                                        "'001_one'"),
                     1706933106); /* 2024-02-03 04:05:06 UTC */
}

static void test_adopt__sqlx_failed_is_refused_unless_allowed(void **state)
{
    fixture *f = *state;
    sqlx_history(f->db, 0);
    assert_int_equal(pm_engine_adopt(f->engine, "sqlx", 0, &f->report, &f->err), PM_EFAILED);
    assert_contains(f->err.message, "_sqlx_migrations records one migration as failed: 002_two");
    assert_false(pm_test_has_table(f->db, "seaql_migrations"));
    pm_test_ok(pm_engine_adopt(f->engine, "SQLX", PM_ADOPT_ALLOW_FAILED, &f->report, &f->err),
               &f->err);
    assert_int_equal(f->report.failed, 1);
}

static void test_adopt__diesel_dashed_versions_match_its_folders(void **state)
{
    fixture *f = *state;
    use_set(f, diesel_set, 2);
    pm_test_exec(f->db, diesel_table);
    pm_test_exec(f->db, "INSERT INTO __diesel_schema_migrations (version, run_on) VALUES "
                        "('20170101000000', '2017-01-01 10:00:00')");
    size_t applied = 0;
    assert_int_equal(pm_engine_up(f->engine, PM_ALL, &applied, &f->err), PM_EFOREIGN);
    assert_contains(f->err.message, "diesel's history (__diesel_schema_migrations: 1 version), 1 "
                                    "migration of this set");
    pm_test_exec(f->db, "CREATE TABLE t_users (id INTEGER PRIMARY KEY, name TEXT)");
    pm_test_ok(pm_engine_adopt(f->engine, NULL, 0, &f->report, &f->err), &f->err);
    assert_string_equal(f->events, "2017-01-01-000000_create_users;");
    pm_test_ok(pm_engine_up(f->engine, PM_ALL, &applied, &f->err), &f->err);
    assert_int_equal(applied, 1);
    assert_true(pm_test_has_table(f->db, "t_posts"));
}

static void test_adopt__flyway_dotted_versions_match_and_repeatables_are_ignored(void **state)
{
    fixture *f = *state;
    use_set(f, flyway_set, 3);
    pm_test_exec(f->db, flyway_table);
    flyway_row(f->db, 1, "1", "SQL", "V1__init.sql", 1);
    flyway_row(f->db, 2, "1.1", "SQL", "V1.1__more.sql", 1);
    flyway_row(f->db, 3, NULL, "SQL", "R__views.sql", 1);
    pm_test_exec(f->db, "CREATE TABLE t_init (id INTEGER PRIMARY KEY, name TEXT)");
    pm_test_exec(f->db, "CREATE TABLE t_more (id INTEGER PRIMARY KEY, name TEXT)");
    size_t applied = 0;
    assert_int_equal(pm_engine_up(f->engine, PM_ALL, &applied, &f->err), PM_EFOREIGN);
    assert_contains(f->err.message, "flyway's history (flyway_schema_history: 2 versions)");
    pm_test_ok(pm_engine_adopt(f->engine, "flyway", 0, &f->report, &f->err), &f->err);
    assert_string_equal(f->events, "V1__init;V1.1__more;");
    assert_int_equal(pm_test_int(f->db, "SELECT applied_at FROM seaql_migrations WHERE version = "
                                        "'V1.1__more'"),
                     1646370367); /* 2022-03-04 05:06:07 UTC */
    pm_test_ok(pm_engine_up(f->engine, PM_ALL, &applied, &f->err), &f->err);
    assert_int_equal(applied, 1);
    assert_true(pm_test_has_table(f->db, "t_later"));
}

static void test_adopt__flyway_baseline_covers_what_is_below_it_and_failed_is_refused(void **state)
{
    fixture *f = *state;
    use_set(f, flyway_set, 3);
    pm_test_exec(f->db, flyway_table);
    flyway_row(f->db, 1, "1.1", "BASELINE", "<< Flyway Baseline >>", 1);
    flyway_row(f->db, 2, "1.10", "SQL", "V1.10__later.sql", 0);
    assert_int_equal(pm_engine_adopt(f->engine, NULL, 0, &f->report, &f->err), PM_EFAILED);
    assert_contains(f->err.message, "records one migration as failed: V1.10__later");
    pm_test_ok(pm_engine_adopt(f->engine, NULL, PM_ADOPT_ALLOW_FAILED, &f->report, &f->err),
               &f->err);
    assert_string_equal(f->events, "V1__init;V1.1__more;V1.10__later;");
    assert_int_equal(f->report.failed, 1);
}

/* ==== Matching, idempotence, dry runs ==== */

static void test_adopt__unmatched_versions_are_refused_or_left_out(void **state)
{
    fixture *f = *state;
    dbmate_history(f->db);
    pm_test_exec(f->db, "INSERT INTO schema_migrations (version) VALUES ('007')");
    pm_test_exec(f->db, "INSERT INTO schema_migrations (version) VALUES ('20990101000000')");
    assert_int_equal(pm_engine_adopt(f->engine, NULL, 0, &f->report, &f->err), PM_EDRIFT);
    assert_contains(f->err.message, "nothing was recorded: schema_migrations records 2 versions "
                                    "this set lacks: 007, 20990101000000");
    assert_int_equal(f->report.unmatched, 2);
    assert_false(pm_test_has_table(f->db, "seaql_migrations"));
    pm_test_ok(pm_engine_adopt(f->engine, NULL, PM_ADOPT_ALLOW_UNMATCHED, &f->report, &f->err),
               &f->err);
    assert_int_equal(f->report.recorded, 2);
    assert_int_equal(f->report.unmatched, 2);
    assert_int_equal(pm_test_history_count(f->db), 2);
}

static void test_adopt__adopting_twice_changes_nothing(void **state)
{
    fixture *f = *state;
    dbmate_history(f->db);
    pm_test_ok(pm_engine_adopt(f->engine, NULL, 0, &f->report, &f->err), &f->err);
    int64_t at = pm_test_int(f->db, "SELECT applied_at FROM seaql_migrations WHERE version = "
                                    "'001_one'");
    f->events[0] = '\0';
    pm_test_ok(pm_engine_adopt(f->engine, NULL, 0, &f->report, &f->err), &f->err);
    assert_int_equal(f->report.recorded, 0);
    assert_int_equal(f->report.already, 2);
    assert_string_equal(f->events, "");
    assert_int_equal(pm_test_history_count(f->db), 2);
    assert_int_equal(pm_test_int(f->db, "SELECT applied_at FROM seaql_migrations WHERE version = "
                                        "'001_one'"),
                     at);
}

static void test_adopt__dry_run_reports_and_writes_nothing(void **state)
{
    fixture *f = *state;
    dbmate_history(f->db);
    pm_test_ok(pm_engine_adopt(f->engine, NULL, PM_ADOPT_DRY_RUN, &f->report, &f->err), &f->err);
    assert_int_equal(f->report.recorded, 2);
    assert_string_equal(f->events, "001_one;002_two;");
    assert_false(pm_test_has_table(f->db, "seaql_migrations"));
}

static void test_adopt__two_tools_tables_need_the_tool_named(void **state)
{
    fixture *f = *state;
    dbmate_history(f->db);
    sqlx_history(f->db, 1);
    size_t applied = 0;
    assert_int_equal(pm_engine_up(f->engine, PM_ALL, &applied, &f->err), PM_EFOREIGN);
    assert_contains(f->err.message, "dbmate's history");
    assert_contains(f->err.message, " and sqlx's history");
    assert_int_equal(pm_engine_adopt(f->engine, NULL, 0, &f->report, &f->err), PM_EFOREIGN);
    assert_contains(f->err.message, "dbmate (schema_migrations) and sqlx (_sqlx_migrations)");
    assert_false(pm_test_has_table(f->db, "seaql_migrations"));
    pm_test_ok(pm_engine_adopt(f->engine, "dbmate", 0, &f->report, &f->err), &f->err);
    assert_int_equal(f->report.recorded, 2);
}

static void test_adopt__absent_or_unknown_tool_is_an_error(void **state)
{
    fixture *f = *state;
    assert_int_equal(pm_engine_adopt(f->engine, NULL, 0, &f->report, &f->err), PM_ENOTFOUND);
    assert_int_equal(pm_engine_adopt(f->engine, "goose", 0, &f->report, &f->err), PM_ENOTFOUND);
    assert_contains(f->err.message, "no goose history: no table goose_db_version");
    assert_int_equal(pm_engine_adopt(f->engine, "liquibase", 0, &f->report, &f->err), PM_EINVAL);
    dbmate_history(f->db); /* dbmate's table is not golang-migrate's: it has no dirty column */
    assert_int_equal(pm_engine_adopt(f->engine, "golang-migrate", 0, &f->report, &f->err),
                     PM_ENOTFOUND);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_adopt__up_refuses_dbmate_history_before_creating_anything),
        T(test_adopt__status_down_and_dry_run_up_refuse_too),
        T(test_adopt__tool_table_without_versions_is_no_reason_to_refuse),
        T(test_adopt__dbmate_versions_are_recorded_then_up_runs_only_new),
        T(test_adopt__golang_migrate_covers_every_version_up_to_its_one),
        T(test_adopt__golang_migrate_dirty_is_refused_or_recorded_failed),
        T(test_adopt__goose_last_row_of_each_version_decides),
        T(test_adopt__sqlx_versions_are_recorded_with_their_time),
        T(test_adopt__sqlx_failed_is_refused_unless_allowed),
        T(test_adopt__diesel_dashed_versions_match_its_folders),
        T(test_adopt__flyway_dotted_versions_match_and_repeatables_are_ignored),
        T(test_adopt__flyway_baseline_covers_what_is_below_it_and_failed_is_refused),
        T(test_adopt__unmatched_versions_are_refused_or_left_out),
        T(test_adopt__adopting_twice_changes_nothing),
        T(test_adopt__dry_run_reports_and_writes_nothing),
        T(test_adopt__two_tools_tables_need_the_tool_named),
        T(test_adopt__absent_or_unknown_tool_is_an_error),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
