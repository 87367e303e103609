/* test_profile.c: profiles, the URL they imply, and pm_startup(): local and
 * test migrate automatically, other profiles only check. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"

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
    assert_non_null(strstr(err.message, "poblysh migrate up"));
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
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
