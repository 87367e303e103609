/* test_cli.c: the poblysh binary end to end. Each test runs it as a child
 * process with a controlled environment, in a fresh directory of its own, and
 * checks the exit status, stdout, stderr and the database it left behind.
 * Run as: test_cli <path to poblysh> <work dir>. */
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
#define PASSWORD "s3cr3tPW"

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

static void write_file(fixture *f, const char *file, const char *text)
{
    FILE *fp = fopen(path_in_dir(f, file), "w");
    assert_non_null(fp);
    fputs(text, fp);
    assert_int_equal(fclose(fp), 0);
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

static size_t count_occurrences(const char *text, const char *needle)
{
    size_t n = 0;
    for (const char *p = text; (p = strstr(p, needle)); p += strlen(needle))
        n++;
    return n;
}

/* The line of text that starts with prefix, without its newline; fails the
 * test when there is none. */
static char *line_starting(fixture *f, const char *text, const char *prefix)
{
    size_t n = strlen(prefix);
    for (const char *p = text; *p;) {
        size_t len = strcspn(p, "\n");
        if (len >= n && strncmp(p, prefix, n) == 0)
            return fmt(f, "%.*s", (int)len, p);
        p += len + (p[len] == '\n');
    }
    fail_msg("no line starts with \"%s\" in:\n---\n%s---", prefix, text);
    return NULL;
}

static void format_utc(time_t t, char *buf, size_t size)
{
    struct tm tm;
    assert_non_null(gmtime_r(&t, &tm));
    assert_true(strftime(buf, size, "%Y-%m-%d %H:%M:%S", &tm) > 0);
}

static double seconds_since(const struct timespec *start)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - start->tv_sec) + (double)(now.tv_nsec - start->tv_nsec) / 1e9;
}

/* ==== up, down, status ==== */

static void test_cli__up_on_local_profile_creates_poblysh_db_with_tenants(void **state)
{
    fixture *f = *state;
    fresh_dir(f, "up_local");
    const run_result *r = run_cli(f, LOCAL, ARGS("migrate", "up"));
    assert_exit(r, 0);
    assert_contains(r->out, "Database: sqlite://poblysh.db (sqlite, profile local)\n");
    assert_contains(r->out, "Applying " TENANTS " ... done (");
    assert_contains(r->out, "Applied 1 migration.\n");
    assert_empty(r->err);

    assert_true(file_exists(f, "poblysh.db"));
    pm_db *db = open_db(f, "poblysh.db");
    assert_true(pm_test_has_table(db, "tenants"));
    assert_true(pm_test_has_column(db, "tenants", "id"));
    assert_true(pm_test_has_column(db, "tenants", "name"));
    assert_true(pm_test_has_column(db, "tenants", "created_at"));
    assert_false(pm_test_has_column(db, "tenants", "no_such_column"));
    assert_int_equal(pm_test_history_count(db), 1);
    char *version = keep(f, pm_test_text(db, "SELECT version FROM seaql_migrations"));
    assert_non_null(version);
    assert_string_equal(version, TENANTS);
}

static void test_cli__unset_profile_defaults_to_local(void **state)
{
    fixture *f = *state;
    fresh_dir(f, "unset_profile");
    const run_result *r = run_cli(f, (cli_env){NULL, NULL}, ARGS("migrate", "status"));
    assert_exit(r, 0);
    assert_contains(r->out, "Database: sqlite://poblysh.db (sqlite, profile local)\n");
    assert_contains(r->out, "0 applied, 1 pending.\n");
    assert_empty(r->err);
}

static void test_cli__status_lists_applied_then_pending_after_down(void **state)
{
    fixture *f = *state;
    fresh_dir(f, "status");
    char earliest[32], latest[32];
    format_utc(time(NULL), earliest, sizeof(earliest));
    assert_exit(run_cli(f, LOCAL, ARGS("migrate", "up")), 0);
    format_utc(time(NULL), latest, sizeof(latest));

    const run_result *r = run_cli(f, LOCAL, ARGS("migrate", "status"));
    assert_exit(r, 0);
    assert_empty(r->err);
    char *header = line_starting(f, r->out, "Migration ");
    assert_contains(header, "State");
    assert_contains(header, "Applied at (UTC)");
    char *line = line_starting(f, r->out, TENANTS " ");
    char state_name[16] = "", date[16] = "", clock[16] = "";
    assert_int_equal(sscanf(line, "%*s %15s %15s %15s", state_name, date, clock), 3);
    assert_string_equal(state_name, "applied");
    /* The time shown is when up ran, in UTC. */
    char *when = fmt(f, "%s %s", date, clock);
    if (strcmp(when, earliest) < 0 || strcmp(when, latest) > 0)
        fail_msg("applied at \"%s\", expected between \"%s\" and \"%s\"", when, earliest, latest);
    assert_contains(r->out, "1 applied, 0 pending.\n");

    r = run_cli(f, LOCAL, ARGS("migrate", "down"));
    assert_exit(r, 0);
    assert_contains(r->out, "Reverting " TENANTS " ... done (");
    assert_contains(r->out, "Reverted 1 migration.\n");
    assert_empty(r->err);

    r = run_cli(f, LOCAL, ARGS("migrate", "status"));
    assert_exit(r, 0);
    assert_empty(r->err);
    line = line_starting(f, r->out, TENANTS " ");
    assert_contains(line, " pending");
    assert_lacks(line, "applied");
    assert_lacks(line, date);
    assert_contains(r->out, "0 applied, 1 pending.\n");
}

static void test_cli__status_marks_versions_unknown_to_this_build(void **state)
{
    fixture *f = *state;
    fresh_dir(f, "status_unknown");
    assert_exit(run_cli(f, LOCAL, ARGS("migrate", "up")), 0);
    pm_test_exec(open_db(f, "poblysh.db"),
                 "INSERT INTO seaql_migrations (version, applied_at) "
                 "VALUES ('m2099_01_01_000000_from_the_future', 1700000000)");
    close_db(f);

    const run_result *r = run_cli(f, LOCAL, ARGS("migrate", "status"));
    assert_exit(r, 0);
    assert_empty(r->err);
    assert_contains(line_starting(f, r->out, TENANTS " "), " applied ");
    char *line = line_starting(f, r->out, "m2099_01_01_000000_from_the_future ");
    assert_contains(line, " missing ");
    assert_contains(line, "2023-11-14 22:13:20");
    assert_contains(r->out, "recorded in the database, not in this build");
    assert_contains(r->out, "1 applied, 0 pending, 1 missing");
}

static void test_cli__second_up_applies_nothing(void **state)
{
    fixture *f = *state;
    fresh_dir(f, "second_up");
    assert_exit(run_cli(f, LOCAL, ARGS("migrate", "up")), 0);
    int64_t applied_at =
        pm_test_int(open_db(f, "poblysh.db"), "SELECT applied_at FROM seaql_migrations");
    close_db(f);

    const run_result *r = run_cli(f, LOCAL, ARGS("migrate", "up"));
    assert_exit(r, 0);
    assert_contains(r->out, "Nothing to apply: the database is up to date.\n");
    assert_lacks(r->out, "Applying");
    assert_lacks(r->out, "Applied");
    assert_empty(r->err);

    pm_db *db = open_db(f, "poblysh.db");
    assert_int_equal(pm_test_history_count(db), 1);
    assert_int_equal(pm_test_int(db, "SELECT applied_at FROM seaql_migrations"), applied_at);
}

static void test_cli__down_removes_table_and_history_row(void **state)
{
    fixture *f = *state;
    fresh_dir(f, "down");
    assert_exit(run_cli(f, LOCAL, ARGS("migrate", "up")), 0);
    assert_true(pm_test_has_table(open_db(f, "poblysh.db"), "tenants"));
    close_db(f);

    const run_result *r = run_cli(f, LOCAL, ARGS("migrate", "down"));
    assert_exit(r, 0);
    assert_contains(r->out, "Reverting " TENANTS " ... done (");
    assert_contains(r->out, "Reverted 1 migration.\n");
    assert_empty(r->err);

    pm_db *db = open_db(f, "poblysh.db");
    assert_false(pm_test_has_table(db, "tenants"));
    assert_true(pm_test_has_table(db, "seaql_migrations"));
    assert_int_equal(pm_test_history_count(db), 0);
    close_db(f);

    r = run_cli(f, LOCAL, ARGS("migrate", "down"));
    assert_exit(r, 0);
    assert_contains(r->out, "Nothing to revert: no migration is applied.\n");
    assert_lacks(r->out, "Reverting");
    assert_empty(r->err);
}

static void test_cli__down_refuses_version_unknown_to_this_build(void **state)
{
    fixture *f = *state;
    fresh_dir(f, "down_unknown");
    pm_db *db = open_db(f, "poblysh.db");
    pm_test_exec(db, "CREATE TABLE seaql_migrations (version VARCHAR PRIMARY KEY NOT NULL, "
                     "applied_at BIGINT NOT NULL)");
    pm_test_exec(db, "INSERT INTO seaql_migrations VALUES ('m2099_01_01_000000_gone', 1700000000)");
    close_db(f);

    const run_result *r = run_cli(f, LOCAL, ARGS("migrate", "down"));
    assert_exit(r, 1);
    assert_contains(r->err, "poblysh: error: ");
    assert_contains(r->err, "cannot revert m2099_01_01_000000_gone");
    assert_contains(r->err, "nothing was reverted");
    assert_lacks(r->out, "Reverting");
    assert_lacks(r->out, "error");
    assert_int_equal(pm_test_history_count(open_db(f, "poblysh.db")), 1);
}

static void test_cli__failing_migration_exits_1_and_records_nothing(void **state)
{
    fixture *f = *state;
    fresh_dir(f, "failing");
    pm_test_exec(open_db(f, "poblysh.db"), "CREATE TABLE tenants (legacy INTEGER)");
    close_db(f);

    const run_result *r = run_cli(f, LOCAL, ARGS("migrate", "up"));
    assert_exit(r, 1);
    assert_contains(r->out, "Applying " TENANTS " ... FAILED\n");
    assert_lacks(r->out, "Applied");
    assert_lacks(r->out, "error");
    assert_contains(r->err, "poblysh: error: migration " TENANTS " failed:");
    assert_contains(r->err, "already exists");
    assert_contains(r->err, "statement: CREATE TABLE");
    assert_contains(r->err, "rolled back");

    pm_db *db = open_db(f, "poblysh.db");
    assert_int_equal(pm_test_history_count(db), 0);
    assert_true(pm_test_has_column(db, "tenants", "legacy"));
    assert_false(pm_test_has_column(db, "tenants", "created_at"));
}

/* ==== Choosing the database ==== */

static void test_cli__database_url_flag_overrides_environment(void **state)
{
    fixture *f = *state;
    fresh_dir(f, "url_flag");
    cli_env env = {"local", "sqlite:env.db"};
    const run_result *r =
        run_cli(f, env, ARGS("--database-url", "sqlite:flag.db", "migrate", "up"));
    assert_exit(r, 0);
    assert_contains(r->out, "Database: sqlite:flag.db (sqlite, profile local)\n");
    assert_contains(r->out, "Applied 1 migration.\n");
    assert_empty(r->err);
    assert_true(file_exists(f, "flag.db"));
    assert_false(file_exists(f, "env.db"));
    assert_false(file_exists(f, "poblysh.db"));
    assert_int_equal(pm_test_history_count(open_db(f, "flag.db")), 1);
    close_db(f);

    /* Without the flag the environment wins over the profile's default. */
    r = run_cli(f, env, ARGS("migrate", "status"));
    assert_exit(r, 0);
    assert_contains(r->out, "Database: sqlite:env.db (sqlite, profile local)\n");
    assert_contains(r->out, "0 applied, 1 pending.\n");
    assert_empty(r->err);
    assert_false(file_exists(f, "poblysh.db"));
}

static void test_cli__test_profile_uses_memory_database(void **state)
{
    fixture *f = *state;
    fresh_dir(f, "profile_test");
    for (int round = 0; round < 2; round++) {
        /* Every run starts from an empty database: the second applies again. */
        const run_result *r = run_cli(f, (cli_env){"test", NULL}, ARGS("migrate", "up"));
        assert_exit(r, 0);
        assert_contains(r->out, "Database: sqlite::memory: (sqlite, profile test)\n");
        assert_contains(r->out, "Applying " TENANTS " ... done (");
        assert_contains(r->out, "Applied 1 migration.\n");
        assert_empty(r->err);
    }
    assert_false(file_exists(f, "poblysh.db"));
    assert_int_equal(dir_entry_count(f), 0);
}

static void test_cli__production_profile_without_url_is_clear_error(void **state)
{
    fixture *f = *state;
    fresh_dir(f, "profile_production");
    static const char *const profiles[] = {"production", "staging"};
    for (size_t i = 0; i < 2; i++) {
        const run_result *r = run_cli(f, (cli_env){profiles[i], NULL}, ARGS("migrate", "up"));
        assert_exit(r, 2);
        assert_empty(r->out);
        assert_contains(r->err, "poblysh: error: ");
        assert_contains(r->err, fmt(f, "\"%s\"", profiles[i]));
        assert_contains(r->err, "POBLYSH_DATABASE_URL");
        assert_contains(r->err, "--database-url");
    }
    assert_int_equal(dir_entry_count(f), 0);

    /* Given a URL, the same profile migrates. */
    const run_result *r = run_cli(f, (cli_env){"production", NULL},
                                  ARGS("--database-url", "sqlite:prod.db", "migrate", "up"));
    assert_exit(r, 0);
    assert_contains(r->out, "Database: sqlite:prod.db (sqlite, profile production)\n");
    assert_contains(r->out, "Applied 1 migration.\n");
    assert_int_equal(pm_test_history_count(open_db(f, "prod.db")), 1);
}

static void test_cli__verbose_reports_profile_and_url_on_stderr(void **state)
{
    fixture *f = *state;
    fresh_dir(f, "verbose");
    const run_result *r = run_cli(f, LOCAL, ARGS("-v", "migrate", "status"));
    assert_exit(r, 0);
    assert_contains(r->err, "profile local");
    assert_contains(r->err, "database URL sqlite://poblysh.db");
    assert_contains(r->err, "1 migration(s) compiled in");
    assert_lacks(r->out, "poblysh:");
    assert_contains(r->out, "0 applied, 1 pending.\n");
}

/* ==== Help and usage errors ==== */

static void test_cli__help_documents_commands_and_exit_codes(void **state)
{
    fixture *f = *state;
    fresh_dir(f, "help");
    static const char *const spellings[] = {"--help", "-h"};
    for (size_t i = 0; i < 2; i++) {
        const run_result *r = run_cli(f, LOCAL, ARGS(spellings[i]));
        assert_exit(r, 0);
        assert_empty(r->err);
        assert_contains(r->out, "Usage: poblysh");
        assert_contains(r->out, "migrate up ");
        assert_contains(r->out, "migrate down ");
        assert_contains(r->out, "migrate status ");
        assert_contains(r->out, "--database-url");
        assert_contains(r->out, "--lock-timeout");
        assert_contains(r->out, "POBLYSH_DATABASE_URL");
        assert_contains(r->out, "POBLYSH_PROFILE");
        assert_contains(r->out, "sqlite:");
        assert_contains(r->out, "Exit status");
        for (int code = 0; code <= 4; code++)
            assert_contains(r->out, fmt(f, "\n  %d  ", code));
        assert_contains(r->out, "\n  130  interrupted");
        assert_contains(r->out, "--wait");
        assert_contains(r->out, "postgres://");
    }

    static const char *const commands[] = {"up", "down", "status"};
    for (size_t i = 0; i < 3; i++) {
        const run_result *r = run_cli(f, LOCAL, ARGS("migrate", commands[i], "--help"));
        assert_exit(r, 0);
        assert_empty(r->err);
        assert_contains(r->out, fmt(f, "Usage: poblysh migrate %s", commands[i]));
        if (strcmp(commands[i], "status") != 0)
            assert_contains(r->out, "-n");
    }

    const run_result *r = run_cli(f, LOCAL, ARGS("--version"));
    assert_exit(r, 0);
    assert_string_equal(r->out, "poblysh " PM_VERSION_STRING "\n");
    assert_empty(r->err);

    /* Help touches no database. */
    assert_int_equal(dir_entry_count(f), 0);
}

static void test_cli__no_arguments_prints_usage_to_stderr(void **state)
{
    fixture *f = *state;
    fresh_dir(f, "no_arguments");
    const run_result *r = run_cli(f, LOCAL, NO_ARGS);
    assert_exit(r, 2);
    assert_empty(r->out);
    assert_contains(r->err, "Usage: poblysh");
    assert_contains(r->err, "migrate up ");

    r = run_cli(f, LOCAL, ARGS("migrate"));
    assert_exit(r, 2);
    assert_empty(r->out);
    assert_contains(r->err, "migrate needs a command");
    assert_int_equal(dir_entry_count(f), 0);
}

static void test_cli__unknown_command_is_usage_error(void **state)
{
    fixture *f = *state;
    fresh_dir(f, "unknown_command");
    const struct {
        const char *const *args;
        const char *named;
    } cases[] = {
        {ARGS("frobnicate"), "\"frobnicate\""},
        {ARGS("frobnicate", "up"), "\"frobnicate\""},
        {ARGS("migrate", "sideways"), "\"sideways\""},
        {ARGS("--bogus", "migrate", "up"), "\"--bogus\""},
        {ARGS("migrate", "up", "extra"), "\"extra\""},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const run_result *r = run_cli(f, LOCAL, cases[i].args);
        assert_exit(r, 2);
        assert_empty(r->out);
        assert_contains(r->err, "poblysh: ");
        assert_contains(r->err, cases[i].named);
        assert_contains(r->err, "poblysh --help");
    }
    assert_int_equal(dir_entry_count(f), 0);
}

static void test_cli__bad_n_is_usage_error(void **state)
{
    fixture *f = *state;
    fresh_dir(f, "bad_n");
    static const char *const values[] = {"0", "abc", "-3", "5x", "", "99999999999999999999"};
    static const char *const commands[] = {"up", "down"};
    for (size_t c = 0; c < 2; c++) {
        for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
            const run_result *r = run_cli(f, LOCAL, ARGS("migrate", commands[c], "-n", values[i]));
            assert_exit(r, 2);
            assert_empty(r->out);
            assert_contains(r->err, "-n must be a positive whole number");
            assert_contains(r->err, fmt(f, "\"%s\"", values[i]));
        }
    }

    const run_result *r = run_cli(f, LOCAL, ARGS("migrate", "up", "-n"));
    assert_exit(r, 2);
    assert_empty(r->out);
    assert_contains(r->err, "-n needs a value");

    r = run_cli(f, LOCAL, ARGS("migrate", "status", "-n", "1"));
    assert_exit(r, 2);
    assert_empty(r->out);
    assert_contains(r->err, "-n does not apply to migrate status");

    r = run_cli(f, LOCAL, ARGS("--lock-timeout", "0", "migrate", "up"));
    assert_exit(r, 2);
    assert_empty(r->out);
    assert_contains(r->err, "--lock-timeout");
    assert_contains(r->err, "\"0\"");

    /* Refused before any database is opened. */
    assert_int_equal(dir_entry_count(f), 0);
}

static void test_cli__unknown_scheme_lists_known_schemes(void **state)
{
    fixture *f = *state;
    fresh_dir(f, "unknown_scheme");
    const run_result *r = run_cli(f, LOCAL, ARGS("--database-url", "foo://x", "migrate", "up"));
    assert_exit(r, 2);
    assert_empty(r->out);
    assert_contains(r->err, "poblysh: error: ");
    assert_contains(r->err, "\"foo:\"");
    assert_contains(r->err, "sqlite:");

    assert_contains(r->err, "postgres:");
    assert_contains(r->err, "postgresql:");

    r = run_cli(f, (cli_env){"local", "oracle://host/db"}, ARGS("migrate", "status"));
    assert_exit(r, 2);
    assert_empty(r->out);
    assert_contains(r->err, "\"oracle:\"");
    assert_contains(r->err, "sqlite:");
    assert_int_equal(dir_entry_count(f), 0);
}

/* ==== Secrets ==== */

/* Runs each URL three ways (flag, flag with -v, environment with -v):
 * a usage error every time, and the password nowhere in the output. */
static void assert_password_hidden(fixture *f, const char *const *urls, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        const run_result *runs[3] = {
            run_cli(f, LOCAL, ARGS("--database-url", urls[i], "migrate", "up")),
            run_cli(f, LOCAL, ARGS("-v", "--database-url", urls[i], "migrate", "status")),
            run_cli(f, (cli_env){"production", urls[i]}, ARGS("--verbose", "migrate", "down")),
        };
        for (size_t k = 0; k < 3; k++) {
            const run_result *r = runs[k];
            if (r->status != 2 || strstr(r->out, PASSWORD) || strstr(r->err, PASSWORD))
                fail_msg("URL \"%s\" (run %zu): exit %d, expected 2 and no \"%s\" in the "
                         "output\n--- stdout\n%s--- stderr\n%s---",
                         urls[i], k, r->status, PASSWORD, r->out, r->err);
            assert_contains(r->err, "poblysh: error: ");
            if (k > 0)
                assert_contains(r->err, "***");
        }
    }
}

static void test_cli__password_never_printed(void **state)
{
    fixture *f = *state;
    fresh_dir(f, "password");
    static const char *const urls[] = {
        "foo://user:" PASSWORD "@host/db",            /* unknown scheme */
        "sqlite://u:" PASSWORD "@x/db",               /* sqlite takes no password */
        "sqlite://u:" PASSWORD "@",                   /* ... nor an empty host */
        "foo://user:" PASSWORD "%zz@host/db",         /* bad escape in the password */
        "foo://user:" PASSWORD "@[::1/db",            /* unterminated IPv6 literal */
        "foo://user:" PASSWORD "#x@host/db",          /* raw '#' in the password */
        "foo://user:" PASSWORD "/x@host/db",          /* raw '/' in the password */
        "foo://user:" PASSWORD "@host:99999/db",      /* port out of range */
        "foo://user:" PASSWORD "@h/db@x",             /* '@' in the path */
        "foo://user:" PASSWORD "@ho\nst/db",          /* control character */
        "sqlite:x.db?password=" PASSWORD,             /* password parameter */
        "sqlite:x.db?pwd=" PASSWORD "%zz",            /* ... with a bad escape */
        "postgres://user:" PASSWORD "@h/db?mode=zz%", /* bad escape after it */
    };
    assert_password_hidden(f, urls, sizeof(urls) / sizeof(urls[0]));
    assert_int_equal(dir_entry_count(f), 0);
}

/* A password with no "@host" after it reads as host:port; it must still not
 * be echoed, in the -v line or in the port error. */
static void test_cli__password_of_url_without_host_never_printed(void **state)
{
    fixture *f = *state;
    fresh_dir(f, "password_no_host");
    static const char *const urls[] = {
        "postgres://admin:" PASSWORD,
        "postgres://admin:" PASSWORD "/db",
    };
    assert_password_hidden(f, urls, sizeof(urls) / sizeof(urls[0]));
}

/* ==== Database failures ==== */

static void test_cli__unwritable_database_path_fails_with_exit_4_and_names_file(void **state)
{
    fixture *f = *state;
    fresh_dir(f, "unwritable");
    char *missing = path_in_dir(f, "no-such-dir/x.db");
    const run_result *r =
        run_cli(f, LOCAL, ARGS("--database-url", fmt(f, "sqlite://%s", missing), "migrate", "up"));
    assert_exit(r, 4); /* cannot connect (open) */
    assert_contains(r->err, "poblysh: error: ");
    assert_contains(r->err, fmt(f, "\"%s\"", missing));
    assert_lacks(r->out, "Applying");
    assert_lacks(r->out, "error");

    /* mode=rw does not create the file. */
    r = run_cli(f, LOCAL, ARGS("--database-url", "sqlite:missing.db?mode=rw", "migrate", "up"));
    assert_exit(r, 4); /* cannot connect (open) */
    assert_contains(r->err, "\"missing.db\"");
    assert_lacks(r->out, "Applying");
    assert_false(file_exists(f, "missing.db"));
    assert_int_equal(dir_entry_count(f), 0);
}

static void test_cli__file_that_is_not_a_database_fails_with_exit_4(void **state)
{
    fixture *f = *state;
    fresh_dir(f, "not_a_database");
    write_file(f, "notes.db",
               "These are meeting notes, not a SQLite database at all. "
               "They are long enough to fill a database header.\n");
    const run_result *r =
        run_cli(f, LOCAL, ARGS("--database-url", "sqlite:notes.db", "migrate", "up"));
    assert_exit(r, 4); /* cannot connect (open) */
    assert_contains(r->err, "\"notes.db\"");
    assert_contains(r->err, "not a database");
    assert_lacks(r->out, "Applying");
}

/* ==== Concurrency and the lock ==== */

static void test_cli__concurrent_up_processes_apply_once(void **state)
{
    fixture *f = *state;
    fresh_dir(f, "concurrent");
    enum { RUNNERS = 8, ROUNDS = 3 };
    for (int round = 0; round < ROUNDS; round++) {
        char *file = fmt(f, "shared%d.db", round);
        const char *url = file_url(f, file);
        child children[RUNNERS];
        for (int i = 0; i < RUNNERS; i++)
            children[i] = spawn_cli(f, LOCAL, ARGS("--database-url", url, "migrate", "up"));
        const run_result *results[RUNNERS];
        for (int i = 0; i < RUNNERS; i++)
            results[i] = collect(f, children[i]);

        size_t appliers = 0, applying_lines = 0;
        for (int i = 0; i < RUNNERS; i++) {
            const run_result *r = results[i];
            assert_exit(r, 0);
            assert_empty(r->err);
            applying_lines += count_occurrences(r->out, "Applying " TENANTS " ... done (");
            if (strstr(r->out, "Applied 1 migration.\n"))
                appliers++;
            else
                assert_contains(r->out, "Nothing to apply: the database is up to date.\n");
        }
        assert_int_equal(appliers, 1);
        assert_int_equal(applying_lines, 1);

        pm_db *db = open_db(f, file);
        assert_int_equal(pm_test_history_count(db), 1);
        assert_true(pm_test_has_table(db, "tenants"));
        close_db(f);
    }
}

static void test_cli__held_lock_times_out_with_exit_3(void **state)
{
    fixture *f = *state;
    fresh_dir(f, "lock");
    pm_db *db = open_db(f, "locked.db");
    pm_test_exec(db, "BEGIN IMMEDIATE"); /* another writer holds the file */

    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    const run_result *r =
        run_cli(f, LOCAL,
                ARGS("--lock-timeout", "1", "--database-url", "sqlite:locked.db", "migrate", "up"));
    double waited = seconds_since(&start);
    assert_exit(r, 3);
    assert_contains(r->err, "poblysh: error: ");
    assert_contains(r->err, "locked.db");
    assert_contains(r->err, "locked");
    assert_lacks(r->out, "Applying");
    if (waited < 0.9 || waited > 30)
        fail_msg("gave up after %.2f s; --lock-timeout 1 asked for about 1 s", waited);

    pm_test_exec(db, "ROLLBACK");
    close_db(f);
    r = run_cli(f, LOCAL, ARGS("--database-url", "sqlite:locked.db", "migrate", "up"));
    assert_exit(r, 0);
    assert_contains(r->out, "Applied 1 migration.\n");
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
        fprintf(stderr, "test_cli: %s is not an executable: %s\n", argv[1], strerror(errno));
        free(binary);
        return 2;
    }
    char *root = make_dir(argv[2]) == 0 ? absolute_path(argv[2]) : NULL;
    if (!root) {
        fprintf(stderr, "test_cli: cannot use work dir %s: %s\n", argv[2], strerror(errno));
        free(binary);
        return 2;
    }
    cli_path = binary;
    work_root = root;

    const struct CMUnitTest tests[] = {
        CLI_TEST(test_cli__up_on_local_profile_creates_poblysh_db_with_tenants),
        CLI_TEST(test_cli__unset_profile_defaults_to_local),
        CLI_TEST(test_cli__status_lists_applied_then_pending_after_down),
        CLI_TEST(test_cli__status_marks_versions_unknown_to_this_build),
        CLI_TEST(test_cli__second_up_applies_nothing),
        CLI_TEST(test_cli__down_removes_table_and_history_row),
        CLI_TEST(test_cli__down_refuses_version_unknown_to_this_build),
        CLI_TEST(test_cli__failing_migration_exits_1_and_records_nothing),
        CLI_TEST(test_cli__database_url_flag_overrides_environment),
        CLI_TEST(test_cli__test_profile_uses_memory_database),
        CLI_TEST(test_cli__production_profile_without_url_is_clear_error),
        CLI_TEST(test_cli__verbose_reports_profile_and_url_on_stderr),
        CLI_TEST(test_cli__help_documents_commands_and_exit_codes),
        CLI_TEST(test_cli__no_arguments_prints_usage_to_stderr),
        CLI_TEST(test_cli__unknown_command_is_usage_error),
        CLI_TEST(test_cli__bad_n_is_usage_error),
        CLI_TEST(test_cli__unknown_scheme_lists_known_schemes),
        CLI_TEST(test_cli__password_never_printed),
        CLI_TEST(test_cli__password_of_url_without_host_never_printed),
        CLI_TEST(test_cli__unwritable_database_path_fails_with_exit_4_and_names_file),
        CLI_TEST(test_cli__file_that_is_not_a_database_fails_with_exit_4),
        CLI_TEST(test_cli__concurrent_up_processes_apply_once),
        CLI_TEST(test_cli__held_lock_times_out_with_exit_3),
    };
    int failed = cmocka_run_group_tests_name("cli", tests, NULL, NULL);
    free(binary);
    free(root);
    return failed;
}
