/* test_testdb.c: test databases (poblysh/testdb.h) on SQLite: clones are
 * complete and independent, the template is migrated once, rollback mode
 * undoes each test and catches one that commits, KEEP leaves a file to look
 * at and says where through the API, printing nothing. The same on
 * PostgreSQL is in tests/postgres/test_testdb_pg.c. */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"

/* ==== Fixture sets ==== */

/* Counts how often up() ran, to show the template is migrated once. */
static int counted_ups;

static int up_counted(pm_schema *s, const void *data)
{
    counted_ups++;
    return pm_test_up_create(s, data);
}

static const pm_migration m_accounts = PM_TEST_MIGRATION("m2024_01_01_000001_accounts", "accounts");
static const pm_migration m_orders = PM_TEST_MIGRATION("m2024_01_02_000001_orders", "orders");
static const pm_migration *const two[] = {&m_accounts, &m_orders};
static const pm_migration m_counted = {"m2024_03_01_000001_counted", up_counted, pm_test_down_drop,
                                       PM_MIGRATION_DEFAULT,         NULL,       "counted"};
static const pm_migration *const counted[] = {&m_accounts, &m_counted};
static const pm_migration *const one[] = {&m_accounts};

static pm_testdb *acquire(const char *url, const pm_migration *const *set, size_t count,
                          pm_testdb_mode mode)
{
    pm_error err = PM_ERROR_INIT;
    pm_testdb *tdb = NULL;
    pm_test_ok(pm_testdb_acquire(&tdb, url, set, count, mode, &err), &err);
    assert_non_null(pm_testdb_db(tdb));
    return tdb;
}

static void release(pm_testdb *tdb)
{
    pm_error err = PM_ERROR_INIT;
    pm_test_ok(pm_testdb_release(tdb, 0, &err), &err);
}

/* ==== Clone mode ==== */

static void test_clone_has_every_migration_of_the_set_applied(void **state)
{
    (void)state;
    pm_testdb *tdb = acquire("sqlite::memory:", two, 2, PM_TESTDB_CLONE);
    pm_db *db = pm_testdb_db(tdb);
    assert_true(pm_test_has_table(db, "accounts"));
    assert_true(pm_test_has_table(db, "orders"));
    assert_int_equal(pm_test_history_count(db), 2);
    char *url = pm_testdb_url(tdb, 0);
    assert_string_equal(url, "sqlite::memory:");
    free(url);
    release(tdb);
}

static void test_clones_are_independent(void **state)
{
    (void)state;
    pm_testdb *a = acquire("sqlite::memory:", two, 2, PM_TESTDB_CLONE);
    pm_testdb *b = acquire("sqlite::memory:", two, 2, PM_TESTDB_CLONE);
    pm_test_exec(pm_testdb_db(a), "INSERT INTO accounts (id, name) VALUES (1, 'a')");
    assert_int_equal(pm_test_int(pm_testdb_db(a), "SELECT count(*) FROM accounts"), 1);
    assert_int_equal(pm_test_int(pm_testdb_db(b), "SELECT count(*) FROM accounts"), 0);
    release(a);
    pm_testdb *c = acquire("sqlite::memory:", two, 2, PM_TESTDB_CLONE);
    assert_int_equal(pm_test_int(pm_testdb_db(c), "SELECT count(*) FROM accounts"), 0);
    release(b);
    release(c);
}

static void test_template_is_migrated_once_per_process(void **state)
{
    (void)state;
    counted_ups = 0;
    for (int i = 0; i < 5; i++) {
        pm_testdb *tdb = acquire("sqlite::memory:", counted, 2, PM_TESTDB_CLONE);
        assert_true(pm_test_has_table(pm_testdb_db(tdb), "counted"));
        release(tdb);
    }
    pm_testdb *shared = acquire("sqlite::memory:", counted, 2, PM_TESTDB_ROLLBACK);
    release(shared);
    assert_int_equal(counted_ups, 1);
}

static void test_each_set_gets_its_own_template(void **state)
{
    (void)state;
    pm_testdb *small = acquire("sqlite::memory:", one, 1, PM_TESTDB_CLONE);
    pm_testdb *large = acquire("sqlite::memory:", two, 2, PM_TESTDB_CLONE);
    assert_false(pm_test_has_table(pm_testdb_db(small), "orders"));
    assert_true(pm_test_has_table(pm_testdb_db(large), "orders"));
    assert_int_equal(pm_test_history_count(pm_testdb_db(small)), 1);
    release(small);
    release(large);
}

/* The file is the template: migrated in place, untouched by the clones. */
static void test_file_url_is_migrated_once_and_clones_leave_it_unchanged(void **state)
{
    (void)state;
    char dir[] = "/tmp/pm-testdb-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char url[160], path[128];
    snprintf(path, sizeof(path), "%s/template.db", dir);
    snprintf(url, sizeof(url), "sqlite://%s", path);

    pm_testdb *tdb = acquire(url, two, 2, PM_TESTDB_CLONE);
    pm_test_exec(pm_testdb_db(tdb), "INSERT INTO orders (id, name) VALUES (1, 'x')");
    release(tdb);

    pm_db *file = pm_test_open(url);
    assert_int_equal(pm_test_history_count(file), 2);
    assert_int_equal(pm_test_int(file, "SELECT count(*) FROM orders"), 0);
    pm_db_close(file);
    unlink(path);
    rmdir(dir);
}

/* A fresh directory as $TMPDIR, for KEEP's files; restore_tmpdir() puts
 * the old value back and removes the directory. */
static char *use_tmpdir(char *dir)
{
    assert_non_null(mkdtemp(dir));
    char *old = getenv("TMPDIR") ? strdup(getenv("TMPDIR")) : NULL;
    setenv("TMPDIR", dir, 1);
    return old;
}

static void restore_tmpdir(const char *dir, char *old)
{
    assert_int_equal(rmdir(dir), 0); /* the test removed what it kept */
    if (old)
        setenv("TMPDIR", old, 1);
    else
        unsetenv("TMPDIR");
    free(old);
}

/* Removes the poblysh-test-* files in dir; returns how many there were. */
static int remove_kept_files(const char *dir)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    int n = 0;
    for (struct dirent *e; (e = readdir(d));) {
        if (strncmp(e->d_name, "poblysh-test-", 13) != 0)
            continue;
        char path[512];
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        assert_int_equal(unlink(path), 0);
        n++;
    }
    closedir(d);
    return n;
}

typedef struct keeping {
    pm_testdb *tdb;
    unsigned int flags; /* pm_testdb_release()'s, or ~0u for pm_testdb_keep() */
    char *url;
} keeping;

static void release_keeping(void *arg)
{
    keeping *k = arg;
    pm_error err = PM_ERROR_INIT;
    if (k->flags == ~0u)
        pm_test_ok(pm_testdb_keep(&k->url, k->tdb, 0, &err), &err);
    else
        pm_test_ok(pm_testdb_release(k->tdb, k->flags, &err), &err);
}

static void test_keep_writes_the_clone_to_a_file_and_returns_its_url(void **state)
{
    (void)state;
    char dir[] = "/tmp/pm-testdb-keep-XXXXXX";
    char *old = use_tmpdir(dir);
    pm_testdb *tdb = acquire("sqlite::memory:", two, 2, PM_TESTDB_CLONE);
    pm_test_exec(pm_testdb_db(tdb), "INSERT INTO orders (id, name) VALUES (7, 'kept')");
    keeping k = {tdb, ~0u, NULL};
    char said[512];
    pm_test_capture_stderr(release_keeping, &k, said, sizeof(said));
    assert_string_equal(said, ""); /* the library prints nothing */

    char prefix[160];
    snprintf(prefix, sizeof(prefix), "sqlite://%s/poblysh-test-", dir);
    assert_non_null(k.url);
    assert_memory_equal(k.url, prefix, strlen(prefix));
    pm_db *kept = pm_test_open(k.url);
    char *name = pm_test_text(kept, "SELECT name FROM orders WHERE id = 7");
    assert_string_equal(name, "kept");
    free(name);
    pm_db_close(kept);
    assert_int_equal(unlink(k.url + strlen("sqlite://")), 0);
    free(k.url);
    restore_tmpdir(dir, old);
}

/* The flag keeps the clone as pm_testdb_keep() does, and prints nothing. */
static void test_keep_flag_keeps_the_clone_without_printing(void **state)
{
    (void)state;
    char dir[] = "/tmp/pm-testdb-keep-XXXXXX";
    char *old = use_tmpdir(dir);
    keeping k = {acquire("sqlite::memory:", two, 2, PM_TESTDB_CLONE), PM_TESTDB_KEEP, NULL};
    char said[512];
    pm_test_capture_stderr(release_keeping, &k, said, sizeof(said));
    assert_string_equal(said, "");
    assert_int_equal(remove_kept_files(dir), 1);
    restore_tmpdir(dir, old);
}

static void test_keep_in_rollback_mode_keeps_nothing_and_rolls_back(void **state)
{
    (void)state;
    pm_error err = PM_ERROR_INIT;
    pm_testdb *tdb = acquire("sqlite::memory:", two, 2, PM_TESTDB_ROLLBACK);
    pm_test_exec(pm_testdb_db(tdb), "INSERT INTO accounts (id, name) VALUES (1, 'a')");
    char *url = (char *)"unset";
    pm_test_ok(pm_testdb_keep(&url, tdb, 1, &err), &err);
    assert_null(url);
    pm_testdb *next = acquire("sqlite::memory:", two, 2, PM_TESTDB_ROLLBACK);
    assert_int_equal(pm_test_int(pm_testdb_db(next), "SELECT count(*) FROM accounts"), 0);
    release(next);
}

/* ==== Rollback mode ==== */

static void test_rollback_mode_undoes_each_tests_writes(void **state)
{
    (void)state;
    pm_testdb *first = acquire("sqlite::memory:", two, 2, PM_TESTDB_ROLLBACK);
    pm_test_exec(pm_testdb_db(first), "INSERT INTO accounts (id, name) VALUES (1, 'a')");
    assert_int_equal(pm_test_int(pm_testdb_db(first), "SELECT count(*) FROM accounts"), 1);
    release(first);
    pm_testdb *second = acquire("sqlite::memory:", two, 2, PM_TESTDB_ROLLBACK);
    assert_int_equal(pm_test_int(pm_testdb_db(second), "SELECT count(*) FROM accounts"), 0);
    assert_int_equal(pm_test_history_count(pm_testdb_db(second)), 2);
    release(second);
}

static void test_rollback_mode_shares_one_connection_between_tests(void **state)
{
    (void)state;
    pm_testdb *first = acquire("sqlite::memory:", two, 2, PM_TESTDB_ROLLBACK);
    void *handle = pm_db_native_handle(pm_testdb_db(first));
    release(first);
    pm_testdb *second = acquire("sqlite::memory:", two, 2, PM_TESTDB_ROLLBACK);
    assert_ptr_equal(pm_db_native_handle(pm_testdb_db(second)), handle);
    release(second);
}

static void test_rollback_mode_reports_a_test_that_commits(void **state)
{
    (void)state;
    pm_error err = PM_ERROR_INIT;
    pm_testdb *tdb = acquire("sqlite::memory:", two, 2, PM_TESTDB_ROLLBACK);
    pm_test_exec(pm_testdb_db(tdb), "INSERT INTO accounts (id, name) VALUES (1, 'a'); COMMIT");
    assert_int_equal(pm_testdb_release(tdb, 0, &err), PM_EMISUSE);
    assert_non_null(strstr(err.message, "COMMIT"));
    assert_non_null(strstr(err.message, "clone mode"));
    pm_error_clear(&err);

    /* The copy the test committed to was discarded. */
    pm_testdb *next = acquire("sqlite::memory:", two, 2, PM_TESTDB_ROLLBACK);
    assert_int_equal(pm_test_int(pm_testdb_db(next), "SELECT count(*) FROM accounts"), 0);
    release(next);
}

static void test_rollback_mode_reports_a_test_that_commits_and_begins_again(void **state)
{
    (void)state;
    pm_error err = PM_ERROR_INIT;
    pm_testdb *tdb = acquire("sqlite::memory:", two, 2, PM_TESTDB_ROLLBACK);
    pm_test_exec(pm_testdb_db(tdb),
                 "INSERT INTO accounts (id, name) VALUES (1, 'a'); COMMIT; BEGIN");
    assert_int_equal(pm_testdb_release(tdb, 0, &err), PM_EMISUSE);
    pm_error_clear(&err);
    pm_testdb *next = acquire("sqlite::memory:", two, 2, PM_TESTDB_ROLLBACK);
    assert_int_equal(pm_test_int(pm_testdb_db(next), "SELECT count(*) FROM accounts"), 0);
    release(next);
}

/* A template file in WAL mode still clones into memory. */
static void test_file_template_in_wal_mode_clones(void **state)
{
    (void)state;
    char dir[] = "/tmp/pm-testdb-wal-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char url[160], path[128];
    snprintf(path, sizeof(path), "%s/wal.db", dir);
    snprintf(url, sizeof(url), "sqlite://%s", path);
    pm_db *file = pm_test_open(url);
    char *mode = pm_test_text(file, "PRAGMA journal_mode = WAL");
    assert_string_equal(mode, "wal");
    free(mode);
    pm_db_close(file);

    pm_testdb *tdb = acquire(url, two, 2, PM_TESTDB_CLONE);
    pm_test_exec(pm_testdb_db(tdb), "INSERT INTO orders (id, name) VALUES (1, 'x')");
    assert_int_equal(pm_test_history_count(pm_testdb_db(tdb)), 2);
    release(tdb);
    pm_testdb_cleanup(); /* closes nothing on the file, but frees its template */
    char extra[160];
    unlink(path);
    snprintf(extra, sizeof(extra), "%s-wal", path);
    unlink(extra);
    snprintf(extra, sizeof(extra), "%s-shm", path);
    unlink(extra);
    rmdir(dir);
}

static void test_rollback_mode_refuses_a_begin_inside_the_test(void **state)
{
    (void)state;
    pm_error err = PM_ERROR_INIT;
    pm_testdb *tdb = acquire("sqlite::memory:", two, 2, PM_TESTDB_ROLLBACK);
    assert_int_equal(pm_db_exec(pm_testdb_db(tdb), "BEGIN", &err), PM_EDB);
    assert_non_null(strstr(err.message, "within a transaction"));
    pm_error_clear(&err);
    release(tdb);
}

static void test_rollback_mode_gives_out_one_database_at_a_time(void **state)
{
    (void)state;
    pm_error err = PM_ERROR_INIT;
    pm_testdb *tdb = acquire("sqlite::memory:", two, 2, PM_TESTDB_ROLLBACK);
    pm_testdb *again = NULL;
    assert_int_equal(pm_testdb_acquire(&again, "sqlite::memory:", two, 2, PM_TESTDB_ROLLBACK, &err),
                     PM_EMISUSE);
    assert_null(again);
    assert_non_null(strstr(err.message, "release it"));
    pm_error_clear(&err);
    release(tdb);
}

/* ==== Bad input ==== */

static void test_acquire_names_the_migration_of_a_bad_set(void **state)
{
    (void)state;
    static const pm_migration bad = PM_TEST_MIGRATION("not_a_name", "t");
    static const pm_migration *const set[] = {&bad};
    pm_error err = PM_ERROR_INIT;
    pm_testdb *tdb = NULL;
    assert_int_equal(pm_testdb_acquire(&tdb, "sqlite::memory:", set, 1, PM_TESTDB_CLONE, &err),
                     PM_ESET);
    assert_null(tdb);
    assert_string_equal(err.migration, "not_a_name");
    pm_error_clear(&err);
}

static void test_acquire_reports_a_failing_migration_of_the_template(void **state)
{
    (void)state;
    static const pm_migration failing = PM_TEST_FAILING_MIGRATION("m2024_05_01_000001_bad", "bad");
    static const pm_migration *const set[] = {&m_accounts, &failing};
    pm_error err = PM_ERROR_INIT;
    pm_testdb *tdb = NULL;
    assert_int_equal(pm_testdb_acquire(&tdb, "sqlite::memory:", set, 2, PM_TESTDB_CLONE, &err),
                     PM_EDB);
    assert_non_null(strstr(err.message, "cannot migrate the test template sqlite::memory:"));
    assert_string_equal(err.migration, "m2024_05_01_000001_bad");
    assert_string_equal(err.statement, PM_TEST_BAD_STATEMENT);
    pm_error_clear(&err);
}

static void test_acquire_names_an_unknown_scheme(void **state)
{
    (void)state;
    pm_error err = PM_ERROR_INIT;
    pm_testdb *tdb = NULL;
    assert_int_equal(
        pm_testdb_acquire(&tdb, "nosuch://u:secret@h/db", two, 2, PM_TESTDB_CLONE, &err),
        PM_ENODRIVER);
    assert_non_null(strstr(err.message, "nosuch:"));
    assert_null(strstr(err.message, "secret"));
    pm_error_clear(&err);
}

static void test_release_of_null_does_nothing(void **state)
{
    (void)state;
    assert_int_equal(pm_testdb_release(NULL, 0, NULL), 0);
    char *url = (char *)"unset";
    assert_int_equal(pm_testdb_keep(&url, NULL, 0, NULL), 0);
    assert_null(url);
    assert_null(pm_testdb_db(NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_clone_has_every_migration_of_the_set_applied),
        cmocka_unit_test(test_clones_are_independent),
        cmocka_unit_test(test_template_is_migrated_once_per_process),
        cmocka_unit_test(test_each_set_gets_its_own_template),
        cmocka_unit_test(test_file_url_is_migrated_once_and_clones_leave_it_unchanged),
        cmocka_unit_test(test_keep_writes_the_clone_to_a_file_and_returns_its_url),
        cmocka_unit_test(test_keep_flag_keeps_the_clone_without_printing),
        cmocka_unit_test(test_keep_in_rollback_mode_keeps_nothing_and_rolls_back),
        cmocka_unit_test(test_rollback_mode_undoes_each_tests_writes),
        cmocka_unit_test(test_rollback_mode_shares_one_connection_between_tests),
        cmocka_unit_test(test_rollback_mode_reports_a_test_that_commits),
        cmocka_unit_test(test_rollback_mode_reports_a_test_that_commits_and_begins_again),
        cmocka_unit_test(test_file_template_in_wal_mode_clones),
        cmocka_unit_test(test_rollback_mode_refuses_a_begin_inside_the_test),
        cmocka_unit_test(test_rollback_mode_gives_out_one_database_at_a_time),
        cmocka_unit_test(test_acquire_names_the_migration_of_a_bad_set),
        cmocka_unit_test(test_acquire_reports_a_failing_migration_of_the_template),
        cmocka_unit_test(test_acquire_names_an_unknown_scheme),
        cmocka_unit_test(test_release_of_null_does_nothing),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    pm_testdb_cleanup();
    return failed;
}
