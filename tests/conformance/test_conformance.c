/* test_conformance.c: the driver conformance suite, written once and run
 * against every backend: `test_conformance URL`. Each test starts from a
 * database without the suite's tables, so it works on in-memory SQLite, a
 * file, or a server. A driver is done when this suite passes on a real
 * database. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../core/src/internal.h"
#include "poblysh/migrations.h"
#include "testutil.h"

static const char *url;

static const char *const suite_tables[] = {"conf_types", "conf_nt", "conf_slow", "conf_a", "conf_b", "conf_c",
                                           "conf_bad", "tenants", "seaql_migrations"};

static const pm_migration ma = PM_TEST_MIGRATION("m2024_03_01_000001_conf_a", "conf_a");
static const pm_migration mb = PM_TEST_MIGRATION("m2024_03_02_000001_conf_b", "conf_b");
static const pm_migration mc = PM_TEST_MIGRATION("m2024_03_03_000001_conf_c", "conf_c");
static const pm_migration mbad = PM_TEST_FAILING_MIGRATION("m2024_03_02_120000_conf_bad", "conf_bad");
static const pm_migration *const abc[] = {&ma, &mb, &mc};
static const pm_migration *const a_bad_c[] = {&ma, &mbad, &mc};

typedef struct fixture {
    pm_db *db;
    pm_error err;
} fixture;

static void drop_suite_tables(pm_db *db)
{
    for (size_t i = 0; i < PM_ARRAY_LEN(suite_tables); i++) {
        char sql[96];
        snprintf(sql, sizeof(sql), "DROP TABLE IF EXISTS %s", suite_tables[i]);
        pm_test_exec(db, sql);
    }
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    f->db = pm_test_open(url);
    drop_suite_tables(f->db);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    drop_suite_tables(f->db);
    pm_db_close(f->db);
    pm_error_clear(&f->err);
    free(f);
    return 0;
}

static pm_engine *engine_for(fixture *f, const pm_migration *const *set, size_t count)
{
    pm_engine *engine = NULL;
    pm_test_ok(pm_engine_new(&engine, f->db, set, count, NULL, &f->err), &f->err);
    return engine;
}

static bool is_memory(void)
{
    return strstr(url, ":memory:") != NULL;
}

/* ==== The baseline migration ==== */

static void test_conformance__builtin_set_creates_tenants_and_one_history_row(void **state)
{
    fixture *f = *state;
    size_t count = 0;
    const pm_migration *const *set = pm_builtin_migrations(&count);
    pm_engine *engine = engine_for(f, set, count);
    size_t applied = 0;
    pm_test_ok(pm_engine_up(engine, PM_ALL, &applied, &f->err), &f->err);
    assert_int_equal(applied, count);
    assert_true(pm_test_has_column(f->db, "tenants", "id"));
    assert_true(pm_test_has_column(f->db, "tenants", "name"));
    assert_true(pm_test_has_column(f->db, "tenants", "created_at"));
    assert_int_equal(pm_test_history_count(f->db), 1);
    /* The defaults work: a row needs only its id. */
    pm_test_exec(f->db, "INSERT INTO tenants (id) VALUES ('8f14e45f-ceea-467f-a9f7-5e2c1d1b2a3c')");
    char *created = pm_test_text(f->db, "SELECT created_at FROM tenants");
    assert_non_null(created);
    assert_true(strncmp(created, "20", 2) == 0); /* a timestamp in this century */
    free(created);
    pm_error err = PM_ERROR_INIT;
    assert_int_equal(pm_db_exec(f->db, "INSERT INTO tenants (name) VALUES ('no id')", &err), PM_EDB);
    pm_error_clear(&err);
    pm_test_exec(f->db, "DELETE FROM tenants");
    size_t reverted = 0;
    pm_test_ok(pm_engine_down(engine, 1, &reverted, &f->err), &f->err);
    assert_int_equal(reverted, 1);
    assert_false(pm_test_has_table(f->db, "tenants"));
    assert_int_equal(pm_test_history_count(f->db), 0);
    pm_engine_free(engine);
}

/* ==== Up, down, status ==== */

static void test_conformance__up_down_status_cycle(void **state)
{
    fixture *f = *state;
    pm_engine *engine = engine_for(f, abc, 3);
    size_t n = 0;
    pm_test_ok(pm_engine_up(engine, 2, &n, &f->err), &f->err);
    assert_int_equal(n, 2);
    pm_status *st = NULL;
    pm_test_ok(pm_engine_status(engine, &st, &f->err), &f->err);
    assert_int_equal(pm_status_count_state(st, PM_STATE_APPLIED), 2);
    assert_int_equal(pm_status_count_state(st, PM_STATE_PENDING), 1);
    assert_int_equal(pm_status_entry_at(st, 2)->state, PM_STATE_PENDING);
    pm_status_free(st);
    pm_test_ok(pm_engine_up(engine, PM_ALL, &n, &f->err), &f->err);
    assert_int_equal(n, 1);
    pm_test_ok(pm_engine_up(engine, PM_ALL, &n, &f->err), &f->err);
    assert_int_equal(n, 0);
    pm_test_ok(pm_engine_down(engine, 2, &n, &f->err), &f->err);
    assert_int_equal(n, 2);
    assert_true(pm_test_has_table(f->db, "conf_a"));
    assert_false(pm_test_has_table(f->db, "conf_b"));
    assert_false(pm_test_has_table(f->db, "conf_c"));
    assert_int_equal(pm_test_history_count(f->db), 1);
    pm_engine_free(engine);
}

static void test_conformance__failing_migration_leaves_no_history_row(void **state)
{
    fixture *f = *state;
    pm_engine *engine = engine_for(f, a_bad_c, 3);
    size_t n = 0;
    int rc = pm_engine_up(engine, PM_ALL, &n, &f->err);
    assert_true(rc < 0);
    assert_int_equal(n, 1);
    assert_string_equal(f->err.migration, "m2024_03_02_120000_conf_bad");
    assert_string_equal(f->err.statement, PM_TEST_BAD_STATEMENT);
    assert_non_null(f->err.db_code);
    assert_int_equal(pm_test_history_count(f->db), 1);
    assert_false(pm_test_has_table(f->db, "conf_c"));
    if (pm__db_flags(f->db) & PM_CONN_TRANSACTIONAL_DDL)
        assert_false(pm_test_has_table(f->db, "conf_bad"));
    pm_engine_free(engine);
}

static void test_conformance__unknown_applied_version_is_reported(void **state)
{
    fixture *f = *state;
    pm_engine *engine = engine_for(f, abc, 3);
    pm_test_ok(pm_engine_up(engine, 1, NULL, &f->err), &f->err);
    pm_test_exec(f->db, "INSERT INTO seaql_migrations (version, applied_at) VALUES "
                        "('m2030_01_01_000000_newer_build', 1893456000)");
    pm_status *st = NULL;
    pm_test_ok(pm_engine_status(engine, &st, &f->err), &f->err);
    assert_int_equal(pm_status_count(st), 4);
    const pm_status_entry *last = pm_status_entry_at(st, 3);
    assert_string_equal(last->name, "m2030_01_01_000000_newer_build");
    assert_int_equal(last->state, PM_STATE_MISSING);
    assert_int_equal(last->applied_at, 1893456000);
    pm_status_free(st);
    pm_engine_free(engine);
}

static void test_conformance__seaorm_history_table_is_upgraded(void **state)
{
    fixture *f = *state;
    pm_test_exec(f->db, "CREATE TABLE seaql_migrations (version VARCHAR(255) NOT NULL PRIMARY KEY, "
                        "applied_at BIGINT NOT NULL)");
    pm_test_exec(f->db, "INSERT INTO seaql_migrations VALUES ('m2024_03_01_000001_conf_a', 1704067200)");
    pm_test_exec(f->db, "CREATE TABLE conf_a (id INTEGER PRIMARY KEY, name TEXT)");
    pm_engine *engine = engine_for(f, abc, 3);
    size_t n = 0;
    pm_test_ok(pm_engine_up(engine, PM_ALL, &n, &f->err), &f->err);
    assert_int_equal(n, 2);
    assert_true(pm_test_has_column(f->db, "seaql_migrations", "checksum"));
    assert_true(pm_test_has_column(f->db, "seaql_migrations", "execution_ms"));
    assert_int_equal(pm_test_int(f->db, "SELECT applied_at FROM seaql_migrations WHERE version = "
                                        "'m2024_03_01_000001_conf_a'"),
                     1704067200);
    assert_int_equal(pm_test_int(f->db, "SELECT count(*) FROM seaql_migrations WHERE checksum IS NULL"),
                     3);
    pm_engine_free(engine);
}

/* ==== The schema builder on this backend ==== */

static int up_types(pm_schema *s, const void *data)
{
    (void)data;
    static const pm_column columns[] = {
        {.name = "id", .type = PM_TYPE_UUID, .flags = PM_PRIMARY_KEY},
        {.name = "title", .type = PM_TYPE_STRING, .length = 80, .flags = PM_NOT_NULL | PM_UNIQUE},
        {.name = "body", .type = PM_TYPE_TEXT, .flags = PM_NULL},
        {.name = "n", .type = PM_TYPE_INTEGER, .default_kind = PM_DEFAULT_NUMBER, .default_value = "7"},
        {.name = "big", .type = PM_TYPE_BIGINT},
        {.name = "flag", .type = PM_TYPE_BOOLEAN, .flags = PM_NOT_NULL, .default_kind = PM_DEFAULT_BOOL,
         .default_value = "true"},
        {.name = "ratio", .type = PM_TYPE_DOUBLE},
        {.name = "at", .type = PM_TYPE_TIMESTAMPTZ, .flags = PM_NOT_NULL, .default_kind = PM_DEFAULT_NOW},
        {.name = "day", .type = PM_TYPE_DATE},
        {.name = "doc", .type = PM_TYPE_JSON},
        {.name = "blob", .type = PM_TYPE_BINARY},
        {.name = "label", .type = PM_TYPE_STRING, .length = 20, .default_kind = PM_DEFAULT_STRING,
         .default_value = "it's"},
        {.name = "a_id", .type = PM_TYPE_INTEGER, .ref_table = "conf_a", .ref_column = "id",
         .on_delete = PM_FK_CASCADE},
    };
    static const pm_table t = {.name = "conf_types", .columns = columns, .ncolumns = PM_ARRAY_LEN(columns)};
    static const char *const idx_cols[] = {"n", "big"};
    static const pm_index idx = {.name = "conf_types_n_big", .table = "conf_types", .columns = idx_cols,
                                 .ncolumns = 2, .unique = true};
    static const pm_column extra = {.name = "extra", .type = PM_TYPE_TEXT};
    int rc = pm_schema_create_table(s, &t, PM_IF_NOT_EXISTS);
    if (rc == 0)
        rc = pm_schema_create_index(s, &idx, 0);
    if (rc == 0)
        rc = pm_schema_add_column(s, "conf_types", &extra);
    if (rc == 0)
        rc = pm_schema_rename_column(s, "conf_types", "extra", "renamed");
    bool has = false;
    if (rc == 0)
        rc = pm_schema_has_column(s, "conf_types", "renamed", &has);
    return rc == 0 && !has ? PM_EMIGRATION : rc;
}

static int down_types(pm_schema *s, const void *data)
{
    (void)data;
    int rc = pm_schema_drop_column(s, "conf_types", "renamed");
    if (rc == 0)
        rc = pm_schema_drop_index(s, "conf_types", "conf_types_n_big", 0);
    if (rc == 0)
        rc = pm_schema_drop_table(s, "conf_types", PM_IF_EXISTS);
    return rc;
}

static void test_conformance__schema_builder_renders_valid_ddl(void **state)
{
    fixture *f = *state;
    static const pm_migration types = {"m2024_03_04_000001_conf_types", up_types, down_types, 0, NULL,
                                       NULL};
    static const pm_migration *const set[] = {&ma, &types};
    pm_engine *engine = engine_for(f, set, 2);
    pm_test_ok(pm_engine_up(engine, PM_ALL, NULL, &f->err), &f->err);
    assert_true(pm_test_has_column(f->db, "conf_types", "renamed"));
    assert_false(pm_test_has_column(f->db, "conf_types", "extra"));
    pm_test_exec(f->db, "INSERT INTO conf_a (id, name) VALUES (1, 'a')");
    pm_test_exec(f->db, "INSERT INTO conf_types (id, title, a_id) VALUES "
                        "('0b6f5bb4-9a1f-4d0e-8c2e-3f1d2a4b5c6d', 'first', 1)");
    assert_int_equal(pm_test_int(f->db, "SELECT n FROM conf_types"), 7);
    char *label = pm_test_text(f->db, "SELECT label FROM conf_types");
    assert_string_equal(label, "it's");
    free(label);
    /* UNIQUE is enforced */
    pm_error err = PM_ERROR_INIT;
    assert_int_equal(pm_db_exec(f->db, "INSERT INTO conf_types (id, title) VALUES "
                                       "('1b6f5bb4-9a1f-4d0e-8c2e-3f1d2a4b5c6d', 'first')",
                                &err),
                     PM_EDB);
    pm_error_clear(&err);
    pm_test_exec(f->db, "DELETE FROM conf_types");
    pm_test_ok(pm_engine_down(engine, 1, NULL, &f->err), &f->err);
    assert_false(pm_test_has_table(f->db, "conf_types"));
    pm_engine_free(engine);
}

/* ==== Driver basics ==== */

static void test_conformance__errors_carry_database_code_and_statement(void **state)
{
    fixture *f = *state;
    pm_error err = PM_ERROR_INIT;
    assert_int_equal(pm_db_exec(f->db, "SELEC 1", &err), PM_EDB);
    assert_non_null(err.message);
    assert_non_null(err.db_code);
    assert_string_equal(err.statement, "SELEC 1");
    pm_error_clear(&err);
}

static void test_conformance__has_table_and_has_column(void **state)
{
    fixture *f = *state;
    assert_false(pm_test_has_table(f->db, "conf_a"));
    pm_test_exec(f->db, "CREATE TABLE conf_a (id INTEGER PRIMARY KEY, name TEXT)");
    assert_true(pm_test_has_table(f->db, "conf_a"));
    assert_true(pm_test_has_column(f->db, "conf_a", "name"));
    assert_false(pm_test_has_column(f->db, "conf_a", "nope"));
    assert_false(pm_test_has_column(f->db, "conf_missing", "name"));
}

static void test_conformance__work_survives_reconnecting(void **state)
{
    fixture *f = *state;
    pm_engine *engine = engine_for(f, abc, 3);
    pm_test_ok(pm_engine_up(engine, PM_ALL, NULL, &f->err), &f->err);
    pm_engine_free(engine);
    pm_db *again = pm_test_open(url);
    /* An in-memory database is private to its connection: nothing survives. */
    assert_int_equal(pm_test_history_count(again), is_memory() ? 0 : 3);
    pm_db_close(again);
}

/* ==== Integrity: checksums, drift, failed migrations ==== */

#define SUM_A "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define SUM_B "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define SUM_C "sha256:cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"

static const pm_migration sa = {"m2024_03_01_000001_conf_a", pm_test_up_create, pm_test_down_drop, 0,
                                SUM_A, "conf_a"};
static const pm_migration sb = {"m2024_03_02_000001_conf_b", pm_test_up_create, pm_test_down_drop, 0,
                                SUM_B, "conf_b"};
static const pm_migration sc = {"m2024_03_03_000001_conf_c", pm_test_up_create, pm_test_down_drop, 0,
                                SUM_C, "conf_c"};
static const pm_migration *const summed[] = {&sa, &sb, &sc};

static pm_engine *engine_with(fixture *f, const pm_migration *const *set, size_t count,
                              unsigned int flags)
{
    pm_engine_options opts = PM_ENGINE_OPTIONS_INIT;
    opts.flags = flags;
    pm_engine *engine = NULL;
    pm_test_ok(pm_engine_new(&engine, f->db, set, count, &opts, &f->err), &f->err);
    return engine;
}

/* The state of name in a fresh status. */
static pm_state state_of(pm_engine *engine, const char *name, pm_status_entry *copy)
{
    pm_status *st = NULL;
    pm_error err = PM_ERROR_INIT;
    pm_test_ok(pm_engine_status(engine, &st, &err), &err);
    pm_state state = PM_STATE__COUNT;
    for (size_t i = 0; i < pm_status_count(st); i++) {
        const pm_status_entry *e = pm_status_entry_at(st, i);
        if (strcmp(e->name, name) == 0) {
            state = e->state;
            if (copy)
                *copy = *e; /* strings are only valid until the status is freed */
        }
    }
    pm_status_free(st);
    return state;
}

static void test_conformance__edited_migration_is_modified_and_blocks_up_until_accepted(void **state)
{
    fixture *f = *state;
    pm_engine *engine = engine_with(f, summed, 2, 0);
    pm_test_ok(pm_engine_up(engine, PM_ALL, NULL, &f->err), &f->err);
    char *stored = pm_test_text(f->db, "SELECT checksum FROM seaql_migrations WHERE version = "
                                       "'m2024_03_01_000001_conf_a'");
    assert_string_equal(stored, SUM_A);
    free(stored);
    pm_test_exec(f->db, "UPDATE seaql_migrations SET checksum = 'sha256:0123' WHERE version = "
                        "'m2024_03_01_000001_conf_a'");
    assert_int_equal(state_of(engine, "m2024_03_01_000001_conf_a", NULL), PM_STATE_MODIFIED);
    pm_engine_free(engine);

    engine = engine_with(f, summed, 3, 0);
    size_t n = 99;
    assert_int_equal(pm_engine_up(engine, PM_ALL, &n, &f->err), PM_ECHECKSUM);
    assert_int_equal(n, 0);
    assert_non_null(strstr(f->err.message, "m2024_03_01_000001_conf_a"));
    assert_non_null(strstr(f->err.message, "sha256:0123"));
    assert_non_null(strstr(f->err.message, SUM_A));
    assert_non_null(strstr(f->err.message, "repair --accept"));
    assert_false(pm_test_has_table(f->db, "conf_c"));

    pm_test_ok(pm_engine_repair(engine, PM_REPAIR_ACCEPT, "m2024_03_01_000001_conf_a", &f->err),
               &f->err);
    assert_int_equal(state_of(engine, "m2024_03_01_000001_conf_a", NULL), PM_STATE_APPLIED);
    pm_test_ok(pm_engine_up(engine, PM_ALL, &n, &f->err), &f->err);
    assert_int_equal(n, 1);
    pm_engine_free(engine);

    /* --ignore-modified lets up go on without changing the record */
    pm_test_exec(f->db, "UPDATE seaql_migrations SET checksum = 'sha256:0123' WHERE version = "
                        "'m2024_03_01_000001_conf_a'");
    pm_test_exec(f->db, "DELETE FROM seaql_migrations WHERE version = 'm2024_03_03_000001_conf_c'");
    pm_test_exec(f->db, "DROP TABLE conf_c");
    engine = engine_with(f, summed, 3, PM_ENGINE_IGNORE_MODIFIED);
    pm_test_ok(pm_engine_up(engine, PM_ALL, &n, &f->err), &f->err);
    assert_int_equal(n, 1);
    assert_int_equal(state_of(engine, "m2024_03_01_000001_conf_a", NULL), PM_STATE_MODIFIED);
    pm_engine_free(engine);
}

static void test_conformance__seaorm_rows_without_checksum_are_never_modified(void **state)
{
    fixture *f = *state;
    pm_test_exec(f->db, "CREATE TABLE seaql_migrations (version VARCHAR(255) NOT NULL PRIMARY KEY, "
                        "applied_at BIGINT NOT NULL)");
    pm_test_exec(f->db, "INSERT INTO seaql_migrations VALUES ('m2024_03_01_000001_conf_a', 1704067200)");
    pm_test_exec(f->db, "CREATE TABLE conf_a (id INTEGER PRIMARY KEY, name TEXT)");
    pm_engine *engine = engine_with(f, summed, 1, 0);
    pm_status_entry e;
    assert_int_equal(state_of(engine, "m2024_03_01_000001_conf_a", &e), PM_STATE_APPLIED);
    assert_null(e.checksum);
    size_t n = 99;
    pm_test_ok(pm_engine_up(engine, PM_ALL, &n, &f->err), &f->err);
    assert_int_equal(n, 0);
    pm_test_ok(pm_engine_repair(engine, PM_REPAIR_ACCEPT, "m2024_03_01_000001_conf_a", &f->err),
               &f->err);
    char *stored = pm_test_text(f->db, "SELECT checksum FROM seaql_migrations");
    assert_string_equal(stored, SUM_A);
    free(stored);
    pm_engine_free(engine);
}

static void test_conformance__missing_version_blocks_up_unless_allowed(void **state)
{
    fixture *f = *state;
    pm_engine *engine = engine_with(f, summed, 2, 0);
    pm_test_ok(pm_engine_up(engine, PM_ALL, NULL, &f->err), &f->err);
    pm_engine_free(engine);

    /* An older build that lacks conf_b: it is missing. */
    const pm_migration *const older[] = {&sa, &sc};
    engine = engine_with(f, older, 2, 0);
    assert_int_equal(state_of(engine, "m2024_03_02_000001_conf_b", NULL), PM_STATE_MISSING);
    assert_int_equal(pm_engine_up(engine, PM_ALL, NULL, &f->err), PM_EDRIFT);
    assert_non_null(strstr(f->err.message, "m2024_03_02_000001_conf_b"));
    assert_non_null(strstr(f->err.message, "--allow-missing"));
    assert_false(pm_test_has_table(f->db, "conf_c"));
    pm_engine_free(engine);

    engine = engine_with(f, older, 2, PM_ENGINE_ALLOW_MISSING);
    pm_test_ok(pm_engine_up(engine, PM_ALL, NULL, &f->err), &f->err);
    assert_true(pm_test_has_table(f->db, "conf_c"));
    pm_engine_free(engine);
}

static void test_conformance__late_merged_migration_is_out_of_order(void **state)
{
    fixture *f = *state;
    const pm_migration *const without_b[] = {&sa, &sc};
    pm_engine *engine = engine_with(f, without_b, 2, 0);
    pm_test_ok(pm_engine_up(engine, PM_ALL, NULL, &f->err), &f->err);
    pm_engine_free(engine);

    engine = engine_with(f, summed, 3, 0);
    assert_int_equal(state_of(engine, "m2024_03_02_000001_conf_b", NULL), PM_STATE_OUT_OF_ORDER);
    assert_int_equal(pm_engine_up(engine, PM_ALL, NULL, &f->err), PM_EDRIFT);
    assert_non_null(strstr(f->err.message, "m2024_03_02_000001_conf_b"));
    assert_non_null(strstr(f->err.message, "--allow-out-of-order"));
    assert_false(pm_test_has_table(f->db, "conf_b"));
    pm_engine_free(engine);

    engine = engine_with(f, summed, 3, PM_ENGINE_ALLOW_OUT_OF_ORDER);
    size_t n = 0;
    pm_test_ok(pm_engine_up(engine, PM_ALL, &n, &f->err), &f->err);
    assert_int_equal(n, 1);
    assert_true(pm_test_has_table(f->db, "conf_b"));
    /* down reverts the one applied last, conf_b, not the newest name, conf_c */
    pm_test_ok(pm_engine_down(engine, 1, &n, &f->err), &f->err);
    assert_false(pm_test_has_table(f->db, "conf_b"));
    assert_true(pm_test_has_table(f->db, "conf_c"));
    pm_engine_free(engine);
}

/* A migration that cannot run in a transaction: creates conf_nt, then runs
 * a statement that fails. */
static int up_nt_failing(pm_schema *s, const void *data)
{
    (void)data;
    int rc = pm_schema_exec(s, "CREATE TABLE conf_nt (id INTEGER)");
    return rc == 0 ? pm_schema_exec(s, PM_TEST_BAD_STATEMENT) : rc;
}

static int down_nt(pm_schema *s, const void *data)
{
    (void)data;
    return pm_schema_drop_table(s, "conf_nt", PM_IF_EXISTS);
}

static const pm_migration nt_failing = {"m2024_03_04_000001_conf_nt", up_nt_failing, down_nt,
                                        PM_MIGRATION_NO_TRANSACTION, "sha256:nt", NULL};

static void test_conformance__failed_migration_without_transaction_blocks_until_repaired(void **state)
{
    fixture *f = *state;
    const pm_migration *const set[] = {&sa, &nt_failing};
    pm_engine *engine = engine_with(f, set, 2, 0);
    assert_true(pm_engine_up(engine, PM_ALL, NULL, &f->err) < 0);
    assert_string_equal(f->err.migration, "m2024_03_04_000001_conf_nt");
    assert_non_null(strstr(f->err.hint, "marked failed"));
    /* It ran outside a transaction: its first statement stays. */
    assert_true(pm_test_has_table(f->db, "conf_nt"));
    pm_status_entry e;
    assert_int_equal(state_of(engine, "m2024_03_04_000001_conf_nt", &e), PM_STATE_FAILED);
    char *statement = pm_test_text(f->db, "SELECT error_statement FROM seaql_migrations WHERE "
                                          "version = 'm2024_03_04_000001_conf_nt'");
    assert_string_equal(statement, PM_TEST_BAD_STATEMENT);
    free(statement);
    assert_int_equal(pm_engine_up(engine, PM_ALL, NULL, &f->err), PM_EFAILED);
    assert_non_null(strstr(f->err.message, "repair --applied"));
    assert_int_equal(pm_engine_down(engine, 1, NULL, &f->err), PM_EFAILED);

    /* finished by hand: mark applied */
    pm_test_ok(pm_engine_repair(engine, PM_REPAIR_APPLIED, "m2024_03_04_000001_conf_nt", &f->err),
               &f->err);
    assert_int_equal(state_of(engine, "m2024_03_04_000001_conf_nt", NULL), PM_STATE_APPLIED);
    assert_int_equal(pm_engine_repair(engine, PM_REPAIR_APPLIED, "m2024_03_04_000001_conf_nt",
                                      &f->err),
                     PM_EINVAL);

    /* fail again, then undone by hand: forget the row */
    pm_test_exec(f->db, "DELETE FROM seaql_migrations WHERE version = 'm2024_03_04_000001_conf_nt'");
    pm_test_exec(f->db, "DROP TABLE conf_nt");
    assert_true(pm_engine_up(engine, PM_ALL, NULL, &f->err) < 0);
    pm_test_exec(f->db, "DROP TABLE conf_nt");
    pm_test_ok(pm_engine_repair(engine, PM_REPAIR_ROLLBACK, "m2024_03_04_000001_conf_nt", &f->err),
               &f->err);
    assert_int_equal(state_of(engine, "m2024_03_04_000001_conf_nt", NULL), PM_STATE_PENDING);
    pm_engine_free(engine);
}

static void test_conformance__transactional_migration_never_shows_failed(void **state)
{
    fixture *f = *state;
    pm_engine *engine = engine_for(f, a_bad_c, 3);
    assert_true(pm_engine_up(engine, PM_ALL, NULL, &f->err) < 0);
    assert_int_equal(state_of(engine, "m2024_03_02_120000_conf_bad", NULL), PM_STATE_PENDING);
    pm_engine_free(engine);
}

/* Creates conf_slow outside a transaction, then sleeps in the process: a
 * test kills it there. */
static int up_slow(pm_schema *s, const void *data)
{
    (void)data;
    int rc = pm_schema_exec(s, "CREATE TABLE conf_slow (id INTEGER)");
    if (rc == 0)
        sleep(120); /* killed long before */
    return rc;
}

static const pm_migration slow = {"m2024_03_05_000001_conf_slow", up_slow, pm_test_down_drop,
                                  PM_MIGRATION_NO_TRANSACTION, "sha256:slow", "conf_slow"};

static void test_conformance__kill_9_during_migration_without_transaction_leaves_failed(void **state)
{
    fixture *f = *state;
    if (is_memory()) /* a killed process takes its in-memory database with it */
        return;
    const pm_migration *const set[] = {&sa, &slow};
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        pm_db *db = NULL;
        pm_engine *engine = NULL;
        pm_error err = PM_ERROR_INIT;
        if (pm_db_open(&db, url, NULL, &err) == 0 &&
            pm_engine_new(&engine, db, set, 2, NULL, &err) == 0)
            pm_engine_up(engine, PM_ALL, NULL, &err);
        _exit(0);
    }
    /* Wait until the child is inside the migration: its row says started. */
    int64_t started = 0;
    for (int i = 0; i < 3000 && !started; i++) { /* up to a minute on a loaded machine */
        nanosleep(&(struct timespec){0, 20000000}, NULL);
        if (pm_test_has_table(f->db, "conf_slow") && pm_test_has_table(f->db, "seaql_migrations"))
            started = pm_test_int(f->db, "SELECT count(*) FROM seaql_migrations WHERE version = "
                                         "'m2024_03_05_000001_conf_slow' AND state = 'started'");
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    assert_int_equal(started, 1);
    pm_engine *engine = engine_with(f, set, 2, 0);
    pm_status_entry e;
    assert_int_equal(state_of(engine, "m2024_03_05_000001_conf_slow", &e), PM_STATE_FAILED);
    assert_int_equal(pm_engine_up(engine, PM_ALL, NULL, &f->err), PM_EFAILED);
    pm_test_ok(pm_engine_repair(engine, PM_REPAIR_APPLIED, "m2024_03_05_000001_conf_slow", &f->err),
               &f->err);
    assert_int_equal(state_of(engine, "m2024_03_05_000001_conf_slow", NULL), PM_STATE_APPLIED);
    pm_engine_free(engine);
}

/* ==== Several runners at once ==== */

#define RACE_MIGRATIONS 12
#define RACE_RUNNERS 6

static char race_names[RACE_MIGRATIONS][40];
static char race_tables[RACE_MIGRATIONS][24];
static pm_migration race_migrations[RACE_MIGRATIONS];
static const pm_migration *race_set[RACE_MIGRATIONS];

static void build_race_set(void)
{
    for (int i = 0; i < RACE_MIGRATIONS; i++) {
        snprintf(race_names[i], sizeof(race_names[i]), "m2024_04_01_%06d_race", i);
        snprintf(race_tables[i], sizeof(race_tables[i]), "conf_race_%d", i);
        race_migrations[i] = (pm_migration){race_names[i], pm_test_up_create, pm_test_down_drop, 0,
                                            NULL, race_tables[i]};
        race_set[i] = &race_migrations[i];
    }
}

static void drop_race_tables(pm_db *db)
{
    for (int i = 0; i < RACE_MIGRATIONS; i++) {
        char sql[64];
        snprintf(sql, sizeof(sql), "DROP TABLE IF EXISTS %s", race_tables[i]);
        pm_test_exec(db, sql);
    }
}

/* One runner in its own process: exit 0 when its up() succeeded. */
static int race_runner(void)
{
    pm_db *db = NULL;
    pm_engine *engine = NULL;
    pm_error err = PM_ERROR_INIT;
    int rc = pm_db_open(&db, url, NULL, &err);
    if (rc == 0)
        rc = pm_engine_new(&engine, db, race_set, RACE_MIGRATIONS, NULL, &err);
    if (rc == 0)
        rc = pm_engine_up(engine, PM_ALL, NULL, &err);
    if (rc < 0)
        fprintf(stderr, "runner %d: %s\n", (int)getpid(), err.message ? err.message : "?");
    pm_error_clear(&err);
    pm_engine_free(engine);
    pm_db_close(db);
    return rc == 0 ? 0 : 1;
}

static void test_conformance__concurrent_runners_apply_each_migration_once(void **state)
{
    fixture *f = *state;
    drop_race_tables(f->db);
    pid_t pids[RACE_RUNNERS];
    for (int i = 0; i < RACE_RUNNERS; i++) {
        pids[i] = fork();
        assert_true(pids[i] >= 0);
        if (pids[i] == 0)
            _exit(race_runner());
    }
    int failed = 0;
    for (int i = 0; i < RACE_RUNNERS; i++) {
        int status = 0;
        assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
        failed += !(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    assert_int_equal(failed, 0);
    /* In memory each runner had a database of its own; on anything shared,
     * every migration is recorded exactly once. */
    if (!is_memory()) {
        assert_int_equal(pm_test_history_count(f->db), RACE_MIGRATIONS);
        assert_int_equal(pm_test_int(f->db, "SELECT count(DISTINCT version) FROM seaql_migrations"),
                         RACE_MIGRATIONS);
        for (int i = 0; i < RACE_MIGRATIONS; i++)
            assert_true(pm_test_has_table(f->db, race_tables[i]));
    }
    drop_race_tables(f->db);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: test_conformance DATABASE_URL\n");
        return 2;
    }
    url = argv[1];
    if (strncmp(url, "env:", 4) == 0) { /* a server URL the test command exported */
        url = getenv(url + 4);
        if (!url || !*url) {
            fprintf(stderr,
                    "test_conformance: %s is not set. This suite needs the database server that "
                    "scripts/test.sh starts (scripts/with-postgres.sh); it is never skipped.\n",
                    argv[1] + 4);
            return 1;
        }
    }
    build_race_set();
    char *shown = pm_url_redact(url);
    printf("driver conformance suite on %s\n", shown);
    free(shown);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_conformance__builtin_set_creates_tenants_and_one_history_row, setup, teardown),
        cmocka_unit_test_setup_teardown(test_conformance__up_down_status_cycle, setup, teardown),
        cmocka_unit_test_setup_teardown(test_conformance__failing_migration_leaves_no_history_row, setup, teardown),
        cmocka_unit_test_setup_teardown(test_conformance__unknown_applied_version_is_reported, setup, teardown),
        cmocka_unit_test_setup_teardown(test_conformance__seaorm_history_table_is_upgraded, setup, teardown),
        cmocka_unit_test_setup_teardown(test_conformance__schema_builder_renders_valid_ddl, setup, teardown),
        cmocka_unit_test_setup_teardown(test_conformance__errors_carry_database_code_and_statement, setup, teardown),
        cmocka_unit_test_setup_teardown(test_conformance__has_table_and_has_column, setup, teardown),
        cmocka_unit_test_setup_teardown(test_conformance__work_survives_reconnecting, setup, teardown),
        cmocka_unit_test_setup_teardown(test_conformance__concurrent_runners_apply_each_migration_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_conformance__edited_migration_is_modified_and_blocks_up_until_accepted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_conformance__seaorm_rows_without_checksum_are_never_modified, setup, teardown),
        cmocka_unit_test_setup_teardown(test_conformance__missing_version_blocks_up_unless_allowed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_conformance__late_merged_migration_is_out_of_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_conformance__failed_migration_without_transaction_blocks_until_repaired, setup, teardown),
        cmocka_unit_test_setup_teardown(test_conformance__transactional_migration_never_shows_failed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_conformance__kill_9_during_migration_without_transaction_leaves_failed, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
