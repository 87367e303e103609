/* test_config.c: pm_config (config.h): poblysh.conf's profile and
 * [default] sections, values checked with file:line errors, the database
 * URL's resolution order (environment, .env, file, default) with origins,
 * the URL from its parts with the password from the environment or a file,
 * flags set above all; and the .env reader's subset (dotenv.h). Each test
 * works in a fresh folder of its own under /tmp, its current folder. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../core/src/dotenv.h"
#include "poblysh/config.h"
#include "testutil.h"

static char start_dir[PATH_MAX];

static void write_text(const char *path, const char *text)
{
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fputs(text, fp);
    assert_int_equal(fclose(fp), 0);
}

static int enter_fresh_dir(void **state)
{
    (void)state;
    unsetenv(PM_ENV_PROFILE);
    unsetenv(PM_ENV_DATABASE_URL);
    unsetenv(PM_ENV_DATABASE_URL_COMMON);
    unsetenv(PM_ENV_CONFIG);
    unsetenv("POBLYSH_MIGRATIONS_DIR");
    unsetenv("TEST_CONFIG_PW");
    char dir[] = "/tmp/pm_test_config_XXXXXX";
    assert_non_null(mkdtemp(dir));
    assert_int_equal(chdir(dir), 0);
    return 0;
}

static int leave_dir(void **state)
{
    (void)state;
    char dir[PATH_MAX];
    assert_non_null(getcwd(dir, sizeof(dir)));
    assert_int_equal(chdir(start_dir), 0);
    char cmd[PATH_MAX + 16];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
    return 0;
}

static const char two_profiles[] = "; settings of the tests\n"                       /* 1 */
                                   "[default]\n"                                     /* 2 */
                                   "lock_timeout = 30\n"                             /* 3 */
                                   "statement_timeout = 2min\n"                      /* 4 */
                                   "\n"                                              /* 5 */
                                   "[local]\n"                                       /* 6 */
                                   "database_url = sqlite://dev.db\n"                /* 7 */
                                   "\n"                                              /* 8 */
                                   "[production]\n"                                  /* 9 */
                                   "database_url = postgres://app@db.internal/app\n" /* 10 */
                                   "lock_timeout = 120\n"                            /* 11 */
                                   "ddl_lock_timeout = 3s\n"                         /* 12 */
                                   "pool_size = 20\n"                                /* 13 */
                                   "pool_idle_timeout = 10min\n"                     /* 14 */
                                   "pool_max_lifetime = 1h\n"                        /* 15 */
                                   "application_name = billing\n"                    /* 16 */
                                   "schema = billing\n";                             /* 17 */

static pm_config *load_ok(const char *path, const char *profile)
{
    pm_config *cfg = NULL;
    pm_error err = PM_ERROR_INIT;
    int rc = pm_config_load(&cfg, path, profile, &err);
    if (rc < 0)
        fail_msg("pm_config_load: %s", err.message ? err.message : "?");
    pm_error_clear(&err);
    return cfg;
}

/* The message of a load that must fail with code. */
static char *load_error(const char *path, const char *profile, int code)
{
    pm_config *cfg = NULL;
    pm_error err = PM_ERROR_INIT;
    assert_int_equal(pm_config_load(&cfg, path, profile, &err), code);
    assert_null(cfg);
    assert_non_null(err.message);
    char *message = strdup(err.message);
    pm_error_clear(&err);
    return message;
}

/* ==== The file ==== */

static void test_config__profile_section_wins_over_default_section(void **state)
{
    (void)state;
    write_text("poblysh.conf", two_profiles);
    pm_config *cfg = load_ok(NULL, "production");
    assert_string_equal(pm_config_profile(cfg), "production");
    assert_string_equal(pm_config_path(cfg), "poblysh.conf");
    assert_string_equal(pm_config_get(cfg, "database_url"), "postgres://app@db.internal/app");
    assert_string_equal(pm_config_origin(cfg, "database_url"), "poblysh.conf:10 [production]");
    int n = 0, ms = 0;
    assert_int_equal(pm_config_get_int(cfg, "lock_timeout", &n), 0);
    assert_int_equal(n, 120);
    assert_string_equal(pm_config_origin(cfg, "lock_timeout"), "poblysh.conf:11 [production]");
    assert_int_equal(pm_config_get_duration_ms(cfg, "statement_timeout", &ms), 0);
    assert_int_equal(ms, 120000);
    assert_string_equal(pm_config_origin(cfg, "statement_timeout"), "poblysh.conf:4 [default]");
    assert_int_equal(pm_config_get_duration_ms(cfg, "ddl_lock_timeout", &ms), 0);
    assert_int_equal(ms, 3000);
    assert_int_equal(pm_config_get_int(cfg, "pool_size", &n), 0);
    assert_int_equal(n, 20);
    assert_int_equal(pm_config_get_duration_ms(cfg, "pool_idle_timeout", &ms), 0);
    assert_int_equal(ms, 600000);
    assert_int_equal(pm_config_get_duration_ms(cfg, "pool_max_lifetime", &ms), 0);
    assert_int_equal(ms, 3600000);
    assert_string_equal(pm_config_get(cfg, "schema"), "billing");
    assert_string_equal(pm_config_origin(cfg, "schema"), "poblysh.conf:17 [production]");
    assert_string_equal(pm_config_get(cfg, "application_name"), "billing");
    assert_null(pm_config_get(cfg, "connect_timeout"));
    assert_null(pm_config_origin(cfg, "connect_timeout"));
    assert_int_equal(pm_config_get_int(cfg, "connect_timeout", &n), PM_ENOTFOUND);
    assert_int_equal(pm_config_get_int(cfg, "statement_timeout", &n), PM_EINVAL);
    assert_int_equal(pm_config_get_duration_ms(cfg, "pool_size", &ms), PM_EINVAL);
    assert_null(pm_config_get(cfg, "no_such_key"));
    pm_config_free(cfg);

    cfg = load_ok(NULL, "local");
    assert_string_equal(pm_config_get(cfg, "database_url"), "sqlite://dev.db");
    assert_false(pm_config_is_default(cfg, "database_url"));
    assert_int_equal(pm_config_get_int(cfg, "lock_timeout", &n), 0);
    assert_int_equal(n, 30);
    assert_string_equal(pm_config_origin(cfg, "lock_timeout"), "poblysh.conf:3 [default]");
    assert_null(pm_config_get(cfg, "pool_size"));
    pm_config_free(cfg);
}

static void test_config__profile_from_environment_and_defaults_without_file(void **state)
{
    (void)state;
    pm_config *cfg = load_ok(NULL, NULL);
    assert_string_equal(pm_config_profile(cfg), "local");
    assert_null(pm_config_path(cfg));
    assert_string_equal(pm_config_get(cfg, "database_url"), PM_LOCAL_DATABASE_URL);
    assert_true(pm_config_is_default(cfg, "database_url"));
    assert_string_equal(pm_config_origin(cfg, "database_url"), "default of profile local");
    assert_string_equal(pm_config_get(cfg, "lock_timeout"), "60");
    pm_config_free(cfg);
    setenv(PM_ENV_PROFILE, "production", 1);
    cfg = load_ok(NULL, NULL);
    assert_string_equal(pm_config_profile(cfg), "production");
    assert_null(pm_config_get(cfg, "database_url"));
    pm_config_free(cfg);
}

static void test_config__named_file_must_exist(void **state)
{
    (void)state;
    char *message = load_error("missing.conf", NULL, PM_ENOTFOUND);
    assert_non_null(strstr(message, "missing.conf"));
    free(message);
    setenv(PM_ENV_CONFIG, "other.conf", 1);
    message = load_error(NULL, NULL, PM_ENOTFOUND);
    assert_non_null(strstr(message, "other.conf"));
    free(message);
    write_text("other.conf", "[local]\nwait = 7\n");
    pm_config *cfg = load_ok(NULL, NULL);
    assert_string_equal(pm_config_path(cfg), "other.conf");
    assert_string_equal(pm_config_origin(cfg, "wait"), "other.conf:2 [local]");
    pm_config_free(cfg);
}

static void test_config__unknown_key_names_file_line_and_key(void **state)
{
    (void)state;
    write_text("poblysh.conf", "[local]\nwait = 1\n[staging]\ncolour = blue\n");
    char *message = load_error(NULL, "local", PM_EINVAL); /* another profile's section too */
    assert_non_null(strstr(message, "poblysh.conf:4: unknown key \"colour\" in [staging]"));
    free(message);
}

static void test_config__bad_values_name_file_line_and_key(void **state)
{
    (void)state;
    static const struct {
        const char *text, *expected;
    } cases[] = {
        {"[local]\nlock_timeout = soon\n",
         "x.conf:2: lock_timeout must be a whole number of seconds from 1 to 86400, not \"soon\""},
        {"[local]\n\nstatement_timeout = 5 parsecs\n",
         "x.conf:3: statement_timeout must be a duration"},
        {"[local]\npool_size = 0\n", "x.conf:2: pool_size must be a whole number from 1 to 10000"},
        {"[local]\nport = 70000\n", "x.conf:2: port must be a whole number"},
        {"[local]\nhistory_table = my_history\n", "x.conf:2: history_table is not supported"},
        {"[local]\napplication_name =\n", "x.conf:2: application_name is empty"},
        {"wait = 1\n", "x.conf:1: wait is outside a section"},
        {"[local]\nwait = 1\nwait = 2\n",
         "x.conf:3: wait is set twice in [local] (first at line 2)"},
        {"[local]\nwait 1\n", "x.conf:2: not a [section] or a key = value line"},
        {"[lo cal]\nwait = 1\n", "x.conf:2: [lo cal] is not a profile name"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        write_text("x.conf", cases[i].text);
        char *message = load_error("x.conf", "local", PM_EINVAL);
        if (!strstr(message, cases[i].expected))
            fail_msg("case %zu: \"%s\" lacks \"%s\"", i, message, cases[i].expected);
        free(message);
    }
}

/* ==== Where the database URL comes from ==== */

static void test_config__resolution_order_environment_env_file_file_default(void **state)
{
    (void)state;
    write_text("poblysh.conf", "[local]\ndatabase_url = sqlite://from-conf.db\n");
    write_text(".env",
               "# the app's settings\nOTHER=1\nDATABASE_URL=sqlite://from-dotenv-common.db\n"
               "POBLYSH_DATABASE_URL=sqlite://from-dotenv.db\n");
    setenv(PM_ENV_DATABASE_URL_COMMON, "sqlite://from-env-common.db", 1);
    setenv(PM_ENV_DATABASE_URL, "sqlite://from-env.db", 1);
    static const struct {
        const char *url, *origin;
    } steps[] = {
        {"sqlite://from-env.db", "environment POBLYSH_DATABASE_URL"},
        {"sqlite://from-env-common.db", "environment DATABASE_URL"},
        {"sqlite://from-dotenv.db", ".env:4 (POBLYSH_DATABASE_URL)"},
        {"sqlite://from-dotenv-common.db", ".env:3 (DATABASE_URL)"},
        {"sqlite://from-conf.db", "poblysh.conf:2 [local]"},
        {PM_LOCAL_DATABASE_URL, "default of profile local"},
    };
    for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
        pm_config *cfg = load_ok(NULL, "local");
        assert_string_equal(pm_config_get(cfg, "database_url"), steps[i].url);
        assert_string_equal(pm_config_origin(cfg, "database_url"), steps[i].origin);
        pm_error err = PM_ERROR_INIT;
        assert_int_equal(
            pm_config_set(cfg, "database_url", "sqlite://flag.db", "--database-url", &err), 0);
        assert_string_equal(pm_config_get(cfg, "database_url"), "sqlite://flag.db");
        assert_string_equal(pm_config_origin(cfg, "database_url"), "--database-url");
        pm_config_free(cfg);
        /* take away the step that won */
        if (i == 0)
            unsetenv(PM_ENV_DATABASE_URL);
        else if (i == 1)
            unsetenv(PM_ENV_DATABASE_URL_COMMON);
        else if (i == 2)
            write_text(".env", "# the app's settings\nOTHER=1\nDATABASE_URL=sqlite://"
                               "from-dotenv-common.db\n");
        else if (i == 3)
            assert_int_equal(unlink(".env"), 0);
        else if (i == 4)
            assert_int_equal(unlink("poblysh.conf"), 0);
    }
}

static void test_config__env_file_can_be_named_or_skipped(void **state)
{
    (void)state;
    write_text(".env", "DATABASE_URL=sqlite://dot.db\n");
    write_text("alt.env", "export DATABASE_URL='sqlite://alt.db'\n");
    pm_config_options o = PM_CONFIG_OPTIONS_INIT;
    o.env_file = "alt.env";
    pm_config *cfg = NULL;
    pm_error err = PM_ERROR_INIT;
    assert_int_equal(pm_config_load_with(&cfg, &o, &err), 0);
    assert_string_equal(pm_config_get(cfg, "database_url"), "sqlite://alt.db");
    assert_string_equal(pm_config_origin(cfg, "database_url"), "alt.env:1 (DATABASE_URL)");
    pm_config_free(cfg);
    o.flags = PM_CONFIG_NO_ENV_FILE;
    assert_int_equal(pm_config_load_with(&cfg, &o, &err), 0);
    assert_true(pm_config_is_default(cfg, "database_url"));
    pm_config_free(cfg);
    o.flags = 0;
    o.env_file = "absent.env";
    assert_int_equal(pm_config_load_with(&cfg, &o, &err), PM_ENOTFOUND);
    assert_non_null(strstr(err.message, "absent.env"));
    pm_error_clear(&err);
    write_text(".env", "GOOD=1\nDATABASE_URL=\"sqlite://x.db\n");
    char *message = load_error(NULL, "local", PM_EINVAL);
    assert_non_null(strstr(message, ".env:2: no closing \""));
    free(message);
}

static void test_config__url_from_parts_with_password_from_environment_or_file(void **state)
{
    (void)state;
    write_text("poblysh.conf", "[production]\nscheme = postgres\nhost = db.internal\nport = 5433\n"
                               "user = app user\ndbname = billing\npassword_env = TEST_CONFIG_PW\n"
                               "[staging]\nscheme = mysql\nhost = ::1\nuser = app\ndbname = b\n"
                               "password_file = secret.txt\n"
                               "[qa]\nhost = h\n");
    char *message = load_error(NULL, "production", PM_EINVAL);
    assert_non_null(strstr(message, "poblysh.conf:7 [production]: password_env names "
                                    "TEST_CONFIG_PW, which is not set"));
    free(message);
    setenv("TEST_CONFIG_PW", "p@ss:w/rd", 1);
    pm_config *cfg = load_ok(NULL, "production");
    assert_string_equal(pm_config_get(cfg, "database_url"),
                        "postgres://app%20user:p%40ss%3Aw%2Frd@db.internal:5433/billing");
    assert_non_null(strstr(pm_config_origin(cfg, "database_url"), "poblysh.conf:3 [production]"));
    pm_config_free(cfg);
    message = load_error(NULL, "staging", PM_EINVAL);
    assert_non_null(strstr(message, "poblysh.conf:13 [staging]: password_file: cannot read "
                                    "secret.txt"));
    free(message);
    write_text("secret.txt", "from-file\n");
    cfg = load_ok(NULL, "staging");
    assert_string_equal(pm_config_get(cfg, "database_url"), "mysql://app:from-file@[::1]/b");
    pm_config_free(cfg);
    message = load_error(NULL, "qa", PM_EINVAL);
    assert_non_null(strstr(message, "needs scheme ="));
    free(message);
    /* the environment's URL wins: the parts' password is not needed then */
    unsetenv("TEST_CONFIG_PW");
    setenv(PM_ENV_DATABASE_URL_COMMON, "sqlite://env.db", 1);
    cfg = load_ok(NULL, "production");
    assert_string_equal(pm_config_get(cfg, "database_url"), "sqlite://env.db");
    pm_config_free(cfg);
}

static void test_config__set_checks_values_and_keys(void **state)
{
    (void)state;
    pm_config *cfg = load_ok(NULL, "local");
    pm_error err = PM_ERROR_INIT;
    assert_int_equal(pm_config_set(cfg, "lock_timeout", "5", "--lock-timeout", &err), 0);
    assert_string_equal(pm_config_origin(cfg, "lock_timeout"), "--lock-timeout");
    assert_false(pm_config_is_default(cfg, "lock_timeout"));
    assert_int_equal(pm_config_set(cfg, "wait", "-1", "--wait", &err), PM_EINVAL);
    assert_non_null(strstr(err.message, "--wait: wait must be a whole number"));
    pm_error_clear(&err);
    assert_int_equal(pm_config_set(cfg, "colour", "1", "x", &err), PM_EINVAL);
    assert_non_null(strstr(err.message, "unknown setting \"colour\""));
    pm_error_clear(&err);
    /* every key pm_config_keys() lists is one pm_config_set() knows */
    size_t n = 0;
    for (const char *const *key = pm_config_keys(); *key; key++, n++) {
        pm_config_set(cfg, *key, "1", "x", &err);
        assert_true(!err.message || !strstr(err.message, "unknown setting"));
        pm_error_clear(&err);
    }
    assert_int_equal(n, 21);
    pm_config_free(cfg);
    pm_config_free(NULL);
}

static void test_config__migrations_dir_from_environment_before_file(void **state)
{
    (void)state;
    write_text("poblysh.conf", "[local]\nmigrations_dir = db/migrations\n");
    pm_config *cfg = load_ok(NULL, "local");
    assert_string_equal(pm_config_get(cfg, "migrations_dir"), "db/migrations");
    pm_config_free(cfg);
    setenv("POBLYSH_MIGRATIONS_DIR", "sql", 1);
    cfg = load_ok(NULL, "local");
    assert_string_equal(pm_config_get(cfg, "migrations_dir"), "sql");
    assert_string_equal(pm_config_origin(cfg, "migrations_dir"),
                        "environment POBLYSH_MIGRATIONS_DIR");
    pm_config_free(cfg);
}

/* ==== The .env reader ==== */

typedef struct seen {
    char text[1024];
} seen;

static int collect(void *ctx, const char *key, const char *value, int line)
{
    seen *s = ctx;
    size_t len = strlen(s->text);
    snprintf(s->text + len, sizeof(s->text) - len, "%d:%s=[%s]\n", line, key, value);
    return 0;
}

static void test_config__dotenv_subset(void **state)
{
    (void)state;
    static const char text[] = "# comment\n"
                               "\n"
                               "A=plain value   # trailing comment\n"
                               "export B = 'single # not a comment \\n'\n"
                               "C=\"double \\\"quoted\\\" \\\\ \\n end\" # c\r\n"
                               "  D=\n"
                               "E=a#b\n"
                               "F=x=y";
    seen s = {""};
    pm_error err = PM_ERROR_INIT;
    assert_int_equal(pm__dotenv_parse(text, sizeof(text) - 1, ".env", collect, &s, &err), 0);
    assert_string_equal(s.text, "3:A=[plain value]\n"
                                "4:B=[single # not a comment \\n]\n"
                                "5:C=[double \"quoted\" \\ \n end]\n"
                                "6:D=[]\n"
                                "7:E=[a#b]\n"
                                "8:F=[x=y]\n");
}

static void test_config__dotenv_errors_name_file_and_line(void **state)
{
    (void)state;
    static const struct {
        const char *text, *expected;
    } cases[] = {
        {"A=1\n1B=2\n", "f.env:2: expected KEY=VALUE"},
        {"A=1\nB\n", "f.env:2: expected '=' after the key"},
        {"A='x\n", "f.env:1: no closing '"},
        {"\nA=\"x\n", "f.env:2: no closing \""},
        {"A='x' y\n", "f.env:1: unexpected text after the closing quote"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        seen s = {""};
        pm_error err = PM_ERROR_INIT;
        assert_int_equal(
            pm__dotenv_parse(cases[i].text, strlen(cases[i].text), "f.env", collect, &s, &err),
            PM_EINVAL);
        if (!strstr(err.message, cases[i].expected))
            fail_msg("case %zu: \"%s\" lacks \"%s\"", i, err.message, cases[i].expected);
        pm_error_clear(&err);
    }
    seen s = {""};
    pm_error err = PM_ERROR_INIT;
    assert_int_equal(pm__dotenv_parse("A=1\0B=2", 7, "f.env", collect, &s, &err), PM_EINVAL);
    assert_non_null(strstr(err.message, "f.env:1: a NUL byte"));
    pm_error_clear(&err);
}

#define CONFIG_TEST(t) cmocka_unit_test_setup_teardown(t, enter_fresh_dir, leave_dir)

int main(void)
{
    if (!getcwd(start_dir, sizeof(start_dir)))
        return 2;
    const struct CMUnitTest tests[] = {
        CONFIG_TEST(test_config__profile_section_wins_over_default_section),
        CONFIG_TEST(test_config__profile_from_environment_and_defaults_without_file),
        CONFIG_TEST(test_config__named_file_must_exist),
        CONFIG_TEST(test_config__unknown_key_names_file_line_and_key),
        CONFIG_TEST(test_config__bad_values_name_file_line_and_key),
        CONFIG_TEST(test_config__resolution_order_environment_env_file_file_default),
        CONFIG_TEST(test_config__env_file_can_be_named_or_skipped),
        CONFIG_TEST(test_config__url_from_parts_with_password_from_environment_or_file),
        CONFIG_TEST(test_config__set_checks_values_and_keys),
        CONFIG_TEST(test_config__migrations_dir_from_environment_before_file),
        CONFIG_TEST(test_config__dotenv_subset),
        CONFIG_TEST(test_config__dotenv_errors_name_file_and_line),
    };
    return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
