/* testserver.c: helpers for the tests that run the poblysh CLI against a
 * real database server (test_postgres, test_mariadb); see testserver.h. */
#include "testserver.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

void *srv_keep(void ***kept, size_t *nkept, void *p)
{
    void **grown = realloc(*kept, (*nkept + 1) * sizeof(*grown));
    if (!grown) {
        free(p);
        fail_msg("out of memory");
    }
    *kept = grown;
    (*kept)[(*nkept)++] = p;
    return p;
}

char *vfmt(const char *format, va_list ap)
{
    va_list copy;
    va_copy(copy, ap);
    int n = vsnprintf(NULL, 0, format, copy);
    va_end(copy);
    if (n < 0)
        return NULL;
    char *s = malloc((size_t)n + 1);
    if (s)
        vsnprintf(s, (size_t)n + 1, format, ap);
    return s;
}

double seconds_since(const struct timespec *start)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - start->tv_sec) + (double)(now.tv_nsec - start->tv_nsec) / 1e9;
}

void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

void srv_free_run(run_result *r)
{
    if (r) {
        free(r->out);
        free(r->err);
        free(r);
    }
}

void kill_children(child *children, size_t nchildren)
{
    for (size_t i = 0; i < nchildren; i++) {
        child *c = &children[i];
        if (c->out_fd >= 0)
            close(c->out_fd);
        if (c->err_fd >= 0)
            close(c->err_fd);
        c->out_fd = c->err_fd = -1;
        if (!c->exited) {
            kill(c->pid, SIGKILL);
            while (waitpid(c->pid, &c->wait_status, 0) < 0 && errno == EINTR)
                ;
            c->exited = true;
        }
    }
}

char *strndup_or_null(const char *s, size_t n)
{
    char *copy = malloc(n + 1);
    if (copy) {
        memcpy(copy, s, n);
        copy[n] = '\0';
    }
    return copy;
}

int read_some(int fd, buffer *b)
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

char *take_buffer(buffer *b)
{
    char *s = b->data ? b->data : calloc(1, 1);
    assert_non_null(s);
    return s;
}

void srv_assert_exit_(const run_result *r, int code, const char *file, int line)
{
    if (r->status == code)
        return;
    print_error("exit status %d, expected %d\n--- stdout\n%s--- stderr\n%s---\n", r->status, code,
                r->out, r->err);
    _fail(file, line);
}

/* ==== Running poblysh ==== */

int srv_server_env(const char *program, bool postgres, const char **url, const char **secret)
{
    const char *url_var = postgres ? "POBLYSH_TEST_PG_URL" : "POBLYSH_TEST_MYSQL_URL";
    const char *secret_var = postgres ? "POBLYSH_TEST_PG_PASSWORD" : "POBLYSH_TEST_MYSQL_PASSWORD";
    *url = getenv(url_var);
    *secret = getenv(secret_var);
    if (*url && **url && *secret && **secret)
        return 0;
    fprintf(stderr,
            "%s: %s and %s are not set: run it under scripts/with-postgres.sh or "
            "scripts/with-mariadb.sh (a server test never skips)\n",
            program, url_var, secret_var);
    return 1;
}

pm_db *srv_open_admin(const char *url)
{
    pm_db *db = NULL;
    pm_error err = PM_ERROR_INIT;
    if (pm_db_open(&db, url, NULL, &err) < 0) {
        print_error("cannot connect to the test server: %s\n", err.message ? err.message : "?");
        pm_error_clear(&err);
        return NULL;
    }
    return db;
}

child *srv_spawn_cli(void ***kept, size_t *nkept, const srv_spawn *how, const char *const *args)
{
    static const char *const passed[] = {"ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"};
    size_t nargs = 0;
    while (args[nargs])
        nargs++;
    char **argv = srv_keep(kept, nkept, calloc(nargs + 2, sizeof(*argv)));
    char **envp = srv_keep(kept, nkept, calloc(8, sizeof(*envp)));
    child *c = srv_keep(kept, nkept, calloc(1, sizeof(*c)));
    assert_true(argv && envp && c);
    argv[0] = (char *)how->cli_path;
    for (size_t i = 0; i < nargs; i++)
        argv[i + 1] = (char *)args[i];
    size_t n = 0;
    envp[n++] = "PATH=/usr/local/bin:/usr/bin:/bin";
    if (how->profile) {
        char *profile = srv_keep(kept, nkept, malloc(strlen(how->profile) + 32));
        assert_non_null(profile);
        sprintf(profile, "POBLYSH_PROFILE=%s", how->profile);
        envp[n++] = profile;
    }
    for (size_t i = 0; i < sizeof(passed) / sizeof(passed[0]); i++) {
        const char *value = getenv(passed[i]);
        if (!value)
            continue;
        char *var = srv_keep(kept, nkept, malloc(strlen(passed[i]) + strlen(value) + 2));
        assert_non_null(var);
        sprintf(var, "%s=%s", passed[i], value);
        envp[n++] = var;
    }
    clock_gettime(CLOCK_MONOTONIC, &c->started);
    pm_test_spawn_opts opts = {.dir = how->dir, .stdin_null = how->stdin_null};
    c->pid = pm_test_spawn(how->cli_path, argv, envp, &opts, &c->out_fd, &c->err_fd);
    return c;
}

void srv_collect(child *c, run_result *r, int timeout_ms, const char *secret)
{
    buffer out = {NULL, 0, 0}, err = {NULL, 0, 0};
    struct pollfd fds[2] = {{c->out_fd, POLLIN, 0}, {c->err_fd, POLLIN, 0}};
    int open_fds = 2;
    while (open_fds > 0) {
        int left = timeout_ms - (int)(seconds_since(&c->started) * 1000);
        int n = left > 0 ? poll(fds, 2, left) : 0;
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            kill(c->pid, SIGKILL);
            fail_msg("poblysh did not finish within %d ms", timeout_ms);
        }
        for (int i = 0; i < 2; i++)
            if (fds[i].fd >= 0 && (fds[i].revents & (POLLIN | POLLHUP | POLLERR)) &&
                !read_some(fds[i].fd, i == 0 ? &out : &err)) {
                close(fds[i].fd);
                fds[i].fd = -1;
                open_fds--;
            }
    }
    c->out_fd = c->err_fd = -1;
    r->out = take_buffer(&out);
    r->err = take_buffer(&err);
    while (waitpid(c->pid, &c->wait_status, 0) < 0)
        assert_int_equal(errno, EINTR);
    c->exited = true;
    r->status =
        WIFEXITED(c->wait_status) ? WEXITSTATUS(c->wait_status) : 128 + WTERMSIG(c->wait_status);
    r->seconds = seconds_since(&c->started);
    /* Nothing it printed may hold the password. */
    if (secret && *secret && (strstr(r->out, secret) || strstr(r->err, secret)))
        fail_msg("poblysh printed the password:\n%s%s", r->out, r->err);
}
