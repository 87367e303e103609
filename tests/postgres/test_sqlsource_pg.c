/* test_sqlsource_pg.c: SQL migrations (pm_source) on a real PostgreSQL
 * server: dialect sections pick the postgres variant, transaction:false
 * runs CREATE INDEX CONCURRENTLY, a PL/pgSQL body in $BODY$ applies, a
 * failing statement is named, and the CLI's --source runs a dbmate and a
 * golang-migrate folder. Every test gets a fresh database of its own,
 * dropped in teardown.
 *
 * Run as: test_sqlsource_pg <poblysh> <tests/fixtures/sql>, with
 * POBLYSH_TEST_PG_URL set (scripts/with-postgres.sh exports it). Without it
 * the suite fails: it is never skipped. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "poblysh/source.h"
#include "testutil.h"

#define RUN_TIMEOUT_MS 60000

static const char *cli_path;  /* the poblysh binary */
static const char *fixtures;  /* tests/fixtures/sql */
static const char *admin_url; /* POBLYSH_TEST_PG_URL */

typedef struct fixture {
    pm_db *admin; /* on the admin URL's database, for CREATE/DROP DATABASE */
    char dbname[64];
    char *url; /* the fresh database's URL */
    pm_db *db;
    pm_source *src;
    pm_engine *engine;
    pm_error err;
    char path[4096];
    char *out, *errout; /* the last CLI run's output */
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    if (!f)
        return -1;
    pm_error err = PM_ERROR_INIT;
    if (pm_db_open(&f->admin, admin_url, NULL, &err) < 0 || pm_source_new(&f->src, &err) < 0) {
        print_error("cannot connect to the test server: %s\n", err.message ? err.message : "?");
        pm_error_clear(&err);
        pm_db_close(f->admin);
        free(f);
        return -1;
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    int rc = 0;
    pm_engine_free(f->engine);
    pm_source_free(f->src);
    pm_db_close(f->db);
    pm_error_clear(&f->err);
    if (f->dbname[0]) {
        char sql[160];
        snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s WITH (FORCE)", f->dbname);
        pm_error err = PM_ERROR_INIT;
        if (pm_db_exec(f->admin, sql, &err) < 0) {
            print_error("teardown: %s: %s\n", sql, err.message ? err.message : "?");
            rc = -1;
        }
        pm_error_clear(&err);
    }
    pm_db_close(f->admin);
    free(f->url);
    free(f->out);
    free(f->errout);
    free(f);
    return rc;
}

/* Creates pms_<name>_<pid>, makes it this test's database and opens it. */
static void fresh_database(fixture *f, const char *name)
{
    char sql[200];
    snprintf(f->dbname, sizeof(f->dbname), "pms_%s_%ld", name, (long)getpid());
    snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s WITH (FORCE)", f->dbname);
    pm_test_exec(f->admin, sql);
    snprintf(sql, sizeof(sql), "CREATE DATABASE %s", f->dbname);
    pm_test_exec(f->admin, sql);
    f->url = pm_test_url_with_database(admin_url, f->dbname);
    f->db = pm_test_open(f->url);
}

static const char *fixture_path(fixture *f, const char *sub)
{
    snprintf(f->path, sizeof(f->path), "%s/%s", fixtures, sub);
    return f->path;
}

static pm_engine *engine_of(fixture *f)
{
    pm_engine_free(f->engine);
    f->engine = NULL;
    size_t count = 0;
    const pm_migration *const *set = pm_source_migrations(f->src, &count);
    pm_test_ok(pm_engine_new(&f->engine, f->db, set, count, NULL, &f->err), &f->err);
    return f->engine;
}

static void add_sql(fixture *f, const char *name, const char *text)
{
    char file[300];
    snprintf(file, sizeof(file), "inline/%s.sql", name);
    pm_test_ok(pm_source_add_sql(f->src, name, text, strlen(text), file, &f->err), &f->err);
}

#define assert_query(f, expected, sql)                                                             \
    do {                                                                                           \
        char *value_ = pm_test_text((f)->db, (sql));                                               \
        if (!value_ || strcmp(value_, (expected)) != 0) {                                          \
            print_error("query returned %s, expected \"%s\":\n  %s\n",                             \
                        value_ ? value_ : "no value", (expected), (sql));                          \
            free(value_);                                                                          \
            fail();                                                                                \
        }                                                                                          \
        free(value_);                                                                              \
    } while (0)

#define assert_contains(text, needle)                                                              \
    do {                                                                                           \
        const char *text_ = (text);                                                                \
        if (!text_ || !strstr(text_, (needle)))                                                    \
            fail_msg("\"%s\" does not contain \"%s\"", text_ ? text_ : "(null)", (needle));        \
    } while (0)

/* ==== Dialect sections ==== */

static void test_sqlsource_pg__dialect_sections_pick_postgres(void **state)
{
    fixture *f = *state;
    fresh_database(f, "dialects");
    pm_test_ok(pm_source_add_dir(f->src, fixture_path(f, "dialects"), &f->err), &f->err);
    pm_engine *e = engine_of(f);
    pm_test_ok(pm_engine_up(e, PM_ALL, NULL, &f->err), &f->err);
    static const char *const present[] = {"picked_postgres", "second_postgres", "third_fallback"};
    static const char *const absent[] = {"picked_sqlite", "picked_fallback", "second_sqlite",
                                         "second_fallback", "third_mysql"};
    for (size_t i = 0; i < PM_ARRAY_LEN(present); i++)
        if (!pm_test_has_table(f->db, present[i]))
            fail_msg("table %s is missing", present[i]);
    for (size_t i = 0; i < PM_ARRAY_LEN(absent); i++)
        if (pm_test_has_table(f->db, absent[i]))
            fail_msg("table %s exists but must not", absent[i]);
    assert_int_equal(pm_test_history_count(f->db), 3);
    pm_test_ok(pm_engine_down(e, PM_ALL, NULL, &f->err), &f->err);
    for (size_t i = 0; i < PM_ARRAY_LEN(present); i++)
        assert_false(pm_test_has_table(f->db, present[i]));
    assert_int_equal(pm_test_history_count(f->db), 0);
}

/* ==== transaction:false ==== */

static void test_sqlsource_pg__transaction_false_runs_create_index_concurrently(void **state)
{
    fixture *f = *state;
    fresh_database(f, "concurrently");
    add_sql(f, "1_concurrent_indexes",
            "-- migrate:up transaction:false\n"
            "CREATE TABLE pmt_big (a INTEGER, b INTEGER);\n"
            "INSERT INTO pmt_big SELECT g, g % 7 FROM generate_series(1, 1000) g;\n"
            "CREATE INDEX CONCURRENTLY pmt_big_a ON pmt_big (a);\n"
            "CREATE INDEX CONCURRENTLY pmt_big_b ON pmt_big (b);\n"
            "\n"
            "-- migrate:down\n"
            "DROP INDEX CONCURRENTLY pmt_big_b;\n"
            "DROP INDEX CONCURRENTLY pmt_big_a;\n"
            "DROP TABLE pmt_big;\n");
    pm_engine *e = engine_of(f);
    pm_test_ok(pm_engine_up(e, PM_ALL, NULL, &f->err), &f->err);
    assert_query(f, "pmt_big_a,pmt_big_b",
                 "SELECT string_agg(indexname::text, ',' ORDER BY indexname) FROM pg_indexes "
                 "WHERE tablename = 'pmt_big'");
    assert_query(f, "t",
                 "SELECT bool_and(indisvalid) FROM pg_index WHERE indrelid = "
                 "'pmt_big'::regclass");
    assert_query(f, "1_concurrent_indexes|applied",
                 "SELECT version || '|' || state FROM seaql_migrations");
    pm_test_ok(pm_engine_down(e, 1, NULL, &f->err), &f->err);
    assert_false(pm_test_has_table(f->db, "pmt_big"));
    assert_int_equal(pm_test_history_count(f->db), 0);
}

/* ==== PL/pgSQL ==== */

static void test_sqlsource_pg__plpgsql_function_in_dollar_quotes_applies(void **state)
{
    fixture *f = *state;
    fresh_database(f, "plpgsql");
    add_sql(f, "1_audit",
            "-- migrate:up\n"
            "CREATE TABLE pmt_audit (id SERIAL PRIMARY KEY, note TEXT NOT NULL);\n"
            "CREATE FUNCTION pmt_note(n TEXT) RETURNS INTEGER AS $BODY$\n"
            "DECLARE\n"
            "  k INTEGER; -- a comment; it's here\n"
            "BEGIN\n"
            "  INSERT INTO pmt_audit (note) VALUES (n || ';');\n"
            "  SELECT count(*) INTO k FROM pmt_audit WHERE note <> $$x;$$;\n"
            "  RETURN k;\n"
            "END;\n"
            "$BODY$ LANGUAGE plpgsql;\n"
            "CREATE FUNCTION pmt_touch() RETURNS trigger AS $$\n"
            "BEGIN\n"
            "  NEW.note := NEW.note || '!';\n"
            "  RETURN NEW;\n"
            "END;\n"
            "$$ LANGUAGE plpgsql;\n"
            "CREATE TRIGGER pmt_audit_touch BEFORE INSERT ON pmt_audit\n"
            "  FOR EACH ROW EXECUTE FUNCTION pmt_touch();\n"
            "SELECT pmt_note('first; second');\n"
            "-- migrate:down\n"
            "DROP TABLE pmt_audit;\n"
            "DROP FUNCTION pmt_touch();\n"
            "DROP FUNCTION pmt_note(TEXT);\n");
    pm_engine *e = engine_of(f);
    pm_test_ok(pm_engine_up(e, PM_ALL, NULL, &f->err), &f->err);
    assert_query(f, "first; second;!", "SELECT note FROM pmt_audit WHERE id = 1");
    assert_query(f, "2", "SELECT pmt_note('again')");
    pm_test_ok(pm_engine_down(e, 1, NULL, &f->err), &f->err);
    assert_false(pm_test_has_table(f->db, "pmt_audit"));
    assert_query(f, "0", "SELECT count(*) FROM pg_proc WHERE proname IN ('pmt_note', 'pmt_touch')");
}

/* ==== A failing statement ==== */

#define BAD_INSERT "INSERT INTO no_such_table_xyz VALUES (1)"

static void test_sqlsource_pg__failing_statement_is_named(void **state)
{
    fixture *f = *state;
    fresh_database(f, "failing");
    add_sql(f, "1_ok", "-- migrate:up\nCREATE TABLE pmt_ok (id INTEGER);\n");
    add_sql(f, "2_fails",
            "-- migrate:up\n"
            "CREATE TABLE pmt_items (id INTEGER PRIMARY KEY);\n"
            "INSERT INTO pmt_items VALUES (1);\n" BAD_INSERT "; -- fails: no such table\n"
            "INSERT INTO pmt_items VALUES (2);\n"
            "-- migrate:down\n"
            "DROP TABLE pmt_items;\n");
    pm_engine *e = engine_of(f);
    size_t applied = 99;
    assert_int_equal(pm_engine_up(e, PM_ALL, &applied, &f->err), PM_EDB);
    assert_int_equal(applied, 1);
    assert_non_null(f->err.migration);
    assert_string_equal(f->err.migration, "2_fails");
    assert_non_null(f->err.statement);
    assert_string_equal(f->err.statement, BAD_INSERT);
    assert_non_null(f->err.db_code);
    assert_string_equal(f->err.db_code, "42P01");
    assert_contains(f->err.message, "relation \"no_such_table_xyz\" does not exist");
    assert_true(pm_test_has_table(f->db, "pmt_ok"));
    assert_false(pm_test_has_table(f->db, "pmt_items"));
    assert_query(f, "1_ok", "SELECT string_agg(version, ',') FROM seaql_migrations");
}

/* ==== The CLI ==== */

/* Runs `poblysh args...` with only PATH (and the sanitizer settings) in its
 * environment; output in f->out and f->errout; returns the exit status. */
static int run_cli(fixture *f, const char *const *args)
{
    static const char *const passed[] = {"ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"};
    char *envp[8];
    size_t n = 0;
    envp[n++] = "PATH=/usr/local/bin:/usr/bin:/bin";
    char *owned[PM_ARRAY_LEN(passed)] = {0};
    for (size_t i = 0; i < PM_ARRAY_LEN(passed); i++) {
        const char *value = getenv(passed[i]);
        if (!value)
            continue;
        size_t len = strlen(passed[i]) + strlen(value) + 2;
        owned[i] = malloc(len);
        assert_non_null(owned[i]);
        snprintf(owned[i], len, "%s=%s", passed[i], value);
        envp[n++] = owned[i];
    }
    envp[n] = NULL;
    size_t nargs = 0;
    while (args[nargs])
        nargs++;
    char **argv = calloc(nargs + 2, sizeof(*argv));
    assert_non_null(argv);
    argv[0] = (char *)cli_path;
    for (size_t i = 0; i < nargs; i++)
        argv[i + 1] = (char *)args[i];

    int out_fd, err_fd;
    pid_t pid = pm_test_spawn(cli_path, argv, envp, NULL, &out_fd, &err_fd);
    free(argv);
    for (size_t i = 0; i < PM_ARRAY_LEN(owned); i++)
        free(owned[i]);

    struct {
        char *data;
        size_t len, cap;
    } buf[2] = {{NULL, 0, 0}, {NULL, 0, 0}};
    struct pollfd fds[2] = {{out_fd, POLLIN, 0}, {err_fd, POLLIN, 0}};
    int open_fds = 2, timed_out = 0;
    struct timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    while (open_fds > 0) {
        clock_gettime(CLOCK_MONOTONIC, &now);
        long elapsed =
            (now.tv_sec - start.tv_sec) * 1000L + (now.tv_nsec - start.tv_nsec) / 1000000L;
        int r = elapsed < RUN_TIMEOUT_MS ? poll(fds, 2, (int)(RUN_TIMEOUT_MS - elapsed)) : 0;
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            timed_out = 1;
            kill(pid, SIGKILL);
            break;
        }
        for (int i = 0; i < 2; i++) {
            if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            if (buf[i].cap - buf[i].len < 4096) {
                buf[i].cap = buf[i].cap ? buf[i].cap * 2 : 8192;
                char *grown = realloc(buf[i].data, buf[i].cap);
                assert_non_null(grown);
                buf[i].data = grown;
            }
            ssize_t got = read(fds[i].fd, buf[i].data + buf[i].len, buf[i].cap - buf[i].len - 1);
            if (got < 0 && errno == EINTR)
                continue;
            if (got <= 0) {
                close(fds[i].fd);
                fds[i].fd = -1;
                open_fds--;
            } else {
                buf[i].len += (size_t)got;
            }
        }
    }
    for (int i = 0; i < 2; i++) {
        if (fds[i].fd >= 0)
            close(fds[i].fd);
        if (!buf[i].data)
            buf[i].data = calloc(1, 1);
        assert_non_null(buf[i].data);
        buf[i].data[buf[i].len] = '\0';
    }
    int status;
    while (waitpid(pid, &status, 0) < 0)
        assert_int_equal(errno, EINTR);
    free(f->out);
    free(f->errout);
    f->out = buf[0].data;
    f->errout = buf[1].data;
    if (timed_out)
        fail_msg("poblysh did not finish within %d ms\n--- stdout\n%s--- stderr\n%s---",
                 RUN_TIMEOUT_MS, f->out, f->errout);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

#define ARGS(...) ((const char *const[]){__VA_ARGS__, NULL})

static void assert_exit(fixture *f, int status, int expected)
{
    if (status != expected)
        fail_msg("poblysh exited %d, expected %d\n--- stdout\n%s--- stderr\n%s---", status,
                 expected, f->out, f->errout);
}

static void test_sqlsource_pg__cli_source_runs_a_dbmate_folder(void **state)
{
    fixture *f = *state;
    fresh_database(f, "cli_dbmate");
    const char *dir = fixture_path(f, "dbmate");
    int status = run_cli(f, ARGS("migrate", "up", "--source", dir, "--database-url", f->url));
    assert_exit(f, status, 0);
    assert_contains(f->out, "Applying 1_create_users ... done (");
    assert_contains(f->out, "Applying 20240301120000_create_tags ... done (");
    assert_contains(f->out, "Applied 4 migrations.");
    assert_true(pm_test_has_table(f->db, "users"));
    assert_true(pm_test_has_table(f->db, "tags"));
    assert_true(pm_test_has_column(f->db, "posts", "title"));
    assert_query(f, "1_create_users,9_create_posts,10_add_posts_title,20240301120000_create_tags",
                 "SELECT string_agg(version, ',' ORDER BY apply_order) FROM seaql_migrations");
    /* Nothing left to do the second time; down reverts the newest. */
    status = run_cli(f, ARGS("migrate", "up", "--source", dir, "--database-url", f->url));
    assert_exit(f, status, 0);
    assert_int_equal(pm_test_history_count(f->db), 4);
    status = run_cli(f, ARGS("migrate", "down", "--source", dir, "--database-url", f->url));
    assert_exit(f, status, 0);
    assert_false(pm_test_has_table(f->db, "tags"));
    assert_int_equal(pm_test_history_count(f->db), 3);
}

static void test_sqlsource_pg__cli_source_runs_a_golang_migrate_folder(void **state)
{
    fixture *f = *state;
    fresh_database(f, "cli_golang");
    const char *dir = fixture_path(f, "golang");
    int status = run_cli(f, ARGS("migrate", "up", "--source", dir, "--database-url", f->url));
    assert_exit(f, status, 0);
    assert_contains(f->out, "Applying 000001_create_items ... done (");
    assert_contains(f->out, "Applied 3 migrations.");
    assert_true(pm_test_has_table(f->db, "orders"));
    assert_true(pm_test_has_column(f->db, "items", "price"));
    assert_query(f, "it's; here", "SELECT name FROM items WHERE id = 1");
    assert_query(f, "000001_create_items,000002_add_items_price,000010_create_orders",
                 "SELECT string_agg(version, ',' ORDER BY apply_order) FROM seaql_migrations");
}

static void test_sqlsource_pg__cli_source_names_the_bad_file(void **state)
{
    fixture *f = *state;
    fresh_database(f, "cli_bad");
    const char *dir = fixture_path(f, "invalid/unknown_option");
    int status = run_cli(f, ARGS("migrate", "up", "--source", dir, "--database-url", f->url));
    assert_exit(f, status, 1);
    assert_contains(f->errout, "2_option.sql:3: unknown section option \"foo:bar\"");
    assert_int_equal(pm_test_history_count(f->db), 0);
}

#define TEST(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: test_sqlsource_pg <poblysh binary> <tests/fixtures/sql>\n");
        return 2;
    }
    cli_path = argv[1];
    fixtures = argv[2];
    admin_url = getenv("POBLYSH_TEST_PG_URL");
    if (!admin_url || !*admin_url) {
        fprintf(stderr, "test_sqlsource_pg: POBLYSH_TEST_PG_URL is not set. This suite needs the "
                        "PostgreSQL server that scripts/test.sh starts (run it through "
                        "scripts/with-postgres.sh); it is never skipped.\n");
        return 1;
    }
    const struct CMUnitTest tests[] = {
        TEST(test_sqlsource_pg__dialect_sections_pick_postgres),
        TEST(test_sqlsource_pg__transaction_false_runs_create_index_concurrently),
        TEST(test_sqlsource_pg__plpgsql_function_in_dollar_quotes_applies),
        TEST(test_sqlsource_pg__failing_statement_is_named),
        TEST(test_sqlsource_pg__cli_source_runs_a_dbmate_folder),
        TEST(test_sqlsource_pg__cli_source_runs_a_golang_migrate_folder),
        TEST(test_sqlsource_pg__cli_source_names_the_bad_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
