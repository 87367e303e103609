/* test_workflow_cli.c: the workflow commands through the built binary:
 * up/down --dry-run, schema [--output], verify, fresh, reset, refresh, the
 * production guard and the help. Each test runs poblysh as a child process
 * in a fresh directory of its own and checks its exit status, output and
 * the database it left behind. Run as: test_workflow_cli <poblysh> <work dir>.
 * The running helpers are those of testproc.h, shared with test_cli.c. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testproc.h"

#define TENANTS "m2024_01_01_000001_create_tenants"

/* `migrate schema` of the builtin set on SQLite. */
static const char tenants_schema[] =
    "table tenants\n"
    "  column id TEXT NOT NULL\n"
    "  column name TEXT NULL\n"
    "  column created_at TEXT NOT NULL DEFAULT strftime('%Y-%m-%dT%H:%M:%fZ', 'now')\n"
    "  primary key (id)\n";

/* ==== The database the test's directory holds ==== */

static void exec_db(fixture *f, const char *file, const char *sql)
{
    pm_test_exec(open_db(f, file), sql);
    close_db(f);
}

static int64_t db_int(fixture *f, const char *file, const char *sql)
{
    int64_t v = pm_test_int(open_db(f, file), sql);
    close_db(f);
    return v;
}

static int64_t db_history_count(fixture *f, const char *file)
{
    int64_t n = pm_test_history_count(open_db(f, file));
    close_db(f);
    return n;
}

static bool db_has_table(fixture *f, const char *file, const char *table)
{
    bool has = pm_test_has_table(open_db(f, file), table);
    close_db(f);
    return has;
}

static char *read_file(fixture *f, const char *file)
{
    FILE *fp = fopen(path_in_dir(f, file), "r");
    if (!fp)
        fail_msg("cannot open %s: %s", path_in_dir(f, file), strerror(errno));
    char *text = keep(f, calloc(1, 65536));
    assert_non_null(text);
    size_t n = fread(text, 1, 65535, fp);
    fclose(fp);
    text[n] = '\0';
    return text;
}

/* A dry run's output is runnable SQL: every line that is not blank is a
 * comment or a statement ending with ';'. */
static void assert_statements_end_with_semicolon(const char *out)
{
    assert_non_null(strstr(out, "-- Dry run: nothing below is run"));
    for (const char *p = out; *p;) {
        size_t len = strcspn(p, "\n");
        if (len && strncmp(p, "--", 2) != 0 && p[len - 1] != ';')
            fail_msg("a statement line does not end with ';': \"%.*s\" in:\n%s", (int)len, p, out);
        p += len + (p[len] == '\n');
    }
}

/* ==== Dry run ==== */

static void test_workflow_cli__up_dry_run_prints_the_sql_and_changes_nothing(void **state)
{
    fixture *f = *state;
    fresh_dir(f, "up_dry_run");
    const run_result *r = run_cli(f, LOCAL, ARGS("migrate", "up", "--dry-run"));
    assert_exit(r, 0);
    assert_empty(r->err);
    assert_contains(r->out, "-- Database: sqlite://poblysh.db (sqlite, profile local: its default "
                            "database)\n-- Dry run");
    assert_contains(
        r->out, "\n-- Dry run: nothing below is run; this is the SQL the command would send.\n");
    assert_contains(
        r->out,
        "\n-- poblysh bookkeeping\nBEGIN;\nCREATE TABLE IF NOT EXISTS \"seaql_migrations\" (");
    assert_contains(r->out, "\n-- " TENANTS
                            "\nBEGIN;\nCREATE TABLE \"tenants\" (\"id\" TEXT PRIMARY KEY NOT NULL");
    assert_contains(r->out, "\nINSERT INTO \"seaql_migrations\" (");
    assert_contains(r->out, "'" TENANTS "'");
    assert_contains(r->out, ");\nCOMMIT;\n\n-- Dry run: 1 migration would be applied.\n");
    assert_lacks(r->out, "Applying");
    assert_lacks(r->out, "BEGIN;\nCOMMIT;"); /* no empty transaction */
    assert_statements_end_with_semicolon(r->out);
    /* nothing was created: no tenants, no history */
    assert_false(db_has_table(f, "poblysh.db", "tenants"));
    assert_false(db_has_table(f, "poblysh.db", "seaql_migrations"));
    assert_int_equal(db_history_count(f, "poblysh.db"), 0);

    /* the database is still all pending, and a real up still applies */
    r = run_cli(f, LOCAL, ARGS("migrate", "up"));
    assert_exit(r, 0);
    assert_contains(r->out, "Applied 1 migration.\n");
    /* with nothing pending, a dry run shows no migration */
    r = run_cli(f, LOCAL, ARGS("migrate", "up", "--dry-run"));
    assert_exit(r, 0);
    assert_lacks(r->out, "-- " TENANTS);
    assert_lacks(r->out, "-- poblysh bookkeeping");
    assert_contains(r->out, "-- Dry run: 0 migrations would be applied.\n");
}

static void test_workflow_cli__down_dry_run_prints_the_sql_and_reverts_nothing(void **state)
{
    fixture *f = *state;
    fresh_dir(f, "down_dry_run");
    assert_exit(run_cli(f, LOCAL, ARGS("migrate", "up")), 0);
    exec_db(f, "poblysh.db",
            "INSERT INTO tenants (id) VALUES ('8f14e45f-ceea-467f-a9f7-5e2c1d1b2a3c')");
    const run_result *r = run_cli(f, LOCAL, ARGS("migrate", "down", "--dry-run"));
    assert_exit(r, 0);
    assert_empty(r->err);
    assert_contains(r->out, "\n-- Dry run: nothing below is run");
    assert_contains(r->out, "\n-- " TENANTS "\nBEGIN;\nDROP TABLE \"tenants\";\n");
    assert_contains(r->out,
                    "\nDELETE FROM \"seaql_migrations\" WHERE \"version\" = '" TENANTS "';\n");
    assert_contains(r->out, "COMMIT;\n\n-- Dry run: 1 migration would be reverted.\n");
    assert_lacks(r->out, "-- poblysh bookkeeping"); /* the history table is there */
    assert_lacks(r->out, "Reverting");
    assert_statements_end_with_semicolon(r->out);
    assert_true(db_has_table(f, "poblysh.db", "tenants"));
    assert_int_equal(db_int(f, "poblysh.db", "SELECT count(*) FROM tenants"), 1);
    assert_int_equal(db_history_count(f, "poblysh.db"), 1);
}

static void
test_workflow_cli__dry_run_under_production_needs_no_yes_and_changes_nothing(void **state)
{
    fixture *f = *state;
    fresh_dir(f, "dry_run_production");
    const char *url = file_url(f, "prod.db");
    const cli_env production = {"production", NULL};
    const run_result *r =
        run_cli(f, production, ARGS("--database-url", url, "migrate", "up", "--dry-run"));
    assert_exit(r, 0);
    assert_empty(r->err);
    assert_contains(r->out, "CREATE TABLE \"tenants\"");
    assert_false(db_has_table(f, "prod.db", "tenants"));
    assert_int_equal(db_history_count(f, "prod.db"), 0);

    assert_exit(run_cli(f, production, ARGS("--database-url", url, "migrate", "up")), 0);
    r = run_cli(f, production, ARGS("--database-url", url, "migrate", "down", "--dry-run"));
    assert_exit(r, 0);
    assert_empty(r->err);
    assert_contains(r->out, "DROP TABLE \"tenants\"");
    assert_true(db_has_table(f, "prod.db", "tenants"));
    assert_int_equal(db_history_count(f, "prod.db"), 1);
}

/* ==== schema ==== */

static void test_workflow_cli__schema_prints_the_golden_text(void **state)
{
    fixture *f = *state;
    fresh_dir(f, "schema");
    assert_exit(run_cli(f, LOCAL, ARGS("migrate", "up")), 0);
    const run_result *r = run_cli(f, LOCAL, ARGS("migrate", "schema"));
    assert_exit(r, 0);
    assert_empty(r->err);
    assert_string_equal(r->out, tenants_schema); /* the schema alone: no "Database:" line */
    assert_lacks(r->out, "seaql_migrations");
    /* it reads, and changes nothing */
    assert_int_equal(db_history_count(f, "poblysh.db"), 1);
    assert_string_equal(run_cli(f, LOCAL, ARGS("migrate", "schema"))->out, tenants_schema);
}

static void test_workflow_cli__schema_output_writes_the_same_text_and_says_so(void **state)
{
    fixture *f = *state;
    fresh_dir(f, "schema_output");
    assert_exit(run_cli(f, LOCAL, ARGS("migrate", "up")), 0);
    const run_result *r = run_cli(f, LOCAL, ARGS("migrate", "schema", "--output", "schema.txt"));
    assert_exit(r, 0);
    assert_empty(r->out);
    assert_contains(r->err, "wrote the schema of sqlite://poblysh.db to schema.txt");
    assert_string_equal(read_file(f, "schema.txt"), tenants_schema);
    assert_string_equal(read_file(f, "schema.txt"),
                        run_cli(f, LOCAL, ARGS("migrate", "schema"))->out);

    /* an existing file is replaced */
    r = run_cli(f, LOCAL, ARGS("migrate", "down"));
    assert_exit(r, 0);
    r = run_cli(f, LOCAL, ARGS("migrate", "schema", "--output", "schema.txt"));
    assert_exit(r, 0);
    assert_string_equal(read_file(f, "schema.txt"), "");

    /* a file that cannot be written is an error that names it */
    r = run_cli(f, LOCAL, ARGS("migrate", "schema", "--output", "no_such_dir/schema.txt"));
    assert_exit(r, 1);
    assert_contains(r->err, "no_such_dir/schema.txt");
    assert_lacks(r->err, "wrote the schema");
}

/* /dev/full: every write fails with ENOSPC, as on a full disk. Required,
 * never skipped: every Linux system has it. */
static void require_dev_full(void)
{
    if (access("/dev/full", W_OK) != 0)
        fail_msg("/dev/full is not writable here (%s): these tests need it", strerror(errno));
}

static void test_workflow_cli__schema_output_on_a_full_disk_exits_1_and_names_it(void **state)
{
    fixture *f = *state;
    require_dev_full();
    fresh_dir(f, "schema_output_full");
    assert_exit(run_cli(f, LOCAL, ARGS("migrate", "up")), 0);
    const run_result *r = run_cli(f, LOCAL, ARGS("migrate", "schema", "--output", "/dev/full"));
    assert_exit(r, 1); /* not 134: no double fclose() */
    assert_contains(r->err, "poblysh: error: cannot write /dev/full: No space left on device\n");
    assert_lacks(r->err, "wrote the schema");
    assert_int_equal(dir_entry_count(f), 1); /* poblysh.db only: no temporary file left */
}

static void test_workflow_cli__schema_output_replaces_the_file_a_link_names(void **state)
{
    fixture *f = *state;
    fresh_dir(f, "schema_output_link");
    assert_exit(run_cli(f, LOCAL, ARGS("migrate", "up")), 0);
    assert_int_equal(symlink("real.txt", path_in_dir(f, "schema.txt")), 0);
    const run_result *r = run_cli(f, LOCAL, ARGS("migrate", "schema", "--output", "schema.txt"));
    assert_exit(r, 0);
    assert_string_equal(read_file(f, "real.txt"), tenants_schema);
    struct stat st;
    assert_int_equal(lstat(path_in_dir(f, "schema.txt"), &st), 0);
    assert_true(S_ISLNK(st.st_mode)); /* the link stays a link */
    assert_int_equal(dir_entry_count(f), 3);
}

static void test_workflow_cli__full_stdout_fails_every_command_that_prints(void **state)
{
    fixture *f = *state;
    require_dev_full();
    fresh_dir(f, "full_stdout");
    assert_exit(run_cli(f, LOCAL, ARGS("migrate", "up")), 0);
    static const char *const commands[][4] = {
        {"migrate", "schema", NULL},
        {"migrate", "status", NULL},
        {"migrate", "status", "--format", "json"},
        {"migrate", "up", "--dry-run", NULL},
        {"migrate", "down", "--dry-run", NULL},
        {"migrate", "--help", NULL},
    };
    cli_stdout_path = "/dev/full";
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
        const char *const *args = commands[i];
        const run_result *r = run_cli(f, LOCAL, ARGS(args[0], args[1], args[2], args[3]));
        if (r->status != 1 || !strstr(r->err, "cannot write standard output: No space left on "
                                              "device\n"))
            fail_msg("migrate %s %s: exit %d, stderr:\n%s", args[1], args[2] ? args[2] : "",
                     r->status, r->err);
    }
    /* nothing was changed by the dry run */
    assert_int_equal(db_history_count(f, "poblysh.db"), 1);
}

/* ==== Commands that only read ==== */

static void test_workflow_cli__read_only_commands_never_create_the_database_file(void **state)
{
    fixture *f = *state;
    fresh_dir(f, "no_create");
    static const char *const commands[][4] = {
        {"status", NULL},
        {"status", "--format", "json"},
        {"schema", NULL},
        {"down", NULL},
        {"down", "--dry-run"},
        {"reset", NULL},
        {"repair", "--accept", TENANTS},
    };
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
        const char *const *c = commands[i];
        const run_result *r = run_cli(
            f, LOCAL, ARGS("--database-url", "sqlite:typo.bd", "migrate", c[0], c[1], c[2]));
        if (r->status != 4 || !strstr(r->err, "no such database file: typo.bd\n"))
            fail_msg("migrate %s: exit %d, stderr:\n%s", c[0], r->status, r->err);
        assert_false(file_exists(f, "typo.bd"));
    }
    /* the local profile's default file alike */
    const run_result *r = run_cli(f, LOCAL, ARGS("migrate", "schema"));
    assert_exit(r, 4);
    assert_contains(r->err, "no such database file: poblysh.db\n");
    r = run_cli(f, LOCAL, ARGS("migrate", "down", "--dry-run"));
    assert_exit(r, 4);
    /* a production down (refused without --yes) creates nothing either */
    r = run_cli(f, (cli_env){"production", NULL},
                ARGS("--database-url", "sqlite:prod.db", "migrate", "down"));
    assert_exit(r, 4);
    /* an explicit ?mode=rwc does not make a read create */
    r = run_cli(f, LOCAL, ARGS("--database-url", "sqlite:typo.bd?mode=rwc", "migrate", "status"));
    assert_exit(r, 4);
    assert_int_equal(dir_entry_count(f), 0);
    /* up creates it */
    assert_exit(run_cli(f, LOCAL, ARGS("--database-url", "sqlite:typo.bd", "migrate", "up")), 0);
    assert_true(file_exists(f, "typo.bd"));
    r = run_cli(f, LOCAL, ARGS("--database-url", "sqlite:typo.bd", "migrate", "status"));
    assert_exit(r, 0);
    assert_contains(r->out, "1 applied, 0 pending.\n");
}

/* ==== verify ==== */

static void test_workflow_cli__verify_passes_the_builtin_set_in_memory(void **state)
{
    fixture *f = *state;
    fresh_dir(f, "verify");
    const run_result *r = run_cli(f, LOCAL, ARGS("migrate", "verify"));
    assert_exit(r, 0);
    assert_contains(r->out, "Verifying every down() on sqlite::memory:\n");
    assert_contains(r->out, "\nSummary:\n  ok      " TENANTS "\n");
    assert_contains(r->out, "Every down() restores the schema exactly.\n");
    assert_lacks(r->out, "FAILED");
    /* It used a database of its own: none was created here. */
    assert_false(file_exists(f, "poblysh.db"));
    assert_int_equal(dir_entry_count(f), 0);
}

static void test_workflow_cli__verify_never_touches_the_configured_database(void **state)
{
    fixture *f = *state;
    fresh_dir(f, "verify_configured");
    const char *url = file_url(f, "prod.db");
    assert_exit(run_cli(f, LOCAL, ARGS("--database-url", url, "migrate", "up")), 0);
    assert_exit(run_cli(f, LOCAL, ARGS("--database-url", url, "migrate", "down")), 0);
    /* prod.db has the history table and nothing applied: verify would
     * accept it, but the URL from the environment is not where it runs */
    const run_result *r = run_cli(f, (cli_env){"production", url}, ARGS("migrate", "verify"));
    assert_exit(r, 0);
    assert_contains(r->out, "on sqlite::memory:");
    assert_false(db_has_table(f, "prod.db", "tenants"));
    assert_int_equal(db_history_count(f, "prod.db"), 0);

    /* Named explicitly, a SQLite file is refused, untouched (a missing one
     * is not created): SQLite has no scratch schema to verify in. */
    assert_exit(run_cli(f, LOCAL, ARGS("--database-url", url, "migrate", "up")), 0);
    r = run_cli(f, LOCAL, ARGS("--database-url", url, "migrate", "verify"));
    assert_exit(r, 2);
    assert_contains(r->err, "verify needs a scratch database");
    assert_contains(r->err, "sqlite::memory:");
    assert_empty(r->out);
    assert_true(db_has_table(f, "prod.db", "tenants"));
    assert_int_equal(db_history_count(f, "prod.db"), 1);
    r = run_cli(f, LOCAL, ARGS("--database-url", file_url(f, "missing.db"), "migrate", "verify"));
    assert_exit(r, 2);
    assert_false(file_exists(f, "missing.db"));
}

/* ==== fresh, reset, refresh ==== */

static void test_workflow_cli__fresh_drops_everything_and_applies_every_migration(void **state)
{
    fixture *f = *state;
    fresh_dir(f, "fresh");
    assert_exit(run_cli(f, LOCAL, ARGS("migrate", "up")), 0);
    exec_db(f, "poblysh.db",
            "INSERT INTO tenants (id) VALUES ('8f14e45f-ceea-467f-a9f7-5e2c1d1b2a3c')");
    exec_db(f, "poblysh.db", "CREATE TABLE stray (id INTEGER)");
    exec_db(f, "poblysh.db", "CREATE VIEW stray_view AS SELECT id FROM stray");
    const run_result *r = run_cli(f, LOCAL, ARGS("migrate", "fresh"));
    assert_exit(r, 0);
    assert_empty(r->err);
    assert_contains(r->out, "Dropping everything the migrations made (listed first), then "
                            "applying every migration.\n");
    /* Listed before the first is dropped. */
    assert_contains(r->out, "Will drop view stray_view\nWill drop table stray\nWill drop table "
                            "tenants\nDropped view stray_view\n");
    assert_contains(r->out, "Dropped view stray_view\n");
    assert_contains(r->out, "Dropped table stray\n");
    assert_contains(r->out, "Dropped table tenants\n");
    assert_lacks(r->out, "seaql_migrations");
    assert_contains(r->out, "Applying " TENANTS " ... done (");
    assert_contains(r->out, "Applied 1 migration.\n");
    assert_false(db_has_table(f, "poblysh.db", "stray"));
    assert_int_equal(db_int(f, "poblysh.db", "SELECT count(*) FROM tenants"), 0);
    assert_int_equal(db_history_count(f, "poblysh.db"), 1);
    assert_string_equal(run_cli(f, LOCAL, ARGS("migrate", "schema"))->out, tenants_schema);

    /* on an empty database: nothing to drop */
    r = run_cli(f, LOCAL, ARGS("--database-url", file_url(f, "empty.db"), "migrate", "fresh"));
    assert_exit(r, 0);
    assert_lacks(r->out, "Dropped");
    assert_contains(r->out, "Applied 1 migration.\n");
}

static void test_workflow_cli__reset_reverts_every_applied_migration(void **state)
{
    fixture *f = *state;
    fresh_dir(f, "reset");
    assert_exit(run_cli(f, LOCAL, ARGS("migrate", "up")), 0);
    const run_result *r = run_cli(f, LOCAL, ARGS("migrate", "reset"));
    assert_exit(r, 0);
    assert_empty(r->err);
    assert_contains(r->out, "Reverting every applied migration.\n");
    assert_contains(r->out, "Reverting " TENANTS " ... done (");
    assert_contains(r->out, "Reverted 1 migration.\n");
    assert_false(db_has_table(f, "poblysh.db", "tenants"));
    assert_int_equal(db_history_count(f, "poblysh.db"), 0);
    assert_string_equal(run_cli(f, LOCAL, ARGS("migrate", "schema"))->out, "");

    r = run_cli(f, LOCAL, ARGS("migrate", "reset"));
    assert_exit(r, 0);
    assert_contains(r->out, "Reverted 0 migrations.\n");
}

static void test_workflow_cli__refresh_reverts_and_applies_every_migration(void **state)
{
    fixture *f = *state;
    fresh_dir(f, "refresh");
    assert_exit(run_cli(f, LOCAL, ARGS("migrate", "up")), 0);
    exec_db(f, "poblysh.db",
            "INSERT INTO tenants (id) VALUES ('8f14e45f-ceea-467f-a9f7-5e2c1d1b2a3c')");
    const run_result *r = run_cli(f, LOCAL, ARGS("migrate", "refresh"));
    assert_exit(r, 0);
    assert_empty(r->err);
    assert_contains(r->out, "Reverting every applied migration, then applying every migration.\n");
    assert_contains(r->out, "Reverting " TENANTS " ... done (");
    assert_contains(r->out, "Applying " TENANTS " ... done (");
    assert_contains(r->out, "Reverted 1 migration and applied 1.\n");
    assert_int_equal(db_int(f, "poblysh.db", "SELECT count(*) FROM tenants"), 0); /* recreated */
    assert_int_equal(db_history_count(f, "poblysh.db"), 1);
}

static void test_workflow_cli__fresh_reset_refresh_need_yes_outside_local_and_test(void **state)
{
    fixture *f = *state;
    fresh_dir(f, "workflow_guard");
    const char *url = file_url(f, "prod.db");
    static const char *const commands[] = {"fresh", "reset", "refresh"};
    static const char *const profiles[] = {"production", "staging"};
    assert_exit(run_cli(f, LOCAL, ARGS("--database-url", url, "migrate", "up")), 0);
    exec_db(f, "prod.db",
            "INSERT INTO tenants (id) VALUES ('8f14e45f-ceea-467f-a9f7-5e2c1d1b2a3c')");
    exec_db(f, "prod.db", "CREATE TABLE keep_me (id INTEGER)");
    for (size_t c = 0; c < 3; c++) {
        for (size_t p = 0; p < 2; p++) {
            const run_result *r = run_cli(f, (cli_env){profiles[p], NULL},
                                          ARGS("--database-url", url, "migrate", commands[c]));
            assert_exit(r, 2);
            assert_contains(r->err, "--yes");
            assert_contains(r->err, fmt(f, "migrate %s", commands[c]));
            assert_contains(r->err, fmt(f, "\"%s\"", profiles[p]));
            assert_lacks(r->out, "Dropping");
            assert_lacks(r->out, "Reverting");
            assert_lacks(r->out, "Applying");
            assert_true(db_has_table(f, "prod.db", "keep_me"));
            assert_int_equal(db_int(f, "prod.db", "SELECT count(*) FROM tenants"), 1);
            assert_int_equal(db_history_count(f, "prod.db"), 1);
        }
        /* the URL from the environment is guarded alike */
        const run_result *r =
            run_cli(f, (cli_env){"production", url}, ARGS("migrate", commands[c]));
        assert_exit(r, 2);
        assert_contains(r->err, "--yes");
        assert_int_equal(db_int(f, "prod.db", "SELECT count(*) FROM tenants"), 1);
    }

    /* With --yes they run. */
    const cli_env production = {"production", NULL};
    const run_result *r =
        run_cli(f, production, ARGS("--database-url", url, "migrate", "refresh", "--yes"));
    assert_exit(r, 0);
    assert_empty(r->err);
    assert_contains(r->out, "Reverted 1 migration and applied 1.\n");
    assert_int_equal(db_int(f, "prod.db", "SELECT count(*) FROM tenants"), 0);
    assert_true(db_has_table(f, "prod.db", "keep_me"));

    r = run_cli(f, production, ARGS("--database-url", url, "migrate", "fresh", "--yes"));
    assert_exit(r, 0);
    assert_empty(r->err);
    assert_contains(r->out, "Dropped table keep_me\n");
    assert_contains(r->out, "Applied 1 migration.\n");
    assert_false(db_has_table(f, "prod.db", "keep_me"));
    assert_int_equal(db_history_count(f, "prod.db"), 1);

    r = run_cli(f, production, ARGS("--database-url", url, "migrate", "reset", "--yes"));
    assert_exit(r, 0);
    assert_empty(r->err);
    assert_contains(r->out, "Reverted 1 migration.\n");
    assert_false(db_has_table(f, "prod.db", "tenants"));
    assert_int_equal(db_history_count(f, "prod.db"), 0);

    /* local and test need no --yes */
    r = run_cli(f, (cli_env){"test", url}, ARGS("migrate", "fresh"));
    assert_exit(r, 0);
    assert_true(db_has_table(f, "prod.db", "tenants"));
}

/* ==== Help and options ==== */

static void test_workflow_cli__help_lists_every_command(void **state)
{
    fixture *f = *state;
    fresh_dir(f, "workflow_help");
    static const char *const commands[] = {"up",      "down",  "status", "repair", "fresh",
                                           "refresh", "reset", "schema", "verify", "generate"};
    const run_result *r = run_cli(f, LOCAL, ARGS("--help"));
    assert_exit(r, 0);
    assert_empty(r->err);
    for (size_t i = 0; i < PM_ARRAY_LEN(commands); i++) {
        assert_contains(r->out, fmt(f, "\n  migrate %s ", commands[i]));
        const run_result *c = run_cli(f, LOCAL, ARGS("migrate", commands[i], "--help"));
        assert_exit(c, 0);
        assert_empty(c->err);
        assert_contains(c->out, fmt(f, "Usage: poblysh migrate %s", commands[i]));
    }
    r = run_cli(f, LOCAL, ARGS("migrate", "up", "--help"));
    assert_contains(r->out, "--dry-run");
    r = run_cli(f, LOCAL, ARGS("migrate", "down", "--help"));
    assert_contains(r->out, "--dry-run");
    r = run_cli(f, LOCAL, ARGS("migrate", "schema", "--help"));
    assert_contains(r->out, "--output FILE");
    r = run_cli(f, LOCAL, ARGS("migrate", "verify", "--help"));
    assert_contains(r->out, "--database-url URL");
    for (size_t i = 0; i < 3; i++) {
        r = run_cli(f, LOCAL, ARGS("migrate", commands[4 + i], "--help"));
        assert_contains(r->out, "--yes");
    }
    /* an unknown command lists them all too */
    r = run_cli(f, LOCAL, ARGS("migrate", "nope"));
    assert_exit(r, 2);
    for (size_t i = 0; i < PM_ARRAY_LEN(commands); i++)
        assert_contains(r->err, commands[i]);
    assert_int_equal(dir_entry_count(f), 0);
}

static void test_workflow_cli__workflow_options_apply_only_to_their_commands(void **state)
{
    fixture *f = *state;
    fresh_dir(f, "workflow_options");
    static const char *const refused[][3] = {
        {"fresh", "--dry-run", NULL},   {"reset", "--dry-run", NULL},
        {"refresh", "--dry-run", NULL}, {"status", "--dry-run", NULL},
        {"schema", "--yes", NULL},      {"verify", "--yes", NULL},
        {"up", "--output", "x.txt"},    {"verify", "--output", "x.txt"},
        {"schema", "--dry-run", NULL},  {"fresh", "-n", "1"},
    };
    for (size_t i = 0; i < PM_ARRAY_LEN(refused); i++) {
        const run_result *r =
            refused[i][2]
                ? run_cli(f, LOCAL, ARGS("migrate", refused[i][0], refused[i][1], refused[i][2]))
                : run_cli(f, LOCAL, ARGS("migrate", refused[i][0], refused[i][1]));
        assert_exit(r, 2);
        assert_contains(r->err,
                        fmt(f, "%s does not apply to migrate %s", refused[i][1], refused[i][0]));
        assert_empty(r->out);
    }
    assert_int_equal(dir_entry_count(f), 0); /* no database was opened */
}

/* ==== Main ==== */

#define CLI_TEST(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s <path to poblysh> <work dir>\n", argv[0]);
        return 2;
    }
    char *binary = absolute_path(argv[1]);
    if (!binary || access(binary, X_OK) != 0) {
        fprintf(stderr, "test_workflow_cli: %s is not an executable: %s\n", argv[1],
                strerror(errno));
        free(binary);
        return 2;
    }
    char *root = make_dir(argv[2]) == 0 ? absolute_path(argv[2]) : NULL;
    if (!root) {
        fprintf(stderr, "test_workflow_cli: cannot use work dir %s: %s\n", argv[2],
                strerror(errno));
        free(binary);
        return 2;
    }
    cli_path = binary;
    work_root = root;

    const struct CMUnitTest tests[] = {
        CLI_TEST(test_workflow_cli__up_dry_run_prints_the_sql_and_changes_nothing),
        CLI_TEST(test_workflow_cli__down_dry_run_prints_the_sql_and_reverts_nothing),
        CLI_TEST(test_workflow_cli__dry_run_under_production_needs_no_yes_and_changes_nothing),
        CLI_TEST(test_workflow_cli__schema_prints_the_golden_text),
        CLI_TEST(test_workflow_cli__schema_output_writes_the_same_text_and_says_so),
        CLI_TEST(test_workflow_cli__schema_output_on_a_full_disk_exits_1_and_names_it),
        CLI_TEST(test_workflow_cli__schema_output_replaces_the_file_a_link_names),
        CLI_TEST(test_workflow_cli__full_stdout_fails_every_command_that_prints),
        CLI_TEST(test_workflow_cli__read_only_commands_never_create_the_database_file),
        CLI_TEST(test_workflow_cli__verify_passes_the_builtin_set_in_memory),
        CLI_TEST(test_workflow_cli__verify_never_touches_the_configured_database),
        CLI_TEST(test_workflow_cli__fresh_drops_everything_and_applies_every_migration),
        CLI_TEST(test_workflow_cli__reset_reverts_every_applied_migration),
        CLI_TEST(test_workflow_cli__refresh_reverts_and_applies_every_migration),
        CLI_TEST(test_workflow_cli__fresh_reset_refresh_need_yes_outside_local_and_test),
        CLI_TEST(test_workflow_cli__help_lists_every_command),
        CLI_TEST(test_workflow_cli__workflow_options_apply_only_to_their_commands),
    };
    int failed = cmocka_run_group_tests_name("workflow_cli", tests, NULL, NULL);
    free(binary);
    free(root);
    return failed;
}
