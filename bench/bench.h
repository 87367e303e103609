/* bench.h: what the files of pm_bench share: the environment every case runs
 * in, the case table's entry, and the helpers of measure.c that time runs,
 * read peak memory, alternate two sides, take medians and report.
 *
 * A case is one function, int case_fn(const bench_env *env), listed in the
 * table in main.c. It prints its own figures with the bench_report_*
 * helpers, adds its rows to the summary with bench_summary_add, and returns
 * 0 when it ran (targets met or not), -1 when it could not run. */
#ifndef PM_BENCH_H
#define PM_BENCH_H

#include <stdbool.h>
#include <stddef.h>

/* ==== The environment ==== */

typedef struct bench_env {
    const char *bin_dir;       /* where pm_bench_run and pm_bench_cli_<N> are */
    const char *sqlite3;       /* the sqlite3 shell */
    const char *psql;          /* PostgreSQL's psql binary (not the Perl wrapper), or NULL */
    const char *work;          /* a scratch directory for databases and scripts */
    const char *pg_socket_dir; /* NULL without a PostgreSQL server */
    const char *pg_port;
    const char *poblysh;   /* the poblysh CLI (no compiled-in set): the peer cases' --source */
    const char *dbmate;    /* dbmate's binary, or NULL: the peer cases without it */
    const char *mariadb;   /* the mariadb client, or NULL */
    const char *mysql_url; /* MariaDB (scripts/with-mariadb.sh), or NULL */
    const char *mysql_port;
    const char *mysql_password; /* given to the mariadb client as MYSQL_PWD */
    const char *strace;         /* strace, or NULL: case 9 counts fsync calls with it */
    int runs;                   /* runs per side for the slow cases (seconds each) */
    int fast_runs;              /* runs per side for the fast cases (milliseconds each) */
} bench_env;

typedef int (*bench_case_fn)(const bench_env *env);

typedef struct bench_case {
    int number;
    const char *title;
    bench_case_fn run;
    bool needs_postgres; /* skipped, and said so, without a server */
    bool needs_mariadb;  /* the same for MariaDB (and its client) */
} bench_case;

/* The path of pm_bench_cli_<count> (malloc'd). */
char *bench_cli_path(const bench_env *env, size_t count);

/* A malloc'd "dir/name" (exits on out of memory: the benchmark has no use
 * for a half-built path). */
char *bench_path(const char *dir, const char *name);
/* A malloc'd printf, exiting on out of memory. */
char *bench_format(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;
/* Removes a SQLite database file and its journal, if there. */
void bench_remove_sqlite(const char *path);

/* ==== One run ==== */

typedef struct bench_sample {
    double ms;     /* wall-clock time of the run */
    double cpu_ms; /* user + system CPU time of the process that did the work */
    long peak_kib; /* ru_maxrss of the process that did the work, in KiB */
} bench_sample;

/* A child process: argv[0] is a path. stdin comes from stdin_path (NULL:
 * /dev/null); stdout goes to /dev/null (what the tool prints is not timed
 * on a terminal); stderr goes to <work>/child-stderr.log, shown when the
 * child fails. env entries ("NAME=value", NULL-terminated, may be NULL) are
 * added to the environment. */
typedef struct bench_cmd {
    const char *const *argv;
    const char *stdin_path;
    const char *const *env;
} bench_cmd;

/* Runs cmd through pm_bench_run, which forks it from a process of its own
 * (so pm_bench's memory is not counted in its peak) and waits for it with
 * wait4: out->ms from fork to exit, out->peak_kib its ru_maxrss. Fails (-1,
 * with a message) unless it exits 0. */
int bench_spawn(const bench_env *env, const bench_cmd *cmd, bench_sample *out);

/* Prints what /bin/true measures through bench_spawn: the floor under every
 * command's figures. */
int bench_report_floor(const bench_env *env);

/* Work done in a forked child, so its peak memory is its own: fn does any
 * untimed setup, times its work into *ms and returns 0, or -1 on failure. */
typedef int (*bench_work_fn)(void *ctx, double *ms);
int bench_in_child(bench_work_fn fn, void *ctx, bench_sample *out);

/* Untimed work (building databases, writing scripts, checking results) in a
 * forked child, so pm_bench itself stays small: a forked child starts with
 * its parent's memory, which would otherwise count in the peak of every
 * later in-process run. */
int bench_isolated(bench_work_fn fn, void *ctx);

/* ==== Several runs ==== */

/* One side of a comparison: prepare (untimed, before every run; may be
 * NULL) and run (one timed run). */
typedef struct bench_side {
    const char *label;
    int (*prepare)(void *ctx);
    int (*run)(void *ctx, bench_sample *out);
    void *ctx;
} bench_side;

typedef struct bench_stats {
    double median_ms;
    double min_ms;
    double max_ms;
    double median_cpu_ms;
    long peak_kib; /* median of the runs' peaks */
    int runs;
} bench_stats;

/* runs rounds of a and b alternated, a first in even rounds and b first in
 * odd ones (ABBA...), so drift in the machine's speed falls on both alike;
 * medians into sa and sb. */
int bench_alternate(const bench_side *a, const bench_side *b, int runs, bench_stats *sa,
                    bench_stats *sb);
/* runs rounds of nsides sides, the order rotating each round; stats[i] the
 * medians of side i; ratios (nsides * nsides, or NULL) ratios[i * nsides + j]
 * the median over the rounds of side i's time over side j's in the same
 * round: the median of pair ratios (the two runs of a pair are close in
 * time, so load that comes and goes falls on both). */
int bench_rounds(const bench_side *sides, size_t nsides, int runs, bench_stats *stats,
                 double *ratios);
/* runs runs of a alone. */
int bench_repeat(const bench_side *a, int runs, bench_stats *out);

/* ==== Reporting ==== */

void bench_report_header(int number, const char *title);
/* "  label  median 12.3 ms (min .., max .., N runs)  CPU 10.1 ms  peak 4.1 MiB" */
void bench_report_stats(const char *label, const bench_stats *s);
/* Prints the ratio of the medians and whether it is at most target;
 * returns whether it is. */
bool bench_report_ratio(const bench_stats *poblysh, const bench_stats *baseline, double target);
/* A free-form line of a case's report. */
void bench_report_note(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;

/* One row of the summary table printed at the end (strings are copied). */
void bench_summary_add(int number, const char *what, const char *poblysh, const char *baseline,
                       const char *ratio, const char *target, const char *met, const char *peak);
/* The summary as a Markdown table, ready for docs/performance.md. */
void bench_summary_print(void);
void bench_summary_free(void);

/* ==== Helpers of the cases ==== */

/* "12.3 ms" / "1.23 s" / "4.1 MiB" into buf. */
const char *bench_ms_text(char *buf, size_t size, double ms);
const char *bench_kib_text(char *buf, size_t size, long kib);

/* ==== The cases (cases_up.c, cases_status.c, cases_testdb.c, cases_fleet.c) ==== */

int bench_case_up_sqlite_file(const bench_env *env); /* 1 */
int bench_case_up_postgres(const bench_env *env);    /* 2 */
int bench_case_status_scaling(const bench_env *env); /* 3 */
int bench_case_testdb(const bench_env *env);         /* 4 (cases_testdb.c) */
int bench_case_status_cli(const bench_env *env);     /* 5 */
int bench_case_up_memory(const bench_env *env);      /* 6 */
int bench_case_up_peak_memory(const bench_env *env); /* 7 */
int bench_case_fleet(const bench_env *env);          /* 8 (cases_fleet.c) */
/* cases_peers.c: against dbmate and the shell, from a dbmate-format folder */
int bench_case_peer_up_sqlite_file(const bench_env *env);     /* 9 */
int bench_case_peer_status_sqlite_file(const bench_env *env); /* 10 */
int bench_case_peer_up_memory(const bench_env *env);          /* 11 */
int bench_case_peer_up_postgres(const bench_env *env);        /* 12 */
int bench_case_peer_status_postgres(const bench_env *env);    /* 13 */
int bench_case_peer_up_mariadb(const bench_env *env);         /* 14 */
int bench_case_peer_status_mariadb(const bench_env *env);     /* 15 */
int bench_case_startup(const bench_env *env);                 /* 16 */

#endif
