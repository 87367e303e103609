/* test_registry.c: drivers registered at run time (pm_driver_register()):
 * the version window, the members every driver needs, precedence over the
 * compiled-in drivers, the list of known schemes, adopting a program's
 * connection through a registered driver (pm_db_adopt()), and what a connection
 * and a URL can do (pm_db_capabilities(), pm_url_capabilities()). The
 * conformance suite runs whole against a registered driver
 * (tests/conformance, wrapped-sqlite:). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "poblysh/sys/driver.h"
#include "testutil.h"

extern const pm_driver pm_driver_sqlite;

static int opens;

static int counting_open(pm_conn **out, const pm_url *url, const pm_connect_options *opts,
                         pm_error *err)
{
    opens++;
    return pm_driver_sqlite.open(out, url, opts, err);
}

static const char *const own_schemes[] = {"registered-test", NULL};

/* The SQLite driver under its own name and scheme. */
static pm_driver wrapper(const char *const *schemes)
{
    pm_driver d = pm_driver_sqlite;
    d.name = "wrapper";
    d.schemes = schemes;
    d.open = counting_open;
    return d;
}

static void assert_refused(const pm_driver *d, const char *needle)
{
    pm_error err = PM_ERROR_INIT;
    assert_int_equal(pm_driver_register(d, &err), PM_ENODRIVER);
    assert_non_null(err.message);
    if (!strstr(err.message, needle))
        fail_msg("message \"%s\" does not say \"%s\"", err.message, needle);
    pm_error_clear(&err);
    assert_int_equal(pm_driver_unregister(d), PM_EINVAL); /* it was never added */
}

static void test_registry__unknown_driver_versions_are_refused_naming_the_driver(void **state)
{
    (void)state;
    char expected[96];
    pm_driver newer = wrapper(own_schemes);
    newer.version = PM_DRIVER_VERSION + 1;
    snprintf(expected, sizeof(expected), "driver wrapper has interface version %d",
             PM_DRIVER_VERSION + 1);
    assert_refused(&newer, expected);
    pm_driver older = wrapper(own_schemes);
    older.version = PM_DRIVER_VERSION_MIN - 1;
    snprintf(expected, sizeof(expected), "versions %d to %d", PM_DRIVER_VERSION_MIN,
             PM_DRIVER_VERSION);
    assert_refused(&older, expected);
    pm_driver zero = wrapper(own_schemes);
    zero.version = 0;
    assert_refused(&zero, "interface version 0");
}

static void test_registry__drivers_missing_a_required_member_are_refused(void **state)
{
    (void)state;
    pm_driver no_query = wrapper(own_schemes);
    no_query.query = NULL;
    assert_refused(&no_query, "has no query");
    static const char *const none[] = {NULL};
    pm_driver no_schemes = wrapper(none);
    assert_refused(&no_schemes, "has no schemes");
    pm_error err = PM_ERROR_INIT;
    assert_int_equal(pm_driver_register(NULL, &err), PM_EINVAL);
    pm_error_clear(&err);
}

static void test_registry__a_registered_driver_opens_its_scheme_until_unregistered(void **state)
{
    (void)state;
    pm_driver d = wrapper(own_schemes);
    pm_error err = PM_ERROR_INIT;
    pm_db *db = NULL;
    assert_int_equal(pm_db_open(&db, "registered-test::memory:", NULL, &err), PM_ENODRIVER);
    pm_error_clear(&err);
    pm_test_ok(pm_driver_register(&d, &err), &err);
    pm_test_ok(pm_driver_register(&d, &err), &err); /* twice is once */
    char *known = pm_db_known_schemes();
    assert_non_null(strstr(known, "registered-test:"));
    free(known);
    opens = 0;
    db = pm_test_open("registered-test::memory:");
    assert_int_equal(opens, 1);
    assert_string_equal(pm_db_driver_name(db), "wrapper");
    assert_string_equal(pm_db_backend_name(db), "sqlite");
    pm_test_exec(db, "CREATE TABLE t (id INTEGER)");
    assert_true(pm_test_has_table(db, "t"));
    pm_db_close(db);
    assert_int_equal(pm_driver_unregister(&d), 0);
    assert_int_equal(pm_driver_unregister(&d), PM_EINVAL);
    assert_int_equal(pm_db_open(&db, "registered-test::memory:", NULL, &err), PM_ENODRIVER);
    pm_error_clear(&err);
}

static void test_registry__a_registered_driver_takes_over_a_builtin_scheme(void **state)
{
    (void)state;
    static const char *const sqlite_scheme[] = {"sqlite", NULL};
    pm_driver d = wrapper(sqlite_scheme);
    pm_error err = PM_ERROR_INIT;
    pm_test_ok(pm_driver_register(&d, &err), &err);
    opens = 0;
    pm_db *db = pm_test_open("sqlite::memory:");
    assert_int_equal(opens, 1);
    assert_string_equal(pm_db_driver_name(db), "wrapper");
    pm_db_close(db);
    assert_int_equal(pm_driver_unregister(&d), 0);
    db = pm_test_open("sqlite::memory:");
    assert_int_equal(opens, 1); /* the compiled-in driver again */
    assert_string_equal(pm_db_driver_name(db), "sqlite");
    pm_db_close(db);
}

/* Version 7 added adopt(). A version 6 driver's struct ends before it, so
 * the core must not read it even when the bytes there are not NULL (here
 * they are the SQLite driver's adopt()). */
static void test_registry__a_version_6_driver_is_accepted_but_cannot_adopt(void **state)
{
    (void)state;
    assert_int_equal(PM_DRIVER_VERSION_MIN, 6);
    pm_driver d = wrapper(own_schemes);
    d.version = 6;
    pm_error err = PM_ERROR_INIT;
    pm_test_ok(pm_driver_register(&d, &err), &err);
    pm_db *db = pm_test_open("registered-test::memory:");
    assert_string_equal(pm_db_driver_name(db), "wrapper");
    pm_db *adopted = (pm_db *)&adopted; /* must be reset to NULL */
    assert_int_equal(pm_db_adopt(&adopted, "registered-test", pm_db_native_handle(db), &err),
                     PM_EUNSUPPORTED);
    assert_null(adopted);
    assert_non_null(strstr(err.message, "the wrapper driver cannot adopt"));
    assert_non_null(strstr(err.message, "version 6"));
    pm_error_clear(&err);
    pm_test_exec(db, "CREATE TABLE still_open (id INTEGER)"); /* the handle was left alone */
    pm_db_close(db);
    assert_int_equal(pm_driver_unregister(&d), 0);
}

static void test_registry__a_version_7_driver_adopts_through_its_scheme(void **state)
{
    (void)state;
    pm_driver d = wrapper(own_schemes);
    assert_int_equal(d.version, PM_DRIVER_VERSION);
    pm_error err = PM_ERROR_INIT;
    pm_test_ok(pm_driver_register(&d, &err), &err);
    pm_db *owner = pm_test_open("sqlite::memory:");
    pm_db *adopted = NULL;
    pm_test_ok(pm_db_adopt(&adopted, "Registered-Test:", pm_db_native_handle(owner), &err), &err);
    assert_string_equal(pm_db_driver_name(adopted), "wrapper");
    assert_ptr_equal(pm_db_native_handle(adopted), pm_db_native_handle(owner));
    pm_test_exec(adopted, "CREATE TABLE through_adopted (id INTEGER)");
    pm_db_close(adopted);
    assert_true(pm_test_has_table(owner, "through_adopted")); /* same database, still open */
    pm_db_close(owner);
    assert_int_equal(pm_driver_unregister(&d), 0);
}

static void test_registry__adopting_with_an_unknown_scheme_lists_the_known_ones(void **state)
{
    (void)state;
    pm_db *owner = pm_test_open("sqlite::memory:");
    pm_db *adopted = NULL;
    pm_error err = PM_ERROR_INIT;
    assert_int_equal(pm_db_adopt(&adopted, "oracle", pm_db_native_handle(owner), &err),
                     PM_ENODRIVER);
    assert_null(adopted);
    assert_non_null(strstr(err.message, "\"oracle:\""));
    assert_non_null(strstr(err.message, "sqlite:"));
    pm_error_clear(&err);
    assert_int_equal(pm_db_adopt(&adopted, "sqlite", NULL, &err), PM_EINVAL);
    assert_non_null(strstr(err.message, "native_handle is NULL"));
    pm_error_clear(&err);
    pm_db_close(owner);
}

static void test_registry__capabilities_of_sqlite_memory_and_file(void **state)
{
    (void)state;
    const unsigned int sqlite_caps =
        PM_CAP_TRANSACTIONAL_DDL | PM_CAP_CLONE_IMAGE | PM_CAP_ROLLBACK_TESTDB | PM_CAP_READ_SCHEMA;
    pm_db *db = pm_test_open("sqlite::memory:");
    assert_int_equal(pm_db_capabilities(db), sqlite_caps | PM_CAP_EPHEMERAL);
    pm_db_close(db);
    unsigned int caps = 0;
    pm_error err = PM_ERROR_INIT;
    pm_test_ok(pm_url_capabilities("sqlite::memory:", &caps, &err), &err);
    assert_int_equal(caps, sqlite_caps | PM_CAP_EPHEMERAL);
    /* Told without connecting: the file is not created. */
    const char *path = "/tmp/pm-registry-never-created.db";
    remove(path);
    pm_test_ok(pm_url_capabilities("sqlite:///tmp/pm-registry-never-created.db", &caps, &err),
               &err);
    assert_int_equal(caps, sqlite_caps);
    FILE *f = fopen(path, "r");
    assert_null(f);
    assert_int_equal(pm_url_capabilities("oracle://h/db", &caps, &err), PM_ENODRIVER);
    pm_error_clear(&err);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_registry__unknown_driver_versions_are_refused_naming_the_driver),
        cmocka_unit_test(test_registry__drivers_missing_a_required_member_are_refused),
        cmocka_unit_test(test_registry__a_registered_driver_opens_its_scheme_until_unregistered),
        cmocka_unit_test(test_registry__a_registered_driver_takes_over_a_builtin_scheme),
        cmocka_unit_test(test_registry__a_version_6_driver_is_accepted_but_cannot_adopt),
        cmocka_unit_test(test_registry__a_version_7_driver_adopts_through_its_scheme),
        cmocka_unit_test(test_registry__adopting_with_an_unknown_scheme_lists_the_known_ones),
        cmocka_unit_test(test_registry__capabilities_of_sqlite_memory_and_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
