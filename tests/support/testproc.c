/* testproc.c: the helpers the CLI tests share for running the built poblysh
 * binary as a child process with a controlled environment, each test in a
 * fresh directory of its own, and for checking its exit status and output. */
#include "testproc.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

/* ==== Fixture ==== */

/* How long one run of the binary may take before it is killed. */
#define RUN_TIMEOUT_MS 60000

const char *cli_path;
const char *work_root;

const cli_env LOCAL = {"local", NULL};
const char *cli_argv0;
const char *cli_stdout_path;
const char *cli_extra_env;
const char *cli_extra_env2;

void *keep(fixture *f, void *p)
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
char *fmt(fixture *f, const char *format, ...)
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

int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    if (!f)
        return -1;
    *state = f;
    return 0;
}

void free_run(run_result *r)
{
    if (r) {
        free(r->out);
        free(r->err);
        free(r);
    }
}

int teardown(void **state)
{
    fixture *f = *state;
    cli_argv0 = NULL;
    cli_extra_env = NULL;
    cli_extra_env2 = NULL;
    cli_stdout_path = NULL;
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
void fresh_dir(fixture *f, const char *name)
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

char *path_in_dir(fixture *f, const char *file)
{
    return fmt(f, "%s/%s", f->dir, file);
}

bool file_exists(fixture *f, const char *file)
{
    struct stat st;
    return stat(path_in_dir(f, file), &st) == 0;
}

size_t dir_entry_count(fixture *f)
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
char *file_url(fixture *f, const char *file)
{
    return fmt(f, "sqlite://%s/%s", f->dir, file);
}

/* Opens a file of the test's directory, closing the one open before. */
pm_db *open_db(fixture *f, const char *file)
{
    pm_db_close(f->db);
    f->db = NULL;
    f->db = pm_test_open(file_url(f, file));
    return f->db;
}

void close_db(fixture *f)
{
    pm_db_close(f->db);
    f->db = NULL;
}

void empty_db(fixture *f, const char *file)
{
    open_db(f, file);
    close_db(f);
}

/* ==== Running the binary ==== */

/* The child's environment: PATH, the profile and URL asked for, and the
 * sanitizer settings of this process so a sanitized binary reports alike. */
static char **child_environment(fixture *f, cli_env env)
{
    static const char *const passed[] = {"ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"};
    char **envp = keep(f, calloc(9, sizeof(*envp)));
    assert_non_null(envp);
    size_t n = 0;
    envp[n++] = "PATH=/usr/local/bin:/usr/bin:/bin";
    if (env.profile)
        envp[n++] = fmt(f, "%s=%s", PM_ENV_PROFILE, env.profile);
    if (env.url)
        envp[n++] = fmt(f, "%s=%s", PM_ENV_DATABASE_URL, env.url);
    if (cli_extra_env)
        envp[n++] = (char *)cli_extra_env;
    if (cli_extra_env2)
        envp[n++] = (char *)cli_extra_env2;
    for (size_t i = 0; i < sizeof(passed) / sizeof(passed[0]); i++) {
        const char *value = getenv(passed[i]);
        if (value)
            envp[n++] = fmt(f, "%s=%s", passed[i], value);
    }
    envp[n] = NULL;
    return envp;
}

/* Starts `poblysh args...` in the test's directory with only env set. */
child spawn_cli(fixture *f, cli_env env, const char *const *args)
{
    size_t nargs = 0;
    while (args[nargs])
        nargs++;
    char **argv = keep(f, calloc(nargs + 2, sizeof(*argv)));
    assert_non_null(argv);
    /* Invoked as `poblysh`, as a user types it, whichever build of the
     * command line (standalone, this repository's service, a fixture) runs:
     * argv[0] names the program in its messages. */
    argv[0] = (char *)(cli_argv0 ? cli_argv0 : "poblysh");
    for (size_t i = 0; i < nargs; i++)
        argv[i + 1] = (char *)args[i];
    char **envp = child_environment(f, env);
    pm_test_spawn_opts opts = {f->dir, false, false, cli_stdout_path};
    child c;
    c.pid = pm_test_spawn(cli_path, argv, envp, &opts, &c.out_fd, &c.err_fd);
    return c;
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
const run_result *collect(fixture *f, child c)
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

const run_result *run_cli(fixture *f, cli_env env, const char *const *args)
{
    return collect(f, spawn_cli(f, env, args));
}

/* ==== Assertions that show the run ==== */

void assert_exit_(const run_result *r, int code, const char *file, int line)
{
    if (r->status == code)
        return;
    print_error("exit status %d, expected %d\n--- stdout\n%s--- stderr\n%s---\n", r->status, code,
                r->out, r->err);
    _fail(file, line);
}

void assert_contains_(const char *text, const char *needle, const char *what, const char *file,
                      int line)
{
    if (strstr(text, needle))
        return;
    print_error("%s does not contain \"%s\":\n---\n%s---\n", what, needle, text);
    _fail(file, line);
}

void assert_lacks_(const char *text, const char *needle, const char *what, const char *file,
                   int line)
{
    if (!strstr(text, needle))
        return;
    print_error("%s contains \"%s\" but must not:\n---\n%s---\n", what, needle, text);
    _fail(file, line);
}

void assert_empty_(const char *text, const char *what, const char *file, int line)
{
    if (!*text)
        return;
    print_error("%s should be empty but is:\n---\n%s---\n", what, text);
    _fail(file, line);
}

/* ==== Main ==== */

int make_dir(const char *path)
{
    return mkdir(path, 0755) == 0 || errno == EEXIST ? 0 : -1;
}

/* path made absolute against the current directory, since each child runs
 * in a directory of its own; malloc'd. */
char *absolute_path(const char *path)
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

/* ==== Output ==== */

/* The line of text that starts with prefix, without its newline; fails the
 * test when there is none. */
char *line_starting(fixture *f, const char *text, const char *prefix)
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

/* ==== On a terminal ==== */

/* Runs `poblysh args...` with its stdout and stderr on a new
 * pseudo-terminal, in the test's directory, with env; returns all it wrote
 * (owned by the fixture) and stores the exit code. */
char *run_on_pty(fixture *f, char *const *env, const char *const *args, int *status)
{
    size_t nargs = 0;
    while (args[nargs])
        nargs++;
    char **argv = keep(f, calloc(nargs + 2, sizeof(*argv)));
    argv[0] = "poblysh";
    for (size_t i = 0; i < nargs; i++)
        argv[i + 1] = (char *)args[i];
    int master = -1;
    pid_t pid = forkpty(&master, NULL, NULL, NULL);
    if (pid < 0)
        fail_msg("forkpty: %s", strerror(errno));
    if (pid == 0) {
        if (chdir(f->dir) != 0)
            _exit(126);
        execve(cli_path, argv, env);
        _exit(127);
    }
    size_t cap = 1 << 20, len = 0;
    char *out = keep(f, calloc(1, cap + 1));
    for (;;) {
        ssize_t n = read(master, out + len, cap - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) /* EIO once the child has closed its side */
            break;
        len += (size_t)n;
        if (len == cap)
            break;
    }
    close(master);
    int ws = 0;
    waitpid(pid, &ws, 0);
    *status = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
    return out;
}

/* The environment of a terminal run: TERM and one more setting. */
char **pty_env(fixture *f, const char *term, const char *extra)
{
    char **env = keep(f, calloc(8, sizeof(*env)));
    size_t n = 0;
    env[n++] = "PATH=/usr/local/bin:/usr/bin:/bin";
    env[n++] = "POBLYSH_PROFILE=local";
    if (term)
        env[n++] = fmt(f, "TERM=%s", term);
    if (extra)
        env[n++] = (char *)extra;
    static const char *const passed[] = {"ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"};
    for (size_t i = 0; i < 3; i++)
        if (getenv(passed[i]))
            env[n++] = fmt(f, "%s=%s", passed[i], getenv(passed[i]));
    return env;
}
