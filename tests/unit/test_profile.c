/* test_profile.c: profiles, the URL they imply, and pm_startup(): local and
 * test migrate automatically, other profiles only check. pm_startup_with():
 * options instead of the environment, its log and progress callbacks, the
 * lock timeout, the service's command in advice, and a sqlite3 * the test
 * opened itself, adopted (pm_db_adopt_sqlite()) and still usable after. */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "poblysh/sys/driver.h"
#include "testutil.h"

extern const pm_driver pm_driver_sqlite;

static const pm_migration m1 = PM_TEST_MIGRATION("m2024_01_01_000001_one", "t_one");
static const pm_migration m2 = PM_TEST_MIGRATION("m2024_01_02_000001_two", "t_two");
static const pm_migration *const set[] = {&m1, &m2};

static int clean_env(void **state)
{
    (void)state;
    unsetenv(PM_ENV_PROFILE);
    unsetenv(PM_ENV_DATABASE_URL);
    return 0;
}

static void test_profile__defaults_to_local(void **state)
{
    (void)state;
    assert_string_equal(pm_profile_current(), "local");
    setenv(PM_ENV_PROFILE, "", 1);
    assert_string_equal(pm_profile_current(), "local");
    setenv(PM_ENV_PROFILE, "production", 1);
    assert_string_equal(pm_profile_current(), "production");
}

static void test_profile__only_local_and_test_migrate_automatically(void **state)
{
    (void)state;
    assert_true(pm_profile_auto_migrates("local"));
    assert_true(pm_profile_auto_migrates("test"));
    assert_false(pm_profile_auto_migrates("production"));
    assert_false(pm_profile_auto_migrates("staging"));
    assert_false(pm_profile_auto_migrates(NULL));
}

static void test_profile__url_precedence_flag_then_env_then_default(void **state)
{
    (void)state;
    char *url = NULL;
    pm_error err = PM_ERROR_INIT;
    pm_test_ok(pm_profile_database_url(&url, "local", NULL, &err), &err);
    assert_string_equal(url, "sqlite://poblysh.db");
    free(url);
    pm_test_ok(pm_profile_database_url(&url, "test", NULL, &err), &err);
    assert_string_equal(url, "sqlite::memory:");
    free(url);
    setenv(PM_ENV_DATABASE_URL, "sqlite:from-env.db", 1);
    pm_test_ok(pm_profile_database_url(&url, "test", NULL, &err), &err);
    assert_string_equal(url, "sqlite:from-env.db");
    free(url);
    pm_test_ok(pm_profile_database_url(&url, "test", "sqlite:from-flag.db", &err), &err);
    assert_string_equal(url, "sqlite:from-flag.db");
    free(url);
}

static void test_profile__other_profile_without_url_is_an_error(void **state)
{
    (void)state;
    char *url = (char *)"untouched";
    pm_error err = PM_ERROR_INIT;
    assert_int_equal(pm_profile_database_url(&url, "production", NULL, &err), PM_EPROFILE);
    assert_null(url);
    assert_non_null(strstr(err.message, "production"));
    assert_non_null(strstr(err.message, "POBLYSH_DATABASE_URL"));
    assert_null(strstr(err.message, "--database-url")); /* a CLI flag: the CLI adds it */
    pm_error_clear(&err);
}

static void test_profile__startup_on_test_profile_migrates_memory_database(void **state)
{
    (void)state;
    setenv(PM_ENV_PROFILE, "test", 1);
    pm_db *db = NULL;
    pm_error err = PM_ERROR_INIT;
    pm_test_ok(pm_startup(&db, set, 2, 0, &err), &err);
    /* The service keeps the connection: the in-memory schema is there. */
    assert_true(pm_test_has_table(db, "t_one"));
    assert_true(pm_test_has_table(db, "t_two"));
    assert_int_equal(pm_test_history_count(db), 2);
    assert_string_equal(pm_db_url(db), "sqlite::memory:");
    assert_non_null(pm_db_native_handle(db));
    pm_db_close(db);
}

static void test_profile__startup_on_production_applies_nothing_and_lists_pending(void **state)
{
    (void)state;
    char path[] = "/tmp/pm-profile-XXXXXX";
    assert_non_null(mkdtemp(path));
    char url[128];
    snprintf(url, sizeof(url), "sqlite://%s/prod.db", path);
    setenv(PM_ENV_PROFILE, "production", 1);
    setenv(PM_ENV_DATABASE_URL, url, 1);

    pm_db *db = (pm_db *)&url; /* must be reset to NULL on failure */
    pm_error err = PM_ERROR_INIT;
    assert_int_equal(pm_startup(&db, set, 2, 0, &err), PM_EPENDING);
    assert_null(db);
    assert_non_null(strstr(err.message, "m2024_01_01_000001_one"));
    assert_non_null(strstr(err.message, "m2024_01_02_000001_two"));
    /* Without a command of the service's, the advice names this program's
     * own migrate command (the binary that has the set), not poblysh's. */
    assert_non_null(strstr(err.message, "run `test_profile migrate status`, then "
                                        "`test_profile migrate up`"));
    assert_null(strstr(err.message, "poblysh migrate"));
    pm_error_clear(&err);

    /* Accepting pending migrations starts, still without migrating. */
    pm_test_ok(pm_startup(&db, set, 2, PM_STARTUP_ALLOW_PENDING, &err), &err);
    assert_false(pm_test_has_table(db, "t_one"));
    assert_int_equal(pm_test_history_count(db), 0);
    pm_db_close(db);

    /* Once migrated by hand, production starts cleanly. */
    setenv(PM_ENV_PROFILE, "local", 1);
    pm_test_ok(pm_startup(&db, set, 2, 0, &err), &err);
    pm_db_close(db);
    setenv(PM_ENV_PROFILE, "production", 1);
    pm_test_ok(pm_startup(&db, set, 2, 0, &err), &err);
    assert_int_equal(pm_test_history_count(db), 2);
    pm_db_close(db);

    char file[160];
    snprintf(file, sizeof(file), "%s/prod.db", path);
    unlink(file);
    rmdir(path);
}

/* ==== Startup and the history's states ==== */

/* Migrations with checksums, as the compiled-in ones have. */
static const pm_migration c1 = {"m2024_01_01_000001_one", pm_test_up_create, pm_test_down_drop,
                                PM_MIGRATION_DEFAULT,     "sha256:one-v1",   "t_one"};
static const pm_migration c2 = {"m2024_01_02_000001_two", pm_test_up_create, pm_test_down_drop,
                                PM_MIGRATION_DEFAULT,     "sha256:two-v1",   "t_two"};
static const pm_migration *const checked_set[] = {&c1, &c2};

/* A file database in a directory of its own, named by
 * POBLYSH_DATABASE_URL; remove_temp_db() deletes both. */
typedef struct temp_db {
    char dir[32];
    char file[96];
    char url[128];
} temp_db;

static void make_temp_db(temp_db *t)
{
    snprintf(t->dir, sizeof(t->dir), "/tmp/pm-profile-XXXXXX");
    assert_non_null(mkdtemp(t->dir));
    snprintf(t->file, sizeof(t->file), "%s/startup.db", t->dir);
    snprintf(t->url, sizeof(t->url), "sqlite://%s", t->file);
    setenv(PM_ENV_DATABASE_URL, t->url, 1);
}

static void remove_temp_db(temp_db *t)
{
    unlink(t->file);
    rmdir(t->dir);
}

/* Applies set[0..n) under the local profile, leaving the profile local. */
static void migrate_locally(const pm_migration *const *migrations, size_t n)
{
    setenv(PM_ENV_PROFILE, "local", 1);
    pm_db *db = NULL;
    pm_error err = PM_ERROR_INIT;
    pm_test_ok(pm_startup(&db, migrations, n, 0, &err), &err);
    assert_int_equal(pm_test_history_count(db), (int64_t)n);
    pm_db_close(db);
}

static void exec_on(const char *url, const char *sql)
{
    pm_db *db = pm_test_open(url);
    pm_test_exec(db, sql);
    pm_db_close(db);
}

/* Expects pm_startup() under the current profile to fail with code; returns
 * the message (malloc'd). */
static char *startup_fails(const pm_migration *const *migrations, size_t n, unsigned int flags,
                           int code)
{
    pm_db *db = (pm_db *)&db; /* must be reset to NULL on failure */
    pm_error err = PM_ERROR_INIT;
    int rc = pm_startup(&db, migrations, n, flags, &err);
    if (rc == 0)
        pm_db_close(db);
    if (rc != code)
        fail_msg("pm_startup returned %d (%s), expected %d (%s): %s", rc, pm_strerror(rc), code,
                 pm_strerror(code), err.message ? err.message : "(no message)");
    assert_null(db);
    assert_int_equal(err.code, code);
    assert_non_null(err.message);
    char *message = strdup(err.message);
    assert_non_null(message);
    pm_error_clear(&err);
    return message;
}

static void assert_has(const char *text, const char *needle)
{
    if (!strstr(text, needle))
        fail_msg("\"%s\" is not in: %s", needle, text);
}

static void assert_hasnt(const char *text, const char *needle)
{
    if (strstr(text, needle))
        fail_msg("\"%s\" must not be in: %s", needle, text);
}

static void test_profile__startup_on_production_reports_modified_even_allowing_pending(void **state)
{
    (void)state;
    temp_db t;
    make_temp_db(&t);
    migrate_locally(checked_set, 2);
    exec_on(t.url, "UPDATE seaql_migrations SET checksum = 'sha256:one-v0' "
                   "WHERE version = 'm2024_01_01_000001_one'");

    setenv(PM_ENV_PROFILE, "production", 1);
    static const unsigned int flags[] = {0, PM_STARTUP_ALLOW_PENDING};
    for (size_t i = 0; i < 2; i++) {
        char *message = startup_fails(checked_set, 2, flags[i], PM_EPENDING);
        assert_has(message, "m2024_01_01_000001_one (modified)");
        assert_has(message, "\"production\"");
        assert_hasnt(message, "m2024_01_02_000001_two");
        free(message);
    }

    /* Production changed nothing: the stored checksum is still the old one. */
    pm_db *db = pm_test_open(t.url);
    char *sum = pm_test_text(db, "SELECT checksum FROM seaql_migrations "
                                 "WHERE version = 'm2024_01_01_000001_one'");
    assert_string_equal(sum, "sha256:one-v0");
    free(sum);
    pm_db_close(db);
    remove_temp_db(&t);
}

/* A modified migration and a pending one: both listed; allowing pending
 * leaves only the modified one. */
static void test_profile__startup_on_production_lists_each_problem_with_its_state(void **state)
{
    (void)state;
    temp_db t;
    make_temp_db(&t);
    migrate_locally(checked_set, 1);
    exec_on(t.url, "UPDATE seaql_migrations SET checksum = 'sha256:one-v0'");

    setenv(PM_ENV_PROFILE, "staging", 1);
    char *message = startup_fails(checked_set, 2, 0, PM_EPENDING);
    assert_has(message, "m2024_01_01_000001_one (modified)");
    assert_has(message, "m2024_01_02_000001_two (pending)");
    free(message);
    message = startup_fails(checked_set, 2, PM_STARTUP_ALLOW_PENDING, PM_EPENDING);
    assert_has(message, "m2024_01_01_000001_one (modified)");
    assert_hasnt(message, "m2024_01_02_000001_two");
    free(message);

    /* Missing, failed and out-of-order are never tolerated either. */
    exec_on(t.url, "UPDATE seaql_migrations SET checksum = 'sha256:one-v1', state = 'failed', "
                   "error_message = 'boom'");
    exec_on(t.url, "INSERT INTO seaql_migrations (version, applied_at) "
                   "VALUES ('m2024_01_03_000001_three', 1700000000)");
    message = startup_fails(checked_set, 2, PM_STARTUP_ALLOW_PENDING, PM_EPENDING);
    assert_has(message, "m2024_01_01_000001_one (failed)");
    assert_has(message, "m2024_01_02_000001_two (out-of-order)");
    assert_has(message, "m2024_01_03_000001_three (missing)");
    free(message);

    pm_db *db = pm_test_open(t.url);
    assert_false(pm_test_has_table(db, "t_two")); /* never migrates */
    assert_int_equal(pm_test_history_count(db), 2);
    pm_db_close(db);
    remove_temp_db(&t);
}

static void test_profile__startup_on_production_with_only_pending_starts_when_allowed(void **state)
{
    (void)state;
    temp_db t;
    make_temp_db(&t);
    migrate_locally(checked_set, 1);

    setenv(PM_ENV_PROFILE, "production", 1);
    char *message = startup_fails(checked_set, 2, 0, PM_EPENDING);
    assert_has(message, "m2024_01_02_000001_two (pending)");
    assert_hasnt(message, "m2024_01_01_000001_one");
    free(message);

    pm_db *db = NULL;
    pm_error err = PM_ERROR_INIT;
    pm_test_ok(pm_startup(&db, checked_set, 2, PM_STARTUP_ALLOW_PENDING, &err), &err);
    assert_non_null(db);
    assert_true(pm_test_has_table(db, "t_one"));
    assert_false(pm_test_has_table(db, "t_two")); /* never migrates */
    assert_int_equal(pm_test_history_count(db), 1);
    pm_db_close(db);
    remove_temp_db(&t);
}

static void test_profile__startup_on_local_refuses_modified_and_applies_nothing(void **state)
{
    (void)state;
    temp_db t;
    make_temp_db(&t);
    migrate_locally(checked_set, 1);
    exec_on(t.url, "UPDATE seaql_migrations SET checksum = 'sha256:one-v0'");

    setenv(PM_ENV_PROFILE, "local", 1);
    char *message = startup_fails(checked_set, 2, 0, PM_ECHECKSUM);
    assert_has(message, "m2024_01_01_000001_one");
    assert_has(message, "sha256:one-v0");
    assert_has(message, "sha256:one-v1");
    free(message);
    /* ALLOW_PENDING is about profiles that do not migrate: no excuse here. */
    message = startup_fails(checked_set, 2, PM_STARTUP_ALLOW_PENDING, PM_ECHECKSUM);
    free(message);

    pm_db *db = pm_test_open(t.url);
    assert_false(pm_test_has_table(db, "t_two"));
    assert_int_equal(pm_test_history_count(db), 1);
    char *sum = pm_test_text(db, "SELECT checksum FROM seaql_migrations");
    assert_string_equal(sum, "sha256:one-v0");
    free(sum);
    pm_db_close(db);
    remove_temp_db(&t);
}

/* A history table as the previous release wrote it: SeaORM's columns plus
 * checksum and execution_ms, none of the later ones. Production reads it
 * without upgrading it (status takes no lock and writes nothing), and must
 * still see that a migration was modified. */
static void
test_profile__startup_on_production_checks_checksums_of_a_previous_release_table(void **state)
{
    (void)state;
    temp_db t;
    make_temp_db(&t);
    exec_on(t.url, "CREATE TABLE seaql_migrations (version VARCHAR PRIMARY KEY NOT NULL, "
                   "applied_at BIGINT NOT NULL, checksum VARCHAR NULL, execution_ms BIGINT NULL)");
    exec_on(t.url, "INSERT INTO seaql_migrations VALUES "
                   "('m2024_01_01_000001_one', 1700000000, 'sha256:one-v0', 5), "
                   "('m2024_01_02_000001_two', 1700000001, 'sha256:two-v1', 7)");

    setenv(PM_ENV_PROFILE, "production", 1);
    char *message = startup_fails(checked_set, 2, PM_STARTUP_ALLOW_PENDING, PM_EPENDING);
    assert_has(message, "m2024_01_01_000001_one (modified)");
    assert_hasnt(message, "m2024_01_02_000001_two");
    free(message);

    /* Local refuses it too, as up does. */
    setenv(PM_ENV_PROFILE, "local", 1);
    free(startup_fails(checked_set, 2, 0, PM_ECHECKSUM));
    remove_temp_db(&t);
}

/* ==== pm_startup_with(): options ==== */

static void test_profile__startup_options_url_and_profile_override_the_environment(void **state)
{
    (void)state;
    temp_db t;
    make_temp_db(&t);
    /* The environment names a profile that never migrates and a database
     * that cannot be opened: neither may be used. */
    setenv(PM_ENV_PROFILE, "production", 1);
    setenv(PM_ENV_DATABASE_URL, "sqlite:///nonexistent-dir-pm/x.db?mode=rw", 1);
    pm_startup_options opts = PM_STARTUP_OPTIONS_INIT;
    opts.profile = "test";
    opts.database_url = t.url;
    pm_db *db = NULL;
    pm_error err = PM_ERROR_INIT;
    pm_test_ok(pm_startup_with(&db, set, 2, &opts, &err), &err);
    assert_string_equal(pm_db_url(db), t.url);
    assert_true(pm_test_has_table(db, "t_two"));
    pm_db_close(db);
    db = pm_test_open(t.url); /* the file named by the options was migrated */
    assert_int_equal(pm_test_history_count(db), 2);
    pm_db_close(db);
    remove_temp_db(&t);
}

static void expect_version_refused(unsigned int version, const char *needle)
{
    pm_startup_options opts = PM_STARTUP_OPTIONS_INIT;
    opts.version = version;
    opts.profile = "test";
    opts.database_url = "sqlite::memory:";
    pm_db *db = (pm_db *)&db; /* must be reset to NULL */
    pm_error err = PM_ERROR_INIT;
    assert_int_equal(pm_startup_with(&db, set, 2, &opts, &err), PM_EINVAL);
    assert_null(db);
    assert_has(err.message, needle);
    assert_has(err.message, "pm_startup_options");
    pm_error_clear(&err);
}

static void test_profile__startup_options_of_version_0_or_a_newer_one_are_refused(void **state)
{
    (void)state;
    expect_version_refused(0, "version 0 is unknown");
    char newer[32];
    snprintf(newer, sizeof(newer), "version %d is unknown", PM_STARTUP_OPTIONS_VERSION + 1);
    expect_version_refused(PM_STARTUP_OPTIONS_VERSION + 1, newer);
}

static void test_profile__startup_options_refuse_a_url_and_a_db_together(void **state)
{
    (void)state;
    pm_db *open_db = pm_test_open("sqlite::memory:");
    pm_startup_options opts = PM_STARTUP_OPTIONS_INIT;
    opts.profile = "test";
    opts.db = open_db;
    opts.database_url = "sqlite::memory:";
    pm_error err = PM_ERROR_INIT;
    assert_int_equal(pm_startup_with(NULL, set, 2, &opts, &err), PM_EINVAL);
    assert_has(err.message, "database_url and db are both set");
    pm_error_clear(&err);
    opts.database_url = NULL;
    opts.flags = 1u << 7;
    assert_int_equal(pm_startup_with(NULL, set, 2, &opts, &err), PM_EINVAL);
    assert_has(err.message, "unknown flags 0x80");
    pm_error_clear(&err);
    assert_false(pm_test_has_table(open_db, "t_one")); /* refused before doing anything */
    pm_db_close(open_db);
}

/* ---- The log ---- */

typedef struct log_lines {
    char text[16][256];
    pm_log_level level[16];
    size_t n;
} log_lines;

static void collect_line(pm_log_level level, const char *line, void *ctx)
{
    log_lines *log = ctx;
    assert_null(strchr(line, '\n'));
    if (log->n < PM_ARRAY_LEN(log->text)) {
        snprintf(log->text[log->n], sizeof(log->text[0]), "%s", line);
        log->level[log->n++] = level;
    }
}

/* The first line holding needle, or fails showing every line. */
static size_t line_with(const log_lines *log, const char *needle)
{
    for (size_t i = 0; i < log->n; i++)
        if (strstr(log->text[i], needle))
            return i;
    for (size_t i = 0; i < log->n; i++)
        print_message("log line %zu: %s\n", i, log->text[i]);
    fail_msg("no log line holds \"%s\"", needle);
    return 0;
}

/* A driver for URLs that carry secrets: the SQLite driver, opening an
 * in-memory database whatever the URL says (SQLite URLs take no password). */
static int open_memory(pm_conn **out, const pm_url *url, const pm_connect_options *opts,
                       pm_error *err)
{
    (void)url;
    pm_url *memory = NULL;
    int rc = pm_url_parse(&memory, "sqlite::memory:", err);
    if (rc == 0)
        rc = pm_driver_sqlite.open(out, memory, opts, err);
    pm_url_free(memory);
    return rc;
}

static const char *const secret_schemes[] = {"secret-test", NULL};

/* A driver that waits: it reports three failed attempts, each naming the
 * password as a careless client library might, then gives up. */
static int open_never(pm_conn **out, const pm_url *url, const pm_connect_options *opts,
                      pm_error *err)
{
    (void)out;
    (void)url;
    for (int attempt = 1; attempt <= 3 && opts->wait_seconds > 0; attempt++)
        opts->waiting(opts->waiting_ctx, attempt, 0.5 * (attempt - 1),
                      "connection refused (user app, password hunter2pw)");
    return pm_error_set(err, PM_ECONNECT, "gave up");
}

static const char *const waiting_schemes[] = {"waiting-test", NULL};

static void test_profile__startup_logs_each_wait_attempt_without_the_password(void **state)
{
    (void)state;
    pm_driver waiting = pm_driver_sqlite;
    waiting.name = "waiting-test";
    waiting.schemes = waiting_schemes;
    waiting.open = open_never;
    pm_error err = PM_ERROR_INIT;
    pm_test_ok(pm_driver_register(&waiting, &err), &err);

    log_lines log = {.n = 0};
    pm_startup_options opts = PM_STARTUP_OPTIONS_INIT;
    opts.profile = "production";
    opts.database_url = "waiting-test://app:hunter2pw@db.internal/app";
    opts.wait_seconds = 30;
    opts.log = collect_line;
    opts.log_ctx = &log;
    pm_db *db = NULL;
    assert_int_equal(pm_startup_with(&db, set, 2, &opts, &err), PM_ECONNECT);
    pm_error_clear(&err);
    pm_driver_unregister(&waiting);
    assert_null(db);

    size_t first = line_with(&log, "waiting for the database (attempt 1, 0.0 s of 30 s): "
                                   "connection refused (user app, password ***)");
    assert_int_equal(log.level[first], PM_LOG_INFO);
    line_with(&log, "waiting for the database (attempt 2, 0.5 s of 30 s)");
    line_with(&log, "waiting for the database (attempt 3, 1.0 s of 30 s)");
    for (size_t i = 0; i < log.n; i++)
        assert_hasnt(log.text[i], "hunter2pw");
}

static void test_profile__startup_log_has_a_line_per_step_and_no_password(void **state)
{
    (void)state;
    pm_driver secret = pm_driver_sqlite;
    secret.name = "secret-test";
    secret.schemes = secret_schemes;
    secret.open = open_memory;
    pm_error err = PM_ERROR_INIT;
    pm_test_ok(pm_driver_register(&secret, &err), &err);

    log_lines log = {.n = 0};
    pm_startup_options opts = PM_STARTUP_OPTIONS_INIT;
    opts.profile = "test";
    opts.database_url = "secret-test://app:hunter2pw@db.internal/app?sslpassword=tlskeypw";
    opts.log = collect_line;
    opts.log_ctx = &log;
    pm_db *db = NULL;
    pm_test_ok(pm_startup_with(&db, set, 2, &opts, &err), &err);
    pm_db_close(db);
    pm_driver_unregister(&secret);

    assert_int_equal(log.level[line_with(&log, "profile test")], PM_LOG_INFO);
    size_t url = line_with(&log, "database secret-test://app:***@db.internal/app");
    assert_has(log.text[url], "sslpassword=***");
    line_with(&log, "driver secret-test, backend sqlite");
    line_with(&log, "applied 2 migrations");
    for (size_t i = 0; i < log.n; i++) {
        assert_hasnt(log.text[i], "hunter2pw");
        assert_hasnt(log.text[i], "tlskeypw");
    }
}

static void test_profile__startup_log_warns_when_starting_with_pending_migrations(void **state)
{
    (void)state;
    temp_db t;
    make_temp_db(&t);
    migrate_locally(set, 1);
    log_lines log = {.n = 0};
    pm_startup_options opts = PM_STARTUP_OPTIONS_INIT;
    opts.profile = "production";
    opts.flags = PM_STARTUP_ALLOW_PENDING;
    opts.command = "myservice migrate";
    opts.log = collect_line;
    opts.log_ctx = &log;
    pm_db *db = NULL;
    pm_error err = PM_ERROR_INIT;
    pm_test_ok(pm_startup_with(&db, set, 2, &opts, &err), &err);
    pm_db_close(db);
    line_with(&log, "profile production: checks that every migration is applied");
    line_with(&log, "1 of 2 migrations applied, 1 pending");
    size_t warning =
        line_with(&log, "starting with 1 pending migration: run `myservice migrate up`");
    assert_int_equal(log.level[warning], PM_LOG_WARNING);
    remove_temp_db(&t);
}

/* ---- Progress, the lock timeout, the command ---- */

typedef struct events {
    pm_event_kind kind[8];
    char migration[8][64];
    size_t n;
} events;

static void collect_event(const pm_event *event, void *ctx)
{
    events *ev = ctx;
    if (ev->n < PM_ARRAY_LEN(ev->kind)) {
        ev->kind[ev->n] = event->kind;
        snprintf(ev->migration[ev->n++], sizeof(ev->migration[0]), "%s", event->migration);
    }
}

static void test_profile__startup_progress_sees_each_applied_migration(void **state)
{
    (void)state;
    events ev = {.n = 0};
    pm_startup_options opts = PM_STARTUP_OPTIONS_INIT;
    opts.profile = "test";
    opts.progress = collect_event;
    opts.progress_ctx = &ev;
    pm_db *db = NULL;
    pm_error err = PM_ERROR_INIT;
    pm_test_ok(pm_startup_with(&db, set, 2, &opts, &err), &err);
    pm_db_close(db);
    assert_int_equal(ev.n, 4);
    static const pm_event_kind kinds[] = {PM_EVENT_APPLYING, PM_EVENT_APPLIED, PM_EVENT_APPLYING,
                                          PM_EVENT_APPLIED};
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(ev.kind[i], kinds[i]);
        assert_string_equal(ev.migration[i], set[i / 2]->name);
    }
}

static double seconds_since(const struct timespec *start)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - start->tv_sec) + (double)(now.tv_nsec - start->tv_nsec) / 1e9;
}

/* On SQLite the migration lock is BEGIN IMMEDIATE: another pm_db holding a
 * write transaction on the file holds it. The engine's default would wait
 * 60 s; the option's 1 s must be what is waited. */
static void test_profile__startup_lock_timeout_option_bounds_the_wait_for_the_lock(void **state)
{
    (void)state;
    temp_db t;
    make_temp_db(&t);
    pm_db *holder = pm_test_open(t.url);
    pm_test_exec(holder, "BEGIN IMMEDIATE");
    pm_startup_options opts = PM_STARTUP_OPTIONS_INIT;
    opts.profile = "local";
    opts.database_url = t.url;
    opts.lock_timeout_seconds = 1;
    pm_db *db = (pm_db *)&db;
    pm_error err = PM_ERROR_INIT;
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    int rc = pm_startup_with(&db, set, 2, &opts, &err);
    double waited = seconds_since(&start);
    if (rc != PM_ELOCKED)
        fail_msg("expected PM_ELOCKED, got %d: %s", rc, err.message ? err.message : "(none)");
    assert_null(db);
    if (waited < 0.9 || waited > 10)
        fail_msg("waited %.2f s for the lock; lock_timeout_seconds = 1 asked for about 1 s",
                 waited);
    assert_has(err.message, "1000 ms");
    pm_error_clear(&err);
    pm_test_exec(holder, "ROLLBACK");
    pm_db_close(holder);
    remove_temp_db(&t);
}

static void test_profile__startup_refusal_advises_the_services_own_command(void **state)
{
    (void)state;
    temp_db t;
    make_temp_db(&t);
    pm_startup_options opts = PM_STARTUP_OPTIONS_INIT;
    opts.profile = "production";
    opts.command = "myservice migrate";
    pm_db *db = (pm_db *)&db;
    pm_error err = PM_ERROR_INIT;
    assert_int_equal(pm_startup_with(&db, set, 2, &opts, &err), PM_EPENDING);
    assert_null(db);
    assert_has(err.message, "run `myservice migrate status`, then `myservice migrate up`");
    assert_hasnt(err.message, "poblysh");
    pm_error_clear(&err);
    remove_temp_db(&t);
}

/* ---- A sqlite3 * the service opened ---- */

static int64_t native_int(sqlite3 *h, const char *sql)
{
    sqlite3_stmt *stmt = NULL;
    if (sqlite3_prepare_v2(h, sql, -1, &stmt, NULL) != SQLITE_OK)
        fail_msg("%s: %s", sql, sqlite3_errmsg(h));
    if (sqlite3_step(stmt) != SQLITE_ROW)
        fail_msg("%s returned no row: %s", sql, sqlite3_errmsg(h));
    int64_t value = sqlite3_column_int64(stmt, 0);
    sqlite3_finalize(stmt);
    return value;
}

static void native_exec(sqlite3 *h, const char *sql)
{
    char *message = NULL;
    if (sqlite3_exec(h, sql, NULL, NULL, &message) != SQLITE_OK)
        fail_msg("%s: %s", sql, message ? message : "?");
}

static void test_profile__adopted_sqlite_handle_is_migrated_and_usable_after_close(void **state)
{
    (void)state;
    sqlite3 *h = NULL;
    assert_int_equal(
        sqlite3_open_v2(":memory:", &h, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL),
        SQLITE_OK);
    sqlite3_busy_timeout(h, 1234);
    assert_int_equal(native_int(h, "PRAGMA foreign_keys"), 0);

    pm_db *db = NULL;
    pm_error err = PM_ERROR_INIT;
    pm_test_ok(pm_db_adopt_sqlite(&db, h, &err), &err);
    assert_ptr_equal(pm_db_native_handle(db), h);
    assert_string_equal(pm_db_url(db), "sqlite::memory:");
    pm_startup_options opts = PM_STARTUP_OPTIONS_INIT;
    opts.profile = "test";
    opts.db = db;
    pm_test_ok(pm_startup_with(NULL, set, 2, &opts, &err), &err);
    assert_true(pm_test_has_table(db, "t_two"));
    pm_db_close(db);

    /* The handle is open, holds the migrated database, and is as it was. */
    assert_int_equal(native_int(h, "SELECT count(*) FROM seaql_migrations"), 2);
    native_exec(h, "INSERT INTO t_one (name) VALUES ('after close')");
    assert_int_equal(native_int(h, "SELECT count(*) FROM t_one"), 1);
    assert_int_equal(native_int(h, "PRAGMA foreign_keys"), 0);
    assert_int_equal(native_int(h, "PRAGMA busy_timeout"), 1234);
    assert_int_equal(sqlite3_close(h), SQLITE_OK); /* nothing of poblysh's left on it */
}

static void test_profile__adopted_sqlite_file_is_checked_and_left_open_on_refusal(void **state)
{
    (void)state;
    temp_db t;
    make_temp_db(&t);
    sqlite3 *h = NULL;
    assert_int_equal(sqlite3_open_v2(t.file, &h, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL),
                     SQLITE_OK);
    pm_db *db = NULL;
    pm_error err = PM_ERROR_INIT;
    pm_test_ok(pm_db_adopt_sqlite(&db, h, &err), &err);
    assert_string_equal(pm_db_url(db), t.url);

    pm_startup_options opts = PM_STARTUP_OPTIONS_INIT;
    opts.profile = "production";
    opts.db = db;
    assert_int_equal(pm_startup_with(NULL, set, 2, &opts, &err), PM_EPENDING);
    pm_error_clear(&err);
    pm_test_exec(db, "CREATE TABLE db_still_open (id INTEGER)"); /* startup did not close it */
    pm_db_close(db);
    assert_int_equal(native_int(h, "SELECT count(*) FROM db_still_open"), 0);
    assert_int_equal(sqlite3_close(h), SQLITE_OK);
    remove_temp_db(&t);
}

static void test_profile__adopting_a_sqlite_handle_inside_a_transaction_is_refused(void **state)
{
    (void)state;
    sqlite3 *h = NULL;
    assert_int_equal(
        sqlite3_open_v2(":memory:", &h, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL),
        SQLITE_OK);
    native_exec(h, "BEGIN");
    pm_db *db = (pm_db *)&db;
    pm_error err = PM_ERROR_INIT;
    assert_int_equal(pm_db_adopt_sqlite(&db, h, &err), PM_EINVAL);
    assert_null(db);
    assert_has(err.message, "transaction open");
    pm_error_clear(&err);
    native_exec(h, "COMMIT");
    assert_int_equal(sqlite3_close(h), SQLITE_OK);
}

/* The failure comes after adopt() changed the handle's settings: they are
 * restored, and the handle is not closed (a double close would be caught by
 * the sanitizers, and sqlite3_close() below would not return SQLITE_OK). */
static void
test_profile__adopting_a_file_that_is_not_a_database_fails_and_leaves_it_open(void **state)
{
    (void)state;
    temp_db t;
    make_temp_db(&t);
    FILE *f = fopen(t.file, "w");
    assert_non_null(f);
    fputs("this is not an SQLite database, but it is long enough to have a header\n", f);
    fclose(f);
    sqlite3 *h = NULL;
    assert_int_equal(sqlite3_open_v2(t.file, &h, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
    sqlite3_busy_timeout(h, 777);
    pm_db *db = (pm_db *)&db;
    pm_error err = PM_ERROR_INIT;
    assert_int_equal(pm_db_adopt_sqlite(&db, h, &err), PM_EINVAL);
    assert_null(db);
    assert_has(err.message, "cannot use the adopted SQLite database");
    assert_has(err.db_code, "SQLITE_NOTADB");
    pm_error_clear(&err);
    assert_int_equal(native_int(h, "PRAGMA busy_timeout"), 777);
    assert_int_equal(sqlite3_close(h), SQLITE_OK);
    remove_temp_db(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_profile__defaults_to_local, clean_env),
        cmocka_unit_test_setup(test_profile__only_local_and_test_migrate_automatically, clean_env),
        cmocka_unit_test_setup(test_profile__url_precedence_flag_then_env_then_default, clean_env),
        cmocka_unit_test_setup(test_profile__other_profile_without_url_is_an_error, clean_env),
        cmocka_unit_test_setup(test_profile__startup_on_test_profile_migrates_memory_database,
                               clean_env),
        cmocka_unit_test_setup(
            test_profile__startup_on_production_applies_nothing_and_lists_pending, clean_env),
        cmocka_unit_test_setup(
            test_profile__startup_on_production_reports_modified_even_allowing_pending, clean_env),
        cmocka_unit_test_setup(
            test_profile__startup_on_production_lists_each_problem_with_its_state, clean_env),
        cmocka_unit_test_setup(
            test_profile__startup_on_production_with_only_pending_starts_when_allowed, clean_env),
        cmocka_unit_test_setup(test_profile__startup_on_local_refuses_modified_and_applies_nothing,
                               clean_env),
        cmocka_unit_test_setup(
            test_profile__startup_on_production_checks_checksums_of_a_previous_release_table,
            clean_env),
        cmocka_unit_test_setup(
            test_profile__startup_options_url_and_profile_override_the_environment, clean_env),
        cmocka_unit_test_setup(
            test_profile__startup_options_of_version_0_or_a_newer_one_are_refused, clean_env),
        cmocka_unit_test_setup(test_profile__startup_options_refuse_a_url_and_a_db_together,
                               clean_env),
        cmocka_unit_test_setup(test_profile__startup_log_has_a_line_per_step_and_no_password,
                               clean_env),
        cmocka_unit_test_setup(test_profile__startup_logs_each_wait_attempt_without_the_password,
                               clean_env),
        cmocka_unit_test_setup(
            test_profile__startup_log_warns_when_starting_with_pending_migrations, clean_env),
        cmocka_unit_test_setup(test_profile__startup_progress_sees_each_applied_migration,
                               clean_env),
        cmocka_unit_test_setup(
            test_profile__startup_lock_timeout_option_bounds_the_wait_for_the_lock, clean_env),
        cmocka_unit_test_setup(test_profile__startup_refusal_advises_the_services_own_command,
                               clean_env),
        cmocka_unit_test_setup(
            test_profile__adopted_sqlite_handle_is_migrated_and_usable_after_close, clean_env),
        cmocka_unit_test_setup(
            test_profile__adopted_sqlite_file_is_checked_and_left_open_on_refusal, clean_env),
        cmocka_unit_test_setup(
            test_profile__adopting_a_sqlite_handle_inside_a_transaction_is_refused, clean_env),
        cmocka_unit_test_setup(
            test_profile__adopting_a_file_that_is_not_a_database_fails_and_leaves_it_open,
            clean_env),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
