/* test_conformance.c: the driver conformance suite, written once and run
 * against every backend: `test_conformance URL`. Each test starts from a
 * database without the suite's tables, so it works on in-memory SQLite, a
 * file, or a server. A driver is done when this suite passes on a real
 * database. What a connection can do comes from pm_db_capabilities(),
 * never from the URL or the driver's name. The suite also registers a
 * driver of its own at run time (wrapped-sqlite:, a thin wrapper over the
 * SQLite driver), so it proves that a driver from outside the library
 * works. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../../core/src/internal.h"
#include "poblysh/migrations.h"
#include "testutil.h"

static const char *url;
static unsigned int caps; /* pm_db_capabilities() of a connection to url */

static const char *const suite_tables[] = {
    "conf_types", "conf_nt",   "conf_slow", "conf_a",           "conf_b",
    "conf_c",     "conf_bad",  "tenants",   "seaql_migrations", "conf_snap",
    "conf_fp_b",  "conf_fp_a", "conf_v",    "conf_w",           "conf_probe"};

static const pm_migration ma = PM_TEST_MIGRATION("m2024_03_01_000001_conf_a", "conf_a");
static const pm_migration mb = PM_TEST_MIGRATION("m2024_03_02_000001_conf_b", "conf_b");
static const pm_migration mc = PM_TEST_MIGRATION("m2024_03_03_000001_conf_c", "conf_c");
static const pm_migration mbad =
    PM_TEST_FAILING_MIGRATION("m2024_03_02_120000_conf_bad", "conf_bad");
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
    return (caps & PM_CAP_EPHEMERAL) != 0;
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
    assert_int_equal(pm_db_exec(f->db, "INSERT INTO tenants (name) VALUES ('no id')", &err),
                     PM_EDB);
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
    pm_test_exec(f->db,
                 "INSERT INTO seaql_migrations VALUES ('m2024_03_01_000001_conf_a', 1704067200)");
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
    assert_int_equal(
        pm_test_int(f->db, "SELECT count(*) FROM seaql_migrations WHERE checksum IS NULL"), 3);
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
        {.name = "n",
         .type = PM_TYPE_INTEGER,
         .default_kind = PM_DEFAULT_NUMBER,
         .default_value = "7"},
        {.name = "big", .type = PM_TYPE_BIGINT},
        {.name = "flag",
         .type = PM_TYPE_BOOLEAN,
         .flags = PM_NOT_NULL,
         .default_kind = PM_DEFAULT_BOOL,
         .default_value = "true"},
        {.name = "ratio", .type = PM_TYPE_DOUBLE},
        {.name = "at",
         .type = PM_TYPE_TIMESTAMPTZ,
         .flags = PM_NOT_NULL,
         .default_kind = PM_DEFAULT_NOW},
        {.name = "day", .type = PM_TYPE_DATE},
        {.name = "doc", .type = PM_TYPE_JSON},
        {.name = "blob", .type = PM_TYPE_BINARY},
        {.name = "label",
         .type = PM_TYPE_STRING,
         .length = 20,
         .default_kind = PM_DEFAULT_STRING,
         .default_value = "it's"},
        {.name = "a_id",
         .type = PM_TYPE_INTEGER,
         .ref_table = "conf_a",
         .ref_column = "id",
         .on_delete = PM_FK_CASCADE},
    };
    static const pm_table t = {
        .name = "conf_types", .columns = columns, .ncolumns = PM_ARRAY_LEN(columns)};
    static const char *const idx_cols[] = {"n", "big"};
    static const pm_index idx = {.name = "conf_types_n_big",
                                 .table = "conf_types",
                                 .columns = idx_cols,
                                 .ncolumns = 2,
                                 .unique = true};
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
    static const pm_migration types = {
        "m2024_03_04_000001_conf_types", up_types, down_types, 0, NULL, NULL};
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
    assert_int_equal(pm_db_exec(f->db,
                                "INSERT INTO conf_types (id, title) VALUES "
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

static const pm_migration sa = {
    "m2024_03_01_000001_conf_a", pm_test_up_create, pm_test_down_drop, 0, SUM_A, "conf_a"};
static const pm_migration sb = {
    "m2024_03_02_000001_conf_b", pm_test_up_create, pm_test_down_drop, 0, SUM_B, "conf_b"};
static const pm_migration sc = {
    "m2024_03_03_000001_conf_c", pm_test_up_create, pm_test_down_drop, 0, SUM_C, "conf_c"};
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

static void
test_conformance__edited_migration_is_modified_and_blocks_up_until_accepted(void **state)
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
    /* The state, not the way out: that names CLI flags, so the CLI adds it. */
    assert_non_null(strstr(f->err.message, "modified since applied"));
    assert_null(strstr(f->err.message, "--"));
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
    pm_test_exec(f->db,
                 "INSERT INTO seaql_migrations VALUES ('m2024_03_01_000001_conf_a', 1704067200)");
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

static void test_conformance__damaged_history_is_refused_naming_the_row(void **state)
{
    fixture *f = *state;
    pm_test_exec(f->db, "CREATE TABLE seaql_migrations (version VARCHAR(255) NOT NULL PRIMARY KEY, "
                        "applied_at BIGINT NOT NULL, state VARCHAR(16) NULL)");
    pm_test_exec(f->db, "INSERT INTO seaql_migrations VALUES ('m2024_03_01_000001_conf_a', "
                        "1704067200, 'done')");
    pm_engine *engine = engine_with(f, summed, 1, 0);
    pm_status *st = NULL;
    assert_int_equal(pm_engine_status(engine, &st, &f->err), PM_EHISTORY);
    assert_non_null(strstr(f->err.message, "m2024_03_01_000001_conf_a"));
    assert_non_null(strstr(f->err.message, "\"done\""));
    pm_error_clear(&f->err);
    size_t n = 99;
    assert_int_equal(pm_engine_down(engine, 1, &n, &f->err), PM_EHISTORY);
    assert_int_equal(n, 0);
    pm_error_clear(&f->err);
    assert_int_equal(pm_engine_up(engine, PM_ALL, &n, &f->err), PM_EHISTORY);
    assert_int_equal(n, 0);
    assert_false(pm_test_has_table(f->db, "conf_a"));
    pm_error_clear(&f->err);
    pm_engine_free(engine);
}

static void test_conformance__history_table_without_applied_at_is_damaged(void **state)
{
    fixture *f = *state;
    pm_test_exec(f->db,
                 "CREATE TABLE seaql_migrations (version VARCHAR(255) NOT NULL PRIMARY KEY)");
    pm_test_exec(f->db, "INSERT INTO seaql_migrations VALUES ('m2024_03_01_000001_conf_a')");
    pm_engine *engine = engine_with(f, summed, 1, 0);
    pm_status *st = NULL;
    assert_int_equal(pm_engine_status(engine, &st, &f->err), PM_EHISTORY);
    assert_non_null(strstr(f->err.message, "no column applied_at"));
    pm_error_clear(&f->err);
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
    assert_non_null(strstr(f->err.message, "missing"));
    assert_null(strstr(f->err.message, "--"));
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
    assert_non_null(strstr(f->err.message, "out of order"));
    assert_null(strstr(f->err.message, "--"));
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
                                        PM_MIGRATION_NO_TRANSACTION,  "sha256:nt",   NULL};

static void
test_conformance__failed_migration_without_transaction_blocks_until_repaired(void **state)
{
    fixture *f = *state;
    const pm_migration *const set[] = {&sa, &nt_failing};
    pm_engine *engine = engine_with(f, set, 2, 0);
    assert_true(pm_engine_up(engine, PM_ALL, NULL, &f->err) < 0);
    assert_string_equal(f->err.migration, "m2024_03_04_000001_conf_nt");
    assert_non_null(strstr(f->err.hint, "marked failed"));
    assert_null(strstr(f->err.hint, "--"));
    /* It ran outside a transaction: its first statement stays. */
    assert_true(pm_test_has_table(f->db, "conf_nt"));
    pm_status_entry e;
    assert_int_equal(state_of(engine, "m2024_03_04_000001_conf_nt", &e), PM_STATE_FAILED);
    char *statement = pm_test_text(f->db, "SELECT error_statement FROM seaql_migrations WHERE "
                                          "version = 'm2024_03_04_000001_conf_nt'");
    assert_string_equal(statement, PM_TEST_BAD_STATEMENT);
    free(statement);
    assert_int_equal(pm_engine_up(engine, PM_ALL, NULL, &f->err), PM_EFAILED);
    assert_non_null(strstr(f->err.message, "failed"));
    assert_null(strstr(f->err.message, "--"));
    assert_int_equal(pm_engine_down(engine, 1, NULL, &f->err), PM_EFAILED);
    assert_non_null(strstr(f->err.message, "marked failed"));
    assert_null(strstr(f->err.message, "--"));

    /* finished by hand: mark applied */
    pm_test_ok(pm_engine_repair(engine, PM_REPAIR_APPLIED, "m2024_03_04_000001_conf_nt", &f->err),
               &f->err);
    assert_int_equal(state_of(engine, "m2024_03_04_000001_conf_nt", NULL), PM_STATE_APPLIED);
    assert_int_equal(
        pm_engine_repair(engine, PM_REPAIR_APPLIED, "m2024_03_04_000001_conf_nt", &f->err),
        PM_EINVAL);
    assert_non_null(strstr(f->err.message, "is not marked failed"));
    assert_null(strstr(f->err.message, "--"));

    /* fail again, then undone by hand: forget the row */
    pm_test_exec(f->db,
                 "DELETE FROM seaql_migrations WHERE version = 'm2024_03_04_000001_conf_nt'");
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

static const pm_migration slow = {"m2024_03_05_000001_conf_slow", up_slow,       pm_test_down_drop,
                                  PM_MIGRATION_NO_TRANSACTION,    "sha256:slow", "conf_slow"};

static void
test_conformance__kill_9_during_migration_without_transaction_leaves_failed(void **state)
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
                                            NULL,          race_tables[i]};
        race_set[i] = &race_migrations[i];
    }
}

static void drop_race_tables(pm_db *db)
{
    for (int i = 0; i < RACE_MIGRATIONS; i++) {
        char sql[320];
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

/* ==== Workflow: dry run, fresh, reset, refresh, schema snapshot, verify ==== */

/* What a workflow test allocates lives until wf_teardown, so a failed
 * assertion leaks nothing; wf_teardown also ends a scratch schema the test
 * left open and reconnects before the suite's own teardown. */
#define WF_KEPT_MAX 128
static void *wf_kept[WF_KEPT_MAX];
static size_t wf_nkept;
static pm_engine *wf_engines[16];
static size_t wf_nengines;
static bool wf_scratch; /* a scratch schema is open on f->db */

static void *wf_keep(void *p)
{
    assert_true(wf_nkept < WF_KEPT_MAX);
    wf_kept[wf_nkept++] = p;
    return p;
}

/* Tables that reference conf_a go first: the suite's list drops conf_a
 * before them. */
static void wf_drop_referencing(pm_db *db)
{
    pm_test_exec(db, "DROP VIEW IF EXISTS conf_stray_v");
    pm_test_exec(db, "DROP TABLE IF EXISTS conf_snap");
    pm_test_exec(db, "DROP TABLE IF EXISTS conf_fp_b");
}

static int wf_setup(void **state)
{
    wf_nkept = 0;
    wf_nengines = 0;
    wf_scratch = false;
    pm_db *db = pm_test_open(url);
    wf_drop_referencing(db);
    pm_db_close(db);
    return setup(state);
}

static int wf_teardown(void **state)
{
    fixture *f = *state;
    for (size_t i = 0; i < wf_nengines; i++)
        pm_engine_free(wf_engines[i]);
    wf_nengines = 0;
    if (wf_scratch) {
        pm_error err = PM_ERROR_INIT;
        pm_db_scratch_end(f->db, &err);
        pm_error_clear(&err);
        wf_scratch = false;
    }
    if (!is_memory()) { /* a fresh connection, on the suite's own schema */
        pm_db_close(f->db);
        f->db = pm_test_open(url);
    }
    wf_drop_referencing(f->db);
    for (size_t i = 0; i < wf_nkept; i++)
        free(wf_kept[i]);
    wf_nkept = 0;
    return teardown(state);
}

/* For assertions written in one engine's own SQL or about its catalog. */
static bool wf_is_sqlite(const fixture *f)
{
    return strcmp(pm_db_backend_name(f->db), "sqlite") == 0;
}

static bool wf_is_mysql(const fixture *f)
{
    return strcmp(pm_db_backend_name(f->db), "mysql") == 0;
}

static pm_engine *wf_engine(fixture *f, const pm_migration *const *set, size_t count,
                            const pm_engine_options *opts)
{
    pm_engine *engine = NULL;
    pm_test_ok(pm_engine_new(&engine, f->db, set, count, opts, &f->err), &f->err);
    assert_true(wf_nengines < PM_ARRAY_LEN(wf_engines));
    wf_engines[wf_nengines++] = engine;
    return engine;
}

/* Whether reading the schema works, of an empty database and of this
 * backend's with a table in it: found out once, in a child process that is
 * killed after 30 s, so a reader that loops forever or crashes fails the
 * tests that need it instead of hanging or ending the suite. */
static int wf_schema_probe = -1; /* -1 unknown, 0 hangs, crashes or fails, 1 works */

static int wf_probe_child(void)
{
    pm_db *db = NULL;
    pm_error err = PM_ERROR_INIT;
    char *text = NULL;
    int rc = pm_db_open(&db, "sqlite::memory:", NULL, &err); /* empty */
    if (rc == 0)
        rc = pm_db_schema(db, &text, &err);
    if (rc == 0 && strcmp(text, "") != 0)
        rc = -1;
    if (rc < 0)
        fprintf(stderr, "schema probe: the schema of an empty database: %s\n",
                err.message ? err.message : text);
    free(text);
    text = NULL;
    pm_db_close(db);
    db = NULL;
    if (rc < 0) {
        pm_error_clear(&err);
        return 1;
    }
    rc = pm_db_open(&db, url, NULL, &err);
    if (rc == 0)
        rc = pm_db_exec(db, "DROP TABLE IF EXISTS conf_probe", &err);
    if (rc == 0)
        rc = pm_db_exec(db, "CREATE TABLE conf_probe (id INTEGER PRIMARY KEY, name TEXT)", &err);
    if (rc == 0)
        rc = pm_db_schema(db, &text, &err);
    if (rc == 0 && !strstr(text, "table conf_probe\n"))
        rc = -1;
    if (rc < 0)
        fprintf(stderr, "schema probe: %s\n",
                err.message ? err.message : "conf_probe not in the schema");
    pm_db_exec(db, "DROP TABLE IF EXISTS conf_probe", &err);
    free(text);
    pm_error_clear(&err);
    pm_db_close(db);
    return rc == 0 ? 0 : 1;
}

static bool wf_schema_reads_finish(void)
{
    if (wf_schema_probe >= 0)
        return wf_schema_probe == 1;
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        _exit(wf_probe_child());
    int status = 0;
    pid_t done = 0;
    for (int i = 0; i < 3000 && done == 0; i++) { /* 30 s */
        done = waitpid(pid, &status, WNOHANG);
        if (done == 0)
            nanosleep(&(struct timespec){0, 10000000}, NULL);
    }
    if (done == 0) {
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
        fprintf(stderr, "schema probe: pm_db_schema() did not finish within 30 s: killed\n");
        wf_schema_probe = 0;
    } else {
        wf_schema_probe = WIFEXITED(status) && WEXITSTATUS(status) == 0;
        if (!wf_schema_probe)
            fprintf(stderr, "schema probe: %s %d\n",
                    WIFSIGNALED(status) ? "died of signal" : "exit status",
                    WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
    }
    return wf_schema_probe == 1;
}

/* Fails the test at once when reading the schema hangs or crashes on this
 * backend (see test_conformance__schema_snapshot_reads_finish). */
static void wf_require_schema_reads(void)
{
    if (!wf_schema_reads_finish())
        fail_msg("reading the schema does not work on this backend: see "
                 "test_conformance__schema_snapshot_reads_finish");
}

static char *wf_schema(pm_db *db)
{
    wf_require_schema_reads();
    char *text = NULL;
    pm_error err = PM_ERROR_INIT;
    pm_test_ok(pm_db_schema(db, &text, &err), &err);
    pm_error_clear(&err);
    assert_non_null(text);
    return wf_keep(text);
}

/* The line of text equal to line, or NULL. */
static const char *wf_find_line(const char *text, const char *line)
{
    size_t n = strlen(line);
    for (const char *p = text; *p;) {
        size_t len = strcspn(p, "\n");
        if (len == n && strncmp(p, line, n) == 0)
            return p;
        p += len + (p[len] == '\n');
    }
    return NULL;
}

#define wf_assert_line(text, line) wf_assert_line_((text), (line), true, __FILE__, __LINE__)
#define wf_assert_no_line(text, line) wf_assert_line_((text), (line), false, __FILE__, __LINE__)
static void wf_assert_line_(const char *text, const char *line, bool want, const char *file,
                            int lineno)
{
    if ((wf_find_line(text, line) != NULL) == want)
        return;
    print_error("the schema %s the line \"%s\":\n---\n%s---\n", want ? "lacks" : "has", line, text);
    _fail(file, lineno);
}

/* The first line of text that starts with prefix (without its newline,
 * kept until teardown), or NULL. */
static char *wf_line_starting(const char *text, const char *prefix)
{
    size_t n = strlen(prefix);
    for (const char *p = text; *p;) {
        size_t len = strcspn(p, "\n");
        if (len >= n && strncmp(p, prefix, n) == 0)
            return wf_keep(pm__strndup(p, len));
        p += len + (p[len] == '\n');
    }
    return NULL;
}

/* The lines of a table's block: from "table T" to the next object line. */
static char *wf_table_block(const char *text, const char *table)
{
    char *head = pm__format("table %s", table);
    const char *start = wf_find_line(text, head);
    free(head);
    if (!start)
        return NULL;
    const char *end = start + strcspn(start, "\n");
    while (*end == '\n' && end[1] == ' ')
        end += 1 + strcspn(end + 1, "\n");
    return wf_keep(pm__strndup(start, (size_t)(end - start)));
}

/* ---- Dry run ---- */

typedef struct wf_sql {
    char *migration; /* NULL: poblysh's bookkeeping */
    char *sql;
} wf_sql;

typedef struct wf_sql_log {
    wf_sql items[64];
    size_t count;
} wf_sql_log;

static void wf_record_sql(const char *migration, const char *sql, void *ctx)
{
    wf_sql_log *log = ctx;
    if (log->count < PM_ARRAY_LEN(log->items)) {
        log->items[log->count].migration = migration ? wf_keep(pm__strdup(migration)) : NULL;
        log->items[log->count].sql = wf_keep(pm__strdup(sql));
    }
    log->count++;
}

/* Whether a statement of migration (NULL: bookkeeping) contains all of the
 * needles (NULL-terminated). */
static bool wf_logged(const wf_sql_log *log, const char *migration, const char *const *needles)
{
    for (size_t i = 0; i < log->count && i < PM_ARRAY_LEN(log->items); i++) {
        const wf_sql *s = &log->items[i];
        if (migration ? !s->migration || strcmp(s->migration, migration) != 0
                      : s->migration != NULL)
            continue;
        bool all = true;
        for (const char *const *n = needles; *n && all; n++)
            all = strstr(s->sql, *n) != NULL;
        if (all)
            return true;
    }
    return false;
}

static void wf_print_log(const wf_sql_log *log)
{
    for (size_t i = 0; i < log->count && i < PM_ARRAY_LEN(log->items); i++)
        print_error("  [%s] %s\n",
                    log->items[i].migration ? log->items[i].migration : "bookkeeping",
                    log->items[i].sql);
}

#define wf_assert_logged(log, migration, ...)                                                      \
    wf_assert_logged_((log), (migration), (const char *const[]){__VA_ARGS__, NULL}, __FILE__,      \
                      __LINE__)
static void wf_assert_logged_(const wf_sql_log *log, const char *migration,
                              const char *const *needles, const char *file, int line)
{
    if (wf_logged(log, migration, needles))
        return;
    print_error("no recorded statement of %s contains all of:",
                migration ? migration : "bookkeeping");
    for (const char *const *n = needles; *n; n++)
        print_error(" \"%s\"", *n);
    print_error("\nrecorded:\n");
    wf_print_log(log);
    _fail(file, line);
}

static pm_engine_options wf_dry_run_options(wf_sql_log *log)
{
    pm_engine_options opts = PM_ENGINE_OPTIONS_INIT;
    opts.dry_run = wf_record_sql;
    opts.dry_run_ctx = log;
    return opts;
}

static void test_conformance__dry_run_of_up_records_the_sql_and_changes_nothing(void **state)
{
    fixture *f = *state;
    char *before = wf_schema(f->db);
    wf_sql_log *log = wf_keep(calloc(1, sizeof(*log)));
    pm_engine_options opts = wf_dry_run_options(log);
    pm_engine *dry = wf_engine(f, abc, 3, &opts);
    size_t n = 0;
    pm_test_ok(pm_engine_up(dry, PM_ALL, &n, &f->err), &f->err);
    assert_int_equal(n, 3); /* counted as they would be applied */

    /* Nothing changed: no table, no history table. */
    assert_string_equal(wf_schema(f->db), before);
    assert_false(pm_test_has_table(f->db, "seaql_migrations"));
    assert_false(pm_test_has_table(f->db, "conf_a"));
    assert_false(pm_test_has_table(f->db, "conf_c"));

    /* What would have been sent: the history table, then each migration's
     * CREATE TABLE and its history row, under its name. */
    wf_assert_logged(log, NULL, "CREATE TABLE", "seaql_migrations");
    static const char *const names[] = {"m2024_03_01_000001_conf_a", "m2024_03_02_000001_conf_b",
                                        "m2024_03_03_000001_conf_c"};
    static const char *const tables[] = {"conf_a", "conf_b", "conf_c"};
    for (size_t i = 0; i < 3; i++) {
        char *quoted = wf_keep(pm__format("'%s'", names[i]));
        wf_assert_logged(log, names[i], "CREATE TABLE", tables[i]);
        wf_assert_logged(log, names[i], "INSERT INTO", "seaql_migrations", quoted);
        /* no statement of one migration is filed under another */
        assert_false(wf_logged(log, names[i], (const char *const[]){tables[(i + 1) % 3], NULL}));
    }

    /* The connection is back to normal: a real up applies all three. */
    pm_engine *real = wf_engine(f, abc, 3, NULL);
    pm_test_ok(pm_engine_up(real, PM_ALL, &n, &f->err), &f->err);
    assert_int_equal(n, 3);
    assert_true(pm_test_has_table(f->db, "conf_c"));
    assert_int_equal(pm_test_history_count(f->db), 3);
}

static void test_conformance__dry_run_of_up_with_history_table_present_changes_nothing(void **state)
{
    fixture *f = *state;
    pm_engine *real = wf_engine(f, abc, 3, NULL);
    pm_test_ok(pm_engine_up(real, 1, NULL, &f->err), &f->err);
    char *before = wf_schema(f->db);

    wf_sql_log *log = wf_keep(calloc(1, sizeof(*log)));
    pm_engine_options opts = wf_dry_run_options(log);
    pm_engine *dry = wf_engine(f, abc, 3, &opts);
    size_t n = 0;
    pm_test_ok(pm_engine_up(dry, PM_ALL, &n, &f->err), &f->err);
    assert_int_equal(n, 2);
    assert_string_equal(wf_schema(f->db), before);
    assert_int_equal(pm_test_history_count(f->db), 1);
    assert_false(pm_test_has_table(f->db, "conf_b"));
    /* The history table exists: it is not created again. */
    assert_false(wf_logged(log, NULL, (const char *const[]){"CREATE TABLE", NULL}));
    assert_false(wf_logged(log, "m2024_03_01_000001_conf_a", (const char *const[]){"", NULL}));
    wf_assert_logged(log, "m2024_03_02_000001_conf_b", "CREATE TABLE", "conf_b");
    wf_assert_logged(log, "m2024_03_03_000001_conf_c", "INSERT INTO", "seaql_migrations",
                     "'m2024_03_03_000001_conf_c'");
}

static void
test_conformance__dry_run_of_down_records_drop_and_delete_and_changes_nothing(void **state)
{
    fixture *f = *state;
    pm_engine *real = wf_engine(f, abc, 3, NULL);
    pm_test_ok(pm_engine_up(real, PM_ALL, NULL, &f->err), &f->err);
    pm_test_exec(f->db, "INSERT INTO conf_c (id, name) VALUES (1, 'kept')");
    char *before = wf_schema(f->db);

    wf_sql_log *log = wf_keep(calloc(1, sizeof(*log)));
    pm_engine_options opts = wf_dry_run_options(log);
    pm_engine *dry = wf_engine(f, abc, 3, &opts);
    size_t n = 0;
    pm_test_ok(pm_engine_down(dry, 2, &n, &f->err), &f->err);
    assert_int_equal(n, 2);
    assert_string_equal(wf_schema(f->db), before);
    assert_int_equal(pm_test_history_count(f->db), 3);
    assert_int_equal(pm_test_int(f->db, "SELECT count(*) FROM conf_c"), 1);
    wf_assert_logged(log, "m2024_03_03_000001_conf_c", "DROP TABLE", "conf_c");
    wf_assert_logged(log, "m2024_03_03_000001_conf_c", "DELETE FROM", "seaql_migrations",
                     "'m2024_03_03_000001_conf_c'");
    wf_assert_logged(log, "m2024_03_02_000001_conf_b", "DROP TABLE", "conf_b");
    wf_assert_logged(log, "m2024_03_02_000001_conf_b", "DELETE FROM", "seaql_migrations",
                     "'m2024_03_02_000001_conf_b'");
    assert_false(wf_logged(log, "m2024_03_01_000001_conf_a", (const char *const[]){"", NULL}));

    /* and a real down afterwards really reverts */
    pm_test_ok(pm_engine_down(real, 1, &n, &f->err), &f->err);
    assert_int_equal(n, 1);
    assert_false(pm_test_has_table(f->db, "conf_c"));
    assert_int_equal(pm_test_history_count(f->db), 2);
}

/* ---- fresh, reset, refresh ---- */

typedef struct wf_events {
    char *dropped[32];
    size_t ndropped;
    size_t applied, reverted;
} wf_events;

static void wf_on_event(const pm_event *ev, void *ctx)
{
    wf_events *e = ctx;
    if (ev->kind == PM_EVENT_DROPPED && e->ndropped < PM_ARRAY_LEN(e->dropped))
        e->dropped[e->ndropped++] = wf_keep(pm__strdup(ev->migration));
    e->applied += ev->kind == PM_EVENT_APPLIED;
    e->reverted += ev->kind == PM_EVENT_REVERTED;
}

static bool wf_dropped(const wf_events *e, const char *what)
{
    for (size_t i = 0; i < e->ndropped; i++)
        if (strcmp(e->dropped[i], what) == 0)
            return true;
    return false;
}

static void test_conformance__fresh_drops_stray_objects_and_applies_everything(void **state)
{
    fixture *f = *state;
    wf_require_schema_reads(); /* fresh reads the schema */
    pm_engine *engine = wf_engine(f, abc, 3, NULL);
    pm_test_ok(pm_engine_up(engine, 2, NULL, &f->err), &f->err);
    pm_test_exec(f->db, "INSERT INTO conf_a (id, name) VALUES (1, 'gone after fresh')");
    /* Made by hand: a parent whose name sorts first and a child holding a
     * row that references it (dropping the parent first needs the
     * foreign-key checks off), and a view. */
    pm_test_exec(f->db, "CREATE TABLE conf_fp_a (id INTEGER PRIMARY KEY)");
    pm_test_exec(f->db, "CREATE TABLE conf_fp_b (id INTEGER PRIMARY KEY, a_id INTEGER, "
                        "FOREIGN KEY (a_id) REFERENCES conf_fp_a (id))");
    pm_test_exec(f->db, "INSERT INTO conf_fp_a (id) VALUES (1)");
    pm_test_exec(f->db, "INSERT INTO conf_fp_b (id, a_id) VALUES (1, 1)");
    pm_test_exec(f->db, "CREATE VIEW conf_stray_v AS SELECT 1 AS one");

    wf_events *events = wf_keep(calloc(1, sizeof(*events)));
    pm_engine_options opts = PM_ENGINE_OPTIONS_INIT;
    opts.progress = wf_on_event;
    opts.progress_ctx = events;
    pm_engine *fresh = wf_engine(f, abc, 3, &opts);
    size_t applied = 0;
    pm_test_ok(pm_engine_fresh(fresh, &applied, &f->err), &f->err);
    assert_int_equal(applied, 3);
    assert_int_equal(events->applied, 3);

    assert_false(pm_test_has_table(f->db, "conf_fp_a"));
    assert_false(pm_test_has_table(f->db, "conf_fp_b"));
    char *schema = wf_schema(f->db);
    wf_assert_no_line(schema, "view conf_stray_v");
    wf_assert_no_line(schema, "table conf_fp_a");
    wf_assert_line(schema, "table conf_a");
    wf_assert_line(schema, "table conf_b");
    wf_assert_line(schema, "table conf_c");
    assert_int_equal(pm_test_int(f->db, "SELECT count(*) FROM conf_a"), 0); /* recreated */
    assert_int_equal(pm_test_history_count(f->db), 3);
    assert_int_equal(pm_test_int(f->db,
                                 "SELECT count(*) FROM seaql_migrations WHERE version IN "
                                 "('m2024_03_01_000001_conf_a', 'm2024_03_02_000001_conf_b', "
                                 "'m2024_03_03_000001_conf_c')"),
                     3);
    /* Each drop was reported; the history table is not among them. */
    assert_true(wf_dropped(events, "table conf_fp_a"));
    assert_true(wf_dropped(events, "table conf_fp_b"));
    assert_true(wf_dropped(events, "table conf_a"));
    assert_true(wf_dropped(events, "table conf_b"));
    assert_true(wf_dropped(events, "view conf_stray_v"));
    assert_false(wf_dropped(events, "table seaql_migrations"));

    /* Foreign-key checks are back on afterwards. */
    if (wf_is_sqlite(f))
        assert_int_equal(pm_test_int(f->db, "PRAGMA foreign_keys"), 1);
    if (wf_is_mysql(f))
        assert_int_equal(pm_test_int(f->db, "SELECT @@FOREIGN_KEY_CHECKS"), 1);
}

static void test_conformance__fresh_on_an_empty_database_applies_everything(void **state)
{
    fixture *f = *state;
    wf_require_schema_reads(); /* fresh reads the schema */
    pm_engine *engine = wf_engine(f, abc, 3, NULL);
    size_t applied = 0;
    pm_test_ok(pm_engine_fresh(engine, &applied, &f->err), &f->err);
    assert_int_equal(applied, 3);
    assert_int_equal(pm_test_history_count(f->db), 3);
    /* and again, with everything applied: dropped and applied anew */
    pm_test_ok(pm_engine_fresh(engine, &applied, &f->err), &f->err);
    assert_int_equal(applied, 3);
    assert_int_equal(pm_test_history_count(f->db), 3);
}

static void test_conformance__reset_reverts_every_applied_migration(void **state)
{
    fixture *f = *state;
    wf_events *events = wf_keep(calloc(1, sizeof(*events)));
    pm_engine_options opts = PM_ENGINE_OPTIONS_INIT;
    opts.progress = wf_on_event;
    opts.progress_ctx = events;
    pm_engine *engine = wf_engine(f, abc, 3, &opts);
    pm_test_ok(pm_engine_up(engine, PM_ALL, NULL, &f->err), &f->err);
    size_t reverted = 0;
    pm_test_ok(pm_engine_reset(engine, &reverted, &f->err), &f->err);
    assert_int_equal(reverted, 3);
    assert_int_equal(events->reverted, 3);
    assert_false(pm_test_has_table(f->db, "conf_a"));
    assert_false(pm_test_has_table(f->db, "conf_b"));
    assert_false(pm_test_has_table(f->db, "conf_c"));
    assert_int_equal(pm_test_history_count(f->db), 0);
    /* nothing applied: nothing to revert */
    pm_test_ok(pm_engine_reset(engine, &reverted, &f->err), &f->err);
    assert_int_equal(reverted, 0);
}

static void test_conformance__refresh_reverts_and_reapplies_everything(void **state)
{
    fixture *f = *state;
    pm_engine *engine = wf_engine(f, abc, 3, NULL);
    pm_test_ok(pm_engine_up(engine, 2, NULL, &f->err), &f->err);
    pm_test_exec(f->db, "INSERT INTO conf_b (id, name) VALUES (1, 'gone after refresh')");
    size_t reverted = 0, applied = 0;
    pm_test_ok(pm_engine_refresh(engine, &reverted, &applied, &f->err), &f->err);
    assert_int_equal(reverted, 2);
    assert_int_equal(applied, 3);
    assert_int_equal(pm_test_history_count(f->db), 3);
    assert_true(pm_test_has_table(f->db, "conf_c"));
    assert_int_equal(pm_test_int(f->db, "SELECT count(*) FROM conf_b"), 0); /* recreated */
}

/* ---- The schema snapshot ---- */

/* conf_snap: a primary key, a unique column, a foreign key with ON DELETE
 * CASCADE, and two indexes, one of them unique. */
static int up_snap(pm_schema *s, const void *data)
{
    (void)data;
    static const pm_column columns[] = {
        {.name = "id", .type = PM_TYPE_INTEGER, .flags = PM_PRIMARY_KEY},
        {.name = "code", .type = PM_TYPE_STRING, .length = 20, .flags = PM_NOT_NULL | PM_UNIQUE},
        {.name = "n",
         .type = PM_TYPE_INTEGER,
         .flags = PM_NULL,
         .default_kind = PM_DEFAULT_NUMBER,
         .default_value = "7"},
        {.name = "a_id",
         .type = PM_TYPE_INTEGER,
         .ref_table = "conf_a",
         .ref_column = "id",
         .on_delete = PM_FK_CASCADE},
    };
    static const pm_table t = {
        .name = "conf_snap", .columns = columns, .ncolumns = PM_ARRAY_LEN(columns)};
    static const char *const n_cols[] = {"n"};
    static const char *const pair_cols[] = {"n", "a_id"};
    static const pm_index by_n = {
        .name = "conf_snap_n", .table = "conf_snap", .columns = n_cols, .ncolumns = 1};
    static const pm_index pair = {.name = "conf_snap_pair",
                                  .table = "conf_snap",
                                  .columns = pair_cols,
                                  .ncolumns = 2,
                                  .unique = true};
    int rc = pm_schema_create_table(s, &t, 0);
    if (rc == 0)
        rc = pm_schema_create_index(s, &by_n, 0);
    if (rc == 0)
        rc = pm_schema_create_index(s, &pair, 0);
    return rc;
}

static int down_snap(pm_schema *s, const void *data)
{
    (void)data;
    return pm_schema_drop_table(s, "conf_snap", 0);
}

static const pm_migration msnap = {
    "m2024_05_01_000001_conf_snap", up_snap, down_snap, 0, NULL, NULL};

static void test_conformance__schema_snapshot_reads_finish(void **state)
{
    (void)state;
    assert_true(wf_schema_reads_finish());
}

static void test_conformance__schema_snapshot_is_stable_and_describes_tenants(void **state)
{
    fixture *f = *state;
    assert_string_equal(wf_schema(f->db), wf_schema(f->db));
    size_t count = 0;
    const pm_migration *const *set = pm_builtin_migrations(&count);
    pm_engine *engine = wf_engine(f, set, count, NULL);
    pm_test_ok(pm_engine_up(engine, PM_ALL, NULL, &f->err), &f->err);
    char *text = wf_schema(f->db);
    assert_string_equal(text, wf_schema(f->db)); /* two reads agree */
    assert_null(strstr(text, "seaql_migrations"));
    char *block = wf_table_block(text, "tenants");
    assert_non_null(block);

    char *id = wf_line_starting(block, "  column id ");
    char *name = wf_line_starting(block, "  column name ");
    char *created = wf_line_starting(block, "  column created_at ");
    assert_non_null(id);
    assert_non_null(name);
    assert_non_null(created);
    assert_non_null(strstr(id, " NOT NULL"));
    assert_null(strstr(name, "NOT NULL"));
    assert_non_null(strstr(name, " NULL"));
    assert_non_null(strstr(created, " NOT NULL DEFAULT "));
    wf_assert_line(block, "  primary key (id)");
    /* columns keep their order */
    assert_true(strstr(block, "column id ") < strstr(block, "column name "));
    assert_true(strstr(block, "column name ") < strstr(block, "column created_at "));
}

static void test_conformance__schema_snapshot_shows_indexes_unique_and_foreign_keys(void **state)
{
    fixture *f = *state;
    static const pm_migration *const set[] = {&ma, &msnap};
    pm_engine *engine = wf_engine(f, set, 2, NULL);
    pm_test_ok(pm_engine_up(engine, PM_ALL, NULL, &f->err), &f->err);
    char *text = wf_schema(f->db);
    assert_string_equal(text, wf_schema(f->db));
    assert_null(strstr(text, "seaql_migrations"));
    char *block = wf_table_block(text, "conf_snap");
    assert_non_null(block);
    wf_assert_line(block, "  primary key (id)");
    wf_assert_line(block, "  index conf_snap_n (n)");
    /* and no other plain index: none was made, and one a backend makes for
     * the foreign key by itself is not part of the schema */
    assert_string_equal(wf_line_starting(block, "  index "), "  index conf_snap_n (n)");
    assert_null(strstr(strstr(block, "  index conf_snap_n (n)") + 1, "\n  index "));
    wf_assert_line(block, "  unique index conf_snap_pair (n, a_id)");
    wf_assert_line(block, "  foreign key (a_id) references conf_a (id) on delete cascade");
    /* The unique column: a constraint, or on MySQL an index of its own. */
    if (wf_is_mysql(f))
        wf_assert_line(block, "  unique index code (code)");
    else
        wf_assert_line(block, "  unique (code)");
    char *n = wf_line_starting(block, "  column n ");
    assert_non_null(n);
    assert_non_null(strstr(n, " NULL DEFAULT 7"));
    /* conf_a has its own block, with its primary key */
    char *a = wf_table_block(text, "conf_a");
    assert_non_null(a);
    wf_assert_line(a, "  primary key (id)");
}

/* The text with each column's type and default replaced by placeholders:
 * what must agree between backends. */
static char *wf_shape(const char *text)
{
    pm_buf b = PM_BUF_INIT;
    for (const char *p = text; *p;) {
        size_t len = strcspn(p, "\n");
        if (len > 9 && strncmp(p, "  column ", 9) == 0) {
            const char *name = p + 9;
            size_t nlen = strcspn(name, " \n");
            char *line = pm__strndup(p, len);
            char *def = strstr(line, " DEFAULT ");
            if (def)
                *def = '\0';
            size_t l = strlen(line);
            bool not_null = l >= 9 && strcmp(line + l - 9, " NOT NULL") == 0;
            pm_buf_printf(&b, "  column %.*s <type> %s%s\n", (int)nlen, name,
                          not_null ? "NOT NULL" : "NULL", def ? " DEFAULT <default>" : "");
            free(line);
        } else {
            pm_buf_appendn(&b, p, len);
            pm_buf_appendc(&b, '\n');
        }
        p += len + (p[len] == '\n');
    }
    return wf_keep(pm_buf_detach(&b));
}

/* text without the line equal to line. */
static char *wf_without_line(const char *text, const char *line)
{
    const char *at = wf_find_line(text, line);
    if (!at)
        return (char *)text;
    size_t n = strlen(line);
    return wf_keep(pm__format("%.*s%s", (int)(at - text), text, at + n + (at[n] == '\n')));
}

static void test_conformance__schema_snapshot_has_the_shape_sqlite_gives(void **state)
{
    fixture *f = *state;
    size_t count = 0;
    const pm_migration *const *builtin = pm_builtin_migrations(&count);
    const pm_migration *const set[] = {builtin[0], &ma, &msnap};
    assert_string_equal(builtin[0]->name, "m2024_01_01_000001_create_tenants");

    pm_db *reference = pm_test_open("sqlite::memory:");
    pm_engine *engine = NULL;
    pm_error err = PM_ERROR_INIT;
    int rc = pm_engine_new(&engine, reference, set, 3, NULL, &err);
    if (rc == 0)
        rc = pm_engine_up(engine, PM_ALL, NULL, &err);
    char *expected = NULL;
    if (rc == 0)
        rc = pm_db_schema(reference, &expected, &err);
    pm_engine_free(engine);
    pm_db_close(reference);
    if (expected)
        wf_keep(expected);
    pm_test_ok(rc, &err);
    pm_error_clear(&err);

    pm_engine *here = wf_engine(f, set, 3, NULL);
    pm_test_ok(pm_engine_up(here, PM_ALL, NULL, &f->err), &f->err);
    char *actual = wf_schema(f->db);
    /* Only the suite's tables: a shared database may hold others. */
    pm_buf mine = PM_BUF_INIT;
    static const char *const tables[] = {"conf_a", "conf_snap", "tenants"};
    for (size_t i = 0; i < PM_ARRAY_LEN(tables); i++) {
        char *block = wf_table_block(actual, tables[i]);
        assert_non_null(block);
        pm_buf_printf(&mine, "%s\n", block);
    }
    char *shape = wf_shape(wf_keep(pm_buf_detach(&mine)));
    char *want = wf_shape(expected);
    if (wf_is_mysql(f)) { /* MySQL has no unique constraint apart from its index */
        wf_assert_line(shape, "  unique index code (code)");
        shape = wf_without_line(shape, "  unique index code (code)");
        want = wf_without_line(want, "  unique (code)");
    }
    assert_string_equal(shape, want);
}

/* ---- verify ---- */

/* Where verify runs: SQLite on the suite's database (setup emptied it of
 * the suite's tables and history), a server in a scratch schema. */
static void wf_verify_target(fixture *f)
{
    wf_require_schema_reads(); /* verify reads the schema */
    if (!(caps & PM_CAP_SCRATCH_SCHEMA))
        return;
    pm_test_ok(pm_db_scratch_begin(f->db, &f->err), &f->err);
    wf_scratch = true;
    assert_string_equal(wf_schema(f->db), "");
}

static void wf_verify_done(fixture *f)
{
    if (!wf_scratch)
        return;
    wf_scratch = false;
    pm_test_ok(pm_db_scratch_end(f->db, &f->err), &f->err);
}

typedef struct wf_verified {
    const char *names[16];
    pm_verify_result results[16];
    const char *details[16];
    size_t count;
} wf_verified;

static void wf_on_verified(const char *migration, pm_verify_result result, const char *detail,
                           void *ctx)
{
    wf_verified *v = ctx;
    if (v->count < PM_ARRAY_LEN(v->names)) {
        v->names[v->count] = wf_keep(pm__strdup(migration));
        v->results[v->count] = result;
        v->details[v->count] = detail ? wf_keep(pm__strdup(detail)) : NULL;
    }
    v->count++;
}

static void wf_print_verified(const wf_verified *v)
{
    for (size_t i = 0; i < v->count && i < PM_ARRAY_LEN(v->names); i++)
        print_error("  %s: %d %s\n", v->names[i], (int)v->results[i],
                    v->details[i] ? v->details[i] : "");
}

#define wf_assert_verified(v, i, name, result)                                                     \
    wf_assert_verified_((v), (i), (name), (result), __FILE__, __LINE__)
static void wf_assert_verified_(const wf_verified *v, size_t i, const char *name,
                                pm_verify_result result, const char *file, int line)
{
    if (i < v->count && strcmp(v->names[i], name) == 0 && v->results[i] == result)
        return;
    print_error("verify report %zu is not %s with result %d; reports:\n", i, name, (int)result);
    wf_print_verified(v);
    _fail(file, line);
}

/* conf_v: a table for verify's findings. */
static int up_conf_v(pm_schema *s, const void *data)
{
    (void)data;
    static const pm_column columns[] = {
        {.name = "id", .type = PM_TYPE_INTEGER, .flags = PM_PRIMARY_KEY},
        {.name = "n", .type = PM_TYPE_INTEGER},
        {.name = "label", .type = PM_TYPE_TEXT},
    };
    static const pm_table t = {
        .name = "conf_v", .columns = columns, .ncolumns = PM_ARRAY_LEN(columns)};
    return pm_schema_create_table(s, &t, 0);
}

static int down_conf_v(pm_schema *s, const void *data)
{
    (void)data;
    return pm_schema_drop_table(s, "conf_v", 0);
}

/* Creates an index, and its down forgets to drop it. */
static int up_forgotten_index(pm_schema *s, const void *data)
{
    (void)data;
    static const char *const cols[] = {"n"};
    static const pm_index idx = {
        .name = "conf_v_forgotten", .table = "conf_v", .columns = cols, .ncolumns = 1};
    return pm_schema_create_index(s, &idx, PM_IF_NOT_EXISTS);
}

static int down_forgets(pm_schema *s, const void *data)
{
    (void)s;
    (void)data;
    return 0;
}

/* Adds a column (when absent, so it can be applied again after its wrong
 * down), and its down drops another one. */
static int up_add_extra(pm_schema *s, const void *data)
{
    (void)data;
    static const pm_column extra = {.name = "extra", .type = PM_TYPE_INTEGER, .flags = PM_NULL};
    bool has = false;
    int rc = pm_schema_has_column(s, "conf_v", "extra", &has);
    return rc == 0 && !has ? pm_schema_add_column(s, "conf_v", &extra) : rc;
}

static int down_drops_label(pm_schema *s, const void *data)
{
    (void)data;
    return pm_schema_drop_column(s, "conf_v", "label");
}

static int up_conf_w(pm_schema *s, const void *data)
{
    (void)data;
    return pm_schema_exec(s, "CREATE TABLE conf_w (id INTEGER)");
}

static int down_fails(pm_schema *s, const void *data)
{
    (void)data;
    return pm_schema_exec(s, PM_TEST_BAD_STATEMENT);
}

static const pm_migration mv = {"m2024_05_02_000001_conf_v", up_conf_v, down_conf_v, 0, NULL, NULL};
static const pm_migration mv_index = {
    "m2024_05_03_000001_conf_v_index", up_forgotten_index, down_forgets, 0, NULL, NULL};
static const pm_migration mv_column = {
    "m2024_05_04_000001_conf_v_column", up_add_extra, down_drops_label, 0, NULL, NULL};
static const pm_migration mv_down_fails = {
    "m2024_05_05_000001_conf_w", up_conf_w, down_fails, 0, NULL, NULL};
static const pm_migration mv_after = PM_TEST_MIGRATION("m2024_06_01_000001_conf_c", "conf_c");

static void test_conformance__verify_passes_a_set_whose_downs_restore_the_schema(void **state)
{
    fixture *f = *state;
    size_t count = 0;
    const pm_migration *const *builtin = pm_builtin_migrations(&count);
    const pm_migration *const set[] = {builtin[0], &ma, &mb, &msnap, &mv};
    wf_verify_target(f);
    pm_engine *engine = wf_engine(f, set, 5, NULL);
    wf_verified *v = wf_keep(calloc(1, sizeof(*v)));
    size_t problems = 99;
    pm_test_ok(pm_engine_verify(engine, wf_on_verified, v, &problems, &f->err), &f->err);
    assert_int_equal(problems, 0);
    if (v->count != 5)
        wf_print_verified(v);
    assert_int_equal(v->count, 5);
    for (size_t i = 0; i < 5; i++) {
        wf_assert_verified(v, i, set[i]->name, PM_VERIFY_OK);
        assert_null(v->details[i]);
    }
    /* It ends with every migration applied. */
    assert_int_equal(pm_test_history_count(f->db), 5);
    assert_true(pm_test_has_table(f->db, "tenants"));
    assert_true(pm_test_has_table(f->db, "conf_snap"));
    assert_true(pm_test_has_table(f->db, "conf_v"));
    wf_verify_done(f);
}

static void test_conformance__verify_catches_downs_that_do_not_restore_or_fail(void **state)
{
    fixture *f = *state;
    const pm_migration *const set[] = {&ma, &mv, &mv_index, &mv_column, &mv_down_fails, &mv_after};
    wf_verify_target(f);
    pm_engine *engine = wf_engine(f, set, 6, NULL);
    wf_verified *v = wf_keep(calloc(1, sizeof(*v)));
    size_t problems = 0;
    pm_test_ok(pm_engine_verify(engine, wf_on_verified, v, &problems, &f->err), &f->err);
    if (v->count != 6)
        wf_print_verified(v);
    assert_int_equal(v->count, 6); /* it goes on after the failed down: conf_c is checked */
    assert_int_equal(problems, 3);
    wf_assert_verified(v, 0, ma.name, PM_VERIFY_OK);
    wf_assert_verified(v, 1, mv.name, PM_VERIFY_OK);

    wf_assert_verified(v, 2, mv_index.name, PM_VERIFY_NOT_RESTORED);
    assert_non_null(v->details[2]);
    assert_non_null(strstr(v->details[2], "+ "));
    assert_non_null(strstr(v->details[2], "conf_v_forgotten"));
    assert_null(strstr(v->details[2], "- "));

    wf_assert_verified(v, 3, mv_column.name, PM_VERIFY_NOT_RESTORED);
    const char *d = v->details[3];
    assert_non_null(d);
    assert_non_null(strstr(d, "- ")); /* label, which down dropped */
    assert_non_null(strstr(d, "column label "));
    assert_non_null(strstr(d, "+ ")); /* extra, which down left */
    assert_non_null(strstr(d, "column extra "));
    assert_true(strstr(d, "column label ") < strstr(d, "column extra "));

    wf_assert_verified(v, 4, mv_down_fails.name, PM_VERIFY_DOWN_FAILED);
    assert_non_null(v->details[4]);
    assert_true(strlen(v->details[4]) > 0);
    wf_assert_verified(v, 5, mv_after.name, PM_VERIFY_OK);
    assert_true(pm_test_has_table(f->db, "conf_c"));
    wf_verify_done(f);
}

static void test_conformance__verify_reports_a_failing_up_and_checks_the_next(void **state)
{
    fixture *f = *state;
    wf_verify_target(f);
    pm_engine *engine = wf_engine(f, a_bad_c, 3, NULL);
    wf_verified *v = wf_keep(calloc(1, sizeof(*v)));
    size_t problems = 0;
    pm_test_ok(pm_engine_verify(engine, wf_on_verified, v, &problems, &f->err), &f->err);
    if (v->count != 3)
        wf_print_verified(v);
    assert_int_equal(v->count, 3);
    assert_int_equal(problems, 1);
    wf_assert_verified(v, 0, ma.name, PM_VERIFY_OK);
    wf_assert_verified(v, 1, mbad.name, PM_VERIFY_UP_FAILED);
    assert_non_null(v->details[1]);
    wf_assert_verified(v, 2, mc.name, PM_VERIFY_OK); /* checked all the same */
    assert_true(pm_test_has_table(f->db, "conf_c"));
    wf_verify_done(f);
}

static void test_conformance__verify_refuses_a_database_with_history(void **state)
{
    fixture *f = *state;
    wf_verify_target(f);
    pm_engine *engine = wf_engine(f, abc, 3, NULL);
    pm_test_ok(pm_engine_up(engine, 1, NULL, &f->err), &f->err);
    wf_verified *v = wf_keep(calloc(1, sizeof(*v)));
    size_t problems = 0;
    assert_int_equal(pm_engine_verify(engine, wf_on_verified, v, &problems, &f->err), PM_EINVAL);
    assert_non_null(strstr(f->err.message, "scratch"));
    assert_int_equal(v->count, 0);
    assert_int_equal(pm_test_history_count(f->db), 1);
    assert_false(pm_test_has_table(f->db, "conf_b"));
    wf_verify_done(f);
}

static void
test_conformance__scratch_schema_is_empty_and_dropped_and_the_connection_returns(void **state)
{
    fixture *f = *state;
    if (!(caps & PM_CAP_SCRATCH_SCHEMA)) { /* SQLite has none: verify uses sqlite::memory: */
        assert_int_equal(pm_db_scratch_begin(f->db, &f->err), PM_EUNSUPPORTED);
        assert_non_null(strstr(f->err.message, "sqlite::memory:"));
        return;
    }
    pm_test_exec(f->db, "CREATE TABLE conf_a (id INTEGER PRIMARY KEY, name TEXT)");
    pm_test_ok(pm_db_scratch_begin(f->db, &f->err), &f->err);
    wf_scratch = true;
    assert_false(pm_test_has_table(f->db, "conf_a"));
    assert_string_equal(wf_schema(f->db), "");
    assert_int_equal(pm_db_scratch_begin(f->db, &f->err), PM_EINVAL); /* one at a time */
    pm_test_exec(f->db, "CREATE TABLE conf_b (id INTEGER PRIMARY KEY)");
    assert_true(pm_test_has_table(f->db, "conf_b"));
    wf_scratch = false;
    pm_test_ok(pm_db_scratch_end(f->db, &f->err), &f->err);
    pm_test_ok(pm_db_scratch_end(f->db, &f->err), &f->err); /* nothing left to end */
    /* Back on the schema it started on: conf_a is there, conf_b went with
     * the scratch schema. */
    assert_true(pm_test_has_table(f->db, "conf_a"));
    assert_false(pm_test_has_table(f->db, "conf_b"));
    char *text = wf_schema(f->db);
    wf_assert_line(text, "table conf_a");
}

/* ==== Test databases (poblysh/testdb.h) ==== */

/* Clone mode needs a driver that copies databases in memory (SQLite) or a
 * server whose backend can (PostgreSQL, natively or through libdbi);
 * rollback mode also a driver that reports open transactions. */
static bool testdb_clone_supported(void)
{
    return (caps & (PM_CAP_CLONE_IMAGE | PM_CAP_CLONE_TEMPLATE)) != 0;
}

static bool testdb_rollback_supported(void)
{
    return testdb_clone_supported() && (caps & PM_CAP_ROLLBACK_TESTDB);
}

/* Acquires, or checks the refusal names the driver and returns NULL. */
static pm_testdb *td_acquire(pm_testdb_mode mode, bool supported)
{
    pm_error err = PM_ERROR_INIT;
    pm_testdb *tdb = NULL;
    int rc = pm_testdb_acquire(&tdb, url, abc, 3, mode, &err);
    if (!supported) {
        assert_int_equal(rc, PM_EUNSUPPORTED);
        assert_null(tdb);
        assert_non_null(strstr(err.message, "cannot"));
        pm_error_clear(&err);
        return NULL;
    }
    pm_test_ok(rc, &err);
    return tdb;
}

static void td_release(pm_testdb *tdb)
{
    pm_error err = PM_ERROR_INIT;
    pm_test_ok(pm_testdb_release(tdb, 0, &err), &err);
}

static void test_conformance__test_database_clones_have_the_set_and_are_independent(void **state)
{
    (void)state;
    pm_testdb *a = td_acquire(PM_TESTDB_CLONE, testdb_clone_supported());
    if (!a)
        return;
    pm_testdb *b = td_acquire(PM_TESTDB_CLONE, true);
    assert_int_equal(pm_test_history_count(pm_testdb_db(a)), 3);
    assert_true(pm_test_has_table(pm_testdb_db(b), "conf_c"));
    pm_test_exec(pm_testdb_db(a), "INSERT INTO conf_a (id, name) VALUES (1, 'a')");
    assert_int_equal(pm_test_int(pm_testdb_db(b), "SELECT count(*) FROM conf_a"), 0);
    td_release(a);
    td_release(b);
}

static void test_conformance__test_database_rollback_mode_undoes_each_test(void **state)
{
    (void)state;
    pm_testdb *first = td_acquire(PM_TESTDB_ROLLBACK, testdb_rollback_supported());
    if (!first)
        return;
    pm_test_exec(pm_testdb_db(first), "INSERT INTO conf_b (id, name) VALUES (1, 'b')");
    td_release(first);
    pm_testdb *second = td_acquire(PM_TESTDB_ROLLBACK, true);
    assert_int_equal(pm_test_int(pm_testdb_db(second), "SELECT count(*) FROM conf_b"), 0);
    assert_int_equal(pm_test_history_count(pm_testdb_db(second)), 3);
    td_release(second);
}

/* ==== Capabilities ==== */

static void test_conformance__capabilities_describe_what_the_connection_does(void **state)
{
    fixture *f = *state;
    assert_int_equal(pm_db_capabilities(f->db), caps);
    /* Told from the URL alone, when the driver can, they are the same. */
    unsigned int told = 0;
    int rc = pm_url_capabilities(url, &told, &f->err);
    if (rc == 0)
        assert_int_equal(told, caps);
    else
        assert_int_equal(rc, PM_EUNSUPPORTED);
    pm_error_clear(&f->err);
    /* Ephemeral: another connection to the URL sees another database. */
    pm_test_exec(f->db, "CREATE TABLE conf_probe (id INTEGER)");
    pm_db *other = pm_test_open(url);
    assert_int_equal(pm_test_has_table(other, "conf_probe"), !(caps & PM_CAP_EPHEMERAL));
    pm_db_close(other);
    /* Transactional DDL: a table created in a rolled-back transaction is
     * gone; MySQL commits it. */
    pm_test_ok(pm__db_begin(f->db, &f->err), &f->err);
    pm_test_ok(pm__db_exec(f->db, "CREATE TABLE conf_v (id INTEGER)", &f->err), &f->err);
    pm__db_rollback(f->db, &f->err);
    assert_int_equal(pm_test_has_table(f->db, "conf_v"), !(caps & PM_CAP_TRANSACTIONAL_DDL));
    /* Reading the schema works exactly when it says so. */
    char *text = NULL;
    rc = pm_db_schema(f->db, &text, &f->err);
    assert_int_equal(rc == 0, (caps & PM_CAP_READ_SCHEMA) != 0);
    free(text);
}

/* ==== A driver registered at run time ==== */

/* The SQLite driver under a scheme and name of its own, registered by this
 * program: what a driver from outside the library looks like to poblysh. */
extern const pm_driver pm_driver_sqlite;
static int wrapped_opens;

static int wrapped_open(pm_conn **out, const pm_url *u, const pm_connect_options *opts,
                        pm_error *err)
{
    wrapped_opens++;
    return pm_driver_sqlite.open(out, u, opts, err);
}

static const char *const wrapped_schemes[] = {"wrapped-sqlite", NULL};
static pm_driver wrapped_sqlite;

static void register_wrapped_sqlite(void)
{
    wrapped_sqlite = pm_driver_sqlite;
    wrapped_sqlite.name = "wrapped-sqlite";
    wrapped_sqlite.schemes = wrapped_schemes;
    wrapped_sqlite.open = wrapped_open;
    pm_error err = PM_ERROR_INIT;
    if (pm_driver_register(&wrapped_sqlite, &err) < 0) {
        fprintf(stderr, "test_conformance: cannot register wrapped-sqlite: %s\n", err.message);
        exit(1);
    }
}

/* Opens url once: its capabilities, and whether the registered driver
 * serves it. */
static bool probe_url(void)
{
    pm_db *db = pm_test_open(url);
    caps = pm_db_capabilities(db);
    bool wrapped = strcmp(pm_db_driver_name(db), wrapped_sqlite.name) == 0;
    pm_db_close(db);
    return wrapped;
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
    register_wrapped_sqlite();
    bool wrapped = probe_url();
    char *shown = pm_url_redact(url);
    printf("driver conformance suite on %s (capabilities 0x%x)\n", shown, caps);
    free(shown);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            test_conformance__builtin_set_creates_tenants_and_one_history_row, setup, teardown),
        cmocka_unit_test_setup_teardown(test_conformance__up_down_status_cycle, setup, teardown),
        cmocka_unit_test_setup_teardown(test_conformance__failing_migration_leaves_no_history_row,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_conformance__unknown_applied_version_is_reported,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_conformance__damaged_history_is_refused_naming_the_row,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_conformance__history_table_without_applied_at_is_damaged, setup, teardown),
        cmocka_unit_test_setup_teardown(test_conformance__seaorm_history_table_is_upgraded, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_conformance__schema_builder_renders_valid_ddl, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_conformance__errors_carry_database_code_and_statement,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_conformance__has_table_and_has_column, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_conformance__work_survives_reconnecting, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            test_conformance__concurrent_runners_apply_each_migration_once, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_conformance__edited_migration_is_modified_and_blocks_up_until_accepted, setup,
            teardown),
        cmocka_unit_test_setup_teardown(
            test_conformance__seaorm_rows_without_checksum_are_never_modified, setup, teardown),
        cmocka_unit_test_setup_teardown(test_conformance__missing_version_blocks_up_unless_allowed,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_conformance__late_merged_migration_is_out_of_order,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_conformance__failed_migration_without_transaction_blocks_until_repaired, setup,
            teardown),
        cmocka_unit_test_setup_teardown(
            test_conformance__transactional_migration_never_shows_failed, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_conformance__kill_9_during_migration_without_transaction_leaves_failed, setup,
            teardown),
        cmocka_unit_test_setup_teardown(
            test_conformance__dry_run_of_up_records_the_sql_and_changes_nothing, wf_setup,
            wf_teardown),
        cmocka_unit_test_setup_teardown(
            test_conformance__dry_run_of_up_with_history_table_present_changes_nothing, wf_setup,
            wf_teardown),
        cmocka_unit_test_setup_teardown(
            test_conformance__dry_run_of_down_records_drop_and_delete_and_changes_nothing, wf_setup,
            wf_teardown),
        cmocka_unit_test_setup_teardown(
            test_conformance__fresh_drops_stray_objects_and_applies_everything, wf_setup,
            wf_teardown),
        cmocka_unit_test_setup_teardown(
            test_conformance__fresh_on_an_empty_database_applies_everything, wf_setup, wf_teardown),
        cmocka_unit_test_setup_teardown(test_conformance__reset_reverts_every_applied_migration,
                                        wf_setup, wf_teardown),
        cmocka_unit_test_setup_teardown(test_conformance__refresh_reverts_and_reapplies_everything,
                                        wf_setup, wf_teardown),
        cmocka_unit_test_setup_teardown(test_conformance__schema_snapshot_reads_finish, wf_setup,
                                        wf_teardown),
        cmocka_unit_test_setup_teardown(
            test_conformance__schema_snapshot_is_stable_and_describes_tenants, wf_setup,
            wf_teardown),
        cmocka_unit_test_setup_teardown(
            test_conformance__schema_snapshot_shows_indexes_unique_and_foreign_keys, wf_setup,
            wf_teardown),
        cmocka_unit_test_setup_teardown(
            test_conformance__schema_snapshot_has_the_shape_sqlite_gives, wf_setup, wf_teardown),
        cmocka_unit_test_setup_teardown(
            test_conformance__verify_passes_a_set_whose_downs_restore_the_schema, wf_setup,
            wf_teardown),
        cmocka_unit_test_setup_teardown(
            test_conformance__verify_catches_downs_that_do_not_restore_or_fail, wf_setup,
            wf_teardown),
        cmocka_unit_test_setup_teardown(
            test_conformance__verify_reports_a_failing_up_and_checks_the_next, wf_setup,
            wf_teardown),
        cmocka_unit_test_setup_teardown(test_conformance__verify_refuses_a_database_with_history,
                                        wf_setup, wf_teardown),
        cmocka_unit_test_setup_teardown(
            test_conformance__scratch_schema_is_empty_and_dropped_and_the_connection_returns,
            wf_setup, wf_teardown),
        cmocka_unit_test_setup_teardown(
            test_conformance__test_database_clones_have_the_set_and_are_independent, setup,
            teardown),
        cmocka_unit_test_setup_teardown(
            test_conformance__test_database_rollback_mode_undoes_each_test, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_conformance__capabilities_describe_what_the_connection_does, setup, teardown),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    pm_testdb_cleanup();
    if (wrapped && wrapped_opens < 2) {
        fprintf(stderr, "test_conformance: the registered driver was not used (%d opens)\n",
                wrapped_opens);
        return 1;
    }
    return failed;
}
