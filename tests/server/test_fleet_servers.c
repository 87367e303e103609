/* test_fleet_servers.c: fleets (issue 18) on a real server, PostgreSQL or
 * MariaDB: `poblysh migrate up|status --targets FILE` and --targets-query
 * through the poblysh binary over the fixture folder tests/fixtures/sql/fleet
 * (20 migrations, each inserting a row a second application would refuse),
 * and pm_fleet_* directly. Each test creates the databases it needs and
 * drops them at the end, pass or fail; what a fleet did is checked in every
 * target's history and tables, never only in what poblysh printed.
 * Run as: test_fleet_servers postgres|mysql <poblysh> <fixtures/sql/fleet> <work dir>,
 * with the environment scripts/with-postgres.sh or scripts/with-mariadb.sh
 * exports. Without a server it fails, loudly. */
#include <errno.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "poblysh/fleet.h"
#include "testserver.h"

#define RUN_TIMEOUT_MS 300000 /* a fleet run; generous: the machine is shared */
#define FLEET_SIZE 20         /* migrations in the fixture folder */
#define MAX_DATABASES 128

static const char *cli_path;   /* the poblysh binary */
static const char *fleet_dir;  /* tests/fixtures/sql/fleet */
static const char *work_root;  /* a directory of this test's own */
static const char *admin_url;  /* a superuser (PostgreSQL) or an account with every grant */
static bool postgres;          /* else MariaDB */
static const char *raw_secret; /* the admin password: never printed */

typedef struct fixture {
    pm_db *admin;
    char *dir;                    /* this test's directory: targets files, reports */
    char *dbnames[MAX_DATABASES]; /* created by this test, dropped in teardown */
    size_t ndbs;
    run_result *runs[16];
    size_t nruns;
    json_t *docs[8];
    size_t ndocs;
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

/* ==== Databases ==== */

static const char *drop_database_sql(fixture *f, const char *name)
{
    return postgres ? fmt(f, "DROP DATABASE IF EXISTS \"%s\" WITH (FORCE)", name)
                    : fmt(f, "DROP DATABASE IF EXISTS `%s`", name);
}

/* n new, empty databases named pmf_<pid>_<tag>_<i> (i from 1); their URLs. */
static char **create_databases(fixture *f, const char *tag, size_t n)
{
    assert_true(f->ndbs + n <= MAX_DATABASES);
    char **urls = srv_keep(&f->kept, &f->nkept, calloc(n, sizeof(*urls)));
    assert_non_null(urls);
    for (size_t i = 0; i < n; i++) {
        char *name = fmt(f, "pmf_%ld_%s_%zu", (long)getpid(), tag, i + 1);
        pm_test_exec(f->admin, drop_database_sql(f, name));
        pm_test_exec(f->admin, postgres ? fmt(f, "CREATE DATABASE \"%s\"", name)
                                        : fmt(f, "CREATE DATABASE `%s`", name));
        f->dbnames[f->ndbs++] = name;
        urls[i] = srv_keep(&f->kept, &f->nkept, pm_test_url_with_database(admin_url, name));
    }
    return urls;
}

/* SQL counting the fixture's tables in the connection's database (or schema). */
static const char *fleet_tables_sql(fixture *f, const char *schema)
{
    const char *where = schema     ? fmt(f, "'%s'", schema)
                        : postgres ? "current_schema()"
                                   : "DATABASE()";
    return fmt(f,
               "SELECT count(*) FROM information_schema.tables WHERE table_schema = %s "
               "AND table_name LIKE 'fleet\\_t%%'",
               where);
}

/* The rows of the fixture's tables that exist, summed (each holds at most one). */
static int64_t fleet_rows(fixture *f, pm_db *db)
{
    int64_t rows = 0;
    for (int i = 1; i <= FLEET_SIZE; i++) {
        const char *table = fmt(f, "fleet_t%02d", i);
        if (pm_test_has_table(db, table))
            rows += pm_test_int(db, fmt(f, "SELECT count(*) FROM %s", table));
    }
    return rows;
}

typedef struct target_state {
    int64_t history; /* rows of seaql_migrations */
    int64_t tables;  /* fleet_tNN tables */
    int64_t rows;    /* rows in them */
} target_state;

static target_state read_target(fixture *f, const char *url)
{
    pm_db *db = pm_test_open(url);
    target_state s = {pm_test_history_count(db), pm_test_int(db, fleet_tables_sql(f, NULL)),
                      fleet_rows(f, db)};
    pm_db_close(db);
    return s;
}

/* Every migration applied once: 20 history rows, 20 tables of one row each. */
#define assert_migrated(f, url) assert_state_((f), (url), FLEET_SIZE, __FILE__, __LINE__)
/* Nothing of the fixture: no history row, no table. */
#define assert_untouched(f, url) assert_state_((f), (url), 0, __FILE__, __LINE__)

static void assert_state_(fixture *f, const char *url, int64_t want, const char *file, int line)
{
    target_state s = read_target(f, url);
    if (s.history == want && s.tables == want && s.rows == want)
        return;
    print_error("%s:%d: expected %lld history rows, tables and rows; found %lld, %lld and %lld "
                "in %s\n",
                file, line, (long long)want, (long long)s.history, (long long)s.tables,
                (long long)s.rows, strrchr(url, '/'));
    fail();
}

/* A table the fixture's migration n would create, made beforehand: that
 * migration fails on the target, after n - 1 applied. */
static void break_target(const char *url, int n)
{
    pm_db *db = pm_test_open(url);
    char sql[64];
    snprintf(sql, sizeof(sql), "CREATE TABLE fleet_t%02d (id INTEGER)", n);
    pm_test_exec(db, sql);
    pm_db_close(db);
}

/* ==== Setup and teardown ==== */

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

/* Drops what the test created, pass or fail (never failing itself). */
static int teardown(void **state)
{
    fixture *f = *state;
    for (size_t i = 0; i < f->ndbs; i++) {
        pm_error err = PM_ERROR_INIT;
        if (pm_db_exec(f->admin, drop_database_sql(f, f->dbnames[i]), &err) < 0)
            print_error("could not drop %s: %s\n", f->dbnames[i], err.message ? err.message : "?");
        pm_error_clear(&err);
    }
    pm_db_close(f->admin);
    for (size_t i = 0; i < f->nruns; i++)
        srv_free_run(f->runs[i]);
    for (size_t i = 0; i < f->ndocs; i++)
        json_decref(f->docs[i]);
    for (size_t i = 0; i < f->nkept; i++)
        free(f->kept[i]);
    free(f->kept);
    free(f);
    return 0;
}

/* <work dir>/<name>, made and emptied of files: this test's directory. */
static void fresh_dir(fixture *f, const char *name)
{
    f->dir = fmt(f, "%s/%s", work_root, name);
    mkdir(f->dir, 0755);
    const char *rm = fmt(f, "rm -rf '%s'/*", f->dir);
    assert_int_equal(system(rm), 0);
}

static const char *path_in_dir(fixture *f, const char *file)
{
    return fmt(f, "%s/%s", f->dir, file);
}

static void write_file(const char *path, const char *text)
{
    FILE *out = fopen(path, "w");
    assert_non_null(out);
    assert_int_equal(fputs(text, out) >= 0, 1);
    assert_int_equal(fclose(out), 0);
}

/* A targets file of urls, named tenant_1 ... in order; its path. */
static const char *write_targets(fixture *f, const char *file, char **urls, size_t n)
{
    size_t size = 1;
    for (size_t i = 0; i < n; i++)
        size += strlen(urls[i]) + 32;
    char *text = srv_keep(&f->kept, &f->nkept, calloc(1, size));
    assert_non_null(text);
    size_t len = (size_t)snprintf(text, size, "# %zu tenants\n", n);
    for (size_t i = 0; i < n; i++)
        len += (size_t)snprintf(text + len, size - len, "%s  name=tenant_%zu\n", urls[i], i + 1);
    const char *path = path_in_dir(f, file);
    write_file(path, text);
    return path;
}

/* ==== Running the binary ==== */

static child *spawn_cli(fixture *f, const char *const *args)
{
    srv_spawn how = {.cli_path = cli_path, .dir = f->dir, .profile = "local", .stdin_null = true};
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

static const run_result *run_cli(fixture *f, const char *const *args)
{
    return collect(f, spawn_cli(f, args));
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

/* ==== The report ==== */

/* The --report file, parsed; it must hold no password. */
static json_t *read_report(fixture *f, const char *path)
{
    assert_true(f->ndocs < PM_ARRAY_LEN(f->docs));
    FILE *in = fopen(path, "r");
    if (!in)
        fail_msg("no report at %s", path);
    char text[1 << 16];
    size_t n = fread(text, 1, sizeof(text) - 1, in);
    fclose(in);
    text[n] = '\0';
    assert_null(strstr(text, raw_secret));
    json_error_t error;
    json_t *doc = json_loads(text, 0, &error);
    if (!doc)
        fail_msg("the report is not JSON (%s, line %d):\n%s", error.text, error.line, text);
    f->docs[f->ndocs++] = doc;
    return doc;
}

static long long summary_count(const json_t *report, const char *key)
{
    json_t *v = json_object_get(json_object_get(report, "summary"), key);
    if (!json_is_integer(v))
        fail_msg("the report's summary has no integer \"%s\"", key);
    return json_integer_value(v);
}

static const json_t *report_target(const json_t *report, size_t index)
{
    json_t *t = json_array_get(json_object_get(report, "targets"), index);
    if (!json_is_object(t))
        fail_msg("the report has no target %zu", index);
    return t;
}

static const char *target_result(const json_t *report, size_t index)
{
    const char *s = json_string_value(json_object_get(report_target(report, index), "result"));
    assert_non_null(s);
    return s;
}

/* ==== 100 targets at once ==== */

static void test_up__migrates_every_target_in_parallel(void **state)
{
    fixture *f = *state;
    fresh_dir(f, "hundred");
    size_t n = postgres ? 100 : 20;
    const char *jobs = postgres ? "8" : "4";
    char **urls = create_databases(f, "all", n);
    const char *targets = write_targets(f, "targets.txt", urls, n);
    const char *report = path_in_dir(f, "report.json");
    const run_result *r = run_cli(f, ARGS("--source", fleet_dir, "migrate", "up", "--targets",
                                          targets, "-j", jobs, "--report", report));
    assert_exit(r, 0);
    assert_contains(r->out, fmt(f, "Fleet: %zu targets, %s at a time\n", n, jobs));
    assert_contains(r->out, fmt(f, "ok      tenant_%zu: applied 20 (", n));
    assert_contains(r->out, fmt(f,
                                "Fleet up: %zu ok, 0 failed, 0 interrupted, 0 not started "
                                "(of %zu targets) in ",
                                n, n));
    /* no live summary line when stdout is not a terminal */
    assert_lacks(r->out, "running,");
    for (size_t i = 0; i < n; i++)
        assert_migrated(f, urls[i]);

    json_t *doc = read_report(f, report);
    assert_string_equal(json_string_value(json_object_get(doc, "command")), "up");
    assert_int_equal(json_integer_value(json_object_get(doc, "jobs")), atoi(jobs));
    assert_int_equal(json_integer_value(json_object_get(doc, "exit_code")), 0);
    assert_int_equal(summary_count(doc, "total"), n);
    assert_int_equal(summary_count(doc, "ok"), n);
    for (size_t i = 0; i < n; i++) {
        const json_t *t = report_target(doc, i);
        assert_string_equal(json_string_value(json_object_get(t, "name")),
                            fmt(f, "tenant_%zu", i + 1));
        assert_string_equal(target_result(doc, i), "ok");
        assert_int_equal(json_integer_value(json_object_get(t, "applied")), FLEET_SIZE);
        assert_true(json_is_null(json_object_get(t, "error")));
    }

    /* status over the fleet: every migration applied everywhere */
    r = run_cli(f,
                ARGS("--source", fleet_dir, "migrate", "status", "--targets", targets, "-j", jobs));
    assert_exit(r, 0);
    assert_contains(r->out, "create_fleet_t20");
    assert_int_equal(count_occurrences(r->out, fmt(f, "%zu/%zu applied", n, n)), FLEET_SIZE);
}

/* ==== Stopping at a failure ==== */

static void test_up__a_broken_target_stops_scheduling_and_keep_going_goes_on(void **state)
{
    fixture *f = *state;
    fresh_dir(f, "broken");
    const size_t n = 12, broken = 2; /* tenant_3 */
    char **urls = create_databases(f, "brk", n);
    break_target(urls[broken], 3);
    const char *targets = write_targets(f, "targets.txt", urls, n);
    const char *report = path_in_dir(f, "report.json");
    const run_result *r = run_cli(f, ARGS("--source", fleet_dir, "migrate", "up", "--targets",
                                          targets, "-j", "2", "--report", report));
    assert_exit(r, 1);
    assert_contains(r->out, "FAILED  tenant_3: ");
    assert_contains(r->out, "not started");
    json_t *doc = read_report(f, report);
    assert_int_equal(json_integer_value(json_object_get(doc, "exit_code")), 1);
    assert_int_equal(summary_count(doc, "failed"), 1);
    assert_true(summary_count(doc, "not_started") >= 1);
    assert_string_equal(target_result(doc, broken), "failed");
    const json_t *error = json_object_get(report_target(doc, broken), "error");
    assert_true(json_is_object(error));
    const char *migration = json_string_value(json_object_get(error, "migration"));
    assert_non_null(migration);
    assert_contains(migration, "create_fleet_t03");
    /* targets never started were never touched */
    size_t not_started = 0;
    for (size_t i = 0; i < n; i++)
        if (strcmp(target_result(doc, i), "not_started") == 0) {
            assert_untouched(f, urls[i]);
            not_started++;
        }
    assert_int_equal(not_started, summary_count(doc, "not_started"));
    target_state s = read_target(f, urls[broken]);
    assert_int_equal(s.history, 2); /* the failed migration left nothing behind */

    /* again with --keep-going: every other target is migrated */
    const char *report2 = path_in_dir(f, "report2.json");
    r = run_cli(f, ARGS("--source", fleet_dir, "migrate", "up", "--targets", targets, "-j", "2",
                        "--keep-going", "--report", report2));
    assert_exit(r, 1);
    doc = read_report(f, report2);
    assert_int_equal(summary_count(doc, "ok"), n - 1);
    assert_int_equal(summary_count(doc, "failed"), 1);
    assert_int_equal(summary_count(doc, "not_started"), 0);
    assert_string_equal(target_result(doc, broken), "failed");
    assert_contains(r->out, fmt(f,
                                "Fleet up: %zu ok, 1 failed, 0 interrupted, 0 not started "
                                "(of %zu targets)",
                                n - 1, n));
    for (size_t i = 0; i < n; i++)
        if (i != broken)
            assert_migrated(f, urls[i]);
    assert_int_equal(read_target(f, urls[broken]).history, 2);
}

/* ==== Canaries ==== */

static void test_up__a_failed_canary_migrates_nothing_else(void **state)
{
    fixture *f = *state;
    fresh_dir(f, "canary");
    const size_t n = 10;
    char **urls = create_databases(f, "can", n);
    break_target(urls[1], 5);
    const char *targets = write_targets(f, "targets.txt", urls, n);
    const char *report = path_in_dir(f, "report.json");
    const run_result *r =
        run_cli(f, ARGS("--source", fleet_dir, "migrate", "up", "--targets", targets, "-j", "4",
                        "--canary", "3", "--keep-going", "--report", report));
    assert_exit(r, 1);
    assert_contains(r->out, "Fleet: 10 targets, 4 at a time, canaries first: 3\n");
    assert_contains(r->out, "FAILED  tenant_2: ");
    json_t *doc = read_report(f, report);
    assert_int_equal(json_integer_value(json_object_get(doc, "canary")), 3);
    assert_string_equal(target_result(doc, 1), "failed");
    assert_int_equal(summary_count(doc, "not_started"), n - 3);
    for (size_t i = 0; i < 3; i++)
        assert_true(json_is_true(json_object_get(report_target(doc, i), "canary")));
    for (size_t i = 3; i < n; i++) {
        assert_true(json_is_false(json_object_get(report_target(doc, i), "canary")));
        assert_string_equal(target_result(doc, i), "not_started");
        assert_untouched(f, urls[i]);
    }
    assert_int_equal(read_target(f, urls[1]).history, 4);
}

/* ==== Interrupted, then resumed ==== */

/* A copy of the fixture whose migrations sleep 0.2 s after their work, in
 * the test's directory; its path. */
static const char *sleeping_copy(fixture *f)
{
    const char *dir = path_in_dir(f, "sleepy");
    assert_int_equal(system(fmt(f, "rm -rf '%s' && mkdir '%s'", dir, dir)), 0);
    for (int i = 1; i <= FLEET_SIZE; i++) {
        const char *name = fmt(f, "202401010000%02d_create_fleet_t%02d.sql", i, i);
        FILE *in = fopen(fmt(f, "%s/%s", fleet_dir, name), "r");
        assert_non_null(in);
        char text[4096];
        size_t len = fread(text, 1, sizeof(text) - 1, in);
        fclose(in);
        text[len] = '\0';
        char *down = strstr(text, "-- migrate:down");
        assert_non_null(down);
        write_file(fmt(f, "%s/%s", dir, name),
                   fmt(f, "%.*sSELECT pg_sleep(0.2);\n\n%s", (int)(down - text), text, down));
    }
    return dir;
}

static size_t complete_targets(char **urls, size_t n)
{
    size_t done = 0;
    for (size_t i = 0; i < n; i++) {
        pm_db *db = pm_test_open(urls[i]);
        done += pm_test_history_count(db) == FLEET_SIZE;
        pm_db_close(db);
    }
    return done;
}

/* Whether c has not exited yet (without reaping it: collect() does). */
static bool running(child *c)
{
    siginfo_t info;
    memset(&info, 0, sizeof(info));
    return waitid(P_PID, (id_t)c->pid, &info, WEXITED | WNOHANG | WNOWAIT) == 0 && info.si_pid == 0;
}

static void test_up__an_interrupted_run_resumes(void **state)
{
    fixture *f = *state;
    fresh_dir(f, "interrupt");
    const size_t n = 20;
    char **urls = create_databases(f, "int", n);
    const char *source = sleeping_copy(f);
    const char *targets = write_targets(f, "targets.txt", urls, n);
    const char *report = path_in_dir(f, "report.json");
    child *c = spawn_cli(f, ARGS("--source", source, "migrate", "up", "--targets", targets, "-j",
                                 "2", "--report", report));
    /* Wait until the first targets have ended (each takes 20 x 0.2 s). */
    size_t done = 0;
    for (int i = 0; i < 1200 && done == 0 && running(c); i++) {
        sleep_ms(100);
        done = complete_targets(urls, 3);
    }
    if (done == 0) {
        const run_result *early = collect(f, c);
        fail_msg("no target ended before poblysh exited %d:\n%s%s", early->status, early->out,
                 early->err);
    }
    kill(c->pid, SIGINT);
    const run_result *r = collect(f, c);
    assert_exit(r, 130);
    assert_contains(r->out, "INTERRUPTED tenant_");
    json_t *doc = read_report(f, report);
    assert_int_equal(json_integer_value(json_object_get(doc, "exit_code")), 130);
    assert_true(summary_count(doc, "interrupted") >= 1);
    assert_true(summary_count(doc, "not_started") >= 1);
    assert_true(summary_count(doc, "ok") >= 1);
    bool finished[20] = {false};
    size_t complete = 0;
    for (size_t i = 0; i < n; i++) {
        target_state s = read_target(f, urls[i]);
        /* no half-applied migration: every recorded one has its table and row */
        assert_int_equal(s.history, s.tables);
        assert_int_equal(s.history, s.rows);
        finished[i] = s.history == FLEET_SIZE;
        complete += finished[i];
        if (strcmp(target_result(doc, i), "ok") == 0)
            assert_true(finished[i]);
    }
    assert_true(complete < n);

    /* the same command again completes the fleet */
    r = run_cli(f, ARGS("--source", source, "migrate", "up", "--targets", targets, "-j", "2",
                        "--report", report));
    assert_exit(r, 0);
    for (size_t i = 0; i < n; i++) {
        assert_migrated(f, urls[i]);
        if (finished[i])
            assert_contains(r->out, fmt(f, "tenant_%zu: up to date (", i + 1));
        else
            assert_lacks(r->out, fmt(f, "tenant_%zu: up to date (", i + 1));
    }
}

/* ==== Two fleets at once ==== */

/* Two reports of fleets over the same n targets: each target ok in both,
 * and what they applied to it adds up to the whole fixture (each migration
 * once, by one fleet or the other). */
static void assert_applied_once_between(fixture *f, const json_t *a, const json_t *b, size_t n)
{
    long long total = 0;
    for (size_t i = 0; i < n; i++) {
        assert_string_equal(target_result(a, i), "ok");
        assert_string_equal(target_result(b, i), "ok");
        long long applied = json_integer_value(json_object_get(report_target(a, i), "applied")) +
                            json_integer_value(json_object_get(report_target(b, i), "applied"));
        if (applied != FLEET_SIZE)
            fail_msg("%s: the two fleets applied %lld migrations, not %d",
                     fmt(f, "tenant_%zu", i + 1), applied, FLEET_SIZE);
        total += applied;
    }
    assert_int_equal(total, (long long)FLEET_SIZE * (long long)n);
}

/* Runs two `up --targets targets` (n targets) at once, -j 4 and -j 8: both
 * exit 0 with every target ok, and their reports' applied counts add up to
 * each migration of each target once. */
static void race_two_fleets(fixture *f, const char *targets, size_t n)
{
    const char *report_a = path_in_dir(f, "a.json"), *report_b = path_in_dir(f, "b.json");
    child *a = spawn_cli(f, ARGS("--source", fleet_dir, "migrate", "up", "--targets", targets, "-j",
                                 "4", "--report", report_a));
    child *b = spawn_cli(f, ARGS("--source", fleet_dir, "migrate", "up", "--targets", targets, "-j",
                                 "8", "--report", report_b));
    const run_result *ra = collect(f, a);
    const run_result *rb = collect(f, b);
    assert_exit(ra, 0);
    assert_exit(rb, 0);
    const char *summary =
        fmt(f, "Fleet up: %zu ok, 0 failed, 0 interrupted, 0 not started (of %zu targets)", n, n);
    assert_contains(ra->out, summary);
    assert_contains(rb->out, summary);
    assert_applied_once_between(f, read_report(f, report_a), read_report(f, report_b), n);
}

static void test_up__two_fleets_at_once_apply_each_migration_once(void **state)
{
    fixture *f = *state;
    fresh_dir(f, "racers");
    const size_t n = 30;
    char **urls = create_databases(f, "race", n);
    const char *targets = write_targets(f, "targets.txt", urls, n);
    race_two_fleets(f, targets, n);
    for (size_t i = 0; i < n; i++)
        assert_migrated(f, urls[i]);
}

/* ==== Schema per tenant (PostgreSQL) ==== */

static const char *tenant_schema(fixture *f, size_t i)
{
    if (i == 7)
        return "Tenant-7";
    if (i == 8)
        return "TENANT_8";
    return fmt(f, "tenant_%zu", i);
}

static void test_up__schema_per_tenant_in_one_database(void **state)
{
    fixture *f = *state;
    fresh_dir(f, "schemas");
    const size_t n = 50;
    char **urls = create_databases(f, "sch", 1);
    pm_db *db = pm_test_open(urls[0]);
    size_t size = 64 * n + 1, len = 0;
    char *text = srv_keep(&f->kept, &f->nkept, calloc(1, size + strlen(urls[0]) * n));
    assert_non_null(text);
    for (size_t i = 1; i <= n; i++) {
        const char *schema = tenant_schema(f, i);
        pm_test_exec(db, fmt(f, "CREATE SCHEMA \"%s\"", schema));
        len += (size_t)sprintf(text + len, "%s name=t%zu schema=%s\n", urls[0], i, schema);
    }
    const char *targets = path_in_dir(f, "targets.txt");
    write_file(targets, text);
    const run_result *r =
        run_cli(f, ARGS("--source", fleet_dir, "migrate", "up", "--targets", targets, "-j", "8"));
    assert_exit(r, 0);
    assert_contains(r->out, "Fleet up: 50 ok, 0 failed, 0 interrupted, 0 not started (of 50 "
                            "targets)");
    for (size_t i = 1; i <= n; i++) {
        const char *schema = tenant_schema(f, i);
        assert_int_equal(pm_test_int(db, fleet_tables_sql(f, schema)), FLEET_SIZE);
        assert_int_equal(pm_test_int(db, fmt(f,
                                             "SELECT count(*) FROM information_schema.tables "
                                             "WHERE table_schema = '%s' AND table_name = "
                                             "'seaql_migrations'",
                                             schema)),
                         1);
        assert_int_equal(
            pm_test_int(db, fmt(f, "SELECT count(*) FROM \"%s\".seaql_migrations", schema)),
            FLEET_SIZE);
        assert_int_equal(pm_test_int(db, fmt(f, "SELECT count(*) FROM \"%s\".fleet_t20", schema)),
                         1);
    }
    assert_int_equal(pm_test_int(db, "SELECT count(*) FROM information_schema.tables WHERE "
                                     "table_schema = 'public'"),
                     0);
    pm_db_close(db);
}

/* The targets file of n schemas of db_url that do not exist yet: s<i>,
 * and "Tenant-9" (a name that needs quoting); its path. */
static const char *missing_schema_targets(fixture *f, const char *file, const char *db_url,
                                          size_t n)
{
    char *text = fmt(f, "%s", "");
    for (size_t i = 1; i <= n; i++)
        text = fmt(f, "%s%s name=tenant_%zu schema=%s\n", text, db_url, i,
                   i == 9 ? "Tenant-9" : fmt(f, "s%zu", i));
    const char *path = path_in_dir(f, file);
    write_file(path, text);
    return path;
}

/* Every schema of missing_schema_targets() made, with the whole fixture in
 * it once. */
static void assert_schemas_migrated(fixture *f, pm_db *db, size_t n)
{
    for (size_t i = 1; i <= n; i++) {
        const char *schema = i == 9 ? "Tenant-9" : fmt(f, "s%zu", i);
        assert_int_equal(pm_test_int(db, fmt(f,
                                             "SELECT count(*) FROM information_schema.schemata "
                                             "WHERE schema_name = '%s'",
                                             schema)),
                         1);
        assert_int_equal(pm_test_int(db, fleet_tables_sql(f, schema)), FLEET_SIZE);
        assert_int_equal(
            pm_test_int(db, fmt(f, "SELECT count(*) FROM \"%s\".seaql_migrations", schema)),
            FLEET_SIZE);
        for (int t = 1; t <= FLEET_SIZE; t++)
            assert_int_equal(
                pm_test_int(db, fmt(f, "SELECT count(*) FROM \"%s\".fleet_t%02d", schema, t)), 1);
    }
}

static void test_up__makes_missing_schemas_even_with_two_fleets_racing(void **state)
{
    fixture *f = *state;
    fresh_dir(f, "missing_schemas");
    const size_t n = 12;
    char **urls = create_databases(f, "mks", 2);

    /* one fleet: up makes each schema, "Tenant-9" quoted */
    const char *alone = missing_schema_targets(f, "alone.txt", urls[0], n);
    const run_result *r =
        run_cli(f, ARGS("--source", fleet_dir, "migrate", "up", "--targets", alone, "-j", "4"));
    assert_exit(r, 0);
    assert_contains(r->out, "ok      tenant_9: applied 20 (");
    pm_db *db = pm_test_open(urls[0]);
    assert_schemas_migrated(f, db, n);
    pm_db_close(db);

    /* two fleets at once over schemas neither finds: both make them (or
     * find the other's), and each migration is applied once */
    const char *raced = missing_schema_targets(f, "raced.txt", urls[1], n);
    race_two_fleets(f, raced, n);
    db = pm_test_open(urls[1]);
    assert_schemas_migrated(f, db, n);
    pm_db_close(db);
}

/* ==== Targets from a control database ==== */

static void test_up__targets_query_reads_a_control_table(void **state)
{
    fixture *f = *state;
    fresh_dir(f, "query");
    const size_t n = 5;
    char **control = create_databases(f, "ctl", 1);
    char **urls = create_databases(f, "qry", n);
    pm_db *db = pm_test_open(control[0]);
    pm_test_exec(db, "CREATE TABLE fleet_control (url TEXT, name TEXT, active INTEGER)");
    for (size_t i = 0; i < n; i++)
        pm_test_exec(db,
                     fmt(f, "INSERT INTO fleet_control VALUES ('%s', 'q_%zu', 1)", urls[i], i + 1));
    /* an inactive row the query leaves out */
    pm_test_exec(db, fmt(f, "INSERT INTO fleet_control VALUES ('%s', 'control', 0)", control[0]));
    pm_db_close(db);
    const run_result *r = run_cli(
        f, ARGS("--source", fleet_dir, "migrate", "up", "--targets-query", control[0],
                "SELECT url, name FROM fleet_control WHERE active = 1 ORDER BY name", "-j", "2"));
    assert_exit(r, 0);
    assert_contains(r->out, "Fleet: 5 targets, 2 at a time\n");
    for (size_t i = 0; i < n; i++) {
        assert_contains(r->out, fmt(f, "q_%zu: applied 20 (", i + 1));
        assert_migrated(f, urls[i]);
    }
    assert_untouched(f, control[0]);
}

/* ==== The library ==== */

typedef struct progress_counts {
    size_t started, finished, applied, stopping;
} progress_counts;

static void count_progress(const pm_fleet_event *event, void *ctx)
{
    progress_counts *c = ctx;
    c->started += event->kind == PM_FLEET_TARGET_STARTED;
    c->finished += event->kind == PM_FLEET_TARGET_FINISHED;
    c->stopping += event->kind == PM_FLEET_STOPPING;
    c->applied += event->kind == PM_FLEET_MIGRATION && event->event->kind == PM_EVENT_APPLIED;
}

typedef struct lib_fleet {
    pm_source *source;
    pm_fleet *fleet;
    progress_counts counts;
} lib_fleet;

/* A fleet of the fixture folder over urls, named tenant_1 ..., 3 at a time. */
static void lib_fleet_new(lib_fleet *lf, char **urls, size_t n)
{
    pm_error err = PM_ERROR_INIT;
    memset(lf, 0, sizeof(*lf));
    pm_test_ok(pm_source_new(&lf->source, &err), &err);
    pm_test_ok(pm_source_add_dir(lf->source, fleet_dir, &err), &err);
    size_t count = 0;
    const pm_migration *const *set = pm_source_migrations(lf->source, &count);
    assert_int_equal(count, FLEET_SIZE);
    pm_fleet_options opts = PM_FLEET_OPTIONS_INIT;
    opts.jobs = 3;
    opts.progress = count_progress;
    opts.progress_ctx = &lf->counts;
    pm_test_ok(pm_fleet_new(&lf->fleet, set, count, &opts, &err), &err);
    for (size_t i = 0; i < n; i++) {
        char name[32];
        snprintf(name, sizeof(name), "tenant_%zu", i + 1);
        pm_test_ok(pm_fleet_add(lf->fleet, urls[i], name, NULL, &err), &err);
    }
    assert_int_equal(pm_fleet_size(lf->fleet), n);
}

static void lib_fleet_free(lib_fleet *lf)
{
    pm_fleet_free(lf->fleet);
    pm_source_free(lf->source);
}

static void test_library__results_and_progress_then_up_to_date(void **state)
{
    fixture *f = *state;
    const size_t n = 6;
    char **urls = create_databases(f, "lib", n);
    lib_fleet lf;
    lib_fleet_new(&lf, urls, n);
    pm_error err = PM_ERROR_INIT;
    pm_test_ok(pm_fleet_run(lf.fleet, PM_FLEET_UP, &err), &err);
    assert_int_equal(lf.counts.started, n);
    assert_int_equal(lf.counts.finished, n);
    assert_int_equal(lf.counts.applied, n * FLEET_SIZE);
    assert_int_equal(lf.counts.stopping, 0);
    for (size_t i = 0; i < n; i++) {
        const pm_fleet_result *res = pm_fleet_result_at(lf.fleet, i);
        assert_non_null(res);
        assert_int_equal(res->index, i);
        assert_int_equal(res->outcome, PM_FLEET_OK);
        assert_int_equal(res->applied, FLEET_SIZE);
        assert_int_equal(res->pending, FLEET_SIZE);
        assert_null(res->error);
        assert_null(strstr(res->url, raw_secret));
        assert_string_equal(res->origin, "added");
        assert_migrated(f, urls[i]);
    }
    assert_null(pm_fleet_result_at(lf.fleet, n));
    /* a fleet runs once */
    assert_int_equal(pm_fleet_run(lf.fleet, PM_FLEET_UP, &err), PM_EMISUSE);
    pm_error_clear(&err);
    lib_fleet_free(&lf);

    /* the same targets again: up to date, nothing applied */
    lib_fleet_new(&lf, urls, n);
    pm_test_ok(pm_fleet_run(lf.fleet, PM_FLEET_UP, &err), &err);
    assert_int_equal(lf.counts.applied, 0);
    for (size_t i = 0; i < n; i++) {
        const pm_fleet_result *res = pm_fleet_result_at(lf.fleet, i);
        assert_int_equal(res->outcome, PM_FLEET_OK);
        assert_int_equal(res->applied, 0);
        assert_int_equal(res->pending, 0);
        assert_migrated(f, urls[i]);
    }
    lib_fleet_free(&lf);
}

static void test_library__interrupted_before_the_run_starts_nothing(void **state)
{
    fixture *f = *state;
    const size_t n = 4;
    char **urls = create_databases(f, "libi", n);
    lib_fleet lf;
    lib_fleet_new(&lf, urls, n);
    pm_fleet_interrupt(lf.fleet);
    pm_error err = PM_ERROR_INIT;
    assert_int_equal(pm_fleet_run(lf.fleet, PM_FLEET_UP, &err), PM_EINTERRUPTED);
    pm_error_clear(&err);
    assert_int_equal(lf.counts.started, 0);
    for (size_t i = 0; i < n; i++) {
        const pm_fleet_result *res = pm_fleet_result_at(lf.fleet, i);
        assert_int_equal(res->outcome, PM_FLEET_NOT_STARTED);
        assert_string_equal(pm_fleet_outcome_name(res->outcome), "not started");
        assert_untouched(f, urls[i]);
    }
    lib_fleet_free(&lf);
}

int main(int argc, char **argv)
{
    if (argc != 5 || (strcmp(argv[1], "postgres") != 0 && strcmp(argv[1], "mysql") != 0)) {
        fprintf(stderr, "usage: %s postgres|mysql <poblysh> <fixtures/sql/fleet> <work dir>\n",
                argv[0]);
        return 2;
    }
    postgres = strcmp(argv[1], "postgres") == 0;
    cli_path = argv[2];
    fleet_dir = argv[3];
    work_root = argv[4];
    mkdir(work_root, 0755);
    if (srv_server_env(argv[0], postgres, &admin_url, &raw_secret) != 0)
        return 1;
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest pg_tests[] = {
        T(test_up__migrates_every_target_in_parallel),
        T(test_up__a_broken_target_stops_scheduling_and_keep_going_goes_on),
        T(test_up__a_failed_canary_migrates_nothing_else),
        T(test_up__an_interrupted_run_resumes),
        T(test_up__two_fleets_at_once_apply_each_migration_once),
        T(test_up__schema_per_tenant_in_one_database),
        T(test_up__makes_missing_schemas_even_with_two_fleets_racing),
        T(test_up__targets_query_reads_a_control_table),
        T(test_library__results_and_progress_then_up_to_date),
        T(test_library__interrupted_before_the_run_starts_nothing),
    };
    const struct CMUnitTest mysql_tests[] = {
        T(test_up__migrates_every_target_in_parallel),
        T(test_up__a_broken_target_stops_scheduling_and_keep_going_goes_on),
        T(test_up__two_fleets_at_once_apply_each_migration_once),
        T(test_library__results_and_progress_then_up_to_date),
        T(test_library__interrupted_before_the_run_starts_nothing),
    };
#undef T
    if (postgres)
        return cmocka_run_group_tests_name("fleets on PostgreSQL", pg_tests, NULL, NULL);
    return cmocka_run_group_tests_name("fleets on MariaDB", mysql_tests, NULL, NULL);
}
