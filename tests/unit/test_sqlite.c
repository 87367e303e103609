/* test_sqlite.c: what is particular to the SQLite driver: the URL forms,
 * ?mode= and ?synchronous=, foreign keys, clear errors for bad files. (Several processes
 * migrating one file at once is in the conformance suite, run on a file.) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"

static char dir[64];

static int make_dir(void **state)
{
    (void)state;
    snprintf(dir, sizeof(dir), "/tmp/pm-sqlite-XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int remove_dir(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static int open_url(pm_db **db, const char *url, pm_error *err)
{
    *db = NULL;
    return pm_db_open(db, url, NULL, err);
}

static void test_sqlite__absolute_relative_and_opaque_paths_name_the_same_file(void **state)
{
    (void)state;
    char url[160];
    snprintf(url, sizeof(url), "sqlite://%s/a.db", dir); /* dir starts with '/': absolute */
    pm_db *db = pm_test_open(url);
    pm_test_exec(db, "CREATE TABLE marker (x INTEGER)");
    pm_db_close(db);

    char cwd[256];
    assert_non_null(getcwd(cwd, sizeof(cwd)));
    assert_int_equal(chdir("/tmp"), 0);
    snprintf(url, sizeof(url), "sqlite://%s/a.db", dir + strlen("/tmp/")); /* relative */
    db = pm_test_open(url);
    assert_true(pm_test_has_table(db, "marker"));
    pm_db_close(db);
    snprintf(url, sizeof(url), "sqlite:%s/a.db", dir + strlen("/tmp/")); /* opaque, relative */
    db = pm_test_open(url);
    assert_true(pm_test_has_table(db, "marker"));
    pm_db_close(db);
    assert_int_equal(chdir(cwd), 0);
}

static void test_sqlite__memory_databases_are_private_to_their_connection(void **state)
{
    (void)state;
    pm_db *a = pm_test_open("sqlite::memory:");
    pm_db *b = pm_test_open("sqlite::memory:");
    pm_test_exec(a, "CREATE TABLE only_in_a (x INTEGER)");
    assert_true(pm_test_has_table(a, "only_in_a"));
    assert_false(pm_test_has_table(b, "only_in_a"));
    assert_string_equal(pm_db_driver_name(a), "sqlite");
    pm_db_close(a);
    pm_db_close(b);
}

static void test_sqlite__mode_ro_refuses_writes_and_rw_refuses_missing_file(void **state)
{
    (void)state;
    char url[160];
    pm_error err = PM_ERROR_INIT;
    pm_db *db = NULL;
    snprintf(url, sizeof(url), "sqlite://%s/missing.db?mode=rw", dir);
    assert_int_equal(open_url(&db, url, &err), PM_ECONNECT);
    assert_null(db);
    assert_non_null(strstr(err.message, "missing.db"));

    snprintf(url, sizeof(url), "sqlite://%s/ro.db", dir);
    db = pm_test_open(url);
    pm_db_close(db);
    snprintf(url, sizeof(url), "sqlite://%s/ro.db?mode=ro", dir);
    db = pm_test_open(url);
    int rc = pm_db_exec(db, "CREATE TABLE nope (x INTEGER)", &err);
    assert_int_equal(rc, PM_EDB);
    assert_non_null(strstr(err.db_code, "SQLITE_READONLY"));
    assert_string_equal(err.statement, "CREATE TABLE nope (x INTEGER)");
    pm_db_close(db);
    pm_error_clear(&err);
}

static void test_sqlite__open_existing_never_creates_a_file(void **state)
{
    (void)state;
    char url[256], path[96];
    pm_error err = PM_ERROR_INIT;
    pm_db *db = NULL;
    pm_db_options opts = PM_DB_OPTIONS_INIT;
    opts.flags = PM_DB_OPEN_EXISTING;
    snprintf(path, sizeof(path), "%s/typo.bd", dir);
    static const char *const suffixes[] = {"", "?mode=rwc", "?mode=rw", "?mode=ro"};
    for (size_t i = 0; i < 4; i++) {
        snprintf(url, sizeof(url), "sqlite://%s%s", path, suffixes[i]);
        assert_int_equal(pm_db_open(&db, url, &opts, &err), PM_ECONNECT);
        assert_null(db);
        assert_non_null(strstr(err.message, "no such database file: "));
        assert_non_null(strstr(err.message, "typo.bd"));
        assert_int_equal(access(path, F_OK), -1); /* nothing was created */
        pm_error_clear(&err);
    }
    /* memory is unaffected; an existing file opens */
    pm_test_ok(pm_db_open(&db, "sqlite::memory:", &opts, &err), &err);
    pm_db_close(db);
    snprintf(url, sizeof(url), "sqlite://%s", path);
    pm_db_close(pm_test_open(url));
    pm_test_ok(pm_db_open(&db, url, &opts, &err), &err);
    pm_db_close(db);
    /* version 1 options have no flags: they create, as before */
    snprintf(url, sizeof(url), "sqlite://%s/v1.db", dir);
    pm_db_options v1 = {1,    0,    PM_DB_OPEN_EXISTING,
                        NULL, NULL, NULL}; /* flags past a version 1 struct: unread */
    pm_test_ok(pm_db_open(&db, url, &v1, &err), &err);
    pm_db_close(db);
    /* an unknown version is refused, naming it */
    pm_db_options v9 = {9, 0, 0, NULL, NULL, NULL};
    assert_int_equal(pm_db_open(&db, url, &v9, &err), PM_EINVAL);
    assert_non_null(strstr(err.message, "version 9"));
    pm_error_clear(&err);
}

static void test_sqlite__bad_url_parameters_are_named(void **state)
{
    (void)state;
    pm_error err = PM_ERROR_INIT;
    pm_db *db = NULL;
    assert_int_equal(open_url(&db, "sqlite::memory:?mode=banana", &err), PM_EURL);
    assert_non_null(strstr(err.message, "banana"));
    assert_int_equal(open_url(&db, "sqlite::memory:?journal=wal", &err), PM_EURL);
    assert_non_null(strstr(err.message, "journal"));
    assert_int_equal(open_url(&db, "sqlite://user:hunter2@x.db", &err), PM_EURL);
    assert_null(strstr(err.message, "hunter2"));
    assert_null(db);
    pm_error_clear(&err);
}

/* The PRAGMA synchronous a connection to url runs with (0-3), or -1. */
static int synchronous_of(const char *url)
{
    pm_db *db = pm_test_open(url);
    char *value = pm_test_text(db, "PRAGMA synchronous");
    int level = value ? atoi(value) : -1;
    free(value);
    pm_db_close(db);
    return level;
}

static void test_sqlite__synchronous_parameter_chooses_commit_durability(void **state)
{
    (void)state;
    char url[200];
    snprintf(url, sizeof(url), "sqlite://%s/sync.db", dir);
    assert_int_equal(synchronous_of(url), 2); /* unset: SQLite's default, FULL */
    snprintf(url, sizeof(url), "sqlite://%s/sync.db?synchronous=normal", dir);
    assert_int_equal(synchronous_of(url), 1);
    snprintf(url, sizeof(url), "sqlite://%s/sync.db?mode=rw&synchronous=extra", dir);
    assert_int_equal(synchronous_of(url), 3);
    snprintf(url, sizeof(url), "sqlite://%s/sync.db?synchronous=full", dir);
    assert_int_equal(synchronous_of(url), 2);
    /* per connection: the next one without the parameter is back to FULL */
    snprintf(url, sizeof(url), "sqlite://%s/sync.db", dir);
    assert_int_equal(synchronous_of(url), 2);

    pm_error err = PM_ERROR_INIT;
    pm_db *db = NULL;
    snprintf(url, sizeof(url), "sqlite://%s/sync.db?synchronous=off", dir);
    assert_int_equal(open_url(&db, url, &err), PM_EURL);
    assert_null(db);
    assert_non_null(strstr(err.message, "synchronous \"off\""));
    assert_non_null(strstr(err.message, "full, normal, extra"));
    pm_error_clear(&err);
}

static void test_sqlite__a_file_that_is_not_a_database_fails_at_open(void **state)
{
    (void)state;
    char path[160], url[180];
    snprintf(path, sizeof(path), "%s/text.db", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("this is not a database, just some text long enough to have a header\n", f);
    fclose(f);
    snprintf(url, sizeof(url), "sqlite://%s", path);
    pm_db *db = NULL;
    pm_error err = PM_ERROR_INIT;
    assert_int_equal(open_url(&db, url, &err), PM_ECONNECT);
    assert_non_null(strstr(err.message, "text.db"));
    assert_non_null(strstr(err.db_code, "SQLITE_NOTADB"));
    pm_error_clear(&err);
}

static void test_sqlite__foreign_keys_are_enforced(void **state)
{
    (void)state;
    pm_db *db = pm_test_open("sqlite::memory:");
    pm_test_exec(db, "CREATE TABLE parent (id INTEGER PRIMARY KEY);"
                     "CREATE TABLE child (pid INTEGER REFERENCES parent (id))");
    pm_error err = PM_ERROR_INIT;
    assert_int_equal(pm_db_exec(db, "INSERT INTO child VALUES (42)", &err), PM_EDB);
    assert_non_null(strstr(err.db_code, "SQLITE_CONSTRAINT"));
    pm_error_clear(&err);
    pm_db_close(db);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sqlite__absolute_relative_and_opaque_paths_name_the_same_file),
        cmocka_unit_test(test_sqlite__memory_databases_are_private_to_their_connection),
        cmocka_unit_test(test_sqlite__mode_ro_refuses_writes_and_rw_refuses_missing_file),
        cmocka_unit_test(test_sqlite__open_existing_never_creates_a_file),
        cmocka_unit_test(test_sqlite__bad_url_parameters_are_named),
        cmocka_unit_test(test_sqlite__synchronous_parameter_chooses_commit_durability),
        cmocka_unit_test(test_sqlite__a_file_that_is_not_a_database_fails_at_open),
        cmocka_unit_test(test_sqlite__foreign_keys_are_enforced),
    };
    return cmocka_run_group_tests(tests, make_dir, remove_dir);
}
