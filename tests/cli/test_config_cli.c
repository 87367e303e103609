/* test_config_cli.c: where the poblysh binary's database and settings come
 * from, end to end: .env's DATABASE_URL used and shown by -v, the real
 * environment above .env, --env-file and --no-env-file, the whole
 * precedence order, poblysh.conf with local and production profiles
 * driving URL and timeouts, `poblysh config` with origins and no password,
 * and a bad key, value or .env line as a file:line error with exit 2.
 * Run as: test_config_cli <path to poblysh> <work dir>. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "testproc.h"

#define TENANTS "m2024_01_01_000001_create_tenants"

static void write_file(fixture *f, const char *file, const char *text)
{
    FILE *fp = fopen(path_in_dir(f, file), "w");
    assert_non_null(fp);
    fputs(text, fp);
    assert_int_equal(fclose(fp), 0);
}

static void test_config_cli__dotenv_database_url_is_used_and_shown_by_verbose(void **state)
{
    fixture *f = *state;
    fresh_dir(f, "dotenv_used");
    write_file(
        f, ".env",
        "# the service's settings\nPORT=8080\nexport DATABASE_URL=\"sqlite://from-dotenv.db\"\n");
    const run_result *r = run_cli(f, LOCAL, ARGS("-v", "migrate", "up"));
    assert_exit(r, 0);
    assert_contains(r->out, "Database: sqlite://from-dotenv.db (sqlite, profile local)\n");
    assert_contains(r->out, "Applying " TENANTS " ... done (");
    assert_contains(r->err,
                    "poblysh: database URL sqlite://from-dotenv.db, from .env:3 (DATABASE_URL)");
    assert_true(file_exists(f, "from-dotenv.db"));
    assert_false(file_exists(f, "poblysh.db"));
}

static void test_config_cli__real_environment_wins_over_dotenv(void **state)
{
    fixture *f = *state;
    fresh_dir(f, "dotenv_loses");
    write_file(f, ".env",
               "POBLYSH_DATABASE_URL=sqlite://dotenv.db\nDATABASE_URL=sqlite://dotenv2.db\n");
    cli_extra_env = "DATABASE_URL=sqlite://real.db";
    const run_result *r = run_cli(f, LOCAL, ARGS("-v", "migrate", "up"));
    assert_exit(r, 0);
    assert_contains(r->out, "Database: sqlite://real.db (sqlite, profile local)\n");
    assert_contains(r->err, "from environment DATABASE_URL");
    assert_true(file_exists(f, "real.db"));
    assert_false(file_exists(f, "dotenv.db"));
    assert_false(file_exists(f, "dotenv2.db"));
}

static void test_config_cli__no_env_file_and_env_file(void **state)
{
    fixture *f = *state;
    fresh_dir(f, "dotenv_flags");
    write_file(f, ".env", "DATABASE_URL=sqlite://dotenv.db\n");
    write_file(f, "other.env", "DATABASE_URL='sqlite://other.db' # named\n");
    const run_result *r = run_cli(f, LOCAL, ARGS("--no-env-file", "migrate", "up"));
    assert_exit(r, 0);
    assert_contains(
        r->out, "Database: sqlite://poblysh.db (sqlite, profile local: its default database)\n");
    assert_false(file_exists(f, "dotenv.db"));
    r = run_cli(f, LOCAL, ARGS("--env-file", "other.env", "-v", "migrate", "up"));
    assert_exit(r, 0);
    assert_contains(r->out, "Database: sqlite://other.db (sqlite, profile local)\n");
    assert_contains(r->err, "from other.env:1 (DATABASE_URL)");
    r = run_cli(f, LOCAL, ARGS("--env-file", "absent.env", "migrate", "up"));
    assert_exit(r, 2);
    assert_contains(r->err, "absent.env");
    assert_false(file_exists(f, "dotenv.db"));
}

static void test_config_cli__bad_dotenv_line_is_file_line_error_exit_2(void **state)
{
    fixture *f = *state;
    fresh_dir(f, "dotenv_bad");
    write_file(f, ".env", "A=1\nDATABASE_URL='sqlite://x.db\n");
    const run_result *r = run_cli(f, LOCAL, ARGS("migrate", "up"));
    assert_exit(r, 2);
    assert_contains(r->err, "poblysh: error: .env:2: no closing '");
    assert_empty(r->out);
    assert_int_equal(dir_entry_count(f), 1);
}

/* Each step of the order, taken away in turn, hands over to the next. */
static void test_config_cli__precedence_order_end_to_end(void **state)
{
    fixture *f = *state;
    fresh_dir(f, "precedence");
    write_file(f, "poblysh.conf", "[local]\ndatabase_url = sqlite://conf.db\n");
    write_file(f, ".env",
               "DATABASE_URL=sqlite://dotenv-common.db\nPOBLYSH_DATABASE_URL=sqlite://dotenv.db\n");
    cli_extra_env = "DATABASE_URL=sqlite://env-common.db";
    cli_env env = {"local", "sqlite://env.db"};
    const run_result *r = run_cli(f, env, ARGS("-u", "sqlite://flag.db", "-v", "migrate", "up"));
    assert_exit(r, 0);
    assert_contains(r->err, "database URL sqlite://flag.db, from --database-url");
    static const struct {
        const char *file, *origin;
    } steps[] = {
        {"env.db", "environment POBLYSH_DATABASE_URL"},
        {"env-common.db", "environment DATABASE_URL"},
        {"dotenv.db", ".env:2 (POBLYSH_DATABASE_URL)"},
        {"dotenv-common.db", ".env:1 (DATABASE_URL)"},
        {"conf.db", "poblysh.conf:2 [local]"},
        {"poblysh.db", "default of profile local"},
    };
    for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
        r = run_cli(f, env, ARGS("-v", "migrate", "up"));
        assert_exit(r, 0);
        assert_contains(
            r->err, fmt(f, "database URL sqlite://%s, from %s", steps[i].file, steps[i].origin));
        assert_true(file_exists(f, steps[i].file));
        if (i == 0)
            env.url = NULL;
        else if (i == 1)
            cli_extra_env = NULL;
        else if (i == 2)
            write_file(f, ".env", "DATABASE_URL=sqlite://dotenv-common.db\n");
        else if (i == 3)
            assert_int_equal(unlink(path_in_dir(f, ".env")), 0);
        else if (i == 4)
            assert_int_equal(unlink(path_in_dir(f, "poblysh.conf")), 0);
    }
}

static const char two_profiles[] = "[default]\n"
                                   "lock_timeout = 45\n"
                                   "[local]\n"
                                   "database_url = sqlite://dev.db\n"
                                   "[production]\n"
                                   "database_url = sqlite://prod.db?mode=rwc\n"
                                   "lock_timeout = 7\n"
                                   "ddl_lock_timeout = 2s\n"
                                   "statement_timeout = 1min\n"
                                   "pool_size = 12\n";

static void test_config_cli__profiles_drive_url_and_timeouts(void **state)
{
    fixture *f = *state;
    fresh_dir(f, "profiles");
    write_file(f, "poblysh.conf", two_profiles);
    const run_result *r = run_cli(f, LOCAL, ARGS("migrate", "up"));
    assert_exit(r, 0);
    assert_contains(r->out, "Database: sqlite://dev.db (sqlite, profile local)\n");
    r = run_cli(f, LOCAL, ARGS("--profile", "production", "migrate", "up"));
    assert_exit(r, 0);
    assert_contains(r->out, "Database: sqlite://prod.db?mode=rwc (sqlite, profile production)\n");
    assert_true(file_exists(f, "prod.db"));
    /* production's guard follows --profile, not only $POBLYSH_PROFILE */
    r = run_cli(f, LOCAL, ARGS("--profile", "production", "migrate", "down"));
    assert_exit(r, 2);
    assert_contains(r->err, "under profile \"production\"");
    r = run_cli(f, (cli_env){"production", NULL}, ARGS("config"));
    assert_exit(r, 0);
    assert_contains(r->out, "Profile: production\n");
    assert_contains(r->out, "lock_timeout       7  (poblysh.conf:7 [production])\n");
    assert_contains(r->out, "ddl_lock_timeout   2s  (poblysh.conf:8 [production])\n");
    assert_contains(r->out, "statement_timeout  1min  (poblysh.conf:9 [production])\n");
    r = run_cli(f, LOCAL, ARGS("config"));
    assert_exit(r, 0);
    assert_contains(r->out, "lock_timeout       45  (poblysh.conf:2 [default])\n");
    assert_contains(r->out, "pool_size          -  (not set)\n");
    /* a flag is above the file */
    r = run_cli(f, LOCAL, ARGS("--lock-timeout", "9", "config"));
    assert_contains(r->out, "lock_timeout       9  (--lock-timeout)\n");
}

/* The file's lock timeout reaches the engine: a lock held by another
 * writer is given up after the file's 1 s (exit 3), not the default 60 s. */
static void test_config_cli__file_lock_timeout_reaches_the_engine(void **state)
{
    fixture *f = *state;
    fresh_dir(f, "lock_timeout");
    write_file(f, "poblysh.conf", "[local]\ndatabase_url = sqlite:locked.db\nlock_timeout = 1\n");
    pm_db *db = open_db(f, "locked.db");
    pm_test_exec(db, "BEGIN IMMEDIATE"); /* another writer holds the file */
    struct timespec start, end;
    clock_gettime(CLOCK_MONOTONIC, &start);
    const run_result *r = run_cli(f, LOCAL, ARGS("migrate", "up"));
    clock_gettime(CLOCK_MONOTONIC, &end);
    double waited =
        (double)(end.tv_sec - start.tv_sec) + (double)(end.tv_nsec - start.tv_nsec) / 1e9;
    pm_test_exec(db, "ROLLBACK");
    close_db(f);
    assert_exit(r, 3);
    assert_lacks(r->out, "Applying");
    if (waited < 0.9 || waited > 30)
        fail_msg("gave up after %.2f s; lock_timeout = 1 in poblysh.conf asked for about 1 s",
                 waited);
}

static void test_config_cli__config_shows_origins_and_hides_password(void **state)
{
    fixture *f = *state;
    fresh_dir(f, "config_cmd");
    write_file(f, "poblysh.conf",
               "[default]\napplication_name = billing\n"
               "[production]\nscheme = postgres\nhost = db.internal\n"
               "user = app\ndbname = billing\npassword_env = BILLING_DB_PW\n"
               "pool_size = 20\npool_idle_timeout = 10min\n");
    cli_extra_env = "BILLING_DB_PW=Sup3rS3cret";
    const run_result *r = run_cli(f, LOCAL, ARGS("config", "--profile", "production"));
    assert_exit(r, 0);
    assert_contains(r->out, "Configuration file: poblysh.conf\n");
    assert_contains(r->out,
                    "database_url       postgres://app:***@db.internal/billing  "
                    "(poblysh.conf:5 [production] (from scheme, host, port, user, dbname))\n");
    assert_contains(r->out, "password_env       BILLING_DB_PW  (poblysh.conf:8 [production])\n");
    assert_contains(r->out, "application_name   billing  (poblysh.conf:2 [default])\n");
    assert_contains(r->out, "pool_size          20  (poblysh.conf:9 [production])\n");
    assert_contains(r->out, "wait               0  (default)\n");
    assert_lacks(r->out, "Sup3rS3cret");
    assert_lacks(r->err, "Sup3rS3cret");
    r = run_cli(f, LOCAL, ARGS("config", "--profile", "staging"));
    assert_exit(r, 0);
    assert_contains(r->out, "database_url       -  (not set)\n");
    assert_contains(r->out, "(profile staging has no database");
    r = run_cli(f, LOCAL, ARGS("config", "extra"));
    assert_exit(r, 2);
}

static void test_config_cli__bad_key_or_value_is_file_line_error_exit_2(void **state)
{
    fixture *f = *state;
    fresh_dir(f, "bad_conf");
    write_file(f, "poblysh.conf", "[local]\nwait = 1\ncolour = blue\n");
    const run_result *r = run_cli(f, LOCAL, ARGS("migrate", "up"));
    assert_exit(r, 2);
    assert_contains(r->err, "poblysh: error: poblysh.conf:3: unknown key \"colour\" in [local]");
    assert_false(file_exists(f, "poblysh.db"));
    r = run_cli(f, LOCAL, ARGS("config"));
    assert_exit(r, 2);
    write_file(f, "poblysh.conf", "[production]\nstatement_timeout = soon\n");
    r = run_cli(f, LOCAL, ARGS("migrate", "status"));
    assert_exit(r, 2);
    assert_contains(r->err, "poblysh.conf:2: statement_timeout must be a duration");
    write_file(f, "poblysh.conf", "[local]\nhistory_table = my_history\n");
    r = run_cli(f, LOCAL, ARGS("migrate", "up"));
    assert_exit(r, 2);
    assert_contains(r->err, "poblysh.conf:2: history_table is not supported");
    write_file(f, "poblysh.conf", "[local]\nhistory_schema = audit\n");
    r = run_cli(f, LOCAL, ARGS("migrate", "up"));
    assert_exit(r, 2);
    assert_contains(r->err, "history_schema (poblysh.conf:2 [local]) cannot be applied by this "
                            "version: the history table follows the migrations' schema; set "
                            "schema = NAME (or -s NAME) instead");
    assert_false(file_exists(f, "poblysh.db"));
    write_file(f, "named.conf", "[local]\nwait = x\n");
    cli_extra_env = "POBLYSH_CONFIG=named.conf";
    r = run_cli(f, LOCAL, ARGS("migrate", "up"));
    assert_exit(r, 2);
    assert_contains(r->err, "named.conf:2: wait must be a whole number of seconds");
    r = run_cli(f, LOCAL, ARGS("--config", "absent.conf", "migrate", "up"));
    assert_exit(r, 2);
    assert_contains(r->err, "cannot read the configuration file absent.conf");
}

static void test_config_cli__production_without_any_url_names_every_source(void **state)
{
    fixture *f = *state;
    fresh_dir(f, "no_url");
    const run_result *r = run_cli(f, (cli_env){"production", NULL}, ARGS("migrate", "up"));
    assert_exit(r, 2);
    assert_contains(r->err, "POBLYSH_DATABASE_URL");
    assert_contains(r->err, "DATABASE_URL, or database_url in [production] of poblysh.conf");
}

/* database create|drop take the database from the same order. */
static void test_config_cli__database_commands_follow_dotenv_and_profile(void **state)
{
    fixture *f = *state;
    fresh_dir(f, "database_cmds");
    write_file(f, ".env", "DATABASE_URL=sqlite://made.db\n");
    const run_result *r = run_cli(f, LOCAL, ARGS("-v", "database", "create"));
    assert_exit(r, 0);
    assert_contains(r->err, "database URL sqlite://made.db, from .env:1 (DATABASE_URL)");
    assert_true(file_exists(f, "made.db"));
    assert_false(file_exists(f, "poblysh.db"));
    r = run_cli(f, LOCAL, ARGS("--profile", "production", "database", "drop"));
    assert_exit(r, 2);
    assert_contains(r->err, "under profile \"production\"");
    assert_true(file_exists(f, "made.db"));
}

#define CLI_TEST(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s <path to poblysh> <work dir>\n", argv[0]);
        return 2;
    }
    char *binary = absolute_path(argv[1]);
    char *root = make_dir(argv[2]) == 0 ? absolute_path(argv[2]) : NULL;
    if (!binary || !root || access(binary, X_OK) != 0) {
        fprintf(stderr, "test_config_cli: bad binary %s or work dir %s: %s\n", argv[1], argv[2],
                strerror(errno));
        free(binary);
        free(root);
        return 2;
    }
    cli_path = binary;
    work_root = root;
    const struct CMUnitTest tests[] = {
        CLI_TEST(test_config_cli__dotenv_database_url_is_used_and_shown_by_verbose),
        CLI_TEST(test_config_cli__real_environment_wins_over_dotenv),
        CLI_TEST(test_config_cli__no_env_file_and_env_file),
        CLI_TEST(test_config_cli__bad_dotenv_line_is_file_line_error_exit_2),
        CLI_TEST(test_config_cli__precedence_order_end_to_end),
        CLI_TEST(test_config_cli__profiles_drive_url_and_timeouts),
        CLI_TEST(test_config_cli__file_lock_timeout_reaches_the_engine),
        CLI_TEST(test_config_cli__config_shows_origins_and_hides_password),
        CLI_TEST(test_config_cli__bad_key_or_value_is_file_line_error_exit_2),
        CLI_TEST(test_config_cli__production_without_any_url_names_every_source),
        CLI_TEST(test_config_cli__database_commands_follow_dotenv_and_profile),
    };
    int failed = cmocka_run_group_tests_name("config_cli", tests, NULL, NULL);
    free(binary);
    free(root);
    return failed;
}
