/* test_fleet_cli.c: `poblysh migrate up|down|status --targets` end to end,
 * through the standalone binary over SQLite files of a work directory and the
 * fleet fixture folder (tests/fixtures/sql/fleet, 20 migrations): the lines,
 * table, summary, --report JSON and exit codes of a fleet; stopping at a
 * failure, --keep-going, canaries, Ctrl-C and resuming; status by migration;
 * usage errors; no password in any output.
 * Run as: test_fleet_cli <path to poblysh> <fleet fixture dir> <work dir>. */
#define _XOPEN_SOURCE 700
#define _DEFAULT_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testproc.h"

#define MIGRATIONS 20
#define PASSWORD "s3cr3tPW"

static const char *fleet_dir; /* tests/fixtures/sql/fleet, absolute */

/* ==== Files of the test's directory ==== */

static void write_file(fixture *f, const char *file, const char *text)
{
    FILE *fp = fopen(path_in_dir(f, file), "w");
    assert_non_null(fp);
    fputs(text, fp);
    assert_int_equal(fclose(fp), 0);
}

/* Writes text to path (absolute: a folder of migrations beside the tests'). */
static void write_text(const char *path, const char *text)
{
    FILE *fp = fopen(path, "w");
    if (!fp)
        fail_msg("cannot create %s: %s", path, strerror(errno));
    fputs(text, fp);
    assert_int_equal(fclose(fp), 0);
}

static char *read_file(fixture *f, const char *file)
{
    FILE *fp = fopen(path_in_dir(f, file), "r");
    if (!fp)
        fail_msg("cannot open %s: %s", file, strerror(errno));
    char *text = keep(f, calloc(1, 1 << 20));
    size_t n = fread(text, 1, (1 << 20) - 1, fp);
    fclose(fp);
    text[n] = '\0';
    return text;
}

/* tenant_FIRST.db .. tenant_LAST.db, one targets line each, named tenant_N. */
static char *tenant_lines(fixture *f, int first, int last)
{
    char *text = fmt(f, "%s", "# the fleet of this test\n");
    for (int i = first; i <= last; i++)
        text = fmt(f, "%s%s name=tenant_%d\n", text, file_url(f, fmt(f, "tenant_%d.db", i)), i);
    return text;
}

static char *tenant_file(fixture *f, int i)
{
    return fmt(f, "tenant_%d.db", i);
}

static int64_t history_count(fixture *f, int tenant)
{
    int64_t n = pm_test_history_count(open_db(f, tenant_file(f, tenant)));
    close_db(f);
    return n;
}

/* A target where fleet_t03 exists already: the fixture's third migration
 * fails there. */
static void break_tenant(fixture *f, int tenant)
{
    pm_test_exec(open_db(f, tenant_file(f, tenant)), "CREATE TABLE fleet_t03 (id INTEGER)");
    close_db(f);
}

/* Lines of text that start with prefix and hold word as a column (between
 * blanks). */
static size_t count_rows(const char *text, const char *prefix, const char *word)
{
    size_t n = 0, plen = strlen(prefix);
    for (const char *p = text; *p;) {
        size_t len = strcspn(p, "\n");
        char line[1024];
        snprintf(line, sizeof(line), "%.*s ", (int)len, p);
        if (len >= plen && strncmp(p, prefix, plen) == 0 && strstr(line, word))
            n++;
        p += len + (p[len] == '\n');
    }
    return n;
}

/* The words of a table row, split at blanks: word n (0 is the target). */
static char *row_word(fixture *f, const char *row, int n)
{
    const char *p = row;
    for (int i = 0;; i++) {
        p += strspn(p, " ");
        size_t len = strcspn(p, " ");
        if (!len)
            fail_msg("no word %d in \"%s\"", n, row);
        if (i == n)
            return fmt(f, "%.*s", (int)len, p);
        p += len;
    }
}

/* ==== Running a fleet ==== */

/* `poblysh --source <fleet fixture> migrate ARGS...` under the local profile. */
#define FLEET(f, ...) run_cli((f), LOCAL, ARGS("--source", fleet_dir, "migrate", __VA_ARGS__))

static json_t *load_report(fixture *f, const char *file)
{
    json_error_t jerr;
    json_t *doc = json_loads(read_file(f, file), 0, &jerr);
    if (!doc)
        fail_msg("%s is not JSON: %s (line %d)", file, jerr.text, jerr.line);
    return doc;
}

static json_int_t summary_of(json_t *doc, const char *key)
{
    json_t *n = json_object_get(json_object_get(doc, "summary"), key);
    assert_true(json_is_integer(n));
    return json_integer_value(n);
}

/* The report's target called name. */
static json_t *report_target(json_t *doc, const char *name)
{
    json_t *targets = json_object_get(doc, "targets");
    for (size_t i = 0; i < json_array_size(targets); i++) {
        json_t *t = json_array_get(targets, i);
        if (strcmp(json_string_value(json_object_get(t, "name")), name) == 0)
            return t;
    }
    fail_msg("no target %s in the report", name);
    return NULL;
}

static const char *string_at(json_t *obj, const char *key)
{
    const char *s = json_string_value(json_object_get(obj, key));
    if (!s)
        fail_msg("\"%s\" is not a string", key);
    return s;
}

/* ==== Up over many targets ==== */

static void test_fleet_cli__hundred_targets_with_j8_all_migrated(void **state)
{
    fixture *f = *state;
    fresh_dir(f, "hundred");
    write_file(f, "targets.txt", tenant_lines(f, 1, 100));
    const run_result *r =
        FLEET(f, "up", "--targets", "targets.txt", "-j", "8", "--report", "report.json");
    assert_exit(r, 0);
    assert_contains(r->out, "Fleet: 100 targets, 8 at a time\n");
    assert_int_equal(count_occurrences(r->out, "] ok      tenant_"), 100);
    assert_contains(r->out, "/100] ok      tenant_42: applied 20 (");
    line_starting(f, r->out, "TARGET ");
    assert_int_equal(count_rows(r->out, "tenant_", " ok "), 100); /* the table's rows */
    assert_contains(line_starting(f, r->out, "tenant_7 "), " ok ");
    assert_contains(line_starting(f, r->out, "tenant_7 "), " 20 ");
    assert_contains(r->out, "Fleet up: 100 ok, 0 failed, 0 interrupted, 0 not started (of 100 "
                            "targets) in ");
    assert_lacks(r->out, "targets: "); /* no live line when stdout is no terminal */
    assert_empty(r->err);
    for (int i = 1; i <= 100; i++) {
        pm_db *db = open_db(f, tenant_file(f, i));
        assert_int_equal(pm_test_history_count(db), MIGRATIONS);
        assert_true(pm_test_has_table(db, "fleet_t20"));
    }
    close_db(f);

    json_t *doc = load_report(f, "report.json");
    assert_string_equal(string_at(doc, "command"), "up");
    assert_int_equal(json_integer_value(json_object_get(doc, "jobs")), 8);
    assert_int_equal(json_integer_value(json_object_get(doc, "exit_code")), 0);
    assert_true(json_is_false(json_object_get(doc, "keep_going")));
    assert_int_equal(summary_of(doc, "total"), 100);
    assert_int_equal(summary_of(doc, "ok"), 100);
    assert_int_equal(summary_of(doc, "not_started"), 0);
    json_t *targets = json_object_get(doc, "targets");
    assert_int_equal(json_array_size(targets), 100);
    for (size_t i = 0; i < 100; i++) {
        json_t *t = json_array_get(targets, i);
        char name[32];
        snprintf(name, sizeof(name), "tenant_%zu", i + 1); /* in the order given */
        assert_string_equal(string_at(t, "name"), name);
        assert_string_equal(string_at(t, "result"), "ok");
        assert_int_equal(json_integer_value(json_object_get(t, "applied")), MIGRATIONS);
        assert_true(json_is_null(json_object_get(t, "error")));
        assert_true(json_is_null(json_object_get(t, "schema")));
        assert_string_equal(string_at(t, "origin"), fmt(f, "targets.txt:%zu", i + 2));
    }
    json_decref(doc);
}

/* Runs the fleet with its stdin read from file of the test's directory. */
static const run_result *run_with_stdin(fixture *f, const char *file, const char *const *args)
{
    int saved = dup(STDIN_FILENO);
    int in = open(path_in_dir(f, file), O_RDONLY);
    assert_true(saved >= 0 && in >= 0);
    assert_true(dup2(in, STDIN_FILENO) >= 0);
    close(in);
    child c = spawn_cli(f, LOCAL, args);
    assert_true(dup2(saved, STDIN_FILENO) >= 0);
    close(saved);
    return collect(f, c);
}

static void test_fleet_cli__targets_from_stdin(void **state)
{
    fixture *f = *state;
    fresh_dir(f, "stdin");
    write_file(f, "list.txt", tenant_lines(f, 1, 5));
    const run_result *r = run_with_stdin(
        f, "list.txt", ARGS("--source", fleet_dir, "migrate", "up", "--targets", "-"));
    assert_exit(r, 0);
    assert_contains(r->out, "Fleet: 5 targets, 4 at a time\n"); /* the default -j */
    assert_contains(r->out, "Fleet up: 5 ok, 0 failed, 0 interrupted, 0 not started (of 5 ");
    for (int i = 1; i <= 5; i++)
        assert_int_equal(history_count(f, i), MIGRATIONS);
    /* never more at once than there are targets */
    write_file(f, "one.txt", tenant_lines(f, 6, 6));
    r = run_with_stdin(f, "one.txt",
                       ARGS("--source", fleet_dir, "migrate", "up", "--targets", "-", "-j", "8"));
    assert_exit(r, 0);
    assert_contains(r->out, "Fleet: 1 target, 1 at a time\n");
}

static void test_fleet_cli__quiet_keeps_the_summary_line_only(void **state)
{
    fixture *f = *state;
    fresh_dir(f, "quiet");
    write_file(f, "targets.txt", tenant_lines(f, 1, 3));
    break_tenant(f, 2);
    const run_result *r = FLEET(f, "up", "--targets", "targets.txt", "-q", "--keep-going");
    assert_exit(r, 1);
    /* the failure's line and the summary line, nothing else */
    assert_int_equal(count_occurrences(r->out, "\n"), 2);
    assert_true(strncmp(r->out, "[", 1) == 0);
    assert_contains(line_starting(f, r->out, "["), "] FAILED  tenant_2: ");
    assert_contains(r->out, "\nFleet up: 2 ok, 1 failed, 0 interrupted, 0 not started (of 3 ");
    assert_int_equal(history_count(f, 3), MIGRATIONS);
}

/* ==== Stopping, --keep-going, canaries ==== */

static void test_fleet_cli__broken_target_stops_scheduling_then_keep_going_runs_all(void **state)
{
    fixture *f = *state;
    fresh_dir(f, "broken");
    write_file(f, "targets.txt", tenant_lines(f, 1, 30));
    break_tenant(f, 3);
    const run_result *r =
        FLEET(f, "up", "--targets", "targets.txt", "-j", "1", "--report", "report.json");
    assert_exit(r, 1);
    assert_contains(r->out, "FAILED  tenant_3: ");
    assert_contains(line_starting(f, r->out, "tenant_3 "), " failed ");
    assert_contains(line_starting(f, r->out, "tenant_3 "), "fleet_t03");
    assert_contains(line_starting(f, r->out, "tenant_4 "), " not started  -  ");
    assert_contains(r->out, "Fleet up: 2 ok, 1 failed, 0 interrupted, 27 not started (of 30 ");
    assert_contains(r->err, "tenant_3");
    assert_int_equal(history_count(f, 1), MIGRATIONS);
    assert_int_equal(history_count(f, 3), 2); /* fleet_t01 and fleet_t02 stay applied */
    assert_false(file_exists(f, "tenant_4.db"));
    assert_false(file_exists(f, "tenant_30.db"));

    json_t *doc = load_report(f, "report.json");
    assert_int_equal(json_integer_value(json_object_get(doc, "exit_code")), 1);
    assert_int_equal(summary_of(doc, "failed"), 1);
    assert_int_equal(summary_of(doc, "not_started"), 27);
    json_t *broken = report_target(doc, "tenant_3");
    assert_string_equal(string_at(broken, "result"), "failed");
    json_t *error = json_object_get(broken, "error");
    assert_contains(string_at(error, "message"), "fleet_t03");
    assert_string_equal(string_at(error, "migration"), "20240101000003_create_fleet_t03");
    assert_int_equal(json_integer_value(json_object_get(error, "exit_code")), 1);
    assert_string_equal(string_at(report_target(doc, "tenant_4"), "result"), "not_started");
    json_decref(doc);

    r = FLEET(f, "up", "--targets", "targets.txt", "-j", "4", "--keep-going", "--report",
              "report.json");
    assert_exit(r, 1);
    assert_contains(r->out, "Fleet up: 29 ok, 1 failed, 0 interrupted, 0 not started (of 30 ");
    assert_contains(r->out, "ok      tenant_1: up to date (");
    for (int i = 1; i <= 30; i++)
        if (i != 3)
            assert_int_equal(history_count(f, i), MIGRATIONS);
    doc = load_report(f, "report.json");
    assert_true(json_is_true(json_object_get(doc, "keep_going")));
    assert_string_equal(string_at(report_target(doc, "tenant_3"), "result"), "failed");
    json_decref(doc);
}

static void test_fleet_cli__failed_canary_migrates_nothing_else(void **state)
{
    fixture *f = *state;
    fresh_dir(f, "canary");
    write_file(f, "targets.txt", tenant_lines(f, 1, 10));
    break_tenant(f, 2);
    const run_result *r = FLEET(f, "up", "--targets", "targets.txt", "--canary", "2",
                                "--keep-going", "--report", "report.json");
    assert_exit(r, 1);
    assert_contains(r->out, "Fleet: 10 targets, 4 at a time, canaries first: 2\n");
    assert_contains(r->out, "FAILED  tenant_2: ");
    assert_contains(r->out, " 8 not started (of 10 targets)");
    for (int i = 3; i <= 10; i++) {
        assert_false(file_exists(f, tenant_file(f, i)));
        assert_contains(line_starting(f, r->out, fmt(f, "tenant_%d ", i)), " not started ");
    }
    json_t *doc = load_report(f, "report.json");
    assert_true(json_is_true(json_object_get(report_target(doc, "tenant_2"), "canary")));
    assert_true(json_is_false(json_object_get(report_target(doc, "tenant_3"), "canary")));
    assert_int_equal(json_integer_value(json_object_get(doc, "canary")), 2);
    json_decref(doc);

    /* Healthy canaries: the others follow. */
    pm_test_exec(open_db(f, tenant_file(f, 2)), "DROP TABLE fleet_t03");
    close_db(f);
    r = FLEET(f, "up", "--targets", "targets.txt", "--canary", "2");
    assert_exit(r, 0);
    assert_contains(r->out, "Fleet up: 10 ok, 0 failed");
    assert_int_equal(history_count(f, 10), MIGRATIONS);
}

/* ==== Ctrl-C and resuming ==== */

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/* A folder of 20 SQLite migrations (dbmate layout) that each take a while: a
 * recursive count into a table, so a target runs long enough to be
 * interrupted. Lives under the work dir, beside the tests' folders. */
static char *slow_folder(fixture *f)
{
    char *dir = fmt(f, "%s/fleet-slow-migrations", work_root);
    nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    if (mkdir(dir, 0755) != 0)
        fail_msg("cannot create %s: %s", dir, strerror(errno));
    for (int i = 1; i <= MIGRATIONS; i++) {
        FILE *fp = fopen(fmt(f, "%s/2024010100%04d_slow_%02d.sql", dir, i, i), "w");
        assert_non_null(fp);
        fprintf(fp,
                "-- migrate:up\nCREATE TABLE slow_%02d AS WITH RECURSIVE c(x) AS (SELECT 1 "
                "UNION ALL SELECT x + 1 FROM c WHERE x < 100000) SELECT count(*) AS n FROM c;\n"
                "-- migrate:down\nDROP TABLE slow_%02d;\n",
                i, i);
        assert_int_equal(fclose(fp), 0);
    }
    return dir;
}

/* Reads the child's stdout until needle shows up; returns what was read. */
static char *read_until(fixture *f, child c, const char *needle)
{
    size_t cap = 1 << 16, len = 0;
    char *text = keep(f, calloc(1, cap + 1));
    while (!strstr(text, needle)) {
        struct pollfd p = {c.out_fd, POLLIN, 0};
        if (poll(&p, 1, 60000) <= 0)
            fail_msg("no \"%s\" within 60 s; read so far:\n%s", needle, text);
        ssize_t n = read(c.out_fd, text + len, cap - len);
        if (n <= 0)
            fail_msg("stdout ended before \"%s\":\n%s", needle, text);
        len += (size_t)n;
        text[len] = '\0';
    }
    return text;
}

/* Every slow_NN table has its history row: nothing half-applied. */
static void assert_whole(fixture *f, int tenant)
{
    if (!file_exists(f, tenant_file(f, tenant)))
        return;
    pm_db *db = open_db(f, tenant_file(f, tenant));
    int64_t tables = pm_test_int(
        db, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name LIKE 'slow_%'");
    int64_t rows = pm_test_has_table(db, "seaql_migrations") ? pm_test_history_count(db) : 0;
    if (tables != rows)
        fail_msg("tenant_%d: %lld slow tables but %lld history rows", tenant, (long long)tables,
                 (long long)rows);
    close_db(f);
}

static void test_fleet_cli__sigint_stops_reports_and_a_rerun_resumes(void **state)
{
    fixture *f = *state;
    fresh_dir(f, "sigint");
    char *slow = slow_folder(f);
    write_file(f, "targets.txt", tenant_lines(f, 1, 8));
    child c = spawn_cli(f, LOCAL,
                        ARGS("--source", slow, "migrate", "up", "--targets", "targets.txt", "-j",
                             "2", "--report", "report.json"));
    char *before = read_until(f, c, "] ok      tenant_");
    assert_int_equal(kill(c.pid, SIGINT), 0);
    const run_result *r = collect(f, c);
    char *out = fmt(f, "%s%s", before, r->out);
    assert_exit(r, 130);
    assert_contains(out, "Stopping: interrupted");
    line_starting(f, out, "TARGET ");
    assert_contains(out, " not started (of 8 targets)");
    json_t *doc = load_report(f, "report.json");
    assert_int_equal(json_integer_value(json_object_get(doc, "exit_code")), 130);
    json_int_t ok = summary_of(doc, "ok");
    assert_true(ok >= 1);
    assert_true(summary_of(doc, "not_started") >= 1);
    assert_int_equal(ok + summary_of(doc, "interrupted") + summary_of(doc, "failed") +
                         summary_of(doc, "not_started"),
                     8);
    for (int i = 1; i <= 8; i++)
        assert_whole(f, i);

    /* The rerun finds the finished targets up to date and completes the rest
     * (one interrupted after its last commit may be up to date too). */
    r = run_cli(f, LOCAL, ARGS("--source", slow, "migrate", "up", "--targets", "targets.txt"));
    assert_exit(r, 0);
    json_t *targets = json_object_get(doc, "targets");
    for (size_t i = 0; i < json_array_size(targets); i++) {
        json_t *t = json_array_get(targets, i);
        if (strcmp(string_at(t, "result"), "ok") == 0)
            assert_contains(r->out, fmt(f, "ok      %s: up to date (", string_at(t, "name")));
        if (strcmp(string_at(t, "result"), "not_started") == 0)
            assert_contains(r->out, fmt(f, "ok      %s: applied 20 (", string_at(t, "name")));
    }
    json_decref(doc);
    assert_contains(r->out, "Fleet up: 8 ok, 0 failed");
    for (int i = 1; i <= 8; i++)
        assert_int_equal(history_count(f, i), MIGRATIONS);
    nftw(slow, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* ==== status, down ==== */

static void test_fleet_cli__status_counts_each_migration_over_the_fleet(void **state)
{
    fixture *f = *state;
    fresh_dir(f, "status");
    write_file(f, "ahead.txt", tenant_lines(f, 1, 3));
    write_file(f, "behind.txt", tenant_lines(f, 4, 5));
    write_file(f, "all.txt", tenant_lines(f, 1, 5));
    assert_exit(FLEET(f, "up", "--targets", "ahead.txt"), 0);
    assert_exit(FLEET(f, "up", "--targets", "behind.txt", "-n", "18"), 0);

    const run_result *r = FLEET(f, "status", "--targets", "all.txt", "--report", "report.json");
    assert_exit(r, 0); /* pending is no reason for attention */
    assert_contains(line_starting(f, r->out, "20240101000001_create_fleet_t01 "), "  5/5 applied");
    char *line = line_starting(f, r->out, "20240101000019_create_fleet_t19 ");
    assert_contains(line, "  3/5 applied, 2 pending");
    assert_lacks(line, "failed");
    assert_contains(r->out, "ok      tenant_4: applied 18, pending 2 (");
    assert_contains(r->out, "ok      tenant_1: applied 20, pending 0 (");
    assert_contains(r->out, "Fleet status: 5 ok, 0 failed");
    json_t *doc = load_report(f, "report.json");
    json_t *migrations = json_object_get(doc, "migrations");
    assert_int_equal(json_array_size(migrations), MIGRATIONS);
    json_t *t19 = json_array_get(migrations, 18);
    assert_string_equal(string_at(t19, "name"), "20240101000019_create_fleet_t19");
    assert_int_equal(json_integer_value(json_object_get(t19, "applied")), 3);
    assert_int_equal(json_integer_value(json_object_get(t19, "pending")), 2);
    json_t *status = json_object_get(report_target(doc, "tenant_5"), "status");
    assert_int_equal(json_integer_value(json_object_get(status, "pending")), 2);
    assert_true(json_is_false(json_object_get(status, "attention")));
    json_decref(doc);

    r = FLEET(f, "status", "--targets", "all.txt", "--exit-code");
    assert_exit(r, 5);
    r = FLEET(f, "status", "--targets", "ahead.txt", "--exit-code");
    assert_exit(r, 0);
    for (int i = 1; i <= 5; i++) /* status changed nothing */
        assert_int_equal(history_count(f, i), i <= 3 ? MIGRATIONS : 18);
}

static void test_fleet_cli__down_reverts_and_needs_yes_outside_local(void **state)
{
    fixture *f = *state;
    fresh_dir(f, "down");
    write_file(f, "targets.txt", tenant_lines(f, 1, 3));
    assert_exit(FLEET(f, "up", "--targets", "targets.txt"), 0);
    const run_result *r = FLEET(f, "down", "--targets", "targets.txt", "-n", "2");
    assert_exit(r, 0);
    assert_contains(r->out, "ok      tenant_2: reverted 2 (");
    assert_contains(line_starting(f, r->out, "TARGET "), "REVERTED");
    for (int i = 1; i <= 3; i++)
        assert_int_equal(history_count(f, i), MIGRATIONS - 2);

    r = run_cli(f, (cli_env){"production", NULL},
                ARGS("--source", fleet_dir, "migrate", "down", "--targets", "targets.txt"));
    assert_exit(r, 2);
    assert_contains(r->err, "Pass --yes to confirm");
    assert_int_equal(history_count(f, 1), MIGRATIONS - 2);
}

static void test_fleet_cli__verify_and_attention(void **state)
{
    fixture *f = *state;
    fresh_dir(f, "verify");
    write_file(f, "targets.txt", tenant_lines(f, 1, 3));
    assert_exit(FLEET(f, "up", "--targets", "targets.txt"), 0);
    const run_result *r = FLEET(f, "verify", "--targets", "targets.txt", "--report", "report.json");
    assert_exit(r, 0);
    assert_contains(r->out, "Fleet verify: 3 ok, 0 failed");
    /* SQLite targets share one verification: the others say whose */
    assert_int_equal(count_occurrences(r->out, ": verified with tenant_"), 2);
    assert_string_equal(row_word(f, line_starting(f, r->out, "tenant_2 "), 2), "-");
    json_t *doc = load_report(f, "report.json");
    json_t *verify = json_object_get(report_target(doc, "tenant_2"), "verify");
    assert_int_equal(json_integer_value(json_object_get(verify, "problems")), 0);
    json_decref(doc);

    /* A migration edited since it was applied: status needs attention (exit 5). */
    pm_test_exec(open_db(f, tenant_file(f, 2)),
                 "UPDATE seaql_migrations SET checksum = 'edited' "
                 "WHERE version = '20240101000005_create_fleet_t05'");
    close_db(f);
    r = FLEET(f, "status", "--targets", "targets.txt", "--report", "report.json");
    assert_exit(r, 5);
    assert_contains(r->out, "ok      tenant_2: applied 20, pending 0, needs attention (");
    assert_contains(line_starting(f, r->out, "20240101000005_create_fleet_t05 "),
                    "  2/3 applied, 1 modified");
    doc = load_report(f, "report.json");
    assert_int_equal(json_integer_value(json_object_get(doc, "exit_code")), 5);
    json_t *status = json_object_get(report_target(doc, "tenant_2"), "status");
    assert_true(json_is_true(json_object_get(status, "attention")));
    json_decref(doc);
}

/* ==== Errors and exit codes ==== */

static void test_fleet_cli__report_that_cannot_be_written_fails_the_run(void **state)
{
    fixture *f = *state;
    fresh_dir(f, "report_fails");
    write_file(f, "targets.txt", tenant_lines(f, 1, 2));
    const run_result *r =
        FLEET(f, "up", "--targets", "targets.txt", "--report", "no-such-dir/report.json");
    assert_exit(r, 1);
    assert_contains(r->err, "cannot write the report no-such-dir/report.json");
    assert_contains(r->out, "Fleet up: 2 ok, 0 failed");
    /* a control database that cannot be opened exits as a single run would */
    r = FLEET(f, "status", "--targets-query", file_url(f, "no-such-control.db?mode=rw"),
              "SELECT 1");
    assert_exit(r, 4);
}

static void test_fleet_cli__targets_file_error_names_file_and_line(void **state)
{
    fixture *f = *state;
    fresh_dir(f, "bad_file");
    write_file(f, "targets.txt",
               fmt(f, "%s name=a\n\n%s colour=blue\n", file_url(f, "a.db"), file_url(f, "b.db")));
    const run_result *r = FLEET(f, "up", "--targets", "targets.txt");
    assert_exit(r, 2);
    assert_contains(r->err, "targets.txt:3");
    assert_contains(r->err, "colour=");
    assert_false(file_exists(f, "a.db"));
    r = FLEET(f, "up", "--targets", "no-such-file.txt");
    assert_exit(r, 2);
    assert_contains(r->err, "no-such-file.txt");
}

static void test_fleet_cli__usage_errors(void **state)
{
    fixture *f = *state;
    fresh_dir(f, "usage");
    write_file(f, "targets.txt", tenant_lines(f, 1, 2));
    const run_result *r =
        FLEET(f, "up", "--targets", "targets.txt", "--database-url", file_url(f, "x.db"));
    assert_exit(r, 2);
    assert_contains(r->err, "--database-url cannot go with --targets");
    r = FLEET(f, "up", "--targets", "targets.txt", "-s", "tenant");
    assert_exit(r, 2);
    assert_contains(r->err, "-s/--schema cannot go with --targets");
    r = FLEET(f, "up", "--targets", "targets.txt", "--dry-run");
    assert_exit(r, 2);
    assert_contains(r->err, "--dry-run cannot go with");
    r = FLEET(f, "up", "--targets", "targets.txt", "-j", "0");
    assert_exit(r, 2);
    assert_contains(r->err, "-j/--jobs must be a whole number from 1 to 256");
    r = FLEET(f, "up", "--targets", "targets.txt", "--jobs", "257");
    assert_exit(r, 2);
    r = FLEET(f, "up", "-j", "4");
    assert_exit(r, 2);
    assert_contains(r->err, "-j/--jobs applies only to a fleet");
    r = FLEET(f, "up", "--keep-going");
    assert_exit(r, 2);
    assert_contains(r->err, "--keep-going applies only to a fleet");
    r = FLEET(f, "status", "--report", "r.json");
    assert_exit(r, 2);
    r = FLEET(f, "up", "--targets", "targets.txt", "--targets-query",
              "sqlite::memory:", "SELECT 1");
    assert_exit(r, 2);
    r = FLEET(f, "up", "--targets-query", "sqlite::memory:");
    assert_exit(r, 2);
    assert_contains(r->err, "--targets-query needs two values");
    r = FLEET(f, "fresh", "--targets", "targets.txt");
    assert_exit(r, 2);
    assert_contains(r->err, "does not apply to migrate fresh");
    assert_false(file_exists(f, "tenant_1.db"));
    assert_false(file_exists(f, "r.json"));
}

static void test_fleet_cli__targets_query_lists_targets_from_a_control_database(void **state)
{
    fixture *f = *state;
    fresh_dir(f, "query");
    pm_db *control = open_db(f, "control.db");
    pm_test_exec(control, "CREATE TABLE tenants (url TEXT, name TEXT)");
    for (int i = 1; i <= 3; i++)
        pm_test_exec(control, fmt(f, "INSERT INTO tenants VALUES ('%s', 'tenant_%d')",
                                  file_url(f, tenant_file(f, i)), i));
    close_db(f);
    const run_result *r =
        FLEET(f, "up", "--targets-query", file_url(f, "control.db"),
              "SELECT url, name FROM tenants ORDER BY name", "--report", "report.json");
    assert_exit(r, 0);
    assert_contains(r->out, "Fleet up: 3 ok, 0 failed, 0 interrupted, 0 not started (of 3 ");
    assert_int_equal(history_count(f, 2), MIGRATIONS);
    json_t *doc = load_report(f, "report.json");
    assert_contains(string_at(report_target(doc, "tenant_3"), "origin"), "3");
    json_decref(doc);
}

/* A PostgreSQL target on a port nobody listens on (127.0.0.1:1). */
static char *unreachable_line(fixture *f, const char *name)
{
    return fmt(f, "postgres://fleet:" PASSWORD "@127.0.0.1:1/%s?connect_timeout=5 name=%s\n", name,
               name);
}

static void test_fleet_cli__password_never_printed_and_connect_failures_exit_4(void **state)
{
    fixture *f = *state;
    fresh_dir(f, "password");
    write_file(f, "targets.txt",
               fmt(f, "%s%s", unreachable_line(f, "pg_a"), unreachable_line(f, "pg_b")));
    const run_result *r =
        FLEET(f, "up", "--targets", "targets.txt", "--keep-going", "--report", "report.json", "-v");
    assert_exit(r, 4); /* every failure is a connection's */
    assert_contains(r->out, "FAILED  pg_a: ");
    assert_contains(r->out, "Fleet up: 0 ok, 2 failed");
    assert_lacks(r->out, PASSWORD);
    assert_lacks(r->err, PASSWORD);
    char *report = read_file(f, "report.json");
    assert_lacks(report, PASSWORD);
    json_t *doc = load_report(f, "report.json");
    json_t *error = json_object_get(report_target(doc, "pg_b"), "error");
    assert_int_equal(json_integer_value(json_object_get(error, "exit_code")), 4);
    assert_int_equal(json_integer_value(json_object_get(doc, "exit_code")), 4);
    assert_contains(string_at(report_target(doc, "pg_b"), "url"), "127.0.0.1:1");
    json_decref(doc);

    r = FLEET(f, "status", "--targets", "targets.txt", "--keep-going");
    assert_exit(r, 4);
    assert_contains(r->out, "(2 targets could not be read: counted in none of the states above)");
    assert_contains(r->out, "20240101000001_create_fleet_t01  0/2 applied\n");
    assert_lacks(r->out, PASSWORD);
    assert_lacks(r->err, PASSWORD);
}

/* Two targets whose up is refused because the history needs attention
 * (exit 5): a migration edited since it was applied. */
static void modify_tenant(fixture *f, int tenant)
{
    pm_test_exec(open_db(f, tenant_file(f, tenant)),
                 "UPDATE seaql_migrations SET checksum = 'edited' "
                 "WHERE version = '20240101000005_create_fleet_t05'");
    close_db(f);
}

static void test_fleet_cli__one_shared_code_is_the_exit_code_else_1(void **state)
{
    fixture *f = *state;
    fresh_dir(f, "shared_code");
    write_file(f, "two.txt", tenant_lines(f, 1, 2));
    assert_exit(FLEET(f, "up", "--targets", "two.txt"), 0);
    modify_tenant(f, 1);
    modify_tenant(f, 2);
    /* both refused for attention: the fleet exits 5, as one such up would */
    const run_result *r = FLEET(f, "up", "--targets", "two.txt", "--keep-going");
    assert_exit(r, 5);
    assert_contains(r->out, "Fleet up: 0 ok, 2 failed");

    /* attention (5) on one target, no connection (4) on another: 1 */
    write_file(f, "mixed.txt", fmt(f, "%s%s", unreachable_line(f, "pg_a"), tenant_lines(f, 1, 1)));
    r = FLEET(f, "up", "--targets", "mixed.txt", "--keep-going", "--report", "report.json");
    assert_exit(r, 1);
    assert_contains(r->out, "Fleet up: 0 ok, 2 failed");
    json_t *doc = load_report(f, "report.json");
    json_t *error = json_object_get(report_target(doc, "pg_a"), "error");
    assert_int_equal(json_integer_value(json_object_get(error, "exit_code")), 4);
    error = json_object_get(report_target(doc, "tenant_1"), "error");
    assert_int_equal(json_integer_value(json_object_get(error, "exit_code")), 5);
    assert_int_equal(json_integer_value(json_object_get(doc, "exit_code")), 1);
    json_decref(doc);
    assert_lacks(r->out, PASSWORD);
    assert_lacks(r->err, PASSWORD);
}

/* A name holding a Latin-1 byte (0xE9, not UTF-8): every target is still
 * in the report, the byte replaced by U+FFFD. */
static void test_fleet_cli__a_name_that_is_not_utf8_keeps_its_target_in_the_report(void **state)
{
    fixture *f = *state;
    fresh_dir(f, "latin1");
    write_file(f, "targets.txt",
               fmt(f, "%s name=caf\xe9_1\n%s name=tenant_2\n%s name=tenant_3\n",
                   file_url(f, tenant_file(f, 1)), file_url(f, tenant_file(f, 2)),
                   file_url(f, tenant_file(f, 3))));
    const run_result *r = FLEET(f, "up", "--targets", "targets.txt", "--report", "report.json");
    assert_exit(r, 0);
    assert_contains(r->out, "ok      caf\xe9_1: applied 20 (");
    json_t *doc = load_report(f, "report.json");
    json_t *targets = json_object_get(doc, "targets");
    assert_int_equal(json_array_size(targets), 3);
    assert_string_equal(string_at(json_array_get(targets, 0), "name"), "caf\xef\xbf\xbd_1");
    assert_string_equal(string_at(json_array_get(targets, 2), "name"), "tenant_3");
    assert_int_equal(summary_of(doc, "ok"), 3);
    json_decref(doc);
}

/* A folder of two SQLite migrations (dbmate layout) whose second down()
 * leaves its table behind: verify finds it. Under the work dir. */
static char *unrestoring_folder(fixture *f)
{
    char *dir = fmt(f, "%s/fleet-unrestoring-migrations", work_root);
    nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    if (mkdir(dir, 0755) != 0)
        fail_msg("cannot create %s: %s", dir, strerror(errno));
    write_text(fmt(f, "%s/20240101000001_create_a.sql", dir),
               "-- migrate:up\nCREATE TABLE a (id INTEGER);\n-- migrate:down\nDROP TABLE a;\n");
    write_text(fmt(f, "%s/20240101000002_create_b.sql", dir),
               "-- migrate:up\nCREATE TABLE b (id INTEGER);\n-- migrate:down\nSELECT 1;\n");
    return dir;
}

static void test_fleet_cli__verify_failures_count_on_every_target(void **state)
{
    fixture *f = *state;
    fresh_dir(f, "verify_fails");
    char *folder = unrestoring_folder(f);
    write_file(f, "targets.txt", tenant_lines(f, 1, 2));
    assert_exit(
        run_cli(f, LOCAL, ARGS("--source", folder, "migrate", "up", "--targets", "targets.txt")),
        0);
    const run_result *r = run_cli(f, LOCAL,
                                  ARGS("--source", folder, "migrate", "verify", "--targets",
                                       "targets.txt", "--keep-going", "--report", "report.json"));
    assert_exit(r, 1);
    /* one verification for both: one says so, the other names whose it
     * was (its line and its row). --keep-going: without it the first
     * failure may stop scheduling before the second target starts. */
    assert_int_equal(count_occurrences(r->out, " failed verification"), 4);
    assert_int_equal(count_occurrences(r->out, " failed verification (on tenant_"), 2);
    assert_int_equal(count_occurrences(r->out, "FAILED  tenant_"), 2);
    assert_contains(r->out, "Fleet verify: 0 ok, 2 failed");
    char *row = line_starting(f, r->out, "tenant_1 ");
    assert_string_equal(row_word(f, row, 1), "failed");
    assert_string_equal(row_word(f, row, 2), "-"); /* APPLIED: verify applies nothing */
    json_t *doc = load_report(f, "report.json");
    assert_int_equal(json_integer_value(json_object_get(doc, "exit_code")), 1);
    for (int i = 1; i <= 2; i++) {
        json_t *t = report_target(doc, fmt(f, "tenant_%d", i));
        assert_string_equal(string_at(t, "result"), "failed");
        json_t *verify = json_object_get(t, "verify");
        json_int_t problems = json_integer_value(json_object_get(verify, "problems"));
        assert_true(problems >= 1);
        assert_contains(
            r->out, fmt(f, "FAILED  tenant_%d: %lld failed verification", i, (long long)problems));
        assert_contains(row_word(f, line_starting(f, r->out, fmt(f, "tenant_%d ", i)), 5),
                        fmt(f, "%lld", (long long)problems)); /* ERROR (after TIME, 2 words) */
        assert_contains(string_at(verify, "verified_by"), "tenant_");
    }
    json_decref(doc);
    nftw(folder, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* ==== Reports when the targets cannot be read ==== */

static void assert_list_error_report(fixture *f, const char *file, int code, const char *message)
{
    json_t *doc = load_report(f, file);
    assert_int_equal(json_integer_value(json_object_get(doc, "exit_code")), code);
    assert_true(json_is_array(json_object_get(doc, "targets")));
    assert_int_equal(json_array_size(json_object_get(doc, "targets")), 0);
    assert_int_equal(summary_of(doc, "total"), 0);
    json_t *error = json_object_get(doc, "error");
    assert_contains(string_at(error, "message"), message);
    assert_int_equal(json_integer_value(json_object_get(error, "exit_code")), code);
    json_decref(doc);
}

static void test_fleet_cli__targets_that_cannot_be_read_still_make_a_report(void **state)
{
    fixture *f = *state;
    fresh_dir(f, "list_error_report");
    write_file(f, "targets.txt", fmt(f, "%s colour=blue\n", file_url(f, "a.db")));
    const run_result *r = FLEET(f, "up", "--targets", "targets.txt", "--report", "bad.json");
    assert_exit(r, 2);
    assert_list_error_report(f, "bad.json", 2, "targets.txt:1");

    r = FLEET(f, "status", "--targets-query", file_url(f, "no-such-control.db?mode=rw"), "SELECT 1",
              "--report", "query.json");
    assert_exit(r, 4);
    assert_list_error_report(f, "query.json", 4, "");
    assert_false(file_exists(f, "a.db"));
}

/* ==== Ctrl-C while the targets are read ==== */

/* Whether the child catches SIGINT yet (/proc/PID/status's SigCgt). */
static bool has_sigint_handler(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    FILE *fp = fopen(path, "r");
    char line[256];
    bool caught = false;
    while (fp && fgets(line, sizeof(line), fp))
        if (strncmp(line, "SigCgt:", 7) == 0)
            caught = (strtoull(line + 7, NULL, 16) & (1ULL << (SIGINT - 1))) != 0;
    if (fp)
        fclose(fp);
    return caught;
}

/* Whether the child is inside read() on its stdin (/proc/PID/syscall:
 * syscall 0 with fd 0, on x86-64). */
static bool reading_stdin(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/syscall", (int)pid);
    FILE *fp = fopen(path, "r");
    char line[256] = "";
    if (fp) {
        if (!fgets(line, sizeof(line), fp))
            line[0] = '\0';
        fclose(fp);
    }
    return strncmp(line, "0 0x0 ", 6) == 0;
}

static void test_fleet_cli__sigint_while_stdin_is_read_exits_130(void **state)
{
    fixture *f = *state;
    fresh_dir(f, "sigint_stdin");
    int pipe_fds[2], saved = dup(STDIN_FILENO);
    assert_true(saved >= 0 && pipe(pipe_fds) == 0);
    assert_true(fcntl(pipe_fds[1], F_SETFD, FD_CLOEXEC) == 0); /* the child cannot end it */
    assert_true(dup2(pipe_fds[0], STDIN_FILENO) >= 0); /* the child's stdin: a pipe left open */
    child c = spawn_cli(
        f, LOCAL,
        ARGS("--source", fleet_dir, "migrate", "up", "--targets", "-", "--report", "report.json"));
    assert_true(dup2(saved, STDIN_FILENO) >= 0);
    close(saved);
    close(pipe_fds[0]);
    for (int i = 0; i < 6000 && !(has_sigint_handler(c.pid) && reading_stdin(c.pid)); i++)
        usleep(10000);
    if (!reading_stdin(c.pid))
        fail_msg("poblysh never read its stdin");
    assert_int_equal(kill(c.pid, SIGINT), 0);
    const run_result *r = collect(f, c);
    close(pipe_fds[1]);
    assert_exit(r, 130);
    assert_list_error_report(f, "report.json", 130, "");
}

/* A control database that is down, retried with --wait: Ctrl-C stops the
 * retrying at once (without it the run would go on for 600 s). */
static void test_fleet_cli__sigint_while_a_control_database_is_retried_exits_130(void **state)
{
    fixture *f = *state;
    fresh_dir(f, "sigint_query");
    child c =
        spawn_cli(f, LOCAL,
                  ARGS("--source", fleet_dir, "--wait", "600", "migrate", "up", "--targets-query",
                       "postgres://fleet:" PASSWORD "@127.0.0.1:1/control?connect_timeout=5",
                       "SELECT url FROM tenants"));
    size_t cap = 1 << 16, len = 0;
    char *err = keep(f, calloc(1, cap + 1));
    while (!strstr(err, "waiting for the database (attempt 1")) {
        struct pollfd p = {c.err_fd, POLLIN, 0};
        if (poll(&p, 1, 60000) <= 0)
            fail_msg("no retry within 60 s; stderr so far:\n%s", err);
        ssize_t n = read(c.err_fd, err + len, cap - len);
        if (n <= 0)
            fail_msg("stderr ended before a retry:\n%s", err);
        len += (size_t)n;
        err[len] = '\0';
    }
    assert_int_equal(kill(c.pid, SIGINT), 0);
    const run_result *r = collect(f, c);
    assert_exit(r, 130);
    assert_lacks(err, PASSWORD);
    assert_lacks(r->err, PASSWORD);
}

/* ==== On a terminal ==== */

static void test_fleet_cli__terminal_redraws_a_live_summary_line(void **state)
{
    fixture *f = *state;
    fresh_dir(f, "terminal");
    write_file(f, "targets.txt", tenant_lines(f, 1, 6));
    int status = -1;
    char *out = run_on_pty(
        f, pty_env(f, "xterm", NULL),
        ARGS("--source", fleet_dir, "migrate", "up", "--targets", "targets.txt", "-j", "2"),
        &status);
    if (status != 0)
        fail_msg("exit %d:\n%s", status, out);
    assert_contains(out, "\rtargets: ");
    assert_contains(out, " running, ");
    assert_contains(out, " waiting");
    assert_contains(out, "Fleet up: 6 ok, 0 failed");

    out = run_on_pty(f, pty_env(f, "xterm", NULL),
                     ARGS("--source", fleet_dir, "--progress", "plain", "migrate", "up",
                          "--targets", "targets.txt"),
                     &status);
    assert_int_equal(status, 0);
    assert_lacks(out, "targets: ");
}

#define TEST(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: %s <path to poblysh> <fleet fixture dir> <work dir>\n", argv[0]);
        return 2;
    }
    cli_path = absolute_path(argv[1]);
    fleet_dir = absolute_path(argv[2]);
    work_root = make_dir(argv[3]) == 0 ? absolute_path(argv[3]) : NULL;
    if (!cli_path || access(cli_path, X_OK) != 0 || !fleet_dir || !work_root) {
        fprintf(stderr, "test_fleet_cli: bad binary %s, fixture %s or work dir %s\n", argv[1],
                argv[2], argv[3]);
        return 2;
    }
    const struct CMUnitTest tests[] = {
        TEST(test_fleet_cli__hundred_targets_with_j8_all_migrated),
        TEST(test_fleet_cli__targets_from_stdin),
        TEST(test_fleet_cli__quiet_keeps_the_summary_line_only),
        TEST(test_fleet_cli__broken_target_stops_scheduling_then_keep_going_runs_all),
        TEST(test_fleet_cli__failed_canary_migrates_nothing_else),
        TEST(test_fleet_cli__sigint_stops_reports_and_a_rerun_resumes),
        TEST(test_fleet_cli__status_counts_each_migration_over_the_fleet),
        TEST(test_fleet_cli__down_reverts_and_needs_yes_outside_local),
        TEST(test_fleet_cli__verify_and_attention),
        TEST(test_fleet_cli__report_that_cannot_be_written_fails_the_run),
        TEST(test_fleet_cli__targets_file_error_names_file_and_line),
        TEST(test_fleet_cli__usage_errors),
        TEST(test_fleet_cli__targets_query_lists_targets_from_a_control_database),
        TEST(test_fleet_cli__password_never_printed_and_connect_failures_exit_4),
        TEST(test_fleet_cli__one_shared_code_is_the_exit_code_else_1),
        TEST(test_fleet_cli__a_name_that_is_not_utf8_keeps_its_target_in_the_report),
        TEST(test_fleet_cli__verify_failures_count_on_every_target),
        TEST(test_fleet_cli__targets_that_cannot_be_read_still_make_a_report),
        TEST(test_fleet_cli__sigint_while_stdin_is_read_exits_130),
        TEST(test_fleet_cli__sigint_while_a_control_database_is_retried_exits_130),
        TEST(test_fleet_cli__terminal_redraws_a_live_summary_line),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    free((char *)cli_path);
    free((char *)fleet_dir);
    free((char *)work_root);
    return failed;
}
