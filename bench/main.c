/* main.c: pm_bench, the benchmark of issue 8 (docs/performance.md). Parses
 * its options, lists the cases in one table, runs those asked for, and
 * prints every case's figures and a summary table. Run it through
 * `bash scripts/bench.sh`, which builds it in Release, installs dbmate and
 * starts the throwaway PostgreSQL and MariaDB it reads from the environment.
 *
 *   pm_bench --sqlite3 PATH [--psql PATH] --work DIR [--bin-dir DIR]
 *            [--poblysh PATH] [--dbmate PATH] [--mariadb PATH]
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
#include <unistd.h>

#include "bench.h"

/* ==== The cases ==== */

static const bench_case cases[] = {
    {1, "up of 1,000 migrations on a SQLite file, vs the sqlite3 shell", bench_case_up_sqlite_file,
     false, false},
    {2, "up of 1,000 migrations on PostgreSQL (unix socket), vs psql", bench_case_up_postgres, true,
     false},
    {3, "status in-process with 1k, 10k and 100k applied migrations (SQLite file)",
     bench_case_status_scaling, false, false},
    {4, "test database (100 migrations): clone and rollback mode vs re-migrating",
     bench_case_testdb, false, false},
    {5, "whole-process `migrate status`, 1,000 applied, SQLite file, vs sqlite3 SELECT",
     bench_case_status_cli, false, false},
    {6, "whole-process up of 100 migrations on sqlite::memory:, vs sqlite3 :memory:",
     bench_case_up_memory, false, false},
    {7, "peak memory of up of 10,000 migrations", bench_case_up_peak_memory, false, false},
    {8, "fleet of 100 SQLite files and of 100 PostgreSQL databases, -j 1 vs -j 8", bench_case_fleet,
     false, false},
    {9, "up of 1,000 migrations on a SQLite file, vs dbmate and the sqlite3 shell",
     bench_case_peer_up_sqlite_file, false, false},
    {10, "status, 1,000 applied, SQLite file, vs dbmate and sqlite3 SELECT",
     bench_case_peer_status_sqlite_file, false, false},
    {11, "up of 100 migrations on sqlite::memory:, vs the sqlite3 shell", bench_case_peer_up_memory,
     false, false},
    {12, "up of 1,000 migrations on a fresh PostgreSQL database, vs dbmate and psql",
     bench_case_peer_up_postgres, true, false},
    {13, "status, 1,000 applied, PostgreSQL, vs dbmate and psql SELECT",
     bench_case_peer_status_postgres, true, false},
    {14, "up of 100 migrations on a fresh MariaDB database, vs dbmate and the mariadb client",
     bench_case_peer_up_mariadb, false, true},
    {15, "status, 100 applied, MariaDB, vs dbmate and mariadb SELECT",
     bench_case_peer_status_mariadb, false, true},
    {16, "start-up of the CLI with 10,000 compiled-in migrations vs 100", bench_case_startup, false,
     false},
};

#define NCASES (sizeof(cases) / sizeof(cases[0]))
#define MAX_CASE 16 /* case numbers run from 1 to this */

/* ==== Options ==== */

static const char *usage =
    "usage: pm_bench --sqlite3 PATH [--psql PATH] --work DIR [--bin-dir DIR]\n"
    "                [--poblysh PATH] [--dbmate PATH] [--mariadb PATH]\n"
    "                [--runs N] [--fast-runs N] [--case N]...\n"
    "  --bin-dir DIR     where pm_bench_run and pm_bench_cli_<N> are (default: where\n"
    "                    they were built)\n"
    "  --sqlite3 PATH    the sqlite3 shell\n"
    "  --psql PATH       PostgreSQL's psql (default $POBLYSH_TEST_PG_BIN/psql)\n"
    "  --work DIR        scratch directory (created)\n"
    "  --poblysh PATH    the poblysh CLI of the peer cases (default: the one built)\n"
    "  --dbmate PATH     dbmate's binary (without it the peer cases compare with the\n"
    "                    shells only)\n"
    "  --mariadb PATH    the mariadb client (default: mariadb on PATH)\n"
    "  --runs N          runs per side of the slow cases (default 7)\n"
    "  --fast-runs N     runs per side of the fast cases 5 and 6 (default 21)\n"
    "  --case N          run case N only (repeatable; default: all)\n"
    "PostgreSQL is found through POBLYSH_TEST_PG_SOCKET_DIR and POBLYSH_TEST_PG_PORT\n"
    "(exported by scripts/with-postgres.sh); without them cases 2, 12, 13 and case 8's\n"
    "PostgreSQL fleet are skipped. MariaDB (cases 14, 15) through POBLYSH_TEST_MYSQL_URL,\n"
    "_PORT and _PASSWORD (scripts/with-mariadb.sh). strace, when on PATH, counts case 9's\n"
    "fsync calls.\n";

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
        {"poblysh", required_argument, NULL, 'P'},
        {"dbmate", required_argument, NULL, 'd'},
        {"mariadb", required_argument, NULL, 'm'},
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
        case 'P': env->poblysh = optarg; break;
        case 'd': env->dbmate = optarg; break;
        case 'm': env->mariadb = optarg; break;
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

/* name's path on $PATH (malloc'd), or NULL. */
static char *find_on_path(const char *name)
{
    const char *path = getenv("PATH");
    while (path && *path) {
        size_t len = strcspn(path, ":");
        char *dir = bench_format("%.*s", (int)len, path);
        char *candidate = bench_path(dir, name);
        free(dir);
        if (access(candidate, X_OK) == 0)
            return candidate;
        free(candidate);
        path += len + (path[len] == ':');
    }
    return NULL;
}

/* MariaDB from scripts/with-mariadb.sh, the mariadb client and strace. */
static void read_peer_env(bench_env *env, char **found[2])
{
    const char *url = getenv("POBLYSH_TEST_MYSQL_URL");
    if (url && *url && strrchr(url, '/')) {
        env->mysql_url = url;
        env->mysql_port = getenv("POBLYSH_TEST_MYSQL_PORT");
        env->mysql_password = getenv("POBLYSH_TEST_MYSQL_PASSWORD");
    }
    if (!env->mariadb)
        env->mariadb = *found[0] = find_on_path("mariadb");
    env->strace = *found[1] = find_on_path("strace");
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
    if (c->needs_mariadb && (!env->mysql_url || !env->mysql_port || !env->mariadb)) {
        bench_report_note("skipped: no MariaDB server or mariadb client (run it through "
                          "scripts/bench.sh)");
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
    bench_env env = {
        .bin_dir = PM_BENCH_BIN_DIR, .poblysh = PM_BENCH_POBLYSH, .runs = 7, .fast_runs = 21};
    bool selected[MAX_CASE + 1] = {false};
    char *psql_default = NULL;
    if (parse_options(argc, argv, &env, selected) != 0) {
        fputs(usage, stderr);
        return 2;
    }
    read_postgres_env(&env, &psql_default);
    char *mariadb_found = NULL, *strace_found = NULL;
    char **found[2] = {&mariadb_found, &strace_found};
    read_peer_env(&env, found);
    mkdir(env.work, 0755);
    printf("pm_bench: %d runs per side (slow cases), %d (fast cases 5, 6, 10, 11, 13, 15, 16), "
           "alternated; medians; SQLite library %s\n",
           env.runs, env.fast_runs, sqlite3_libversion());
    printf("peers: dbmate %s, mariadb client %s, strace %s\n", env.dbmate ? env.dbmate : "none",
           env.mariadb ? env.mariadb : "none", env.strace ? env.strace : "none");
    print_load("load average before");
    int failed = bench_report_floor(&env) < 0;
    for (size_t i = 0; i < NCASES; i++)
        if (selected[cases[i].number] && run_case(&cases[i], &env) < 0)
            failed = 1;
    print_load("\nload average after");
    bench_summary_print();
    bench_summary_free();
    free(psql_default);
    free(mariadb_found);
    free(strace_found);
    return failed;
}
