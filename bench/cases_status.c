/* cases_status.c: the `status` cases.
 *   3: pm_engine_status in-process on SQLite files with 1k, 10k and 100k
 *      applied migrations (history rows inserted directly, matching the set
 *      in memory): under 50 ms at 10k, and linear growth.
 *   5: the whole `poblysh migrate status` process on an up-to-date SQLite
 *      file with 1,000 migrations vs `sqlite3 FILE 'SELECT * FROM
 *      seaql_migrations'`: target ratio <= 1.5. */
#define _DEFAULT_SOURCE /* sync() */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench_db.h"
#include "bench_set.h"

/* ==== Case 3: status as the history grows ==== */

#define STATUS_TARGET_MS_AT_10K 50.0
/* Linear growth: ten times the history may take at most this many times as
 * long (quadratic growth would take 100 times). */
#define LINEAR_LIMIT 15.0

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* Inserts the history rows of the whole set in one transaction, as `up`
 * would have left them, straight through SQLite. */
static int insert_history(sqlite3 *db, const pm_migration *const *set, size_t count)
{
    sqlite3_stmt *stmt = NULL;
    int rc = sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_prepare_v2(
            db,
            "INSERT INTO seaql_migrations (version, applied_at, checksum, "
            "state, apply_order, execution_ms) VALUES (?, ?, ?, 'applied', ?, 1)",
            -1, &stmt, NULL);
    for (size_t i = 0; rc == SQLITE_OK && i < count; i++) {
        sqlite3_bind_text(stmt, 1, set[i]->name, -1, SQLITE_STATIC);
        sqlite3_bind_int64(stmt, 2, 1704067200 + (sqlite3_int64)i);
        sqlite3_bind_text(stmt, 3, set[i]->checksum, -1, SQLITE_STATIC);
        sqlite3_bind_int64(stmt, 4, (sqlite3_int64)i + 1);
        rc = sqlite3_step(stmt) == SQLITE_DONE ? sqlite3_reset(stmt) : SQLITE_ERROR;
    }
    sqlite3_finalize(stmt);
    if (rc != SQLITE_OK)
        fprintf(stderr, "pm_bench: inserting history rows: %s\n", sqlite3_errmsg(db));
    return sqlite3_exec(db, rc == SQLITE_OK ? "COMMIT" : "ROLLBACK", NULL, NULL, NULL) ==
                       SQLITE_OK &&
                   rc == SQLITE_OK
               ? 0
               : -1;
}

typedef struct status_run {
    const char *url;
    size_t count;
} status_run;

/* A SQLite file whose history records all count migrations as applied:
 * poblysh creates the table (up with no migration to apply), the rows go in
 * directly. Run through bench_isolated(). */
static int build_history(void *ctx, double *ms)
{
    const status_run *r = ctx;
    const char *url = r->url;
    size_t count = r->count;
    *ms = 0;
    bench_set *set = NULL;
    if (bench_set_new(&set, count) < 0)
        return -1;
    size_t n = 0;
    const pm_migration *const *migrations = bench_set_migrations(set, &n);
    pm_error err = PM_ERROR_INIT;
    pm_db *db = NULL;
    pm_engine *engine = NULL;
    int rc = pm_db_open(&db, url, NULL, &err);
    if (rc == 0)
        rc = pm_engine_new(&engine, db, migrations, n, NULL, &err);
    if (rc == 0)
        rc = pm_engine_up(engine, 0, NULL, &err); /* creates the history table only */
    if (rc < 0)
        fprintf(stderr, "pm_bench: %s\n", err.message ? err.message : pm_strerror(rc));
    if (rc == 0)
        rc = insert_history(pm_db_native_handle(db), migrations, n);
    pm_engine_free(engine);
    pm_db_close(db);
    pm_error_clear(&err);
    bench_set_free(set);
    return rc < 0 ? -1 : 0;
}

/* Opens the database, binds the set, reads the status, releases it all:
 * what a readiness check or `status` costs. */
static int timed_status(const status_run *r, const pm_migration *const *set, double *ms,
                        pm_error *err)
{
    pm_db *db = NULL;
    pm_engine *engine = NULL;
    pm_status *st = NULL;
    double start = now_ms();
    int rc = pm_db_open(&db, r->url, NULL, err);
    if (rc == 0)
        rc = pm_engine_new(&engine, db, set, r->count, NULL, err);
    if (rc == 0)
        rc = pm_engine_status(engine, &st, err);
    size_t applied = rc == 0 ? pm_status_count_state(st, PM_STATE_APPLIED) : 0;
    pm_status_free(st);
    pm_engine_free(engine);
    pm_db_close(db);
    *ms = now_ms() - start;
    if (rc == 0 && applied != r->count) {
        fprintf(stderr, "pm_bench: status found %zu of %zu applied\n", applied, r->count);
        rc = -1;
    }
    return rc;
}

/* In a forked child: the set is built first (a real program has it
 * compiled in), then one status is timed. */
static int status_work(void *ctx, double *ms)
{
    const status_run *r = ctx;
    bench_set *set = NULL;
    if (bench_set_new(&set, r->count) < 0)
        return -1;
    size_t n = 0;
    const pm_migration *const *migrations = bench_set_migrations(set, &n);
    pm_error err = PM_ERROR_INIT;
    int rc = timed_status(r, migrations, ms, &err);
    if (rc < 0 && err.message)
        fprintf(stderr, "pm_bench: %s\n", err.message);
    pm_error_clear(&err);
    bench_set_free(set);
    return rc < 0 ? -1 : 0;
}

static int run_status(void *ctx, bench_sample *out)
{
    return bench_in_child(status_work, ctx, out);
}

static int status_at(const bench_env *env, size_t count, int runs, bench_stats *out)
{
    char *name = bench_format("status_%zu.db", count);
    char *path = bench_path(env->work, name);
    char *url = bench_sqlite_url(path);
    bench_remove_sqlite(path);
    status_run r = {url, count};
    bench_side side = {"poblysh", NULL, run_status, &r};
    int rc = bench_isolated(build_history, &r);
    if (rc == 0)
        rc = bench_repeat(&side, runs, out);
    if (rc == 0) {
        char label[32], per[64];
        snprintf(label, sizeof(label), "%zuk", count / 1000);
        bench_report_stats(label, out);
        snprintf(per, sizeof(per), "%.2f us per migration", out->median_ms * 1000 / (double)count);
        bench_report_note("          %s", per);
    }
    bench_remove_sqlite(path);
    free(url);
    free(path);
    free(name);
    return rc;
}

static void summarise_size(size_t count, const bench_stats *s, const char *target, const char *met)
{
    char what[96], t[32], per[48], peak[32];
    snprintf(what, sizeof(what), "status in-process, %zuk applied, SQLite file", count / 1000);
    snprintf(per, sizeof(per), "%.2f us/migration", s->median_ms * 1000 / (double)count);
    bench_summary_add(3, what, bench_ms_text(t, sizeof(t), s->median_ms), "-", per, target, met,
                      bench_kib_text(peak, sizeof(peak), s->peak_kib));
}

int bench_case_status_scaling(const bench_env *env)
{
    static const size_t sizes[] = {1000, 10000, 100000};
    bench_stats s[3];
    for (size_t i = 0; i < 3; i++) {
        int runs = sizes[i] >= 100000 ? (env->runs + 1) / 2 : env->runs;
        if (status_at(env, sizes[i], runs, &s[i]) < 0)
            return -1;
    }
    bool fast = s[1].median_ms < STATUS_TARGET_MS_AT_10K;
    double growth_10k = s[1].median_ms / s[0].median_ms,
           growth_100k = s[2].median_ms / s[1].median_ms;
    bool linear = growth_100k <= LINEAR_LIMIT;
    bench_report_note("at 10k     %.2f ms  target < %.0f ms  %s", s[1].median_ms,
                      STATUS_TARGET_MS_AT_10K, fast ? "MET" : "NOT MET");
    bench_report_note("growth     10k/1k %.2fx, 100k/10k %.2fx (linear: 10x; quadratic: 100x)  "
                      "target 100k/10k <= %.0fx  %s",
                      growth_10k, growth_100k, LINEAR_LIMIT, linear ? "MET" : "NOT MET");
    summarise_size(1000, &s[0], "-", "-");
    summarise_size(10000, &s[1], "< 50 ms", fast ? "yes" : "NO");
    summarise_size(100000, &s[2], "-", "-");
    char growth[96];
    snprintf(growth, sizeof(growth), "%.2fx", growth_100k);
    bench_summary_add(3, "status growth, 100k / 10k", "-", "-", growth, "<= 15x (linear)",
                      linear ? "yes" : "NO", "-");
    return 0;
}

/* ==== Case 5: the whole status process ==== */

typedef struct status_cli {
    const bench_env *env;
    char *path;
    char *url;
    char *cli; /* pm_bench_cli_1000 */
} status_cli;

static int run_cli_status(void *ctx, bench_sample *out)
{
    status_cli *c = ctx;
    const char *argv[] = {c->cli, "--database-url", c->url, "migrate", "status", NULL};
    bench_cmd cmd = {argv, NULL, NULL};
    return bench_spawn(c->env, &cmd, out);
}

static int run_sqlite3_select(void *ctx, bench_sample *out)
{
    status_cli *c = ctx;
    const char *argv[] = {c->env->sqlite3, c->path, "SELECT * FROM seaql_migrations", NULL};
    bench_cmd cmd = {argv, NULL, NULL};
    return bench_spawn(c->env, &cmd, out);
}

static int run_cli_up(status_cli *c)
{
    const char *argv[] = {c->cli, "--database-url", c->url, "migrate", "up", NULL};
    bench_cmd cmd = {argv, NULL, NULL};
    bench_sample ignored;
    return bench_spawn(c->env, &cmd, &ignored);
}

int bench_case_status_cli(const bench_env *env)
{
    status_cli c = {env, bench_path(env->work, "status_cli_1000.db"), NULL,
                    bench_cli_path(env, 1000)};
    c.url = bench_sqlite_url(c.path);
    bench_remove_sqlite(c.path);
    bench_side p = {"poblysh", NULL, run_cli_status, &c};
    bench_side s = {"sqlite3", NULL, run_sqlite3_select, &c};
    bench_stats ps, ss;
    int rc = run_cli_up(&c); /* untimed: the database to report on */
    sync();                  /* and its writes out of the timed runs */
    if (rc == 0)
        rc = bench_alternate(&p, &s, env->fast_runs, &ps, &ss);
    if (rc == 0) {
        bench_report_stats(p.label, &ps);
        bench_report_stats(s.label, &ss);
        bool met = bench_report_ratio(&ps, &ss, 1.5);
        char pt[32], st[32], ratio[48], peak[32], base[64];
        snprintf(ratio, sizeof(ratio), "%.3f (CPU %.2f)", ps.median_ms / ss.median_ms,
                 ps.median_cpu_ms / ss.median_cpu_ms);
        snprintf(base, sizeof(base), "%s (sqlite3)", bench_ms_text(st, sizeof(st), ss.median_ms));
        bench_summary_add(5, "whole-process status, 1,000 applied, SQLite file",
                          bench_ms_text(pt, sizeof(pt), ps.median_ms), base, ratio, "<= 1.50",
                          met ? "yes" : "NO", bench_kib_text(peak, sizeof(peak), ps.peak_kib));
    }
    bench_remove_sqlite(c.path);
    free(c.url);
    free(c.path);
    free(c.cli);
    return rc;
}
