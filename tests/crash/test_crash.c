/* test_crash.c: the crash and race suite, run once per backend (SQLite file,
 * PostgreSQL, MariaDB) against poblysh_crash_fixture (fixtures/
 * crash_migrations.c): SIGKILL at random points of `up` over 200
 * migrations, after which the history must explain every table; eight
 * concurrent runners over a transactional and a transaction:false set; and
 * SIGINT/SIGTERM during a statement, during the lock wait and during the
 * connect-wait loop, which must exit 130 with nothing recorded that is not
 * so. Run as: test_crash FIXTURE sqlite|postgres|mariadb WORKDIR, the server
 * URL from POBLYSH_TEST_PG_URL or POBLYSH_TEST_MYSQL_URL (scripts/
 * with-postgres.sh, with-mariadb.sh); without it the suite fails, never
 * skips. The kill delays come from a seeded PRNG: the seed is printed, and
 * POBLYSH_CRASH_SEED=N repeats a run. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"

#define ARGS(...) ((const char *const[]){__VA_ARGS__, NULL})

#define MANY 200
#define RACE 20
#define RACERS 8
#define KILL_ROUNDS 5
#define RACE_ROUNDS 2
#define RUN_TIMEOUT_MS 60000 /* a hang fails the test instead of the whole ctest run */

#define SLEEP_FIRST "m2025_03_01_000001_s_first"
#define SLEEP_SLEPT "m2025_03_01_000002_s_slept"
#define SLEEP_AFTER "m2025_03_01_000003_s_after"

typedef enum backend { SQLITE, POSTGRES, MARIADB } backend;

static const char *fixture_path; /* poblysh_crash_fixture */
static const char *work_dir;     /* absolute */
static backend engine;
static const char *admin_url; /* the server's URL, or NULL for SQLite */
static unsigned int rng;      /* the PRNG's state, from the printed seed */

/* ==== A database per test ==== */

#define MAX_PIDS 64

typedef struct fixture {
    pm_db *admin; /* on the server's own database; NULL for SQLite */
    char name[64];
    char url[1024];
    pm_db *db;   /* open on the test's database */
    char **kept; /* outputs read, freed by teardown even after a failure */
    size_t nkept;
    pid_t pids[MAX_PIDS]; /* children started; teardown kills what a failure left */
    size_t npids;
} fixture;

static fixture *current; /* the running test's, for what runs and reads children */

/* p, freed by teardown. */
static char *keep(char *p)
{
    size_t n = current->nkept;
    if ((n & (n - 1)) == 0) { /* 0, 1, 2, 4, ...: grow to double */
        char **grown = realloc(current->kept, (n ? 2 * n : 1) * sizeof(*grown));
        assert_non_null(grown);
        current->kept = grown;
    }
    current->kept[current->nkept++] = p;
    return p;
}

static void kill_leftovers(fixture *f)
{
    for (size_t i = 0; i < f->npids; i++) {
        if (waitpid(f->pids[i], NULL, WNOHANG) == 0) {
            kill(f->pids[i], SIGKILL);
            waitpid(f->pids[i], NULL, 0);
        }
    }
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    if (!f)
        return -1;
    *state = f;
    current = f;
    if (!admin_url)
        return 0;
    pm_error err = PM_ERROR_INIT;
    if (pm_db_open(&f->admin, admin_url, NULL, &err) < 0) {
        print_error("cannot connect to the test server: %s\n", err.message ? err.message : "?");
        pm_error_clear(&err);
        return -1;
    }
    return 0;
}

static void drop_database(fixture *f)
{
    char sql[256];
    if (engine == POSTGRES)
        snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s WITH (FORCE)", f->name);
    else
        snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS `%s`", f->name);
    pm_error err = PM_ERROR_INIT;
    if (pm_db_exec(f->admin, sql, &err) < 0)
        print_error("%s: %s\n", sql, err.message ? err.message : "?");
    pm_error_clear(&err);
}

static void remove_sqlite_files(const fixture *f)
{
    static const char *const suffixes[] = {"", "-journal", "-wal", "-shm"};
    for (size_t i = 0; i < PM_ARRAY_LEN(suffixes); i++) {
        char path[1200];
        snprintf(path, sizeof(path), "%s/%s.db%s", work_dir, f->name, suffixes[i]);
        unlink(path);
    }
}

static int teardown(void **state)
{
    fixture *f = *state;
    kill_leftovers(f);
    for (size_t i = 0; i < f->nkept; i++)
        free(f->kept[i]);
    free(f->kept);
    current = NULL;
    pm_db_close(f->db);
    if (f->admin && *f->name)
        drop_database(f);
    else if (*f->name)
        remove_sqlite_files(f);
    pm_db_close(f->admin);
    free(f);
    return 0;
}

/* The admin URL with its database replaced by name. */
static void server_url(char *out, size_t size, const char *name)
{
    const char *query = strchr(admin_url, '?');
    size_t end = query ? (size_t)(query - admin_url) : strlen(admin_url);
    size_t slash = end;
    while (slash > 0 && admin_url[slash - 1] != '/')
        slash--;
    snprintf(out, size, "%.*s%s%s", (int)slash, admin_url, name, query ? query : "");
}

/* Makes this test's database, empty, and opens it. */
static void fresh_database(fixture *f, const char *name)
{
    pm_db_close(f->db);
    f->db = NULL;
    snprintf(f->name, sizeof(f->name), "pmc_%s_%ld", name, (long)getpid());
    if (engine == SQLITE) {
        remove_sqlite_files(f);
        snprintf(f->url, sizeof(f->url), "sqlite://%s/%s.db", work_dir, f->name);
    } else {
        drop_database(f);
        char sql[256];
        snprintf(sql, sizeof(sql),
                 engine == POSTGRES ? "CREATE DATABASE %s" : "CREATE DATABASE `%s`", f->name);
        pm_test_exec(f->admin, sql);
        server_url(f->url, sizeof(f->url), f->name);
    }
    f->db = pm_test_open(f->url);
}

/* Reopens the test's database, so a server-side view is current. */
static void reopen(fixture *f)
{
    pm_db_close(f->db);
    f->db = pm_test_open(f->url);
}

/* ==== Running the fixture ==== */

typedef struct proc {
    pid_t pid;
    char out[1200], err[1200]; /* files its stdout and stderr go to */
    struct timespec started;
} proc;

typedef struct outcome {
    bool signalled; /* killed by a signal (then code is 128 + it) */
    int code;
    char *out, *err;
} outcome;

static double ms_since(const struct timespec *t)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - t->tv_sec) * 1e3 + (double)(now.tv_nsec - t->tv_nsec) / 1e6;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

static void child_exec(const proc *p, const char *set, const char *seconds, const char *const *args)
{
    int out = open(p->out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int err = open(p->err, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (out < 0 || err < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0)
        _exit(125);
    char *argv[16] = {(char *)fixture_path};
    for (size_t i = 0; args[i] && i < 14; i++)
        argv[i + 1] = (char *)args[i];
    setenv("POBLYSH_CRASH_SET", set, 1);
    setenv("POBLYSH_CRASH_SLEEP", seconds, 1);
    setenv("POBLYSH_PROFILE", "local", 1);
    unsetenv("POBLYSH_DATABASE_URL");
    unsetenv("POBLYSH_MIGRATIONS_DIR");
    execv(fixture_path, argv);
    _exit(127);
}

/* Starts the fixture over set with args; slot names its output files. */
static void spawn(proc *p, const char *slot, const char *set, const char *seconds,
                  const char *const *args)
{
    snprintf(p->out, sizeof(p->out), "%s/%s.out", work_dir, slot);
    snprintf(p->err, sizeof(p->err), "%s/%s.err", work_dir, slot);
    unlink(p->out); /* a file left by an earlier run must not be read as this one's */
    unlink(p->err);
    clock_gettime(CLOCK_MONOTONIC, &p->started);
    fflush(NULL);
    assert_true(current->npids < MAX_PIDS);
    p->pid = fork();
    assert_true(p->pid >= 0);
    if (p->pid == 0)
        child_exec(p, set, seconds, args);
    current->pids[current->npids++] = p->pid;
}

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *text = NULL;
    size_t len = 0;
    if (f) {
        fseek(f, 0, SEEK_END);
        long size = ftell(f);
        fseek(f, 0, SEEK_SET);
        text = malloc(size > 0 ? (size_t)size + 1 : 1);
        if (text)
            len = fread(text, 1, size > 0 ? (size_t)size : 0, f);
        fclose(f);
    }
    if (!text)
        text = calloc(1, 1);
    else
        text[len] = '\0';
    return text;
}

/* Waits for p to end, killing it (and failing) after RUN_TIMEOUT_MS. */
static outcome finish(proc *p)
{
    int status = 0;
    for (;;) {
        pid_t got = waitpid(p->pid, &status, WNOHANG);
        if (got == p->pid)
            break;
        if (ms_since(&p->started) > RUN_TIMEOUT_MS) {
            kill(p->pid, SIGKILL);
            waitpid(p->pid, &status, 0);
            p->pid = 0;
            char *err = keep(read_file(p->err));
            fail_msg("%s did not end within %d ms; stderr: %s", fixture_path, RUN_TIMEOUT_MS, err);
        }
        sleep_ms(10);
    }
    p->pid = 0;
    outcome o = {WIFSIGNALED(status),
                 WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status),
                 keep(read_file(p->out)), keep(read_file(p->err))};
    return o;
}

/* Fails the test at file:line with a formatted message. */
static void fail_at(const char *file, int line, const char *format, ...)
{
    va_list ap;
    va_start(ap, format);
    char buf[8192];
    vsnprintf(buf, sizeof(buf), format, ap);
    va_end(ap);
    print_error("%s\n", buf);
    _fail(file, line);
}

#define assert_exited(o, want) assert_exited_(&(o), (want), __FILE__, __LINE__)
static void assert_exited_(const outcome *o, int want, const char *file, int line)
{
    if (o->signalled || o->code != want)
        fail_at(file, line, "expected exit %d, got %s %d\nstdout:\n%s\nstderr:\n%s", want,
                o->signalled ? "death by signal, status" : "exit", o->code, o->out, o->err);
}

#define assert_has(text, needle) assert_has_((text), (needle), __FILE__, __LINE__)
static void assert_has_(const char *text, const char *needle, const char *file, int line)
{
    if (!strstr(text, needle))
        fail_at(file, line, "expected \"%s\" in:\n%s", needle, text);
}

/* Runs the fixture to its end. */
static outcome run(const char *set, const char *const *args)
{
    proc p;
    spawn(&p, "run", set, "30", args);
    return finish(&p);
}

/* Waits until p's stdout holds text (the fixture prints and flushes
 * "Applying NAME ... " as a migration starts). */
static void wait_for_output(proc *p, const char *text)
{
    for (;;) {
        char *out = read_file(p->out);
        bool found = strstr(out, text) != NULL;
        free(out);
        if (found)
            return;
        if (ms_since(&p->started) > RUN_TIMEOUT_MS) {
            kill(p->pid, SIGKILL);
            fail_msg("\"%s\" never appeared on stdout", text);
        }
        sleep_ms(1);
    }
}

/* ==== Reading the history ==== */

/* The state of name's history row ("applied", "started", "failed"), or
 * NULL when it has none (pending). */
static char *row_state(fixture *f, const char *name)
{
    char sql[256];
    snprintf(sql, sizeof(sql),
             "SELECT COALESCE(state, 'applied') FROM seaql_migrations WHERE version = '%s'", name);
    return keep(pm_test_text(f->db, sql));
}

static int64_t row_count(fixture *f, const char *name)
{
    char sql[256];
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM seaql_migrations WHERE version = '%s'", name);
    return pm_test_int(f->db, sql);
}

static void many_names(int i, char *name, size_t nsize, char *table, size_t tsize,
                       const char *prefix, int day)
{
    snprintf(table, tsize, "%s_%03d", prefix, i);
    snprintf(name, nsize, "m2025_01_%02d_%02d%02d%02d_%s", day, i / 3600, (i / 60) % 60, i % 60,
             table);
}

/* ==== SIGKILL during up ==== */

/* The history explains every table: an applied row's table exists, and a
 * table exists only with a row. On a backend with transactional DDL that
 * row says applied; where DDL commits implicitly (MariaDB), a row that says
 * started or failed explains it too (the documented recovery applies), but
 * never no row at all (pending). Returns how many are applied. */
static int check_history_explains_tables(fixture *f, int round)
{
    int applied = 0;
    bool history = pm_test_has_table(f->db, "seaql_migrations"); /* not if killed first */
    for (int i = 1; i <= MANY; i++) {
        char name[64], table[16];
        many_names(i, name, sizeof(name), table, sizeof(table), "t", 1);
        char *state = history ? row_state(f, name) : NULL;
        bool exists = pm_test_has_table(f->db, table);
        bool is_applied = state && strcmp(state, "applied") == 0;
        if (is_applied && !exists)
            fail_msg("round %d: %s is recorded as applied but table %s does not exist", round, name,
                     table);
        if (exists && !state)
            fail_msg("round %d: table %s exists but %s has no history row: status would say "
                     "pending",
                     round, table, name);
        if (exists && !is_applied && engine != MARIADB)
            fail_msg("round %d: table %s exists but %s is %s on a backend with transactional DDL",
                     round, table, name, state);
        applied += is_applied;
    }
    return applied;
}

/* The documented recovery from a started or failed migration (MariaDB):
 * undo its work by hand, then `repair --rollback NAME`. */
static void recover_failed(fixture *f)
{
    if (!pm_test_has_table(f->db, "seaql_migrations"))
        return;
    for (int i = 1; i <= MANY; i++) {
        char name[64], table[16];
        many_names(i, name, sizeof(name), table, sizeof(table), "t", 1);
        char *state = row_state(f, name);
        bool failed = state && strcmp(state, "applied") != 0;
        if (!failed)
            continue;
        if (pm_test_has_table(f->db, table)) {
            char sql[64];
            snprintf(sql, sizeof(sql), "DROP TABLE %s", table);
            pm_test_exec(f->db, sql);
        }
        outcome o =
            run("many", ARGS("migrate", "repair", "--rollback", name, "--database-url", f->url));
        assert_exited(o, 0);
    }
}

static void check_all_applied(fixture *f)
{
    assert_int_equal(pm_test_history_count(f->db), MANY);
    assert_int_equal(pm_test_int(f->db, "SELECT count(DISTINCT version) FROM seaql_migrations "
                                        "WHERE COALESCE(state, 'applied') = 'applied'"),
                     MANY);
    for (int i = 1; i <= MANY; i++) {
        char name[64], table[16];
        many_names(i, name, sizeof(name), table, sizeof(table), "t", 1);
        if (!pm_test_has_table(f->db, table))
            fail_msg("after recovery %s is applied but table %s is missing", name, table);
    }
}

static void test_crash__sigkill_during_up_leaves_a_history_that_explains_every_table(void **state)
{
    fixture *f = *state;
    for (int round = 1; round <= KILL_ROUNDS; round++) {
        fresh_database(f, "kill");
        /* The point is chosen by progress, not time, which varies tenfold with
         * the disk: once migration k has started, then 0 to 9 ms later. */
        int k = 1 + (int)(rand_r(&rng) % MANY);
        long delay = (long)(rand_r(&rng) % 10);
        char name[64], table[16], applying[80];
        many_names(k, name, sizeof(name), table, sizeof(table), "t", 1);
        snprintf(applying, sizeof(applying), "Applying %s ", name);
        proc p;
        spawn(&p, "kill", "many", "30", ARGS("migrate", "up", "--database-url", f->url));
        wait_for_output(&p, applying);
        sleep_ms(delay);
        kill(p.pid, SIGKILL);
        outcome o = finish(&p);
        reopen(f);
        int applied = check_history_explains_tables(f, round);
        printf("# round %d: SIGKILL %ld ms after migration %d started (%s), %d of %d applied\n",
               round, delay, k, o.signalled ? "killed" : "had already exited", applied, MANY);
        recover_failed(f);
        struct timespec t;
        clock_gettime(CLOCK_MONOTONIC, &t);
        o = run("many", ARGS("migrate", "up", "--database-url", f->url));
        assert_exited(o, 0);
        printf("# round %d: up then applied the other %d in %.0f ms\n", round, MANY - applied,
               ms_since(&t));
        reopen(f);
        check_all_applied(f);
    }
}

/* ==== Concurrent runners ==== */

/* Eight runners started together over set, on a fresh database. */
static void race_once(fixture *f, const char *set, const char *prefix, int day)
{
    fresh_database(f, set);
    proc ps[RACERS];
    for (int i = 0; i < RACERS; i++) {
        char slot[32];
        snprintf(slot, sizeof(slot), "racer%d", i);
        spawn(&ps[i], slot, set, "30", ARGS("migrate", "up", "--database-url", f->url));
    }
    for (int i = 0; i < RACERS; i++) {
        outcome o = finish(&ps[i]);
        assert_exited(o, 0);
    }
    reopen(f);
    assert_int_equal(pm_test_history_count(f->db), RACE);
    for (int i = 1; i <= RACE; i++) {
        char name[64], table[16];
        many_names(i, name, sizeof(name), table, sizeof(table), prefix, day);
        assert_int_equal(row_count(f, name), 1);
        char *st = row_state(f, name);
        assert_string_equal(st, "applied");
        assert_true(pm_test_has_table(f->db, table));
    }
}

/* A race goes wrong only in some interleavings: more than one round. */
static void race(fixture *f, const char *set, const char *prefix, int day)
{
    for (int round = 0; round < RACE_ROUNDS; round++)
        race_once(f, set, prefix, day);
}

static void test_crash__eight_racers_apply_each_transactional_migration_once(void **state)
{
    race(*state, "race", "r", 2);
}

static void test_crash__eight_racers_apply_each_non_transactional_migration_once(void **state)
{
    race(*state, "race_notx", "n", 3);
}

/* ==== Signals ==== */

/* How long the sleeping migration's statement lasts: libdbi cannot cancel
 * it, so on MariaDB it is short and runs to its end. */
static const char *sleep_seconds(void)
{
    return engine == MARIADB ? "2" : "30";
}

/* After an interrupted run of the sleep set: s_first applied once, s_after
 * never started, s_slept rolled back where DDL is transactional, else
 * finished, committed and recorded. */
static void check_sleep_set(fixture *f, const outcome *o)
{
    reopen(f);
    assert_int_equal(row_count(f, SLEEP_FIRST), 1);
    assert_true(pm_test_has_table(f->db, "s_first"));
    assert_int_equal(row_count(f, SLEEP_AFTER), 0);
    assert_false(pm_test_has_table(f->db, "s_after"));
    char *st = row_state(f, SLEEP_SLEPT);
    if (engine == MARIADB) {
        assert_non_null(st);
        assert_string_equal(st, "applied");
        assert_true(pm_test_has_table(f->db, "s_slept"));
        assert_has(o->err, "interrupted after " SLEEP_SLEPT " was applied");
    } else {
        if (st)
            fail_msg("%s was interrupted but its history row says %s", SLEEP_SLEPT, st);
        assert_false(pm_test_has_table(f->db, "s_slept"));
        assert_has(o->err, "rolled back");
    }
}

static void signal_in_statement(fixture *f, int sig)
{
    fresh_database(f, sig == SIGINT ? "stmt_int" : "stmt_term");
    proc p;
    spawn(&p, "stmt", "sleep", sleep_seconds(), ARGS("migrate", "up", "--database-url", f->url));
    wait_for_output(&p, "Applying " SLEEP_SLEPT);
    sleep_ms(300);
    kill(p.pid, sig);
    outcome o = finish(&p);
    assert_exited(o, 130);
    check_sleep_set(f, &o);
}

static void
test_crash__sigint_during_a_statement_exits_130_and_records_only_what_is_so(void **state)
{
    signal_in_statement(*state, SIGINT);
}

static void
test_crash__sigterm_during_a_statement_exits_130_and_records_only_what_is_so(void **state)
{
    signal_in_statement(*state, SIGTERM);
}

static void
test_crash__signal_while_waiting_for_the_lock_exits_130_having_done_nothing(void **state)
{
    fixture *f = *state;
    fresh_database(f, "lockwait");
    proc holder, waiter;
    spawn(&holder, "holder", "sleep", engine == MARIADB ? "4" : "30",
          ARGS("migrate", "up", "--database-url", f->url));
    wait_for_output(&holder, "Applying " SLEEP_SLEPT);
    spawn(&waiter, "waiter", "sleep", "30",
          ARGS("migrate", "up", "--database-url", f->url, "--lock-timeout", "60"));
    sleep_ms(1000); /* connected; now waiting for the holder's lock */
    kill(waiter.pid, SIGTERM);
    outcome w = finish(&waiter);
    assert_exited(w, 130);
    assert_has(w.err, "interrupted");
    if (strstr(w.out, "Applying"))
        fail_msg("the waiter applied something:\n%s", w.out);
    kill(holder.pid, SIGINT);
    outcome h = finish(&holder);
    assert_exited(h, 130);
    check_sleep_set(f, &h);
}

static void test_crash__signal_during_the_connect_wait_exits_130(void **state)
{
    (void)state;
    static const int sigs[] = {SIGINT, SIGTERM};
    for (size_t i = 0; i < PM_ARRAY_LEN(sigs); i++) {
        proc p;
        spawn(&p, "connect", "sleep", "30",
              ARGS("migrate", "status", "--wait", "30", "--database-url",
                   "postgresql://poblysh:x@127.0.0.1:1/poblysh_test"));
        sleep_ms(1000);
        struct timespec sent;
        clock_gettime(CLOCK_MONOTONIC, &sent);
        kill(p.pid, sigs[i]);
        outcome o = finish(&p);
        assert_exited(o, 130);
        assert_has(o.err, "interrupted while connecting");
        if (ms_since(&sent) > 10000) /* a hang, not a speed check: --wait was 30 s */
            fail_msg("it went on waiting after the signal");
    }
}

/* ==== Main ==== */

#define CRASH_TEST(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

static int parse_backend(const char *name)
{
    if (strcmp(name, "sqlite") == 0)
        engine = SQLITE;
    else if (strcmp(name, "postgres") == 0)
        engine = POSTGRES;
    else if (strcmp(name, "mariadb") == 0)
        engine = MARIADB;
    else
        return -1;
    if (engine == SQLITE)
        return 0;
    const char *var = engine == POSTGRES ? "POBLYSH_TEST_PG_URL" : "POBLYSH_TEST_MYSQL_URL";
    admin_url = getenv(var);
    if (!admin_url || !*admin_url) {
        fprintf(stderr,
                "test_crash: %s is not set. This suite needs the server scripts/test.sh starts: "
                "run it through scripts/with-postgres.sh and scripts/with-mariadb.sh. It is "
                "never skipped.\n",
                var);
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: test_crash FIXTURE sqlite|postgres|mariadb WORKDIR\n");
        return 2;
    }
    fixture_path = argv[1];
    work_dir = argv[3];
    if (access(fixture_path, X_OK) != 0 || parse_backend(argv[2]) < 0)
        return 1;
    mkdir(work_dir, 0755);
    const char *seed_env = getenv("POBLYSH_CRASH_SEED");
    rng = seed_env && *seed_env ? (unsigned int)strtoul(seed_env, NULL, 10)
                                : (unsigned int)time(NULL) ^ (unsigned int)getpid();
    printf("# test_crash %s: seed %u (POBLYSH_CRASH_SEED=%u repeats it)\n", argv[2], rng, rng);
    const struct CMUnitTest common[] = {
        CRASH_TEST(test_crash__sigkill_during_up_leaves_a_history_that_explains_every_table),
        CRASH_TEST(test_crash__eight_racers_apply_each_transactional_migration_once),
        CRASH_TEST(test_crash__eight_racers_apply_each_non_transactional_migration_once),
        CRASH_TEST(test_crash__sigint_during_a_statement_exits_130_and_records_only_what_is_so),
        CRASH_TEST(test_crash__sigterm_during_a_statement_exits_130_and_records_only_what_is_so),
        CRASH_TEST(test_crash__signal_while_waiting_for_the_lock_exits_130_having_done_nothing),
    };
    /* Only libpq retries a connection (--wait); the other drivers fail at once. */
    const struct CMUnitTest connect[] = {
        CRASH_TEST(test_crash__signal_during_the_connect_wait_exits_130),
    };
    int failed = cmocka_run_group_tests_name(argv[2], common, NULL, NULL);
    if (engine == POSTGRES)
        failed += cmocka_run_group_tests_name("postgres_connect", connect, NULL, NULL);
    return failed;
}
