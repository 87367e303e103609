/* test_cli.c: the poblysh binary end to end. Each test runs it as a child
 * process with a controlled environment, in a fresh directory of its own, and
 * checks the exit status, stdout, stderr and the database it left behind.
 * Run as: test_cli <path to poblysh> <work dir>. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "testproc.h"

#define TENANTS "m2024_01_01_000001_create_tenants"
#define PASSWORD "s3cr3tPW"

/* ==== The test's directory ==== */

static void write_file(fixture *f, const char *file, const char *text)
{
    FILE *fp = fopen(path_in_dir(f, file), "w");
    assert_non_null(fp);
    fputs(text, fp);
    assert_int_equal(fclose(fp), 0);
}

static void format_utc(time_t t, char *buf, size_t size)
{
    struct tm tm;
    assert_non_null(gmtime_r(&t, &tm));
    assert_true(strftime(buf, size, "%Y-%m-%d %H:%M:%S", &tm) > 0);
}

static double seconds_since(const struct timespec *start)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - start->tv_sec) + (double)(now.tv_nsec - start->tv_nsec) / 1e9;
}

/* ==== up, down, status ==== */

static void test_cli__up_on_local_profile_creates_poblysh_db_with_tenants(void **state)
{
    fixture *f = *state;
    fresh_dir(f, "up_local");
    const run_result *r = run_cli(f, LOCAL, ARGS("migrate", "up"));
    assert_exit(r, 0);
    assert_contains(
        r->out, "Database: sqlite://poblysh.db (sqlite, profile local: its default database)\n");
    assert_contains(r->out, "Applying " TENANTS " ... done (");
    assert_contains(r->out, "Applied 1 migration.\n");
    assert_empty(r->err);

    assert_true(file_exists(f, "poblysh.db"));
    pm_db *db = open_db(f, "poblysh.db");
    assert_true(pm_test_has_table(db, "tenants"));
    assert_true(pm_test_has_column(db, "tenants", "id"));
    assert_true(pm_test_has_column(db, "tenants", "name"));
    assert_true(pm_test_has_column(db, "tenants", "created_at"));
    assert_false(pm_test_has_column(db, "tenants", "no_such_column"));
    assert_int_equal(pm_test_history_count(db), 1);
    char *version = keep(f, pm_test_text(db, "SELECT version FROM seaql_migrations"));
    assert_non_null(version);
    assert_string_equal(version, TENANTS);
}

static void test_cli__unset_profile_defaults_to_local(void **state)
{
    fixture *f = *state;
    fresh_dir(f, "unset_profile");
    empty_db(f, "poblysh.db");
    const run_result *r = run_cli(f, (cli_env){NULL, NULL}, ARGS("migrate", "status"));
    assert_exit(r, 0);
    assert_contains(
        r->out, "Database: sqlite://poblysh.db (sqlite, profile local: its default database)\n");
    assert_contains(r->out, "0 applied, 1 pending.\n");
    assert_empty(r->err);
}

static void test_cli__status_lists_applied_then_pending_after_down(void **state)
{
    fixture *f = *state;
    fresh_dir(f, "status");
    char earliest[32], latest[32];
    format_utc(time(NULL), earliest, sizeof(earliest));
    assert_exit(run_cli(f, LOCAL, ARGS("migrate", "up")), 0);
    format_utc(time(NULL), latest, sizeof(latest));

    const run_result *r = run_cli(f, LOCAL, ARGS("migrate", "status"));
    assert_exit(r, 0);
    assert_empty(r->err);
    char *header = line_starting(f, r->out, "Migration ");
    assert_contains(header, "State");
    assert_contains(header, "Applied at (UTC)");
    char *line = line_starting(f, r->out, TENANTS " ");
    char state_name[16] = "", date[16] = "", clock[16] = "";
    assert_int_equal(sscanf(line, "%*s %15s %15s %15s", state_name, date, clock), 3);
    assert_string_equal(state_name, "applied");
    /* The time shown is when up ran, in UTC. */
    char *when = fmt(f, "%s %s", date, clock);
    if (strcmp(when, earliest) < 0 || strcmp(when, latest) > 0)
        fail_msg("applied at \"%s\", expected between \"%s\" and \"%s\"", when, earliest, latest);
    assert_contains(r->out, "1 applied, 0 pending.\n");

    r = run_cli(f, LOCAL, ARGS("migrate", "down"));
    assert_exit(r, 0);
    assert_contains(r->out, "Reverting " TENANTS " ... done (");
    assert_contains(r->out, "Reverted 1 migration.\n");
    assert_empty(r->err);

    r = run_cli(f, LOCAL, ARGS("migrate", "status"));
    assert_exit(r, 0);
    assert_empty(r->err);
    line = line_starting(f, r->out, TENANTS " ");
    assert_contains(line, " pending");
    assert_lacks(line, "applied");
    assert_lacks(line, date);
    assert_contains(r->out, "0 applied, 1 pending.\n");
}

static void test_cli__status_marks_versions_unknown_to_this_build(void **state)
{
    fixture *f = *state;
    fresh_dir(f, "status_unknown");
    assert_exit(run_cli(f, LOCAL, ARGS("migrate", "up")), 0);
    pm_test_exec(open_db(f, "poblysh.db"),
                 "INSERT INTO seaql_migrations (version, applied_at) "
                 "VALUES ('m2099_01_01_000000_from_the_future', 1700000000)");
    close_db(f);

    const run_result *r = run_cli(f, LOCAL, ARGS("migrate", "status"));
    assert_exit(r, 5); /* the history needs attention */
    assert_empty(r->err);
    assert_contains(line_starting(f, r->out, TENANTS " "), " applied ");
    char *line = line_starting(f, r->out, "m2099_01_01_000000_from_the_future ");
    assert_contains(line, " missing ");
    assert_contains(line, "2023-11-14 22:13:20");
    assert_contains(r->out, "recorded in the database, not in this build");
    assert_contains(r->out, "1 applied, 0 pending, 1 missing");
}

static void test_cli__second_up_applies_nothing(void **state)
{
    fixture *f = *state;
    fresh_dir(f, "second_up");
    assert_exit(run_cli(f, LOCAL, ARGS("migrate", "up")), 0);
    int64_t applied_at =
        pm_test_int(open_db(f, "poblysh.db"), "SELECT applied_at FROM seaql_migrations");
    close_db(f);

    const run_result *r = run_cli(f, LOCAL, ARGS("migrate", "up"));
    assert_exit(r, 0);
    assert_contains(r->out, "Nothing to apply: the database is up to date.\n");
    assert_lacks(r->out, "Applying");
    assert_lacks(r->out, "Applied");
    assert_empty(r->err);

    pm_db *db = open_db(f, "poblysh.db");
    assert_int_equal(pm_test_history_count(db), 1);
    assert_int_equal(pm_test_int(db, "SELECT applied_at FROM seaql_migrations"), applied_at);
}

static void test_cli__down_removes_table_and_history_row(void **state)
{
    fixture *f = *state;
    fresh_dir(f, "down");
    assert_exit(run_cli(f, LOCAL, ARGS("migrate", "up")), 0);
    assert_true(pm_test_has_table(open_db(f, "poblysh.db"), "tenants"));
    close_db(f);

    const run_result *r = run_cli(f, LOCAL, ARGS("migrate", "down"));
    assert_exit(r, 0);
    assert_contains(r->out, "Reverting " TENANTS " ... done (");
    assert_contains(r->out, "Reverted 1 migration.\n");
    assert_empty(r->err);

    pm_db *db = open_db(f, "poblysh.db");
    assert_false(pm_test_has_table(db, "tenants"));
    assert_true(pm_test_has_table(db, "seaql_migrations"));
    assert_int_equal(pm_test_history_count(db), 0);
    close_db(f);

    r = run_cli(f, LOCAL, ARGS("migrate", "down"));
    assert_exit(r, 0);
    assert_contains(r->out, "Nothing to revert: no migration is applied.\n");
    assert_lacks(r->out, "Reverting");
    assert_empty(r->err);
}

static void test_cli__down_refuses_version_unknown_to_this_build(void **state)
{
    fixture *f = *state;
    fresh_dir(f, "down_unknown");
    pm_db *db = open_db(f, "poblysh.db");
    pm_test_exec(db, "CREATE TABLE seaql_migrations (version VARCHAR PRIMARY KEY NOT NULL, "
                     "applied_at BIGINT NOT NULL)");
    pm_test_exec(db, "INSERT INTO seaql_migrations VALUES ('m2099_01_01_000000_gone', 1700000000)");
    close_db(f);

    const run_result *r = run_cli(f, LOCAL, ARGS("migrate", "down"));
    assert_exit(r, 1);
    assert_contains(r->err, "poblysh: error: ");
    assert_contains(r->err, "cannot revert m2099_01_01_000000_gone");
    assert_contains(r->err, "nothing was reverted");
    assert_lacks(r->out, "Reverting");
    assert_lacks(r->out, "error");
    assert_int_equal(pm_test_history_count(open_db(f, "poblysh.db")), 1);
}

static void test_cli__failing_migration_exits_1_and_records_nothing(void **state)
{
    fixture *f = *state;
    fresh_dir(f, "failing");
    pm_test_exec(open_db(f, "poblysh.db"), "CREATE TABLE tenants (legacy INTEGER)");
    close_db(f);

    const run_result *r = run_cli(f, LOCAL, ARGS("migrate", "up"));
    assert_exit(r, 1);
    assert_contains(r->out, "Applying " TENANTS " ... FAILED\n");
    assert_lacks(r->out, "Applied");
    assert_lacks(r->out, "error");
    assert_contains(r->err, "poblysh: error: migration " TENANTS " failed:");
    assert_contains(r->err, "already exists");
    assert_contains(r->err, "statement: CREATE TABLE");
    assert_contains(r->err, "rolled back");

    pm_db *db = open_db(f, "poblysh.db");
    assert_int_equal(pm_test_history_count(db), 0);
    assert_true(pm_test_has_column(db, "tenants", "legacy"));
    assert_false(pm_test_has_column(db, "tenants", "created_at"));
}

/* ==== Choosing the database ==== */

static void test_cli__database_url_flag_overrides_environment(void **state)
{
    fixture *f = *state;
    fresh_dir(f, "url_flag");
    cli_env env = {"local", "sqlite:env.db"};
    const run_result *r =
        run_cli(f, env, ARGS("--database-url", "sqlite:flag.db", "migrate", "up"));
    assert_exit(r, 0);
    assert_contains(r->out, "Database: sqlite:flag.db (sqlite, profile local)\n");
    assert_contains(r->out, "Applied 1 migration.\n");
    assert_empty(r->err);
    assert_true(file_exists(f, "flag.db"));
    assert_false(file_exists(f, "env.db"));
    assert_false(file_exists(f, "poblysh.db"));
    assert_int_equal(pm_test_history_count(open_db(f, "flag.db")), 1);
    close_db(f);

    /* Without the flag the environment wins over the profile's default
     * (status only reads: it names the missing file and creates nothing). */
    r = run_cli(f, env, ARGS("migrate", "status"));
    assert_exit(r, 4);
    assert_contains(r->err, "no such database file: env.db\n");
    assert_false(file_exists(f, "env.db"));
    assert_false(file_exists(f, "poblysh.db"));
    empty_db(f, "env.db");
    r = run_cli(f, env, ARGS("migrate", "status"));
    assert_exit(r, 0);
    assert_contains(r->out, "Database: sqlite:env.db (sqlite, profile local)\n");
    assert_contains(r->out, "0 applied, 1 pending.\n");
    assert_empty(r->err);
    assert_false(file_exists(f, "poblysh.db"));
}

/* -s / --schema and the profile's schema= are PostgreSQL's: on SQLite they
 * are a usage error saying why, and nothing is migrated. */
static void test_cli__schema_on_sqlite_is_usage_error(void **state)
{
    fixture *f = *state;
    fresh_dir(f, "schema_sqlite");
    cli_env env = {"local", "sqlite:s.db"};
    empty_db(f, "s.db");
    const run_result *r = run_cli(f, env, ARGS("-s", "tenant_a", "migrate", "up"));
    assert_exit(r, 2);
    assert_contains(r->err, "cannot use schema \"tenant_a\": sqlite has no schemas: each "
                            "database is a file, so name the file in the URL");
    assert_int_equal(pm_test_history_count(open_db(f, "s.db")), 0);
    close_db(f);
    r = run_cli(f, env, ARGS("--schema", "tenant_a", "migrate", "status"));
    assert_exit(r, 2);
    assert_contains(r->err, "sqlite has no schemas");
    r = run_cli(f, env, ARGS("-s", "", "migrate", "status"));
    assert_exit(r, 2);
    assert_contains(r->err, "-s is empty");
}

static void test_cli__test_profile_uses_memory_database(void **state)
{
    fixture *f = *state;
    fresh_dir(f, "profile_test");
    for (int round = 0; round < 2; round++) {
        /* Every run starts from an empty database: the second applies again. */
        const run_result *r = run_cli(f, (cli_env){"test", NULL}, ARGS("migrate", "up"));
        assert_exit(r, 0);
        assert_contains(r->out, "Database: sqlite::memory: (sqlite, profile test)\n");
        assert_contains(r->out, "Applying " TENANTS " ... done (");
        assert_contains(r->out, "Applied 1 migration.\n");
        assert_empty(r->err);
    }
    assert_false(file_exists(f, "poblysh.db"));
    assert_int_equal(dir_entry_count(f), 0);
}

static void test_cli__production_profile_without_url_is_clear_error(void **state)
{
    fixture *f = *state;
    fresh_dir(f, "profile_production");
    static const char *const profiles[] = {"production", "staging"};
    for (size_t i = 0; i < 2; i++) {
        const run_result *r = run_cli(f, (cli_env){profiles[i], NULL}, ARGS("migrate", "up"));
        assert_exit(r, 2);
        assert_empty(r->out);
        assert_contains(r->err, "poblysh: error: ");
        assert_contains(r->err, fmt(f, "\"%s\"", profiles[i]));
        assert_contains(r->err, "POBLYSH_DATABASE_URL");
        assert_contains(r->err, "--database-url");
    }
    assert_int_equal(dir_entry_count(f), 0);

    /* Given a URL, the same profile migrates. */
    const run_result *r = run_cli(f, (cli_env){"production", NULL},
                                  ARGS("--database-url", "sqlite:prod.db", "migrate", "up"));
    assert_exit(r, 0);
    assert_contains(r->out, "Database: sqlite:prod.db (sqlite, profile production)\n");
    assert_contains(r->out, "Applied 1 migration.\n");
    assert_int_equal(pm_test_history_count(open_db(f, "prod.db")), 1);
}

static void test_cli__verbose_reports_profile_and_url_on_stderr(void **state)
{
    fixture *f = *state;
    fresh_dir(f, "verbose");
    empty_db(f, "poblysh.db");
    const run_result *r = run_cli(f, LOCAL, ARGS("-v", "migrate", "status"));
    assert_exit(r, 0);
    assert_contains(r->err, "profile local");
    assert_contains(r->err, "database URL sqlite://poblysh.db");
    assert_contains(r->err, "1 migration(s) compiled in");
    assert_lacks(r->out, "poblysh:");
    assert_contains(r->out, "0 applied, 1 pending.\n");
}

/* ==== Help and usage errors ==== */

static void test_cli__help_documents_commands_and_exit_codes(void **state)
{
    fixture *f = *state;
    fresh_dir(f, "help");
    static const char *const spellings[] = {"--help", "-h"};
    for (size_t i = 0; i < 2; i++) {
        const run_result *r = run_cli(f, LOCAL, ARGS(spellings[i]));
        assert_exit(r, 0);
        assert_empty(r->err);
        assert_contains(r->out, "Usage: poblysh");
        assert_contains(r->out, "migrate up ");
        assert_contains(r->out, "migrate down ");
        assert_contains(r->out, "migrate status ");
        assert_contains(r->out, "--database-url");
        assert_contains(r->out, "--lock-timeout");
        assert_contains(r->out, "POBLYSH_DATABASE_URL");
        assert_contains(r->out, "POBLYSH_PROFILE");
        assert_contains(r->out, "sqlite:");
        assert_contains(r->out, "Exit status");
        for (int code = 0; code <= 4; code++)
            assert_contains(r->out, fmt(f, "\n  %d  ", code));
        assert_contains(r->out, "\n  130  interrupted");
        assert_contains(r->out, "--wait");
        assert_contains(r->out, "postgres://");
    }

    static const char *const commands[] = {"up", "down", "status"};
    for (size_t i = 0; i < 3; i++) {
        const run_result *r = run_cli(f, LOCAL, ARGS("migrate", commands[i], "--help"));
        assert_exit(r, 0);
        assert_empty(r->err);
        assert_contains(r->out, fmt(f, "Usage: poblysh migrate %s", commands[i]));
        if (strcmp(commands[i], "status") != 0)
            assert_contains(r->out, "-n");
    }

    const run_result *r = run_cli(f, LOCAL, ARGS("--version"));
    assert_exit(r, 0);
    assert_string_equal(r->out, "poblysh " PM_VERSION_STRING "\n");
    assert_empty(r->err);

    /* Help touches no database. */
    assert_int_equal(dir_entry_count(f), 0);
}

static void test_cli__no_arguments_prints_usage_to_stderr(void **state)
{
    fixture *f = *state;
    fresh_dir(f, "no_arguments");
    const run_result *r = run_cli(f, LOCAL, NO_ARGS);
    assert_exit(r, 2);
    assert_empty(r->out);
    assert_contains(r->err, "Usage: poblysh");
    assert_contains(r->err, "migrate up ");

    r = run_cli(f, LOCAL, ARGS("migrate"));
    assert_exit(r, 2);
    assert_empty(r->out);
    assert_contains(r->err, "migrate needs a command");
    assert_int_equal(dir_entry_count(f), 0);
}

static void test_cli__unknown_command_is_usage_error(void **state)
{
    fixture *f = *state;
    fresh_dir(f, "unknown_command");
    const struct {
        const char *const *args;
        const char *named;
    } cases[] = {
        {ARGS("frobnicate"), "\"frobnicate\""},
        {ARGS("frobnicate", "up"), "\"frobnicate\""},
        {ARGS("migrate", "sideways"), "\"sideways\""},
        {ARGS("--bogus", "migrate", "up"), "\"--bogus\""},
        {ARGS("migrate", "up", "extra"), "\"extra\""},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const run_result *r = run_cli(f, LOCAL, cases[i].args);
        assert_exit(r, 2);
        assert_empty(r->out);
        assert_contains(r->err, "poblysh: ");
        assert_contains(r->err, cases[i].named);
        assert_contains(r->err, "poblysh --help");
    }
    assert_int_equal(dir_entry_count(f), 0);
}

/* ==== database create|drop|reset on a SQLite file ==== */

static void test_cli__database_create_and_drop_a_sqlite_file(void **state)
{
    fixture *f = *state;
    fresh_dir(f, "database_sqlite");
    const char *url = file_url(f, "app.db");
    const char *path = path_in_dir(f, "app.db");
    const run_result *r = run_cli(f, LOCAL, ARGS("--database-url", url, "database", "create"));
    assert_exit(r, 0);
    assert_contains(r->out, fmt(f, "Created database %s\n", path));
    assert_true(file_exists(f, "app.db"));
    r = run_cli(f, LOCAL, ARGS("--database-url", url, "database", "create"));
    assert_exit(r, 0);
    assert_contains(r->out, fmt(f, "Database %s already exists\n", path));

    /* the files SQLite keeps beside it go with it */
    for (size_t i = 0; i < 2; i++) {
        FILE *fp = fopen(path_in_dir(f, i ? "app.db-wal" : "app.db-shm"), "w");
        assert_non_null(fp);
        fclose(fp);
    }
    r = run_cli(f, (cli_env){"production", NULL}, ARGS("--database-url", url, "database", "drop"));
    assert_exit(r, 2);
    assert_contains(r->err, "refusing to run database drop under profile \"production\"");
    assert_int_equal(dir_entry_count(f), 3);
    r = run_cli(f, (cli_env){"production", NULL},
                ARGS("--database-url", url, "database", "drop", "--yes"));
    assert_exit(r, 0);
    assert_contains(r->out, fmt(f, "Dropped database %s\n", path));
    assert_int_equal(dir_entry_count(f), 0);
    r = run_cli(f, LOCAL, ARGS("--database-url", url, "database", "drop"));
    assert_exit(r, 0);
    assert_contains(r->out, fmt(f, "Database %s does not exist\n", path));

    /* reset on a missing file: nothing to drop, then created */
    r = run_cli(f, LOCAL, ARGS("--database-url", url, "--wait", "3", "database", "reset"));
    assert_exit(r, 0);
    assert_contains(r->out,
                    fmt(f, "Database %s does not exist\nCreated database %s\n", path, path));
    assert_lacks(r->err, "waiting"); /* a file has nothing to wait for */
    assert_int_equal(dir_entry_count(f), 1);
}

static void test_cli__database_commands_refuse_what_they_cannot_do(void **state)
{
    fixture *f = *state;
    fresh_dir(f, "database_refusals");
    const run_result *r =
        run_cli(f, LOCAL, ARGS("--database-url", "sqlite::memory:", "database", "create"));
    assert_exit(r, 1);
    assert_contains(r->err, "sqlite::memory: has no database to create or drop");
    r = run_cli(f, LOCAL, ARGS("database", "sideways"));
    assert_exit(r, 2);
    assert_contains(r->err, "unknown database command \"sideways\" (expected one of: create, "
                            "drop, reset)");
    r = run_cli(f, LOCAL, ARGS("database"));
    assert_exit(r, 2);
    assert_contains(r->err, "database needs a command");
    r = run_cli(f, LOCAL, ARGS("database", "create", "--yes"));
    assert_exit(r, 2);
    assert_contains(r->err, "--yes does not apply to database create");
    r = run_cli(f, LOCAL, ARGS("migrate", "down", "--create-database"));
    assert_exit(r, 2);
    assert_contains(r->err, "--create-database does not apply to migrate down");
    r = run_cli(f, LOCAL,
                ARGS("--database-url", "postgres://u:s3cret@127.0.0.1:1/", "database", "create"));
    assert_exit(r, 2);
    assert_contains(r->err, "names no database");
    assert_lacks(r->err, "s3cret");
    assert_int_equal(dir_entry_count(f), 0);
}

static void test_cli__up_create_database_on_a_sqlite_file(void **state)
{
    fixture *f = *state;
    fresh_dir(f, "database_up");
    const char *url = file_url(f, "up.db");
    const run_result *r =
        run_cli(f, LOCAL, ARGS("--database-url", url, "migrate", "up", "--create-database"));
    assert_exit(r, 0);
    assert_contains(r->out, fmt(f, "Created database %s\n", path_in_dir(f, "up.db")));
    assert_contains(r->out, "Applied ");
    assert_true(pm_test_has_table(open_db(f, "up.db"), "tenants"));
}

static void test_cli__bad_n_is_usage_error(void **state)
{
    fixture *f = *state;
    fresh_dir(f, "bad_n");
    static const char *const values[] = {"0", "abc", "-3", "5x", "", "99999999999999999999"};
    static const char *const commands[] = {"up", "down"};
    for (size_t c = 0; c < 2; c++) {
        for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
            const run_result *r = run_cli(f, LOCAL, ARGS("migrate", commands[c], "-n", values[i]));
            assert_exit(r, 2);
            assert_empty(r->out);
            assert_contains(r->err, "-n must be a positive whole number");
            assert_contains(r->err, fmt(f, "\"%s\"", values[i]));
        }
    }

    const run_result *r = run_cli(f, LOCAL, ARGS("migrate", "up", "-n"));
    assert_exit(r, 2);
    assert_empty(r->out);
    assert_contains(r->err, "-n needs a value");

    r = run_cli(f, LOCAL, ARGS("migrate", "status", "-n", "1"));
    assert_exit(r, 2);
    assert_empty(r->out);
    assert_contains(r->err, "-n does not apply to migrate status");

    r = run_cli(f, LOCAL, ARGS("--lock-timeout", "0", "migrate", "up"));
    assert_exit(r, 2);
    assert_empty(r->out);
    assert_contains(r->err, "--lock-timeout");
    assert_contains(r->err, "\"0\"");

    /* Refused before any database is opened. */
    assert_int_equal(dir_entry_count(f), 0);
}

static void test_cli__unknown_scheme_lists_known_schemes(void **state)
{
    fixture *f = *state;
    fresh_dir(f, "unknown_scheme");
    const run_result *r = run_cli(f, LOCAL, ARGS("--database-url", "foo://x", "migrate", "up"));
    assert_exit(r, 2);
    assert_empty(r->out);
    assert_contains(r->err, "poblysh: error: ");
    assert_contains(r->err, "\"foo:\"");
    assert_contains(r->err, "sqlite:");

    assert_contains(r->err, "postgres:");
    assert_contains(r->err, "postgresql:");

    r = run_cli(f, (cli_env){"local", "oracle://host/db"}, ARGS("migrate", "status"));
    assert_exit(r, 2);
    assert_empty(r->out);
    assert_contains(r->err, "\"oracle:\"");
    assert_contains(r->err, "sqlite:");
    assert_int_equal(dir_entry_count(f), 0);
}

/* ==== Secrets ==== */

/* Runs each URL three ways (flag, flag with -v, environment with -v):
 * a usage error every time, and the password nowhere in the output. */
static void assert_password_hidden(fixture *f, const char *const *urls, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        const run_result *runs[3] = {
            run_cli(f, LOCAL, ARGS("--database-url", urls[i], "migrate", "up")),
            run_cli(f, LOCAL, ARGS("-v", "--database-url", urls[i], "migrate", "status")),
            run_cli(f, (cli_env){"production", urls[i]}, ARGS("--verbose", "migrate", "down")),
        };
        for (size_t k = 0; k < 3; k++) {
            const run_result *r = runs[k];
            if (r->status != 2 || strstr(r->out, PASSWORD) || strstr(r->err, PASSWORD))
                fail_msg("URL \"%s\" (run %zu): exit %d, expected 2 and no \"%s\" in the "
                         "output\n--- stdout\n%s--- stderr\n%s---",
                         urls[i], k, r->status, PASSWORD, r->out, r->err);
            assert_contains(r->err, "poblysh: error: ");
            if (k > 0)
                assert_contains(r->err, "***");
        }
    }
}

static void test_cli__password_never_printed(void **state)
{
    fixture *f = *state;
    fresh_dir(f, "password");
    static const char *const urls[] = {
        "foo://user:" PASSWORD "@host/db",            /* unknown scheme */
        "sqlite://u:" PASSWORD "@x/db",               /* sqlite takes no password */
        "sqlite://u:" PASSWORD "@",                   /* ... nor an empty host */
        "foo://user:" PASSWORD "%zz@host/db",         /* bad escape in the password */
        "foo://user:" PASSWORD "@[::1/db",            /* unterminated IPv6 literal */
        "foo://user:" PASSWORD "#x@host/db",          /* raw '#' in the password */
        "foo://user:" PASSWORD "/x@host/db",          /* raw '/' in the password */
        "foo://user:" PASSWORD "@host:99999/db",      /* port out of range */
        "foo://user:" PASSWORD "@h/db@x",             /* '@' in the path */
        "foo://user:" PASSWORD "@ho\nst/db",          /* control character */
        "sqlite:x.db?password=" PASSWORD,             /* password parameter */
        "sqlite:x.db?pwd=" PASSWORD "%zz",            /* ... with a bad escape */
        "postgres://user:" PASSWORD "@h/db?mode=zz%", /* bad escape after it */
    };
    assert_password_hidden(f, urls, sizeof(urls) / sizeof(urls[0]));
    assert_int_equal(dir_entry_count(f), 0);
}

/* A password with no "@host" after it reads as host:port; it must still not
 * be echoed, in the -v line or in the port error. */
static void test_cli__password_of_url_without_host_never_printed(void **state)
{
    fixture *f = *state;
    fresh_dir(f, "password_no_host");
    static const char *const urls[] = {
        "postgres://admin:" PASSWORD,
        "postgres://admin:" PASSWORD "/db",
    };
    assert_password_hidden(f, urls, sizeof(urls) / sizeof(urls[0]));
}

/* URLs the parser accepts (or nearly) whose password a lexical reading once
 * missed. Nothing listens on port 1, so each fails to connect (or, without
 * the libdbi driver, has no driver) after the -v line: whatever the exit,
 * no line may hold the password and the -v line shows "***". */
static void test_cli__password_in_query_or_with_raw_characters_never_printed(void **state)
{
    fixture *f = *state;
    fresh_dir(f, "password_query");
    static const char *const urls[] = {
        "postgres:?host=127.0.0.1&port=1&dbname=d&user=u&password=" PASSWORD
        "&application_name=x://y:z",
        "mysql://127.0.0.1:1/d?x@y&username=u&password=" PASSWORD,
        "postgres://u:a/b=" PASSWORD "@127.0.0.1:1/d",
    };
    for (size_t i = 0; i < sizeof(urls) / sizeof(urls[0]); i++) {
        const run_result *r =
            run_cli(f, LOCAL, ARGS("-v", "--database-url", urls[i], "migrate", "status"));
        if (r->status == 0 || strstr(r->out, PASSWORD) || strstr(r->err, PASSWORD))
            fail_msg("URL \"%s\": exit %d, expected a failure and no \"%s\" in the output\n"
                     "--- stdout\n%s--- stderr\n%s---",
                     urls[i], r->status, PASSWORD, r->out, r->err);
        assert_contains(r->err, "database URL ");
        assert_contains(r->err, "***");
    }
}

/* A raw '&' in a ?password= value ends it there; the PostgreSQL driver then
 * refuses the rest as an unknown parameter without quoting it. */
static void test_cli__unknown_parameter_after_password_is_not_quoted(void **state)
{
    fixture *f = *state;
    fresh_dir(f, "password_ampersand");
    const run_result *r =
        run_cli(f, LOCAL,
                ARGS("--database-url", "postgres://127.0.0.1:1/d?password=ab&" PASSWORD "=x",
                     "migrate", "status"));
    assert_exit(r, 2);
    assert_lacks(r->err, PASSWORD);
    assert_contains(r->err, "the parameter after \"password=\" is not a libpq connection");
    assert_contains(r->err, "%26");
}

/* ==== Database failures ==== */

static void test_cli__unwritable_database_path_fails_with_exit_4_and_names_file(void **state)
{
    fixture *f = *state;
    fresh_dir(f, "unwritable");
    char *missing = path_in_dir(f, "no-such-dir/x.db");
    const run_result *r =
        run_cli(f, LOCAL, ARGS("--database-url", fmt(f, "sqlite://%s", missing), "migrate", "up"));
    assert_exit(r, 4); /* cannot connect (open) */
    assert_contains(r->err, "poblysh: error: ");
    assert_contains(r->err, fmt(f, "\"%s\"", missing));
    assert_lacks(r->out, "Applying");
    assert_lacks(r->out, "error");

    /* mode=rw does not create the file. */
    r = run_cli(f, LOCAL, ARGS("--database-url", "sqlite:missing.db?mode=rw", "migrate", "up"));
    assert_exit(r, 4); /* cannot connect (open) */
    assert_contains(r->err, "\"missing.db\"");
    assert_lacks(r->out, "Applying");
    assert_false(file_exists(f, "missing.db"));
    assert_int_equal(dir_entry_count(f), 0);
}

static void test_cli__file_that_is_not_a_database_fails_with_exit_4(void **state)
{
    fixture *f = *state;
    fresh_dir(f, "not_a_database");
    write_file(f, "notes.db",
               "These are meeting notes, not a SQLite database at all. "
               "They are long enough to fill a database header.\n");
    const run_result *r =
        run_cli(f, LOCAL, ARGS("--database-url", "sqlite:notes.db", "migrate", "up"));
    assert_exit(r, 4); /* cannot connect (open) */
    assert_contains(r->err, "\"notes.db\"");
    assert_contains(r->err, "not a database");
    assert_lacks(r->out, "Applying");
}

/* ==== Concurrency and the lock ==== */

static void test_cli__concurrent_up_processes_apply_once(void **state)
{
    fixture *f = *state;
    fresh_dir(f, "concurrent");
    enum { RUNNERS = 8, ROUNDS = 3 };
    for (int round = 0; round < ROUNDS; round++) {
        char *file = fmt(f, "shared%d.db", round);
        const char *url = file_url(f, file);
        child children[RUNNERS];
        for (int i = 0; i < RUNNERS; i++)
            children[i] = spawn_cli(f, LOCAL, ARGS("--database-url", url, "migrate", "up"));
        const run_result *results[RUNNERS];
        for (int i = 0; i < RUNNERS; i++)
            results[i] = collect(f, children[i]);

        size_t appliers = 0, applying_lines = 0;
        for (int i = 0; i < RUNNERS; i++) {
            const run_result *r = results[i];
            assert_exit(r, 0);
            assert_empty(r->err);
            applying_lines += count_occurrences(r->out, "Applying " TENANTS " ... done (");
            if (strstr(r->out, "Applied 1 migration.\n"))
                appliers++;
            else
                assert_contains(r->out, "Nothing to apply: the database is up to date.\n");
        }
        assert_int_equal(appliers, 1);
        assert_int_equal(applying_lines, 1);

        pm_db *db = open_db(f, file);
        assert_int_equal(pm_test_history_count(db), 1);
        assert_true(pm_test_has_table(db, "tenants"));
        close_db(f);
    }
}

static void test_cli__held_lock_times_out_with_exit_3(void **state)
{
    fixture *f = *state;
    fresh_dir(f, "lock");
    pm_db *db = open_db(f, "locked.db");
    pm_test_exec(db, "BEGIN IMMEDIATE"); /* another writer holds the file */

    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    const run_result *r =
        run_cli(f, LOCAL,
                ARGS("--lock-timeout", "1", "--database-url", "sqlite:locked.db", "migrate", "up"));
    double waited = seconds_since(&start);
    assert_exit(r, 3);
    assert_contains(r->err, "poblysh: error: ");
    assert_contains(r->err, "locked.db");
    assert_contains(r->err, "locked");
    assert_lacks(r->out, "Applying");
    if (waited < 0.9 || waited > 30)
        fail_msg("gave up after %.2f s; --lock-timeout 1 asked for about 1 s", waited);

    pm_test_exec(db, "ROLLBACK");
    close_db(f);
    r = run_cli(f, LOCAL, ARGS("--database-url", "sqlite:locked.db", "migrate", "up"));
    assert_exit(r, 0);
    assert_contains(r->out, "Applied 1 migration.\n");
}

/* ==== Integrity: checksums, states, repair ==== */

#define ZERO_SUM "sha256:0000000000000000000000000000000000000000000000000000000000000000"
#define GONE "m2099_01_01_000000_gone"

/* Runs sql on the test directory's poblysh.db, then closes it. */
static void exec_db(fixture *f, const char *sql)
{
    pm_test_exec(open_db(f, "poblysh.db"), sql);
    close_db(f);
}

/* The first value of sql on poblysh.db (NULL for SQL NULL or no row),
 * living until teardown. */
static char *db_text(fixture *f, const char *sql)
{
    char *text = pm_test_text(open_db(f, "poblysh.db"), sql);
    close_db(f);
    return text ? keep(f, text) : NULL;
}

static int64_t db_int(fixture *f, const char *sql)
{
    int64_t v = pm_test_int(open_db(f, "poblysh.db"), sql);
    close_db(f);
    return v;
}

static int64_t db_history_count(fixture *f)
{
    int64_t n = pm_test_history_count(open_db(f, "poblysh.db"));
    close_db(f);
    return n;
}

static bool db_has_table(fixture *f, const char *table)
{
    bool has = pm_test_has_table(open_db(f, "poblysh.db"), table);
    close_db(f);
    return has;
}

/* Runs up on a fresh poblysh.db and returns the checksum it recorded. */
static char *up_and_checksum(fixture *f)
{
    assert_exit(run_cli(f, LOCAL, ARGS("migrate", "up")), 0);
    char *sum = db_text(f, "SELECT checksum FROM seaql_migrations WHERE version = '" TENANTS "'");
    assert_non_null(sum);
    assert_int_equal(strlen(sum), 7 + 64);
    assert_true(strncmp(sum, "sha256:", 7) == 0);
    return sum;
}

static void assert_status_exit_code(fixture *f, int code)
{
    const run_result *r = run_cli(f, LOCAL, ARGS("migrate", "status", "--exit-code"));
    assert_exit(r, code);
    assert_empty(r->err);
}

static void test_cli__modified_migration_is_shown_refused_and_accepted(void **state)
{
    fixture *f = *state;
    fresh_dir(f, "modified");
    char *good = up_and_checksum(f);
    exec_db(f, "UPDATE seaql_migrations SET checksum = '" ZERO_SUM "'");
    int64_t applied_at = db_int(f, "SELECT applied_at FROM seaql_migrations");

    const run_result *r = run_cli(f, LOCAL, ARGS("migrate", "status"));
    assert_exit(r, 5); /* the history needs attention */
    assert_empty(r->err);
    assert_contains(line_starting(f, r->out, TENANTS " "), " modified ");
    assert_contains(r->out, "recorded sha256:0000");
    assert_contains(r->out, fmt(f, "this build %s\n", good));
    assert_contains(r->out, "0 applied, 0 pending, 1 modified.\n");
    assert_status_exit_code(f, 5);

    /* up refuses, names the migration and both ways out, and changes nothing. */
    r = run_cli(f, LOCAL, ARGS("migrate", "up"));
    assert_exit(r, 5);
    assert_contains(r->err, "poblysh: error: ");
    assert_contains(r->err, TENANTS);
    assert_contains(r->err, "repair --accept " TENANTS);
    assert_contains(r->err, "--ignore-modified");
    assert_contains(r->err, ZERO_SUM);
    assert_contains(r->err, good);
    assert_lacks(r->err, "rolled back");
    assert_lacks(r->out, "Applying");
    assert_string_equal(db_text(f, "SELECT checksum FROM seaql_migrations"), ZERO_SUM);
    assert_int_equal(db_int(f, "SELECT applied_at FROM seaql_migrations"), applied_at);
    assert_int_equal(db_history_count(f), 1);
    assert_true(db_has_table(f, "tenants"));

    /* --ignore-modified runs, and leaves the record as it is. */
    r = run_cli(f, LOCAL, ARGS("migrate", "up", "--ignore-modified"));
    assert_exit(r, 0);
    assert_empty(r->err);
    assert_contains(r->out, "Nothing to apply: the database is up to date.\n");
    assert_string_equal(db_text(f, "SELECT checksum FROM seaql_migrations"), ZERO_SUM);

    r = run_cli(f, LOCAL, ARGS("migrate", "repair", "--accept", TENANTS));
    assert_exit(r, 0);
    assert_empty(r->err);
    assert_contains(r->out, "Repaired: recorded the current checksum of " TENANTS ".\n");
    assert_string_equal(db_text(f, "SELECT checksum FROM seaql_migrations"), good);
    assert_int_equal(db_int(f, "SELECT applied_at FROM seaql_migrations"), applied_at);

    r = run_cli(f, LOCAL, ARGS("migrate", "status"));
    assert_exit(r, 0);
    char *line = line_starting(f, r->out, TENANTS " ");
    assert_contains(line, " applied ");
    assert_lacks(line, "no checksum");
    assert_lacks(r->out, "recorded sha256");
    assert_contains(r->out, "1 applied, 0 pending.\n");
    assert_status_exit_code(f, 0);
    assert_exit(run_cli(f, LOCAL, ARGS("migrate", "up")), 0);
}

/* Rows SeaORM wrote have no checksum: applied, said so, and repair --accept
 * records one. */
static void test_cli__rows_without_checksum_are_applied_and_can_be_filled_in(void **state)
{
    fixture *f = *state;
    fresh_dir(f, "no_checksum");
    char *good = up_and_checksum(f);
    exec_db(f, "UPDATE seaql_migrations SET checksum = NULL");

    const run_result *r = run_cli(f, LOCAL, ARGS("migrate", "status"));
    assert_exit(r, 0);
    assert_empty(r->err);
    assert_contains(line_starting(f, r->out, TENANTS " "), " applied (no checksum) ");
    assert_contains(r->out, "1 applied, 0 pending.\n");
    assert_lacks(r->out, "attention");
    assert_status_exit_code(f, 0);
    r = run_cli(f, LOCAL, ARGS("migrate", "up"));
    assert_exit(r, 0);
    assert_contains(r->out, "Nothing to apply");

    r = run_cli(f, LOCAL, ARGS("migrate", "repair", "--accept", TENANTS));
    assert_exit(r, 0);
    assert_empty(r->err);
    assert_int_equal(
        db_int(f, "SELECT count(*) FROM seaql_migrations WHERE checksum LIKE 'sha256:%'"), 1);
    assert_string_equal(db_text(f, "SELECT checksum FROM seaql_migrations"), good);
    r = run_cli(f, LOCAL, ARGS("migrate", "status"));
    assert_exit(r, 0);
    assert_lacks(r->out, "no checksum");
}

/* A table exactly as SeaORM creates it (no columns of ours): status reads
 * it, and repair adds our columns and fills in the checksum. */
static void test_cli__seaorm_table_reads_as_applied_and_repair_upgrades_it(void **state)
{
    fixture *f = *state;
    fresh_dir(f, "seaorm_table");
    exec_db(f, "CREATE TABLE seaql_migrations (version VARCHAR PRIMARY KEY NOT NULL, "
               "applied_at BIGINT NOT NULL)");
    exec_db(f, "INSERT INTO seaql_migrations VALUES ('" TENANTS "', 1700000000)");

    const run_result *r = run_cli(f, LOCAL, ARGS("migrate", "status"));
    assert_exit(r, 0);
    assert_empty(r->err);
    char *line = line_starting(f, r->out, TENANTS " ");
    assert_contains(line, " applied (no checksum) ");
    assert_contains(line, "2023-11-14 22:13:20");
    assert_status_exit_code(f, 0);

    r = run_cli(f, LOCAL, ARGS("migrate", "repair", "--accept", TENANTS));
    assert_exit(r, 0);
    assert_empty(r->err);
    assert_int_equal(
        db_int(f, "SELECT count(*) FROM seaql_migrations WHERE checksum LIKE 'sha256:%'"), 1);
    assert_int_equal(db_int(f, "SELECT applied_at FROM seaql_migrations"), 1700000000);
    assert_false(db_has_table(f, "tenants")); /* repair runs no migration */
}

static void test_cli__missing_migration_refuses_up_unless_allowed(void **state)
{
    fixture *f = *state;
    fresh_dir(f, "missing");
    up_and_checksum(f);
    exec_db(f,
            "INSERT INTO seaql_migrations (version, applied_at) VALUES ('" GONE "', 1700000000)");

    const run_result *r = run_cli(f, LOCAL, ARGS("migrate", "status"));
    assert_exit(r, 5); /* the history needs attention */
    char *line = line_starting(f, r->out, GONE " ");
    assert_contains(line, " missing ");
    assert_contains(line, "2023-11-14 22:13:20");
    assert_contains(r->out, "1 applied, 0 pending, 1 missing.\n");
    assert_status_exit_code(f, 5);

    r = run_cli(f, LOCAL, ARGS("migrate", "up"));
    assert_exit(r, 5);
    assert_contains(r->err, GONE);
    assert_contains(r->err, "--allow-missing");
    assert_lacks(r->err, "--ignore-modified");
    assert_lacks(r->out, "Applying");
    assert_int_equal(db_history_count(f), 2);

    r = run_cli(f, LOCAL, ARGS("migrate", "up", "--allow-missing"));
    assert_exit(r, 0);
    assert_empty(r->err);
    assert_contains(r->out, "Nothing to apply");
    assert_int_equal(db_history_count(f), 2);

    /* It cannot be accepted: this build has no checksum for it. */
    r = run_cli(f, LOCAL, ARGS("migrate", "repair", "--accept", GONE));
    assert_exit(r, 1);
    assert_contains(r->err, GONE);
    assert_contains(r->err, "not in this build");
}

/* status reads the folder while it connects; what it reports stays what a
 * folder read first would give: the folder's error, whether or not the
 * database opens, and no database file made. */
static void test_cli__an_unreadable_folder_is_reported_before_the_database(void **state)
{
    fixture *f = *state;
    fresh_dir(f, "unreadable_folder");
    const run_result *r = run_cli(
        f, LOCAL,
        ARGS("--source", "missing", "--database-url", "sqlite://none.db", "migrate", "status"));
    assert_exit(r, 1);
    assert_contains(r->err, "cannot read the migrations folder missing: No such file or directory");
    assert_lacks(r->err, "none.db");
    assert_false(file_exists(f, "none.db"));

    r = run_cli(f, LOCAL, ARGS("--database-url", "sqlite://made.db", "migrate", "status"));
    assert_true(r->status != 0); /* made.db does not exist: status makes none */
    assert_false(file_exists(f, "made.db"));
    write_file(f, "1_a.sql", "-- migrate:up\nCREATE TABLE a (id int);\n");
    r = run_cli(f, LOCAL,
                ARGS("--source", ".", "--database-url", "sqlite://made.db", "migrate", "up"));
    assert_exit(r, 0);
    r = run_cli(
        f, LOCAL,
        ARGS("--source", "missing", "--database-url", "sqlite://made.db", "migrate", "status"));
    assert_exit(r, 1);
    assert_contains(r->err, "cannot read the migrations folder missing");
    assert_lacks(r->out, "Database:");
    r = run_cli(f, LOCAL,
                ARGS("--source", ".", "--database-url", "sqlite://made.db", "migrate", "status"));
    assert_exit(r, 0);
    assert_contains(r->out, "Database: sqlite://made.db");
    assert_contains(r->out, "1_a");
}

/* ==== Another tool's history ==== */

/* A golang-migrate folder of three migrations in the test's directory
 * (tests make no subdirectories; --source reads only its .sql files), and
 * poblysh.db migrated by golang-migrate up to 2: its table as its sqlite3
 * driver writes it, and the tables the first two created. */
static void golang_migrate_database(fixture *f)
{
    static const char *const names[] = {"000001_one", "000002_two", "000003_three"};
    for (int i = 0; i < 3; i++) {
        write_file(f, fmt(f, "%s.up.sql", names[i]), fmt(f, "CREATE TABLE t%d (id int);\n", i + 1));
        write_file(f, fmt(f, "%s.down.sql", names[i]), fmt(f, "DROP TABLE t%d;\n", i + 1));
    }
    exec_db(f, "CREATE TABLE IF NOT EXISTS schema_migrations (version uint64,dirty bool)");
    exec_db(f, "CREATE UNIQUE INDEX IF NOT EXISTS version_unique ON schema_migrations (version)");
    exec_db(f, "INSERT INTO schema_migrations (version, dirty) VALUES (2, 0)");
    exec_db(f, "CREATE TABLE t1 (id int)");
    exec_db(f, "CREATE TABLE t2 (id int)");
}

#define GOLANG_FOUND                                                                               \
    "golang-migrate's history (schema_migrations: version 2, clean), 2 migrations of this set; "   \
    "poblysh has recorded none, so nothing was run"

static void test_cli__foreign_history_refuses_up_until_adopted_then_up_runs_only_new(void **state)
{
    fixture *f = *state;
    fresh_dir(f, "adopt");
    golang_migrate_database(f);

    const run_result *r = run_cli(f, LOCAL, ARGS("--source", ".", "migrate", "up"));
    assert_exit(r, 5);
    assert_contains(r->err, "poblysh: error: the database holds " GOLANG_FOUND "\n");
    assert_contains(r->err, "  hint: record them as applied first: poblysh migrate adopt "
                            "golang-migrate (--dry-run shows what it records)");
    assert_lacks(r->out, "Applying");
    assert_false(db_has_table(f, "seaql_migrations"));
    assert_false(db_has_table(f, "t3"));

    r = run_cli(f, LOCAL, ARGS("--source", ".", "migrate", "status"));
    assert_exit(r, 5);
    assert_contains(r->err, GOLANG_FOUND);

    r = run_cli(f, LOCAL, ARGS("--source", ".", "migrate", "adopt", "--dry-run"));
    assert_exit(r, 0);
    assert_contains(r->out, "Would record 000001_one as applied\nWould record 000002_two as "
                            "applied\n");
    assert_contains(r->out, "Would record 2 migrations of golang-migrate's history "
                            "(schema_migrations); 1 pending. Dry run: nothing was written.\n");
    assert_false(db_has_table(f, "seaql_migrations"));

    r = run_cli(f, LOCAL, ARGS("--source", ".", "migrate", "adopt"));
    assert_exit(r, 0);
    assert_empty(r->err);
    assert_contains(r->out, "Recorded 000002_two as applied\n");
    assert_contains(r->out, "Recorded 2 migrations of golang-migrate's history "
                            "(schema_migrations); 1 pending. The tool's table was left as it "
                            "was.\n");
    assert_int_equal(db_history_count(f), 2);

    r = run_cli(f, LOCAL, ARGS("--source", ".", "migrate", "up"));
    assert_exit(r, 0);
    assert_contains(r->out, "Applying 000003_three ... done (");
    assert_contains(r->out, "Applied 1 migration.\n");
    assert_lacks(r->out, "000001_one");
    assert_true(db_has_table(f, "t3"));

    r = run_cli(f, LOCAL, ARGS("--source", ".", "migrate", "adopt", "golang-migrate"));
    assert_exit(r, 0);
    assert_contains(r->out, "Recorded 0 migrations of golang-migrate's history "
                            "(schema_migrations); 2 already recorded; 0 pending.");
    assert_int_equal(db_history_count(f), 3);
    assert_string_equal(db_text(f, "SELECT version || ' ' || dirty FROM schema_migrations"), "2 0");
}

static void test_cli__adopt_refuses_dirty_and_unknown_tools_naming_the_program(void **state)
{
    fixture *f = *state;
    fresh_dir(f, "adopt_dirty");
    golang_migrate_database(f);
    exec_db(f, "UPDATE schema_migrations SET dirty = 1");
    cli_argv0 = "myservice";

    const run_result *r = run_cli(f, LOCAL, ARGS("--source", ".", "migrate", "up"));
    assert_exit(r, 5);
    assert_contains(r->err, "version 2, dirty");
    assert_contains(r->err, "hint: record them as applied first: myservice migrate adopt "
                            "golang-migrate");

    r = run_cli(f, LOCAL, ARGS("--source", ".", "migrate", "adopt"));
    assert_exit(r, 5);
    assert_contains(r->err, "nothing was recorded: schema_migrations records one migration as "
                            "dirty (failed midway): 000002_two");
    assert_contains(r->err, "--allow-failed");
    assert_false(db_has_table(f, "seaql_migrations"));

    r = run_cli(f, LOCAL, ARGS("--source", ".", "migrate", "adopt", "liquibase"));
    assert_exit(r, 2);
    assert_contains(r->err, "unknown tool \"liquibase\"");

    r = run_cli(f, LOCAL, ARGS("--source", ".", "migrate", "adopt", "--allow-failed"));
    assert_exit(r, 0);
    assert_contains(r->out,
                    "Recorded 2 migrations of golang-migrate's history (schema_migrations), "
                    "1 of them as failed; 1 pending.");
    r = run_cli(f, LOCAL, ARGS("--source", ".", "migrate", "up"));
    assert_exit(r, 5); /* failed: poblysh's own rules now, repair first */
    assert_contains(r->err, "000002_two");
}

/* A pending migration older than the newest applied one: out of order. */
static void test_cli__out_of_order_migration_needs_allow_out_of_order(void **state)
{
    fixture *f = *state;
    fresh_dir(f, "out_of_order");
    up_and_checksum(f);
    assert_exit(run_cli(f, LOCAL, ARGS("migrate", "down")), 0);
    exec_db(f,
            "INSERT INTO seaql_migrations (version, applied_at) VALUES ('" GONE "', 1700000000)");

    const run_result *r = run_cli(f, LOCAL, ARGS("migrate", "status"));
    assert_exit(r, 5); /* the history needs attention */
    assert_contains(line_starting(f, r->out, TENANTS " "), " out-of-order");
    assert_contains(line_starting(f, r->out, GONE " "), " missing ");
    assert_contains(r->out, "0 applied, 0 pending, 1 missing, 1 out-of-order.\n");
    assert_contains(r->out, "needs attention");

    r = run_cli(f, LOCAL, ARGS("migrate", "up"));
    assert_exit(r, 5);
    assert_contains(r->err, "--allow-missing");
    assert_contains(r->err, "--allow-out-of-order");
    assert_contains(r->err, TENANTS);

    r = run_cli(f, LOCAL, ARGS("migrate", "up", "--allow-missing"));
    assert_exit(r, 5);
    assert_lacks(r->err, "--allow-missing");
    assert_contains(r->err, "--allow-out-of-order");
    assert_false(db_has_table(f, "tenants"));

    r = run_cli(f, LOCAL, ARGS("migrate", "up", "--allow-missing", "--allow-out-of-order"));
    assert_exit(r, 0);
    assert_empty(r->err);
    assert_contains(r->out, "Applied 1 migration.\n");
    assert_true(db_has_table(f, "tenants"));
    r = run_cli(f, LOCAL, ARGS("migrate", "status"));
    assert_contains(line_starting(f, r->out, TENANTS " "), " applied ");
}

static void mark_failed(fixture *f)
{
    exec_db(f, "UPDATE seaql_migrations SET state = 'failed', error_message = 'boom', "
               "error_statement = 'CREATE TABLE tenants (id UUID)' WHERE version = '" TENANTS "'");
}

static void test_cli__failed_migration_blocks_up_and_down_until_repaired(void **state)
{
    fixture *f = *state;
    fresh_dir(f, "failed");
    char *good = up_and_checksum(f);
    mark_failed(f);

    const run_result *r = run_cli(f, LOCAL, ARGS("migrate", "status"));
    assert_exit(r, 5); /* the history needs attention */
    assert_empty(r->err);
    assert_contains(line_starting(f, r->out, TENANTS " "), " failed ");
    assert_contains(r->out, "  error: boom\n");
    assert_contains(r->out, "  statement: CREATE TABLE tenants (id UUID)\n");
    assert_contains(r->out, "0 applied, 0 pending, 1 failed.\n");
    assert_contains(r->out, "A failed migration blocks up");
    assert_status_exit_code(f, 5);

    r = run_cli(f, LOCAL, ARGS("migrate", "up"));
    assert_exit(r, 5);
    assert_contains(r->err, TENANTS);
    assert_contains(r->err, "repair --applied");
    assert_contains(r->err, "--rollback");
    assert_lacks(r->out, "Applying");

    r = run_cli(f, LOCAL, ARGS("migrate", "down"));
    assert_exit(r, 5);
    assert_contains(r->err, "cannot revert " TENANTS);
    assert_contains(r->err, "marked failed");
    assert_contains(r->err, "nothing was reverted");
    assert_contains(r->err, "repair --applied " TENANTS); /* the CLI's advice */
    assert_lacks(r->out, "Reverting");
    assert_true(db_has_table(f, "tenants"));
    assert_int_equal(db_history_count(f), 1);

    /* --accept is for modified migrations, not failed ones. */
    r = run_cli(f, LOCAL, ARGS("migrate", "repair", "--accept", TENANTS));
    assert_exit(r, 5); /* PM_EFAILED: the history needs attention */
    assert_contains(r->err, "marked failed");
    assert_contains(r->err, "--applied or --rollback");
    assert_string_equal(db_text(f, "SELECT state FROM seaql_migrations"), "failed");

    r = run_cli(f, LOCAL, ARGS("migrate", "repair", "--applied", TENANTS));
    assert_exit(r, 0);
    assert_empty(r->err);
    assert_contains(r->out, "Repaired: marked as applied " TENANTS ".\n");
    assert_string_equal(db_text(f, "SELECT state FROM seaql_migrations"), "applied");
    assert_null(db_text(f, "SELECT error_message FROM seaql_migrations"));
    assert_null(db_text(f, "SELECT error_statement FROM seaql_migrations"));
    assert_string_equal(db_text(f, "SELECT checksum FROM seaql_migrations"), good);
    r = run_cli(f, LOCAL, ARGS("migrate", "status"));
    assert_contains(line_starting(f, r->out, TENANTS " "), " applied ");
    assert_lacks(r->out, "error:");
    assert_status_exit_code(f, 0);

    /* --applied and --rollback only clear a failed migration. */
    static const char *const actions[] = {"--applied", "--rollback"};
    for (size_t i = 0; i < 2; i++) {
        r = run_cli(f, LOCAL, ARGS("migrate", "repair", actions[i], TENANTS));
        assert_exit(r, 1);
        assert_contains(r->err, TENANTS);
        assert_contains(r->err, "is not marked failed");
        assert_contains(r->err, "--applied and --rollback only clear a failed migration");
        assert_int_equal(db_history_count(f), 1);
    }

    mark_failed(f);
    r = run_cli(f, LOCAL, ARGS("migrate", "repair", "--rollback", TENANTS));
    assert_exit(r, 0);
    assert_empty(r->err);
    assert_contains(r->out, "Repaired: forgot the history row of " TENANTS ".\n");
    assert_int_equal(db_history_count(f), 0);
    assert_true(db_has_table(f, "tenants")); /* repair edits the history only */
    r = run_cli(f, LOCAL, ARGS("migrate", "status"));
    assert_exit(r, 0);
    assert_contains(line_starting(f, r->out, TENANTS " "), " pending");
    assert_contains(r->out, "0 applied, 1 pending.\n");
}

/* A repair that is refused ran no migration: the error must not say that a
 * migration "was rolled back". */
static void test_cli__refused_repair_does_not_claim_a_rollback(void **state)
{
    fixture *f = *state;
    fresh_dir(f, "repair_refused");
    up_and_checksum(f);
    static const char *const actions[] = {"--applied", "--rollback"};
    for (size_t i = 0; i < 2; i++) {
        const run_result *r = run_cli(f, LOCAL, ARGS("migrate", "repair", actions[i], TENANTS));
        assert_exit(r, 1);
        assert_contains(r->err, "is not marked failed");
        assert_lacks(r->err, "rolled back");
        assert_lacks(r->err, "nothing of it was applied");
    }
}

static void test_cli__repair_usage_and_unknown_names(void **state)
{
    fixture *f = *state;
    fresh_dir(f, "repair_usage");
    const run_result *r = run_cli(f, LOCAL, ARGS("migrate", "repair"));
    assert_exit(r, 2);
    assert_empty(r->out);
    assert_contains(r->err, "--accept NAME");
    assert_contains(r->err, "--applied NAME");
    assert_contains(r->err, "--rollback NAME");

    r = run_cli(f, LOCAL, ARGS("migrate", "repair", "--accept", TENANTS, "--rollback", TENANTS));
    assert_exit(r, 2);
    assert_empty(r->out);
    assert_contains(r->err, "give one of");

    r = run_cli(f, LOCAL, ARGS("migrate", "repair", "--accept"));
    assert_exit(r, 2);
    assert_contains(r->err, "--accept needs a value");
    assert_int_equal(dir_entry_count(f), 0); /* refused before opening anything */

    up_and_checksum(f);
    static const char *const actions[] = {"--accept", "--applied", "--rollback"};
    for (size_t i = 0; i < 3; i++) {
        r = run_cli(f, LOCAL, ARGS("migrate", "repair", actions[i], "m2030_01_01_000000_nope"));
        assert_exit(r, 1);
        assert_contains(r->err, "poblysh: error: ");
        assert_contains(r->err, "m2030_01_01_000000_nope");
        assert_contains(r->err, "no history row");
        assert_lacks(r->out, "Repaired");
    }
    assert_int_equal(db_history_count(f), 1);
}

/* kill -9 during a migration that runs without a transaction leaves its
 * row "started": that reads as failed, never finished. */
static void test_cli__started_row_reads_as_failed_never_finished(void **state)
{
    fixture *f = *state;
    fresh_dir(f, "started");
    up_and_checksum(f);
    exec_db(f, "UPDATE seaql_migrations SET state = 'started'");

    const run_result *r = run_cli(f, LOCAL, ARGS("migrate", "status"));
    assert_exit(r, 5); /* the history needs attention */
    assert_contains(line_starting(f, r->out, TENANTS " "), " failed ");
    assert_contains(r->out, "error: ");
    assert_contains(r->out, "never finished");
    assert_lacks(r->out, "statement:");
    assert_status_exit_code(f, 5);

    r = run_cli(f, LOCAL, ARGS("migrate", "up"));
    assert_exit(r, 5);
    assert_contains(r->err, TENANTS);
    r = run_cli(f, LOCAL, ARGS("migrate", "down"));
    assert_exit(r, 5);

    r = run_cli(f, LOCAL, ARGS("migrate", "repair", "--applied", TENANTS));
    assert_exit(r, 0);
    assert_string_equal(db_text(f, "SELECT state FROM seaql_migrations"), "applied");
}

/* ==== status --format json ==== */

static json_t *parse_json(const char *text)
{
    json_error_t error;
    json_t *doc = json_loads(text, 0, &error);
    if (!doc)
        fail_msg("stdout is not JSON (line %d: %s):\n---\n%s---", error.line, error.text, text);
    return doc;
}

/* obj is an object with exactly these keys. */
static void assert_exact_keys(const json_t *obj, const char *what, const char *const *keys,
                              size_t n)
{
    if (!json_is_object(obj))
        fail_msg("%s is not an object", what);
    for (size_t i = 0; i < n; i++)
        if (!json_object_get(obj, keys[i]))
            fail_msg("%s has no key \"%s\"", what, keys[i]);
    if (json_object_size(obj) != n)
        fail_msg("%s has %zu keys, expected %zu", what, json_object_size(obj), n);
}

static const char *json_str(const json_t *obj, const char *key)
{
    const json_t *v = json_object_get(obj, key);
    if (!json_is_string(v))
        fail_msg("\"%s\" is not a string", key);
    return json_string_value(v);
}

static json_int_t json_int(const json_t *obj, const char *key)
{
    const json_t *v = json_object_get(obj, key);
    if (!json_is_integer(v))
        fail_msg("\"%s\" is not an integer", key);
    return json_integer_value(v);
}

static void assert_json_null(const json_t *obj, const char *key)
{
    if (!json_is_null(json_object_get(obj, key)))
        fail_msg("\"%s\" is not null", key);
}

static void assert_iso_utc(const char *text)
{
    regex_t re;
    assert_int_equal(regcomp(&re, "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$",
                             REG_EXTENDED | REG_NOSUB),
                     0);
    int rc = regexec(&re, text, 0, NULL, 0);
    regfree(&re);
    if (rc != 0)
        fail_msg("\"%s\" is not ISO-8601 UTC (YYYY-MM-DDTHH:MM:SSZ)", text);
}

/* The document's shape; returns its one migration. */
static const json_t *check_status_document(const json_t *doc, bool up_to_date, const char *states,
                                           const int *counts)
{
    static const char *const top[] = {"database",   "driver",  "profile",
                                      "up_to_date", "summary", "migrations"};
    assert_exact_keys(doc, "the document", top, 6);
    assert_string_equal(json_str(doc, "database"), "sqlite://poblysh.db");
    assert_string_equal(json_str(doc, "driver"), "sqlite");
    assert_string_equal(json_str(doc, "profile"), "local");
    const json_t *utd = json_object_get(doc, "up_to_date");
    assert_true(json_is_boolean(utd));
    assert_int_equal(json_is_true(utd), up_to_date);

    static const char *const summary_keys[] = {"applied", "pending",      "modified",
                                               "missing", "out-of-order", "failed"};
    const json_t *summary = json_object_get(doc, "summary");
    assert_exact_keys(summary, "summary", summary_keys, 6);
    for (size_t i = 0; i < 6; i++)
        if (json_int(summary, summary_keys[i]) != counts[i])
            fail_msg("summary.%s is %lld, expected %d", summary_keys[i],
                     (long long)json_int(summary, summary_keys[i]), counts[i]);

    const json_t *migrations = json_object_get(doc, "migrations");
    assert_true(json_is_array(migrations));
    assert_int_equal(json_array_size(migrations), 1);
    const json_t *m = json_array_get(migrations, 0);
    static const char *const entry_keys[] = {
        "name",     "state",        "applied_at", "applied_at_unix",
        "checksum", "execution_ms", "error",      "statement"};
    assert_exact_keys(m, "migrations[0]", entry_keys, 8);
    assert_string_equal(json_str(m, "name"), TENANTS);
    assert_string_equal(json_str(m, "state"), states);
    static const char *const checksum_keys[] = {"stored", "expected"};
    const json_t *checksum = json_object_get(m, "checksum");
    assert_exact_keys(checksum, "migrations[0].checksum", checksum_keys, 2);
    assert_true(strncmp(json_str(checksum, "expected"), "sha256:", 7) == 0);
    assert_int_equal(strlen(json_str(checksum, "expected")), 7 + 64);
    return m;
}

static void test_cli__status_json_pending_then_applied(void **state)
{
    fixture *f = *state;
    fresh_dir(f, "status_json");
    empty_db(f, "poblysh.db");
    const run_result *r = run_cli(f, LOCAL, ARGS("migrate", "status", "--format", "json"));
    assert_exit(r, 0);
    assert_empty(r->err);
    assert_lacks(r->out, "Database:");
    assert_true(r->out[0] == '{');
    json_t *doc = parse_json(r->out);
    const int pending_counts[6] = {0, 1, 0, 0, 0, 0};
    const json_t *m = check_status_document(doc, false, "pending", pending_counts);
    assert_json_null(m, "applied_at");
    assert_json_null(m, "applied_at_unix");
    assert_json_null(m, "execution_ms");
    assert_json_null(m, "error");
    assert_json_null(m, "statement");
    assert_json_null(json_object_get(m, "checksum"), "stored");
    char *expected = fmt(f, "%s", json_str(json_object_get(m, "checksum"), "expected"));
    json_decref(doc);

    /* --exit-code with JSON: the document, and exit 5. */
    r = run_cli(f, LOCAL, ARGS("migrate", "status", "--format", "json", "--exit-code"));
    assert_exit(r, 5);
    assert_empty(r->err);
    json_decref(parse_json(r->out));

    time_t before = time(NULL);
    char *good = up_and_checksum(f);
    time_t after = time(NULL);
    assert_string_equal(good, expected);

    r = run_cli(f, LOCAL, ARGS("migrate", "status", "--exit-code", "--format", "json"));
    assert_exit(r, 0);
    assert_empty(r->err);
    assert_lacks(r->out, "Database:");
    doc = parse_json(r->out);
    const int applied_counts[6] = {1, 0, 0, 0, 0, 0};
    m = check_status_document(doc, true, "applied", applied_counts);
    const char *when = json_str(m, "applied_at");
    assert_iso_utc(when);
    json_int_t unix_at = json_int(m, "applied_at_unix");
    assert_true(unix_at >= before && unix_at <= after);
    char iso[32];
    struct tm tm;
    time_t t = (time_t)unix_at;
    assert_non_null(gmtime_r(&t, &tm));
    strftime(iso, sizeof(iso), "%Y-%m-%dT%H:%M:%SZ", &tm);
    assert_string_equal(when, iso);
    assert_true(json_int(m, "execution_ms") >= 0);
    assert_string_equal(json_str(json_object_get(m, "checksum"), "stored"), good);
    assert_string_equal(json_str(json_object_get(m, "checksum"), "expected"), good);
    assert_json_null(m, "error");
    assert_json_null(m, "statement");
    json_decref(doc);

    /* --format text is the table. */
    r = run_cli(f, LOCAL, ARGS("migrate", "status", "--format", "text"));
    assert_exit(r, 0);
    assert_contains(r->out, "Database: ");
    assert_contains(r->out, "1 applied, 0 pending.\n");
}

static void test_cli__status_json_modified_and_failed(void **state)
{
    fixture *f = *state;
    fresh_dir(f, "status_json_states");
    char *good = up_and_checksum(f);
    exec_db(f, "UPDATE seaql_migrations SET checksum = '" ZERO_SUM "'");

    const run_result *r = run_cli(f, LOCAL, ARGS("migrate", "status", "--format", "json"));
    assert_exit(r, 5); /* the history needs attention */
    json_t *doc = parse_json(r->out);
    const int modified_counts[6] = {0, 0, 1, 0, 0, 0};
    const json_t *m = check_status_document(doc, false, "modified", modified_counts);
    assert_string_equal(json_str(json_object_get(m, "checksum"), "stored"), ZERO_SUM);
    assert_string_equal(json_str(json_object_get(m, "checksum"), "expected"), good);
    assert_iso_utc(json_str(m, "applied_at"));
    json_decref(doc);

    exec_db(f, "UPDATE seaql_migrations SET checksum = NULL");
    r = run_cli(f, LOCAL, ARGS("migrate", "status", "--format", "json"));
    doc = parse_json(r->out);
    const int applied_counts[6] = {1, 0, 0, 0, 0, 0};
    m = check_status_document(doc, true, "applied", applied_counts);
    assert_json_null(json_object_get(m, "checksum"), "stored");
    json_decref(doc);

    mark_failed(f);
    r = run_cli(f, LOCAL, ARGS("migrate", "status", "--format", "json"));
    assert_exit(r, 5); /* the history needs attention */
    doc = parse_json(r->out);
    const int failed_counts[6] = {0, 0, 0, 0, 0, 1};
    m = check_status_document(doc, false, "failed", failed_counts);
    assert_string_equal(json_str(m, "error"), "boom");
    assert_string_equal(json_str(m, "statement"), "CREATE TABLE tenants (id UUID)");
    json_decref(doc);

    /* A missing version: recorded, with no checksum expected of it. */
    exec_db(f, "UPDATE seaql_migrations SET state = NULL, error_message = NULL, "
               "error_statement = NULL");
    exec_db(f,
            "INSERT INTO seaql_migrations (version, applied_at) VALUES ('" GONE "', 1700000000)");
    r = run_cli(f, LOCAL, ARGS("migrate", "status", "--format", "json", "--exit-code"));
    assert_exit(r, 5);
    doc = parse_json(r->out);
    assert_false(json_is_true(json_object_get(doc, "up_to_date")));
    const json_t *summary = json_object_get(doc, "summary");
    assert_int_equal(json_int(summary, "applied"), 1);
    assert_int_equal(json_int(summary, "missing"), 1);
    const json_t *migrations = json_object_get(doc, "migrations");
    assert_int_equal(json_array_size(migrations), 2);
    m = json_array_get(migrations, 1);
    assert_string_equal(json_str(m, "name"), GONE);
    assert_string_equal(json_str(m, "state"), "missing");
    assert_string_equal(json_str(m, "applied_at"), "2023-11-14T22:13:20Z");
    assert_int_equal(json_int(m, "applied_at_unix"), 1700000000);
    assert_json_null(json_object_get(m, "checksum"), "stored");
    assert_json_null(json_object_get(m, "checksum"), "expected");
    assert_json_null(m, "execution_ms");
    json_decref(doc);
}

/* A history table as the previous release left it: SeaORM's columns plus
 * checksum and execution_ms only. status reads it without upgrading it and
 * must still compare the checksums it holds. */
static void test_cli__status_compares_checksums_in_a_previous_release_table(void **state)
{
    fixture *f = *state;
    fresh_dir(f, "previous_release_table");
    up_and_checksum(f);
    exec_db(f, "DROP TABLE seaql_migrations");
    exec_db(f, "CREATE TABLE seaql_migrations (version VARCHAR PRIMARY KEY NOT NULL, "
               "applied_at BIGINT NOT NULL, checksum VARCHAR NULL, execution_ms BIGINT NULL)");
    exec_db(f,
            "INSERT INTO seaql_migrations VALUES ('" TENANTS "', 1700000000, '" ZERO_SUM "', 12)");

    const run_result *r = run_cli(f, LOCAL, ARGS("migrate", "status"));
    assert_exit(r, 5); /* the history needs attention */
    assert_contains(line_starting(f, r->out, TENANTS " "), " modified ");
    assert_contains(r->out, "recorded " ZERO_SUM);
    assert_status_exit_code(f, 5);

    r = run_cli(f, LOCAL, ARGS("migrate", "status", "--format", "json"));
    assert_exit(r, 5); /* the history needs attention */
    json_t *doc = parse_json(r->out);
    const json_t *m = json_array_get(json_object_get(doc, "migrations"), 0);
    assert_string_equal(json_str(json_object_get(m, "checksum"), "stored"), ZERO_SUM);
    assert_int_equal(json_int(m, "execution_ms"), 12);
    json_decref(doc);
}

/* ==== Colour ==== */

static void test_cli__status_through_a_pipe_has_no_colour(void **state)
{
    fixture *f = *state;
    fresh_dir(f, "no_colour_pipe");
    empty_db(f, "poblysh.db");
    const run_result *r = run_cli(f, LOCAL, ARGS("migrate", "status"));
    assert_exit(r, 0);
    assert_lacks(r->out, "\033[");
    up_and_checksum(f);
    r = run_cli(f, LOCAL, ARGS("migrate", "status"));
    assert_lacks(r->out, "\033[");
    mark_failed(f);
    r = run_cli(f, LOCAL, ARGS("migrate", "status"));
    assert_contains(r->out, " failed ");
    assert_lacks(r->out, "\033[");
    assert_lacks(r->err, "\033[");
}

/* The path of `script` (util-linux), or NULL. */
static const char *find_script(void)
{
    static const char *const candidates[] = {"/usr/bin/script", "/bin/script",
                                             "/usr/local/bin/script"};
    for (size_t i = 0; i < sizeof(candidates) / sizeof(candidates[0]); i++)
        if (access(candidates[i], X_OK) == 0)
            return candidates[i];
    return NULL;
}

/* Runs `poblysh migrate status` on a terminal, through script(1), with
 * NO_COLOR set to no_color (NULL: unset). */
static const run_result *status_on_terminal(fixture *f, const char *script, const char *no_color)
{
    char *command = fmt(f, "'%s' migrate status", cli_path);
    char *argv[] = {(char *)script, "-qec", command, "/dev/null", NULL};
    char *envp[8];
    size_t n = 0;
    envp[n++] = "PATH=/usr/local/bin:/usr/bin:/bin";
    envp[n++] = "SHELL=/bin/sh";
    envp[n++] = fmt(f, "%s=local", PM_ENV_PROFILE);
    if (no_color)
        envp[n++] = fmt(f, "NO_COLOR=%s", no_color);
    if (getenv("ASAN_OPTIONS"))
        envp[n++] = fmt(f, "ASAN_OPTIONS=%s", getenv("ASAN_OPTIONS"));
    if (getenv("UBSAN_OPTIONS"))
        envp[n++] = fmt(f, "UBSAN_OPTIONS=%s", getenv("UBSAN_OPTIONS"));
    envp[n] = NULL;

    pm_test_spawn_opts opts = {f->dir, true, false, NULL};
    child c;
    c.pid = pm_test_spawn(script, argv, envp, &opts, &c.out_fd, &c.err_fd);
    return collect(f, c);
}

static void test_cli__status_on_a_terminal_is_coloured_unless_no_color(void **state)
{
    fixture *f = *state;
    const char *script = find_script();
    if (!script) /* never skipped: without a terminal the colour rule goes untested */
        fail_msg("script(1) is needed to run poblysh on a terminal: install bsdutils");
    fresh_dir(f, "colour_tty");
    up_and_checksum(f);

    const run_result *r = status_on_terminal(f, script, NULL);
    assert_exit(r, 0);
    assert_contains(r->out, TENANTS);
    assert_contains(r->out, "\033[32mapplied\033[0m");
    r = status_on_terminal(f, script, ""); /* empty counts as unset */
    assert_exit(r, 0);
    assert_contains(r->out, "\033[32mapplied\033[0m");
    r = status_on_terminal(f, script, "1");
    assert_exit(r, 0);
    assert_contains(r->out, TENANTS);
    assert_lacks(r->out, "\033[");
}

/* ==== Production guard ==== */

static void test_cli__down_outside_local_and_test_needs_yes(void **state)
{
    fixture *f = *state;
    fresh_dir(f, "production_guard");
    const char *url = file_url(f, "prod.db");
    assert_exit(run_cli(f, LOCAL, ARGS("--database-url", url, "migrate", "up")), 0);

    static const char *const profiles[] = {"production", "staging"};
    for (size_t i = 0; i < 2; i++) {
        const run_result *r = run_cli(f, (cli_env){profiles[i], NULL},
                                      ARGS("--database-url", url, "migrate", "down"));
        assert_exit(r, 2);
        assert_contains(r->err, "--yes");
        assert_contains(r->err, fmt(f, "\"%s\"", profiles[i]));
        assert_lacks(r->out, "Reverting");
        pm_db *db = open_db(f, "prod.db");
        assert_true(pm_test_has_table(db, "tenants"));
        assert_int_equal(pm_test_history_count(db), 1);
        close_db(f);
    }
    /* The URL from the environment is guarded alike. */
    const run_result *r = run_cli(f, (cli_env){"production", url}, ARGS("migrate", "down"));
    assert_exit(r, 2);
    assert_contains(r->err, "--yes");

    r = run_cli(f, (cli_env){"production", NULL},
                ARGS("--database-url", url, "migrate", "down", "--yes"));
    assert_exit(r, 0);
    assert_empty(r->err);
    assert_contains(r->out, "Reverted 1 migration.\n");
    pm_db *db = open_db(f, "prod.db");
    assert_false(pm_test_has_table(db, "tenants"));
    assert_int_equal(pm_test_history_count(db), 0);
    close_db(f);

    /* up needs no --yes anywhere; down under local and test neither. */
    assert_exit(
        run_cli(f, (cli_env){"production", NULL}, ARGS("--database-url", url, "migrate", "up")), 0);
    r = run_cli(f, LOCAL, ARGS("--database-url", url, "migrate", "down"));
    assert_exit(r, 0);
    assert_contains(r->out, "Reverted 1 migration.\n");
    assert_exit(run_cli(f, LOCAL, ARGS("--database-url", url, "migrate", "up")), 0);
    r = run_cli(f, (cli_env){"test", NULL}, ARGS("--database-url", url, "migrate", "down"));
    assert_exit(r, 0);
    assert_contains(r->out, "Reverted 1 migration.\n");
    /* --yes is accepted under local too. */
    r = run_cli(f, LOCAL, ARGS("--database-url", url, "migrate", "down", "--yes"));
    assert_exit(r, 0);
}

/* ==== Options that do not apply ==== */

static void test_cli__options_apply_only_to_their_commands(void **state)
{
    fixture *f = *state;
    fresh_dir(f, "option_applicability");
    const struct {
        const char *const *args;
        const char *said;
    } cases[] = {
        {ARGS("migrate", "status", "--yes"), "--yes does not apply to migrate status"},
        {ARGS("migrate", "up", "--format", "json"), "--format does not apply to migrate up"},
        {ARGS("migrate", "up", "--yes"), "--yes does not apply to migrate up"},
        {ARGS("migrate", "up", "--exit-code"), "--exit-code does not apply to migrate up"},
        {ARGS("migrate", "down", "--ignore-modified"),
         "--ignore-modified does not apply to migrate down"},
        {ARGS("migrate", "down", "--allow-missing"),
         "--allow-missing does not apply to migrate down"},
        {ARGS("migrate", "down", "--allow-out-of-order"),
         "--allow-out-of-order does not apply to migrate down"},
        {ARGS("migrate", "status", "--ignore-modified"),
         "--ignore-modified does not apply to migrate status"},
        {ARGS("migrate", "status", "--accept", TENANTS), "does not apply to migrate status"},
        {ARGS("migrate", "up", "--rollback", TENANTS), "does not apply to migrate up"},
        {ARGS("migrate", "repair", "--accept", TENANTS, "--yes"),
         "--yes does not apply to migrate repair"},
        {ARGS("migrate", "repair", "--accept", TENANTS, "-n", "1"),
         "-n does not apply to migrate repair"},
        {ARGS("migrate", "status", "--format", "xml"),
         "--format must be text or json, not \"xml\""},
        {ARGS("migrate", "status", "--format"), "--format needs a value"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const run_result *r = run_cli(f, LOCAL, cases[i].args);
        assert_exit(r, 2);
        assert_empty(r->out);
        assert_contains(r->err, cases[i].said);
    }
    /* Refused before any database is opened. */
    assert_int_equal(dir_entry_count(f), 0);
}

/* ==== Help ==== */

static void test_cli__help_documents_integrity_options_and_exit_5(void **state)
{
    fixture *f = *state;
    fresh_dir(f, "help_integrity");
    const run_result *r = run_cli(f, LOCAL, ARGS("--help"));
    assert_exit(r, 0);
    assert_contains(r->out, "\n  5  the history needs attention");
    assert_contains(r->out, "status --exit-code");
    assert_contains(r->out, "migrate repair ");

    r = run_cli(f, LOCAL, ARGS("migrate", "repair", "--help"));
    assert_exit(r, 0);
    assert_empty(r->err);
    assert_contains(r->out, "Usage: poblysh migrate repair");
    assert_contains(r->out, "--accept NAME");
    assert_contains(r->out, "--applied NAME");
    assert_contains(r->out, "--rollback NAME");

    r = run_cli(f, LOCAL, ARGS("migrate", "up", "--help"));
    assert_exit(r, 0);
    assert_contains(r->out, "--ignore-modified");
    assert_contains(r->out, "--allow-missing");
    assert_contains(r->out, "--allow-out-of-order");
    assert_contains(r->out, "exit 5");

    r = run_cli(f, LOCAL, ARGS("migrate", "down", "--help"));
    assert_exit(r, 0);
    assert_contains(r->out, "--yes");

    r = run_cli(f, LOCAL, ARGS("migrate", "status", "--help"));
    assert_exit(r, 0);
    assert_contains(r->out, "--format");
    assert_contains(r->out, "json");
    assert_contains(r->out, "--exit-code");
    static const char *const states[] = {"applied", "pending",      "modified",
                                         "missing", "out-of-order", "failed"};
    for (size_t i = 0; i < 6; i++)
        assert_contains(r->out, fmt(f, "\n  %s ", states[i]));
    assert_int_equal(dir_entry_count(f), 0);
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
        fprintf(stderr, "test_cli: %s is not an executable: %s\n", argv[1], strerror(errno));
        free(binary);
        return 2;
    }
    char *root = make_dir(argv[2]) == 0 ? absolute_path(argv[2]) : NULL;
    if (!root) {
        fprintf(stderr, "test_cli: cannot use work dir %s: %s\n", argv[2], strerror(errno));
        free(binary);
        return 2;
    }
    cli_path = binary;
    work_root = root;

    const struct CMUnitTest tests[] = {
        CLI_TEST(test_cli__up_on_local_profile_creates_poblysh_db_with_tenants),
        CLI_TEST(test_cli__unset_profile_defaults_to_local),
        CLI_TEST(test_cli__status_lists_applied_then_pending_after_down),
        CLI_TEST(test_cli__status_marks_versions_unknown_to_this_build),
        CLI_TEST(test_cli__second_up_applies_nothing),
        CLI_TEST(test_cli__down_removes_table_and_history_row),
        CLI_TEST(test_cli__down_refuses_version_unknown_to_this_build),
        CLI_TEST(test_cli__failing_migration_exits_1_and_records_nothing),
        CLI_TEST(test_cli__database_url_flag_overrides_environment),
        CLI_TEST(test_cli__schema_on_sqlite_is_usage_error),
        CLI_TEST(test_cli__test_profile_uses_memory_database),
        CLI_TEST(test_cli__production_profile_without_url_is_clear_error),
        CLI_TEST(test_cli__verbose_reports_profile_and_url_on_stderr),
        CLI_TEST(test_cli__help_documents_commands_and_exit_codes),
        CLI_TEST(test_cli__no_arguments_prints_usage_to_stderr),
        CLI_TEST(test_cli__unknown_command_is_usage_error),
        CLI_TEST(test_cli__database_create_and_drop_a_sqlite_file),
        CLI_TEST(test_cli__database_commands_refuse_what_they_cannot_do),
        CLI_TEST(test_cli__up_create_database_on_a_sqlite_file),
        CLI_TEST(test_cli__bad_n_is_usage_error),
        CLI_TEST(test_cli__unknown_scheme_lists_known_schemes),
        CLI_TEST(test_cli__password_never_printed),
        CLI_TEST(test_cli__password_of_url_without_host_never_printed),
        CLI_TEST(test_cli__password_in_query_or_with_raw_characters_never_printed),
        CLI_TEST(test_cli__unknown_parameter_after_password_is_not_quoted),
        CLI_TEST(test_cli__unwritable_database_path_fails_with_exit_4_and_names_file),
        CLI_TEST(test_cli__file_that_is_not_a_database_fails_with_exit_4),
        CLI_TEST(test_cli__concurrent_up_processes_apply_once),
        CLI_TEST(test_cli__held_lock_times_out_with_exit_3),
        CLI_TEST(test_cli__modified_migration_is_shown_refused_and_accepted),
        CLI_TEST(test_cli__rows_without_checksum_are_applied_and_can_be_filled_in),
        CLI_TEST(test_cli__seaorm_table_reads_as_applied_and_repair_upgrades_it),
        CLI_TEST(test_cli__missing_migration_refuses_up_unless_allowed),
        CLI_TEST(test_cli__out_of_order_migration_needs_allow_out_of_order),
        CLI_TEST(test_cli__failed_migration_blocks_up_and_down_until_repaired),
        CLI_TEST(test_cli__refused_repair_does_not_claim_a_rollback),
        CLI_TEST(test_cli__repair_usage_and_unknown_names),
        CLI_TEST(test_cli__started_row_reads_as_failed_never_finished),
        CLI_TEST(test_cli__status_json_pending_then_applied),
        CLI_TEST(test_cli__status_json_modified_and_failed),
        CLI_TEST(test_cli__status_compares_checksums_in_a_previous_release_table),
        CLI_TEST(test_cli__status_through_a_pipe_has_no_colour),
        CLI_TEST(test_cli__status_on_a_terminal_is_coloured_unless_no_color),
        CLI_TEST(test_cli__down_outside_local_and_test_needs_yes),
        CLI_TEST(test_cli__options_apply_only_to_their_commands),
        CLI_TEST(test_cli__help_documents_integrity_options_and_exit_5),
        CLI_TEST(test_cli__an_unreadable_folder_is_reported_before_the_database),
        CLI_TEST(test_cli__foreign_history_refuses_up_until_adopted_then_up_runs_only_new),
        CLI_TEST(test_cli__adopt_refuses_dirty_and_unknown_tools_naming_the_program),
    };
    int failed = cmocka_run_group_tests_name("cli", tests, NULL, NULL);
    free(binary);
    free(root);
    return failed;
}
