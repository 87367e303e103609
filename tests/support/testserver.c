/* testserver.c: helpers for the tests that run the poblysh CLI against a
 * real database server (test_postgres, test_mariadb); see testserver.h. */
#include "testserver.h"

#include <errno.h>
#include <fcntl.h>
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

size_t count_occurrences(const char *text, const char *needle)
{
    size_t n = 0;
    for (const char *p = text; (p = strstr(p, needle)); p += strlen(needle))
        n++;
    return n;
}
