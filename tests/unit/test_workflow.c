/* test_workflow.c: the workflow commands' library side on in-memory SQLite:
 * the schema snapshot's exact text, dry runs, fresh/reset/refresh and
 * verify. The same behaviour on every backend is in the conformance suite;
 * here are the exact strings SQLite gives. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "poblysh/migrations.h"
#include "testutil.h"

#define TENANTS "m2024_01_01_000001_create_tenants"

/* The golden snapshot of the builtin set on SQLite. */
static const char tenants_schema[] =
    "table tenants\n"
    "  column id TEXT NOT NULL\n"
    "  column name TEXT NULL\n"
    "  column created_at TEXT NOT NULL DEFAULT strftime('%Y-%m-%dT%H:%M:%fZ', 'now')\n"
    "  primary key (id)\n";

/* ==== Fixture ==== */

#define KEPT_MAX 64

typedef struct fixture {
    pm_db *db;
    pm_error err;
    pm_engine *engines[8];
    size_t nengines;
    void *kept[KEPT_MAX]; /* freed by teardown, so a failed assertion leaks nothing */
    size_t nkept;
} fixture;

static void *keep(fixture *f, void *p)
{
    assert_true(f->nkept < KEPT_MAX);
    f->kept[f->nkept++] = p;
    return p;
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    if (!f)
        return -1;
    f->db = pm_test_open("sqlite::memory:");
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    for (size_t i = 0; i < f->nengines; i++)
        pm_engine_free(f->engines[i]);
    pm_db_close(f->db);
    pm_error_clear(&f->err);
    for (size_t i = 0; i < f->nkept; i++)
        free(f->kept[i]);
    free(f);
    return 0;
}

static pm_engine *engine_with(fixture *f, const pm_migration *const *set, size_t count,
                              const pm_engine_options *opts)
{
    pm_engine *engine = NULL;
    pm_test_ok(pm_engine_new(&engine, f->db, set, count, opts, &f->err), &f->err);
    assert_true(f->nengines < PM_ARRAY_LEN(f->engines));
    f->engines[f->nengines++] = engine;
    return engine;
}

static char *schema(fixture *f)
{
    char *text = NULL;
    pm_test_ok(pm_db_schema(f->db, &text, &f->err), &f->err);
    assert_non_null(text);
    return keep(f, text);
}

static const pm_migration *tenants_migration(void)
{
    size_t count = 0;
    const pm_migration *const *set = pm_builtin_migrations(&count);
    assert_true(count >= 1);
    assert_string_equal(set[0]->name, TENANTS);
    return set[0];
}

/* ==== The schema snapshot ==== */

static void test_workflow__tenants_schema_on_sqlite_is_the_golden_text(void **state)
{
    fixture *f = *state;
    size_t count = 0;
    const pm_migration *const *set = pm_builtin_migrations(&count);
    pm_engine *engine = engine_with(f, set, count, NULL);
    pm_test_ok(pm_engine_up(engine, PM_ALL, NULL, &f->err), &f->err);
    assert_string_equal(schema(f), tenants_schema);
    /* and again: reading changes nothing */
    assert_string_equal(schema(f), tenants_schema);
}

static void test_workflow__empty_database_has_empty_schema_text(void **state)
{
    fixture *f = *state;
    assert_string_equal(schema(f), "");
    /* the history table alone is left out too */
    const pm_migration *const set[] = {tenants_migration()};
    pm_engine *engine = engine_with(f, set, 1, NULL);
    pm_test_ok(pm_engine_up(engine, PM_ALL, NULL, &f->err), &f->err);
    pm_test_ok(pm_engine_down(engine, 1, NULL, &f->err), &f->err);
    assert_true(pm_test_has_table(f->db, "seaql_migrations"));
    assert_string_equal(schema(f), "");
}

static void test_workflow__schema_sorts_objects_and_keeps_column_order(void **state)
{
    fixture *f = *state;
    pm_test_exec(f->db, "CREATE TABLE zeta (z INTEGER NOT NULL, a TEXT, m REAL DEFAULT 1.5)");
    pm_test_exec(f->db, "CREATE TABLE alpha (k INTEGER, j INTEGER, v BLOB, PRIMARY KEY (k, j))");
    pm_test_exec(f->db, "CREATE VIEW beta AS SELECT z FROM zeta");
    pm_test_exec(f->db, "CREATE INDEX zeta_m_a ON zeta (m, a)");
    pm_test_exec(f->db, "CREATE UNIQUE INDEX alpha_v ON alpha (v)");
    pm_test_exec(f->db, "CREATE TABLE child (id INTEGER PRIMARY KEY, k INTEGER, j INTEGER, "
                        "z INTEGER REFERENCES zeta (z) ON DELETE SET NULL, "
                        "FOREIGN KEY (k, j) REFERENCES alpha (k, j) ON DELETE RESTRICT, "
                        "UNIQUE (j, k))");
    assert_string_equal(schema(f),
                        "table alpha\n"
                        "  column k INTEGER NOT NULL\n"
                        "  column j INTEGER NOT NULL\n"
                        "  column v BLOB NULL\n"
                        "  primary key (k, j)\n"
                        "  unique index alpha_v (v)\n"
                        "table child\n"
                        "  column id INTEGER NOT NULL\n"
                        "  column k INTEGER NULL\n"
                        "  column j INTEGER NULL\n"
                        "  column z INTEGER NULL\n"
                        "  primary key (id)\n"
                        "  unique (j, k)\n"
                        "  foreign key (k, j) references alpha (k, j) on delete restrict\n"
                        "  foreign key (z) references zeta (z) on delete set null\n"
                        "table zeta\n"
                        "  column z INTEGER NOT NULL\n"
                        "  column a TEXT NULL\n"
                        "  column m REAL NULL DEFAULT 1.5\n"
                        "  index zeta_m_a (m, a)\n"
                        "view beta\n");
}

static void test_workflow__schema_primary_key_follows_key_order_not_column_order(void **state)
{
    fixture *f = *state;
    pm_test_exec(f->db, "CREATE TABLE pairs (a INTEGER, b INTEGER, PRIMARY KEY (b, a))");
    assert_non_null(strstr(schema(f), "  primary key (b, a)\n"));
}

/* ==== Dry run ==== */

typedef struct sql_log {
    char text[8192]; /* "[migration] sql\n" per statement */
    size_t count;
} sql_log;

static void log_sql(const char *migration, const char *sql, void *ctx)
{
    sql_log *log = ctx;
    size_t len = strlen(log->text);
    snprintf(log->text + len, sizeof(log->text) - len, "[%s] %s\n", migration ? migration : "-",
             sql);
    log->count++;
}

static pm_engine *dry_engine(fixture *f, const pm_migration *const *set, size_t count, sql_log *log)
{
    pm_engine_options opts = PM_ENGINE_OPTIONS_INIT;
    opts.dry_run = log_sql;
    opts.dry_run_ctx = log;
    return engine_with(f, set, count, &opts);
}

static void test_workflow__dry_run_of_tenants_records_its_exact_sql_in_order(void **state)
{
    fixture *f = *state;
    const pm_migration *const set[] = {tenants_migration()};
    sql_log *log = keep(f, calloc(1, sizeof(sql_log)));
    size_t n = 0;
    pm_test_ok(pm_engine_up(dry_engine(f, set, 1, log), PM_ALL, &n, &f->err), &f->err);
    assert_int_equal(n, 1);
    assert_string_equal(schema(f), "");
    assert_false(pm_test_has_table(f->db, "seaql_migrations"));
    /* bookkeeping first, then the migration in its transaction */
    const char *create = strstr(log->text, "[" TENANTS "] CREATE TABLE \"tenants\" (\"id\" TEXT "
                                           "PRIMARY KEY NOT NULL, \"name\" TEXT NULL, "
                                           "\"created_at\" TEXT NOT NULL DEFAULT");
    const char *history = strstr(log->text, "[-] CREATE TABLE IF NOT EXISTS \"seaql_migrations\"");
    const char *insert = strstr(log->text, "[" TENANTS "] INSERT INTO \"seaql_migrations\"");
    const char *commit = create ? strstr(create, "[" TENANTS "] COMMIT\n") : NULL;
    if (!create || !history || !insert || !commit)
        fail_msg("unexpected dry run:\n%s", log->text);
    assert_true(history < create);
    assert_true(create < insert);
    assert_true(insert < commit);
    assert_non_null(strstr(insert, "'" TENANTS "'"));
    assert_non_null(strstr(log->text, "[" TENANTS "] BEGIN\n"));
}

static int up_nt(pm_schema *s, const void *data)
{
    (void)data;
    return pm_schema_exec(s, "CREATE TABLE t_nt (id INTEGER)");
}

static int down_nt(pm_schema *s, const void *data)
{
    (void)data;
    return pm_schema_exec(s, "DROP TABLE t_nt");
}

static const pm_migration nt = {"m2024_02_01_000001_nt",     up_nt,       down_nt,
                                PM_MIGRATION_NO_TRANSACTION, "sha256:nt", NULL};

static void
test_workflow__dry_run_of_migration_without_transaction_records_started_row(void **state)
{
    fixture *f = *state;
    const pm_migration *const set[] = {&nt};
    sql_log *log = keep(f, calloc(1, sizeof(sql_log)));
    size_t n = 0;
    pm_test_ok(pm_engine_up(dry_engine(f, set, 1, log), PM_ALL, &n, &f->err), &f->err);
    assert_int_equal(n, 1);
    assert_string_equal(schema(f), "");
    assert_int_equal(pm_test_history_count(f->db), 0);
    const char *started = strstr(log->text, "'started'");
    const char *create =
        strstr(log->text, "[m2024_02_01_000001_nt] CREATE TABLE t_nt (id INTEGER)\n");
    if (!started || !create)
        fail_msg("unexpected dry run:\n%s", log->text);
    assert_true(started < create);
    assert_non_null(strstr(create, "'applied'")); /* marked applied after it ran */

    /* down of the really applied migration, dry */
    pm_engine *real = engine_with(f, set, 1, NULL);
    pm_test_ok(pm_engine_up(real, PM_ALL, NULL, &f->err), &f->err);
    sql_log *down = keep(f, calloc(1, sizeof(sql_log)));
    pm_test_ok(pm_engine_down(dry_engine(f, set, 1, down), 1, &n, &f->err), &f->err);
    assert_int_equal(n, 1);
    assert_non_null(strstr(down->text, "[m2024_02_01_000001_nt] DROP TABLE t_nt\n"));
    assert_non_null(strstr(down->text, "DELETE FROM \"seaql_migrations\""));
    assert_true(pm_test_has_table(f->db, "t_nt"));
    assert_int_equal(pm_test_history_count(f->db), 1);
}

static void test_workflow__dry_run_with_nothing_to_do_records_no_migration(void **state)
{
    fixture *f = *state;
    const pm_migration *const set[] = {tenants_migration()};
    pm_test_ok(pm_engine_up(engine_with(f, set, 1, NULL), PM_ALL, NULL, &f->err), &f->err);
    sql_log *log = keep(f, calloc(1, sizeof(sql_log)));
    size_t n = 99;
    pm_test_ok(pm_engine_up(dry_engine(f, set, 1, log), PM_ALL, &n, &f->err), &f->err);
    assert_int_equal(n, 0);
    assert_null(strstr(log->text, "[" TENANTS "]"));
    sql_log *down = keep(f, calloc(1, sizeof(sql_log)));
    pm_test_ok(pm_engine_down(dry_engine(f, set, 1, down), 5, &n, &f->err), &f->err);
    assert_int_equal(n, 1); /* only one is applied */
    assert_string_equal(schema(f), tenants_schema);
}

/* A dry-run engine changes nothing, whatever it is asked to do. */
static void test_workflow__fresh_on_a_dry_run_engine_drops_nothing(void **state)
{
    fixture *f = *state;
    const pm_migration *const set[] = {tenants_migration()};
    pm_test_ok(pm_engine_up(engine_with(f, set, 1, NULL), PM_ALL, NULL, &f->err), &f->err);
    pm_test_exec(f->db, "CREATE TABLE keep_me (id INTEGER)");
    pm_test_exec(f->db, "INSERT INTO tenants (id) VALUES ('8f14e45f-ceea-467f-a9f7-5e2c1d1b2a3c')");
    char *before = schema(f);
    sql_log *log = keep(f, calloc(1, sizeof(sql_log)));
    pm_engine_fresh(dry_engine(f, set, 1, log), NULL, &f->err); /* refusing would do too */
    assert_true(pm_test_has_table(f->db, "keep_me"));
    assert_string_equal(schema(f), before);
    assert_int_equal(pm_test_int(f->db, "SELECT count(*) FROM tenants"), 1);
    assert_int_equal(pm_test_history_count(f->db), 1);
}

/* ==== fresh, reset, refresh ==== */

typedef struct events {
    char text[1024]; /* "dropped:table t;applied:m;..." */
} events;

static void on_event(const pm_event *ev, void *ctx)
{
    events *e = ctx;
    static const char *const kinds[] = {"applying", "applied",  "reverting", "reverted",
                                        "skipped",  "failed",   "dropped",   "adopted",
                                        "retrying", "will-drop"};
    size_t len = strlen(e->text);
    snprintf(e->text + len, sizeof(e->text) - len, "%s:%s;",
             (unsigned)ev->kind < PM_ARRAY_LEN(kinds) ? kinds[ev->kind] : "?", ev->migration);
}

static void test_workflow__fresh_lists_what_it_drops_then_drops_it_then_applies(void **state)
{
    fixture *f = *state;
    const pm_migration *const set[] = {tenants_migration()};
    pm_test_ok(pm_engine_up(engine_with(f, set, 1, NULL), PM_ALL, NULL, &f->err), &f->err);
    pm_test_exec(f->db, "CREATE TABLE stray (id INTEGER)");
    pm_test_exec(f->db, "CREATE VIEW stray_view AS SELECT id FROM stray");
    events *ev = keep(f, calloc(1, sizeof(events)));
    pm_engine_options opts = PM_ENGINE_OPTIONS_INIT;
    opts.progress = on_event;
    opts.progress_ctx = ev;
    size_t applied = 0;
    pm_test_ok(pm_engine_fresh(engine_with(f, set, 1, &opts), &applied, &f->err), &f->err);
    assert_int_equal(applied, 1);
    assert_string_equal(ev->text, "will-drop:view stray_view;will-drop:table stray;"
                                  "will-drop:table tenants;dropped:view stray_view;"
                                  "dropped:table stray;dropped:table tenants;"
                                  "applying:" TENANTS ";applied:" TENANTS ";");
    assert_string_equal(schema(f), tenants_schema);
    assert_int_equal(pm_test_history_count(f->db), 1);
}

static void test_workflow__reset_then_refresh_on_memory(void **state)
{
    fixture *f = *state;
    const pm_migration *const set[] = {tenants_migration()};
    pm_engine *engine = engine_with(f, set, 1, NULL);
    size_t reverted = 9, applied = 9;
    pm_test_ok(pm_engine_refresh(engine, &reverted, &applied, &f->err), &f->err);
    assert_int_equal(reverted, 0);
    assert_int_equal(applied, 1);
    pm_test_exec(f->db, "INSERT INTO tenants (id) VALUES ('8f14e45f-ceea-467f-a9f7-5e2c1d1b2a3c')");
    pm_test_ok(pm_engine_refresh(engine, &reverted, &applied, &f->err), &f->err);
    assert_int_equal(reverted, 1);
    assert_int_equal(applied, 1);
    assert_int_equal(pm_test_int(f->db, "SELECT count(*) FROM tenants"), 0);
    pm_test_ok(pm_engine_reset(engine, &reverted, &f->err), &f->err);
    assert_int_equal(reverted, 1);
    assert_string_equal(schema(f), "");
    assert_int_equal(pm_test_history_count(f->db), 0);
}

/* ==== verify ==== */

typedef struct verified {
    char text[2048]; /* "NAME RESULT\nDETAIL" per report */
    size_t count, problems;
} verified;

static void on_verified(const char *migration, pm_verify_result result, const char *detail,
                        void *ctx)
{
    verified *v = ctx;
    static const char *const names[] = {"ok", "not-restored", "down-failed", "up-failed",
                                        "column-order"};
    size_t len = strlen(v->text);
    snprintf(v->text + len, sizeof(v->text) - len, "%s %s\n%s", migration, names[result],
             result == PM_VERIFY_OK                                                 ? ""
             : result == PM_VERIFY_NOT_RESTORED || result == PM_VERIFY_COLUMN_ORDER ? detail
                                                                                    : "(error)\n");
    v->count++;
    v->problems += result != PM_VERIFY_OK && result != PM_VERIFY_COLUMN_ORDER;
}

static int up_t_v(pm_schema *s, const void *data)
{
    (void)data;
    return pm_schema_exec(s, "CREATE TABLE t_v (id INTEGER PRIMARY KEY, n INTEGER, label TEXT)");
}

static int down_t_v(pm_schema *s, const void *data)
{
    (void)data;
    return pm_schema_exec(s, "DROP TABLE t_v");
}

static int up_index(pm_schema *s, const void *data)
{
    (void)data;
    return pm_schema_exec(s, "CREATE INDEX IF NOT EXISTS t_v_n ON t_v (n)");
}

static int down_nothing(pm_schema *s, const void *data)
{
    (void)s;
    (void)data;
    return 0;
}

static int up_default(pm_schema *s, const void *data)
{
    (void)data;
    bool has = false;
    int rc = pm_schema_has_column(s, "t_v", "flag", &has);
    return rc == 0 && !has ? pm_schema_exec(s, "ALTER TABLE t_v ADD COLUMN flag INTEGER DEFAULT 0")
                           : rc;
}

static int down_wrong_column(pm_schema *s, const void *data)
{
    (void)data;
    return pm_schema_exec(s, "ALTER TABLE t_v DROP COLUMN label");
}

static const pm_migration v_table = {"m2024_03_01_000001_t_v", up_t_v, down_t_v, 0, NULL, NULL};
static const pm_migration v_index = {
    "m2024_03_02_000001_t_v_index", up_index, down_nothing, 0, NULL, NULL};
static const pm_migration v_column = {
    "m2024_03_03_000001_t_v_flag", up_default, down_wrong_column, 0, NULL, NULL};

static void test_workflow__verify_diff_shows_only_the_objects_that_differ(void **state)
{
    fixture *f = *state;
    const pm_migration *const set[] = {tenants_migration(), &v_table, &v_index, &v_column};
    verified *v = keep(f, calloc(1, sizeof(verified)));
    size_t problems = 0;
    pm_test_ok(pm_engine_verify(engine_with(f, set, 4, NULL), on_verified, v, &problems, &f->err),
               &f->err);
    assert_int_equal(problems, 2);
    assert_int_equal(v->problems, 2);
    assert_string_equal(v->text, TENANTS " ok\n"
                                         "m2024_03_01_000001_t_v ok\n"
                                         "m2024_03_02_000001_t_v_index not-restored\n"
                                         "  table t_v\n"
                                         "+   index t_v_n (n)\n"
                                         "m2024_03_03_000001_t_v_flag not-restored\n"
                                         "  table t_v\n"
                                         "-   column label TEXT NULL\n"
                                         "+   column flag INTEGER NULL DEFAULT 0\n");
    assert_null(strstr(v->text, "tenants\n")); /* an object that did not change is not shown */
}

static void test_workflow__verify_leaves_every_migration_applied(void **state)
{
    fixture *f = *state;
    const pm_migration *const set[] = {tenants_migration(), &nt, &v_table};
    verified *v = keep(f, calloc(1, sizeof(verified)));
    size_t problems = 9;
    pm_engine *engine = engine_with(f, set, 3, NULL);
    pm_test_ok(pm_engine_verify(engine, on_verified, v, &problems, &f->err), &f->err);
    assert_int_equal(problems, 0);
    assert_string_equal(v->text,
                        TENANTS " ok\nm2024_02_01_000001_nt ok\nm2024_03_01_000001_t_v ok\n");
    assert_int_equal(pm_test_history_count(f->db), 3);
    pm_status *st = NULL;
    pm_test_ok(pm_engine_status(engine, &st, &f->err), &f->err);
    assert_int_equal(pm_status_count_state(st, PM_STATE_APPLIED), 3);
    pm_status_free(st);
}

static int up_add_twice(pm_schema *s, const void *data)
{
    (void)data;
    return pm_schema_exec(s, "ALTER TABLE t_v ADD COLUMN flag INTEGER");
}

static int up_drop_n(pm_schema *s, const void *data)
{
    (void)data;
    return pm_schema_exec(s, "ALTER TABLE t_v DROP COLUMN n");
}

static int down_add_n(pm_schema *s, const void *data)
{
    (void)data;
    return pm_schema_exec(s, "ALTER TABLE t_v ADD COLUMN n INTEGER");
}

static const pm_migration v_not_again = {
    "m2024_03_03_000001_t_v_flag", up_add_twice, down_wrong_column, 0, NULL, NULL};
static const pm_migration v_reorder = {
    "m2024_03_02_000001_t_v_drop_n", up_drop_n, down_add_n, 0, NULL, NULL};
static const pm_migration v_later = {
    "m2024_04_01_000001_t_v_later", up_index, down_nothing, 0, NULL, NULL};

static void
test_workflow__verify_reports_an_up_that_fails_after_a_wrong_down_and_goes_on(void **state)
{
    fixture *f = *state;
    const pm_migration *const set[] = {&v_table, &v_not_again, &v_later};
    verified *v = keep(f, calloc(1, sizeof(verified)));
    size_t problems = 0;
    pm_test_ok(pm_engine_verify(engine_with(f, set, 3, NULL), on_verified, v, &problems, &f->err),
               &f->err);
    assert_int_equal(problems, 3);
    /* The migration after the failure is checked all the same. */
    assert_string_equal(v->text, "m2024_03_01_000001_t_v ok\n"
                                 "m2024_03_03_000001_t_v_flag not-restored\n"
                                 "  table t_v\n"
                                 "-   column label TEXT NULL\n"
                                 "+   column flag INTEGER NULL\n"
                                 "m2024_03_03_000001_t_v_flag up-failed\n(error)\n"
                                 "m2024_04_01_000001_t_v_later not-restored\n"
                                 "  table t_v\n"
                                 "+   index t_v_n (n)\n");
}

static void test_workflow__verify_warns_of_columns_in_another_order_without_a_problem(void **state)
{
    fixture *f = *state;
    const pm_migration *const set[] = {&v_table, &v_reorder};
    verified *v = keep(f, calloc(1, sizeof(verified)));
    size_t problems = 0;
    pm_test_ok(pm_engine_verify(engine_with(f, set, 2, NULL), on_verified, v, &problems, &f->err),
               &f->err);
    assert_int_equal(problems, 0);
    assert_int_equal(v->problems, 0);
    assert_string_equal(v->text, "m2024_03_01_000001_t_v ok\n"
                                 "m2024_03_02_000001_t_v_drop_n column-order\n"
                                 "  table t_v (the same columns in another order)\n"
                                 "-   columns: id, n, label\n"
                                 "+   columns: id, label, n\n");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_workflow__tenants_schema_on_sqlite_is_the_golden_text,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_workflow__empty_database_has_empty_schema_text, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_workflow__schema_sorts_objects_and_keeps_column_order,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_workflow__schema_primary_key_follows_key_order_not_column_order, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_workflow__dry_run_of_tenants_records_its_exact_sql_in_order, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_workflow__dry_run_of_migration_without_transaction_records_started_row, setup,
            teardown),
        cmocka_unit_test_setup_teardown(
            test_workflow__dry_run_with_nothing_to_do_records_no_migration, setup, teardown),
        cmocka_unit_test_setup_teardown(test_workflow__fresh_on_a_dry_run_engine_drops_nothing,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_workflow__fresh_lists_what_it_drops_then_drops_it_then_applies, setup, teardown),
        cmocka_unit_test_setup_teardown(test_workflow__reset_then_refresh_on_memory, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            test_workflow__verify_diff_shows_only_the_objects_that_differ, setup, teardown),
        cmocka_unit_test_setup_teardown(test_workflow__verify_leaves_every_migration_applied, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            test_workflow__verify_reports_an_up_that_fails_after_a_wrong_down_and_goes_on, setup,
            teardown),
        cmocka_unit_test_setup_teardown(
            test_workflow__verify_warns_of_columns_in_another_order_without_a_problem, setup,
            teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
