/* cases_up.c: the `up` cases. poblysh is pm_bench_cli_<N> (the CLI with N
 * benchmark migrations compiled in) run as `migrate up`; the baseline is the
 * database's own shell (sqlite3, psql) running the script of poblysh's dry
 * run: the same statements in the same transactions, history rows included.
 * Both are whole processes, timed from fork to exit, alternated.
 *   1: 1,000 migrations on a SQLite file           target ratio <= 1.05
 *   2: 1,000 migrations on PostgreSQL (unix socket) target ratio <= 1.00
 *   6: 100 migrations on sqlite::memory:            target ratio <= 1.50
 *   7: 10,000 migrations, peak memory               target < 16 MiB, and (issue
 *      19) at most 4 MiB above the sqlite3 shell's on a SQLite file */
#define _DEFAULT_SOURCE /* sync() */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_db.h"
#include "bench_set.h"

typedef enum backend { SQLITE_FILE, SQLITE_MEMORY, POSTGRES } backend;

/* One comparison: where each side migrates, and the baseline's script. */
typedef struct up_bench {
    const bench_env *env;
    backend kind;
    size_t count;
    char *poblysh_target; /* SQLite: the file; PostgreSQL: the database name */
    char *baseline_target;
    char *poblysh_url;
    char *baseline_url;
    char *script;
    char *cli; /* pm_bench_cli_<count> */
} up_bench;

static const char *backend_tag(backend kind)
{
    return kind == POSTGRES ? "pg" : kind == SQLITE_MEMORY ? "memory" : "file";
}

static void up_bench_init(up_bench *b, const bench_env *env, backend kind, size_t count)
{
    memset(b, 0, sizeof(*b));
    b->env = env;
    b->kind = kind;
    b->count = count;
    b->cli = bench_cli_path(env, count);
    char *name = bench_format("up_%s_%zu.sql", backend_tag(kind), count);
    b->script = bench_path(env->work, name);
    free(name);
    if (kind == POSTGRES) {
        b->poblysh_target = bench_format("pm_bench_poblysh");
        b->baseline_target = bench_format("pm_bench_psql");
        b->poblysh_url = bench_pg_url(env, b->poblysh_target);
        b->baseline_url = bench_pg_url(env, b->baseline_target);
    } else if (kind == SQLITE_FILE) {
        char *p = bench_format("up_poblysh_%zu.db", count),
             *s = bench_format("up_sqlite3_%zu.db", count);
        b->poblysh_target = bench_path(env->work, p);
        b->baseline_target = bench_path(env->work, s);
        free(p);
        free(s);
        b->poblysh_url = bench_sqlite_url(b->poblysh_target);
        b->baseline_url = bench_sqlite_url(b->baseline_target);
    } else {
        b->poblysh_url = bench_format("sqlite::memory:");
        b->baseline_url = bench_format("sqlite::memory:");
    }
}

static void up_bench_free(up_bench *b)
{
    if (b->kind == SQLITE_FILE) { /* large files: not kept after the case */
        bench_remove_sqlite(b->poblysh_target);
        bench_remove_sqlite(b->baseline_target);
    }
    free(b->poblysh_target);
    free(b->baseline_target);
    free(b->poblysh_url);
    free(b->baseline_url);
    free(b->script);
    free(b->cli);
}

/* ==== The two sides ==== */

/* An empty database for the next run of one side. The file system is
 * synced afterwards so the removal's own writes do not land in the timed
 * run, whose time is mostly fsync. */
static int fresh(const up_bench *b, const char *target)
{
    if (b->kind == POSTGRES)
        return bench_pg_recreate(b->env, target);
    if (b->kind == SQLITE_FILE) {
        bench_remove_sqlite(target);
        sync();
    }
    return 0;
}

static int prepare_poblysh(void *ctx)
{
    up_bench *b = ctx;
    return fresh(b, b->poblysh_target);
}

static int prepare_baseline(void *ctx)
{
    up_bench *b = ctx;
    return fresh(b, b->baseline_target);
}

static int run_poblysh(void *ctx, bench_sample *out)
{
    up_bench *b = ctx;
    const char *argv[] = {b->cli, "--database-url", b->poblysh_url, "migrate", "up", NULL};
    bench_cmd cmd = {argv, NULL, NULL};
    return bench_spawn(b->env, &cmd, out);
}

static int run_baseline(void *ctx, bench_sample *out)
{
    up_bench *b = ctx;
    if (b->kind == POSTGRES) {
        const bench_env *e = b->env;
        const char *argv[] = {
            e->psql,    "-X", "-q",      "-v", "ON_ERROR_STOP=1",  "-h", e->pg_socket_dir, "-p",
            e->pg_port, "-U", "poblysh", "-d", b->baseline_target, "-f", b->script,        NULL};
        bench_cmd cmd = {argv, NULL, NULL};
        return bench_spawn(e, &cmd, out);
    }
    const char *file = b->kind == SQLITE_FILE ? b->baseline_target : ":memory:";
    const char *argv[] = {b->env->sqlite3, "-batch", "-bail", file, NULL};
    bench_cmd cmd = {argv, b->script, NULL};
    return bench_spawn(b->env, &cmd, out);
}

/* ==== Running a comparison ==== */

/* Statements in the script: one per line. */
static size_t count_lines(const char *path)
{
    FILE *f = fopen(path, "r");
    size_t n = 0;
    int c;
    while (f && (c = getc(f)) != EOF)
        n += c == '\n';
    if (f)
        fclose(f);
    return n;
}

/* The baseline's script, from a dry run on an empty database of the kind. */
static int write_script(up_bench *b, const pm_migration *const *set)
{
    const char *begin = b->kind == POSTGRES ? "BEGIN" : "BEGIN IMMEDIATE";
    int rc = prepare_baseline(b);
    if (rc == 0)
        rc = bench_write_baseline(b->script, b->baseline_url, set, b->count, begin);
    if (rc == 0)
        bench_report_note("baseline script: %s, %zu statements from poblysh's dry run (the history "
                          "table, then per migration %s; CREATE TABLE; CREATE INDEX; INSERT INTO "
                          "seaql_migrations; COMMIT)",
                          b->script, count_lines(b->script), begin);
    return rc;
}

/* Untimed work that needs the set: the set built here is the one compiled
 * into the CLI (same functions). Run through bench_isolated(). */
static int with_set(up_bench *b, int (*fn)(up_bench *b, const pm_migration *const *set))
{
    bench_set *built = NULL;
    if (bench_set_new(&built, b->count) < 0)
        return -1;
    size_t n = 0;
    int rc = fn(b, bench_set_migrations(built, &n));
    bench_set_free(built);
    return rc;
}

static int script_work(void *ctx, double *ms)
{
    *ms = 0;
    return with_set(ctx, write_script);
}

static int check_same(up_bench *b, const pm_migration *const *set)
{
    return bench_check_same(b->poblysh_url, b->baseline_url, set, b->count);
}

static int check_work(void *ctx, double *ms)
{
    *ms = 0;
    return with_set(ctx, check_same);
}

static int compare_up(up_bench *b, int runs, bench_stats *poblysh, bench_stats *baseline)
{
    if (bench_isolated(script_work, b) < 0)
        return -1;
    bench_side p = {"poblysh", prepare_poblysh, run_poblysh, b};
    bench_side s = {b->kind == POSTGRES ? "psql" : "sqlite3", prepare_baseline, run_baseline, b};
    int rc = bench_alternate(&p, &s, runs, poblysh, baseline);
    if (rc == 0 && b->kind != SQLITE_MEMORY) {
        rc = bench_isolated(check_work, b);
        if (rc == 0)
            bench_report_note("checked: both sides left the same schema and %zu history rows",
                              b->count);
    }
    if (rc == 0) {
        bench_report_stats(p.label, poblysh);
        bench_report_stats(s.label, baseline);
    }
    return rc;
}

/* Reports a time comparison and adds its summary row. */
static void report_time(int number, const char *what, const char *baseline_label,
                        const bench_stats *p, const bench_stats *s, double target)
{
    bool met = bench_report_ratio(p, s, target);
    char pt[32], st[32], ratio[48], goal[32], peak[32], base[64];
    snprintf(ratio, sizeof(ratio), "%.3f (CPU %.2f)", p->median_ms / s->median_ms,
             p->median_cpu_ms / s->median_cpu_ms);
    snprintf(goal, sizeof(goal), "<= %.2f", target);
    snprintf(base, sizeof(base), "%s (%s)", bench_ms_text(st, sizeof(st), s->median_ms),
             baseline_label);
    bench_summary_add(number, what, bench_ms_text(pt, sizeof(pt), p->median_ms), base, ratio, goal,
                      met ? "yes" : "NO", bench_kib_text(peak, sizeof(peak), p->peak_kib));
}

static int time_case(const bench_env *env, int number, const char *what, backend kind, size_t count,
                     int runs, double target)
{
    up_bench b;
    up_bench_init(&b, env, kind, count);
    bench_stats p, s;
    int rc = compare_up(&b, runs, &p, &s);
    if (rc == 0)
        report_time(number, what, kind == POSTGRES ? "psql" : "sqlite3", &p, &s, target);
    up_bench_free(&b);
    return rc;
}

/* ==== The cases ==== */

int bench_case_up_sqlite_file(const bench_env *env)
{
    return time_case(env, 1, "up, 1,000 migrations, SQLite file", SQLITE_FILE, 1000, env->runs,
                     1.05);
}

int bench_case_up_postgres(const bench_env *env)
{
    return time_case(env, 2, "up, 1,000 migrations, PostgreSQL", POSTGRES, 1000, env->runs, 1.00);
}

int bench_case_up_memory(const bench_env *env)
{
    return time_case(env, 6, "whole-process up, 100 migrations, sqlite::memory:", SQLITE_MEMORY,
                     100, env->fast_runs, 1.50);
}

#define PEAK_TARGET_KIB (16 * 1024)

#define PEAK_ABOVE_SHELL_KIB (4 * 1024) /* issue 19 */

/* Issue 19's target: poblysh's peak at most 4 MiB above the sqlite3 shell's. */
static void report_peak_difference(const bench_stats *p, const bench_stats *s)
{
    long above = p->peak_kib - s->peak_kib;
    bool met = above <= PEAK_ABOVE_SHELL_KIB;
    char diff[48], pk[32], sk[32], base[64];
    snprintf(diff, sizeof(diff), "%+.1f MiB", (double)above / 1024);
    bench_report_note("above sqlite3 %s  target <= +4.0 MiB  %s", diff, met ? "MET" : "NOT MET");
    snprintf(base, sizeof(base), "peak %s (sqlite3)", bench_kib_text(sk, sizeof(sk), s->peak_kib));
    bench_kib_text(pk, sizeof(pk), p->peak_kib);
    bench_summary_add(7, "peak memory, up of 10,000, SQLite file, poblysh - sqlite3", pk, base,
                      diff, "<= +4.0 MiB", met ? "yes" : "NO", pk);
}

/* Peak memory of one backend's 10,000-migration up, against the target. */
static int peak_on(const bench_env *env, backend kind, const char *what)
{
    up_bench b;
    up_bench_init(&b, env, kind, 10000);
    bench_stats p, s;
    bench_report_note("%s:", what);
    int rc = compare_up(&b, 1, &p, &s);
    if (rc == 0) {
        bool met = p.peak_kib < PEAK_TARGET_KIB;
        char pk[32], sk[32], pt[32], base[96];
        bench_report_note("peak      poblysh %s, %s %s  target < 16 MiB  %s",
                          bench_kib_text(pk, sizeof(pk), p.peak_kib),
                          kind == POSTGRES ? "psql" : "sqlite3",
                          bench_kib_text(sk, sizeof(sk), s.peak_kib), met ? "MET" : "NOT MET");
        snprintf(base, sizeof(base), "peak %s (%s)", sk, kind == POSTGRES ? "psql" : "sqlite3");
        char label[128];
        snprintf(label, sizeof(label), "peak memory, up of 10,000, %s", what);
        bench_summary_add(7, label, bench_ms_text(pt, sizeof(pt), p.median_ms), base, "-",
                          "< 16 MiB", met ? "yes" : "NO", pk);
        if (kind == SQLITE_FILE)
            report_peak_difference(&p, &s);
    }
    up_bench_free(&b);
    return rc;
}

/* Peak memory of `--version`: what loading the binary costs before any
 * work, to tell it from what up adds. */
static int startup_peak(const bench_env *env, size_t count, long *kib)
{
    char *cli = bench_cli_path(env, count);
    const char *argv[] = {cli, "--version", NULL};
    bench_cmd cmd = {argv, NULL, NULL};
    bench_sample s = {0, 0, 0};
    int rc = bench_spawn(env, &cmd, &s);
    *kib = s.peak_kib;
    free(cli);
    return rc;
}

int bench_case_up_peak_memory(const bench_env *env)
{
    long small = 0, large = 0;
    char a[32], b[32];
    if (startup_peak(env, 100, &small) < 0 || startup_peak(env, 10000, &large) < 0)
        return -1;
    bench_report_note("start-up alone (--version): %s with 100 migrations compiled in, %s with "
                      "10,000",
                      bench_kib_text(a, sizeof(a), small), bench_kib_text(b, sizeof(b), large));
    int rc = peak_on(env, SQLITE_FILE, "SQLite file");
    if (rc == 0 && env->pg_socket_dir && env->psql)
        rc = peak_on(env, POSTGRES, "PostgreSQL");
    else if (rc == 0)
        bench_report_note("PostgreSQL: skipped (no server: run it through scripts/bench.sh)");
    return rc;
}
