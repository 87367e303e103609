/* testutil.c: fixture migrations and database helpers for the tests. The
 * helpers go through the core's driver wrappers, so they behave the same on
 * every backend. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../core/src/internal.h"
#include "testutil.h"

int pm_test_up_create(pm_schema *s, const void *data)
{
    static const pm_column columns[] = {
        {.name = "id", .type = PM_TYPE_INTEGER, .flags = PM_PRIMARY_KEY},
        {.name = "name", .type = PM_TYPE_TEXT},
    };
    pm_table t = {.name = data, .columns = columns, .ncolumns = PM_ARRAY_LEN(columns)};
    return pm_schema_create_table(s, &t, 0);
}

int pm_test_down_drop(pm_schema *s, const void *data)
{
    return pm_schema_drop_table(s, data, 0);
}

int pm_test_up_create_then_fail(pm_schema *s, const void *data)
{
    int rc = pm_test_up_create(s, data);
    if (rc == 0)
        rc = pm_schema_exec(s, PM_TEST_BAD_STATEMENT);
    return rc;
}

void pm_test__ok(int rc, const pm_error *err, const char *file, int line)
{
    if (rc == 0)
        return;
    print_error("%s:%d: call failed with %d (%s): %s [migration %s, statement %s, code %s]\n", file,
                line, rc, pm_strerror(rc), err && err->message ? err->message : "(no message)",
                err && err->migration ? err->migration : "-",
                err && err->statement ? err->statement : "-",
                err && err->db_code ? err->db_code : "-");
    _fail(file, line);
}

pm_db *pm_test_open(const char *url)
{
    pm_db *db = NULL;
    pm_error err = PM_ERROR_INIT;
    pm_test_ok(pm_db_open(&db, url, NULL, &err), &err);
    pm_error_clear(&err);
    return db;
}

void pm_test_exec(pm_db *db, const char *sql)
{
    pm_error err = PM_ERROR_INIT;
    pm_test_ok(pm_db_exec(db, sql, &err), &err);
    pm_error_clear(&err);
}

typedef struct {
    int rows;
    char *first;
    bool first_null;
} first_value;

static int take_first(void *ctx, size_t ncolumns, const char *const *values)
{
    first_value *fv = ctx;
    if (fv->rows++ == 0 && ncolumns > 0) {
        fv->first = values[0] ? strdup(values[0]) : NULL;
        fv->first_null = values[0] == NULL;
    }
    return 0;
}

static first_value query_first(pm_db *db, const char *sql)
{
    first_value fv = {0, NULL, false};
    pm_error err = PM_ERROR_INIT;
    pm_test_ok(pm__db_query(db, sql, NULL, 0, take_first, &fv, &err), &err);
    pm_error_clear(&err);
    return fv;
}

int64_t pm_test_int(pm_db *db, const char *sql)
{
    first_value fv = query_first(db, sql);
    if (fv.rows == 0 || !fv.first)
        fail_msg("query returned no value: %s", sql);
    int64_t v = strtoll(fv.first, NULL, 10);
    free(fv.first);
    return v;
}

char *pm_test_text(pm_db *db, const char *sql)
{
    return query_first(db, sql).first;
}

bool pm_test_has_table(pm_db *db, const char *table)
{
    bool out = false;
    pm_error err = PM_ERROR_INIT;
    pm_test_ok(pm__db_has_table(db, table, &out, &err), &err);
    pm_error_clear(&err);
    return out;
}

bool pm_test_has_column(pm_db *db, const char *table, const char *column)
{
    bool out = false;
    pm_error err = PM_ERROR_INIT;
    pm_test_ok(pm__db_has_column(db, table, column, &out, &err), &err);
    pm_error_clear(&err);
    return out;
}

int64_t pm_test_history_count(pm_db *db)
{
    if (!pm_test_has_table(db, "seaql_migrations"))
        return 0;
    return pm_test_int(db, "SELECT count(*) FROM seaql_migrations");
}

void pm_test_capture_stderr(void (*fn)(void *), void *arg, char *buf, size_t size)
{
    char path[] = "/tmp/pm-test-stderr-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    fflush(stderr);
    int saved = dup(STDERR_FILENO);
    dup2(fd, STDERR_FILENO);
    fn(arg);
    fflush(stderr);
    dup2(saved, STDERR_FILENO);
    close(saved);
    lseek(fd, 0, SEEK_SET);
    ssize_t n = read(fd, buf, size - 1);
    buf[n > 0 ? n : 0] = '\0';
    close(fd);
    unlink(path);
}

static void set_cloexec(int fd)
{
    int flags = fcntl(fd, F_GETFD);
    assert_true(flags >= 0);
    assert_int_equal(fcntl(fd, F_SETFD, flags | FD_CLOEXEC), 0);
}

/* In the child: says what failed (write() only: it runs after fork) and exits. */
static void child_fails(int code, const char *what, const char *path)
{
    static const char prefix[] = "test child: ";
    (void)!write(STDERR_FILENO, prefix, sizeof(prefix) - 1);
    (void)!write(STDERR_FILENO, what, strlen(what));
    (void)!write(STDERR_FILENO, path, strlen(path));
    (void)!write(STDERR_FILENO, "\n", 1);
    _exit(code);
}

pid_t pm_test_spawn(const char *path, char *const *argv, char *const *envp,
                    const pm_test_spawn_opts *opts, int *out_fd, int *err_fd)
{
    static const pm_test_spawn_opts none = {NULL, false, false, NULL};
    if (!opts)
        opts = &none;
    int out[2], err[2];
    assert_int_equal(pipe(out), 0);
    assert_int_equal(pipe(err), 0);
    set_cloexec(out[0]);
    set_cloexec(out[1]);
    set_cloexec(err[0]);
    set_cloexec(err[1]);
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        if (dup2(out[1], STDOUT_FILENO) < 0 || dup2(err[1], STDERR_FILENO) < 0)
            _exit(125);
        if (opts->stdin_null) {
            int devnull = open("/dev/null", O_RDONLY);
            if (devnull < 0 || dup2(devnull, STDIN_FILENO) < 0)
                child_fails(125, "cannot read /dev/null for ", path);
        }
        if (opts->close_stdout)
            close(STDOUT_FILENO);
        if (opts->stdout_path) {
            int fd = open(opts->stdout_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
            if (fd < 0 || dup2(fd, STDOUT_FILENO) < 0)
                child_fails(125, "cannot write stdout to ", opts->stdout_path);
        }
        if (opts->dir && chdir(opts->dir) != 0)
            child_fails(126, "cannot chdir to ", opts->dir);
        execve(path, argv, envp);
        child_fails(127, "execve failed: ", path);
    }
    close(out[1]);
    close(err[1]);
    *out_fd = out[0];
    *err_fd = err[0];
    return pid;
}

char *pm_test_url_with_database(const char *url, const char *dbname)
{
    char *out = pm__url_with_database(url, dbname);
    if (!out)
        fail_msg("cannot name database %s on the server of the test's URL", dbname);
    return out;
}

/* How many times needle occurs in text, not overlapping. */
size_t count_occurrences(const char *text, const char *needle)
{
    size_t n = 0;
    for (const char *p = text; (p = strstr(p, needle)); p += strlen(needle))
        n++;
    return n;
}
