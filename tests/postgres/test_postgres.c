/* test_postgres.c: poblysh against a real PostgreSQL server, through the
 * library and through the built binaries (poblysh and poblysh_fixture, whose
 * second migration sleeps on the server), and through a PGconn the test
 * opens with libpq itself and hands to poblysh (pm_db_adopt_postgres()), and
 * the histories of dbmate, golang-migrate, goose, sqlx, diesel and Flyway,
 * as each writes its table on PostgreSQL, adopted (pm_engine_adopt()).
 * Every test that migrates gets a fresh database of its own, dropped in
 * teardown with the children it started.
 * Run as: test_postgres <poblysh> <poblysh_fixture>, with the environment that
 * scripts/with-postgres.sh exports (POBLYSH_TEST_PG_URL, ..._PASSWORD). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "testserver.h"

#define TENANTS "m2024_01_01_000001_create_tenants"
#define SLEEP "m2024_06_01_000000_sleep"

/* How long one run of a binary may take before it is killed. */
#define RUN_TIMEOUT_MS 30000
/* How long a test waits for a child's migration to reach pg_sleep. */
#define SLEEP_WAIT_MS 10000
#define MAX_CHILDREN 16

static const char *cli_path;     /* the poblysh binary */
static const char *fixture_path; /* poblysh_fixture: tenants, then a sleeping migration */
static const char *admin_url;    /* POBLYSH_TEST_PG_URL: a superuser on poblysh_test */
static const char *raw_password; /* POBLYSH_TEST_PG_PASSWORD: must never be printed */

/* The parts of the admin URL, as written (so still percent-encoded), from
 * which every other URL of the suite is built. */
static struct {
    char *prefix;       /* "postgresql://poblysh" */
    char *password_enc; /* NULL when the URL has none */
    char *host;
    char *port;  /* NULL when the URL has none */
    char *query; /* without the '?'; NULL when none */
} admin;

/* ==== Fixture ==== */

/* What one test owns; teardown releases all of it, even after a failure. */
typedef struct fixture {
    pm_db *admin;   /* on poblysh_test, for CREATE and DROP DATABASE */
    char *dbname;   /* this test's fresh database, or NULL */
    char *url;      /* its URL */
    pm_db *db;      /* open on it */
    PGconn *pq;     /* a connection the test opened itself with libpq, or NULL */
    pm_db *adopted; /* pq adopted by poblysh, or NULL */
    pm_engine *engine;
    pm_error err;
    int silent_fd; /* a listening socket that never answers, or -1 */
    child children[MAX_CHILDREN];
    size_t nchildren;
    run_result **runs;
    size_t nruns;
    void **kept; /* other allocations, freed by teardown */
    size_t nkept;
} fixture;

static void *keep(fixture *f, void *p)
{
    return srv_keep(&f->kept, &f->nkept, p);
}

/* A formatted string that lives until teardown. */
static char *fmt(fixture *f, const char *format, ...)
{
    va_list ap;
    va_start(ap, format);
    char *s = vfmt(format, ap);
    va_end(ap);
    assert_non_null(s);
    return keep(f, s);
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    if (!f)
        return -1;
    *state = f;
    f->silent_fd = -1;
    pm_error err = PM_ERROR_INIT;
    if (pm_db_open(&f->admin, admin_url, NULL, &err) < 0) {
        print_error("cannot connect to the test server: %s\n", err.message ? err.message : "?");
        pm_error_clear(&err);
        free(f); /* cmocka runs no teardown after a failed setup */
        *state = NULL;
        return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    int rc = 0;
    kill_children(f->children, f->nchildren);
    if (f->silent_fd >= 0)
        close(f->silent_fd);
    pm_engine_free(f->engine);
    pm_error_clear(&f->err);
    pm_db_close(f->adopted);
    if (f->pq)
        PQfinish(f->pq);
    pm_db_close(f->db);
    if (f->dbname && f->admin) {
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
    for (size_t i = 0; i < f->nruns; i++)
        srv_free_run(f->runs[i]);
    free(f->runs);
    for (size_t i = 0; i < f->nkept; i++)
        free(f->kept[i]);
    free(f->kept);
    free(f);
    return rc;
}

/* ==== URLs and databases ==== */

/* Splits scheme://user[:password]@host[:port]/db[?query] into admin. */
static int parse_admin_url(const char *url)
{
    const char *auth = strstr(url, "://");
    if (!auth)
        return -1;
    auth += 3;
    const char *auth_end = auth + strcspn(auth, "/?#");
    const char *at = NULL;
    for (const char *p = auth; p < auth_end; p++)
        if (*p == '@')
            at = p;
    if (!at)
        return -1;
    const char *colon = memchr(auth, ':', (size_t)(at - auth));
    const char *user_end = colon ? colon : at;
    admin.prefix = strndup_or_null(url, (size_t)(user_end - url));
    admin.password_enc = colon ? strndup_or_null(colon + 1, (size_t)(at - colon - 1)) : NULL;
    const char *host = at + 1;
    const char *host_end = host;
    if (*host == '[')
        host_end = memchr(host, ']', (size_t)(auth_end - host));
    if (!host_end)
        return -1;
    const char *port = memchr(host_end, ':', (size_t)(auth_end - host_end));
    admin.host = strndup_or_null(host, (size_t)((port ? port : auth_end) - host));
    admin.port = port ? strndup_or_null(port + 1, (size_t)(auth_end - port - 1)) : NULL;
    const char *query = strchr(auth_end, '?');
    admin.query = query ? strdup(query + 1) : NULL;
    return admin.prefix && admin.host ? 0 : -1;
}

static void free_admin_url(void)
{
    free(admin.prefix);
    free(admin.password_enc);
    free(admin.host);
    free(admin.port);
    free(admin.query);
}

/* The admin URL with another password (percent-encoded), port, database
 * and extra query parameters; NULL keeps the admin URL's own. */
static char *make_url(fixture *f, const char *password_enc, const char *port, const char *dbname,
                      const char *extra_query)
{
    const char *pw = password_enc ? password_enc : admin.password_enc;
    const char *p = port ? port : admin.port;
    const char *q1 = admin.query ? admin.query : "";
    const char *q2 = extra_query ? extra_query : "";
    return fmt(f, "%s%s%s@%s%s%s/%s%s%s%s%s", admin.prefix, pw ? ":" : "", pw ? pw : "", admin.host,
               p ? ":" : "", p ? p : "", dbname, *q1 || *q2 ? "?" : "", q1, *q1 && *q2 ? "&" : "",
               q2);
}

/* Creates pmt_<name>_<pid>, makes it this test's database and opens it. */
static void fresh_database(fixture *f, const char *name)
{
    f->dbname = fmt(f, "pmt_%s_%ld", name, (long)getpid());
    pm_test_exec(f->admin, fmt(f, "DROP DATABASE IF EXISTS %s WITH (FORCE)", f->dbname));
    pm_test_exec(f->admin, fmt(f, "CREATE DATABASE %s", f->dbname));
    f->url = make_url(f, NULL, NULL, f->dbname, NULL);
    f->db = pm_test_open(f->url);
}

/* The first value of the first row of a formatted query on db, kept until
 * teardown; NULL for no row or SQL NULL. */
static char *query_text(fixture *f, pm_db *db, const char *format, ...)
{
    va_list ap;
    va_start(ap, format);
    char *sql = vfmt(format, ap);
    va_end(ap);
    assert_non_null(sql);
    keep(f, sql);
    char *value = pm_test_text(db, sql);
    return value ? keep(f, value) : NULL;
}

/* The value of a query that must return one; text so failures show it. */
#define assert_query(f, expected, ...)                                                             \
    assert_query_((f), (expected), fmt((f), __VA_ARGS__), __FILE__, __LINE__)

static void assert_query_(fixture *f, const char *expected, const char *sql, const char *file,
                          int line)
{
    char *value = query_text(f, f->db, "%s", sql);
    if (value && strcmp(value, expected) == 0)
        return;
    print_error("query returned %s%s%s, expected \"%s\":\n  %s\n", value ? "\"" : "",
                value ? value : "no value", value ? "\"" : "", expected, sql);
    _fail(file, line);
}

static int64_t advisory_locks_held(fixture *f)
{
    return pm_test_int(f->db, "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND "
                              "database = (SELECT oid FROM pg_database WHERE datname = "
                              "current_database())");
}

/* A TCP port on 127.0.0.1 with nothing listening: bound, read, released. */
static char *closed_port(fixture *f)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof(addr));
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    socklen_t len = sizeof(addr);
    int ok = bind(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0 &&
             getsockname(fd, (struct sockaddr *)&addr, &len) == 0;
    close(fd);
    assert_true(ok);
    return fmt(f, "%d", (int)ntohs(addr.sin_port));
}

/* A port on 127.0.0.1 where the kernel completes the TCP handshake but no
 * one ever reads or answers: a server that hangs. */
static char *silent_port(fixture *f)
{
    f->silent_fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(f->silent_fd >= 0);
    assert_int_equal(fcntl(f->silent_fd, F_SETFD, FD_CLOEXEC), 0);
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof(addr));
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(addr);
    assert_int_equal(bind(f->silent_fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
    assert_int_equal(listen(f->silent_fd, 16), 0);
    assert_int_equal(getsockname(f->silent_fd, (struct sockaddr *)&addr, &len), 0);
    return fmt(f, "%d", (int)ntohs(addr.sin_port));
}

/* ==== Running the binaries ==== */

/* The child's environment: PATH, the fixture's sleep when given, and the
 * sanitizer settings of this process. Nothing else: no POBLYSH_DATABASE_URL,
 * no PG* variables. */
static char **child_environment(fixture *f, const char *sleep_seconds)
{
    static const char *const passed[] = {"ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"};
    char **envp = keep(f, calloc(8, sizeof(*envp)));
    assert_non_null(envp);
    size_t n = 0;
    envp[n++] = "PATH=/usr/local/bin:/usr/bin:/bin";
    if (sleep_seconds)
        envp[n++] = fmt(f, "POBLYSH_FIXTURE_SLEEP=%s", sleep_seconds);
    for (size_t i = 0; i < PM_ARRAY_LEN(passed); i++) {
        const char *value = getenv(passed[i]);
        if (value)
            envp[n++] = fmt(f, "%s=%s", passed[i], value);
    }
    envp[n] = NULL;
    return envp;
}

/* Starts `binary args...`; the child is the fixture's until reaped. */
static child *spawn(fixture *f, const char *binary, const char *sleep_seconds,
                    const char *const *args)
{
    assert_true(f->nchildren < MAX_CHILDREN);
    size_t nargs = 0;
    while (args[nargs])
        nargs++;
    char **argv = keep(f, calloc(nargs + 2, sizeof(*argv)));
    assert_non_null(argv);
    argv[0] = (char *)binary;
    for (size_t i = 0; i < nargs; i++)
        argv[i + 1] = (char *)args[i];
    char **envp = child_environment(f, sleep_seconds);
    child *c = &f->children[f->nchildren];
    memset(c, 0, sizeof(*c));
    clock_gettime(CLOCK_MONOTONIC, &c->started);
    c->pid = pm_test_spawn(binary, argv, envp, NULL, &c->out_fd, &c->err_fd);
    f->nchildren++;
    return c;
}

/* Reads the child's output to its end, waits for it (killing it after
 * timeout_ms), and returns the outcome, owned by the fixture. */
static const run_result *collect(fixture *f, child *c, int timeout_ms)
{
    run_result *r = calloc(1, sizeof(*r));
    assert_non_null(r);
    run_result **runs = realloc(f->runs, (f->nruns + 1) * sizeof(*runs));
    if (!runs) {
        free(r);
        fail_msg("out of memory");
    }
    f->runs = runs;
    f->runs[f->nruns++] = r;

    buffer out = {NULL, 0, 0}, err = {NULL, 0, 0};
    struct pollfd fds[2] = {{c->out_fd, POLLIN, 0}, {c->err_fd, POLLIN, 0}};
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    int open_fds = 2, timed_out = 0;
    while (open_fds > 0) {
        int left = timeout_ms - (int)(seconds_since(&start) * 1000);
        int n = left > 0 ? poll(fds, 2, left) : 0;
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            timed_out = 1;
            if (!c->exited)
                kill(c->pid, SIGKILL);
            break;
        }
        for (int i = 0; i < 2; i++) {
            if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            if (!read_some(fds[i].fd, i == 0 ? &out : &err)) {
                close(fds[i].fd);
                fds[i].fd = -1;
                open_fds--;
            }
        }
    }
    for (int i = 0; i < 2; i++)
        if (fds[i].fd >= 0)
            close(fds[i].fd);
    c->out_fd = c->err_fd = -1;
    r->out = take_buffer(&out);
    r->err = take_buffer(&err);
    if (!c->exited) {
        while (waitpid(c->pid, &c->wait_status, 0) < 0)
            assert_int_equal(errno, EINTR);
        c->exited = true;
    }
    r->seconds = seconds_since(&c->started);
    int ws = c->wait_status;
    r->status = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
    if (timed_out)
        fail_msg("the child did not finish within %d ms\n--- stdout\n%s--- stderr\n%s---",
                 timeout_ms, r->out, r->err);
    return r;
}

static const run_result *run(fixture *f, const char *binary, const char *sleep_seconds,
                             const char *const *args)
{
    return collect(f, spawn(f, binary, sleep_seconds, args), RUN_TIMEOUT_MS);
}

/* Waits until a backend on this test's database sleeps in pg_sleep and
 * returns its PID; fails at once, showing its output, if c exits first. */
static int64_t wait_for_pg_sleep(fixture *f, child *c)
{
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    while (seconds_since(&start) * 1000 < SLEEP_WAIT_MS) {
        char *pid =
            query_text(f, f->db,
                       "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                       "AND pid <> pg_backend_pid() AND wait_event = 'PgSleep'");
        if (pid)
            return strtoll(pid, NULL, 10);
        if (waitpid(c->pid, &c->wait_status, WNOHANG) == c->pid) {
            c->exited = true;
            const run_result *r = collect(f, c, RUN_TIMEOUT_MS);
            fail_msg(
                "the child exited (%d) before running pg_sleep\n--- stdout\n%s--- stderr\n%s---",
                r->status, r->out, r->err);
        }
        sleep_ms(50);
    }
    fail_msg("no backend ran pg_sleep within %d ms", SLEEP_WAIT_MS);
    return -1;
}

/* ==== Assertions that show the run ==== */

#define assert_contains(text, needle) assert_contains_((text), (needle), #text, __FILE__, __LINE__)
#define assert_lacks(text, needle) assert_lacks_((text), (needle), #text, __FILE__, __LINE__)

static void assert_contains_(const char *text, const char *needle, const char *what,
                             const char *file, int line)
{
    if (strstr(text, needle))
        return;
    print_error("%s does not contain \"%s\":\n---\n%s---\n", what, needle, text);
    _fail(file, line);
}

static void assert_lacks_(const char *text, const char *needle, const char *what, const char *file,
                          int line)
{
    if (!strstr(text, needle))
        return;
    print_error("%s contains \"%s\" but must not:\n---\n%s---\n", what, needle, text);
    _fail(file, line);
}

/* The number printed right after prefix in text; fails when absent. */
static int64_t number_after(const char *text, const char *prefix)
{
    const char *p = strstr(text, prefix);
    if (!p)
        fail_msg("\"%s\" not found in:\n---\n%s---", prefix, text);
    char *end;
    long long v = strtoll(p + strlen(prefix), &end, 10);
    if (end == p + strlen(prefix))
        fail_msg("no number after \"%s\" in:\n---\n%s---", prefix, text);
    return v;
}

/* Neither the password nor its URL form may appear in what a run printed. */
static void assert_no_secret(const run_result *r, const char *raw, const char *encoded)
{
    assert_lacks(r->out, raw);
    assert_lacks(r->err, raw);
    if (encoded) {
        assert_lacks(r->out, encoded);
        assert_lacks(r->err, encoded);
    }
}

/* ==== The tenants baseline ==== */

static void test_postgres__tenants_table_matches_the_seed(void **state)
{
    fixture *f = *state;
    fresh_database(f, "tenants");
    time_t before = time(NULL);
    const run_result *r = run(f, cli_path, NULL, ARGS("--database-url", f->url, "migrate", "up"));
    time_t after = time(NULL);
    assert_exit(r, 0);
    assert_contains(r->out, fmt(f, "Database: %s (postgres, profile local)\n",
                                make_url(f, "***", NULL, f->dbname, NULL)));
    assert_contains(r->out, "Applying " TENANTS " ... done (");
    assert_contains(r->out, "Applied 1 migration.\n");
    assert_no_secret(r, raw_password, admin.password_enc);

    const char *column = "SELECT data_type || '|' || is_nullable || '|' || "
                         "coalesce(column_default, '<none>') FROM information_schema.columns "
                         "WHERE table_schema = 'public' AND table_name = 'tenants' AND "
                         "column_name = '%s'";
    assert_query(f, "uuid|NO|<none>", column, "id");
    assert_query(f, "text|YES|<none>", column, "name");
    assert_query(f, "timestamp with time zone|NO|now()", column, "created_at");
    assert_query(f, "id,name,created_at",
                 "SELECT string_agg(column_name::text, ',' ORDER BY ordinal_position) FROM "
                 "information_schema.columns WHERE table_schema = 'public' AND table_name = "
                 "'tenants'");
    assert_query(f, "id",
                 "SELECT string_agg(k.column_name::text, ',') FROM "
                 "information_schema.table_constraints c JOIN information_schema.key_column_usage "
                 "k ON k.constraint_schema = c.constraint_schema AND k.constraint_name = "
                 "c.constraint_name AND k.table_name = c.table_name WHERE c.table_schema = "
                 "'public' AND c.table_name = 'tenants' AND c.constraint_type = 'PRIMARY KEY'");

    assert_int_equal(pm_test_history_count(f->db), 1);
    assert_query(f, TENANTS, "SELECT version FROM seaql_migrations");
    int64_t applied_at = pm_test_int(f->db, "SELECT applied_at FROM seaql_migrations");
    assert_in_range(applied_at, (int64_t)before, (int64_t)after);
    assert_query(f, "t",
                 "SELECT execution_ms >= 0 AND checksum LIKE 'sha256:%%' FROM seaql_migrations");
    assert_int_equal(advisory_locks_held(f), 0);
}

/* ==== A failing statement inside a batch ==== */

#define BAD_TABLE_INSERT "INSERT INTO no_such_table_xyz VALUES (1)"

static int up_third_fails(pm_schema *s, const void *data)
{
    (void)data;
    int rc = pm_schema_exec(s, "CREATE TABLE pmt_items (id INTEGER PRIMARY KEY)");
    if (rc == 0)
        rc = pm_schema_exec(s, "INSERT INTO pmt_items VALUES (1)");
    if (rc == 0)
        rc = pm_schema_exec(s, BAD_TABLE_INSERT);
    return rc;
}

static int up_second_fails(pm_schema *s, const void *data)
{
    (void)data;
    int rc = pm_schema_exec(s, "CREATE TABLE pmt_items (id INTEGER PRIMARY KEY)");
    if (rc == 0)
        rc = pm_schema_exec(s, BAD_TABLE_INSERT);
    if (rc == 0)
        rc = pm_schema_exec(s, "SELECT 1 / 0"); /* never reached: a different error if it were */
    return rc;
}

#define SYNTAX_ERROR_INSERT "INSERT INTO pmt_items VALUS (2)"

static int up_third_has_a_syntax_error(pm_schema *s, const void *data)
{
    (void)data;
    int rc = pm_schema_exec(s, "CREATE TABLE pmt_items (id INTEGER PRIMARY KEY)");
    if (rc == 0) /* 'é' is two bytes but one character: positions count characters */
        rc = pm_schema_exec(s, "INSERT INTO pmt_items VALUES (length('h\xc3\xa9llo'))");
    if (rc == 0)
        rc = pm_schema_exec(s, SYNTAX_ERROR_INSERT);
    return rc;
}

/* One pm_schema_exec() holding two statements; the second fails. */
static int up_split_statement_fails(pm_schema *s, const void *data)
{
    (void)data;
    int rc = pm_schema_exec(s, "CREATE TABLE pmt_items (id INTEGER PRIMARY KEY)");
    if (rc == 0)
        rc = pm_schema_exec(s, "INSERT INTO pmt_items VALUES (10);\n"
                               "  INSERT INTO pmt_items (id) VALUES (10) ;");
    return rc;
}

static int down_drop_items(pm_schema *s, const void *data)
{
    (void)data;
    return pm_schema_drop_table(s, "pmt_items", PM_IF_EXISTS);
}

/* A migration of this file: default options, no checksum, no data. */
#define MIGRATION(name, up, down)                                                                  \
    {                                                                                              \
        name, up, down, PM_MIGRATION_DEFAULT, NULL, NULL                                           \
    }

static const pm_migration good_first = PM_TEST_MIGRATION("m2024_01_15_000000_good", "pmt_good");
static const pm_migration third_fails =
    MIGRATION("m2024_02_01_000000_third_fails", up_third_fails, down_drop_items);
static const pm_migration second_fails =
    MIGRATION("m2024_02_01_000000_second_fails", up_second_fails, down_drop_items);
static const pm_migration syntax_fails =
    MIGRATION("m2024_02_01_000000_syntax_fails", up_third_has_a_syntax_error, down_drop_items);
static const pm_migration split_fails =
    MIGRATION("m2024_02_01_000000_split_fails", up_split_statement_fails, down_drop_items);

/* Runs up on set and checks the failure: migration at fault, statement,
 * SQLSTATE, and that nothing of the failed migration remains. */
static void assert_up_fails(fixture *f, const pm_migration *const *set, size_t count,
                            size_t expect_applied, const pm_migration *failing,
                            const char *statement, const char *sqlstate, const char *message)
{
    pm_test_ok(pm_engine_new(&f->engine, f->db, set, count, NULL, &f->err), &f->err);
    size_t applied = 99;
    int rc = pm_engine_up(f->engine, PM_ALL, &applied, &f->err);
    assert_int_equal(rc, PM_EDB);
    assert_int_equal(f->err.code, PM_EDB);
    assert_int_equal(applied, expect_applied);
    assert_non_null(f->err.migration);
    assert_string_equal(f->err.migration, failing->name);
    assert_non_null(f->err.statement);
    assert_string_equal(f->err.statement, statement);
    assert_non_null(f->err.db_code);
    assert_string_equal(f->err.db_code, sqlstate);
    assert_non_null(f->err.message);
    assert_contains(f->err.message, message);

    assert_false(pm_test_has_table(f->db, "pmt_items"));
    assert_int_equal(pm_test_history_count(f->db), (int64_t)expect_applied);
    assert_query(f, "0", "SELECT count(*) FROM seaql_migrations WHERE version = '%s'",
                 failing->name);
    assert_int_equal(advisory_locks_held(f), 0);
    /* The connection is usable afterwards: no transaction was left open. */
    assert_int_equal(pm_test_int(f->db, "SELECT 41 + 1"), 42);
}

static void test_postgres__failing_third_statement_rolls_back_and_is_named(void **state)
{
    fixture *f = *state;
    fresh_database(f, "third_fails");
    const pm_migration *set[] = {&third_fails};
    assert_up_fails(f, set, 1, 0, &third_fails, BAD_TABLE_INSERT, "42P01",
                    "relation \"no_such_table_xyz\" does not exist");
}

static void test_postgres__failing_second_statement_is_named_not_a_neighbour(void **state)
{
    fixture *f = *state;
    fresh_database(f, "second_fails");
    const pm_migration *set[] = {&good_first, &second_fails};
    assert_up_fails(f, set, 2, 1, &second_fails, BAD_TABLE_INSERT, "42P01",
                    "relation \"no_such_table_xyz\" does not exist");
    /* The migration before it committed in its own batch and stays. */
    assert_true(pm_test_has_table(f->db, "pmt_good"));
    assert_query(f, good_first.name, "SELECT version FROM seaql_migrations");
}

/* Runs up on a set of one failing migration, leaving the error in f->err. */
static void run_failing_up(fixture *f, const pm_migration *m)
{
    const pm_migration *set[] = {m};
    pm_engine_free(f->engine);
    f->engine = NULL;
    pm_test_ok(pm_engine_new(&f->engine, f->db, set, 1, NULL, &f->err), &f->err);
    assert_int_equal(pm_engine_up(f->engine, PM_ALL, NULL, &f->err), PM_EDB);
    assert_non_null(f->err.message);
}

/* The message says "at character N of the statement" and prints the
 * statement: N must count in that statement, not in the batch it was sent
 * in. */
static void test_postgres__error_position_counts_within_the_failing_statement(void **state)
{
    fixture *f = *state;
    fresh_database(f, "error_position");
    run_failing_up(f, &third_fails); /* "INSERT INTO no_such_table_xyz ...": the table at 13 */
    assert_contains(f->err.message, "(at character 13 of the statement)");
    run_failing_up(f, &syntax_fails); /* "INSERT INTO pmt_items VALUS (2)": VALUS at 23 */
    assert_contains(f->err.message, "(at character 23 of the statement)");
}

/* A syntax error stops the server before it runs any statement of the
 * batch: the driver must still name the statement it is in. */
static void test_postgres__syntax_error_in_third_statement_is_named(void **state)
{
    fixture *f = *state;
    fresh_database(f, "syntax_fails");
    const pm_migration *set[] = {&syntax_fails};
    assert_up_fails(f, set, 1, 0, &syntax_fails, SYNTAX_ERROR_INSERT, "42601",
                    "syntax error at or near \"VALUS\"");
}

static void test_postgres__failing_statement_of_a_multi_statement_exec_is_named(void **state)
{
    fixture *f = *state;
    fresh_database(f, "split_fails");
    const pm_migration *set[] = {&split_fails};
    assert_up_fails(f, set, 1, 0, &split_fails, "INSERT INTO pmt_items (id) VALUES (10)", "23505",
                    "duplicate key");
}

/* Raw SQL that ends in a line comment, as SQL copied from a file often does:
 * the statements after it in the batch must not be swallowed by it. */
static int up_ends_in_line_comment(pm_schema *s, const void *data)
{
    (void)data;
    int rc = pm_schema_exec(s, "CREATE TABLE pmt_commented (id INTEGER) -- the note of the author");
    if (rc == 0)
        rc = pm_schema_exec(s, "INSERT INTO pmt_commented VALUES (7) -- and another");
    return rc;
}

static int down_drop_commented(pm_schema *s, const void *data)
{
    (void)data;
    return pm_schema_drop_table(s, "pmt_commented", 0);
}

static void test_postgres__statement_ending_in_a_line_comment_applies(void **state)
{
    fixture *f = *state;
    fresh_database(f, "line_comment");
    static const pm_migration commented =
        MIGRATION("m2024_02_15_000000_commented", up_ends_in_line_comment, down_drop_commented);
    const pm_migration *set[] = {&commented};
    pm_test_ok(pm_engine_new(&f->engine, f->db, set, 1, NULL, &f->err), &f->err);
    size_t applied = 0;
    pm_test_ok(pm_engine_up(f->engine, PM_ALL, &applied, &f->err), &f->err);
    assert_int_equal(applied, 1);
    assert_query(f, "7", "SELECT string_agg(id::text, ',') FROM pmt_commented");
    assert_query(f, commented.name, "SELECT version FROM seaql_migrations");
}

/* ==== Concurrent runners ==== */

#define RUNNERS 8

/* Starts RUNNERS `migrate up` at once and checks each of the migrations
 * was applied by exactly one of them. The lock is taken per migration (a
 * transaction-level advisory lock), so runners may share the work: one that
 * finds a migration applied meanwhile says it skipped it. */
static void run_concurrent_ups(fixture *f, const char *binary, const char *sleep_seconds,
                               size_t migrations)
{
    child *children[RUNNERS];
    for (int i = 0; i < RUNNERS; i++)
        children[i] =
            spawn(f, binary, sleep_seconds, ARGS("--database-url", f->url, "migrate", "up"));
    size_t applied = 0;
    for (int i = 0; i < RUNNERS; i++) {
        const run_result *r = collect(f, children[i], RUN_TIMEOUT_MS);
        assert_exit(r, 0);
        applied += count_occurrences(r->out, " ... done (");
        assert_int_equal(count_occurrences(r->out, " ... done ("),
                         count_occurrences(r->out, "Applying "));
    }
    assert_int_equal(applied, migrations);
    assert_int_equal(advisory_locks_held(f), 0);
}

static void test_postgres__eight_concurrent_fixture_ups_apply_each_migration_once(void **state)
{
    fixture *f = *state;
    fresh_database(f, "concurrent_fixture");
    run_concurrent_ups(f, fixture_path, "1", 2);
    assert_query(f, "2", "SELECT count(*) FROM seaql_migrations");
    assert_query(f, TENANTS "," SLEEP,
                 "SELECT string_agg(version, ',' ORDER BY version) FROM seaql_migrations");
    assert_true(pm_test_has_table(f->db, "tenants"));
    assert_true(pm_test_has_table(f->db, "fixture_slept"));
}

static void test_postgres__eight_concurrent_ups_apply_tenants_once(void **state)
{
    fixture *f = *state;
    fresh_database(f, "concurrent_cli");
    run_concurrent_ups(f, cli_path, NULL, 1);
    assert_query(f, "1", "SELECT count(*) FROM seaql_migrations");
    assert_query(f, TENANTS, "SELECT version FROM seaql_migrations");
}

/* ==== The migration lock ==== */

static void test_postgres__lock_timeout_exits_3_naming_the_holder_pid(void **state)
{
    fixture *f = *state;
    fresh_database(f, "lock_timeout");
    child *holder = spawn(f, fixture_path, "20", ARGS("--database-url", f->url, "migrate", "up"));
    int64_t sleeper = wait_for_pg_sleep(f, holder);

    /* The advisory lock is held by the sleeping runner, under the key the
     * driver documents. */
    int64_t holder_pid = pm_test_int(
        f->db, "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted AND database = "
               "(SELECT oid FROM pg_database WHERE datname = current_database())");
    assert_int_equal(holder_pid, sleeper);
    assert_query(f, "t",
                 "SELECT ((classid::bigint << 32) | objid::bigint) = "
                 "hashtextextended('poblysh:public.seaql_migrations', 0) FROM pg_locks WHERE "
                 "locktype = 'advisory' AND granted AND pid = %lld",
                 (long long)holder_pid);

    const run_result *r = run(
        f, cli_path, NULL, ARGS("--database-url", f->url, "--lock-timeout", "1", "migrate", "up"));
    assert_exit(r, 3);
    if (r->seconds < 0.9 || r->seconds > 5.0)
        fail_msg("the lock wait took %.2f s, expected about 1 s", r->seconds);
    assert_contains(r->err, "migration lock not acquired within 1 s");
    assert_int_equal(number_after(r->err, "PID "), holder_pid);
    assert_lacks(r->out, "Applying");
    assert_no_secret(r, raw_password, admin.password_enc);

    struct timespec sent;
    clock_gettime(CLOCK_MONOTONIC, &sent);
    assert_int_equal(kill(holder->pid, SIGINT), 0);
    const run_result *h = collect(f, holder, 10000);
    assert_exit(h, 130);
    if (seconds_since(&sent) > 2.0)
        fail_msg("the lock holder took %.2f s to stop after SIGINT", seconds_since(&sent));
    assert_query(f, TENANTS, "SELECT string_agg(version, ',') FROM seaql_migrations");
    assert_int_equal(advisory_locks_held(f), 0);
}

/* Waits until another backend than skip_pid waits for the migration lock
 * (taken per transaction with pg_advisory_xact_lock), i.e. a second runner
 * is waiting for it. */
static void wait_for_lock_poller(fixture *f, int64_t skip_pid)
{
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    while (seconds_since(&start) * 1000 < SLEEP_WAIT_MS) {
        if (query_text(f, f->db,
                       "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND "
                       "pid NOT IN (pg_backend_pid(), %lld) AND query LIKE "
                       "'%%pg_advisory_xact_lock(%%' AND wait_event_type = 'Lock'",
                       (long long)skip_pid))
            return;
        sleep_ms(20);
    }
    fail_msg("no second runner waited for the migration lock within %d ms", SLEEP_WAIT_MS);
}

static void test_postgres__sigint_while_waiting_for_the_lock_exits_130(void **state)
{
    fixture *f = *state;
    fresh_database(f, "lock_wait_sigint");
    child *holder = spawn(f, fixture_path, "20", ARGS("--database-url", f->url, "migrate", "up"));
    int64_t holder_pid = wait_for_pg_sleep(f, holder);
    child *waiter = spawn(f, cli_path, NULL, ARGS("--database-url", f->url, "migrate", "up"));
    wait_for_lock_poller(f, holder_pid);
    sleep_ms(250); /* well into the polling loop */

    struct timespec sent;
    clock_gettime(CLOCK_MONOTONIC, &sent);
    assert_int_equal(kill(waiter->pid, SIGINT), 0);
    const run_result *r = collect(f, waiter, 10000);
    assert_exit(r, 130);
    if (seconds_since(&sent) > 2.0)
        fail_msg("the waiting runner took %.2f s to stop after SIGINT", seconds_since(&sent));
    assert_contains(r->err, "interrupted while waiting for the migration lock");
    assert_lacks(r->out, "Applying");
    /* The holder was not disturbed: it still sleeps, holding the lock. */
    assert_query(f, fmt(f, "%lld", (long long)holder_pid),
                 "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted AND database = "
                 "(SELECT oid FROM pg_database WHERE datname = current_database())");

    assert_int_equal(kill(holder->pid, SIGINT), 0);
    assert_exit(collect(f, holder, 10000), 130);
    assert_int_equal(advisory_locks_held(f), 0);
}

/* The lock key holds the schema: a runner on public does not wait for one
 * that holds the lock on schema b. b's key is negative, so the timeout
 * message must find the holder of a key whose high half has its top bit set. */
static void test_postgres__lock_is_per_schema_and_names_the_holder_of_a_negative_key(void **state)
{
    fixture *f = *state;
    fresh_database(f, "lock_schemas");
    pm_test_exec(f->db, "CREATE SCHEMA b");
    assert_query(f, "-2545608232706919349",
                 "SELECT hashtextextended('poblysh:b.seaql_migrations', 0)");
    char *b_url = make_url(f, NULL, NULL, f->dbname, "options=-csearch_path%3Db");
    child *holder = spawn(f, fixture_path, "20", ARGS("--database-url", b_url, "migrate", "up"));
    int64_t holder_pid = wait_for_pg_sleep(f, holder);

    const run_result *r = run(
        f, cli_path, NULL, ARGS("--database-url", b_url, "--lock-timeout", "1", "migrate", "up"));
    assert_exit(r, 3);
    assert_int_equal(number_after(r->err, "PID "), holder_pid);

    r = run(f, cli_path, NULL,
            ARGS("--database-url", f->url, "--lock-timeout", "1", "migrate", "up"));
    assert_exit(r, 0);
    assert_contains(r->out, "Applied 1 migration.\n");
    assert_query(f, TENANTS, "SELECT version FROM public.seaql_migrations");

    assert_int_equal(kill(holder->pid, SIGINT), 0);
    assert_exit(collect(f, holder, 10000), 130);
    assert_query(f, TENANTS, "SELECT string_agg(version, ',') FROM b.seaql_migrations");
    assert_int_equal(advisory_locks_held(f), 0);
}

/* ==== Connection failures ==== */

/* Runs up against url with and without -v: exit 4, the reason on stderr,
 * nothing on stdout, and neither form of the password anywhere. */
static void assert_cannot_connect(fixture *f, const char *url, const char *reason,
                                  const char *password, const char *password_enc)
{
    for (int verbose = 0; verbose <= 1; verbose++) {
        const run_result *r =
            verbose ? run(f, cli_path, NULL, ARGS("-v", "--database-url", url, "migrate", "up"))
                    : run(f, cli_path, NULL, ARGS("--database-url", url, "migrate", "up"));
        assert_exit(r, 4);
        assert_contains(r->err, "poblysh: error: cannot connect to PostgreSQL: ");
        assert_contains(r->err, reason);
        assert_int_equal(strlen(r->out), 0);
        assert_no_secret(r, password, password_enc);
        if (password_enc != admin.password_enc)
            assert_no_secret(r, raw_password, admin.password_enc);
        if (verbose)
            assert_contains(r->err, "database URL postgresql://poblysh:***@");
        if (r->seconds > 5.0)
            fail_msg("failing to connect took %.2f s", r->seconds);
    }
}

#define WRONG_PASSWORD "Wr0ng@pw:x"
#define WRONG_PASSWORD_ENC "Wr0ng%40pw%3Ax"

static void test_postgres__wrong_password_exits_4_without_printing_it(void **state)
{
    fixture *f = *state;
    char *url = make_url(f, WRONG_PASSWORD_ENC, NULL, "poblysh_test", NULL);
    assert_cannot_connect(f, url, "password authentication failed for user \"poblysh\"",
                          WRONG_PASSWORD, WRONG_PASSWORD_ENC);
}

static void test_postgres__unknown_database_exits_4_without_printing_the_password(void **state)
{
    fixture *f = *state;
    char *dbname = fmt(f, "pmt_missing_%ld", (long)getpid());
    assert_cannot_connect(f, make_url(f, NULL, NULL, dbname, NULL),
                          fmt(f, "database \"%s\" does not exist", dbname), raw_password,
                          admin.password_enc);
}

static void test_postgres__closed_port_exits_4_without_printing_the_password(void **state)
{
    fixture *f = *state;
    assert_cannot_connect(f, make_url(f, NULL, closed_port(f), "poblysh_test", NULL),
                          "Connection refused", raw_password, admin.password_enc);
}

static void test_postgres__wait_retries_a_closed_port_then_exits_4(void **state)
{
    fixture *f = *state;
    char *url = make_url(f, NULL, closed_port(f), "poblysh_test", NULL);
    const run_result *r =
        run(f, cli_path, NULL, ARGS("--database-url", url, "--wait", "2", "migrate", "up"));
    assert_exit(r, 4);
    assert_contains(r->err, "Connection refused");
    assert_contains(r->err, "(gave up after --wait)");
    assert_no_secret(r, raw_password, admin.password_enc);
    if (r->seconds < 1.9 || r->seconds > 8.0)
        fail_msg("--wait 2 on a closed port took %.2f s, expected a little over 2 s", r->seconds);
}

static void test_postgres__wait_does_not_retry_a_wrong_password(void **state)
{
    fixture *f = *state;
    char *url = make_url(f, WRONG_PASSWORD_ENC, NULL, "poblysh_test", NULL);
    const run_result *r =
        run(f, cli_path, NULL, ARGS("--database-url", url, "--wait", "10", "migrate", "up"));
    assert_exit(r, 4);
    assert_contains(r->err, "password authentication failed");
    assert_lacks(r->err, "gave up after --wait");
    assert_no_secret(r, WRONG_PASSWORD, WRONG_PASSWORD_ENC);
    if (r->seconds > 1.5)
        fail_msg("a refused password was retried: %.2f s with --wait 10", r->seconds);
}

/* A server that accepts and never answers must not hang the CLI: the
 * driver's default connect_timeout (10 s) ends the attempt, and a
 * connect_timeout in the URL overrides it. */
static void test_postgres__silent_server_times_out_after_the_default_connect_timeout(void **state)
{
    fixture *f = *state;
    char *port = silent_port(f);
    const run_result *r =
        run(f, cli_path, NULL,
            ARGS("--database-url", make_url(f, NULL, port, "poblysh_test", NULL), "migrate", "up"));
    assert_exit(r, 4);
    assert_contains(r->err, "timeout expired");
    assert_no_secret(r, raw_password, admin.password_enc);
    if (r->seconds < 9.0 || r->seconds > 15.0)
        fail_msg("a silent server was given up after %.2f s, expected 10 s", r->seconds);

    r = run(f, cli_path, NULL,
            ARGS("--database-url", make_url(f, NULL, port, "poblysh_test", "connect_timeout=2"),
                 "migrate", "up"));
    assert_exit(r, 4);
    assert_contains(r->err, "timeout expired");
    if (r->seconds < 1.5 || r->seconds > 5.0)
        fail_msg("connect_timeout=2 gave up after %.2f s", r->seconds);
}

/* ==== Interrupting a running migration ==== */

static void interrupt_sleeping_migration(fixture *f, const char *name, int sig)
{
    fresh_database(f, name);
    child *c = spawn(f, fixture_path, "30", ARGS("--database-url", f->url, "migrate", "up"));
    wait_for_pg_sleep(f, c);
    struct timespec sent;
    clock_gettime(CLOCK_MONOTONIC, &sent);
    assert_int_equal(kill(c->pid, sig), 0);
    const run_result *r = collect(f, c, 10000);
    double took = seconds_since(&sent);
    assert_exit(r, 130);
    if (took > 2.0)
        fail_msg("the runner took %.2f s to stop after signal %d", took, sig);
    assert_contains(r->out, "Applying " TENANTS " ... done (");
    assert_contains(r->out, "Applying " SLEEP " ... FAILED\n");
    assert_contains(r->err, SLEEP);
    assert_contains(r->err, "interrupted");
    assert_contains(r->err, "rolled back");
    assert_contains(r->err, "  statement: SELECT pg_sleep(30)\n");
    assert_no_secret(r, raw_password, admin.password_enc);

    assert_true(pm_test_has_table(f->db, "tenants"));
    assert_false(pm_test_has_table(f->db, "fixture_slept"));
    assert_query(f, TENANTS, "SELECT string_agg(version, ',') FROM seaql_migrations");
    assert_int_equal(advisory_locks_held(f), 0);
    assert_query(f, "0",
                 "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND "
                 "pid <> pg_backend_pid() AND state <> 'idle'");
}

static void test_postgres__sigint_during_pg_sleep_rolls_back_and_exits_130(void **state)
{
    interrupt_sleeping_migration(*state, "sigint", SIGINT);
}

static void test_postgres__sigterm_during_pg_sleep_rolls_back_and_exits_130(void **state)
{
    interrupt_sleeping_migration(*state, "sigterm", SIGTERM);
}

/* ==== A database SeaORM migrated ==== */

static void test_postgres__seaorm_history_table_is_adopted_without_reapplying(void **state)
{
    fixture *f = *state;
    fresh_database(f, "seaorm");
    pm_test_exec(f->db, "CREATE TABLE \"seaql_migrations\" (\"version\" varchar NOT NULL PRIMARY "
                        "KEY, \"applied_at\" bigint NOT NULL)");
    pm_test_exec(f->db, "INSERT INTO seaql_migrations VALUES ('" TENANTS "', 1700000000)");
    pm_test_exec(f->db, "CREATE TABLE tenants (id uuid PRIMARY KEY NOT NULL, name text NULL, "
                        "created_at timestamptz NOT NULL DEFAULT now())");
    pm_test_exec(f->db, "INSERT INTO tenants (id, name) VALUES "
                        "('00000000-0000-0000-0000-000000000001', 'kept')");

    const run_result *r = run(f, cli_path, NULL, ARGS("--database-url", f->url, "migrate", "up"));
    assert_exit(r, 0);
    assert_contains(r->out, "Nothing to apply: the database is up to date.\n");
    assert_lacks(r->out, "Applying");

    const char *column = "SELECT data_type || '|' || is_nullable FROM information_schema.columns "
                         "WHERE table_schema = 'public' AND table_name = 'seaql_migrations' AND "
                         "column_name = '%s'";
    assert_query(f, "character varying|YES", column, "checksum");
    assert_query(f, "bigint|YES", column, "execution_ms");
    assert_query(f, "character varying|NO", column, "version");
    assert_query(f, "bigint|NO", column, "applied_at");
    assert_query(f, TENANTS "|1700000000|t",
                 "SELECT version || '|' || applied_at || '|' || CASE WHEN checksum IS NULL AND "
                 "execution_ms IS NULL THEN 't' ELSE 'f' END FROM seaql_migrations");
    assert_query(f, "kept", "SELECT string_agg(name, ',') FROM tenants");

    r = run(f, cli_path, NULL, ARGS("--database-url", f->url, "migrate", "status"));
    assert_exit(r, 0);
    assert_contains(r->out, TENANTS "  applied (no checksum)  2023-11-14 22:13:20\n");
    assert_contains(r->out, "1 applied, 0 pending.\n");

    /* The upgraded table takes new rows with our columns filled. */
    r = run(f, fixture_path, "0", ARGS("--database-url", f->url, "migrate", "up"));
    assert_exit(r, 0);
    assert_contains(r->out, "Applied 1 migration.\n");
    assert_query(f, "t",
                 "SELECT CASE WHEN execution_ms >= 0 THEN 't' ELSE 'f' END FROM seaql_migrations "
                 "WHERE version = '" SLEEP "'");
    assert_query(f, "1700000000",
                 "SELECT applied_at FROM seaql_migrations WHERE version = '" TENANTS "'");
}

/* ==== search_path ==== */

static void test_postgres__search_path_option_puts_tables_in_that_schema(void **state)
{
    fixture *f = *state;
    fresh_database(f, "search_path");
    pm_test_exec(f->db, "CREATE SCHEMA app");
    char *app_url = make_url(f, NULL, NULL, f->dbname, "options=-csearch_path%3Dapp");

    const run_result *r = run(f, cli_path, NULL, ARGS("--database-url", app_url, "migrate", "up"));
    assert_exit(r, 0);
    assert_contains(r->out, "Applied 1 migration.\n");
    assert_query(f, "app.seaql_migrations,app.tenants",
                 "SELECT string_agg(table_schema || '.' || table_name, ',' ORDER BY table_schema, "
                 "table_name) FROM information_schema.tables WHERE table_schema NOT IN "
                 "('pg_catalog', 'information_schema')");
    assert_query(f, TENANTS, "SELECT version FROM app.seaql_migrations");

    r = run(f, cli_path, NULL, ARGS("--database-url", app_url, "migrate", "status"));
    assert_exit(r, 0);
    assert_contains(r->out, TENANTS "  applied ");
    assert_contains(r->out, "1 applied, 0 pending.\n");

    r = run(f, cli_path, NULL, ARGS("--database-url", f->url, "migrate", "status"));
    assert_exit(r, 0);
    assert_contains(r->out, TENANTS "  pending\n");
    assert_contains(r->out, "0 applied, 1 pending.\n");
}

/* ==== Settings from poblysh.conf ==== */

/* A file in a fresh folder under /tmp, holding text; its path lives until
 * teardown (the folder is left for the system's cleaning). */
static char *temp_file(fixture *f, const char *name, const char *text)
{
    char *dir = fmt(f, "%s", "/tmp/pm_test_pg_conf_XXXXXX");
    assert_non_null(mkdtemp(dir));
    char *path = fmt(f, "%s/%s", dir, name);
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fputs(text, fp);
    assert_int_equal(fclose(fp), 0);
    return path;
}

/* A production profile given by its parts, the password in a file, drives
 * the connection, the migration lock's timeout and the statement timeout;
 * `config` shows where each came from and never the password. */
static void test_postgres__config_file_profile_drives_url_and_timeouts(void **state)
{
    fixture *f = *state;
    fresh_database(f, "config_file");
    char *password_file = temp_file(f, "pw", fmt(f, "%s\n", raw_password ? raw_password : ""));
    char *conf = temp_file(
        f, "poblysh.conf",
        fmt(f,
            "[default]\nlock_timeout = 30\n"
            "[production]\nscheme = postgresql\nhost = %s\n%s%s%suser = poblysh\ndbname = %s\n"
            "password_file = %s\nlock_timeout = 1\nstatement_timeout = 1s\n",
            admin.host, admin.port ? "port = " : "", admin.port ? admin.port : "",
            admin.port ? "\n" : "", f->dbname, password_file));
    const char *const base[] = {"--config", conf, "--profile", "production", "--no-env-file"};

    const run_result *r =
        run(f, cli_path, NULL, ARGS(base[0], base[1], base[2], base[3], base[4], "config"));
    assert_exit(r, 0);
    assert_contains(r->out, fmt(f, "database_url       postgresql://poblysh:***@%s", admin.host));
    assert_contains(r->out, "lock_timeout       1  (");
    assert_contains(r->out, "statement_timeout  1s  (");
    assert_no_secret(r, raw_password, admin.password_enc);

    /* the file's lock timeout: 1 s, not 30 s ([default]) nor 60 s */
    child *holder = spawn(f, fixture_path, "20", ARGS("--database-url", f->url, "migrate", "up"));
    wait_for_pg_sleep(f, holder);
    r = run(f, cli_path, NULL,
            ARGS(base[0], base[1], base[2], base[3], base[4], "-v", "migrate", "up"));
    assert_exit(r, 3);
    if (r->seconds < 0.9 || r->seconds > 5.0)
        fail_msg("the lock wait took %.2f s, expected about 1 s (poblysh.conf)", r->seconds);
    assert_contains(r->err, "migration lock not acquired within 1 s");
    assert_contains(r->err, "(from scheme, host, port, user, dbname)");
    assert_no_secret(r, raw_password, admin.password_enc);
    assert_int_equal(kill(holder->pid, SIGINT), 0);
    assert_exit(collect(f, holder, 10000), 130);

    /* the file's statement timeout stops the sleeping migration after 1 s */
    r = run(f, fixture_path, "5",
            ARGS(base[0], base[1], base[2], base[3], base[4], "migrate", "up"));
    assert_exit(r, 1);
    assert_contains(r->err, "statement timeout");
    if (r->seconds > 4.0)
        fail_msg("the migration ran %.2f s; statement_timeout = 1s in poblysh.conf", r->seconds);
    assert_no_secret(r, raw_password, admin.password_enc);
    assert_query(f, TENANTS, "SELECT string_agg(version, ',') FROM seaql_migrations");
}

/* ==== Timing ==== */

static void test_postgres__execution_ms_covers_the_server_side_sleep(void **state)
{
    fixture *f = *state;
    fresh_database(f, "execution_ms");
    const run_result *r =
        run(f, fixture_path, "1", ARGS("--database-url", f->url, "migrate", "up"));
    assert_exit(r, 0);
    assert_contains(r->out, "Applied 2 migrations.\n");
    int64_t shown = number_after(r->out, "Applying " SLEEP " ... done (");
    if (shown < 900 || shown > 10000)
        fail_msg("the CLI reported %lld ms for a 1 s sleep", (long long)shown);
    int64_t recorded =
        pm_test_int(f->db, "SELECT execution_ms FROM seaql_migrations WHERE version = '" SLEEP "'");
    if (recorded < 900 || recorded > 10000)
        fail_msg("execution_ms is %lld for a 1 s sleep", (long long)recorded);
    int64_t tenants_ms = pm_test_int(
        f->db, "SELECT execution_ms FROM seaql_migrations WHERE version = '" TENANTS "'");
    if (tenants_ms < 0 || tenants_ms >= 900)
        fail_msg("execution_ms of the tenants migration is %lld", (long long)tenants_ms);
}

/* A migration that asks the catalog half way: the driver must send what it
 * queued before the question, so the migration reaches the server in two
 * messages. Its execution_ms must still cover both. */
static int up_sleep_then_ask(pm_schema *s, const void *data)
{
    (void)data;
    bool exists = false;
    int rc = pm_schema_exec(s, "CREATE TABLE pmt_timed (id INTEGER)");
    if (rc == 0)
        rc = pm_schema_exec(s, "SELECT pg_sleep(1)");
    if (rc == 0)
        rc = pm_schema_has_table(s, "pmt_timed", &exists);
    if (rc == 0 && !exists)
        rc = PM_EMIGRATION; /* the table created above is visible inside the transaction */
    if (rc == 0)
        rc = pm_schema_exec(s, "INSERT INTO pmt_timed VALUES (1)");
    return rc;
}

static int down_drop_timed(pm_schema *s, const void *data)
{
    (void)data;
    return pm_schema_drop_table(s, "pmt_timed", 0);
}

static void note_applied_ms(const pm_event *ev, void *ctx)
{
    if (ev->kind == PM_EVENT_APPLIED)
        *(int64_t *)ctx = ev->elapsed_ms;
}

static void test_postgres__execution_ms_covers_work_sent_before_a_catalog_query(void **state)
{
    fixture *f = *state;
    fresh_database(f, "execution_ms_split");
    static const pm_migration timed =
        MIGRATION("m2024_03_01_000000_sleep_then_ask", up_sleep_then_ask, down_drop_timed);
    const pm_migration *set[] = {&timed};
    int64_t reported = -1;
    pm_engine_options opts = PM_ENGINE_OPTIONS_INIT;
    opts.progress = note_applied_ms;
    opts.progress_ctx = &reported;
    pm_test_ok(pm_engine_new(&f->engine, f->db, set, 1, &opts, &f->err), &f->err);
    size_t applied = 0;
    pm_test_ok(pm_engine_up(f->engine, PM_ALL, &applied, &f->err), &f->err);
    assert_int_equal(applied, 1);
    assert_query(f, "1", "SELECT count(*) FROM pmt_timed");
    if (reported < 900)
        fail_msg("the progress event reported %lld ms for a 1 s sleep", (long long)reported);
    int64_t recorded = pm_test_int(f->db, "SELECT execution_ms FROM seaql_migrations");
    if (recorded < 900 || recorded > 10000)
        fail_msg("execution_ms is %lld for a migration that slept 1 s before asking the catalog "
                 "(the progress event saw %lld ms)",
                 (long long)recorded, (long long)reported);
}

/* A migration's catalog check sends the batch but does not end it: what
 * the migration runs after it is queued again (and fails at commit), not
 * sent one statement at a time. */
static int exec_after_check_rc = 1;

static int up_check_then_fail(pm_schema *s, const void *data)
{
    (void)data;
    bool exists = false;
    int rc = pm_schema_has_table(s, "pmt_nowhere", &exists);
    if (rc == 0)
        rc = exec_after_check_rc = pm_schema_exec(s, "INSERT INTO pmt_nowhere VALUES (1)");
    return rc;
}

static void test_postgres__statements_after_a_catalog_check_are_still_batched(void **state)
{
    fixture *f = *state;
    fresh_database(f, "batch_after_check");
    static const pm_migration checked =
        MIGRATION("m2024_03_02_000000_check_then_fail", up_check_then_fail, down_drop_timed);
    const pm_migration *set[] = {&checked};
    pm_test_ok(pm_engine_new(&f->engine, f->db, set, 1, NULL, &f->err), &f->err);
    assert_int_equal(pm_engine_up(f->engine, PM_ALL, NULL, &f->err), PM_EDB);
    assert_int_equal(exec_after_check_rc, 0); /* queued, not run at once */
    assert_non_null(f->err.statement);
    assert_non_null(strstr(f->err.statement, "pmt_nowhere"));
}

/* Every test gets the fixture: an admin connection, and whatever it adds. */
/* ==== Migrations that cannot run in a transaction ==== */

static int up_concurrent_indexes(pm_schema *s, const void *data)
{
    (void)data;
    int rc = pm_schema_exec(s, "CREATE TABLE pmt_big (a INTEGER, b INTEGER)");
    if (rc == 0) /* one exec, two statements: each must go on its own */
        rc = pm_schema_exec(s, "CREATE INDEX CONCURRENTLY pmt_big_a ON pmt_big (a);\n"
                               "CREATE INDEX CONCURRENTLY pmt_big_b ON pmt_big (b);");
    return rc;
}

static int down_concurrent_indexes(pm_schema *s, const void *data)
{
    (void)data;
    return pm_schema_exec(s, "DROP INDEX CONCURRENTLY pmt_big_b; DROP INDEX CONCURRENTLY "
                             "pmt_big_a; DROP TABLE pmt_big");
}

static const pm_migration concurrent_indexes = {"m2024_07_01_000000_concurrent_indexes",
                                                up_concurrent_indexes,
                                                down_concurrent_indexes,
                                                PM_MIGRATION_NO_TRANSACTION,
                                                "sha256:ci",
                                                NULL};

static void test_postgres__create_index_concurrently_runs_without_a_transaction(void **state)
{
    fixture *f = *state;
    fresh_database(f, "concurrently");
    const pm_migration *set[] = {&concurrent_indexes};
    pm_test_ok(pm_engine_new(&f->engine, f->db, set, 1, NULL, &f->err), &f->err);
    pm_test_ok(pm_engine_up(f->engine, PM_ALL, NULL, &f->err), &f->err);
    assert_query(f, "2", "SELECT count(*) FROM pg_indexes WHERE tablename = 'pmt_big'");
    assert_query(f, "applied", "SELECT state FROM seaql_migrations");
    pm_test_ok(pm_engine_down(f->engine, 1, NULL, &f->err), &f->err);
    assert_false(pm_test_has_table(f->db, "pmt_big"));
    assert_int_equal(pm_test_history_count(f->db), 0);
}

/* What PostgreSQL can do, natively and the same through libdbi's pgsql
 * (which cannot report open transactions, so no rollback mode). */
static void test_postgres__capabilities_are_those_of_a_transactional_server(void **state)
{
    fixture *f = *state;
    fresh_database(f, "caps");
    const unsigned int server = PM_CAP_TRANSACTIONAL_DDL | PM_CAP_CLONE_TEMPLATE |
                                PM_CAP_SCRATCH_SCHEMA | PM_CAP_SCRATCH_DATABASE |
                                PM_CAP_READ_SCHEMA;
    assert_int_equal(pm_db_capabilities(f->db), server | PM_CAP_ROLLBACK_TESTDB);
    assert_string_equal(pm_db_backend_name(f->db), "postgres");
    unsigned int told = 0;
    pm_test_ok(pm_url_capabilities(f->url, &told, &f->err), &f->err);
    assert_int_equal(told, server | PM_CAP_ROLLBACK_TESTDB);
    const char *dbi = getenv("POBLYSH_TEST_DBI_PGSQL_URL");
    if (dbi && *dbi) {
        pm_db *db = pm_test_open(dbi);
        assert_int_equal(pm_db_capabilities(db), server);
        assert_string_equal(pm_db_backend_name(db), "postgres");
        pm_db_close(db);
    }
}

/* ==== A PGconn the service opened, and pm_startup_with() ==== */

static const pm_migration adopt_one =
    PM_TEST_MIGRATION("m2024_01_01_000001_adopt_one", "adopt_one");
static const pm_migration adopt_two =
    PM_TEST_MIGRATION("m2024_01_02_000001_adopt_two", "adopt_two");
static const pm_migration *const adopt_set[] = {&adopt_one, &adopt_two};

/* Connects to this test's database with libpq, as a service would. */
static PGconn *pq_connect(fixture *f)
{
    f->pq = PQconnectdb(f->url);
    if (PQstatus(f->pq) != CONNECTION_OK) /* libpq's message never quotes the password */
        fail_msg("PQconnectdb: %s", PQerrorMessage(f->pq));
    return f->pq;
}

/* Runs sql on pg; the first value of its first row (kept until teardown),
 * or "" for a command. */
static const char *pq_run(fixture *f, PGconn *pg, const char *sql)
{
    PGresult *res = PQexec(pg, sql);
    ExecStatusType status = PQresultStatus(res);
    const char *value = NULL;
    if (status == PGRES_TUPLES_OK && PQntuples(res) > 0)
        value = fmt(f, "%s", PQgetvalue(res, 0, 0));
    else if (status == PGRES_COMMAND_OK)
        value = "";
    char *message = value ? NULL : fmt(f, "%s", PQresultErrorMessage(res));
    PQclear(res);
    if (!value)
        fail_msg("%s: %s", sql, *message ? message : "no row");
    return value;
}

static void test_postgres__adopted_pgconn_is_migrated_and_usable_after_close(void **state)
{
    fixture *f = *state;
    fresh_database(f, "adopt");
    PGconn *pg = pq_connect(f);
    assert_string_equal(pq_run(f, pg, "SHOW client_min_messages"), "notice");

    pm_test_ok(pm_db_adopt_postgres(&f->adopted, pg, &f->err), &f->err);
    assert_ptr_equal(pm_db_native_handle(f->adopted), pg);
    assert_string_equal(pm_db_backend_name(f->adopted), "postgres");
    assert_contains(pm_db_url(f->adopted), fmt(f, "/%s", f->dbname));
    assert_lacks(pm_db_url(f->adopted), raw_password);
    /* NOTICEs would reach the service's notice processor: not sent meanwhile. */
    assert_string_equal(pq_run(f, pg, "SHOW client_min_messages"), "warning");
    pm_startup_options opts = PM_STARTUP_OPTIONS_INIT;
    opts.profile = "test";
    opts.db = f->adopted;
    pm_test_ok(pm_startup_with(NULL, adopt_set, 2, &opts, &f->err), &f->err);
    assert_true(pm_test_has_table(f->adopted, "adopt_two"));
    pm_db_close(f->adopted);
    f->adopted = NULL;

    /* The service's connection: open, usable, set back as it was, no lock. */
    assert_int_equal(PQstatus(pg), CONNECTION_OK);
    assert_int_equal(PQtransactionStatus(pg), PQTRANS_IDLE);
    pq_run(f, pg, "INSERT INTO adopt_one (id, name) VALUES (1, 'after close')");
    assert_string_equal(pq_run(f, pg, "SELECT count(*) FROM adopt_one"), "1");
    assert_string_equal(pq_run(f, pg,
                               "SELECT string_agg(version, ',' ORDER BY version) FROM "
                               "seaql_migrations"),
                        "m2024_01_01_000001_adopt_one,m2024_01_02_000001_adopt_two");
    assert_string_equal(pq_run(f, pg, "SHOW client_min_messages"), "notice");
    assert_string_equal(pq_run(f, pg,
                               "SELECT count(*) FROM pg_locks WHERE locktype = "
                               "'advisory' AND pid = pg_backend_pid()"),
                        "0");
    /* The history was committed: another connection sees it. */
    assert_query(f, "2", "SELECT count(*) FROM seaql_migrations WHERE state = 'applied'");
}

static void test_postgres__adopting_a_pgconn_inside_a_transaction_is_refused(void **state)
{
    fixture *f = *state;
    fresh_database(f, "adopt_tx");
    PGconn *pg = pq_connect(f);
    pq_run(f, pg, "BEGIN");
    assert_int_equal(pm_db_adopt_postgres(&f->adopted, pg, &f->err), PM_EINVAL);
    assert_null(f->adopted);
    assert_contains(f->err.message, "transaction open");
    pq_run(f, pg, "ROLLBACK");
    assert_string_equal(pq_run(f, pg, "SELECT 1"), "1");
}

static void collect_log(pm_log_level level, const char *line, void *ctx)
{
    (void)level;
    buffer *b = ctx;
    size_t n = strlen(line);
    if (b->len + n + 2 > b->cap) {
        size_t cap = (b->len + n + 2) * 2;
        char *data = realloc(b->data, cap);
        assert_non_null(data);
        b->data = data;
        b->cap = cap;
    }
    memcpy(b->data + b->len, line, n);
    b->len += n;
    b->data[b->len++] = '\n';
    b->data[b->len] = '\0';
}

/* wait_seconds reaches the driver: a closed port is retried for about that
 * long (without it the failure is immediate). The log names the database
 * without its password. */
static void test_postgres__startup_wait_seconds_retries_a_closed_port(void **state)
{
    fixture *f = *state;
    buffer log = {NULL, 0, 0};
    pm_startup_options opts = PM_STARTUP_OPTIONS_INIT;
    opts.profile = "production";
    opts.database_url = make_url(f, NULL, closed_port(f), "poblysh_test", NULL);
    opts.wait_seconds = 2;
    opts.log = collect_log;
    opts.log_ctx = &log;
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    int rc = pm_startup_with(&f->db, adopt_set, 2, &opts, &f->err);
    double waited = seconds_since(&start);
    char *lines = keep(f, take_buffer(&log));
    assert_int_equal(rc, PM_ECONNECT);
    assert_null(f->db);
    if (waited < 1.5 || waited > 15)
        fail_msg("gave up after %.2f s; wait_seconds = 2 asked for about 2 s", waited);
    assert_lacks(f->err.message, raw_password);
    assert_contains(lines, "database postgresql://");
    assert_contains(lines, "retrying for up to 2 s");
    assert_lacks(lines, raw_password);
    if (admin.password_enc)
        assert_lacks(lines, admin.password_enc);
}

/* ==== Another tool's history ==== */

/* Three migrations per layout; each tool's history below records the first
 * two as applied, and their tables exist, as the tool left them. */
#define ADOPT_MIGRATION(name, table)                                                               \
    {                                                                                              \
        name, pm_test_up_create, pm_test_down_drop, PM_MIGRATION_DEFAULT, "sha256:" name, table    \
    }
static const pm_migration adopt_n1 = ADOPT_MIGRATION("001_one", "adopt_one");
static const pm_migration adopt_n2 = ADOPT_MIGRATION("002_two", "adopt_two");
static const pm_migration adopt_n3 = ADOPT_MIGRATION("003_three", "adopt_three");
static const pm_migration *const adopt_numbered[] = {&adopt_n1, &adopt_n2, &adopt_n3};
static const pm_migration adopt_d1 = ADOPT_MIGRATION("2017-01-01-000000_one", "adopt_one");
static const pm_migration adopt_d2 = ADOPT_MIGRATION("2017-02-01-120000_two", "adopt_two");
static const pm_migration adopt_d3 = ADOPT_MIGRATION("2017-03-01-000000_three", "adopt_three");
static const pm_migration *const adopt_diesel[] = {&adopt_d1, &adopt_d2, &adopt_d3};
static const pm_migration adopt_f1 = ADOPT_MIGRATION("V1__one", "adopt_one");
static const pm_migration adopt_f2 = ADOPT_MIGRATION("V1.1__two", "adopt_two");
static const pm_migration adopt_f3 = ADOPT_MIGRATION("V2__three", "adopt_three");
static const pm_migration *const adopt_flyway[] = {&adopt_f1, &adopt_f2, &adopt_f3};

#define SQL_LIST(...) ((const char *const[]){__VA_ARGS__, NULL})

/* On a fresh database holding tool's history (sql): up refuses, creating
 * nothing; adopt records the first two; up then applies only the third;
 * adopting again records nothing; the tool's table keeps its rows. */
static void adopt_end_to_end(fixture *f, const char *name, const char *tool, const char *table,
                             const pm_migration *const *set, const char *const *sql)
{
    fresh_database(f, name);
    for (size_t i = 0; sql[i]; i++)
        pm_test_exec(f->db, sql[i]);
    pm_test_exec(f->db, "CREATE TABLE adopt_one (id INTEGER PRIMARY KEY, name TEXT)");
    pm_test_exec(f->db, "CREATE TABLE adopt_two (id INTEGER PRIMARY KEY, name TEXT)");
    int64_t foreign_rows = pm_test_int(f->db, fmt(f, "SELECT count(*) FROM %s", table));
    pm_test_ok(pm_engine_new(&f->engine, f->db, set, 3, NULL, &f->err), &f->err);

    size_t n = 99;
    assert_int_equal(pm_engine_up(f->engine, PM_ALL, &n, &f->err), PM_EFOREIGN);
    assert_int_equal(n, 0);
    assert_contains(f->err.message, fmt(f, "%s's history (%s: ", tool, table));
    assert_contains(f->err.message, "2 migrations of this set; poblysh has recorded none");
    assert_contains(f->err.hint, fmt(f, "poblysh migrate adopt %s", tool));
    assert_false(pm_test_has_table(f->db, "seaql_migrations"));
    assert_false(pm_test_has_table(f->db, "adopt_three"));

    pm_adopt_report report;
    pm_test_ok(pm_engine_adopt(f->engine, NULL, 0, &report, &f->err), &f->err);
    assert_string_equal(report.tool, tool);
    assert_string_equal(report.table, table);
    assert_int_equal(report.recorded, 2);
    assert_int_equal(report.pending, 1);
    assert_int_equal(pm_test_history_count(f->db), 2);

    pm_test_ok(pm_engine_up(f->engine, PM_ALL, &n, &f->err), &f->err);
    assert_int_equal(n, 1);
    assert_true(pm_test_has_table(f->db, "adopt_three"));
    pm_test_ok(pm_engine_adopt(f->engine, tool, 0, &report, &f->err), &f->err);
    assert_int_equal(report.recorded, 0);
    assert_int_equal(report.already, 2);
    assert_int_equal(pm_test_history_count(f->db), 3);
    assert_int_equal(pm_test_int(f->db, fmt(f, "SELECT count(*) FROM %s", table)), foreign_rows);
}

/* Each tool's history as it writes it on PostgreSQL. */
static void test_postgres__dbmate_history_is_adopted_then_up_runs_only_new(void **state)
{
    adopt_end_to_end(*state, "adopt_dbmate", "dbmate", "schema_migrations", adopt_numbered,
                     SQL_LIST("CREATE TABLE IF NOT EXISTS schema_migrations (version varchar(128) "
                              "primary key)",
                              "INSERT INTO schema_migrations (version) VALUES ('001'), ('002')"));
}

static void test_postgres__golang_migrate_history_is_adopted_then_up_runs_only_new(void **state)
{
    adopt_end_to_end(*state, "adopt_golang", "golang-migrate", "schema_migrations", adopt_numbered,
                     SQL_LIST("CREATE TABLE IF NOT EXISTS \"schema_migrations\" (version bigint "
                              "not null primary key, dirty boolean not null)",
                              "INSERT INTO \"schema_migrations\" (version, dirty) VALUES (2, "
                              "false)"));
}

static void test_postgres__goose_history_is_adopted_then_up_runs_only_new(void **state)
{
    adopt_end_to_end(*state, "adopt_goose", "goose", "goose_db_version", adopt_numbered,
                     SQL_LIST("CREATE TABLE goose_db_version (id serial NOT NULL, version_id "
                              "bigint NOT NULL, is_applied boolean NOT NULL, tstamp timestamp "
                              "NULL default now(), PRIMARY KEY(id))",
                              "INSERT INTO goose_db_version (version_id, is_applied) VALUES (0, "
                              "true), (1, true), (2, true), (3, true), (3, false)"));
}

static void test_postgres__sqlx_history_is_adopted_with_its_times(void **state)
{
    fixture *f = *state;
    adopt_end_to_end(f, "adopt_sqlx", "sqlx", "_sqlx_migrations", adopt_numbered,
                     SQL_LIST("CREATE TABLE IF NOT EXISTS _sqlx_migrations (version BIGINT "
                              "PRIMARY KEY, description TEXT NOT NULL, installed_on TIMESTAMPTZ "
                              "NOT NULL DEFAULT now(), success BOOLEAN NOT NULL, checksum BYTEA "
                              "NOT NULL, execution_time BIGINT NOT NULL)",
                              "SET TIME ZONE 'Asia/Kolkata'",
                              "INSERT INTO _sqlx_migrations (version, description, installed_on, "
                              "success, checksum, execution_time) VALUES (1, 'one', "
                              "'2024-02-03 04:05:06+00', true, '\\x0102', 1000), (2, 'two', "
                              "now(), true, '\\x0304', 2000)"));
    /* read back as +05:30 in this session, recorded as the same instant */
    assert_query(f, "1706933106",
                 "SELECT applied_at FROM seaql_migrations WHERE version = "
                 "'001_one'");
}

static void test_postgres__diesel_history_is_adopted_then_up_runs_only_new(void **state)
{
    adopt_end_to_end(*state, "adopt_diesel", "diesel", "__diesel_schema_migrations", adopt_diesel,
                     SQL_LIST("CREATE TABLE IF NOT EXISTS __diesel_schema_migrations (version "
                              "VARCHAR(50) PRIMARY KEY NOT NULL, run_on TIMESTAMP NOT NULL "
                              "DEFAULT CURRENT_TIMESTAMP)",
                              "INSERT INTO __diesel_schema_migrations (version) VALUES "
                              "('20170101000000'), ('20170201120000')"));
}

static void test_postgres__flyway_history_is_adopted_then_up_runs_only_new(void **state)
{
    adopt_end_to_end(
        *state, "adopt_flyway", "flyway", "flyway_schema_history", adopt_flyway,
        SQL_LIST("CREATE TABLE \"flyway_schema_history\" (\"installed_rank\" INT NOT NULL, "
                 "\"version\" VARCHAR(50), \"description\" VARCHAR(200) NOT NULL, \"type\" "
                 "VARCHAR(20) NOT NULL, \"script\" VARCHAR(1000) NOT NULL, \"checksum\" INTEGER, "
                 "\"installed_by\" VARCHAR(100) NOT NULL, \"installed_on\" TIMESTAMP NOT NULL "
                 "DEFAULT now(), \"execution_time\" INTEGER NOT NULL, \"success\" BOOLEAN NOT "
                 "NULL)",
                 "ALTER TABLE \"flyway_schema_history\" ADD CONSTRAINT "
                 "\"flyway_schema_history_pk\" PRIMARY KEY (\"installed_rank\")",
                 "CREATE INDEX \"flyway_schema_history_s_idx\" ON \"flyway_schema_history\" "
                 "(\"success\")",
                 "INSERT INTO flyway_schema_history (installed_rank, version, description, type, "
                 "script, checksum, installed_by, execution_time, success) VALUES (1, '1', 'one', "
                 "'SQL', 'V1__one.sql', 1, 'flyway', 5, true), (2, '1.1', 'two', 'SQL', "
                 "'V1.1__two.sql', 2, 'flyway', 5, true), (3, NULL, 'views', 'SQL', "
                 "'R__views.sql', 3, 'flyway', 5, true)"));
}

#define TEST(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: test_postgres <poblysh binary> <poblysh_fixture binary>\n");
        return 2;
    }
    cli_path = argv[1];
    fixture_path = argv[2];
    admin_url = getenv("POBLYSH_TEST_PG_URL");
    raw_password = getenv("POBLYSH_TEST_PG_PASSWORD");
    if (!admin_url || !*admin_url || !raw_password || !*raw_password) {
        fprintf(stderr,
                "test_postgres: POBLYSH_TEST_PG_URL and POBLYSH_TEST_PG_PASSWORD are not set. This "
                "suite needs the PostgreSQL server that scripts/test.sh starts (run it through "
                "scripts/with-postgres.sh); it is never skipped.\n");
        return 1;
    }
    if (parse_admin_url(admin_url) < 0) {
        fprintf(stderr, "test_postgres: cannot take POBLYSH_TEST_PG_URL apart\n");
        free_admin_url();
        return 1;
    }
    const struct CMUnitTest tests[] = {
        TEST(test_postgres__tenants_table_matches_the_seed),
        TEST(test_postgres__capabilities_are_those_of_a_transactional_server),
        TEST(test_postgres__create_index_concurrently_runs_without_a_transaction),
        TEST(test_postgres__failing_third_statement_rolls_back_and_is_named),
        TEST(test_postgres__failing_second_statement_is_named_not_a_neighbour),
        TEST(test_postgres__syntax_error_in_third_statement_is_named),
        TEST(test_postgres__failing_statement_of_a_multi_statement_exec_is_named),
        TEST(test_postgres__error_position_counts_within_the_failing_statement),
        TEST(test_postgres__statement_ending_in_a_line_comment_applies),
        TEST(test_postgres__eight_concurrent_fixture_ups_apply_each_migration_once),
        TEST(test_postgres__eight_concurrent_ups_apply_tenants_once),
        TEST(test_postgres__lock_timeout_exits_3_naming_the_holder_pid),
        TEST(test_postgres__sigint_while_waiting_for_the_lock_exits_130),
        TEST(test_postgres__lock_is_per_schema_and_names_the_holder_of_a_negative_key),
        TEST(test_postgres__wrong_password_exits_4_without_printing_it),
        TEST(test_postgres__unknown_database_exits_4_without_printing_the_password),
        TEST(test_postgres__closed_port_exits_4_without_printing_the_password),
        TEST(test_postgres__wait_retries_a_closed_port_then_exits_4),
        TEST(test_postgres__wait_does_not_retry_a_wrong_password),
        TEST(test_postgres__silent_server_times_out_after_the_default_connect_timeout),
        TEST(test_postgres__sigint_during_pg_sleep_rolls_back_and_exits_130),
        TEST(test_postgres__sigterm_during_pg_sleep_rolls_back_and_exits_130),
        TEST(test_postgres__seaorm_history_table_is_adopted_without_reapplying),
        TEST(test_postgres__search_path_option_puts_tables_in_that_schema),
        TEST(test_postgres__config_file_profile_drives_url_and_timeouts),
        TEST(test_postgres__execution_ms_covers_the_server_side_sleep),
        TEST(test_postgres__execution_ms_covers_work_sent_before_a_catalog_query),
        TEST(test_postgres__statements_after_a_catalog_check_are_still_batched),
        TEST(test_postgres__adopted_pgconn_is_migrated_and_usable_after_close),
        TEST(test_postgres__adopting_a_pgconn_inside_a_transaction_is_refused),
        TEST(test_postgres__startup_wait_seconds_retries_a_closed_port),
        TEST(test_postgres__dbmate_history_is_adopted_then_up_runs_only_new),
        TEST(test_postgres__golang_migrate_history_is_adopted_then_up_runs_only_new),
        TEST(test_postgres__goose_history_is_adopted_then_up_runs_only_new),
        TEST(test_postgres__sqlx_history_is_adopted_with_its_times),
        TEST(test_postgres__diesel_history_is_adopted_then_up_runs_only_new),
        TEST(test_postgres__flyway_history_is_adopted_then_up_runs_only_new),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    free_admin_url();
    return failed;
}
