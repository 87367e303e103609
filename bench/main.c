/* main.c: pm_bench, the benchmark of issue 8 (docs/performance.md). Parses
 * its options, lists the cases in one table, runs those asked for, and
 * prints every case's figures and a summary table. Run it through
 * `bash scripts/bench.sh`, which builds it in Release and starts the
 * throwaway PostgreSQL whose socket it reads from the environment.
 *
 *   pm_bench --sqlite3 PATH [--psql PATH] --work DIR [--bin-dir DIR]
 *            [--runs N] [--fast-runs N] [--case N]...
 *
 * Exit status: 0 when every case ran (whether or not its target was met),
 * 1 when one could not run, 2 on bad arguments. */
#include <getopt.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bench.h"

/* ==== The cases ==== */

static const bench_case cases[] = {
    {1, "up of 1,000 migrations on a SQLite file, vs the sqlite3 shell", bench_case_up_sqlite_file,
     false},
    {2, "up of 1,000 migrations on PostgreSQL (unix socket), vs psql", bench_case_up_postgres,
     true},
    {3, "status in-process with 1k, 10k and 100k applied migrations (SQLite file)",
     bench_case_status_scaling, false},
    {4, "test database (100 migrations): clone and rollback mode vs re-migrating",
     bench_case_testdb, false},
    {5, "whole-process `migrate status`, 1,000 applied, SQLite file, vs sqlite3 SELECT",
     bench_case_status_cli, false},
    {6, "whole-process up of 100 migrations on sqlite::memory:, vs sqlite3 :memory:",
     bench_case_up_memory, false},
    {7, "peak memory of up of 10,000 migrations", bench_case_up_peak_memory, false},
    {8, "fleet of 100 SQLite files and of 100 PostgreSQL databases, -j 1 vs -j 8", bench_case_fleet,
     false},
};

#define NCASES (sizeof(cases) / sizeof(cases[0]))
#define MAX_CASE 16 /* case numbers run from 1 to this */

/* ==== Options ==== */

static const char *usage =
    "usage: pm_bench --sqlite3 PATH [--psql PATH] --work DIR [--bin-dir DIR]\n"
    "                [--runs N] [--fast-runs N] [--case N]...\n"
    "  --bin-dir DIR     where pm_bench_run and pm_bench_cli_<N> are (default: where\n"
    "                    they were built)\n"
    "  --sqlite3 PATH    the sqlite3 shell\n"
    "  --psql PATH       PostgreSQL's psql (default $POBLYSH_TEST_PG_BIN/psql)\n"
    "  --work DIR        scratch directory (created)\n"
    "  --runs N          runs per side of the slow cases (default 7)\n"
    "  --fast-runs N     runs per side of the fast cases 5 and 6 (default 21)\n"
    "  --case N          run case N only (repeatable; default: all)\n"
    "PostgreSQL is found through POBLYSH_TEST_PG_SOCKET_DIR and POBLYSH_TEST_PG_PORT\n"
    "(exported by scripts/with-postgres.sh); without them case 2 and case 8's PostgreSQL\n"
    "fleet are skipped.\n";

static int parse_count(const char *text, int *out)
{
    char *end;
    long v = strtol(text, &end, 10);
    if (*end || end == text || v < 1 || v > 1000)
        return -1;
    *out = (int)v;
    return 0;
}

/* Parses argv into env and the selected cases; returns 0 or 2. */
static int parse_options(int argc, char **argv, bench_env *env, bool selected[MAX_CASE + 1])
{
    static const struct option options[] = {
        {"bin-dir", required_argument, NULL, 'b'},
        {"sqlite3", required_argument, NULL, 's'},
        {"psql", required_argument, NULL, 'p'},
        {"work", required_argument, NULL, 'w'},
        {"runs", required_argument, NULL, 'r'},
        {"fast-runs", required_argument, NULL, 'f'},
        {"case", required_argument, NULL, 'n'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int opt, number;
    bool any = false;
    while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        switch (opt) {
        case 'b': env->bin_dir = optarg; break;
        case 's': env->sqlite3 = optarg; break;
        case 'p': env->psql = optarg; break;
        case 'w': env->work = optarg; break;
        case 'r':
            if (parse_count(optarg, &env->runs) < 0)
                return 2;
            break;
        case 'f':
            if (parse_count(optarg, &env->fast_runs) < 0)
                return 2;
            break;
        case 'n':
            if (parse_count(optarg, &number) < 0 || number > MAX_CASE)
                return 2;
            selected[number] = any = true;
            break;
        default: return 2;
        }
    }
    if (!any)
        for (size_t i = 0; i <= MAX_CASE; i++)
            selected[i] = true;
    return env->sqlite3 && env->work && optind == argc ? 0 : 2;
}

static void read_postgres_env(bench_env *env, char **psql_default)
{
    const char *dir = getenv("POBLYSH_TEST_PG_SOCKET_DIR");
    const char *port = getenv("POBLYSH_TEST_PG_PORT");
    const char *bin = getenv("POBLYSH_TEST_PG_BIN");
    if (dir && *dir && port && *port) {
        env->pg_socket_dir = dir;
        env->pg_port = port;
    }
    if (!env->psql && bin && *bin) {
        *psql_default = bench_path(bin, "psql");
        env->psql = *psql_default;
    }
}

/* ==== Running ==== */

/* The machine is shared: its load before and after tells how far to trust
 * the figures. */
static void print_load(const char *when)
{
    char line[128] = "?";
    FILE *f = fopen("/proc/loadavg", "r");
    if (f && fgets(line, sizeof(line), f))
        line[strcspn(line, "\n")] = '\0';
    if (f)
        fclose(f);
    printf("%s: %s\n", when, line);
}

static int run_case(const bench_case *c, const bench_env *env)
{
    bench_report_header(c->number, c->title);
    if (c->needs_postgres && (!env->pg_socket_dir || !env->psql)) {
        bench_report_note("skipped: no PostgreSQL server (run it through scripts/bench.sh)");
        bench_summary_add(c->number, c->title, "skipped", "-", "-", "-", "-", "-");
        return 0;
    }
    int rc = c->run(env);
    if (rc < 0)
        bench_summary_add(c->number, c->title, "FAILED TO RUN", "-", "-", "-", "-", "-");
    return rc;
}

int main(int argc, char **argv)
{
    bench_env env = {.bin_dir = PM_BENCH_BIN_DIR, .runs = 7, .fast_runs = 21};
    bool selected[MAX_CASE + 1] = {false};
    char *psql_default = NULL;
    if (parse_options(argc, argv, &env, selected) != 0) {
        fputs(usage, stderr);
        return 2;
    }
    read_postgres_env(&env, &psql_default);
    mkdir(env.work, 0755);
    printf("pm_bench: %d runs per side (slow cases), %d (fast cases 5 and 6), alternated; "
           "medians; SQLite library %s\n",
           env.runs, env.fast_runs, sqlite3_libversion());
    print_load("load average before");
    int failed = bench_report_floor(&env) < 0;
    for (size_t i = 0; i < NCASES; i++)
        if (selected[cases[i].number] && run_case(&cases[i], &env) < 0)
            failed = 1;
    print_load("\nload average after");
    bench_summary_print();
    bench_summary_free();
    free(psql_default);
    return failed;
}
