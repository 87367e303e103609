/* test_pg_session.c: on a real PostgreSQL server, what a migration does to
 * the session cannot redirect or break the history (SET search_path, RESET
 * ALL, SET ROLE), a history write that fails after a transaction:false
 * migration ran says so and records the real error, and the timeouts that
 * protect live traffic: a table held in ACCESS EXCLUSIVE mode by another
 * session makes a migration time out, be rolled back and retried, and
 * succeed once the blocker ends, or fail naming the lock timeout once the
 * retries are used up; and -s / schema= putting the migrations' objects and
 * the history in a schema of their own. Every test gets a fresh database of
 * its own.
 *
 * Run as: test_pg_session <poblysh>, with POBLYSH_TEST_PG_URL set
 * (scripts/with-postgres.sh exports it). Without it the suite fails: it is
 * never skipped. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "poblysh/source.h"
#include "testutil.h"

#define RUN_TIMEOUT_MS 60000

static const char *cli_path;  /* the poblysh binary */
static const char *admin_url; /* POBLYSH_TEST_PG_URL */

typedef struct fixture {
    pm_db *admin; /* on the admin URL's database, for CREATE/DROP DATABASE */
    char dbname[64];
    char role[64]; /* a role this test made, dropped in teardown, or "" */
    char *url;     /* the fresh database's URL */
    pm_db *db;
    pm_db *blocker; /* a second session holding a lock, or NULL */
    pm_source *src;
    pm_engine *engine;
    pm_error err;
    char dir[64]; /* a folder of SQL migrations for the CLI, or "" */
    char *out, *errout;
    int retries_seen; /* PM_EVENT_RETRYING events of the library runs */
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    if (!f)
        return -1;
    pm_error err = PM_ERROR_INIT;
    if (pm_db_open(&f->admin, admin_url, NULL, &err) < 0 || pm_source_new(&f->src, &err) < 0) {
        print_error("cannot connect to the test server: %s\n", err.message ? err.message : "?");
        pm_error_clear(&err);
        pm_db_close(f->admin);
        free(f);
        return -1;
    }
    *state = f;
    return 0;
}

static void remove_dir(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        char path[512];
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
            snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
            unlink(path);
        }
    }
    if (d)
        closedir(d);
    rmdir(dir);
}

static int drop(pm_db *admin, const char *sql)
{
    pm_error err = PM_ERROR_INIT;
    int rc = pm_db_exec(admin, sql, &err);
    if (rc < 0)
        print_error("teardown: %s: %s\n", sql, err.message ? err.message : "?");
    pm_error_clear(&err);
    return rc < 0 ? -1 : 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    int rc = 0;
    pm_engine_free(f->engine);
    pm_source_free(f->src);
    pm_db_close(f->blocker);
    pm_db_close(f->db);
    pm_error_clear(&f->err);
    char sql[160];
    if (f->dbname[0]) {
        snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s WITH (FORCE)", f->dbname);
        rc |= drop(f->admin, sql);
    }
    if (f->role[0]) {
        snprintf(sql, sizeof(sql), "DROP ROLE IF EXISTS %s", f->role);
        rc |= drop(f->admin, sql);
    }
    if (f->dir[0])
        remove_dir(f->dir);
    pm_db_close(f->admin);
    free(f->url);
    free(f->out);
    free(f->errout);
    free(f);
    return rc;
}

/* Creates pmss_<name>_<pid>, makes it this test's database and opens it. */
static void fresh_database(fixture *f, const char *name)
{
    char sql[200];
    snprintf(f->dbname, sizeof(f->dbname), "pmss_%s_%ld", name, (long)getpid());
    snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s WITH (FORCE)", f->dbname);
    pm_test_exec(f->admin, sql);
    snprintf(sql, sizeof(sql), "CREATE DATABASE %s", f->dbname);
    pm_test_exec(f->admin, sql);
    f->url = pm_test_url_with_database(admin_url, f->dbname);
    f->db = pm_test_open(f->url);
}

static void on_progress(const pm_event *ev, void *ctx)
{
    fixture *f = ctx;
    if (ev->kind == PM_EVENT_RETRYING)
        f->retries_seen++;
}

/* An engine over the SQL migrations added so far, on f->db. */
static pm_engine *engine_with(fixture *f, int ddl_retries)
{
    pm_engine_free(f->engine);
    f->engine = NULL;
    size_t count = 0;
    const pm_migration *const *set = pm_source_migrations(f->src, &count);
    pm_engine_options opts = PM_ENGINE_OPTIONS_INIT;
    opts.ddl_retries = ddl_retries;
    opts.progress = on_progress;
    opts.progress_ctx = f;
    pm_test_ok(pm_engine_new(&f->engine, f->db, set, count, &opts, &f->err), &f->err);
    return f->engine;
}

static void add_sql(fixture *f, const char *name, const char *text)
{
    char file[300];
    snprintf(file, sizeof(file), "inline/%s.sql", name);
    pm_test_ok(pm_source_add_sql(f->src, name, text, strlen(text), file, &f->err), &f->err);
}

/* Writes a migration file into this test's folder (made on first use). */
static void write_migration(fixture *f, const char *file, const char *text)
{
    if (!f->dir[0]) {
        snprintf(f->dir, sizeof(f->dir), "/tmp/pmss_XXXXXX");
        assert_non_null(mkdtemp(f->dir));
    }
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", f->dir, file);
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    assert_true(fputs(text, fp) >= 0);
    assert_int_equal(fclose(fp), 0);
}

#define assert_query(f, expected, sql)                                                             \
    do {                                                                                           \
        char *value_ = pm_test_text((f)->db, (sql));                                               \
        if (!value_ || strcmp(value_, (expected)) != 0) {                                          \
            print_error("query returned %s, expected \"%s\":\n  %s\n",                             \
                        value_ ? value_ : "no value", (expected), (sql));                          \
            free(value_);                                                                          \
            fail();                                                                                \
        }                                                                                          \
        free(value_);                                                                              \
    } while (0)

#define assert_contains(text, needle)                                                              \
    do {                                                                                           \
        const char *text_ = (text);                                                                \
        if (!text_ || !strstr(text_, (needle)))                                                    \
            fail_msg("\"%s\" does not contain \"%s\"", text_ ? text_ : "(null)", (needle));        \
    } while (0)

#define assert_lacks(text, needle)                                                                 \
    do {                                                                                           \
        const char *text_ = (text);                                                                \
        if (text_ && strstr(text_, (needle)))                                                      \
            fail_msg("\"%s\" contains \"%s\"", text_, (needle));                                   \
    } while (0)

/* ==== Running the CLI ==== */

typedef struct pipe_buf {
    char *data;
    size_t len, cap;
} pipe_buf;

static bool read_into(int fd, pipe_buf *b)
{
    if (b->cap - b->len < 4096) {
        b->cap = b->cap ? b->cap * 2 : 8192;
        b->data = realloc(b->data, b->cap);
        assert_non_null(b->data);
    }
    ssize_t got = read(fd, b->data + b->len, b->cap - b->len - 1);
    if (got < 0 && errno == EINTR)
        return true;
    if (got <= 0)
        return false;
    b->len += (size_t)got;
    b->data[b->len] = '\0';
    return true;
}

static long elapsed_ms(const struct timespec *start)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (now.tv_sec - start->tv_sec) * 1000L + (now.tv_nsec - start->tv_nsec) / 1000000L;
}

/* Runs poblysh with args; once its stdout holds trigger (may be NULL),
 * calls on_trigger(f) once while it keeps running. Returns its exit code;
 * its output is left in f->out and f->errout. */
static int run_cli_until(fixture *f, const char *const *args, const char *trigger,
                         void (*on_trigger)(fixture *))
{
    const char *asan = getenv("ASAN_OPTIONS"), *ubsan = getenv("UBSAN_OPTIONS");
    char asan_env[512], ubsan_env[512];
    char *envp[4];
    size_t n = 0;
    envp[n++] = "PATH=/usr/local/bin:/usr/bin:/bin";
    if (asan) {
        snprintf(asan_env, sizeof(asan_env), "ASAN_OPTIONS=%s", asan);
        envp[n++] = asan_env;
    }
    if (ubsan) {
        snprintf(ubsan_env, sizeof(ubsan_env), "UBSAN_OPTIONS=%s", ubsan);
        envp[n++] = ubsan_env;
    }
    envp[n] = NULL;
    size_t nargs = 0;
    while (args[nargs])
        nargs++;
    char **argv = calloc(nargs + 2, sizeof(*argv));
    assert_non_null(argv);
    argv[0] = (char *)cli_path;
    for (size_t i = 0; i < nargs; i++)
        argv[i + 1] = (char *)args[i];
    int out_fd, err_fd;
    pid_t pid = pm_test_spawn(cli_path, argv, envp, NULL, &out_fd, &err_fd);
    free(argv);
    pipe_buf buf[2] = {{NULL, 0, 0}, {NULL, 0, 0}};
    struct pollfd fds[2] = {{out_fd, POLLIN, 0}, {err_fd, POLLIN, 0}};
    int open_fds = 2, timed_out = 0;
    bool triggered = false;
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    while (open_fds > 0) {
        long left = RUN_TIMEOUT_MS - elapsed_ms(&start);
        int r = left > 0 ? poll(fds, 2, (int)left) : 0;
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            timed_out = 1;
            kill(pid, SIGKILL);
            break;
        }
        for (int i = 0; i < 2; i++) {
            if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            if (!read_into(fds[i].fd, &buf[i])) {
                close(fds[i].fd);
                fds[i].fd = -1;
                open_fds--;
            }
        }
        if (trigger && !triggered && buf[0].data && strstr(buf[0].data, trigger)) {
            triggered = true;
            on_trigger(f);
        }
    }
    for (int i = 0; i < 2; i++) {
        if (fds[i].fd >= 0)
            close(fds[i].fd);
        if (!buf[i].data)
            buf[i].data = calloc(1, 1);
        assert_non_null(buf[i].data);
    }
    int status;
    while (waitpid(pid, &status, 0) < 0)
        assert_int_equal(errno, EINTR);
    free(f->out);
    free(f->errout);
    f->out = buf[0].data;
    f->errout = buf[1].data;
    if (timed_out)
        fail_msg("poblysh did not finish within %d ms\n--- stdout\n%s--- stderr\n%s---",
                 RUN_TIMEOUT_MS, f->out, f->errout);
    if (trigger && !triggered)
        fail_msg("poblysh never printed \"%s\"\n--- stdout\n%s--- stderr\n%s---", trigger, f->out,
                 f->errout);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static int run_cli(fixture *f, const char *const *args)
{
    return run_cli_until(f, args, NULL, NULL);
}

#define ARGS(...) ((const char *const[]){__VA_ARGS__, NULL})

static void assert_exit(fixture *f, int status, int expected)
{
    if (status != expected)
        fail_msg("poblysh exited %d, expected %d\n--- stdout\n%s--- stderr\n%s---", status,
                 expected, f->out, f->errout);
}

/* ==== The history is immune to what migrations do to the session ==== */

static void
test_pg_session__search_path_change_in_a_no_transaction_migration_is_recorded_applied(void **state)
{
    fixture *f = *state;
    fresh_database(f, "search_path");
    pm_test_exec(f->db, "CREATE SCHEMA other_schema");
    add_sql(f, "1_index_elsewhere",
            "-- migrate:up transaction:false\n"
            "CREATE TABLE public.pmt_items (a INTEGER);\n"
            "SET search_path TO other_schema;\n"
            "CREATE INDEX CONCURRENTLY pmt_items_a ON public.pmt_items (a);\n"
            "-- migrate:down\n"
            "DROP TABLE public.pmt_items;\n");
    /* The next one starts from the session as the run began. */
    add_sql(f, "2_after_it",
            "-- migrate:up\nCREATE TABLE pmt_after (a INTEGER);\n"
            "-- migrate:down\nDROP TABLE pmt_after;\n");
    pm_test_ok(pm_engine_up(engine_with(f, 0), PM_ALL, NULL, &f->err), &f->err);
    assert_query(f, "1_index_elsewhere=applied,2_after_it=applied",
                 "SELECT string_agg(version || '=' || state, ',' ORDER BY version) FROM "
                 "public.seaql_migrations");
    assert_query(f, "pmt_items_a",
                 "SELECT indexname FROM pg_indexes WHERE tablename = 'pmt_items'");
    assert_query(f, "t", "SELECT to_regclass('other_schema.seaql_migrations') IS NULL");
    assert_query(f, "t", "SELECT to_regclass('public.pmt_after') IS NOT NULL");
    /* status reads the same history */
    pm_status *st = NULL;
    pm_test_ok(pm_engine_status(f->engine, &st, &f->err), &f->err);
    assert_int_equal(pm_status_count(st), 2);
    assert_int_equal(pm_status_entry_at(st, 0)->state, PM_STATE_APPLIED);
    pm_status_free(st);
}

/* The history statements name the schema itself, not the search_path. */
static void test_pg_session__history_statements_name_the_session_schema(void **state)
{
    fixture *f = *state;
    fresh_database(f, "qualified");
    write_migration(f, "1_items.sql",
                    "-- migrate:up\nCREATE TABLE pmt_items (a INTEGER);\n"
                    "-- migrate:down\nDROP TABLE pmt_items;\n");
    int status = run_cli(
        f, ARGS("migrate", "up", "--dry-run", "--source", f->dir, "--database-url", f->url));
    assert_exit(f, status, 0);
    assert_contains(f->out, "INSERT INTO \"public\".\"seaql_migrations\" (");
    assert_contains(f->out, "SET LOCAL lock_timeout = 5000;\nCREATE TABLE pmt_items");
    assert_false(pm_test_has_table(f->db, "pmt_items"));
}

static void test_pg_session__reset_all_and_set_role_cannot_break_the_history(void **state)
{
    fixture *f = *state;
    fresh_database(f, "set_role");
    snprintf(f->role, sizeof(f->role), "pmss_nobody_%ld", (long)getpid());
    char sql[200];
    snprintf(sql, sizeof(sql), "DROP ROLE IF EXISTS %s", f->role);
    pm_test_exec(f->admin, sql);
    snprintf(sql, sizeof(sql), "CREATE ROLE %s", f->role); /* may not write seaql_migrations */
    pm_test_exec(f->admin, sql);
    char text[400];
    snprintf(text, sizeof(text),
             "-- migrate:up transaction:false\n"
             "CREATE TABLE pmt_roles (a INTEGER);\n"
             "RESET ALL;\n"
             "CREATE INDEX CONCURRENTLY pmt_roles_a ON pmt_roles (a);\n"
             "SET ROLE %s;\n"
             "-- migrate:down\n"
             "DROP TABLE pmt_roles;\n",
             f->role);
    add_sql(f, "1_no_transaction", text);
    snprintf(text, sizeof(text),
             "-- migrate:up\n"
             "CREATE TABLE pmt_roles_too (a INTEGER);\n"
             "SET ROLE %s;\n"
             "RESET ALL;\n"
             "-- migrate:down\n"
             "DROP TABLE pmt_roles_too;\n",
             f->role);
    add_sql(f, "2_in_transaction", text);
    pm_test_ok(pm_engine_up(engine_with(f, 0), PM_ALL, NULL, &f->err), &f->err);
    assert_query(f, "1_no_transaction=applied,2_in_transaction=applied",
                 "SELECT string_agg(version || '=' || state, ',' ORDER BY version) FROM "
                 "seaql_migrations");
    /* and down, whose history delete runs after the SET ROLE too */
    pm_test_ok(pm_engine_down(f->engine, 2, NULL, &f->err), &f->err);
    assert_int_equal(pm_test_history_count(f->db), 0);
}

static void
test_pg_session__failed_history_write_after_no_transaction_migration_says_so(void **state)
{
    fixture *f = *state;
    fresh_database(f, "history_write");
    write_migration(f, "1_freeze_history.sql",
                    "-- migrate:up\n"
                    "CREATE FUNCTION pmt_freeze() RETURNS trigger LANGUAGE plpgsql AS $$\n"
                    "BEGIN RAISE EXCEPTION 'pmt: the history is frozen'; END $$;\n"
                    "CREATE TRIGGER pmt_freeze BEFORE UPDATE ON seaql_migrations FOR EACH ROW\n"
                    "  WHEN (NEW.state = 'applied') EXECUTE FUNCTION pmt_freeze();\n"
                    "-- migrate:down\n"
                    "DROP TRIGGER pmt_freeze ON seaql_migrations;\n"
                    "DROP FUNCTION pmt_freeze();\n");
    write_migration(f, "2_index.sql",
                    "-- migrate:up transaction:false\n"
                    "CREATE TABLE pmt_items (a INTEGER);\n"
                    "CREATE INDEX CONCURRENTLY pmt_items_a ON pmt_items (a);\n"
                    "-- migrate:down\n"
                    "DROP TABLE pmt_items;\n");
    int status = run_cli(f, ARGS("migrate", "up", "--source", f->dir, "--database-url", f->url));
    assert_exit(f, status, 1);
    assert_contains(f->errout,
                    "2_index: its statements ran and succeeded, but recording it in the history "
                    "failed: pmt: the history is frozen; the database has its changes; record it "
                    "with poblysh migrate repair --applied 2_index");
    assert_lacks(f->errout, "as it was before");
    assert_query(f, "pmt_items_a",
                 "SELECT indexname FROM pg_indexes WHERE tablename = 'pmt_items'");
    assert_query(f, "failed", "SELECT state FROM seaql_migrations WHERE version = '2_index'");
    assert_query(f, "t",
                 "SELECT error_message LIKE '%recording it in the history failed: pmt: the "
                 "history is frozen%' FROM seaql_migrations WHERE version = '2_index'");
    /* status gives the real cause, not a crash */
    status = run_cli(f, ARGS("migrate", "status", "--source", f->dir, "--database-url", f->url));
    assert_exit(f, status, 5);
    assert_contains(f->out, "pmt: the history is frozen");
    assert_lacks(f->out, "kill -9");
    /* once the cause is gone, the advice works */
    pm_test_exec(f->db, "DROP TRIGGER pmt_freeze ON seaql_migrations");
    status = run_cli(f, ARGS("migrate", "repair", "--applied", "2_index", "--source", f->dir,
                             "--database-url", f->url));
    assert_exit(f, status, 0);
    assert_query(f, "applied", "SELECT state FROM seaql_migrations WHERE version = '2_index'");
}

/* ==== Timeouts that protect live traffic ==== */

#define ALTER_BUSY                                                                                 \
    "-- migrate:up\nALTER TABLE pmt_busy ADD COLUMN b INTEGER;\n"                                  \
    "-- migrate:down\nALTER TABLE pmt_busy DROP COLUMN b;\n"

/* A second session holds pmt_busy in ACCESS EXCLUSIVE mode, as a long
 * transaction of live traffic would, until release_blocker(). */
static void hold_busy_table(fixture *f)
{
    pm_test_exec(f->db, "CREATE TABLE pmt_busy (a INTEGER)");
    f->blocker = pm_test_open(f->url);
    pm_test_exec(f->blocker, "BEGIN");
    pm_test_exec(f->blocker, "LOCK TABLE pmt_busy IN ACCESS EXCLUSIVE MODE");
}

static void release_blocker(fixture *f)
{
    pm_test_exec(f->blocker, "COMMIT");
}

static void
test_pg_session__lock_timeout_is_retried_and_succeeds_once_the_blocker_ends(void **state)
{
    fixture *f = *state;
    fresh_database(f, "retry_ok");
    hold_busy_table(f);
    write_migration(f, "1_alter_busy.sql", ALTER_BUSY);
    int status = run_cli_until(f,
                               ARGS("migrate", "up", "--source", f->dir, "--database-url", f->url,
                                    "--ddl-lock-timeout", "300ms", "--ddl-retries", "3"),
                               "retry 1 of 3", release_blocker);
    assert_exit(f, status, 0);
    assert_contains(f->out,
                    "[1/1] Applying 1_alter_busy ... lock timeout on ALTER TABLE pmt_busy ADD "
                    "COLUMN b INTEGER; rolled back; retry 1 of 3 in 1 s\n"
                    "[1/1] Applying 1_alter_busy ... done (");
    assert_lacks(f->out, "retry 2 of 3");
    assert_true(pm_test_has_column(f->db, "pmt_busy", "b"));
    assert_query(f, "applied", "SELECT state FROM seaql_migrations WHERE version = '1_alter_busy'");
}

static void test_pg_session__lock_timeout_with_retries_used_up_fails_naming_it(void **state)
{
    fixture *f = *state;
    fresh_database(f, "retry_out");
    hold_busy_table(f);
    write_migration(f, "1_alter_busy.sql", ALTER_BUSY);
    int status = run_cli(f, ARGS("migrate", "up", "--source", f->dir, "--database-url", f->url,
                                 "--ddl-lock-timeout", "200ms", "--ddl-retries", "1"));
    assert_exit(f, status, 1);
    assert_contains(f->out,
                    "rolled back; retry 1 of 1 in 1 s\n[1/1] Applying 1_alter_busy ... FAILED");
    assert_contains(f->errout, "canceling statement due to lock timeout");
    assert_contains(f->errout, "database code: 55P03");
    assert_contains(f->errout, "longer than the lock timeout on every attempt");
    assert_contains(f->errout, "its transaction was rolled back: the database is as it was before");
    release_blocker(f);
    assert_false(pm_test_has_column(f->db, "pmt_busy", "b"));
    assert_int_equal(pm_test_history_count(f->db), 0);
}

static void test_pg_session__section_header_timeouts_apply_to_that_migration(void **state)
{
    fixture *f = *state;
    fresh_database(f, "header");
    hold_busy_table(f);
    add_sql(f, "1_short_wait",
            "-- migrate:up lock_timeout=200ms\nALTER TABLE pmt_busy ADD COLUMN c INTEGER;\n"
            "-- migrate:down\nALTER TABLE pmt_busy DROP COLUMN c;\n");
    add_sql(f, "2_slow",
            "-- migrate:up statement_timeout=100ms\nSELECT pg_sleep(3);\n"
            "-- migrate:down\nSELECT 1;\n");
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    /* Without retries: the default lock_timeout (5 s) would take longer. */
    assert_int_equal(pm_engine_up(engine_with(f, -1), PM_ALL, NULL, &f->err), PM_EDB);
    assert_string_equal(f->err.db_code, "55P03");
    assert_true(elapsed_ms(&start) < 3000);
    assert_int_equal(f->retries_seen, 0);
    release_blocker(f);
    clock_gettime(CLOCK_MONOTONIC, &start);
    assert_int_equal(pm_engine_up(f->engine, PM_ALL, NULL, &f->err), PM_EDB);
    assert_string_equal(f->err.db_code, "57014"); /* query_canceled: statement timeout */
    assert_string_equal(f->err.migration, "2_slow");
    assert_true(elapsed_ms(&start) < 2500);
    assert_true(pm_test_has_column(f->db, "pmt_busy", "c"));
    /* SET LOCAL: nothing of it is left in the session */
    assert_query(f, "0", "SHOW statement_timeout");
}

static int alter_busy_quickly(pm_schema *s, const void *data)
{
    (void)data;
    int rc = pm_schema_set_timeouts(s, 200, -1);
    return rc < 0 ? rc : pm_schema_exec(s, "ALTER TABLE pmt_busy ADD COLUMN d INTEGER");
}

static int drop_d(pm_schema *s, const void *data)
{
    (void)data;
    return pm_schema_exec(s, "ALTER TABLE pmt_busy DROP COLUMN d");
}

static const pm_migration c_alter = {
    "m2024_01_01_000001_alter_busy", alter_busy_quickly, drop_d, PM_MIGRATION_DEFAULT, NULL, NULL};

static void test_pg_session__c_migration_sets_its_timeouts_and_is_retried(void **state)
{
    fixture *f = *state;
    fresh_database(f, "c_migration");
    hold_busy_table(f);
    const pm_migration *set[] = {&c_alter};
    pm_engine_options opts = PM_ENGINE_OPTIONS_INIT;
    opts.ddl_retries = 1;
    opts.progress = on_progress;
    opts.progress_ctx = f;
    pm_test_ok(pm_engine_new(&f->engine, f->db, set, 1, &opts, &f->err), &f->err);
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    assert_int_equal(pm_engine_up(f->engine, PM_ALL, NULL, &f->err), PM_EDB);
    assert_string_equal(f->err.db_code, "55P03");
    assert_int_equal(f->retries_seen, 1);
    assert_true(elapsed_ms(&start) < 4000); /* 200 ms, 1 s pause, 200 ms */
    release_blocker(f);
    pm_test_ok(pm_engine_up(f->engine, PM_ALL, NULL, &f->err), &f->err);
    assert_true(pm_test_has_column(f->db, "pmt_busy", "d"));
}

static void
test_pg_session__no_transaction_migration_is_not_retried_and_timeouts_reset(void **state)
{
    fixture *f = *state;
    fresh_database(f, "no_tx_timeout");
    hold_busy_table(f);
    add_sql(f, "1_no_tx",
            "-- migrate:up transaction:false lock_timeout=200ms\n"
            "ALTER TABLE pmt_busy ADD COLUMN e INTEGER;\n"
            "-- migrate:down\nALTER TABLE pmt_busy DROP COLUMN e;\n");
    assert_int_equal(pm_engine_up(engine_with(f, 3), PM_ALL, NULL, &f->err), PM_EDB);
    assert_string_equal(f->err.db_code, "55P03");
    assert_int_equal(f->retries_seen, 0);
    assert_query(f, "failed", "SELECT state FROM seaql_migrations WHERE version = '1_no_tx'");
    /* the engine's session (f->db) has its lock_timeout back */
    assert_query(f, "0", "SHOW lock_timeout");
    release_blocker(f);
}

/* ==== A schema chosen by name (-s, schema=) ==== */

/* Two migrations in f->dir, for the schema tests. */
static void write_two_migrations(fixture *f)
{
    write_migration(f, "1_items.sql",
                    "-- migrate:up\nCREATE TABLE pmt_items (a INTEGER);\n"
                    "-- migrate:down\nDROP TABLE pmt_items;\n");
    write_migration(f, "2_more.sql",
                    "-- migrate:up\nCREATE TABLE pmt_more (a INTEGER);\n"
                    "-- migrate:down\nDROP TABLE pmt_more;\n");
}

#define NO_TABLE_IN_PUBLIC "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"

static void test_pg_session__schema_flag_puts_objects_and_history_in_it(void **state)
{
    fixture *f = *state;
    fresh_database(f, "schema_flag");
    pm_test_exec(f->db, "CREATE SCHEMA tenant_a");
    write_two_migrations(f);
    int status = run_cli(
        f, ARGS("-s", "tenant_a", "migrate", "up", "--source", f->dir, "--database-url", f->url));
    assert_exit(f, status, 0);
    assert_contains(f->out, "Applied 2 migrations.");
    assert_query(f, "1_items,2_more",
                 "SELECT string_agg(version, ',' ORDER BY version) FROM tenant_a.seaql_migrations "
                 "WHERE state = 'applied'");
    assert_query(f, "t", "SELECT to_regclass('tenant_a.pmt_items') IS NOT NULL");
    assert_query(f, "t", "SELECT to_regclass('tenant_a.pmt_more') IS NOT NULL");
    assert_query(f, "0", NO_TABLE_IN_PUBLIC);
    /* status sees the history of the schema it is given, and only that */
    status = run_cli(f, ARGS("--schema", "tenant_a", "migrate", "status", "--source", f->dir,
                             "--database-url", f->url));
    assert_exit(f, status, 0);
    assert_contains(f->out, "2 applied, 0 pending.");
    status = run_cli(f, ARGS("migrate", "status", "--source", f->dir, "--database-url", f->url));
    assert_exit(f, status, 0);
    assert_contains(f->out, "0 applied, 2 pending.");
    /* down reverts there too */
    status = run_cli(
        f, ARGS("-s", "tenant_a", "migrate", "down", "--source", f->dir, "--database-url", f->url));
    assert_exit(f, status, 0);
    assert_query(f, "t", "SELECT to_regclass('tenant_a.pmt_more') IS NULL");
    assert_query(f, "1", "SELECT count(*) FROM tenant_a.seaql_migrations");
    assert_query(f, "0", NO_TABLE_IN_PUBLIC);
    /* a dry run shows the schema being chosen, as runnable SQL */
    status = run_cli(f, ARGS("-s", "tenant_a", "migrate", "up", "--dry-run", "--source", f->dir,
                             "--database-url", f->url));
    assert_exit(f, status, 0);
    assert_contains(f->out, "BEGIN;\nSET LOCAL search_path TO \"tenant_a\";\n");
    assert_contains(f->out, "INSERT INTO \"tenant_a\".\"seaql_migrations\" (");
    assert_query(f, "t", "SELECT to_regclass('tenant_a.pmt_more') IS NULL");
}

static void test_pg_session__schema_with_quote_and_capitals_is_quoted(void **state)
{
    fixture *f = *state;
    fresh_database(f, "schema_quoted");
    pm_test_exec(f->db, "CREATE SCHEMA \"Tenant \"\"B\"\"\"");
    write_two_migrations(f);
    int status = run_cli(f, ARGS("-s", "Tenant \"B\"", "migrate", "up", "--source", f->dir,
                                 "--database-url", f->url));
    assert_exit(f, status, 0);
    assert_query(f, "2", "SELECT count(*) FROM \"Tenant \"\"B\"\"\".seaql_migrations");
    assert_query(f, "t", "SELECT to_regclass('\"Tenant \"\"B\"\"\".pmt_items') IS NOT NULL");
    assert_query(f, "0", NO_TABLE_IN_PUBLIC);
    status = run_cli(f, ARGS("-s", "Tenant \"B\"", "migrate", "status", "--source", f->dir,
                             "--database-url", f->url));
    assert_exit(f, status, 0);
    assert_contains(f->out, "2 applied, 0 pending.");
}

static void test_pg_session__missing_schema_is_refused_and_nothing_created(void **state)
{
    fixture *f = *state;
    fresh_database(f, "schema_missing");
    write_two_migrations(f);
    int status = run_cli(
        f, ARGS("-s", "Nope", "migrate", "up", "--source", f->dir, "--database-url", f->url));
    assert_exit(f, status, 2);
    assert_contains(f->errout,
                    "schema \"Nope\" does not exist: create it first (CREATE SCHEMA \"Nope\")");
    assert_query(f, "0",
                 "SELECT count(*) FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', "
                 "'information_schema')");
    assert_query(f, "0", "SELECT count(*) FROM pg_namespace WHERE nspname = 'Nope'");
    /* the library says the same, with its own code */
    pm_error err = PM_ERROR_INIT;
    assert_int_equal(pm_db_use_schema(f->db, "Nope", &err), PM_ENOTFOUND);
    assert_contains(err.message, "schema \"Nope\" does not exist");
    pm_error_clear(&err);
    assert_null(pm_db_schema_name(f->db));
}

static void test_pg_session__schema_from_the_settings_file_and_the_flag_wins(void **state)
{
    fixture *f = *state;
    fresh_database(f, "schema_conf");
    pm_test_exec(f->db, "CREATE SCHEMA tenant_a; CREATE SCHEMA tenant_b");
    write_two_migrations(f);
    char conf[64];
    snprintf(conf, sizeof(conf), "/tmp/pmss_%ld.conf", (long)getpid());
    FILE *fp = fopen(conf, "w");
    assert_non_null(fp);
    fputs("[local]\nschema = tenant_a\n", fp);
    assert_int_equal(fclose(fp), 0);
    int status = run_cli(f, ARGS("--config", conf, "-v", "migrate", "up", "--source", f->dir,
                                 "--database-url", f->url));
    int flag_status =
        status == 0 ? run_cli(f, ARGS("--config", conf, "-s", "tenant_b", "migrate", "up", "-n",
                                      "1", "--source", f->dir, "--database-url", f->url))
                    : status;
    unlink(conf);
    assert_exit(f, flag_status, 0);
    assert_query(f, "2", "SELECT count(*) FROM tenant_a.seaql_migrations");
    assert_query(f, "t", "SELECT to_regclass('tenant_a.pmt_more') IS NOT NULL");
    assert_query(f, "1_items", "SELECT string_agg(version, ',') FROM tenant_b.seaql_migrations");
    assert_query(f, "t", "SELECT to_regclass('tenant_b.pmt_items') IS NOT NULL");
    assert_query(f, "0", NO_TABLE_IN_PUBLIC);
}

/* ==== A session read-only by default ==== */

/* PostgreSQL 14 and later report default_transaction_read_only and
 * in_hot_standby when a session starts, and the driver reads those instead
 * of asking: a database whose sessions are read-only by default still
 * refuses up before running anything, and status still reads it. */
static void test_pg_session__database_read_only_by_default_refuses_up(void **state)
{
    fixture *f = *state;
    fresh_database(f, "read_only");
    write_two_migrations(f);
    char sql[160];
    snprintf(sql, sizeof(sql), "ALTER DATABASE %s SET default_transaction_read_only = on",
             f->dbname);
    pm_test_exec(f->admin, sql);
    int status = run_cli(f, ARGS("migrate", "up", "--source", f->dir, "--database-url", f->url));
    assert_exit(f, status, 4);
    assert_contains(f->errout, "read-only");
    assert_contains(f->errout, "nothing was run");
    status = run_cli(f, ARGS("migrate", "status", "--source", f->dir, "--database-url", f->url));
    assert_exit(f, status, 0);
    assert_contains(f->out, "0 applied, 2 pending.");
    assert_query(f, "0", NO_TABLE_IN_PUBLIC);
}

/* ==== The history table's columns, read in one query ==== */

/* The driver learns the history table's columns from one catalog query
 * whose LEFT JOIN keeps a row for a table without columns: such a table is
 * there (status does not call the history empty) and is damaged. */
static void test_pg_session__history_table_without_columns_is_damaged(void **state)
{
    fixture *f = *state;
    fresh_database(f, "no_columns");
    write_two_migrations(f);
    pm_test_exec(f->db, "CREATE TABLE seaql_migrations ()");
    int status =
        run_cli(f, ARGS("migrate", "status", "--source", f->dir, "--database-url", f->url));
    if (status == 0)
        fail_msg("status read a history table without columns:\n%s", f->out);
    assert_contains(f->errout, "the table seaql_migrations has no column version");
}

#define TEST(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: test_pg_session <poblysh binary>\n");
        return 2;
    }
    cli_path = argv[1];
    admin_url = getenv("POBLYSH_TEST_PG_URL");
    if (!admin_url || !*admin_url) {
        fprintf(stderr, "test_pg_session: POBLYSH_TEST_PG_URL is not set. This suite needs the "
                        "PostgreSQL server that scripts/with-postgres.sh starts; it is never "
                        "skipped.\n");
        return 1;
    }
    const struct CMUnitTest tests[] = {
        TEST(test_pg_session__search_path_change_in_a_no_transaction_migration_is_recorded_applied),
        TEST(test_pg_session__history_statements_name_the_session_schema),
        TEST(test_pg_session__reset_all_and_set_role_cannot_break_the_history),
        TEST(test_pg_session__failed_history_write_after_no_transaction_migration_says_so),
        TEST(test_pg_session__lock_timeout_is_retried_and_succeeds_once_the_blocker_ends),
        TEST(test_pg_session__lock_timeout_with_retries_used_up_fails_naming_it),
        TEST(test_pg_session__section_header_timeouts_apply_to_that_migration),
        TEST(test_pg_session__c_migration_sets_its_timeouts_and_is_retried),
        TEST(test_pg_session__no_transaction_migration_is_not_retried_and_timeouts_reset),
        TEST(test_pg_session__schema_flag_puts_objects_and_history_in_it),
        TEST(test_pg_session__schema_with_quote_and_capitals_is_quoted),
        TEST(test_pg_session__missing_schema_is_refused_and_nothing_created),
        TEST(test_pg_session__schema_from_the_settings_file_and_the_flag_wins),
        TEST(test_pg_session__database_read_only_by_default_refuses_up),
        TEST(test_pg_session__history_table_without_columns_is_damaged),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
