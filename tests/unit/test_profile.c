/* test_profile.c: profiles, the URL they imply, and pm_startup(): local and
 * test migrate automatically, other profiles only check. */
#include <stdlib.h>
#include <stdio.h>
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_profile__defaults_to_local, clean_env),
        cmocka_unit_test_setup(test_profile__only_local_and_test_migrate_automatically, clean_env),
        cmocka_unit_test_setup(test_profile__url_precedence_flag_then_env_then_default, clean_env),
        cmocka_unit_test_setup(test_profile__other_profile_without_url_is_an_error, clean_env),
        cmocka_unit_test_setup(test_profile__startup_on_test_profile_migrates_memory_database, clean_env),
        cmocka_unit_test_setup(test_profile__startup_on_production_applies_nothing_and_lists_pending, clean_env),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
