/* cases_peers.c: the peer cases of issue 19, poblysh against dbmate and
 * against the database's own shell on one dbmate-format folder of N
 * migrations (written by pm_bench_gen --dbmate: a table and an index each,
 * the same SQL for every tool). poblysh runs twice: reading the folder
 * (`--source DIR`) and with the same set compiled in (pm_bench_cli_<N>).
 * Every tool is a whole process run through bench_spawn, fresh database
 * before every `up` run (untimed); the sides are run in rounds whose order
 * rotates, and each ratio is the median of the pair ratios of the rounds.
 *   9: up x1000, SQLite file      10: status, 1000 applied, SQLite file
 *  11: up x100, sqlite::memory:   12: up x1000, PostgreSQL  13: status, PostgreSQL
 *  14: up x100, MariaDB           15: status, 100 applied, MariaDB
 *  16: start-up with 10,000 compiled-in migrations against 100 */
#define _DEFAULT_SOURCE /* sync() */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_db.h"

typedef enum peer_db { PEER_SQLITE_FILE, PEER_SQLITE_MEMORY, PEER_POSTGRES, PEER_MARIADB } peer_db;
typedef enum peer_tool { TOOL_FOLDER, TOOL_COMPILED, TOOL_DBMATE, TOOL_SHELL, NTOOLS } peer_tool;

static const char *const tool_labels[NTOOLS] = {"folder", "compiled", "dbmate", "shell"};

/* The targets of a case; 0: none (the ratio is printed for reference). */
typedef struct peer_targets {
    double dbmate;   /* poblysh / dbmate */
    double shell;    /* poblysh from the folder / the shell */
    double compiled; /* poblysh from the folder / poblysh compiled in */
} peer_targets;

typedef struct peer_case peer_case;

/* One side's context: its case and which tool it is. */
typedef struct peer_side {
    peer_case *pc;
    peer_tool tool;
} peer_side;

struct peer_case {
    const bench_env *env;
    int number;
    const char *what;
    peer_db db;
    bool status; /* status of count applied migrations; otherwise up of count */
    size_t count;
    char *folder;
    char *script;         /* the shell's SQL file (up) */
    char *target[NTOOLS]; /* SQLite file or database name */
    char *url[NTOOLS];    /* poblysh's and dbmate's URLs */
    bool present[NTOOLS]; /* dbmate: only when found and able to use the database */
    peer_side ctx[NTOOLS];
};

/* ==== Names and URLs ==== */

static const char *shell_name(peer_db db)
{
    return db == PEER_POSTGRES ? "psql" : db == PEER_MARIADB ? "mariadb" : "sqlite3";
}

/* MariaDB's URL from with-mariadb.sh with another database name. */
static char *mysql_url(const bench_env *env, const char *dbname)
{
    const char *slash = strrchr(env->mysql_url, '/');
    return bench_format("%.*s/%s", (int)(slash - env->mysql_url), env->mysql_url, dbname);
}

static char *dbmate_url(const peer_case *pc, peer_tool tool)
{
    const bench_env *env = pc->env;
    switch (pc->db) {
    case PEER_SQLITE_FILE: /* go-sqlite3 sets synchronous=NORMAL unless told: equal durability */
        return bench_format("sqlite:%s?_sync=FULL", pc->target[tool]);
    case PEER_POSTGRES:
        return bench_format("postgres://poblysh@:%s/%s?socket=%s&sslmode=disable", env->pg_port,
                            pc->target[tool], env->pg_socket_dir);
    case PEER_MARIADB: return mysql_url(env, pc->target[tool]);
    default: return NULL;
    }
}

static char *poblysh_url(const peer_case *pc, peer_tool tool)
{
    switch (pc->db) {
    case PEER_SQLITE_FILE: return bench_sqlite_url(pc->target[tool]);
    case PEER_SQLITE_MEMORY: return bench_format("sqlite::memory:");
    case PEER_POSTGRES: return bench_pg_url(pc->env, pc->target[tool]);
    default: return mysql_url(pc->env, pc->target[tool]);
    }
}

static char *target_name(const peer_case *pc, peer_tool tool)
{
    if (pc->db == PEER_SQLITE_MEMORY)
        return bench_format(":memory:");
    /* status: the shell reads the history the folder's run left */
    peer_tool owner = pc->status && tool == TOOL_SHELL ? TOOL_FOLDER : tool;
    char *name = bench_format("pm_peer%d_%s", pc->number, tool_labels[owner]);
    if (pc->db != PEER_SQLITE_FILE)
        return name;
    char *file = bench_format("%s.db", name);
    char *path = bench_path(pc->env->work, file);
    free(file);
    free(name);
    return path;
}

/* ==== Running the tools ==== */

/* Set while case 9 counts system calls: every command then runs under
 * `strace -c -f -o trace_summary` (never in a timed run). */
static const char *trace_with, *trace_summary;

static int spawn(const bench_env *env, const char *const *argv, const char *stdin_path,
                 bench_sample *out)
{
    char *pwd = env->mysql_password ? bench_format("MYSQL_PWD=%s", env->mysql_password) : NULL;
    const char *envs[] = {pwd, NULL};
    const char *traced[24] = {trace_with, "-c", "-f", "-o", trace_summary};
    size_t n = 5;
    for (size_t i = 0; trace_with && argv[i] && n < 23; i++)
        traced[n++] = argv[i];
    bench_cmd cmd = {trace_with ? traced : argv, stdin_path, envs};
    int rc = bench_spawn(env, &cmd, out);
    free(pwd);
    return rc;
}

/* The shell's command: sql (a statement) or the script on stdin. */
static int run_shell(const peer_case *pc, const char *target, const char *sql, bench_sample *out)
{
    const bench_env *e = pc->env;
    const char *input = sql ? NULL : pc->script;
    if (pc->db == PEER_POSTGRES) {
        const char *argv[] = {e->psql,
                              "-X",
                              "-q",
                              "-v",
                              "ON_ERROR_STOP=1",
                              "-h",
                              e->pg_socket_dir,
                              "-p",
                              e->pg_port,
                              "-U",
                              "poblysh",
                              "-d",
                              target,
                              sql ? "-c" : "-f",
                              sql ? sql : pc->script,
                              NULL};
        return spawn(e, argv, NULL, out);
    }
    if (pc->db == PEER_MARIADB) {
        const char *argv[] = {e->mariadb,
                              "--no-defaults",
                              "-h",
                              "127.0.0.1",
                              "-P",
                              e->mysql_port,
                              "-u",
                              "poblysh",
                              "-D",
                              target,
                              sql ? "-e" : NULL,
                              sql,
                              NULL};
        return spawn(e, argv, input, out);
    }
    const char *argv[] = {e->sqlite3, "-batch", "-bail", target, sql, NULL};
    return spawn(e, argv, input, out);
}

static int run_tool(const peer_case *pc, peer_tool tool, bench_sample *out)
{
    const bench_env *e = pc->env;
    const char *verb = pc->status ? "status" : "up";
    char *cli = bench_cli_path(e, pc->count);
    int rc;
    if (tool == TOOL_FOLDER) {
        const char *argv[] = {e->poblysh, "--database-url", pc->url[tool], "--source",
                              pc->folder, "migrate",        verb,          NULL};
        rc = spawn(e, argv, NULL, out);
    } else if (tool == TOOL_COMPILED) {
        const char *argv[] = {cli, "--database-url", pc->url[tool], "migrate", verb, NULL};
        rc = spawn(e, argv, NULL, out);
    } else if (tool == TOOL_DBMATE) { /* migrate, not up: up would also create the database */
        const char *argv[] = {e->dbmate,
                              "--url",
                              pc->url[tool],
                              "--migrations-dir",
                              pc->folder,
                              "--no-dump-schema",
                              pc->status ? "status" : "migrate",
                              NULL};
        rc = spawn(e, argv, NULL, out);
    } else {
        rc = run_shell(pc, pc->target[tool], pc->status ? "SELECT * FROM seaql_migrations" : NULL,
                       out);
    }
    free(cli);
    return rc;
}

/* An empty database for tool's next run (untimed). */
static int fresh(const peer_case *pc, peer_tool tool)
{
    const char *target = pc->target[tool];
    bench_sample ignored;
    switch (pc->db) {
    case PEER_SQLITE_FILE:
        bench_remove_sqlite(target);
        sync(); /* the removal's writes stay out of the timed run */
        return 0;
    case PEER_POSTGRES: return bench_pg_recreate(pc->env, target);
    case PEER_MARIADB: {
        char *sql = bench_format("DROP DATABASE IF EXISTS %s; CREATE DATABASE %s", target, target);
        const bench_env *e = pc->env;
        const char *argv[] = {e->mariadb, "--no-defaults", "-h", "127.0.0.1", "-P", e->mysql_port,
                              "-u",       "poblysh",       "-e", sql,         NULL};
        int rc = spawn(e, argv, NULL, &ignored);
        free(sql);
        return rc;
    }
    default: return 0;
    }
}

static int prepare_side(void *ctx)
{
    peer_side *s = ctx;
    return s->pc->status ? 0 : fresh(s->pc, s->tool);
}

static int run_side(void *ctx, bench_sample *out)
{
    peer_side *s = ctx;
    return run_tool(s->pc, s->tool, out);
}

/* ==== Setting a case up ==== */

/* The folder (pm_bench_gen --dbmate) and the shell's up script: each
 * migration's up section in a transaction, without history rows. */
static int write_inputs(peer_case *pc)
{
    char *gen = bench_path(pc->env->bin_dir, "pm_bench_gen");
    char count[24];
    snprintf(count, sizeof(count), "%zu", pc->count);
    const char *argv[] = {gen, "--dbmate", pc->folder, count, NULL};
    bench_sample ignored;
    int rc = access(pc->folder, F_OK) == 0 ? 0 : spawn(pc->env, argv, NULL, &ignored);
    free(gen);
    FILE *out = rc == 0 ? fopen(pc->script, "w") : NULL;
    if (!out)
        return -1;
    for (size_t i = 1; i <= pc->count; i++)
        fprintf(out,
                "BEGIN;\nCREATE TABLE bench_%06zu (id BIGINT PRIMARY KEY, name VARCHAR(255) NOT "
                "NULL,\n  created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP);\n"
                "CREATE INDEX bench_%06zu_name ON bench_%06zu (name);\nCOMMIT;\n",
                i, i, i);
    return fclose(out) == 0 ? 0 : -1;
}

static void peer_case_init(peer_case *pc, const bench_env *env, int number, const char *what,
                           peer_db db, bool status, size_t count)
{
    *pc = (peer_case){
        .env = env, .number = number, .what = what, .db = db, .status = status, .count = count};
    char *dir = bench_format("peer_folder_%zu", count),
         *sql = bench_format("peer_up_%zu.sql", count);
    pc->folder = bench_path(env->work, dir);
    pc->script = bench_path(env->work, sql);
    free(dir);
    free(sql);
    for (int t = 0; t < NTOOLS; t++) {
        pc->present[t] = t != TOOL_DBMATE || (env->dbmate && db != PEER_SQLITE_MEMORY);
        pc->target[t] = target_name(pc, (peer_tool)t);
        pc->url[t] = t == TOOL_DBMATE  ? dbmate_url(pc, (peer_tool)t)
                     : t == TOOL_SHELL ? NULL
                                       : poblysh_url(pc, (peer_tool)t);
        pc->ctx[t] = (peer_side){pc, (peer_tool)t};
    }
}

static void peer_case_free(peer_case *pc)
{
    for (int t = 0; t < NTOOLS; t++) {
        if (pc->db == PEER_SQLITE_FILE)
            bench_remove_sqlite(pc->target[t]);
        free(pc->target[t]);
        free(pc->url[t]);
    }
    free(pc->folder);
    free(pc->script);
}

/* status: each tool's history, written once by its own up (untimed). */
static int apply_histories(peer_case *pc)
{
    bench_sample ignored;
    for (int t = TOOL_FOLDER; t <= TOOL_DBMATE; t++) {
        if (!pc->present[t])
            continue;
        pc->status = false;
        int rc = fresh(pc, (peer_tool)t) < 0 ? -1 : run_tool(pc, (peer_tool)t, &ignored);
        pc->status = true;
        if (rc < 0)
            return -1;
    }
    sync(); /* the histories' writes stay out of the timed runs */
    return 0;
}

/* ==== Reporting ==== */

/* One ratio line and its summary row. */
static void report_pair(const peer_case *pc, peer_tool mine, peer_tool other,
                        const bench_stats *stats, double ratio, double target)
{
    char what[160], pt[32], ot[32], base[64], r[32], goal[32], peak[32];
    bool met = ratio <= target;
    const char *verdict = target > 0 ? (met ? "MET" : "NOT MET") : "(no target)";
    const char *other_name = other == TOOL_SHELL      ? shell_name(pc->db)
                             : other == TOOL_COMPILED ? "poblysh compiled in"
                                                      : tool_labels[other];
    if (target > 0)
        snprintf(goal, sizeof(goal), "<= %.2f", target);
    else
        snprintf(goal, sizeof(goal), "-");
    bench_report_note("poblysh %-8s / %-19s %.3f  target %-7s  %s", tool_labels[mine], other_name,
                      ratio, goal, verdict);
    snprintf(what, sizeof(what), "%s, poblysh %s / %s", pc->what,
             mine == TOOL_FOLDER ? "--source" : "compiled in", other_name);
    snprintf(base, sizeof(base), "%s (%s)", bench_ms_text(ot, sizeof(ot), stats[other].median_ms),
             other_name);
    snprintf(r, sizeof(r), "%.3f", ratio);
    bench_summary_add(pc->number, what, bench_ms_text(pt, sizeof(pt), stats[mine].median_ms), base,
                      r, goal, target > 0 ? (met ? "yes" : "NO") : "-",
                      bench_kib_text(peak, sizeof(peak), stats[mine].peak_kib));
}

static void report_case(const peer_case *pc, const peer_tool *tools, size_t n,
                        const bench_stats *stats, const double *ratios, const peer_targets *t)
{
    for (size_t i = 0; i < n; i++)
        bench_report_stats(tools[i] == TOOL_SHELL ? shell_name(pc->db) : tool_labels[tools[i]],
                           &stats[i]);
    if (!pc->present[TOOL_DBMATE]) {
        const char *why = pc->db == PEER_SQLITE_MEMORY ? "dbmate has no in-memory database"
                                                       : "dbmate not found (--dbmate PATH)";
        bench_report_note("poblysh / dbmate: not measured: %s", why);
        char what[160];
        snprintf(what, sizeof(what), "%s, poblysh / dbmate", pc->what);
        bench_summary_add(pc->number, what, "-", why, "n/a", "<= 0.90", "n/a", "-");
    }
    bench_stats by_tool[NTOOLS];
    size_t index[NTOOLS];
    for (size_t i = 0; i < n; i++) {
        by_tool[tools[i]] = stats[i];
        index[tools[i]] = i;
    }
    for (peer_tool mine = TOOL_FOLDER; mine <= TOOL_COMPILED; mine++) {
        const double *row = &ratios[index[mine] * n];
        if (pc->present[TOOL_DBMATE])
            report_pair(pc, mine, TOOL_DBMATE, by_tool, row[index[TOOL_DBMATE]], t->dbmate);
        report_pair(pc, mine, TOOL_SHELL, by_tool, row[index[TOOL_SHELL]],
                    mine == TOOL_FOLDER ? t->shell : 0);
    }
    if (t->compiled > 0)
        report_pair(pc, TOOL_FOLDER, TOOL_COMPILED, by_tool,
                    ratios[index[TOOL_FOLDER] * n + index[TOOL_COMPILED]], t->compiled);
}

/* ==== A peer case ==== */

static int run_peer_case(peer_case *pc, int runs, const peer_targets *targets)
{
    bench_side sides[NTOOLS];
    peer_tool tools[NTOOLS];
    size_t n = 0;
    for (int t = 0; t < NTOOLS; t++)
        if (pc->present[t]) {
            tools[n] = (peer_tool)t;
            sides[n++] = (bench_side){tool_labels[t], prepare_side, run_side, &pc->ctx[t]};
        }
    bench_stats stats[NTOOLS];
    double ratios[NTOOLS * NTOOLS];
    bench_report_note("%zu migrations in %s (dbmate format); %d rounds of %zu sides", pc->count,
                      pc->folder, runs, n);
    int rc = pc->status ? apply_histories(pc) : 0;
    if (rc == 0)
        rc = bench_rounds(sides, n, runs, stats, ratios);
    if (rc == 0)
        report_case(pc, tools, n, stats, ratios, targets);
    return rc;
}

static int peer_case_run(const bench_env *env, int number, const char *what, peer_db db,
                         bool status, size_t count, int runs, peer_targets targets,
                         void (*before)(peer_case *pc))
{
    peer_case pc;
    peer_case_init(&pc, env, number, what, db, status, count);
    int rc = write_inputs(&pc);
    if (rc == 0 && before)
        before(&pc);
    if (rc == 0)
        rc = run_peer_case(&pc, runs, &targets);
    peer_case_free(&pc);
    return rc;
}

/* ==== Case 9: durability, printed once outside the timing ==== */

/* The journal mode a SQLite file was left in: byte 18 of its header is 1
 * for a rollback journal, 2 for WAL. */
static const char *journal_mode(const char *path)
{
    unsigned char header[20] = {0};
    FILE *f = fopen(path, "rb");
    size_t got = f ? fread(header, 1, sizeof(header), f) : 0;
    if (f)
        fclose(f);
    return got < sizeof(header) ? "?" : header[18] == 2 ? "WAL" : "rollback journal (delete)";
}

/* fsync + fdatasync calls in an `strace -c -f -o` summary. */
static long sync_calls(const char *summary)
{
    FILE *f = fopen(summary, "r");
    char line[256];
    long total = 0;
    while (f && fgets(line, sizeof(line), f)) {
        double pct, secs;
        long usecs, calls;
        char name[64] = "";
        int n = sscanf(line, "%lf %lf %ld %ld %*s %63s", &pct, &secs, &usecs, &calls, name);
        if (n < 4)
            continue;
        if (n < 5) /* no errors column */
            sscanf(line, "%*f %*f %*d %*d %63s", name);
        if (strcmp(name, "fsync") == 0 || strcmp(name, "fdatasync") == 0)
            total += calls;
    }
    if (f)
        fclose(f);
    return total;
}

/* One traced run of tool on a fresh database; -1 when strace failed. */
static long traced_syncs(peer_case *pc, peer_tool tool, const char *strace)
{
    char *summary = bench_path(pc->env->work, "strace-c.txt");
    bench_sample ignored;
    long n = -1;
    if (fresh(pc, tool) == 0) {
        trace_with = strace;
        trace_summary = summary;
        n = run_tool(pc, tool, &ignored) == 0 ? sync_calls(summary) : -1;
        trace_with = trace_summary = NULL;
    }
    unlink(summary);
    free(summary);
    return n;
}

static void report_durability(peer_case *pc)
{
    const char *strace = pc->env->strace;
    bench_sample ignored;
    for (peer_tool t = TOOL_FOLDER; !strace && t < NTOOLS; t++)
        if (pc->present[t] && fresh(pc, t) == 0 && run_tool(pc, t, &ignored) == 0)
            bench_report_note("%-8s journal mode %s", tool_labels[t], journal_mode(pc->target[t]));
    bench_report_note("synchronous: poblysh and sqlite3 FULL (SQLite's default; neither sets it); "
                      "dbmate FULL through _sync=FULL in its URL (go-sqlite3 sets NORMAL "
                      "otherwise)");
    if (!strace) {
        bench_report_note("fsync counts: strace not found");
        return;
    }
    long counts[NTOOLS] = {0};
    for (peer_tool t = TOOL_FOLDER; t < NTOOLS; t++) {
        counts[t] = pc->present[t] ? traced_syncs(pc, t, strace) : -1;
        if (counts[t] >= 0) /* the traced run's file */
            bench_report_note("%-8s journal mode %s", tool_labels[t], journal_mode(pc->target[t]));
    }
    bench_report_note("strace -c -f, fsync + fdatasync of one up: folder %ld, compiled %ld, dbmate "
                      "%ld, sqlite3 %ld",
                      counts[TOOL_FOLDER], counts[TOOL_COMPILED], counts[TOOL_DBMATE],
                      counts[TOOL_SHELL]);
    if (pc->present[TOOL_DBMATE]) {
        char *url = pc->url[TOOL_DBMATE];
        pc->url[TOOL_DBMATE] = bench_sqlite_url(pc->target[TOOL_DBMATE]);
        bench_report_note("dbmate with its default (synchronous=NORMAL, less durable): %ld",
                          traced_syncs(pc, TOOL_DBMATE, strace));
        free(pc->url[TOOL_DBMATE]);
        pc->url[TOOL_DBMATE] = url;
    }
}

/* ==== The cases ==== */

int bench_case_peer_up_sqlite_file(const bench_env *env)
{
    return peer_case_run(env, 9, "up x1000, SQLite file", PEER_SQLITE_FILE, false, 1000, env->runs,
                         (peer_targets){1.0, 0, 0}, report_durability);
}

int bench_case_peer_status_sqlite_file(const bench_env *env)
{
    return peer_case_run(env, 10, "status, 1000 applied, SQLite file", PEER_SQLITE_FILE, true, 1000,
                         env->fast_runs, (peer_targets){0.90, 1.3, 1.1}, NULL);
}

int bench_case_peer_up_memory(const bench_env *env)
{
    return peer_case_run(env, 11, "up x100, sqlite::memory:", PEER_SQLITE_MEMORY, false, 100,
                         env->fast_runs, (peer_targets){0.90, 1.25, 0}, NULL);
}

int bench_case_peer_up_postgres(const bench_env *env)
{
    return peer_case_run(env, 12, "up x1000, PostgreSQL, fresh database", PEER_POSTGRES, false,
                         1000, env->runs, (peer_targets){0.90, 0, 0}, NULL);
}

int bench_case_peer_status_postgres(const bench_env *env)
{
    return peer_case_run(env, 13, "status, 1000 applied, PostgreSQL", PEER_POSTGRES, true, 1000,
                         env->fast_runs, (peer_targets){0.90, 0, 0}, NULL);
}

/* MariaDB: 100 migrations, not 1,000. Each CREATE TABLE makes and syncs an
 * InnoDB file: on the benchmark's VM one up of 1,000 took about 70 s, four
 * tools times the runs would be more than an hour. */
#define MARIADB_COUNT 100

int bench_case_peer_up_mariadb(const bench_env *env)
{
    return peer_case_run(env, 14, "up x100, MariaDB, fresh database", PEER_MARIADB, false,
                         MARIADB_COUNT, env->runs, (peer_targets){0.90, 0, 0}, NULL);
}

int bench_case_peer_status_mariadb(const bench_env *env)
{
    return peer_case_run(env, 15, "status, 100 applied, MariaDB", PEER_MARIADB, true, MARIADB_COUNT,
                         env->fast_runs, (peer_targets){0.90, 0, 0}, NULL);
}

/* ==== Case 16: start-up ==== */

typedef struct startup {
    const bench_env *env;
    size_t count;
    bool pie; /* the default link, or -no-pie (bench/CMakeLists.txt) */
} startup;

static int run_version(void *ctx, bench_sample *out)
{
    const startup *s = ctx;
    char *cli = s->pie ? bench_cli_path(s->env, s->count)
                       : bench_format("%s/pm_bench_cli_nopie_%zu", s->env->bin_dir, s->count);
    const char *argv[] = {cli, "--version", NULL};
    int rc = spawn(s->env, argv, NULL, out);
    free(cli);
    return rc;
}

/* One link's ratio, 10,000 over 100, as a line and a summary row. */
static void report_startup(const char *link, const bench_stats *large, const bench_stats *small,
                           double ratio)
{
    bool met = ratio <= 1.5;
    bench_report_note("`--version`, 10,000 / 100 compiled in, %s: %.3f  target <= 1.50  %s", link,
                      ratio, met ? "MET" : "NOT MET");
    char what[96], pt[32], st[32], base[64], r[32], peak[32];
    snprintf(what, sizeof(what), "start-up (--version), 10,000 compiled in, %s", link);
    snprintf(base, sizeof(base), "%s (100 compiled in)",
             bench_ms_text(st, sizeof(st), small->median_ms));
    snprintf(r, sizeof(r), "%.3f", ratio);
    bench_summary_add(16, what, bench_ms_text(pt, sizeof(pt), large->median_ms), base, r, "<= 1.50",
                      met ? "yes" : "NO", bench_kib_text(peak, sizeof(peak), large->peak_kib));
}

/* The default link (PIE: the loader relocates the compiled-in set's pointers
 * at every start) and -no-pie (nothing to relocate), each 10,000 against 100,
 * the four rotated in the same rounds. */
int bench_case_startup(const bench_env *env)
{
    startup pie_large = {env, 10000, true}, pie_small = {env, 100, true};
    startup fixed_large = {env, 10000, false}, fixed_small = {env, 100, false};
    bench_side sides[4] = {{"10,000", NULL, run_version, &pie_large},
                           {"100", NULL, run_version, &pie_small},
                           {"nopie 10k", NULL, run_version, &fixed_large},
                           {"nopie 100", NULL, run_version, &fixed_small}};
    bench_stats stats[4];
    double ratios[16];
    int rc = bench_rounds(sides, 4, env->fast_runs, stats, ratios);
    if (rc < 0)
        return rc;
    for (size_t i = 0; i < 4; i++)
        bench_report_stats(sides[i].label, &stats[i]);
    report_startup("PIE (default link)", &stats[0], &stats[1], ratios[0 * 4 + 1]);
    report_startup("-no-pie", &stats[2], &stats[3], ratios[2 * 4 + 3]);
    return 0;
}
