/* test_workflow_cli.c: the workflow commands through the built binary:
 * up/down --dry-run, schema [--output], verify, fresh, reset, refresh, the
 * production guard and the help. Each test runs poblysh as a child process
 * in a fresh directory of its own and checks its exit status, output and
 * the database it left behind. Run as: test_workflow_cli <poblysh> <work dir>.
 * The running helpers are those of test_cli.c. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"

#define TENANTS "m2024_01_01_000001_create_tenants"

/* `migrate schema` of the builtin set on SQLite. */
static const char tenants_schema[] =
    "table tenants\n"
    "  column id TEXT NOT NULL\n"
    "  column name TEXT NULL\n"
    "  column created_at TEXT NOT NULL DEFAULT strftime('%Y-%m-%dT%H:%M:%fZ', 'now')\n"
    "  primary key (id)\n";

/* How long one run of the binary may take before it is killed. */
#define RUN_TIMEOUT_MS 60000

static const char *cli_path;  /* absolute path of the poblysh binary */
static const char *work_root; /* absolute path of the work dir */

/* ==== Fixture ==== */

typedef struct run_result {
    int status; /* the exit code, or 128 + signal */
    char *out;
    char *err;
} run_result;

/* What one test owns; teardown releases all of it, even after a failure. */
typedef struct fixture {
    char *dir; /* this test's fresh directory, absolute */
    run_result **runs;
    size_t nruns;
    void **kept; /* other allocations, freed by teardown */
    size_t nkept;
    pm_db *db; /* opened by the test, closed by teardown */
} fixture;

/* The environment of a run; NULL leaves a variable unset. */
typedef struct cli_env {
    const char *profile;
    const char *url;
} cli_env;

static const cli_env LOCAL = {"local", NULL};

#define ARGS(...) ((const char *const[]){__VA_ARGS__, NULL})
#define NO_ARGS ((const char *const[]){NULL})

static void *keep(fixture *f, void *p)
{
    void **kept = realloc(f->kept, (f->nkept + 1) * sizeof(*kept));
    if (!kept) {
        free(p);
        fail_msg("out of memory");
    }
    f->kept = kept;
    f->kept[f->nkept++] = p;
    return p;
}

/* A formatted string that lives until teardown. */
static char *fmt(fixture *f, const char *format, ...)
{
    va_list ap;
    va_start(ap, format);
    int n = vsnprintf(NULL, 0, format, ap);
    va_end(ap);
    assert_true(n >= 0);
    char *s = malloc((size_t)n + 1);
    assert_non_null(s);
    va_start(ap, format);
    vsnprintf(s, (size_t)n + 1, format, ap);
    va_end(ap);
    return keep(f, s);
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    if (!f)
        return -1;
    *state = f;
    return 0;
}

static void free_run(run_result *r)
{
    if (r) {
        free(r->out);
        free(r->err);
        free(r);
    }
}

static int teardown(void **state)
{
    fixture *f = *state;
    pm_db_close(f->db);
    for (size_t i = 0; i < f->nruns; i++)
        free_run(f->runs[i]);
    free(f->runs);
    for (size_t i = 0; i < f->nkept; i++)
        free(f->kept[i]);
    free(f->kept);
    free(f->dir);
    free(f);
    return 0;
}

/* ==== The test's directory ==== */

/* Makes <work dir>/<name> exist and be empty (of files: tests make no
 * subdirectories), and makes it this test's directory. */
static void fresh_dir(fixture *f, const char *name)
{
    size_t n = strlen(work_root) + strlen(name) + 2;
    f->dir = malloc(n);
    assert_non_null(f->dir);
    snprintf(f->dir, n, "%s/%s", work_root, name);
    if (mkdir(f->dir, 0755) != 0 && errno != EEXIST)
        fail_msg("cannot create %s: %s", f->dir, strerror(errno));
    DIR *d = opendir(f->dir);
    if (!d)
        fail_msg("cannot open %s: %s", f->dir, strerror(errno));
    struct dirent *e;
    while ((e = readdir(d))) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        char *path = fmt(f, "%s/%s", f->dir, e->d_name);
        if (unlink(path) != 0) {
            closedir(d);
            fail_msg("cannot remove leftover %s: %s", path, strerror(errno));
        }
    }
    closedir(d);
}

static char *path_in_dir(fixture *f, const char *file)
{
    return fmt(f, "%s/%s", f->dir, file);
}

static bool file_exists(fixture *f, const char *file)
{
    struct stat st;
    return stat(path_in_dir(f, file), &st) == 0;
}

static size_t dir_entry_count(fixture *f)
{
    DIR *d = opendir(f->dir);
    assert_non_null(d);
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            n++;
    closedir(d);
    return n;
}

/* sqlite:///abs/dir/file: the same file whatever the current directory. */
static char *file_url(fixture *f, const char *file)
{
    return fmt(f, "sqlite://%s/%s", f->dir, file);
}

/* Opens a file of the test's directory, closing the one open before. */
static pm_db *open_db(fixture *f, const char *file)
{
    pm_db_close(f->db);
    f->db = NULL;
    f->db = pm_test_open(file_url(f, file));
    return f->db;
}

static void close_db(fixture *f)
{
    pm_db_close(f->db);
    f->db = NULL;
}

/* ==== Running the binary ==== */

typedef struct child {
    pid_t pid;
    int out_fd;
    int err_fd;
} child;

static void set_cloexec(int fd)
{
    int flags = fcntl(fd, F_GETFD);
    assert_true(flags >= 0);
    assert_int_equal(fcntl(fd, F_SETFD, flags | FD_CLOEXEC), 0);
}

/* The child's environment: PATH, the profile and URL asked for, and the
 * sanitizer settings of this process so a sanitized binary reports alike. */
static char **child_environment(fixture *f, cli_env env)
{
    static const char *const passed[] = {"ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"};
    char **envp = keep(f, calloc(8, sizeof(*envp)));
    assert_non_null(envp);
    size_t n = 0;
    envp[n++] = "PATH=/usr/local/bin:/usr/bin:/bin";
    if (env.profile)
        envp[n++] = fmt(f, "%s=%s", PM_ENV_PROFILE, env.profile);
    if (env.url)
        envp[n++] = fmt(f, "%s=%s", PM_ENV_DATABASE_URL, env.url);
    for (size_t i = 0; i < sizeof(passed) / sizeof(passed[0]); i++) {
        const char *value = getenv(passed[i]);
        if (value)
            envp[n++] = fmt(f, "%s=%s", passed[i], value);
    }
    envp[n] = NULL;
    return envp;
}

/* Starts `poblysh args...` in the test's directory with only env set. */
static child spawn_cli(fixture *f, cli_env env, const char *const *args)
{
    size_t nargs = 0;
    while (args[nargs])
        nargs++;
    char **argv = keep(f, calloc(nargs + 2, sizeof(*argv)));
    assert_non_null(argv);
    argv[0] = (char *)cli_path;
    for (size_t i = 0; i < nargs; i++)
        argv[i + 1] = (char *)args[i];
    char **envp = child_environment(f, env);

    int out[2], err[2];
    assert_int_equal(pipe(out), 0);
    assert_int_equal(pipe(err), 0);
    /* Close-on-exec, so children started together do not hold each other's
     * pipes open and every reader sees end-of-file when its child exits. */
    set_cloexec(out[0]);
    set_cloexec(out[1]);
    set_cloexec(err[0]);
    set_cloexec(err[1]);
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        static const char chdir_failed[] = "test_cli: chdir into the test directory failed\n";
        static const char exec_failed[] = "test_cli: execve of the poblysh binary failed\n";
        if (dup2(out[1], STDOUT_FILENO) < 0 || dup2(err[1], STDERR_FILENO) < 0)
            _exit(125);
        if (chdir(f->dir) != 0) {
            (void)!write(STDERR_FILENO, chdir_failed, sizeof(chdir_failed) - 1);
            _exit(126);
        }
        execve(cli_path, argv, envp);
        (void)!write(STDERR_FILENO, exec_failed, sizeof(exec_failed) - 1);
        _exit(127);
    }
    close(out[1]);
    close(err[1]);
    return (child){pid, out[0], err[0]};
}

typedef struct buffer {
    char *data;
    size_t len, cap;
} buffer;

/* Reads what is available on fd into b; returns 0 at end of file. */
static int read_some(int fd, buffer *b)
{
    if (b->cap - b->len < 4096) {
        size_t cap = b->cap ? b->cap * 2 : 8192;
        char *data = realloc(b->data, cap);
        assert_non_null(data);
        b->data = data;
        b->cap = cap;
    }
    ssize_t n = read(fd, b->data + b->len, b->cap - b->len - 1);
    if (n < 0 && errno == EINTR)
        return 1;
    assert_true(n >= 0);
    b->len += (size_t)n;
    b->data[b->len] = '\0';
    return n > 0;
}

/* Reads the child's stdout and stderr to their end, waits for it, and
 * returns the outcome (owned by the fixture). */
static const run_result *collect(fixture *f, child c)
{
    run_result *r = calloc(1, sizeof(*r));
    assert_non_null(r);
    run_result **runs = realloc(f->runs, (f->nruns + 1) * sizeof(*runs));
    if (!runs) {
        free(r);
        fail_msg("out of memory");
    }
    f->runs = runs;
    f->runs[f->nruns++] = r;

    buffer out = {NULL, 0, 0}, err = {NULL, 0, 0};
    struct pollfd fds[2] = {{c.out_fd, POLLIN, 0}, {c.err_fd, POLLIN, 0}};
    int open_fds = 2, timed_out = 0;
    while (open_fds > 0) {
        int n = poll(fds, 2, RUN_TIMEOUT_MS);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            timed_out = 1;
            kill(c.pid, SIGKILL);
            break;
        }
        for (int i = 0; i < 2; i++) {
            if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            if (!read_some(fds[i].fd, i == 0 ? &out : &err)) {
                close(fds[i].fd);
                fds[i].fd = -1;
                open_fds--;
            }
        }
    }
    for (int i = 0; i < 2; i++)
        if (fds[i].fd >= 0)
            close(fds[i].fd);
    r->out = out.data ? out.data : calloc(1, 1);
    r->err = err.data ? err.data : calloc(1, 1);
    assert_non_null(r->out);
    assert_non_null(r->err);

    int ws = 0;
    while (waitpid(c.pid, &ws, 0) < 0)
        assert_int_equal(errno, EINTR);
    r->status = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
    if (timed_out)
        fail_msg("poblysh did not finish within %d ms\n--- stdout\n%s--- stderr\n%s---",
                 RUN_TIMEOUT_MS, r->out, r->err);
    return r;
}

static const run_result *run_cli(fixture *f, cli_env env, const char *const *args)
{
    return collect(f, spawn_cli(f, env, args));
}

/* ==== Assertions that show the run ==== */

#define assert_exit(r, code) assert_exit_((r), (code), __FILE__, __LINE__)
#define assert_contains(text, needle) assert_contains_((text), (needle), #text, __FILE__, __LINE__)
#define assert_lacks(text, needle) assert_lacks_((text), (needle), #text, __FILE__, __LINE__)
#define assert_empty(text) assert_empty_((text), #text, __FILE__, __LINE__)

static void assert_exit_(const run_result *r, int code, const char *file, int line)
{
    if (r->status == code)
        return;
    print_error("exit status %d, expected %d\n--- stdout\n%s--- stderr\n%s---\n", r->status, code,
                r->out, r->err);
    _fail(file, line);
}

static void assert_contains_(const char *text, const char *needle, const char *what,
                             const char *file, int line)
{
    if (strstr(text, needle))
        return;
    print_error("%s does not contain \"%s\":\n---\n%s---\n", what, needle, text);
    _fail(file, line);
}

static void assert_lacks_(const char *text, const char *needle, const char *what, const char *file,
                          int line)
{
    if (!strstr(text, needle))
        return;
    print_error("%s contains \"%s\" but must not:\n---\n%s---\n", what, needle, text);
    _fail(file, line);
}

static void assert_empty_(const char *text, const char *what, const char *file, int line)
{
    if (!*text)
        return;
    print_error("%s should be empty but is:\n---\n%s---\n", what, text);
    _fail(file, line);
}

/* ==== The database the test's directory holds ==== */

static void exec_db(fixture *f, const char *file, const char *sql)
{
    pm_test_exec(open_db(f, file), sql);
    close_db(f);
}

static int64_t db_int(fixture *f, const char *file, const char *sql)
{
    int64_t v = pm_test_int(open_db(f, file), sql);
    close_db(f);
    return v;
}

static int64_t db_history_count(fixture *f, const char *file)
{
    int64_t n = pm_test_history_count(open_db(f, file));
    close_db(f);
    return n;
}

static bool db_has_table(fixture *f, const char *file, const char *table)
{
    bool has = pm_test_has_table(open_db(f, file), table);
    close_db(f);
    return has;
}

static char *read_file(fixture *f, const char *file)
{
    FILE *fp = fopen(path_in_dir(f, file), "r");
    if (!fp)
        fail_msg("cannot open %s: %s", path_in_dir(f, file), strerror(errno));
    char *text = keep(f, calloc(1, 65536));
    assert_non_null(text);
    size_t n = fread(text, 1, 65535, fp);
    fclose(fp);
    text[n] = '\0';
    return text;
}

/* A dry run's output is runnable SQL: every line that is not blank is a
 * comment or a statement ending with ';'. */
static void assert_statements_end_with_semicolon(const char *out)
{
    assert_non_null(strstr(out, "-- Dry run: nothing below is run"));
    for (const char *p = out; *p;) {
        size_t len = strcspn(p, "\n");
        if (len && strncmp(p, "--", 2) != 0 && p[len - 1] != ';')
            fail_msg("a statement line does not end with ';': \"%.*s\" in:\n%s", (int)len, p, out);
        p += len + (p[len] == '\n');
    }
}

/* ==== Dry run ==== */

static void test_workflow_cli__up_dry_run_prints_the_sql_and_changes_nothing(void **state)
{
    fixture *f = *state;
    fresh_dir(f, "up_dry_run");
    const run_result *r = run_cli(f, LOCAL, ARGS("migrate", "up", "--dry-run"));
    assert_exit(r, 0);
    assert_empty(r->err);
    assert_contains(r->out, "-- Database: sqlite://poblysh.db (sqlite, profile local)\n-- Dry run");
    assert_contains(
        r->out, "\n-- Dry run: nothing below is run; this is the SQL the command would send.\n");
    assert_contains(
        r->out,
        "\n-- poblysh bookkeeping\nBEGIN;\nCREATE TABLE IF NOT EXISTS \"seaql_migrations\" (");
    assert_contains(r->out, "\n-- " TENANTS
                            "\nBEGIN;\nCREATE TABLE \"tenants\" (\"id\" TEXT PRIMARY KEY NOT NULL");
    assert_contains(r->out, "\nINSERT INTO \"seaql_migrations\" (");
    assert_contains(r->out, "'" TENANTS "'");
    assert_contains(r->out, ");\nCOMMIT;\n\n-- Dry run: 1 migration would be applied.\n");
    assert_lacks(r->out, "Applying");
    assert_lacks(r->out, "BEGIN;\nCOMMIT;"); /* no empty transaction */
    assert_statements_end_with_semicolon(r->out);
    /* nothing was created: no tenants, no history */
    assert_false(db_has_table(f, "poblysh.db", "tenants"));
    assert_false(db_has_table(f, "poblysh.db", "seaql_migrations"));
    assert_int_equal(db_history_count(f, "poblysh.db"), 0);

    /* the database is still all pending, and a real up still applies */
    r = run_cli(f, LOCAL, ARGS("migrate", "up"));
    assert_exit(r, 0);
    assert_contains(r->out, "Applied 1 migration.\n");
    /* with nothing pending, a dry run shows no migration */
    r = run_cli(f, LOCAL, ARGS("migrate", "up", "--dry-run"));
    assert_exit(r, 0);
    assert_lacks(r->out, "-- " TENANTS);
    assert_lacks(r->out, "-- poblysh bookkeeping");
    assert_contains(r->out, "-- Dry run: 0 migrations would be applied.\n");
}

static void test_workflow_cli__down_dry_run_prints_the_sql_and_reverts_nothing(void **state)
{
    fixture *f = *state;
    fresh_dir(f, "down_dry_run");
    assert_exit(run_cli(f, LOCAL, ARGS("migrate", "up")), 0);
    exec_db(f, "poblysh.db",
            "INSERT INTO tenants (id) VALUES ('8f14e45f-ceea-467f-a9f7-5e2c1d1b2a3c')");
    const run_result *r = run_cli(f, LOCAL, ARGS("migrate", "down", "--dry-run"));
    assert_exit(r, 0);
    assert_empty(r->err);
    assert_contains(r->out, "\n-- Dry run: nothing below is run");
    assert_contains(r->out, "\n-- " TENANTS "\nBEGIN;\nDROP TABLE \"tenants\";\n");
    assert_contains(r->out,
                    "\nDELETE FROM \"seaql_migrations\" WHERE \"version\" = '" TENANTS "';\n");
    assert_contains(r->out, "COMMIT;\n\n-- Dry run: 1 migration would be reverted.\n");
    assert_lacks(r->out, "-- poblysh bookkeeping"); /* the history table is there */
    assert_lacks(r->out, "Reverting");
    assert_statements_end_with_semicolon(r->out);
    assert_true(db_has_table(f, "poblysh.db", "tenants"));
    assert_int_equal(db_int(f, "poblysh.db", "SELECT count(*) FROM tenants"), 1);
    assert_int_equal(db_history_count(f, "poblysh.db"), 1);
}

static void
test_workflow_cli__dry_run_under_production_needs_no_yes_and_changes_nothing(void **state)
{
    fixture *f = *state;
    fresh_dir(f, "dry_run_production");
    const char *url = file_url(f, "prod.db");
    const cli_env production = {"production", NULL};
    const run_result *r =
        run_cli(f, production, ARGS("--database-url", url, "migrate", "up", "--dry-run"));
    assert_exit(r, 0);
    assert_empty(r->err);
    assert_contains(r->out, "CREATE TABLE \"tenants\"");
    assert_false(db_has_table(f, "prod.db", "tenants"));
    assert_int_equal(db_history_count(f, "prod.db"), 0);

    assert_exit(run_cli(f, production, ARGS("--database-url", url, "migrate", "up")), 0);
    r = run_cli(f, production, ARGS("--database-url", url, "migrate", "down", "--dry-run"));
    assert_exit(r, 0);
    assert_empty(r->err);
    assert_contains(r->out, "DROP TABLE \"tenants\"");
    assert_true(db_has_table(f, "prod.db", "tenants"));
    assert_int_equal(db_history_count(f, "prod.db"), 1);
}

/* ==== schema ==== */

static void test_workflow_cli__schema_prints_the_golden_text(void **state)
{
    fixture *f = *state;
    fresh_dir(f, "schema");
    assert_exit(run_cli(f, LOCAL, ARGS("migrate", "up")), 0);
    const run_result *r = run_cli(f, LOCAL, ARGS("migrate", "schema"));
    assert_exit(r, 0);
    assert_empty(r->err);
    assert_string_equal(r->out, tenants_schema); /* the schema alone: no "Database:" line */
    assert_lacks(r->out, "seaql_migrations");
    /* it reads, and changes nothing */
    assert_int_equal(db_history_count(f, "poblysh.db"), 1);
    assert_string_equal(run_cli(f, LOCAL, ARGS("migrate", "schema"))->out, tenants_schema);
}

static void test_workflow_cli__schema_output_writes_the_same_text_and_says_so(void **state)
{
    fixture *f = *state;
    fresh_dir(f, "schema_output");
    assert_exit(run_cli(f, LOCAL, ARGS("migrate", "up")), 0);
    const run_result *r = run_cli(f, LOCAL, ARGS("migrate", "schema", "--output", "schema.txt"));
    assert_exit(r, 0);
    assert_empty(r->out);
    assert_contains(r->err, "wrote the schema of sqlite://poblysh.db to schema.txt");
    assert_string_equal(read_file(f, "schema.txt"), tenants_schema);
    assert_string_equal(read_file(f, "schema.txt"),
                        run_cli(f, LOCAL, ARGS("migrate", "schema"))->out);

    /* an existing file is replaced */
    r = run_cli(f, LOCAL, ARGS("migrate", "down"));
    assert_exit(r, 0);
    r = run_cli(f, LOCAL, ARGS("migrate", "schema", "--output", "schema.txt"));
    assert_exit(r, 0);
    assert_string_equal(read_file(f, "schema.txt"), "");

    /* a file that cannot be written is an error that names it */
    r = run_cli(f, LOCAL, ARGS("migrate", "schema", "--output", "no_such_dir/schema.txt"));
    assert_exit(r, 1);
    assert_contains(r->err, "no_such_dir/schema.txt");
    assert_lacks(r->err, "wrote the schema");
}

/* ==== verify ==== */

static void test_workflow_cli__verify_passes_the_builtin_set_in_memory(void **state)
{
    fixture *f = *state;
    fresh_dir(f, "verify");
    const run_result *r = run_cli(f, LOCAL, ARGS("migrate", "verify"));
    assert_exit(r, 0);
    assert_contains(r->out, "Verifying every down() on sqlite::memory:\n");
    assert_contains(r->out, "\nok      " TENANTS "\n");
    assert_contains(r->out, "Every down() restores the schema exactly.\n");
    assert_lacks(r->out, "FAILED");
    /* It used a database of its own: none was created here. */
    assert_false(file_exists(f, "poblysh.db"));
    assert_int_equal(dir_entry_count(f), 0);
}

static void test_workflow_cli__verify_never_touches_the_configured_database(void **state)
{
    fixture *f = *state;
    fresh_dir(f, "verify_configured");
    const char *url = file_url(f, "prod.db");
    assert_exit(run_cli(f, LOCAL, ARGS("--database-url", url, "migrate", "up")), 0);
    assert_exit(run_cli(f, LOCAL, ARGS("--database-url", url, "migrate", "down")), 0);
    /* prod.db has the history table and nothing applied: verify would
     * accept it, but the URL from the environment is not where it runs */
    const run_result *r = run_cli(f, (cli_env){"production", url}, ARGS("migrate", "verify"));
    assert_exit(r, 0);
    assert_contains(r->out, "on sqlite::memory:");
    assert_false(db_has_table(f, "prod.db", "tenants"));
    assert_int_equal(db_history_count(f, "prod.db"), 0);

    /* Named explicitly, a SQLite file is refused, untouched (a missing one
     * is not created): SQLite has no scratch schema to verify in. */
    assert_exit(run_cli(f, LOCAL, ARGS("--database-url", url, "migrate", "up")), 0);
    r = run_cli(f, LOCAL, ARGS("--database-url", url, "migrate", "verify"));
    assert_exit(r, 2);
    assert_contains(r->err, "verify needs a scratch database");
    assert_contains(r->err, "sqlite::memory:");
    assert_empty(r->out);
    assert_true(db_has_table(f, "prod.db", "tenants"));
    assert_int_equal(db_history_count(f, "prod.db"), 1);
    r = run_cli(f, LOCAL, ARGS("--database-url", file_url(f, "missing.db"), "migrate", "verify"));
    assert_exit(r, 2);
    assert_false(file_exists(f, "missing.db"));
}

/* ==== fresh, reset, refresh ==== */

static void test_workflow_cli__fresh_drops_everything_and_applies_every_migration(void **state)
{
    fixture *f = *state;
    fresh_dir(f, "fresh");
    assert_exit(run_cli(f, LOCAL, ARGS("migrate", "up")), 0);
    exec_db(f, "poblysh.db",
            "INSERT INTO tenants (id) VALUES ('8f14e45f-ceea-467f-a9f7-5e2c1d1b2a3c')");
    exec_db(f, "poblysh.db", "CREATE TABLE stray (id INTEGER)");
    exec_db(f, "poblysh.db", "CREATE VIEW stray_view AS SELECT id FROM stray");
    const run_result *r = run_cli(f, LOCAL, ARGS("migrate", "fresh"));
    assert_exit(r, 0);
    assert_empty(r->err);
    assert_contains(r->out, "Dropping every table, view, sequence and type, then applying every "
                            "migration.\n");
    assert_contains(r->out, "Dropped view stray_view\n");
    assert_contains(r->out, "Dropped table stray\n");
    assert_contains(r->out, "Dropped table tenants\n");
    assert_lacks(r->out, "seaql_migrations");
    assert_contains(r->out, "Applying " TENANTS " ... done (");
    assert_contains(r->out, "Applied 1 migration.\n");
    assert_false(db_has_table(f, "poblysh.db", "stray"));
    assert_int_equal(db_int(f, "poblysh.db", "SELECT count(*) FROM tenants"), 0);
    assert_int_equal(db_history_count(f, "poblysh.db"), 1);
    assert_string_equal(run_cli(f, LOCAL, ARGS("migrate", "schema"))->out, tenants_schema);

    /* on an empty database: nothing to drop */
    r = run_cli(f, LOCAL, ARGS("--database-url", file_url(f, "empty.db"), "migrate", "fresh"));
    assert_exit(r, 0);
    assert_lacks(r->out, "Dropped");
    assert_contains(r->out, "Applied 1 migration.\n");
}

static void test_workflow_cli__reset_reverts_every_applied_migration(void **state)
{
    fixture *f = *state;
    fresh_dir(f, "reset");
    assert_exit(run_cli(f, LOCAL, ARGS("migrate", "up")), 0);
    const run_result *r = run_cli(f, LOCAL, ARGS("migrate", "reset"));
    assert_exit(r, 0);
    assert_empty(r->err);
    assert_contains(r->out, "Reverting every applied migration.\n");
    assert_contains(r->out, "Reverting " TENANTS " ... done (");
    assert_contains(r->out, "Reverted 1 migration.\n");
    assert_false(db_has_table(f, "poblysh.db", "tenants"));
    assert_int_equal(db_history_count(f, "poblysh.db"), 0);
    assert_string_equal(run_cli(f, LOCAL, ARGS("migrate", "schema"))->out, "");

    r = run_cli(f, LOCAL, ARGS("migrate", "reset"));
    assert_exit(r, 0);
    assert_contains(r->out, "Reverted 0 migrations.\n");
}

static void test_workflow_cli__refresh_reverts_and_applies_every_migration(void **state)
{
    fixture *f = *state;
    fresh_dir(f, "refresh");
    assert_exit(run_cli(f, LOCAL, ARGS("migrate", "up")), 0);
    exec_db(f, "poblysh.db",
            "INSERT INTO tenants (id) VALUES ('8f14e45f-ceea-467f-a9f7-5e2c1d1b2a3c')");
    const run_result *r = run_cli(f, LOCAL, ARGS("migrate", "refresh"));
    assert_exit(r, 0);
    assert_empty(r->err);
    assert_contains(r->out, "Reverting every applied migration, then applying every migration.\n");
    assert_contains(r->out, "Reverting " TENANTS " ... done (");
    assert_contains(r->out, "Applying " TENANTS " ... done (");
    assert_contains(r->out, "Reverted 1 migration and applied 1.\n");
    assert_int_equal(db_int(f, "poblysh.db", "SELECT count(*) FROM tenants"), 0); /* recreated */
    assert_int_equal(db_history_count(f, "poblysh.db"), 1);
}

static void test_workflow_cli__fresh_reset_refresh_need_yes_outside_local_and_test(void **state)
{
    fixture *f = *state;
    fresh_dir(f, "workflow_guard");
    const char *url = file_url(f, "prod.db");
    static const char *const commands[] = {"fresh", "reset", "refresh"};
    static const char *const profiles[] = {"production", "staging"};
    assert_exit(run_cli(f, LOCAL, ARGS("--database-url", url, "migrate", "up")), 0);
    exec_db(f, "prod.db",
            "INSERT INTO tenants (id) VALUES ('8f14e45f-ceea-467f-a9f7-5e2c1d1b2a3c')");
    exec_db(f, "prod.db", "CREATE TABLE keep_me (id INTEGER)");
    for (size_t c = 0; c < 3; c++) {
        for (size_t p = 0; p < 2; p++) {
            const run_result *r = run_cli(f, (cli_env){profiles[p], NULL},
                                          ARGS("--database-url", url, "migrate", commands[c]));
            assert_exit(r, 2);
            assert_contains(r->err, "--yes");
            assert_contains(r->err, fmt(f, "migrate %s", commands[c]));
            assert_contains(r->err, fmt(f, "\"%s\"", profiles[p]));
            assert_lacks(r->out, "Dropping");
            assert_lacks(r->out, "Reverting");
            assert_lacks(r->out, "Applying");
            assert_true(db_has_table(f, "prod.db", "keep_me"));
            assert_int_equal(db_int(f, "prod.db", "SELECT count(*) FROM tenants"), 1);
            assert_int_equal(db_history_count(f, "prod.db"), 1);
        }
        /* the URL from the environment is guarded alike */
        const run_result *r =
            run_cli(f, (cli_env){"production", url}, ARGS("migrate", commands[c]));
        assert_exit(r, 2);
        assert_contains(r->err, "--yes");
        assert_int_equal(db_int(f, "prod.db", "SELECT count(*) FROM tenants"), 1);
    }

    /* With --yes they run. */
    const cli_env production = {"production", NULL};
    const run_result *r =
        run_cli(f, production, ARGS("--database-url", url, "migrate", "refresh", "--yes"));
    assert_exit(r, 0);
    assert_empty(r->err);
    assert_contains(r->out, "Reverted 1 migration and applied 1.\n");
    assert_int_equal(db_int(f, "prod.db", "SELECT count(*) FROM tenants"), 0);
    assert_true(db_has_table(f, "prod.db", "keep_me"));

    r = run_cli(f, production, ARGS("--database-url", url, "migrate", "fresh", "--yes"));
    assert_exit(r, 0);
    assert_empty(r->err);
    assert_contains(r->out, "Dropped table keep_me\n");
    assert_contains(r->out, "Applied 1 migration.\n");
    assert_false(db_has_table(f, "prod.db", "keep_me"));
    assert_int_equal(db_history_count(f, "prod.db"), 1);

    r = run_cli(f, production, ARGS("--database-url", url, "migrate", "reset", "--yes"));
    assert_exit(r, 0);
    assert_empty(r->err);
    assert_contains(r->out, "Reverted 1 migration.\n");
    assert_false(db_has_table(f, "prod.db", "tenants"));
    assert_int_equal(db_history_count(f, "prod.db"), 0);

    /* local and test need no --yes */
    r = run_cli(f, (cli_env){"test", url}, ARGS("migrate", "fresh"));
    assert_exit(r, 0);
    assert_true(db_has_table(f, "prod.db", "tenants"));
}

/* ==== Help and options ==== */

static void test_workflow_cli__help_lists_every_command(void **state)
{
    fixture *f = *state;
    fresh_dir(f, "workflow_help");
    static const char *const commands[] = {"up",      "down",  "status", "repair", "fresh",
                                           "refresh", "reset", "schema", "verify", "generate"};
    const run_result *r = run_cli(f, LOCAL, ARGS("--help"));
    assert_exit(r, 0);
    assert_empty(r->err);
    for (size_t i = 0; i < PM_ARRAY_LEN(commands); i++) {
        assert_contains(r->out, fmt(f, "\n  migrate %s ", commands[i]));
        const run_result *c = run_cli(f, LOCAL, ARGS("migrate", commands[i], "--help"));
        assert_exit(c, 0);
        assert_empty(c->err);
        assert_contains(c->out, fmt(f, "Usage: poblysh migrate %s", commands[i]));
    }
    r = run_cli(f, LOCAL, ARGS("migrate", "up", "--help"));
    assert_contains(r->out, "--dry-run");
    r = run_cli(f, LOCAL, ARGS("migrate", "down", "--help"));
    assert_contains(r->out, "--dry-run");
    r = run_cli(f, LOCAL, ARGS("migrate", "schema", "--help"));
    assert_contains(r->out, "--output FILE");
    r = run_cli(f, LOCAL, ARGS("migrate", "verify", "--help"));
    assert_contains(r->out, "--database-url URL");
    for (size_t i = 0; i < 3; i++) {
        r = run_cli(f, LOCAL, ARGS("migrate", commands[4 + i], "--help"));
        assert_contains(r->out, "--yes");
    }
    /* an unknown command lists them all too */
    r = run_cli(f, LOCAL, ARGS("migrate", "nope"));
    assert_exit(r, 2);
    for (size_t i = 0; i < PM_ARRAY_LEN(commands); i++)
        assert_contains(r->err, commands[i]);
    assert_int_equal(dir_entry_count(f), 0);
}

static void test_workflow_cli__workflow_options_apply_only_to_their_commands(void **state)
{
    fixture *f = *state;
    fresh_dir(f, "workflow_options");
    static const char *const refused[][3] = {
        {"fresh", "--dry-run", NULL},   {"reset", "--dry-run", NULL},
        {"refresh", "--dry-run", NULL}, {"status", "--dry-run", NULL},
        {"schema", "--yes", NULL},      {"verify", "--yes", NULL},
        {"up", "--output", "x.txt"},    {"verify", "--output", "x.txt"},
        {"schema", "--dry-run", NULL},  {"fresh", "-n", "1"},
    };
    for (size_t i = 0; i < PM_ARRAY_LEN(refused); i++) {
        const run_result *r =
            refused[i][2]
                ? run_cli(f, LOCAL, ARGS("migrate", refused[i][0], refused[i][1], refused[i][2]))
                : run_cli(f, LOCAL, ARGS("migrate", refused[i][0], refused[i][1]));
        assert_exit(r, 2);
        assert_contains(r->err,
                        fmt(f, "%s does not apply to migrate %s", refused[i][1], refused[i][0]));
        assert_empty(r->out);
    }
    assert_int_equal(dir_entry_count(f), 0); /* no database was opened */
}

/* ==== Main ==== */

static int make_dir(const char *path)
{
    return mkdir(path, 0755) == 0 || errno == EEXIST ? 0 : -1;
}

/* path made absolute against the current directory, since each child runs
 * in a directory of its own; malloc'd. */
static char *absolute_path(const char *path)
{
    if (path[0] == '/')
        return strdup(path);
    char cwd[4096];
    if (!getcwd(cwd, sizeof(cwd)))
        return NULL;
    size_t n = strlen(cwd) + strlen(path) + 2;
    char *out = malloc(n);
    if (out)
        snprintf(out, n, "%s/%s", cwd, path);
    return out;
}

#define CLI_TEST(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s <path to poblysh> <work dir>\n", argv[0]);
        return 2;
    }
    char *binary = absolute_path(argv[1]);
    if (!binary || access(binary, X_OK) != 0) {
        fprintf(stderr, "test_workflow_cli: %s is not an executable: %s\n", argv[1],
                strerror(errno));
        free(binary);
        return 2;
    }
    char *root = make_dir(argv[2]) == 0 ? absolute_path(argv[2]) : NULL;
    if (!root) {
        fprintf(stderr, "test_workflow_cli: cannot use work dir %s: %s\n", argv[2],
                strerror(errno));
        free(binary);
        return 2;
    }
    cli_path = binary;
    work_root = root;

    const struct CMUnitTest tests[] = {
        CLI_TEST(test_workflow_cli__up_dry_run_prints_the_sql_and_changes_nothing),
        CLI_TEST(test_workflow_cli__down_dry_run_prints_the_sql_and_reverts_nothing),
        CLI_TEST(test_workflow_cli__dry_run_under_production_needs_no_yes_and_changes_nothing),
        CLI_TEST(test_workflow_cli__schema_prints_the_golden_text),
        CLI_TEST(test_workflow_cli__schema_output_writes_the_same_text_and_says_so),
        CLI_TEST(test_workflow_cli__verify_passes_the_builtin_set_in_memory),
        CLI_TEST(test_workflow_cli__verify_never_touches_the_configured_database),
        CLI_TEST(test_workflow_cli__fresh_drops_everything_and_applies_every_migration),
        CLI_TEST(test_workflow_cli__reset_reverts_every_applied_migration),
        CLI_TEST(test_workflow_cli__refresh_reverts_and_applies_every_migration),
        CLI_TEST(test_workflow_cli__fresh_reset_refresh_need_yes_outside_local_and_test),
        CLI_TEST(test_workflow_cli__help_lists_every_command),
        CLI_TEST(test_workflow_cli__workflow_options_apply_only_to_their_commands),
    };
    int failed = cmocka_run_group_tests_name("workflow_cli", tests, NULL, NULL);
    free(binary);
    free(root);
    return failed;
}
