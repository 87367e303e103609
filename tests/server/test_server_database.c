/* test_server_database.c: `poblysh database create|drop|reset`, `migrate up
 * --create-database` and `--wait` through the poblysh binary on a real
 * server, PostgreSQL or MariaDB: the database appears and goes as the output
 * says (checked through an admin connection), drop and reset are refused
 * under production without --yes, a name that needs quoting is made exactly,
 * and --wait prints a line per attempt at a closed port, then exits 4.
 * Run as: test_server_database postgres|mysql <poblysh> <fixtures/sql/workflow>,
 * with the environment scripts/with-postgres.sh or scripts/with-mariadb.sh
 * exports. Without a server it fails, loudly. */
#include <arpa/inet.h>
#include <errno.h>
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

#define RUN_TIMEOUT_MS 60000

static const char *cli_path;   /* the poblysh binary */
static const char *sets_dir;   /* tests/fixtures/sql/workflow */
static const char *admin_url;  /* a superuser (PostgreSQL) or an account with every grant */
static bool postgres;          /* else MariaDB */
static const char *raw_secret; /* the admin password: never printed */

typedef struct fixture {
    pm_db *admin;
    char *dbname; /* this test's database, dropped in teardown */
    char *url;    /* admin_url naming it */
    run_result *runs[16];
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

/* url with its database replaced by name. */
static char *url_for(fixture *f, const char *url, const char *name)
{
    const char *authority = strstr(url, "://") + 3;
    const char *path = authority + strcspn(authority, "/?#");
    return fmt(f, "%.*s/%s%s", (int)(path - url), url, name, path + strcspn(path, "?#"));
}

/* url with its host and port replaced by 127.0.0.1:port. */
static char *url_at_port(fixture *f, const char *url, int port)
{
    const char *authority = strstr(url, "://") + 3;
    const char *path = authority + strcspn(authority, "/?#");
    const char *at = memchr(authority, '@', (size_t)(path - authority));
    const char *host = at ? at + 1 : authority;
    return fmt(f, "%.*s127.0.0.1:%d%s", (int)(host - url), url, port, path);
}

static const char *quoted(fixture *f, const char *name)
{
    return postgres ? fmt(f, "\"%s\"", name) : fmt(f, "`%s`", name);
}

static const char *drop_database_sql(fixture *f, const char *name)
{
    return postgres ? fmt(f, "DROP DATABASE IF EXISTS %s WITH (FORCE)", quoted(f, name))
                    : fmt(f, "DROP DATABASE IF EXISTS %s", quoted(f, name));
}

static bool database_exists(fixture *f, const char *name)
{
    const char *sql =
        postgres
            ? fmt(f, "SELECT count(*) FROM pg_database WHERE datname = '%s'", name)
            : fmt(f, "SELECT count(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = '%s'",
                  name);
    return pm_test_int(f->admin, sql) == 1;
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    if (!f || !(f->admin = srv_open_admin(admin_url))) {
        free(f);
        return -1;
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    if (f->dbname)
        pm_test_exec(f->admin, drop_database_sql(f, f->dbname));
    pm_db_close(f->admin);
    for (size_t i = 0; i < f->nruns; i++)
        srv_free_run(f->runs[i]);
    for (size_t i = 0; i < f->nkept; i++)
        free(f->kept[i]);
    free(f->kept);
    free(f);
    return 0;
}

/* This test's database name (absent when the test starts) and its URL. */
static void name_database(fixture *f, const char *name)
{
    f->dbname = fmt(f, "%s_%ld", name, (long)getpid());
    pm_test_exec(f->admin, drop_database_sql(f, f->dbname));
    f->url = url_for(f, admin_url, f->dbname);
}

/* ==== Running the binary ==== */

/* Starts poblysh args... with profile (NULL: local) as POBLYSH_PROFILE. */
static child *spawn_cli(fixture *f, const char *profile, const char *const *args)
{
    srv_spawn how = {.cli_path = cli_path, .profile = profile ? profile : "local"};
    return srv_spawn_cli(&f->kept, &f->nkept, &how, args);
}

/* Reads the child's output to its end and waits for it. */
static const run_result *collect(fixture *f, child *c)
{
    assert_true(f->nruns < PM_ARRAY_LEN(f->runs));
    run_result *r = calloc(1, sizeof(*r));
    assert_non_null(r);
    f->runs[f->nruns++] = r;
    srv_collect(c, r, RUN_TIMEOUT_MS, raw_secret);
    return r;
}

/* poblysh --database-url url database command [--yes], under profile. */
static const run_result *run_database(fixture *f, const char *profile, const char *url,
                                      const char *command, bool yes)
{
    if (yes)
        return collect(
            f, spawn_cli(f, profile, ARGS("--database-url", url, "database", command, "--yes")));
    return collect(f, spawn_cli(f, profile, ARGS("--database-url", url, "database", command)));
}

#define assert_contains(text, needle) assert_has_((text), (needle), true, __FILE__, __LINE__)
#define assert_lacks(text, needle) assert_has_((text), (needle), false, __FILE__, __LINE__)

static void assert_has_(const char *text, const char *needle, bool want, const char *file, int line)
{
    if ((strstr(text, needle) != NULL) == want)
        return;
    print_error("%s:%d: expected %s \"%s\" in:\n%s\n", file, line, want ? "" : "no", needle, text);
    fail();
}

/* A TCP port on 127.0.0.1 where nothing listens: bound, read, closed. */
static int closed_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in addr = {0};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(addr);
    assert_int_equal(bind(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&addr, &len), 0);
    close(fd);
    return ntohs(addr.sin_port);
}

/* ==== create ==== */

static void test_create__makes_a_missing_database_and_leaves_an_existing_one(void **state)
{
    fixture *f = *state;
    name_database(f, "pmd_create");
    const run_result *r = run_database(f, NULL, f->url, "create", false);
    assert_exit(r, 0);
    assert_contains(r->out, fmt(f, "Created database %s\n", f->dbname));
    assert_true(database_exists(f, f->dbname));
    /* a table in it survives a second create */
    pm_db *db = pm_test_open(f->url);
    pm_test_exec(db, "CREATE TABLE kept (id INT)");
    pm_db_close(db);
    r = run_database(f, "production", f->url, "create", false); /* create needs no --yes */
    assert_exit(r, 0);
    assert_contains(r->out, fmt(f, "Database %s already exists\n", f->dbname));
    db = pm_test_open(f->url);
    assert_true(pm_test_has_table(db, "kept"));
    pm_db_close(db);
}

static void test_create__quotes_a_name_that_needs_it(void **state)
{
    fixture *f = *state;
    name_database(f, "pmd-Quoted");
    const run_result *r = run_database(f, NULL, f->url, "create", false);
    assert_exit(r, 0);
    assert_contains(r->out, fmt(f, "Created database %s\n", f->dbname));
    assert_true(database_exists(f, f->dbname)); /* exactly, upper case and hyphen kept */
    r = run_database(f, NULL, f->url, "drop", false);
    assert_exit(r, 0);
    assert_contains(r->out, fmt(f, "Dropped database %s\n", f->dbname));
    assert_false(database_exists(f, f->dbname));
}

/* ==== drop and reset ==== */

static void test_drop__is_refused_under_production_without_yes(void **state)
{
    fixture *f = *state;
    name_database(f, "pmd_drop");
    assert_exit(run_database(f, NULL, f->url, "create", false), 0);
    const run_result *r = run_database(f, "production", f->url, "drop", false);
    assert_exit(r, 2);
    assert_contains(r->err, "refusing to run database drop under profile \"production\"");
    assert_contains(r->err, "--yes");
    assert_true(database_exists(f, f->dbname));
    r = run_database(f, "production", f->url, "reset", false);
    assert_exit(r, 2);
    assert_true(database_exists(f, f->dbname));

    r = run_database(f, "production", f->url, "drop", true);
    assert_exit(r, 0);
    assert_contains(r->out, fmt(f, "Dropped database %s\n", f->dbname));
    assert_false(database_exists(f, f->dbname));
    r = run_database(f, "production", f->url, "drop", true);
    assert_exit(r, 0);
    assert_contains(r->out, fmt(f, "Database %s does not exist\n", f->dbname));
}

static void test_reset__leaves_an_empty_database(void **state)
{
    fixture *f = *state;
    name_database(f, "pmd_reset");
    assert_exit(run_database(f, NULL, f->url, "create", false), 0);
    pm_db *db = pm_test_open(f->url);
    pm_test_exec(db, "CREATE TABLE gone (id INT)");
    /* still connected: PostgreSQL's WITH (FORCE) ends this session */
    const run_result *r = run_database(f, NULL, f->url, "reset", false);
    pm_db_close(db);
    assert_exit(r, 0);
    assert_contains(r->out,
                    fmt(f, "Dropped database %s\nCreated database %s\n", f->dbname, f->dbname));
    db = pm_test_open(f->url);
    assert_false(pm_test_has_table(db, "gone"));
    pm_db_close(db);
}

/* ==== up --create-database ==== */

static void test_up__create_database_then_migrates(void **state)
{
    fixture *f = *state;
    name_database(f, "pmd_up");
    const char *source = fmt(f, "%s/%s", sets_dir, postgres ? "pg_blog" : "mysql_shop");
    const run_result *r = collect(
        f, spawn_cli(f, NULL, ARGS("--database-url", f->url, "--source", source, "migrate", "up")));
    assert_exit(r, 4); /* without the flag a missing database is a connection failure */
    assert_false(database_exists(f, f->dbname));
    r = collect(f, spawn_cli(f, NULL,
                             ARGS("--database-url", f->url, "--source", source, "migrate", "up",
                                  "--create-database")));
    assert_exit(r, 0);
    assert_contains(r->out, fmt(f, "Created database %s\n", f->dbname));
    assert_contains(r->out, "Applied ");
    pm_db *db = pm_test_open(f->url);
    assert_true(pm_test_history_count(db) > 0);
    pm_db_close(db);
    r = collect(f, spawn_cli(f, NULL,
                             ARGS("--database-url", f->url, "--source", source, "migrate", "up",
                                  "--create-database")));
    assert_exit(r, 0);
    assert_contains(r->out, fmt(f, "Database %s already exists\n", f->dbname));
    assert_contains(r->out, "Nothing to apply");
}

/* ==== --wait ==== */

static void test_wait__prints_each_attempt_at_a_closed_port_then_exits_4(void **state)
{
    fixture *f = *state;
    const char *url = url_at_port(f, admin_url, closed_port());
    const run_result *r = collect(
        f, spawn_cli(f, NULL, ARGS("--database-url", url, "--wait", "2", "database", "create")));
    assert_exit(r, 4);
    assert_contains(r->err, "poblysh: waiting for the database (attempt 1, ");
    assert_contains(r->err, "poblysh: waiting for the database (attempt 2, ");
    assert_contains(r->err, " of 2 s): ");
    assert_contains(r->err, "gave up after --wait");
    assert_true(count_occurrences(r->err, "waiting for the database") >= 3);
    if (r->seconds < 1.9 || r->seconds > 15)
        fail_msg("--wait 2 took %.1f s", r->seconds);
}

static void test_wait__succeeds_at_once_when_the_server_is_up(void **state)
{
    fixture *f = *state;
    name_database(f, "pmd_wait");
    const run_result *r = collect(
        f, spawn_cli(f, NULL, ARGS("--database-url", f->url, "--wait", "5", "database", "create")));
    assert_exit(r, 0);
    assert_lacks(r->err, "waiting for the database");
    assert_contains(r->out, fmt(f, "Created database %s\n", f->dbname));
}

int main(int argc, char **argv)
{
    if (argc != 4 || (strcmp(argv[1], "postgres") != 0 && strcmp(argv[1], "mysql") != 0)) {
        fprintf(stderr, "usage: %s postgres|mysql <poblysh> <fixtures/sql/workflow>\n", argv[0]);
        return 2;
    }
    postgres = strcmp(argv[1], "postgres") == 0;
    cli_path = argv[2];
    sets_dir = argv[3];
    if (srv_server_env(argv[0], postgres, &admin_url, &raw_secret) != 0)
        return 1;
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_create__makes_a_missing_database_and_leaves_an_existing_one),
        T(test_create__quotes_a_name_that_needs_it),
        T(test_drop__is_refused_under_production_without_yes),
        T(test_reset__leaves_an_empty_database),
        T(test_up__create_database_then_migrates),
        T(test_wait__prints_each_attempt_at_a_closed_port_then_exits_4),
        T(test_wait__succeeds_at_once_when_the_server_is_up),
    };
#undef T
    return cmocka_run_group_tests_name(postgres ? "database commands on PostgreSQL"
                                                : "database commands on MariaDB",
                                       tests, NULL, NULL);
}
