/* test_mariadb.c: poblysh against a real MariaDB server through the libdbi
 * driver, via the library and via the built poblysh binary: the tenants
 * table's MySQL types, UTC timestamps under a non-UTC server, concurrent
 * runners, failures on a backend whose DDL commits implicitly, kill -9
 * during a migration (failed, never pending), connection errors, the
 * GET_LOCK timeout, libdbi's own output kept off ours, MySQL stored
 * programs in SQL migrations (with and without DELIMITER lines, and what
 * --dry-run prints of them), and the histories of dbmate, golang-migrate,
 * goose, sqlx, diesel and Flyway, as each writes its table on MySQL, adopted
 * (pm_engine_adopt()). Every test that
 * migrates gets a fresh database, dropped in teardown. Run as:
 * test_mariadb <poblysh> <poblysh_fixture>, with the environment
 * scripts/with-mariadb.sh exports (POBLYSH_TEST_MYSQL_URL,
 * POBLYSH_TEST_MYSQL_PASSWORD). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "testserver.h"

#define TENANTS "m2024_01_01_000001_create_tenants"

/* How long one run of the binary, or one forked runner, may take. */
#define RUN_TIMEOUT_MS 30000
#define MAX_CHILDREN 16
#define CLI_RUNNERS 8

/* A wrong password with URL-special characters, raw and percent-encoded. */
#define WRONG_PASSWORD "wr0ng:p@ss/w#rd"
#define WRONG_PASSWORD_ENC "wr0ng%3Ap%40ss%2Fw%23rd"

static const char *cli_path;     /* the poblysh binary */
static const char *fixture_path; /* poblysh_fixture: a migration that sleeps on the server */
static const char *admin_url;    /* POBLYSH_TEST_MYSQL_URL: every privilege, on poblysh_test */
static const char *raw_password; /* POBLYSH_TEST_MYSQL_PASSWORD: must never be printed */

/* The parts of the admin URL as written (still percent-encoded), from which
 * every other URL of the suite is built. */
static struct {
    char *prefix;       /* "mysql://poblysh" */
    char *password_enc; /* NULL when the URL has none */
    char *hostport;     /* "127.0.0.1:3306" */
    char *query;        /* without the '?'; NULL when none */
} admin;

/* ==== Fixture ==== */

/* What one test owns; teardown releases all of it, even after a failure. */
typedef struct fixture {
    pm_db *admin;  /* on poblysh_test, for CREATE and DROP DATABASE */
    char *dbname;  /* this test's fresh database, or NULL */
    char *url;     /* its URL */
    pm_db *db;     /* open on it */
    pm_db *holder; /* a second connection, e.g. holding the migration lock */
    pm_engine *engine;
    pm_error err;
    char *saved_tz; /* @@GLOBAL.time_zone to restore, or NULL */
    char *tmpdir;   /* a directory to remove with its files, or NULL */
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
    pm_error err = PM_ERROR_INIT;
    if (pm_db_open(&f->admin, admin_url, NULL, &err) < 0) {
        print_error("cannot connect to the test server: %s\n", err.message ? err.message : "?");
        pm_error_clear(&err);
        return -1;
    }
    return 0;
}

static int admin_exec(fixture *f, const char *sql)
{
    pm_error err = PM_ERROR_INIT;
    int rc = pm_db_exec(f->admin, sql, &err);
    if (rc < 0)
        print_error("teardown: %s: %s\n", sql, err.message ? err.message : "?");
    pm_error_clear(&err);
    return rc;
}

/* Removes the files of dir (not its subfolders). */
static void remove_files(const char *dir)
{
    DIR *d = opendir(dir);
    for (struct dirent *e; d && (e = readdir(d));) {
        char path[4200];
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            unlink(path);
    }
    if (d)
        closedir(d);
}

static int teardown(void **state)
{
    fixture *f = *state;
    int rc = 0;
    kill_children(f->children, f->nchildren);
    pm_engine_free(f->engine);
    pm_error_clear(&f->err);
    pm_db_close(f->holder);
    pm_db_close(f->db);
    if (f->admin && f->saved_tz) { /* saved_tz came from the server: no quotes in it */
        char sql[160];
        snprintf(sql, sizeof(sql), "SET GLOBAL time_zone = '%s'", f->saved_tz);
        rc |= admin_exec(f, sql);
    }
    if (f->admin && f->dbname) {
        char sql[160];
        snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS `%s`", f->dbname);
        rc |= admin_exec(f, sql);
    }
    pm_db_close(f->admin);
    if (f->tmpdir) {
        remove_files(f->tmpdir);
        if (rmdir(f->tmpdir) != 0) {
            print_error("teardown: cannot remove %s: %s\n", f->tmpdir, strerror(errno));
            rc = -1;
        }
    }
    for (size_t i = 0; i < f->nruns; i++)
        srv_free_run(f->runs[i]);
    free(f->runs);
    for (size_t i = 0; i < f->nkept; i++)
        free(f->kept[i]);
    free(f->kept);
    free(f);
    return rc ? -1 : 0;
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
    admin.hostport = strndup_or_null(at + 1, (size_t)(auth_end - at - 1));
    const char *query = strchr(auth_end, '?');
    admin.query = query ? strdup(query + 1) : NULL;
    return admin.prefix && admin.hostport && *admin.hostport ? 0 : -1;
}

static void free_admin_url(void)
{
    free(admin.prefix);
    free(admin.password_enc);
    free(admin.hostport);
    free(admin.query);
}

/* The admin URL with another password (percent-encoded; NULL keeps the
 * admin's) and another database. */
static char *make_url(fixture *f, const char *password_enc, const char *dbname)
{
    const char *pw = password_enc ? password_enc : admin.password_enc;
    return fmt(f, "%s%s%s@%s/%s%s%s", admin.prefix, pw ? ":" : "", pw ? pw : "", admin.hostport,
               dbname, admin.query ? "?" : "", admin.query ? admin.query : "");
}

/* Creates pmt_<name>_<pid>, makes it this test's database, and opens it. */
static void fresh_database(fixture *f, const char *name)
{
    f->dbname = fmt(f, "pmt_%s_%ld", name, (long)getpid());
    pm_test_exec(f->admin, fmt(f, "DROP DATABASE IF EXISTS `%s`", f->dbname));
    pm_test_exec(f->admin, fmt(f, "CREATE DATABASE `%s`", f->dbname));
    f->url = make_url(f, NULL, f->dbname);
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

/* The value of a query on the test's database that must return expected;
 * compared as text so a failure shows both. */
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

/* The GET_LOCK name the driver uses for the database db is connected to. */
static char *lock_name(fixture *f, pm_db *db)
{
    char *name = query_text(f, db,
                            "SELECT CONCAT('poblysh:', SHA1(CONCAT(DATABASE(), "
                            "'.seaql_migrations')))");
    assert_non_null(name);
    assert_int_equal(strlen(name), strlen("poblysh:") + 40);
    assert_int_equal(strspn(name + 8, "0123456789abcdef"), 40); /* safe to quote as is */
    return name;
}

/* ==== Running the binary ==== */

/* The child's environment: PATH and this process's sanitizer settings;
 * nothing else, so no POBLYSH_DATABASE_URL or POBLYSH_PROFILE leaks in. */
static char **child_environment(fixture *f)
{
    static const char *const passed[] = {"ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS",
                                         "POBLYSH_FIXTURE_SLEEP"};
    char **envp = keep(f, calloc(8, sizeof(*envp)));
    assert_non_null(envp);
    size_t n = 0;
    envp[n++] = "PATH=/usr/local/bin:/usr/bin:/bin";
    for (size_t i = 0; i < PM_ARRAY_LEN(passed); i++) {
        const char *value = getenv(passed[i]);
        if (value)
            envp[n++] = fmt(f, "%s=%s", passed[i], value);
    }
    envp[n] = NULL;
    return envp;
}

static child *new_child(fixture *f)
{
    assert_true(f->nchildren < MAX_CHILDREN);
    child *c = &f->children[f->nchildren];
    memset(c, 0, sizeof(*c));
    c->out_fd = c->err_fd = -1;
    c->exited = true; /* until a process is forked */
    f->nchildren++;
    return c;
}

/* Starts `binary args...`, with its stdout closed when asked; the child is
 * the fixture's until reaped. */
static child *spawn_binary(fixture *f, const char *binary, bool close_stdout,
                           const char *const *args)
{
    size_t nargs = 0;
    while (args[nargs])
        nargs++;
    char **argv = keep(f, calloc(nargs + 2, sizeof(*argv)));
    assert_non_null(argv);
    argv[0] = (char *)binary;
    for (size_t i = 0; i < nargs; i++)
        argv[i + 1] = (char *)args[i];
    char **envp = child_environment(f);
    child *c = new_child(f);
    clock_gettime(CLOCK_MONOTONIC, &c->started);
    pm_test_spawn_opts opts = {NULL, false, close_stdout, NULL};
    c->pid = pm_test_spawn(binary, argv, envp, &opts, &c->out_fd, &c->err_fd);
    c->exited = false;
    return c;
}

static child *spawn_cli_with(fixture *f, bool close_stdout, const char *const *args)
{
    return spawn_binary(f, cli_path, close_stdout, args);
}

static child *spawn_cli(fixture *f, const char *const *args)
{
    return spawn_cli_with(f, false, args);
}

/* Reads the child's output to its end, waits for it (killing it after
 * RUN_TIMEOUT_MS from its start), and returns the outcome, owned by the
 * fixture. */
static const run_result *collect(fixture *f, child *c)
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
    int open_fds = 2, timed_out = 0;
    while (open_fds > 0) {
        int left = RUN_TIMEOUT_MS - (int)(seconds_since(&c->started) * 1000);
        int n = left > 0 ? poll(fds, 2, left) : 0;
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            timed_out = 1;
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
    while (waitpid(c->pid, &c->wait_status, 0) < 0)
        assert_int_equal(errno, EINTR);
    c->exited = true;
    r->seconds = seconds_since(&c->started);
    int ws = c->wait_status;
    r->status = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
    if (timed_out)
        fail_msg("poblysh did not finish within %d ms\n--- stdout\n%s--- stderr\n%s---",
                 RUN_TIMEOUT_MS, r->out, r->err);
    return r;
}

static const run_result *run_cli(fixture *f, const char *const *args)
{
    return collect(f, spawn_cli(f, args));
}

/* Waits for a forked (not exec'd) child, killing it after RUN_TIMEOUT_MS;
 * returns its exit code, or 128 + signal. */
static int wait_child(child *c)
{
    while (!c->exited) {
        pid_t got = waitpid(c->pid, &c->wait_status, WNOHANG);
        if (got == c->pid) {
            c->exited = true;
            break;
        }
        assert_true(got == 0 || errno == EINTR);
        if (seconds_since(&c->started) * 1000 > RUN_TIMEOUT_MS) {
            kill(c->pid, SIGKILL);
            while (waitpid(c->pid, &c->wait_status, 0) < 0 && errno == EINTR)
                ;
            c->exited = true;
            fail_msg("runner %d did not finish within %d ms", (int)c->pid, RUN_TIMEOUT_MS);
        }
        sleep_ms(20);
    }
    int ws = c->wait_status;
    return WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
}

/* ==== Assertions that show the run ==== */

#define assert_contains(text, needle) assert_contains_((text), (needle), #text, __FILE__, __LINE__)
#define assert_lacks(text, needle) assert_lacks_((text), (needle), #text, __FILE__, __LINE__)
#define assert_empty(text) assert_empty_((text), #text, __FILE__, __LINE__)
#define assert_no_password(r) assert_no_password_((r), __FILE__, __LINE__)

static void assert_contains_(const char *text, const char *needle, const char *what,
                             const char *file, int line)
{
    if (text && strstr(text, needle))
        return;
    print_error("%s does not contain \"%s\":\n---\n%s\n---\n", what, needle,
                text ? text : "(null)");
    _fail(file, line);
}

static void assert_lacks_(const char *text, const char *needle, const char *what, const char *file,
                          int line)
{
    if (!text || !strstr(text, needle))
        return;
    print_error("%s contains \"%s\" but must not:\n---\n%s\n---\n", what, needle, text);
    _fail(file, line);
}

static void assert_empty_(const char *text, const char *what, const char *file, int line)
{
    if (!*text)
        return;
    print_error("%s should be empty but is:\n---\n%s---\n", what, text);
    _fail(file, line);
}

/* Neither the real password nor the suite's wrong one, raw or encoded. */
static void assert_no_password_(const run_result *r, const char *file, int line)
{
    const char *secrets[] = {raw_password, admin.password_enc, WRONG_PASSWORD, WRONG_PASSWORD_ENC};
    for (size_t i = 0; i < PM_ARRAY_LEN(secrets); i++) {
        if (!secrets[i] || !*secrets[i])
            continue;
        assert_lacks_(r->out, secrets[i], "stdout", file, line);
        assert_lacks_(r->err, secrets[i], "stderr", file, line);
    }
}

/* The line of text that starts with prefix, without its newline; fails the
 * test when there is none. */
static char *line_starting(fixture *f, const char *text, const char *prefix)
{
    size_t n = strlen(prefix);
    for (const char *p = text; *p;) {
        size_t len = strcspn(p, "\n");
        if (len >= n && strncmp(p, prefix, n) == 0)
            return fmt(f, "%.*s", (int)len, p);
        p += len + (p[len] == '\n');
    }
    fail_msg("no line starts with \"%s\" in:\n---\n%s---", prefix, text);
    return NULL;
}

/* Fails unless every line of text starts with one of prefixes (NULL-ended)
 * and text ends with a newline. */
#define assert_lines_start_with(text, ...)                                                         \
    assert_lines_start_with_((text), #text, (const char *const[]){__VA_ARGS__, NULL}, __FILE__,    \
                             __LINE__)

static void assert_lines_start_with_(const char *text, const char *what,
                                     const char *const *prefixes, const char *file, int line)
{
    size_t total = strlen(text);
    if (total && text[total - 1] != '\n') {
        print_error("%s does not end with a newline:\n---\n%s\n---\n", what, text);
        _fail(file, line);
    }
    for (const char *p = text; *p;) {
        size_t len = strcspn(p, "\n");
        bool known = false;
        for (size_t i = 0; prefixes[i] && !known; i++) {
            size_t n = strlen(prefixes[i]);
            known = len >= n && strncmp(p, prefixes[i], n) == 0;
        }
        if (!known) {
            print_error("%s has a line that is not poblysh's: \"%.*s\"\n---\n%s---\n", what,
                        (int)len, p, text);
            _fail(file, line);
        }
        p += len + (p[len] == '\n');
    }
}

static void format_utc(time_t t, char *buf, size_t size)
{
    struct tm tm;
    assert_non_null(gmtime_r(&t, &tm));
    assert_true(strftime(buf, size, "%Y-%m-%d %H:%M:%S", &tm) > 0);
}

static int64_t abs64(int64_t v)
{
    return v < 0 ? -v : v;
}

/* ==== The tenants table ==== */

/* "COLUMN_TYPE|IS_NULLABLE|COLUMN_KEY|EXTRA" of one column of tenants. */
static char *tenants_column(fixture *f, const char *column)
{
    return query_text(f, f->db,
                      "SELECT CONCAT_WS('|', COLUMN_TYPE, IS_NULLABLE, COLUMN_KEY, EXTRA) FROM "
                      "information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND "
                      "TABLE_NAME = 'tenants' AND COLUMN_NAME = '%s'",
                      column);
}

static char *tenants_default(fixture *f, const char *column)
{
    return query_text(f, f->db,
                      "SELECT COLUMN_DEFAULT FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = "
                      "DATABASE() AND TABLE_NAME = 'tenants' AND COLUMN_NAME = '%s'",
                      column);
}

static void test_mariadb__up_creates_tenants_with_mysql_types_and_down_removes_it(void **state)
{
    fixture *f = *state;
    fresh_database(f, "tenants");
    const run_result *r = run_cli(f, ARGS("migrate", "up", "--database-url", f->url));
    assert_exit(r, 0);
    assert_contains(r->out, "Database: mysql://poblysh:***@");
    assert_contains(r->out, "(dbi, profile local)\n");
    assert_contains(r->out, "Applying " TENANTS " ... done (");
    assert_contains(r->out, "Applied 1 migration.\n");
    assert_empty(r->err);
    assert_no_password(r);

    /* id CHAR(36) NOT NULL PRIMARY KEY, name TEXT NULL, created_at
     * TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6): and nothing else,
     * in that order, with no ON UPDATE that would rewrite created_at. */
    assert_query(f, "id,name,created_at",
                 "SELECT GROUP_CONCAT(COLUMN_NAME ORDER BY ORDINAL_POSITION) FROM "
                 "information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND "
                 "TABLE_NAME = 'tenants'");
    assert_string_equal(tenants_column(f, "id"), "char(36)|NO|PRI|");
    assert_string_equal(tenants_column(f, "name"), "text|YES||");
    assert_string_equal(tenants_column(f, "created_at"), "timestamp(6)|NO||");
    char *created_default = tenants_default(f, "created_at");
    assert_non_null(created_default);
    if (strcasecmp(created_default, "current_timestamp(6)") != 0)
        fail_msg("created_at defaults to \"%s\", expected current_timestamp(6)", created_default);
    char *id_default = tenants_default(f, "id");
    assert_null(id_default);
    assert_query(f, "PRIMARY:id",
                 "SELECT CONCAT(INDEX_NAME, ':', GROUP_CONCAT(COLUMN_NAME)) FROM "
                 "information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE() AND "
                 "TABLE_NAME = 'tenants' GROUP BY INDEX_NAME");
    assert_query(f, "InnoDB",
                 "SELECT ENGINE FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() "
                 "AND TABLE_NAME = 'tenants'");

    /* A NULL id is refused; a NULL name is not. */
    assert_int_equal(pm_db_exec(f->db, "INSERT INTO tenants (id) VALUES (NULL)", &f->err), PM_EDB);
    assert_string_equal(f->err.db_code, "1048"); /* ER_BAD_NULL_ERROR */
    pm_test_exec(f->db, "INSERT INTO tenants (id, name) VALUES "
                        "('5b3c2a8e-0d7f-4b51-9a1e-2f6c8d9e0a11', NULL)");

    assert_int_equal(pm_test_history_count(f->db), 1);
    assert_query(f, TENANTS, "SELECT version FROM seaql_migrations");

    /* mariadb:// names the same driver and database. */
    const char *mariadb_url = fmt(f, "mariadb%s", strchr(f->url, ':'));
    r = run_cli(f, ARGS("migrate", "status", "--database-url", mariadb_url));
    assert_exit(r, 0);
    assert_empty(r->err);
    assert_contains(r->out, "Database: mariadb://poblysh:***@");
    char *line = line_starting(f, r->out, TENANTS " ");
    assert_contains(line, " applied ");
    assert_contains(r->out, "1 applied, 0 pending.\n");

    r = run_cli(f, ARGS("migrate", "down", "--database-url", f->url));
    assert_exit(r, 0);
    assert_contains(r->out, "Reverting " TENANTS " ... done (");
    assert_contains(r->out, "Reverted 1 migration.\n");
    assert_empty(r->err);
    assert_false(pm_test_has_table(f->db, "tenants"));
    assert_true(pm_test_has_table(f->db, "seaql_migrations"));
    assert_int_equal(pm_test_history_count(f->db), 0);

    r = run_cli(f, ARGS("migrate", "status", "--database-url", f->url));
    assert_exit(r, 0);
    assert_contains(line_starting(f, r->out, TENANTS " "), " pending");
    assert_contains(r->out, "0 applied, 1 pending.\n");
}

/* ==== Time zones ==== */

static void test_mariadb__timestamps_are_utc_when_the_server_time_zone_is_not(void **state)
{
    fixture *f = *state;
    f->saved_tz = query_text(f, f->admin, "SELECT @@GLOBAL.time_zone");
    assert_non_null(f->saved_tz);
    assert_null(strchr(f->saved_tz, '\''));
    pm_test_exec(f->admin, "SET GLOBAL time_zone = '+05:00'");
    /* Connections opened from now on start in +05:00, unless the driver
     * sets the session time zone, as it must. */
    fresh_database(f, "utc");
    assert_string_equal(query_text(f, f->admin, "SELECT @@GLOBAL.time_zone"), "+05:00");
    assert_query(f, "+00:00", "SELECT @@SESSION.time_zone");

    time_t before = time(NULL);
    const run_result *r = run_cli(f, ARGS("migrate", "up", "--database-url", f->url));
    assert_exit(r, 0);
    pm_test_exec(f->db, "INSERT INTO tenants (id) VALUES ('00000000-0000-4000-8000-000000000001')");
    time_t after = time(NULL);

    /* Read back: created_at is UTC, as UTC_TIMESTAMP() is. */
    char *created = query_text(f, f->db, "SELECT created_at FROM tenants");
    assert_non_null(created);
    char earliest[32], latest[32];
    format_utc(before - 2, earliest, sizeof(earliest));
    format_utc(after + 2, latest, sizeof(latest));
    if (strlen(created) < 19 || strncmp(created, earliest, 19) < 0 ||
        strncmp(created, latest, 19) > 0)
        fail_msg("created_at reads \"%s\", expected UTC between \"%s\" and \"%s\"", created,
                 earliest, latest);
    int64_t skew = pm_test_int(f->db, "SELECT TIMESTAMPDIFF(SECOND, created_at, UTC_TIMESTAMP()) "
                                      "FROM tenants");
    if (abs64(skew) > 5)
        fail_msg("created_at is %lld s away from UTC_TIMESTAMP()", (long long)skew);

    /* Written: a literal means UTC on the driver's connection. */
    pm_test_exec(f->db, "INSERT INTO tenants (id, created_at) VALUES "
                        "('00000000-0000-4000-8000-000000000002', '2024-01-01 00:00:00')");
    assert_query(f, "1704067200",
                 "SELECT CAST(UNIX_TIMESTAMP(created_at) AS SIGNED) FROM tenants "
                 "WHERE id = '00000000-0000-4000-8000-000000000002'");

    /* The column holds instants: a +05:00 session sees them shifted. */
    f->holder = pm_test_open(f->url);
    pm_test_exec(f->holder, "SET time_zone = '+05:00'");
    char *shifted = query_text(f, f->holder,
                               "SELECT created_at FROM tenants "
                               "WHERE id = '00000000-0000-4000-8000-000000000002'");
    assert_non_null(shifted);
    /* libdbi renders a DATETIME to whole seconds. */
    if (strncmp(shifted, "2024-01-01 05:00:00", 19) != 0)
        fail_msg("a +05:00 session reads \"%s\", expected 2024-01-01 05:00:00", shifted);

    /* The history's applied_at is unix seconds. */
    int64_t applied_at = pm_test_int(f->db, "SELECT applied_at FROM seaql_migrations");
    if (applied_at < (int64_t)before - 2 || applied_at > (int64_t)after + 2)
        fail_msg("applied_at %lld is not between %lld and %lld", (long long)applied_at,
                 (long long)before, (long long)after);
}

/* ==== Several runners at once ==== */

static void test_mariadb__concurrent_cli_runners_apply_tenants_once(void **state)
{
    fixture *f = *state;
    fresh_database(f, "cli_race");
    child *children[CLI_RUNNERS];
    for (int i = 0; i < CLI_RUNNERS; i++)
        children[i] =
            spawn_cli(f, ARGS("migrate", "up", "--database-url", f->url, "--lock-timeout", "20"));
    size_t applied = 0, nothing = 0;
    for (int i = 0; i < CLI_RUNNERS; i++) {
        const run_result *r = collect(f, children[i]);
        assert_exit(r, 0);
        assert_empty(r->err);
        applied += count_occurrences(r->out, "Applied 1 migration.\n");
        nothing += count_occurrences(r->out, "Nothing to apply: the database is up to date.\n");
        assert_lacks(r->out, "Skipping");
    }
    /* One runner applied it under the lock; the others waited, then found
     * it recorded. */
    assert_int_equal(applied, 1);
    assert_int_equal(nothing, CLI_RUNNERS - 1);
    assert_int_equal(pm_test_history_count(f->db), 1);
    assert_query(f, TENANTS, "SELECT version FROM seaql_migrations");
    assert_true(pm_test_has_table(f->db, "tenants"));
    assert_query(f, "1", "SELECT IS_FREE_LOCK('%s')", lock_name(f, f->db));
}

#define RACE_MIGRATIONS 10
#define RACE_RUNNERS 6

static char race_names[RACE_MIGRATIONS][40];
static char race_tables[RACE_MIGRATIONS][24];
static pm_migration race_migrations[RACE_MIGRATIONS];
static const pm_migration *race_set[RACE_MIGRATIONS];

static void build_race_set(void)
{
    for (int i = 0; i < RACE_MIGRATIONS; i++) {
        snprintf(race_names[i], sizeof(race_names[i]), "m2024_04_01_%06d_race", i);
        snprintf(race_tables[i], sizeof(race_tables[i]), "race_%d", i);
        race_migrations[i] = (pm_migration){.name = race_names[i],
                                            .up = pm_test_up_create,
                                            .down = pm_test_down_drop,
                                            .data = race_tables[i]};
        race_set[i] = &race_migrations[i];
    }
}

/* One runner in its own process: exits with how many migrations it applied,
 * or 100 when up() failed. */
static int race_runner(const char *url)
{
    pm_db *db = NULL;
    pm_engine *engine = NULL;
    pm_error err = PM_ERROR_INIT;
    pm_engine_options opts = PM_ENGINE_OPTIONS_INIT;
    opts.lock_timeout_seconds = 20;
    size_t applied = 0;
    int rc = pm_db_open(&db, url, NULL, &err);
    if (rc == 0)
        rc = pm_engine_new(&engine, db, race_set, RACE_MIGRATIONS, &opts, &err);
    if (rc == 0)
        rc = pm_engine_up(engine, PM_ALL, &applied, &err);
    if (rc < 0)
        fprintf(stderr, "runner %d: %s\n", (int)getpid(), err.message ? err.message : "?");
    pm_error_clear(&err);
    pm_engine_free(engine);
    pm_db_close(db);
    return rc == 0 ? (int)applied : 100;
}

static void test_mariadb__concurrent_library_runners_record_each_migration_once(void **state)
{
    fixture *f = *state;
    fresh_database(f, "lib_race");
    child *runners[RACE_RUNNERS];
    fflush(NULL);
    for (int i = 0; i < RACE_RUNNERS; i++) {
        runners[i] = new_child(f);
        clock_gettime(CLOCK_MONOTONIC, &runners[i]->started);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0)
            _exit(race_runner(f->url));
        runners[i]->pid = pid;
        runners[i]->exited = false;
    }
    int total = 0;
    for (int i = 0; i < RACE_RUNNERS; i++) {
        int code = wait_child(runners[i]);
        if (code > RACE_MIGRATIONS)
            fail_msg("runner %d failed with exit code %d", (int)runners[i]->pid, code);
        total += code;
    }
    /* Each migration ran in exactly one runner and was recorded once. */
    assert_int_equal(total, RACE_MIGRATIONS);
    assert_int_equal(pm_test_history_count(f->db), RACE_MIGRATIONS);
    assert_query(f, "10", "SELECT count(DISTINCT version) FROM seaql_migrations");
    assert_query(f, race_names[0], "SELECT min(version) FROM seaql_migrations");
    assert_query(f, race_names[RACE_MIGRATIONS - 1], "SELECT max(version) FROM seaql_migrations");
    for (int i = 0; i < RACE_MIGRATIONS; i++)
        assert_true(pm_test_has_table(f->db, race_tables[i]));
}

/* ==== Failures ==== */

static void test_mariadb__failed_migration_reports_error_number_and_writes_no_history(void **state)
{
    fixture *f = *state;
    fresh_database(f, "failing");
    assert_false(pm_db_transactional_ddl(f->db));
    static const pm_migration first = PM_TEST_MIGRATION("m2024_05_01_000000_first", "first_table");
    static const pm_migration broken =
        PM_TEST_FAILING_MIGRATION("m2024_05_01_000001_broken", "broken_table");
    static const pm_migration *const set[] = {&first, &broken};
    pm_test_ok(pm_engine_new(&f->engine, f->db, set, 2, NULL, &f->err), &f->err);

    size_t applied = 99;
    int rc = pm_engine_up(f->engine, PM_ALL, &applied, &f->err);
    assert_int_equal(rc, PM_EDB);
    assert_int_equal(applied, 1);
    assert_int_equal(f->err.code, PM_EDB);
    assert_string_equal(f->err.migration, "m2024_05_01_000001_broken");
    assert_string_equal(f->err.statement, PM_TEST_BAD_STATEMENT);
    assert_string_equal(f->err.db_code, "1146"); /* ER_NO_SUCH_TABLE */
    assert_contains(f->err.message, "no_such_table_xyz");
    assert_contains(f->err.message, "doesn't exist");
    assert_contains(f->err.hint, "commits DDL implicitly");
    assert_contains(f->err.hint, "may have been applied");
    assert_contains(f->err.hint, "no history row was written");

    /* The history holds the first migration only; the broken one's CREATE
     * TABLE was committed implicitly, as the hint warns. */
    assert_int_equal(pm_test_history_count(f->db), 1);
    assert_query(f, "m2024_05_01_000000_first", "SELECT version FROM seaql_migrations");
    assert_true(pm_test_has_table(f->db, "first_table"));
    assert_true(pm_test_has_table(f->db, "broken_table"));
    /* The lock was released. */
    assert_query(f, "1", "SELECT IS_FREE_LOCK('%s')", lock_name(f, f->db));

    /* Undone by hand and run again: the same failure, still no row. */
    pm_test_exec(f->db, "DROP TABLE broken_table");
    rc = pm_engine_up(f->engine, PM_ALL, &applied, &f->err);
    assert_int_equal(rc, PM_EDB);
    assert_int_equal(applied, 0);
    assert_string_equal(f->err.db_code, "1146");
    assert_int_equal(pm_test_history_count(f->db), 1);
}

static void test_mariadb__table_conflict_exits_1_and_says_ddl_may_be_applied(void **state)
{
    fixture *f = *state;
    fresh_database(f, "conflict");
    pm_test_exec(f->db, "CREATE TABLE tenants (legacy INT)");
    const run_result *r = run_cli(f, ARGS("migrate", "up", "--database-url", f->url));
    assert_exit(r, 1);
    assert_contains(r->out, "Applying " TENANTS " ... FAILED\n");
    assert_lacks(r->out, "Applied");
    assert_contains(r->err, "poblysh: error: migration " TENANTS " failed: ");
    assert_contains(r->err, "Table 'tenants' already exists");
    assert_contains(r->err, "  statement: CREATE TABLE `tenants`");
    assert_contains(r->err, "  database code: 1050\n");
    assert_contains(r->err, "may have been applied");
    assert_lacks(r->err, "nothing of it was applied");
    assert_lacks(r->err, "was rolled back");
    assert_no_password(r);

    /* No history row, and the hand-made table is as it was. */
    assert_int_equal(pm_test_history_count(f->db), 0);
    assert_true(pm_test_has_column(f->db, "tenants", "legacy"));
    assert_false(pm_test_has_column(f->db, "tenants", "id"));
    assert_query(f, "1", "SELECT IS_FREE_LOCK('%s')", lock_name(f, f->db));
}

/* ==== Connecting ==== */

static void test_mariadb__wrong_password_exits_4_and_prints_no_password(void **state)
{
    fixture *f = *state;
    const char *url = make_url(f, WRONG_PASSWORD_ENC, "poblysh_test");
    const run_result *r = run_cli(f, ARGS("migrate", "up", "--database-url", url));
    assert_exit(r, 4);
    assert_contains(r->err, "poblysh: error: cannot connect through libdbi's mysql driver: ");
    assert_contains(r->err, "Access denied for user 'poblysh'");
    assert_no_password(r);
    assert_lacks(r->out, "Applying");

    r = run_cli(f, ARGS("-v", "migrate", "status", "--database-url", url));
    assert_exit(r, 4);
    assert_contains(r->err, "database URL mysql://poblysh:***@");
    assert_contains(r->err, "Access denied for user 'poblysh'");
    assert_no_password(r);

    /* The right password, verbose: connected, still never printed. On a
     * database of its own: status exits 5 when another suite's history in
     * poblysh_test needs attention. */
    fresh_database(f, "password");
    r = run_cli(f, ARGS("-v", "migrate", "status", "--database-url", f->url));
    assert_exit(r, 0);
    assert_contains(r->err, "poblysh: connected with the dbi driver\n");
    assert_no_password(r);
}

static void test_mariadb__unknown_database_exits_4(void **state)
{
    fixture *f = *state;
    const char *name = fmt(f, "pmt_missing_%ld", (long)getpid());
    pm_test_exec(f->admin, fmt(f, "DROP DATABASE IF EXISTS `%s`", name));
    const run_result *r =
        run_cli(f, ARGS("migrate", "up", "--database-url", make_url(f, NULL, name)));
    assert_exit(r, 4);
    assert_contains(r->err, "Unknown database");
    assert_contains(r->err, name);
    assert_no_password(r);
    assert_lacks(r->out, "Applying");
}

static void test_mariadb__unknown_libdbi_driver_exits_2_and_lists_installed_drivers(void **state)
{
    fixture *f = *state;
    static const char url[] = "dbi:nosuchdriver://u:secretpw@h/db";
    const run_result *runs[] = {
        run_cli(f, ARGS("migrate", "up", "--database-url", url)),
        run_cli(f, ARGS("-v", "migrate", "status", "--database-url", url)),
    };
    for (size_t i = 0; i < PM_ARRAY_LEN(runs); i++) {
        const run_result *r = runs[i];
        assert_exit(r, 2);
        char *message = line_starting(f, r->err, "poblysh: error: ");
        assert_contains(message, "libdbi has no driver \"nosuchdriver\"");
        const char *listed = strstr(message, "installed libdbi drivers: ");
        assert_non_null(listed);
        assert_contains(listed, "mysql");
        assert_contains(listed, "sqlite3");
        assert_lacks(r->out, "secretpw");
        assert_lacks(r->err, "secretpw");
        assert_lacks(r->out, "Applying");
    }
    assert_contains(runs[1]->err, "database URL dbi:nosuchdriver://u:***@h/db");
}

static void test_mariadb__url_without_database_says_to_name_one(void **state)
{
    fixture *f = *state;
    const char *url = fmt(f, "%s%s%s@%s", admin.prefix, admin.password_enc ? ":" : "",
                          admin.password_enc ? admin.password_enc : "", admin.hostport);
    const run_result *r = run_cli(f, ARGS("migrate", "up", "--database-url", url));
    assert_exit(r, 1);
    assert_contains(r->err, "no database selected: name it in the URL");
    assert_lacks(r->out, "Applying");
    assert_no_password(r);
}

/* libdbi calls point stdout and stderr at /dev/null and back: when poblysh
 * starts with stdout closed, its diagnostics must still reach stderr. */
static void test_mariadb__errors_reach_stderr_when_stdout_is_closed(void **state)
{
    fixture *f = *state;
    const char *url = make_url(f, WRONG_PASSWORD_ENC, "poblysh_test");
    const run_result *r =
        collect(f, spawn_cli_with(f, true, ARGS("migrate", "up", "--database-url", url)));
    assert_exit(r, 4);
    assert_empty(r->out);
    assert_contains(r->err, "poblysh: error: cannot connect through libdbi's mysql driver: ");
    assert_contains(r->err, "Access denied for user 'poblysh'");
    assert_no_password(r);
}

/* ==== The migration lock ==== */

static void test_mariadb__lock_timeout_exits_3_and_names_the_holders_connection_id(void **state)
{
    fixture *f = *state;
    fresh_database(f, "lock");
    f->holder = pm_test_open(f->url);
    char *name = lock_name(f, f->holder);
    assert_string_equal(query_text(f, f->holder, "SELECT GET_LOCK('%s', 0)", name), "1");
    char *holder_id = query_text(f, f->holder, "SELECT CONNECTION_ID()");
    assert_non_null(holder_id);

    const run_result *r =
        run_cli(f, ARGS("migrate", "up", "--database-url", f->url, "--lock-timeout", "1"));
    assert_exit(r, 3);
    assert_contains(r->err, "migration lock not acquired within 1 s");
    assert_contains(r->err, fmt(f, "connection ID %s;", holder_id));
    assert_contains(r->err, fmt(f, "WHERE ID = %s", holder_id));
    assert_lacks(r->out, "Applying");
    assert_no_password(r);
    if (r->seconds < 0.9 || r->seconds > 15)
        fail_msg("the run took %.1f s with --lock-timeout 1", r->seconds);
    assert_false(pm_test_has_table(f->db, "tenants"));
    assert_int_equal(pm_test_history_count(f->db), 0);
    /* It still holds the lock: the runner that gave up took nothing with it. */
    assert_query(f, holder_id, "SELECT IS_USED_LOCK('%s')", name);

    assert_string_equal(query_text(f, f->holder, "SELECT RELEASE_LOCK('%s')", name), "1");
    r = run_cli(f, ARGS("migrate", "up", "--database-url", f->url, "--lock-timeout", "1"));
    assert_exit(r, 0);
    assert_contains(r->out, "Applied 1 migration.\n");
    assert_true(pm_test_has_table(f->db, "tenants"));
    assert_int_equal(pm_test_history_count(f->db), 1);
    assert_query(f, "1", "SELECT IS_FREE_LOCK('%s')", name);
}

/* The number of connections to this test's database other than ours. */
static int64_t other_connections(fixture *f, const char *holder_id)
{
    return pm_test_int(f->db, fmt(f,
                                  "SELECT count(*) FROM information_schema.PROCESSLIST WHERE DB = "
                                  "'%s' AND ID NOT IN (CONNECTION_ID(), %s)",
                                  f->dbname, holder_id));
}

static void test_mariadb__sigint_while_waiting_for_the_lock_exits_130(void **state)
{
    fixture *f = *state;
    fresh_database(f, "sigint");
    f->holder = pm_test_open(f->url);
    char *name = lock_name(f, f->holder);
    assert_string_equal(query_text(f, f->holder, "SELECT GET_LOCK('%s', 0)", name), "1");
    char *holder_id = query_text(f, f->holder, "SELECT CONNECTION_ID()");
    assert_non_null(holder_id);

    child *c =
        spawn_cli(f, ARGS("migrate", "up", "--database-url", f->url, "--lock-timeout", "20"));
    while (other_connections(f, holder_id) == 0) {
        if (seconds_since(&c->started) > 10)
            fail_msg("poblysh did not connect within 10 s");
        sleep_ms(20);
    }
    sleep_ms(500); /* it connected; now it polls GET_LOCK */
    struct timespec sent;
    clock_gettime(CLOCK_MONOTONIC, &sent);
    assert_int_equal(kill(c->pid, SIGINT), 0);
    const run_result *r = collect(f, c);
    double after_signal = seconds_since(&sent);
    assert_exit(r, 130);
    assert_contains(r->err, "interrupted while waiting for the migration lock");
    assert_lacks(r->out, "Applying");
    if (after_signal > 3)
        fail_msg("poblysh took %.1f s to stop after SIGINT", after_signal);
    assert_false(pm_test_has_table(f->db, "tenants"));
    assert_int_equal(pm_test_history_count(f->db), 0);
    assert_query(f, holder_id, "SELECT IS_USED_LOCK('%s')", name);
    assert_int_equal(other_connections(f, holder_id), 0);
}

/* ==== Interrupted during a statement ==== */

static pm_db *volatile alarm_target;

static void on_alarm(int sig)
{
    (void)sig;
    if (alarm_target)
        pm_db_interrupt(alarm_target);
}

static int up_slow(pm_schema *s, const void *data)
{
    (void)data;
    int rc = pm_schema_exec(s, "CREATE TABLE slow_a (id INT)");
    return rc == 0 ? pm_schema_exec(s, "SELECT SLEEP(2)") : rc;
}

static int down_slow(pm_schema *s, const void *data)
{
    (void)data;
    return pm_schema_drop_table(s, "slow_a", 0);
}

/* A signal that arrives while the server runs a statement (SIGINT in the
 * CLI; here SIGALRM, installed the same way, without SA_RESTART) must not
 * break the connection: the engine stops with PM_EINTERRUPTED, starts no
 * further migration, and the history matches what was committed. */
static void test_mariadb__signal_during_a_statement_stops_before_the_next_migration(void **state)
{
    fixture *f = *state;
    fresh_database(f, "signal");
    static const pm_migration slow = {
        .name = "m2024_07_01_000000_slow", .up = up_slow, .down = down_slow};
    static const pm_migration next = PM_TEST_MIGRATION("m2024_07_01_000001_next", "slow_b");
    static const pm_migration *const set[] = {&slow, &next};
    pm_test_ok(pm_engine_new(&f->engine, f->db, set, 2, NULL, &f->err), &f->err);

    struct sigaction sa, old;
    memset(&sa, 0, sizeof(sa));
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = on_alarm;
    sa.sa_flags = 0;
    alarm_target = f->db;
    assert_int_equal(sigaction(SIGALRM, &sa, &old), 0);
    alarm(1);
    size_t applied = 99;
    int rc = pm_engine_up(f->engine, PM_ALL, &applied, &f->err);
    alarm(0);
    sigaction(SIGALRM, &old, NULL);
    alarm_target = NULL;

    if (rc != PM_EINTERRUPTED)
        fail_msg("up returned %d (%s): %s [statement %s, code %s]", rc, pm_strerror(rc),
                 f->err.message ? f->err.message : "-", f->err.statement ? f->err.statement : "-",
                 f->err.db_code ? f->err.db_code : "-");
    assert_true(pm_db_interrupted(f->db));
    /* The next migration never started. */
    assert_false(pm_test_has_table(f->db, "slow_b"));
    /* libdbi cannot cancel the statement: either the slow migration
     * finished and is recorded, or it stopped and is not. */
    int64_t rows = pm_test_history_count(f->db);
    assert_int_equal(rows, (int64_t)applied);
    if (applied == 1)
        assert_query(f, "m2024_07_01_000000_slow", "SELECT version FROM seaql_migrations");
    else
        assert_string_equal(f->err.migration, "m2024_07_01_000000_slow");
    /* The connection still works, and the lock was released. */
    assert_query(f, "1", "SELECT IS_FREE_LOCK('%s')", lock_name(f, f->db));
}

/* ==== libdbi's own output ==== */

static void test_mariadb__libdbi_driver_output_never_reaches_stdout_or_stderr(void **state)
{
    fixture *f = *state;
    char template[] = "/tmp/pmt_dbi_sqlite3_XXXXXX";
    char *dir = mkdtemp(template);
    assert_non_null(dir);
    f->tmpdir = fmt(f, "%s", dir);
    const char *url = fmt(f, "dbi:sqlite3://%s/x.db", f->tmpdir);
#define POBLYSH_STDOUT                                                                             \
    "Database: ", "[1/1] Applying ", "Applied ", "[1/1] Reverting ", "Reverted ", "Nothing ",      \
        "Migration ", "m20", "0", "1", "2", "3", "4", "5", "6", "7", "8", "9"
    static const char *const commands[] = {"up", "status", "up", "down", "status", "down"};
    static const char *const expected[] = {
        "Applied 1 migration.\n",  "1 applied, 0 pending.\n", "Nothing to apply",
        "Reverted 1 migration.\n", "0 applied, 1 pending.\n", "Nothing to revert",
    };
    for (size_t i = 0; i < PM_ARRAY_LEN(commands); i++) {
        const run_result *r = run_cli(f, ARGS("migrate", commands[i], "--database-url", url));
        assert_exit(r, 0);
        assert_contains(r->out, expected[i]);
        assert_contains(r->out, "(dbi, profile local)\n");
        assert_lacks(r->out, "tables in statement");
        assert_lacks(r->err, "tables in statement");
        assert_empty(r->err);
        assert_lines_start_with(r->out, POBLYSH_STDOUT);
    }
    /* libdbd-sqlite3 prints "no tables in statement !" when not silenced. */
    /* Verbose: stderr has poblysh's own lines and nothing else. */
    const run_result *r = run_cli(f, ARGS("-v", "migrate", "up", "--database-url", url));
    assert_exit(r, 0);
    assert_contains(r->out, "Applied 1 migration.\n");
    assert_contains(r->err, "poblysh: connected with the dbi driver\n");
    assert_lacks(r->out, "tables in statement");
    assert_lacks(r->err, "tables in statement");
    assert_lines_start_with(r->out, POBLYSH_STDOUT);
    assert_lines_start_with(r->err, "poblysh: ");
#undef POBLYSH_STDOUT

    f->holder = pm_test_open(url);
    assert_true(pm_test_has_table(f->holder, "tenants"));
    assert_int_equal(pm_test_history_count(f->holder), 1);
}

/* ==== SQL migration folders (tests/fixtures/sql) ==== */

/* <repository>/tests/fixtures/sql/<name>, from this file's path (absolute in
 * CMake builds): <root>/tests/mariadb/test_mariadb.c. */
static char *sql_fixture(fixture *f, const char *name)
{
    static const char self[] = "tests/mariadb/test_mariadb.c";
    const char *file = __FILE__;
    size_t n = strlen(file);
    if (n < sizeof(self) - 1 || strcmp(file + n - (sizeof(self) - 1), self) != 0)
        fail_msg("cannot find the repository from __FILE__ \"%s\"", file);
    return fmt(f, "%.*stests/fixtures/sql/%s", (int)(n - (sizeof(self) - 1)), file, name);
}

static bool has_column(fixture *f, const char *table, const char *column)
{
    char *n = query_text(f, f->db,
                         "SELECT COUNT(*) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = "
                         "DATABASE() AND TABLE_NAME = '%s' AND COLUMN_NAME = '%s'",
                         table, column);
    return n && strcmp(n, "1") == 0;
}

static void test_mariadb__dbmate_folder_up_status_and_down(void **state)
{
    fixture *f = *state;
    fresh_database(f, "dbmate");
    const char *dir = sql_fixture(f, "dbmate");
    const run_result *r =
        run_cli(f, ARGS("migrate", "up", "--source", dir, "--database-url", f->url));
    assert_exit(r, 0);
    assert_empty(r->err);
    assert_contains(r->out, "Applied 4 migrations.\n");
    assert_true(pm_test_has_table(f->db, "users"));
    assert_true(pm_test_has_table(f->db, "posts"));
    assert_true(pm_test_has_table(f->db, "tags"));
    assert_true(has_column(f, "posts", "title"));
    assert_query(f, "first;user@example.com", "SELECT email FROM users WHERE id = 1");
    assert_int_equal(pm_test_history_count(f->db), 4);

    r = run_cli(f, ARGS("migrate", "status", "--source", dir, "--database-url", f->url));
    assert_exit(r, 0);
    assert_empty(r->err);
    static const char *const names[] = {"1_create_users ", "9_create_posts ", "10_add_posts_title ",
                                        "20240301120000_create_tags "};
    for (size_t i = 0; i < PM_ARRAY_LEN(names); i++)
        assert_contains(line_starting(f, r->out, names[i]), " applied ");
    assert_contains(r->out, "4 applied, 0 pending.\n");

    r = run_cli(f, ARGS("migrate", "down", "-n", "2", "--source", dir, "--database-url", f->url));
    assert_exit(r, 0);
    assert_empty(r->err);
    assert_contains(r->out, "Reverted 2 migrations.\n");
    assert_false(pm_test_has_table(f->db, "tags"));
    assert_false(has_column(f, "posts", "title"));
    assert_true(pm_test_has_table(f->db, "posts"));
    assert_int_equal(pm_test_history_count(f->db), 2);

    r = run_cli(f, ARGS("migrate", "down", "-n", "2", "--source", dir, "--database-url", f->url));
    assert_exit(r, 0);
    assert_false(pm_test_has_table(f->db, "posts"));
    assert_false(pm_test_has_table(f->db, "users"));
    assert_int_equal(pm_test_history_count(f->db), 0);
}

static void test_mariadb__golang_folder_up_status_and_down(void **state)
{
    fixture *f = *state;
    fresh_database(f, "golang");
    const char *dir = sql_fixture(f, "golang");
    const run_result *r =
        run_cli(f, ARGS("migrate", "up", "--source", dir, "--database-url", f->url));
    assert_exit(r, 0);
    assert_empty(r->err);
    assert_contains(r->out, "Applied 3 migrations.\n");
    assert_true(pm_test_has_table(f->db, "items"));
    assert_true(pm_test_has_table(f->db, "orders"));
    assert_true(has_column(f, "items", "price"));
    assert_query(f, "it's; here", "SELECT name FROM items WHERE id = 1");
    assert_int_equal(pm_test_history_count(f->db), 3);

    r = run_cli(f, ARGS("migrate", "status", "--source", dir, "--database-url", f->url));
    assert_exit(r, 0);
    assert_empty(r->err);
    static const char *const names[] = {"000001_create_items ", "000002_add_items_price ",
                                        "000010_create_orders "};
    for (size_t i = 0; i < PM_ARRAY_LEN(names); i++)
        assert_contains(line_starting(f, r->out, names[i]), " applied ");
    assert_contains(r->out, "3 applied, 0 pending.\n");

    r = run_cli(f, ARGS("migrate", "down", "-n", "1", "--source", dir, "--database-url", f->url));
    assert_exit(r, 0);
    assert_empty(r->err);
    assert_contains(r->out, "Reverted 1 migration.\n");
    assert_false(pm_test_has_table(f->db, "orders"));
    assert_true(has_column(f, "items", "price"));

    r = run_cli(f, ARGS("migrate", "down", "-n", "2", "--source", dir, "--database-url", f->url));
    assert_exit(r, 0);
    assert_contains(r->out, "Reverted 2 migrations.\n");
    assert_false(pm_test_has_table(f->db, "items"));
    assert_int_equal(pm_test_history_count(f->db), 0);

    r = run_cli(f, ARGS("migrate", "status", "--source", dir, "--database-url", f->url));
    assert_exit(r, 0);
    assert_contains(r->out, "0 applied, 3 pending.\n");
}

/* MySQL/MariaDB commits DDL implicitly and cannot copy a database, but has
 * a scratch database for verify and a catalog to read. */
static void test_mariadb__capabilities_are_those_of_a_server_without_transactional_ddl(void **state)
{
    fixture *f = *state;
    fresh_database(f, "caps");
    const unsigned int want = PM_CAP_SCRATCH_SCHEMA | PM_CAP_SCRATCH_DATABASE | PM_CAP_READ_SCHEMA;
    assert_int_equal(pm_db_capabilities(f->db), want);
    assert_false(pm_db_transactional_ddl(f->db));
    assert_string_equal(pm_db_backend_name(f->db), "mysql");
    unsigned int told = 0;
    pm_test_ok(pm_url_capabilities(f->url, &told, &f->err), &f->err);
    assert_int_equal(told, want);
}

/* ==== kill -9 during a migration ==== */

#define SLEEPER "m2024_06_01_000000_sleep"
#define KILL_ROUNDS 3

/* Waits until the table exists in the test's database (its CREATE TABLE
 * committed, implicitly), for at most RUN_TIMEOUT_MS. */
static void wait_for_table(fixture *f, const char *table)
{
    struct timespec started;
    clock_gettime(CLOCK_MONOTONIC, &started);
    while (!pm_test_has_table(f->db, table)) {
        if (seconds_since(&started) * 1000 > RUN_TIMEOUT_MS)
            fail_msg("%s was never created", table);
        sleep_ms(20);
    }
}

/* The server keeps a killed client's statement (SLEEP) and its GET_LOCK
 * until it notices; ends that connection, as the server eventually would. */
static void end_orphaned_connection(fixture *f, const char *lock)
{
    char *holder = query_text(f, f->db, "SELECT IS_USED_LOCK('%s')", lock);
    if (holder) { /* it may end by itself meanwhile: KILL then fails with 1094 */
        pm_error ignored = PM_ERROR_INIT;
        (void)pm_db_exec(f->db, fmt(f, "KILL %s", holder), &ignored);
        pm_error_clear(&ignored);
    }
    struct timespec started;
    clock_gettime(CLOCK_MONOTONIC, &started);
    while (strcmp(query_text(f, f->db, "SELECT IS_FREE_LOCK('%s')", lock), "1") != 0) {
        if (seconds_since(&started) * 1000 > RUN_TIMEOUT_MS)
            fail_msg("the lock of the killed runner was never released");
        sleep_ms(20);
    }
}

static void kill_during_sleeper_then_check_status(fixture *f, const char *lock)
{
    child *c =
        spawn_binary(f, fixture_path, false, ARGS("migrate", "up", "--database-url", f->url));
    wait_for_table(f, "fixture_slept");
    assert_int_equal(kill(c->pid, SIGKILL), 0);
    const run_result *r = collect(f, c);
    assert_exit(r, 128 + SIGKILL);
    end_orphaned_connection(f, lock);

    /* The table was committed by its DDL: the history says so, not "pending". */
    assert_true(pm_test_has_table(f->db, "fixture_slept"));
    r = collect(f,
                spawn_binary(f, fixture_path, false,
                             ARGS("migrate", "status", "--exit-code", "--database-url", f->url)));
    assert_exit(r, 5);
    char *line = line_starting(f, r->out, SLEEPER " ");
    assert_non_null(line);
    assert_contains(line, " failed ");
    assert_lacks(line, "pending");
    assert_contains(r->out, "started and never finished");
    assert_contains(r->out, "A failed migration blocks up");

    /* up refuses it, with the repair advice, before touching anything. */
    r = collect(
        f, spawn_binary(f, fixture_path, false, ARGS("migrate", "up", "--database-url", f->url)));
    assert_exit(r, 5);
    assert_contains(r->err, "failed (its work may be partly done): " SLEEPER);
    assert_contains(r->err, "repair --rollback " SLEEPER);
    assert_lacks(r->err, "1050");
    assert_no_password(r);

    /* Undone by hand and the history repaired: the next round starts clean. */
    pm_test_exec(f->db, "DROP TABLE fixture_slept");
    r = collect(f, spawn_binary(
                       f, fixture_path, false,
                       ARGS("migrate", "repair", "--rollback", SLEEPER, "--database-url", f->url)));
    assert_exit(r, 0);
}

static void test_mariadb__kill_9_during_a_migration_leaves_it_failed_never_pending(void **state)
{
    fixture *f = *state;
    fresh_database(f, "kill9");
    const char *lock = lock_name(f, f->db);
    setenv("POBLYSH_FIXTURE_SLEEP", "20", 1);
    const run_result *r =
        collect(f, spawn_binary(f, fixture_path, false,
                                ARGS("migrate", "up", "-n", "1", "--database-url", f->url)));
    assert_exit(r, 0);
    for (int round = 0; round < KILL_ROUNDS; round++)
        kill_during_sleeper_then_check_status(f, lock);
    setenv("POBLYSH_FIXTURE_SLEEP", "0", 1);
    r = collect(
        f, spawn_binary(f, fixture_path, false, ARGS("migrate", "up", "--database-url", f->url)));
    unsetenv("POBLYSH_FIXTURE_SLEEP");
    assert_exit(r, 0);
    assert_query(f, "applied", "SELECT state FROM seaql_migrations WHERE version = '" SLEEPER "'");
    r = collect(f,
                spawn_binary(f, fixture_path, false,
                             ARGS("migrate", "status", "--exit-code", "--database-url", f->url)));
    assert_exit(r, 0);
}

/* ==== MySQL stored programs in SQL migrations ==== */

/* A procedure (nested blocks, labelled WHILE, IF/ELSEIF/ELSE, a CASE
 * statement and expression, a CONTINUE HANDLER with a block), a trigger and
 * two functions, written as golang-migrate and dbmate users write them: no
 * DELIMITER lines. */
static const char programs_up_sql[] =
    "-- migrate:up\n"
    "CREATE PROCEDURE add_items(IN n INT)\n"
    "BEGIN\n"
    "  DECLARE i INT DEFAULT 0;\n"
    "  DECLARE CONTINUE HANDLER FOR SQLSTATE '23000'\n"
    "  BEGIN\n"
    "    INSERT INTO audit (note) VALUES ('duplicate; skipped');\n"
    "  END;\n"
    "  fill: WHILE i < n DO\n"
    "    SET i = i + 1;\n"
    "    IF i > 100 THEN\n"
    "      LEAVE fill;\n"
    "    ELSEIF MOD(i, 2) = 0 THEN\n"
    "      INSERT INTO items (name, qty) VALUES (CONCAT('even;', i), i);\n"
    "    ELSE\n"
    "      BEGIN\n"
    "        DECLARE kind VARCHAR(20);\n"
    "        SET kind = CASE WHEN i = 1 THEN 'first' ELSE 'odd' END;\n"
    "        INSERT INTO items (name, qty) VALUES (CONCAT(kind, ';', i), i);\n"
    "      END;\n"
    "    END IF;\n"
    "  END WHILE fill;\n"
    "  CASE n\n"
    "    WHEN 0 THEN INSERT INTO audit (note) VALUES ('none');\n"
    "    ELSE SET @filled = n;\n"
    "  END CASE;\n"
    "END;\n"
    "\n"
    "CREATE TRIGGER items_ai AFTER INSERT ON items FOR EACH ROW\n"
    "BEGIN\n"
    "  IF NEW.qty > 0 THEN\n"
    "    INSERT INTO audit (note) VALUES (CONCAT('added; ', NEW.name));\n"
    "  END IF;\n"
    "END;\n"
    "\n"
    "CREATE FUNCTION clamp(x INT) RETURNS INT DETERMINISTIC\n"
    "BEGIN\n"
    "  DECLARE r INT;\n"
    "  SET r = CASE WHEN x < 0 THEN 0 WHEN x > 9 THEN 9 ELSE x END;\n"
    "  RETURN r;\n"
    "END;\n"
    "CREATE FUNCTION one() RETURNS INT DETERMINISTIC RETURN 1;\n"
    "\n"
    "-- migrate:down\n"
    "DROP FUNCTION one;\n"
    "DROP FUNCTION clamp;\n"
    "DROP TRIGGER items_ai;\n"
    "DROP PROCEDURE add_items;\n";

/* The same kind of file as the mysql client takes it, with DELIMITER lines. */
static const char delimiter_up_sql[] =
    "-- migrate:up\n"
    "DELIMITER $$\n"
    "CREATE FUNCTION double_it(x INT) RETURNS INT DETERMINISTIC\n"
    "BEGIN\n"
    "  RETURN x * 2;\n"
    "END$$\n"
    "CREATE PROCEDURE log_note(IN t VARCHAR(50))\n"
    "BEGIN\n"
    "  INSERT INTO audit (note) VALUES (t);\n"
    "END$$\n"
    "DELIMITER ;\n"
    "CALL log_note('delimiter file applied');\n"
    "\n"
    "-- migrate:down\n"
    "delimiter //\n"
    "DROP PROCEDURE log_note//\n"
    "DROP FUNCTION double_it//\n"
    "delimiter ;\n"
    "DELETE FROM audit WHERE note = 'delimiter file applied';\n";

static const struct {
    const char *name;
    const char *text;
} program_files[] = {
    {"1_create_items.sql",
     "-- migrate:up\n"
     "CREATE TABLE items (id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(40) NOT NULL UNIQUE,\n"
     "                    qty INT NOT NULL);\n"
     "CREATE TABLE audit (id INT AUTO_INCREMENT PRIMARY KEY, note VARCHAR(80) NOT NULL) -- log\n"
     ";\n"
     "\n"
     "-- migrate:down\n"
     "DROP TABLE audit;\n"
     "DROP TABLE items;\n"},
    {"2_programs.sql", programs_up_sql},
    {"3_delimiter.sql", delimiter_up_sql},
};

/* Writes program_files into a fresh temporary folder (removed by teardown). */
static const char *write_program_files(fixture *f)
{
    char template[] = "/tmp/pmt_programs_XXXXXX";
    char *dir = mkdtemp(template);
    assert_non_null(dir);
    f->tmpdir = fmt(f, "%s", dir);
    for (size_t i = 0; i < PM_ARRAY_LEN(program_files); i++) {
        FILE *fp = fopen(fmt(f, "%s/%s", f->tmpdir, program_files[i].name), "w");
        assert_non_null(fp);
        assert_int_equal(fputs(program_files[i].text, fp) >= 0, 1);
        assert_int_equal(fclose(fp), 0);
    }
    return f->tmpdir;
}

static int64_t routines_and_triggers(fixture *f)
{
    return pm_test_int(f->db, "SELECT (SELECT COUNT(*) FROM information_schema.ROUTINES WHERE "
                              "ROUTINE_SCHEMA = DATABASE()) + (SELECT COUNT(*) FROM "
                              "information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = DATABASE())");
}

static void assert_programs_work(fixture *f)
{
    assert_int_equal(routines_and_triggers(f), 6);
    pm_test_exec(f->db, "DELETE FROM audit");
    pm_test_exec(f->db, "DELETE FROM items");
    pm_test_exec(f->db, "CALL add_items(3)");
    assert_query(f, "first;1,even;2,odd;3", "SELECT GROUP_CONCAT(name ORDER BY qty) FROM items");
    /* the trigger's IF let each insert through to audit */
    assert_query(f, "added; first;1|added; even;2|added; odd;3",
                 "SELECT GROUP_CONCAT(note ORDER BY id SEPARATOR '|') FROM audit");
    pm_test_exec(f->db, "CALL add_items(2)"); /* both names exist: the handler's block runs */
    assert_query(f, "2", "SELECT COUNT(*) FROM audit WHERE note = 'duplicate; skipped'");
    assert_query(f, "9", "SELECT clamp(12)");
    assert_query(f, "0", "SELECT clamp(-4)");
    assert_query(f, "1", "SELECT one()");
    assert_query(f, "8", "SELECT double_it(4)");
}

static void test_mariadb__stored_programs_apply_work_revert_and_reapply(void **state)
{
    fixture *f = *state;
    fresh_database(f, "programs");
    const char *dir = write_program_files(f);
    const run_result *r =
        run_cli(f, ARGS("migrate", "up", "--source", dir, "--database-url", f->url));
    assert_exit(r, 0);
    assert_empty(r->err);
    assert_contains(r->out, "Applied 3 migrations.\n");
    assert_query(f, "1", "SELECT COUNT(*) FROM audit WHERE note = 'delimiter file applied'");
    assert_programs_work(f);

    r = run_cli(f, ARGS("migrate", "down", "-n", "2", "--source", dir, "--database-url", f->url));
    assert_exit(r, 0);
    assert_empty(r->err);
    assert_int_equal(routines_and_triggers(f), 0);
    assert_true(pm_test_has_table(f->db, "items"));
    pm_test_exec(f->db, "INSERT INTO items (name, qty) VALUES ('plain', 1)"); /* no trigger */
    assert_query(f, "0", "SELECT COUNT(*) FROM audit WHERE note LIKE 'added;%%plain'");

    r = run_cli(f, ARGS("migrate", "up", "--source", dir, "--database-url", f->url));
    assert_exit(r, 0);
    assert_empty(r->err);
    assert_contains(r->out, "Applied 2 migrations.\n");
    assert_programs_work(f);
    assert_int_equal(pm_test_history_count(f->db), 3);
}

/* What --dry-run prints is what the run sends, one statement at a time:
 * the tables apart, each stored program whole between DELIMITER lines the
 * mysql client takes, the file's own DELIMITER lines never. */
static void test_mariadb__dry_run_prints_the_statements_a_run_sends(void **state)
{
    fixture *f = *state;
    fresh_database(f, "programs_dry");
    const char *dir = write_program_files(f);
    const run_result *r =
        run_cli(f, ARGS("migrate", "up", "--dry-run", "--source", dir, "--database-url", f->url));
    assert_exit(r, 0);
    assert_empty(r->err);
    assert_contains(r->out, "qty INT NOT NULL);\nCREATE TABLE audit (id INT AUTO_INCREMENT");
    assert_contains(r->out, "NOT NULL) -- log\n;\n"); /* a ';' after it would be commented out */
    assert_contains(r->out, "DELIMITER $$\nCREATE PROCEDURE add_items(IN n INT)\nBEGIN\n");
    assert_contains(r->out, "  END CASE;\nEND$$\nDELIMITER ;\n"
                            "DELIMITER $$\nCREATE TRIGGER items_ai AFTER INSERT ON items");
    assert_contains(r->out, "    INSERT INTO audit (note) VALUES (CONCAT('added; ', NEW.name));\n"
                            "  END IF;\nEND$$\nDELIMITER ;\n");
    assert_contains(r->out, "  RETURN r;\nEND$$\nDELIMITER ;\n"
                            "CREATE FUNCTION one() RETURNS INT DETERMINISTIC RETURN 1;\n");
    assert_contains(r->out, "DELIMITER $$\nCREATE FUNCTION double_it(x INT) RETURNS INT "
                            "DETERMINISTIC\nBEGIN\n  RETURN x * 2;\nEND$$\nDELIMITER ;\n"
                            "DELIMITER $$\nCREATE PROCEDURE log_note(IN t VARCHAR(50))\nBEGIN\n"
                            "  INSERT INTO audit (note) VALUES (t);\nEND$$\nDELIMITER ;\n"
                            "CALL log_note('delimiter file applied');\n");
    assert_int_equal(count_occurrences(r->out, "DELIMITER $$\n"), 5);
    assert_int_equal(count_occurrences(r->out, "DELIMITER ;\n"), 5);
    assert_false(pm_test_has_table(f->db, "items"));
    assert_int_equal(routines_and_triggers(f), 0);
}

/* A body whose END is missing is refused when the folder is read, naming
 * where its statement starts, before anything runs. */
static void test_mariadb__unterminated_procedure_body_is_refused_before_running(void **state)
{
    fixture *f = *state;
    fresh_database(f, "programs_bad");
    char template[] = "/tmp/pmt_programs_XXXXXX";
    char *dir = mkdtemp(template);
    assert_non_null(dir);
    f->tmpdir = fmt(f, "%s", dir);
    FILE *fp = fopen(fmt(f, "%s/1_bad.sql", dir), "w");
    assert_non_null(fp);
    fputs("-- migrate:up dialect=mysql\nCREATE TABLE t (id INT);\n\nCREATE PROCEDURE p()\n"
          "BEGIN\n  SELECT 1;\n\n-- migrate:down dialect=mysql\nDROP TABLE t;\n",
          fp);
    assert_int_equal(fclose(fp), 0);
    const run_result *r =
        run_cli(f, ARGS("migrate", "up", "--source", dir, "--database-url", f->url));
    assert_int_not_equal(r->status, 0);
    assert_contains(r->err, "unterminated BEGIN ... END block");
    assert_contains(r->err, "line 3, column 1"); /* of the section */
    assert_false(pm_test_has_table(f->db, "t"));
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

/* Each tool's history as it writes it on MySQL and MariaDB. */
static void test_mariadb__dbmate_history_is_adopted_then_up_runs_only_new(void **state)
{
    adopt_end_to_end(*state, "adopt_dbmate", "dbmate", "schema_migrations", adopt_numbered,
                     SQL_LIST("create table if not exists schema_migrations (version varchar(128) "
                              "primary key)",
                              "insert into schema_migrations (version) values ('001'), ('002')"));
}

static void test_mariadb__golang_migrate_history_is_adopted_then_up_runs_only_new(void **state)
{
    adopt_end_to_end(*state, "adopt_golang", "golang-migrate", "schema_migrations", adopt_numbered,
                     SQL_LIST("CREATE TABLE IF NOT EXISTS `schema_migrations` (version bigint not "
                              "null primary key, dirty boolean not null)",
                              "INSERT INTO `schema_migrations` (version, dirty) VALUES (2, "
                              "false)"));
}

static void test_mariadb__goose_history_is_adopted_then_up_runs_only_new(void **state)
{
    adopt_end_to_end(*state, "adopt_goose", "goose", "goose_db_version", adopt_numbered,
                     SQL_LIST("CREATE TABLE goose_db_version (id serial NOT NULL, version_id "
                              "bigint NOT NULL, is_applied boolean NOT NULL, tstamp timestamp "
                              "NULL default now(), PRIMARY KEY(id))",
                              "INSERT INTO goose_db_version (version_id, is_applied) VALUES (0, "
                              "true), (1, true), (2, true), (3, true), (3, false)"));
}

static void test_mariadb__sqlx_history_is_adopted_then_up_runs_only_new(void **state)
{
    adopt_end_to_end(*state, "adopt_sqlx", "sqlx", "_sqlx_migrations", adopt_numbered,
                     SQL_LIST("CREATE TABLE IF NOT EXISTS _sqlx_migrations (version BIGINT "
                              "PRIMARY KEY, description TEXT NOT NULL, installed_on TIMESTAMP NOT "
                              "NULL DEFAULT CURRENT_TIMESTAMP, success BOOLEAN NOT NULL, checksum "
                              "BLOB NOT NULL, execution_time BIGINT NOT NULL)",
                              "INSERT INTO _sqlx_migrations (version, description, success, "
                              "checksum, execution_time) VALUES (1, 'one', TRUE, x'0102', 1000), "
                              "(2, 'two', TRUE, x'0304', 2000)"));
}

static void test_mariadb__diesel_history_is_adopted_then_up_runs_only_new(void **state)
{
    adopt_end_to_end(*state, "adopt_diesel", "diesel", "__diesel_schema_migrations", adopt_diesel,
                     SQL_LIST("CREATE TABLE IF NOT EXISTS __diesel_schema_migrations (version "
                              "VARCHAR(50) PRIMARY KEY NOT NULL, run_on TIMESTAMP NOT NULL "
                              "DEFAULT CURRENT_TIMESTAMP)",
                              "INSERT INTO __diesel_schema_migrations (version) VALUES "
                              "('20170101000000'), ('20170201120000')"));
}

static void test_mariadb__flyway_history_is_adopted_then_up_runs_only_new(void **state)
{
    adopt_end_to_end(
        *state, "adopt_flyway", "flyway", "flyway_schema_history", adopt_flyway,
        SQL_LIST("CREATE TABLE `flyway_schema_history` (`installed_rank` INT NOT NULL, `version` "
                 "VARCHAR(50), `description` VARCHAR(200) NOT NULL, `type` VARCHAR(20) NOT NULL, "
                 "`script` VARCHAR(1000) NOT NULL, `checksum` INT, `installed_by` VARCHAR(100) NOT "
                 "NULL, `installed_on` TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP, "
                 "`execution_time` INT NOT NULL, `success` BOOL NOT NULL, CONSTRAINT "
                 "`flyway_schema_history_pk` PRIMARY KEY (`installed_rank`)) ENGINE=InnoDB",
                 "CREATE INDEX `flyway_schema_history_s_idx` ON `flyway_schema_history` "
                 "(`success`)",
                 "INSERT INTO flyway_schema_history (installed_rank, version, description, type, "
                 "script, checksum, installed_by, execution_time, success) VALUES (1, '1', 'one', "
                 "'SQL', 'V1__one.sql', 1, 'flyway', 5, 1), (2, '1.1', 'two', 'SQL', "
                 "'V1.1__two.sql', 2, 'flyway', 5, 1), (3, NULL, 'views', 'SQL', 'R__views.sql', "
                 "3, 'flyway', 5, 1)"));
}

#define MARIADB_TEST(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: test_mariadb POBLYSH_BINARY POBLYSH_FIXTURE_BINARY\n");
        return 2;
    }
    cli_path = argv[1];
    fixture_path = argv[2];
    admin_url = getenv("POBLYSH_TEST_MYSQL_URL");
    raw_password = getenv("POBLYSH_TEST_MYSQL_PASSWORD");
    if (!admin_url || !*admin_url) {
        fprintf(stderr,
                "test_mariadb: POBLYSH_TEST_MYSQL_URL is not set. This suite needs the MariaDB "
                "server that scripts/test.sh starts: run it through scripts/with-mariadb.sh, e.g.\n"
                "  scripts/with-mariadb.sh ctest --test-dir build -L mariadb\n"
                "It is never skipped.\n");
        return 1;
    }
    for (int i = 1; i < argc; i++) {
        if (access(argv[i], X_OK) != 0) {
            fprintf(stderr, "test_mariadb: %s is not an executable: %s\n", argv[i],
                    strerror(errno));
            return 1;
        }
    }
    if (parse_admin_url(admin_url) < 0) {
        fprintf(stderr,
                "test_mariadb: POBLYSH_TEST_MYSQL_URL is not scheme://user:password@host/db\n");
        free_admin_url();
        return 1;
    }
    build_race_set();
    const struct CMUnitTest tests[] = {
        MARIADB_TEST(test_mariadb__up_creates_tenants_with_mysql_types_and_down_removes_it),
        MARIADB_TEST(test_mariadb__capabilities_are_those_of_a_server_without_transactional_ddl),
        MARIADB_TEST(test_mariadb__timestamps_are_utc_when_the_server_time_zone_is_not),
        MARIADB_TEST(test_mariadb__concurrent_cli_runners_apply_tenants_once),
        MARIADB_TEST(test_mariadb__concurrent_library_runners_record_each_migration_once),
        MARIADB_TEST(test_mariadb__failed_migration_reports_error_number_and_writes_no_history),
        MARIADB_TEST(test_mariadb__table_conflict_exits_1_and_says_ddl_may_be_applied),
        MARIADB_TEST(test_mariadb__wrong_password_exits_4_and_prints_no_password),
        MARIADB_TEST(test_mariadb__unknown_database_exits_4),
        MARIADB_TEST(test_mariadb__unknown_libdbi_driver_exits_2_and_lists_installed_drivers),
        MARIADB_TEST(test_mariadb__url_without_database_says_to_name_one),
        MARIADB_TEST(test_mariadb__errors_reach_stderr_when_stdout_is_closed),
        MARIADB_TEST(test_mariadb__lock_timeout_exits_3_and_names_the_holders_connection_id),
        MARIADB_TEST(test_mariadb__sigint_while_waiting_for_the_lock_exits_130),
        MARIADB_TEST(test_mariadb__signal_during_a_statement_stops_before_the_next_migration),
        MARIADB_TEST(test_mariadb__kill_9_during_a_migration_leaves_it_failed_never_pending),
        MARIADB_TEST(test_mariadb__libdbi_driver_output_never_reaches_stdout_or_stderr),
        MARIADB_TEST(test_mariadb__dbmate_folder_up_status_and_down),
        MARIADB_TEST(test_mariadb__golang_folder_up_status_and_down),
        MARIADB_TEST(test_mariadb__stored_programs_apply_work_revert_and_reapply),
        MARIADB_TEST(test_mariadb__dry_run_prints_the_statements_a_run_sends),
        MARIADB_TEST(test_mariadb__unterminated_procedure_body_is_refused_before_running),
        MARIADB_TEST(test_mariadb__dbmate_history_is_adopted_then_up_runs_only_new),
        MARIADB_TEST(test_mariadb__golang_migrate_history_is_adopted_then_up_runs_only_new),
        MARIADB_TEST(test_mariadb__goose_history_is_adopted_then_up_runs_only_new),
        MARIADB_TEST(test_mariadb__sqlx_history_is_adopted_then_up_runs_only_new),
        MARIADB_TEST(test_mariadb__diesel_history_is_adopted_then_up_runs_only_new),
        MARIADB_TEST(test_mariadb__flyway_history_is_adopted_then_up_runs_only_new),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    free_admin_url();
    return failed;
}
