/* test_poolers.c: the migration lock through PgBouncer. Eight poblysh
 * processes race through the same 200 SQL migrations on a direct connection,
 * through PgBouncer in session pooling mode and in transaction pooling mode
 * (where consecutive statements may land on different server connections):
 * every runner exits 0, each migration is applied once, and the server holds
 * no advisory lock afterwards, also when one runner is killed with SIGKILL
 * mid-run. A transaction:false migration (CREATE INDEX CONCURRENTLY) is
 * raced too. Run as: test_poolers <poblysh>, inside scripts/with-postgres.sh
 * and scripts/with-pgbouncer.sh (POBLYSH_TEST_PG_URL,
 * POBLYSH_TEST_PGBOUNCER_SESSION_URL, POBLYSH_TEST_PGBOUNCER_TX_URL); without
 * them every test fails. */
#include <dirent.h>
#include <errno.h>
#include <libpq-fe.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testserver.h"

#define RACERS 8
#define MIGRATIONS 200
#define ROUNDS 3
/* How long a race may take before its runners are killed and it fails. */
#define RACE_TIMEOUT_MS 120000
/* How long a lock held by a killed runner's connection may take to go. */
#define LOCK_GONE_MS 15000

static const char *cli_path;

/* The three ways in: name, environment variable. */
typedef struct route {
    const char *name;
    const char *env;
} route;

static const route DIRECT = {"direct", "POBLYSH_TEST_PG_URL"};
static const route SESSION = {"session", "POBLYSH_TEST_PGBOUNCER_SESSION_URL"};
static const route TX = {"transaction", "POBLYSH_TEST_PGBOUNCER_TX_URL"};

/* ==== Fixture ==== */

typedef struct fixture {
    PGconn *admin;      /* direct, on poblysh_test: creates and drops databases */
    PGconn *db;         /* direct, on the test's database */
    char *dbname;       /* the test's database, or NULL */
    char *url;          /* its URL through the route under test */
    char *source;       /* the folder of SQL migrations, removed by teardown */
    const char *schema; /* the runners' -s SCHEMA, or NULL */
    child children[RACERS + 1];
    size_t nchildren;
    void **kept;
    size_t nkept;
} fixture;

static char *fmt(fixture *f, const char *format, ...)
{
    va_list ap;
    va_start(ap, format);
    char *s = vfmt(format, ap);
    va_end(ap);
    assert_non_null(s);
    return srv_keep(&f->kept, &f->nkept, s);
}

static const char *need_env(const char *name)
{
    const char *value = getenv(name);
    if (!value || !*value)
        fail_msg("%s is not set: run this test inside scripts/with-postgres.sh and "
                 "scripts/with-pgbouncer.sh (they start PostgreSQL and PgBouncer)",
                 name);
    return value;
}

static void ignore_notice(void *arg, const char *message)
{
    (void)arg;
    (void)message; /* "database ... does not exist, skipping" */
}

static PGconn *connect_or_fail(const char *url)
{
    PGconn *pg = PQconnectdb(url);
    PQsetNoticeProcessor(pg, ignore_notice, NULL);
    if (PQstatus(pg) != CONNECTION_OK) {
        char message[512];
        snprintf(message, sizeof(message), "%s", PQerrorMessage(pg));
        PQfinish(pg);
        fail_msg("cannot connect to the test server: %s", message);
    }
    return pg;
}

static void exec_or_fail(PGconn *pg, const char *sql)
{
    PGresult *res = PQexec(pg, sql);
    ExecStatusType status = PQresultStatus(res);
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
        char message[512];
        snprintf(message, sizeof(message), "%s", PQresultErrorMessage(res));
        PQclear(res);
        fail_msg("%s failed: %s", sql, message);
    }
    PQclear(res);
}

/* The first column of the first row of sql, as a number. */
static long long query_int(PGconn *pg, const char *sql)
{
    PGresult *res = PQexec(pg, sql);
    if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) < 1) {
        char message[512];
        snprintf(message, sizeof(message), "%s", PQresultErrorMessage(res));
        PQclear(res);
        fail_msg("%s failed: %s", sql, message);
    }
    long long n = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    return n;
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    for (size_t i = 0; i < PM_ARRAY_LEN(f->children); i++)
        f->children[i].out_fd = f->children[i].err_fd = -1;
    *state = f;
    return 0;
}

/* Removes the migration folder (files only: it has no subfolders). */
static void remove_source(const char *dir)
{
    if (!dir)
        return;
    DIR *d = opendir(dir);
    struct dirent *entry;
    while (d && (entry = readdir(d))) {
        char path[1024];
        snprintf(path, sizeof(path), "%s/%s", dir, entry->d_name);
        if (entry->d_name[0] != '.')
            unlink(path);
    }
    if (d)
        closedir(d);
    rmdir(dir);
}

static void drop_database(fixture *f)
{
    if (f->db)
        PQfinish(f->db);
    f->db = NULL;
    if (f->admin && f->dbname) {
        char sql[256];
        snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS \"%s\" WITH (FORCE)", f->dbname);
        PQclear(PQexec(f->admin, sql));
    }
    f->dbname = NULL;
}

static int teardown(void **state)
{
    fixture *f = *state;
    kill_children(f->children, f->nchildren);
    drop_database(f);
    if (f->admin)
        PQfinish(f->admin);
    remove_source(f->source);
    free(f->source);
    for (size_t i = 0; i < f->nkept; i++)
        free(f->kept[i]);
    free(f->kept);
    free(f);
    return 0;
}

/* A fresh database for this test, reached directly (f->db) and through
 * the route (f->url). */
static void fresh_database(fixture *f, const route *r, const char *name)
{
    drop_database(f);
    const char *admin_url = need_env(DIRECT.env);
    const char *route_url = need_env(r->env);
    if (!f->admin)
        f->admin = connect_or_fail(admin_url);
    f->dbname = fmt(f, "pooler_%s_%s", r->name, name);
    exec_or_fail(f->admin, fmt(f, "DROP DATABASE IF EXISTS \"%s\" WITH (FORCE)", f->dbname));
    exec_or_fail(f->admin, fmt(f, "CREATE DATABASE \"%s\"", f->dbname));
    f->db = connect_or_fail(
        srv_keep(&f->kept, &f->nkept, pm_test_url_with_database(admin_url, f->dbname)));
    f->url = srv_keep(&f->kept, &f->nkept, pm_test_url_with_database(route_url, f->dbname));
}

/* ==== The migrations ==== */

static void write_file(fixture *f, const char *name, const char *text)
{
    char *path = fmt(f, "%s/%s", f->source, name);
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    assert_true(fputs(text, fp) >= 0);
    assert_int_equal(fclose(fp), 0);
}

static void fresh_source(fixture *f)
{
    remove_source(f->source);
    free(f->source);
    f->source = strdup("/tmp/poblysh-poolers.XXXXXX");
    assert_non_null(f->source);
    assert_non_null(mkdtemp(f->source));
}

/* MIGRATIONS dbmate files: CREATE TABLE t_N, down DROP TABLE t_N. */
static void write_tables(fixture *f)
{
    fresh_source(f);
    for (int n = 0; n < MIGRATIONS; n++)
        write_file(f, fmt(f, "2024010100%02d%02d_t_%d.sql", n / 60, n % 60, n),
                   fmt(f,
                       "-- migrate:up\nCREATE TABLE t_%d (id integer PRIMARY KEY, name text);\n\n"
                       "-- migrate:down\nDROP TABLE t_%d;\n",
                       n, n));
}

/* A table with rows, an index built concurrently (transaction:false), and a
 * migration after it that needs the index built. */
static void write_concurrent_index(fixture *f)
{
    fresh_source(f);
    write_file(f, "20240101000001_items.sql",
               "-- migrate:up\nCREATE TABLE items (id integer, name text);\n"
               "INSERT INTO items SELECT g, 'item ' || g FROM generate_series(1, 20000) g;\n\n"
               "-- migrate:down\nDROP TABLE items;\n");
    write_file(f, "20240101000002_items_index.sql",
               "-- migrate:up transaction:false\n"
               "CREATE INDEX CONCURRENTLY items_name ON items (name);\n\n"
               "-- migrate:down transaction:false\nDROP INDEX CONCURRENTLY items_name;\n");
    /* Fails when a runner applies it before the index is built: a racer
     * that finds the index's "started" row must wait for it, not go on. */
    write_file(f, "20240101000003_after.sql",
               "-- migrate:up\nDO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_index i JOIN pg_class "
               "c ON c.oid = i.indexrelid WHERE c.relname = 'items_name' AND i.indisvalid) THEN "
               "RAISE EXCEPTION 'items_name is not built yet'; END IF; END $$;\n"
               "CREATE TABLE after_index (id integer);\n\n"
               "-- migrate:down\nDROP TABLE after_index;\n");
}

/* ==== Runners ==== */

static child *spawn_up(fixture *f)
{
    assert_true(f->nchildren < PM_ARRAY_LEN(f->children));
    char *argv[] = {(char *)cli_path,
                    "--database-url",
                    f->url,
                    "--source",
                    f->source,
                    "--lock-timeout",
                    "60",
                    "migrate",
                    "up",
                    f->schema ? "-s" : NULL,
                    (char *)f->schema,
                    NULL};
    static char *envp[] = {"PATH=/usr/local/bin:/usr/bin:/bin", NULL, NULL, NULL, NULL};
    static const char *const passed[] = {"ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"};
    size_t n = 1;
    for (size_t i = 0; i < PM_ARRAY_LEN(passed); i++)
        if (getenv(passed[i]))
            envp[n++] = fmt(f, "%s=%s", passed[i], getenv(passed[i]));
    child *c = &f->children[f->nchildren++];
    memset(c, 0, sizeof(*c));
    clock_gettime(CLOCK_MONOTONIC, &c->started);
    c->pid = pm_test_spawn(cli_path, argv, envp, NULL, &c->out_fd, &c->err_fd);
    return c;
}

/* Reads every child's output to its end and reaps them all, killing them
 * after RACE_TIMEOUT_MS; results[i] is children[i]'s outcome. */
static void collect_all(fixture *f, run_result *results)
{
    size_t n = f->nchildren;
    buffer out[RACERS + 1] = {{0}}, err[RACERS + 1] = {{0}};
    struct pollfd fds[2 * (RACERS + 1)];
    for (size_t i = 0; i < n; i++) {
        fds[2 * i] = (struct pollfd){f->children[i].out_fd, POLLIN, 0};
        fds[2 * i + 1] = (struct pollfd){f->children[i].err_fd, POLLIN, 0};
    }
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    size_t open_fds = 2 * n;
    bool timed_out = false;
    while (open_fds > 0) {
        int left = RACE_TIMEOUT_MS - (int)(seconds_since(&start) * 1000);
        int ready = left > 0 ? poll(fds, 2 * n, left) : 0;
        if (ready < 0 && errno == EINTR)
            continue;
        if (ready <= 0) {
            timed_out = true;
            break;
        }
        for (size_t k = 0; k < 2 * n; k++) {
            if (fds[k].fd < 0 || !(fds[k].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            if (!read_some(fds[k].fd, k % 2 ? &err[k / 2] : &out[k / 2])) {
                close(fds[k].fd);
                fds[k].fd = -1;
                open_fds--;
            }
        }
    }
    for (size_t i = 0; i < n; i++) {
        child *c = &f->children[i];
        if (timed_out && !c->exited)
            kill(c->pid, SIGKILL);
        for (int k = 0; k < 2; k++)
            if (fds[2 * i + k].fd >= 0)
                close(fds[2 * i + k].fd);
        c->out_fd = c->err_fd = -1;
        if (!c->exited)
            while (waitpid(c->pid, &c->wait_status, 0) < 0)
                assert_int_equal(errno, EINTR);
        c->exited = true;
        results[i].out = take_buffer(&out[i]);
        results[i].err = take_buffer(&err[i]);
        results[i].seconds = seconds_since(&c->started);
        int ws = c->wait_status;
        results[i].status = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
        srv_keep(&f->kept, &f->nkept, results[i].out);
        srv_keep(&f->kept, &f->nkept, results[i].err);
    }
    f->nchildren = 0;
    if (timed_out)
        fail_msg("the runners did not finish within %d ms", RACE_TIMEOUT_MS);
}

/* Starts RACERS runners together and waits for them all. */
static void race(fixture *f, run_result *results)
{
    for (int i = 0; i < RACERS; i++)
        spawn_up(f);
    collect_all(f, results);
}

static void assert_all_exit_0(const run_result *results, size_t n)
{
    for (size_t i = 0; i < n; i++)
        assert_exit(&results[i], 0);
}

/* ==== What the server holds afterwards ==== */

/* Advisory locks are per database: other tests run on the same server at
 * the same time, in databases of their own. */
#define ADVISORY_LOCKS                                                                             \
    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND database = (SELECT oid FROM "   \
    "pg_database WHERE datname = current_database())"

/* No advisory lock on the test's database, asked directly (not through a
 * pooler); a killed runner's may take a moment to go with its connection. */
static void assert_no_advisory_lock(fixture *f, int wait_ms)
{
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    long long held = query_int(f->db, ADVISORY_LOCKS);
    while (held != 0 && seconds_since(&start) * 1000 < wait_ms) {
        sleep_ms(100);
        held = query_int(f->db, ADVISORY_LOCKS);
    }
    if (held != 0)
        fail_msg("%lld advisory lock(s) still held after every runner exited", held);
}

/* Each of expected migrations recorded once, applied, with its own
 * apply_order. */
static void assert_applied_once(fixture *f, long long expected)
{
    assert_int_equal(query_int(f->db, "SELECT count(*) FROM seaql_migrations"), expected);
    assert_int_equal(query_int(f->db, "SELECT count(DISTINCT version) FROM seaql_migrations"),
                     expected);
    assert_int_equal(query_int(f->db, "SELECT count(DISTINCT apply_order) FROM seaql_migrations"),
                     expected);
    assert_int_equal(query_int(f->db, "SELECT count(*) FROM seaql_migrations WHERE "
                                      "coalesce(state, 'applied') <> 'applied'"),
                     0);
}

static void assert_tables(fixture *f, long long expected)
{
    assert_int_equal(query_int(f->db, "SELECT count(*) FROM pg_tables WHERE schemaname = "
                                      "'public' AND tablename LIKE 't\\_%'"),
                     expected);
}

/* A runner started after the race finds nothing to do. */
static void assert_late_runner_has_nothing_to_do(fixture *f)
{
    run_result late[1];
    spawn_up(f);
    collect_all(f, late);
    assert_exit(&late[0], 0);
    if (strstr(late[0].out, "Applying") || strstr(late[0].err, "Applying"))
        fail_msg("the late runner applied something:\n%s%s", late[0].out, late[0].err);
}

/* ==== Races ==== */

static void race_rounds(fixture *f, const route *r)
{
    write_tables(f);
    for (int round = 1; round <= ROUNDS; round++) {
        fresh_database(f, r, fmt(f, "round%d", round));
        run_result results[RACERS];
        struct timespec start;
        clock_gettime(CLOCK_MONOTONIC, &start);
        race(f, results);
        assert_all_exit_0(results, RACERS);
        assert_applied_once(f, MIGRATIONS);
        assert_tables(f, MIGRATIONS);
        assert_no_advisory_lock(f, 0);
        assert_late_runner_has_nothing_to_do(f);
        fprintf(stderr, "# %s, round %d: %d runners through %d migrations in %.2f s\n", r->name,
                round, RACERS, MIGRATIONS, seconds_since(&start));
    }
}

static void test_poolers__racers_apply_each_migration_once_direct(void **state)
{
    race_rounds(*state, &DIRECT);
}

static void test_poolers__racers_apply_each_migration_once_session_mode(void **state)
{
    race_rounds(*state, &SESSION);
}

static void test_poolers__racers_apply_each_migration_once_transaction_mode(void **state)
{
    race_rounds(*state, &TX);
}

/* One runner is killed with SIGKILL once some migrations are applied: the
 * others finish, a rerun has nothing left, nothing is applied twice, and
 * the killed runner's lock goes with its connection. */
static void race_with_a_kill(fixture *f, const route *r)
{
    write_tables(f);
    fresh_database(f, r, "kill");
    for (int i = 0; i < RACERS; i++)
        spawn_up(f);
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    long long applied = 0;
    while (seconds_since(&start) < 30) {
        PGresult *res = PQexec(f->db, "SELECT count(*) FROM seaql_migrations");
        applied =
            PQresultStatus(res) == PGRES_TUPLES_OK ? strtoll(PQgetvalue(res, 0, 0), NULL, 10) : 0;
        PQclear(res);
        if (applied >= MIGRATIONS / 10)
            break;
        sleep_ms(5);
    }
    assert_int_equal(kill(f->children[0].pid, SIGKILL), 0);
    run_result results[RACERS];
    collect_all(f, results);
    if (applied >= MIGRATIONS)
        fail_msg("the race was over before the kill: make it longer");
    assert_int_equal(results[0].status, 128 + SIGKILL);
    assert_all_exit_0(results + 1, RACERS - 1);
    assert_no_advisory_lock(f, LOCK_GONE_MS);
    assert_late_runner_has_nothing_to_do(f);
    assert_applied_once(f, MIGRATIONS);
    assert_tables(f, MIGRATIONS);
    assert_no_advisory_lock(f, 0);
}

static void test_poolers__sigkill_leaves_no_lock_direct(void **state)
{
    race_with_a_kill(*state, &DIRECT);
}

static void test_poolers__sigkill_leaves_no_lock_session_mode(void **state)
{
    race_with_a_kill(*state, &SESSION);
}

static void test_poolers__sigkill_leaves_no_lock_transaction_mode(void **state)
{
    race_with_a_kill(*state, &TX);
}

/* CREATE INDEX CONCURRENTLY runs outside any transaction and any lock: its
 * "started" row, written under the lock, tells the other runners it is
 * taken, and they wait for it before the next migration; the index is
 * built once and valid. */
static void race_concurrent_index(fixture *f, const route *r)
{
    write_concurrent_index(f);
    fresh_database(f, r, "concurrently");
    run_result results[RACERS];
    race(f, results);
    assert_all_exit_0(results, RACERS);
    assert_applied_once(f, 3);
    assert_int_equal(query_int(f->db, "SELECT count(*) FROM pg_index i JOIN pg_class c ON c.oid "
                                      "= i.indexrelid WHERE c.relname = 'items_name' AND "
                                      "i.indisvalid"),
                     1);
    assert_int_equal(query_int(f->db, "SELECT count(*) FROM pg_tables WHERE tablename = "
                                      "'after_index'"),
                     1);
    assert_no_advisory_lock(f, 0);
    assert_late_runner_has_nothing_to_do(f);
}

static void test_poolers__concurrent_index_races_direct(void **state)
{
    race_concurrent_index(*state, &DIRECT);
}

static void test_poolers__concurrent_index_races_session_mode(void **state)
{
    race_concurrent_index(*state, &SESSION);
}

static void test_poolers__concurrent_index_races_transaction_mode(void **state)
{
    race_concurrent_index(*state, &TX);
}

/* With -s, every runner's transactions choose the schema again (SET LOCAL
 * search_path), so behind PgBouncer in transaction mode, where the session's
 * SET search_path may have landed on another server connection, every table
 * and the history still land in it, and nothing in public. */
static void test_poolers__schema_holds_in_transaction_mode(void **state)
{
    fixture *f = *state;
    write_tables(f);
    fresh_database(f, &TX, "schema");
    exec_or_fail(f->db, "CREATE SCHEMA tenant_tx");
    f->schema = "tenant_tx";
    run_result results[RACERS];
    race(f, results);
    assert_all_exit_0(results, RACERS);
    assert_int_equal(query_int(f->db, "SELECT count(*) FROM tenant_tx.seaql_migrations WHERE "
                                      "state = 'applied'"),
                     MIGRATIONS);
    assert_int_equal(query_int(f->db, "SELECT count(*) FROM pg_tables WHERE schemaname = "
                                      "'tenant_tx' AND tablename LIKE 't\\_%'"),
                     MIGRATIONS);
    assert_int_equal(query_int(f->db, "SELECT count(*) FROM pg_tables WHERE schemaname = "
                                      "'public'"),
                     0);
    assert_no_advisory_lock(f, 0);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s <poblysh>\n", argv[0]);
        return 2;
    }
    cli_path = argv[1];
    signal(SIGPIPE, SIG_IGN);
#define TEST(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        TEST(test_poolers__racers_apply_each_migration_once_direct),
        TEST(test_poolers__racers_apply_each_migration_once_session_mode),
        TEST(test_poolers__racers_apply_each_migration_once_transaction_mode),
        TEST(test_poolers__sigkill_leaves_no_lock_direct),
        TEST(test_poolers__sigkill_leaves_no_lock_session_mode),
        TEST(test_poolers__sigkill_leaves_no_lock_transaction_mode),
        TEST(test_poolers__concurrent_index_races_direct),
        TEST(test_poolers__concurrent_index_races_session_mode),
        TEST(test_poolers__concurrent_index_races_transaction_mode),
        TEST(test_poolers__schema_holds_in_transaction_mode),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
