/* test_layouts.c: folders written for other migration tools run as they
 * are, on every backend: dbmate, golang-migrate (digit-first and dotted
 * descriptions, up-only files), goose (annotations, NO TRANSACTION), sqlx
 * (plain and reversible, -- no-transaction), diesel folders and Flyway
 * (dotted versions, undo files). Each folder loads in version order, applies,
 * reports status, reverts as far as it can and applies again. Also what a
 * folder that cannot be read reports: every bad entry, with its rule.
 *
 * Run as: test_layouts <tests/fixtures/sql/layouts> <URL | env:NAME>. On a
 * server (env:NAME, exported by scripts/with-postgres.sh or with-mariadb.sh)
 * the suite works in a database of its own, created and dropped here; each
 * test starts from an empty database (pm_engine_fresh). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "poblysh/source.h"
#include "testutil.h"

static const char *layouts; /* tests/fixtures/sql/layouts */
static const char *url;     /* the database every test uses */
static char *own_url;       /* a server's database of this suite's own */
static char own_name[64];

typedef struct fixture {
    pm_source *src;
    pm_db *db;
    pm_engine *engine;
    pm_error err;
    char path[4096];
    char tmpdir[64];
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    if (!f || pm_source_new(&f->src, &f->err) < 0)
        return -1;
    f->db = pm_test_open(url);
    *state = f;
    return 0;
}

static void remove_tmpdir(fixture *f)
{
    if (!f->tmpdir[0])
        return;
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->tmpdir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", f->tmpdir);
}

static int teardown(void **state)
{
    fixture *f = *state;
    pm_engine_free(f->engine);
    pm_db_close(f->db);
    pm_source_free(f->src);
    pm_error_clear(&f->err);
    remove_tmpdir(f);
    free(f);
    return 0;
}

static const char *layout(fixture *f, const char *name)
{
    snprintf(f->path, sizeof(f->path), "%s/%s", layouts, name);
    return f->path;
}

/* Loads the layout folder and an engine on it. */
static void load(fixture *f, const char *name, const char *format)
{
    pm_test_ok(pm_source_add_dir_as(f->src, layout(f, name), format, &f->err), &f->err);
    size_t count = 0;
    const pm_migration *const *set = pm_source_migrations(f->src, &count);
    pm_test_ok(pm_engine_new(&f->engine, f->db, set, count, NULL, &f->err), &f->err);
}

static void assert_names(fixture *f, const char *expected)
{
    char got[4096] = "";
    size_t count = 0;
    const pm_migration *const *set = pm_source_migrations(f->src, &count);
    for (size_t i = 0; i < count; i++) {
        size_t len = strlen(got);
        snprintf(got + len, sizeof(got) - len, "%s%s", i ? "," : "", set[i]->name);
    }
    assert_string_equal(got, expected);
}

/* How many migrations status reports in state. */
static size_t count_in_state(fixture *f, pm_state state)
{
    pm_status *st = NULL;
    pm_test_ok(pm_engine_status(f->engine, &st, &f->err), &f->err);
    size_t n = 0;
    for (size_t i = 0; i < pm_status_count(st); i++)
        n += pm_status_entry_at(st, i)->state == state;
    pm_status_free(st);
    return n;
}

static void assert_rows(fixture *f, const char *table, const char *expected)
{
    char sql[200];
    snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM %s", table);
    char *got = pm_test_text(f->db, sql);
    assert_non_null(got);
    assert_string_equal(got, expected);
    free(got);
}

static void assert_no_table(fixture *f, const char *table)
{
    char sql[200];
    snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM %s", table);
    pm_error err = PM_ERROR_INIT;
    assert_true(pm_db_exec(f->db, sql, &err) < 0);
    pm_error_clear(&err);
}

/* fresh (from an empty database), then every migration applied. */
static void apply_all(fixture *f, size_t count)
{
    size_t applied = 0;
    pm_test_ok(pm_engine_fresh(f->engine, &applied, &f->err), &f->err);
    assert_int_equal(applied, count);
    assert_int_equal(count_in_state(f, PM_STATE_APPLIED), count);
    assert_int_equal(count_in_state(f, PM_STATE_PENDING), 0);
}

/* Reverts everything, then applies everything again. */
static void revert_and_reapply(fixture *f, size_t count)
{
    size_t reverted = 0, applied = 0;
    pm_test_ok(pm_engine_down(f->engine, count, &reverted, &f->err), &f->err);
    assert_int_equal(reverted, count);
    assert_int_equal(count_in_state(f, PM_STATE_PENDING), count);
    pm_test_ok(pm_engine_up(f->engine, PM_ALL, &applied, &f->err), &f->err);
    assert_int_equal(applied, count);
}

/* ==== Each tool's layout ==== */

static void test_layouts__dbmate_folder_with_hyphens_and_dots(void **state)
{
    fixture *f = *state;
    load(f, "dbmate", NULL);
    assert_names(f, "00000000000000-initial-schema,20151129054053_create_users,"
                    "20240101120000_v2.0-upgrade");
    apply_all(f, 3);
    pm_test_exec(f->db, "INSERT INTO users (id, name, email, plan) VALUES (1, 'a', 'b', 'c')");
    assert_rows(f, "users", "1");
    revert_and_reapply(f, 3);
    assert_rows(f, "users", "0");
}

static void test_layouts__golang_migrate_folder_with_any_description(void **state)
{
    fixture *f = *state;
    load(f, "golang-migrate", "golang-migrate");
    assert_names(f, "000001_create_users_table,000057_upgrade_command_webhooks_v6.0,"
                    "0120_2.9.0_schema");
    apply_all(f, 3);
    assert_rows(f, "schema_info", "1");
    size_t reverted = 0;
    pm_test_ok(pm_engine_down(f->engine, 1, &reverted, &f->err), &f->err);
    assert_no_table(f, "schema_info");
    /* 000057 has no .down.sql: reverting it fails and names why. */
    assert_true(pm_engine_down(f->engine, 1, &reverted, &f->err) < 0);
    assert_non_null(strstr(f->err.message, "000057_upgrade_command_webhooks_v6.0.up.sql"));
    assert_non_null(strstr(f->err.message, "cannot be reverted"));
    assert_rows(f, "command_webhooks", "0");
    pm_error_clear(&f->err);
    size_t applied = 0;
    pm_test_ok(pm_engine_up(f->engine, PM_ALL, &applied, &f->err), &f->err);
    assert_int_equal(applied, 1);
}

static void test_layouts__goose_folder_with_annotations(void **state)
{
    fixture *f = *state;
    load(f, "goose", NULL);
    assert_names(f, "20170506082420_create_table,20170506082421_create_tags,20170506082422_seed");
    size_t count = 0;
    const pm_migration *const *set = pm_source_migrations(f->src, &count);
    assert_int_equal(set[1]->options & PM_MIGRATION_NO_TRANSACTION, PM_MIGRATION_NO_TRANSACTION);
    assert_int_equal(set[0]->options & PM_MIGRATION_NO_TRANSACTION, 0);
    apply_all(f, 3);
    assert_rows(f, "post", "2"); /* 'hello; world' did not split the INSERT */
    revert_and_reapply(f, 3);
    assert_rows(f, "post", "2");
}

static void test_layouts__sqlx_folder_plain_and_reversible(void **state)
{
    fixture *f = *state;
    load(f, "sqlx", "sqlx");
    assert_names(f, "20220101000000_init,20220102000000_add_owner,20220103000000_labels");
    size_t count = 0;
    const pm_migration *const *set = pm_source_migrations(f->src, &count);
    assert_int_equal(set[2]->options & PM_MIGRATION_NO_TRANSACTION, PM_MIGRATION_NO_TRANSACTION);
    apply_all(f, 3);
    size_t reverted = 0;
    pm_test_ok(pm_engine_down(f->engine, 2, &reverted, &f->err), &f->err);
    assert_int_equal(reverted, 2);
    assert_no_table(f, "owners");
    /* The plain file is up only. */
    assert_true(pm_engine_down(f->engine, 1, &reverted, &f->err) < 0);
    assert_non_null(strstr(f->err.message, "up-only"));
    pm_error_clear(&f->err);
    assert_rows(f, "todos", "0");
}

static void test_layouts__diesel_folders(void **state)
{
    fixture *f = *state;
    load(f, "diesel", NULL);
    assert_names(f, "2017-01-01-000000_create_users,2017-01-02-000000_create_posts,"
                    "2017-01-10-120000_add_published");
    apply_all(f, 3);
    pm_test_exec(f->db, "INSERT INTO users (id, name) VALUES (1, 'a')");
    revert_and_reapply(f, 3);
    assert_rows(f, "posts", "0");
}

static void test_layouts__flyway_dotted_versions_and_undo_files(void **state)
{
    fixture *f = *state;
    load(f, "flyway", NULL);
    /* V1.9 before V1.10: dotted parts are numbers. */
    assert_names(f, "V1__Create_person_table,V1.9__Add_people,V1.10__Add_more,V2__Create_address");
    apply_all(f, 4);
    assert_rows(f, "PERSON", "3");
    size_t reverted = 0;
    pm_test_ok(pm_engine_down(f->engine, 2, &reverted, &f->err), &f->err);
    assert_rows(f, "PERSON", "2"); /* U1.10 deleted its row */
    size_t applied = 0;
    pm_test_ok(pm_engine_up(f->engine, PM_ALL, &applied, &f->err), &f->err);
    assert_int_equal(applied, 2);
    revert_and_reapply(f, 4);
    assert_rows(f, "PERSON", "3");
}

/* ==== Folders that cannot be read ==== */

static const char *scratch(fixture *f)
{
    snprintf(f->tmpdir, sizeof(f->tmpdir), "/tmp/pm_layouts.XXXXXX");
    assert_non_null(mkdtemp(f->tmpdir));
    return f->tmpdir;
}

static void put(fixture *f, const char *name, const char *text)
{
    char path[4200];
    snprintf(path, sizeof(path), "%s/%s", f->tmpdir, name);
    if (strchr(name, '/')) {
        char dir[4200];
        snprintf(dir, sizeof(dir), "%s", path);
        *strrchr(dir, '/') = '\0';
        mkdir(dir, 0700);
    }
    FILE *out = fopen(path, "w");
    assert_non_null(out);
    fputs(text, out);
    assert_int_equal(fclose(out), 0);
}

static void assert_refused(fixture *f, const char *format, const char *const *needles)
{
    assert_int_equal(pm_source_add_dir_as(f->src, f->tmpdir, format, &f->err), PM_ESET);
    for (const char *const *n = needles; *n; n++)
        if (!strstr(f->err.message, *n))
            fail_msg("\"%s\" does not mention \"%s\"", f->err.message, *n);
    size_t count = 1;
    pm_source_migrations(f->src, &count);
    assert_int_equal(count, 0); /* nothing added */
    pm_error_clear(&f->err);
}

#define NEEDLES(...) ((const char *const[]){__VA_ARGS__, NULL})

static void test_layouts__every_bad_entry_is_reported_in_one_run(void **state)
{
    fixture *f = *state;
    scratch(f);
    put(f, "1_ok.sql", "CREATE TABLE a (id INTEGER);\n");
    put(f, "create_users.sql", "SELECT 1;\n");
    put(f, "123456789012345678901_x.sql", "SELECT 1;\n");
    put(f, "2_orphan.down.sql", "SELECT 1;\n");
    put(f, "3_bad.sql", "-- migrate:up\nSELECT 1;\n-- migrate:sideways\n");
    put(f, "4_x.go", "package migrations\n");
    assert_refused(f, NULL,
                   NEEDLES("5 problems",
                           "create_users.sql: \"create_users\" is not a migration name",
                           "must start with a version", "123456789012345678901_x.sql",
                           "more than 20 digits", "2_orphan.down.sql: a .down.sql file without",
                           "3_bad.sql:3: not a section marker", "4_x.go: a goose Go migration"));
}

static void test_layouts__one_folder_holds_one_tools_migrations(void **state)
{
    fixture *f = *state;
    scratch(f);
    put(f, "1_a.sql", "CREATE TABLE a (id INTEGER);\n");
    put(f, "V2__b.sql", "CREATE TABLE b (id INTEGER);\n");
    put(f, "afterMigrate.sql", "SELECT 1;\n");
    assert_refused(f, NULL,
                   NEEDLES("2 problems", "1_a.sql: one of the numbered files",
                           "in a folder of Flyway files (V2__b.sql)",
                           "afterMigrate.sql: a Flyway callback"));
    assert_refused(f, "sqlx",
                   NEEDLES("V2__b.sql: one of the Flyway files, not sqlx's",
                           "afterMigrate.sql: \"afterMigrate\" is not a migration name"));
}

static void test_layouts__a_layout_refuses_what_it_does_not_have(void **state)
{
    fixture *f = *state;
    scratch(f);
    put(f, "1_a.sql", "CREATE TABLE a (id INTEGER);\n");
    assert_refused(f, "golang-migrate", NEEDLES("1_a.sql", "<version>_<title>.up.sql"));
    assert_int_equal(pm_source_add_dir_as(f->src, f->tmpdir, "liquibase", &f->err), PM_EINVAL);
    assert_non_null(strstr(f->err.message, "unknown migrations layout \"liquibase\""));
    pm_error_clear(&f->err);
}

static void test_layouts__flyway_repeatable_and_orphan_undo_are_named(void **state)
{
    fixture *f = *state;
    scratch(f);
    put(f, "V1__a.sql", "CREATE TABLE a (id INTEGER);\n");
    put(f, "R__views.sql", "SELECT 1;\n");
    put(f, "U3__c.sql", "SELECT 1;\n");
    assert_refused(f, NULL,
                   NEEDLES("R__views.sql: Flyway's repeatable migrations",
                           "U3__c.sql: an undo (U) file without"));
}

static void test_layouts__diesel_metadata_toml_is_not_ignored(void **state)
{
    fixture *f = *state;
    scratch(f);
    put(f, "2020-01-01-000000_a/up.sql", "CREATE TABLE a (id INTEGER);\n");
    put(f, "2020-01-01-000000_a/metadata.toml", "run_in_transaction = false\n");
    assert_refused(f, NULL, NEEDLES("metadata.toml is not read", "-- no-transaction"));
}

static void test_layouts__goose_envsub_and_unknown_annotations_are_refused(void **state)
{
    fixture *f = *state;
    scratch(f);
    put(f, "1_a.sql", "-- +goose ENVSUB ON\n-- +goose Up\nSELECT 1;\n");
    put(f, "2_b.sql", "-- +goose Up\nSELECT 1;\n-- +goose Sideways\n");
    put(f, "3_c.sql", "-- +goose Up\nSELECT 1;\n-- migrate:down\nSELECT 2;\n");
    assert_refused(f, NULL,
                   NEEDLES("1_a.sql:1: goose's ENVSUB", "2_b.sql:3: unknown goose annotation",
                           "3_c.sql:3: dbmate's -- migrate: and goose's -- +goose markers"));
}

/* A failing statement is reported with the file and the line it starts on. */
static void test_layouts__failing_statement_names_file_and_line(void **state)
{
    fixture *f = *state;
    scratch(f);
    put(f, "1_a.up.sql",
        "CREATE TABLE a (id INTEGER);\n\n\nINSERT INTO no_such_table_xyz VALUES (1);\n");
    pm_test_ok(pm_source_add_dir(f->src, f->tmpdir, &f->err), &f->err);
    size_t count = 0;
    const pm_migration *const *set = pm_source_migrations(f->src, &count);
    pm_test_ok(pm_engine_new(&f->engine, f->db, set, count, NULL, &f->err), &f->err);
    size_t applied = 0;
    assert_true(pm_engine_fresh(f->engine, &applied, &f->err) < 0);
    char where[4200];
    snprintf(where, sizeof(where), "%s/1_a.up.sql:4", f->tmpdir);
    if (!strstr(f->err.message, where))
        fail_msg("\"%s\" does not name %s", f->err.message, where);
    /* Where the database gives a position (PostgreSQL), it is the column. */
    strcat(where, ":13: ");
    if (f->err.position > 0 && !strstr(f->err.message, where))
        fail_msg("\"%s\" does not name %s", f->err.message, where);
    pm_error_clear(&f->err);
}

static int admin_exec(const char *admin, const char *fmt, const char *name)
{
    char sql[200];
    snprintf(sql, sizeof(sql), fmt, name);
    pm_db *db = NULL;
    pm_error err = PM_ERROR_INIT;
    int rc = pm_db_open(&db, admin, NULL, &err);
    if (rc == 0)
        rc = pm_db_exec(db, sql, &err);
    if (rc < 0)
        fprintf(stderr, "test_layouts: %s: %s\n", sql, err.message ? err.message : "?");
    pm_db_close(db);
    pm_error_clear(&err);
    return rc;
}

/* env:NAME: the server's URL, and a database of the suite's own on it. */
static int server_database(const char *spec, const char *program)
{
    const char *admin = getenv(spec + 4);
    if (!admin || !*admin) {
        fprintf(stderr,
                "%s: %s is not set: this test needs its server (run it through scripts/test.sh, "
                "which starts one)\n",
                program, spec + 4);
        return -1;
    }
    snprintf(own_name, sizeof(own_name), "pm_layouts_%ld", (long)getpid());
    admin_exec(admin, "DROP DATABASE IF EXISTS %s", own_name);
    if (admin_exec(admin, "CREATE DATABASE %s", own_name) < 0 ||
        !(own_url = pm_test_url_with_database(admin, own_name)))
        return -1;
    url = own_url;
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s LAYOUTS_DIR URL|env:NAME\n", argv[0]);
        return 2;
    }
    layouts = argv[1];
    url = argv[2];
    if (strncmp(argv[2], "env:", 4) == 0 && server_database(argv[2], argv[0]) < 0)
        return 1;
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_layouts__dbmate_folder_with_hyphens_and_dots),
        T(test_layouts__golang_migrate_folder_with_any_description),
        T(test_layouts__goose_folder_with_annotations),
        T(test_layouts__sqlx_folder_plain_and_reversible),
        T(test_layouts__diesel_folders),
        T(test_layouts__flyway_dotted_versions_and_undo_files),
        T(test_layouts__every_bad_entry_is_reported_in_one_run),
        T(test_layouts__one_folder_holds_one_tools_migrations),
        T(test_layouts__a_layout_refuses_what_it_does_not_have),
        T(test_layouts__flyway_repeatable_and_orphan_undo_are_named),
        T(test_layouts__diesel_metadata_toml_is_not_ignored),
        T(test_layouts__goose_envsub_and_unknown_annotations_are_refused),
        T(test_layouts__failing_statement_names_file_and_line),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    if (own_url && admin_exec(getenv(argv[2] + 4), "DROP DATABASE %s", own_name) < 0)
        failed++;
    free(own_url);
    return failed;
}
