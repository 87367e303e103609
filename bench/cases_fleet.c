/* cases_fleet.c: case 8, fleets (issue 18, docs/fleet.md). One run is the
 * whole fleet in a child process, pm_bench_fleet (fleet_run.c: pm_fleet_*
 * over a targets file), migrating 100 fresh targets with the 20 migrations
 * of tests/fixtures/sql/fleet; -j 1 against -j 8, alternated, once over 100
 * SQLite files and once over 100 databases of the throwaway PostgreSQL
 * (when scripts/bench.sh started one). Before every run the targets are made
 * fresh again, untimed: the files removed, the databases emptied (schema
 * public dropped and made again). Reported: the speed-up (target: at least
 * 2x), the machine's CPU use and I/O wait during the runs (what limits the
 * speed-up), and the fleet process's peak memory at -j 8. */
#define _DEFAULT_SOURCE /* sync() */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_db.h"

#define FLEET_TARGETS 100
#define FLEET_JOBS 8
#define SPEEDUP_TARGET 2.0

/* ==== The machine's CPU, from /proc/stat ==== */

typedef struct cpu_times {
    double busy, iowait, total; /* jiffies, all CPUs */
} cpu_times;

static cpu_times read_cpu(void)
{
    cpu_times t = {0, 0, 0};
    unsigned long long v[8] = {0};
    FILE *f = fopen("/proc/stat", "r");
    if (f && fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3],
                    &v[4], &v[5], &v[6], &v[7]) == 8) {
        /* user nice system idle iowait irq softirq steal */
        t.busy = (double)(v[0] + v[1] + v[2] + v[5] + v[6] + v[7]);
        t.iowait = (double)v[4];
        t.total = t.busy + t.iowait + (double)v[3];
    }
    if (f)
        fclose(f);
    return t;
}

/* The PostgreSQL server's CPU time so far, in ms: the postmaster's own and
 * its reaped children's (every backend of a closed connection), from
 * /proc/<postmaster>/stat; the postmaster's pid is the first line of
 * <data dir>/postmaster.pid, beside the socket directory scripts/
 * with-postgres.sh made. -1 when it cannot be read. */
static double server_cpu_ms(const bench_env *env)
{
    if (!env->pg_socket_dir)
        return -1;
    char *pidfile = bench_format("%s/data/postmaster.pid", env->pg_socket_dir);
    FILE *f = fopen(pidfile, "r");
    free(pidfile);
    long pid = 0;
    if (!f || fscanf(f, "%ld", &pid) != 1)
        pid = 0;
    if (f)
        fclose(f);
    char *statfile = bench_format("/proc/%ld/stat", pid);
    f = pid > 0 ? fopen(statfile, "r") : NULL;
    free(statfile);
    char line[1024];
    bool read = f && fgets(line, sizeof(line), f);
    if (f)
        fclose(f);
    char *after_name = read ? strrchr(line, ')') : NULL;
    unsigned long long t[4];
    /* after "pid (comm)": state, 10 numbers, then utime stime cutime cstime */
    if (!after_name ||
        sscanf(after_name + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %llu %llu",
               &t[0], &t[1], &t[2], &t[3]) != 4)
        return -1;
    return (double)(t[0] + t[1] + t[2] + t[3]) * 1000.0 / (double)sysconf(_SC_CLK_TCK);
}

/* ==== One fleet ==== */

typedef struct fleet_bench {
    const bench_env *env;
    bool postgres;
    char *targets[FLEET_TARGETS]; /* SQLite: the files; PostgreSQL: the databases' names */
    char *targets_file;
    char *program; /* pm_bench_fleet */
} fleet_bench;

/* One side: the fleet at jobs at once, and the machine's CPU during each run. */
typedef struct fleet_side {
    fleet_bench *bench;
    int jobs;
    double *busy, *iowait; /* fractions of all CPUs, one per run */
    double *server_ms;     /* PostgreSQL's CPU during each run, or -1 */
    int nruns;
} fleet_side;

static int fleet_bench_init(fleet_bench *b, const bench_env *env, bool postgres)
{
    memset(b, 0, sizeof(*b));
    b->env = env;
    b->postgres = postgres;
    b->program = bench_path(env->bin_dir, "pm_bench_fleet");
    b->targets_file = bench_path(env->work, postgres ? "fleet_pg.txt" : "fleet_sqlite.txt");
    FILE *out = fopen(b->targets_file, "w");
    if (!out) {
        perror(b->targets_file);
        return -1;
    }
    for (int i = 0; i < FLEET_TARGETS; i++) {
        char *name = bench_format("pm_bench_fleet_%03d", i + 1);
        if (postgres) {
            b->targets[i] = name;
            char *url = bench_pg_url(env, name);
            fprintf(out, "%s name=pg_%03d\n", url, i + 1);
            free(url);
        } else {
            char *file = bench_format("%s.db", name);
            b->targets[i] = bench_path(env->work, file);
            fprintf(out, "sqlite:%s name=file_%03d\n", b->targets[i], i + 1);
            free(file);
            free(name);
        }
    }
    return fclose(out) == 0 ? 0 : -1;
}

/* ==== Fresh targets ==== */

static int pg_admin_exec(pm_db *db, const char *sql)
{
    pm_error err = PM_ERROR_INIT;
    int rc = pm_db_exec(db, sql, &err);
    if (rc < 0)
        fprintf(stderr, "pm_bench: case 8: %s: %s\n", sql, err.message ? err.message : "?");
    pm_error_clear(&err);
    return rc < 0 ? -1 : 0;
}

/* Drops every database of the fleet, and creates it again when create. */
static int pg_each(const fleet_bench *b, bool create)
{
    char *url = bench_pg_url(b->env, "postgres");
    pm_error err = PM_ERROR_INIT;
    pm_db *db = NULL;
    int rc = pm_db_open(&db, url, NULL, &err) < 0 ? -1 : 0;
    if (rc < 0)
        fprintf(stderr, "pm_bench: case 8: %s\n", err.message ? err.message : "?");
    for (int i = 0; rc == 0 && i < FLEET_TARGETS; i++) {
        char *drop = bench_format("DROP DATABASE IF EXISTS \"%s\" WITH (FORCE)", b->targets[i]);
        char *make = bench_format("CREATE DATABASE \"%s\"", b->targets[i]);
        rc = pg_admin_exec(db, drop);
        if (rc == 0 && create)
            rc = pg_admin_exec(db, make);
        free(drop);
        free(make);
    }
    pm_db_close(db);
    pm_error_clear(&err);
    free(url);
    return rc;
}

/* Empties every database of the fleet: what the last run made goes with
 * its schema (dropping and creating 100 databases before every run would
 * take longer than the runs). */
static int pg_empty_each(const fleet_bench *b)
{
    int rc = 0;
    for (int i = 0; rc == 0 && i < FLEET_TARGETS; i++) {
        char *url = bench_pg_url(b->env, b->targets[i]);
        pm_error err = PM_ERROR_INIT;
        pm_db *db = NULL;
        rc = pm_db_open(&db, url, NULL, &err) < 0 ? -1 : 0;
        if (rc < 0)
            fprintf(stderr, "pm_bench: case 8: %s\n", err.message ? err.message : "?");
        if (rc == 0)
            rc = pg_admin_exec(db, "DROP SCHEMA public CASCADE; CREATE SCHEMA public");
        pm_db_close(db);
        pm_error_clear(&err);
        free(url);
    }
    return rc;
}

static int create_targets(void *ctx, double *ms)
{
    *ms = 0;
    return pg_each(ctx, true);
}

/* In a child of its own (bench_isolated), so pm_bench stays small. */
static int fresh_targets(void *ctx, double *ms)
{
    const fleet_bench *b = ctx;
    *ms = 0;
    if (b->postgres)
        return pg_empty_each(b);
    for (int i = 0; i < FLEET_TARGETS; i++)
        bench_remove_sqlite(b->targets[i]);
    sync(); /* the removals' writes stay out of the timed run */
    return 0;
}

static int remove_targets(void *ctx, double *ms)
{
    const fleet_bench *b = ctx;
    *ms = 0;
    if (b->postgres)
        return pg_each(b, false);
    for (int i = 0; i < FLEET_TARGETS; i++)
        bench_remove_sqlite(b->targets[i]);
    return 0;
}

static int prepare(void *ctx)
{
    fleet_side *s = ctx;
    return bench_isolated(fresh_targets, s->bench);
}

static int run(void *ctx, bench_sample *out)
{
    fleet_side *s = ctx;
    char jobs[16];
    snprintf(jobs, sizeof(jobs), "%d", s->jobs);
    const char *argv[] = {s->bench->program, PM_BENCH_FLEET_SOURCE, s->bench->targets_file, jobs,
                          NULL};
    bench_cmd cmd = {argv, NULL, NULL};
    double server_before = s->bench->postgres ? server_cpu_ms(s->bench->env) : -1;
    cpu_times before = read_cpu();
    int rc = bench_spawn(s->bench->env, &cmd, out);
    cpu_times after = read_cpu();
    double server_after = server_before >= 0 ? server_cpu_ms(s->bench->env) : -1;
    s->server_ms[s->nruns] = server_after >= 0 ? server_after - server_before : -1;
    double total = after.total - before.total;
    s->busy[s->nruns] = total > 0 ? (after.busy - before.busy) / total : 0;
    s->iowait[s->nruns] = total > 0 ? (after.iowait - before.iowait) / total : 0;
    s->nruns++;
    return rc;
}

/* ==== Reporting ==== */

static int compare_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median_of(double *v, int n)
{
    qsort(v, (size_t)n, sizeof(*v), compare_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* What held the speed-up back, judged from -j 8's runs: own is the share of
 * the machine's CPUs the fleet (and its server) used, busy the share used by
 * every process, iowait the share spent waiting on the disk. */
static const char *limit_text(double own, double busy, double iowait)
{
    if (own >= 0.70)
        return "CPU: the fleet's own work (with its server's) kept the CPUs busy";
    if (busy >= 0.85)
        return "CPU: the CPUs were busy, much of the time with other processes of this shared "
               "machine";
    if (iowait >= 0.20)
        return "I/O: the CPUs waited on the disk (fsync of each migration's commit)";
    return "neither CPU nor I/O wait saturated: per-migration latency (round trips, commits) "
           "and the targets' start-up";
}

static void report(const char *label, fleet_side *j1, fleet_side *j8, const bench_stats *s1,
                   const bench_stats *s8)
{
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    double speedup = s1->median_ms / s8->median_ms;
    bool met = speedup >= SPEEDUP_TARGET;
    double busy1 = median_of(j1->busy, j1->nruns), busy8 = median_of(j8->busy, j8->nruns);
    double io1 = median_of(j1->iowait, j1->nruns), io8 = median_of(j8->iowait, j8->nruns);
    char peak[32], cpu[32], wall[32];
    bench_report_stats("-j 1", s1);
    bench_report_stats("-j 8", s8);
    bench_report_note("speed-up  %.2fx (-j 1 / -j %d, medians of wall time)  target >= %.0fx  %s",
                      speedup, FLEET_JOBS, SPEEDUP_TARGET, met ? "MET" : "NOT MET");
    bench_report_note("machine CPU busy (all processes, %ld CPUs): -j 1 %.0f%%, -j 8 %.0f%%; "
                      "I/O wait -j 1 %.0f%%, -j 8 %.0f%%",
                      cpus, busy1 * 100, busy8 * 100, io1 * 100, io8 * 100);
    bench_report_note("fleet process at -j 8: CPU %s for %s wall; peak memory %s (ru_maxrss)",
                      bench_ms_text(cpu, sizeof(cpu), s8->median_cpu_ms),
                      bench_ms_text(wall, sizeof(wall), s8->median_ms),
                      bench_kib_text(peak, sizeof(peak), s8->peak_kib));
    double own_ms = s8->median_cpu_ms;
    if (j8->server_ms[0] >= 0) {
        double server1 = median_of(j1->server_ms, j1->nruns);
        double server8 = median_of(j8->server_ms, j8->nruns);
        char c1[32], c8[32];
        bench_report_note("server CPU (postmaster and its backends): -j 1 %s, -j 8 %s per run",
                          bench_ms_text(c1, sizeof(c1), server1),
                          bench_ms_text(c8, sizeof(c8), server8));
        own_ms += server8;
    }
    double own = own_ms / ((double)cpus * s8->median_ms);
    bench_report_note("fleet%s CPU at -j 8: %.0f%% of the machine's %ld CPUs",
                      j8->server_ms[0] >= 0 ? " and server" : "", own * 100, cpus);
    bench_report_note("limit: %s", limit_text(own, busy8, io8));

    char what[128], t8[32], t1[64], ratio[32];
    snprintf(what, sizeof(what), "fleet of %d %s, 20 migrations each, -j 8 vs -j 1", FLEET_TARGETS,
             label);
    snprintf(t1, sizeof(t1), "%s (-j 1)", bench_ms_text(wall, sizeof(wall), s1->median_ms));
    snprintf(ratio, sizeof(ratio), "%.2fx faster", speedup);
    bench_summary_add(8, what, bench_ms_text(t8, sizeof(t8), s8->median_ms), t1, ratio, ">= 2x",
                      met ? "yes" : "NO", peak);
}

/* ==== The case ==== */

static int compare(const bench_env *env, bool postgres)
{
    const char *label = postgres ? "PostgreSQL databases" : "SQLite files";
    bench_report_note("%d %s (%s), 20 migrations each (tests/fixtures/sql/fleet), fresh before "
                      "every run; pm_bench_fleet, %d runs per side, alternated",
                      FLEET_TARGETS, label,
                      postgres ? "one throwaway server, unix socket" : "in the work directory",
                      env->runs);
    fleet_bench b;
    int rc = fleet_bench_init(&b, env, postgres);
    size_t runs = (size_t)env->runs;
    double *samples = calloc(6 * runs, sizeof(*samples));
    if (!samples)
        rc = -1;
    fleet_side j1 = {&b, 1, samples, samples + runs, samples + 2 * runs, 0};
    fleet_side j8 = {&b, FLEET_JOBS, samples + 3 * runs, samples + 4 * runs, samples + 5 * runs, 0};
    bench_side one = {"-j 1", prepare, run, &j1};
    bench_side eight = {"-j 8", prepare, run, &j8};
    bench_stats s1, s8;
    if (rc == 0 && postgres)
        rc = bench_isolated(create_targets, &b);
    if (rc == 0)
        rc = bench_alternate(&one, &eight, env->runs, &s1, &s8);
    if (rc == 0)
        report(label, &j1, &j8, &s1, &s8);
    if (bench_isolated(remove_targets, &b) < 0)
        rc = -1;
    for (int i = 0; i < FLEET_TARGETS; i++)
        free(b.targets[i]);
    unlink(b.targets_file);
    free(b.targets_file);
    free(b.program);
    free(samples);
    return rc;
}

int bench_case_fleet(const bench_env *env)
{
    int rc = compare(env, false);
    if (rc == 0 && env->pg_socket_dir)
        rc = compare(env, true);
    else if (rc == 0)
        bench_report_note("PostgreSQL: skipped: no server (run it through scripts/bench.sh)");
    return rc;
}
