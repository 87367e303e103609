/* cases_testdb.c: case 4, the test database (poblysh/testdb.h). What one
 * test's setup and teardown cost with a 100-migration set (200 tables and
 * indexes): re-running every migration on a fresh sqlite::memory: database
 * (the baseline: what a suite does without poblysh's test databases),
 * against a clone of the migrated template, and against rollback mode. Each
 * "test" writes one row, so a clone pays for SQLite parsing its schema, as a
 * real test's first statement does. On PostgreSQL (when the server is up)
 * the same three are printed for reference, without targets. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"
#include "bench_set.h"

#define TESTDB_SET_SIZE 100
#define CLONE_TARGET 8.0      /* clone at least this many times faster */
#define ROLLBACK_TARGET 200.0 /* rollback mode at least this many times faster */
#define ROLLBACK_MAX_US 20.0  /* and under this per test */

typedef struct testdb_bench {
    const char *url;
    const pm_migration *const *set;
    size_t count;
    int tests; /* tests timed per run; the run's figure is the mean per test */
} testdb_bench;

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static const char *const test_write = "INSERT INTO bench_000001 (id, name) VALUES (1, 'one')";

static int report_error(const char *what, pm_error *err)
{
    fprintf(stderr, "pm_bench: case 4: %s: %s\n", what, err->message ? err->message : "?");
    pm_error_clear(err);
    return -1;
}

/* One test without test databases: every migration on a fresh database.
 * A server database is reused, so it is emptied afterwards, untimed. */
static int remigrate_once(const testdb_bench *b, double *ms, pm_error *err)
{
    pm_db *db = NULL;
    pm_engine *engine = NULL;
    double start = now_ms();
    int rc = pm_db_open(&db, b->url, NULL, err);
    if (rc == 0)
        rc = pm_engine_new(&engine, db, b->set, b->count, NULL, err);
    if (rc == 0)
        rc = pm_engine_up(engine, PM_ALL, NULL, err);
    if (rc == 0)
        rc = pm_db_exec(db, test_write, err);
    bool server = rc == 0 && strcmp(pm_db_driver_name(db), "sqlite") != 0;
    if (!server) {
        pm_engine_free(engine);
        pm_db_close(db);
        *ms += now_ms() - start;
        return rc;
    }
    *ms += now_ms() - start;
    rc = pm_engine_reset(engine, NULL, err);
    pm_engine_free(engine);
    pm_db_close(db);
    return rc;
}

static int testdb_once(const testdb_bench *b, pm_testdb_mode mode, double *ms, pm_error *err)
{
    pm_testdb *tdb = NULL;
    double start = now_ms();
    int rc = pm_testdb_acquire(&tdb, b->url, b->set, b->count, mode, err);
    if (rc < 0)
        return rc;
    rc = pm_db_exec(pm_testdb_db(tdb), test_write, err);
    int released = pm_testdb_release(tdb, 0, rc < 0 ? NULL : err);
    *ms += now_ms() - start;
    return rc < 0 ? rc : released;
}

static int one_test(const testdb_bench *b, int mode, double *ms, pm_error *err)
{
    return mode < 0 ? remigrate_once(b, ms, err) : testdb_once(b, (pm_testdb_mode)mode, ms, err);
}

/* Times b->tests tests in mode (-1: re-migrating) after one untimed test,
 * which builds the template. */
static int time_tests(const testdb_bench *b, int mode, double *ms)
{
    pm_error err = PM_ERROR_INIT;
    double untimed = 0, total = 0;
    int rc = one_test(b, mode, &untimed, &err);
    for (int i = 0; rc == 0 && i < b->tests; i++)
        rc = one_test(b, mode, &total, &err);
    *ms = total / b->tests;
    pm_testdb_cleanup();
    return rc < 0 ? report_error(mode < 0 ? "re-migrating" : "test database", &err) : 0;
}

/* ==== The three sides, each run in a child of its own ==== */

typedef struct side_ctx {
    testdb_bench bench;
    int mode;
} side_ctx;

static int work(void *ctx, double *ms)
{
    side_ctx *s = ctx;
    return time_tests(&s->bench, s->mode, ms);
}

static int run_side(void *ctx, bench_sample *out)
{
    return bench_in_child(work, ctx, out);
}

static void summary_row(const char *what, const bench_stats *p, const bench_stats *base,
                        const char *goal, bool met)
{
    char pt[32], bt[32], ratio[32], peak[32], basetext[64];
    snprintf(ratio, sizeof(ratio), "%.1fx faster", base->median_ms / p->median_ms);
    snprintf(basetext, sizeof(basetext), "%s (re-migrate)",
             bench_ms_text(bt, sizeof(bt), base->median_ms));
    bench_summary_add(4, what, bench_ms_text(pt, sizeof(pt), p->median_ms), basetext, ratio, goal,
                      met ? "yes" : (goal[0] == '-' ? "-" : "NO"),
                      bench_kib_text(peak, sizeof(peak), p->peak_kib));
}

/* Compares clone and rollback mode with re-migrating on url; targets apply
 * when with_targets. */
static int compare_on(const char *label, const char *url, const pm_migration *const *set,
                      size_t count, int runs, int slow_tests, int fast_tests, bool with_targets)
{
    side_ctx remig = {{url, set, count, slow_tests}, -1};
    side_ctx clone = {{url, set, count, slow_tests}, PM_TESTDB_CLONE};
    side_ctx rollback = {{url, set, count, fast_tests}, PM_TESTDB_ROLLBACK};
    bench_side r = {"re-migrate", NULL, run_side, &remig};
    bench_side c = {"clone", NULL, run_side, &clone};
    bench_side b = {"rollback", NULL, run_side, &rollback};
    bench_stats rs, cs, rs2, bs;
    bench_report_note("%s, %zu migrations; each figure is one test's setup + one INSERT + "
                      "teardown, mean of %d (clone, re-migrate) or %d (rollback) tests per run",
                      label, count, slow_tests, fast_tests);
    if (bench_alternate(&c, &r, runs, &cs, &rs) < 0 || bench_alternate(&b, &r, runs, &bs, &rs2) < 0)
        return -1;
    bench_report_stats("re-migrate", &rs);
    bench_report_stats("clone", &cs);
    bench_report_stats("rollback", &bs);
    double clone_x = rs.median_ms / cs.median_ms, rollback_x = rs2.median_ms / bs.median_ms;
    double rollback_us = bs.median_ms * 1e3;
    bool clone_met = clone_x >= CLONE_TARGET;
    bool rollback_met = rollback_x >= ROLLBACK_TARGET && rollback_us < ROLLBACK_MAX_US;
    char what[128];
    if (with_targets) {
        bench_report_note("clone     %.1fx faster than re-migrating  target >= %.0fx  %s", clone_x,
                          CLONE_TARGET, clone_met ? "MET" : "NOT MET");
        bench_report_note("rollback  %.0fx faster, %.2f us per test  target >= %.0fx and < %.0f us"
                          "  %s",
                          rollback_x, rollback_us, ROLLBACK_TARGET, ROLLBACK_MAX_US,
                          rollback_met ? "MET" : "NOT MET");
    } else {
        bench_report_note("clone     %.1fx faster than re-migrating (no target)", clone_x);
        bench_report_note("rollback  %.0fx faster, %.2f us per test (no target)", rollback_x,
                          rollback_us);
    }
    snprintf(what, sizeof(what), "test database, clone, %s", label);
    summary_row(what, &cs, &rs, with_targets ? ">= 8x" : "-", clone_met);
    snprintf(what, sizeof(what), "test database, rollback mode, %s", label);
    summary_row(what, &bs, &rs2, with_targets ? ">= 200x, < 20 us" : "-", rollback_met);
    return 0;
}

int bench_case_testdb(const bench_env *env)
{
    bench_set *built = NULL;
    if (bench_set_new(&built, TESTDB_SET_SIZE) < 0)
        return -1;
    size_t count = 0;
    const pm_migration *const *set = bench_set_migrations(built, &count);
    int rc =
        compare_on("sqlite::memory:", "sqlite::memory:", set, count, env->runs, 50, 20000, true);
    const char *pg = getenv("POBLYSH_TEST_PG_URL");
    if (rc == 0 && env->pg_socket_dir && pg && *pg)
        rc = compare_on("PostgreSQL", pg, set, count, env->runs, 3, 500, false);
    bench_set_free(built);
    return rc;
}
