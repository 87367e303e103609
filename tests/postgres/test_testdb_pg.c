/* test_testdb_pg.c: test databases (poblysh/testdb.h) on a real PostgreSQL
 * server: clones are databases of their own made from a pm_tpl_<hash>
 * template and dropped on release; concurrent processes migrate the template
 * once; KEEP leaves the database and returns its URL without the password;
 * rollback mode undoes each test and catches one that commits. The server
 * comes from POBLYSH_TEST_PG_URL (scripts/with-postgres.sh). */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"

static const char *admin_url;
static char other_url[512]; /* admin_url on the server's "postgres" database */
static pm_db *admin;

static int up_logged(pm_schema *s, const void *data);

static const pm_migration m_accounts = PM_TEST_MIGRATION("m2024_01_01_000001_accounts", "accounts");
static const pm_migration m_orders = PM_TEST_MIGRATION("m2024_01_02_000001_orders", "orders");
static const pm_migration *const two[] = {&m_accounts, &m_orders};

/* A set no earlier run has made a template of: its checksum holds this
 * run's pid and time. Its up() appends a line to up_log. */
static char fresh_checksum[64];
static char up_log[64];
static const pm_migration m_logged = {
    "m2024_03_01_000001_logged", up_logged,      pm_test_down_drop,
    PM_MIGRATION_DEFAULT,        fresh_checksum, "logged"};
static const pm_migration *const fresh[] = {&m_accounts, &m_logged};

static int up_logged(pm_schema *s, const void *data)
{
    int fd = open(up_log, O_WRONLY | O_APPEND | O_CREAT, 0600);
    if (fd >= 0) {
        char line[32];
        int n = snprintf(line, sizeof(line), "%ld\n", (long)getpid());
        if (write(fd, line, (size_t)n) != n)
            n = -1;
        close(fd);
    }
    return pm_test_up_create(s, data);
}

static pm_testdb *acquire(const pm_migration *const *set, size_t count, pm_testdb_mode mode)
{
    pm_error err = PM_ERROR_INIT;
    pm_testdb *tdb = NULL;
    pm_test_ok(pm_testdb_acquire(&tdb, admin_url, set, count, mode, &err), &err);
    return tdb;
}

static void release(pm_testdb *tdb)
{
    pm_error err = PM_ERROR_INIT;
    pm_test_ok(pm_testdb_release(tdb, 0, &err), &err);
}

static bool database_exists(const char *name)
{
    char sql[256];
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM pg_database WHERE datname = '%s'", name);
    return pm_test_int(admin, sql) == 1;
}

static char *current_database(pm_testdb *tdb)
{
    return pm_test_text(pm_testdb_db(tdb), "SELECT current_database()");
}

/* ==== Clone mode ==== */

static void test_clone_is_a_database_of_its_own_with_the_set_applied(void **state)
{
    (void)state;
    pm_testdb *tdb = acquire(two, 2, PM_TESTDB_CLONE);
    char *name = current_database(tdb);
    assert_true(strncmp(name, "pm_t_", 5) == 0);
    assert_true(pm_test_has_table(pm_testdb_db(tdb), "orders"));
    assert_int_equal(pm_test_history_count(pm_testdb_db(tdb)), 2);
    /* Its URL reaches it, and hides the password unless asked. */
    char *shown = pm_testdb_url(tdb, 0), *url = pm_testdb_url(tdb, 1);
    assert_null(strstr(shown, "p%40ss"));
    assert_non_null(strstr(shown, name));
    pm_db *other = pm_test_open(url);
    assert_true(pm_test_has_table(other, "orders"));
    pm_db_close(other);
    free(shown);
    free(url);
    free(name);
    release(tdb);
}

static void test_clones_are_independent_and_dropped_on_release(void **state)
{
    (void)state;
    pm_testdb *a = acquire(two, 2, PM_TESTDB_CLONE);
    pm_testdb *b = acquire(two, 2, PM_TESTDB_CLONE);
    pm_test_exec(pm_testdb_db(a), "INSERT INTO accounts (id, name) VALUES (1, 'a')");
    assert_int_equal(pm_test_int(pm_testdb_db(b), "SELECT count(*) FROM accounts"), 0);
    char *name_a = current_database(a), *name_b = current_database(b);
    assert_string_not_equal(name_a, name_b);
    release(a);
    assert_false(database_exists(name_a));
    assert_true(database_exists(name_b));
    release(b);
    assert_false(database_exists(name_b));
    free(name_a);
    free(name_b);
}

/* Children race to acquire a clone of a set no template exists for. Those
 * whose URL names the same database take turns on the advisory lock: one
 * migrates, the others wait and copy. The two groups (poblysh_test and
 * postgres) may both build, and then the first rename wins: at most one
 * line in up_log per group, every child succeeds, nothing half-built is
 * left. */
static void test_concurrent_processes_migrate_the_template_once(void **state)
{
    (void)state;
    enum { CHILDREN = 4 };
    pid_t pids[CHILDREN];
    fflush(NULL);
    for (int i = 0; i < CHILDREN; i++) {
        pids[i] = fork();
        assert_true(pids[i] >= 0);
        if (pids[i] == 0) {
            pm_error err = PM_ERROR_INIT;
            pm_testdb *tdb = NULL;
            int rc = pm_testdb_acquire(&tdb, i % 2 ? other_url : admin_url, fresh, 2,
                                       PM_TESTDB_CLONE, &err);
            if (rc < 0)
                fprintf(stderr, "child %d: %s\n", i, err.message);
            bool ok = rc == 0 && pm_test_has_table(pm_testdb_db(tdb), "logged");
            if (rc == 0 && pm_testdb_release(tdb, 0, &err) < 0)
                ok = false;
            _exit(ok ? 0 : 1); /* no cleanup: the parent's connections are not ours */
        }
    }
    for (int i = 0; i < CHILDREN; i++) {
        int status = 0;
        assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    FILE *f = fopen(up_log, "r");
    assert_non_null(f);
    int lines = 0;
    for (int c; (c = fgetc(f)) != EOF;)
        lines += c == '\n';
    fclose(f);
    assert_in_range(lines, 1, 2);
    /* No half-built template was left behind. */
    assert_int_equal(pm_test_int(admin, "SELECT count(*) FROM pg_database "
                                        "WHERE datname LIKE 'pm\\_tpl\\_%\\_new\\_%'"),
                     0);
}

typedef struct keeping {
    pm_testdb *tdb;
    int with_password;
    char *url;
} keeping;

static void release_keeping(void *arg)
{
    keeping *k = arg;
    pm_error err = PM_ERROR_INIT;
    pm_test_ok(pm_testdb_keep(&k->url, k->tdb, k->with_password, &err), &err);
}

static void drop_database(const char *name)
{
    char sql[128];
    snprintf(sql, sizeof(sql), "DROP DATABASE %s", name);
    pm_test_exec(admin, sql);
}

static void test_keep_leaves_the_database_and_returns_its_url_without_the_password(void **state)
{
    (void)state;
    keeping k = {acquire(two, 2, PM_TESTDB_CLONE), 0, NULL};
    char *name = current_database(k.tdb);
    char said[512];
    pm_test_capture_stderr(release_keeping, &k, said, sizeof(said));
    assert_string_equal(said, ""); /* the library prints nothing */
    assert_non_null(k.url);
    assert_non_null(strstr(k.url, "postgresql://poblysh:"));
    assert_non_null(strstr(k.url, name));
    assert_null(strstr(k.url, getenv("POBLYSH_TEST_PG_PASSWORD")));
    assert_null(strstr(k.url, "p%40ss"));
    assert_true(database_exists(name));
    drop_database(name);
    free(k.url);
    free(name);
}

static void test_keep_with_password_returns_a_url_that_opens_the_database(void **state)
{
    (void)state;
    keeping k = {acquire(two, 2, PM_TESTDB_CLONE), 1, NULL};
    char *name = current_database(k.tdb);
    release_keeping(&k);
    pm_db *kept = pm_test_open(k.url);
    assert_int_equal(pm_test_history_count(kept), 2);
    pm_db_close(kept);
    drop_database(name);
    free(k.url);
    free(name);
}

/* ==== Rollback mode ==== */

static void test_rollback_mode_undoes_each_tests_writes(void **state)
{
    (void)state;
    pm_testdb *first = acquire(two, 2, PM_TESTDB_ROLLBACK);
    pm_test_exec(pm_testdb_db(first), "INSERT INTO accounts (id, name) VALUES (1, 'a')");
    assert_int_equal(pm_test_int(pm_testdb_db(first), "SELECT count(*) FROM accounts"), 1);
    char *name = current_database(first);
    release(first);
    pm_testdb *second = acquire(two, 2, PM_TESTDB_ROLLBACK);
    char *again = current_database(second);
    assert_string_equal(name, again); /* the same shared database */
    assert_int_equal(pm_test_int(pm_testdb_db(second), "SELECT count(*) FROM accounts"), 0);
    release(second);
    free(name);
    free(again);
}

/* The database name at the end of tdb's URL (malloc'd). */
static char *database_of(pm_testdb *tdb)
{
    char *url = pm_testdb_url(tdb, 0);
    char *name = strrchr(url, '/') + 1;
    name[strcspn(name, "?")] = '\0';
    char *copy = strdup(name);
    free(url);
    return copy;
}

/* What the server says of the shared database's one connection, read on
 * the admin connection so that nothing is sent on the test's. */
static char *activity(const char *name, const char *column)
{
    char sql[256];
    snprintf(sql, sizeof(sql), "SELECT %s FROM pg_stat_activity WHERE datname = '%s'", column,
             name);
    return pm_test_text(admin, sql);
}

/* acquire() opened the transaction on the server (its BEGIN and savepoint
 * were sent, not left in the driver's queue), and the test's own statements
 * through pm_db_exec() run when made, as outside a transaction. */
static void test_rollback_mode_transaction_is_open_on_the_server_after_acquire(void **state)
{
    (void)state;
    pm_testdb *tdb = acquire(two, 2, PM_TESTDB_ROLLBACK);
    char *name = database_of(tdb);
    char *said = activity(name, "state");
    assert_string_equal(said, "idle in transaction");
    free(said);
    said = activity(name, "query");
    assert_non_null(strstr(said, "SAVEPOINT pm_testdb"));
    free(said);

    pm_test_exec(pm_testdb_db(tdb), "INSERT INTO accounts (id, name) VALUES (3, 'sent')");
    said = activity(name, "query");
    assert_non_null(strstr(said, "'sent'")); /* sent at once, not queued */
    free(said);
    release(tdb);
    said = activity(name, "state");
    assert_string_equal(said, "idle");
    free(said);
    free(name);
}

static void test_rollback_mode_recovers_from_a_failed_statement_in_the_test(void **state)
{
    (void)state;
    pm_error err = PM_ERROR_INIT;
    pm_testdb *tdb = acquire(two, 2, PM_TESTDB_ROLLBACK);
    assert_int_equal(pm_db_exec(pm_testdb_db(tdb), "INSERT INTO nowhere VALUES (1)", &err), PM_EDB);
    pm_error_clear(&err);
    release(tdb);
    pm_testdb *next = acquire(two, 2, PM_TESTDB_ROLLBACK);
    assert_int_equal(pm_test_int(pm_testdb_db(next), "SELECT count(*) FROM accounts"), 0);
    release(next);
}

static void test_rollback_mode_reports_a_test_that_commits(void **state)
{
    (void)state;
    pm_error err = PM_ERROR_INIT;
    pm_testdb *tdb = acquire(two, 2, PM_TESTDB_ROLLBACK);
    char *name = current_database(tdb);
    pm_test_exec(pm_testdb_db(tdb), "INSERT INTO accounts (id, name) VALUES (1, 'a')");
    pm_test_exec(pm_testdb_db(tdb), "COMMIT");
    assert_int_equal(pm_testdb_release(tdb, 0, &err), PM_EMISUSE);
    assert_non_null(strstr(err.message, "COMMIT"));
    pm_error_clear(&err);
    assert_false(database_exists(name)); /* discarded with what was committed */

    pm_testdb *next = acquire(two, 2, PM_TESTDB_ROLLBACK);
    assert_int_equal(pm_test_int(pm_testdb_db(next), "SELECT count(*) FROM accounts"), 0);
    release(next);
    free(name);
}

static void test_rollback_mode_reports_a_test_that_commits_and_begins_again(void **state)
{
    (void)state;
    pm_error err = PM_ERROR_INIT;
    pm_testdb *tdb = acquire(two, 2, PM_TESTDB_ROLLBACK);
    pm_test_exec(pm_testdb_db(tdb), "INSERT INTO accounts (id, name) VALUES (2, 'b')");
    pm_test_exec(pm_testdb_db(tdb), "COMMIT");
    pm_test_exec(pm_testdb_db(tdb), "BEGIN");
    assert_int_equal(pm_testdb_release(tdb, 0, &err), PM_EMISUSE);
    pm_error_clear(&err);
    pm_testdb *next = acquire(two, 2, PM_TESTDB_ROLLBACK);
    assert_int_equal(pm_test_int(pm_testdb_db(next), "SELECT count(*) FROM accounts"), 0);
    release(next);
}

static int count_own_databases(void)
{
    char sql[160];
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM pg_database WHERE datname LIKE 'pm\\_t\\_%%\\_%ld\\_%%'",
             (long)getpid());
    return (int)pm_test_int(admin, sql);
}

static void test_cleanup_drops_the_shared_database(void **state)
{
    (void)state;
    release(acquire(two, 2, PM_TESTDB_ROLLBACK));
    assert_int_equal(count_own_databases(), 1);
    pm_testdb_cleanup();
    assert_int_equal(count_own_databases(), 0);
}

int main(void)
{
    admin_url = getenv("POBLYSH_TEST_PG_URL");
    if (!admin_url || !*admin_url || !getenv("POBLYSH_TEST_PG_PASSWORD")) {
        fprintf(stderr, "test_testdb_pg: POBLYSH_TEST_PG_URL is not set. This suite needs the "
                        "PostgreSQL server that scripts/test.sh starts (run it through "
                        "scripts/with-postgres.sh); it is never skipped.\n");
        return 1;
    }
    snprintf(fresh_checksum, sizeof(fresh_checksum), "run-%ld-%ld", (long)getpid(),
             (long)time(NULL));
    snprintf(up_log, sizeof(up_log), "/tmp/pm-testdb-pg-%ld.log", (long)getpid());
    unlink(up_log);
    const char *db = strstr(admin_url, "/poblysh_test");
    if (!db || strlen(admin_url) + 16 > sizeof(other_url)) {
        fprintf(stderr, "test_testdb_pg: POBLYSH_TEST_PG_URL names no /poblysh_test database\n");
        return 1;
    }
    snprintf(other_url, sizeof(other_url), "%.*s/postgres%s", (int)(db - admin_url), admin_url,
             db + strlen("/poblysh_test"));
    admin = pm_test_open(admin_url);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_clone_is_a_database_of_its_own_with_the_set_applied),
        cmocka_unit_test(test_clones_are_independent_and_dropped_on_release),
        cmocka_unit_test(test_concurrent_processes_migrate_the_template_once),
        cmocka_unit_test(test_keep_leaves_the_database_and_returns_its_url_without_the_password),
        cmocka_unit_test(test_keep_with_password_returns_a_url_that_opens_the_database),
        cmocka_unit_test(test_rollback_mode_undoes_each_tests_writes),
        cmocka_unit_test(test_rollback_mode_transaction_is_open_on_the_server_after_acquire),
        cmocka_unit_test(test_rollback_mode_recovers_from_a_failed_statement_in_the_test),
        cmocka_unit_test(test_rollback_mode_reports_a_test_that_commits),
        cmocka_unit_test(test_rollback_mode_reports_a_test_that_commits_and_begins_again),
        cmocka_unit_test(test_cleanup_drops_the_shared_database),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    pm_testdb_cleanup();
    pm_db_close(admin);
    unlink(up_log);
    return failed;
}
