/* test_standby.c: poblysh against a PostgreSQL primary and a streaming
 * standby of it (scripts/with-standby.sh), through the built binary: URLs
 * listing several hosts find the primary (a dead host or the standby first,
 * with target_session_attrs=read-write), libpq's key=value strings work, a
 * standby alone refuses every writing command with exit 4 while status
 * works, and the password is never printed in any of these forms.
 * Run as: test_standby <poblysh>, with POBLYSH_TEST_PG_PRIMARY_URL,
 * POBLYSH_TEST_PG_STANDBY_URL and POBLYSH_TEST_PG_PAIR_PASSWORD set; without
 * them it fails, never skips. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "testserver.h"

#define TENANTS "m2024_01_01_000001_create_tenants"
#define RUN_TIMEOUT_MS 30000
#define REPLAY_WAIT_MS 20000

static const char *cli_path;
static const char *primary_url, *standby_url, *raw_password;
static const char *primary_port, *standby_port;
static char *userinfo;     /* "postgresql://poblysh:ENCODED", from the primary URL */
static char *password_enc; /* ENCODED */

/* ==== Fixture ==== */

typedef struct fixture {
    pm_db *primary; /* on poblysh_test of the primary */
    pm_db *standby; /* on poblysh_test of the standby */
    char *dbname;   /* this test's database, made on the primary */
    run_result **runs;
    size_t nruns;
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

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    if (!f)
        return -1;
    pm_error err = PM_ERROR_INIT;
    if (pm_db_open(&f->primary, primary_url, NULL, &err) < 0 ||
        pm_db_open(&f->standby, standby_url, NULL, &err) < 0) {
        print_error("cannot connect to the primary/standby pair: %s\n",
                    err.message ? err.message : "?");
        pm_error_clear(&err);
        pm_db_close(f->primary);
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
    if (f->dbname) {
        char *sql = fmt(f, "DROP DATABASE IF EXISTS %s WITH (FORCE)", f->dbname);
        pm_error err = PM_ERROR_INIT;
        if (pm_db_exec(f->primary, sql, &err) < 0) {
            print_error("teardown: %s: %s\n", sql, err.message ? err.message : "?");
            rc = -1;
        }
        pm_error_clear(&err);
    }
    pm_db_close(f->standby);
    pm_db_close(f->primary);
    for (size_t i = 0; i < f->nruns; i++)
        srv_free_run(f->runs[i]);
    free(f->runs);
    for (size_t i = 0; i < f->nkept; i++)
        free(f->kept[i]);
    free(f->kept);
    free(f);
    return rc;
}

/* ==== The pair ==== */

/* Waits until the standby has replayed everything the primary has written
 * so far. */
static void wait_for_replay(fixture *f)
{
    char *lsn = pm_test_text(f->primary, "SELECT pg_current_wal_lsn()::text");
    assert_non_null(lsn);
    char *sql = fmt(f, "SELECT pg_last_wal_replay_lsn() >= '%s'::pg_lsn", lsn);
    free(lsn);
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    while (seconds_since(&start) * 1000 < REPLAY_WAIT_MS) {
        char *done = pm_test_text(f->standby, sql);
        bool replayed = done && strcmp(done, "t") == 0;
        free(done);
        if (replayed)
            return;
        sleep_ms(50);
    }
    fail_msg("the standby did not replay the primary's log within %d ms", REPLAY_WAIT_MS);
}

/* Creates pms_<name>_<pid> on the primary and waits until the standby has
 * it too. */
static void fresh_database(fixture *f, const char *name)
{
    f->dbname = fmt(f, "pms_%s_%ld", name, (long)getpid());
    pm_test_exec(f->primary, fmt(f, "DROP DATABASE IF EXISTS %s WITH (FORCE)", f->dbname));
    pm_test_exec(f->primary, fmt(f, "CREATE DATABASE %s", f->dbname));
    wait_for_replay(f);
}

/* A URL of this test's database on the given "host:port,host:port" list. */
static char *hosts_url(fixture *f, const char *hosts, const char *query)
{
    return fmt(f, "%s@%s/%s%s%s", userinfo, hosts, f->dbname, query ? "?" : "", query ? query : "");
}

static char *on_primary(fixture *f)
{
    return hosts_url(f, fmt(f, "127.0.0.1:%s", primary_port), NULL);
}

static char *on_standby(fixture *f)
{
    return hosts_url(f, fmt(f, "127.0.0.1:%s", standby_port), NULL);
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
    socklen_t len = sizeof(addr);
    int ok = bind(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0 &&
             getsockname(fd, (struct sockaddr *)&addr, &len) == 0;
    close(fd);
    assert_true(ok);
    return fmt(f, "%d", (int)ntohs(addr.sin_port));
}

/* Rows of this test's history table on db's server, -1 when it is absent. */
static int64_t history_rows(fixture *f, bool standby)
{
    pm_db *db = pm_test_open(fmt(f, "%s", standby ? on_standby(f) : on_primary(f)));
    int64_t n = pm_test_has_table(db, "seaql_migrations")
                    ? pm_test_int(db, "SELECT count(*) FROM seaql_migrations")
                    : -1;
    pm_db_close(db);
    return n;
}

/* ==== Running the binary ==== */

static const run_result *run(fixture *f, const char *const *args)
{
    size_t nargs = 0;
    while (args[nargs])
        nargs++;
    char **argv = srv_keep(&f->kept, &f->nkept, calloc(nargs + 2, sizeof(*argv)));
    assert_non_null(argv);
    argv[0] = (char *)cli_path;
    for (size_t i = 0; i < nargs; i++)
        argv[i + 1] = (char *)args[i];
    static const char *const passed[] = {"ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"};
    char **envp = srv_keep(&f->kept, &f->nkept, calloc(8, sizeof(*envp)));
    assert_non_null(envp);
    size_t n = 0;
    envp[n++] = "PATH=/usr/local/bin:/usr/bin:/bin";
    for (size_t i = 0; i < PM_ARRAY_LEN(passed); i++)
        if (getenv(passed[i]))
            envp[n++] = fmt(f, "%s=%s", passed[i], getenv(passed[i]));
    child c = {0};
    clock_gettime(CLOCK_MONOTONIC, &c.started);
    c.pid = pm_test_spawn(cli_path, argv, envp, NULL, &c.out_fd, &c.err_fd);

    run_result *r = calloc(1, sizeof(*r));
    assert_non_null(r);
    run_result **runs = realloc(f->runs, (f->nruns + 1) * sizeof(*runs));
    assert_non_null(runs);
    f->runs = runs;
    f->runs[f->nruns++] = r;
    buffer out = {NULL, 0, 0}, err = {NULL, 0, 0};
    struct pollfd fds[2] = {{c.out_fd, POLLIN, 0}, {c.err_fd, POLLIN, 0}};
    int open_fds = 2;
    while (open_fds > 0) {
        int left = RUN_TIMEOUT_MS - (int)(seconds_since(&c.started) * 1000);
        int ready = left > 0 ? poll(fds, 2, left) : 0;
        if (ready < 0 && errno == EINTR)
            continue;
        if (ready <= 0) {
            kill(c.pid, SIGKILL);
            break;
        }
        for (int i = 0; i < 2; i++) {
            if (fds[i].fd >= 0 && (fds[i].revents & (POLLIN | POLLHUP | POLLERR)) &&
                !read_some(fds[i].fd, i == 0 ? &out : &err)) {
                close(fds[i].fd);
                fds[i].fd = -1;
                open_fds--;
            }
        }
    }
    for (int i = 0; i < 2; i++)
        if (fds[i].fd >= 0)
            close(fds[i].fd);
    r->out = take_buffer(&out);
    r->err = take_buffer(&err);
    while (waitpid(c.pid, &c.wait_status, 0) < 0)
        assert_int_equal(errno, EINTR);
    r->seconds = seconds_since(&c.started);
    r->status =
        WIFEXITED(c.wait_status) ? WEXITSTATUS(c.wait_status) : 128 + WTERMSIG(c.wait_status);
    if (open_fds > 0)
        fail_msg("poblysh did not finish within %d ms\n--- stdout\n%s--- stderr\n%s---",
                 RUN_TIMEOUT_MS, r->out, r->err);
    return r;
}

#define assert_contains(r, text, needle) assert_contains_((r), (text), (needle), __LINE__)
static void assert_contains_(const run_result *r, const char *text, const char *needle, int line)
{
    if (!strstr(text, needle))
        fail_msg("line %d: \"%s\" not found (exit %d)\n--- stdout\n%s--- stderr\n%s---", line,
                 needle, r->status, r->out, r->err);
}

/* Neither form of the password in stdout or stderr. */
static void assert_no_secret(const run_result *r)
{
    const char *const forms[] = {raw_password, password_enc};
    for (size_t i = 0; i < PM_ARRAY_LEN(forms); i++)
        if (strstr(r->out, forms[i]) || strstr(r->err, forms[i]))
            fail_msg("the password (%s) was printed\n--- stdout\n%s--- stderr\n%s---",
                     i ? "encoded" : "raw", r->out, r->err);
}

/* up -v against url: exit 0, one migration applied, nothing secret shown. */
static void assert_up_applies(fixture *f, const char *url)
{
    const run_result *r = run(f, ARGS("-v", "--database-url", url, "migrate", "up"));
    assert_no_secret(r);
    assert_contains(r, r->out, "Applied 1 migration.\n");
    assert_exit(r, 0);
}

/* ==== Several hosts ==== */

static void test_standby__dead_first_host_then_primary_migrates_the_primary(void **state)
{
    fixture *f = *state;
    fresh_database(f, "deadfirst");
    const char *url =
        hosts_url(f, fmt(f, "127.0.0.1:%s,127.0.0.1:%s", closed_port(f), primary_port), NULL);
    assert_up_applies(f, url);
    assert_int_equal(history_rows(f, false), 1);
}

static void test_standby__standby_first_with_read_write_migrates_the_primary(void **state)
{
    fixture *f = *state;
    fresh_database(f, "standbyfirst");
    const char *url = hosts_url(f, fmt(f, "127.0.0.1:%s,127.0.0.1:%s", standby_port, primary_port),
                                "target_session_attrs=read-write");
    assert_up_applies(f, url);
    assert_int_equal(history_rows(f, false), 1);
    wait_for_replay(f); /* and the standby got it by replication */
    assert_int_equal(history_rows(f, true), 1);
    const run_result *r = run(f, ARGS("--database-url", url, "migrate", "status"));
    assert_contains(r, r->out, "1 applied, 0 pending.");
    assert_contains(r, r->out, fmt(f, "127.0.0.1:%s,127.0.0.1:%s/", standby_port, primary_port));
    assert_no_secret(r);
    assert_exit(r, 0);
}

static void test_standby__every_host_dead_exits_4_without_the_password(void **state)
{
    fixture *f = *state;
    fresh_database(f, "alldead");
    const char *url =
        hosts_url(f, fmt(f, "127.0.0.1:%s,127.0.0.1:%s", closed_port(f), closed_port(f)),
                  "target_session_attrs=read-write&connect_timeout=3");
    const run_result *r = run(f, ARGS("-v", "--database-url", url, "migrate", "up"));
    assert_no_secret(r);
    assert_contains(r, r->err, "cannot connect to PostgreSQL");
    assert_contains(r, r->err, "postgresql://poblysh:***@127.0.0.1:");
    assert_exit(r, 4);
}

/* ==== A standby alone ==== */

static void test_standby__standby_alone_refuses_every_writing_command_with_exit_4(void **state)
{
    fixture *f = *state;
    fresh_database(f, "alone");
    const char *url = on_standby(f);
    const char *const commands[][3] = {
        {"up", NULL},      {"down", NULL},   {"reset", NULL},
        {"refresh", NULL}, {"fresh", NULL},  {"repair", "--accept", TENANTS},
        {"adopt", NULL},   {"verify", NULL},
    };
    for (size_t i = 0; i < PM_ARRAY_LEN(commands); i++) {
        const char *args[8] = {"-v", "--database-url", url, "migrate"};
        size_t n = 4;
        for (size_t k = 0; k < 3 && commands[i][k]; k++)
            args[n++] = commands[i][k];
        args[n] = NULL;
        const run_result *r = run(f, args);
        assert_no_secret(r);
        assert_contains(r, r->err, "is a read-only standby");
        assert_contains(r, r->err, "nothing was run");
        if (strstr(r->out, "Applying m") || strstr(r->out, "Applied ") ||
            strstr(r->out, "Reverting m") || strstr(r->out, "Reverted "))
            fail_msg("migrate %s ran something on the standby:\n%s", commands[i][0], r->out);
        if (r->seconds > 5.0)
            fail_msg("migrate %s took %.2f s to refuse", commands[i][0], r->seconds);
        assert_exit(r, 4);
    }
    /* Nothing was written: not even the history table exists, anywhere. */
    assert_int_equal(history_rows(f, false), -1);
    assert_int_equal(history_rows(f, true), -1);

    const run_result *r = run(f, ARGS("--database-url", url, "migrate", "status"));
    assert_no_secret(r);
    assert_contains(r, r->out, TENANTS);
    assert_contains(r, r->out, "0 applied, 1 pending.");
    assert_exit(r, 0);
}

static void test_standby__standby_shows_what_the_primary_applied(void **state)
{
    fixture *f = *state;
    fresh_database(f, "replicated");
    assert_up_applies(f, on_primary(f));
    wait_for_replay(f);
    const run_result *r = run(f, ARGS("--database-url", on_standby(f), "migrate", "status"));
    assert_contains(r, r->out, "1 applied, 0 pending.");
    assert_exit(r, 0);
    /* Nothing to do is still a write command: refused, not "up to date". */
    r = run(f, ARGS("--database-url", on_standby(f), "migrate", "up"));
    assert_contains(r, r->err, "is a read-only standby");
    assert_exit(r, 4);
}

/* ==== key=value strings ==== */

/* raw in single quotes, with ' and \ escaped, as libpq reads it. */
static char *quoted(fixture *f, const char *raw)
{
    char *q = srv_keep(&f->kept, &f->nkept, calloc(2 * strlen(raw) + 3, 1));
    assert_non_null(q);
    char *o = q;
    *o++ = '\'';
    for (const char *p = raw; *p; p++) {
        if (*p == '\'' || *p == '\\')
            *o++ = '\\';
        *o++ = *p;
    }
    *o = '\'';
    return q;
}

static void test_standby__key_value_string_migrates_and_hides_its_password(void **state)
{
    fixture *f = *state;
    fresh_database(f, "keyvalue");
    const char *url = fmt(f,
                          "host=127.0.0.1,127.0.0.1 port=%s,%s dbname=%s user=poblysh "
                          "password=%s target_session_attrs=read-write",
                          standby_port, primary_port, f->dbname, quoted(f, raw_password));
    const run_result *r = run(f, ARGS("-v", "--database-url", url, "migrate", "up"));
    assert_no_secret(r);
    assert_contains(r, r->err, "database URL user=poblysh password=*** dbname=");
    assert_contains(r, r->out, "Database: user=poblysh password=*** dbname=");
    assert_contains(r, r->out, "Applied 1 migration.\n");
    assert_exit(r, 0);
    assert_int_equal(history_rows(f, false), 1);

    /* verify names its scratch database in a key=value string too (a later
     * dbname= wins), and drops it. One host: with several, the scratch
     * connection could reach another server than the one it was created on
     * (docs/postgres.md). */
    url = fmt(f, "host=127.0.0.1 port=%s dbname=%s user=poblysh password=%s", primary_port,
              f->dbname, quoted(f, raw_password));
    r = run(f, ARGS("--database-url", url, "migrate", "verify"));
    assert_no_secret(r);
    assert_contains(r, r->out, "Verifying every down() in the scratch database pm_verify_");
    assert_contains(r, r->out, "Every down() restores the schema exactly.");
    assert_exit(r, 0);

    /* The same password, refused by a database that does not exist. */
    url = fmt(f, "host=127.0.0.1 port=%s dbname=%s_missing user=poblysh password=%s", primary_port,
              f->dbname, quoted(f, raw_password));
    r = run(f, ARGS("-v", "--database-url", url, "migrate", "up"));
    assert_no_secret(r);
    assert_contains(r, r->err, "cannot connect to PostgreSQL");
    assert_exit(r, 4);

    /* A key libpq does not know: a usage error, the password not quoted. */
    url = fmt(f, "hots=127.0.0.1 dbname=%s password=%s", f->dbname, quoted(f, raw_password));
    r = run(f, ARGS("-v", "--database-url", url, "migrate", "up"));
    assert_no_secret(r);
    assert_contains(r, r->err, "no driver reads it as a key=value connection string");
    assert_exit(r, 2);
}

/* ==== Main ==== */

/* userinfo and password_enc from the primary URL. */
static int split_primary_url(void)
{
    const char *at = strrchr(primary_url, '@');
    const char *auth = strstr(primary_url, "://");
    const char *colon = auth && at ? memchr(auth + 3, ':', (size_t)(at - auth - 3)) : NULL;
    if (!colon)
        return -1;
    userinfo = strndup_or_null(primary_url, (size_t)(at - primary_url));
    password_enc = strndup_or_null(colon + 1, (size_t)(at - colon - 1));
    return userinfo && password_enc ? 0 : -1;
}

#define TEST(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: test_standby <poblysh binary>\n");
        return 2;
    }
    cli_path = argv[1];
    primary_url = getenv("POBLYSH_TEST_PG_PRIMARY_URL");
    standby_url = getenv("POBLYSH_TEST_PG_STANDBY_URL");
    raw_password = getenv("POBLYSH_TEST_PG_PAIR_PASSWORD");
    primary_port = getenv("POBLYSH_TEST_PG_PRIMARY_PORT");
    standby_port = getenv("POBLYSH_TEST_PG_STANDBY_PORT");
    if (!primary_url || !standby_url || !raw_password || !*raw_password || !primary_port ||
        !standby_port) {
        fprintf(stderr,
                "test_standby: POBLYSH_TEST_PG_PRIMARY_URL, POBLYSH_TEST_PG_STANDBY_URL, "
                "POBLYSH_TEST_PG_PAIR_PASSWORD and the two ports are not set. This suite needs "
                "the primary and standby that scripts/with-standby.sh starts (scripts/test.sh "
                "runs ctest through it); it is never skipped.\n");
        return 1;
    }
    if (split_primary_url() < 0) {
        fprintf(stderr, "test_standby: cannot take POBLYSH_TEST_PG_PRIMARY_URL apart\n");
        return 1;
    }
    const struct CMUnitTest tests[] = {
        TEST(test_standby__dead_first_host_then_primary_migrates_the_primary),
        TEST(test_standby__standby_first_with_read_write_migrates_the_primary),
        TEST(test_standby__every_host_dead_exits_4_without_the_password),
        TEST(test_standby__standby_alone_refuses_every_writing_command_with_exit_4),
        TEST(test_standby__standby_shows_what_the_primary_applied),
        TEST(test_standby__key_value_string_migrates_and_hides_its_password),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    free(userinfo);
    free(password_enc);
    return failed;
}
